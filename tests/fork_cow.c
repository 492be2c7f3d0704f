/* SPDX-License-Identifier: MIT */
/* Copy-on-write after fork, in both directions and across generations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x100000000000UL
#define PG	AVM_PAGE_SIZE

static void test_zero_then_write(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *a;
	struct avm_page_info pi;

	a = test_mm_rw(sys, BASE, 4 * PG);
	assert_int_equal(test_rd(a, BASE + 5), 0);
	pi = test_info(a, BASE);
	assert_int_equal(pi.state, AVM_PTE_PRESENT);
	assert_true(pi.zero);
	assert_false(pi.writable);
	test_wr(a, BASE + 5, 42);
	pi = test_info(a, BASE);
	assert_false(pi.zero);
	assert_true(pi.exclusive);
	assert_int_equal(pi.mapcount, 1);
	assert_int_equal(pi.index, BASE >> 12);
	assert_int_equal(test_rd(a, BASE + 5), 42);
	assert_int_equal(test_rd(a, BASE + 4), 0);
	assert_check(sys);
	avm_sys_destroy(sys);
}

static void test_cow_both_ways(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *a, *b;
	struct avm_page_info pa, pb;

	a = test_mm_rw(sys, BASE, 4 * PG);
	for (int i = 0; i < 4; i++)
		test_wr(a, BASE + i * PG, (unsigned char)(10 + i));
	assert_int_equal(avm_fork(a, &b), 0);
	assert_check(sys);
	pa = test_info(a, BASE);
	pb = test_info(b, BASE);
	assert_int_equal(pa.pfn, pb.pfn);
	assert_int_equal(pa.mapcount, 2);
	assert_false(pa.exclusive);
	assert_false(pa.writable);
	/* child writes page 0: gets its own copy */
	test_wr(b, BASE, 99);
	assert_int_equal(test_rd(a, BASE), 10);
	assert_int_equal(test_rd(b, BASE), 99);
	pa = test_info(a, BASE);
	pb = test_info(b, BASE);
	assert_int_not_equal(pa.pfn, pb.pfn);
	assert_int_equal(pa.mapcount, 1);
	assert_true(pb.exclusive);
	/* parent writes page 0: now alone, reuses in place */
	test_wr(a, BASE, 11);
	assert_int_equal(test_info(a, BASE).pfn, pa.pfn);
	assert_true(test_info(a, BASE).exclusive);
	/* parent writes page 1 first: copies; child keeps the original */
	pb = test_info(b, BASE + PG);
	test_wr(a, BASE + PG, 77);
	assert_int_not_equal(test_info(a, BASE + PG).pfn, pb.pfn);
	assert_int_equal(test_info(b, BASE + PG).pfn, pb.pfn);
	assert_int_equal(test_rd(b, BASE + PG), 11);
	assert_check(sys);
	avm_exit(b);
	assert_check(sys);
	assert_int_equal(test_rd(a, BASE + 2 * PG), 12);
	avm_sys_destroy(sys);
}

/* Three generations; every process sees its own writes and inherited data. */
static void test_generations(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *m[4];
	struct avm_stats st;

	m[0] = test_mm_rw(sys, BASE, 8 * PG);
	for (int i = 0; i < 8; i++)
		test_wr(m[0], BASE + i * PG, (unsigned char)i);
	for (int g = 1; g < 4; g++) {
		assert_int_equal(avm_fork(m[g - 1], &m[g]), 0);
		test_wr(m[g], BASE + g * PG, (unsigned char)(100 + g));
		assert_check(sys);
	}
	for (int g = 0; g < 4; g++)
		for (int i = 0; i < 8; i++) {
			unsigned char want = (unsigned char)i;

			for (int k = 1; k <= g; k++)
				if (i == k)
					want = (unsigned char)(100 + k);
			assert_int_equal(test_rd(m[g], BASE + i * PG), want);
		}
	avm_stats(sys, &st);
	if (test_design_one_list()) {
		assert_int_equal(st.anon_vmas, 1);	/* the family's */
		assert_int_equal(st.avcs, 0);
	} else if (!test_design_by_address()) {
		assert_int_equal(st.anon_vmas, 4);	/* root + one per child */
		assert_int_equal(st.avcs, 1 + 2 + 3 + 4);
	}
	/* exit the middle generations first */
	avm_exit(m[1]);
	assert_check(sys);
	avm_exit(m[2]);
	assert_check(sys);
	assert_int_equal(test_rd(m[3], BASE + 3 * PG), 103);
	assert_int_equal(test_rd(m[3], BASE + 1 * PG), 101);
	assert_int_equal(test_rd(m[0], BASE + 1 * PG), 1);
	avm_exit(m[0]);
	assert_check(sys);
	assert_int_equal(test_rd(m[3], BASE + 2 * PG), 102);
	avm_exit(m[3]);
	avm_stats(sys, &st);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.vmas, 0);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_then_write),
		cmocka_unit_test(test_cow_both_ways),
		cmocka_unit_test(test_generations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
