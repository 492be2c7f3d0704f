/* SPDX-License-Identifier: MIT */
/*
 * Intrusive red-black tree with optional augmentation, using the names a
 * kernel developer expects (struct rb_node, rb_link_node, rb_insert_color,
 * rb_erase, ...).  The implementation is an independent one written from
 * the textbook (Cormen et al.) algorithm.
 *
 * The tree never compares keys: the user walks down from root->rb_node to
 * find the empty child slot for a new node, links the node there with
 * rb_link_node() and then calls rb_insert_color() to restore balance.
 *
 * Properties maintained:
 *   - every node is red or black, the root is black;
 *   - a red node has no red child;
 *   - every path from a node down to a missing child crosses the same
 *     number of black nodes.
 *
 * A node's colour lives in bit 0 of the word that also holds its parent
 * pointer (nodes are at least long-aligned, so the low bits are free):
 * 0 means red, 1 means black.  Bit 1 is reserved and always zero.
 *
 * Augmented trees keep, in every node, a value that summarises the node's
 * whole subtree (a size, a maximum, ...).  The tree code cannot compute that
 * value, so the user supplies three callbacks (struct rb_augment_callbacks)
 * that are called whenever the shape of the tree changes.
 *
 * No locking: the caller serialises all access to one tree.
 */
#ifndef AVM_LIB_RBTREE_H
#define AVM_LIB_RBTREE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

struct rb_node {
	uintptr_t __rb_parent_color;	/* parent pointer | colour bit */
	struct rb_node *rb_right;
	struct rb_node *rb_left;
} __attribute__((aligned(sizeof(long))));

struct rb_root {
	struct rb_node *rb_node;
};

#define RB_RED		0u
#define RB_BLACK	1u

#define RB_ROOT		((struct rb_root){ NULL })

#define rb_entry(ptr, type, member)	container_of(ptr, type, member)
/* Like rb_entry(), but maps a NULL node to a NULL object. */
#define rb_entry_safe(ptr, type, member)				\
	({ __typeof__(ptr) ____p = (ptr);				\
	   ____p ? rb_entry(____p, type, member) : NULL; })

#define RB_EMPTY_ROOT(root)	((root)->rb_node == NULL)

/*
 * A node that is not in any tree can be marked by making it its own parent;
 * RB_EMPTY_NODE() then tells whether it is linked.  rb_erase() does not do
 * this by itself: call RB_CLEAR_NODE() after it when the flag is wanted.
 */
#define RB_EMPTY_NODE(node)	\
	((node)->__rb_parent_color == (uintptr_t)(node))
#define RB_CLEAR_NODE(node)	\
	((node)->__rb_parent_color = (uintptr_t)(node))

static inline struct rb_node *rb_parent(const struct rb_node *node)
{
	return (struct rb_node *)(node->__rb_parent_color & ~(uintptr_t)3);
}

static inline unsigned int rb_color(const struct rb_node *node)
{
	return (unsigned int)(node->__rb_parent_color & 1);
}

static inline int rb_is_red(const struct rb_node *node)
{
	return rb_color(node) == RB_RED;
}

static inline int rb_is_black(const struct rb_node *node)
{
	return rb_color(node) == RB_BLACK;
}

/*
 * Every child link (and the root) is stored with release semantics, so
 * that a reader walking the tree without the writer's lock (the per-VMA
 * lock fault path, src/mm/vma_lock.c) loads with rb_child_rcu() and sees
 * a node initialised.  Such a reader may miss nodes during a rotation or
 * see a path twice; it must bound its steps and check what it found.
 */
static inline void rb_set_link(struct rb_node **link, struct rb_node *n)
{
	__atomic_store_n(link, n, __ATOMIC_RELEASE);
}

static inline struct rb_node *rb_child_rcu(struct rb_node *const *link)
{
	return __atomic_load_n(link, __ATOMIC_ACQUIRE);
}

/*
 * Put @node into the empty slot @rb_link (which is &parent->rb_left,
 * &parent->rb_right, or &root->rb_node with parent NULL).  The node starts
 * red and without children; rb_insert_color() must follow.
 */
static inline void rb_link_node(struct rb_node *node, struct rb_node *parent,
				struct rb_node **rb_link)
{
	node->__rb_parent_color = (uintptr_t)parent;	/* red */
	node->rb_left = NULL;
	node->rb_right = NULL;
	rb_set_link(rb_link, node);
}

/* Rebalance after rb_link_node(). */
void rb_insert_color(struct rb_node *node, struct rb_root *root);
/* Unlink @node (which must be in @root) and rebalance. */
void rb_erase(struct rb_node *node, struct rb_root *root);

/* In-order navigation; NULL past either end (or on a cleared node). */
struct rb_node *rb_first(const struct rb_root *root);
struct rb_node *rb_last(const struct rb_root *root);
struct rb_node *rb_next(const struct rb_node *node);
struct rb_node *rb_prev(const struct rb_node *node);

/*
 * Put @new in the exact position of @victim (same parent, children and
 * colour), without rebalancing.  The caller guarantees @new sorts where
 * @victim did.  For augmented trees the caller also copies the cached value.
 */
void rb_replace_node(struct rb_node *victim, struct rb_node *new,
		     struct rb_root *root);

/*
 * Callbacks of an augmented tree.  "Subtree value" means the cached value
 * that summarises a node together with all of its descendants.
 *
 * propagate(node, stop): the subtree of @node changed; recompute the value
 *	of @node, then of its parent, and so on upwards.  @stop itself is not
 *	recomputed (NULL: go up to and including the root).  The walk may end
 *	early once a recomputed value equals the cached one.
 * copy(old, new): @new now occupies the position @old had, over the same
 *	set of nodes; give @new the value cached in @old.
 * rotate(old, new): a rotation made @new the parent of @old, and @new's
 *	subtree is now the set @old's subtree used to be.  Give @new the value
 *	cached in @old, then recompute @old from its (new) children.
 */
struct rb_augment_callbacks {
	void (*propagate)(struct rb_node *node, struct rb_node *stop);
	void (*copy)(struct rb_node *old, struct rb_node *new);
	void (*rotate)(struct rb_node *old, struct rb_node *new);
};

/*
 * Augmented insertion: before calling, the user has linked @node with
 * rb_link_node(), set @node's value for a one-node subtree, and updated the
 * value of every ancestor on the way down.
 */
void rb_insert_augmented(struct rb_node *node, struct rb_root *root,
			 const struct rb_augment_callbacks *aug);
/* Augmented erase: all cached values are correct again on return. */
void rb_erase_augmented(struct rb_node *node, struct rb_root *root,
			const struct rb_augment_callbacks *aug);

/*
 * Self-check for tests and invariant checkers: returns 0 when parent
 * pointers are consistent and the red-black properties hold, -1 otherwise.
 * On success *black_height (if non-NULL) receives the number of black
 * nodes on every root-to-leaf path (0 for an empty tree).
 */
int rb_validate(const struct rb_root *root, int *black_height);

#endif
