/* SPDX-License-Identifier: MIT */
/* The ready-made interval tree over struct interval_tree_node. */
#include "lib/interval_tree.h"

#define ITN_START(n)	((n)->start)
#define ITN_LAST(n)	((n)->last)

INTERVAL_TREE_DEFINE(struct interval_tree_node, rb, uint64_t, __subtree_last,
		     ITN_START, ITN_LAST, , interval_tree)
