/* SPDX-License-Identifier: MIT */
/*
 * The one allocator every part of the library goes through.  It counts live
 * objects per kind (the checker compares these with what is reachable, so a
 * leak is an invariant violation) and injects failures: the nth allocation,
 * or each with a probability, returns NULL.
 */
#ifndef AVM_LIB_ALLOC_H
#define AVM_LIB_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

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

struct avm_alloc {
	atomic_ulong live[AK_NR_KINDS];
	atomic_ulong bytes[AK_NR_KINDS];
	atomic_ulong attempts;
	atomic_ulong failures;
	/* fault injection */
	atomic_ulong fail_at;		/* attempts value that fails; 0: off */
	uint32_t fail_ppm;		/* per-million probability; 0: off */
	uint64_t rng;
	pthread_mutex_t rng_lock;
};

void avm_alloc_init(struct avm_alloc *a);
/* Should this allocation fail?  Counts the attempt. */
int avm_alloc_should_fail(struct avm_alloc *a);
void *avm_kmalloc(struct avm_alloc *a, enum avm_kind kind, size_t size);
void *avm_kzalloc(struct avm_alloc *a, enum avm_kind kind, size_t size);
void avm_kfree(struct avm_alloc *a, enum avm_kind kind, void *p, size_t size);
/* Count an object as freed whose memory the caller frees later with
   free() (after an RCU grace period). */
void avm_kfree_deferred(struct avm_alloc *a, enum avm_kind kind, size_t size);
/* Account a frame taken from / returned to a pool (after should_fail). */
void avm_alloc_account(struct avm_alloc *a, enum avm_kind kind, long n,
		       long bytes);

#endif
