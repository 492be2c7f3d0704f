/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure at every point of reclaim, MADV_PAGEOUT, swap-in
 * faults (read and write), migration, and fork of swapped memory: the
 * operation either succeeds or returns -ENOMEM, the checker passes, every
 * process still reads what it should, the operation then succeeds when
 * retried without failures, and once everything exits nothing is left.
 *
 * Each case rebuilds the same state from a fixed seed, so allocation
 * number n is the same allocation every time; n runs from 1 until an
 * operation completes without meeting the injected failure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "lib/forktree.h"

#define PG	AVM_PAGE_SIZE

enum op {
	OP_RECLAIM,
	OP_PAGEOUT,
	OP_SWAPIN_READ,
	OP_SWAPIN_WRITE,
	OP_MIGRATE,
	OP_MIGRATE_CACHED,
	OP_FORK_SWAPPED,
	OP_NR
};

static const char *const op_name[OP_NR] = {
	"reclaim", "pageout", "swap-in read", "swap-in write", "migrate",
	"migrate swap-cached", "fork with swap entries",
};

/* The state an operation starts from: a small fork tree, part swapped. */
static void setup(struct forktree *ft, struct avm_sys *sys, uint64_t seed,
		  enum op op)
{
	ft_build(ft, sys, seed, 5, 3);
	switch (op) {
	case OP_RECLAIM:
	case OP_PAGEOUT:
	case OP_MIGRATE:
		/* a mix: one process's pages out, some of them cached */
		assert_int_equal(avm_madvise(ft->p[1].mm, ft->start[0],
					     ft_len(ft, 0), AVM_MADV_PAGEOUT), 0);
		ft_verify(ft, 2);
		break;
	case OP_SWAPIN_READ:
	case OP_SWAPIN_WRITE:
	case OP_FORK_SWAPPED:
		test_reclaim_all(sys);
		ft_verify(ft, 3);	/* some pages cached and mapped */
		break;
	case OP_MIGRATE_CACHED:
		test_reclaim_all(sys);
		ft_verify_all(ft);	/* every frame in the swap cache */
		break;
	default:
		break;
	}
}

/* Run op once; returns its result.  *extra gets a forked child, if any. */
static int run_op(struct forktree *ft, enum op op, int *child)
{
	struct avm_sys *sys = ft->sys;
	unsigned long n;
	int err = 0;

	*child = -1;
	switch (op) {
	case OP_RECLAIM:
		for (int k = 0; k < 4; k++) {
			err = avm_reclaim(sys, ULONG_MAX, &n);
			if (err)
				break;
		}
		break;
	case OP_PAGEOUT:
		for (int i = 0; i < ft->n && !err; i++)
			for (int v = 0; v < ft->nv && !err; v++)
				err = avm_madvise(ft->p[i].mm, ft->start[v],
						  ft_len(ft, v), AVM_MADV_PAGEOUT);
		break;
	case OP_SWAPIN_READ:
		for (int i = 0; i < ft->n && !err; i++)
			for (int v = 0; v < ft->nv && !err; v++) {
				unsigned char *buf = malloc(ft_len(ft, v));

				assert_non_null(buf);
				err = avm_read(ft->p[i].mm, ft->start[v], buf,
					       ft_len(ft, v));
				if (!err)
					assert_memory_equal(buf, ft->p[i].data[v],
							    ft_len(ft, v));
				free(buf);
			}
		break;
	case OP_SWAPIN_WRITE:
		/* one byte in every page of every process: COW from swap */
		for (int i = 0; i < ft->n && !err; i++)
			for (int v = 0; v < ft->nv && !err; v++)
				for (unsigned long g = 0; g < ft->pages[v] && !err;
				     g++) {
					unsigned long off = g * PG + (unsigned long)i;
					unsigned char b = (unsigned char)(0xa0 + i);

					err = avm_write(ft->p[i].mm,
							ft->start[v] + off, &b, 1);
					if (!err)
						ft->p[i].data[v][off] = b;
				}
		break;
	case OP_MIGRATE:
	case OP_MIGRATE_CACHED:
		for (int i = 0; i < ft->n && !err; i++)
			for (int v = 0; v < ft->nv && !err; v++)
				err = avm_migrate(ft->p[i].mm, ft->start[v],
						  ft_len(ft, v), 1, &n);
		break;
	case OP_FORK_SWAPPED: {
		struct avm_mm *mm;

		err = avm_fork(ft->p[2].mm, &mm);
		if (!err) {
			/* adopt it into the model */
			int c = ft->n++;

			ft->p[c].mm = mm;
			ft->p[c].parent = 2;
			for (int v = 0; v < ft->nv; v++) {
				ft->p[c].data[v] = malloc(ft_len(ft, v));
				assert_non_null(ft->p[c].data[v]);
				memcpy(ft->p[c].data[v], ft->p[2].data[v],
				       ft_len(ft, v));
			}
			*child = c;
		}
		break;
	}
	default:
		break;
	}
	return err;
}

static void fail_every_point(enum op op, uint64_t seed)
{
	unsigned long n, hits = 0;

	for (n = 1; n < 100000; n++) {
		struct avm_sys *sys = test_sys(2);
		struct forktree ft;
		struct avm_stats st0, st;
		int err, child;

		setup(&ft, sys, seed, op);
		avm_stats(sys, &st0);
		avm_fail_nth(sys, n);
		err = run_op(&ft, op, &child);
		avm_fail_nth(sys, 0);
		avm_stats(sys, &st);
		if (err != 0 && err != -ENOMEM) {
			fprintf(stderr, "%s, failing allocation %lu: %d\n",
				op_name[op], n, err);
			fail();
		}
		/* nothing but -ENOMEM and only when a failure was met */
		if (err)
			assert_true(st.alloc_failures > st0.alloc_failures);
		assert_check(sys);
		ft_verify_all(&ft);
		assert_check(sys);
		/* without failures it goes through */
		err = run_op(&ft, op, &child);
		assert_int_equal(err, 0);
		assert_check(sys);
		ft_verify_all(&ft);
		test_reclaim_all(sys);
		avm_stats(sys, &st);
		assert_int_equal(st.frames_used, 0);
		assert_check(sys);
		ft_verify_all(&ft);
		ft_exit_all(&ft, true);
		assert_all_freed(sys);
		avm_sys_destroy(sys);
		if (st.alloc_failures == st0.alloc_failures)
			break;		/* the op never got to allocation n */
		hits++;
	}
	/* every case allocates something */
	assert_true(hits > 0);
	printf("%s: %lu failure points\n", op_name[op], hits);
}

static void run_case(enum op op)
{
	uint64_t s = test_seed(op_name[op]);

	for (int k = 0; k < 3; k++)
		fail_every_point(op, test_rand(&s) | 1);
}

static void test_reclaim(void **state) { run_case(OP_RECLAIM); }
static void test_pageout(void **state) { run_case(OP_PAGEOUT); }
static void test_swapin_read(void **state) { run_case(OP_SWAPIN_READ); }
static void test_swapin_write(void **state) { run_case(OP_SWAPIN_WRITE); }
static void test_migrate(void **state) { run_case(OP_MIGRATE); }
static void test_migrate_cached(void **state) { run_case(OP_MIGRATE_CACHED); }
static void test_fork_swapped(void **state) { run_case(OP_FORK_SWAPPED); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_pageout),
		cmocka_unit_test(test_swapin_read),
		cmocka_unit_test(test_swapin_write),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_migrate_cached),
		cmocka_unit_test(test_fork_swapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
