/* SPDX-License-Identifier: MIT */
/*
 * The one allocator every part of the library goes through.  It counts live
 * objects per kind (the checker compares these with what is reachable, so a
 * leak is an invariant violation) and injects failures: the nth allocation,
 * or each with a probability, returns NULL.
 *
 * The counts are per thread (no shared atomic per allocation); reading one
 * sums the threads', so it is exact whenever no allocation is under way.
 * Kinds given a cache (avm_alloc_cache) come from per-thread object caches
 * (lib/slab.h) instead of malloc.
 */
#ifndef AVM_LIB_ALLOC_H
#define AVM_LIB_ALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "lib/lockdep.h"
#include "lib/slab.h"

enum avm_kind {
	AK_MM,
	AK_VMA,
	AK_ANON_VMA,
	AK_AVC,
	AK_PGTABLE,
	AK_RMAP_OTHER,		/* design-specific reverse-map objects */
	AK_FRAME,		/* frames count here; memory comes from pools */
	AK_MISC,
	AK_NR_KINDS
};

/*
 * One thread's counts and free lists for one allocator.  Only the owner
 * writes them (relaxed atomics: plain loads and stores, but readers on
 * other threads are well defined); counts may go negative (a thread frees
 * what another allocated), their sum may not.
 */
struct alloc_local {
	struct alloc_local *next;
	pthread_t owner;
	atomic_long live[AK_NR_KINDS];
	atomic_long bytes[AK_NR_KINDS];
	atomic_ulong attempts;		/* while not armed */
	struct slab_local free[AK_NR_KINDS];
};

struct avm_alloc {
	unsigned long id;		/* tells a reused address apart */
	struct avm_mutex locals_lock;
	struct alloc_local *locals;	/* one per thread that allocated */
	struct avm_mutex spare_lock;
	struct alloc_local spare;	/* for a thread that has none */
	struct slab_cache cache[AK_NR_KINDS];
	atomic_ulong failures;
	/* fault injection: armed when either is on */
	atomic_bool armed;
	atomic_ulong seq;		/* attempts made while armed */
	atomic_ulong fail_at;		/* seq value that fails; 0: off */
	uint32_t fail_ppm;		/* per-million probability; 0: off */
	uint64_t rng;
	struct avm_mutex rng_lock;
};

/* Leaf lock of the fault-injection generator. */
extern struct lock_class alloc_rng_lock_class;

/* Leaf locks of the allocator. */
extern struct lock_class alloc_rng_lock_class, alloc_locals_lock_class,
			 alloc_spare_lock_class;

void avm_alloc_init(struct avm_alloc *a);
/* Frees the per-thread records and the caches' memory. */
void avm_alloc_destroy(struct avm_alloc *a);
/* Objects of kind whose size is size come from an object cache. */
void avm_alloc_cache(struct avm_alloc *a, enum avm_kind kind, size_t size);
/* Should this allocation fail?  Counts the attempt. */
int avm_alloc_should_fail(struct avm_alloc *a);
void *avm_kmalloc(struct avm_alloc *a, enum avm_kind kind, size_t size);
void *avm_kzalloc(struct avm_alloc *a, enum avm_kind kind, size_t size);
void avm_kfree(struct avm_alloc *a, enum avm_kind kind, void *p, size_t size);
/* Count an object as freed now whose memory goes later (after an RCU
   grace period, from any thread) with avm_kfree_memory. */
void avm_kfree_deferred(struct avm_alloc *a, enum avm_kind kind, size_t size);
void avm_kfree_memory(struct avm_alloc *a, enum avm_kind kind, void *p,
		      size_t size);
/* Account a frame taken from / returned to a pool (after should_fail). */
void avm_alloc_account(struct avm_alloc *a, enum avm_kind kind, long n,
		       long bytes);

/* Sums over the threads. */
unsigned long avm_alloc_live(struct avm_alloc *a, enum avm_kind kind);
unsigned long avm_alloc_bytes(struct avm_alloc *a, enum avm_kind kind);
unsigned long avm_alloc_attempts(struct avm_alloc *a);
unsigned long avm_alloc_nfailures(struct avm_alloc *a);
/* Fail the nth attempt from now (0: off); each with probability ppm. */
void avm_alloc_fail_nth(struct avm_alloc *a, unsigned long n);
void avm_alloc_fail_random(struct avm_alloc *a, uint32_t ppm, uint64_t seed);

#endif
