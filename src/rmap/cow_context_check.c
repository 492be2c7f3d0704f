/* SPDX-License-Identifier: MIT */
/*
 * The cow-context family's invariants:
 *  - every anonymous VMA carries the marker; a remapped one (vm_start !=
 *    vm_pgoff << PAGE_SHIFT) has exactly one remap entry, in its mm's
 *    tree, and a linear one none; the tree holds exactly those entries;
 *  - an mm with anonymous VMAs has a context, whose mm is it;
 *  - every page an mm maps names its mm's context or an ancestor of it
 *    (what makes a walk of the named context's subtree complete);
 *  - each family's tree is consistent (parents, family, count), holds no
 *    context nothing needs (no mm, no pages, fewer than two children),
 *    and every context's page count is the number of frames naming it;
 *  - the live objects are exactly those reachable.
 */
#include "lib/interval_tree.h"
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "rmap/cow_context_impl.h"
#include "rmap/rmap.h"

static unsigned long remap_start(const struct cowc_remap *r)
{
	return r->vma->vm_pgoff;
}

static unsigned long remap_last(const struct cowc_remap *r)
{
	return r->vma->vm_pgoff + vma_pages(r->vma) - 1;
}

INTERVAL_TREE_DEFINE(struct cowc_remap, rb, unsigned long, subtree_last,
		     remap_start, remap_last, static inline, remap_chk)

struct census {
	struct check_ctx *ctx;
	struct cow_context *mine;	/* the mm's context */
	struct ptrset *foreign;		/* page -> mappings outside its mm */
	const struct ptrset *order;	/* context -> its preorder interval */
};

/*
 * Each context's place in its family's tree: its preorder number (high
 * half) and the last number of its subtree (low half), so that "a is c or
 * above it" costs O(1), not a climb of c's depth for every PTE (a fork
 * chain of N mms would make the checker quadratic).
 */
#define ORDER(in, last)	((long)(((unsigned long)(in) << 32) | (last)))
#define ORDER_IN(v)	((unsigned long)(v) >> 32)
#define ORDER_LAST(v)	((unsigned long)(v) & 0xffffffffUL)

static bool is_ancestor(const struct ptrset *order, const struct cow_context *a,
			const struct cow_context *c)
{
	const long *oa = ptrset_find(order, a), *oc = ptrset_find(order, c);

	return oa && oc && ORDER_IN(*oa) <= ORDER_IN(*oc) &&
	       ORDER_IN(*oc) <= ORDER_LAST(*oa);
}

static int census_table(struct avm_mm *mm, struct pgtable *pt,
			unsigned long start, unsigned long end, void *arg)
{
	struct census *c = arg;
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		pte_t pte = pt->e[pte_index(a)];
		struct page *page;

		c->ctx->steps++;
		if (!pte_present(pte))
			continue;
		page = pfn_to_page(sys, pte_pfn(pte));
		if (page == sys->zero_page)
			continue;
		CHECK(c->ctx, page_cowc(page) && c->mine &&
		      is_ancestor(c->order, page_cowc(page), c->mine),
		      "mm %lu %#lx: page names context %p, not the mm's (%p) "
		      "or above it", mm->id, a, (void *)page_cowc(page),
		      (void *)c->mine);
		if (page_cowc(page)->mm != mm) {
			long *n = ptrset_slot(c->foreign, page);

			CHECK(c->ctx, n, "checker out of memory");
			(*n)++;
		}
	}
	return 0;
}

/* foreign-count: every frame's count is its mappings outside its mm. */
static int check_foreign(struct check_ctx *ctx, struct avm_sys *sys,
			 struct ptrset *foreign)
{
	const struct cowc_policy *pol = sys->rmap->design_data;

	if (!pol->foreign_count)
		return 0;
	for (unsigned int i = 0; i < sys->nr_nodes; i++) {
		struct mem_node *nd = &sys->nodes[i];

		for (unsigned long f = 0; f < nd->next_unused; f++) {
			struct page *p = &nd->pages[f];
			long *n;

			ctx->steps++;
			if (p == sys->zero_page || page_test(p, PG_free) ||
			    !page_cowc(p))
				continue;
			n = ptrset_find(foreign, p);
			CHECK(ctx, !pol->mapper_list ||
			      cowc_mappers_len(p) <= p->rmap_count,
			      "frame %lu: %u mapper slots for %u foreign "
			      "mappings", page_to_pfn(sys, p),
			      cowc_mappers_len(p), p->rmap_count);
			CHECK(ctx, p->rmap_count == (unsigned long)(n ? *n : 0),
			      "frame %lu: foreign count %u, %ld mappings outside "
			      "mm of its context", page_to_pfn(sys, p),
			      p->rmap_count, n ? *n : 0);
		}
	}
	return 0;
}

static int check_vmas(struct check_ctx *ctx, struct avm_mm *mm,
		      unsigned long *nremaps)
{
	struct cowc_mm *cm = mm_cowc(mm);
	unsigned long remapped = 0, in_tree = 0;
	bool anon = false;

	for (struct rb_node *n = rb_first(&mm->mm_rb); n; n = rb_next(n)) {
		struct vm_area_struct *v =
			rb_entry(n, struct vm_area_struct, vm_rb);
		struct cowc_remap *r = vma_remap(v);
		bool want = v->anon_vma && cowc_vma_remapped(v);

		ctx->steps++;
		CHECK(ctx, !v->anon_vma || v->anon_vma == &cowc_marker,
		      "mm %lu VMA %#lx: anon_vma %p is not the marker", mm->id,
		      v->vm_start, (void *)v->anon_vma);
		CHECK(ctx, want == (r != NULL) && (!r || (r->vma == v &&
		      list_is_singular(&v->anon_vma_chain))),
		      "mm %lu VMA %#lx (pgoff %#lx): remapped %d, remap entry "
		      "%p", mm->id, v->vm_start, v->vm_pgoff, want, (void *)r);
		anon |= v->anon_vma != NULL;
		remapped += want;
	}
	CHECK(ctx, cm || !anon, "mm %lu has anonymous VMAs but no context",
	      mm->id);
	if (!cm)
		return 0;
	CHECK(ctx, cm->ctx && cm->ctx->mm == mm, "mm %lu: context %p names "
	      "mm %p", mm->id, (void *)cm->ctx,
	      cm->ctx ? (void *)cm->ctx->mm : NULL);
	for (struct rb_node *n = rb_first(&cm->remaps); n; n = rb_next(n)) {
		struct cowc_remap *r = rb_entry(n, struct cowc_remap, rb);

		CHECK(ctx, r->vma->vm_mm == mm && vma_remap(r->vma) == r,
		      "mm %lu: stale remap entry %p", mm->id, (void *)r);
		in_tree++;
		ctx->steps++;
	}
	CHECK(ctx, in_tree == remapped && !remap_chk_check(&cm->remaps),
	      "mm %lu: %lu remapped VMAs, %lu in the remap tree (or the "
	      "tree is out of order)", mm->id, remapped, in_tree);
	*nremaps += remapped;
	return 0;
}

static struct cow_context *root_of(struct check_ctx *ctx,
				   struct cow_context *c)
{
	while (c->parent) {
		c = c->parent;
		ctx->steps++;
	}
	return c;
}

/* One context of a family: its links, its counts, whether it is needed. */
static int check_context(struct check_ctx *ctx, struct cowc_family *f,
			 struct cow_context *c, struct ptrset *pages)
{
	long *want = ptrset_find(pages, c);
	unsigned long kids = 0;
	struct cow_context *k;

	list_for_each_entry(k, &c->children, sibling) {
		CHECK(ctx, k->parent == c && k->fam == f, "context %p: child %p "
		      "has parent %p, family %p", (void *)c, (void *)k,
		      (void *)k->parent, (void *)k->fam);
		kids++;
		ctx->steps++;
	}
	CHECK(ctx, atomic_load(&c->pages) == (unsigned long)(want ? *want : 0),
	      "context %p counts %lu pages, %ld name it", (void *)c,
	      atomic_load(&c->pages), want ? *want : 0);
	CHECK(ctx, c->mm || atomic_load(&c->pages) || kids >= 2,
	      "context %p: no mm, no pages, %lu children: should be gone",
	      (void *)c, kids);
	CHECK(ctx, !c->mm || (mm_cowc(c->mm) && mm_cowc(c->mm)->ctx == c),
	      "context %p: its mm %lu uses another", (void *)c, c->mm->id);
	return 0;
}

/* Closes c's preorder interval: its subtree ends at number last. */
static void order_close(struct ptrset *order, struct cow_context *c,
			unsigned long last)
{
	long *o = ptrset_find(order, c);

	*o = ORDER(ORDER_IN(*o), last);
}

/* One family: shape, counts, nothing unneeded; numbers it (*order). */
static int check_family(struct check_ctx *ctx, struct cowc_family *f,
			struct ptrset *pages, struct ptrset *order,
			unsigned long *nctx)
{
	struct cow_context *top = f->root, *c = top;
	unsigned long n = 0;
	int err;

	CHECK(ctx, top && !top->parent, "family %p: bad root %p", (void *)f,
	      (void *)top);
	for (;;) {
		long *o = ptrset_slot(order, c);

		CHECK(ctx, o, "checker out of memory");
		/* numbers from 1: an empty slot (0) is a context not seen */
		CHECK(ctx, !*o && n < 0xffffffffUL, "family %p: context %p "
		      "reached twice", (void *)f, (void *)c);
		n++;
		*o = ORDER(n, n);
		err = check_context(ctx, f, c, pages);
		if (err)
			return err;
		ctx->steps++;
		if (!list_empty(&c->children)) {
			c = list_first_entry(&c->children, struct cow_context,
					     sibling);
			continue;
		}
		order_close(order, c, n);
		while (c != top && c->sibling.next == &c->parent->children) {
			c = c->parent;
			order_close(order, c, n);
		}
		if (c == top)
			break;
		c = list_entry(c->sibling.next, struct cow_context, sibling);
	}
	CHECK(ctx, n == f->nr, "family %p: %lu contexts in the tree, count "
	      "%lu", (void *)f, n, f->nr);
	*nctx += n;
	return 0;
}

/* Frames naming each context; families seen from pages. */
static int count_pages(struct check_ctx *ctx, struct avm_sys *sys,
		       struct ptrset *pages, struct ptrset *fams,
		       unsigned long *narr, unsigned long *arr_bytes)
{
	const struct cowc_policy *pol = sys->rmap->design_data;

	for (unsigned int i = 0; i < sys->nr_nodes; i++) {
		struct mem_node *nd = &sys->nodes[i];

		for (unsigned long f = 0; f < nd->next_unused; f++) {
			struct page *p = &nd->pages[f];
			struct cow_context *c;
			long *slot;

			ctx->steps++;
			if (p == sys->zero_page || page_test(p, PG_free))
				continue;
			if (pol->mapper_list && cowc_mappers_len(p)) {
				struct cowc_mappers *a = page_mappers(p);

				CHECK(ctx, page_cowc(p) && (!a || (a->len >= 2
				      && a->len <= a->cap)), "frame %lu: "
				      "mapper array %u/%u", page_to_pfn(sys, p),
				      a ? a->len : 1, a ? a->cap : 1);
				for (unsigned int k = 0; k < cowc_mappers_len(p);
				     k++) {
					struct cow_context *m =
						cowc_mappers_at(p, k);

					ctx->steps++;
					CHECK(ctx, m->mm && m->mm !=
					      page_cowc(p)->mm, "frame %lu: "
					      "slot %u names no foreign mm",
					      page_to_pfn(sys, p), k);
				}
				if (a) {
					(*narr)++;
					*arr_bytes += cowc_mappers_bytes(a);
				}
			}
			if (!(c = page_cowc(p)))
				continue;
			slot = ptrset_slot(pages, c);
			CHECK(ctx, slot && ptrset_slot(fams, c->fam),
			      "checker out of memory");
			(*slot)++;
		}
	}
	return 0;
}

/* Every mm's context and its family; then the families, numbered. */
static int check_families(struct check_ctx *ctx, struct avm_sys *sys,
			  struct ptrset *pages, struct ptrset *fams,
			  struct ptrset *order, unsigned long *ncm,
			  unsigned long *nctx)
{
	struct avm_mm *mm;
	int err = 0;

	list_for_each_entry(mm, &sys->mms, mmlist) {
		struct cowc_mm *cm = mm_cowc(mm);

		ctx->steps++;
		if (!cm)
			continue;
		(*ncm)++;
		CHECK(ctx, cm->ctx, "mm %lu: no context", mm->id);
		CHECK(ctx, ptrset_slot(fams, cm->ctx->fam),
		      "checker out of memory");
	}
	ptrset_for_each(fams, i) {
		struct cowc_family *f = (void *)fams->keys[i];

		if (!err && f->root && root_of(ctx, f->root) != f->root)
			err = check_fail(ctx, "family %p: root has a parent",
					 (void *)f);
		if (!err)
			err = check_family(ctx, f, pages, order, nctx);
	}
	return err;
}

/* Each mm's VMAs and PTEs: every page names a context at or above its. */
static int check_mms(struct check_ctx *ctx, struct avm_sys *sys,
		     struct ptrset *order, struct ptrset *foreign,
		     unsigned long *nremaps)
{
	struct avm_mm *mm;
	int err;

	list_for_each_entry(mm, &sys->mms, mmlist) {
		struct cowc_mm *cm = mm_cowc(mm);
		struct census c = { .ctx = ctx, .mine = cm ? cm->ctx : NULL,
				    .foreign = foreign, .order = order };

		err = check_vmas(ctx, mm, nremaps);
		if (!err)
			err = pt_for_each_table(mm, 0, TASK_SIZE, census_table,
						&c);
		if (err)
			return err;
	}
	return 0;
}

int cowc_check(struct avm_sys *sys, struct check_ctx *ctx)
{
	unsigned long nremaps = 0, ncm = 0, nctx = 0, live, bytes, want;
	unsigned long narr = 0, arr_bytes = 0;
	struct ptrset pages, fams, foreign, order;
	int err = 0;

	ptrset_init(&pages);
	ptrset_init(&fams);
	ptrset_init(&foreign);
	ptrset_init(&order);
	err = count_pages(ctx, sys, &pages, &fams, &narr, &arr_bytes);
	if (!err)
		err = check_families(ctx, sys, &pages, &fams, &order, &ncm,
				     &nctx);
	if (!err)
		err = check_mms(ctx, sys, &order, &foreign, &nremaps);
	if (!err)
		err = check_foreign(ctx, sys, &foreign);
	live = avm_alloc_live(&sys->alloc, AK_ANON_VMA);
	if (!err && live != nctx)
		err = check_fail(ctx, "%lu contexts live, %lu reachable", live,
				 nctx);
	live = avm_alloc_live(&sys->alloc, AK_RMAP_OTHER);
	bytes = avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER);
	want = fams.n * sizeof(struct cowc_family) +
	       ncm * sizeof(struct cowc_mm) +
	       nremaps * sizeof(struct cowc_remap) + arr_bytes;
	if (!err && (live != fams.n + ncm + nremaps + narr || bytes != want))
		err = check_fail(ctx, "%lu objects live (%lu bytes); reachable "
				 "%zu families, %lu mms, %lu remaps, %lu mapper "
				 "arrays (%lu bytes)", live, bytes, fams.n, ncm,
				 nremaps, narr, want);
	ptrset_destroy(&pages);
	ptrset_destroy(&fams);
	ptrset_destroy(&foreign);
	ptrset_destroy(&order);
	return err;
}
