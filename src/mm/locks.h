/* SPDX-License-Identifier: MIT */
/*
 * The classes of the kernel's locks and their helpers (names as Linux's:
 * mmap_read_lock, ...).  Each helper binds its lock's class, so that every
 * acquisition is validated against the order below (src/lib/lockdep.h):
 *
 *   mm->mmap_lock
 *     vma->vm_lock                  (per-VMA lock: a fault holds it
 *                                     instead of mmap_lock)
 *       page lock (PG_locked)
 *       anon_vma->root->rwsem
 *         mm->page_table_lock
 *           swap_info->lock             (Linux: swap_lock, swap cache)
 *             sys->lock                 (Linux: zone->lock, lru_lock,
 *                                         mmlist_lock)
 *
 * as mm/rmap.c's comment in Linux 6.x; lock_order_init() declares it, so
 * code contradicting it aborts even before both orders were seen.
 */
#ifndef AVM_MM_LOCKS_H
#define AVM_MM_LOCKS_H

#include "lib/lockdep.h"
#include "lib/sched.h"

extern struct lock_class mmap_lock_class, vma_lock_class, page_lock_class,
	anon_vma_lock_class, ptl_class, swap_lock_class, sys_lock_class;

/* Declare the order above (once; avm_sys_create calls it). */
void lock_order_init(void);

#define mmap_read_lock(mm) avm_read_lock(&(mm)->mmap_lock, &mmap_lock_class)
#define mmap_read_trylock(mm) \
	avm_read_trylock(&(mm)->mmap_lock, &mmap_lock_class)
#define mmap_read_unlock(mm)	avm_rwlock_unlock(&(mm)->mmap_lock)
#define mmap_write_lock(mm) avm_write_lock(&(mm)->mmap_lock, &mmap_lock_class)
#define mmap_write_lock_nested(mm, sub) \
	avm_write_lock_nested(&(mm)->mmap_lock, &mmap_lock_class, sub)
/* Ends every VMA write lock taken under it (vma_start_write), as Linux:
   the release pairs with vma_start_read's acquire of mm_lock_seq. */
#define mmap_write_unlock(mm) do {					\
	atomic_fetch_add_explicit(&(mm)->mm_lock_seq, 1,		\
				  memory_order_release);		\
	avm_rwlock_unlock(&(mm)->mmap_lock);				\
} while (0)

#define ptl_lock(mm) avm_mutex_lock(&(mm)->page_table_lock, &ptl_class)
#define ptl_lock_nested(mm, sub) \
	avm_mutex_lock_nested(&(mm)->page_table_lock, &ptl_class, sub)
#define ptl_unlock(mm)		avm_mutex_unlock(&(mm)->page_table_lock)

#define sys_lock(sys)		avm_mutex_lock(&(sys)->lock, &sys_lock_class)
#define sys_unlock(sys)		avm_mutex_unlock(&(sys)->lock)

#define swap_lock(si)		avm_mutex_lock(&(si)->lock, &swap_lock_class)
#define swap_unlock(si)		avm_mutex_unlock(&(si)->lock)

#endif
