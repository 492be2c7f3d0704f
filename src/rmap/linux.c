/* SPDX-License-Identifier: MIT */
/*
 * The Linux 6.x reverse map for anonymous memory: anon_vma + anon_vma_chain
 * with an interval tree per anon_vma, the root's lock for the whole family,
 * and reuse of an ancestor's anon_vma on fork when no VMA uses it and it
 * has at most one child (the 2022 rule that fixed CVE-2022-42703).
 *
 * Reference counting: an anon_vma holds one reference on itself while its
 * tree is not empty, and every non-root anon_vma holds one on its root, so
 * the root, whose lock the family shares, is freed last.
 */
#include <errno.h>
#include "mm/internal.h"
#include "rmap/anon_vma.h"
#include "rmap/anon_vma_impl.h"
#include "rmap/rmap.h"

static bool linux_reusable(const struct anon_vma *av)
{
	return av->num_active_vmas == 0 && av->num_children < 2;
}

static const struct av_policy linux_policy = {
	.reusable = linux_reusable,
	.tree = true,
};

const struct rmap_ops rmap_linux_ops = {
	.name = "linux",
	.summary = "anon_vma_chain + interval tree + fork reuse "
		   "(num_children/num_active_vmas): Linux 6.x, the default",
	AV_TREE_OPS,
	.design_data = &linux_policy,
};
