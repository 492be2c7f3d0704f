/* SPDX-License-Identifier: MIT */
/*
 * Rik van Riel's anon_vma_chain as merged in 2010 (seed
 * 2010-anon_vma_chain-commit.txt): at fork every child VMA gets its own
 * anon_vma, linked to the parent's by one more avc, and is also linked to
 * every ancestor's, so a page COWed in one child names an anon_vma whose
 * list holds that child's VMA (and its descendants') only: about 2 VMAs per
 * walk where the 2004 family list held N.
 *
 * Indexing is the 2010 one: each anon_vma keeps its avcs on a plain list
 * (anon_vma->head, avc->same_anon_vma), new links at the tail, and a walk
 * visits every avc on the list, checking the page's index against each
 * VMA's range as it goes.  A VMA split into K pieces therefore costs every
 * walk K visits (what the 2012 interval tree fixed: avc-tree).
 *
 * mremap keeps the list order walks rely on with the 2011 rule (seed
 * 2011-11-mremap-rmap-ordering.txt): when copy_vma merges the destination
 * into an existing VMA, that VMA's avcs move to the list tails
 * (anon_vma_moveto_tail), after the source's.  (The move also takes the
 * anon_vma lock when the mm code's pgoff rule asks for it, which a list
 * does not need: harmless.)
 *
 * No reuse: a chain of processes that fork and exit (Forrest's loop, seed
 * 2014-11) leaves one more anon_vma and one more avc per VMA per
 * generation.  Fork and split allocate avcs and so may fail with ENOMEM;
 * they unwind completely (the review in seed 2010-01).
 *
 * Merging follows today's rule (vma.c / av_mergeable), so VMA layouts are
 * the kernel's and the scenario corpus applies unchanged.
 */
#include "rmap/anon_vma_impl.h"

static const struct av_policy avc_2010_policy = {
	.reusable = NULL,
	.tree = false,
};

const struct rmap_ops rmap_avc_2010_ops = {
	.name = "avc-2010",
	.summary = "anon_vma_chain with plain lists, no reuse, mremap "
		   "moveto_tail (2010-2011)",
	AV_LIST_OPS,
	.design_data = &avc_2010_policy,
};
