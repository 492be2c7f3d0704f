/* SPDX-License-Identifier: MIT */
/*
 * Per-VMA locks, as Linux 6.4+: a fault finds its VMA without mmap_lock
 * (the tree is walked inside an RCU read section) and read-locks just that
 * VMA; writers, holding mmap_lock for writing, write-lock each VMA they
 * change, and all of those locks end together at mmap_write_unlock.
 *
 * The write lock is a mark, not a held lock: vma_start_write takes the
 * VMA's rwlock for writing only to wait for the faults inside it, stores
 * the mm's write sequence in vm_lock_seq and lets the rwlock go.  A reader
 * that sees vm_lock_seq == mm_lock_seq after its trylock knows a writer is
 * (or is about to be) changing the VMA and backs off; mmap_write_unlock
 * bumps mm_lock_seq, which unmarks every VMA at once.  So a writer never
 * waits for a fault twice, and a fault never waits at all: it falls back
 * to mmap_lock.
 *
 * A removed VMA is marked detached (under its write lock) before it leaves
 * the tree and is freed after a grace period, so a reader that found it
 * reads its lock and fields, fails its checks, and never touches freed
 * memory.  Why the lockless walk is sound: docs/locking.md.
 */
#include "lib/rcu.h"
#include "mm/internal.h"

#define vma_of(node) rb_entry(node, struct vm_area_struct, vm_rb)

/* A tree of max_map_count (at most 2^32) VMAs is at most 64 deep; a walk
   racing rotations may wander, but never further than this. */
#define LOCKLESS_WALK_MAX	128

void vma_lock_init(struct vm_area_struct *vma)
{
	avm_rwlock_init(&vma->vm_lock);
}

void vma_start_write(struct vm_area_struct *vma)
{
	struct avm_mm *mm = vma->vm_mm;
	unsigned long seq = atomic_load_explicit(&mm->mm_lock_seq,
						 memory_order_relaxed);

	if (atomic_load_explicit(&vma->vm_lock_seq, memory_order_relaxed) ==
	    seq)
		return;
	avm_write_lock(&vma->vm_lock, &vma_lock_class);
	atomic_store_explicit(&vma->vm_lock_seq, seq, memory_order_relaxed);
	avm_rwlock_unlock(&vma->vm_lock);
}

/* A VMA about to be linked: nobody can hold its lock yet. */
void vma_mark_new(struct vm_area_struct *vma)
{
	atomic_store_explicit(&vma->vm_lock_seq,
			      atomic_load_explicit(&vma->vm_mm->mm_lock_seq,
						   memory_order_relaxed),
			      memory_order_relaxed);
}

static bool write_locked(struct avm_mm *mm, struct vm_area_struct *vma)
{
	return atomic_load_explicit(&vma->vm_lock_seq, memory_order_relaxed) ==
	       atomic_load_explicit(&mm->mm_lock_seq, memory_order_acquire);
}

/* Read-lock vma unless a writer has marked it; never waits. */
static bool vma_start_read(struct avm_mm *mm, struct vm_area_struct *vma)
{
	if (write_locked(mm, vma))
		return false;
	if (!avm_read_trylock(&vma->vm_lock, &vma_lock_class))
		return false;
	/* A writer may have marked it between the look and the trylock;
	   from now on no writer can, until we unlock. */
	if (write_locked(mm, vma)) {
		avm_rwlock_unlock(&vma->vm_lock);
		return false;
	}
	return true;
}

void vma_end_read(struct vm_area_struct *vma)
{
	avm_rwlock_unlock(&vma->vm_lock);
}

static unsigned long load_ul(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/*
 * The VMA that seemed to contain addr, walking the tree as a writer may be
 * changing it; inside an RCU read section.  Any answer may be wrong (the
 * caller checks it under the VMA's lock); NULL means "not found", which
 * only mmap_lock can confirm.
 */
static struct vm_area_struct *find_vma_lockless(struct avm_mm *mm,
						unsigned long addr)
{
	struct rb_node *n = rb_child_rcu(&mm->mm_rb.rb_node);

	for (int steps = 0; n && steps < LOCKLESS_WALK_MAX; steps++) {
		struct vm_area_struct *v = vma_of(n);

		if (load_ul(&v->vm_end) <= addr)
			n = rb_child_rcu(&n->rb_right);
		else if (load_ul(&v->vm_start) > addr)
			n = rb_child_rcu(&n->rb_left);
		else
			return v;
	}
	return NULL;
}

struct vm_area_struct *lock_vma_under_rcu(struct avm_mm *mm,
					  unsigned long addr)
{
	struct vm_area_struct *vma;

	avm_rcu_read_lock();
	vma = find_vma_lockless(mm, addr);
	if (vma && !vma_start_read(mm, vma))
		vma = NULL;
	/* Under its lock the VMA cannot change; it must still be in the
	   tree and still cover addr (it may have been shrunk or removed
	   between the walk and the lock). */
	if (vma && (atomic_load_explicit(&vma->detached, memory_order_acquire) ||
		    addr < vma->vm_start || addr >= vma->vm_end)) {
		vma_end_read(vma);
		vma = NULL;
	}
	avm_rcu_read_unlock();
	return vma;
}

/* ---- freeing after a grace period ------------------------------------ */

/* As anon_vmas (rmap/anon_vma.c): the callback thread only queues. */
static void vma_free_rcu(struct rcu_head *head)
{
	struct vm_area_struct *vma = container_of(head, struct vm_area_struct,
						  rcu);
	struct avm_sys *sys;
	struct vm_area_struct *old;

	avm_rcu_cb_begin(head);
	sys = vma->rcu_sys;
	old = atomic_load(&sys->vma_rcu_freed);
	do
		vma->rcu_next = old;
	while (!atomic_compare_exchange_weak(&sys->vma_rcu_freed, &old, vma));
}

void vma_reap(struct avm_sys *sys)
{
	struct vm_area_struct *vma = atomic_exchange(&sys->vma_rcu_freed, NULL);

	while (vma) {
		struct vm_area_struct *next = vma->rcu_next;

		avm_rwlock_destroy(&vma->vm_lock);
		avm_kfree_memory(&sys->alloc, AK_VMA, vma, sizeof(*vma));
		vma = next;
	}
}

/* Counted as freed now; the memory goes after the readers are done. */
void vm_area_free_rcu(struct vm_area_struct *vma)
{
	struct avm_sys *sys = vma->vm_mm->sys;

	avm_kfree_deferred(&sys->alloc, AK_VMA, sizeof(*vma));
	vma->rcu_sys = sys;
	avm_call_rcu(&vma->rcu, vma_free_rcu);
}
