/* SPDX-License-Identifier: MIT */
/*
 * Interval tree tests: random insert/remove/query against a brute-force
 * array in several key regimes (tiny domain full of duplicates and equal
 * starts, full 64-bit range, keys crowded at 0 and at UINT64_MAX), a fixed
 * hand-checked case, detection of corrupted caches, a bound on the work a
 * query does, and a second instantiation whose endpoints are computed from
 * an external object (a VMA-like [pgoff, pgoff + pages - 1]).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/interval_tree.h"
#include "lib/testutil.h"

/* Test-side bookkeeping kept next to each plain node. */
struct tnode {
	struct interval_tree_node it;
	uint64_t seq;		/* insertion order, for equal starts */
	int in_tree;
	unsigned int seen;
};

struct model {
	struct rb_root root;
	struct tnode *pool;
	size_t npool;
	size_t *in, nin;	/* pool indexes in the tree */
	size_t *out, nout;	/* pool indexes not in the tree */
	uint64_t seq;
	unsigned int stamp;
	unsigned long queries, results, empty_queries;
};

static void model_init(struct model *m, size_t npool)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->root = RB_ROOT;
	m->npool = npool;
	m->pool = calloc(npool, sizeof(*m->pool));
	m->in = calloc(npool, sizeof(*m->in));
	m->out = calloc(npool, sizeof(*m->out));
	assert_non_null(m->pool);
	assert_non_null(m->in);
	assert_non_null(m->out);
	for (i = 0; i < npool; i++)
		m->out[i] = i;
	m->nout = npool;
}

static void model_free(struct model *m)
{
	free(m->pool);
	free(m->in);
	free(m->out);
}

static void model_insert(struct model *m, uint64_t start, uint64_t last)
{
	size_t k = m->nout - 1;	/* caller checked nout > 0 */
	size_t idx = m->out[k];
	struct tnode *t = &m->pool[idx];

	m->nout--;
	t->it.start = start;
	t->it.last = last;
	t->seq = m->seq++;
	t->in_tree = 1;
	interval_tree_insert(&t->it, &m->root);
	m->in[m->nin++] = idx;
}

static void model_remove(struct model *m, size_t k)
{
	size_t idx = m->in[k];
	struct tnode *t = &m->pool[idx];

	m->in[k] = m->in[--m->nin];
	interval_tree_remove(&t->it, &m->root);
	t->in_tree = 0;
	m->out[m->nout++] = idx;
}

/* Run one query through the tree and compare with brute force. */
static void model_query(struct model *m, uint64_t start, uint64_t last)
{
	struct interval_tree_node *it;
	struct tnode *prev = NULL;
	size_t expect = 0, got = 0, i;

	if (start <= last)
		for (i = 0; i < m->nin; i++) {
			struct tnode *t = &m->pool[m->in[i]];

			if (t->it.start <= last && t->it.last >= start)
				expect++;
		}

	++m->stamp;
	for (it = interval_tree_iter_first(&m->root, start, last); it;
	     it = interval_tree_iter_next(it, start, last)) {
		struct tnode *t = container_of(it, struct tnode, it);

		assert_true(t->in_tree);
		assert_true(t->seen != m->stamp);	/* no repeats */
		t->seen = m->stamp;
		assert_true(it->start <= last);		/* overlaps */
		assert_true(it->last >= start);
		if (prev) {
			assert_true(prev->it.start <= it->start);
			if (prev->it.start == it->start)
				assert_true(prev->seq < t->seq);
		}
		prev = t;
		got++;
		assert_true(got <= expect);
	}
	/* distinct, overlapping, in the tree, and as many as brute force:
	 * exactly the brute-force set */
	assert_int_equal(got, expect);
	m->queries++;
	m->results += got;
	if (!got)
		m->empty_queries++;
}

static void model_check(struct model *m)
{
	assert_int_equal(interval_tree_check(&m->root), 0);
	assert_int_equal(rb_validate(&m->root, NULL), 0);
	assert_int_equal(RB_EMPTY_ROOT(&m->root), m->nin == 0);
}

/* Full in-order walk: all in-tree nodes once, order and stability. */
static void model_walk(struct model *m)
{
	struct rb_node *rb;
	struct tnode *prev = NULL;
	size_t n = 0;

	++m->stamp;
	for (rb = rb_first(&m->root); rb; rb = rb_next(rb)) {
		struct tnode *t = container_of(rb, struct tnode, it.rb);

		assert_true(t->in_tree);
		assert_true(t->seen != m->stamp);
		t->seen = m->stamp;
		if (prev) {
			assert_true(prev->it.start <= t->it.start);
			if (prev->it.start == t->it.start)
				assert_true(prev->seq < t->seq);
		}
		prev = t;
		n++;
	}
	assert_int_equal(n, m->nin);
}

enum regime { TINY, FULL, EDGES, MEDIUM };

static uint64_t rand_point(uint64_t *s, enum regime r)
{
	switch (r) {
	case TINY:
		return test_below(s, 64);
	case FULL:
		return test_rand(s);
	case EDGES:
		return test_below(s, 2) ? test_below(s, 100)
					: UINT64_MAX - test_below(s, 100);
	default:
		return test_below(s, 100000);
	}
}

static uint64_t rand_len(uint64_t *s, enum regime r)
{
	switch (test_below(s, 4)) {
	case 0:
		return 0;				/* point */
	case 1:
		return test_below(s, 8);
	case 2:
		return r == TINY ? test_below(s, 64) :
		       r == MEDIUM ? test_below(s, 5000) :
		       r == EDGES ? test_below(s, 200) : test_rand(s);
	default:
		if (r == FULL || r == EDGES)
			return test_rand(s) >> test_below(s, 64);
		return test_below(s, 300);
	}
}

/* [start, start + len] clipped at UINT64_MAX */
static uint64_t end_of(uint64_t start, uint64_t len)
{
	return len > UINT64_MAX - start ? UINT64_MAX : start + len;
}

static void random_query(struct model *m, uint64_t *s, enum regime r)
{
	uint64_t a, b;

	switch (test_below(s, 10)) {
	case 0:
		model_query(m, 0, UINT64_MAX);		/* everything */
		return;
	case 1:
		a = rand_point(s, r);			/* single point */
		model_query(m, a, a);
		return;
	case 2:
		if (m->nin) {
			/* touch an existing endpoint exactly */
			size_t k = test_below(s, m->nin);
			struct tnode *t = &m->pool[m->in[k]];

			if (test_below(s, 2))
				model_query(m, t->it.last, end_of(t->it.last,
						test_below(s, 3)));
			else
				model_query(m, t->it.start > 2 ?
					    t->it.start - test_below(s, 3) : 0,
					    t->it.start);
			return;
		}
		break;
	case 3:
		/* probably nothing: far outside the small domains, or a
		 * reversed query, which finds nothing by definition */
		if (r == TINY || r == MEDIUM) {
			a = 1000000 + test_below(s, 1000);
			model_query(m, a, end_of(a, test_below(s, 1000)));
		} else {
			a = rand_point(s, r);
			b = rand_point(s, r);
			model_query(m, a > b ? a : b, a > b ? b : a);
			if (a != b)
				assert_null(interval_tree_iter_first(&m->root,
					    a > b ? a : b, a > b ? b : a));
		}
		return;
	case 4:
		model_query(m, 0, rand_point(s, r));	/* prefix */
		return;
	case 5:
		model_query(m, rand_point(s, r), UINT64_MAX);	/* suffix */
		return;
	default:
		break;
	}
	a = rand_point(s, r);
	model_query(m, a, end_of(a, rand_len(s, r)));
}

static void run_regime(enum regime r, size_t npool, long ops, uint64_t *s)
{
	struct model m;
	long op;

	model_init(&m, npool);
	for (op = 0; op < ops; op++) {
		/* phases: grow, churn, shrink to empty */
		long phase = op * 4 / ops;
		unsigned int ins_pct = phase == 0 ? 70 : phase == 3 ? 20 : 50;
		unsigned int dice = (unsigned int)test_below(s, 100);

		if (dice < 40) {
			random_query(&m, s, r);
		} else if (m.nout &&
			   (m.nin == 0 || dice - 40 < ins_pct * 60 / 100)) {
			uint64_t a, b;

			if (m.nin && test_below(s, 8) == 0) {
				/* exact duplicate of a live interval */
				struct tnode *t =
					&m.pool[m.in[test_below(s, m.nin)]];
				a = t->it.start;
				b = t->it.last;
			} else if (m.nin && test_below(s, 8) == 0) {
				/* same start, other end */
				a = m.pool[m.in[test_below(s, m.nin)]].it.start;
				b = end_of(a, rand_len(s, r));
			} else {
				a = rand_point(s, r);
				b = end_of(a, rand_len(s, r));
			}
			model_insert(&m, a, b);
		} else if (m.nin) {
			model_remove(&m, test_below(s, m.nin));
		}
		model_check(&m);
		if (op % 256 == 0)
			model_walk(&m);
	}
	/* drain completely */
	while (m.nin) {
		model_remove(&m, test_below(s, m.nin));
		model_check(&m);
	}
	model_query(&m, 0, UINT64_MAX);
	printf("  regime %d: %ld ops, %lu queries (%lu empty), %lu results\n",
	       (int)r, ops, m.queries, m.empty_queries, m.results);
	/* the query mix must really cover both kinds */
	assert_true(m.empty_queries > 0);
	assert_true(m.empty_queries < m.queries);
	model_free(&m);
}

static void test_random_tiny(void **state)
{
	uint64_t seed = test_seed("interval_tree_random_tiny");

	run_regime(TINY, 300, 30000, &seed);
}

static void test_random_full(void **state)
{
	uint64_t seed = test_seed("interval_tree_random_full");

	run_regime(FULL, 400, 25000, &seed);
}

static void test_random_edges(void **state)
{
	uint64_t seed = test_seed("interval_tree_random_edges");

	run_regime(EDGES, 300, 25000, &seed);
}

static void test_random_medium(void **state)
{
	uint64_t seed = test_seed("interval_tree_random_medium");

	run_regime(MEDIUM, 600, 30000, &seed);
}

/* Hand-checked case. */
static void test_fixed(void **state)
{
	static const uint64_t iv[][2] = {
		{ 0, 0 }, { 5, 10 }, { 5, 5 }, { 7, 20 }, { 21, 21 },
		{ UINT64_MAX, UINT64_MAX }, { 0, UINT64_MAX },
		{ UINT64_MAX - 1, UINT64_MAX }, { 5, 10 },
	};
	struct model m;
	size_t i;

	model_init(&m, ARRAY_SIZE(iv));
	assert_null(interval_tree_iter_first(&m.root, 0, UINT64_MAX));
	for (i = 0; i < ARRAY_SIZE(iv); i++) {
		model_insert(&m, iv[i][0], iv[i][1]);
		model_check(&m);
	}
	/* one query, results spelled out */
	{
		static const size_t want[] = { 6, 1, 2, 8 };	/* iv[] index */
		struct interval_tree_node *it;
		size_t n = 0;

		/* model_insert takes pool slots from the top down:
		 * iv[i] is in pool[N - 1 - i] */
		for (it = interval_tree_iter_first(&m.root, 3, 6); it;
		     it = interval_tree_iter_next(it, 3, 6)) {
			size_t slot = ARRAY_SIZE(iv) - 1 -
				(size_t)(container_of(it, struct tnode, it) -
					 m.pool);

			assert_true(n < ARRAY_SIZE(want));
			assert_int_equal(slot, want[n]);
			n++;
		}
		assert_int_equal(n, ARRAY_SIZE(want));
	}
	model_query(&m, 0, 0);			/* [0,0] [0,MAX] */
	model_query(&m, 11, 20);
	model_query(&m, 21, 21);
	model_query(&m, 22, UINT64_MAX - 2);	/* only [0,MAX] */
	model_query(&m, UINT64_MAX, UINT64_MAX);
	model_query(&m, UINT64_MAX - 1, UINT64_MAX - 1);
	model_query(&m, 0, UINT64_MAX);
	model_query(&m, 6, 5);			/* reversed: nothing */
	assert_null(interval_tree_iter_first(&m.root, 6, 5));
	{
		struct interval_tree_node *it =
			interval_tree_iter_first(&m.root, 22, 1000);

		assert_non_null(it);
		assert_int_equal(it->start, 0);
		assert_int_equal(it->last, UINT64_MAX);
		assert_null(interval_tree_iter_next(it, 22, 1000));
	}
	while (m.nin) {
		model_remove(&m, 0);
		model_check(&m);
		model_query(&m, 5, 5);
	}
	model_free(&m);
}

/* interval_tree_check must notice a wrong cache and a wrong order. */
static void test_check_detects(void **state)
{
	uint64_t seed = test_seed("interval_tree_check_detects");
	struct model m;
	struct rb_node *rb;
	int i;

	model_init(&m, 200);
	for (i = 0; i < 200; i++) {
		uint64_t a = test_below(&seed, 1000);

		model_insert(&m, a, a + test_below(&seed, 50));
	}
	model_check(&m);
	for (rb = rb_first(&m.root); rb; rb = rb_next(rb)) {
		struct interval_tree_node *n =
			rb_entry(rb, struct interval_tree_node, rb);
		uint64_t saved = n->__subtree_last;

		n->__subtree_last = saved + 1;
		assert_int_equal(interval_tree_check(&m.root), -1);
		n->__subtree_last = saved - 1;
		assert_int_equal(interval_tree_check(&m.root), -1);
		n->__subtree_last = saved;
	}
	assert_int_equal(interval_tree_check(&m.root), 0);
	/* break the order: swap start of first and last node */
	{
		struct interval_tree_node *a =
			rb_entry(rb_first(&m.root), struct interval_tree_node,
				 rb);
		struct interval_tree_node *b =
			rb_entry(rb_last(&m.root), struct interval_tree_node,
				 rb);
		uint64_t t = a->start;

		assert_true(a->start < b->start);
		a->start = b->start;
		b->start = t;
		assert_int_equal(interval_tree_check(&m.root), -1);
		b->start = a->start;
		a->start = t;
	}
	assert_int_equal(interval_tree_check(&m.root), 0);
	model_free(&m);
}

/* ---- instrumented instance: count endpoint evaluations per query ---- */

struct cnode {
	struct rb_node rb;
	uint64_t a, b, sub;
};

static unsigned long n_eval;

static inline uint64_t cn_start(const struct cnode *n)
{
	n_eval++;
	return n->a;
}

static inline uint64_t cn_last(const struct cnode *n)
{
	n_eval++;
	return n->b;
}

INTERVAL_TREE_DEFINE(struct cnode, rb, uint64_t, sub, cn_start, cn_last,
		     static inline, cnt_it)

static int tree_height(const struct rb_node *n)
{
	int l, r;

	if (!n)
		return 0;
	l = tree_height(n->rb_left);
	r = tree_height(n->rb_right);
	return 1 + (l > r ? l : r);
}

/*
 * O(log n + k): on 2^16 disjoint intervals (plus a few long ones that
 * overlap everything), each query must evaluate endpoints only a small
 * multiple of (height + results) times.
 */
static void test_query_cost(void **state)
{
	enum { N = 1 << 16, LONG = 4, Q = 3000 };
	uint64_t seed = test_seed("interval_tree_query_cost");
	struct cnode *nodes = calloc(N + LONG, sizeof(*nodes));
	struct rb_root root = RB_ROOT;
	unsigned long worst = 0;
	int h, q;
	size_t i;

	assert_non_null(nodes);
	for (i = 0; i < N; i++) {
		size_t j = (i * 40503u) % N;	/* odd factor: permutation */

		nodes[j].a = 10 * (uint64_t)j;
		nodes[j].b = 10 * (uint64_t)j + 4;
		cnt_it_insert(&nodes[j], &root);
	}
	for (i = N; i < N + LONG; i++) {
		nodes[i].a = (uint64_t)(i - N) * 1000;
		nodes[i].b = 10ull * N + (uint64_t)(i - N);
		cnt_it_insert(&nodes[i], &root);
	}
	assert_int_equal(cnt_it_check(&root), 0);
	assert_int_equal(rb_validate(&root, NULL), 0);
	h = tree_height(root.rb_node);

	for (q = 0; q < Q; q++) {
		uint64_t a = test_below(&seed, 10ull * N + 100);
		uint64_t b = a + (q % 3 == 0 ? 0 : test_below(&seed, 200));
		unsigned long k = 0, k_exp = 0, bound;
		struct cnode *n;

		/* expected count, arithmetically */
		for (i = N; i < N + LONG; i++)
			k_exp += nodes[i].a <= b && nodes[i].b >= a;
		{
			/* node j is [10j, 10j + 4]: it overlaps iff
			 * 10j <= b and 10j + 4 >= a */
			uint64_t lo = a <= 4 ? 0 : (a - 4 + 9) / 10;
			uint64_t hi = b / 10 < N - 1 ? b / 10 : N - 1;

			if (hi >= lo)
				k_exp += hi - lo + 1;
		}
		n_eval = 0;
		for (n = cnt_it_iter_first(&root, a, b); n;
		     n = cnt_it_iter_next(n, a, b))
			k++;
		assert_int_equal(k, k_exp);
		bound = 6ul * (unsigned long)h + 12ul * k + 8;
		if (n_eval > worst)
			worst = n_eval;
		if (n_eval > bound)
			fail_msg("query [%llu,%llu]: %lu evaluations for %lu "
				 "results, height %d, bound %lu",
				 (unsigned long long)a, (unsigned long long)b,
				 n_eval, k, h, bound);
	}
	printf("  height %d, worst evaluations per query %lu\n", h, worst);
	free(nodes);
}

/* ---- accessor instance: endpoints computed from an external object ---- */

struct fake_vma {
	uint64_t pgoff;		/* first page */
	uint64_t pages;		/* > 0 */
	struct fake_avc {
		struct rb_node rb;
		struct fake_vma *vma;
		uint64_t rb_subtree_last;
		int in_tree;
		unsigned int seen;
	} avc[2];		/* one link in each of two trees */
};

static inline uint64_t avc_start(const struct fake_avc *avc)
{
	return avc->vma->pgoff;
}

static inline uint64_t avc_last(const struct fake_avc *avc)
{
	return avc->vma->pgoff + avc->vma->pages - 1;
}

INTERVAL_TREE_DEFINE(struct fake_avc, rb, uint64_t, rb_subtree_last,
		     avc_start, avc_last, static inline, vma_it)

static void avc_query(struct rb_root *root, struct fake_vma *vmas, size_t nv,
		      int tree, uint64_t a, uint64_t b, unsigned int *stamp)
{
	struct fake_avc *avc;
	size_t expect = 0, got = 0, i;
	uint64_t prev = 0;

	for (i = 0; i < nv; i++)
		if (vmas[i].avc[tree].in_tree && a <= b &&
		    vmas[i].pgoff <= b &&
		    vmas[i].pgoff + vmas[i].pages - 1 >= a)
			expect++;
	++*stamp;
	for (avc = vma_it_iter_first(root, a, b); avc;
	     avc = vma_it_iter_next(avc, a, b)) {
		assert_ptr_equal(avc, &avc->vma->avc[tree]);
		assert_true(avc->in_tree);
		assert_true(avc->seen != *stamp);
		avc->seen = *stamp;
		assert_true(avc_start(avc) <= b && avc_last(avc) >= a);
		assert_true(avc_start(avc) >= prev);
		prev = avc_start(avc);
		got++;
	}
	assert_int_equal(got, expect);
}

static void test_accessor_instance(void **state)
{
	enum { NV = 250, OPS = 25000 };
	uint64_t seed = test_seed("interval_tree_accessor");
	struct fake_vma *vmas = calloc(NV, sizeof(*vmas));
	struct rb_root roots[2] = { RB_ROOT, RB_ROOT };
	unsigned int stamp = 0;
	unsigned long moves = 0;
	size_t i;
	long op;
	int t;

	assert_non_null(vmas);
	for (i = 0; i < NV; i++) {
		vmas[i].pgoff = test_below(&seed, 4096);
		vmas[i].pages = 1 + test_below(&seed, 64);
		for (t = 0; t < 2; t++)
			vmas[i].avc[t].vma = &vmas[i];
	}
	for (op = 0; op < OPS; op++) {
		struct fake_vma *v = &vmas[test_below(&seed, NV)];
		unsigned int dice = (unsigned int)test_below(&seed, 10);

		t = (int)test_below(&seed, 2);
		if (dice < 3) {
			/* link or unlink in one tree */
			if (v->avc[t].in_tree) {
				vma_it_remove(&v->avc[t], &roots[t]);
				v->avc[t].in_tree = 0;
			} else {
				vma_it_insert(&v->avc[t], &roots[t]);
				v->avc[t].in_tree = 1;
			}
		} else if (dice < 6) {
			/* "mremap": unlink from every tree, move or resize
			 * the VMA, link back */
			int was[2];

			for (t = 0; t < 2; t++) {
				was[t] = v->avc[t].in_tree;
				if (was[t])
					vma_it_remove(&v->avc[t], &roots[t]);
				v->avc[t].in_tree = 0;
			}
			if (test_below(&seed, 2))
				v->pgoff = test_below(&seed, 4096);
			else
				v->pages = 1 + test_below(&seed, 64);
			for (t = 0; t < 2; t++) {
				if (was[t]) {
					vma_it_insert(&v->avc[t], &roots[t]);
					v->avc[t].in_tree = 1;
				}
			}
			moves++;
		} else {
			uint64_t a = test_below(&seed, 4200);
			uint64_t b = dice == 6 ? a : a + test_below(&seed, 100);

			avc_query(&roots[t], vmas, NV, t, a, b, &stamp);
		}
		for (t = 0; t < 2; t++) {
			assert_int_equal(vma_it_check(&roots[t]), 0);
			assert_int_equal(rb_validate(&roots[t], NULL), 0);
		}
	}
	for (t = 0; t < 2; t++)
		avc_query(&roots[t], vmas, NV, t, 0, UINT64_MAX, &stamp);
	assert_true(moves > 0);

	/* moving a VMA while linked is a bug the checker must see: shift
	 * the one with the smallest start past all others */
	{
		struct fake_avc *first =
			rb_entry_safe(rb_first(&roots[0]), struct fake_avc, rb);

		if (first && rb_next(&first->rb)) {
			uint64_t saved = first->vma->pgoff;

			first->vma->pgoff = 1u << 20;
			assert_int_equal(vma_it_check(&roots[0]), -1);
			first->vma->pgoff = saved;
			assert_int_equal(vma_it_check(&roots[0]), 0);
		}
	}
	free(vmas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_check_detects),
		cmocka_unit_test(test_random_tiny),
		cmocka_unit_test(test_random_full),
		cmocka_unit_test(test_random_edges),
		cmocka_unit_test(test_random_medium),
		cmocka_unit_test(test_query_cost),
		cmocka_unit_test(test_accessor_instance),
	};

	return cmocka_run_group_tests_name("interval_tree", tests, NULL, NULL);
}
