/* SPDX-License-Identifier: MIT */
/*
 * The contention workload (src/workload/contention.c), tiny: walker and
 * fork/fault/exit threads on one forking-server family, on every safe
 * design, with the checker on afterwards and nothing left alive.  No
 * timing is asserted; what must hold exactly is counted:
 *  - walks and forks both happened, and the family lock was taken;
 *  - walkers walk whole passes over the family's frames (passes = 1), so
 *    the VMAs visited per walk have exact bounds: one list per family
 *    (anon-vma-2004) visits all N + 1 server VMAs on every walk, plus at
 *    most F children being forked; anon_vma chains (linux) visit N + 1
 *    (+ at most F) on the parent's frames and 1 on each child's, a mean
 *    between (2N + 1) / (N + 1) and (2N + 1 + F) / (N + 1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "workload/workload.h"

#define F	1UL		/* forker threads */
#define EPS	1e-6		/* the means are quotients of counts */

static void run(const char *design, unsigned long n, struct wl_result *res)
{
	const struct workload *w = wl_find("contention");
	struct wl_opts o = { .design = design, .payload = AVM_PAYLOAD_NONE,
			     .check = true };
	unsigned long param[WL_MAX_PARAMS];
	int err;

	assert_non_null(w);
	wl_defaults(w, param);
	param[wl_param_index(w, "children")] = n;
	param[wl_param_index(w, "pages")] = 8;
	param[wl_param_index(w, "walkers")] = 1;
	param[wl_param_index(w, "forkers")] = F;
	param[wl_param_index(w, "ms")] = 50;
	param[wl_param_index(w, "passes")] = 1;
	err = wl_run_cell(w, param, &o, res);
	if (err)
		fprintf(stderr, "contention on %s: %s\n", design, res->error);
	assert_int_equal(err, 0);
	assert_true(res->all_walked);
	assert_true(res->m[WL_WALKS] >= (double)((n + 1) * 8));
	assert_true(res->m[WL_FORKS] > 0);
	assert_true(res->m[WL_HITS] >= 1.0 - EPS);
	wl_result_free(res);
}

/* Every safe design survives walkers racing fork/fault/exit, checked. */
static void test_every_design(void **state)
{
	struct wl_result res;

	for (const char *const *d = avm_designs(); *d; d++)
		if (!avm_design_unsafe(*d))
			run(*d, 20, &res);
}

static void test_visits_per_walk(void **state)
{
	const unsigned long n = 200;
	struct wl_result res;

	run("anon-vma-2004", n, &res);
	printf("anon-vma-2004, N = %lu: %.3f VMAs per walk\n", n,
	       res.m[WL_VISITS]);
	assert_true(res.m[WL_VISITS] >= (double)(n + 1) - EPS);
	assert_true(res.m[WL_VISITS] <= (double)(n + 1 + F) + EPS);

	run("linux", n, &res);
	printf("linux, N = %lu: %.3f VMAs per walk\n", n, res.m[WL_VISITS]);
	assert_true(res.m[WL_VISITS] * (double)(n + 1) >=
		    (double)(2 * n + 1) - EPS);
	assert_true(res.m[WL_VISITS] * (double)(n + 1) <=
		    (double)(2 * n + 1 + F) + EPS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_design),
		cmocka_unit_test(test_visits_per_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
