/* SPDX-License-Identifier: MIT */
/*
 * Designs with a historic race fix taken out, UNSAFE on purpose: each is
 * a safe design (linux, avc-2010) with one RMAP_BROKEN_* flag, so that
 * `anonvm explore` can show the race the fix closed (the scenarios in
 * tests/races/, run by tests/races.sh).  Sequentially they behave as the
 * design they come from; only some interleavings go wrong.
 *
 *   linux-no-rmap-locks      mremap never takes the anon_vma lock, even
 *                            when the destination merged into a VMA that
 *                            sorts first (vm_pgoff <= the source's): a
 *                            walk in vm_pgoff order can look at the
 *                            destination before the PTEs arrive and at
 *                            the source after they left (seed 2011-11).
 *   avc-2010-no-moveto-tail  the same race on the 2010 lists, as it was
 *                            before anon_vma_moveto_tail: the merged
 *                            destination keeps its place ahead of the
 *                            source on the list, and no lock.
 *   avc-2010-no-adjust-lock  the 2010 lists, whose VMA adjustments (a
 *                            split, a trim, a merge growing a VMA) do not
 *                            take the anon_vma lock, as before the May
 *                            2010 fix for the migration crashes: a walk
 *                            can pair a VMA's new vm_start with its old
 *                            vm_pgoff, compute the wrong address and miss
 *                            the PTE (or the migration entry) it seeks.
 *   linux-fork-link-late     fork copies a VMA's PTEs (and migration
 *                            entries) before the child's VMA is linked
 *                            to the anon_vmas: a migration walk in that
 *                            window misses the child, and a migration
 *                            entry copied to it is never removed.
 */
#include "rmap/anon_vma_impl.h"

static bool linux_reusable(const struct anon_vma *av)
{
	return av->num_active_vmas == 0 && av->num_children < 2;
}

static const struct av_policy linux_policy = {
	.reusable = linux_reusable,
	.tree = true,
};

static const struct av_policy list_policy = {
	.reusable = NULL,
	.tree = false,
};

const struct rmap_ops rmap_linux_no_rmap_locks_ops = {
	.name = "linux-no-rmap-locks",
	.summary = "UNSAFE: linux without mremap's need_rmap_locks "
		   "(the 2011-11 mremap/migration race), for study",
	.unsafe = true,
	.broken = RMAP_BROKEN_NO_RMAP_LOCKS,
	AV_TREE_OPS,
	.design_data = &linux_policy,
};

const struct rmap_ops rmap_avc_2010_no_moveto_tail_ops = {
	.name = "avc-2010-no-moveto-tail",
	.summary = "UNSAFE: avc-2010 without anon_vma_moveto_tail "
		   "(the 2011-11 mremap/migration race), for study",
	.unsafe = true,
	.broken = RMAP_BROKEN_NO_RMAP_LOCKS,
	AV_COMMON_OPS,
	.walk = av_walk_list,		/* and no .move_tail */
	.design_data = &list_policy,
};

/* A list needs no work when a VMA's range changes: only the lock went. */
static void adjust_nolock(struct vm_area_struct *vma)
{
}

const struct rmap_ops rmap_avc_2010_no_adjust_lock_ops = {
	.name = "avc-2010-no-adjust-lock",
	.summary = "UNSAFE: avc-2010 whose VMA adjustments skip the anon_vma "
		   "lock (the 2010 migration race), for study",
	.unsafe = true,
	.broken = RMAP_BROKEN_ADJUST_NOLOCK,
	.prepare = av_prepare, .clone = av_clone, .fork = av_fork,
	.unlink = av_unlink, .adjust_begin = adjust_nolock,
	.adjust_end = adjust_nolock, .mergeable = av_mergeable,
	.page_add_new = av_page_add_new, .page_add = av_page_add,
	.page_remove = av_page_remove, .page_move = av_page_move,
	.check = av_check, .usage = av_usage,
	.get_anon = av_get_anon, .put_anon = av_put_anon,
	.walk = av_walk_list, .move_tail = av_move_tail,
	.design_data = &list_policy,
};

const struct rmap_ops rmap_linux_fork_link_late_ops = {
	.name = "linux-fork-link-late",
	.summary = "UNSAFE: linux whose fork copies PTEs before linking "
		   "the child's VMA (fork/migration race), for study",
	.unsafe = true,
	.broken = RMAP_BROKEN_FORK_LINK_LATE,
	AV_TREE_OPS,
	.design_data = &linux_policy,
};
