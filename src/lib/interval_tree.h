/* SPDX-License-Identifier: MIT */
/*
 * Generic interval tree: an augmented red-black tree of closed intervals
 * [start, last], ordered by start, where every node caches the largest
 * `last` found in its subtree.  The cache lets a stabbing/overlap query skip
 * any subtree whose intervals all end before the query begins, and the
 * ordering lets it stop at the first node that begins after the query ends,
 * so a query costs O(log n) plus a bounded walk per reported interval.
 *
 *   INTERVAL_TREE_DEFINE(NODE_TYPE, RB_FIELD, KEY_TYPE, SUBTREE_LAST_FIELD,
 *                        START_FN, LAST_FN, STORAGE, PREFIX)
 *
 * NODE_TYPE          struct type of the objects in the tree (written as
 *                    `struct foo`);
 * RB_FIELD           its struct rb_node member;
 * KEY_TYPE           an unsigned or signed integer type of the endpoints;
 * SUBTREE_LAST_FIELD its KEY_TYPE member the tree uses as cache;
 * START_FN, LAST_FN  function or macro taking a `NODE_TYPE *` and giving the
 *                    first and last point of the node's closed interval.
 *                    They may compute the values from other objects: the
 *                    tree stores neither.  Whatever they depend on must not
 *                    change while the node is in a tree;
 * STORAGE            storage class of the generated functions, e.g.
 *                    `static inline`, or empty for external functions (then
 *                    declare the prototypes in a header);
 * PREFIX             name prefix of the generated functions.
 *
 * Generated (NODE stands for NODE_TYPE, KEY for KEY_TYPE):
 *
 *   void  PREFIX_insert(NODE *node, struct rb_root *root);
 *   void  PREFIX_remove(NODE *node, struct rb_root *root);
 *   NODE *PREFIX_iter_first(struct rb_root *root, KEY start, KEY last);
 *   NODE *PREFIX_iter_next(NODE *node, KEY start, KEY last);
 *   int   PREFIX_check(struct rb_root *root);
 *
 * iter_first returns the node with the smallest start among those whose
 * interval overlaps [start, last] (endpoints included), or NULL;
 * iter_next(node, ...) returns the next overlapping node in tree order
 * after @node (which must be in the tree), or NULL.  Overlapping nodes come
 * out in non-decreasing order of start.  Nodes with equal start are kept in
 * insertion order (a new node goes after the existing equal ones).  The
 * query must satisfy start <= last; otherwise nothing is found.
 *
 * PREFIX_check returns 0 when starts are non-decreasing in tree order and
 * every node caches exactly max(LAST_FN) over its subtree, and -1
 * otherwise.  It does not validate the red-black structure itself (see
 * rb_validate()).
 *
 * The tree is not safe for concurrent use; the caller serialises.
 */
#ifndef AVM_LIB_INTERVAL_TREE_H
#define AVM_LIB_INTERVAL_TREE_H

#include <stdint.h>
#include "lib/rbtree.h"

/* Generated functions a user does not call must not trip -Wunused. */
#define __itree_unused	__attribute__((unused))

#define INTERVAL_TREE_DEFINE(NODE_TYPE, RB_FIELD, KEY_TYPE,		      \
			     SUBTREE_LAST_FIELD, START_FN, LAST_FN, STORAGE,  \
			     PREFIX)					      \
									      \
/* Largest `last` in @node's subtree, from the children's caches. */	      \
static inline __itree_unused KEY_TYPE					      \
PREFIX ## _compute_last(NODE_TYPE *node)				      \
{									      \
	KEY_TYPE max = LAST_FN(node), sub;				      \
									      \
	if (node->RB_FIELD.rb_left) {					      \
		sub = rb_entry(node->RB_FIELD.rb_left, NODE_TYPE,	      \
			       RB_FIELD)->SUBTREE_LAST_FIELD;		      \
		if (sub > max)						      \
			max = sub;					      \
	}								      \
	if (node->RB_FIELD.rb_right) {					      \
		sub = rb_entry(node->RB_FIELD.rb_right, NODE_TYPE,	      \
			       RB_FIELD)->SUBTREE_LAST_FIELD;		      \
		if (sub > max)						      \
			max = sub;					      \
	}								      \
	return max;							      \
}									      \
									      \
static inline __itree_unused void					      \
PREFIX ## _aug_propagate(struct rb_node *rb, struct rb_node *stop)	      \
{									      \
	while (rb != stop) {						      \
		NODE_TYPE *n = rb_entry(rb, NODE_TYPE, RB_FIELD);	      \
		KEY_TYPE v = PREFIX ## _compute_last(n);		      \
									      \
		if (n->SUBTREE_LAST_FIELD == v)				      \
			break;						      \
		n->SUBTREE_LAST_FIELD = v;				      \
		rb = rb_parent(rb);					      \
	}								      \
}									      \
									      \
static inline __itree_unused void					      \
PREFIX ## _aug_copy(struct rb_node *old_rb, struct rb_node *new_rb)	      \
{									      \
	rb_entry(new_rb, NODE_TYPE, RB_FIELD)->SUBTREE_LAST_FIELD =	      \
		rb_entry(old_rb, NODE_TYPE, RB_FIELD)->SUBTREE_LAST_FIELD;    \
}									      \
									      \
static inline __itree_unused void					      \
PREFIX ## _aug_rotate(struct rb_node *old_rb, struct rb_node *new_rb)	      \
{									      \
	NODE_TYPE *o = rb_entry(old_rb, NODE_TYPE, RB_FIELD);		      \
									      \
	rb_entry(new_rb, NODE_TYPE, RB_FIELD)->SUBTREE_LAST_FIELD =	      \
		o->SUBTREE_LAST_FIELD;					      \
	o->SUBTREE_LAST_FIELD = PREFIX ## _compute_last(o);		      \
}									      \
									      \
static inline __itree_unused const struct rb_augment_callbacks *	      \
PREFIX ## _aug_callbacks(void)						      \
{									      \
	static const struct rb_augment_callbacks cb = {			      \
		.propagate = PREFIX ## _aug_propagate,			      \
		.copy = PREFIX ## _aug_copy,				      \
		.rotate = PREFIX ## _aug_rotate,			      \
	};								      \
	return &cb;							      \
}									      \
									      \
STORAGE __itree_unused void						      \
PREFIX ## _insert(NODE_TYPE *node, struct rb_root *root)		      \
{									      \
	struct rb_node **link = &root->rb_node, *parent = NULL;		      \
	KEY_TYPE start = START_FN(node), last = LAST_FN(node);		      \
									      \
	/* Walk down to the slot; every node passed gets the new interval     \
	 * in its subtree, so widen its cache on the way. */		      \
	while (*link) {							      \
		NODE_TYPE *p;						      \
									      \
		parent = *link;						      \
		p = rb_entry(parent, NODE_TYPE, RB_FIELD);		      \
		if (p->SUBTREE_LAST_FIELD < last)			      \
			p->SUBTREE_LAST_FIELD = last;			      \
		if (start < START_FN(p))				      \
			link = &parent->rb_left;			      \
		else							      \
			link = &parent->rb_right;			      \
	}								      \
	node->SUBTREE_LAST_FIELD = last;				      \
	rb_link_node(&node->RB_FIELD, parent, link);			      \
	rb_insert_augmented(&node->RB_FIELD, root,			      \
			    PREFIX ## _aug_callbacks());		      \
}									      \
									      \
STORAGE __itree_unused void						      \
PREFIX ## _remove(NODE_TYPE *node, struct rb_root *root)		      \
{									      \
	rb_erase_augmented(&node->RB_FIELD, root,			      \
			   PREFIX ## _aug_callbacks());			      \
}									      \
									      \
/*									      \
 * First node in tree order, within the subtree at @node, that overlaps	      \
 * [start, last]; the caller has checked that @node's cache is >= start.      \
 * Then some node M of the subtree ends at or after @start, so if none of     \
 * the subtree overlaps, M begins after @last and so does every node after    \
 * M in tree order: NULL means nothing after this subtree overlaps either.    \
 */									      \
static inline __itree_unused NODE_TYPE *				      \
PREFIX ## _subtree_first(NODE_TYPE *node, KEY_TYPE start, KEY_TYPE last)      \
{									      \
	for (;;) {							      \
		struct rb_node *l = node->RB_FIELD.rb_left;		      \
		struct rb_node *r = node->RB_FIELD.rb_right;		      \
		NODE_TYPE *left = rb_entry_safe(l, NODE_TYPE, RB_FIELD);      \
		NODE_TYPE *right = rb_entry_safe(r, NODE_TYPE, RB_FIELD);     \
									      \
		/* Something on the left ends at or after @start.  Either     \
		 * an overlap is there, and it precedes all the rest, or      \
		 * that interval begins after @last and so does every later   \
		 * node: in both cases only the left can hold the answer. */  \
		if (left && left->SUBTREE_LAST_FIELD >= start) {	      \
			node = left;					      \
			continue;					      \
		}							      \
		if (START_FN(node) > last)				      \
			return NULL;					      \
		if (LAST_FN(node) >= start)				      \
			return node;					      \
		if (!right || right->SUBTREE_LAST_FIELD < start)	      \
			return NULL;					      \
		node = right;						      \
	}								      \
}									      \
									      \
STORAGE __itree_unused NODE_TYPE *					      \
PREFIX ## _iter_first(struct rb_root *root, KEY_TYPE start, KEY_TYPE last)    \
{									      \
	NODE_TYPE *top;							      \
									      \
	if (!root->rb_node || start > last)				      \
		return NULL;						      \
	top = rb_entry(root->rb_node, NODE_TYPE, RB_FIELD);		      \
	if (top->SUBTREE_LAST_FIELD < start)				      \
		return NULL;						      \
	return PREFIX ## _subtree_first(top, start, last);		      \
}									      \
									      \
STORAGE __itree_unused NODE_TYPE *					      \
PREFIX ## _iter_next(NODE_TYPE *node, KEY_TYPE start, KEY_TYPE last)	      \
{									      \
	struct rb_node *rb = node->RB_FIELD.rb_right, *prev;		      \
									      \
	for (;;) {							      \
		/* Everything in @node's right subtree follows @node. */      \
		if (rb) {						      \
			NODE_TYPE *r = rb_entry(rb, NODE_TYPE, RB_FIELD);     \
									      \
			if (r->SUBTREE_LAST_FIELD >= start)		      \
				return PREFIX ## _subtree_first(r, start,     \
								last);	      \
		}							      \
		/* Climb to the first ancestor reached from its left side:    \
		 * it is the next node in order after @node's subtree. */     \
		rb = &node->RB_FIELD;					      \
		do {							      \
			prev = rb;					      \
			rb = rb_parent(rb);				      \
			if (!rb)					      \
				return NULL;				      \
		} while (prev == rb->rb_right);				      \
		node = rb_entry(rb, NODE_TYPE, RB_FIELD);		      \
		if (START_FN(node) > last)				      \
			return NULL;					      \
		if (LAST_FN(node) >= start)				      \
			return node;					      \
		rb = node->RB_FIELD.rb_right;				      \
	}								      \
}									      \
									      \
STORAGE __itree_unused int						      \
PREFIX ## _check(struct rb_root *root)					      \
{									      \
	struct rb_node *rb;						      \
	KEY_TYPE prev_start = 0;					      \
	int have_prev = 0;						      \
									      \
	/* A cache equal to max(own last, children's caches) everywhere	      \
	 * means, by induction from the leaves, the true subtree maximum. */  \
	for (rb = rb_first(root); rb; rb = rb_next(rb)) {		      \
		NODE_TYPE *n = rb_entry(rb, NODE_TYPE, RB_FIELD);	      \
		KEY_TYPE s = START_FN(n), l = LAST_FN(n);		      \
									      \
		if (l < s)						      \
			return -1;					      \
		if (have_prev && s < prev_start)			      \
			return -1;					      \
		if (n->SUBTREE_LAST_FIELD != PREFIX ## _compute_last(n))      \
			return -1;					      \
		prev_start = s;						      \
		have_prev = 1;						      \
	}								      \
	return 0;							      \
}

/* Ready-made instance over plain [start, last] pairs. */
struct interval_tree_node {
	struct rb_node rb;
	uint64_t start;		/* first point of the interval */
	uint64_t last;		/* last point, included: start <= last */
	uint64_t __subtree_last;
};

void interval_tree_insert(struct interval_tree_node *node,
			  struct rb_root *root);
void interval_tree_remove(struct interval_tree_node *node,
			  struct rb_root *root);
struct interval_tree_node *interval_tree_iter_first(struct rb_root *root,
						    uint64_t start,
						    uint64_t last);
struct interval_tree_node *
interval_tree_iter_next(struct interval_tree_node *node, uint64_t start,
			uint64_t last);
int interval_tree_check(struct rb_root *root);

#endif
