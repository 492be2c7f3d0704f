/* SPDX-License-Identifier: MIT */
/*
 * madvise: DONTNEED drops pages (the range then reads as zeroes), the
 * fork advices set or clear VMA flags (splitting or merging VMAs), and
 * PAGEOUT reclaims the range's pages that no other process maps.  As in
 * Linux, holes in the range give -ENOMEM after the mapped parts were done.
 */
#include "mm/internal.h"
#include "mm/vmscan.h"

static int madvise_vma(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, enum avm_advice adv)
{
	unsigned long f = vma->vm_flags;
	struct vm_area_struct *res;

	switch (adv) {
	case AVM_MADV_DONTNEED:
		zap_page_range(vma, start, end);
		return 0;
	case AVM_MADV_PAGEOUT:
		return reclaim_range(vma, start, end);
	case AVM_MADV_DONTFORK:
		f |= VM_DONTCOPY;
		break;
	case AVM_MADV_DOFORK:
		f &= ~VM_DONTCOPY;
		break;
	case AVM_MADV_WIPEONFORK:
		f |= VM_WIPEONFORK;
		break;
	case AVM_MADV_KEEPONFORK:
		f &= ~VM_WIPEONFORK;
		break;
	case AVM_MADV_HUGEPAGE:		/* each clears the other, as Linux */
		f = (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
		break;
	case AVM_MADV_NOHUGEPAGE:
		f = (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
		break;
	}
	return vma_modify_flags(vma, start, end, f, &res);
}

static bool advice_changes_vmas(enum avm_advice adv)
{
	return adv != AVM_MADV_DONTNEED && adv != AVM_MADV_PAGEOUT;
}

static int madvise_walk(struct avm_mm *mm, unsigned long start,
			unsigned long end, enum avm_advice adv)
{
	struct vm_area_struct *vma = find_vma(mm, start);
	int unmapped = 0, err;

	for (;;) {
		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		err = madvise_vma(vma, start, MIN(end, vma->vm_end), adv);
		if (err)
			return err;
		/* The VMA may have merged: continue after whatever now
		   covers the part just done. */
		vma = vma_lookup(mm, start);
		start = MIN(end, vma ? vma->vm_end : end);
		if (start >= end)
			break;
		vma = find_vma(mm, start);
	}
	return unmapped;
}

int avm_madvise(struct avm_mm *mm, unsigned long start, unsigned long len,
		enum avm_advice adv)
{
	unsigned long end;
	bool write;
	int err;

	if (!PAGE_ALIGNED(start) || (unsigned int)adv > AVM_MADV_NOHUGEPAGE)
		return -EINVAL;
	if (!len)
		return 0;
	end = start + PAGE_ALIGN(len);
	if (end <= start)
		return -EINVAL;
	write = advice_changes_vmas(adv);
	if (write)
		mmap_write_lock(mm);
	else
		mmap_read_lock(mm);
	err = madvise_walk(mm, start, end, adv);
	if (write)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	return err;
}
