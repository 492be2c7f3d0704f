/* SPDX-License-Identifier: MIT */
/*
 * mmap and munmap of private anonymous memory, and address-space teardown.
 */
#include "mm/internal.h"
#include "rmap/rmap.h"

bool range_is_free(struct avm_mm *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *v = find_vma(mm, start);

	return !v || v->vm_start >= end;
}

/* The hint, rounded down to a page as x86-64 does, if [hint, +len) is free
   user space.  (mmap_min_addr is not modelled: page 0 is the only floor.) */
static bool hint_usable(struct avm_mm *mm, unsigned long hint,
			unsigned long len)
{
	return hint >= PAGE_SIZE && len <= TASK_SIZE && hint <= TASK_SIZE - len &&
	       range_is_free(mm, hint, hint + len);
}

unsigned long get_unmapped_area(struct avm_mm *mm, unsigned long hint,
				unsigned long len)
{
	unsigned long top = MMAP_BASE;
	struct vm_area_struct *v = find_vma_prev(mm, top);

	hint &= PAGE_MASK;
	if (hint && hint_usable(mm, hint, len))
		return hint;

	/* Top-down: try below each VMA, walking towards lower addresses. */
	while (top >= len + PAGE_SIZE) {
		unsigned long floor = v ? v->vm_end : PAGE_SIZE;

		if (top - floor >= len && top - len >= floor)
			return top - len;
		if (!v)
			break;
		top = v->vm_start;
		v = vma_prev(v);
	}
	return 0;
}

static int mmap_region(struct avm_mm *mm, unsigned long addr,
		       unsigned long len, unsigned long flags)
{
	struct vm_area_struct *vma;
	int err;

	vma = vma_merge_new(mm, addr, addr + len, flags, addr >> PAGE_SHIFT,
			    NULL, false, &err);
	if (vma || err)
		return err;
	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_pgoff = addr >> PAGE_SHIFT;
	vma->vm_flags = flags;
	vma_link(mm, vma);
	return 0;
}

/* Pages of [start, end) that accounted (committed) VMAs hold. */
static unsigned long accounted_pages(struct avm_mm *mm, unsigned long start,
				     unsigned long end)
{
	unsigned long n = 0;

	for (struct vm_area_struct *v = find_vma(mm, start);
	     v && v->vm_start < end; v = vma_next(v))
		if (v->vm_flags & VM_ACCOUNT)
			n += (MIN(end, v->vm_end) - MAX(start, v->vm_start)) >>
			     PAGE_SHIFT;
	return n;
}

int avm_mmap(struct avm_mm *mm, unsigned long addr, unsigned long len,
	     int prot, int flags, unsigned long *mapped)
{
	bool fixed = flags & (AVM_MAP_FIXED | AVM_MAP_FIXED_NOREPLACE);
	int err = 0;

	/* Linux's order and numbers: zero length EINVAL, a length that
	   overflows when rounded ENOMEM, too many mappings ENOMEM, a
	   misaligned fixed address EINVAL, a fixed range past user space
	   ENOMEM. */
	if (!len)
		return -EINVAL;
	if (!PAGE_ALIGN(len))
		return -ENOMEM;
	len = PAGE_ALIGN(len);
	if (prot & ~(AVM_PROT_READ | AVM_PROT_WRITE))
		return -EINVAL;
	mmap_write_lock(mm);
	if (map_count_exceeds(mm, -1))
		err = -ENOMEM;
	else if (fixed && !PAGE_ALIGNED(addr))
		err = -EINVAL;
	else if (fixed && (len > TASK_SIZE || addr > TASK_SIZE - len))
		err = -ENOMEM;
	else if (!fixed) {
		addr = get_unmapped_area(mm, addr, len);
		if (!addr)
			err = -ENOMEM;
	} else if ((flags & AVM_MAP_FIXED_NOREPLACE) &&
		   !range_is_free(mm, addr, addr + len)) {
		err = -EEXIST;
	}
	/* A private writable mapping commits its pages (less those of the
	   accounted mappings it replaces), before anything is unmapped. */
	if (!err && (prot & AVM_PROT_WRITE) &&
	    !vm_enough_memory(mm, (len >> PAGE_SHIFT) -
			      accounted_pages(mm, addr, addr + len)))
		err = -ENOMEM;
	if (!err && fixed && !range_is_free(mm, addr, addr + len))
		err = do_munmap(mm, addr, len);
	if (!err)
		err = mmap_region(mm, addr, len, prot_to_vmflags(prot) |
				  ((prot & AVM_PROT_WRITE) ? VM_ACCOUNT : 0));
	mmap_write_unlock(mm);
	if (!err && mapped)
		*mapped = addr;
	return err;
}

/* Unmap [start, end) from the VMAs it covers, after splitting the ends. */
int do_munmap(struct avm_mm *mm, unsigned long start, unsigned long len)
{
	unsigned long end = start + len, floor, ceiling;
	struct vm_area_struct *vma = find_vma(mm, start), *prev, *next;
	int err;

	if (!vma || vma->vm_start >= end)
		return 0;
	/* A hole in the middle of a VMA leaves one more: it must fit under
	   vm.max_map_count.  The other splits may pass it for a moment. */
	if (start > vma->vm_start && end < vma->vm_end &&
	    map_count_exceeds(mm, 0))
		return -ENOMEM;
	if (start > vma->vm_start) {
		err = split_vma(vma, start, 1);
		if (err)
			return err;
	}
	next = find_vma(mm, end - 1);
	if (next && next->vm_start < end && next->vm_end > end) {
		err = split_vma(next, end, 0);
		if (err)
			return err;
	}
	vma = find_vma(mm, start);
	prev = vma_prev(vma);
	while (vma && vma->vm_start < end) {
		next = vma_next(vma);
		vma_start_write(vma);	/* no fault inside while it goes */
		zap_page_range(vma, vma->vm_start, vma->vm_end);
		remove_vma(vma);
		vma = next;
	}
	floor = prev ? prev->vm_end : 0;
	ceiling = vma ? vma->vm_start : TASK_SIZE;
	ptl_lock(mm);
	pt_free_empty(mm, floor, ceiling);
	ptl_unlock(mm);
	return 0;
}

int avm_munmap(struct avm_mm *mm, unsigned long addr, unsigned long len)
{
	int err;

	/* The length is checked before rounding, as Linux does: ~0UL must
	   not round to 0 and pass. */
	if (!PAGE_ALIGNED(addr) || !len || addr > TASK_SIZE ||
	    len > TASK_SIZE - addr)
		return -EINVAL;
	mmap_write_lock(mm);
	err = do_munmap(mm, addr, PAGE_ALIGN(len));
	mmap_write_unlock(mm);
	return err;
}

void exit_mmap(struct avm_mm *mm)
{
	struct rb_node *n;

	mmap_write_lock(mm);
	while ((n = rb_first(&mm->mm_rb))) {
		struct vm_area_struct *vma =
			rb_entry(n, struct vm_area_struct, vm_rb);

		vma_start_write(vma);
		zap_page_range(vma, vma->vm_start, vma->vm_end);
		remove_vma(vma);
	}
	mmap_write_unlock(mm);
}
