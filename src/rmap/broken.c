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

const struct rmap_ops rmap_linux_fork_link_late_ops = {
	.name = "linux-fork-link-late",
	.summary = "UNSAFE: linux whose fork copies PTEs before linking "
		   "the child's VMA (fork/migration race), for study",
	.unsafe = true,
	.broken = RMAP_BROKEN_FORK_LINK_LATE,
	AV_TREE_OPS,
	.design_data = &linux_policy,
};
