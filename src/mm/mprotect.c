/* SPDX-License-Identifier: MIT */
/*
 * mprotect: change VMA protection, merging with or splitting from the
 * neighbours, and update the PTEs.  As in Linux, a hole in the range stops
 * the walk with -ENOMEM after the VMAs before it were changed.
 */
#include "mm/internal.h"

static int change_table(struct avm_mm *mm, struct pgtable *pt,
			unsigned long start, unsigned long end, void *arg)
{
	unsigned long newflags = *(unsigned long *)arg;
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned int i = pte_index(a);
		pte_t pte = ptep_get(pt, i);
		struct page *page;

		if (!pte_present(pte))
			continue;
		if (!(newflags & VM_WRITE)) {
			set_pte(pt, i, pte & ~PTE_WRITE);
			continue;
		}
		/* Write upgrade without a fault: only for a page that is
		   known to be ours alone, as Linux does for private memory. */
		page = pfn_to_page(sys, pte_pfn(pte));
		if (page != sys->zero_page && page_test(page, PG_anon_exclusive))
			set_pte(pt, i, pte | PTE_WRITE);
	}
	return 0;
}

void change_protection(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, unsigned long newflags)
{
	struct avm_mm *mm = vma->vm_mm;

	ptl_lock(mm);
	pt_for_each_table(mm, start, end, change_table, &newflags);
	ptl_unlock(mm);
}

/*
 * Making a private mapping writable commits memory (VM_ACCOUNT); making it
 * read-only gives the commitment back only while no page was ever faulted
 * (no anon_vma).  The flag takes part in merge decisions, so it matters
 * here: a faulted VMA made read-only does not merge with a read-only one.
 */
static unsigned long account_flags(struct vm_area_struct *vma,
				   unsigned long newflags)
{
	if (newflags & VM_WRITE)
		return newflags | VM_ACCOUNT;
	if (!vma->anon_vma)
		return newflags & ~VM_ACCOUNT;
	return newflags;
}

static int mprotect_fixup(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, int prot)
{
	unsigned long newflags = (vma->vm_flags & ~VM_PROT_MASK) |
				 prot_to_vmflags(prot);
	struct vm_area_struct *res;
	int err;

	/* Same protection: nothing changes, VM_ACCOUNT included (Linux
	   returns before adjusting the accounting). */
	if (newflags == vma->vm_flags)
		return 0;
	/* Turning never-writable private memory writable commits it. */
	if ((newflags & VM_WRITE) && !(vma->vm_flags & (VM_ACCOUNT | VM_WRITE)) &&
	    !vm_enough_memory(vma->vm_mm, (end - start) >> PAGE_SHIFT))
		return -ENOMEM;
	newflags = account_flags(vma, newflags);
	err = vma_modify_flags(vma, start, end, newflags, &res);
	if (err)
		return err;
	change_protection(res, start, end, newflags);
	return 0;
}

int avm_mprotect(struct avm_mm *mm, unsigned long start, unsigned long len,
		 int prot)
{
	unsigned long end, tmp;
	struct vm_area_struct *vma;
	int err = 0;

	if (!PAGE_ALIGNED(start) || (prot & ~(AVM_PROT_READ | AVM_PROT_WRITE)))
		return -EINVAL;
	if (!len)
		return 0;
	end = start + PAGE_ALIGN(len);
	if (end <= start || end > TASK_SIZE)
		return -ENOMEM;
	mmap_write_lock(mm);
	for (tmp = start; tmp < end && !err; ) {
		vma = find_vma(mm, tmp);
		if (!vma || vma->vm_start > tmp) {
			err = -ENOMEM;
			break;
		}
		err = mprotect_fixup(vma, tmp, MIN(end, vma->vm_end), prot);
		tmp = MIN(end, vma_lookup(mm, tmp) ? vma_lookup(mm, tmp)->vm_end : end);
	}
	mmap_write_unlock(mm);
	return err;
}
