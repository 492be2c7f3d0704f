/* SPDX-License-Identifier: MIT */
/*
 * The anonmm design (Hugh Dickins, 2004): one object per mm, one family
 * per fork tree, page->index = the page's virtual address.  Exact
 * expectations: a walk visits every mm of the page's family (visits ==
 * family size) and hits its mappings; the objects are one per mm plus one
 * per family; mremap after fork copies every page it moves that another
 * process may map (counted in rmap_copies), before anything moves, and
 * fails with nothing changed when a copy cannot be allocated; pages moved
 * while mapped here only just take their new address.
 *
 * Runs on anonmm whatever $AVM_DESIGN says.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x100000000000UL
#define FAR	0x300000000000UL
#define PG	AVM_PAGE_SIZE
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define MOVE	(AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED)
#define ANONMM	32UL		/* struct anonmm: mm, family, list node */
#define FAMILY	64UL		/* struct anonmm_family: mutex, list, count */

static struct avm_sys *amm_sys(unsigned int nodes)
{
	return test_sys_for("anonmm", nodes, 1UL << 16, 1UL << 14);
}

/* One walk from the frame at addr: every mm of the family is visited. */
static void walk(struct avm_mm *mm, unsigned long addr, unsigned long family,
		 unsigned long hits)
{
	struct avm_walk_stats ws = { 0 };

	assert_int_equal(avm_rmap_walk_addr(mm, addr, &ws), 0);
	assert_int_equal(ws.walks, 1);
	assert_int_equal(ws.visits, family);
	assert_int_equal(ws.hits, hits);
	assert_int_equal(test_info(mm, addr).mapcount, hits);
	assert_int_equal(test_info(mm, addr).index, addr >> 12);
}

static void objects(struct avm_sys *sys, unsigned long mms,
		    unsigned long families)
{
	struct avm_stats st = test_stats(sys);

	assert_int_equal(st.rmap_objects, mms + families);
	assert_int_equal(st.rmap_bytes, mms * ANONMM + families * FAMILY);
}

/* Walks visit the whole family, whatever maps the page. */
static void test_family_walks(void **state)
{
	enum { M = 4, N = 6 };
	struct avm_sys *sys = amm_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c[N], *q;
	struct avm_walk_stats ws = { 0 };

	objects(sys, 0, 0);		/* nothing before the first fault */
	test_fill_pages(p, BASE, M, 0x10);
	objects(sys, 1, 1);
	walk(p, BASE, 1, 1);
	for (int k = 0; k < N; k++) {
		assert_int_equal(avm_fork(p, &c[k]), 0);
		objects(sys, 2 + (unsigned long)k, 1);
	}
	for (int i = 0; i < M; i++)
		walk(c[2], BASE + i * PG, N + 1, N + 1);
	/* a private copy is still looked for in every mm of the family */
	test_fill_pages(c[0], BASE, 1, 0x70);
	walk(c[0], BASE, N + 1, 1);
	walk(p, BASE, N + 1, N);
	assert_int_equal(avm_rmap_walk_all(sys, &ws), 0);
	assert_int_equal(ws.walks, M + 1);
	assert_int_equal(ws.visits, (M + 1) * (N + 1));
	assert_int_equal(ws.hits, M * (N + 1));
	/* an unrelated mm is a family of its own */
	q = test_mm_rw(sys, BASE, 2 * PG);
	test_fill_pages(q, BASE, 2, 0x90);
	objects(sys, N + 2, 2);
	walk(q, BASE, 1, 1);
	assert_check(sys);
	/* the family outlives its first mm */
	avm_exit(p);
	objects(sys, N + 1, 2);
	walk(c[1], BASE, N, N - 1);
	walk(c[1], BASE + PG, N, N);
	assert_check(sys);
	for (int k = 0; k < N; k++) {
		avm_exit(c[k]);
		assert_check(sys);
		if (k < N - 1)
			walk(c[N - 1], BASE + PG, N - 1 - (unsigned long)k,
			     N - 1 - (unsigned long)k);
	}
	objects(sys, 1, 1);
	test_expect_pages(q, BASE, 2, 0x90);
	avm_exit(q);
	objects(sys, 0, 0);
	assert_int_equal(test_stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* mremap after fork copies the shared pages it moves, not the others. */
static void test_mremap_copies(void **state)
{
	enum { M = 8 };
	struct avm_sys *sys = amm_sys(2);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c, *q;
	unsigned long got, frames, moved;

	test_fill_pages(p, BASE, M, 0x30);
	assert_int_equal(avm_fork(p, &c), 0);
	test_fill_pages(p, BASE, 2, 0x50);			/* two pages private again */
	frames = test_stats(sys).frames_used;
	assert_int_equal(avm_mremap(p, BASE, M * PG, M * PG, MOVE, FAR, &got),
			 0);
	assert_int_equal(got, FAR);
	assert_int_equal(test_stats(sys).rmap_copies, M - 2);
	assert_int_equal(test_stats(sys).frames_used, frames + M - 2);
	assert_check(sys);
	for (int i = 0; i < M; i++) {
		walk(p, FAR + i * PG, 2, 1);	/* index: the new address */
		walk(c, BASE + i * PG, 2, 1);
		assert_int_not_equal(test_info(p, FAR + i * PG).pfn,
				     test_info(c, BASE + i * PG).pfn);
		assert_true(test_info(p, FAR + i * PG).exclusive);
	}
	test_expect_pages(p, FAR, 2, 0x50);
	test_expect_pages(p, FAR + 2 * PG, M - 2, 0x32);
	test_expect_pages(c, BASE, M, 0x30);
	/* now every page is the parent's alone: it just moves back */
	test_fill_pages(p, FAR + 3 * PG, 1, 0x63);
	assert_int_equal(avm_mremap(p, FAR, M * PG, M * PG, MOVE, BASE, &got),
			 0);
	assert_int_equal(test_stats(sys).rmap_copies, M - 2);
	for (int i = 0; i < M; i++)
		walk(p, BASE + i * PG, 2, 1);
	test_expect_pages(p, BASE + 3 * PG, 1, 0x63);
	/* the child's pages migrate; the parent's stay */
	assert_int_equal(avm_migrate(c, BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	assert_int_equal(test_info(p, BASE + 4 * PG).node, 0);
	assert_int_equal(test_info(c, BASE + 4 * PG).node, 1);
	test_expect_pages(c, BASE, M, 0x30);
	assert_check(sys);
	/* without fork nothing is ever copied */
	q = test_mm_rw(sys, FAR, M * PG);
	test_fill_pages(q, FAR, M, 0x20);
	assert_int_equal(avm_mremap(q, FAR, M * PG, M * PG, MOVE, FAR + 64 * PG,
				    &got), 0);
	assert_int_equal(test_stats(sys).rmap_copies, M - 2);
	walk(q, FAR + 64 * PG, 1, 1);
	test_expect_pages(q, FAR + 64 * PG, M, 0x20);
	assert_check(sys);
	avm_sys_destroy(sys);
}

/* Swap entries: an exclusive one just moves; a shared one is read into a
   private copy (its frame would otherwise come back at two addresses). */
static void test_mremap_swapped(void **state)
{
	enum { M = 4 };
	struct avm_sys *sys = amm_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c;
	unsigned long got;

	test_fill_pages(p, BASE, M, 0x40);
	assert_int_equal(avm_madvise(p, BASE, M * PG, AVM_MADV_PAGEOUT), 0);
	assert_int_equal(test_info(p, BASE).state, AVM_PTE_SWAP);
	assert_true(test_info(p, BASE).exclusive);
	assert_int_equal(avm_mremap(p, BASE, M * PG, M * PG, MOVE, FAR, &got),
			 0);
	assert_int_equal(test_stats(sys).rmap_copies, 0);
	assert_int_equal(test_info(p, FAR).state, AVM_PTE_SWAP);
	test_expect_pages(p, FAR, 1, 0x40);		/* swapped in at FAR */
	walk(p, FAR, 1, 1);
	assert_check(sys);
	/* fork shares the remaining entries; moving them copies */
	assert_int_equal(avm_fork(p, &c), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, M);	/* 0: cached */
	assert_int_equal(avm_mremap(p, FAR, M * PG, M * PG, MOVE, BASE, &got),
			 0);
	/* page 0 is present and shared, 1..3 are swap entries: all copied */
	assert_int_equal(test_stats(sys).rmap_copies, M);
	assert_int_equal(test_info(p, BASE + PG).state, AVM_PTE_PRESENT);
	assert_int_equal(test_info(c, FAR + PG).state, AVM_PTE_SWAP);
	assert_check(sys);
	test_expect_pages(p, BASE, M, 0x40);
	test_expect_pages(c, FAR, M, 0x40);
	for (int i = 0; i < M; i++) {
		walk(p, BASE + i * PG, 2, 1);
		walk(c, FAR + i * PG, 2, 1);
	}
	assert_check(sys);
	avm_exit(c);
	avm_exit(p);
	assert_int_equal(test_stats(sys).swap_slots_used, 0);
	assert_int_equal(test_stats(sys).frames_used, 0);
	objects(sys, 0, 0);
	avm_sys_destroy(sys);
}

/* Every allocation of the move may fail: -ENOMEM with nothing changed,
   not even a copy. */
static void test_mremap_enomem(void **state)
{
	enum { M = 6 };
	unsigned long n, failures = 0;

	for (n = 1; n < 100; n++) {
		struct avm_sys *sys = amm_sys(1);
		struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c;
		struct avm_stats before, after;
		unsigned long got;
		int err;

		test_fill_pages(p, BASE, M, 0x21);
		assert_int_equal(avm_fork(p, &c), 0);
		before = test_stats(sys);
		avm_fail_nth(sys, n);
		err = avm_mremap(p, BASE, M * PG, M * PG, MOVE, FAR, &got);
		avm_fail_nth(sys, 0);
		assert_check(sys);
		after = test_stats(sys);
		if (!err) {
			assert_int_equal(after.rmap_copies, M);
			test_expect_pages(p, FAR, M, 0x21);
			test_expect_pages(c, BASE, M, 0x21);
			avm_sys_destroy(sys);
			break;
		}
		assert_int_equal(err, -ENOMEM);
		failures++;
		assert_int_equal(after.rmap_copies, 0);
		assert_int_equal(after.frames_used, before.frames_used);
		assert_int_equal(after.vmas, before.vmas);
		for (int i = 0; i < M; i++) {
			walk(p, BASE + i * PG, 2, 2);
			assert_int_equal(test_info(p, BASE + i * PG).pfn,
					 test_info(c, BASE + i * PG).pfn);
		}
		test_expect_pages(p, BASE, M, 0x21);
		avm_sys_destroy(sys);
	}
	assert_true(n < 100);
	assert_true(failures >= (unsigned long)M);	/* the copies' frames */
}

/* Reclaim and migration find every mapping through the family. */
static void test_reclaim_migrate(void **state)
{
	enum { M = 4, N = 3 };
	struct avm_sys *sys = amm_sys(2);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c[N];
	unsigned long moved;

	test_fill_pages(p, BASE, M, 0x55);
	for (int k = 0; k < N; k++)
		assert_int_equal(avm_fork(p, &c[k]), 0);
	assert_int_equal(avm_migrate(c[1], BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	for (int i = 0; i < M; i++) {
		assert_int_equal(test_info(p, BASE + i * PG).node, 1);
		walk(c[2], BASE + i * PG, N + 1, N + 1);
	}
	assert_check(sys);
	test_reclaim_all(sys);
	assert_int_equal(test_info(c[0], BASE).state, AVM_PTE_SWAP);
	assert_int_equal(test_stats(sys).frames_used, 0);
	assert_check(sys);
	test_expect_pages(c[2], BASE, M, 0x55);
	test_expect_pages(p, BASE, M, 0x55);
	walk(p, BASE, N + 1, 2);
	assert_check(sys);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_walks),
		cmocka_unit_test(test_mremap_copies),
		cmocka_unit_test(test_mremap_swapped),
		cmocka_unit_test(test_mremap_enomem),
		cmocka_unit_test(test_reclaim_migrate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
