/* SPDX-License-Identifier: MIT */
/*
 * COW contexts: the objects of the cow-context family of designs (see
 * cow_context.c for the design and its sources).  One context per mm, in
 * a tree that follows fork; a context outlives its mm while pages name it
 * or while it has children.  Designs of the family differ in their policy.
 */
#ifndef AVM_RMAP_COW_CONTEXT_H
#define AVM_RMAP_COW_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include "lib/list.h"
#include "lib/lockdep.h"
#include "lib/rbtree.h"
#include "mm/mm_types.h"

struct cowc_family {
	struct avm_mutex lock;		/* tree shape, ctx->mm, root */
	struct avm_sys *sys;
	struct cow_context *root;
	unsigned long nr;		/* contexts */
};

struct cow_context {
	struct cowc_family *fam;
	struct cow_context *parent;	/* NULL for the root */
	struct list_head children;	/* struct cow_context, by sibling */
	struct list_head sibling;
	struct avm_mm *mm;		/* NULL once the mm is gone */
	atomic_ulong pages;		/* frames whose mapping names this */
};

/* avm_mm->rmap_data: the mm's context and its remapped VMAs. */
struct cowc_mm {
	struct cow_context *ctx;	/* where the mm's new pages go */
	struct avm_mutex lock;		/* remaps (prepare runs read-locked) */
	struct rb_root remaps;		/* struct cowc_remap by pgoff range */
};

/* One per VMA whose pages are not at their virtual page offset. */
struct cowc_remap {
	struct rb_node rb;
	unsigned long subtree_last;
	struct vm_area_struct *vma;
	struct list_head link;		/* vma->anon_vma_chain (only entry) */
};

struct cowc_policy {
	/* fork gives the parent a new leaf context too, so that pages it
	   faults after the fork are not searched for in its children */
	bool fork_new_parent_leaf;
	/* page->rmap_count counts the page's mappings outside the mm of
	   the context it names ("foreign"); a walk descends the subtree
	   only when there are some */
	bool foreign_count;
	/* with foreign_count: page->rmap_data lists the contexts of the
	   foreign mappings (cow_context_mappers.c); a walk visits just those
	   when the list is complete */
	bool mapper_list;
};

/* page->rmap_data of the mapper-list design: a slot per foreign mapping. */
struct cowc_mappers {
	unsigned int len, cap;
	struct cow_context *ctx[];
};

#endif
