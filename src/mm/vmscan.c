/* SPDX-License-Identifier: MIT */
/*
 * Reclaim.  Each node keeps an active and an inactive list of anonymous
 * frames.  A scan takes pages from the inactive tail: a page whose PTEs
 * were referenced since the last look (page_referenced, an rmap walk that
 * tests and clears young bits) is rotated or activated; an unreferenced
 * one is swapped out.  When the inactive list runs short, pages move from
 * the active tail to the inactive head with their young bits cleared.
 */
#include "mm/internal.h"
#include "mm/swap.h"
#include "mm/vmscan.h"
#include "rmap/rmap.h"

static bool referenced_one(struct page *page, struct vm_area_struct *vma,
			   unsigned long addr, void *arg)
{
	struct avm_mm *mm = vma->vm_mm;
	struct pgtable *pt = pt_lookup(mm, addr);
	unsigned long *refs = arg;
	pte_t pte;

	/* Only if the PTE still maps this page: the walk looked without the
	   lock, and in a swap or migration entry bit 2 is part of the type. */
	ptl_lock(mm);
	pte = ptep_get(pt, pte_index(addr));
	if (pte_present(pte) && pte_pfn(pte) == page_to_pfn(mm->sys, page) &&
	    (pte & PTE_YOUNG)) {
		set_pte(pt, pte_index(addr), pte & ~PTE_YOUNG);
		(*refs)++;
	}
	ptl_unlock(mm);
	return true;
}

unsigned long page_referenced(struct avm_sys *sys, struct page *page)
{
	unsigned long refs = 0;
	struct rmap_walk_control rwc = { .rmap_one = referenced_one,
					 .arg = &refs };

	/* An unmapped page (only in the swap cache) has nothing to age, and
	   its ->mapping may name an anon_vma nobody keeps alive any more:
	   as Linux, never walk it. */
	if (!page_mapcount(page))
		return 0;
	rmap_walk(sys, page, &rwc);
	if (refs)
		atomic_fetch_add(&sys->ctr.referenced, 1);
	return refs;
}

/*
 * Take one page off a list with a reference held; NULL if empty.  A page
 * whose last reference is being dropped right now is still listed (its
 * free takes it off, under the same lock): skip it, as Linux's
 * folio_try_get in isolate_lru_folios, or we would hold a freed frame.
 */
static struct page *isolate(struct avm_sys *sys, struct mem_node *n,
			    bool active)
{
	struct list_head *head = active ? &n->lru_active : &n->lru_inactive;
	struct page *p;

	sys_lock(sys);
	list_for_each_entry_reverse(p, head, lru) {
		if (!get_page_unless_zero(p))
			continue;
		list_del_init(&p->lru);
		page_clear(p, PG_lru);
		if (active)
			n->nr_active--;
		else
			n->nr_inactive--;
		sys_unlock(sys);
		return p;
	}
	sys_unlock(sys);
	return NULL;
}

bool isolate_lru_page(struct avm_sys *sys, struct page *page)
{
	struct mem_node *n = &sys->nodes[page_node(page)];
	bool ok = false;

	sys_lock(sys);
	if (page_test(page, PG_lru)) {
		list_del_init(&page->lru);
		page_clear(page, PG_lru);
		if (page_test(page, PG_active))
			n->nr_active--;
		else
			n->nr_inactive--;
		ok = true;
	}
	sys_unlock(sys);
	return ok;
}

void putback_lru_page(struct avm_sys *sys, struct page *page)
{
	struct mem_node *n = &sys->nodes[page_node(page)];

	sys_lock(sys);
	if (!page_test(page, PG_lru)) {
		if (page_test(page, PG_active)) {
			list_add(&page->lru, &n->lru_active);
			n->nr_active++;
		} else {
			list_add(&page->lru, &n->lru_inactive);
			n->nr_inactive++;
		}
		page_set(page, PG_lru);
	}
	sys_unlock(sys);
}

static void putback(struct avm_sys *sys, struct mem_node *n, struct page *p,
		    bool active)
{
	sys_lock(sys);
	if (active) {
		page_set(p, PG_active);
		list_add(&p->lru, &n->lru_active);
		n->nr_active++;
	} else {
		page_clear(p, PG_active);
		list_add(&p->lru, &n->lru_inactive);
		n->nr_inactive++;
	}
	page_set(p, PG_lru);
	sys_unlock(sys);
	put_page(sys, p);
}

static void shrink_active(struct avm_sys *sys, struct mem_node *n,
			  unsigned long nr)
{
	while (nr--) {
		struct page *p = isolate(sys, n, true);

		if (!p)
			return;
		atomic_fetch_add(&sys->ctr.lru_scanned, 1);
		lock_page(p);		/* rmap walks run with the page locked */
		page_referenced(sys, p);
		unlock_page(p);
		page_clear(p, PG_referenced);
		putback(sys, n, p, false);
	}
}

/* One inactive page; returns 1 if its frame was freed. */
static int shrink_one(struct avm_sys *sys, struct mem_node *n)
{
	struct page *p = isolate(sys, n, false);
	unsigned long refs;
	int err;

	if (!p)
		return -1;
	atomic_fetch_add(&sys->ctr.lru_scanned, 1);
	lock_page(p);		/* rmap walks run with the page locked */
	refs = page_referenced(sys, p);
	if (refs) {
		bool again = page_test(p, PG_referenced) || refs > 1;

		unlock_page(p);
		page_set(p, PG_referenced);
		putback(sys, n, p, again);
		return 0;
	}
	err = swap_out_page(sys, p);
	unlock_page(p);
	if (err) {
		putback(sys, n, p, true);
		return 0;
	}
	put_page(sys, p);	/* ours: the frame is free now */
	return 1;
}

/* The list lengths, read under the lock that changes them. */
static void lru_sizes(struct avm_sys *sys, struct mem_node *n,
		      unsigned long *active, unsigned long *inactive)
{
	sys_lock(sys);
	*active = n->nr_active;
	*inactive = n->nr_inactive;
	sys_unlock(sys);
}

static unsigned long shrink_node(struct avm_sys *sys, struct mem_node *n,
				 unsigned long nr)
{
	unsigned long freed = 0, budget, act, inact;

	lru_sizes(sys, n, &act, &inact);
	budget = 4 * (act + inact) + 8;
	while (freed < nr && budget--) {
		int r;

		lru_sizes(sys, n, &act, &inact);
		if (inact < act || !inact)
			shrink_active(sys, n, MAX(32UL, act / 4));
		r = shrink_one(sys, n);
		if (r < 0) {
			lru_sizes(sys, n, &act, &inact);
			if (!act)
				break;
		}
		if (r > 0)
			freed++;
	}
	return freed;
}

int avm_reclaim(struct avm_sys *sys, unsigned long nr,
		unsigned long *reclaimed)
{
	unsigned long freed = 0;

	if (reclaimed)
		*reclaimed = 0;
	if (!sys->swap)
		return -ENOSPC;
	for (unsigned int i = 0; i < sys->nr_nodes && freed < nr; i++)
		freed += shrink_node(sys, &sys->nodes[i], nr - freed);
	if (reclaimed)
		*reclaimed = freed;
	return 0;
}

struct pageout_arg {
	struct vm_area_struct *vma;
};

static int pageout_table(struct avm_mm *mm, struct pgtable *pt,
			 unsigned long start, unsigned long end, void *arg)
{
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned int i = pte_index(a);
		struct page *p = NULL;
		pte_t pte;

		/* Look and take a reference under the page-table lock: a
		   migration or reclaim elsewhere may free the frame the PTE
		   pointed to a moment ago. */
		ptl_lock(mm);
		pte = ptep_get(pt, i);
		if (pte_present(pte)) {
			p = pfn_to_page(sys, pte_pfn(pte));
			/* Leave the zero page and pages others map too. */
			if (p == sys->zero_page || page_mapcount(p) != 1)
				p = NULL;
			else
				get_page(p);
		}
		ptl_unlock(mm);
		if (!p)
			continue;
		lock_page(p);
		/* As Linux: only a page on the LRU (not isolated by reclaim or
		   migration), still mapped here and by nobody else. */
		if (ptep_get(pt, i) == pte && page_mapcount(p) == 1 &&
		    isolate_lru_page(sys, p)) {
			page_clear(p, PG_referenced);
			/* failures leave the page mapped (or cached) */
			if (swap_out_page(sys, p))
				putback_lru_page(sys, p);
		}
		unlock_page(p);
		put_page(sys, p);
	}
	return 0;
}

int reclaim_range(struct vm_area_struct *vma, unsigned long start,
		  unsigned long end)
{
	struct avm_mm *mm = vma->vm_mm;

	if (!mm->sys->swap)
		return 0;	/* anonymous memory cannot go anywhere */
	return pt_for_each_table(mm, start, end, pageout_table, NULL);
}
