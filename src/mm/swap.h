/* SPDX-License-Identifier: MIT */
/*
 * Swap: a swap device backed by a real file, slots with use counts, and a
 * swap cache so that a page swapped out of several mms comes back as one
 * shared frame.  Swap entries live in non-present PTEs (see mm_types.h).
 *
 * A slot's count is the number of PTEs holding its entry; SWAP_HAS_CACHE
 * marks a frame in the swap cache for it.  A frame in the swap cache holds
 * one reference for the cache and has PG_swapcache and page->private = slot.
 */
#ifndef AVM_MM_SWAP_H
#define AVM_MM_SWAP_H

#include "mm/mm_types.h"

struct pgtable;
struct check_ctx;
struct ptrset;

int swap_init(struct avm_sys *sys);
void swap_destroy(struct avm_sys *sys);
void swap_stats(struct avm_sys *sys, struct avm_stats *st);

static inline pte_t swp_entry_pte(unsigned long slot, bool exclusive)
{
	return ((pte_t)slot << PTE_PFN_SHIFT) |
	       (PTE_TYPE_SWAP << PTE_TYPE_SHIFT) | (exclusive ? PTE_SWP_EXCL : 0);
}
static inline unsigned long swp_offset(pte_t pte)
{
	return pte >> PTE_PFN_SHIFT;
}

/* Fault on a non-present PTE: swap-in (migration entries cannot be met
   while the page lock serialises migration against faults). */
int do_swap_page(struct avm_mm *mm, struct vm_area_struct *vma,
		 unsigned long addr, struct pgtable *pt, pte_t pte, bool write);
/* A PTE holding a swap entry is being cleared / copied by fork. */
void free_swap_pte(struct avm_sys *sys, pte_t pte);
void dup_swap_pte(struct avm_sys *sys, pte_t pte);
/* Drop page from the swap cache if no PTE holds its slot any more.  The
   caller holds the page lock (as Linux's folio_free_swap). */
void try_free_swap(struct avm_sys *sys, struct page *page);
/* A mapping of page just went (unmap, exit, COW copy): if that was the last
   one, drop the page from the swap cache too, as Linux's free_swap_cache
   does, so that nothing is left behind once every user is gone.  Only if
   the page lock is free at once (else reclaim drops it later). */
void free_swap_cache(struct avm_sys *sys, struct page *page);
/* Read what a non-present PTE stands for into buf (PAGE_SIZE bytes). */
void swap_pte_read(struct avm_sys *sys, pte_t pte, unsigned char *buf);

/*
 * Swap-out of one locked page, isolated from the LRU, of which the caller
 * holds exactly one reference: give it a slot and the swap cache, unmap it
 * everywhere through the rmap, write it, and drop it from the cache.
 * Returns 0 when only the caller's reference is left (its put frees the
 * frame), -EBUSY if a mapping was left (e.g. the rmap missed one) or
 * someone else holds the page (it stays in the swap cache), -ENOSPC /
 * -ENOMEM / -EIO otherwise, with every PTE left valid.
 */
int swap_out_page(struct avm_sys *sys, struct page *page);

/*
 * Migration: if old has exactly refs references (so nobody is about to map
 * it from the swap cache), new takes its place in the swap cache, and 0;
 * else -EAGAIN and nothing changes.  Pages not in the swap cache only get
 * the reference check.
 */
int swap_cache_migrate(struct avm_sys *sys, struct page *old,
		       struct page *new, int refs);

int check_swap_pte(struct avm_sys *sys, struct check_ctx *ctx, pte_t pte);
int check_swap(struct avm_sys *sys, struct check_ctx *ctx,
	       struct ptrset *slots, unsigned long mapped_pages,
	       unsigned long cached_mapped);

#endif
