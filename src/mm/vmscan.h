/* SPDX-License-Identifier: MIT */
/* Reclaim: LRU aging through page_referenced, and swap-out. */
#ifndef AVM_MM_VMSCAN_H
#define AVM_MM_VMSCAN_H

#include "mm/mm_types.h"

/*
 * Walk the rmap of page, test and clear the young bit of every PTE that
 * maps it; returns the number of mappings that had it set.
 */
unsigned long page_referenced(struct avm_sys *sys, struct page *page);
/*
 * Take page off its LRU list (as Linux's folio_isolate_lru) so that reclaim
 * and migration never work on the same page; false if it is not on one
 * (someone else has it isolated).  putback_lru_page returns it to the list
 * its PG_active flag names.  Neither touches the reference count.
 */
bool isolate_lru_page(struct avm_sys *sys, struct page *page);
void putback_lru_page(struct avm_sys *sys, struct page *page);
/* MADV_PAGEOUT: swap out the range's pages that only this mm maps. */
int reclaim_range(struct vm_area_struct *vma, unsigned long start,
		  unsigned long end);

#endif
