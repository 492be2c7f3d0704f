/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include "lib/ptrset.h"

void ptrset_init(struct ptrset *s)
{
	s->keys = NULL;
	s->vals = NULL;
	s->cap = s->n = 0;
}

void ptrset_destroy(struct ptrset *s)
{
	free(s->keys);
	free(s->vals);
	ptrset_init(s);
}

static size_t hash_ptr(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static size_t probe(const void **keys, size_t cap, const void *key)
{
	size_t i = hash_ptr(key, cap);

	while (keys[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct ptrset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	const void **keys = calloc(cap, sizeof(*keys));
	long *vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i]) {
			size_t j = probe(keys, cap, s->keys[i]);

			keys[j] = s->keys[i];
			vals[j] = s->vals[i];
		}
	}
	free(s->keys);
	free(s->vals);
	s->keys = keys;
	s->vals = vals;
	s->cap = cap;
	return 0;
}

long *ptrset_find(const struct ptrset *s, const void *key)
{
	size_t i;

	if (!s->cap)
		return NULL;
	i = probe(s->keys, s->cap, key);
	return s->keys[i] ? &s->vals[i] : NULL;
}

long *ptrset_slot(struct ptrset *s, const void *key)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s))
		return NULL;
	i = probe(s->keys, s->cap, key);
	if (!s->keys[i]) {
		s->keys[i] = key;
		s->vals[i] = 0;
		s->n++;
	}
	return &s->vals[i];
}
