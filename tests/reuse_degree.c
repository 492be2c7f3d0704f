/* SPDX-License-Identifier: MIT */
/*
 * The 2015 degree rule's double reuse (CVE-2022-42703), run on the unsafe
 * reuse-degree design and on the safe rules (linux, single-descendant):
 * the invariant checker must catch it under reuse-degree, deterministically
 * and at the step where it happens, and pass under the others at every
 * step.  (These tests pick their designs themselves: $AVM_DESIGN does not
 * matter.)
 *
 * What breaks.  degree = VMAs using an anon_vma + its child anon_vmas, and
 * fork reuses an anon_vma with degree < 2 that is not the source's own.
 * An anon_vma reused once has degree 1 (its new user) and no child, so the
 * next fork reuses it again: two VMAs now have it as their own anon_vma
 * without one being a split, copy or merge of the other.  Merging trusts
 * that VMAs with the same own anon_vma have the same chain (so it may keep
 * either chain); when one fork reuses the anon_vma for two VMAs whose
 * chains differ, a merge keeps one chain, and the pages of the other VMA
 * that name an anon_vma only it was linked to are stranded: their rmap
 * walk misses the mapping (page->mapping dangles once that anon_vma goes:
 * the use after free).
 *
 * What the checker says.  The chain designs' checker (src/rmap/anon_vma.c,
 * check_own_users) asserts the merge assumption for any reuse rule: an
 * anon_vma is the own anon_vma of VMAs of one process only, and those
 * VMAs have the same chain.  The design-independent checker asserts that
 * the rmap walk from every mapped page finds that mapping.
 *
 *  - test_section3: reference section 3's sequence.  C3 forks C5 and
 *    reuses A2, C4's own: "own anon_vma of VMAs in two processes".
 *  - test_merge: the same mistake inside one fork, for two VMAs with
 *    different chains; the checker reports the differing chains; after
 *    the merge, the walk check reports the stranded page.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define A	0x100000000000UL
#define PG	AVM_PAGE_SIZE
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)

static struct avm_sys *sys_for(const char *design)
{
	return test_sys_for(design, 1, 1UL << 14, 0);
}

static bool unsafe(const char *design)
{
	return !strcmp(design, "reuse-degree");
}

/* The checker passes. */
static void green(struct avm_sys *sys, const char *design, const char *step)
{
	char msg[512];
	int rc = avm_check(sys, msg, sizeof(msg));

	if (rc)
		fprintf(stderr, "%s, %s: avm_check: %s\n", design, step, msg);
	assert_int_equal(rc, 0);
}

/* The checker fails, saying what. */
static void red(struct avm_sys *sys, const char *design, const char *step,
		const char *says)
{
	char msg[512];
	int rc = avm_check(sys, msg, sizeof(msg));

	printf("%s, %s: avm_check: %s\n", design, step, rc ? msg : "passes");
	assert_int_equal(rc, -EUCLEAN);
	if (!strstr(msg, says)) {
		fprintf(stderr, "expected a message with '%s'\n", says);
		fail();
	}
}

static void fill(struct avm_mm *mm, long page, int byte)
{
	assert_int_equal(avm_fill(mm, A + (unsigned long)page * PG, byte, PG), 0);
}

static int rd(struct avm_mm *mm, long page)
{
	return test_rd(mm, A + (unsigned long)page * PG);
}

static long nvmas(struct avm_mm *mm)
{
	struct avm_vma_info v[8];

	return avm_vmas(mm, v, 8);
}

/* ---- reference section 3 ------------------------------------------------- */

static void section3(const char *design)
{
	struct avm_sys *sys = sys_for(design);
	struct avm_mm *P, *C1, *C2, *C3, *C4, *C5;
	struct avm_stats st;

	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 4 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 4; i++)
		fill(P, i, 0x40 + i);			/* root R */
	green(sys, design, "P faults");
	assert_int_equal(avm_fork(P, &C1), 0);		/* A1 */
	green(sys, design, "P forks C1");
	assert_int_equal(avm_fork(C1, &C2), 0);		/* A2 */
	green(sys, design, "C1 forks C2");
	avm_exit(C1);					/* A1: degree 1 */
	green(sys, design, "C1 exits");
	assert_int_equal(avm_fork(C2, &C3), 0);		/* reuses A1 */
	green(sys, design, "C2 forks C3");
	avm_exit(C2);					/* A2: degree 0 */
	green(sys, design, "C2 exits");
	assert_int_equal(avm_fork(C3, &C4), 0);		/* reuses A2 */
	green(sys, design, "C3 forks C4");
	assert_int_equal(avm_fork(C3, &C5), 0);		/* A2 again? */
	avm_stats(sys, &st);
	if (unsafe(design)) {
		assert_int_equal(st.anon_vmas, 3);	/* no new one: reused */
		red(sys, design, "C3 forks C5",
		    "is the own anon_vma of VMAs in two processes");
	} else {
		green(sys, design, "C3 forks C5");
	}
	/* writes in both reusers: their new pages name the shared A2 */
	fill(C4, 0, 0x50);
	fill(C5, 1, 0x51);
	assert_int_equal(rd(C4, 0), 0x50);
	assert_int_equal(rd(C4, 1), 0x41);
	assert_int_equal(rd(C5, 0), 0x40);
	assert_int_equal(rd(C5, 1), 0x51);
	if (!unsafe(design)) {
		green(sys, design, "writes");
		avm_exit(P);
		green(sys, design, "P exits");
		avm_exit(C3);
		green(sys, design, "C3 exits");
		avm_exit(C4);
		green(sys, design, "C4 exits");
	}
	avm_sys_destroy(sys);
}

static void test_section3(void **state)
{
	section3("reuse-degree");
	section3("linux");
	section3("single-descendant");
}

/* ---- the double reuse inside one fork, then a merge ------------------------ */

/*
 *  P: VMA of 8 pages, written (R).  P forks C1 (A1); C1 forks C2 (A2);
 *  C1 exits (A1: no VMA, child A2).  C2 forks C3: C3 reuses A1.
 *  C2 and C3 each make pages 4..7 read-only: two VMAs each, X and Y
 *  (C2's are both A2's users: A2 has degree 2 now).
 *  C3 forks D: A2 (degree 2) is not reused: X_D gets Ax, Y_D gets Ay
 *  (both children of A1, C3's own).  D writes page 1: a page naming Ax.
 *  C2 exits: A2 has no VMA and no child (degree 0).
 *  D forks E: X_E reuses A2 (degree 1 now), and under the degree rule so
 *  does Y_E.  E's X_E (chain R A1 A2 Ax) and Y_E (chain R A1 A2 Ay) share
 *  their own anon_vma.  Linux: Y_E gets a new anon_vma (A2 is in use);
 *  single-descendant: neither reuses A2 (no child).
 *  E makes pages 0..3 read-only: X_E now matches Y_E; with equal own
 *  anon_vmas they merge into Y_E, chain R A1 A2 Ay: E's page 1, naming Ax,
 *  is in a VMA not linked to Ax.
 */
static void merge(const char *design)
{
	struct avm_sys *sys = sys_for(design);
	struct avm_mm *P, *C1, *C2, *C3, *D, *E;

	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 8 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 8; i++)
		fill(P, i, 0x60 + i);
	assert_int_equal(avm_fork(P, &C1), 0);
	assert_int_equal(avm_fork(C1, &C2), 0);
	avm_exit(C1);
	assert_int_equal(avm_fork(C2, &C3), 0);
	green(sys, design, "C2 forks C3");
	assert_int_equal(avm_mprotect(C2, A + 4 * PG, 4 * PG, AVM_PROT_READ), 0);
	assert_int_equal(avm_mprotect(C3, A + 4 * PG, 4 * PG, AVM_PROT_READ), 0);
	assert_int_equal(nvmas(C3), 2);
	green(sys, design, "C2, C3 split");
	assert_int_equal(avm_fork(C3, &D), 0);
	fill(D, 1, 0x71);
	green(sys, design, "C3 forks D, D writes");
	avm_exit(C2);
	green(sys, design, "C2 exits");
	assert_int_equal(avm_fork(D, &E), 0);
	if (unsafe(design))
		red(sys, design, "D forks E", "but their chains differ");
	else
		green(sys, design, "D forks E");
	assert_int_equal(avm_mprotect(E, A, 4 * PG, AVM_PROT_READ), 0);
	assert_int_equal(rd(E, 1), 0x71);
	assert_int_equal(rd(E, 5), 0x65);
	if (unsafe(design)) {
		/* merged: the design-independent walk check fires first */
		assert_int_equal(nvmas(E), 1);
		red(sys, design, "E merges", "does not find this mapping");
		/* stop here: D's exit would free Ax under E's page */
		avm_sys_destroy(sys);
		return;
	}
	assert_int_equal(nvmas(E), 2);		/* different anon_vmas */
	green(sys, design, "E mprotect");
	avm_exit(D);
	green(sys, design, "D exits");
	assert_int_equal(rd(E, 1), 0x71);
	avm_exit(P);
	avm_exit(C3);
	green(sys, design, "P, C3 exit");
	avm_exit(E);
	green(sys, design, "E exits");
	avm_sys_destroy(sys);
}

static void test_merge(void **state)
{
	merge("reuse-degree");
	merge("linux");
	merge("single-descendant");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_section3),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
