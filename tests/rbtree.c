/* SPDX-License-Identifier: MIT */
/*
 * Red-black tree tests: random insert/erase against a brute-force multiset,
 * traversal in both directions, rb_replace_node, the validator itself, and
 * an augmented tree (subtree sizes, used for order statistics) checked
 * against brute force after every operation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rbtree.h"
#include "lib/testutil.h"

struct knode {
	struct rb_node rb;
	uint64_t key;
	size_t size;		/* augmented test: nodes in subtree */
	int in_tree;
	unsigned int seen;	/* traversal stamp */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Equal keys go right, so they stay in insertion order. */
static struct rb_node **find_slot(struct rb_root *root, uint64_t key,
				  struct rb_node **parent)
{
	struct rb_node **link = &root->rb_node;

	*parent = NULL;
	while (*link) {
		*parent = *link;
		if (key < rb_entry(*link, struct knode, rb)->key)
			link = &(*link)->rb_left;
		else
			link = &(*link)->rb_right;
	}
	return link;
}

static void plain_insert(struct knode *n, struct rb_root *root)
{
	struct rb_node *parent, **link = find_slot(root, n->key, &parent);

	rb_link_node(&n->rb, parent, link);
	rb_insert_color(&n->rb, root);
	n->in_tree = 1;
}

static int height(const struct rb_node *n)
{
	int l, r;

	if (!n)
		return 0;
	l = height(n->rb_left);
	r = height(n->rb_right);
	return 1 + (l > r ? l : r);
}

/* log2(n + 1), rounded up */
static int ceil_log2p1(size_t n)
{
	int b = 0;

	while (((size_t)1 << b) < n + 1)
		b++;
	return b;
}

/*
 * Full check of @root against the @count nodes of @pool flagged in_tree:
 * red-black properties, height bound, forward and backward traversal equal
 * the sorted keys, each in-tree node visited exactly once each way.
 */
static void check_tree(struct rb_root *root, struct knode *pool, size_t npool,
		       uint64_t *scratch, unsigned int *stamp)
{
	struct rb_node *rb;
	size_t count = 0, i;
	int bh = -1;

	for (i = 0; i < npool; i++)
		if (pool[i].in_tree)
			scratch[count++] = pool[i].key;
	qsort(scratch, count, sizeof(*scratch), cmp_u64);

	assert_int_equal(rb_validate(root, &bh), 0);
	assert_int_equal(RB_EMPTY_ROOT(root), count == 0);
	if (count == 0)
		assert_int_equal(bh, 0);
	else
		assert_true(bh >= 1);
	/* A red-black tree of n nodes is at most 2*log2(n+1) high. */
	assert_true(height(root->rb_node) <= 2 * ceil_log2p1(count));

	++*stamp;
	i = 0;
	for (rb = rb_first(root); rb; rb = rb_next(rb)) {
		struct knode *n = rb_entry(rb, struct knode, rb);

		assert_true(i < count);
		assert_true(n->in_tree);
		assert_true(n->seen != *stamp);
		n->seen = *stamp;
		assert_int_equal(n->key, scratch[i]);
		i++;
	}
	assert_int_equal(i, count);

	++*stamp;
	for (rb = rb_last(root); rb; rb = rb_prev(rb)) {
		struct knode *n = rb_entry(rb, struct knode, rb);

		assert_true(i > 0);
		i--;
		assert_true(n->in_tree);
		assert_true(n->seen != *stamp);
		n->seen = *stamp;
		assert_int_equal(n->key, scratch[i]);
	}
	assert_int_equal(i, 0);
}

static void test_empty(void **state)
{
	struct rb_root root = RB_ROOT;
	struct knode a = { .key = 1 };
	int bh = -1;

	assert_true(RB_EMPTY_ROOT(&root));
	assert_null(rb_first(&root));
	assert_null(rb_last(&root));
	assert_int_equal(rb_validate(&root, &bh), 0);
	assert_int_equal(bh, 0);

	RB_CLEAR_NODE(&a.rb);
	assert_true(RB_EMPTY_NODE(&a.rb));
	assert_null(rb_next(&a.rb));
	assert_null(rb_prev(&a.rb));

	plain_insert(&a, &root);
	assert_false(RB_EMPTY_NODE(&a.rb));
	assert_false(RB_EMPTY_ROOT(&root));
	assert_ptr_equal(rb_first(&root), &a.rb);
	assert_ptr_equal(rb_last(&root), &a.rb);
	assert_null(rb_next(&a.rb));
	assert_null(rb_prev(&a.rb));
	assert_null(rb_parent(&a.rb));
	assert_true(rb_is_black(&a.rb));
	assert_int_equal(rb_validate(&root, &bh), 0);
	assert_int_equal(bh, 1);

	rb_erase(&a.rb, &root);
	assert_true(RB_EMPTY_ROOT(&root));
	assert_int_equal(sizeof(struct rb_node), 3 * sizeof(void *));
}

/* Sequential keys up, down and interleaved; erase in several orders. */
static void test_sequential(void **state)
{
	enum { N = 4096 };
	struct knode *pool = calloc(N, sizeof(*pool));
	uint64_t *scratch = calloc(N, sizeof(*scratch));
	unsigned int stamp = 0;
	int pattern;

	assert_non_null(pool);
	assert_non_null(scratch);
	for (pattern = 0; pattern < 4; pattern++) {
		struct rb_root root = RB_ROOT;
		size_t i;

		for (i = 0; i < N; i++) {
			struct knode *n = &pool[i];

			memset(n, 0, sizeof(*n));
			switch (pattern) {
			case 0: n->key = i; break;
			case 1: n->key = N - i; break;
			case 2: n->key = (i & 1) ? i : N + N - i; break;
			default: n->key = 7; break;	/* all equal */
			}
			plain_insert(n, &root);
			if ((i & 511) == 0)
				check_tree(&root, pool, N, scratch, &stamp);
		}
		check_tree(&root, pool, N, scratch, &stamp);
		/* erase: front to back, back to front, middle out, odd/even */
		for (i = 0; i < N; i++) {
			size_t j;

			switch (pattern) {
			case 0: j = i; break;
			case 1: j = N - 1 - i; break;
			case 2: j = (i & 1) ? N / 2 + i / 2 : N / 2 - 1 - i / 2;
				break;
			default: j = (i < N / 2) ? 2 * i : 2 * (i - N / 2) + 1;
				break;
			}
			assert_true(pool[j].in_tree);
			rb_erase(&pool[j].rb, &root);
			pool[j].in_tree = 0;
			if ((i & 511) == 0)
				check_tree(&root, pool, N, scratch, &stamp);
		}
		check_tree(&root, pool, N, scratch, &stamp);
		assert_true(RB_EMPTY_ROOT(&root));
	}
	free(pool);
	free(scratch);
}

/*
 * Random insert/erase.  The insert probability drifts between phases so the
 * tree repeatedly grows large and shrinks to nothing.
 */
static void test_random(void **state)
{
	enum { N = 3000, OPS = 300000, BATCH = 97 };
	uint64_t seed = test_seed("rbtree_random");
	struct knode *pool = calloc(N, sizeof(*pool));
	uint64_t *scratch = calloc(N, sizeof(*scratch));
	size_t *in = calloc(N, sizeof(*in)), *out = calloc(N, sizeof(*out));
	size_t nin = 0, nout = N, i;
	struct rb_root root = RB_ROOT;
	unsigned int stamp = 0;
	unsigned int ins_pct = 50;
	long op;

	assert_non_null(pool);
	assert_non_null(scratch);
	assert_non_null(in);
	assert_non_null(out);
	for (i = 0; i < N; i++)
		out[i] = i;

	for (op = 0; op < OPS; op++) {
		if (op % 20000 == 0)
			ins_pct = (unsigned int)(op / 20000 % 4 == 1 ? 15 :
				  op / 20000 % 4 == 3 ? 85 : 50);
		if (nout && (nin == 0 || test_below(&seed, 100) < ins_pct)) {
			size_t k = test_below(&seed, nout);
			size_t idx = out[k];
			struct knode *n = &pool[idx];

			out[k] = out[--nout];
			/* small key range gives many duplicates */
			n->key = test_below(&seed, 2 * N);
			plain_insert(n, &root);
			in[nin++] = idx;
		} else {
			size_t k = test_below(&seed, nin);
			size_t idx = in[k];

			in[k] = in[--nin];
			rb_erase(&pool[idx].rb, &root);
			pool[idx].in_tree = 0;
			out[nout++] = idx;
		}
		if (op % BATCH == 0)
			check_tree(&root, pool, N, scratch, &stamp);
	}
	check_tree(&root, pool, N, scratch, &stamp);
	free(pool);
	free(scratch);
	free(in);
	free(out);
}

/* rb_replace_node: a fresh node takes a linked node's exact place. */
static void test_replace(void **state)
{
	enum { N = 1000, ROUNDS = 5000 };
	uint64_t seed = test_seed("rbtree_replace");
	struct knode *pool = calloc(2 * N, sizeof(*pool));
	uint64_t *scratch = calloc(2 * N, sizeof(*scratch));
	size_t *slot = calloc(N, sizeof(*slot));	/* live node of key i */
	struct rb_root root = RB_ROOT;
	unsigned int stamp = 0;
	size_t i;
	int r;

	assert_non_null(pool);
	assert_non_null(scratch);
	assert_non_null(slot);
	for (i = 0; i < N; i++) {
		pool[i].key = i * 3;
		slot[i] = i;
	}
	/* insert in a shuffled order */
	for (i = N; i-- > 1;) {
		size_t j = test_below(&seed, i + 1), t = slot[i];

		slot[i] = slot[j];
		slot[j] = t;
	}
	for (i = 0; i < N; i++)
		plain_insert(&pool[slot[i]], &root);
	for (i = 0; i < N; i++)
		slot[i] = i;
	check_tree(&root, pool, 2 * N, scratch, &stamp);

	for (r = 0; r < ROUNDS; r++) {
		size_t k = test_below(&seed, N);
		size_t old = slot[k];
		size_t new = old < N ? old + N : old - N;	/* spare twin */
		struct rb_node *parent = rb_parent(&pool[old].rb);
		struct rb_node *left = pool[old].rb.rb_left;
		struct rb_node *right = pool[old].rb.rb_right;
		unsigned int color = rb_color(&pool[old].rb);

		pool[new].key = pool[old].key;
		rb_replace_node(&pool[old].rb, &pool[new].rb, &root);
		pool[old].in_tree = 0;
		pool[new].in_tree = 1;
		slot[k] = new;

		assert_ptr_equal(rb_parent(&pool[new].rb), parent);
		assert_ptr_equal(pool[new].rb.rb_left, left);
		assert_ptr_equal(pool[new].rb.rb_right, right);
		assert_int_equal(rb_color(&pool[new].rb), color);
		if (left)
			assert_ptr_equal(rb_parent(left), &pool[new].rb);
		if (right)
			assert_ptr_equal(rb_parent(right), &pool[new].rb);
		if (!parent)
			assert_ptr_equal(root.rb_node, &pool[new].rb);
		if (r % 50 == 0)
			check_tree(&root, pool, 2 * N, scratch, &stamp);
		/* sometimes erase and reinsert, so shapes keep changing */
		if (test_below(&seed, 4) == 0) {
			rb_erase(&pool[new].rb, &root);
			plain_insert(&pool[new], &root);
		}
	}
	check_tree(&root, pool, 2 * N, scratch, &stamp);
	free(pool);
	free(scratch);
	free(slot);
}

/* The validator must catch broken trees, or the other tests prove little. */
static void test_validate_detects(void **state)
{
	enum { N = 63 };
	struct knode pool[N];
	struct rb_root root = RB_ROOT;
	struct rb_node *rb, *leaf = NULL;
	uintptr_t saved;
	int i;

	memset(pool, 0, sizeof(pool));
	for (i = 0; i < N; i++) {
		pool[i].key = (uint64_t)i;
		plain_insert(&pool[i], &root);
	}
	assert_int_equal(rb_validate(&root, NULL), 0);

	/* red root */
	root.rb_node->__rb_parent_color &= ~(uintptr_t)1;
	assert_int_equal(rb_validate(&root, NULL), -1);
	root.rb_node->__rb_parent_color |= 1;
	assert_int_equal(rb_validate(&root, NULL), 0);

	/* flip the colour of each node in turn: always detected, because a
	 * recolouring changes some path's black count or makes red-red */
	for (rb = rb_first(&root); rb; rb = rb_next(rb)) {
		rb->__rb_parent_color ^= 1;
		assert_int_equal(rb_validate(&root, NULL), -1);
		rb->__rb_parent_color ^= 1;
		if (!rb->rb_left && !rb->rb_right)
			leaf = rb;
	}
	assert_int_equal(rb_validate(&root, NULL), 0);

	/* wrong parent pointer */
	assert_non_null(leaf);
	saved = leaf->__rb_parent_color;
	leaf->__rb_parent_color = (uintptr_t)root.rb_node |
				  (saved & 1);
	if (rb_parent(leaf) != (struct rb_node *)(saved & ~(uintptr_t)3))
		assert_int_equal(rb_validate(&root, NULL), -1);
	leaf->__rb_parent_color = saved;

	/* cycle: must terminate and fail */
	leaf->rb_left = root.rb_node;
	assert_int_equal(rb_validate(&root, NULL), -1);
	leaf->rb_left = NULL;
	assert_int_equal(rb_validate(&root, NULL), 0);
}

/* ---- augmented: subtree sizes ---- */

static size_t sz(const struct rb_node *rb)
{
	return rb ? rb_entry(rb, struct knode, rb)->size : 0;
}

static size_t size_compute(const struct rb_node *rb)
{
	return 1 + sz(rb->rb_left) + sz(rb->rb_right);
}

static unsigned long n_propagate, n_copy, n_rotate;

static void size_propagate(struct rb_node *rb, struct rb_node *stop)
{
	n_propagate++;
	while (rb != stop) {
		struct knode *n = rb_entry(rb, struct knode, rb);
		size_t v = size_compute(rb);

		if (n->size == v)
			break;
		n->size = v;
		rb = rb_parent(rb);
	}
}

static void size_copy(struct rb_node *old, struct rb_node *new)
{
	n_copy++;
	rb_entry(new, struct knode, rb)->size =
		rb_entry(old, struct knode, rb)->size;
}

static void size_rotate(struct rb_node *old, struct rb_node *new)
{
	n_rotate++;
	rb_entry(new, struct knode, rb)->size =
		rb_entry(old, struct knode, rb)->size;
	rb_entry(old, struct knode, rb)->size = size_compute(old);
}

static const struct rb_augment_callbacks size_cb = {
	.propagate = size_propagate,
	.copy = size_copy,
	.rotate = size_rotate,
};

static void aug_insert(struct knode *n, struct rb_root *root)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		rb_entry(parent, struct knode, rb)->size++;
		if (n->key < rb_entry(parent, struct knode, rb)->key)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	n->size = 1;
	rb_link_node(&n->rb, parent, link);
	rb_insert_augmented(&n->rb, root, &size_cb);
	n->in_tree = 1;
}

/* True size of the subtree, checking every cached size on the way. */
static size_t check_sizes(const struct rb_node *rb)
{
	size_t s;

	if (!rb)
		return 0;
	s = 1 + check_sizes(rb->rb_left) + check_sizes(rb->rb_right);
	assert_int_equal(rb_entry(rb, struct knode, rb)->size, s);
	return s;
}

/* k-th smallest (0-based) using the sizes. */
static struct knode *select_kth(const struct rb_root *root, size_t k)
{
	const struct rb_node *rb = root->rb_node;

	while (rb) {
		size_t l = sz(rb->rb_left);

		if (k < l) {
			rb = rb->rb_left;
		} else if (k == l) {
			return rb_entry(rb, struct knode, rb);
		} else {
			k -= l + 1;
			rb = rb->rb_right;
		}
	}
	return NULL;
}

static void test_augmented(void **state)
{
	enum { N = 700, OPS = 40000 };
	uint64_t seed = test_seed("rbtree_augmented");
	struct knode *pool = calloc(N, sizeof(*pool));
	uint64_t *scratch = calloc(N, sizeof(*scratch));
	size_t *in = calloc(N, sizeof(*in)), *out = calloc(N, sizeof(*out));
	size_t nin = 0, nout = N, i;
	struct rb_root root = RB_ROOT;
	unsigned int stamp = 0;
	long op;

	assert_non_null(pool);
	assert_non_null(scratch);
	assert_non_null(in);
	assert_non_null(out);
	for (i = 0; i < N; i++)
		out[i] = i;
	n_propagate = n_copy = n_rotate = 0;

	for (op = 0; op < OPS; op++) {
		unsigned int ins_pct = (op / 5000) % 2 ? 35 : 65;

		if (nout && (nin == 0 || test_below(&seed, 100) < ins_pct)) {
			size_t k = test_below(&seed, nout), idx = out[k];

			out[k] = out[--nout];
			pool[idx].key = test_below(&seed, N);
			aug_insert(&pool[idx], &root);
			in[nin++] = idx;
		} else {
			size_t k = test_below(&seed, nin), idx = in[k];

			in[k] = in[--nin];
			rb_erase_augmented(&pool[idx].rb, &root, &size_cb);
			pool[idx].in_tree = 0;
			out[nout++] = idx;
		}
		assert_int_equal(check_sizes(root.rb_node), nin);
		assert_int_equal(rb_validate(&root, NULL), 0);
		if (op % 64 == 0) {
			size_t count = 0, k;

			check_tree(&root, pool, N, scratch, &stamp);
			for (i = 0; i < N; i++)
				if (pool[i].in_tree)
					scratch[count++] = pool[i].key;
			qsort(scratch, count, sizeof(*scratch), cmp_u64);
			for (k = 0; k < count; k++) {
				struct knode *n = select_kth(&root, k);

				assert_non_null(n);
				assert_int_equal(n->key, scratch[k]);
			}
			assert_null(select_kth(&root, count));
		}
	}
	/* all three callbacks must have been exercised */
	assert_true(n_propagate > 0);
	assert_true(n_copy > 0);
	assert_true(n_rotate > 0);
	free(pool);
	free(scratch);
	free(in);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_validate_detects),
		cmocka_unit_test(test_augmented),
	};

	return cmocka_run_group_tests_name("rbtree", tests, NULL, NULL);
}
