/* SPDX-License-Identifier: MIT */
/*
 * The pte-chain design (Linux 2.5): every frame lists the PTEs that map
 * it.  Exact expectations: a walk visits exactly the mappings (visits ==
 * hits == mapcount); a page mapped once is "direct" and costs nothing; a
 * fresh fault allocates only its frame; chains cost one 56-byte block per
 * three mappings beyond the first; fork unwinds when a block cannot be
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
#define NRPTE	3UL

static struct avm_sys *ptc_sys(unsigned int nodes)
{
	struct avm_config cfg;
	struct avm_sys *sys;

	avm_config_default(&cfg);
	cfg.nodes = nodes;
	cfg.node_frames = 1UL << 16;
	cfg.swap_slots = 1UL << 14;
	cfg.design = "pte-chain";
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	return sys;
}

static struct avm_stats stats(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st;
}

static struct avm_page_info info(struct avm_mm *mm, unsigned long addr)
{
	struct avm_page_info pi;

	assert_int_equal(avm_page_info(mm, addr, &pi), 0);
	return pi;
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
	assert_int_equal(info(mm, addr).mapcount, maps);
}

static void fill(struct avm_mm *mm, unsigned long addr, int n, int byte)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(avm_fill(mm, addr + i * PG, byte + i, PG), 0);
}

static void expect(struct avm_mm *mm, unsigned long addr, int n, int byte)
{
	unsigned char buf[PG];

	for (int i = 0; i < n; i++) {
		assert_int_equal(avm_read(mm, addr + i * PG, buf, PG), 0);
		for (size_t k = 0; k < PG; k++)
			assert_int_equal(buf[k], (unsigned char)(byte + i));
	}
}

static struct avm_mm *proc(struct avm_sys *sys, unsigned long addr, int pages)
{
	struct avm_mm *mm;

	assert_int_equal(avm_mm_create(sys, &mm), 0);
	assert_int_equal(avm_mmap(mm, addr, (unsigned long)pages * PG, RW,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	return mm;
}

static unsigned long blocks_for(unsigned long maps)
{
	return maps < 2 ? 0 : (maps + NRPTE - 1) / NRPTE;
}

static void reclaim_all(struct avm_sys *sys)
{
	unsigned long n;
	int passes = 0;

	do {
		assert_int_equal(avm_reclaim(sys, ULONG_MAX, &n), 0);
		assert_true(++passes < 100);
	} while (n);
}

/* A page mapped once is direct: no object, and a fault allocates only the
   frame. */
static void test_direct(void **state)
{
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = proc(sys, BASE, 16);
	unsigned long before;

	fill(p, BASE, 1, 1);		/* page tables now exist */
	before = avm_alloc_count(sys);
	fill(p, BASE + PG, 1, 2);
	assert_int_equal(avm_alloc_count(sys) - before, 1);	/* the frame */
	fill(p, BASE + 2 * PG, 14, 3);
	assert_int_equal(stats(sys).rmap_objects, 0);
	assert_int_equal(stats(sys).rmap_bytes, 0);
	for (int i = 0; i < 16; i++)
		walk_exact(p, BASE + i * PG, 1);
	assert_int_equal(info(p, BASE + 5 * PG).index, (BASE >> 12) + 5);
	assert_check(sys);
	avm_exit(p);
	assert_int_equal(stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* N children of one parent: every page has N + 1 entries in
   ceil((N + 1) / 3) blocks; walks are exact; exits give it all back. */
static void test_fork_fan(void **state)
{
	enum { M = 8, N = 7 };
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = proc(sys, BASE, M), *c[N];
	struct avm_walk_stats ws = { 0 };
	struct avm_stats st;

	fill(p, BASE, M, 0x10);
	for (int k = 0; k < N; k++) {
		assert_int_equal(avm_fork(p, &c[k]), 0);
		st = stats(sys);
		assert_int_equal(st.rmap_objects, M * blocks_for(k + 2));
		assert_int_equal(st.rmap_bytes, st.rmap_objects * BLOCK);
		assert_check(sys);
	}
	for (int i = 0; i < M; i++)
		walk_exact(c[3], BASE + i * PG, N + 1);
	assert_int_equal(avm_rmap_walk_all(sys, &ws), 0);
	assert_int_equal(ws.walks, M);
	assert_int_equal(ws.visits, M * (N + 1));
	assert_int_equal(ws.hits, M * (N + 1));
	/* a COW write takes the writer's entry off the shared page */
	fill(c[0], BASE, 1, 0x70);
	walk_exact(c[0], BASE, 1);
	walk_exact(p, BASE, N);
	expect(p, BASE, M, 0x10);
	expect(c[0], BASE, 1, 0x70);
	assert_check(sys);
	for (int k = N - 1; k >= 0; k--) {
		avm_exit(c[k]);
		assert_check(sys);
		/* page 0: the parent and c[1..k-1]; the others: one more */
		assert_int_equal(stats(sys).rmap_objects,
				 blocks_for(k > 1 ? (unsigned long)k : 1) +
				 (M - 1) * blocks_for((unsigned long)k + 1));
	}
	walk_exact(p, BASE, 1);
	assert_int_equal(stats(sys).rmap_objects, 0);
	expect(p, BASE, M, 0x10);
	avm_exit(p);
	assert_int_equal(stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* Every allocation of a fork may fail: -ENOMEM, nothing left behind. */
static void test_fork_enomem(void **state)
{
	enum { M = 6 };
	unsigned long n, failures = 0;

	for (n = 1; n < 200; n++) {
		struct avm_sys *sys = ptc_sys(1);
		struct avm_mm *p = proc(sys, BASE, M), *c1, *c1b, *c2;
		struct avm_stats before, after;
		int err;

		fill(p, BASE, M, 0x20);
		assert_int_equal(avm_fork(p, &c1), 0);
		assert_int_equal(avm_fork(p, &c1b), 0);	/* blocks full */
		before = stats(sys);
		assert_int_equal(before.rmap_objects, M * blocks_for(3));
		avm_fail_nth(sys, n);
		err = avm_fork(p, &c2);
		avm_fail_nth(sys, 0);
		assert_check(sys);
		after = stats(sys);
		if (!err) {
			assert_int_equal(after.rmap_objects, M * blocks_for(4));
			expect(c2, BASE, M, 0x20);
			avm_sys_destroy(sys);
			break;
		}
		assert_int_equal(err, -ENOMEM);
		failures++;
		assert_int_equal(after.rmap_objects, before.rmap_objects);
		assert_int_equal(after.mms, before.mms);
		for (int i = 0; i < M; i++)
			walk_exact(p, BASE + i * PG, 3);
		expect(p, BASE, M, 0x20);
		expect(c1, BASE, M, 0x20);
		expect(c1b, BASE, M, 0x20);
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
	struct avm_mm *p = proc(sys, BASE, M), *c;
	unsigned long got, moved;

	fill(p, BASE, M, 0x30);
	assert_int_equal(avm_fork(p, &c), 0);
	fill(p, BASE, 2, 0x50);			/* two pages private again */
	assert_int_equal(stats(sys).rmap_objects, (M - 2) * blocks_for(2));
	assert_int_equal(avm_mremap(p, BASE, M * PG, M * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, FAR,
				    &got), 0);
	assert_int_equal(got, FAR);
	/* entries rewritten in place: same blocks, no copies */
	assert_int_equal(stats(sys).rmap_objects, (M - 2) * blocks_for(2));
	assert_int_equal(stats(sys).rmap_copies, 0);
	assert_check(sys);
	for (int i = 2; i < M; i++) {
		assert_int_equal(info(p, FAR + i * PG).pfn,
				 info(c, BASE + i * PG).pfn);
		walk_exact(c, BASE + i * PG, 2);
	}
	walk_exact(p, FAR, 1);
	assert_int_equal(info(p, FAR).index, FAR >> 12);	/* direct */
	/* the child migrates the shared pages: the parent's moved PTEs
	   follow */
	assert_int_equal(avm_migrate(c, BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	for (int i = 2; i < M; i++) {
		assert_int_equal(info(p, FAR + i * PG).node, 1);
		assert_int_equal(info(p, FAR + i * PG).pfn,
				 info(c, BASE + i * PG).pfn);
		walk_exact(p, FAR + i * PG, 2);
	}
	expect(p, FAR, 2, 0x50);
	expect(p, FAR + 2 * PG, M - 2, 0x32);
	expect(c, BASE, M, 0x30);
	assert_check(sys);
	avm_exit(c);
	walk_exact(p, FAR + 3 * PG, 1);
	assert_int_equal(stats(sys).rmap_objects, 0);
	avm_exit(p);
	assert_int_equal(stats(sys).frames_used, 0);
	avm_sys_destroy(sys);
}

/* Swap-out empties the chain (a swap entry has no frame); swap-in builds
   it again, one entry per PTE that maps the frame. */
static void test_swap(void **state)
{
	enum { M = 4, N = 4 };
	struct avm_sys *sys = ptc_sys(1);
	struct avm_mm *p = proc(sys, BASE, M), *c[N];

	fill(p, BASE, M, 0x40);
	for (int k = 0; k < N; k++)
		assert_int_equal(avm_fork(p, &c[k]), 0);
	assert_int_equal(stats(sys).rmap_objects, M * blocks_for(N + 1));
	reclaim_all(sys);
	assert_int_equal(info(p, BASE).state, AVM_PTE_SWAP);
	assert_int_equal(stats(sys).rmap_objects, 0);
	assert_int_equal(stats(sys).frames_used, 0);
	assert_check(sys);
	expect(c[1], BASE, M, 0x40);		/* one mapping: direct */
	assert_int_equal(stats(sys).rmap_objects, 0);
	walk_exact(c[1], BASE, 1);
	expect(p, BASE, M, 0x40);		/* from the swap cache */
	walk_exact(p, BASE, 2);
	assert_int_equal(stats(sys).rmap_objects, M * blocks_for(2));
	for (int k = 0; k < N; k++)
		expect(c[k], BASE, M, 0x40);
	walk_exact(p, BASE + PG, N + 1);
	assert_int_equal(stats(sys).rmap_objects, M * blocks_for(N + 1));
	assert_check(sys);
	for (int k = 0; k < N; k++)
		avm_exit(c[k]);
	avm_exit(p);
	assert_int_equal(stats(sys).rmap_objects, 0);
	assert_int_equal(stats(sys).swap_slots_used, 0);
	avm_sys_destroy(sys);
}

/* Migration carries the chain to the new frame; its walks stay exact. */
static void test_migrate(void **state)
{
	enum { M = 4, N = 5 };
	struct avm_sys *sys = ptc_sys(2);
	struct avm_mm *p = proc(sys, BASE, M), *c[N];
	unsigned long moved, pfn;

	fill(p, BASE, M, 0x60);
	for (int k = 0; k < N; k++)
		assert_int_equal(avm_fork(p, &c[k]), 0);
	pfn = info(p, BASE).pfn;
	assert_int_equal(avm_migrate(c[2], BASE, M * PG, 1, &moved), 0);
	assert_int_equal(moved, M);
	assert_int_not_equal(info(p, BASE).pfn, pfn);
	for (int i = 0; i < M; i++) {
		assert_int_equal(info(c[4], BASE + i * PG).node, 1);
		walk_exact(c[0], BASE + i * PG, N + 1);
	}
	assert_int_equal(stats(sys).rmap_objects, M * blocks_for(N + 1));
	assert_check(sys);
	/* a direct page (the COW copy is made on node 0) */
	fill(c[0], BASE, 1, 0x11);
	assert_int_equal(avm_migrate(c[0], BASE, PG, 1, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(info(c[0], BASE).node, 1);
	walk_exact(c[0], BASE, 1);
	walk_exact(p, BASE, N);
	expect(c[0], BASE, 1, 0x11);
	expect(p, BASE, M, 0x60);
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
