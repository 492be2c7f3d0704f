/* SPDX-License-Identifier: MIT */
/*
 * A set (or counting map) of pointers: open addressing, linear probing.
 * Used by the invariant checker to count what is reachable.  Uses plain
 * malloc, not the fault-injecting allocator: checking must not fail
 * because a test is injecting failures.
 */
#ifndef AVM_LIB_PTRSET_H
#define AVM_LIB_PTRSET_H

#include <stddef.h>
#include <stdint.h>

struct ptrset {
	const void **keys;
	long *vals;
	size_t cap, n;
};

void ptrset_init(struct ptrset *s);
void ptrset_destroy(struct ptrset *s);
/* Pointer to the value slot for key, inserting it with 0; NULL on ENOMEM. */
long *ptrset_slot(struct ptrset *s, const void *key);
/* Value slot if present, else NULL. */
long *ptrset_find(const struct ptrset *s, const void *key);

#define ptrset_for_each(s, i) \
	for (size_t i = 0; i < (s)->cap; i++) if ((s)->keys[i])

#endif
