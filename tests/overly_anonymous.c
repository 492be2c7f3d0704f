/* SPDX-License-Identifier: MIT */
/*
 * The 2010 "overly anonymous anon_vma" bug (reference 7.1).  Parent and
 * child share a COW page; it is swapped out; the child faults it back in
 * first; the parent maps it from the swap cache; the child exits.  The
 * parent's mapping must still be found by the reverse map, so reclaim and
 * migration of the page work and nothing touches freed memory (run under
 * ASan).
 *
 * In 2010 the child's fault pointed page->mapping at the child's own
 * anon_vma, whose tree holds only the child's VMA: the walk missed the
 * parent, and after the child exited page->mapping dangled.  The rule: a
 * page brought in that may be shared names the root anon_vma.  We check
 * that through behaviour: while both map it a walk from the page finds two
 * mappings (the child's own anon_vma could only find one), and after the
 * child exits it finds exactly the parent's.
 *
 * How to swap a shared page out: MADV_PAGEOUT skips pages another process
 * maps (as Linux), so either global reclaim after the fork, or pageout in
 * the parent before the fork (the child then inherits the swap entry).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x100000000000UL
#define PG	AVM_PAGE_SIZE
#define NPG	4

enum how { GLOBAL_RECLAIM, PAGEOUT_BEFORE_FORK };

static struct avm_walk_stats walk(struct avm_mm *mm, unsigned long addr)
{
	struct avm_walk_stats ws = { 0 };

	assert_int_equal(avm_rmap_walk_addr(mm, addr, &ws), 0);
	assert_int_equal(ws.walks, 1);
	return ws;
}

/*
 * gens extra generations above the parent: the page's first anon_vma is
 * then not the root (the parent wrote it after being forked itself), which
 * makes "own anon_vma of whoever faulted it" and "root" differ everywhere.
 */
static void scenario(enum how how, int gens, bool child_writes)
{
	struct avm_sys *sys = test_sys(2);
	struct avm_mm *anc[3] = { NULL }, *p, *c;
	struct avm_page_info pi, ci;
	struct avm_walk_stats ws;
	struct avm_stats st;
	unsigned long addr = BASE + PG, moved;
	int expect_hits;

	p = test_mm_rw(sys, BASE, NPG * PG);
	assert_int_equal(avm_fill(p, BASE, 0x01, NPG * PG), 0);
	for (int g = 0; g < gens; g++) {
		/* the old one stays as an ancestor; the new one is "the
		   parent" and writes its own copies */
		anc[g] = p;
		assert_int_equal(avm_fork(anc[g], &p), 0);
		assert_int_equal(avm_fill(p, BASE, 0x10 + g, NPG * PG), 0);
	}
	assert_int_equal(avm_fill(p, addr, 0x5a, PG), 0);
	assert_true(test_info(p, addr).exclusive);

	if (how == PAGEOUT_BEFORE_FORK) {
		assert_int_equal(avm_madvise(p, addr, PG, AVM_MADV_PAGEOUT), 0);
		pi = test_info(p, addr);
		assert_int_equal(pi.state, AVM_PTE_SWAP);
		assert_true(pi.exclusive);
		assert_int_equal(avm_fork(p, &c), 0);
		assert_false(test_info(p, addr).exclusive);	/* shared entry now */
	} else {
		assert_int_equal(avm_fork(p, &c), 0);
		/* pageout would skip the page: two processes map it */
		assert_int_equal(avm_madvise(p, addr, PG, AVM_MADV_PAGEOUT), 0);
		assert_int_equal(test_info(p, addr).state, AVM_PTE_PRESENT);
		assert_int_equal(test_info(p, addr).mapcount, 2);
		test_reclaim_all(sys);
	}
	pi = test_info(p, addr);
	ci = test_info(c, addr);
	assert_int_equal(pi.state, AVM_PTE_SWAP);
	assert_int_equal(ci.state, AVM_PTE_SWAP);
	assert_int_equal(pi.swap_slot, ci.swap_slot);
	assert_check(sys);

	/* the child faults it back first */
	if (child_writes) {
		/* a write fault: the slot is still the parent's too, so the
		   child ends up with its own copy and the cached original */
		assert_int_equal(avm_fill(c, addr, 0xc1, 1), 0);
	} else {
		test_expect_page(c, addr, 0x5a);
	}
	ci = test_info(c, addr);
	assert_int_equal(ci.state, AVM_PTE_PRESENT);
	assert_false(ci.writable && !child_writes);
	assert_check(sys);

	/* the parent maps it from the swap cache */
	test_expect_page(p, addr, 0x5a);
	pi = test_info(p, addr);
	assert_int_equal(pi.state, AVM_PTE_PRESENT);
	avm_stats(sys, &st);
	if (!child_writes) {
		assert_int_equal(pi.pfn, test_info(c, addr).pfn);
		assert_int_equal(pi.mapcount, 2);
		assert_int_equal(st.swap_cache_pages, 1);
		/* from the page, both mappings: not the child's own anon_vma
		   (whose tree holds the child's VMA only) */
		ws = walk(p, addr);
		assert_int_equal(ws.hits, 2);
		ws = walk(c, addr);
		assert_int_equal(ws.hits, 2);
	} else {
		assert_int_not_equal(pi.pfn, test_info(c, addr).pfn);
		assert_int_equal(pi.mapcount, 1);
		ws = walk(p, addr);
		assert_int_equal(ws.hits, 1);
	}
	assert_check(sys);

	/* the child exits */
	avm_exit(c);
	assert_check(sys);
	pi = test_info(p, addr);
	assert_int_equal(pi.mapcount, 1);
	ws = walk(p, addr);
	assert_int_equal(ws.hits, 1);
	/* ancestors' VMAs may be visited, never hit: they map other copies */
	expect_hits = 1;

	/* migrate in the parent: the walk finds its mapping */
	assert_int_equal(avm_migrate(p, addr, PG, 1, &moved), 0);
	assert_int_equal(moved, 1);
	pi = test_info(p, addr);
	assert_int_equal(pi.state, AVM_PTE_PRESENT);
	assert_int_equal(pi.node, 1);
	ws = walk(p, addr);
	assert_int_equal(ws.hits, expect_hits);
	assert_check(sys);
	test_expect_page(p, addr, 0x5a);

	/* and reclaim: the page goes to swap, the PTE becomes a swap entry */
	test_reclaim_all(sys);
	pi = test_info(p, addr);
	assert_int_equal(pi.state, AVM_PTE_SWAP);
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 0);
	assert_check(sys);
	test_expect_page(p, addr, 0x5a);
	test_expect_page(p, BASE, gens ? 0x10 + gens - 1 : 0x01);
	assert_int_equal(avm_fill(p, addr, 0x77, PG), 0);	/* reuse */
	test_expect_page(p, addr, 0x77);
	assert_check(sys);

	/* and once more after the ancestors are gone */
	for (int g = 0; g < gens; g++) {
		avm_exit(anc[g]);
		assert_check(sys);
	}
	assert_int_equal(avm_migrate(p, BASE, NPG * PG, 0, &moved), 0);
	assert_int_equal(test_info(p, addr).node, 0);
	test_reclaim_all(sys);
	test_expect_page(p, addr, 0x77);
	assert_check(sys);
	avm_exit(p);
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(st.swap_cache_pages, 0);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	avm_sys_destroy(sys);
}

static void test_global_reclaim(void **state)
{
	scenario(GLOBAL_RECLAIM, 0, false);
}

static void test_pageout_before_fork(void **state)
{
	scenario(PAGEOUT_BEFORE_FORK, 0, false);
}

static void test_global_reclaim_grandchild(void **state)
{
	scenario(GLOBAL_RECLAIM, 1, false);
	scenario(GLOBAL_RECLAIM, 2, false);
}

static void test_pageout_before_fork_grandchild(void **state)
{
	scenario(PAGEOUT_BEFORE_FORK, 1, false);
	scenario(PAGEOUT_BEFORE_FORK, 2, false);
}

static void test_child_writes_first(void **state)
{
	scenario(GLOBAL_RECLAIM, 0, true);
	scenario(PAGEOUT_BEFORE_FORK, 1, true);
}

/*
 * Many children: every one swaps the page in (the first from swap, the
 * rest from the cache) and exits, in a random order; the parent's mapping
 * is found after each exit.
 */
static void test_many_children(void **state)
{
	uint64_t seed = test_seed("overly_anonymous_many_children");
	struct avm_sys *sys = test_sys(2);
	struct avm_mm *p, *c[12];
	struct avm_walk_stats ws;
	unsigned long addr = BASE, moved;
	int live = 12;
	unsigned int node = 1;

	p = test_mm_rw(sys, BASE, PG);
	assert_int_equal(avm_fill(p, addr, 0x5a, PG), 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(avm_fork(p, &c[i]), 0);
	test_reclaim_all(sys);
	for (int i = 0; i < 12; i++) {
		int k = (int)((unsigned)i * 5 % 12);

		test_expect_page(c[k], addr, 0x5a);
	}
	test_expect_page(p, addr, 0x5a);
	assert_int_equal(test_info(p, addr).mapcount, 13);
	assert_check(sys);
	while (live) {
		int k = (int)test_below(&seed, 12);

		if (!c[k])
			continue;
		avm_exit(c[k]);
		c[k] = NULL;
		live--;
		ws = walk(p, addr);
		assert_int_equal(ws.hits, 1 + live);
		assert_int_equal(avm_migrate(p, addr, PG, node, &moved), 0);
		assert_int_equal(moved, 1);
		assert_int_equal(test_info(p, addr).node, node);
		node ^= 1;
		assert_check(sys);
	}
	test_reclaim_all(sys);
	assert_int_equal(test_info(p, addr).state, AVM_PTE_SWAP);
	test_expect_page(p, addr, 0x5a);
	assert_check(sys);
	avm_exit(p);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_reclaim),
		cmocka_unit_test(test_pageout_before_fork),
		cmocka_unit_test(test_global_reclaim_grandchild),
		cmocka_unit_test(test_pageout_before_fork_grandchild),
		cmocka_unit_test(test_child_writes_first),
		cmocka_unit_test(test_many_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
