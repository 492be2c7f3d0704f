/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include "lib/alloc.h"
#include "lib/compiler.h"

DEFINE_LOCK_CLASS(alloc_rng_lock_class, "alloc->rng_lock");
DEFINE_LOCK_CLASS(alloc_locals_lock_class, "alloc->locals_lock");
DEFINE_LOCK_CLASS(alloc_spare_lock_class, "alloc->spare_lock");

/* A few allocators per thread, most recent first (tests use several). */
#define TLS_SLOTS	4
static __thread struct {
	struct avm_alloc *a;
	unsigned long id;
	struct alloc_local *l;
} tls[TLS_SLOTS];
static atomic_ulong next_id = 1;

void avm_alloc_init(struct avm_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->id = atomic_fetch_add(&next_id, 1);
	avm_mutex_init(&a->locals_lock);
	avm_mutex_init(&a->spare_lock);
	avm_mutex_init(&a->rng_lock);
	a->rng = 0x9E3779B97F4A7C15ULL;
}

void avm_alloc_destroy(struct avm_alloc *a)
{
	struct alloc_local *l = a->locals;

	while (l) {
		struct alloc_local *next = l->next;

		free(l);
		l = next;
	}
	a->locals = NULL;
	for (int k = 0; k < AK_NR_KINDS; k++)
		slab_destroy(&a->cache[k]);
	avm_mutex_destroy(&a->locals_lock);
	avm_mutex_destroy(&a->spare_lock);
	avm_mutex_destroy(&a->rng_lock);
}

void avm_alloc_cache(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	slab_init(&a->cache[kind], size);
}

/* This thread's record: a dead thread's is taken over by its successor
   with the same id (still one writer at a time).  NULL without memory. */
static struct alloc_local *local_slow(struct avm_alloc *a)
{
	pthread_t self = pthread_self();
	struct alloc_local *l;

	avm_mutex_lock(&a->locals_lock, &alloc_locals_lock_class);
	for (l = a->locals; l && !pthread_equal(l->owner, self); l = l->next)
		;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l) {
			l->owner = self;
			l->next = a->locals;
			a->locals = l;
		}
	}
	avm_mutex_unlock(&a->locals_lock);
	if (l) {
		memmove(&tls[1], &tls[0], (TLS_SLOTS - 1) * sizeof(tls[0]));
		tls[0].a = a;
		tls[0].id = a->id;
		tls[0].l = l;
	}
	return l;
}

static struct alloc_local *local(struct avm_alloc *a)
{
	for (int i = 0; i < TLS_SLOTS; i++)
		if (tls[i].a == a && tls[i].id == a->id)
			return tls[i].l;
	return local_slow(a);
}

static void add_relaxed(atomic_long *v, long n)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static uint32_t next_ppm(struct avm_alloc *a)
{
	uint64_t x;

	avm_mutex_lock(&a->rng_lock, &alloc_rng_lock_class);
	x = a->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	a->rng = x;
	avm_mutex_unlock(&a->rng_lock);
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32) % 1000000;
}

/* Armed: one shared sequence, so that "the nth attempt" is exact. */
static int should_fail_armed(struct avm_alloc *a)
{
	unsigned long n = atomic_fetch_add(&a->seq, 1) + 1;
	unsigned long at = atomic_load(&a->fail_at);

	if ((at && n == at) || (a->fail_ppm && next_ppm(a) < a->fail_ppm)) {
		atomic_fetch_add(&a->failures, 1);
		return 1;
	}
	return 0;
}

/* A thread that allocates has a record (else the allocation fails). */
int avm_alloc_should_fail(struct avm_alloc *a)
{
	struct alloc_local *l = local(a);

	if (unlikely(!l)) {
		atomic_fetch_add(&a->failures, 1);
		return 1;
	}
	if (unlikely(atomic_load_explicit(&a->armed, memory_order_relaxed)))
		return should_fail_armed(a);
	atomic_store_explicit(&l->attempts, atomic_load_explicit(&l->attempts,
			      memory_order_relaxed) + 1, memory_order_relaxed);
	return 0;
}

/*
 * Counting a free on a thread without a record, when not even that could
 * be allocated: into the allocator's spare record, under its lock.
 */
static void account_spare(struct avm_alloc *a, enum avm_kind kind, long n,
			  long bytes, void *p)
{
	avm_mutex_lock(&a->spare_lock, &alloc_spare_lock_class);
	add_relaxed(&a->spare.live[kind], n);
	add_relaxed(&a->spare.bytes[kind], bytes);
	if (p && a->cache[kind].size == (size_t)-bytes)
		slab_free(&a->cache[kind], &a->spare.free[kind], p);
	else
		free(p);
	avm_mutex_unlock(&a->spare_lock);
}

void avm_alloc_account(struct avm_alloc *a, enum avm_kind kind, long n,
		       long bytes)
{
	struct alloc_local *l = local(a);

	if (unlikely(!l)) {
		account_spare(a, kind, n, bytes, NULL);
		return;
	}
	add_relaxed(&l->live[kind], n);
	add_relaxed(&l->bytes[kind], bytes);
}

void *avm_kmalloc(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	struct slab_cache *c = &a->cache[kind];
	struct alloc_local *l;
	void *p;

	if (avm_alloc_should_fail(a))
		return NULL;
	l = local(a);
	if (!l)
		return NULL;
	p = c->size == size ? slab_alloc(c, &l->free[kind]) : malloc(size);
	if (p) {
		add_relaxed(&l->live[kind], 1);
		add_relaxed(&l->bytes[kind], (long)size);
	}
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
	struct slab_cache *c = &a->cache[kind];
	struct alloc_local *l;

	if (!p)
		return;
	l = local(a);
	if (unlikely(!l)) {
		account_spare(a, kind, -1, -(long)size, p);
		return;
	}
	add_relaxed(&l->live[kind], -1);
	add_relaxed(&l->bytes[kind], -(long)size);
	if (c->size == size)
		slab_free(c, &l->free[kind], p);
	else
		free(p);
}

/* ---- reading ------------------------------------------------------------ */

static long sum(struct avm_alloc *a, size_t off, enum avm_kind kind)
{
	long s = 0;

	avm_mutex_lock(&a->locals_lock, &alloc_locals_lock_class);
	for (struct alloc_local *l = a->locals; l; l = l->next)
		s += atomic_load_explicit((atomic_long *)((char *)l + off) + kind,
					  memory_order_relaxed);
	avm_mutex_unlock(&a->locals_lock);
	avm_mutex_lock(&a->spare_lock, &alloc_spare_lock_class);
	s += atomic_load_explicit((atomic_long *)((char *)&a->spare + off) + kind,
				  memory_order_relaxed);
	avm_mutex_unlock(&a->spare_lock);
	return s;
}

unsigned long avm_alloc_live(struct avm_alloc *a, enum avm_kind kind)
{
	return (unsigned long)sum(a, offsetof(struct alloc_local, live), kind);
}

unsigned long avm_alloc_bytes(struct avm_alloc *a, enum avm_kind kind)
{
	return (unsigned long)sum(a, offsetof(struct alloc_local, bytes), kind);
}

unsigned long avm_alloc_attempts(struct avm_alloc *a)
{
	unsigned long s = atomic_load(&a->seq);

	avm_mutex_lock(&a->locals_lock, &alloc_locals_lock_class);
	for (struct alloc_local *l = a->locals; l; l = l->next)
		s += atomic_load_explicit(&l->attempts, memory_order_relaxed);
	avm_mutex_unlock(&a->locals_lock);
	return s;
}

unsigned long avm_alloc_nfailures(struct avm_alloc *a)
{
	return atomic_load(&a->failures);
}

static void rearm(struct avm_alloc *a)
{
	atomic_store(&a->armed, atomic_load(&a->fail_at) || a->fail_ppm);
}

void avm_alloc_fail_nth(struct avm_alloc *a, unsigned long n)
{
	avm_mutex_lock(&a->rng_lock, &alloc_rng_lock_class);
	atomic_store(&a->fail_at, n ? atomic_load(&a->seq) + n : 0);
	rearm(a);
	avm_mutex_unlock(&a->rng_lock);
}

void avm_alloc_fail_random(struct avm_alloc *a, uint32_t ppm, uint64_t seed)
{
	avm_mutex_lock(&a->rng_lock, &alloc_rng_lock_class);
	a->fail_ppm = ppm;
	a->rng = seed ? seed : 1;
	rearm(a);
	avm_mutex_unlock(&a->rng_lock);
}

void avm_kfree_deferred(struct avm_alloc *a, enum avm_kind kind, size_t size)
{
	avm_alloc_account(a, kind, -1, -(long)size);
}

void avm_kfree_memory(struct avm_alloc *a, enum avm_kind kind, void *p,
		      size_t size)
{
	struct slab_cache *c = &a->cache[kind];
	struct alloc_local *l = local(a);

	if (c->size != size) {
		free(p);
	} else if (l) {
		slab_free(c, &l->free[kind], p);
	} else {
		avm_mutex_lock(&a->spare_lock, &alloc_spare_lock_class);
		slab_free(c, &a->spare.free[kind], p);
		avm_mutex_unlock(&a->spare_lock);
	}
}
