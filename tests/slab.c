/* SPDX-License-Identifier: MIT */
/*
 * The object caches (lib/slab.c) behind the allocator: an object is never
 * handed out twice while live, objects freed on another thread than the
 * one that allocated them are reused, the per-thread counts sum exactly,
 * and fault injection still fails cached kinds.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "lib/alloc.h"
#include "lib/ptrset.h"

#define SIZE	64
#define N	5000		/* > SLAB_LOCAL_MAX: lists spill and refill */

struct batch {
	struct avm_alloc *a;
	void *obj[N];
	int failed;		/* threads record, the test thread asserts */
};

static void *alloc_batch(void *arg)
{
	struct batch *b = arg;

	for (int i = 0; i < N; i++) {
		b->obj[i] = avm_kmalloc(b->a, AK_AVC, SIZE);
		if (!b->obj[i]) {
			b->failed = 1;
			return NULL;
		}
		memset(b->obj[i], 0xa5, SIZE);
	}
	return NULL;
}

static void *free_batch(void *arg)
{
	struct batch *b = arg;

	for (int i = 0; i < N; i++)
		avm_kfree(b->a, AK_AVC, b->obj[i], SIZE);
	return NULL;
}

static void run(void *(*fn)(void *), struct batch *b)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, fn, b), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b->failed, 0);
}

/* No pointer twice among what is live. */
static void assert_distinct(struct batch *b, int n)
{
	struct ptrset s;

	ptrset_init(&s);
	for (int i = 0; i < n; i++) {
		long *slot = ptrset_slot(&s, b->obj[i]);

		assert_non_null(slot);
		assert_int_equal(*slot, 0);
		*slot = 1;
	}
	ptrset_destroy(&s);
}

static void test_cross_thread(void **state)
{
	static struct avm_alloc a;
	static struct batch b1, b2;

	avm_alloc_init(&a);
	avm_alloc_cache(&a, AK_AVC, SIZE);
	b1.a = b2.a = &a;
	run(alloc_batch, &b1);			/* thread 1 allocates */
	assert_int_equal(avm_alloc_live(&a, AK_AVC), N);
	assert_int_equal(avm_alloc_bytes(&a, AK_AVC), N * SIZE);
	assert_distinct(&b1, N);
	run(free_batch, &b1);			/* thread 2 frees */
	assert_int_equal(avm_alloc_live(&a, AK_AVC), 0);
	assert_int_equal(avm_alloc_bytes(&a, AK_AVC), 0);
	alloc_batch(&b2);			/* this thread reuses them */
	assert_int_equal(b2.failed, 0);
	assert_distinct(&b2, N);
	assert_int_equal(avm_alloc_live(&a, AK_AVC), N);
	assert_int_equal(avm_alloc_attempts(&a), 2 * N);
	free_batch(&b2);
	assert_int_equal(avm_alloc_live(&a, AK_AVC), 0);
	avm_alloc_destroy(&a);
}

static void test_injection(void **state)
{
	static struct avm_alloc a;
	void *p, *q;

	avm_alloc_init(&a);
	avm_alloc_cache(&a, AK_VMA, 104);
	avm_alloc_fail_nth(&a, 2);
	p = avm_kmalloc(&a, AK_VMA, 104);
	assert_non_null(p);
	assert_null(avm_kmalloc(&a, AK_VMA, 104));	/* the 2nd */
	q = avm_kmalloc(&a, AK_VMA, 104);
	assert_non_null(q);
	assert_int_equal(avm_alloc_nfailures(&a), 1);
	assert_int_equal(avm_alloc_live(&a, AK_VMA), 2);
	avm_alloc_fail_nth(&a, 0);
	avm_kfree(&a, AK_VMA, p, 104);
	avm_kfree(&a, AK_VMA, q, 104);
	assert_int_equal(avm_alloc_live(&a, AK_VMA), 0);
	assert_int_equal(avm_alloc_attempts(&a), 3);
	avm_alloc_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_thread),
		cmocka_unit_test(test_injection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
