/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include "lib/slab.h"

DEFINE_LOCK_CLASS(slab_lock_class, "slab->lock");

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n)	ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n)	((void)(p), (void)(n))
#define unpoison(p, n)	((void)(p), (void)(n))
#endif

#define CHUNK_BYTES	(64UL << 10)
#define CHUNK_MIN_OBJS	16
#define CHUNK_HEADER	64		/* the chunk link: objects of 64
					   bytes then sit in one cache line */

static void **link_of(void *obj)
{
	return (void **)obj;
}

void slab_init(struct slab_cache *c, size_t size)
{
	c->size = size;
	c->stride = (size + 15) & ~(size_t)15;
	if (c->stride < sizeof(void *))
		c->stride = 16;
	avm_mutex_init(&c->lock);
	c->depot = NULL;
	c->ndepot = 0;
	c->chunks = NULL;
}

void slab_destroy(struct slab_cache *c)
{
	void *ch = c->chunks;

	if (!c->size)
		return;
	while (ch) {
		void *next = *link_of(ch);

		free(ch);
		ch = next;
	}
	c->chunks = NULL;
	c->depot = NULL;
	c->ndepot = 0;
	avm_mutex_destroy(&c->lock);
	c->size = 0;
}

/* Push a free object: only its link word stays addressable. */
static void push(struct slab_cache *c, struct slab_local *l, void *p)
{
	*link_of(p) = l->head;
	poison((char *)p + sizeof(void *), c->stride - sizeof(void *));
	l->head = p;
	l->n++;
}

/* A new chunk, every object of it on l (which is empty). */
static int carve(struct slab_cache *c, struct slab_local *l)
{
	size_t n = CHUNK_BYTES / c->stride;
	char *ch;

	if (n < CHUNK_MIN_OBJS)
		n = CHUNK_MIN_OBJS;
	ch = aligned_alloc(64, (CHUNK_HEADER + n * c->stride + 63) & ~63UL);
	if (!ch)
		return -1;
	avm_mutex_lock(&c->lock, &slab_lock_class);
	*link_of(ch) = c->chunks;
	c->chunks = ch;
	avm_mutex_unlock(&c->lock);
	for (size_t i = n; i-- > 0;)
		push(c, l, ch + CHUNK_HEADER + i * c->stride);
	return 0;
}

/* Up to SLAB_BATCH objects from the depot onto l (which is empty). */
static void refill(struct slab_cache *c, struct slab_local *l)
{
	void *first, *last;
	unsigned int n = 0;

	avm_mutex_lock(&c->lock, &slab_lock_class);
	first = last = c->depot;
	if (first) {
		for (n = 1; n < SLAB_BATCH && *link_of(last); n++)
			last = *link_of(last);
		c->depot = *link_of(last);
		c->ndepot -= n;
		*link_of(last) = NULL;
	}
	avm_mutex_unlock(&c->lock);
	l->head = first;
	l->n = n;
}

void *slab_alloc(struct slab_cache *c, struct slab_local *l)
{
	void *p;

	if (!l->head)
		refill(c, l);
	if (!l->head && carve(c, l))
		return NULL;
	p = l->head;
	l->head = *link_of(p);
	l->n--;
	unpoison(p, c->size);
	return p;
}

/* A full list gives its older half (SLAB_BATCH objects) to the depot. */
static void spill(struct slab_cache *c, struct slab_local *l)
{
	void *first, *last = l->head;

	for (unsigned int i = 1; i < l->n - SLAB_BATCH; i++)
		last = *link_of(last);
	first = *link_of(last);
	*link_of(last) = NULL;
	l->n -= SLAB_BATCH;
	last = first;
	while (*link_of(last))
		last = *link_of(last);
	avm_mutex_lock(&c->lock, &slab_lock_class);
	*link_of(last) = c->depot;
	c->depot = first;
	c->ndepot += SLAB_BATCH;
	avm_mutex_unlock(&c->lock);
}

void slab_free(struct slab_cache *c, struct slab_local *l, void *p)
{
	push(c, l, p);
	if (l->n > SLAB_LOCAL_MAX)
		spill(c, l);
}
