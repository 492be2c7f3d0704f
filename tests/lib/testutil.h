/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs (one program per file in tests/). */
#ifndef AVM_TESTUTIL_H
#define AVM_TESTUTIL_H

#include <stdint.h>

/*
 * Seed for a randomised test: $AVM_SEED if set, else a fresh one.  Always
 * printed, so that a failure can be replayed with AVM_SEED=... .
 */
uint64_t test_seed(const char *test_name);

/* xorshift64* generator: small, fast and good enough for test input. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static inline uint64_t test_below(uint64_t *s, uint64_t n)
{
	return n ? test_rand(s) % n : 0;
}

#endif

#ifdef AVM_TEST_LIB
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "anonvm/anonvm.h"

/* The invariant checker must pass; on failure print why and fail. */
#define assert_check(sys) do {						\
	char msg__[512];						\
	int rc__ = avm_check((sys), msg__, sizeof(msg__));		\
	if (rc__) {							\
		fprintf(stderr, "%s:%d: avm_check: %s\n", __FILE__,	\
			__LINE__, msg__);				\
	}								\
	assert_int_equal(rc__, 0);					\
} while (0)

/* A system with small pools for tests; design from $AVM_DESIGN if set. */
struct avm_sys *test_sys(unsigned int nodes);
/*
 * A system of the given design (NULL: the default), whatever $AVM_DESIGN
 * says.  Asserts that it was created.
 */
struct avm_sys *test_sys_for(const char *design, unsigned int nodes,
			     unsigned long node_frames,
			     unsigned long swap_slots);
/* A new process with [addr, addr + len) mapped read-write, fixed. */
struct avm_mm *test_mm_rw(struct avm_sys *sys, unsigned long addr,
			  unsigned long len);

/* One byte at addr, asserting that the access succeeds. */
unsigned char test_rd(struct avm_mm *mm, unsigned long addr);
void test_wr(struct avm_mm *mm, unsigned long addr, unsigned char b);
/* avm_page_info() of addr, asserting that it succeeds. */
struct avm_page_info test_info(struct avm_mm *mm, unsigned long addr);
struct avm_stats test_stats(struct avm_sys *sys);
/* Page i of the n pages at addr is filled with / must hold byte + i. */
void test_fill_pages(struct avm_mm *mm, unsigned long addr, int n, int byte);
void test_expect_pages(struct avm_mm *mm, unsigned long addr, int n,
		       int byte);
/* Every byte of the page at addr is byte (else print where, and fail). */
void test_expect_page(struct avm_mm *mm, unsigned long addr, int byte);
/* Reclaim until a pass frees nothing (at most 100 passes); the total. */
unsigned long test_reclaim_all(struct avm_sys *sys);
/*
 * Does $AVM_DESIGN name a design that finds pages by address (pte-chain, cow-context, foreign-count,
 * anonmm)?  Those keep no anon_vmas or chains, allow every merge flags and
 * offsets allow, and use page->index for an address: assertions about
 * those things are the anon_vma designs' and are skipped for them.
 */
bool test_design_by_address(void);
/* anonmm: mremap copies (breaks COW on) the pages it moves that other
   processes may map, instead of moving the shared frame. */
bool test_design_copies_on_move(void);
/* The design test_sys() uses: $AVM_DESIGN, or "linux" (the default). */
const char *test_design(void);
static inline bool test_design_is(const char *name)
{
	return !strcmp(test_design(), name);
}
/*
 * anon-vma-2004: one anon_vma per fork family and no anon_vma_chains (a
 * VMA's chain_len is 1: its place on the family's list); counts of
 * anon_vmas and avcs, and chain lengths after fork, are the chain
 * designs'.  Its merge rule (equal or no anon_vma) may also merge forked
 * VMAs that Linux keeps apart.
 */
static inline bool test_design_one_list(void)
{
	return test_design_is("anon-vma-2004");
}
/*
 * Counts of anon_vmas and avcs that depend on Linux's fork reuse rule
 * (tests/cve_2022_42703.c, tests/fork_chain.c): only "linux" has them
 * (avc-2010 and avc-tree never reuse, single-descendant reuses less,
 * anon-vma-2004 has one anon_vma per family).
 */
static inline bool test_design_linux_reuse(void)
{
	return test_design_is("linux");
}
/*
 * Make the seed-2011 interleaving (migration's walk that restores the
 * entries visits mremap's destination VMA before the PTEs move there and
 * the source after they left) the likely one instead of a rare one:
 * mremap, about to move the PTEs, waits (up to 2 ms) for such a walk to
 * visit the destination; the walk then waits (up to 5 ms) at its next VMA
 * for the PTEs to have moved.  A move that takes the anon_vma lock waits
 * for the walk instead, as it must, and goes on when the walk's wait ends.
 * The state is per process: one system at a time.
 */
void test_widen_mremap_race(struct avm_sys *sys);
/* Moves so far that went ahead with a walk inside the window. */
unsigned long test_race_window_hits(void);
#endif
