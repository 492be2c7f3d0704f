/* SPDX-License-Identifier: MIT */
/*
 * Data survives reclaim: random fork trees (up to five generations) with
 * copy-on-write at every level are swapped out completely by global
 * reclaim and read back byte for byte by every process; sharing survives
 * too (pages two processes shared come back as one frame through the swap
 * cache).  Then MADV_PAGEOUT, which as in Linux takes only pages no other
 * process maps: shared pages must stay, exclusive ones must go to swap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "lib/forktree.h"

#define PG	AVM_PAGE_SIZE
static void reclaim_tree_once(uint64_t seed)
{
	struct avm_sys *sys = test_sys(1);
	struct forktree ft;
	struct snap *before = calloc(1, sizeof(*before));
	struct snap *mid = calloc(1, sizeof(*mid));
	struct snap *after = calloc(1, sizeof(*after));
	struct avm_stats st0, st;
	unsigned long freed, frames0;

	assert_non_null(before);
	assert_non_null(mid);
	assert_non_null(after);
	ft_build(&ft, sys, seed, 2 + (int)(seed % 23), 5);
	assert_check(sys);
	ft_verify_all(&ft);
	snapshot(&ft, before);
	avm_stats(sys, &st0);
	frames0 = st0.frames_used;
	assert_true(frames0 > 0);

	freed = test_reclaim_all(sys);
	avm_stats(sys, &st);
	assert_int_equal(freed, frames0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_outs - st0.swap_outs, frames0);
	assert_int_equal(st.swap_cache_pages, 0);
	assert_int_equal(st.swap_slots_used, frames0);
	assert_check(sys);
	/* every frame PTE is a swap entry now; nothing else changed */
	snapshot(&ft, mid);
	for (int i = 0; i < ft.n; i++)
		for (int v = 0; v < ft.nv; v++)
			for (unsigned long g = 0; g < ft.pages[v]; g++) {
				struct avm_page_info *b = &before->pi[i][v][g];
				struct avm_page_info *m = &mid->pi[i][v][g];

				if (is_frame(b))
					assert_int_equal(m->state, AVM_PTE_SWAP);
				else
					assert_int_equal(m->state, b->state);
			}

	ft_verify_all(&ft);
	assert_check(sys);
	snapshot(&ft, after);
	assert_same_sharing(&ft, before, after);
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, frames0);

	/* once more, with the pages now also in the swap cache */
	test_reclaim_all(sys);
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 0);
	assert_check(sys);
	ft_verify_all(&ft);
	assert_check(sys);

	ft_exit_all(&ft, true);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
	free(before);
	free(mid);
	free(after);
}

static void test_reclaim_fork_trees(void **state)
{
	uint64_t s = test_seed("reclaim_fork_trees");

	for (int round = 0; round < 25; round++)
		reclaim_tree_once(test_rand(&s) | 1);
}

/*
 * MADV_PAGEOUT of random ranges in every process: pages this process alone
 * maps go to swap, the zero page and pages shared with another process
 * stay where they are, and nothing outside the range or in any other
 * process changes.
 */
static void pageout_tree_once(uint64_t seed)
{
	struct avm_sys *sys = test_sys(1);
	struct forktree ft;
	struct snap *before = calloc(1, sizeof(*before));
	struct snap *after = calloc(1, sizeof(*after));
	unsigned long swapped = 0, kept = 0;
	struct avm_stats st0, st;

	assert_non_null(before);
	assert_non_null(after);
	ft_build(&ft, sys, seed, 2 + (int)(seed % 23), 5);
	if (seed & 2) {
		/* start from swapped-in pages (in the swap cache) */
		while (avm_reclaim(sys, ULONG_MAX, &swapped), swapped)
			;
		ft_verify_all(&ft);
	}
	avm_stats(sys, &st0);
	for (int round = 0; round < 2 * ft.n; round++) {
		int i = (int)test_below(&ft.rng, (uint64_t)ft.n);
		int v = (int)test_below(&ft.rng, (uint64_t)ft.nv);
		unsigned long a = test_below(&ft.rng, ft.pages[v]);
		unsigned long b = a + 1 + test_below(&ft.rng, ft.pages[v] - a);

		snapshot(&ft, before);
		assert_int_equal(avm_madvise(ft.p[i].mm, ft.start[v] + a * PG,
					     (b - a) * PG, AVM_MADV_PAGEOUT), 0);
		snapshot(&ft, after);
		for (int j = 0; j < ft.n; j++)
			for (int w = 0; w < ft.nv; w++)
				for (unsigned long g = 0; g < ft.pages[w]; g++) {
					struct avm_page_info *x = &before->pi[j][w][g];
					struct avm_page_info *y = &after->pi[j][w][g];
					bool in = j == i && w == v && g >= a && g < b;

					if (in && is_frame(x) && x->mapcount == 1) {
						assert_int_equal(y->state,
								 AVM_PTE_SWAP);
						/* the only user: exclusive */
						assert_true(y->exclusive ==
							    x->exclusive);
						swapped++;
						continue;
					}
					if (in && is_frame(x))
						kept++;
					assert_int_equal(y->state, x->state);
					assert_int_equal(y->pfn, x->pfn);
					if (is_frame(x))
						assert_int_equal(y->mapcount,
								 x->mapcount);
				}
		if (round % 4 == 0)
			assert_check(sys);
	}
	avm_stats(sys, &st);
	assert_int_equal(st.swap_outs - st0.swap_outs, swapped);
	assert_check(sys);
	ft_verify_all(&ft);
	assert_check(sys);
	ft_exit_all(&ft, false);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
	free(before);
	free(after);
}

static void test_pageout_fork_trees(void **state)
{
	uint64_t s = test_seed("pageout_fork_trees");

	for (int round = 0; round < 25; round++)
		pageout_tree_once(test_rand(&s) | 1);
}

/* The Linux rule, step by step: a shared page stays, an exclusive one goes. */
static void test_pageout_shared_vs_exclusive(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p, *c;
	struct avm_page_info pi, ci;
	unsigned long base = FT_BASE;

	p = test_mm_rw(sys, base, 4 * PG);
	for (int i = 0; i < 4; i++)
		test_wr(p, base + i * PG, (unsigned char)(1 + i));
	assert_int_equal(avm_fork(p, &c), 0);
	test_wr(c, base + PG, 0x21);			/* C copies page 1 */
	ci = test_info(c, base);
	assert_int_equal(avm_madvise(p, base, 4 * PG, AVM_MADV_PAGEOUT), 0);
	for (int i = 0; i < 4; i++) {
		pi = test_info(p, base + i * PG);
		if (i == 1) {
			/* P's original of page 1 is P's alone now */
			assert_int_equal(pi.state, AVM_PTE_SWAP);
		} else {
			assert_int_equal(pi.state, AVM_PTE_PRESENT);
			assert_int_equal(pi.mapcount, 2);
		}
	}
	assert_int_equal(test_info(p, base).pfn, ci.pfn);
	assert_check(sys);
	assert_int_equal(avm_madvise(c, base, 4 * PG, AVM_MADV_PAGEOUT), 0);
	assert_int_equal(test_info(c, base + PG).state, AVM_PTE_SWAP);
	assert_int_equal(test_info(c, base).state, AVM_PTE_PRESENT);
	assert_check(sys);
	/* after C breaks COW on page 2, P's page 2 may go */
	test_wr(c, base + 2 * PG, 0x22);
	assert_int_equal(avm_madvise(p, base + 2 * PG, PG, AVM_MADV_PAGEOUT), 0);
	assert_int_equal(test_info(p, base + 2 * PG).state, AVM_PTE_SWAP);
	assert_int_equal(test_info(c, base + 2 * PG).state, AVM_PTE_PRESENT);
	assert_check(sys);
	for (int i = 0; i < 4; i++)
		assert_int_equal(test_rd(p, base + i * PG), 1 + i);
	assert_int_equal(test_rd(c, base), 1);
	assert_int_equal(test_rd(c, base + PG), 0x21);
	assert_int_equal(test_rd(c, base + 2 * PG), 0x22);
	assert_int_equal(test_rd(c, base + 3 * PG), 4);
	assert_check(sys);
	avm_exit(c);
	avm_exit(p);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/* Swap-in by reads in two processes: one frame, mapped twice, cached. */
static void test_swapin_shares_frame(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p, *c;
	struct avm_page_info pi, ci;
	struct avm_walk_stats ws = { 0 };
	struct avm_stats st;
	unsigned long base = FT_BASE, freed;

	p = test_mm_rw(sys, base, 2 * PG);
	test_wr(p, base, 0x5a);
	test_wr(p, base + PG, 0x6b);
	assert_int_equal(avm_fork(p, &c), 0);
	freed = test_reclaim_all(sys);
	assert_int_equal(freed, 2);
	pi = test_info(p, base);
	ci = test_info(c, base);
	assert_int_equal(pi.state, AVM_PTE_SWAP);
	assert_int_equal(ci.state, AVM_PTE_SWAP);
	assert_int_equal(pi.swap_slot, ci.swap_slot);
	assert_false(pi.exclusive);
	avm_stats(sys, &st);
	assert_int_equal(st.swap_slots_used, 2);
	assert_int_equal(st.frames_used, 0);
	assert_check(sys);

	assert_int_equal(test_rd(c, base), 0x5a);
	ci = test_info(c, base);
	assert_int_equal(ci.state, AVM_PTE_PRESENT);
	assert_int_equal(ci.mapcount, 1);
	assert_false(ci.writable);
	assert_false(ci.exclusive);	/* P still holds the swap entry */
	avm_stats(sys, &st);
	assert_int_equal(st.swap_cache_pages, 1);
	assert_check(sys);

	assert_int_equal(test_rd(p, base), 0x5a);
	pi = test_info(p, base);
	ci = test_info(c, base);
	assert_int_equal(pi.state, AVM_PTE_PRESENT);
	assert_int_equal(pi.pfn, ci.pfn);
	assert_int_equal(pi.mapcount, 2);
	assert_int_equal(pi.refcount, 3);	/* two PTEs + the swap cache */
	assert_false(pi.exclusive);
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 1);
	assert_int_equal(st.swap_cache_pages, 1);
	assert_int_equal(avm_rmap_walk_addr(p, base, &ws), 0);
	assert_int_equal(ws.hits, 2);
	assert_check(sys);

	/* C breaks COW: a copy; then P alone: reuse in place, cache dropped */
	test_wr(c, base, 0x11);
	assert_int_not_equal(test_info(c, base).pfn, pi.pfn);
	assert_int_equal(test_info(p, base).mapcount, 1);
	test_wr(p, base, 0x22);
	assert_int_equal(test_info(p, base).pfn, pi.pfn);
	assert_true(test_info(p, base).exclusive);
	avm_stats(sys, &st);
	assert_int_equal(st.swap_cache_pages, 0);
	assert_int_equal(st.swap_slots_used, 1);	/* page 1 */
	assert_check(sys);
	assert_int_equal(test_rd(p, base + PG), 0x6b);
	assert_int_equal(test_rd(c, base + PG), 0x6b);
	assert_int_equal(test_rd(c, base), 0x11);
	assert_int_equal(test_rd(p, base), 0x22);
	avm_exit(p);
	assert_check(sys);
	avm_exit(c);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swapin_shares_frame),
		cmocka_unit_test(test_pageout_shared_vs_exclusive),
		cmocka_unit_test(test_reclaim_fork_trees),
		cmocka_unit_test(test_pageout_fork_trees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
