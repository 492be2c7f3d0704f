/* SPDX-License-Identifier: MIT */
/*
 * The foreign-mapper arrays of the mapper-list design: for a page whose
 * mappings are not all in the mm of the context it names, the contexts of
 * the other mms, one slot per mapping (page->rmap_data; page->rmap_count
 * is the foreign count, as for foreign-count).
 *
 * The array is an optimisation the walk validates, never a source of
 * truth: a slot is added when a foreign mapping is (if the allocation
 * fails the array just stays short) and removed when one goes (if that
 * mm has a slot).  Every slot stands for a mapping that exists, so the
 * slots of a context never outnumber its mappings, and the array is
 * complete exactly when it has as many slots as the foreign count.  A
 * walk uses it only then; otherwise it walks the subtree.  Updates move
 * count and slots so that an update in flight always shows fewer slots
 * than the count (add: count first; remove: slot first), so a walk never
 * takes a half-updated array for a complete one.
 *
 * Slots change under a lock striped by page (fork copies PTEs of one page
 * into several mms at once, each under its own page-table lock).  Order:
 * page-table lock, family lock, stripe.
 */
#include <errno.h>
#include <string.h>
#include "lib/ptrset.h"
#include "mm/internal.h"
#include "rmap/cow_context_impl.h"
#include "rmap/mm_walk.h"

#define STRIPES	256

static struct avm_mutex stripe[STRIPES];
static DEFINE_LOCK_CLASS(stripe_class, "cow-context mapper array lock");
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
	for (int i = 0; i < STRIPES; i++)
		avm_mutex_init(&stripe[i]);
}

static struct avm_mutex *page_stripe(const struct page *page)
{
	pthread_once(&stripes_once, stripes_init);
	return &stripe[((uintptr_t)page / sizeof(*page)) % STRIPES];
}

static size_t arr_bytes(unsigned int cap)
{
	return sizeof(struct cowc_mappers) + cap * sizeof(struct cow_context *);
}

/* One foreign mapping is kept inline: rmap_data = its context | 1. */
#define MAPPER_ONE	1UL

static bool mapper_one(const struct page *page)
{
	return (uintptr_t)page->rmap_data & MAPPER_ONE;
}

static void set_one(struct page *page, struct cow_context *c)
{
	page->rmap_data = (void *)((uintptr_t)c | MAPPER_ONE);
}

/* The array, or NULL (none, or the one slot inline). */
struct cowc_mappers *page_mappers(const struct page *page)
{
	return mapper_one(page) ? NULL : page->rmap_data;
}

unsigned int cowc_mappers_len(const struct page *page)
{
	if (mapper_one(page))
		return 1;
	return page->rmap_data ? page_mappers(page)->len : 0;
}

struct cow_context *cowc_mappers_at(const struct page *page, unsigned int i)
{
	if (mapper_one(page))
		return (void *)((uintptr_t)page->rmap_data & ~MAPPER_ONE);
	return page_mappers(page)->ctx[i];
}

/* page's array with room for cap (>= len) slots; false: unchanged. */
static bool arr_resize(struct avm_sys *sys, struct page *page,
		       unsigned int cap)
{
	struct cowc_mappers *a = page_mappers(page), *n;

	n = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER, arr_bytes(cap));
	if (!n)
		return false;
	n->cap = cap;
	n->len = a ? a->len : 0;
	if (a) {
		memcpy(n->ctx, a->ctx, a->len * sizeof(a->ctx[0]));
		avm_kfree(&sys->alloc, AK_RMAP_OTHER, a, arr_bytes(a->cap));
	}
	page->rmap_data = n;
	return true;
}

/* One more slot for c; false if out of memory (the array stays short). */
static bool arr_add(struct avm_sys *sys, struct page *page,
		    struct cow_context *c)
{
	struct cowc_mappers *a = page_mappers(page);
	unsigned int cap;

	if (!page->rmap_data) {
		set_one(page, c);
		return true;
	}
	if (mapper_one(page)) {
		struct cow_context *first = cowc_mappers_at(page, 0);
		struct cowc_mappers *n = avm_kmalloc(&sys->alloc, AK_RMAP_OTHER,
						     arr_bytes(2));

		if (!n)
			return false;
		n->cap = 2;
		n->len = 2;
		n->ctx[0] = first;
		n->ctx[1] = c;
		page->rmap_data = n;
		return true;
	}
	if (a->len == a->cap) {
		cap = 2 * a->cap;
		if (!arr_resize(sys, page, cap))
			return false;
		a = page_mappers(page);
	}
	a->ctx[a->len++] = c;
	return true;
}

static void arr_del(struct avm_sys *sys, struct page *page,
		    struct cow_context *c)
{
	struct cowc_mappers *a = page_mappers(page);

	if (mapper_one(page)) {
		if (cowc_mappers_at(page, 0) == c)
			page->rmap_data = NULL;
		return;
	}
	if (!a)
		return;
	for (unsigned int i = 0; i < a->len; i++) {
		if (a->ctx[i] != c)
			continue;
		a->ctx[i] = a->ctx[--a->len];
		break;
	}
	if (a->len <= 1) {
		if (a->len)
			set_one(page, a->ctx[0]);
		else
			page->rmap_data = NULL;
		avm_kfree(&sys->alloc, AK_RMAP_OTHER, a, arr_bytes(a->cap));
	} else if (a->cap > 2 && a->len <= a->cap / 4) {
		arr_resize(sys, page, a->cap / 2);	/* may keep the old */
	}
}

void cowc_mappers_add(struct avm_sys *sys, struct page *page,
		      struct cow_context *c)
{
	struct avm_mutex *l = page_stripe(page);

	__atomic_fetch_add(&page->rmap_count, 1, __ATOMIC_RELAXED);
	avm_mutex_lock(l, &stripe_class);
	arr_add(sys, page, c);
	avm_mutex_unlock(l);
}

void cowc_mappers_del(struct avm_sys *sys, struct page *page,
		      struct cow_context *c)
{
	struct avm_mutex *l = page_stripe(page);

	avm_mutex_lock(l, &stripe_class);
	arr_del(sys, page, c);
	avm_mutex_unlock(l);
	__atomic_fetch_sub(&page->rmap_count, 1, __ATOMIC_RELAXED);
}

/* The page has no foreign mapping left (re-homed, or freed). */
void cowc_mappers_clear(struct avm_sys *sys, struct page *page)
{
	struct avm_mutex *l = page_stripe(page);
	struct cowc_mappers *a;

	avm_mutex_lock(l, &stripe_class);
	a = page_mappers(page);		/* NULL for the inline slot */
	page->rmap_data = NULL;
	page->rmap_count = 0;
	avm_mutex_unlock(l);
	if (a)
		avm_kfree(&sys->alloc, AK_RMAP_OTHER, a, arr_bytes(a->cap));
}

/*
 * Under the family lock: if the array is complete, read-lock the mms it
 * names (owner's taken already) and return 1; 0 if it is not (the caller
 * walks the subtree); <0 on error.
 */
int cowc_mappers_take(struct mm_walk *w, const struct page *page,
		      const struct avm_mm *owner)
{
	struct avm_mutex *l = page_stripe(page);
	const struct cowc_mappers *a;
	struct ptrset seen;
	unsigned int len;
	int err = 0;

	avm_mutex_lock(l, &stripe_class);
	len = cowc_mappers_len(page);
	if (len != __atomic_load_n(&page->rmap_count, __ATOMIC_RELAXED)) {
		avm_mutex_unlock(l);
		return 0;
	}
	/* one visit per mm, however many of its mappings */
	if (len <= 16) {
		for (unsigned int i = 0; i < len && err >= 0; i++) {
			struct avm_mm *mm = cowc_mappers_at(page, i)->mm;
			bool dup = !mm || mm == owner;

			for (unsigned int j = 0; j < i && !dup; j++)
				dup = cowc_mappers_at(page, j)->mm == mm;
			if (!dup)
				err = mmw_take(w, mm);
		}
		avm_mutex_unlock(l);
		return err < 0 ? err : 1;
	}
	/* a long array: a set first (out of memory: walk the subtree) */
	a = page_mappers(page);
	ptrset_init(&seen);
	for (unsigned int i = 0; i < len; i++)
		if (a->ctx[i]->mm && !ptrset_slot(&seen, a->ctx[i]->mm)) {
			ptrset_destroy(&seen);
			avm_mutex_unlock(l);
			return 0;
		}
	ptrset_for_each(&seen, i) {
		struct avm_mm *mm = (struct avm_mm *)seen.keys[i];

		if (mm != owner && err >= 0)
			err = mmw_take(w, mm);
	}
	ptrset_destroy(&seen);
	avm_mutex_unlock(l);
	return err < 0 ? err : 1;
}

size_t cowc_mappers_bytes(const struct cowc_mappers *a)
{
	return arr_bytes(a->cap);
}
