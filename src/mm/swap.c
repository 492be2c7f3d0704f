/* SPDX-License-Identifier: MIT */
/*
 * The swap device (a real, sparse file: one page-sized block per slot),
 * its slot counts, the swap cache, swap-out of one page through the rmap,
 * and swap-in on fault with Linux's exclusivity rules.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

#define SWAP_HAS_CACHE	0x80000000u
#define SWAP_COUNT(x)	((x) & ~SWAP_HAS_CACHE)

struct swap_info {
	int fd;
	unsigned long nslots;
	unsigned long next_unused;	/* slots [next_unused, n) never used */
	unsigned long *free_slots;	/* stack of freed slots */
	unsigned long nr_free;
	unsigned long used;		/* slots with a count or cache */
	unsigned long cache_pages;
	uint32_t *map;			/* PTE count | SWAP_HAS_CACHE */
	struct page **cache;		/* frame in the swap cache */
	struct avm_mutex lock;
};

static int open_swap_file(const char *path)
{
	char tmpl[PATH_MAX];
	const char *dir = getenv("TMPDIR");
	int fd;

	if (path)
		return open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	snprintf(tmpl, sizeof(tmpl), "%s/anonvm-swap-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

int swap_init(struct avm_sys *sys)
{
	unsigned long n = sys->cfg.swap_slots;
	struct swap_info *si;

	if (!n)
		return 0;
	si = calloc(1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	sys->swap = si;
	si->nslots = n;
	si->next_unused = 1;		/* slot 0 is never handed out */
	si->fd = -1;
	avm_mutex_init(&si->lock);
	si->map = calloc(n, sizeof(*si->map));
	si->cache = calloc(n, sizeof(*si->cache));
	si->free_slots = calloc(n, sizeof(*si->free_slots));
	if (!si->map || !si->cache || !si->free_slots)
		return -ENOMEM;
	if (sys->cfg.payload == AVM_PAYLOAD_NONE)
		return 0;
	si->fd = open_swap_file(sys->cfg.swap_file);
	if (si->fd < 0 || ftruncate(si->fd, (off_t)(n * PAGE_SIZE)))
		return -errno;
	return 0;
}

void swap_destroy(struct avm_sys *sys)
{
	struct swap_info *si = sys->swap;

	if (!si)
		return;
	if (si->fd >= 0)
		close(si->fd);
	free(si->map);
	free(si->cache);
	free(si->free_slots);
	avm_mutex_destroy(&si->lock);
	free(si);
	sys->swap = NULL;
}

void swap_stats(struct avm_sys *sys, struct avm_stats *st)
{
	const struct avm_counters *c = &sys->ctr;

	st->lru_scanned = atomic_load(&c->lru_scanned);
	st->referenced = atomic_load(&c->referenced);
	st->pte_unmapped = atomic_load(&c->pte_unmapped);
	st->swap_outs = atomic_load(&c->swap_outs);
	st->swap_ins = atomic_load(&c->swap_ins);
	st->migrations = atomic_load(&c->migrations);
	st->migration_entries_removed =
		atomic_load(&c->migration_entries_removed);
	if (sys->swap) {
		st->swap_slots_used = sys->swap->used;
		st->swap_cache_pages = sys->swap->cache_pages;
	}
}

/* ---- slots (si->lock held) ------------------------------------------------ */

static long slot_alloc(struct swap_info *si)
{
	unsigned long s;

	if (si->nr_free)
		s = si->free_slots[--si->nr_free];
	else if (si->next_unused < si->nslots)
		s = si->next_unused++;
	else
		return -ENOSPC;
	si->used++;
	return (long)s;
}

/* Release the slot if nothing refers to it any more. */
static void slot_maybe_free(struct swap_info *si, unsigned long s)
{
	if (si->map[s])
		return;
	si->free_slots[si->nr_free++] = s;
	si->used--;
}

/* ---- the swap cache ------------------------------------------------------- */

static void add_to_swap_cache(struct swap_info *si, struct page *page,
			      unsigned long s)
{
	si->map[s] |= SWAP_HAS_CACHE;
	si->cache[s] = page;
	si->cache_pages++;
	page->private = s;
	page_set(page, PG_swapcache);
	get_page(page);
}

/* Caller holds si->lock and then drops the cache's page reference. */
static void delete_from_swap_cache(struct swap_info *si, struct page *page)
{
	unsigned long s = page->private;

	si->cache[s] = NULL;
	si->cache_pages--;
	si->map[s] &= ~SWAP_HAS_CACHE;
	page->private = 0;
	page_clear(page, PG_swapcache);
	slot_maybe_free(si, s);
}

/* The page is locked: only its lock holder may take it out of the cache
   (swap-out relies on its slot staying its own until it lets go). */
void try_free_swap(struct avm_sys *sys, struct page *page)
{
	struct swap_info *si = sys->swap;
	bool freed = false;

	if (!si || !page_test(page, PG_swapcache))
		return;
	swap_lock(si);
	if (page_test(page, PG_swapcache) &&
	    !SWAP_COUNT(si->map[page->private])) {
		delete_from_swap_cache(si, page);
		freed = true;
	}
	swap_unlock(si);
	if (freed)
		put_page(sys, page);
}

void free_swap_cache(struct avm_sys *sys, struct page *page)
{
	/* As Linux: only if the lock is free; else its holder (reclaim,
	   migration, a fault) deals with it, or reclaim later does. */
	if (page_test(page, PG_swapcache) && !page_mapcount(page) &&
	    trylock_page(page)) {
		try_free_swap(sys, page);
		unlock_page(page);
	}
}

static int swap_io(struct avm_sys *sys, struct page *page, unsigned long s,
		   bool write)
{
	unsigned char *data = page_address(sys, page);
	off_t off = (off_t)(s * PAGE_SIZE);
	ssize_t n;

	if (!data || sys->swap->fd < 0)
		return 0;
	n = write ? pwrite(sys->swap->fd, data, PAGE_SIZE, off)
		  : pread(sys->swap->fd, data, PAGE_SIZE, off);
	return n == (ssize_t)PAGE_SIZE ? 0 : -EIO;
}

/* ---- PTE bookkeeping ------------------------------------------------------ */

void free_swap_pte(struct avm_sys *sys, pte_t pte)
{
	struct swap_info *si = sys->swap;
	unsigned long s = swp_offset(pte);
	struct page *cached = NULL;

	if (pte_nptype(pte) != PTE_TYPE_SWAP || !si)
		return;
	swap_lock(si);
	si->map[s]--;
	if (si->map[s] == SWAP_HAS_CACHE && !page_mapcount(si->cache[s])) {
		/* Last user gone: the cached copy is useless now (deleting
		   it releases the slot too), as Linux's free_swap_and_cache,
		   if its lock can be had at once. */
		cached = si->cache[s];
		if (!get_page_unless_zero(cached))
			cached = NULL;
	} else {
		slot_maybe_free(si, s);
	}
	swap_unlock(si);
	if (cached) {
		free_swap_cache(sys, cached);
		put_page(sys, cached);
	}
}

void dup_swap_pte(struct avm_sys *sys, pte_t pte)
{
	struct swap_info *si = sys->swap;

	if (pte_nptype(pte) != PTE_TYPE_SWAP || !si)
		return;
	swap_lock(si);
	si->map[swp_offset(pte)]++;
	swap_unlock(si);
}

void swap_pte_read(struct avm_sys *sys, pte_t pte, unsigned char *buf)
{
	struct swap_info *si = sys->swap;
	unsigned long s = swp_offset(pte);
	struct page *page = NULL, *held = NULL;
	const unsigned char *src;

	memset(buf, 0, PAGE_SIZE);
	if (pte_nptype(pte) != PTE_TYPE_SWAP) {
		/* a migration entry: the caller's page-table lock keeps the
		   old frame until the entry is restored */
		page = pfn_to_page(sys, pte_pfn(pte));
	} else if (si) {
		/* the cache changes under si->lock; hold what we find */
		swap_lock(si);
		page = si->cache[s];
		if (page && !get_page_unless_zero(page))
			page = NULL;
		swap_unlock(si);
		held = page;
	}
	if (page) {
		src = page_address(sys, page);
		if (src)
			memcpy(buf, src, PAGE_SIZE);
		if (held)
			put_page(sys, held);
	} else if (si && si->fd >= 0 &&
		   pread(si->fd, buf, PAGE_SIZE, (off_t)(s * PAGE_SIZE)) !=
		   (ssize_t)PAGE_SIZE) {
		memset(buf, 0, PAGE_SIZE);
	}
}

/* ---- swap-out ------------------------------------------------------------- */

struct unmap_arg {
	struct avm_sys *sys;
	unsigned long slot;
};

static bool try_to_unmap_one(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr, void *arg)
{
	struct unmap_arg *u = arg;
	struct avm_mm *mm = vma->vm_mm;
	struct pgtable *pt = pt_lookup(mm, addr);
	bool excl;
	pte_t pte;

	ptl_lock(mm);
	/* under the lock: fork clears it (under the same lock) when it
	   copies this PTE, and the entry must not claim a page now shared */
	excl = page_test(page, PG_anon_exclusive);
	pte = ptep_get(pt, pte_index(addr));
	/* The walk looked without the lock: a COW fault may have replaced
	   the page here since. */
	if (!pte_present(pte) || pte_pfn(pte) != page_to_pfn(u->sys, page)) {
		ptl_unlock(mm);
		return true;
	}
	if (pte & PTE_DIRTY)
		page_set(page, PG_dirty);
	set_pte(pt, pte_index(addr), swp_entry_pte(u->slot, excl));
	swap_lock(u->sys->swap);
	u->sys->swap->map[u->slot]++;
	swap_unlock(u->sys->swap);
	rmap_remove(page, vma, addr);
	ptl_unlock(mm);
	page_clear(page, PG_anon_exclusive);
	put_page(u->sys, page);
	atomic_fetch_add(&u->sys->ctr.pte_unmapped, 1);
	return true;
}

/* Give the page a slot and a place in the swap cache. */
static int add_to_swap(struct avm_sys *sys, struct page *page)
{
	struct swap_info *si = sys->swap;
	long s;

	if (page_test(page, PG_swapcache))
		return 0;
	if (avm_alloc_should_fail(&sys->alloc))	/* the cache's index node */
		return -ENOMEM;
	swap_lock(si);
	s = slot_alloc(si);
	if (s >= 0)
		add_to_swap_cache(si, page, (unsigned long)s);
	swap_unlock(si);
	return s < 0 ? (int)s : 0;
}

int swap_out_page(struct avm_sys *sys, struct page *page)
{
	struct swap_info *si = sys->swap;
	struct unmap_arg u = { .sys = sys };
	struct rmap_walk_control rwc = { .rmap_one = try_to_unmap_one,
					 .arg = &u };
	int err;

	if (!si)
		return -ENOSPC;
	err = add_to_swap(sys, page);
	if (err)
		return err;
	u.slot = page->private;
	if (page_mapcount(page))	/* else: only the cache has it */
		rmap_walk(sys, page, &rwc);
	if (page_mapcount(page))
		return -EBUSY;		/* stays cached; PTEs are consistent */
	err = swap_io(sys, page, u.slot, true);
	if (err)
		return err;
	page_clear(page, PG_dirty);
	/* As Linux's __remove_mapping: only if nobody but the cache and the
	   caller holds the page (a fault may have just found it in the
	   cache); checked under si->lock, where swap-in takes its reference.
	   Else it stays cached, every PTE a valid swap entry. */
	swap_lock(si);
	if (!page_test(page, PG_swapcache) || page_refcount(page) != 2) {
		/* (not cached any more: the last swap entry was freed) */
		swap_unlock(si);
		return -EBUSY;
	}
	delete_from_swap_cache(si, page);
	swap_unlock(si);
	put_page(sys, page);		/* the cache's reference */
	atomic_fetch_add(&sys->ctr.swap_outs, 1);
	return 0;
}

/* ---- swap-in -------------------------------------------------------------- */

/*
 * The frame for slot s with a reference for the caller, locked; NULL with
 * *err == 0 if the slot has no users any more (the PTE changed: retry).
 * As Linux's swapcache_prepare, a fresh frame enters the swap cache locked
 * before it is read, so that two faults on the same slot share one frame.
 */
static struct page *swapin_page(struct avm_sys *sys, unsigned long s,
				int *err)
{
	struct swap_info *si = sys->swap;
	struct page *page, *fresh;

	*err = 0;
	swap_lock(si);
	page = si->cache[s];
	if (page)
		get_page(page);
	swap_unlock(si);
	if (page) {
		lock_page(page);
		return page;
	}
	fresh = alloc_page(sys, 0);
	if (!fresh) {
		*err = -ENOMEM;
		return NULL;
	}
	lock_page(fresh);
	swap_lock(si);
	page = si->cache[s];
	if (page) {
		get_page(page);		/* another fault was quicker */
	} else if (SWAP_COUNT(si->map[s])) {
		add_to_swap_cache(si, fresh, s);
		page = fresh;
		fresh = NULL;
	}
	swap_unlock(si);
	if (fresh) {
		unlock_page(fresh);
		put_page(sys, fresh);
		if (page)
			lock_page(page);
		return page;
	}
	*err = swap_io(sys, page, s, false);
	if (*err) {
		bool cached;

		swap_lock(si);
		cached = page_test(page, PG_swapcache);
		if (cached)
			delete_from_swap_cache(si, page);
		swap_unlock(si);
		unlock_page(page);
		if (cached)
			put_page(sys, page);	/* the cache's */
		put_page(sys, page);		/* ours */
		return NULL;
	}
	/* New on the LRU (a cached page is on it already, or isolated by
	   whoever will put it back: adding it here would list it twice). */
	lru_add(sys, page);
	atomic_fetch_add(&sys->ctr.swap_ins, 1);
	return page;
}

/* Map the swapped-in page at addr; the caller's reference becomes the
   mapping's.  Exclusive if the swap PTE said so or nobody else holds it. */
static int map_swapped(struct vm_area_struct *vma, unsigned long addr,
		       struct pgtable *pt, pte_t old, struct page *page,
		       bool write)
{
	struct avm_sys *sys = vma->vm_mm->sys;
	bool excl = old & PTE_SWP_EXCL, reuse;
	pte_t bits = PTE_YOUNG;
	int err = 0;

	if (page_is_anon(page))
		err = rmap_add(page, vma, addr);
	if (err)
		return err;
	swap_lock(sys->swap);
	sys->swap->map[swp_offset(old)]--;
	swap_unlock(sys->swap);
	if (write && page_refcount(page) == 2)
		try_free_swap(sys, page);
	reuse = excl || page_refcount(page) == 1;
	if (reuse && (vma->vm_flags & VM_WRITE))
		bits |= PTE_WRITE | (write ? PTE_DIRTY : 0);
	if (!page_is_anon(page))
		rmap_add_new(page, vma, addr, reuse);
	else if (reuse)
		page_set(page, PG_anon_exclusive);
	pt_set(pt, pte_index(addr), mk_pte(page_to_pfn(sys, page), bits));
	return 0;
}

int do_swap_page(struct avm_mm *mm, struct vm_area_struct *vma,
		 unsigned long addr, struct pgtable *pt, pte_t pte, bool write)
{
	struct avm_sys *sys = mm->sys;
	struct page *page;
	int err;

	if (pte_nptype(pte) != PTE_TYPE_SWAP) {
		/* A migration entry: wait for the migration (it holds the
		   page lock), then let the access retry.  As Linux's
		   migration_entry_wait, only with a reference taken while the
		   entry is still there: the old frame is freed (and may be
		   reused, and locked by its next owner) once it is done. */
		page = pfn_to_page(sys, pte_pfn(pte));
		ptl_lock(mm);
		if (ptep_get(pt, pte_index(addr)) != pte || !get_page_unless_zero(page))
			page = NULL;
		ptl_unlock(mm);
		if (page) {
			lock_page(page);
			unlock_page(page);
			put_page(sys, page);
		}
		return 0;
	}
	err = sys->rmap->prepare(vma);
	if (err)
		return err;
	page = swapin_page(sys, swp_offset(pte), &err);
	if (!page)
		return err;	/* 0: the entry went meanwhile, retry */
	if (!page_test(page, PG_swapcache) || page->private != swp_offset(pte)) {
		/* Reclaimed or migrated while we waited for its lock: the
		   access retries and finds what is there now. */
		unlock_page(page);
		put_page(sys, page);
		return 0;
	}
	ptl_lock(mm);
	if (ptep_get(pt, pte_index(addr)) == pte)
		err = map_swapped(vma, addr, pt, pte, page, write);
	else
		err = -EAGAIN;
	ptl_unlock(mm);
	if (err)
		try_free_swap(sys, page);
	unlock_page(page);
	if (err) {
		put_page(sys, page);
		return err == -EAGAIN ? 0 : err;
	}
	return 0;
}

int swap_cache_migrate(struct avm_sys *sys, struct page *old,
		       struct page *new, int refs)
{
	struct swap_info *si = sys->swap;
	int err = 0;

	if (!si || !page_test(old, PG_swapcache))
		return page_refcount(old) == refs ? 0 : -EAGAIN;
	/* Under si->lock, so that no swap-in can find old meanwhile. */
	swap_lock(si);
	if (page_refcount(old) != refs) {
		err = -EAGAIN;
	} else {
		si->cache[old->private] = new;
		new->private = old->private;
		page_set(new, PG_swapcache);
		page_clear(old, PG_swapcache);
		old->private = 0;
	}
	swap_unlock(si);
	return err;
}

/* ---- invariants ----------------------------------------------------------- */

int check_swap_pte(struct avm_sys *sys, struct check_ctx *ctx, pte_t pte)
{
	struct swap_info *si = sys->swap;
	unsigned long s = swp_offset(pte);

	CHECK(ctx, pte_nptype(pte) == PTE_TYPE_SWAP,
	      "migration entry %#llx left behind", (unsigned long long)pte);
	CHECK(ctx, si && s > 0 && s < si->nslots, "swap entry %#llx: no such "
	      "slot", (unsigned long long)pte);
	CHECK(ctx, !(pte & PTE_SWP_EXCL) || SWAP_COUNT(si->map[s]) == 1,
	      "slot %lu: exclusive swap PTE but %u users", s,
	      SWAP_COUNT(si->map[s]));
	return 0;
}

static int check_cache_entry(struct avm_sys *sys, struct check_ctx *ctx,
			     unsigned long s, unsigned long *unmapped)
{
	struct page *p = sys->swap->cache[s];

	CHECK(ctx, p && (sys->swap->map[s] & SWAP_HAS_CACHE),
	      "slot %lu: cache entry and HAS_CACHE disagree", s);
	CHECK(ctx, page_test(p, PG_swapcache) && p->private == s &&
	      !page_test(p, PG_free), "slot %lu: cached frame %lu not "
	      "marked as cached for it", s, page_to_pfn(sys, p));
	if (!page_mapcount(p)) {
		(*unmapped)++;
		CHECK(ctx, page_refcount(p) == 1, "slot %lu: unmapped cached "
		      "frame has refcount %d", s, page_refcount(p));
	}
	return 0;
}

int check_swap(struct avm_sys *sys, struct check_ctx *ctx,
	       struct ptrset *slots, unsigned long mapped_pages,
	       unsigned long cached_mapped)
{
	struct swap_info *si = sys->swap;
	unsigned long unmapped = 0, used = 0, frames = frames_in_use(sys);
	int err;

	for (unsigned long s = 0; si && s < si->next_unused; s++) {
		long *n = ptrset_find(slots, (void *)(uintptr_t)(s + 1));

		CHECK(ctx, SWAP_COUNT(si->map[s]) == (n ? (unsigned long)*n : 0),
		      "slot %lu: count %u, %ld PTEs hold it", s,
		      SWAP_COUNT(si->map[s]), n ? *n : 0L);
		used += si->map[s] != 0;
		if (si->cache[s] || (si->map[s] & SWAP_HAS_CACHE)) {
			err = check_cache_entry(sys, ctx, s, &unmapped);
			if (err)
				return err;
		}
	}
	CHECK(ctx, !si || used == si->used, "swap: %lu slots in use, %lu "
	      "counted", si ? si->used : 0, used);
	CHECK(ctx, frames == mapped_pages + unmapped, "%lu frames in use, "
	      "%lu mapped + %lu only in the swap cache (leak)", frames,
	      mapped_pages, unmapped);
	return 0;
}
