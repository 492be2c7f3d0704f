/* SPDX-License-Identifier: MIT */
/*
 * Object caches of one fixed size (slab-like): objects are carved from
 * chunks, so an object costs its size rounded to 16 bytes and no malloc
 * header, and a freed object is reused by the next allocation.  Each
 * thread keeps its own free list (struct slab_local, owned by the caller:
 * lib/alloc.c keeps one per thread and cache); lists that grow past
 * SLAB_LOCAL_MAX give half to the cache's depot, and an empty list takes
 * a batch from the depot before carving a new chunk.  So any thread may
 * free what another allocated (an RCU callback, say).  Memory goes back
 * to the system only when the cache is destroyed.
 *
 * Under AddressSanitizer a free object is poisoned but for the link word,
 * so a use after free is still reported.
 */
#ifndef AVM_LIB_SLAB_H
#define AVM_LIB_SLAB_H

#include <stddef.h>
#include "lib/lockdep.h"

#define SLAB_LOCAL_MAX	256		/* objects on one thread's list */
#define SLAB_BATCH	(SLAB_LOCAL_MAX / 2)

struct slab_cache {
	size_t size;			/* object size as asked; 0: unused */
	size_t stride;			/* size rounded up to 16 */
	struct avm_mutex lock;		/* depot and chunks */
	void *depot;			/* free objects of no thread */
	unsigned long ndepot;
	void *chunks;			/* every chunk, linked by first word */
};

struct slab_local {
	void *head;			/* free objects, linked by first word */
	unsigned int n;
};

/* Leaf lock of every cache's depot. */
extern struct lock_class slab_lock_class;

void slab_init(struct slab_cache *c, size_t size);
/* Frees every chunk: every object must be free (or forgotten). */
void slab_destroy(struct slab_cache *c);
/* NULL when out of memory (no fault injection here: alloc.c does it). */
void *slab_alloc(struct slab_cache *c, struct slab_local *l);
void slab_free(struct slab_cache *c, struct slab_local *l, void *p);

#endif
