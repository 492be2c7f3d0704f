/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker is linear in what it checks: on one fork family
 * (a parent with M pages and N children), eight times the children must
 * cost the checker about eight times the steps (objects and links it
 * visits: check_system's count; a little more for the O(log n) climbs to
 * a tree's root), not 64 times.  Operation counts, not
 * time.  Two families, for every design:
 *  - shared: the children only fork, so each of the M frames is mapped
 *    N + 1 times (a walk per PTE would be quadratic);
 *  - copied: every child writes every page, so the root anon_vma links
 *    N + 1 VMAs over the same range (an overlap query per link would be
 *    quadratic).  Only for designs whose walk visits what maps the page:
 *    a list of the whole family (anon-vma-2004, avc-2010, anonmm) makes
 *    every walk, and so the walk check, cost N by design;
 *  - chain: each child forks the next (a fork chain N deep, nothing
 *    written), where the input itself is not linear in N (a VMA's chain
 *    links every ancestor's anon_vma: N * N / 2 avcs): steps per unit of
 *    input (objects, links, mapped PTEs) must stay about flat, where a
 *    climb of the fork tree per PTE (cow-context's "page names an
 *    ancestor of the mm's context") would make them grow by N.
 * Every design's own check counts its steps too (src/rmap/), so a
 * quadratic loop in any of them fails this test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "mm/check.h"

#define A	0x100000000000UL
#define PG	AVM_PAGE_SIZE
#define PAGES	4
#define SMALL	100
#define LARGE	800

static bool walk_visits_family(const char *design)
{
	return !strcmp(design, "anon-vma-2004") || !strcmp(design, "avc-2010") ||
	       !strcmp(design, "anonmm");
}

enum shape { SHARED, COPIED, CHAIN };

static const char *const shape_name[] = { "shared", "copied", "chain" };

/* What the checker has to look at: live objects, links, mapped PTEs. */
static unsigned long input_size(struct avm_sys *sys, unsigned long ptes)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st.mms + st.vmas + st.anon_vmas + st.avcs + st.rmap_objects +
	       st.frames_used + st.page_tables + ptes;
}

/* Checker steps on a family of n children; its input size in *input. */
static unsigned long family_steps(const char *design, unsigned long n,
				  enum shape shape, unsigned long *input)
{
	struct avm_sys *sys = test_sys_for(design, 1, 4 * (n + 1) * PAGES + 64,
					   0);
	struct avm_mm *parent = test_mm_rw(sys, A, PAGES * PG), *child;
	unsigned long steps = 0;
	char msg[512];
	int rc;

	test_fill_pages(parent, A, PAGES, 0x10);
	for (unsigned long i = 0; i < n; i++) {
		assert_int_equal(avm_fork(parent, &child), 0);
		if (shape == COPIED)
			test_fill_pages(child, A, PAGES, 0x20);
		if (shape == CHAIN)
			parent = child;
	}
	rc = check_system(sys, msg, sizeof(msg), &steps);
	if (rc)
		fprintf(stderr, "%s: avm_check: %s\n", design, msg);
	assert_int_equal(rc, 0);
	*input = input_size(sys, (n + 1) * PAGES);
	avm_sys_destroy(sys);
	return steps;
}

static void linear(enum shape shape)
{
	for (const char *const *d = avm_designs(); *d; d++) {
		unsigned long s, l, in_s, in_l;
		double per_s, per_l;

		if (shape == COPIED && walk_visits_family(*d))
			continue;
		s = family_steps(*d, SMALL, shape, &in_s);
		l = family_steps(*d, LARGE, shape, &in_l);
		per_s = (double)s / (double)in_s;
		per_l = (double)l / (double)in_l;
		printf("%-18s %s: %lu steps at %d children, %lu at %d (x%.2f); "
		       "per unit of input %.2f, %.2f (x%.2f)\n", *d,
		       shape_name[shape], s, SMALL, l, LARGE,
		       (double)l / (double)s, per_s, per_l, per_l / per_s);
		/* 8x the children: n log n (tree climbs) stays under 12x,
		   n * n would be 64x */
		if (shape != CHAIN)
			assert_true(l <= 12 * s);
		/* per unit of input: a red-black tree's depth (climbs to
		   its root) grows about 1.6x from 100 to 800 nodes, a climb
		   of the fork chain per PTE 8x */
		assert_true(per_l <= 2 * per_s);
	}
}

static void test_shared(void **state)
{
	linear(SHARED);
}

static void test_copied(void **state)
{
	linear(COPIED);
}

static void test_chain(void **state)
{
	linear(CHAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_copied),
		cmocka_unit_test(test_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
