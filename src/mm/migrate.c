/* SPDX-License-Identifier: MIT */
/*
 * Page migration between memory nodes.  With the old page locked, every
 * PTE that maps it is replaced by a migration entry (found through the
 * rmap), the payload and identity move to a new frame, and a second walk,
 * from the new page, turns each migration entry into a PTE to the new
 * frame.  A fault that meets a migration entry waits on the old page's lock.
 * If the first walk cannot find every mapping the entries are turned back
 * and the migration fails: nothing may be left behind.
 */
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

struct mig_arg {
	struct avm_sys *sys;
	unsigned long from_pfn, to_pfn;
	bool install;			/* true: PTE -> entry; false: back */
	unsigned long done;
};

static bool migrate_one_pte(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr, void *arg)
{
	struct mig_arg *m = arg;
	struct avm_mm *mm = vma->vm_mm;
	struct pgtable *pt = pt_lookup(mm, addr);
	unsigned int i = pte_index(addr);
	pte_t pte;

	if (!pt)
		return true;
	pthread_mutex_lock(&mm->page_table_lock);
	pte = pt->e[i];
	if (m->install && pte_present(pte) && pte_pfn(pte) == m->from_pfn) {
		unsigned long type = (pte & PTE_WRITE) ? PTE_TYPE_MIG_W
						       : PTE_TYPE_MIG_R;

		if (pte & PTE_DIRTY)
			page_set(page, PG_dirty);
		pt->e[i] = ((pte_t)m->from_pfn << PTE_PFN_SHIFT) |
			   (type << PTE_TYPE_SHIFT);
		m->done++;
	} else if (!m->install && !pte_present(pte) &&
		   pte_nptype(pte) >= PTE_TYPE_MIG_R &&
		   pte_pfn(pte) == m->from_pfn) {
		pte_t w = pte_nptype(pte) == PTE_TYPE_MIG_W ? PTE_WRITE : 0;

		pt->e[i] = mk_pte(m->to_pfn, w | PTE_YOUNG);
		m->done++;
	}
	pthread_mutex_unlock(&mm->page_table_lock);
	return true;
}

/* Walk page's rmap without the "is it mapped here" filter: the PTEs hold
   migration entries, not page. */
static unsigned long walk_entries(struct avm_sys *sys, struct page *page,
				  struct mig_arg *m)
{
	struct rmap_walk_control rwc = { .rmap_one = migrate_one_pte, .arg = m };

	m->done = 0;
	sys->rmap->walk(page, &rwc);
	atomic_fetch_add(&sys->ctr.rmap_walks, 1);
	atomic_fetch_add(&sys->ctr.rmap_visits, rwc.visits);
	return m->done;
}

/* new takes over old's identity, mappings and references. */
static void move_identity(struct avm_sys *sys, struct page *old,
			  struct page *new)
{
	const uint32_t keep = PG_anon_exclusive | PG_dirty | PG_referenced;
	int maps = page_mapcount(old);
	int cache = page_test(old, PG_swapcache) ? 1 : 0;

	copy_page_payload(sys, new, old);
	new->mapping = old->mapping;
	new->index = old->index;
	new->rmap_data = old->rmap_data;
	new->rmap_count = old->rmap_count;
	page_set(new, atomic_load(&old->flags) & keep);
	swap_cache_replace(sys, old, new);
	atomic_store(&new->_mapcount, maps);
	atomic_store(&new->_refcount, maps + cache);
	atomic_store(&old->_mapcount, 0);
	atomic_store(&old->_refcount, 1);	/* the migrator's */
	old->mapping = 0;
	old->rmap_data = NULL;
	page_clear(old, keep);
}

static int migrate_page(struct avm_sys *sys, struct page *old,
			unsigned int node)
{
	struct mig_arg m = { .sys = sys, .install = true };
	struct rmap_walk_control rwc = { .rmap_one = migrate_one_pte, .arg = &m };
	struct page *new = alloc_page(sys, node);
	int err = 0;

	if (!new)
		return -ENOMEM;
	m.from_pfn = page_to_pfn(sys, old);
	lock_page(new);
	rmap_walk(sys, old, &rwc);	/* filtered: only real mappings */
	if (m.done != (unsigned long)page_mapcount(old)) {
		m.install = false;	/* put the PTEs back as they were */
		m.to_pfn = m.from_pfn;
		walk_entries(sys, old, &m);
		unlock_page(new);
		put_page(sys, new);
		return -EAGAIN;
	}
	move_identity(sys, old, new);
	m.install = false;
	m.to_pfn = page_to_pfn(sys, new);
	walk_entries(sys, new, &m);
	if (m.done != (unsigned long)page_mapcount(new))
		err = -EUCLEAN;		/* entries left: the checker says where */
	atomic_fetch_add(&sys->ctr.migration_entries_removed, m.done);
	atomic_fetch_add(&sys->ctr.migrations, 1);
	unlock_page(new);
	lru_add(sys, new);
	return err;
}

static int migrate_addr(struct avm_mm *mm, unsigned long addr,
			unsigned int node, unsigned long *moved)
{
	struct avm_sys *sys = mm->sys;
	struct pgtable *pt = pt_lookup(mm, addr);
	pte_t pte = pt ? pt->e[pte_index(addr)] : 0;
	struct page *page;
	int err;

	if (!pte_present(pte))
		return 0;
	page = pfn_to_page(sys, pte_pfn(pte));
	if (page == sys->zero_page || page_node(page) == node)
		return 0;
	get_page(page);
	lock_page(page);
	err = migrate_page(sys, page, node);
	unlock_page(page);
	put_page(sys, page);
	if (!err)
		(*moved)++;
	return err == -EAGAIN ? 0 : err;
}

int avm_migrate(struct avm_mm *mm, unsigned long addr, unsigned long len,
		unsigned int node, unsigned long *moved)
{
	unsigned long n = 0, end = addr + PAGE_ALIGN(len);
	int err = 0, unmapped = 0;

	if (moved)
		*moved = 0;
	if (!PAGE_ALIGNED(addr) || !len || end <= addr || end > TASK_SIZE)
		return -EINVAL;
	if (node >= mm->sys->nr_nodes)
		return -ENODEV;
	pthread_rwlock_rdlock(&mm->mmap_lock);
	for (unsigned long a = addr; a < end && !err; a += PAGE_SIZE) {
		if (!vma_lookup(mm, a)) {
			unmapped = -EFAULT;
			continue;
		}
		err = migrate_addr(mm, a, node, &n);
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
	if (moved)
		*moved = n;
	return err ? err : unmapped;
}
