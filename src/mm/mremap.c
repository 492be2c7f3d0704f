/* SPDX-License-Identifier: MIT */
/*
 * mremap: shrink, grow in place, or move (MAYMOVE, FIXED, DONTUNMAP).
 *
 * A move creates the destination VMA first (copy_vma: merged into a
 * neighbour when the rules allow, else a copy linked to the same anon_vmas),
 * then moves the PTEs, then unmaps the source.  A faulted VMA keeps its
 * vm_pgoff, so every page keeps its index and stays findable; a never
 * faulted one takes the new address's pgoff instead.
 *
 * The rmap ordering rule (2012, after seed 2011-11): a walk of the anon_vma
 * tree visits VMAs in vm_pgoff order, so when the destination VMA sorts no
 * later than the source (it merged into a VMA with vm_pgoff <= the
 * source's) a concurrent walk could see the destination before the PTEs
 * arrive and the source after they left.  copy_vma reports that case and
 * the move then holds the anon_vma lock.
 */
#include "mm/internal.h"
#include "rmap/anon_vma.h"
#include "rmap/rmap.h"

/*
 * The destination VMA for a move of *vmap's pages to [addr, addr + len).
 * An unfaulted source can merge with its own destination (it is then one
 * of the merge partners, and may even be freed as the `next` one): *vmap
 * is then the merged VMA, as in Linux's copy_vma.
 */
static struct vm_area_struct *copy_vma(struct vm_area_struct **vmap,
				       unsigned long addr, unsigned long len,
				       unsigned long pgoff, bool *need_rmap_locks,
				       int *err)
{
	struct vm_area_struct *vma = *vmap, *new;
	struct avm_mm *mm = vma->vm_mm;
	unsigned long src_start = vma->vm_start, src_pgoff = vma->vm_pgoff;

	if (!vma->anon_vma)
		pgoff = addr >> PAGE_SHIFT;
	new = vma_merge_new(mm, addr, addr + len, vma->vm_flags, pgoff, vma,
			    true, err);
	if (*err)
		return NULL;
	if (new) {
		if (src_start >= new->vm_start && src_start < new->vm_end) {
			*vmap = new;
			src_pgoff = new->vm_pgoff;
		} else if (mm->sys->rmap->move_tail) {
			/* list designs: walks go in list order (2011) */
			mm->sys->rmap->move_tail(new);
		}
		*need_rmap_locks = new->vm_pgoff <= src_pgoff &&
			!(mm->sys->rmap->broken & RMAP_BROKEN_NO_RMAP_LOCKS);
		return new;
	}
	new = vm_area_dup(vma);
	if (!new) {
		*err = -ENOMEM;
		return NULL;
	}
	new->vm_start = addr;
	new->vm_end = addr + len;
	new->vm_pgoff = pgoff;
	if (vma->anon_vma && mm->sys->rmap->clone(new, vma)) {
		vm_area_free(new);
		*err = -ENOMEM;
		return NULL;
	}
	vma_link(mm, new);
	*need_rmap_locks = false;
	return new;
}

struct move_arg {
	struct vm_area_struct *old_vma, *new_vma;
	unsigned long old_addr, new_addr;	/* old_addr maps to new_addr */
	bool prealloc;				/* pass 1: tables only */
};

/* A design that records mappings by address hears where a frame's PTE
   (present, or a migration entry) went; a swap entry names no frame. */
static void moved_pte(struct move_arg *m, struct avm_mm *mm, pte_t pte,
		      unsigned long a, unsigned long na)
{
	struct avm_sys *sys = mm->sys;
	struct page *page;

	if (!sys->rmap->move_pte ||
	    (!pte_present(pte) && pte_nptype(pte) < PTE_TYPE_MIG_R))
		return;
	page = pfn_to_page(sys, pte_pfn(pte));
	if (page != sys->zero_page)
		sys->rmap->move_pte(page, m->old_vma, a, m->new_vma, na);
}

static int move_table(struct avm_mm *mm, struct pgtable *pt,
		      unsigned long start, unsigned long end, void *arg)
{
	struct move_arg *m = arg;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned long na = a - m->old_addr + m->new_addr;
		struct pgtable *npt;
		pte_t pte = ptep_get(pt, pte_index(a));

		if (!pte)
			continue;
		npt = pt_alloc(mm, na);
		if (!npt)
			return -ENOMEM;
		if (m->prealloc)
			continue;
		pt_set(pt, pte_index(a), 0);
		pt_set(npt, pte_index(na), pte);
		moved_pte(m, mm, pte, a, na);
		avm_preempt_point("mremap: between PTE moves");
	}
	return 0;
}

/* Pass 1 allocates every destination table so that pass 2 cannot fail. */
static int move_page_tables(struct move_arg *m, unsigned long len,
			    bool need_rmap_locks)
{
	struct avm_mm *mm = m->old_vma->vm_mm;
	struct anon_vma *av = m->old_vma->anon_vma;
	int err;

	ptl_lock(mm);
	m->prealloc = true;
	err = pt_for_each_table(mm, m->old_addr, m->old_addr + len,
				move_table, m);
	ptl_unlock(mm);
	/* The last step that may fail: a design that must prepare the pages
	   (anonmm copies shared ones) does it now, all or nothing. */
	if (!err && mm->sys->rmap->prepare_move)
		err = mm->sys->rmap->prepare_move(m->old_vma, m->old_addr, len,
						  m->new_addr);
	if (err)
		return err;
	race_point(mm->sys, AVM_RACE_MREMAP_MOVE, mm, m->new_addr);
	if (need_rmap_locks && av)
		anon_vma_lock_write(av);
	ptl_lock(mm);
	m->prealloc = false;
	pt_for_each_table(mm, m->old_addr, m->old_addr + len, move_table, m);
	ptl_unlock(mm);
	if (need_rmap_locks && av)
		anon_vma_unlock_write(av);
	race_point(mm->sys, AVM_RACE_MREMAP_MOVED, mm, m->new_addr);
	return 0;
}

/*
 * DONTUNMAP left the source VMA in place but empty.  If all of it moved,
 * its reverse-map links serve nothing any more: drop them, as Linux does,
 * so that it faults fresh pages and merges like a new VMA.
 */
static void dontunmap_complete(struct vm_area_struct *vma,
			       struct vm_area_struct *new_vma,
			       unsigned long old_addr, unsigned long old_len)
{
	if (new_vma != vma && vma->vm_start == old_addr &&
	    vma->vm_end == old_addr + old_len)
		vma->vm_mm->sys->rmap->unlink(vma);
}

/*
 * Committed memory: an accounted VMA that grows commits the growth; with
 * DONTUNMAP the source stays, so all of the new range is committed.
 */
static bool vrm_charge(struct vm_area_struct *vma, unsigned long old_len,
		       unsigned long new_len, int flags)
{
	unsigned long pages = (flags & AVM_MREMAP_DONTUNMAP) ? new_len :
			      new_len > old_len ? new_len - old_len : 0;

	return !(vma->vm_flags & VM_ACCOUNT) || !pages ||
	       vm_enough_memory(vma->vm_mm, pages >> PAGE_SHIFT);
}

static long move_vma(struct vm_area_struct *vma, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len,
		     unsigned long new_addr, int flags)
{
	struct avm_mm *mm = vma->vm_mm;
	unsigned long pgoff = vma->vm_pgoff +
			      ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	struct move_arg m = { .old_vma = vma, .old_addr = old_addr,
			      .new_addr = new_addr };
	bool need_rmap_locks = false;
	int err;

	/* no fault in the source while its PTEs move */
	vma_start_write(vma);
	/* Room for the new VMA and the splits unmapping the old range. */
	if (map_count_exceeds(mm, 3))
		return -ENOMEM;
	if (!vrm_charge(vma, old_len, new_len, flags))
		return -ENOMEM;
	m.new_vma = copy_vma(&m.old_vma, new_addr, new_len, pgoff,
			     &need_rmap_locks, &err);
	if (!m.new_vma)
		return err;
	atomic_fetch_add(&mm->sys->ctr.mremap_moves, 1);
	if (need_rmap_locks)
		atomic_fetch_add(&mm->sys->ctr.mremap_rmap_locked, 1);
	err = move_page_tables(&m, old_len, need_rmap_locks);
	if (err) {
		/* Nothing moved: drop the destination again. */
		do_munmap(mm, new_addr, new_len);
		return err;
	}
	if (!(flags & AVM_MREMAP_DONTUNMAP))
		do_munmap(mm, old_addr, old_len);	/* failure leaves an
							   empty mapping, as in Linux */
	else
		dontunmap_complete(m.old_vma, m.new_vma, old_addr, old_len);
	return (long)new_addr;
}

/* [addr, addr + old_len) must lie inside one VMA. */
static struct vm_area_struct *resize_vma(struct avm_mm *mm, unsigned long addr,
					 unsigned long old_len, int *err)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);

	*err = -EFAULT;
	if (!vma || old_len > vma->vm_end - addr)
		return NULL;
	*err = 0;
	return vma;
}

/*
 * A fixed move that does not resize may span several VMAs and the gaps
 * between them (Linux 6.17 on): each VMA part moves to the same offset in
 * the target; what the target holds opposite a gap stays.  Only the first
 * address must be mapped.
 */
static long move_vmas(struct avm_mm *mm, unsigned long addr,
		      unsigned long len, unsigned long new_addr, int flags)
{
	unsigned long end = addr + len, cur = addr;
	struct vm_area_struct *vma;
	long ret;
	int err;

	if (!vma_lookup(mm, addr))
		return -EFAULT;
	while (cur < end && (vma = find_vma(mm, cur)) && vma->vm_start < end) {
		unsigned long s = MAX(vma->vm_start, cur);
		unsigned long e = MIN(vma->vm_end, end);

		/* Only the part each VMA lands on is unmapped first: the
		   target of a gap keeps whatever is mapped there. */
		err = do_munmap(mm, new_addr + (s - addr), e - s);
		if (err)
			return err;
		vma = find_vma(mm, s);
		ret = move_vma(vma, s, e - s, e - s, new_addr + (s - addr), flags);
		if (ret < 0)
			return ret;
		cur = e;
	}
	return (long)new_addr;
}

static long mremap_to(struct avm_mm *mm, unsigned long addr,
		      unsigned long old_len, unsigned long new_len, int flags,
		      unsigned long new_addr)
{
	struct vm_area_struct *vma;
	int err;

	if (old_len == new_len)
		return move_vmas(mm, addr, old_len, new_addr, flags);
	vma = resize_vma(mm, addr, MIN(old_len, new_len), &err);
	if (!vma)
		return err;
	err = do_munmap(mm, new_addr, new_len);
	if (!err && old_len > new_len)
		err = do_munmap(mm, addr + new_len, old_len - new_len);
	if (err)
		return err;
	vma = vma_lookup(mm, addr);
	return move_vma(vma, addr, MIN(old_len, new_len), new_len, new_addr,
			flags);
}

/*
 * Grow vma in place up to new_end (the range after it is free).  As Linux's
 * vma_merge_extend, the grown VMA also absorbs the next one when they would
 * merge; its own fork history does not matter (checked on the host).
 */
static int expand_in_place(struct vm_area_struct *vma, unsigned long new_end)
{
	unsigned long pgoff = vma->vm_pgoff + vma_pages(vma);
	int err;

	if (vma_merge_new(vma->vm_mm, vma->vm_end, new_end, vma->vm_flags,
			  pgoff, vma, false, &err))
		return 0;
	if (!err)	/* not reached: vma always takes its own extension */
		vma_set_range(vma, vma->vm_start, new_end, vma->vm_pgoff);
	return err;
}

static long mremap_resize(struct avm_mm *mm, unsigned long addr,
			  unsigned long old_len, unsigned long new_len,
			  int flags)
{
	struct vm_area_struct *vma;
	unsigned long new_addr;
	int err;

	/* Shrinking (or keeping the size) asks only that addr is mapped. */
	vma = resize_vma(mm, addr, old_len >= new_len ? PAGE_SIZE : old_len,
			 &err);
	if (!vma)
		return err;
	if (old_len >= new_len) {
		if (old_len > new_len)
			err = do_munmap(mm, addr + new_len, old_len - new_len);
		return err ? err : (long)addr;
	}
	if (addr + old_len == vma->vm_end && new_len - old_len <=
	    TASK_SIZE - vma->vm_end &&
	    range_is_free(mm, vma->vm_end, addr + new_len)) {
		if (!vrm_charge(vma, old_len, new_len, 0))
			return -ENOMEM;
		err = expand_in_place(vma, addr + new_len);
		return err ? err : (long)addr;
	}
	if (!(flags & AVM_MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = get_unmapped_area(mm, 0, new_len);
	if (!new_addr)
		return -ENOMEM;
	return move_vma(vma, addr, old_len, new_len, new_addr, flags);
}

/* DONTUNMAP without FIXED always moves; new_addr is a hint. */
static long mremap_dontunmap(struct avm_mm *mm, unsigned long addr,
			     unsigned long len, unsigned long hint)
{
	struct vm_area_struct *vma;
	unsigned long new_addr;
	int err;

	vma = resize_vma(mm, addr, len, &err);
	if (!vma)
		return err;
	new_addr = get_unmapped_area(mm, hint, len);
	if (!new_addr)
		return -ENOMEM;
	return move_vma(vma, addr, len, len, new_addr, AVM_MREMAP_DONTUNMAP);
}

static int check_flags(int flags, unsigned long old_len, unsigned long new_len)
{
	if (flags & ~(AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED |
		      AVM_MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & (AVM_MREMAP_FIXED | AVM_MREMAP_DONTUNMAP)) &&
	    !(flags & AVM_MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & AVM_MREMAP_DONTUNMAP) && old_len != new_len)
		return -EINVAL;
	return 0;
}

/*
 * FIXED and DONTUNMAP take new_addr (DONTUNMAP alone as a hint): it must be
 * aligned, in user space and clear of the source, or EINVAL before any
 * lookup, as Linux's check_mremap_params.
 */
static int check_new_addr(unsigned long addr, unsigned long old_len,
			  unsigned long new_addr, unsigned long new_len,
			  int flags)
{
	if (!(flags & (AVM_MREMAP_FIXED | AVM_MREMAP_DONTUNMAP)))
		return 0;
	if (!PAGE_ALIGNED(new_addr) || new_len > TASK_SIZE ||
	    new_addr > TASK_SIZE - new_len)
		return -EINVAL;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;		/* overlapping source and target */
	return 0;
}

int avm_mremap(struct avm_mm *mm, unsigned long addr, unsigned long old_len,
	       unsigned long new_len, int flags, unsigned long new_addr,
	       unsigned long *result)
{
	long ret;
	int err = check_flags(flags, PAGE_ALIGN(old_len), PAGE_ALIGN(new_len));

	if (err)
		return err;
	if (!PAGE_ALIGNED(addr) || !new_len || PAGE_ALIGN(new_len) < new_len ||
	    PAGE_ALIGN(old_len) < old_len)
		return -EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	err = check_new_addr(addr, old_len, new_addr, new_len, flags);
	if (err)
		return err;
	mmap_write_lock(mm);
	if ((flags & (AVM_MREMAP_FIXED | AVM_MREMAP_DONTUNMAP)) &&
	    map_count_exceeds(mm, 5))
		ret = -ENOMEM;	/* the target and source may each split in
				   three: Linux asks for that room first */
	else if (!vma_lookup(mm, addr))
		ret = -EFAULT;	/* before the length test, as Linux */
	else if (!old_len)
		ret = -EINVAL;	/* only shared mappings may be duplicated */
	else if (flags & AVM_MREMAP_FIXED)
		ret = mremap_to(mm, addr, old_len, new_len, flags, new_addr);
	else if (flags & AVM_MREMAP_DONTUNMAP)
		ret = mremap_dontunmap(mm, addr, old_len, new_addr);
	else
		ret = mremap_resize(mm, addr, old_len, new_len, flags);
	mmap_write_unlock(mm);
	if (ret < 0)
		return (int)ret;
	if (result)
		*result = (unsigned long)ret;
	return 0;
}
