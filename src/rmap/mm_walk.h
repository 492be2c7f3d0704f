/* SPDX-License-Identifier: MIT */
/*
 * Walking mms for the designs that find a page's mappings by (mm, address)
 * instead of through VMA-linked objects (pte-chain, anonmm).
 *
 * Such a walk must look up the VMA at an address, so it needs the mm's
 * mmap_lock for reading.  It holds the page lock, which nests inside
 * mmap_lock: it may only try the lock (as 2.5's try_to_unmap_one tried
 * the page_table_lock).  To stay exact, a busy mm is not skipped but
 * retried once its writer is done, so the walk runs in rounds: a round
 * takes, under the design's own lock (chain lock, family lock), the read
 * lock of every candidate mm it can, drops the design lock, visits them
 * and unlocks them.  Usually one round does it all; only after a busy mm
 * does the walk remember (by mm id) which mms it has visited, and go on
 * until a round meets no busy mm.
 *
 * Holding mmap_lock for reading keeps the mm and its VMAs alive: an mm
 * goes away only after exit_mmap, which takes it for writing (a design
 * whose lists outlive exit_mmap waits for it once more).  Writers never
 * wait for a page lock while they hold mmap_lock (the designs' mremap
 * hooks neither), so waiting for them with page locks held is safe.
 */
#ifndef AVM_RMAP_MM_WALK_H
#define AVM_RMAP_MM_WALK_H

#include <stdbool.h>
#include "lib/ptrset.h"
#include "mm/mm_types.h"

struct mm_walk {
	struct ptrset done;	/* ids visited, once a round met a busy mm */
	bool tracking;		/* done is in use */
	bool busy;		/* this round met a write-locked mm */
	int err;
	struct avm_mm **locked;	/* this round's read-locked mms */
	size_t nlocked, cap;
	struct avm_mm *local[16];
};

void mmw_init(struct mm_walk *w);
/* Returns the walk's error (-ENOMEM), or 0. */
int mmw_destroy(struct mm_walk *w);
/*
 * Under the design lock: may this round visit mm?  1: yes (it is now
 * read-locked until mmw_end_round), 0: not in this round (visited before,
 * or busy), -ENOMEM.
 */
int mmw_take(struct mm_walk *w, struct avm_mm *mm);
/* Unlock this round's mms; true if another round is needed (a busy mm:
   it waits for the writer first).  stop: the walk ends anyway. */
bool mmw_end_round(struct mm_walk *w, bool stop);

#endif
