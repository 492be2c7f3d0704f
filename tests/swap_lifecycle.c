/* SPDX-License-Identifier: MIT */
/*
 * Swap entries and swap-cached / migrated pages through the address-space
 * operations: fork (entries are duplicated: the slot count goes up),
 * munmap, mremap (swapped pages move, then read), MADV_DONTNEED and exit.
 * Nothing may leak: once every process is gone, swap_slots_used,
 * swap_cache_pages and frames_used are back to 0 (and the checker counts
 * slots and cached frames after every step).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "lib/forktree.h"

#define BASE	0x100000000000UL
#define PG	AVM_PAGE_SIZE
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)

/* Fork duplicates swap entries: one slot, two users, until both go. */
static void test_fork_duplicates_entries(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, 8 * PG), *c, *g;

	test_fill_pages(p, BASE, 8, 0x10);
	assert_int_equal(avm_madvise(p, BASE, 8 * PG, AVM_MADV_PAGEOUT), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	assert_int_equal(test_stats(sys).frames_used, 0);
	assert_true(test_info(p, BASE).exclusive);
	assert_int_equal(avm_fork(p, &c), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	for (int i = 0; i < 8; i++) {
		struct avm_page_info a = test_info(p, BASE + i * PG);
		struct avm_page_info b = test_info(c, BASE + i * PG);

		assert_int_equal(a.state, AVM_PTE_SWAP);
		assert_int_equal(b.state, AVM_PTE_SWAP);
		assert_int_equal(a.swap_slot, b.swap_slot);
		assert_false(a.exclusive);	/* two users now */
		assert_false(b.exclusive);
	}
	assert_check(sys);		/* counts each slot's users: 2 */
	assert_int_equal(avm_fork(c, &g), 0);	/* 3 users */
	assert_check(sys);
	/* one user leaves: the slots stay */
	avm_exit(c);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	assert_check(sys);
	test_expect_pages(g, BASE, 8, 0x10);
	assert_int_equal(test_stats(sys).swap_cache_pages, 8);
	assert_check(sys);
	/* G alone maps them; P still holds the entries */
	avm_exit(g);
	assert_int_equal(test_stats(sys).swap_cache_pages, 8);
	assert_int_equal(test_stats(sys).frames_used, 8);	/* cached for P */
	assert_check(sys);
	test_expect_pages(p, BASE, 8, 0x10);
	assert_check(sys);
	avm_exit(p);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/* The last swap user goes while the page is only in the swap cache. */
static void test_last_entry_frees_cached_page(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, 4 * PG), *c, *q;

	test_fill_pages(p, BASE, 4, 0x20);
	assert_int_equal(avm_fork(p, &c), 0);
	test_reclaim_all(sys);
	assert_int_equal(test_stats(sys).swap_slots_used, 4);
	test_expect_pages(c, BASE, 4, 0x20);		/* cached, P holds entries */
	avm_exit(c);
	assert_int_equal(test_stats(sys).swap_cache_pages, 4);
	assert_int_equal(test_stats(sys).swap_slots_used, 4);
	assert_check(sys);
	/* P's entries go: the slots and the cached frames with them */
	assert_int_equal(avm_munmap(p, BASE, 2 * PG), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 2);
	assert_int_equal(test_stats(sys).swap_cache_pages, 2);
	assert_check(sys);
	avm_exit(p);
	assert_all_freed(sys);
	/* freed slots are handed out again, each once */
	q = test_mm_rw(sys, BASE, 8 * PG);
	test_fill_pages(q, BASE, 8, 0x60);
	assert_int_equal(avm_madvise(q, BASE, 8 * PG, AVM_MADV_PAGEOUT), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < i; j++)
			assert_int_not_equal(test_info(q, BASE + i * PG).swap_slot,
					     test_info(q, BASE + j * PG).swap_slot);
	assert_check(sys);
	test_expect_pages(q, BASE, 8, 0x60);
	avm_exit(q);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

static void test_munmap_and_dontneed(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, 8 * PG), *c;
	unsigned char z[PG];

	test_fill_pages(p, BASE, 8, 0x30);
	assert_int_equal(avm_fork(p, &c), 0);
	test_reclaim_all(sys);
	test_expect_pages(c, BASE + 4 * PG, 2, 0x34);	/* two cached + mapped */
	assert_check(sys);
	/* DONTNEED in the child: its entries and mappings go, P's stay */
	assert_int_equal(avm_madvise(c, BASE, 8 * PG, AVM_MADV_DONTNEED), 0);
	assert_check(sys);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(test_info(c, BASE + i * PG).state, AVM_PTE_NONE);
	assert_int_equal(avm_read(c, BASE, z, PG), 0);
	for (size_t k = 0; k < PG; k++)
		assert_int_equal(z[k], 0);
	/* munmap a middle piece of P: splits, frees those entries */
	assert_int_equal(avm_munmap(p, BASE + 2 * PG, 3 * PG), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 5);
	assert_check(sys);
	/* DONTNEED of P's swapped (and one cached) pages */
	assert_int_equal(avm_madvise(p, BASE + 5 * PG, 3 * PG,
				     AVM_MADV_DONTNEED), 0);
	assert_int_equal(test_stats(sys).swap_slots_used, 2);
	assert_int_equal(test_stats(sys).swap_cache_pages, 0);
	assert_check(sys);
	test_expect_pages(p, BASE, 2, 0x30);
	assert_check(sys);
	avm_exit(c);
	avm_exit(p);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/* mremap moves swap entries with the PTEs; reads after the move. */
static void test_mremap_swapped(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p = test_mm_rw(sys, BASE, 8 * PG), *c;
	unsigned long to = BASE + 0x10000000UL, got;

	test_fill_pages(p, BASE, 8, 0x40);
	assert_int_equal(avm_madvise(p, BASE, 8 * PG, AVM_MADV_PAGEOUT), 0);
	/* move the whole thing */
	assert_int_equal(avm_mremap(p, BASE, 8 * PG, 8 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, to,
				    &got), 0);
	assert_int_equal(got, to);
	assert_int_equal(test_info(p, to).state, AVM_PTE_SWAP);
	assert_true(test_info(p, to).exclusive);
	assert_int_equal(test_stats(sys).swap_slots_used, 8);
	assert_check(sys);
	test_expect_pages(p, to, 4, 0x40);
	assert_check(sys);
	/* fork: the child shares entries and cached pages; the parent moves
	   a middle piece (mixed swapped and present) back */
	assert_int_equal(avm_fork(p, &c), 0);
	test_reclaim_all(sys);
	test_expect_page(p, to + 3 * PG, 0x43);	/* cached, mapped twice */
	test_expect_page(c, to + 3 * PG, 0x43);
	assert_int_equal(test_info(c, to + 3 * PG).mapcount, 2);
	assert_int_equal(avm_mremap(p, to + 2 * PG, 4 * PG, 4 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
				    BASE + 2 * PG, &got), 0);
	assert_check(sys);
	if (test_design_copies_on_move())	/* the parent got a copy */
		assert_int_not_equal(test_info(p, BASE + 3 * PG).pfn,
				     test_info(c, to + 3 * PG).pfn);
	else
		assert_int_equal(test_info(p, BASE + 3 * PG).pfn,
				 test_info(c, to + 3 * PG).pfn);
	test_expect_pages(c, to, 8, 0x40);
	test_expect_pages(p, BASE + 2 * PG, 4, 0x42);
	test_expect_pages(p, to, 2, 0x40);
	test_expect_pages(p, to + 6 * PG, 2, 0x46);
	assert_check(sys);
	/* grow in place and by moving, with swap entries inside */
	test_reclaim_all(sys);
	assert_int_equal(avm_mremap(c, to, 8 * PG, 16 * PG, AVM_MREMAP_MAYMOVE,
				    0, &got), 0);
	assert_check(sys);
	test_expect_pages(c, got, 8, 0x40);
	test_expect_pages(p, BASE + 2 * PG, 4, 0x42);
	assert_check(sys);
	avm_exit(p);
	assert_check(sys);
	test_expect_pages(c, got, 8, 0x40);
	avm_exit(c);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/* Migrated pages (in and out of the swap cache) across fork and exit. */
static void test_migrated_across_fork(void **state)
{
	struct avm_sys *sys = test_sys(2);
	struct avm_mm *p = test_mm_rw(sys, BASE, 6 * PG), *c, *g;
	unsigned long moved;

	test_fill_pages(p, BASE, 6, 0x50);
	assert_int_equal(avm_migrate(p, BASE, 6 * PG, 1, &moved), 0);
	assert_int_equal(moved, 6);
	assert_int_equal(avm_fork(p, &c), 0);
	assert_int_equal(test_info(c, BASE).node, 1);
	/* swap out, the child brings pages back and migrates them home */
	test_reclaim_all(sys);
	test_expect_pages(c, BASE, 6, 0x50);		/* swap-in allocates on 0 */
	assert_int_equal(test_info(c, BASE).node, 0);
	assert_int_equal(avm_migrate(c, BASE, 6 * PG, 1, &moved), 0);
	assert_int_equal(moved, 6);
	assert_int_equal(test_stats(sys).swap_cache_pages, 6);
	assert_check(sys);
	/* a grandchild inherits present pages and P's swap entries stay */
	assert_int_equal(avm_fork(c, &g), 0);
	assert_check(sys);
	test_expect_pages(p, BASE, 3, 0x50);		/* from the cache: node 1 */
	assert_int_equal(test_info(p, BASE).node, 1);
	assert_int_equal(test_info(p, BASE).mapcount, 3);
	assert_int_equal(test_info(p, BASE).pfn, test_info(g, BASE).pfn);
	assert_int_equal(avm_migrate(g, BASE, 6 * PG, 0, &moved), 0);
	assert_int_equal(moved, 6);
	assert_int_equal(test_info(p, BASE).node, 0);
	assert_int_equal(test_info(p, BASE).pfn, test_info(c, BASE).pfn);
	assert_check(sys);
	avm_exit(c);
	assert_check(sys);
	test_expect_pages(g, BASE, 6, 0x50);
	avm_exit(g);
	assert_check(sys);
	test_expect_pages(p, BASE, 6, 0x50);
	avm_exit(p);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/* Random mixes of all of it, checked after every step. */
static void test_random_lifecycle(void **state)
{
	uint64_t seed = test_seed("swap_lifecycle_random");

	for (int round = 0; round < 10; round++) {
		struct avm_sys *sys = test_sys(2);
		struct forktree ft;
		uint64_t s = test_rand(&seed) | 1;

		ft_build(&ft, sys, s, 2 + (int)(s % 14), 4);
		for (int step = 0; step < 60; step++) {
			int i = (int)test_below(&ft.rng, (uint64_t)ft.n);
			int v = (int)test_below(&ft.rng, (uint64_t)ft.nv);
			struct ft_proc *pr = &ft.p[i];
			unsigned long a, b, n;

			if (!pr->mm)
				continue;
			a = test_below(&ft.rng, ft.pages[v]);
			b = a + 1 + test_below(&ft.rng, ft.pages[v] - a);
			switch (test_below(&ft.rng, 8)) {
			case 0:
				assert_int_equal(avm_reclaim(sys, 1 + test_below(&ft.rng, 20), &n), 0);
				break;
			case 1:
				assert_int_equal(avm_madvise(pr->mm, ft.start[v] + a * PG,
						(b - a) * PG, AVM_MADV_PAGEOUT), 0);
				break;
			case 2:
				assert_int_equal(avm_migrate(pr->mm, ft.start[v] + a * PG,
						(b - a) * PG, (unsigned)(step & 1), NULL), 0);
				break;
			case 3:
				assert_int_equal(avm_madvise(pr->mm, ft.start[v] + a * PG,
						(b - a) * PG, AVM_MADV_DONTNEED), 0);
				memset(pr->data[v] + a * PG, 0, (b - a) * PG);
				break;
			case 4:
				if (ft.n < FT_MAXP && pr->depth < 6)
					ft_fork(&ft, i);
				break;
			case 5:
				ft_write(&ft, i);
				break;
			case 6:
				ft_verify(&ft, i);
				break;
			case 7:
				if (test_below(&ft.rng, 3) == 0)
					ft_exit(&ft, i);
				break;
			}
			assert_check(sys);
		}
		ft_verify_all(&ft);
		assert_check(sys);
		ft_exit_all(&ft, true);
		assert_all_freed(sys);
		avm_sys_destroy(sys);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_duplicates_entries),
		cmocka_unit_test(test_last_entry_frees_cached_page),
		cmocka_unit_test(test_munmap_and_dontneed),
		cmocka_unit_test(test_mremap_swapped),
		cmocka_unit_test(test_migrated_across_fork),
		cmocka_unit_test(test_random_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
