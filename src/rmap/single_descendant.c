/* SPDX-License-Identifier: MIT */
/*
 * Fork reuse restricted to "an anon_vma with a single direct descendant",
 * as proposed in seed 2014-11-fork-slab-growth-reuse.txt (Konstantin
 * Khlebnikov), to cut the false aliasing reuse brings.
 *
 * Precisely: an anon_vma A on the source VMA's chain (not the source's
 * own) may become the forked VMA's own iff
 *
 *     A->num_active_vmas == 0  &&  A->num_children == 1
 *
 * The direct descendants of A are the anon_vmas whose parent is A and the
 * VMAs whose own anon_vma is A.  "Single" means exactly one, and it must
 * be an anon_vma: no VMA may use A, because reusing an anon_vma a VMA
 * still uses is the CVE-2022-42703 double reuse (reuse-degree).  For a
 * non-root A num_children == 1 is exactly one child anon_vma.  A root
 * counts itself in num_children, so 1 means no child and no VMA: its tree
 * is then empty and it is already freed; roots are never reused (nor by
 * linux, whose "< 2" lets a root pass only in that same impossible case).
 *
 * Compared with linux (num_active_vmas == 0 && num_children < 2) this
 * refuses the abandoned leaf (num_children == 0: its VMA exited, only
 * descendants' VMAs remain linked), so it is strictly stricter.
 *
 * Why it is safe: num_active_vmas == 0 at the moment of reuse means no
 * other VMA has A as its own; after the reuse num_active_vmas is 1, so the
 * same fork (or any later one) cannot hand A to a second VMA, and the two
 * facts merging relies on hold (chain checker: an anon_vma is the own
 * anon_vma of VMAs of one mm, which share one chain).  Pages stay
 * findable because the reusing VMA is linked to A (A is on its chain) and
 * A, pinned by the reusing VMA's link, lives as long as any page naming
 * it can be mapped.  What it costs: fewer reuses than linux, so more
 * anon_vmas on fork chains (compare's fork-chain workload measures it).
 */
#include "rmap/anon_vma_impl.h"

static bool single_descendant_reusable(const struct anon_vma *av)
{
	return av->num_active_vmas == 0 && av->num_children == 1;
}

static const struct av_policy single_descendant_policy = {
	.reusable = single_descendant_reusable,
	.tree = true,
};

const struct rmap_ops rmap_single_descendant_ops = {
	.name = "single-descendant",
	.summary = "anon_vma_chain + tree, reuse only an anon_vma with exactly "
		   "one child and no VMA (2014 proposal)",
	AV_TREE_OPS,
	.design_data = &single_descendant_policy,
};
