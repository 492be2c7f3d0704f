/* SPDX-License-Identifier: MIT */
/*
 * RCU for anon_vmas (issue 14): a walker that found a page's anon_vma
 * through page->mapping, and saw the page mapped, is stopped inside its
 * read section just before it tries the anon_vma's lock (or takes a
 * reference); meanwhile the process exits, which unmaps the page and
 * frees the anon_vma.  The walker then goes on: it must touch only memory
 * that is still there (the anon_vma is freed after a grace period: under
 * ASan a premature free is a heap-use-after-free), see the page unmapped,
 * and find nothing.  For every anon_vma design.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define A	0x100000000000UL
#define PG	AVM_PAGE_SIZE

struct race {
	struct avm_sys *sys;
	unsigned long pfn;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool inside, go;
	struct avm_walk_stats ws;
	int err;
};

/* The walker waits here, in its read section, until the exit is done. */
static void hook(void *arg, enum avm_race_point point, unsigned long mm,
		 unsigned long addr)
{
	struct race *r = arg;

	if (point != AVM_RACE_ANON_VMA_GET)
		return;
	pthread_mutex_lock(&r->mu);
	r->inside = true;
	pthread_cond_broadcast(&r->cv);
	while (!r->go)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void *walker(void *arg)
{
	struct race *r = arg;

	r->err = avm_rmap_walk_pfn(r->sys, r->pfn, &r->ws);
	return NULL;
}

static void race_exit(const char *design)
{
	struct race r = { .mu = PTHREAD_MUTEX_INITIALIZER,
			  .cv = PTHREAD_COND_INITIALIZER };
	struct avm_stats st;
	struct avm_mm *p, *c;
	pthread_t t;

	r.sys = test_sys_for(design, 1, 1024, 0);
	p = test_mm_rw(r.sys, A, 2 * PG);
	test_wr(p, A, 0x11);
	test_wr(p, A + PG, 0x22);
	assert_int_equal(avm_fork(p, &c), 0);	/* a family: root and child */
	avm_exit(p);				/* the child alone maps them */
	r.pfn = test_info(c, A).pfn;
	avm_set_race_hook(r.sys, hook, &r);
	assert_int_equal(pthread_create(&t, NULL, walker, &r), 0);
	pthread_mutex_lock(&r.mu);
	while (!r.inside)
		pthread_cond_wait(&r.cv, &r.mu);
	pthread_mutex_unlock(&r.mu);
	/* the walker is between "mapped" and the reference: unmap and free
	   every anon_vma of the family */
	avm_exit(c);
	avm_stats(r.sys, &st);
	assert_int_equal(st.anon_vmas, 0);	/* counted as freed already */
	pthread_mutex_lock(&r.mu);
	r.go = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	pthread_join(t, NULL);
	avm_set_race_hook(r.sys, NULL, NULL);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.ws.walks, 1);
	assert_int_equal(r.ws.hits, 0);		/* nothing maps it any more */
	avm_stats(r.sys, &st);
	assert_int_equal(st.frames_used, 0);	/* the walker's hold is gone */
	assert_check(r.sys);
	avm_sys_destroy(r.sys);
}

static void test_walk_races_exit(void **state)
{
	static const char *const designs[] = { "linux", "avc-tree",
		"avc-2010", "anon-vma-2004", "single-descendant" };

	for (size_t i = 0; i < sizeof(designs) / sizeof(designs[0]); i++)
		race_exit(designs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_races_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
