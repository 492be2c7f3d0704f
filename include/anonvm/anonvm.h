/* SPDX-License-Identifier: MIT */
/*
 * libanonvm: the anonymous-memory half of the Linux memory manager, in
 * userspace, built around the anon_vma reverse map.
 *
 * A *system* owns memory nodes (frame pools), the shared zero page and the
 * reverse-map design in use.  An *mm* is one simulated process: a tree of
 * VMAs and a four-level page table.  Operations mirror the Linux system
 * calls of the same name and return 0 or a negative errno, never crash, and
 * back out completely when an allocation fails.
 *
 * Addresses and lengths are bytes; pages are AVM_PAGE_SIZE.  Every function
 * may be called from any thread at once with any other, on any mm (of one
 * fork family too, several threads on one mm as threads of a process),
 * except avm_check, and avm_sys_destroy and avm_exit of what others still
 * use; see docs/locking.md for the locks and their order.
 */
#ifndef ANONVM_H
#define ANONVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AVM_PAGE_SHIFT	12
#define AVM_PAGE_SIZE	(1UL << AVM_PAGE_SHIFT)

struct avm_sys;
struct avm_mm;

/* ---- the system ------------------------------------------------------ */

enum avm_payload {
	AVM_PAYLOAD_FULL,	/* every frame holds AVM_PAGE_SIZE real bytes */
	AVM_PAYLOAD_NONE,	/* metadata only: writes are dropped, reads
				   return zeroes (for scale runs) */
};

/* Transparent huge pages: when an anonymous fault may map a large folio. */
enum avm_thp_mode {
	AVM_THP_NEVER,		/* never */
	AVM_THP_MADVISE,	/* in VMAs given AVM_MADV_HUGEPAGE */
	AVM_THP_ALWAYS,		/* in every VMA but AVM_MADV_NOHUGEPAGE ones */
};
#define AVM_PMD_ORDER	9	/* a PMD maps 2^9 pages: 2 MiB */
#define AVM_PMD_SIZE	(AVM_PAGE_SIZE << AVM_PMD_ORDER)

#define AVM_DEFAULT_MAX_MAP_COUNT	65530	/* Linux's vm.max_map_count */

struct avm_config {
	unsigned int nodes;		/* memory nodes (default 1) */
	size_t node_frames;		/* frames per node (default 1 << 21);
					   reserved lazily, not committed */
	enum avm_payload payload;	/* default AVM_PAYLOAD_FULL */
	const char *design;		/* reverse-map design; NULL: "linux" */
	size_t swap_slots;		/* swap device size in pages (default
					   1 << 18); 0: no swap */
	const char *swap_file;		/* backing file; NULL: an unlinked
					   temporary file in $TMPDIR or /tmp */
	unsigned long max_map_count;	/* VMAs an mm may have, as Linux's
					   vm.max_map_count (default 65530;
					   0: the default).  mmap fails with
					   -ENOMEM above it, and so do the
					   splits of mprotect, madvise,
					   munmap and mremap that would pass
					   it, with Linux's margins */
	unsigned long overcommit_pages;	/* Linux's default overcommit
					   heuristic (vm.overcommit_memory
					   0): committing more pages than
					   this in one call - a writable
					   private mmap, mprotect making one
					   writable, mremap growing one -
					   fails with -ENOMEM.  Linux: total
					   RAM + swap.  0: nodes * node_frames
					   + swap_slots; ~0UL: no limit */
	/* Transparent huge pages (docs/thp.md), as the host's
	   /sys/kernel/mm/transparent_hugepage: */
	enum avm_thp_mode thp;		/* "enabled": default AVM_THP_NEVER,
					   where anonvm maps base pages only */
	unsigned long thp_orders;	/* folio orders an anonymous fault
					   may allocate, bit n for order n
					   (2..AVM_PMD_ORDER), as the
					   hugepages-*kB/enabled files;
					   0: AVM_PMD_ORDER only */
	bool thp_no_zero_page;		/* use_zero_page 0: a read fault in
					   a huge range maps the base zero
					   page, not the huge one */
};

void avm_config_default(struct avm_config *cfg);
int avm_sys_create(const struct avm_config *cfg, struct avm_sys **out);
/* Exits every remaining mm and frees everything. */
void avm_sys_destroy(struct avm_sys *sys);

/* Names of the available reverse-map designs, NULL-terminated. */
const char *const *avm_designs(void);
/* One-line description of a design, NULL if unknown. */
const char *avm_design_summary(const char *name);
/* Is the design known to be broken (kept for study, never the default)? */
bool avm_design_unsafe(const char *name);
/* Is it a race variant: a safe design with one of the kernel's race fixes
   removed (tests/races), the same as its original when run alone? */
bool avm_design_race_variant(const char *name);

/* ---- processes ------------------------------------------------------- */

int avm_mm_create(struct avm_sys *sys, struct avm_mm **out);
/* Copy-on-write fork: *child gets a copy of every VMA but VM_DONTCOPY ones. */
int avm_fork(struct avm_mm *parent, struct avm_mm **child);
/* Tear the address space down.  Cannot fail. */
void avm_exit(struct avm_mm *mm);
/* Small integer naming the mm in messages (1, 2, ... in creation order). */
unsigned long avm_mm_id(const struct avm_mm *mm);

/* ---- address-space operations ---------------------------------------- */

#define AVM_PROT_NONE	0
#define AVM_PROT_READ	1
#define AVM_PROT_WRITE	2

#define AVM_MAP_FIXED		0x1	/* at addr, replacing what is there */
#define AVM_MAP_FIXED_NOREPLACE	0x2	/* at addr; -EEXIST on overlap */

/* Private anonymous mapping.  Without a FIXED flag addr is a hint. */
int avm_mmap(struct avm_mm *mm, unsigned long addr, unsigned long len,
	     int prot, int flags, unsigned long *mapped);
int avm_munmap(struct avm_mm *mm, unsigned long addr, unsigned long len);
int avm_mprotect(struct avm_mm *mm, unsigned long addr, unsigned long len,
		 int prot);

#define AVM_MREMAP_MAYMOVE	0x1
#define AVM_MREMAP_FIXED	0x2
#define AVM_MREMAP_DONTUNMAP	0x4

int avm_mremap(struct avm_mm *mm, unsigned long old_addr,
	       unsigned long old_len, unsigned long new_len, int flags,
	       unsigned long new_addr, unsigned long *result);

enum avm_advice {
	AVM_MADV_DONTNEED,
	AVM_MADV_DONTFORK,
	AVM_MADV_DOFORK,
	AVM_MADV_WIPEONFORK,
	AVM_MADV_KEEPONFORK,
	AVM_MADV_PAGEOUT,	/* reclaim pages mapped only by this mm */
	AVM_MADV_HUGEPAGE,	/* VM_HUGEPAGE: THP allowed (mode madvise) */
	AVM_MADV_NOHUGEPAGE,	/* VM_NOHUGEPAGE: THP never here */
};

int avm_madvise(struct avm_mm *mm, unsigned long addr, unsigned long len,
		enum avm_advice advice);

/* ---- memory access --------------------------------------------------- */

/*
 * Loads and stores as a CPU would do them: they fault pages in, break COW,
 * and return -EFAULT where the process has no such access.  On -EFAULT the
 * bytes before the faulting page have been transferred.
 */
int avm_read(struct avm_mm *mm, unsigned long addr, void *buf, size_t len);
int avm_write(struct avm_mm *mm, unsigned long addr, const void *buf,
	      size_t len);
int avm_fill(struct avm_mm *mm, unsigned long addr, int byte, size_t len);
/*
 * What the process would read, without faulting, without setting accessed
 * bits and ignoring protection: for checkers and tools.  -EFAULT outside
 * every VMA.
 */
int avm_peek(struct avm_mm *mm, unsigned long addr, void *buf, size_t len);

/* ---- reclaim and migration ------------------------------------------- */

/*
 * Global reclaim: age the LRU lists and swap out up to nr pages, shared
 * ones included.  *reclaimed (may be NULL) gets the number freed.
 * -ENOSPC without a swap device.
 */
int avm_reclaim(struct avm_sys *sys, unsigned long nr,
		unsigned long *reclaimed);
/*
 * Move the frames of the present anonymous pages holding addr, addr +
 * AVM_PAGE_SIZE, ... (len rounded up to pages; no alignment needed, len 0
 * does nothing) to memory node `node`, updating every mapping through the
 * reverse map, as move_pages(2) with those addresses.  Pages that are not
 * there are skipped.  *moved (may be NULL) gets the number of pages moved.
 */
int avm_migrate(struct avm_mm *mm, unsigned long addr, unsigned long len,
		unsigned int node, unsigned long *moved);

/* ---- introspection --------------------------------------------------- */

#define AVM_VMA_DONTCOPY	0x1
#define AVM_VMA_WIPEONFORK	0x2
#define AVM_VMA_HUGEPAGE	0x4	/* AVM_MADV_HUGEPAGE */
#define AVM_VMA_NOHUGEPAGE	0x8	/* AVM_MADV_NOHUGEPAGE */

struct avm_vma_info {
	unsigned long start, end, pgoff;
	int prot;
	unsigned int flags;		/* AVM_VMA_* */
	bool has_anon_vma;
	unsigned int chain_len;		/* reverse-map links of this VMA */
};

/* Fills up to n entries in address order; returns the number of VMAs. */
long avm_vmas(struct avm_mm *mm, struct avm_vma_info *buf, size_t n);

enum avm_pte_state {
	AVM_PTE_NONE,
	AVM_PTE_PRESENT,
	AVM_PTE_SWAP,
	AVM_PTE_MIGRATION,
};

struct avm_page_info {
	enum avm_pte_state state;
	unsigned long pfn;		/* present/migration: frame number */
	bool zero;			/* the shared zero page */
	bool writable, young, dirty;	/* PTE bits */
	bool exclusive;			/* AnonExclusive */
	unsigned int mapcount, refcount;
	unsigned int node;
	unsigned long index;		/* page->index */
	unsigned long swap_slot;	/* swap: slot */
	/* large folios (THP): */
	unsigned int order;		/* the folio's order; 0: a base page */
	bool pmd_mapped;		/* mapped here by a huge PMD entry */
	bool huge_zero;			/* the huge zero page */
	unsigned int folio_mapcount;	/* the folio's mappings: entire
					   (PMD) ones plus every page's */
};

int avm_page_info(struct avm_mm *mm, unsigned long addr,
		  struct avm_page_info *info);
/*
 * The first page at or above addr, below end, whose page table entry is not
 * empty (present, swap or migration entry) in *found; -ENOENT if there is
 * none.  Costs in proportion to the page tables that exist, not to the
 * length of the range: with it, a walk over a huge untouched mapping is
 * cheap.
 */
int avm_next_page(struct avm_mm *mm, unsigned long addr, unsigned long end,
		  unsigned long *found);

struct avm_stats {
	/* live objects */
	unsigned long mms, vmas, anon_vmas, avcs, rmap_objects;
	unsigned long frames_used, frames_total, page_tables;
	unsigned long rmap_bytes;	/* bytes of live reverse-map metadata */
	/* events since creation */
	unsigned long forks, faults, anon_faults, zero_faults, cow_copies,
		      cow_reuses;
	unsigned long allocs, alloc_failures;
	unsigned long rmap_walks, rmap_visits, rmap_hits;
	unsigned long mremap_moves;	/* mremap moves of VMAs */
	unsigned long mremap_rmap_locked; /* of those, under the anon_vma lock
					     (destination sorts before source) */
	unsigned long rmap_copies;	/* pages the design had to copy to
					   stay correct (anonmm: shared pages
					   moved by mremap) */
	/* reclaim and migration */
	unsigned long lru_scanned, referenced, pte_unmapped;
	unsigned long swap_outs, swap_ins, swap_slots_used, swap_cache_pages;
	unsigned long migrations, migration_entries_removed;
	/* faults by the lock they ran under (per-VMA locks, Linux 6.4+):
	   faults = vma_lock_faults + vma_lock_miss + vma_lock_no_anon */
	unsigned long vma_lock_faults;	/* the VMA's lock, not mmap_lock */
	unsigned long vma_lock_miss;	/* mmap_lock: the lockless lookup or
					   the VMA's trylock failed (a
					   writer at work, no VMA there) */
	unsigned long vma_lock_no_anon;	/* mmap_lock: the VMA had no
					   anon_vma yet (its first fault) */
	unsigned long vma_lock_retries;	/* faults under the VMA lock that
					   asked to be redone under
					   mmap_lock (vmf_anon_prepare) */
};

void avm_stats(struct avm_sys *sys, struct avm_stats *st);

struct avm_walk_stats {
	unsigned long walks;		/* frames walked */
	unsigned long visits;		/* VMAs (or PTE slots) examined */
	unsigned long hits;		/* mappings actually found */
	/* of visits, those a kernel walk makes: it stops at the mapping
	   that uses up the frame's mapcount (folio_referenced,
	   try_to_unmap) */
	unsigned long early_visits;
};

/* Walk the reverse map of the frame mapped at addr; -EFAULT if none. */
int avm_rmap_walk_addr(struct avm_mm *mm, unsigned long addr,
		       struct avm_walk_stats *ws);
/* Walk the reverse map of every anonymous frame in use. */
int avm_rmap_walk_all(struct avm_sys *sys, struct avm_walk_stats *ws);
/* Walk the reverse map of frame pfn (avm_page_info's pfn); -EINVAL if it
   is not an anonymous frame mapped somewhere. */
int avm_rmap_walk_pfn(struct avm_sys *sys, unsigned long pfn,
		      struct avm_walk_stats *ws);

/*
 * Verify every invariant (docs/invariants.md).  0 if all hold, else
 * -EUCLEAN with the first violation described in msg.  Needs a quiescent
 * system: no other call on it in progress.
 */
int avm_check(struct avm_sys *sys, char *msg, size_t len);

struct avm_sizes {
	size_t page, vma, anon_vma, avc, mm;
};
void avm_sizes(struct avm_sys *sys, struct avm_sizes *sz);

/* ---- race windows (for tests) ---------------------------------------- */
enum avm_race_point {
	AVM_RACE_MIGRATE_VISIT,	/* migration's rmap walk that puts the
				   entries back, before each VMA it visits:
				   mm and address the page has there */
	AVM_RACE_MREMAP_MOVE,	/* mremap: the destination VMA is linked,
				   the PTEs are about to move to (mm, addr) */
	AVM_RACE_MREMAP_MOVED,	/* mremap: they have moved there */
	AVM_RACE_ANON_VMA_GET,	/* an rmap walk read page->mapping and saw
				   the page mapped, inside its RCU read
				   section, and is about to try the anon_vma's
				   lock or take a reference on it (addr: the
				   frame number) */
};
typedef void (*avm_race_hook)(void *arg, enum avm_race_point point,
			      unsigned long mm_id, unsigned long addr);
/*
 * fn(arg, point, ...) runs, in whichever thread gets there, at each point
 * where a race window opens, until it is reset with fn NULL: a test can
 * wait there (a preemption point) to make a rare interleaving likely.
 */
void avm_set_race_hook(struct avm_sys *sys, avm_race_hook fn, void *arg);

/* ---- fault injection ------------------------------------------------- */

/* Fail the nth allocation from now (1 = the next one); 0 turns it off. */
void avm_fail_nth(struct avm_sys *sys, unsigned long n);
/* Fail each allocation with probability p (0 turns it off). */
void avm_fail_random(struct avm_sys *sys, double p, uint64_t seed);
/* Allocations attempted so far (for iterating over failure points). */
unsigned long avm_alloc_count(struct avm_sys *sys);
/* Allocations that failed so far (injected or out of frames). */
unsigned long avm_alloc_failures(struct avm_sys *sys);

/* ---- locks ------------------------------------------------------------ */

/*
 * Lock statistics, per lock class ("mm->mmap_lock", "page lock", ...),
 * process-wide (every system).  Times in ns; a contention is an
 * acquisition that found the lock taken (it waited, or a trylock failed).
 */
struct avm_lockstat {
	const char *name;		/* the class: static storage */
	unsigned long acquisitions, contentions;
	uint64_t wait_ns, wait_max_ns;	/* waiting for the lock */
	uint64_t hold_ns, hold_max_ns;	/* holding it */
	/* of the totals, the shared (read) side of a rwlock: the rest is
	   exclusive */
	unsigned long read_acquisitions;
	uint64_t read_wait_ns, read_hold_ns;
};
/* Start (clearing the counts) or stop collecting: 0, or -ENOSYS when
   built without lock tracking (make LOCKDEP=0). */
int avm_lockstat_enable(bool on);
/* Fill up to n entries, one per class used since enabling, in order of
   first use; returns how many there are. */
long avm_lockstat(struct avm_lockstat *buf, size_t n);
/* The lock validator is on (built in; $ANONVM_LOCKDEP=1, or unset in a
   sanitizer build): a lock order inversion, a recursive acquisition or a
   lock held when an avm_* function returns aborts the process with both
   orders named. */
bool avm_lockdep_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
