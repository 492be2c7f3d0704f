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
 *    every walk, and so the walk check, cost N by design.
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

/* Checker steps on a family of n children. */
static unsigned long family_steps(const char *design, unsigned long n,
				  bool copy)
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
		if (copy)
			test_fill_pages(child, A, PAGES, 0x20);
	}
	rc = check_system(sys, msg, sizeof(msg), &steps);
	if (rc)
		fprintf(stderr, "%s: avm_check: %s\n", design, msg);
	assert_int_equal(rc, 0);
	avm_sys_destroy(sys);
	return steps;
}

static void linear(bool copy)
{
	for (const char *const *d = avm_designs(); *d; d++) {
		unsigned long s, l;

		if (copy && walk_visits_family(*d))
			continue;
		s = family_steps(*d, SMALL, copy);
		l = family_steps(*d, LARGE, copy);
		printf("%-18s %s: %lu steps at %d children, %lu at %d (x%.2f)\n",
		       *d, copy ? "copied" : "shared", s, SMALL, l, LARGE,
		       (double)l / (double)s);
		/* 8x the input: n log n (tree climbs) stays under 12x,
		   n * n would be 64x */
		assert_true(l <= 12 * s);
	}
}

static void test_shared(void **state)
{
	linear(false);
}

static void test_copied(void **state)
{
	linear(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_copied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
