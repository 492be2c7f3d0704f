/* SPDX-License-Identifier: MIT */
/* Functions the mm files share; not part of the public API. */
#ifndef AVM_MM_INTERNAL_H
#define AVM_MM_INTERNAL_H

#include <errno.h>
#include "mm/mm_types.h"

/* ---- page_alloc.c: frames ---------------------------------------------- */
int node_pools_init(struct avm_sys *sys);
void node_pools_destroy(struct avm_sys *sys);
/* A zeroed frame with refcount 1, or NULL (pool empty or injected failure). */
struct page *alloc_page(struct avm_sys *sys, unsigned int node);
/* The same, payload left as it was: for a caller that overwrites all of
   it before anyone can read it (COW copy, migration). */
struct page *alloc_page_nozero(struct avm_sys *sys, unsigned int node);
void put_page(struct avm_sys *sys, struct page *page);
/* Payload of a frame, NULL in metadata-only mode. */
unsigned char *page_address(struct avm_sys *sys, const struct page *page);
void copy_page_payload(struct avm_sys *sys, struct page *dst,
		       const struct page *src);
void lru_add(struct avm_sys *sys, struct page *page);
unsigned long frames_in_use(struct avm_sys *sys);

static inline unsigned int page_node(const struct page *p)
{
	return atomic_load(&p->flags) >> PG_NODE_SHIFT;
}
static inline unsigned long pfn_node_mask(const struct avm_sys *sys)
{
	return (1UL << sys->pfn_shift) - 1;
}
static inline unsigned long page_to_pfn(struct avm_sys *sys,
					const struct page *page)
{
	const struct mem_node *n = &sys->nodes[page_node(page)];

	return n->base_pfn + (unsigned long)(page - n->pages);
}
/* Shifts and masks only: this is on every fault, fork and unmap path. */
static inline struct page *pfn_to_page(struct avm_sys *sys, unsigned long pfn)
{
	unsigned long node = pfn >> sys->pfn_shift;
	unsigned long i = pfn & pfn_node_mask(sys);

	if (node >= sys->nr_nodes || i >= sys->nodes[node].nr_frames)
		return NULL;
	return &sys->nodes[node].pages[i];
}
static inline bool page_test(const struct page *p, uint32_t f)
{
	return atomic_load(&p->flags) & f;
}
static inline void page_set(struct page *p, uint32_t f)
{
	atomic_fetch_or(&p->flags, f);
}
static inline void page_clear(struct page *p, uint32_t f)
{
	atomic_fetch_and(&p->flags, ~f);
}
static inline void get_page(struct page *p)
{
	atomic_fetch_add(&p->_refcount, 1);
}
/* A reference, unless the page is already on its way to the free list
   (for those who found it without holding one: LRU, migration entry). */
static inline bool get_page_unless_zero(struct page *p)
{
	int r = atomic_load(&p->_refcount);

	while (r > 0)
		if (atomic_compare_exchange_weak(&p->_refcount, &r, r + 1))
			return true;
	return false;
}
static inline int page_mapcount(const struct page *p)
{
	return atomic_load(&p->_mapcount);
}
static inline int page_refcount(const struct page *p)
{
	return atomic_load(&p->_refcount);
}
static inline bool page_is_anon(const struct page *p)
{
	return p->mapping & PAGE_MAPPING_ANON;
}
static inline struct anon_vma *page_anon_vma(const struct page *p)
{
	if (!page_is_anon(p))
		return NULL;
	return (struct anon_vma *)(p->mapping & ~PAGE_MAPPING_ANON);
}
/*
 * The page lock, a bit lock in page->flags of class page_lock_class.  A
 * thread holds one page lock, except migration: the new page, locked
 * while the old one is, is taken with lock_page_nested(new, 1).
 */
void __lock_page(struct page *page, unsigned int sub, const char *file,
		 int line);
bool __trylock_page(struct page *page, const char *file, int line);
void __unlock_page(struct page *page, const char *file, int line);
#define lock_page(p)		__lock_page(p, 0, __FILE__, __LINE__)
#define lock_page_nested(p, sub) __lock_page(p, sub, __FILE__, __LINE__)
#define trylock_page(p)		__trylock_page(p, __FILE__, __LINE__)
#define unlock_page(p)		__unlock_page(p, __FILE__, __LINE__)

/* ---- pgtable.c: four-level radix page tables --------------------------- */
int pgd_alloc(struct avm_mm *mm);
void pgd_free(struct avm_mm *mm);
/* The PTE table covering addr: NULL if absent / on allocation failure. */
struct pgtable *pt_lookup(struct avm_mm *mm, unsigned long addr);
struct pgtable *pt_alloc(struct avm_mm *mm, unsigned long addr);
/* pt_lookup for addr inside vma, through the VMA's cached PTE table. */
struct pgtable *vma_pte_table(struct vm_area_struct *vma, unsigned long addr);
typedef int (*pt_table_fn)(struct avm_mm *mm, struct pgtable *pt,
			   unsigned long start, unsigned long end, void *arg);
/* fn for every existing PTE table overlapping [start, end); stops on != 0. */
int pt_for_each_table(struct avm_mm *mm, unsigned long start,
		      unsigned long end, pt_table_fn fn, void *arg);
/* Free every PTE table (and emptied upper table) fully inside the range
   [floor, ceiling) that has no entries left. */
void pt_free_empty(struct avm_mm *mm, unsigned long floor,
		   unsigned long ceiling);
unsigned long pt_count_tables(struct avm_mm *mm);

static inline unsigned int pte_index(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (PT_ENTRIES - 1);
}
/*
 * Entries are changed only under the mm's page_table_lock, but read
 * without it too (the rmap walk's first look, a fault's first look, the
 * upper levels on every lookup): single-copy-atomic accesses, as Linux's
 * ptep_get / set_pte.  Release/acquire publish a new table's zeroed
 * contents with its pointer.
 */
static inline pte_t ptep_get(const struct pgtable *pt, unsigned int i)
{
	return __atomic_load_n(&pt->e[i], __ATOMIC_ACQUIRE);
}
static inline void set_pte(struct pgtable *pt, unsigned int i, pte_t v)
{
	__atomic_store_n(&pt->e[i], v, __ATOMIC_RELEASE);
}
static inline void pt_set(struct pgtable *pt, unsigned int i, pte_t v)
{
	pt->used += (v != 0) - (ptep_get(pt, i) != 0);
	set_pte(pt, i, v);
}
static inline bool pte_present(pte_t p) { return p & PTE_PRESENT; }
static inline unsigned long pte_pfn(pte_t p) { return p >> PTE_PFN_SHIFT; }
static inline pte_t mk_pte(unsigned long pfn, pte_t bits)
{
	return ((pte_t)pfn << PTE_PFN_SHIFT) | PTE_PRESENT | bits;
}
static inline unsigned int pte_nptype(pte_t p)
{
	return (p & PTE_TYPE_MASK) >> PTE_TYPE_SHIFT;
}

/* ---- vma.c: the VMA tree, split and merge ------------------------------ */
/*
 * vm.max_map_count: would mm have more than the limit with `extra` VMAs
 * more than now?  Linux's checks, in these terms: mmap refuses when
 * map_count > limit (extra -1: it may reach limit + 1), a split that
 * must not pass it when map_count >= limit (extra 0), mremap's moves keep
 * a margin of 3 (and of 5 before a fixed move).
 */
static inline bool map_count_exceeds(const struct avm_mm *mm, long extra)
{
	return (long)mm->map_count + extra >= (long)mm->sys->cfg.max_map_count;
}

/* The overcommit heuristic: may one call commit this many more pages? */
static inline bool vm_enough_memory(const struct avm_mm *mm,
				    unsigned long pages)
{
	return pages <= mm->sys->cfg.overcommit_pages;
}

struct vm_area_struct *find_vma(struct avm_mm *mm, unsigned long addr);
struct vm_area_struct *vma_lookup(struct avm_mm *mm, unsigned long addr);
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
/* Last VMA starting below addr (the one before the gap at addr). */
struct vm_area_struct *find_vma_prev(struct avm_mm *mm, unsigned long addr);
struct vm_area_struct *vm_area_alloc(struct avm_mm *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *vma);
void vm_area_free(struct vm_area_struct *vma);
void vma_link(struct avm_mm *mm, struct vm_area_struct *vma);
/* Per-VMA locks (vma_lock.c).  vma_start_write: mmap_lock held for
   writing, no lock below it in the order held; lasts until
   mmap_write_unlock. */
void vma_lock_init(struct vm_area_struct *vma);
void vma_start_write(struct vm_area_struct *vma);
void vma_mark_new(struct vm_area_struct *vma);
/* The VMA covering addr, read-locked, found without mmap_lock; NULL if
   that failed for any reason (the caller falls back to mmap_lock). */
struct vm_area_struct *lock_vma_under_rcu(struct avm_mm *mm,
					  unsigned long addr);
void vma_end_read(struct vm_area_struct *vma);
/* A removed VMA's memory goes after a grace period. */
void vm_area_free_rcu(struct vm_area_struct *vma);
/* Give back the VMAs whose grace period is over. */
void vma_reap(struct avm_sys *sys);
void vma_unlink(struct avm_mm *mm, struct vm_area_struct *vma);
/* Unlink from the tree, drop reverse-map links and free. */
void remove_vma(struct vm_area_struct *vma);
/* Change start/end/pgoff keeping the reverse-map index consistent. */
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, unsigned long pgoff);
/* Split at addr; the part below addr is a new VMA if new_below. */
int split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below);
/* Would these be one VMA if adjacent (flags, pgoff, anon_vma rules)? */
bool anon_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
		    struct vm_area_struct *src);
/*
 * A new range [start, end) with flags and pgoff, whose pages (if any) belong
 * to src (may be NULL): extend prev and/or next over it if the merge rules
 * allow.  src_history: src's fork history counts, as for an mremap copy
 * (Linux's copied_from); not for an in-place grow, where src is prev.
 * Returns the merged VMA, or NULL with *err 0 (no merge) or -ENOMEM.
 */
struct vm_area_struct *vma_merge_new(struct avm_mm *mm, unsigned long start,
				     unsigned long end, unsigned long flags,
				     unsigned long pgoff,
				     struct vm_area_struct *src,
				     bool src_history, int *err);
/*
 * Give [start, end) of vma the flags newflags, merging with neighbours or
 * splitting as needed.  *out is the VMA that now covers the range.
 */
int vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end, unsigned long newflags,
		     struct vm_area_struct **out);

/* ---- memory.c: faults and PTE teardown --------------------------------- */
int handle_mm_fault(struct avm_mm *mm, struct vm_area_struct *vma,
		    unsigned long addr, bool write);
/* Drop every mapping in [start, end) of vma; VMA itself stays. */
void zap_page_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long end);
/* Linear page index of addr in vma (what page->index holds). */
static inline unsigned long linear_page_index(const struct vm_area_struct *v,
					      unsigned long addr)
{
	return ((addr - v->vm_start) >> PAGE_SHIFT) + v->vm_pgoff;
}

/* ---- mmap.c ------------------------------------------------------------ */
int do_munmap(struct avm_mm *mm, unsigned long start, unsigned long len);
void exit_mmap(struct avm_mm *mm);
bool range_is_free(struct avm_mm *mm, unsigned long start, unsigned long end);
/* A free range of len bytes: the hint if it is free, else searching down
   from MMAP_BASE; 0 if none. */
unsigned long get_unmapped_area(struct avm_mm *mm, unsigned long hint,
				unsigned long len);

/* ---- mprotect.c -------------------------------------------------------- */
void change_protection(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned long newflags);

/* ---- sys.c ------------------------------------------------------------- */
/* A point where a race window opens (avm_set_race_hook). */
static inline void race_point(struct avm_sys *sys, enum avm_race_point p,
			      const struct avm_mm *mm, unsigned long addr)
{
	avm_race_hook fn = atomic_load_explicit(&sys->race_hook,
						memory_order_acquire);

	if (unlikely(fn))
		fn(sys->race_arg, p, mm ? mm->id : 0, addr);
}
struct avm_mm *mm_alloc(struct avm_sys *sys);
void mm_free(struct avm_mm *mm);
static inline struct avm_alloc *mm_alloc_ctx(struct avm_mm *mm)
{
	return &mm->sys->alloc;
}

static inline int prot_to_vmflags(int prot)
{
	return ((prot & AVM_PROT_READ) ? VM_READ : 0) |
	       ((prot & AVM_PROT_WRITE) ? VM_WRITE | VM_READ : 0);
}

#endif
