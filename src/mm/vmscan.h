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
/* MADV_PAGEOUT: swap out the range's pages that only this mm maps. */
int reclaim_range(struct vm_area_struct *vma, unsigned long start,
		  unsigned long end);

#endif
