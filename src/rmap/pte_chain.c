/* SPDX-License-Identifier: MIT */
/*
 * pte-chain: the reverse map of Linux 2.5 (2002, Rik van Riel; mm/rmap.c
 * until 2.6.6).  Every frame keeps the list of the PTEs that map it, so a
 * walk visits exactly the mappings (visits == hits == mapcount), at the
 * price of memory per mapping and of work at every fork, unmap and exit.
 *
 * An entry names a PTE by (mm, address): 2.5 stored the PTE's own address,
 * which this model's page tables do not expose, and a (vma, address) entry
 * would go stale at every split, merge and mremap.  The walk finds the VMA
 * at the address, under the mm's mmap_lock (see mm_walk.h).
 *
 * The "direct" optimisation of 2.5 (PG_direct): a frame mapped once keeps
 * its single entry inline - page->rmap_data = mm | PTE_DIRECT and
 * page->index = the virtual page number - so a fresh fault never
 * allocates.  A second mapping moves both entries into a pte_chain block
 * (AK_RMAP_OTHER, NRPTE entries; the head block is the partly filled one,
 * every other block full, as 2.5's), which may fail with -ENOMEM (fork
 * unwinds).  Going back to one mapping returns to direct.  page->rmap_count
 * is the number of entries.
 *
 * The hooks that other designs need (prepare, clone, fork, unlink, adjust)
 * have nothing to do: there are no per-VMA objects, and every VMA merge the
 * flags and offsets allow is fine.  vma->anon_vma is only a marker ("has
 * anonymous pages", which the mm code tests): the static ptc_marker.
 *
 * What the mm code does to PTEs behind the rmap's back:
 *  - mremap moves PTEs: move_pte rewrites the entry's address in place
 *    (cannot fail, so a move cannot stop half-way);
 *  - swap-out replaces a PTE by a swap entry and removes the mapping: the
 *    entry goes; swap-in maps the frame again and adds one (a swapped page
 *    has no frame and needs no chain);
 *  - migration replaces PTEs by migration entries that name the old frame
 *    and must be found again from the new one: such an entry stays on the
 *    chain (page_remove sees the migration entry and keeps it), the chain
 *    moves to the new frame at the commit (page_migrate, which leaves a
 *    forwarding pointer in the old frame for the rest of the migration),
 *    and fork copying / zap clearing a migration entry meanwhile add /
 *    drop its chain entry (migration_entry_dup / _drop).
 *
 * Removal is O(1): 2.5 searched the chain for the PTE, which makes a COW
 * fault on a frame mapped by N processes cost N.  Here every PTE table
 * has a slot per PTE (rmap_ops.pte_slots) holding the address of the PTE's
 * chain entry while its frame has a chain (NULL otherwise: direct, or not
 * mapped), so an entry is found from its (mm, address) by a page-table
 * lookup; an entry that moves (the hole filling at removal, mremap)
 * updates its slot.
 *
 * Locking: a chain is protected by one of a table of hashed spinlocks
 * (2.5's pte_chain_lock bit), taken inside the page-table lock.  A slot
 * belongs to the chain of the frame its PTE maps and is written under that
 * chain's lock.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "rmap/anon_vma.h"
#include "rmap/mm_walk.h"
#include "rmap/rmap.h"

#define NRPTE		3		/* entries per block: 8 + 3 * 16 bytes */
#define PTE_DIRECT	0x1UL		/* rmap_data: mm | PTE_DIRECT */
#define PTE_FORWARD	0x2UL		/* rmap_data: new page | PTE_FORWARD */
#define PTE_TAGS	(PTE_DIRECT | PTE_FORWARD)

struct pte_entry {
	struct avm_mm *mm;
	unsigned long addr;
};

struct pte_chain {
	struct pte_chain *next;
	struct pte_entry e[NRPTE];
};

/* The anon_vma the mm code sees in vma->anon_vma and page->mapping. */
static struct anon_vma ptc_marker = {
	.root = &ptc_marker,
	.parent = &ptc_marker,
	.rwsem = { PTHREAD_RWLOCK_INITIALIZER },
};

/* ---- chain locks ------------------------------------------------------- */

#define NR_CHAIN_LOCKS	1024
static atomic_uint chain_locks[NR_CHAIN_LOCKS];

static atomic_uint *chain_lock_of(const struct page *page)
{
	return &chain_locks[((uintptr_t)page / sizeof(*page)) % NR_CHAIN_LOCKS];
}

/* Inside the page-table lock; two only in migration (nested). */
static DEFINE_LOCK_CLASS(chain_lock_class, "pte_chain lock");

static void __chain_lock(const struct page *page, unsigned int sub,
			 const char *file, int line)
{
	atomic_uint *l = chain_lock_of(page);
	bool track = atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed);
	uint64_t t0;

	if (track)
		lock_acquire(l, &chain_lock_class, sub, 0, file, line);
	if (sched_controlled()) {
		sched_point(SK_ACQUIRE, chain_lock_class.name);
		while (atomic_exchange_explicit(l, 1, memory_order_acquire))
			sched_wait(l, chain_lock_class.name);
		lock_acquired(l, false, 0);
		return;
	}
	if (!atomic_exchange_explicit(l, 1, memory_order_acquire)) {
		if (track)
			lock_acquired(l, false, 0);
		return;
	}
	t0 = lockstat_clock();
	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		sched_yield();
	if (track)
		lock_acquired(l, true, lockstat_clock() - t0);
}

static void __chain_unlock(const struct page *page, const char *file,
			   int line)
{
	atomic_uint *l = chain_lock_of(page);

	if (atomic_load_explicit(&lock_tracking, memory_order_relaxed))
		lock_release(l, file, line);
	atomic_store_explicit(l, 0, memory_order_release);
	if (sched_controlled()) {
		sched_wake(l);
		sched_point(SK_RELEASE, chain_lock_class.name);
	}
}

#define chain_lock(page)	__chain_lock(page, 0, __FILE__, __LINE__)
#define chain_lock_nested(page, sub) \
	__chain_lock(page, sub, __FILE__, __LINE__)
#define chain_unlock(page)	__chain_unlock(page, __FILE__, __LINE__)

/*
 * Lock the chain of page, following the forwarding pointer a committed
 * migration leaves in the old frame (the migration entries still name the
 * old frame, the chain is on the new one).  Returns the page locked.
 */
static struct page *chain_lock_follow(struct page *page)
{
	for (;;) {
		uintptr_t d;

		chain_lock(page);
		d = (uintptr_t)page->rmap_data;
		if (!(d & PTE_FORWARD))
			return page;
		chain_unlock(page);
		page = (struct page *)(d & ~PTE_TAGS);
	}
}

/* ---- slots: PTE -> its chain entry ------------------------------------- */

/* The slot of the PTE at addr; its table exists while the PTE is set. */
static struct pte_entry **slot_of(struct avm_mm *mm, unsigned long addr)
{
	struct pgtable *pt = pt_lookup(mm, addr);

	return pt ? (struct pte_entry **)&pt->rmap_slots[pte_index(addr)] : NULL;
}

static void slot_set(struct pte_entry *e)
{
	struct pte_entry **s = slot_of(e->mm, e->addr);

	if (s)
		*s = e;
}

static void slot_clear(struct avm_mm *mm, unsigned long addr)
{
	struct pte_entry **s = slot_of(mm, addr);

	if (s)
		*s = NULL;
}

/* ---- the chain (chain lock held) --------------------------------------- */

static struct avm_sys *page_sys(const struct vm_area_struct *vma)
{
	return vma->vm_mm->sys;
}

static bool is_direct(const struct page *page)
{
	return (uintptr_t)page->rmap_data & PTE_DIRECT;
}

static struct pte_chain *chain_head(const struct page *page)
{
	return is_direct(page) ? NULL : page->rmap_data;
}

/* Entries used in the head block: all other blocks are full. */
static unsigned int head_used(const struct page *page)
{
	return (page->rmap_count - 1) % NRPTE + 1;
}

static void set_direct(struct page *page, struct avm_mm *mm,
		       unsigned long addr)
{
	page->rmap_data = (void *)((uintptr_t)mm | PTE_DIRECT);
	page->index = addr >> PAGE_SHIFT;
	page->rmap_count = 1;
}

static struct avm_mm *direct_mm(const struct page *page)
{
	return (struct avm_mm *)((uintptr_t)page->rmap_data & ~PTE_TAGS);
}

static struct pte_chain *block_alloc(struct avm_sys *sys)
{
	return avm_kmalloc(&sys->alloc, AK_RMAP_OTHER, sizeof(struct pte_chain));
}

static void block_free(struct avm_sys *sys, struct pte_chain *pc)
{
	avm_kfree(&sys->alloc, AK_RMAP_OTHER, pc, sizeof(*pc));
}

/* Append (mm, addr); only a second or a (NRPTE*k + 1)th entry allocates. */
static int chain_add(struct avm_sys *sys, struct page *page,
		     struct avm_mm *mm, unsigned long addr)
{
	struct pte_chain *pc, *head;

	if (!page->rmap_count) {
		set_direct(page, mm, addr);
		return 0;
	}
	if (is_direct(page)) {
		pc = block_alloc(sys);
		if (!pc)
			return -ENOMEM;
		pc->next = NULL;
		pc->e[0] = (struct pte_entry){ direct_mm(page),
					       page->index << PAGE_SHIFT };
		pc->e[1] = (struct pte_entry){ mm, addr };
		page->rmap_data = pc;
		page->rmap_count = 2;
		slot_set(&pc->e[0]);
		slot_set(&pc->e[1]);
		return 0;
	}
	head = chain_head(page);
	if (head_used(page) < NRPTE) {
		pc = head;
		pc->e[head_used(page)] = (struct pte_entry){ mm, addr };
		slot_set(&pc->e[head_used(page)]);
	} else {
		pc = block_alloc(sys);
		if (!pc)
			return -ENOMEM;
		pc->next = head;
		pc->e[0] = (struct pte_entry){ mm, addr };
		page->rmap_data = pc;
		slot_set(&pc->e[0]);
	}
	page->rmap_count++;
	return 0;
}

/* The chain entry of (mm, addr), by its slot: O(1). */
static struct pte_entry *chain_find(struct page *page, struct avm_mm *mm,
				    unsigned long addr)
{
	struct pte_entry **s;

	if (is_direct(page) || !page->rmap_count)
		return NULL;
	s = slot_of(mm, addr);
	if (!s || !*s || (*s)->mm != mm || (*s)->addr != addr)
		return NULL;
	return *s;
}

static bool direct_is(const struct page *page, const struct avm_mm *mm,
		      unsigned long addr)
{
	return is_direct(page) && direct_mm(page) == mm &&
	       page->index == addr >> PAGE_SHIFT;
}

/* Remove (mm, addr): the head's last entry fills the hole; never allocates. */
static bool chain_del(struct avm_sys *sys, struct page *page,
		      struct avm_mm *mm, unsigned long addr)
{
	struct pte_chain *head;
	struct pte_entry *e;
	unsigned int last;

	if (is_direct(page)) {
		if (!direct_is(page, mm, addr))
			return false;
		page->rmap_data = NULL;
		page->rmap_count = 0;
		return true;
	}
	e = chain_find(page, mm, addr);
	if (!e)
		return false;
	head = chain_head(page);
	last = head_used(page) - 1;
	slot_clear(mm, addr);
	if (e != &head->e[last]) {
		*e = head->e[last];
		slot_set(e);
	}
	page->rmap_count--;
	if (!last) {
		page->rmap_data = head->next;
		block_free(sys, head);
		head = page->rmap_data;
	}
	if (page->rmap_count == 1) {	/* back to direct */
		struct pte_entry only = head->e[0];

		block_free(sys, head);
		slot_clear(only.mm, only.addr);
		set_direct(page, only.mm, only.addr);
	}
	return true;
}

/* The PTE at addr of mm (page-table lock held by the caller). */
static pte_t pte_at(struct avm_mm *mm, unsigned long addr)
{
	struct pgtable *pt = pt_lookup(mm, addr);

	return pt ? ptep_get(pt, pte_index(addr)) : 0;
}

static bool is_migration(pte_t pte)
{
	return pte && !pte_present(pte) && pte_nptype(pte) >= PTE_TYPE_MIG_R;
}

/* ---- VMA hooks: nothing to link --------------------------------------- */

static int ptc_prepare(struct vm_area_struct *vma)
{
	return 0;
}

static int ptc_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	dst->anon_vma = src->anon_vma;
	return 0;
}

static int ptc_fork(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	dst->anon_vma = src->anon_vma;
	return 0;
}

static void ptc_unlink(struct vm_area_struct *vma)
{
	vma->anon_vma = NULL;
}

static void ptc_adjust(struct vm_area_struct *vma)
{
}

static bool ptc_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
			  struct vm_area_struct *src)
{
	return true;
}

/* ---- page hooks -------------------------------------------------------- */

static void ptc_page_add_new(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr, bool exclusive)
{
	/* faults read it without a lock (the per-VMA lock's entry check) */
	if (!__atomic_load_n(&vma->anon_vma, __ATOMIC_RELAXED))
		__atomic_store_n(&vma->anon_vma, &ptc_marker, __ATOMIC_RELEASE);
	chain_lock(page);
	page->mapping = (uintptr_t)&ptc_marker | PAGE_MAPPING_ANON;
	set_direct(page, vma->vm_mm, addr);
	chain_unlock(page);
}

static int ptc_page_add(struct page *page, struct vm_area_struct *vma,
			unsigned long addr)
{
	struct avm_mm *mm = vma->vm_mm;
	int err = 0;

	chain_lock(page);
	/* remove_migration_ptes: the entry stayed on the chain */
	if (!is_migration(pte_at(mm, addr)) ||
	    !(direct_is(page, mm, addr) || chain_find(page, mm, addr)))
		err = chain_add(page_sys(vma), page, mm, addr);
	chain_unlock(page);
	return err;
}

static void ptc_page_remove(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr)
{
	struct avm_sys *sys = page_sys(vma);
	pte_t pte = pte_at(vma->vm_mm, addr);

	/* try_to_migrate: the PTE is now a migration entry naming this
	   frame; remove_migration_ptes must find it through the chain. */
	if (is_migration(pte) && pte_pfn(pte) == page_to_pfn(sys, page))
		return;
	chain_lock(page);
	chain_del(sys, page, vma->vm_mm, addr);
	chain_unlock(page);
}

static void ptc_page_move(struct page *page, struct vm_area_struct *vma)
{
}

/* ---- hooks for what the mm code does to PTEs --------------------------- */

static void ptc_move_pte(struct page *page, struct vm_area_struct *old_vma,
			 unsigned long old_addr, struct vm_area_struct *new_vma,
			 unsigned long new_addr)
{
	struct avm_mm *mm = old_vma->vm_mm;
	struct pte_entry *e;

	page = chain_lock_follow(page);
	if (direct_is(page, mm, old_addr)) {
		page->index = new_addr >> PAGE_SHIFT;
	} else if ((e = chain_find(page, mm, old_addr))) {
		slot_clear(mm, old_addr);
		e->addr = new_addr;
		slot_set(e);
	}
	chain_unlock(page);
}

static int ptc_migration_entry_dup(struct page *page,
				   struct vm_area_struct *dst,
				   unsigned long addr)
{
	int err;

	page = chain_lock_follow(page);
	err = chain_add(page_sys(dst), page, dst->vm_mm, addr);
	chain_unlock(page);
	return err;
}

static void ptc_migration_entry_drop(struct page *page,
				     struct vm_area_struct *vma,
				     unsigned long addr)
{
	page = chain_lock_follow(page);
	chain_del(page_sys(vma), page, vma->vm_mm, addr);
	chain_unlock(page);
}

static void ptc_page_migrate(struct page *old, struct page *new)
{
	struct page *first = old < new ? old : new;
	struct page *second = old < new ? new : old;

	chain_lock(first);
	if (chain_lock_of(second) != chain_lock_of(first))
		chain_lock_nested(second, SINGLE_DEPTH_NESTING);
	new->rmap_data = old->rmap_data;
	new->rmap_count = old->rmap_count;
	new->index = old->index;
	old->rmap_data = (void *)((uintptr_t)new | PTE_FORWARD);
	old->rmap_count = 0;
	if (chain_lock_of(second) != chain_lock_of(first))
		chain_unlock(second);
	chain_unlock(first);
}

/* ---- the walk ---------------------------------------------------------- */

struct cand {
	struct avm_mm *mm;
	unsigned long addr;
};

struct cands {
	struct cand *v;
	size_t n, cap;
	struct cand local[16];
};

static int cand_push(struct cands *c, struct avm_mm *mm, unsigned long addr)
{
	if (c->n == c->cap) {
		size_t cap = c->cap * 2;
		struct cand *v = malloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memcpy(v, c->v, c->n * sizeof(*v));
		if (c->v != c->local)
			free(c->v);
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct cand){ mm, addr };
	return 0;
}

/* Under the chain lock: this round's entries, taking their mms. */
static int collect(struct page *page, struct mm_walk *w, struct cands *c)
{
	unsigned int n;
	int r;

	if (is_direct(page)) {
		r = mmw_take(w, direct_mm(page));
		return r > 0 ? cand_push(c, direct_mm(page),
					 page->index << PAGE_SHIFT) : r;
	}
	if ((uintptr_t)page->rmap_data & PTE_FORWARD)
		return 0;
	n = page->rmap_count ? head_used(page) : 0;
	for (struct pte_chain *pc = chain_head(page); pc; pc = pc->next) {
		for (unsigned int i = 0; i < n; i++) {
			r = mmw_take(w, pc->e[i].mm);
			if (r > 0)
				r = cand_push(c, pc->e[i].mm, pc->e[i].addr);
			if (r < 0)
				return r;
		}
		n = NRPTE;
	}
	return 0;
}

/*
 * Every entry once: visits == entries.  Entries are read under the chain
 * lock while their mm's mmap_lock is held, so an address cannot be stale
 * (mremap rewrites it under the write lock).
 */
static int ptc_walk(struct page *page, struct rmap_walk_control *rwc)
{
	struct cands c = { .cap = sizeof(c.local) / sizeof(c.local[0]) };
	struct mm_walk w;
	bool stop = false;
	int err = 0, werr;

	c.v = c.local;
	mmw_init(&w);
	do {
		c.n = 0;
		chain_lock(page);
		err = collect(page, &w, &c);
		chain_unlock(page);
		for (size_t i = 0; i < c.n && !stop && !err; i++) {
			struct vm_area_struct *vma = vma_lookup(c.v[i].mm,
								c.v[i].addr);

			rwc->visits++;
			if (vma && !rwc->rmap_one(page, vma, c.v[i].addr,
						  rwc->arg))
				stop = true;
		}
	} while (mmw_end_round(&w, stop || err));
	werr = mmw_destroy(&w);
	if (c.v != c.local)
		free(c.v);
	return err ? err : werr;
}

/* ---- invariants and usage ---------------------------------------------- */

static void ptc_usage(struct avm_sys *sys, unsigned long *objects,
		      unsigned long *bytes)
{
	struct avm_alloc *a = &sys->alloc;

	*objects = avm_alloc_live(a, AK_RMAP_OTHER);
	/* blocks, and the PTE slots: what page tables hold beyond tables */
	*bytes = avm_alloc_bytes(a, AK_RMAP_OTHER) +
		 avm_alloc_bytes(a, AK_PGTABLE) -
		 avm_alloc_live(a, AK_PGTABLE) * sizeof(struct pgtable);
}

/* Does entry (mm, addr) stand for a present PTE mapping page? */
static int check_entry(struct check_ctx *ctx, struct ptrset *mms,
		       struct page *page, struct avm_mm *mm,
		       unsigned long addr)
{
	struct avm_sys *sys = ctx->sys;
	unsigned long pfn = page_to_pfn(sys, page);
	struct vm_area_struct *vma;
	pte_t pte;

	CHECK(ctx, ptrset_find(mms, mm), "frame %lu: chain entry names mm %p, "
	      "which does not exist", pfn, (void *)mm);
	CHECK(ctx, PAGE_ALIGNED(addr), "frame %lu: chain entry mm %lu %#lx "
	      "not page aligned", pfn, mm->id, addr);
	ctx->steps++;
	vma = vma_lookup(mm, addr);
	CHECK(ctx, vma && vma->anon_vma == &ptc_marker, "frame %lu: chain "
	      "entry mm %lu %#lx outside every anonymous VMA", pfn, mm->id,
	      addr);
	pte = pte_at(mm, addr);
	CHECK(ctx, pte_present(pte) && pte_pfn(pte) == pfn, "frame %lu: chain "
	      "entry mm %lu %#lx, but the PTE there is %#llx", pfn, mm->id,
	      addr, (unsigned long long)pte);
	return 0;
}

/* Entries of one frame as (mm, addr) pairs, for the duplicate test. */
struct pairs {
	struct pte_entry *v;
	size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct pte_entry *x = a, *y = b;

	if (x->mm != y->mm)
		return (uintptr_t)x->mm < (uintptr_t)y->mm ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int check_chain(struct check_ctx *ctx, struct ptrset *mms,
		       struct page *page, unsigned long *blocks,
		       unsigned long *entries, struct pairs *p)
{
	unsigned long pfn = page_to_pfn(ctx->sys, page);
	unsigned long n = 0, nb = 0;
	unsigned int used = page->rmap_count ? head_used(page) : 0;
	int err;

	for (struct pte_chain *pc = chain_head(page); pc; pc = pc->next) {
		CHECK(ctx, used, "frame %lu: empty chain block", pfn);
		for (unsigned int i = 0; i < used; i++) {
			struct pte_entry **s;

			err = check_entry(ctx, mms, page, pc->e[i].mm,
					  pc->e[i].addr);
			if (err)
				return err;
			s = slot_of(pc->e[i].mm, pc->e[i].addr);
			CHECK(ctx, s && *s == &pc->e[i], "frame %lu: the slot of "
			      "chain entry mm %lu %#lx does not point at it", pfn,
			      pc->e[i].mm->id, pc->e[i].addr);
			p->v[n++] = pc->e[i];
		}
		used = NRPTE;
		nb++;
		CHECK(ctx, n <= page->rmap_count, "frame %lu: chain longer than "
		      "its count %u", pfn, page->rmap_count);
	}
	CHECK(ctx, n == page->rmap_count, "frame %lu: %lu chain entries, count "
	      "%u", pfn, n, page->rmap_count);
	CHECK(ctx, n >= 2, "frame %lu: a chain of %lu entries (direct expected)",
	      pfn, n);
	qsort(p->v, n, sizeof(*p->v), cmp_entry);
	for (unsigned long i = 1; i < n; i++)
		CHECK(ctx, cmp_entry(&p->v[i - 1], &p->v[i]), "frame %lu: "
		      "duplicate chain entry mm %lu %#lx", pfn, p->v[i].mm->id,
		      p->v[i].addr);
	*blocks += nb;
	*entries += n;
	return 0;
}

static int check_frame(struct check_ctx *ctx, struct ptrset *mms,
		       struct page *page, unsigned long *blocks,
		       unsigned long *entries, struct pairs *p)
{
	unsigned long pfn = page_to_pfn(ctx->sys, page);
	int maps = page_mapcount(page);
	uintptr_t d = (uintptr_t)page->rmap_data;

	CHECK(ctx, !(d & PTE_FORWARD), "frame %lu: migration forwarding left "
	      "behind", pfn);
	CHECK(ctx, page->rmap_count == (unsigned int)maps, "frame %lu: %u chain "
	      "entries, mapcount %d", pfn, page->rmap_count, maps);
	if (!maps) {
		CHECK(ctx, !d, "frame %lu: unmapped, but rmap_data %p", pfn,
		      page->rmap_data);
		return 0;
	}
	CHECK(ctx, page->mapping == ((uintptr_t)&ptc_marker | PAGE_MAPPING_ANON),
	      "frame %lu: mapping %#lx is not the pte-chain marker", pfn,
	      (unsigned long)page->mapping);
	if (maps == 1) {
		CHECK(ctx, d & PTE_DIRECT, "frame %lu: mapped once, not direct",
		      pfn);
		return check_entry(ctx, mms, page, direct_mm(page),
				   page->index << PAGE_SHIFT);
	}
	if ((size_t)maps > p->n) {
		free(p->v);
		p->v = malloc((size_t)maps * sizeof(*p->v));
		p->n = p->v ? (size_t)maps : 0;
		CHECK(ctx, p->v, "checker out of memory");
	}
	return check_chain(ctx, mms, page, blocks, entries, p);
}

static int count_table_slots(struct avm_mm *mm, struct pgtable *pt,
			     unsigned long start, unsigned long end, void *arg)
{
	unsigned long *n = arg;

	for (unsigned int i = 0; i < PT_ENTRIES; i++)
		*n += pt->rmap_slots[i] != NULL;
	return 0;
}

/* Slots in use: with each entry's slot pointing at it, as many as there
   are chain entries means no slot is left pointing at a freed one. */
static int check_slots(struct check_ctx *ctx, unsigned long entries)
{
	unsigned long n = 0;
	struct avm_mm *mm;

	list_for_each_entry(mm, &ctx->sys->mms, mmlist)
		pt_for_each_table(mm, 0, TASK_SIZE, count_table_slots, &n);
	CHECK(ctx, n == entries, "%lu PTE slots set, %lu chain entries", n,
	      entries);
	return 0;
}

static int check_vma_markers(struct check_ctx *ctx, struct ptrset *mms)
{
	struct avm_mm *mm;

	list_for_each_entry(mm, &ctx->sys->mms, mmlist) {
		CHECK(ctx, ptrset_slot(mms, mm), "checker out of memory");
		for (struct rb_node *n = rb_first(&mm->mm_rb); n; n = rb_next(n)) {
			struct vm_area_struct *v =
				rb_entry(n, struct vm_area_struct, vm_rb);

			CHECK(ctx, !v->anon_vma || v->anon_vma == &ptc_marker,
			      "mm %lu VMA %#lx: anon_vma %p is not the marker",
			      mm->id, v->vm_start, (void *)v->anon_vma);
			CHECK(ctx, list_empty(&v->anon_vma_chain),
			      "mm %lu VMA %#lx has anon_vma_chains", mm->id,
			      v->vm_start);
		}
	}
	return 0;
}

static int ptc_check(struct avm_sys *sys, struct check_ctx *ctx)
{
	unsigned long blocks = 0, entries = 0, live;
	struct pairs p = { 0 };
	struct ptrset mms;
	int err;

	ptrset_init(&mms);
	err = check_vma_markers(ctx, &mms);
	for (unsigned int i = 0; i < sys->nr_nodes && !err; i++) {
		struct mem_node *n = &sys->nodes[i];

		for (unsigned long f = 0; f < n->next_unused && !err; f++) {
			struct page *page = &n->pages[f];

			if (page == sys->zero_page || page_test(page, PG_free))
				continue;
			err = check_frame(ctx, &mms, page, &blocks, &entries,
					  &p);
		}
	}
	free(p.v);
	ptrset_destroy(&mms);
	if (!err)
		err = check_slots(ctx, entries);
	if (err)
		return err;
	live = avm_alloc_live(&sys->alloc, AK_RMAP_OTHER);
	CHECK(ctx, live == blocks, "%lu pte_chain blocks live, %lu reachable",
	      live, blocks);
	CHECK(ctx, avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER) ==
	      blocks * sizeof(struct pte_chain), "pte_chain bytes %lu, "
	      "expected %lu", avm_alloc_bytes(&sys->alloc, AK_RMAP_OTHER),
	      blocks * sizeof(struct pte_chain));
	return 0;
}

const struct rmap_ops rmap_pte_chain_ops = {
	.name = "pte-chain",
	.pte_slots = true,
	.summary = "per-frame chain of the PTEs mapping it, direct when "
		   "mapped once: Linux 2.5 (2002)",
	.prepare = ptc_prepare,
	.clone = ptc_clone,
	.fork = ptc_fork,
	.unlink = ptc_unlink,
	.adjust_begin = ptc_adjust,
	.adjust_end = ptc_adjust,
	.mergeable = ptc_mergeable,
	.page_add_new = ptc_page_add_new,
	.page_add = ptc_page_add,
	.page_remove = ptc_page_remove,
	.page_move = ptc_page_move,
	.walk = ptc_walk,
	.check = ptc_check,
	.usage = ptc_usage,
	.move_pte = ptc_move_pte,
	.migration_entry_dup = ptc_migration_entry_dup,
	.migration_entry_drop = ptc_migration_entry_drop,
	.page_migrate = ptc_page_migrate,
};
