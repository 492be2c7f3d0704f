/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the interval tree: 100,000 intervals are inserted in
 * random order, queried 100,000 times with short random ranges (walking
 * every result), and removed in another random order.  Five repetitions;
 * the median nanoseconds per operation is reported for each phase.
 *
 * Usage: interval_tree [seed]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/interval_tree.h"
#include "bench.h"

enum { N = 100000, Q = 100000, REPS = 5 };

#define SPAN	(1ull << 28)	/* starts in [0, SPAN): ~2 hits per query */
#define MAXLEN	4096		/* lengths in [1, MAXLEN] */
#define QLEN	4096		/* query ranges of QLEN points */

static uint64_t rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void shuffle(struct interval_tree_node **v, size_t n, uint64_t *s)
{
	size_t i;

	for (i = n; i-- > 1;) {
		size_t j = (size_t)(rng(s) % (i + 1));
		struct interval_tree_node *t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 42;
	struct interval_tree_node *nodes = calloc(N, sizeof(*nodes));
	struct interval_tree_node **order = calloc(N, sizeof(*order));
	uint64_t *qs = calloc(Q, sizeof(*qs));
	double ins[REPS], rem[REPS], qry[REPS];
	uint64_t results = 0;
	int r;
	size_t i;

	if (!nodes || !order || !qs) {
		perror("calloc");
		return 1;
	}
	if (!seed)
		seed = 1;
	printf("interval_tree bench: %d intervals, %d queries, %d reps, "
	       "seed %" PRIu64 "\n", N, Q, REPS, seed);

	for (r = 0; r < REPS; r++) {
		struct rb_root root = RB_ROOT;
		double t0;

		for (i = 0; i < N; i++) {
			nodes[i].start = rng(&seed) % SPAN;
			nodes[i].last = nodes[i].start + rng(&seed) % MAXLEN;
			order[i] = &nodes[i];
		}
		for (i = 0; i < Q; i++)
			qs[i] = rng(&seed) % SPAN;

		t0 = bench_now_ns();
		for (i = 0; i < N; i++)
			interval_tree_insert(order[i], &root);
		ins[r] = (bench_now_ns() - t0) / N;

		if (interval_tree_check(&root) || rb_validate(&root, NULL)) {
			fprintf(stderr, "tree check failed\n");
			return 1;
		}

		t0 = bench_now_ns();
		for (i = 0; i < Q; i++) {
			struct interval_tree_node *n;
			uint64_t a = qs[i], b = qs[i] + QLEN - 1;

			for (n = interval_tree_iter_first(&root, a, b); n;
			     n = interval_tree_iter_next(n, a, b))
				results++;
		}
		qry[r] = (bench_now_ns() - t0) / Q;

		shuffle(order, N, &seed);
		t0 = bench_now_ns();
		for (i = 0; i < N; i++)
			interval_tree_remove(order[i], &root);
		rem[r] = (bench_now_ns() - t0) / N;

		if (!RB_EMPTY_ROOT(&root)) {
			fprintf(stderr, "tree not empty after removals\n");
			return 1;
		}
	}

	printf("insert: %8.1f ns/op (median of %d)\n", bench_median(ins, REPS), REPS);
	printf("remove: %8.1f ns/op (median of %d)\n", bench_median(rem, REPS), REPS);
	printf("query:  %8.1f ns/op (median of %d), %.2f results/query\n",
	       bench_median(qry, REPS), REPS, (double)results / ((double)Q * REPS));
	free(nodes);
	free(order);
	free(qs);
	return 0;
}
