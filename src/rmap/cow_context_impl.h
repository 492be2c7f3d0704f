/* SPDX-License-Identifier: MIT */
/* What cow_context.c shares with its checker (cow_context_check.c). */
#ifndef AVM_RMAP_COW_CONTEXT_IMPL_H
#define AVM_RMAP_COW_CONTEXT_IMPL_H

#include "rmap/anon_vma.h"
#include "rmap/cow_context.h"

struct check_ctx;

extern struct anon_vma cowc_marker;

struct cowc_mm *mm_cowc(const struct avm_mm *mm);
struct cow_context *page_cowc(const struct page *page);
/* Are vma's pages elsewhere than at their virtual page offset? */
bool cowc_vma_remapped(const struct vm_area_struct *vma);
/* vma's remap entry, or NULL. */
struct cowc_remap *vma_remap(const struct vm_area_struct *vma);
int cowc_check(struct avm_sys *sys, struct check_ctx *ctx);

struct mm_walk;
/* cow_context_mappers.c (the mapper-list design) */
struct cowc_mappers *page_mappers(const struct page *page);
unsigned int cowc_mappers_len(const struct page *page);
struct cow_context *cowc_mappers_at(const struct page *page, unsigned int i);
void cowc_mappers_add(struct avm_sys *sys, struct page *page,
		      struct cow_context *c);
void cowc_mappers_del(struct avm_sys *sys, struct page *page,
		      struct cow_context *c);
void cowc_mappers_clear(struct avm_sys *sys, struct page *page);
int cowc_mappers_take(struct mm_walk *w, const struct page *page,
		      const struct avm_mm *owner);
size_t cowc_mappers_bytes(const struct cowc_mappers *a);

/* n takes old's place in old's list (old is dropped). */
static inline void cowc_list_replace(struct list_head *old,
				     struct list_head *n)
{
	n->next = old->next;
	n->next->prev = n;
	n->prev = old->prev;
	n->prev->next = n;
}

#endif
