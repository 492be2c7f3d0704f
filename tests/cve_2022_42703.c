/* SPDX-License-Identifier: MIT */
/*
 * CVE-2022-42703 (reference section 3): with the 2015 "degree" rule an
 * anon_vma could be reused by fork twice, becoming the own anon_vma of two
 * VMAs in two processes with different chains; a later merge then left
 * pages pointing at an anon_vma their VMA was not linked to (use after
 * free).  Linux's 2022 rule (reuse only if no VMA uses it and it has fewer
 * than two children) allows the first reuse but not the second.
 *
 * Sequence: P faults (root R); P forks C1 (A1); C1 forks C2 (A2); C1 exits;
 * C2 forks C3 (reuses A1); C2 exits; C3 forks C4 (reuses A2); C3 forks C5
 * (A2 is in use: a new anon_vma).  Then writes, splits, merges, moves and
 * exits; the checker and an independent rmap count stay green throughout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x400000000000UL
#define PG	AVM_PAGE_SIZE
#define NP	8
#define A(p)	(BASE + (unsigned long)(p) * PG)
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)

static struct avm_mm *live[8];
static int nlive;

static void add(struct avm_mm *mm)
{
	live[nlive++] = mm;
}

static void reap(struct avm_mm *mm)
{
	for (int i = 0; i < nlive; i++)
		if (live[i] == mm) {
			live[i] = live[--nlive];
			avm_exit(mm);
			return;
		}
	fail();
}

/* anon_vma counts and chains: those of Linux's reuse rule (the other
   designs run the same steps under the checker; tests/designs.c and
   tests/reuse_degree.c have their counts) */
#define EXPECT_AV(got, want) do {					\
	if (test_design_linux_reuse())					\
		assert_int_equal(got, want);				\
} while (0)

static unsigned long anon_vmas(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st.anon_vmas;
}

/* chain_len of the VMA covering page 0 of mm */
static unsigned int chain(struct avm_mm *mm)
{
	struct avm_vma_info v[8];
	long n = avm_vmas(mm, v, 8);

	for (long i = 0; i < n && i < 8; i++)
		if (v[i].start <= A(0) && A(0) < v[i].end)
			return v[i].chain_len;
	return 0;
}

/* Checker, plus: a walk from every mapped frame finds every mapping. */
static void green(struct avm_sys *sys)
{
	struct avm_walk_stats ws = { 0 };
	unsigned long maps = 0;

	assert_check(sys);
	for (int i = 0; i < nlive; i++)
		for (long p = -NP; p < 2 * NP; p++) {
			struct avm_page_info pi;

			if (avm_page_info(live[i], A(p), &pi) == 0 &&
			    pi.state == AVM_PTE_PRESENT && !pi.zero)
				maps++;
		}
	assert_int_equal(avm_rmap_walk_all(sys, &ws), 0);
	assert_int_equal(ws.hits, maps);
}

static void wr(struct avm_mm *mm, long p, unsigned char b)
{
	test_wr(mm, A(p), b);
}

static unsigned char rd(struct avm_mm *mm, long p)
{
	return test_rd(mm, A(p));
}

static void test_double_reuse(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *P, *C1, *C2, *C3, *C4, *C5;
	unsigned long got;

	nlive = 0;
	assert_int_equal(avm_mm_create(sys, &P), 0);
	add(P);
	assert_int_equal(avm_mmap(P, A(0), NP * PG, RW, AVM_MAP_FIXED, NULL), 0);
	for (long p = 0; p < NP; p++)
		wr(P, p, (unsigned char)(1 + p));
	EXPECT_AV(anon_vmas(sys), 1);			/* R */
	assert_int_equal(avm_fork(P, &C1), 0);
	add(C1);
	EXPECT_AV(anon_vmas(sys), 2);			/* + A1 */
	assert_int_equal(avm_fork(C1, &C2), 0);
	add(C2);
	EXPECT_AV(anon_vmas(sys), 3);			/* + A2 */
	EXPECT_AV(chain(C2), 3);
	green(sys);
	reap(C1);		/* A1: no VMA, one child (A2) */
	EXPECT_AV(anon_vmas(sys), 3);
	assert_int_equal(avm_fork(C2, &C3), 0);
	add(C3);
	EXPECT_AV(anon_vmas(sys), 3);			/* reused A1 */
	EXPECT_AV(chain(C3), 3);
	green(sys);
	reap(C2);		/* A2: no VMA, no child */
	EXPECT_AV(anon_vmas(sys), 3);
	assert_int_equal(avm_fork(C3, &C4), 0);
	add(C4);
	EXPECT_AV(anon_vmas(sys), 3);			/* reused A2 */
	EXPECT_AV(chain(C4), 3);
	green(sys);
	/* The second reuse of A2 would happen here under the 2015 rule. */
	assert_int_equal(avm_fork(C3, &C5), 0);
	add(C5);
	EXPECT_AV(anon_vmas(sys), 4);			/* new A5 */
	EXPECT_AV(chain(C5), 4);
	green(sys);

	/* Now the steps that turned a double reuse into a dangling
	   page->mapping: COW writes in the reusers, splits and merges, moves,
	   exits in every order. */
	wr(C4, 0, 40);
	wr(C5, 0, 50);
	wr(C5, 1, 51);
	wr(C3, 2, 32);
	green(sys);
	assert_int_equal(avm_mprotect(C5, A(1), 2 * PG, AVM_PROT_READ), 0);
	assert_int_equal(avm_mprotect(C4, A(1), 2 * PG, AVM_PROT_READ), 0);
	green(sys);
	assert_int_equal(avm_mprotect(C5, A(1), 2 * PG, RW), 0);
	assert_int_equal(avm_mprotect(C4, A(1), 2 * PG, RW), 0);
	EXPECT_AV(chain(C4), 3);
	EXPECT_AV(chain(C5), 4);
	green(sys);
	/* a new neighbour and a move back and forth in the reusers */
	assert_int_equal(avm_mmap(C4, A(NP), PG, RW, AVM_MAP_FIXED, NULL), 0);
	wr(C4, NP, 44);
	assert_int_equal(avm_mremap(C5, A(4), 4 * PG, 4 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
				    A(-NP), &got), 0);
	wr(C5, -NP, 54);
	green(sys);
	assert_int_equal(avm_mremap(C5, A(-NP), 4 * PG, 4 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
				    A(4), &got), 0);
	green(sys);
	reap(P);
	green(sys);
	assert_int_equal(avm_fork(C4, &C1), 0);		/* grandchildren */
	add(C1);
	wr(C1, 3, 13);
	green(sys);
	reap(C3);
	green(sys);
	wr(C4, 5, 45);
	wr(C5, 5, 55);
	reap(C4);
	green(sys);
	assert_int_equal(rd(C5, 0), 50);
	assert_int_equal(rd(C5, 1), 51);
	assert_int_equal(rd(C5, 2), 3);
	assert_int_equal(rd(C5, 4), 54);
	assert_int_equal(rd(C5, 5), 55);
	assert_int_equal(rd(C5, 7), 8);
	assert_int_equal(rd(C1, 0), 40);
	assert_int_equal(rd(C1, 3), 13);
	assert_int_equal(rd(C1, 6), 7);
	reap(C5);
	green(sys);
	reap(C1);
	EXPECT_AV(anon_vmas(sys), 0);
	assert_check(sys);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
