/* SPDX-License-Identifier: MIT */
/* Object size targets: the reverse map must stay cheap per mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

static void test_sizes(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_sizes sz;

	avm_sizes(sys, &sz);
	printf("sizes: page %zu, vma %zu, anon_vma %zu, avc %zu, mm %zu\n",
	       sz.page, sz.vma, sz.anon_vma, sz.avc, sz.mm);
	assert_true(sz.avc <= 64);
	assert_true(sz.anon_vma <= 128);
	assert_true(sz.page <= 64);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
