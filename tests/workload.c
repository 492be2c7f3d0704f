/* SPDX-License-Identifier: MIT */
/*
 * The workload module (src/workload/): every workload runs on every design
 * at a small size with the checker on and nothing left alive, and the
 * numbers the seeds predict come out exactly:
 *  - forking-server, N children x M pages, on the chain designs: N + 1
 *    anon_vmas, 2N + 1 avcs, (2N + 1) / (N + 1) VMAs visited per walk
 *    (each child's frames 1 visit, the parent's N + 1), 1 hit; one list
 *    per family (anon-vma-2004): N + 1 visits for every frame;
 *  - fork-chain, G generations: no reuse (avc-2010) leaves G + 1
 *    anon_vmas, linux 3 (2 VMAs live); the series sampled along the way
 *    ends at generation G with the final count;
 *  - mprotect-split, P pages: P VMAs; a list design visits all P per walk,
 *    the interval tree 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "workload/workload.h"

static struct wl_opts opts(const char *design)
{
	return (struct wl_opts){ .design = design, .payload = AVM_PAYLOAD_NONE,
				 .check = true, .series = true };
}

static void run(const char *wname, const char *design, const char *k1,
		unsigned long v1, const char *k2, unsigned long v2,
		struct wl_result *res)
{
	const struct workload *w = wl_find(wname);
	unsigned long param[WL_MAX_PARAMS];
	struct wl_opts o = opts(design);
	int err;

	assert_non_null(w);
	wl_defaults(w, param);
	if (k1)
		param[wl_param_index(w, k1)] = v1;
	if (k2)
		param[wl_param_index(w, k2)] = v2;
	err = wl_run_cell(w, param, &o, res);
	if (err)
		fprintf(stderr, "%s on %s: %s\n", wname, design, res->error);
	assert_int_equal(err, 0);
	assert_true(res->all_walked);
}

/* Every workload on every design, small, checked. */
static void test_all_run_checked(void **state)
{
	static const char *const size[][3] = {
		{ "forking-server", "children", "pages" },
		{ "fork-chain", "generations", "pages" },
		{ "mprotect-split", "pages", NULL },
		{ "mremap-after-fork", "children", "pages" },
		{ "fork-tree", "steps", "max_processes" },
	};
	int n = 0;

	for (const struct workload *const *w = wl_all(); *w; w++, n++) {
		const char *const *s = NULL;

		assert_non_null((*w)->summary);
		assert_non_null((*w)->seed);
		assert_true((*w)->describe && (*w)->body && (*w)->seed[0]);
		for (size_t i = 0; i < sizeof(size) / sizeof(size[0]); i++)
			if (!strcmp(size[i][0], (*w)->name))
				s = size[i];
		if (!s)
			continue;	/* a new workload: run at its defaults */
		for (const char *const *d = avm_designs(); *d; d++) {
			struct wl_result res;

			if (avm_design_unsafe(*d))
				continue;
			run((*w)->name, *d, s[1], 16, s[2], s[2] ? 8 : 0, &res);
			assert_true(res.m[WL_WALKS] > 0);
			wl_result_free(&res);
		}
	}
	assert_true(n >= 5);
}

static void test_forking_server_visits(void **state)
{
	const unsigned long n = 20, m = 10;
	static const char *const chain[] = { "linux", "avc-tree", "avc-2010",
					     "single-descendant" };
	struct wl_result res;

	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		run("forking-server", chain[i], "children", n, "pages", m, &res);
		assert_int_equal((unsigned long)res.m[WL_ANON_VMAS], n + 1);
		assert_int_equal((unsigned long)res.m[WL_AVCS], 2 * n + 1);
		assert_int_equal((unsigned long)res.m[WL_WALKS], (n + 1) * m);
		assert_float_equal(res.m[WL_VISITS],
				   (double)(2 * n + 1) / (double)(n + 1), 1e-9);
		assert_float_equal(res.m[WL_HITS], 1.0, 1e-9);
		wl_result_free(&res);
	}
	run("forking-server", "anon-vma-2004", "children", n, "pages", m, &res);
	assert_int_equal((unsigned long)res.m[WL_ANON_VMAS], 1);
	assert_float_equal(res.m[WL_VISITS], (double)(n + 1), 1e-9);
	wl_result_free(&res);
}

static void test_fork_chain_growth(void **state)
{
	const unsigned long g = 300;
	struct wl_result res;

	run("fork-chain", "avc-2010", "generations", g, NULL, 0, &res);
	assert_int_equal((unsigned long)res.m[WL_ANON_VMAS], g + 1);
	assert_true(res.nseries >= 2);
	assert_int_equal(res.series[0].x, 1);
	assert_int_equal(res.series[res.nseries - 1].x, g);
	assert_int_equal(res.series[res.nseries - 1].anon_vmas, g + 1);
	for (size_t i = 1; i < res.nseries; i++)
		assert_true(res.series[i].x > res.series[i - 1].x &&
			    res.series[i].anon_vmas > res.series[i - 1].anon_vmas);
	wl_result_free(&res);

	run("fork-chain", "linux", "generations", g, NULL, 0, &res);
	assert_int_equal((unsigned long)res.m[WL_ANON_VMAS], 3);
	assert_int_equal((unsigned long)res.m[WL_VMAS], 2);
	wl_result_free(&res);
}

static void test_mprotect_split_visits(void **state)
{
	const unsigned long p = 64;
	struct wl_result res;

	run("mprotect-split", "avc-2010", "pages", p, NULL, 0, &res);
	assert_int_equal((unsigned long)res.m[WL_VMAS], p);
	assert_float_equal(res.m[WL_VISITS], (double)p, 1e-9);
	wl_result_free(&res);
	run("mprotect-split", "avc-tree", "pages", p, NULL, 0, &res);
	assert_int_equal((unsigned long)res.m[WL_VMAS], p);
	assert_float_equal(res.m[WL_VISITS], 1.0, 1e-9);
	wl_result_free(&res);
}

/* An unknown design fails cleanly, with the reason in res.error. */
static void test_bad_design(void **state)
{
	const struct workload *w = wl_find("fork-chain");
	unsigned long param[WL_MAX_PARAMS];
	struct wl_opts o = opts("no-such-design");
	struct wl_result res;

	assert_null(wl_find("no-such-workload"));
	wl_defaults(w, param);
	assert_int_not_equal(wl_run_cell(w, param, &o, &res), 0);
	assert_non_null(strstr(res.error, "avm_sys_create"));
	wl_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_run_checked),
		cmocka_unit_test(test_forking_server_visits),
		cmocka_unit_test(test_fork_chain_growth),
		cmocka_unit_test(test_mprotect_split_visits),
		cmocka_unit_test(test_bad_design),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
