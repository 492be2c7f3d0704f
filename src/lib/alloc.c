/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include "lib/alloc.h"
#include "lib/compiler.h"

void avm_alloc_init(struct avm_alloc *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->rng_lock, NULL);
	a->rng = 0x9E3779B97F4A7C15ULL;
}

static uint32_t next_ppm(struct avm_alloc *a)
{
	uint64_t x;

	pthread_mutex_lock(&a->rng_lock);
	x = a->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	a->rng = x;
	pthread_mutex_unlock(&a->rng_lock);
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32) % 1000000;
}

int avm_alloc_should_fail(struct avm_alloc *a)
{
	unsigned long n = atomic_fetch_add(&a->attempts, 1) + 1;
	unsigned long at = atomic_load(&a->fail_at);

	if (unlikely(at && n == at))
		goto fail;
	if (unlikely(a->fail_ppm) && next_ppm(a) < a->fail_ppm)
		goto fail;
	return 0;
fail:
	atomic_fetch_add(&a->failures, 1);
	return 1;
}

void avm_alloc_account(struct avm_alloc *a, enum avm_kind kind, long n,
		       long bytes)
{
	atomic_fetch_add(&a->live[kind], (unsigned long)n);
	atomic_fetch_add(&a->bytes[kind], (unsigned long)bytes);
}

void *avm_kmalloc(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	void *p;

	if (avm_alloc_should_fail(a))
		return NULL;
	p = malloc(size);
	if (p)
		avm_alloc_account(a, kind, 1, (long)size);
	return p;
}

void *avm_kzalloc(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	void *p = avm_kmalloc(a, kind, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void avm_kfree(struct avm_alloc *a, enum avm_kind kind, void *p, size_t size)
{
	if (!p)
		return;
	avm_alloc_account(a, kind, -1, -(long)size);
	free(p);
}

void avm_kfree_deferred(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	avm_alloc_account(a, kind, -1, -(long)size);
}
