/* SPDX-License-Identifier: MIT */
/*
 * What every design shares: the registry, mapcount bookkeeping around the
 * design's page hooks, and walk accounting (a walk visits candidate VMAs;
 * a hit is a candidate whose PTE really maps the page).
 */
#include <string.h>
#include "mm/internal.h"
#include "rmap/rmap.h"

extern const struct rmap_ops rmap_linux_ops;
extern const struct rmap_ops rmap_pte_chain_ops;
extern const struct rmap_ops rmap_anonmm_ops;
extern const struct rmap_ops rmap_anon_vma_2004_ops;
extern const struct rmap_ops rmap_avc_2010_ops;
extern const struct rmap_ops rmap_avc_tree_ops;
extern const struct rmap_ops rmap_reuse_degree_ops;
extern const struct rmap_ops rmap_single_descendant_ops;
extern const struct rmap_ops rmap_reuse_idle_ops;
extern const struct rmap_ops rmap_cow_context_ops;
extern const struct rmap_ops rmap_foreign_count_ops;
extern const struct rmap_ops rmap_mapper_list_ops;

static const struct rmap_ops *const designs[] = {
	&rmap_linux_ops,
	&rmap_pte_chain_ops,
	&rmap_anonmm_ops,
	&rmap_anon_vma_2004_ops,
	&rmap_avc_2010_ops,
	&rmap_avc_tree_ops,
	&rmap_reuse_degree_ops,
	&rmap_single_descendant_ops,
	&rmap_reuse_idle_ops,
	&rmap_cow_context_ops,
	&rmap_foreign_count_ops,
	&rmap_mapper_list_ops,
};

static const char *design_names[ARRAY_SIZE(designs) + 1];

const struct rmap_ops *rmap_find(const char *name)
{
	if (!name)
		return designs[0];
	for (size_t i = 0; i < ARRAY_SIZE(designs); i++)
		if (!strcmp(designs[i]->name, name))
			return designs[i];
	return NULL;
}

const char *const *avm_designs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(designs); i++)
		design_names[i] = designs[i]->name;
	return design_names;
}

const char *avm_design_summary(const char *name)
{
	const struct rmap_ops *ops = rmap_find(name);

	return ops ? ops->summary : NULL;
}

bool avm_design_unsafe(const char *name)
{
	const struct rmap_ops *ops = rmap_find(name);

	return ops && ops->unsafe;
}

void rmap_add_new(struct page *page, struct vm_area_struct *vma,
		  unsigned long addr, bool exclusive)
{
	vma->vm_mm->sys->rmap->page_add_new(page, vma, addr, exclusive);
	atomic_store(&page->_mapcount, 1);
	if (exclusive)
		page_set(page, PG_anon_exclusive);
	else
		page_clear(page, PG_anon_exclusive);
}

int rmap_add(struct page *page, struct vm_area_struct *vma,
	     unsigned long addr)
{
	int err = vma->vm_mm->sys->rmap->page_add(page, vma, addr);

	if (!err)
		atomic_fetch_add(&page->_mapcount, 1);
	return err;
}

void rmap_remove(struct page *page, struct vm_area_struct *vma,
		 unsigned long addr)
{
	vma->vm_mm->sys->rmap->page_remove(page, vma, addr);
	atomic_fetch_sub(&page->_mapcount, 1);
}

bool page_mapped_at(struct avm_sys *sys, struct page *page,
		    struct vm_area_struct *vma, unsigned long addr)
{
	struct pgtable *pt;
	pte_t pte;

	if (addr == ~0UL || addr < vma->vm_start || addr >= vma->vm_end)
		return false;
	pt = vma_pte_table(vma, addr);
	if (!pt)
		return false;
	pte = ptep_get(pt, pte_index(addr));
	if (pte_present(pte))
		return pte_pfn(pte) == page_to_pfn(sys, page);
	if (pte_nptype(pte) >= PTE_TYPE_MIG_R)
		return pte_pfn(pte) == page_to_pfn(sys, page);
	return false;
}

void *rmap_get_anon(struct avm_sys *sys, struct page *page)
{
	return sys->rmap->get_anon ? sys->rmap->get_anon(sys, page) : NULL;
}

void rmap_put_anon(struct avm_sys *sys, void *obj)
{
	if (obj)
		sys->rmap->put_anon(sys, obj);
}

struct walk_filter {
	struct avm_sys *sys;
	struct rmap_walk_control *user;
	const struct rmap_walk_control *inner;	/* the design's counts */
	unsigned long need, found;	/* mapcount at the start, hits */
	unsigned long early;		/* visits when found reached need */
	bool stopped, early_done;
};

static bool filter_one(struct page *page, struct vm_area_struct *vma,
		       unsigned long addr, void *arg)
{
	struct walk_filter *f = arg;

	avm_preempt_point("rmap walk: between VMAs");
	if (!page_mapped_at(f->sys, page, vma, addr))
		return true;
	f->user->hits++;
	if (!f->early_done && ++f->found >= f->need) {
		f->early = f->inner->visits;	/* counted before rmap_one */
		f->early_done = true;
	}
	if (f->user->rmap_one &&
	    !f->user->rmap_one(page, vma, addr, f->user->arg)) {
		f->stopped = true;
		return false;
	}
	return true;
}

int rmap_walk_quiet(struct avm_sys *sys, struct page *page,
		    struct rmap_walk_control *rwc)
{
	struct rmap_walk_control inner = { .rmap_one = NULL,
					   .anon_ref = rwc->anon_ref,
					   .sys = sys };
	struct walk_filter f = { .sys = sys, .user = rwc, .inner = &inner,
				 .need = (unsigned long)page_mapcount(page) };
	int err;

	inner.rmap_one = filter_one;
	inner.arg = &f;
	/* nothing mapped (only migration entries): no early stop */
	f.early_done = !f.need;
	err = sys->rmap->walk(page, &inner);
	rwc->visits += inner.visits;
	rwc->early_visits += f.early_done && f.need ? f.early : inner.visits;
	return err;
}

int rmap_walk(struct avm_sys *sys, struct page *page,
	      struct rmap_walk_control *rwc)
{
	unsigned long hits = rwc->hits, visits = rwc->visits;
	int err = rmap_walk_quiet(sys, page, rwc);

	atomic_fetch_add(&sys->ctr.rmap_walks, 1);
	atomic_fetch_add(&sys->ctr.rmap_visits, rwc->visits - visits);
	atomic_fetch_add(&sys->ctr.rmap_hits, rwc->hits - hits);
	return err;
}
