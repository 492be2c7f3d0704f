/* SPDX-License-Identifier: MIT */
/*
 * VMAs: the per-mm tree (a red-black tree keyed by vm_start, so lookups and
 * neighbour steps are O(log n)), split, and the merge rules.
 *
 * Two anonymous VMAs are one mapping if they are adjacent, have equal
 * flags, contiguous vm_pgoff, and compatible anon_vmas (the design decides;
 * for Linux: equal, or one side has none and the other never went through
 * fork).  Every step that can fail (cloning reverse-map links) runs before
 * anything is changed, so a failed split or merge leaves no trace.
 */
#include <string.h>
#include "mm/internal.h"
#include "rmap/rmap.h"

#define vma_of(node) rb_entry(node, struct vm_area_struct, vm_rb)

struct vm_area_struct *find_vma(struct avm_mm *mm, unsigned long addr)
{
	struct rb_node *n = mm->mm_rb.rb_node;
	struct vm_area_struct *best = NULL;

	while (n) {
		struct vm_area_struct *v = vma_of(n);

		if (v->vm_end > addr) {
			best = v;
			if (v->vm_start <= addr)
				break;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

struct vm_area_struct *vma_lookup(struct avm_mm *mm, unsigned long addr)
{
	struct vm_area_struct *v = find_vma(mm, addr);

	return v && v->vm_start <= addr ? v : NULL;
}

struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	struct rb_node *n = rb_prev(&vma->vm_rb);

	return n ? vma_of(n) : NULL;
}

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	struct rb_node *n = rb_next(&vma->vm_rb);

	return n ? vma_of(n) : NULL;
}

struct vm_area_struct *find_vma_prev(struct avm_mm *mm, unsigned long addr)
{
	struct vm_area_struct *v = find_vma(mm, addr);
	struct rb_node *last;

	if (v)
		return vma_prev(v);
	last = rb_last(&mm->mm_rb);
	return last ? vma_of(last) : NULL;
}

struct vm_area_struct *vm_area_alloc(struct avm_mm *mm)
{
	struct vm_area_struct *v;

	if (atomic_load_explicit(&mm->sys->vma_rcu_freed, memory_order_relaxed))
		vma_reap(mm->sys);
	v = avm_kzalloc(mm_alloc_ctx(mm), AK_VMA, sizeof(*v));
	if (!v)
		return NULL;
	v->vm_mm = mm;
	vma_lock_init(v);
	RB_CLEAR_NODE(&v->vm_rb);
	INIT_LIST_HEAD(&v->anon_vma_chain);
	INIT_LIST_HEAD(&v->anon_vma_node);
	return v;
}

/* A copy with the same range, flags and anon_vma, but no links yet. */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *vma)
{
	struct vm_area_struct *v = vm_area_alloc(vma->vm_mm);

	if (!v)
		return NULL;
	v->vm_start = vma->vm_start;
	v->vm_end = vma->vm_end;
	v->vm_pgoff = vma->vm_pgoff;
	v->vm_flags = vma->vm_flags;
	v->anon_vma = vma->anon_vma;
	return v;
}

/* A VMA that was never in the tree: no reader can have seen it. */
void vm_area_free(struct vm_area_struct *vma)
{
	avm_rwlock_destroy(&vma->vm_lock);
	avm_kfree(mm_alloc_ctx(vma->vm_mm), AK_VMA, vma, sizeof(*vma));
}

void vma_link(struct avm_mm *mm, struct vm_area_struct *vma)
{
	struct rb_node **link = &mm->mm_rb.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (vma->vm_start < vma_of(parent)->vm_start)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	vma_mark_new(vma);	/* published write-locked */
	rb_link_node(&vma->vm_rb, parent, link);
	rb_insert_color(&vma->vm_rb, &mm->mm_rb);
	mm->map_count++;
}

void vma_unlink(struct avm_mm *mm, struct vm_area_struct *vma)
{
	rb_erase(&vma->vm_rb, &mm->mm_rb);
	RB_CLEAR_NODE(&vma->vm_rb);
	mm->map_count--;
}

void remove_vma(struct vm_area_struct *vma)
{
	const struct rmap_ops *ops = vma->vm_mm->sys->rmap;

	/* Lockless lookups may still find it: they fail on "detached"
	   (checked under the VMA's lock) and read it until a grace period
	   has passed. */
	vma_start_write(vma);
	atomic_store_explicit(&vma->detached, true, memory_order_release);
	if (!RB_EMPTY_NODE(&vma->vm_rb))
		vma_unlink(vma->vm_mm, vma);
	ops->unlink(vma);
	vm_area_free_rcu(vma);
}

/*
 * The tree is keyed by vm_start; callers only move vm_start within the gap
 * to the neighbours, so the order (and the tree) stays valid.
 */
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, unsigned long pgoff)
{
	const struct rmap_ops *ops = vma->vm_mm->sys->rmap;

	if (vma->vm_start == start && vma->vm_end == end &&
	    vma->vm_pgoff == pgoff)
		return;
	vma_start_write(vma);
	ops->adjust_begin(vma);
	atomic_store_explicit(&vma->pt_cache, NULL, memory_order_relaxed);
	/* lockless lookups read the range (vma_lock.c) */
	__atomic_store_n(&vma->vm_start, start, __ATOMIC_RELAXED);
	/* a walk that looked now, without the design's lock, would pair the
	   new start with the old pgoff (avc-2010-no-adjust-lock) */
	avm_preempt_point("vma: between vm_start and vm_pgoff");
	__atomic_store_n(&vma->vm_end, end, __ATOMIC_RELAXED);
	vma->vm_pgoff = pgoff;
	ops->adjust_end(vma);
}

int split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below)
{
	const struct rmap_ops *ops = vma->vm_mm->sys->rmap;
	unsigned long off = (addr - vma->vm_start) >> PAGE_SHIFT;
	struct vm_area_struct *new = vm_area_dup(vma);

	if (!new)
		return -ENOMEM;
	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff = vma->vm_pgoff + off;
	}
	if (vma->anon_vma && ops->clone(new, vma)) {
		vm_area_free(new);
		return -ENOMEM;
	}
	if (new_below)
		vma_set_range(vma, addr, vma->vm_end, vma->vm_pgoff + off);
	else
		vma_set_range(vma, vma->vm_start, addr, vma->vm_pgoff);
	vma_link(vma->vm_mm, new);
	return 0;
}

bool anon_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
		    struct vm_area_struct *src)
{
	return tgt->vm_mm->sys->rmap->mergeable(tgt, src_anon, src);
}

/* Can `next`'s start be preceded by pages [.., pgoff + pages) of this kind? */
static bool can_merge_before(struct vm_area_struct *next, unsigned long flags,
			     unsigned long pgoff, unsigned long pages,
			     struct anon_vma *anon, struct vm_area_struct *src)
{
	return next->vm_flags == flags && pgoff + pages == next->vm_pgoff &&
	       anon_mergeable(next, anon, src);
}

static bool can_merge_after(struct vm_area_struct *prev, unsigned long flags,
			    unsigned long pgoff, struct anon_vma *anon,
			    struct vm_area_struct *src)
{
	return prev->vm_flags == flags &&
	       prev->vm_pgoff + vma_pages(prev) == pgoff &&
	       anon_mergeable(prev, anon, src);
}

/* prev and next would become one VMA: their own anon_vmas must agree. */
static bool ends_compatible(struct vm_area_struct *prev,
			    struct vm_area_struct *next)
{
	return !prev->anon_vma || !next->anon_vma ||
	       prev->anon_vma == next->anon_vma;
}

/*
 * tgt is about to take over pages of src: give it src's links if it has
 * none.  The only step of a merge that can fail, so it runs first.
 */
static int dup_anon_vma(struct vm_area_struct *tgt, struct vm_area_struct *src)
{
	const struct rmap_ops *ops = tgt->vm_mm->sys->rmap;
	int err;

	if (!src || !src->anon_vma || tgt->anon_vma)
		return 0;
	vma_start_write(tgt);
	tgt->anon_vma = src->anon_vma;
	err = ops->clone(tgt, src);
	if (err)
		tgt->anon_vma = NULL;
	return err;
}

struct vm_area_struct *vma_merge_new(struct avm_mm *mm, unsigned long start,
				     unsigned long end, unsigned long flags,
				     unsigned long pgoff,
				     struct vm_area_struct *src,
				     bool src_history, int *err)
{
	struct vm_area_struct *next = find_vma(mm, start);
	struct vm_area_struct *prev = next ? vma_prev(next) : find_vma_prev(mm, start);
	struct anon_vma *anon = src ? src->anon_vma : NULL;
	struct vm_area_struct *hist = src_history ? src : NULL;
	unsigned long pages = (end - start) >> PAGE_SHIFT;
	bool left, right;

	*err = 0;
	if (next && next->vm_start != end)
		next = NULL;
	if (prev && prev->vm_end != start)
		prev = NULL;
	/* A moved VMA that went through fork does not merge into an
	   unfaulted neighbour (Linux 6.18, checked on the host); a new or
	   grown range has no history of its own. */
	left = prev && can_merge_after(prev, flags, pgoff, anon, hist);
	right = next && can_merge_before(next, flags, pgoff, pages, anon, hist);
	if (left && right && !ends_compatible(prev, next))
		right = false;
	if (left) {
		struct vm_area_struct *donor = src ? src : (right ? next : NULL);

		*err = dup_anon_vma(prev, donor);
		if (!*err && right && src)
			*err = dup_anon_vma(prev, next);
		if (*err)
			return NULL;
		if (right) {
			unsigned long nend = next->vm_end;

			remove_vma(next);
			vma_set_range(prev, prev->vm_start, nend, prev->vm_pgoff);
		} else {
			vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
		}
		return prev;
	}
	if (right) {
		*err = dup_anon_vma(next, src);
		if (*err)
			return NULL;
		vma_set_range(next, start, next->vm_end, pgoff);
		return next;
	}
	return NULL;
}

/* [start, end) of vma joins prev (which ends at start). */
static int merge_left(struct vm_area_struct *prev, struct vm_area_struct *vma,
		      unsigned long end)
{
	int err = dup_anon_vma(prev, vma);

	if (err)
		return err;
	if (end == vma->vm_end) {
		remove_vma(vma);
	} else {
		unsigned long off = (end - vma->vm_start) >> PAGE_SHIFT;

		vma_set_range(vma, end, vma->vm_end, vma->vm_pgoff + off);
	}
	vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
	return 0;
}

/* [start, end) of vma joins next (which starts at end). */
static int merge_right(struct vm_area_struct *next, struct vm_area_struct *vma,
		       unsigned long start)
{
	unsigned long pgoff = vma->vm_pgoff +
			      ((start - vma->vm_start) >> PAGE_SHIFT);
	int err = dup_anon_vma(next, vma);

	if (err)
		return err;
	if (start == vma->vm_start)
		remove_vma(vma);
	else
		vma_set_range(vma, vma->vm_start, start, vma->vm_pgoff);
	vma_set_range(next, start, next->vm_end, pgoff);
	return 0;
}

/* prev swallows vma and next whole. */
static int merge_both(struct vm_area_struct *prev, struct vm_area_struct *vma,
		      struct vm_area_struct *next)
{
	unsigned long end = next->vm_end;
	int err = dup_anon_vma(prev, vma->anon_vma ? vma : next);

	if (err)
		return err;
	remove_vma(vma);
	remove_vma(next);
	vma_set_range(prev, prev->vm_start, end, prev->vm_pgoff);
	return 0;
}

int vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end, unsigned long newflags,
		     struct vm_area_struct **out)
{
	struct vm_area_struct *prev = vma_prev(vma), *next = vma_next(vma);
	unsigned long pgoff = vma->vm_pgoff +
			      ((start - vma->vm_start) >> PAGE_SHIFT);
	unsigned long pages = (end - start) >> PAGE_SHIFT;
	bool left, right;
	int err;

	*out = vma;
	if (newflags == vma->vm_flags)
		return 0;
	left = start == vma->vm_start && prev && prev->vm_end == start &&
	       can_merge_after(prev, newflags, pgoff, vma->anon_vma, vma);
	right = end == vma->vm_end && next && next->vm_start == end &&
		can_merge_before(next, newflags, pgoff, pages, vma->anon_vma, vma);
	if (left && right && !ends_compatible(prev, next))
		right = false;
	if (left && right) {
		*out = prev;
		return merge_both(prev, vma, next);
	}
	if (left) {
		*out = prev;
		return merge_left(prev, vma, end);
	}
	if (right) {
		*out = next;
		return merge_right(next, vma, start);
	}
	/* Each split must stay under vm.max_map_count. */
	if (start > vma->vm_start) {
		err = map_count_exceeds(vma->vm_mm, 0) ? -ENOMEM :
		      split_vma(vma, start, 1);
		if (err)
			return err;
	}
	if (end < vma->vm_end) {
		err = map_count_exceeds(vma->vm_mm, 0) ? -ENOMEM :
		      split_vma(vma, end, 0);
		if (err)
			return err;
	}
	vma_start_write(vma);
	vma->vm_flags = newflags;
	return 0;
}
