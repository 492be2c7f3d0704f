/* SPDX-License-Identifier: MIT */
/*
 * Four-level radix page tables, 512 entries a level as x86-64: 9 bits per
 * level above the 12-bit page offset, 48-bit addresses.  Upper levels hold
 * pointers; only populated subtrees exist, so fork, unmap and exit touch
 * only what is mapped.  Each table counts its non-empty entries so emptied
 * tables can be freed.
 */
#include <string.h>
#include "mm/internal.h"
#include "rmap/rmap.h"

static unsigned int level_index(unsigned long addr, unsigned int level)
{
	return (addr >> (PAGE_SHIFT + PT_SHIFT * level)) & (PT_ENTRIES - 1);
}

/* Bytes covered by one entry of a table of this level. */
static unsigned long entry_span(unsigned int level)
{
	return 1UL << (PAGE_SHIFT + PT_SHIFT * level);
}

/* A PTE table of a design with pte_slots has its slots right after it. */
static bool has_slots(struct avm_mm *mm, unsigned int level)
{
	return level == 0 && mm->sys->rmap->pte_slots;
}

static size_t table_size(struct avm_mm *mm, unsigned int level)
{
	return sizeof(struct pgtable) +
	       (has_slots(mm, level) ? PT_ENTRIES * sizeof(void *) : 0);
}

static struct pgtable *table_alloc(struct avm_mm *mm, unsigned int level)
{
	struct pgtable *pt = avm_kmalloc(mm_alloc_ctx(mm), AK_PGTABLE,
					 table_size(mm, level));

	if (!pt)
		return NULL;
	memset(pt->e, 0, sizeof(pt->e));
	pt->used = 0;
	pt->level = level;
	pt->base = 0;
	pt->rmap_slots = NULL;
	if (has_slots(mm, level)) {
		pt->rmap_slots = (void **)(pt + 1);
		memset(pt->rmap_slots, 0, PT_ENTRIES * sizeof(void *));
	}
	return pt;
}

static void table_free(struct avm_mm *mm, struct pgtable *pt)
{
	avm_kfree(mm_alloc_ctx(mm), AK_PGTABLE, pt, table_size(mm, pt->level));
}

int pgd_alloc(struct avm_mm *mm)
{
	struct pgtable *pgd = table_alloc(mm, PT_LEVELS - 1);

	/* published zeroed: rmap walkers look it up without the lock */
	__atomic_store_n(&mm->pgd, pgd, __ATOMIC_RELEASE);
	return pgd ? 0 : -ENOMEM;
}

static void free_subtree(struct avm_mm *mm, struct pgtable *pt)
{
	if (pt->level > 0) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++)
			if (ptep_get(pt, i))
				free_subtree(mm, (struct pgtable *)ptep_get(pt, i));
	}
	table_free(mm, pt);
}

void pgd_free(struct avm_mm *mm)
{
	if (mm->pgd)
		free_subtree(mm, mm->pgd);
	mm->pgd = NULL;
}

struct pgtable *pt_lookup(struct avm_mm *mm, unsigned long addr)
{
	struct pgtable *pt = __atomic_load_n(&mm->pgd, __ATOMIC_ACQUIRE);

	for (unsigned int level = PT_LEVELS - 1; pt && level > 0; level--)
		pt = (struct pgtable *)ptep_get(pt, level_index(addr, level));
	return pt;
}

/*
 * The PTE table of addr in vma for an rmap walk, from the VMA's one-entry
 * cache when it covers addr: consecutive frames of a walk over many
 * processes then cost one table entry per visit, not the four levels of
 * each process's tree (cache misses, at scale).
 */
struct pgtable *vma_pte_table(struct vm_area_struct *vma, unsigned long addr)
{
	struct pgtable *pt = atomic_load_explicit(&vma->pt_cache,
						  memory_order_acquire);

	if (pt && pt->base == (addr & ~(entry_span(1) - 1)))
		return pt;
	pt = pt_lookup(vma->vm_mm, addr);
	if (pt)
		atomic_store_explicit(&vma->pt_cache, pt, memory_order_release);
	return pt;
}

struct pgtable *pt_alloc(struct avm_mm *mm, unsigned long addr)
{
	struct pgtable *pt;

	/* The top level too comes with the first entry: an mm that maps
	   nothing costs no page table. */
	if (!mm->pgd && pgd_alloc(mm))
		return NULL;
	pt = mm->pgd;

	for (unsigned int level = PT_LEVELS - 1; level > 0; level--) {
		unsigned int i = level_index(addr, level);
		struct pgtable *next = (struct pgtable *)ptep_get(pt, i);

		if (!next) {
			next = table_alloc(mm, level - 1);
			if (!next)
				return NULL;
			next->base = addr & ~(entry_span(level) - 1);
			pt_set(pt, i, (uint64_t)next);
		}
		pt = next;
	}
	return pt;
}

static int walk_level(struct avm_mm *mm, struct pgtable *pt,
		      unsigned long base, unsigned long start,
		      unsigned long end, pt_table_fn fn, void *arg)
{
	unsigned long span = entry_span(pt->level);
	unsigned int i = level_index(start, pt->level);

	if (pt->level == 0)
		return fn(mm, pt, start, end, arg);
	for (unsigned long a = base + i * span; i < PT_ENTRIES && a < end;
	     i++, a += span) {
		struct pgtable *next = (struct pgtable *)ptep_get(pt, i);
		unsigned long s = MAX(a, start), e = MIN(a + span, end);
		int ret;

		if (!next)
			continue;
		ret = walk_level(mm, next, a, s, e, fn, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int pt_for_each_table(struct avm_mm *mm, unsigned long start,
		      unsigned long end, pt_table_fn fn, void *arg)
{
	/* acquire: pairs with pgd_alloc's release, as pt_lookup does (a
	   fault under a read or VMA lock may publish the pgd meanwhile) */
	struct pgtable *pgd = __atomic_load_n(&mm->pgd, __ATOMIC_ACQUIRE);

	if (!pgd || start >= end)
		return 0;
	return walk_level(mm, pgd, 0, start, end, fn, arg);
}

/* Returns true if pt became empty and was freed by the caller's request. */
static void free_empty_level(struct avm_mm *mm, struct pgtable *pt,
			     unsigned long base, unsigned long floor,
			     unsigned long ceiling)
{
	unsigned long span = entry_span(pt->level);

	for (unsigned int i = level_index(floor, pt->level); i < PT_ENTRIES; i++) {
		unsigned long a = base + i * span;
		struct pgtable *next = (struct pgtable *)ptep_get(pt, i);

		if (a >= ceiling)
			break;
		if (!next)
			continue;
		if (next->level > 0)
			free_empty_level(mm, next, a, MAX(a, floor),
					 MIN(a + span, ceiling));
		/* Only a table whose whole span lies in the range may go. */
		if (next->used == 0 && a >= floor && a + span <= ceiling) {
			table_free(mm, next);
			pt_set(pt, i, 0);
		}
	}
}

void pt_free_empty(struct avm_mm *mm, unsigned long floor,
		   unsigned long ceiling)
{
	if (mm->pgd && floor < ceiling)
		free_empty_level(mm, mm->pgd, 0, floor, ceiling);
}

static unsigned long count_subtree(const struct pgtable *pt)
{
	unsigned long n = 1;

	if (pt->level > 0)
		for (unsigned int i = 0; i < PT_ENTRIES; i++)
			if (ptep_get(pt, i))
				n += count_subtree((struct pgtable *)ptep_get(pt, i));
	return n;
}

unsigned long pt_count_tables(struct avm_mm *mm)
{
	return mm->pgd ? count_subtree(mm->pgd) : 0;
}
