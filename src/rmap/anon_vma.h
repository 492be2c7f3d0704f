/* SPDX-License-Identifier: MIT */
/*
 * anon_vma and anon_vma_chain: the objects of the anon_vma family of
 * designs (2004 list, 2010 chain, 2012 tree, reuse variants, Linux today).
 *
 * An anon_vma stands for one origin of anonymous pages: the VMA that first
 * faulted them, plus its copies in forked children.  An anon_vma_chain
 * (avc) links one VMA to one anon_vma; every VMA is linked to its own
 * anon_vma and to every ancestor's, so a walk from a page's anon_vma finds
 * every VMA that may map it.  The whole family shares its root's lock.
 */
#ifndef AVM_RMAP_ANON_VMA_H
#define AVM_RMAP_ANON_VMA_H

#include <pthread.h>
#include <stdatomic.h>
#include "lib/list.h"
#include "lib/rbtree.h"
#include "lib/rcu.h"
#include "mm/mm_types.h"

struct anon_vma {
	struct anon_vma *root;		/* top of the fork family */
	struct anon_vma *parent;	/* forked from (self for a root) */
	struct avm_rwlock rwsem;	/* used on the root only */
	atomic_int refcount;		/* 1 while linked + 1 per child */
	unsigned int num_children;	/* anon_vmas whose parent is this */
	unsigned int num_active_vmas;	/* VMAs whose anon_vma is this */
	union {
		struct rb_root rb_root;	/* tree designs: avcs by pgoff */
		struct list_head head;	/* list designs: avcs (or VMAs) */
		struct {		/* freed: waiting for a grace period
					   (the index is empty by then) */
			struct rcu_head rcu;
			struct avm_sys *rcu_sys;
			struct anon_vma *rcu_next;	/* sys->rcu_freed */
		};
	};
};

struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;	/* vma->anon_vma_chain, newest first */
	union {
		struct {
			struct rb_node rb;	/* anon_vma->rb_root */
			unsigned long rb_subtree_last;
		};
		struct list_head same_anon_vma;	/* anon_vma->head */
	};
};

/* The family's lock (macros: the validator names the caller's line). */
#define anon_vma_lock_write(av) \
	avm_write_lock(&(av)->root->rwsem, &anon_vma_lock_class)
#define anon_vma_unlock_write(av)	avm_rwlock_unlock(&(av)->root->rwsem)
#define anon_vma_lock_read(av) \
	avm_read_lock(&(av)->root->rwsem, &anon_vma_lock_class)
#define anon_vma_unlock_read(av)	avm_rwlock_unlock(&(av)->root->rwsem)

/*
 * Shared by every anon_vma design (anon_vma.c, anon_vma_2004.c).  A new
 * anon_vma is its own root and parent with refcount 1; its index (tree or
 * list) is the caller's to initialise.  NULL when out of memory.
 */
struct anon_vma *anon_vma_new(struct avm_sys *sys);
/* Counted as freed now; the memory goes after an RCU grace period. */
void anon_vma_free(struct avm_sys *sys, struct anon_vma *av);
/* Give the allocator back the anon_vmas whose grace period is over. */
void anon_vma_reap(struct avm_sys *sys);
/* Drop a reference; the last one frees av (and a root it held). */
void anon_vma_put(struct avm_sys *sys, struct anon_vma *av);

/*
 * Linux's folio_get_anon_vma: a reference on the anon_vma of a page
 * found without one (the caller holds the page, e.g. migration, which
 * needs it across the time the page has only migration entries), or
 * NULL if the page is not mapped (its anon_vma may be gone already).
 */
struct anon_vma *page_get_anon_vma(struct avm_sys *sys, struct page *page);
/*
 * folio_lock_anon_vma_read, for a walk of a locked page: the page's
 * anon_vma with its root lock held for reading, or NULL if there is
 * nothing to walk.  As Linux: in an RCU read section, the lock is tried
 * while the page is seen mapped (the lock then keeps the anon_vma: the
 * last unlink must take it for writing); only when it is contended is a
 * reference (increment-unless-zero) taken to wait for it.  If the caller
 * holds a reference (rwc->anon_ref, migration) the page need not be
 * mapped.  Undo with page_unlock_anon_vma_read.
 */
struct rmap_walk_control;
struct anon_vma *page_lock_anon_vma_read(struct page *page,
					 struct rmap_walk_control *rwc);
void page_unlock_anon_vma_read(struct avm_sys *sys, struct anon_vma *av,
			       struct rmap_walk_control *rwc);
/* Unlock and drop a reference taken with the lock. */
void page_unlock_anon_vma_ref(struct avm_sys *sys, struct anon_vma *av);

#endif
