/* SPDX-License-Identifier: MIT */
/*
 * The core objects: frames (struct page), VMAs, address spaces, the system.
 * Reverse-map objects (anon_vma, anon_vma_chain) are in rmap/anon_vma.h.
 *
 * Lock order (outermost first), as in Linux:
 *   mm->mmap_lock                      (rw: read for faults that found
 *                                        no VMA lock, write for
 *                                        mmap/munmap/mprotect/mremap/fork)
 *     vma->vm_lock                     (per VMA: read for faults, write
 *                                        briefly under mmap_lock; vma_lock.c)
 *     page lock (PG_locked)            (rmap walkers: swap-out, migration)
 *       anon_vma->root->rwsem          (write: linking/unlinking chains;
 *                                        read: rmap walks)
 *         mm->page_table_lock          (PTE changes)
 *           swap_info->lock            (slot counts, swap cache)
 *             sys->lock                (pools, LRU, global lists)
 * A walker holding a page reaches an mm through the reverse map without the
 * mmap_lock: it relies on the anon_vma lock keeping the VMA alive, and
 * reaches the anon_vma through page->mapping under rcu_read_lock, with a
 * reference taken only while the page is still mapped (anon_vmas are
 * freed after a grace period).  PTEs are read without the page-table lock
 * too (ptep_get), and whatever such a look decides is checked again under
 * it.  The first fault of a VMA publishes vma->anon_vma under the
 * page-table lock.
 */
#ifndef AVM_MM_TYPES_H
#define AVM_MM_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "anonvm/anonvm.h"
#include "lib/alloc.h"
#include "lib/list.h"
#include "lib/lockdep.h"
#include "lib/rbtree.h"
#include "lib/rcu.h"
#include "mm/locks.h"

#define PAGE_SHIFT	AVM_PAGE_SHIFT
#define PAGE_SIZE	AVM_PAGE_SIZE
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ALIGNED(x)	(((x) & (PAGE_SIZE - 1)) == 0)

/* User addresses: 47 bits, as x86-64 with 4-level tables, whose last page
   is never user space (TASK_SIZE_MAX = 2^47 - PAGE_SIZE). */
#define TASK_SIZE	((1UL << 47) - PAGE_SIZE)
#define MMAP_BASE	(1UL << 46)	/* top of the area non-fixed mmap uses */

struct anon_vma;
struct rmap_ops;

/* ---- frames ---------------------------------------------------------- */

enum pageflags {
	PG_locked	= 1u << 0,
	PG_anon_exclusive = 1u << 1,	/* mapped by exactly one PTE of one mm */
	PG_lru		= 1u << 2,
	PG_active	= 1u << 3,
	PG_referenced	= 1u << 4,
	PG_dirty	= 1u << 5,
	PG_swapcache	= 1u << 6,
	PG_zero		= 1u << 7,	/* the shared zero page */
	PG_free		= 1u << 8,	/* on a node's free list */
};
#define PG_NODE_SHIFT	24		/* node id in the top byte of flags */

/*
 * One frame's metadata; 64 bytes.  The payload is found from the frame
 * number (node->payload + index * PAGE_SIZE), so it needs no pointer.
 */
struct page {
	_Atomic uint32_t flags;
	atomic_int _refcount;
	atomic_int _mapcount;		/* PTEs mapping the page (0-based) */
	uint32_t rmap_count;		/* design-private counter */
	uintptr_t mapping;		/* anon_vma | PAGE_MAPPING_ANON */
	unsigned long index;		/* linear page index (see rmap.h) */
	struct list_head lru;		/* LRU list or node free list */
	unsigned long private;		/* swap entry while PG_swapcache */
	void *rmap_data;		/* design-private (e.g. pte chains) */
};

#define PAGE_MAPPING_ANON	0x1UL

/* ---- page tables ----------------------------------------------------- */

/*
 * PTE encoding (64 bits):
 *   present:      bit 0 = 1; bit 1 write, bit 2 young, bit 3 dirty;
 *                 bits 12.. frame number
 *   non-present:  bit 0 = 0; bits 1-2 type (1 swap, 2 migration read,
 *                 3 migration write); bit 3 exclusive; bits 12.. swap
 *                 offset or frame number
 *   none:         0
 */
typedef uint64_t pte_t;

#define PTE_PRESENT	0x1ULL
#define PTE_WRITE	0x2ULL
#define PTE_YOUNG	0x4ULL
#define PTE_DIRTY	0x8ULL
#define PTE_TYPE_SHIFT	1
#define PTE_TYPE_MASK	(3ULL << PTE_TYPE_SHIFT)
#define PTE_TYPE_SWAP	1ULL
#define PTE_TYPE_MIG_R	2ULL
#define PTE_TYPE_MIG_W	3ULL
#define PTE_SWP_EXCL	0x8ULL
#define PTE_PFN_SHIFT	12

#define PT_LEVELS	4
#define PT_ENTRIES	512
#define PT_SHIFT	9

/* One table of any level; upper levels hold pointers to the next. */
struct pgtable {
	uint32_t used;			/* non-zero entries */
	uint32_t level;			/* 0: PTE table ... 3: top */
	unsigned long base;		/* first address it covers */
	void **rmap_slots;		/* PTE tables of a design with
					   pte_slots: one word per entry */
	uint64_t e[PT_ENTRIES];
};

/* ---- VMAs ------------------------------------------------------------ */

#define VM_READ		0x1UL
#define VM_WRITE	0x2UL
#define VM_DONTCOPY	0x10UL
#define VM_WIPEONFORK	0x20UL
#define VM_HUGEPAGE	0x80UL		/* MADV_HUGEPAGE */
#define VM_NOHUGEPAGE	0x100UL		/* MADV_NOHUGEPAGE */
#define VM_ACCOUNT	0x40UL		/* committed memory: a private
					   mapping that is or was writable */
#define VM_PROT_MASK	(VM_READ | VM_WRITE)

struct vm_area_struct {
	unsigned long vm_start, vm_end;	/* [start, end) */
	unsigned long vm_pgoff;		/* page index of vm_start */
	unsigned long vm_flags;
	struct avm_mm *vm_mm;
	/* The PTE table an rmap walk last used here (vma_pte_table); NULL
	   when the range changes, so it always overlaps the VMA and cannot
	   be freed while cached.  In the first cache line, with the range. */
	_Atomic(struct pgtable *) pt_cache;
	struct rb_node vm_rb;		/* mm->mm_rb, keyed by vm_start */
	struct anon_vma *anon_vma;	/* where new anonymous pages go */
	union {
		struct {
			struct list_head anon_vma_chain;/* this VMA's avcs,
							   newest first */
			struct list_head anon_vma_node;	/* list designs:
							   anon_vma's VMAs */
		};
		struct {		/* removed: waiting for a grace period
					   (src/mm/vma_lock.c) */
			struct rcu_head rcu;
			struct avm_sys *rcu_sys;
			struct vm_area_struct *rcu_next; /* sys->vma_rcu_freed */
		};
	};
	/* The per-VMA lock (Linux 6.4+; src/mm/vma_lock.c): faults hold it
	   for reading instead of mmap_lock.  The VMA is write-locked while
	   vm_lock_seq equals vm_mm->mm_lock_seq. */
	struct avm_rwlock vm_lock;
	atomic_ulong vm_lock_seq;
	atomic_bool detached;		/* out of the tree: lookups fail */
};

static inline unsigned long vma_pages(const struct vm_area_struct *v)
{
	return (v->vm_end - v->vm_start) >> PAGE_SHIFT;
}

/* ---- address spaces -------------------------------------------------- */

struct avm_mm {
	struct avm_sys *sys;
	unsigned long id;
	struct avm_rwlock mmap_lock;
	/* Bumped by every mmap_write_unlock: it ends all VMA write locks
	   taken under it at once (vma_start_write). */
	atomic_ulong mm_lock_seq;
	struct avm_mutex page_table_lock;
	struct rb_root mm_rb;		/* VMAs by address */
	unsigned long map_count;
	struct pgtable *pgd;
	struct list_head mmlist;	/* sys->mms */
	void *rmap_data;		/* design-private (anonmm) */
};

/* ---- the system ------------------------------------------------------ */

struct mem_node {
	unsigned int id;
	unsigned long base_pfn, nr_frames;
	unsigned long next_unused;	/* frames [next_unused, nr) never used */
	unsigned long nr_free;		/* on free_list */
	struct list_head free_list;
	struct list_head lru_active, lru_inactive;
	unsigned long nr_active, nr_inactive;
	struct page *pages;		/* nr_frames entries */
	unsigned char *payload;		/* nr_frames * PAGE_SIZE, or NULL */
};

struct avm_counters {
	atomic_ulong forks, faults, anon_faults, zero_faults, cow_copies,
		     cow_reuses;
	atomic_ulong rmap_walks, rmap_visits, rmap_hits;
	atomic_ulong mremap_moves, mremap_rmap_locked;
	atomic_ulong rmap_copies;	/* pages a design copied (anonmm) */
	atomic_ulong lru_scanned, referenced, pte_unmapped;
	atomic_ulong swap_outs, swap_ins, migrations, migration_entries_removed;
	/* faults under mmap_lock, by why (src/mm/vma_lock.c); the others
	   ran under a VMA lock */
	atomic_ulong vma_lock_miss, vma_lock_no_anon, vma_lock_retries;
};

struct swap_info;

struct avm_sys {
	struct avm_config cfg;
	const struct rmap_ops *rmap;
	struct avm_alloc alloc;
	struct avm_mutex lock;
	struct mem_node *nodes;
	unsigned int nr_nodes;
	unsigned int pfn_shift;		/* pfn = node << pfn_shift | frame */
	struct page *zero_page;		/* node 0, frame 0 */
	struct list_head mms;
	unsigned long next_mm_id;
	struct swap_info *swap;		/* NULL: no swap device */
	struct avm_counters ctr;
	_Atomic(avm_race_hook) race_hook;	/* tests: avm_set_race_hook */
	/* anon_vmas past their grace period, for a library thread to give
	   back to the allocator (the RCU callback thread takes no locks) */
	_Atomic(struct anon_vma *) rcu_freed;
	_Atomic(struct vm_area_struct *) vma_rcu_freed;	/* the same, VMAs */
	void *race_arg;
};

#endif
