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

static struct vm_area_struct *copy_vma(struct vm_area_struct *vma,
				       unsigned long addr, unsigned long len,
				       unsigned long pgoff, bool *need_rmap_locks,
				       int *err)
{
	struct avm_mm *mm = vma->vm_mm;
	struct vm_area_struct *new;

	if (!vma->anon_vma)
		pgoff = addr >> PAGE_SHIFT;
	new = vma_merge_new(mm, addr, addr + len, vma->vm_flags, pgoff, vma, err);
	if (*err)
		return NULL;
	if (new) {
		*need_rmap_locks = new->vm_pgoff <= vma->vm_pgoff;
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

static int move_table(struct avm_mm *mm, struct pgtable *pt,
		      unsigned long start, unsigned long end, void *arg)
{
	struct move_arg *m = arg;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned long na = a - m->old_addr + m->new_addr;
		struct pgtable *npt;
		pte_t pte = pt->e[pte_index(a)];

		if (!pte)
			continue;
		npt = pt_alloc(mm, na);
		if (!npt)
			return -ENOMEM;
		if (m->prealloc)
			continue;
		pt_set(pt, pte_index(a), 0);
		pt_set(npt, pte_index(na), pte);
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

	pthread_mutex_lock(&mm->page_table_lock);
	m->prealloc = true;
	err = pt_for_each_table(mm, m->old_addr, m->old_addr + len,
				move_table, m);
	pthread_mutex_unlock(&mm->page_table_lock);
	if (err)
		return err;
	if (need_rmap_locks && av)
		anon_vma_lock_write(av);
	pthread_mutex_lock(&mm->page_table_lock);
	m->prealloc = false;
	pt_for_each_table(mm, m->old_addr, m->old_addr + len, move_table, m);
	pthread_mutex_unlock(&mm->page_table_lock);
	if (need_rmap_locks && av)
		anon_vma_unlock_write(av);
	return 0;
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

	m.new_vma = copy_vma(vma, new_addr, new_len, pgoff, &need_rmap_locks,
			     &err);
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

static long mremap_to(struct avm_mm *mm, unsigned long addr,
		      unsigned long old_len, unsigned long new_len, int flags,
		      unsigned long new_addr)
{
	struct vm_area_struct *vma;
	int err;

	if (!PAGE_ALIGNED(new_addr) || new_addr > TASK_SIZE ||
	    new_len > TASK_SIZE - new_addr)
		return -EINVAL;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return -EINVAL;		/* overlapping source and target */
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

static long mremap_resize(struct avm_mm *mm, unsigned long addr,
			  unsigned long old_len, unsigned long new_len,
			  int flags)
{
	struct vm_area_struct *vma;
	unsigned long new_addr;
	int err;

	vma = resize_vma(mm, addr, old_len > new_len ? PAGE_SIZE : old_len, &err);
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
		vma_set_range(vma, vma->vm_start, addr + new_len, vma->vm_pgoff);
		return (long)addr;
	}
	if (!(flags & AVM_MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = get_unmapped_area(mm, new_len);
	if (!new_addr)
		return -ENOMEM;
	return move_vma(vma, addr, old_len, new_len, new_addr, flags);
}

/* DONTUNMAP without FIXED always moves, to an address of our choosing. */
static long mremap_dontunmap(struct avm_mm *mm, unsigned long addr,
			     unsigned long len)
{
	struct vm_area_struct *vma;
	unsigned long new_addr;
	int err;

	vma = resize_vma(mm, addr, len, &err);
	if (!vma)
		return err;
	new_addr = get_unmapped_area(mm, len);
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
	if (!old_len)
		return -EINVAL;	/* only shared mappings may be duplicated */
	pthread_rwlock_wrlock(&mm->mmap_lock);
	if (flags & AVM_MREMAP_FIXED)
		ret = mremap_to(mm, addr, old_len, new_len, flags, new_addr);
	else if (flags & AVM_MREMAP_DONTUNMAP)
		ret = mremap_dontunmap(mm, addr, old_len);
	else
		ret = mremap_resize(mm, addr, old_len, new_len, flags);
	pthread_rwlock_unlock(&mm->mmap_lock);
	if (ret < 0)
		return (int)ret;
	if (result)
		*result = (unsigned long)ret;
	return 0;
}
