/* SPDX-License-Identifier: MIT */
/*
 * The first object-based reverse map for anonymous pages (Andrea
 * Arcangeli, Hugh Dickins; seed 2004-05-anon_vma-rmap39.txt): one anon_vma
 * per fork family, heading ONE plain list of every VMA that may map its
 * pages - the VMA that faulted first, its split parts, mremap copies and
 * every forked copy in every descendant (vma->anon_vma_node on
 * anon_vma->head).  There are no anon_vma_chains: a VMA is on exactly one
 * list, so linking never allocates, and fork and split cannot fail here.
 *
 * page->mapping is that anon_vma, shared or not; page->index is the linear
 * page index (vm_pgoff of an anonymous VMA is its start >> PAGE_SHIFT, kept
 * by mremap once faulted), so a walk computes where the page would be in
 * each VMA on the list and checks the PTE.  It visits every VMA of the
 * family: after a parent forks N children that each COW every page, a
 * walk of any page visits N + 1 VMAs to find one mapping (the O(N) the
 * 2010 anon_vma_chain fixed).
 *
 * Merging: VMAs with different anon_vmas cannot merge (their pages point
 * at different heads); a VMA without one may merge with one that has one
 * (it joins that list).  All VMAs of a family share the anon_vma, so a
 * forked VMA merges where linux (separate anon_vmas per process, no merge
 * of a forked VMA into an unfaulted one) would not: VMA layouts after fork
 * can differ from the kernel's, never the pages or their contents.
 *
 * prepare adopts a compatible neighbour's anon_vma, as 2004's
 * find_mergeable_anon_vma, so that the two can merge later; else a new one.
 *
 * Ordering: new list entries go at the tail (parent before fork child,
 * source before split part or mremap copy), and when mremap merges a
 * destination into an existing VMA that VMA moves to the tail.  2004 had
 * no page migration and needed neither; this model migrates while mremap
 * runs, so the list gets the 2011 rule (seed 2011-11) too.
 *
 * Locking: the anon_vma's rwsem (it is its own root): write to link,
 * unlink or change a linked VMA's range; read to walk.
 */
#include <errno.h>
#include <string.h>
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "rmap/anon_vma.h"
#include "rmap/rmap.h"

static struct avm_sys *vma_sys(const struct vm_area_struct *vma)
{
	return vma->vm_mm->sys;
}

/* The family's one anon_vma: a list of VMAs. */
static struct anon_vma *av_alloc(struct avm_sys *sys)
{
	struct anon_vma *av = anon_vma_new(sys);

	if (av)
		INIT_LIST_HEAD(&av->head);
	return av;
}

/* Put vma on av's list (tail); it becomes one of av's VMAs. */
static void link_vma(struct anon_vma *av, struct vm_area_struct *vma)
{
	anon_vma_lock_write(av);
	vma->anon_vma = av;
	list_add_tail(&vma->anon_vma_node, &av->head);
	av->num_active_vmas++;
	anon_vma_unlock_write(av);
}

/* ---- prepare, clone, fork, unlink ---------------------------------------- */

/* Could a and b (a just below b) be one VMA but for their protection? */
static bool compatible(const struct vm_area_struct *a,
		       const struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start &&
	       !((a->vm_flags ^ b->vm_flags) & ~VM_PROT_MASK) &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a);
}

static struct anon_vma *neighbour_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma), *prev = vma_prev(vma);

	if (next && next->anon_vma && compatible(vma, next))
		return next->anon_vma;
	if (prev && prev->anon_vma && compatible(prev, vma))
		return prev->anon_vma;
	return NULL;
}

/* Faults of one mm may prepare at once: the page-table lock decides (as
   anon_vma.c's av_prepare). */
static int av2004_prepare(struct vm_area_struct *vma)
{
	struct avm_mm *mm = vma->vm_mm;
	struct anon_vma *av, *fresh = NULL;

	if (__atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE))
		return 0;
	ptl_lock(mm);
	av = neighbour_anon_vma(vma);
	ptl_unlock(mm);
	if (!av) {
		av = fresh = av_alloc(vma_sys(vma));
		if (!av)
			return -ENOMEM;
	}
	anon_vma_lock_write(av);
	ptl_lock(mm);
	if (!vma->anon_vma) {
		list_add_tail(&vma->anon_vma_node, &av->head);
		av->num_active_vmas++;
		__atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
		fresh = NULL;
	}
	ptl_unlock(mm);
	anon_vma_unlock_write(av);
	if (fresh)
		anon_vma_free(vma_sys(vma), fresh);
	return 0;
}

/* dst (split part, merge target, mremap copy) joins src's list. */
static int av2004_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	if (src->anon_vma)
		link_vma(src->anon_vma, dst);
	return 0;
}

/* The forked copy joins the family's list: the same anon_vma. */
static int av2004_fork(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	dst->anon_vma = NULL;
	if (src->anon_vma)
		link_vma(src->anon_vma, dst);
	return 0;
}

/* The last VMA off the list drops the list's reference: no page can still
   be mapped through it (an unmapped page in the swap cache is never
   walked); a walker that holds one frees it when done. */
static void av2004_unlink(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;
	bool empty;

	if (!av)
		return;
	anon_vma_lock_write(av);
	list_del_init(&vma->anon_vma_node);
	av->num_active_vmas--;
	empty = list_empty(&av->head);
	anon_vma_unlock_write(av);
	vma->anon_vma = NULL;
	if (empty)
		anon_vma_put(vma_sys(vma), av);
}

/* The list does not depend on the range: only keep walkers out while it
   changes. */
static void av2004_adjust_begin(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_lock_write(vma->anon_vma);
}

static void av2004_adjust_end(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_unlock_write(vma->anon_vma);
}

/* mremap merged its destination into vma: after the source, as 2011. */
static void av2004_move_tail(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;

	if (!av)
		return;
	anon_vma_lock_write(av);
	list_move_tail(&vma->anon_vma_node, &av->head);
	anon_vma_unlock_write(av);
}

/* Different anon_vmas cannot merge: their pages point at different
   lists.  A VMA without one may merge with either. */
static bool av2004_mergeable(struct vm_area_struct *tgt,
			     struct anon_vma *src_anon,
			     struct vm_area_struct *src)
{
	return !tgt->anon_vma || !src_anon || tgt->anon_vma == src_anon;
}

/* ---- pages ---------------------------------------------------------------- */

/* Shared or not, a page names its family's one anon_vma. */
static void av2004_page_add_new(struct page *page, struct vm_area_struct *vma,
				unsigned long addr, bool exclusive)
{
	page->mapping = (uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON;
	page->index = linear_page_index(vma, addr);
}

static int av2004_page_add(struct page *page, struct vm_area_struct *vma,
			   unsigned long addr)
{
	return 0;
}

static void av2004_page_remove(struct page *page, struct vm_area_struct *vma,
			       unsigned long addr)
{
}

static void av2004_page_move(struct page *page, struct vm_area_struct *vma)
{
	page->mapping = (uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON;
}

/* Every VMA of the family is a candidate; the visit checks the range. */
static int av2004_walk(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *av = page_lock_anon_vma_read(page, rwc);
	struct vm_area_struct *vma;
	unsigned long idx = page->index;

	if (!av)
		return 0;
	list_for_each_entry(vma, &av->head, anon_vma_node) {
		unsigned long addr = vma_address(vma, idx);

		rwc->visits++;
		if (addr == ~0UL)
			continue;
		if (!rwc->rmap_one(page, vma, addr, rwc->arg))
			break;
	}
	page_unlock_anon_vma_read(rwc->sys, av, rwc);
	return 0;
}

static void *av2004_get_anon(struct avm_sys *sys, struct page *page)
{
	return page_get_anon_vma(sys, page);
}

static void av2004_put_anon(struct avm_sys *sys, void *obj)
{
	anon_vma_put(sys, obj);
}

static void av2004_usage(struct avm_sys *sys, unsigned long *objects,
			 unsigned long *bytes)
{
	unsigned long nav = avm_alloc_live(&sys->alloc, AK_ANON_VMA);

	*objects = nav;
	*bytes = nav * sizeof(struct anon_vma);
}

/* ---- invariants ----------------------------------------------------------- */

/*
 * Every VMA with an anon_vma is on that anon_vma's list exactly once, and
 * a VMA without one on none; every list entry is a live VMA naming the
 * list's anon_vma; num_active_vmas counts the list; no list is empty and
 * no anon_vma is unreachable; there are no anon_vma_chains.
 */
static int census(struct check_ctx *ctx, struct ptrset *avs,
		  struct ptrset *vmas)
{
	struct avm_mm *mm;
	struct rb_node *n;
	long *slot;

	list_for_each_entry(mm, &ctx->sys->mms, mmlist) {
		for (n = rb_first(&mm->mm_rb); n; n = rb_next(n)) {
			struct vm_area_struct *v =
				rb_entry(n, struct vm_area_struct, vm_rb);

			CHECK(ctx, list_empty(&v->anon_vma_chain), "mm %lu "
			      "VMA %#lx has anon_vma_chains", mm->id,
			      v->vm_start);
			if (!v->anon_vma) {
				CHECK(ctx, list_empty(&v->anon_vma_node),
				      "mm %lu VMA %#lx: no anon_vma, yet on a "
				      "list", mm->id, v->vm_start);
				continue;
			}
			slot = ptrset_slot(vmas, v);
			CHECK(ctx, slot, "checker out of memory");
			slot = ptrset_slot(avs, v->anon_vma);
			CHECK(ctx, slot, "checker out of memory");
			(*slot)++;
		}
	}
	return 0;
}

static int check_list(struct check_ctx *ctx, struct anon_vma *av, long users,
		      struct ptrset *vmas)
{
	struct vm_area_struct *v;
	long n = 0;
	long *slot;

	CHECK(ctx, av->root == av && av->parent == av, "anon_vma %p: not "
	      "its own root", (void *)av);
	CHECK(ctx, atomic_load(&av->refcount) == 1, "anon_vma %p: refcount "
	      "%d", (void *)av, atomic_load(&av->refcount));
	list_for_each_entry(v, &av->head, anon_vma_node) {
		slot = ptrset_find(vmas, v);
		CHECK(ctx, slot, "anon_vma %p lists VMA %p, which is not a live "
		      "VMA with an anon_vma", (void *)av, (void *)v);
		CHECK(ctx, v->anon_vma == av, "anon_vma %p lists mm %lu VMA "
		      "%#lx, whose anon_vma is %p", (void *)av, v->vm_mm->id,
		      v->vm_start, (void *)v->anon_vma);
		CHECK(ctx, !*slot, "anon_vma %p lists mm %lu VMA %#lx twice",
		      (void *)av, v->vm_mm->id, v->vm_start);
		*slot = 1;
		n++;
		ctx->steps++;
	}
	CHECK(ctx, n == users, "anon_vma %p: %ld VMAs on its list, %ld name "
	      "it", (void *)av, n, users);
	CHECK(ctx, av->num_active_vmas == (unsigned long)users, "anon_vma %p: "
	      "num_active_vmas %u, %ld VMAs", (void *)av, av->num_active_vmas,
	      users);
	return 0;
}

static int av2004_check(struct avm_sys *sys, struct check_ctx *ctx)
{
	unsigned long nav = avm_alloc_live(&sys->alloc, AK_ANON_VMA);
	unsigned long navc = avm_alloc_live(&sys->alloc, AK_AVC);
	struct ptrset avs, vmas;
	int err;

	ptrset_init(&avs);
	ptrset_init(&vmas);
	err = census(ctx, &avs, &vmas);
	ptrset_for_each(&avs, i) {
		if (err)
			break;
		err = check_list(ctx, (struct anon_vma *)avs.keys[i],
				 avs.vals[i], &vmas);
	}
	if (!err && nav != avs.n)
		err = check_fail(ctx, "%lu anon_vmas live, %zu reachable (leak "
				 "or premature free)", nav, avs.n);
	if (!err && navc)
		err = check_fail(ctx, "%lu anon_vma_chains live", navc);
	ptrset_destroy(&avs);
	ptrset_destroy(&vmas);
	return err;
}

const struct rmap_ops rmap_anon_vma_2004_ops = {
	.name = "anon-vma-2004",
	.summary = "one anon_vma per fork family, one plain list of all its "
		   "VMAs: O(N) walks (2004)",
	.prepare = av2004_prepare,
	.get_anon = av2004_get_anon,
	.put_anon = av2004_put_anon,
	.clone = av2004_clone,
	.fork = av2004_fork,
	.unlink = av2004_unlink,
	.adjust_begin = av2004_adjust_begin,
	.adjust_end = av2004_adjust_end,
	.mergeable = av2004_mergeable,
	.page_add_new = av2004_page_add_new,
	.page_add = av2004_page_add,
	.page_remove = av2004_page_remove,
	.page_move = av2004_page_move,
	.walk = av2004_walk,
	.check = av2004_check,
	.usage = av2004_usage,
	.move_tail = av2004_move_tail,
};
