/* SPDX-License-Identifier: MIT */
/*
 * reuse-idle: the example design of docs/new-design.md (the tutorial
 * builds this file step by step; tests/new_design.sh checks that the two
 * stay identical, and tests/design_reuse_idle.c what the design claims).
 *
 * The question it answers.  Seed 2014-11 (fork-slab-growth-reuse) is a
 * thread about how much fork may reuse an ancestor's anon_vma instead of
 * allocating one.  Reusing bounds the number of anon_vmas on a chain of
 * forks; it also makes a page faulted later name an older anon_vma whose
 * tree holds more VMAs, so walks visit VMAs that never map the page
 * ("false aliasing").  Konstantin Khlebnikov proposed to reuse less than
 * Linux does (single-descendant); Michel Lespinasse noted that the
 * extreme the other way, every VMA on the root's tree, "would be correct,
 * though it may re-introduce the performance problems that lead to the
 * introduction of anon_vma".  This design is that other end, within what
 * is safe: fork reuses ANY anon_vma of the source VMA's chain that no VMA
 * has as its own, whatever its children:
 *
 *     reusable(A)  <=>  A->num_active_vmas == 0
 *
 * Linux adds "&& A->num_children < 2"; avc-tree never reuses.  Comparing
 * the four in `anonvm compare` (fork-chain: anon_vmas; fork-tree: visits
 * per walk against hits) shows the trade-off the thread argued about.
 *
 * Why it is safe.  The one rule reuse must never break is the one
 * CVE-2022-42703 broke (reuse-degree): an anon_vma is the own anon_vma of
 * VMAs of a single mm only, because merging and the unlink accounting rely
 * on it.  num_active_vmas == 0 means no VMA has A as its own, and the
 * reuse makes it 1 under the root's lock, so no later fork can hand A to a
 * second VMA.  The root qualifies too once its own VMA is gone: Linux
 * skips it only because a root with no VMA and fewer than two children is
 * already on its way out.  Pages stay findable because the forked VMA is
 * linked to A (A is on its chain, every page its parent maps names an
 * anon_vma of that chain) and A lives as long as that link.
 *
 * Everything else - linking, the interval tree, page hooks, walks, the
 * checker's invariants - is the shared anon_vma_chain machinery
 * (rmap/anon_vma_impl.h): a policy is all a reuse design has to say.
 */
#include "rmap/anon_vma_impl.h"

/*
 * Asked by fork for each anon_vma on the source VMA's chain but its own,
 * oldest (the root) first, under the root's lock; the first yes wins.
 */
static bool reuse_idle_reusable(const struct anon_vma *av)
{
	return av->num_active_vmas == 0;
}

static const struct av_policy reuse_idle_policy = {
	.reusable = reuse_idle_reusable,
	.tree = true,		/* interval tree per anon_vma, as Linux */
};

const struct rmap_ops rmap_reuse_idle_ops = {
	.name = "reuse-idle",
	.summary = "anon_vma_chain + tree, fork reuses any anon_vma no VMA "
		   "uses (the tutorial's design, docs/new-design.md)",
	AV_TREE_OPS,
	.design_data = &reuse_idle_policy,
};
