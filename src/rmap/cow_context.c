/* SPDX-License-Identifier: MIT */
/*
 * cow-context: Lorenzo Stoakes' proposed replacement for anon_vma, as far
 * as the public record describes it, built on anonvm's own code.
 *
 * Sources (quoted facts; our own reading where marked "choice"):
 *  [LWN] J. Corbet, "Keeping COWs in context (a.k.a. anonymous reverse
 *        mapping)", LWN, May 14 2026, https://lwn.net/Articles/1072378/
 *        (LSFMM+BPF 2026): Stoakes calls the anon rmap "a very broken
 *        abstraction"; it "holds locks across an entire fork operation";
 *        he presented "in raw form" a replacement called a "COW context".
 *  [RFC] L. Stoakes, "[RFC PATCH 01/10] mm/vma: introduce VMA virtual page
 *        offset field and add helpers", Jun 29 2026 (lkml.iu.edu
 *        2606.3/09131), series "mm: make VMA page offset handling more
 *        consistent" (cover: linux-trace-kernel msg24196): anonymous
 *        folios are "indexed by their 'virtual' page offset, which is
 *        equal to addr >> PAGE_SHIFT at the time at which the VMA was first
 *        faulted in"; the virtual page offset of a VMA "is equal to
 *        vma->vm_start >> PAGE_SHIFT if they are unfaulted or were not
 *        remapped, otherwise it is equal to this value at the point of
 *        first fault"; it lays "the foundations for future work for the
 *        scalable CoW anonymous rmap rework".
 *  [LAZY] wangtao, reply in "[PATCH 0/15] mm: introduce ANON_VMA_LAZY",
 *        May 29 2026 (lkml.iu.edu 2605.3/10057), on the PoC branch
 *        ljs/linux.git project/cow-context: "cow_context_walk currently
 *        assumes that the rmap walk runs under RCU protection"; "it needs
 *        to traverse all child cow_ctx, and within each cow_ctx,
 *        remaps_for_each() ..." (remaps are tracked per context).
 *  The issue brief: contexts per mm in a hierarchy that can outlive their
 *  processes; a folio points at the context of the process that first
 *  mapped it and is linked as low in the tree as possible; walks descend
 *  the context tree; pages indexed by virtual page offset; remaps tracked.
 *
 * The design here:
 *  - One struct cow_context per mm, created on the first anonymous fault
 *    (a new family, its root) or at fork (a child of the parent's
 *    context).  No per-VMA objects, nothing per VMA at fork: fork costs
 *    one allocation per process instead of anon_vma_fork's one anon_vma
 *    and 1 + depth avcs per VMA.
 *  - A page names a context (page->mapping) and its virtual page offset
 *    (page->index, which in anonvm is already the linear index of a VMA
 *    whose vm_pgoff is its first-fault address >> PAGE_SHIFT and is kept
 *    by mremap, i.e. [RFC]'s virtual page offset).  Every mapping of a
 *    page lives in an mm whose context is in the subtree of the page's
 *    context: only fork (and swap/migration entries, which fork copies)
 *    spreads a page, and fork puts the child below the parent.
 *  - "As low as possible": a fresh page names the faulting mm's context;
 *    a COW copy too (it is fresh); a page reused in place by a write
 *    fault (exclusive: only this mm maps it) moves down to this mm's
 *    context (page_move, where Linux moves it to the VMA's anon_vma).
 *    A page read back from swap that others may still hold (not
 *    exclusive) names the family's root, as Linux names the root
 *    anon_vma ("overly anonymous", 2010).
 *  - A walk visits each live mm of the subtree once: the VMA at the
 *    page's virtual address (pgoff << PAGE_SHIFT), if that VMA was not
 *    remapped, plus the remapped VMAs of that mm whose pgoff range holds
 *    the page (an interval tree per mm, "remaps" [LAZY]).  A VMA is
 *    "remapped" when vm_start != vm_pgoff << PAGE_SHIFT; split, merge and
 *    expansion keep vm_start - (vm_pgoff << PAGE_SHIFT), so only mremap
 *    (copy_vma, clone hook) creates one.  Visits counted: one per mm
 *    probed (a lookup, whether it finds a VMA or not) plus one per
 *    remapped candidate.
 *  - Lifetime: a context lives while its mm lives, pages name it, or it
 *    has children.  Otherwise it is freed; a context without mm and pages
 *    but with exactly one child is spliced out (the child takes its
 *    place), so a fork chain keeps no context that nothing needs.
 *    Pages are counted per context (ctx->pages); the frame allocator's
 *    page_free hook drops the count when a frame that names it is freed.
 *
 * Choices where the public record is silent, and why:
 *  - RCU: anonvm has no RCU-safe VMA lookup.  A walk takes the family lock
 *    (a mutex standing in for the RCU read side over the context tree)
 *    only to collect the live mms of the subtree, each read-locked by
 *    trylock (mm_walk.h rounds, as anonmm/pte-chain), and visits them with
 *    the family lock dropped, under each mm's mmap_lock for reading (the
 *    stand-in for lock_vma_under_rcu).  So a walk never runs concurrently
 *    with mremap/munmap in an mm it visits, which also settles the 2011
 *    mremap ordering question for this design.
 *  - Contexts outlive processes but are collapsed: exited contexts with
 *    one child and no pages are spliced out (not described publicly; it
 *    bounds Forrest's chain by the pages still alive, not by generations).
 *  - Non-exclusive swap-in names the root (as Linux): simplest correct
 *    choice, at the price of walking the whole family for such pages.
 *  - Merges: all VMAs of an mm share its context, so every merge the
 *    flags and offsets allow is fine (vma->anon_vma is a marker).
 */
#include <errno.h>
#include <stdlib.h>
#include "lib/interval_tree.h"
#include "mm/internal.h"
#include "rmap/anon_vma.h"
#include "rmap/cow_context.h"
#include "rmap/cow_context_impl.h"
#include "rmap/mm_walk.h"
#include "rmap/rmap.h"

static DEFINE_LOCK_CLASS(cowc_family_class, "cow-context family lock");
static DEFINE_LOCK_CLASS(cowc_remap_class, "cow-context remap tree lock");

/* The anon_vma the mm code sees in vma->anon_vma ("has pages"). */
struct anon_vma cowc_marker = {
	.root = &cowc_marker,
	.parent = &cowc_marker,
	.rwsem = { PTHREAD_RWLOCK_INITIALIZER },
};

static unsigned long remap_start(const struct cowc_remap *r)
{
	return r->vma->vm_pgoff;
}

static unsigned long remap_last(const struct cowc_remap *r)
{
	return r->vma->vm_pgoff + vma_pages(r->vma) - 1;
}

INTERVAL_TREE_DEFINE(struct cowc_remap, rb, unsigned long, subtree_last,
		     remap_start, remap_last, static inline, remap_tree)

static const struct cowc_policy *policy(struct avm_sys *sys)
{
	return sys->rmap->design_data;
}

struct cowc_mm *mm_cowc(const struct avm_mm *mm)
{
	return mm->rmap_data;
}

struct cow_context *page_cowc(const struct page *page)
{
	if (!page_is_anon(page))
		return NULL;
	return (struct cow_context *)(page->mapping & ~PAGE_MAPPING_ANON);
}

bool cowc_vma_remapped(const struct vm_area_struct *vma)
{
	return vma->vm_start != vma->vm_pgoff << PAGE_SHIFT;
}

struct cowc_remap *vma_remap(const struct vm_area_struct *vma)
{
	if (list_empty(&vma->anon_vma_chain))
		return NULL;
	return list_first_entry(&vma->anon_vma_chain, struct cowc_remap, link);
}

/* ---- objects ----------------------------------------------------------- */

static struct cow_context *ctx_alloc(struct avm_sys *sys,
				     struct cowc_family *fam,
				     struct avm_mm *mm)
{
	struct cow_context *c = avm_kmalloc(&sys->alloc, AK_ANON_VMA,
					    sizeof(*c));

	if (c) {
		c->fam = fam;
		c->parent = NULL;
		INIT_LIST_HEAD(&c->children);
		INIT_LIST_HEAD(&c->sibling);
		c->mm = mm;
		atomic_init(&c->pages, 0);
	}
	return c;
}

static void ctx_free(struct avm_sys *sys, struct cow_context *c)
{
	avm_kfree(&sys->alloc, AK_ANON_VMA, c, sizeof(*c));
}

static struct cowc_mm *cm_alloc(struct avm_sys *sys)
{
	struct cowc_mm *cm = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER,
					 sizeof(*cm));

	if (cm) {
		cm->ctx = NULL;
		avm_mutex_init(&cm->lock);
		cm->remaps = RB_ROOT;
	}
	return cm;
}

static void cm_free(struct avm_sys *sys, struct cowc_mm *cm)
{
	avm_mutex_destroy(&cm->lock);
	avm_kfree(&sys->alloc, AK_RMAP_OTHER, cm, sizeof(*cm));
}

static struct cowc_family *fam_alloc(struct avm_sys *sys)
{
	struct cowc_family *f = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER,
					    sizeof(*f));

	if (f) {
		avm_mutex_init(&f->lock);
		f->sys = sys;
		f->root = NULL;
		f->nr = 0;
	}
	return f;
}

static void fam_free(struct avm_sys *sys, struct cowc_family *f)
{
	avm_mutex_destroy(&f->lock);
	avm_kfree(&sys->alloc, AK_RMAP_OTHER, f, sizeof(*f));
}

static void ctx_link(struct cow_context *c, struct cow_context *parent)
{
	c->parent = parent;
	list_add_tail(&c->sibling, &parent->children);
	c->fam->nr++;
}

/*
 * Under the family lock: free c if nothing needs it, splice it out if it
 * only connects its one child to its parent, and go on upwards while that
 * leaves the parent unneeded.  Returns true when the family is empty (the
 * caller frees it after unlocking).
 */
static bool ctx_reap(struct avm_sys *sys, struct cow_context *c)
{
	struct cowc_family *f = c->fam;

	while (c && !c->mm && !atomic_load(&c->pages)) {
		struct cow_context *parent = c->parent;

		if (list_empty(&c->children)) {
			if (parent)
				list_del(&c->sibling);
			else
				f->root = NULL;
		} else if (list_is_singular(&c->children)) {
			struct cow_context *child = list_first_entry(
				&c->children, struct cow_context, sibling);

			child->parent = parent;
			if (parent)
				cowc_list_replace(&c->sibling,
						  &child->sibling);
			else
				f->root = child;
			parent = NULL;	/* its children did not change */
		} else {
			break;
		}
		f->nr--;
		ctx_free(sys, c);
		c = parent;
	}
	return !f->nr;
}

/* Take a page reference on c (c must be alive: its mm, or the caller,
   keeps it). */
static void ctx_get_page(struct cow_context *c)
{
	atomic_fetch_add(&c->pages, 1);
}

/* Drop a page reference; the last one may free c and its family. */
static void ctx_put_page(struct avm_sys *sys, struct cow_context *c)
{
	unsigned long n = atomic_load(&c->pages);
	struct cowc_family *f;
	bool empty;

	while (n > 1)
		if (atomic_compare_exchange_weak(&c->pages, &n, n - 1))
			return;
	/* ours may be the last: c cannot go while we hold it */
	f = c->fam;
	avm_mutex_lock(&f->lock, &cowc_family_class);
	atomic_fetch_sub(&c->pages, 1);
	empty = ctx_reap(sys, c);
	avm_mutex_unlock(&f->lock);
	if (empty)
		fam_free(sys, f);
}

/* page (locked, or not yet visible) names c from now on; ref: the caller
   took c's page reference already. */
static void __set_page_ctx(struct avm_sys *sys, struct page *page,
			   struct cow_context *c, unsigned long index, bool ref)
{
	struct cow_context *old = page_cowc(page);

	page->index = index;
	if (old == c) {
		if (ref)
			ctx_put_page(sys, c);
		return;
	}
	if (!ref)
		ctx_get_page(c);
	page->mapping = (uintptr_t)c | PAGE_MAPPING_ANON;
	if (old)
		ctx_put_page(sys, old);
}

static void set_page_ctx(struct avm_sys *sys, struct page *page,
			 struct cow_context *c, unsigned long index)
{
	__set_page_ctx(sys, page, c, index, false);
}

/* A new family with mm's context as its root; -ENOMEM. */
static int new_family(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;
	struct cowc_family *f = fam_alloc(sys);
	struct cow_context *c = f ? ctx_alloc(sys, f, mm) : NULL;
	struct cowc_mm *cm = c ? cm_alloc(sys) : NULL;

	if (!cm) {
		if (c)
			ctx_free(sys, c);
		if (f)
			fam_free(sys, f);
		return -ENOMEM;
	}
	f->root = c;
	f->nr = 1;
	cm->ctx = c;
	/* faults run under mmap_lock for reading: the page-table lock
	   decides between two of them, as in anon_vma_prepare */
	ptl_lock(mm);
	if (!mm->rmap_data) {
		mm->rmap_data = cm;
		cm = NULL;
	}
	ptl_unlock(mm);
	if (cm) {
		cm_free(sys, cm);
		ctx_free(sys, c);
		fam_free(sys, f);
	}
	return 0;
}

/*
 * The child mm's context, below the parent's; with the policy's new
 * parent leaf, the parent's pages from now on go below its old context,
 * beside the child's.  -ENOMEM with nothing changed.
 */
static int fork_context(struct avm_mm *child, struct avm_mm *parent)
{
	struct avm_sys *sys = child->sys;
	struct cowc_mm *pcm = mm_cowc(parent);
	struct cowc_family *f = pcm->ctx->fam;
	bool leaf = policy(sys)->fork_new_parent_leaf;
	struct cowc_mm *cm = cm_alloc(sys);
	struct cow_context *c = cm ? ctx_alloc(sys, f, child) : NULL;
	struct cow_context *pc = c && leaf ? ctx_alloc(sys, f, parent) : NULL;

	if (!c || (leaf && !pc)) {
		if (c)
			ctx_free(sys, c);
		if (cm)
			cm_free(sys, cm);
		return -ENOMEM;
	}
	avm_mutex_lock(&f->lock, &cowc_family_class);
	ctx_link(c, pcm->ctx);
	if (pc) {
		struct cow_context *old = pcm->ctx;

		ctx_link(pc, old);
		old->mm = NULL;		/* keeps the pages of before */
		pcm->ctx = pc;
	}
	avm_mutex_unlock(&f->lock);
	cm->ctx = c;
	child->rmap_data = cm;
	return 0;
}

/* ---- remapped VMAs ----------------------------------------------------- */

static struct cowc_remap *remap_alloc(struct avm_sys *sys,
				      struct vm_area_struct *vma)
{
	struct cowc_remap *r = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER,
					   sizeof(*r));

	if (r) {
		r->vma = vma;
		INIT_LIST_HEAD(&r->link);
	}
	return r;
}

static void remap_insert(struct cowc_mm *cm, struct cowc_remap *r)
{
	avm_mutex_lock(&cm->lock, &cowc_remap_class);
	remap_tree_insert(r, &cm->remaps);
	avm_mutex_unlock(&cm->lock);
}

static void remap_remove(struct cowc_mm *cm, struct cowc_remap *r)
{
	avm_mutex_lock(&cm->lock, &cowc_remap_class);
	remap_tree_remove(r, &cm->remaps);
	avm_mutex_unlock(&cm->lock);
}

/* vma has pages (anon_vma set): track it if it is remapped.  -ENOMEM. */
static int remap_track(struct vm_area_struct *vma)
{
	struct avm_sys *sys = vma->vm_mm->sys;
	struct cowc_remap *r;

	if (!cowc_vma_remapped(vma) || vma_remap(vma))
		return 0;
	r = remap_alloc(sys, vma);
	if (!r)
		return -ENOMEM;
	list_add(&r->link, &vma->anon_vma_chain);
	remap_insert(mm_cowc(vma->vm_mm), r);
	return 0;
}

static void remap_untrack(struct vm_area_struct *vma)
{
	struct cowc_remap *r = vma_remap(vma);

	if (!r)
		return;
	remap_remove(mm_cowc(vma->vm_mm), r);
	list_del_init(&r->link);
	avm_kfree(&vma->vm_mm->sys->alloc, AK_RMAP_OTHER, r, sizeof(*r));
}

/* ---- VMA and mm hooks -------------------------------------------------- */

static int cowc_prepare(struct vm_area_struct *vma)
{
	struct avm_mm *mm = vma->vm_mm;
	struct cowc_remap *r = NULL;
	int err;

	if (!mm_cowc(mm)) {
		err = new_family(mm);
		if (err)
			return err;
	}
	/*
	 * A linear VMA is marked by its first page (page_add_new), as anonmm
	 * does, so that a fault failing after this leaves the VMA as it was.
	 * A remapped VMA without pages (DONTUNMAP's emptied source) needs its
	 * remap entry, which may fail, now.
	 */
	if (!cowc_vma_remapped(vma) || vma_remap(vma))
		return 0;
	r = remap_alloc(mm->sys, vma);
	if (!r)
		return -ENOMEM;
	/* remap lock before the page-table lock, as a walk takes them */
	avm_mutex_lock(&mm_cowc(mm)->lock, &cowc_remap_class);
	ptl_lock(mm);
	if (!vma->anon_vma) {
		/* faults read it without a lock (per-VMA lock entry) */
		__atomic_store_n(&vma->anon_vma, &cowc_marker,
				 __ATOMIC_RELEASE);
		if (!vma_remap(vma)) {
			list_add(&r->link, &vma->anon_vma_chain);
			remap_tree_insert(r, &mm_cowc(mm)->remaps);
			r = NULL;
		}
	}
	ptl_unlock(mm);
	avm_mutex_unlock(&mm_cowc(mm)->lock);
	if (r)
		avm_kfree(&mm->sys->alloc, AK_RMAP_OTHER, r, sizeof(*r));
	return 0;
}

static int cowc_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	dst->anon_vma = &cowc_marker;
	return remap_track(dst);
}

static int cowc_fork(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	int err;

	if (!mm_cowc(dst->vm_mm)) {
		err = fork_context(dst->vm_mm, src->vm_mm);
		if (err)
			return err;
	}
	dst->anon_vma = &cowc_marker;
	return remap_track(dst);
}

static void cowc_unlink(struct vm_area_struct *vma)
{
	remap_untrack(vma);
	vma->anon_vma = NULL;
}

static void cowc_adjust_begin(struct vm_area_struct *vma)
{
	struct cowc_remap *r = vma_remap(vma);

	if (r)
		remap_remove(mm_cowc(vma->vm_mm), r);
}

/* Split, merge and expansion keep vm_start - vm_pgoff: a remapped VMA
   stays remapped, a linear one linear (the checker verifies it). */
static void cowc_adjust_end(struct vm_area_struct *vma)
{
	struct cowc_remap *r = vma_remap(vma);

	if (r)
		remap_insert(mm_cowc(vma->vm_mm), r);
}

static bool cowc_mergeable(struct vm_area_struct *tgt,
			   struct anon_vma *src_anon,
			   struct vm_area_struct *src)
{
	return true;
}

static void cowc_mm_exit(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;
	struct cowc_mm *cm = mm_cowc(mm);
	struct cowc_family *f;
	bool empty;

	if (!cm)
		return;
	f = cm->ctx->fam;
	avm_mutex_lock(&f->lock, &cowc_family_class);
	cm->ctx->mm = NULL;
	empty = ctx_reap(sys, cm->ctx);
	avm_mutex_unlock(&f->lock);
	/* a walker that took this mm from the tree may still be in it */
	mmap_write_lock(mm);
	mmap_write_unlock(mm);
	mm->rmap_data = NULL;
	cm_free(sys, cm);
	if (empty)
		fam_free(sys, f);
}

/* ---- page hooks -------------------------------------------------------- */

/* Mappings outside the named context's mm (the foreign_count policy). */
static bool foreign(const struct page *page, const struct vm_area_struct *vma)
{
	return page_cowc(page)->mm != vma->vm_mm;
}

static void cowc_page_add_new(struct page *page, struct vm_area_struct *vma,
			      unsigned long addr, bool exclusive)
{
	struct avm_sys *sys = vma->vm_mm->sys;
	struct cow_context *c = mm_cowc(vma->vm_mm)->ctx;
	unsigned long index = linear_page_index(vma, addr);
	struct cowc_family *f;

	/* its first page (see prepare); faults read it without a lock */
	if (!__atomic_load_n(&vma->anon_vma, __ATOMIC_RELAXED))
		__atomic_store_n(&vma->anon_vma, &cowc_marker,
				 __ATOMIC_RELEASE);
	if (exclusive) {
		set_page_ctx(sys, page, c, index);
	} else {
		/* others may hold its swap entry: the context above them all
		   (referenced under the lock: splicing may replace the root) */
		f = c->fam;
		avm_mutex_lock(&f->lock, &cowc_family_class);
		c = f->root;
		ctx_get_page(c);
		avm_mutex_unlock(&f->lock);
		__set_page_ctx(sys, page, c, index, true);
	}
	if (policy(sys)->mapper_list) {
		cowc_mappers_clear(sys, page);
		if (foreign(page, vma))
			cowc_mappers_add(sys, page, mm_cowc(vma->vm_mm)->ctx);
	} else if (policy(sys)->foreign_count) {
		__atomic_store_n(&page->rmap_count, foreign(page, vma),
				 __ATOMIC_RELAXED);
	}
}

/*
 * Fork, swap cache, migration: the mapping is below the page's context
 * already (see the header).  Foreign counts follow the mapcount: a PTE
 * turned into a migration entry leaves the count, its restore enters it
 * again (so a walk with entries out, mapcount 0, does not prune).
 */
static int cowc_page_add(struct page *page, struct vm_area_struct *vma,
			 unsigned long addr)
{
	struct avm_sys *sys = vma->vm_mm->sys;

	if (!policy(sys)->foreign_count || !foreign(page, vma))
		return 0;
	if (policy(sys)->mapper_list)
		cowc_mappers_add(sys, page, mm_cowc(vma->vm_mm)->ctx);
	else
		__atomic_fetch_add(&page->rmap_count, 1, __ATOMIC_RELAXED);
	return 0;
}

static void cowc_page_remove(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr)
{
	struct avm_sys *sys = vma->vm_mm->sys;

	if (!policy(sys)->foreign_count || !foreign(page, vma))
		return;
	if (policy(sys)->mapper_list)
		cowc_mappers_del(sys, page, mm_cowc(vma->vm_mm)->ctx);
	else
		__atomic_fetch_sub(&page->rmap_count, 1, __ATOMIC_RELAXED);
}

/* Reused in place by this mm alone: as low as possible. */
static void cowc_page_move(struct page *page, struct vm_area_struct *vma)
{
	struct avm_sys *sys = vma->vm_mm->sys;

	set_page_ctx(sys, page, mm_cowc(vma->vm_mm)->ctx, page->index);
	if (policy(sys)->mapper_list)
		cowc_mappers_clear(sys, page);
	page->rmap_count = 0;
}

static void cowc_page_free(struct avm_sys *sys, struct page *page)
{
	struct cow_context *c = page_cowc(page);

	if (policy(sys)->mapper_list)
		cowc_mappers_clear(sys, page);
	if (c) {
		page->mapping = 0;
		ctx_put_page(sys, c);
	}
}

/* ---- the walk ---------------------------------------------------------- */

/* Under the family lock: read-lock the live mms of c's subtree (but
   skip's). */
static int take_subtree(struct mm_walk *w, struct cow_context *top,
			const struct avm_mm *skip)
{
	struct cow_context *c = top;
	int err;

	for (;;) {
		if (c->mm && c->mm != skip) {
			err = mmw_take(w, c->mm);
			if (err < 0)
				return err;
		}
		if (!list_empty(&c->children)) {
			c = list_first_entry(&c->children, struct cow_context,
					     sibling);
			continue;
		}
		while (c != top && c->sibling.next == &c->parent->children)
			c = c->parent;
		if (c == top)
			return 0;
		c = list_entry(c->sibling.next, struct cow_context, sibling);
	}
}

/* One mm: the VMA at the page's virtual address, then its remaps. */
static bool visit_mm(struct avm_mm *mm, struct page *page,
		     struct rmap_walk_control *rwc)
{
	struct cowc_mm *cm = mm_cowc(mm);
	unsigned long pgoff = page->index, addr = pgoff << PAGE_SHIFT;
	struct vm_area_struct *vma;
	struct cowc_remap *r;
	bool go = true;

	rwc->visits++;
	vma = pgoff < TASK_SIZE >> PAGE_SHIFT ? vma_lookup(mm, addr) : NULL;
	if (vma && vma->anon_vma && !cowc_vma_remapped(vma))
		go = rwc->rmap_one(page, vma, addr, rwc->arg);
	if (!cm || !go)
		return go;
	avm_mutex_lock(&cm->lock, &cowc_remap_class);
	for (r = remap_tree_iter_first(&cm->remaps, pgoff, pgoff); r && go;
	     r = remap_tree_iter_next(r, pgoff, pgoff)) {
		rwc->visits++;
		go = rwc->rmap_one(page, r->vma, vma_address(r->vma, pgoff),
				   rwc->arg);
	}
	avm_mutex_unlock(&cm->lock);
	return go;
}

/*
 * A round's mms, the named context's own first.  With foreign counts, the
 * subtree is needed only if some mapping is outside that mm.  The count
 * is read with the owner mm read-locked and the page locked: then nothing
 * can add the first foreign mapping meanwhile (fork from the owner needs
 * its mmap_lock for writing, swap-in and migration the page lock); a
 * busy owner mm or a context without mm take the whole subtree.  So does
 * every round of a walk that began with the page unmapped (prune false:
 * migration entries are out; they are not counted, and fork may have
 * copied them anywhere below).  Known gap: a migration whose install walk
 * missed a mapping restores the old page with mapcount > 0, pruned; the
 * walks here do not miss one (a mapper cannot fork while it is visited),
 * but a design with entries counted would not need that argument.
 */
static int take_round(struct mm_walk *w, struct cow_context *c,
		      const struct page *page, bool prune)
{
	int got = 0;

	if (!policy(c->fam->sys)->foreign_count || !prune)
		return take_subtree(w, c, NULL);
	if (c->mm) {
		got = mmw_take(w, c->mm);
		if (got < 0)
			return got;
		if (got && !__atomic_load_n(&page->rmap_count,
					    __ATOMIC_RELAXED))
			return 0;
	}
	if (policy(c->fam->sys)->mapper_list) {
		got = cowc_mappers_take(w, page, c->mm);
		if (got)
			return got < 0 ? got : 0;
	}
	return take_subtree(w, c, c->mm);
}

/*
 * The page is locked and names c, so c lives (its page count) and so
 * does the family.  Rounds: collect under the family lock, visit without.
 */
static int cowc_walk(struct page *page, struct rmap_walk_control *rwc)
{
	struct cow_context *c = page_cowc(page);
	/* decided once: a restore walk's own restores must not turn it
	   into a pruned one in its later rounds */
	bool prune = page_mapcount(page) > 0;
	struct mm_walk w;
	bool stop = false;
	int err = 0;

	if (!c)
		return 0;
	mmw_init(&w);
	do {
		avm_mutex_lock(&c->fam->lock, &cowc_family_class);
		err = take_round(&w, c, page, prune);
		avm_mutex_unlock(&c->fam->lock);
		for (size_t i = 0; i < w.nlocked && !stop && err >= 0; i++)
			stop = !visit_mm(w.locked[i], page, rwc);
	} while (mmw_end_round(&w, stop || err < 0));
	return mmw_destroy(&w);
}

/* ---- usage ------------------------------------------------------------- */

static void cowc_usage(struct avm_sys *sys, unsigned long *objects,
		       unsigned long *bytes)
{
	*objects = avm_alloc_live(&sys->alloc, AK_RMAP_OTHER) +
		   avm_alloc_live(&sys->alloc, AK_ANON_VMA);
	*bytes = avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER) +
		 avm_alloc_bytes(&sys->alloc, AK_ANON_VMA);
}

#define COWC_OPS \
	.prepare = cowc_prepare, .clone = cowc_clone, .fork = cowc_fork, \
	.unlink = cowc_unlink, .adjust_begin = cowc_adjust_begin, \
	.adjust_end = cowc_adjust_end, .mergeable = cowc_mergeable, \
	.page_add_new = cowc_page_add_new, .page_add = cowc_page_add, \
	.page_remove = cowc_page_remove, .page_move = cowc_page_move, \
	.walk = cowc_walk, .check = cowc_check, .usage = cowc_usage, \
	.mm_exit = cowc_mm_exit, .page_free = cowc_page_free

static const struct cowc_policy cow_context_policy = {
	.fork_new_parent_leaf = false,
};

const struct rmap_ops rmap_cow_context_ops = {
	.name = "cow-context",
	.summary = "one context per mm in a fork tree that outlives exits; "
		   "page -> first mapper's context, walk its subtree by "
		   "virtual page offset + remaps (Stoakes 2026)",
	COWC_OPS,
	.design_data = &cow_context_policy,
};

/*
 * foreign-count, our design: cow-context plus one counter per page (in
 * struct page's design word, no memory): the page's mappings outside the
 * mm of the context it names.  Fork increments it for every PTE it copies
 * (fork already touches the page's mapcount), unmap and COW decrement
 * it.  A walk visits the named context's mm first, and the rest of the
 * subtree only while the count is not zero: a page faulted by one process
 * and since COW-broken by all its children, or a child's private COW copy,
 * costs one mm probe however large the family is.
 */
static const struct cowc_policy foreign_count_policy = {
	.foreign_count = true,
};

const struct rmap_ops rmap_foreign_count_ops = {
	.name = "foreign-count",
	.summary = "cow-context + per-page count of mappings outside the "
		   "owner mm: the subtree is walked only when it is not 0",
	COWC_OPS,
	.design_data = &foreign_count_policy,
};

/*
 * mapper-list, our design's exact variant: foreign-count plus, per page
 * with foreign mappings, an array of their contexts (8 bytes a mapping,
 * grown by doubling; cow_context_mappers.c).  A walk visits the owner mm
 * and the mms the array names, the subtree only when the array is short
 * (an allocation failed) or in flux.  The price: fork writes a slot for
 * every PTE it shares.
 */
static const struct cowc_policy mapper_list_policy = {
	.foreign_count = true,
	.mapper_list = true,
};

const struct rmap_ops rmap_mapper_list_ops = {
	.name = "mapper-list",
	.summary = "foreign-count + per-page array of the foreign mappers' "
		   "contexts: exact walks, 8 bytes per shared mapping",
	COWC_OPS,
	.design_data = &mapper_list_policy,
};
