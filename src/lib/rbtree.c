/* SPDX-License-Identifier: MIT */
/*
 * Red-black tree: rebalancing after insertion and erase, navigation and a
 * validator.  Written from the textbook algorithm (CLRS, "Introduction to
 * Algorithms", chapter 13): insertion fix-up by recolouring and at most two
 * rotations, erase by splicing out the node or its in-order successor and a
 * fix-up loop that pushes the missing black up the tree.
 *
 * Plain and augmented variants share one body, forced inline, that takes
 * the callback table as a parameter; the plain entry points pass NULL so
 * the compiler drops every callback test from their code.
 */
#include "lib/rbtree.h"

#define RB_ALWAYS_INLINE	inline __attribute__((always_inline))

static inline void set_parent(struct rb_node *n, struct rb_node *p)
{
	n->__rb_parent_color = (uintptr_t)p | (n->__rb_parent_color & 1);
}

static inline void set_parent_color(struct rb_node *n, struct rb_node *p,
				    unsigned int color)
{
	n->__rb_parent_color = (uintptr_t)p | color;
}

static inline void set_black(struct rb_node *n)
{
	n->__rb_parent_color |= RB_BLACK;
}

static inline void set_red(struct rb_node *n)
{
	n->__rb_parent_color &= ~(uintptr_t)RB_BLACK;
}

static inline void set_color(struct rb_node *n, unsigned int color)
{
	n->__rb_parent_color = (n->__rb_parent_color & ~(uintptr_t)1) | color;
}

/* A missing child counts as black. */
static inline int is_black_or_null(const struct rb_node *n)
{
	return !n || rb_is_black(n);
}

/* Make whichever pointer referred to @old (in @parent or the root) refer
 * to @new instead.  @new's own parent pointer is not touched. */
static inline void change_child(struct rb_node *old, struct rb_node *new,
				struct rb_node *parent, struct rb_root *root)
{
	if (!parent)
		rb_set_link(&root->rb_node, new);
	else if (parent->rb_left == old)
		rb_set_link(&parent->rb_left, new);
	else
		rb_set_link(&parent->rb_right, new);
}

/*
 * Rotate left around @x:        x              y
 *                              / \            / \
 *                             a   y    =>    x   c
 *                                / \        / \
 *                               b   c      a   b
 * Colours are left alone; callers fix them.
 */
static RB_ALWAYS_INLINE void
rotate_left(struct rb_node *x, struct rb_root *root,
	    const struct rb_augment_callbacks *aug)
{
	struct rb_node *y = x->rb_right;
	struct rb_node *p = rb_parent(x);
	struct rb_node *b = y->rb_left;

	rb_set_link(&x->rb_right, b);
	if (b)
		set_parent(b, x);
	rb_set_link(&y->rb_left, x);
	set_parent(y, p);
	change_child(x, y, p, root);
	set_parent(x, y);
	if (aug)
		aug->rotate(x, y);
}

/* Mirror image of rotate_left(). */
static RB_ALWAYS_INLINE void
rotate_right(struct rb_node *x, struct rb_root *root,
	     const struct rb_augment_callbacks *aug)
{
	struct rb_node *y = x->rb_left;
	struct rb_node *p = rb_parent(x);
	struct rb_node *b = y->rb_right;

	rb_set_link(&x->rb_left, b);
	if (b)
		set_parent(b, x);
	rb_set_link(&y->rb_right, x);
	set_parent(y, p);
	change_child(x, y, p, root);
	set_parent(x, y);
	if (aug)
		aug->rotate(x, y);
}

/*
 * Insertion fix-up.  The only property that can be broken is "no red node
 * with a red parent", at @node.  While the parent is red (so it is not the
 * root and the grandparent exists and is black):
 *   - red uncle: recolour parent and uncle black, grandparent red, and
 *     continue two levels higher;
 *   - black uncle: at most two rotations end the loop.
 */
static RB_ALWAYS_INLINE void
insert_fixup(struct rb_node *node, struct rb_root *root,
	     const struct rb_augment_callbacks *aug)
{
	struct rb_node *parent, *gparent, *uncle;

	while ((parent = rb_parent(node)) && rb_is_red(parent)) {
		gparent = rb_parent(parent);	/* red parent is never root */

		if (parent == gparent->rb_left) {
			uncle = gparent->rb_right;
			if (uncle && rb_is_red(uncle)) {
				set_black(parent);
				set_black(uncle);
				set_red(gparent);
				node = gparent;
				continue;
			}
			if (node == parent->rb_right) {
				/* Inner grandchild: turn it into the outer
				 * one, the old parent becomes its child. */
				rotate_left(parent, root, aug);
				parent = node;
			}
			rotate_right(gparent, root, aug);
		} else {
			uncle = gparent->rb_left;
			if (uncle && rb_is_red(uncle)) {
				set_black(parent);
				set_black(uncle);
				set_red(gparent);
				node = gparent;
				continue;
			}
			if (node == parent->rb_left) {
				rotate_right(parent, root, aug);
				parent = node;
			}
			rotate_left(gparent, root, aug);
		}
		/* @parent now sits where @gparent was. */
		set_black(parent);
		set_red(gparent);
		break;
	}
	set_black(root->rb_node);
}

/*
 * Erase fix-up.  A black node was removed from the position now held by
 * @x (possibly NULL) under @parent, so paths through @x are one black
 * short.  A red @x simply turns black; otherwise the shortage is pushed
 * upward or resolved with rotations around the sibling @w.
 */
static RB_ALWAYS_INLINE void
erase_fixup(struct rb_node *x, struct rb_node *parent, struct rb_root *root,
	    const struct rb_augment_callbacks *aug)
{
	struct rb_node *w;

	while (parent && is_black_or_null(x)) {
		if (x == parent->rb_left) {
			/* The sibling subtree has black height >= 1. */
			w = parent->rb_right;
			if (rb_is_red(w)) {
				/* Make the sibling black: a red sibling has
				 * a black parent and black children. */
				set_black(w);
				set_red(parent);
				rotate_left(parent, root, aug);
				w = parent->rb_right;
			}
			if (is_black_or_null(w->rb_left) &&
			    is_black_or_null(w->rb_right)) {
				/* Take one black off the sibling side too
				 * and move the shortage to the parent. */
				set_red(w);
				x = parent;
				parent = rb_parent(x);
				continue;
			}
			if (is_black_or_null(w->rb_right)) {
				/* Near nephew red, far one black: rotate
				 * so that the far nephew is red. */
				set_black(w->rb_left);
				set_red(w);
				rotate_right(w, root, aug);
				w = parent->rb_right;
			}
			/* Far nephew red: one rotation adds the missing
			 * black on @x's side and keeps the other side. */
			set_color(w, rb_color(parent));
			set_black(parent);
			set_black(w->rb_right);
			rotate_left(parent, root, aug);
			return;
		} else {
			w = parent->rb_left;
			if (rb_is_red(w)) {
				set_black(w);
				set_red(parent);
				rotate_right(parent, root, aug);
				w = parent->rb_left;
			}
			if (is_black_or_null(w->rb_left) &&
			    is_black_or_null(w->rb_right)) {
				set_red(w);
				x = parent;
				parent = rb_parent(x);
				continue;
			}
			if (is_black_or_null(w->rb_left)) {
				set_black(w->rb_right);
				set_red(w);
				rotate_left(w, root, aug);
				w = parent->rb_left;
			}
			set_color(w, rb_color(parent));
			set_black(parent);
			set_black(w->rb_left);
			rotate_right(parent, root, aug);
			return;
		}
	}
	if (x)
		set_black(x);
}

/*
 * Erase: unlink @z, then rebalance.  When @z has two children its in-order
 * successor @y (leftmost node of the right subtree, which has no left
 * child) is moved into @z's position and takes @z's colour, so the node
 * that physically disappears from its place is always one with at most
 * one child.  Cached augmented values are repaired before the fix-up so
 * that the rotate callbacks always start from correct values.
 */
static RB_ALWAYS_INLINE void
erase_node(struct rb_node *z, struct rb_root *root,
	   const struct rb_augment_callbacks *aug)
{
	struct rb_node *zparent = rb_parent(z);
	struct rb_node *x, *xparent;
	unsigned int removed_color;

	if (!z->rb_left || !z->rb_right) {
		/* At most one child: that child replaces @z. */
		x = z->rb_left ? z->rb_left : z->rb_right;
		xparent = zparent;
		removed_color = rb_color(z);
		change_child(z, x, zparent, root);
		if (x)
			set_parent(x, zparent);
		if (aug && xparent)
			aug->propagate(xparent, NULL);
	} else {
		struct rb_node *y = z->rb_right;

		while (y->rb_left)
			y = y->rb_left;
		removed_color = rb_color(y);
		x = y->rb_right;

		if (y == z->rb_right) {
			/* Successor is @z's right child: it keeps its own
			 * right subtree and moves up one level. */
			xparent = y;
		} else {
			/* Detach @y from deeper down, its right subtree
			 * takes its place, then @y adopts @z's right
			 * subtree. */
			xparent = rb_parent(y);
			rb_set_link(&xparent->rb_left, x);
			if (x)
				set_parent(x, xparent);
			rb_set_link(&y->rb_right, z->rb_right);
			set_parent(z->rb_right, y);
		}
		rb_set_link(&y->rb_left, z->rb_left);
		set_parent(z->rb_left, y);
		set_parent_color(y, zparent, rb_color(z));
		change_child(z, y, zparent, root);

		if (aug) {
			/* @y stands for @z's old subtree; ancestors of
			 * that position were computed with @z's value. */
			aug->copy(z, y);
			if (xparent != y)
				aug->propagate(xparent, y);
			aug->propagate(y, NULL);
		}
	}

	if (removed_color == RB_BLACK)
		erase_fixup(x, xparent, root, aug);
}

void rb_insert_color(struct rb_node *node, struct rb_root *root)
{
	insert_fixup(node, root, NULL);
}

void rb_erase(struct rb_node *node, struct rb_root *root)
{
	erase_node(node, root, NULL);
}

void rb_insert_augmented(struct rb_node *node, struct rb_root *root,
			 const struct rb_augment_callbacks *aug)
{
	insert_fixup(node, root, aug);
}

void rb_erase_augmented(struct rb_node *node, struct rb_root *root,
			const struct rb_augment_callbacks *aug)
{
	erase_node(node, root, aug);
}

void rb_replace_node(struct rb_node *victim, struct rb_node *new,
		     struct rb_root *root)
{
	struct rb_node *parent = rb_parent(victim);

	*new = *victim;
	if (victim->rb_left)
		set_parent(victim->rb_left, new);
	if (victim->rb_right)
		set_parent(victim->rb_right, new);
	change_child(victim, new, parent, root);
}

struct rb_node *rb_first(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_left)
		n = n->rb_left;
	return n;
}

struct rb_node *rb_last(const struct rb_root *root)
{
	struct rb_node *n = root->rb_node;

	if (!n)
		return NULL;
	while (n->rb_right)
		n = n->rb_right;
	return n;
}

struct rb_node *rb_next(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_right) {
		/* Leftmost node of the right subtree. */
		node = node->rb_right;
		while (node->rb_left)
			node = node->rb_left;
		return (struct rb_node *)node;
	}
	/* Climb while we are a right child; the first ancestor reached from
	 * its left side comes next. */
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

struct rb_node *rb_prev(const struct rb_node *node)
{
	struct rb_node *parent;

	if (RB_EMPTY_NODE(node))
		return NULL;
	if (node->rb_left) {
		node = node->rb_left;
		while (node->rb_right)
			node = node->rb_right;
		return (struct rb_node *)node;
	}
	while ((parent = rb_parent(node)) && node == parent->rb_left)
		node = parent;
	return parent;
}

/*
 * Depth bound for the validator: a valid tree of n nodes is at most
 * 2*log2(n+1) deep, and n is certainly below 2^62 here.  Anything deeper
 * is broken (or cyclic) and stops the recursion.
 */
#define RB_VALIDATE_MAX_DEPTH	128

/* Returns the black height of @n's subtree (missing children count 0),
 * or -1 if anything is wrong in it. */
static int validate_subtree(const struct rb_node *n,
			    const struct rb_node *parent, int depth)
{
	int lh, rh;

	if (!n)
		return 0;
	if (depth > RB_VALIDATE_MAX_DEPTH)
		return -1;
	if (rb_parent(n) != parent)
		return -1;
	if (n->__rb_parent_color & 2)		/* reserved bit */
		return -1;
	if (rb_is_red(n) && ((n->rb_left && rb_is_red(n->rb_left)) ||
			     (n->rb_right && rb_is_red(n->rb_right))))
		return -1;
	lh = validate_subtree(n->rb_left, n, depth + 1);
	if (lh < 0)
		return -1;
	rh = validate_subtree(n->rb_right, n, depth + 1);
	if (rh < 0 || rh != lh)
		return -1;
	return lh + (rb_is_black(n) ? 1 : 0);
}

int rb_validate(const struct rb_root *root, int *black_height)
{
	const struct rb_node *r = root->rb_node;
	int h;

	if (r && !rb_is_black(r))
		return -1;
	h = validate_subtree(r, NULL, 0);
	if (h < 0)
		return -1;
	if (black_height)
		*black_height = h;
	return 0;
}
