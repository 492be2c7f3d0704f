/* SPDX-License-Identifier: MIT */
/*
 * The anon_vma_chain machinery shared by the chain designs, which differ
 * only in their policy: when fork may reuse an existing anon_vma.
 */
#ifndef AVM_RMAP_ANON_VMA_IMPL_H
#define AVM_RMAP_ANON_VMA_IMPL_H

#include "rmap/anon_vma.h"
#include "rmap/rmap.h"

struct av_policy {
	/* May a forked VMA take av as its own instead of a new anon_vma?
	   NULL: never reuse. */
	bool (*reusable)(const struct anon_vma *av);
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
int av_check_tree(struct avm_sys *sys, struct check_ctx *ctx);
void av_usage(struct avm_sys *sys, unsigned long *objects,
	      unsigned long *bytes);

#define AV_TREE_OPS \
	.prepare = av_prepare, .clone = av_clone, .fork = av_fork, \
	.unlink = av_unlink, .adjust_begin = av_adjust_begin, \
	.adjust_end = av_adjust_end, .mergeable = av_mergeable, \
	.page_add_new = av_page_add_new, .page_add = av_page_add, \
	.page_remove = av_page_remove, .page_move = av_page_move, \
	.walk = av_walk_tree, .check = av_check_tree, .usage = av_usage

#endif
