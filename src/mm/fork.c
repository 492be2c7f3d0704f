/* SPDX-License-Identifier: MIT */
/*
 * fork: copy the VMAs (but VM_DONTCOPY ones), link each copy into the
 * reverse map, and copy the page tables so that both processes share every
 * page copy-on-write.  Shared pages lose AnonExclusive; writable PTEs become
 * read-only on both sides.  VM_WIPEONFORK VMAs are copied empty.
 *
 * On failure the half-built child is torn down; the parent keeps the
 * write-protection and cleared exclusivity already applied, which is a
 * consistent state: its next write fault reuses the page if nobody else
 * holds it (as Linux does after a failed fork).
 */
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

struct copy_arg {
	struct vm_area_struct *dst, *src;
	int err;
};

static int copy_present(struct avm_sys *sys, struct copy_arg *c,
			unsigned long addr, pte_t *spte, pte_t *dpte)
{
	struct page *page = pfn_to_page(sys, pte_pfn(*spte));
	int err;

	if (page != sys->zero_page) {
		get_page(page);
		err = rmap_add(page, c->dst, addr);
		if (err) {
			put_page(sys, page);
			return err;
		}
		page_clear(page, PG_anon_exclusive);
	}
	*spte &= ~PTE_WRITE;
	*dpte = *spte & ~PTE_YOUNG;
	return 0;
}

/* A swap entry takes a slot reference; a migration entry (a migration
   is under way) is announced to a design that records every PTE. */
static int copy_nonpresent(struct avm_sys *sys, struct copy_arg *c,
			   unsigned long addr, pte_t spte)
{
	if (pte_nptype(spte) >= PTE_TYPE_MIG_R) {
		if (!sys->rmap->migration_entry_dup)
			return 0;
		return sys->rmap->migration_entry_dup(
			pfn_to_page(sys, pte_pfn(spte)), c->dst, addr);
	}
	dup_swap_pte(sys, spte);
	return 0;
}

static int copy_table(struct avm_mm *src_mm, struct pgtable *spt,
		      unsigned long start, unsigned long end, void *arg)
{
	struct copy_arg *c = arg;
	struct avm_sys *sys = src_mm->sys;
	struct avm_mm *dst_mm = c->dst->vm_mm;
	struct pgtable *dpt = NULL;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned int i = pte_index(a);
		pte_t spte = ptep_get(spt, i), dpte;

		if (!spte)
			continue;
		if (!dpt && !(dpt = pt_alloc(dst_mm, a)))
			return c->err = -ENOMEM;
		if (pte_present(spte)) {
			c->err = copy_present(sys, c, a, &spte, &dpte);
			if (c->err)
				return c->err;
		} else {
			c->err = copy_nonpresent(sys, c, a, spte);
			if (c->err)
				return c->err;
			spte &= ~PTE_SWP_EXCL;
			dpte = spte;
		}
		set_pte(spt, i, spte);
		pt_set(dpt, i, dpte);
	}
	return 0;
}

static int copy_page_range(struct vm_area_struct *dst,
			   struct vm_area_struct *src)
{
	struct copy_arg c = { .dst = dst, .src = src };
	struct avm_mm *smm = src->vm_mm, *dmm = dst->vm_mm;

	/* two locks of one class: the child's first, the parent's nested
	   inside it, as Linux's copy_pte_range */
	ptl_lock(dmm);
	ptl_lock_nested(smm, SINGLE_DEPTH_NESTING);
	pt_for_each_table(smm, src->vm_start, src->vm_end, copy_table, &c);
	ptl_unlock(smm);
	ptl_unlock(dmm);
	return c.err;
}

/*
 * UNSAFE order (linux-fork-link-late, src/rmap/broken.c): the PTEs first,
 * the reverse-map links after, so for a moment the child maps pages no
 * walk can find.  A failed link leaves the copied PTEs to the caller's
 * avm_exit of the child, which zaps them.
 */
static int dup_vma_link_late(struct avm_mm *child, struct vm_area_struct *vma,
			     struct vm_area_struct *new)
{
	bool anon = !(vma->vm_flags & VM_WIPEONFORK) && vma->anon_vma;
	int err;

	vma_link(child, new);
	if (!anon)
		return 0;
	err = copy_page_range(new, vma);
	avm_preempt_point("fork: between PTE copy and rmap link");
	return err ? err : child->sys->rmap->fork(new, vma);
}

static int dup_vma(struct avm_mm *child, struct vm_area_struct *vma)
{
	const struct rmap_ops *ops = child->sys->rmap;
	struct vm_area_struct *new = vm_area_dup(vma);
	int err = 0;

	if (!new)
		return -ENOMEM;
	new->vm_mm = child;
	new->anon_vma = NULL;
	if (ops->broken & RMAP_BROKEN_FORK_LINK_LATE)
		return dup_vma_link_late(child, vma, new);
	if (!(vma->vm_flags & VM_WIPEONFORK) && vma->anon_vma) {
		err = ops->fork(new, vma);
		if (err) {
			vm_area_free(new);
			return err;
		}
	}
	vma_link(child, new);
	if (!(vma->vm_flags & VM_WIPEONFORK) && vma->anon_vma)
		err = copy_page_range(new, vma);
	return err;
}

static int dup_mmap(struct avm_mm *child, struct avm_mm *parent)
{
	struct rb_node *n;
	int err;

	for (n = rb_first(&parent->mm_rb); n; n = rb_next(n)) {
		struct vm_area_struct *vma =
			rb_entry(n, struct vm_area_struct, vm_rb);

		/* As Linux: no fault in the parent while its PTEs are
		   copied and write-protected (a write then would go to a
		   page the child already shares). */
		vma_start_write(vma);
		if (vma->vm_flags & VM_DONTCOPY)
			continue;
		avm_preempt_point("fork: between VMA copies");
		err = dup_vma(child, vma);
		if (err)
			return err;
	}
	return 0;
}

int avm_fork(struct avm_mm *parent, struct avm_mm **out)
{
	struct avm_mm *child = mm_alloc(parent->sys);
	int err;

	*out = NULL;
	if (!child)
		return -ENOMEM;
	mmap_write_lock(parent);
	mmap_write_lock_nested(child, SINGLE_DEPTH_NESTING);
	err = dup_mmap(child, parent);
	mmap_write_unlock(child);
	mmap_write_unlock(parent);
	if (err) {
		avm_exit(child);
		return err;
	}
	atomic_fetch_add(&parent->sys->ctr.forks, 1);
	*out = child;
	return 0;
}
