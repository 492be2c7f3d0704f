/* SPDX-License-Identifier: MIT */
/*
 * The reverse-map interface.  The mm code calls these hooks at the points
 * where Linux calls into mm/rmap.c; each design (one file per design in
 * src/rmap/) implements them.  Nothing in src/mm knows which design runs.
 *
 * Page identity: an anonymous page records where it may be mapped through
 * page->mapping (design object | PAGE_MAPPING_ANON) and page->index (the
 * linear page index: (addr - vm_start) / PAGE_SIZE + vm_pgoff of the VMA it
 * was faulted in).  Designs that need something else say so.
 *
 * Locking: hooks that change links (prepare, clone, fork, unlink,
 * adjust_*) are called with the mm's mmap_lock held for writing (prepare:
 * for reading) and take the design's own locks.  walk is called with the
 * page locked and no mmap_lock.
 */
#ifndef AVM_RMAP_H
#define AVM_RMAP_H

#include <stdbool.h>
#include <stddef.h>
#include "mm/mm_types.h"

struct check_ctx;

/* One rmap walk: the design calls rmap_one for every VMA that may map. */
struct rmap_walk_control {
	/* Return false to stop the walk. */
	bool (*rmap_one)(struct page *page, struct vm_area_struct *vma,
			 unsigned long addr, void *arg);
	void *arg;
	/* A design object (anon_vma) the caller holds a reference on
	   (rmap_get_anon): walk it even if the page has no mapping left,
	   only migration entries.  NULL: the walk takes its own. */
	void *anon_ref;
	struct avm_sys *sys;		/* set by rmap_walk / the caller */
	bool anon_locked_ref;		/* the walk's own: a reference held
					   with the lock (contended) */
	unsigned long visits;		/* VMAs the design examined */
	unsigned long hits;		/* of those, where a PTE maps page */
	/* Of visits, those a kernel walk would make: folio_referenced stops
	   once it has found mapcount PTEs, try_to_unmap once the folio is
	   unmapped, i.e. at the hit that uses up the mapcount the walk
	   began with.  Set by rmap_walk_quiet/rmap_walk. */
	unsigned long early_visits;
};

struct rmap_ops {
	const char *name;
	const char *summary;
	bool unsafe;			/* known-broken, for study only */
	bool pte_slots;			/* PTE tables carry one word per PTE
					   for the design (pgtable->rmap_slots,
					   zeroed at allocation) */

	/* Ensure vma->anon_vma exists before its first anonymous page. */
	int (*prepare)(struct vm_area_struct *vma);
	/* dst (a split part, a merge target or an mremap copy) must reach
	   every page src may map.  On failure nothing is linked. */
	int (*clone)(struct vm_area_struct *dst, struct vm_area_struct *src);
	/* dst is src's copy in a forked child.  On failure nothing linked. */
	int (*fork)(struct vm_area_struct *dst, struct vm_area_struct *src);
	/* vma is going away: drop its links. */
	void (*unlink)(struct vm_area_struct *vma);
	/* vm_start/vm_end/vm_pgoff are about to change / have changed. */
	void (*adjust_begin)(struct vm_area_struct *vma);
	void (*adjust_end)(struct vm_area_struct *vma);
	/* May tgt absorb pages of anon_vma src_anon (from VMA src, may be
	   NULL)?  Flags and pgoff were checked already. */
	bool (*mergeable)(struct vm_area_struct *tgt, struct anon_vma *src_anon,
			  struct vm_area_struct *src);

	/* A fresh page is mapped at addr (exclusive: only here). */
	void (*page_add_new)(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr, bool exclusive);
	/* An existing page gains a mapping (fork copy, swap-in); may fail. */
	int (*page_add)(struct page *page, struct vm_area_struct *vma,
			unsigned long addr);
	/* A mapping of page at addr goes away. */
	void (*page_remove)(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr);
	/* An exclusive page is reused by a write fault: re-home it to vma. */
	void (*page_move)(struct page *page, struct vm_area_struct *vma);

	/* Visit every VMA that may map page; returns 0 or -errno.  The
	   page is locked and held; the walk keeps its design objects alive
	   (anon_vma designs: page_lock_anon_vma_read). */
	int (*walk)(struct page *page, struct rmap_walk_control *rwc);
	/* Optional: a reference on the object page->mapping names (NULL if
	   the page is no longer mapped), and its release; for migration. */
	void *(*get_anon)(struct avm_sys *sys, struct page *page);
	void (*put_anon)(struct avm_sys *sys, void *obj);

	/* Design invariants; 0 or -EUCLEAN with ctx message set. */
	int (*check)(struct avm_sys *sys, struct check_ctx *ctx);
	/* Live design objects and their bytes. */
	void (*usage)(struct avm_sys *sys, unsigned long *objects,
		      unsigned long *bytes);

	/*
	 * Optional hooks (NULL: not needed), for designs that record where a
	 * page is mapped by address (pte-chain, anonmm) rather than by VMA.
	 */
	/* mremap is about to move the PTEs of [old_addr, old_addr + len) of
	   vma to new_addr: the destination VMA and its page tables exist,
	   no PTE moved yet.  May replace pages (anonmm copies the ones that
	   may be shared); 0, or -ENOMEM with nothing changed.  mmap_lock
	   held for writing; must not wait for a page lock. */
	int (*prepare_move)(struct vm_area_struct *vma, unsigned long old_addr,
			    unsigned long len, unsigned long new_addr);
	/* The PTE for page (present, or a migration entry naming it) moved
	   from old_addr to new_addr (same mm), under the page-table lock,
	   after the PTE itself.  Cannot fail. */
	void (*move_pte)(struct page *page, struct vm_area_struct *old_vma,
			 unsigned long old_addr, struct vm_area_struct *new_vma,
			 unsigned long new_addr);
	/* fork copies a migration entry naming page to dst at addr (before
	   the child's PTE is set; both page-table locks held); on error
	   (-ENOMEM) the entry is not copied and fork fails. */
	int (*migration_entry_dup)(struct page *page,
				   struct vm_area_struct *dst,
				   unsigned long addr);
	/* A migration entry naming page at addr of vma was cleared (zap),
	   under the page-table lock. */
	void (*migration_entry_drop)(struct page *page,
				     struct vm_area_struct *vma,
				     unsigned long addr);
	/* Migration commits: new (locked, unmapped, only migration entries
	   left) takes over old's rmap_data/rmap_count; replaces the plain
	   copy move_identity makes for designs without this hook. */
	void (*page_migrate)(struct page *old, struct page *new);
	/* The mm's address space is gone (after exit_mmap, before the mm is
	   freed); no lock held. */
	void (*mm_exit)(struct avm_mm *mm);
	/* mremap's copy_vma merged the destination of a move into dst, an
	   existing VMA other than the source: place dst after the source in
	   the order walks follow (2011's anon_vma_moveto_tail), so that a
	   walk racing the PTE move meets the source first.  For designs
	   whose walk order is insertion order (lists).  mmap_lock held for
	   writing; takes the design's own lock. */
	void (*move_tail)(struct vm_area_struct *dst);
	/* A frame whose mapping names a design object is being freed
	   (refcount 0, nobody maps it); page->mapping is still set.  For
	   designs that count the pages naming an object (cow-context). */
	void (*page_free)(struct avm_sys *sys, struct page *page);
	/* Parameters for designs that share one implementation. */
	const void *design_data;
};

const struct rmap_ops *rmap_find(const char *name);

/* Address of page index pgoff in vma, or -EFAULT-ish ~0UL if outside. */
static inline unsigned long vma_address(const struct vm_area_struct *vma,
					unsigned long pgoff)
{
	unsigned long addr;

	if (pgoff < vma->vm_pgoff || pgoff - vma->vm_pgoff >= vma_pages(vma))
		return ~0UL;
	addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	return addr;
}

/*
 * Wrappers the mm code calls: they keep mapcount and counters and call the
 * design.  The PTE itself is set by the caller under the page-table lock.
 */
void rmap_add_new(struct page *page, struct vm_area_struct *vma,
		  unsigned long addr, bool exclusive);
int rmap_add(struct page *page, struct vm_area_struct *vma,
	     unsigned long addr);
void rmap_remove(struct page *page, struct vm_area_struct *vma,
		 unsigned long addr);
/* The same without counting into the system's statistics: for the
   checker, whose walks must not show in what users measure. */
int rmap_walk_quiet(struct avm_sys *sys, struct page *page,
		    struct rmap_walk_control *rwc);
/* Walk page's reverse map; counts into sys counters and rwc. */
int rmap_walk(struct avm_sys *sys, struct page *page,
	      struct rmap_walk_control *rwc);
/* ops->get_anon/put_anon, or NULL / nothing for designs without them. */
void *rmap_get_anon(struct avm_sys *sys, struct page *page);
void rmap_put_anon(struct avm_sys *sys, void *obj);
/* Does vma map page at addr (the PTE check every walker makes)? */
bool page_mapped_at(struct avm_sys *sys, struct page *page,
		    struct vm_area_struct *vma, unsigned long addr);

#endif
