/* SPDX-License-Identifier: MIT */
/*
 * The pte-chain design (Linux 2.5): every frame lists the PTEs that map
 * it.  Exact expectations: a walk visits exactly the mappings (visits ==
 * hits == mapcount); a page mapped once is "direct" and costs nothing; a
 * fresh fault allocates only its frame; chains cost one 56-byte block per
 * three mappings beyond the first, and each PTE table 4 KiB of slots
 * (O(1) removal); fork unwinds when a block cannot be
 * allocated; mremap, swap and migration keep the chains exact.
 *
 * Runs on pte-chain whatever $AVM_DESIGN says.
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
#define BLOCK	56UL		/* next pointer + 3 entries of (mm, addr) */
#define SLOTS	4096UL		/* per PTE table: a chain-entry pointer per PTE */
#define NRPTE	3UL

static struct avm_sys *ptc_sys(unsigned int nodes)
{
	return test_sys_for("pte-chain", nodes, 1UL << 16, 1UL << 14);
}

/* One walk from the frame mapped at addr: visits == hits == mapcount. */
static void walk_exact(struct avm_mm *mm, unsigned long addr,
		       unsigned long maps)
{
	struct avm_walk_stats ws = { 0 };

	assert_int_equal(avm_rmap_walk_addr(mm, addr, &ws), 0);
	assert_int_equal(ws.walks, 1);
	assert_int_equal(ws.visits, maps);
	assert_int_equal(ws.hits, maps);
	assert_int_equal(test_info(mm, addr).mapcount, maps);
}

static unsigned long blocks_for(unsigned long maps)
{
	return maps < 2 ? 0 : (maps + NRPTE - 1) / NRPTE;
}

/* A page mapped once is direct: no object, and a fault allocates only the
   frame. */
static void test_direct(void **state)
{
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, 16 * PG);
	unsigned long before;

	test_fill_pages(p, BASE, 1, 1);		/* page tables now exist */
	before = avm_alloc_count(sys);
	test_fill_pages(p, BASE + PG, 1, 2);
	assert_int_equal(avm_alloc_count(sys) - before, 1);	/* the frame */
	test_fill_pages(p, BASE + 2 * PG, 14, 3);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	assert_int_equal(test_stats(sys).rmap_bytes, SLOTS);	/* 1 PTE table */
	for (int i = 0; i < 16; i++)
		walk_exact(p, BASE + i * PG, 1);
	assert_int_equal(test_info(p, BASE + 5 * PG).index, (BASE >> 12) + 5);
	assert_check(sys);
	avm_exit(p);
	assert_int_equal(test_stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* N children of one parent: every page has N + 1 entries in
   ceil((N + 1) / 3) blocks; walks are exact; exits give it all back. */
static void test_fork_fan(void **state)
{
	enum { M = 8, N = 7 };
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c[N];
	struct avm_walk_stats ws = { 0 };
	struct avm_stats st;

	test_fill_pages(p, BASE, M, 0x10);
	for (int k = 0; k < N; k++) {
		assert_int_equal(avm_fork(p, &c[k]), 0);
		st = test_stats(sys);
		assert_int_equal(st.rmap_objects, M * blocks_for(k + 2));
		assert_int_equal(st.rmap_bytes, st.rmap_objects * BLOCK +
				 (k + 2) * SLOTS);	/* a PTE table per mm */
		assert_check(sys);
	}
	for (int i = 0; i < M; i++)
		walk_exact(c[3], BASE + i * PG, N + 1);
	assert_int_equal(avm_rmap_walk_all(sys, &ws), 0);
	assert_int_equal(ws.walks, M);
	assert_int_equal(ws.visits, M * (N + 1));
	assert_int_equal(ws.hits, M * (N + 1));
	/* a COW write takes the writer's entry off the shared page */
	test_fill_pages(c[0], BASE, 1, 0x70);
	walk_exact(c[0], BASE, 1);
	walk_exact(p, BASE, N);
	test_expect_pages(p, BASE, M, 0x10);
	test_expect_pages(c[0], BASE, 1, 0x70);
	assert_check(sys);
	for (int k = N - 1; k >= 0; k--) {
		avm_exit(c[k]);
		assert_check(sys);
		/* page 0: the parent and c[1..k-1]; the others: one more */
		assert_int_equal(test_stats(sys).rmap_objects,
				 blocks_for(k > 1 ? (unsigned long)k : 1) +
				 (M - 1) * blocks_for((unsigned long)k + 1));
	}
	walk_exact(p, BASE, 1);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	test_expect_pages(p, BASE, M, 0x10);
	avm_exit(p);
	assert_int_equal(test_stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* Every allocation of a fork may fail: -ENOMEM, nothing left behind. */
static void test_fork_enomem(void **state)
{
	enum { M = 6 };
	unsigned long n, failures = 0;

	for (n = 1; n < 200; n++) {
		struct avm_sys *sys = ptc_sys(1);
		struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c1, *c1b, *c2;
		struct avm_stats before, after;
		int err;

		test_fill_pages(p, BASE, M, 0x20);
		assert_int_equal(avm_fork(p, &c1), 0);
		assert_int_equal(avm_fork(p, &c1b), 0);	/* blocks full */
		before = test_stats(sys);
		assert_int_equal(before.rmap_objects, M * blocks_for(3));
		avm_fail_nth(sys, n);
		err = avm_fork(p, &c2);
		avm_fail_nth(sys, 0);
		assert_check(sys);
		after = test_stats(sys);
		if (!err) {
			assert_int_equal(after.rmap_objects, M * blocks_for(4));
			test_expect_pages(c2, BASE, M, 0x20);
			avm_sys_destroy(sys);
			break;
		}
		assert_int_equal(err, -ENOMEM);
		failures++;
		assert_int_equal(after.rmap_objects, before.rmap_objects);
		assert_int_equal(after.mms, before.mms);
		for (int i = 0; i < M; i++)
			walk_exact(p, BASE + i * PG, 3);
		test_expect_pages(p, BASE, M, 0x20);
		test_expect_pages(c1, BASE, M, 0x20);
		test_expect_pages(c1b, BASE, M, 0x20);
		avm_sys_destroy(sys);
	}
	assert_true(n < 200);
	assert_true(failures > (unsigned long)M);	/* blocks among them */
}

/* mremap rewrites entries in place: the moved mappings are found at their
   new address, no copy, no allocation. */
static void test_mremap(void **state)
{
	enum { M = 8 };
	struct avm_sys *sys = ptc_sys(2);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c;
	unsigned long got, moved;

	test_fill_pages(p, BASE, M, 0x30);
	assert_int_equal(avm_fork(p, &c), 0);
	test_fill_pages(p, BASE, 2, 0x50);			/* two pages private again */
	assert_int_equal(test_stats(sys).rmap_objects, (M - 2) * blocks_for(2));
	assert_int_equal(avm_mremap(p, BASE, M * PG, M * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, FAR,
				    &got), 0);
	assert_int_equal(got, FAR);
	/* entries rewritten in place: same blocks, no copies */
	assert_int_equal(test_stats(sys).rmap_objects, (M - 2) * blocks_for(2));
	assert_int_equal(test_stats(sys).rmap_copies, 0);
	assert_check(sys);
	for (int i = 2; i < M; i++) {
		assert_int_equal(test_info(p, FAR + i * PG).pfn,
				 test_info(c, BASE + i * PG).pfn);
		walk_exact(c, BASE + i * PG, 2);
	}
	walk_exact(p, FAR, 1);
	assert_int_equal(test_info(p, FAR).index, FAR >> 12);	/* direct */
	/* the child migrates the shared pages: the parent's moved PTEs
	   follow */
	assert_int_equal(avm_migrate(c, BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	for (int i = 2; i < M; i++) {
		assert_int_equal(test_info(p, FAR + i * PG).node, 1);
		assert_int_equal(test_info(p, FAR + i * PG).pfn,
				 test_info(c, BASE + i * PG).pfn);
		walk_exact(p, FAR + i * PG, 2);
	}
	test_expect_pages(p, FAR, 2, 0x50);
	test_expect_pages(p, FAR + 2 * PG, M - 2, 0x32);
	test_expect_pages(c, BASE, M, 0x30);
	assert_check(sys);
	avm_exit(c);
	walk_exact(p, FAR + 3 * PG, 1);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	avm_exit(p);
	assert_int_equal(test_stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* Swap-out empties the chain (a swap entry has no frame); swap-in builds
   it again, one entry per PTE that maps the frame. */
static void test_swap(void **state)
{
	enum { M = 4, N = 4 };
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c[N];

	test_fill_pages(p, BASE, M, 0x40);
	for (int k = 0; k < N; k++)
		assert_int_equal(avm_fork(p, &c[k]), 0);
	assert_int_equal(test_stats(sys).rmap_objects, M * blocks_for(N + 1));
	test_reclaim_all(sys);
	assert_int_equal(test_info(p, BASE).state, AVM_PTE_SWAP);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	assert_int_equal(test_stats(sys).frames_used, 0);
	assert_check(sys);
	test_expect_pages(c[1], BASE, M, 0x40);		/* one mapping: direct */
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	walk_exact(c[1], BASE, 1);
	test_expect_pages(p, BASE, M, 0x40);		/* from the swap cache */
	walk_exact(p, BASE, 2);
	assert_int_equal(test_stats(sys).rmap_objects, M * blocks_for(2));
	for (int k = 0; k < N; k++)
		test_expect_pages(c[k], BASE, M, 0x40);
	walk_exact(p, BASE + PG, N + 1);
	assert_int_equal(test_stats(sys).rmap_objects, M * blocks_for(N + 1));
	assert_check(sys);
	for (int k = 0; k < N; k++)
		avm_exit(c[k]);
	avm_exit(p);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 0);
	avm_sys_destroy(sys);
}

/* Migration carries the chain to the new frame; its walks stay exact. */
static void test_migrate(void **state)
{
	enum { M = 4, N = 5 };
	struct avm_sys *sys = ptc_sys(2);
	struct avm_mm *p = test_mm_rw(sys, BASE, M * PG), *c[N];
	unsigned long moved, pfn;

	test_fill_pages(p, BASE, M, 0x60);
	for (int k = 0; k < N; k++)
		assert_int_equal(avm_fork(p, &c[k]), 0);
	pfn = test_info(p, BASE).pfn;
	assert_int_equal(avm_migrate(c[2], BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	assert_int_not_equal(test_info(p, BASE).pfn, pfn);
	for (int i = 0; i < M; i++) {
		assert_int_equal(test_info(c[4], BASE + i * PG).node, 1);
		walk_exact(c[0], BASE + i * PG, N + 1);
	}
	assert_int_equal(test_stats(sys).rmap_objects, M * blocks_for(N + 1));
	assert_check(sys);
	/* a direct page (the COW copy is made on node 0) */
	test_fill_pages(c[0], BASE, 1, 0x11);
	assert_int_equal(avm_migrate(c[0], BASE, PG, 1, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(test_info(c[0], BASE).node, 1);
	walk_exact(c[0], BASE, 1);
	walk_exact(p, BASE, N);
	test_expect_pages(c[0], BASE, 1, 0x11);
	test_expect_pages(p, BASE, M, 0x60);
	assert_check(sys);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_fork_fan),
		cmocka_unit_test(test_fork_enomem),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_migrate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
