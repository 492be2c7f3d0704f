/* SPDX-License-Identifier: MIT */
/*
 * anon_vma_chain with an interval tree per anon_vma and the root's lock for
 * the whole family (2012, Michel Lespinasse), before any reuse: a walk
 * asks the tree for the avcs whose VMA pgoff range holds the page, so a
 * VMA mprotect-split into thousands of pieces costs a walk one visit, not
 * thousands.  As avc-2010, every fork allocates one anon_vma per VMA that
 * has one, so fork chains grow without bound (seed 2014-11).
 */
#include "rmap/anon_vma_impl.h"

static const struct av_policy avc_tree_policy = {
	.reusable = NULL,
	.tree = true,
};

const struct rmap_ops rmap_avc_tree_ops = {
	.name = "avc-tree",
	.summary = "anon_vma_chain + interval tree + root lock, no reuse (2012)",
	AV_TREE_OPS,
	.design_data = &avc_tree_policy,
};
