/* SPDX-License-Identifier: MIT */
/*
 * The anon_vma_chain machinery shared by the chain designs, which differ
 * only in their policy: how an anon_vma indexes its avcs (plain list, 2010,
 * or interval tree, 2012 on) and when fork may reuse an existing anon_vma.
 *
 *   design             index  reuse on fork
 *   avc-2010           list   never
 *   avc-tree           tree   never
 *   reuse-degree       tree   num_active_vmas + num_children < 2 (unsafe)
 *   single-descendant  tree   num_active_vmas == 0 && num_children == 1
 *   linux              tree   num_active_vmas == 0 && num_children < 2
 */
#ifndef AVM_RMAP_ANON_VMA_IMPL_H
#define AVM_RMAP_ANON_VMA_IMPL_H

#include "rmap/anon_vma.h"
#include "rmap/rmap.h"

struct av_policy {
	/* May a forked VMA take av as its own instead of a new anon_vma?
	   Asked only for anon_vmas on the source VMA's chain other than the
	   source's own.  NULL: never reuse. */
	bool (*reusable)(const struct anon_vma *av);
	/* true: avcs in an interval tree keyed by pgoff range (rb_root, avc
	   rb); a walk visits only the VMAs whose range holds the page.
	   false: avcs on a plain list (head, avc same_anon_vma) in link
	   order, new links at the tail; a walk visits every one. */
	bool tree;
};

int av_prepare(struct vm_area_struct *vma);
int av_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int av_fork(struct vm_area_struct *dst, struct vm_area_struct *src);
void av_unlink(struct vm_area_struct *vma);
void av_adjust_begin(struct vm_area_struct *vma);
void av_adjust_end(struct vm_area_struct *vma);
bool av_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
		  struct vm_area_struct *src);
void av_page_add_new(struct page *page, struct vm_area_struct *vma,
		     unsigned long addr, bool exclusive);
int av_page_add(struct page *page, struct vm_area_struct *vma,
		unsigned long addr);
void av_page_remove(struct page *page, struct vm_area_struct *vma,
		    unsigned long addr);
void av_page_move(struct page *page, struct vm_area_struct *vma);
int av_walk_tree(struct page *page, struct rmap_walk_control *rwc);
int av_walk_list(struct page *page, struct rmap_walk_control *rwc);
void av_move_tail(struct vm_area_struct *vma);
int av_check(struct avm_sys *sys, struct check_ctx *ctx);
void av_usage(struct avm_sys *sys, unsigned long *objects,
	      unsigned long *bytes);
void *av_get_anon(struct avm_sys *sys, struct page *page);
void av_put_anon(struct avm_sys *sys, void *obj);

#define AV_COMMON_OPS \
	.prepare = av_prepare, .clone = av_clone, .fork = av_fork, \
	.unlink = av_unlink, .adjust_begin = av_adjust_begin, \
	.adjust_end = av_adjust_end, .mergeable = av_mergeable, \
	.page_add_new = av_page_add_new, .page_add = av_page_add, \
	.page_remove = av_page_remove, .page_move = av_page_move, \
	.check = av_check, .usage = av_usage, \
	.get_anon = av_get_anon, .put_anon = av_put_anon

/* With .design_data an av_policy with tree = true. */
#define AV_TREE_OPS	AV_COMMON_OPS, .walk = av_walk_tree

/* With tree = false: the walk visits the whole list, and mremap orders a
   destination merged into an existing VMA after the source (2011). */
#define AV_LIST_OPS	AV_COMMON_OPS, .walk = av_walk_list, \
			.move_tail = av_move_tail

#endif
