/* SPDX-License-Identifier: MIT */
/*
 * Page faults, PTE teardown, and loads/stores as a CPU performs them.
 *
 * A read of a never-written page maps the shared zero page; the first
 * write allocates a zeroed frame (after giving the VMA an anon_vma); a
 * write to a present read-only page breaks COW: the page is reused in place
 * when it is AnonExclusive or nobody else holds it, and copied otherwise.
 */
#include <string.h>
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

static unsigned long zero_pfn(struct avm_sys *sys)
{
	return page_to_pfn(sys, sys->zero_page);
}

/*
 * Give the VMA its anon_vma, unless the fault runs under the VMA's lock
 * (fault_vma_locked): then preparing it, which looks at the neighbours,
 * needs mmap_lock, and the fault is retried under it (Linux's
 * vmf_anon_prepare and VM_FAULT_RETRY).
 */
static __thread bool fault_vma_locked;

static int vmf_anon_prepare(struct vm_area_struct *vma)
{
	if (fault_vma_locked &&
	    !__atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	return vma->vm_mm->sys->rmap->prepare(vma);
}

static int do_anonymous_page(struct avm_mm *mm, struct vm_area_struct *vma,
			     unsigned long addr, struct pgtable *pt)
{
	struct avm_sys *sys = mm->sys;
	struct page *page;
	int err;

	err = vmf_anon_prepare(vma);
	if (err)
		return err;
	page = alloc_page(sys, 0);
	if (!page)
		return -ENOMEM;
	ptl_lock(mm);
	/* another thread's fault may have filled it meanwhile (as Linux,
	   which checks pte_none again under the lock) */
	if (ptep_get(pt, pte_index(addr))) {
		ptl_unlock(mm);
		put_page(sys, page);
		return 0;
	}
	rmap_add_new(page, vma, addr, true);
	pt_set(pt, pte_index(addr),
	       mk_pte(page_to_pfn(sys, page), PTE_WRITE | PTE_YOUNG | PTE_DIRTY));
	ptl_unlock(mm);
	lru_add(sys, page);
	atomic_fetch_add(&sys->ctr.anon_faults, 1);
	return 0;
}

/*
 * Nobody else can reach this page: take it over in place.  Called with the
 * page-table lock held and the page locked.
 */
static bool can_reuse(struct avm_sys *sys, struct page *page)
{
	if (page_test(page, PG_anon_exclusive))
		return true;
	if (page_test(page, PG_swapcache))
		try_free_swap(sys, page);
	return page_refcount(page) == 1;
}

/*
 * Replace the PTE orig (mapping old, of which the caller holds a
 * reference, or the zero page if old is NULL) by a private copy.  As Linux,
 * the PTE is checked again under the lock: if reclaim or a migration
 * changed it meanwhile, the copy is dropped and the access retries.
 */
static int wp_page_copy(struct avm_mm *mm, struct vm_area_struct *vma,
			unsigned long addr, struct pgtable *pt,
			struct page *old, pte_t orig)
{
	struct avm_sys *sys = mm->sys;
	struct page *page = NULL;
	int err;

	err = vmf_anon_prepare(vma);
	if (!err) {
		/* a copy overwrites the whole frame: zeroing it first is waste */
		page = old ? alloc_page_nozero(sys, 0) : alloc_page(sys, 0);
		if (!page)
			err = -ENOMEM;
	}
	if (err) {
		if (old)
			put_page(sys, old);
		return err;
	}
	if (old)
		copy_page_payload(sys, page, old);
	ptl_lock(mm);
	if (ptep_get(pt, pte_index(addr)) != orig) {
		ptl_unlock(mm);
		put_page(sys, page);
		if (old)
			put_page(sys, old);
		return 0;
	}
	rmap_add_new(page, vma, addr, true);
	pt_set(pt, pte_index(addr),
	       mk_pte(page_to_pfn(sys, page), PTE_WRITE | PTE_YOUNG | PTE_DIRTY));
	if (old)
		rmap_remove(old, vma, addr);
	ptl_unlock(mm);
	lru_add(sys, page);
	if (old) {
		free_swap_cache(sys, old);
		put_page(sys, old);	/* the mapping's */
		put_page(sys, old);	/* ours */
	}
	atomic_fetch_add(&sys->ctr.cow_copies, 1);
	return 0;
}

static int do_wp_page(struct avm_mm *mm, struct vm_area_struct *vma,
		      unsigned long addr, struct pgtable *pt, pte_t pte)
{
	struct avm_sys *sys = mm->sys;
	struct page *page = pfn_to_page(sys, pte_pfn(pte));
	unsigned int i = pte_index(addr);
	bool reuse = false;

	if (page == sys->zero_page)
		return wp_page_copy(mm, vma, addr, pt, NULL, pte);
	/* Decide under the page-table lock, on the PTE as it is now (the
	   frame may have been swapped out or migrated since the fault
	   looked); the page lock is only tried, as in Linux. */
	ptl_lock(mm);
	if (ptep_get(pt, i) != pte) {
		ptl_unlock(mm);
		return 0;
	}
	if (page_test(page, PG_anon_exclusive)) {
		reuse = true;
	} else if (trylock_page(page)) {
		reuse = can_reuse(sys, page);
		if (reuse) {
			sys->rmap->page_move(page, vma);
			page_set(page, PG_anon_exclusive);
		}
		unlock_page(page);
	}
	if (reuse)
		set_pte(pt, i, pte | PTE_WRITE | PTE_YOUNG | PTE_DIRTY);
	else
		get_page(page);		/* for the copy */
	ptl_unlock(mm);
	if (!reuse)
		return wp_page_copy(mm, vma, addr, pt, page, pte);
	atomic_fetch_add(&sys->ctr.cow_reuses, 1);
	return 0;
}

int handle_mm_fault(struct avm_mm *mm, struct vm_area_struct *vma,
		    unsigned long addr, bool write)
{
	struct avm_sys *sys = mm->sys;
	struct pgtable *pt;
	pte_t pte;

	atomic_fetch_add(&sys->ctr.faults, 1);
	ptl_lock(mm);
	pt = pt_alloc(mm, addr);
	ptl_unlock(mm);
	if (!pt)
		return -ENOMEM;
	pte = ptep_get(pt, pte_index(addr));
	if (!pte && !write) {
		bool none;

		ptl_lock(mm);
		none = !ptep_get(pt, pte_index(addr));
		if (none)
			pt_set(pt, pte_index(addr),
			       mk_pte(zero_pfn(sys), PTE_YOUNG));
		ptl_unlock(mm);
		if (none)
			atomic_fetch_add(&sys->ctr.zero_faults, 1);
		return 0;
	}
	if (!pte)
		return do_anonymous_page(mm, vma, addr, pt);
	if (!pte_present(pte))
		return do_swap_page(mm, vma, addr, pt, pte, write);
	if (write && !(pte & PTE_WRITE))
		return do_wp_page(mm, vma, addr, pt, pte);
	/* Only if reclaim or migration did not replace it meanwhile: these
	   bits mean something else in a swap or migration entry. */
	ptl_lock(mm);
	if (ptep_get(pt, pte_index(addr)) == pte)
		set_pte(pt, pte_index(addr),
			pte | PTE_YOUNG | (write ? PTE_DIRTY : 0));
	ptl_unlock(mm);
	return 0;
}

/* ---- teardown ---------------------------------------------------------- */

static int zap_table(struct avm_mm *mm, struct pgtable *pt,
		     unsigned long start, unsigned long end, void *arg)
{
	struct vm_area_struct *vma = arg;
	struct avm_sys *sys = mm->sys;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		unsigned int i = pte_index(a);
		pte_t pte = ptep_get(pt, i);
		struct page *page;

		if (!pte)
			continue;
		pt_set(pt, i, 0);
		if (!pte_present(pte)) {
			if (pte_nptype(pte) >= PTE_TYPE_MIG_R &&
			    sys->rmap->migration_entry_drop)
				sys->rmap->migration_entry_drop(
					pfn_to_page(sys, pte_pfn(pte)), vma, a);
			free_swap_pte(sys, pte);
			continue;
		}
		page = pfn_to_page(sys, pte_pfn(pte));
		if (page == sys->zero_page)
			continue;
		rmap_remove(page, vma, a);
		free_swap_cache(sys, page);
		put_page(sys, page);
	}
	return 0;
}

void zap_page_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long end)
{
	struct avm_mm *mm = vma->vm_mm;

	ptl_lock(mm);
	pt_for_each_table(mm, start, end, zap_table, vma);
	ptl_unlock(mm);
}

/* ---- loads and stores -------------------------------------------------- */

enum access { ACC_READ, ACC_WRITE, ACC_PEEK };

/*
 * The payload of the page at addr if its PTE allows the access now (*ok).
 * NULL with *ok means "reads as zeroes": an empty PTE seen by a peek, or a
 * frame without payload.  A peek through a swap or migration entry copies
 * the contents into swapbuf.
 */
static unsigned char *pte_bytes(struct avm_mm *mm, unsigned long addr,
				enum access acc, bool *ok,
				unsigned char *swapbuf)
{
	struct avm_sys *sys = mm->sys;
	struct pgtable *pt = pt_lookup(mm, addr);
	pte_t pte = pt ? ptep_get(pt, pte_index(addr)) : 0;

	*ok = false;
	if (acc == ACC_PEEK) {
		*ok = true;
		if (!pte)
			return NULL;
		if (!pte_present(pte)) {
			swap_pte_read(sys, pte, swapbuf);
			return swapbuf;
		}
	} else if (!pte_present(pte) ||
		   (acc == ACC_WRITE && !(pte & PTE_WRITE))) {
		return NULL;
	} else {
		*ok = true;
		set_pte(pt, pte_index(addr), pte | PTE_YOUNG |
			(acc == ACC_WRITE ? PTE_DIRTY : 0));
	}
	return page_address(sys, pfn_to_page(sys, pte_pfn(pte)));
}

static int access_ok_vma(struct vm_area_struct *vma, enum access acc)
{
	if (!vma)
		return -EFAULT;
	if (acc == ACC_READ && !(vma->vm_flags & VM_READ))
		return -EFAULT;
	if (acc == ACC_WRITE && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	return 0;
}

/* Move up to the end of one page; returns bytes moved or -errno. */
static long access_page(struct avm_mm *mm, struct vm_area_struct *vma,
			unsigned long addr, unsigned char *buf, size_t len,
			enum access acc, int fill, atomic_ulong *path)
{
	size_t off = addr & (PAGE_SIZE - 1), n = MIN(len, PAGE_SIZE - off);
	unsigned char *page, swapbuf[acc == ACC_PEEK ? PAGE_SIZE : 1];
	bool ok;
	int err = access_ok_vma(vma, acc);

	if (err)
		return err;
	for (int tries = 0; ; tries++) {
		ptl_lock(mm);
		page = pte_bytes(mm, addr, acc, &ok, swapbuf);
		if (ok) {
			if (acc != ACC_WRITE && page)
				memcpy(buf, page + off, n);
			else if (acc != ACC_WRITE)
				memset(buf, 0, n);
			else if (page && fill >= 0)
				memset(page + off, fill, n);
			else if (page)
				memcpy(page + off, buf, n);
			ptl_unlock(mm);
			return (long)n;
		}
		ptl_unlock(mm);
		/* A fault that succeeded can be undone before the retry by
		   reclaim or migration from another mm (as in Linux, which
		   retries for ever); the bound only stops a livelock. */
		if (tries > 1000)
			return -EFAULT;
		/* a fault under mmap_lock counts why (path); one under a VMA
		   lock costs no atomic more: faults minus the others */
		if (path)
			atomic_fetch_add_explicit(path, 1,
						  memory_order_relaxed);
		err = handle_mm_fault(mm, vma, addr & PAGE_MASK, acc == ACC_WRITE);
		if (err)
			return err;
	}
}

/*
 * Pages of one VMA under its per-VMA lock (lock_vma_under_rcu), as far as
 * the access goes inside it: bytes moved, or -errno; -EAGAIN asks for the
 * rest under mmap_lock.
 */
static long access_vma_locked(struct avm_mm *mm, struct vm_area_struct *vma,
			      unsigned long addr, unsigned char *buf,
			      size_t len, enum access acc, int fill)
{
	struct avm_counters *c = &mm->sys->ctr;
	long done = 0;

	fault_vma_locked = true;
	while (len && addr < vma->vm_end) {
		long n = access_page(mm, vma, addr, buf, len, acc, fill,
				     NULL);

		if (n < 0) {
			if (n == -EAGAIN)
				atomic_fetch_add(&c->vma_lock_retries, 1);
			done = done ? done : n;
			break;
		}
		addr += (unsigned long)n;
		len -= (size_t)n;
		if (fill < 0)
			buf += n;
		done += n;
	}
	fault_vma_locked = false;
	return done;
}

/*
 * The per-VMA lock path, VMA after VMA; what it cannot do (no VMA found
 * or locked, no anon_vma yet, a retry) goes on under mmap_lock.  Returns
 * bytes done, or -errno for an error the access itself hit.  *path: the
 * counter the faults under mmap_lock count in.
 */
static long access_lockless(struct avm_mm *mm, unsigned long addr,
			    unsigned char *buf, size_t len, enum access acc,
			    int fill, atomic_ulong **path)
{
	struct avm_counters *c = &mm->sys->ctr;
	long done = 0;

	while (len) {
		struct vm_area_struct *vma = lock_vma_under_rcu(mm, addr);
		long n;

		*path = &c->vma_lock_miss;
		if (!vma)
			break;
		/* Linux 6.4's rule: a VMA without anon_vma is prepared
		   under mmap_lock (also designs that never set one) */
		if (!__atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE)) {
			vma_end_read(vma);
			*path = &c->vma_lock_no_anon;
			break;
		}
		n = access_vma_locked(mm, vma, addr, buf, len, acc, fill);
		vma_end_read(vma);
		if (n == -EAGAIN) {	/* counted in vma_lock_retries */
			*path = &c->vma_lock_no_anon;
			break;
		}
		if (n < 0)
			return n;
		addr += (unsigned long)n;
		len -= (size_t)n;
		if (fill < 0)
			buf += n;
		done += n;
	}
	return done;
}

static int access_range(struct avm_mm *mm, unsigned long addr,
			unsigned char *buf, size_t len, enum access acc,
			int fill)
{
	atomic_ulong *path = &mm->sys->ctr.vma_lock_miss;
	int err = 0;

	if (addr + len < addr || addr + len > TASK_SIZE)
		return -EFAULT;
	if (acc != ACC_PEEK) {
		long n = access_lockless(mm, addr, buf, len, acc, fill, &path);

		if (n < 0)
			return (int)n;
		addr += (unsigned long)n;
		len -= (size_t)n;
		if (fill < 0)
			buf += n;
		if (!len)
			return 0;
	}
	mmap_read_lock(mm);
	while (len) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		long n = access_page(mm, vma, addr, buf, len, acc, fill, path);

		if (n < 0) {
			err = (int)n;
			break;
		}
		addr += (unsigned long)n;
		len -= (size_t)n;
		if (fill < 0)
			buf += n;
	}
	mmap_read_unlock(mm);
	return err;
}

int avm_read(struct avm_mm *mm, unsigned long addr, void *buf, size_t len)
{
	return access_range(mm, addr, buf, len, ACC_READ, -1);
}

int avm_write(struct avm_mm *mm, unsigned long addr, const void *buf,
	      size_t len)
{
	return access_range(mm, addr, (unsigned char *)buf, len, ACC_WRITE, -1);
}

int avm_fill(struct avm_mm *mm, unsigned long addr, int byte, size_t len)
{
	return access_range(mm, addr, NULL, len, ACC_WRITE, byte & 0xff);
}

int avm_peek(struct avm_mm *mm, unsigned long addr, void *buf, size_t len)
{
	return access_range(mm, addr, buf, len, ACC_PEEK, -1);
}
