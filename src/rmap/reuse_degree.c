/* SPDX-License-Identifier: MIT */
/*
 * The 2015 reuse heuristic (Konstantin Khlebnikov, "mm: prevent endless
 * growth of anon_vma hierarchy"): one counter, degree, of the VMAs using
 * an anon_vma plus its child anon_vmas (a root counting itself), and fork
 * reuses an anon_vma on the source chain, other than the source's own, if
 * degree < 2.  Here degree is num_active_vmas + num_children, which the
 * shared code keeps exactly where the 2015 code moved degree.
 *
 * UNSAFE, kept for study (CVE-2022-42703): degree cannot tell "one VMA
 * uses it" from "one child anon_vma", so an anon_vma reused once (degree 1
 * from its new VMA user) is reused again by the next fork.  Reference
 * section 3: P faults (R); P forks C1 (A1); C1 forks C2 (A2); C1 exits;
 * C2 forks C3 (reuses A1); C2 exits; C3 forks C4 (reuses A2); C3 forks C5
 * (reuses A2 again: C4 still uses it).  The chain checker then reports an
 * anon_vma that is the own anon_vma of VMAs in two processes; when one
 * fork reuses it for two VMAs with different chains, merging them strands
 * pages on an anon_vma the merged VMA is not linked to (the walk check
 * fires; in the kernel: a dangling page->mapping once it is freed).
 * Never the default; tests/reuse_degree.c shows both.
 */
#include "rmap/anon_vma_impl.h"

static bool degree_reusable(const struct anon_vma *av)
{
	return av->num_active_vmas + av->num_children < 2;
}

static const struct av_policy reuse_degree_policy = {
	.reusable = degree_reusable,
	.tree = true,
};

const struct rmap_ops rmap_reuse_degree_ops = {
	.name = "reuse-degree",
	.summary = "UNSAFE: 2015 degree < 2 reuse (CVE-2022-42703 double "
		   "reuse), for study",
	.unsafe = true,
	AV_TREE_OPS,
	.design_data = &reuse_degree_policy,
};
