/* SPDX-License-Identifier: MIT */
/*
 * reuse-idle (src/rmap/reuse_idle.c, the tutorial's design): fork reuses
 * any anon_vma no VMA has as its own.  Checked exactly:
 *  - the root of a family whose first process exited, with two children,
 *    is reused by a grandchild's fork (anon_vmas stay 3; linux, whose
 *    rule also wants fewer than two children, allocates a 4th), and the
 *    checker holds before and after every exit;
 *  - Forrest's fork chain (300 generations) ends with 2 anon_vmas (linux
 *    3, avc-tree 301);
 *  - on the random fork tree (seed 42) it holds the fewest anon_vmas and
 *    visits the most VMAs per walk of the four reuse policies, for the
 *    same mappings found (hits): the trade-off seed 2014-11 argued about.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "workload/workload.h"

#define PG	AVM_PAGE_SIZE
#define BASE	0x140000000000UL

static unsigned long anon_vmas(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st.anon_vmas;
}

/* P maps and writes; forks C1 and C2 (each writes); P exits; C1 forks D. */
static unsigned long grandchild_fork(const char *design)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *p, *c1, *c2, *d;
	unsigned long n;

	avm_config_default(&cfg);
	cfg.design = design;
	cfg.node_frames = 4096;
	cfg.swap_slots = 0;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	assert_int_equal(avm_mm_create(sys, &p), 0);
	assert_int_equal(avm_mmap(p, BASE, 4 * PG, AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	assert_int_equal(avm_fill(p, BASE, 0x11, 4 * PG), 0);
	assert_int_equal(avm_fork(p, &c1), 0);
	assert_int_equal(avm_fork(p, &c2), 0);
	assert_int_equal(avm_fill(c1, BASE, 0x22, PG), 0);
	assert_int_equal(avm_fill(c2, BASE, 0x33, PG), 0);
	avm_exit(p);
	assert_check(sys);
	assert_int_equal(anon_vmas(sys), 3);	/* root + one per child */
	assert_int_equal(avm_fork(c1, &d), 0);
	n = anon_vmas(sys);
	assert_int_equal(avm_fill(d, BASE + PG, 0x44, PG), 0);
	assert_check(sys);
	avm_exit(c1);
	assert_check(sys);
	avm_exit(d);
	assert_check(sys);
	avm_exit(c2);
	assert_check(sys);
	assert_int_equal(anon_vmas(sys), 0);
	avm_sys_destroy(sys);
	return n;
}

static void test_idle_root_reused(void **state)
{
	assert_int_equal(grandchild_fork("reuse-idle"), 3);
	assert_int_equal(grandchild_fork("linux"), 4);
}

static void run(const char *wname, const char *design, const char *key,
		unsigned long v, struct wl_result *res)
{
	const struct workload *w = wl_find(wname);
	unsigned long param[WL_MAX_PARAMS];
	struct wl_opts o = { .design = design, .payload = AVM_PAYLOAD_NONE,
			     .check = true };

	assert_non_null(w);
	wl_defaults(w, param);
	if (key)
		param[wl_param_index(w, key)] = v;
	if (wl_run_cell(w, param, &o, res))
		fprintf(stderr, "%s on %s: %s\n", wname, design, res->error);
	assert_int_equal(res->error[0], 0);
	assert_true(res->all_walked);
}

static void test_fork_chain(void **state)
{
	struct wl_result r;

	run("fork-chain", "reuse-idle", "generations", 300, &r);
	assert_int_equal((unsigned long)r.m[WL_ANON_VMAS], 2);
	run("fork-chain", "linux", "generations", 300, &r);
	assert_int_equal((unsigned long)r.m[WL_ANON_VMAS], 3);
	run("fork-chain", "avc-tree", "generations", 300, &r);
	assert_int_equal((unsigned long)r.m[WL_ANON_VMAS], 301);
}

static void test_fork_tree_tradeoff(void **state)
{
	static const char *const order[] = { "reuse-idle", "linux",
					     "single-descendant", "avc-tree" };
	struct wl_result r[4];

	for (int i = 0; i < 4; i++)
		run("fork-tree", order[i], NULL, 0, &r[i]);
	for (int i = 1; i < 4; i++) {
		fprintf(stderr, "%s: %.0f anon_vmas, %.3f visits per walk; "
			"%s: %.0f, %.3f\n", order[i - 1], r[i - 1].m[WL_ANON_VMAS],
			r[i - 1].m[WL_VISITS], order[i], r[i].m[WL_ANON_VMAS],
			r[i].m[WL_VISITS]);
		assert_true(r[i - 1].m[WL_ANON_VMAS] < r[i].m[WL_ANON_VMAS]);
		assert_true(r[i - 1].m[WL_VISITS] > r[i].m[WL_VISITS]);
		assert_float_equal(r[i - 1].m[WL_HITS], r[i].m[WL_HITS], 1e-12);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_root_reused),
		cmocka_unit_test(test_fork_chain),
		cmocka_unit_test(test_fork_tree_tradeoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
