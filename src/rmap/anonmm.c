/* SPDX-License-Identifier: MIT */
/*
 * anonmm: Hugh Dickins' object-based reverse map for anonymous pages
 * (2004, "rmap 10-13", replaced by anon_vma in rmap 39 - seed 2004-05).
 *
 * One struct anonmm per mm (avm_mm->rmap_data), linked on its fork
 * family's list: a forked child joins its parent's family.  An anonymous
 * page names the family (page->mapping = family | PAGE_MAPPING_ANON, here
 * the family object rather than Hugh's faulting anonmm, see below) and the
 * virtual page number it is mapped at (page->index = address >> PAGE_SHIFT,
 * not the linear pgoff).  Since fork keeps addresses, every mapping of a
 * page is at that one address in some mm of the family: a walk tries every
 * mm of the family there (VMA lookup, then the PTE test), so it visits as
 * many mms as the family has, whatever maps the page.
 *
 * VMAs need nothing: split, merge, mprotect never change an address, and
 * every merge the flags and offsets allow is fine (vma->anon_vma is only a
 * marker, "has anonymous pages", which the mm code tests).
 *
 * What breaks it is mremap after fork: a moved page changes its address
 * in this mm only.  As Hugh did, a move copies (breaks COW on) every page
 * that may be mapped elsewhere, before anything moves (prepare_move: all
 * frames are allocated first, so it fails with -ENOMEM or not at all); a
 * page mapped only here just takes its new address (move_pte).  Counted
 * in avm_stats.rmap_copies.  For the entries without a frame:
 *  - a swap entry marked exclusive moves as it is: its frame, if still in
 *    the swap cache, is unmapped, and takes the address of whoever maps it
 *    next (page_add re-homes a page nobody maps, as Hugh's
 *    page_add_anon_rmap did at mapcount 0); any other swap entry is read
 *    into a private copy;
 *  - a migration entry (a migration from another mm is under way) is
 *    copied from the old frame, which the migration cannot free before it
 *    has visited this mm, and this mm is write-locked.
 *
 * Lifetime: the family is freed when its last mm goes (mm_exit).  A page
 * can only name a family one of whose mms maps it, holds its swap entry or
 * is migrating it, so pages need no reference (Hugh's anonmm counted one
 * per page; pointing pages at the family instead lets an mm's anonmm go
 * at exit even when its pages live on in the children).
 *
 * Locking: the family mutex protects its member list (fork adds, exit
 * removes).  A walk takes each member mm's mmap_lock for reading while it
 * holds the family mutex and visits it after dropping the mutex (see
 * mm_walk.h); mm_exit, after unlinking, write-locks the mm once so that a
 * walker still visiting it is done before the mm is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/anon_vma.h"
#include "rmap/mm_walk.h"
#include "rmap/rmap.h"

struct anonmm_family {
	struct avm_mutex lock;		/* members */
	struct list_head members;	/* struct anonmm, oldest first */
	unsigned long nr;		/* members: the family's references */
};

/* Taken under the page lock, never under a page-table lock. */
static DEFINE_LOCK_CLASS(family_lock_class, "anonmm family lock");

struct anonmm {
	struct avm_mm *mm;
	struct anonmm_family *fam;
	struct list_head node;		/* fam->members */
};

/* The anon_vma the mm code sees in vma->anon_vma. */
static struct anon_vma amm_marker = {
	.root = &amm_marker,
	.parent = &amm_marker,
	.rwsem = { PTHREAD_RWLOCK_INITIALIZER },
};

/* Set once under the page-table lock by a fault (new_family), read
   by other faults of the mm without it. */
static struct anonmm *mm_anonmm(const struct avm_mm *mm)
{
	return __atomic_load_n(&mm->rmap_data, __ATOMIC_ACQUIRE);
}

static struct anonmm_family *page_family(const struct page *page)
{
	if (!page_is_anon(page))
		return NULL;
	return (struct anonmm_family *)(page->mapping & ~PAGE_MAPPING_ANON);
}

static void set_identity(struct page *page, struct avm_mm *mm,
			 unsigned long addr)
{
	page->mapping = (uintptr_t)mm_anonmm(mm)->fam | PAGE_MAPPING_ANON;
	page->index = addr >> PAGE_SHIFT;
}

/* ---- objects ----------------------------------------------------------- */

static struct anonmm *anonmm_alloc(struct avm_sys *sys, struct avm_mm *mm)
{
	struct anonmm *a = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER, sizeof(*a));

	if (a) {
		a->mm = mm;
		a->fam = NULL;
		INIT_LIST_HEAD(&a->node);
	}
	return a;
}

static void anonmm_free(struct avm_sys *sys, struct anonmm *a)
{
	avm_kfree(&sys->alloc, AK_RMAP_OTHER, a, sizeof(*a));
}

static struct anonmm_family *family_alloc(struct avm_sys *sys)
{
	struct anonmm_family *f = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER,
					      sizeof(*f));

	if (f) {
		avm_mutex_init(&f->lock);
		INIT_LIST_HEAD(&f->members);
		f->nr = 0;
	}
	return f;
}

static void family_free(struct avm_sys *sys, struct anonmm_family *f)
{
	avm_mutex_destroy(&f->lock);
	avm_kfree(&sys->alloc, AK_RMAP_OTHER, f, sizeof(*f));
}

static void family_join(struct anonmm_family *f, struct anonmm *a)
{
	avm_mutex_lock(&f->lock, &family_lock_class);
	a->fam = f;
	list_add_tail(&a->node, &f->members);
	f->nr++;
	avm_mutex_unlock(&f->lock);
}

/* A new family with mm as its only member (mm has no anonmm yet). */
static int new_family(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;
	struct anonmm *a = anonmm_alloc(sys, mm);
	struct anonmm_family *f = a ? family_alloc(sys) : NULL;

	if (!f) {
		if (a)
			anonmm_free(sys, a);
		return -ENOMEM;
	}
	family_join(f, a);
	/* faults run under the mmap_lock for reading: the page-table lock
	   decides between two of them, as in anon_vma_prepare */
	ptl_lock(mm);
	if (!mm->rmap_data) {
		__atomic_store_n(&mm->rmap_data, a, __ATOMIC_RELEASE);
		a = NULL;
	}
	ptl_unlock(mm);
	if (a) {
		anonmm_free(sys, a);
		family_free(sys, f);
	}
	return 0;
}

/* ---- VMA and mm hooks -------------------------------------------------- */

/* Before a fault maps a page: the mm needs its anonmm (and family). */
static int amm_prepare(struct vm_area_struct *vma)
{
	return mm_anonmm(vma->vm_mm) ? 0 : new_family(vma->vm_mm);
}

static int amm_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	dst->anon_vma = src->anon_vma;
	return 0;
}

/* The child (dst's mm) joins the parent's family on its first VMA. */
static int amm_fork(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct avm_mm *child = dst->vm_mm, *parent = src->vm_mm;
	struct anonmm *a;
	int err;

	if (!mm_anonmm(parent)) {	/* not reached: src has pages */
		err = new_family(parent);
		if (err)
			return err;
	}
	if (!mm_anonmm(child)) {
		a = anonmm_alloc(child->sys, child);
		if (!a)
			return -ENOMEM;
		family_join(mm_anonmm(parent)->fam, a);
		child->rmap_data = a;
	}
	dst->anon_vma = src->anon_vma;
	return 0;
}

static void amm_unlink(struct vm_area_struct *vma)
{
	vma->anon_vma = NULL;
}

static void amm_adjust(struct vm_area_struct *vma)
{
}

static bool amm_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
			  struct vm_area_struct *src)
{
	return true;
}

static void amm_mm_exit(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;
	struct anonmm *a = mm_anonmm(mm);
	struct anonmm_family *f;
	bool last;

	if (!a)
		return;
	f = a->fam;
	avm_mutex_lock(&f->lock, &family_lock_class);
	list_del(&a->node);
	last = !--f->nr;
	avm_mutex_unlock(&f->lock);
	/* a walker that took this mm from the list may still be in it */
	mmap_write_lock(mm);
	mmap_write_unlock(mm);
	mm->rmap_data = NULL;
	anonmm_free(sys, a);
	if (last)
		family_free(sys, f);
}

/* ---- page hooks -------------------------------------------------------- */

static void amm_page_add_new(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr, bool exclusive)
{
	/* under the page-table lock; walkers of the family read it under
	   this mm's mmap_lock only, as another fault may be setting it */
	if (!__atomic_load_n(&vma->anon_vma, __ATOMIC_RELAXED))
		__atomic_store_n(&vma->anon_vma, &amm_marker, __ATOMIC_RELAXED);
	set_identity(page, vma->vm_mm, addr);
}

/*
 * Nobody maps the page (a swap-cache frame mapped again, or the first
 * migration entry restored): it takes this mapping's identity.  Every
 * other mapping of a page is at the same address of the same family.
 */
static int amm_page_add(struct page *page, struct vm_area_struct *vma,
			unsigned long addr)
{
	if (!page_mapcount(page))
		set_identity(page, vma->vm_mm, addr);
	return 0;
}

static void amm_page_remove(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr)
{
}

static void amm_page_move(struct page *page, struct vm_area_struct *vma)
{
}

/* ---- the walk ---------------------------------------------------------- */

/*
 * Every mm of the family once: visits == family size.  page->index is read
 * under each mm's mmap_lock: mremap changes it under the write lock of the
 * only mm that maps the page.
 */
static int amm_walk(struct page *page, struct rmap_walk_control *rwc)
{
	struct anonmm_family *f = page_family(page);
	struct mm_walk w;
	struct anonmm *a;
	bool stop = false;
	int err = 0;

	if (!f)
		return 0;
	mmw_init(&w);
	do {
		avm_mutex_lock(&f->lock, &family_lock_class);
		list_for_each_entry(a, &f->members, node) {
			err = mmw_take(&w, a->mm);
			if (err < 0)
				break;
		}
		avm_mutex_unlock(&f->lock);
		for (size_t i = 0; i < w.nlocked && !stop && err >= 0; i++) {
			/* atomic: the mm that alone maps the page may be
			   moving it (amm_move_pte), if we could not lock it */
			unsigned long addr = __atomic_load_n(&page->index,
						__ATOMIC_RELAXED) << PAGE_SHIFT;
			struct vm_area_struct *vma = vma_lookup(w.locked[i],
								addr);

			rwc->visits++;
			if (vma && __atomic_load_n(&vma->anon_vma,
						   __ATOMIC_RELAXED) &&
			    !rwc->rmap_one(page, vma, addr, rwc->arg))
				stop = true;
		}
	} while (mmw_end_round(&w, stop || err < 0));
	return mmw_destroy(&w);
}

/* ---- mremap ------------------------------------------------------------ */

/* Mapped here only: may the page simply take the new address? */
static bool mapped_here_only(const struct page *page)
{
	return page_test(page, PG_anon_exclusive) ||
	       (page_mapcount(page) == 1 && page_refcount(page) == 1);
}

/* Must this PTE's page be copied before its address changes? */
static bool needs_copy(struct avm_sys *sys, pte_t pte)
{
	struct page *page;

	if (!pte)
		return false;
	if (!pte_present(pte))
		return pte_nptype(pte) != PTE_TYPE_SWAP ||
		       !(pte & PTE_SWP_EXCL);
	page = pfn_to_page(sys, pte_pfn(pte));
	return page != sys->zero_page && !mapped_here_only(page);
}

struct move_prep {
	struct vm_area_struct *vma;
	struct list_head frames;	/* preallocated copies */
	unsigned long need;
	bool copy;			/* pass 2 */
};

/* Replace the PTE at addr by a private, exclusive copy in frame new. */
static void copy_one(struct avm_sys *sys, struct vm_area_struct *vma,
		     struct pgtable *pt, unsigned long addr, struct page *new)
{
	unsigned int i = pte_index(addr);
	pte_t pte = ptep_get(pt, i);
	struct page *old = NULL;

	if (pte_present(pte) || pte_nptype(pte) != PTE_TYPE_SWAP)
		old = pfn_to_page(sys, pte_pfn(pte));
	if (old)
		copy_page_payload(sys, new, old);
	else if (page_address(sys, new))
		swap_pte_read(sys, pte, page_address(sys, new));
	rmap_add_new(new, vma, addr, true);
	set_pte(pt, i, mk_pte(page_to_pfn(sys, new),
			  (pte_present(pte) ? pte & PTE_YOUNG : PTE_YOUNG) |
			  PTE_DIRTY));
	if (pte_present(pte)) {
		rmap_remove(old, vma, addr);
		free_swap_cache(sys, old);
		put_page(sys, old);		/* the mapping's */
	} else if (!old) {
		free_swap_pte(sys, pte);
	}
	/* a migration entry held neither a mapping nor a reference */
	lru_add(sys, new);
	atomic_fetch_add(&sys->ctr.rmap_copies, 1);
}

static int prep_table(struct avm_mm *mm, struct pgtable *pt,
		      unsigned long start, unsigned long end, void *arg)
{
	struct move_prep *p = arg;
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		struct page *new;

		if (!needs_copy(sys, ptep_get(pt, pte_index(a))))
			continue;
		if (!p->copy) {
			p->need++;
			continue;
		}
		if (list_empty(&p->frames))
			return 0;		/* not reached: range frozen */
		new = list_first_entry(&p->frames, struct page, lru);
		list_del_init(&new->lru);
		copy_one(sys, p->vma, pt, a, new);
	}
	return 0;
}

/*
 * Nothing else changes the range meanwhile: the mm is write-locked, and
 * every walk (reclaim, migration) needs its mmap_lock to reach it.
 */
static int amm_prepare_move(struct vm_area_struct *vma, unsigned long old_addr,
			    unsigned long len, unsigned long new_addr)
{
	struct avm_mm *mm = vma->vm_mm;
	struct avm_sys *sys = mm->sys;
	struct move_prep p = { .vma = vma };
	struct page *page, *n;
	int err = 0;

	if (!vma->anon_vma)
		return 0;
	INIT_LIST_HEAD(&p.frames);
	ptl_lock(mm);
	pt_for_each_table(mm, old_addr, old_addr + len, prep_table, &p);
	ptl_unlock(mm);
	for (unsigned long i = 0; i < p.need; i++) {
		page = alloc_page(sys, 0);
		if (!page) {
			err = -ENOMEM;
			break;
		}
		list_add(&page->lru, &p.frames);
	}
	if (!err && p.need) {
		p.copy = true;
		ptl_lock(mm);
		pt_for_each_table(mm, old_addr, old_addr + len, prep_table, &p);
		ptl_unlock(mm);
	}
	list_for_each_entry_safe(page, n, &p.frames, lru) {
		list_del_init(&page->lru);
		put_page(sys, page);
	}
	return err;
}

/* Only pages mapped here alone are left in the range: they just move. */
static void amm_move_pte(struct page *page, struct vm_area_struct *old_vma,
			 unsigned long old_addr, struct vm_area_struct *new_vma,
			 unsigned long new_addr)
{
	__atomic_store_n(&page->index, new_addr >> PAGE_SHIFT,
			 __ATOMIC_RELAXED);
}

/* ---- invariants and usage ---------------------------------------------- */

static void amm_usage(struct avm_sys *sys, unsigned long *objects,
		      unsigned long *bytes)
{
	*objects = avm_alloc_live(&sys->alloc, AK_RMAP_OTHER);
	*bytes = avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER);
}

struct pte_census {
	struct check_ctx *ctx;
	struct anonmm_family *fam;
};

/* Every anonymous page names this mm's family and its own address. */
static int census_table(struct avm_mm *mm, struct pgtable *pt,
			unsigned long start, unsigned long end, void *arg)
{
	struct pte_census *c = arg;
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		pte_t pte = ptep_get(pt, pte_index(a));
		struct page *page;

		if (!pte_present(pte))
			continue;
		page = pfn_to_page(sys, pte_pfn(pte));
		if (page == sys->zero_page)
			continue;
		CHECK(c->ctx, c->fam && page_family(page) == c->fam,
		      "mm %lu %#lx: page names family %p, the mm's is %p",
		      mm->id, a, (void *)page_family(page), (void *)c->fam);
		CHECK(c->ctx, page->index == a >> PAGE_SHIFT, "mm %lu %#lx: "
		      "page index %#lx is not its address", mm->id, a,
		      page->index);
	}
	return 0;
}

static int check_mm(struct check_ctx *ctx, struct avm_mm *mm,
		    struct ptrset *fams, struct ptrset *anonmms,
		    unsigned long *nanonmm)
{
	struct anonmm *a = mm_anonmm(mm);
	struct pte_census c = { .ctx = ctx, .fam = a ? a->fam : NULL };
	bool anon = false;
	long *slot;

	for (struct rb_node *n = rb_first(&mm->mm_rb); n; n = rb_next(n)) {
		struct vm_area_struct *v =
			rb_entry(n, struct vm_area_struct, vm_rb);

		CHECK(ctx, !v->anon_vma || v->anon_vma == &amm_marker,
		      "mm %lu VMA %#lx: anon_vma %p is not the marker", mm->id,
		      v->vm_start, (void *)v->anon_vma);
		CHECK(ctx, list_empty(&v->anon_vma_chain), "mm %lu VMA %#lx "
		      "has anon_vma_chains", mm->id, v->vm_start);
		anon |= v->anon_vma != NULL;
	}
	CHECK(ctx, a || !anon, "mm %lu has anonymous VMAs but no anonmm",
	      mm->id);
	if (a) {
		CHECK(ctx, a->mm == mm && a->fam, "mm %lu: anonmm %p names mm "
		      "%p, family %p", mm->id, (void *)a, (void *)a->mm,
		      (void *)a->fam);
		slot = ptrset_slot(anonmms, a);
		CHECK(ctx, slot, "checker out of memory");
		slot = ptrset_slot(fams, a->fam);
		CHECK(ctx, slot, "checker out of memory");
		(*slot)++;
		(*nanonmm)++;
	}
	return pt_for_each_table(mm, 0, TASK_SIZE, census_table, &c);
}

/*
 * Each family's list holds distinct anonmms of live mms naming it, as
 * many as name it: so every mm's anonmm is on its family's list (marking
 * the live anonmms keeps this linear, where looking for each mm's anonmm
 * on its list costs the family's size).
 */
static int check_families(struct check_ctx *ctx, struct ptrset *fams,
			  struct ptrset *anonmms)
{
	ptrset_for_each(fams, i) {
		struct anonmm_family *f = (void *)fams->keys[i];
		unsigned long n = 0;
		struct anonmm *a;

		list_for_each_entry(a, &f->members, node) {
			long *seen = ptrset_find(anonmms, a);

			CHECK(ctx, seen, "family %p: member %p is no live mm's "
			      "anonmm", (void *)f, (void *)a);
			CHECK(ctx, a->fam == f && mm_anonmm(a->mm) == a,
			      "family %p: member %p of mm %lu is stale",
			      (void *)f, (void *)a, a->mm->id);
			CHECK(ctx, !*seen, "family %p: mm %lu listed twice",
			      (void *)f, a->mm->id);
			*seen = 1;
			n++;
			ctx->steps++;
		}
		CHECK(ctx, n == f->nr && n == (unsigned long)fams->vals[i],
		      "family %p: %lu listed, count %lu, %ld mms name it",
		      (void *)f, n, f->nr, fams->vals[i]);
	}
	return 0;
}

static int amm_check(struct avm_sys *sys, struct check_ctx *ctx)
{
	unsigned long nanonmm = 0, live, bytes, want;
	struct ptrset fams, anonmms;
	struct avm_mm *mm;
	int err = 0;

	ptrset_init(&fams);
	ptrset_init(&anonmms);
	list_for_each_entry(mm, &sys->mms, mmlist) {
		err = check_mm(ctx, mm, &fams, &anonmms, &nanonmm);
		if (err)
			break;
	}
	if (!err)
		err = check_families(ctx, &fams, &anonmms);
	live = avm_alloc_live(&sys->alloc, AK_RMAP_OTHER);
	bytes = avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER);
	want = nanonmm * sizeof(struct anonmm) +
	       fams.n * sizeof(struct anonmm_family);
	if (!err && (live != nanonmm + fams.n || bytes != want))
		err = check_fail(ctx, "%lu anonmm objects live (%lu bytes), "
				 "%lu anonmms + %zu families reachable (%lu "
				 "bytes)", live, bytes, nanonmm, fams.n, want);
	ptrset_destroy(&fams);
	ptrset_destroy(&anonmms);
	return err;
}

const struct rmap_ops rmap_anonmm_ops = {
	.name = "anonmm",
	.summary = "one object per mm, linked per fork family; page index = "
		   "address; mremap copies shared pages: Hugh Dickins 2004",
	.prepare = amm_prepare,
	.clone = amm_clone,
	.fork = amm_fork,
	.unlink = amm_unlink,
	.adjust_begin = amm_adjust,
	.adjust_end = amm_adjust,
	.mergeable = amm_mergeable,
	.page_add_new = amm_page_add_new,
	.page_add = amm_page_add,
	.page_remove = amm_page_remove,
	.page_move = amm_page_move,
	.walk = amm_walk,
	.check = amm_check,
	.usage = amm_usage,
	.prepare_move = amm_prepare_move,
	.move_pte = amm_move_pte,
	.mm_exit = amm_mm_exit,
};
