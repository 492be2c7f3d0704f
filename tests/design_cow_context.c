/* SPDX-License-Identifier: MIT */
/*
 * The cow-context family (cow-context, foreign-count, mapper-list), exact
 * expectations, each on all three designs whatever $AVM_DESIGN says:
 *  - server: 1 parent, 3 children.  Shared pages: every design visits the
 *    4 mms.  After the children COW every page: cow-context still probes
 *    all 4 mms for a parent page (1 hit), foreign-count and mapper-list
 *    only the parent's; a child's copy costs one visit everywhere; a
 *    kernel walk (early) stops at the owner, visited first.
 *  - tree: a page shared by a parent and 1 of its 3 children: cow-context
 *    and foreign-count visit all 4 mms, mapper-list the 2 that map it
 *    (its array lost the two that COWed).
 *  - chain: Forrest's chain over 4 pages, 12 generations: contexts after
 *    each exit = min(g + 1, 4) (a context lives while pages name it; an
 *    exited one without pages and with one child is spliced out).
 *  - lower: a page whose other mapper exited is moved to the writer's
 *    context on reuse, and the old context goes.
 *  - remap: a child's mremap'ed VMA is found through its remap entry (one
 *    object while it lives), the address probe that misses counts too.
 *  - mapper_failures: mapper-list's arrays may fail to grow at any
 *    allocation of a fork; the fork succeeds or fails as on linux, and the
 *    walk still finds every mapping (the array is validated by the count).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x100000000000UL
#define FAR	0x300000000000UL
#define PG	AVM_PAGE_SIZE
#define MOVE	(AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED)

static const char *const family[] = {
	"cow-context", "foreign-count", "mapper-list"
};
#define NFAMILY	(sizeof(family) / sizeof(family[0]))

static struct avm_sys *sys_of(const char *d)
{
	return test_sys_for(d, 1, 1UL << 14, 0);
}

static struct avm_walk_stats walk(struct avm_mm *mm, unsigned long addr)
{
	struct avm_walk_stats ws = { 0 };

	assert_int_equal(avm_rmap_walk_addr(mm, addr, &ws), 0);
	assert_int_equal(ws.hits, test_info(mm, addr).mapcount);
	return ws;
}

#define EXPECT_WALK(d, mm, addr, v, e, h) do {				\
	struct avm_walk_stats ws__ = walk(mm, addr);			\
	if (ws__.visits != (v) || ws__.early_visits != (e) ||		\
	    ws__.hits != (h))						\
		fprintf(stderr, "%s line %d: visits %lu early %lu hits "	\
			"%lu, expected %lu %lu %lu\n", d, __LINE__,	\
			ws__.visits, ws__.early_visits, ws__.hits,	\
			(unsigned long)(v), (unsigned long)(e),		\
			(unsigned long)(h));				\
	assert_int_equal(ws__.visits, v);				\
	assert_int_equal(ws__.early_visits, e);				\
	assert_int_equal(ws__.hits, h);					\
} while (0)

static bool is(const char *d, const char *name)
{
	return !strcmp(d, name);
}

static void server(const char *d)
{
	struct avm_sys *sys = sys_of(d);
	struct avm_mm *p = test_mm_rw(sys, BASE, 8 * PG), *c[3];

	test_fill_pages(p, BASE, 8, 0x10);
	for (int i = 0; i < 3; i++)
		assert_int_equal(avm_fork(p, &c[i]), 0);
	assert_check(sys);
	EXPECT_WALK(d, p, BASE, 4, 4, 4);
	for (int i = 0; i < 3; i++)
		test_fill_pages(c[i], BASE, 8, 0x20 + 8 * i);
	assert_check(sys);
	EXPECT_WALK(d, p, BASE + PG, is(d, "cow-context") ? 4 : 1, 1, 1);
	EXPECT_WALK(d, c[1], BASE + PG, 1, 1, 1);
	test_expect_pages(p, BASE, 8, 0x10);
	for (int i = 0; i < 3; i++)
		avm_exit(c[i]);
	avm_exit(p);
	assert_int_equal(test_stats(sys).rmap_objects, 0);
	avm_sys_destroy(sys);
}

static void tree(const char *d)
{
	struct avm_sys *sys = sys_of(d);
	struct avm_mm *p = test_mm_rw(sys, BASE, 4 * PG), *c[3];

	test_fill_pages(p, BASE, 4, 0x30);
	for (int i = 0; i < 3; i++)
		assert_int_equal(avm_fork(p, &c[i]), 0);
	test_fill_pages(c[0], BASE, 4, 0x40);	/* 0 and 2 copy everything */
	test_fill_pages(c[2], BASE, 4, 0x50);
	assert_check(sys);
	/* page 0: mapped by p and c[1] */
	EXPECT_WALK(d, p, BASE, is(d, "mapper-list") ? 2 : 4,
		    is(d, "mapper-list") ? 2 : 3, 2);
	for (int i = 0; i < 3; i++)
		avm_exit(c[i]);
	avm_exit(p);
	avm_sys_destroy(sys);
}

static void chain(const char *d)
{
	struct avm_sys *sys = sys_of(d);
	struct avm_mm *p = test_mm_rw(sys, BASE, 4 * PG), *c;

	test_fill_pages(p, BASE, 4, 0x60);
	for (unsigned long g = 1; g <= 12; g++) {
		unsigned long want = g + 1 < 4 ? g + 1 : 4;

		assert_int_equal(avm_fork(p, &c), 0);
		test_wr(c, BASE + (g % 4) * PG, (unsigned char)g);
		avm_exit(p);
		p = c;
		if (test_stats(sys).anon_vmas != want)
			fprintf(stderr, "%s generation %lu: %lu contexts, "
				"expected %lu\n", d, g,
				test_stats(sys).anon_vmas, want);
		assert_int_equal(test_stats(sys).anon_vmas, want);
		assert_check(sys);
	}
	avm_exit(p);
	assert_int_equal(test_stats(sys).anon_vmas, 0);
	avm_sys_destroy(sys);
}

static void lower(const char *d)
{
	struct avm_sys *sys = sys_of(d);
	struct avm_mm *p = test_mm_rw(sys, BASE, PG), *c;

	test_wr(p, BASE, 1);
	assert_int_equal(avm_fork(p, &c), 0);
	avm_exit(p);
	assert_int_equal(test_stats(sys).anon_vmas, 2);	/* p's has the page */
	test_wr(c, BASE, 2);		/* c alone maps it: reused, moved down */
	assert_int_equal(test_stats(sys).cow_reuses, 1);
	assert_int_equal(test_stats(sys).anon_vmas, 1);
	assert_check(sys);
	EXPECT_WALK(d, c, BASE, 1, 1, 1);
	avm_exit(c);
	avm_sys_destroy(sys);
}

static void remap(const char *d)
{
	struct avm_sys *sys = sys_of(d);
	struct avm_mm *p = test_mm_rw(sys, BASE, 4 * PG), *c;
	unsigned long got, objs;

	test_fill_pages(p, BASE, 4, 0x70);
	assert_int_equal(avm_fork(p, &c), 0);
	objs = test_stats(sys).rmap_objects;
	assert_int_equal(avm_mremap(c, BASE, 4 * PG, 4 * PG, MOVE, FAR, &got),
			 0);
	assert_int_equal(test_stats(sys).rmap_objects, objs + 1);
	assert_check(sys);
	/* p's probe, c's probe at BASE (nothing there), c's remap entry */
	EXPECT_WALK(d, p, BASE, 3, 3, 2);
	test_expect_pages(c, FAR, 4, 0x70);
	assert_int_equal(avm_munmap(c, FAR, 4 * PG), 0);
	assert_int_equal(test_stats(sys).rmap_objects, objs);
	assert_check(sys);
	avm_exit(c);
	avm_exit(p);
	avm_sys_destroy(sys);
}

static void test_family(void **state)
{
	for (size_t i = 0; i < NFAMILY; i++) {
		printf("%s\n", family[i]);
		server(family[i]);
		tree(family[i]);
		chain(family[i]);
		lower(family[i]);
		remap(family[i]);
	}
}

/* Every allocation of the third fork fails in turn. */
static void test_mapper_failures(void **state)
{
	unsigned long ok = 0, failed = 0;

	for (unsigned long n = 1; n <= 120; n++) {
		struct avm_sys *sys = sys_of("mapper-list");
		struct avm_mm *p = test_mm_rw(sys, BASE, 8 * PG), *c[3];
		int err;

		test_fill_pages(p, BASE, 8, 0x11);
		assert_int_equal(avm_fork(p, &c[0]), 0);
		assert_int_equal(avm_fork(p, &c[1]), 0);
		avm_fail_nth(sys, n);
		err = avm_fork(p, &c[2]);
		avm_fail_nth(sys, 0);
		assert_true(err == 0 || err == -ENOMEM);
		assert_check(sys);
		for (int k = 0; k < 8; k++)
			walk(p, BASE + k * PG);	/* hits == mapcount */
		if (err) {
			failed++;
		} else {
			ok++;
			test_expect_pages(c[2], BASE, 8, 0x11);
			avm_exit(c[2]);
		}
		avm_exit(c[1]);
		avm_exit(c[0]);
		avm_exit(p);
		assert_int_equal(test_stats(sys).rmap_objects, 0);
		avm_sys_destroy(sys);
	}
	printf("mapper_failures: %lu forks failed, %lu succeeded\n", failed,
	       ok);
	assert_true(failed > 0 && ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family),
		cmocka_unit_test(test_mapper_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
