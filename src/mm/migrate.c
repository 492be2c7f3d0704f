/* SPDX-License-Identifier: MIT */
/*
 * Page migration between memory nodes, as Linux's migrate_pages() for one
 * anonymous page:
 *
 *   1. lock the old page and take it off the LRU (so reclaim keeps away);
 *   2. try_to_migrate: through the rmap, replace every PTE that maps it by
 *      a migration entry, dropping that mapping's mapcount and reference;
 *      if a mapping was missed, put everything back and give up (-EAGAIN);
 *   3. if nobody but us (and the swap cache) holds a reference, the new
 *      frame takes over payload, identity and the swap-cache slot;
 *   4. remove_migration_ptes: a walk from the new page turns every
 *      migration entry it finds into a PTE to the new frame, adding a
 *      mapping (mapcount and reference) for each.
 *
 * Entries are counted as Linux does, per entry found, not from the old
 * mapcount: a fork copying an entry or an unmap dropping one in between
 * needs no help.  A fault that meets an entry waits on the old page's lock.
 */
#include "mm/internal.h"
#include "mm/swap.h"
#include "mm/vmscan.h"
#include "rmap/rmap.h"

struct mig_arg {
	struct avm_sys *sys;
	struct page *to;		/* restore: the page entries go to */
	unsigned long from_pfn, to_pfn;
	bool install;			/* true: PTE -> entry; false: back */
	void *anon;			/* our reference on the anon_vma */
	unsigned long done;
};

static bool migrate_one_pte(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr, void *arg)
{
	struct mig_arg *m = arg;
	struct avm_mm *mm = vma->vm_mm;
	struct pgtable *pt;
	unsigned int i = pte_index(addr);
	pte_t pte;

	if (!m->install)
		race_point(m->sys, AVM_RACE_MIGRATE_VISIT, mm, addr);
	ptl_lock(mm);
	pt = addr == ~0UL ? NULL : pt_lookup(mm, addr);
	pte = pt ? ptep_get(pt, i) : 0;
	if (m->install && pte_present(pte) && pte_pfn(pte) == m->from_pfn) {
		unsigned long type = (pte & PTE_WRITE) ? PTE_TYPE_MIG_W
						       : PTE_TYPE_MIG_R;

		if (pte & PTE_DIRTY)
			page_set(page, PG_dirty);
		set_pte(pt, i, ((pte_t)m->from_pfn << PTE_PFN_SHIFT) |
			   (type << PTE_TYPE_SHIFT));
		rmap_remove(page, vma, addr);
		put_page(m->sys, page);		/* the mapping's; we hold one */
		m->done++;
	} else if (!m->install && pte && !pte_present(pte) &&
		   pte_nptype(pte) >= PTE_TYPE_MIG_R &&
		   pte_pfn(pte) == m->from_pfn) {
		pte_t w = pte_nptype(pte) == PTE_TYPE_MIG_W ? PTE_WRITE : 0;

		/* Cannot fail: a design that records every PTE kept this
		   entry on its record (page_remove leaves migration entries
		   alone), so page_add allocates nothing here. */
		if (!rmap_add(m->to, vma, addr)) {
			get_page(m->to);
			set_pte(pt, i, mk_pte(m->to_pfn, w | PTE_YOUNG));
			m->done++;
		}
	}
	ptl_unlock(mm);
	return true;
}

/* Walk page's rmap without the "is it mapped here" filter: the PTEs hold
   migration entries, not page. */
static unsigned long walk_entries(struct avm_sys *sys, struct page *page,
				  struct mig_arg *m)
{
	struct rmap_walk_control rwc = { .rmap_one = migrate_one_pte, .arg = m,
					 .anon_ref = m->anon, .sys = sys };

	m->done = 0;
	sys->rmap->walk(page, &rwc);
	atomic_fetch_add(&sys->ctr.rmap_walks, 1);
	atomic_fetch_add(&sys->ctr.rmap_visits, rwc.visits);
	return m->done;
}

/* Put the entries back to the old page after a failed attempt. */
static void restore_old(struct avm_sys *sys, struct page *old,
			struct mig_arg *m)
{
	m->install = false;
	m->to = old;
	m->to_pfn = m->from_pfn;
	walk_entries(sys, old, m);
	putback_lru_page(sys, old);
}

#define MIGRATE_FLAGS	(PG_anon_exclusive | PG_dirty | PG_referenced | \
			 PG_active)

/*
 * old is locked, unmapped (only entries left), and we hold one reference
 * on it; new is locked with our reference.  Move payload and identity; the
 * swap-cache slot moves only if nobody else holds old (else -EAGAIN and
 * new is left as it was).
 */
static int move_identity(struct avm_sys *sys, struct page *old,
			 struct page *new)
{
	int cache = page_test(old, PG_swapcache) ? 1 : 0;
	int err;

	copy_page_payload(sys, new, old);
	new->mapping = old->mapping;
	new->index = old->index;
	if (!sys->rmap->page_migrate) {
		new->rmap_data = old->rmap_data;
		new->rmap_count = old->rmap_count;
	}
	page_set(new, atomic_load(&old->flags) & MIGRATE_FLAGS);
	atomic_store(&new->_refcount, 1 + cache);
	err = swap_cache_migrate(sys, old, new, 1 + cache);
	if (err) {
		new->mapping = 0;
		new->rmap_data = NULL;
		page_clear(new, MIGRATE_FLAGS);
		atomic_store(&new->_refcount, 1);
		return err;
	}
	if (sys->rmap->page_migrate)	/* under the design's own locks */
		sys->rmap->page_migrate(old, new);
	if (cache)
		atomic_fetch_sub(&old->_refcount, 1);	/* went to new */
	old->mapping = 0;
	if (!sys->rmap->page_migrate)
		old->rmap_data = NULL;
	page_clear(old, MIGRATE_FLAGS);
	return 0;
}

/* old is isolated; m->anon keeps its anon_vma alive throughout. */
static int unmap_and_move(struct avm_sys *sys, struct page *old,
			  unsigned int node, const struct mig_arg *init)
{
	struct mig_arg m = *init;
	struct rmap_walk_control rwc = { .rmap_one = migrate_one_pte, .arg = &m };
	struct page *new;

	new = alloc_page_nozero(sys, node);	/* move_identity copies */
	if (!new) {
		putback_lru_page(sys, old);
		return -ENOMEM;
	}
	lock_page_nested(new, SINGLE_DEPTH_NESTING);	/* old is locked */
	m.from_pfn = page_to_pfn(sys, old);
	rwc.anon_ref = m.anon;
	rmap_walk(sys, old, &rwc);	/* filtered: only real mappings */
	avm_preempt_point("migrate: between unmap and remap");
	if (page_mapcount(old) || move_identity(sys, old, new)) {
		/* a mapping was missed, or someone else holds the page */
		restore_old(sys, old, &m);
		unlock_page(new);
		put_page(sys, new);
		return -EAGAIN;
	}
	m.install = false;
	m.to = new;
	m.to_pfn = page_to_pfn(sys, new);
	walk_entries(sys, new, &m);
	if (m.done > 1)		/* a fork copied an entry meanwhile */
		page_clear(new, PG_anon_exclusive);
	atomic_fetch_add(&sys->ctr.migration_entries_removed, m.done);
	atomic_fetch_add(&sys->ctr.migrations, 1);
	unlock_page(new);
	putback_lru_page(sys, new);
	put_page(sys, new);		/* ours; the mappings hold theirs */
	return 0;
}

static int migrate_page(struct avm_sys *sys, struct page *old,
			unsigned int node)
{
	struct mig_arg m = { .sys = sys, .install = true };
	int err;

	if (!isolate_lru_page(sys, old))
		return -EAGAIN;		/* reclaim (or another migration) has it */
	/* As Linux's folio_get_anon_vma: while only migration entries map
	   the page nothing else keeps its anon_vma. */
	m.anon = rmap_get_anon(sys, old);
	if (sys->rmap->get_anon && !m.anon) {
		putback_lru_page(sys, old);
		return -EAGAIN;		/* unmapped meanwhile */
	}
	err = unmap_and_move(sys, old, node, &m);
	rmap_put_anon(sys, m.anon);
	return err;
}

static int migrate_addr(struct avm_mm *mm, unsigned long addr,
			unsigned int node, unsigned long *moved)
{
	struct avm_sys *sys = mm->sys;
	unsigned int i = pte_index(addr);
	struct page *page = NULL;
	struct pgtable *pt;
	pte_t pte = 0;
	int err;

	/* Look and take a reference under the page-table lock: reclaim or
	   a migration from another mm may free the frame at any moment. */
	ptl_lock(mm);
	pt = pt_lookup(mm, addr);
	if (pt)
		pte = ptep_get(pt, i);
	if (pte_present(pte)) {
		page = pfn_to_page(sys, pte_pfn(pte));
		if (page == sys->zero_page || page_node(page) == node)
			page = NULL;
		else
			get_page(page);
	}
	ptl_unlock(mm);
	if (!page)
		return 0;
	lock_page(page);
	/* still the page mapped here (not swapped out or migrated since)? */
	err = ptep_get(pt, i) == pte ? migrate_page(sys, page, node) : -EAGAIN;
	unlock_page(page);
	put_page(sys, page);
	if (!err)
		(*moved)++;
	return err == -EAGAIN ? 0 : err;
}

/*
 * As move_pages(2) with the addresses addr, addr + PAGE_SIZE, ... (one per
 * page of len, rounded up): each names the page that holds it, so neither
 * alignment nor a length is required, and no pages is no work.  Addresses
 * past the end of user space are pages that are not there.
 */
int avm_migrate(struct avm_mm *mm, unsigned long addr, unsigned long len,
		unsigned int node, unsigned long *moved)
{
	unsigned long n = 0, start = addr & PAGE_MASK, end;
	int err = 0;

	if (moved)
		*moved = 0;
	if (!len)
		return 0;
	if (node >= mm->sys->nr_nodes)
		return -ENODEV;
	end = len > TASK_SIZE ? TASK_SIZE : start + PAGE_ALIGN(len);
	if (end > TASK_SIZE || end < start)
		end = TASK_SIZE;
	mmap_read_lock(mm);
	for (unsigned long a = start; a < end && !err; a += PAGE_SIZE) {
		/* As move_pages(2): a page that is not there is skipped
		   (its status would say -EFAULT / -ENOENT). */
		if (vma_lookup(mm, a))
			err = migrate_addr(mm, a, node, &n);
	}
	mmap_read_unlock(mm);
	if (moved)
		*moved = n;
	return err;
}
