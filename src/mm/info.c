/* SPDX-License-Identifier: MIT */
/* Introspection for tests, tools and users: VMAs, PTEs, rmap walks. */
#include <string.h>
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

static unsigned int chain_len(const struct vm_area_struct *v)
{
	const struct list_head *p;
	unsigned int n = 0;

	for (p = v->anon_vma_chain.next; p != &v->anon_vma_chain; p = p->next)
		n++;
	/* anon-vma-2004: no chain, one link (the VMA on its anon_vma's list) */
	if (v->anon_vma_node.next != &v->anon_vma_node)
		n++;
	return n;
}

long avm_vmas(struct avm_mm *mm, struct avm_vma_info *buf, size_t n)
{
	struct rb_node *node;
	long i = 0;

	mmap_read_lock(mm);
	/* a fault may be giving a VMA its anon_vma (under this lock) */
	ptl_lock(mm);
	for (node = rb_first(&mm->mm_rb); node; node = rb_next(node), i++) {
		struct vm_area_struct *v =
			rb_entry(node, struct vm_area_struct, vm_rb);
		struct avm_vma_info *vi;

		if ((size_t)i >= n)
			continue;	/* only counting: buf may be NULL */
		vi = &buf[i];
		vi->start = v->vm_start;
		vi->end = v->vm_end;
		vi->pgoff = v->vm_pgoff;
		vi->prot = ((v->vm_flags & VM_READ) ? AVM_PROT_READ : 0) |
			   ((v->vm_flags & VM_WRITE) ? AVM_PROT_WRITE : 0);
		vi->flags = ((v->vm_flags & VM_DONTCOPY) ? AVM_VMA_DONTCOPY : 0) |
			    ((v->vm_flags & VM_WIPEONFORK) ? AVM_VMA_WIPEONFORK : 0) |
			    ((v->vm_flags & VM_HUGEPAGE) ? AVM_VMA_HUGEPAGE : 0) |
			    ((v->vm_flags & VM_NOHUGEPAGE) ? AVM_VMA_NOHUGEPAGE : 0);
		vi->has_anon_vma = v->anon_vma != NULL;
		vi->chain_len = chain_len(v);
	}
	ptl_unlock(mm);
	mmap_read_unlock(mm);
	return i;
}

static void fill_page(struct avm_sys *sys, struct page *p,
		      struct avm_page_info *info)
{
	info->zero = p == sys->zero_page;
	info->exclusive = !info->zero && page_test(p, PG_anon_exclusive);
	info->mapcount = info->zero ? 0 : (unsigned int)page_mapcount(p);
	info->refcount = info->zero ? 0 : (unsigned int)page_refcount(p);
	info->node = page_node(p);
	info->index = p->index;
}

/*
 * The PTE at addr and, for a present one, the frame's state, read under
 * the page-table lock (the mapping holds the frame meanwhile).  With
 * hold, a present non-zero frame is returned with a reference.
 */
static int page_info_locked(struct avm_mm *mm, unsigned long addr,
			    struct avm_page_info *info, struct page **hold)
{
	struct avm_sys *sys = mm->sys;
	struct pgtable *pt;
	bool mapped;
	pte_t pte = 0;

	memset(info, 0, sizeof(*info));
	mmap_read_lock(mm);
	mapped = vma_lookup(mm, addr) != NULL;	/* the tree needs the lock */
	ptl_lock(mm);
	pt = mapped ? pt_lookup(mm, addr) : NULL;
	if (pt)
		pte = ptep_get(pt, pte_index(addr));
	if (!pte) {
		info->state = AVM_PTE_NONE;
	} else if (pte_present(pte)) {
		struct page *p = pfn_to_page(sys, pte_pfn(pte));

		info->state = AVM_PTE_PRESENT;
		info->pfn = pte_pfn(pte);
		info->writable = pte & PTE_WRITE;
		info->young = pte & PTE_YOUNG;
		info->dirty = pte & PTE_DIRTY;
		fill_page(sys, p, info);
		if (hold && p != sys->zero_page) {
			get_page(p);
			*hold = p;
		}
	} else if (pte_nptype(pte) == PTE_TYPE_SWAP) {
		info->state = AVM_PTE_SWAP;
		info->swap_slot = swp_offset(pte);
		info->exclusive = pte & PTE_SWP_EXCL;
	} else {
		info->state = AVM_PTE_MIGRATION;
		info->pfn = pte_pfn(pte);
	}
	ptl_unlock(mm);
	mmap_read_unlock(mm);
	return mapped ? 0 : -EFAULT;
}

int avm_page_info(struct avm_mm *mm, unsigned long addr,
		  struct avm_page_info *info)
{
	return page_info_locked(mm, addr, info, NULL);
}

/* Walk a frame we hold a reference on. */
static int walk_held(struct avm_sys *sys, struct page *page,
		     struct avm_walk_stats *ws)
{
	struct rmap_walk_control rwc = { 0 };
	int err;

	lock_page(page);
	err = rmap_walk(sys, page, &rwc);
	unlock_page(page);
	put_page(sys, page);
	ws->walks++;
	ws->visits += rwc.visits;
	ws->hits += rwc.hits;
	ws->early_visits += rwc.early_visits;
	return err;
}

struct next_arg {
	unsigned long found;
};

static int first_entry(struct avm_mm *mm, struct pgtable *pt,
		       unsigned long start, unsigned long end, void *arg)
{
	struct next_arg *n = arg;

	if (!pt->used)
		return 0;
	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		if (ptep_get(pt, pte_index(a))) {
			n->found = a;
			return 1;
		}
	}
	return 0;
}

int avm_next_page(struct avm_mm *mm, unsigned long addr, unsigned long end,
		  unsigned long *found)
{
	struct next_arg n = { 0 };
	int hit;

	addr &= PAGE_MASK;
	if (end > TASK_SIZE)
		end = TASK_SIZE;
	mmap_read_lock(mm);
	ptl_lock(mm);		/* faults fill tables under it */
	hit = pt_for_each_table(mm, addr, end, first_entry, &n);
	ptl_unlock(mm);
	mmap_read_unlock(mm);
	if (!hit)
		return -ENOENT;
	*found = n.found;
	return 0;
}

int avm_rmap_walk_addr(struct avm_mm *mm, unsigned long addr,
		       struct avm_walk_stats *ws)
{
	struct avm_page_info info;
	struct page *page = NULL;
	int err = page_info_locked(mm, addr, &info, &page);

	if (err)
		return err;
	if (!page)
		return -EFAULT;
	return walk_held(mm->sys, page, ws);
}

/* A reference on an anonymous frame in use, or NULL (found by number:
   it may be freed at any moment, so only get_page_unless_zero). */
static struct page *get_anon_frame(struct avm_sys *sys, struct page *p)
{
	if (!p || p == sys->zero_page || !get_page_unless_zero(p))
		return NULL;
	if (page_test(p, PG_free) || !page_mapcount(p)) {
		put_page(sys, p);
		return NULL;
	}
	return p;
}

int avm_rmap_walk_pfn(struct avm_sys *sys, unsigned long pfn,
		      struct avm_walk_stats *ws)
{
	struct page *p = get_anon_frame(sys, pfn_to_page(sys, pfn));

	if (!p)
		return -EINVAL;
	return walk_held(sys, p, ws);
}

int avm_rmap_walk_all(struct avm_sys *sys, struct avm_walk_stats *ws)
{
	for (unsigned int i = 0; i < sys->nr_nodes; i++) {
		struct mem_node *n = &sys->nodes[i];
		unsigned long used;

		sys_lock(sys);
		used = n->next_unused;
		sys_unlock(sys);
		for (unsigned long f = 0; f < used; f++) {
			struct page *p = get_anon_frame(sys, &n->pages[f]);

			if (p)
				walk_held(sys, p, ws);
		}
	}
	return 0;
}
