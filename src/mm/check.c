/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker (docs/invariants.md).  It needs a quiescent system:
 * no operation may run while it does.  Design-independent invariants are
 * here; the design adds its own through rmap_ops->check.
 */
#include <stdarg.h>
#include <stdio.h>
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/rmap.h"

int check_fail(struct check_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx->failed && ctx->msg && ctx->len) {
		va_start(ap, fmt);
		vsnprintf(ctx->msg, ctx->len, fmt, ap);
		va_end(ap);
	}
	ctx->failed = 1;
	return -EUCLEAN;
}

struct mm_census {
	struct check_ctx *ctx;
	struct avm_mm *mm;
	struct ptrset pages;		/* page -> PTEs mapping it */
	struct ptrset slots;		/* swap slot + 1 -> PTEs holding it */
	unsigned long vmas;
};

/* ---- VMAs ---------------------------------------------------------------- */

static int check_vmas(struct mm_census *c)
{
	struct avm_mm *mm = c->mm;
	unsigned long prev_end = 0, n = 0;
	struct rb_node *node;

	CHECK(c->ctx, rb_validate(&mm->mm_rb, NULL) == 0,
	      "mm %lu: VMA tree is not a valid red-black tree", mm->id);
	for (node = rb_first(&mm->mm_rb); node; node = rb_next(node)) {
		struct vm_area_struct *v =
			rb_entry(node, struct vm_area_struct, vm_rb);

		CHECK(c->ctx, v->vm_mm == mm, "mm %lu: VMA %#lx belongs to "
		      "another mm", mm->id, v->vm_start);
		CHECK(c->ctx, v->vm_start < v->vm_end &&
		      PAGE_ALIGNED(v->vm_start) && PAGE_ALIGNED(v->vm_end) &&
		      v->vm_end <= TASK_SIZE, "mm %lu: bad VMA [%#lx, %#lx)",
		      mm->id, v->vm_start, v->vm_end);
		CHECK(c->ctx, v->vm_start >= prev_end, "mm %lu: VMA %#lx "
		      "overlaps the one before (ending %#lx)", mm->id,
		      v->vm_start, prev_end);
		prev_end = v->vm_end;
		n++;
	}
	CHECK(c->ctx, n == mm->map_count, "mm %lu: map_count %lu, tree "
	      "holds %lu", mm->id, mm->map_count, n);
	c->vmas += n;
	return 0;
}

/* ---- PTEs ---------------------------------------------------------------- */

struct found {
	struct vm_area_struct *vma;
	unsigned long addr;
	bool hit;
};

static bool match_one(struct page *page, struct vm_area_struct *vma,
		      unsigned long addr, void *arg)
{
	struct found *f = arg;

	if (vma == f->vma && addr == f->addr) {
		f->hit = true;
		return false;
	}
	return true;
}

/* Anonymous page at addr of vma: its rmap must lead back here. */
static int check_anon_pte(struct mm_census *c, struct vm_area_struct *vma,
			  unsigned long addr, pte_t pte, struct page *page)
{
	struct avm_sys *sys = c->ctx->sys;
	struct found f = { .vma = vma, .addr = addr };
	struct rmap_walk_control rwc = { .rmap_one = match_one, .arg = &f };
	unsigned long id = c->mm->id;

	CHECK(c->ctx, !page_test(page, PG_free), "mm %lu %#lx: PTE maps "
	      "free frame %lu", id, addr, page_to_pfn(sys, page));
	CHECK(c->ctx, page_is_anon(page), "mm %lu %#lx: mapped page has no "
	      "anon mapping", id, addr);
	CHECK(c->ctx, vma->anon_vma, "mm %lu %#lx: anonymous page in a VMA "
	      "without anon_vma", id, addr);
	CHECK(c->ctx, !(pte & PTE_WRITE) || page_test(page, PG_anon_exclusive),
	      "mm %lu %#lx: writable PTE to a page not AnonExclusive", id, addr);
	rmap_walk_quiet(sys, page, &rwc);
	CHECK(c->ctx, f.hit, "mm %lu %#lx: rmap walk from frame %lu (index "
	      "%#lx) does not find this mapping", id, addr,
	      page_to_pfn(sys, page), page->index);
	return 0;
}

static int census_pte(struct mm_census *c, struct vm_area_struct *vma,
		      unsigned long addr, pte_t pte)
{
	struct avm_sys *sys = c->ctx->sys;
	struct page *page;
	long *slot;

	if (!pte_present(pte)) {
		slot = ptrset_slot(&c->slots,
				   (void *)(uintptr_t)(swp_offset(pte) + 1));
		CHECK(c->ctx, slot, "checker out of memory");
		(*slot)++;
		return check_swap_pte(sys, c->ctx, pte);
	}
	page = pfn_to_page(sys, pte_pfn(pte));
	CHECK(c->ctx, page, "mm %lu %#lx: PTE frame %lu out of range",
	      c->mm->id, addr, pte_pfn(pte));
	if (page == sys->zero_page) {
		CHECK(c->ctx, !(pte & PTE_WRITE), "mm %lu %#lx: zero page "
		      "mapped writable", c->mm->id, addr);
		return 0;
	}
	slot = ptrset_slot(&c->pages, page);
	CHECK(c->ctx, slot, "checker out of memory");
	(*slot)++;
	return check_anon_pte(c, vma, addr, pte, page);
}

struct table_arg {
	struct mm_census *c;
	unsigned long ptes;
};

static int census_table(struct avm_mm *mm, struct pgtable *pt,
			unsigned long start, unsigned long end, void *arg)
{
	struct table_arg *t = arg;
	unsigned long base = start & ~((PT_ENTRIES << PAGE_SHIFT) - 1);
	unsigned int used = 0;
	int err;

	for (unsigned int i = 0; i < PT_ENTRIES; i++) {
		unsigned long a = base + ((unsigned long)i << PAGE_SHIFT);
		struct vm_area_struct *vma;

		if (!ptep_get(pt, i))
			continue;
		used++;
		vma = vma_lookup(mm, a);
		CHECK(t->c->ctx, vma, "mm %lu %#lx: PTE %#llx outside every "
		      "VMA", mm->id, a, (unsigned long long)ptep_get(pt, i));
		err = census_pte(t->c, vma, a, ptep_get(pt, i));
		if (err)
			return err;
		t->ptes++;
	}
	CHECK(t->c->ctx, used == pt->used, "mm %lu: PTE table at %#lx counts "
	      "%u entries, holds %u", mm->id, base, pt->used, used);
	return 0;
}

/* ---- pages --------------------------------------------------------------- */

static int check_pages(struct check_ctx *ctx, struct ptrset *pages,
		       unsigned long *cached_mapped)
{
	ptrset_for_each(pages, i) {
		struct page *p = (struct page *)pages->keys[i];
		long maps = pages->vals[i];
		int refs = (int)maps + (page_test(p, PG_swapcache) ? 1 : 0);
		unsigned long pfn = page_to_pfn(ctx->sys, p);

		CHECK(ctx, page_mapcount(p) == maps, "frame %lu: mapcount %d, "
		      "%ld PTEs map it", pfn, page_mapcount(p), maps);
		CHECK(ctx, page_refcount(p) == refs, "frame %lu: refcount %d, "
		      "expected %d", pfn, page_refcount(p), refs);
		CHECK(ctx, !page_test(p, PG_anon_exclusive) || maps == 1,
		      "frame %lu: AnonExclusive but mapped %ld times", pfn, maps);
		if (page_test(p, PG_swapcache))
			(*cached_mapped)++;
	}
	return 0;
}

static int check_mm(struct check_ctx *ctx, struct avm_mm *mm,
		    struct mm_census *c)
{
	struct table_arg t = { .c = c };
	int err;

	c->mm = mm;
	err = check_vmas(c);
	if (!err)
		err = pt_for_each_table(mm, 0, TASK_SIZE, census_table, &t);
	return err;
}

static int check_totals(struct check_ctx *ctx, struct mm_census *c,
			unsigned long nmms)
{
	struct avm_alloc *a = &ctx->sys->alloc;
	unsigned long cached_mapped = 0, tables = 0;
	struct avm_mm *mm;
	int err;

	err = check_pages(ctx, &c->pages, &cached_mapped);
	if (err)
		return err;
	list_for_each_entry(mm, &ctx->sys->mms, mmlist)
		tables += pt_count_tables(mm);
	CHECK(ctx, atomic_load(&a->live[AK_MM]) == nmms, "%lu mms live, %lu "
	      "listed", atomic_load(&a->live[AK_MM]), nmms);
	CHECK(ctx, atomic_load(&a->live[AK_VMA]) == c->vmas, "%lu VMAs live, "
	      "%lu in trees", atomic_load(&a->live[AK_VMA]), c->vmas);
	CHECK(ctx, atomic_load(&a->live[AK_PGTABLE]) == tables, "%lu page "
	      "tables live, %lu reachable", atomic_load(&a->live[AK_PGTABLE]),
	      tables);
	return check_swap(ctx->sys, ctx, &c->slots, c->pages.n, cached_mapped);
}

int avm_check(struct avm_sys *sys, char *msg, size_t len)
{
	struct check_ctx ctx = { .sys = sys, .msg = msg, .len = len };
	struct mm_census c = { .ctx = &ctx };
	unsigned long nmms = 0;
	struct avm_mm *mm;
	int err = 0;

	if (msg && len)
		msg[0] = 0;
	ptrset_init(&c.pages);
	ptrset_init(&c.slots);
	list_for_each_entry(mm, &sys->mms, mmlist) {
		nmms++;
		pthread_rwlock_rdlock(&mm->mmap_lock);
		err = check_mm(&ctx, mm, &c);
		pthread_rwlock_unlock(&mm->mmap_lock);
		if (err)
			break;
	}
	if (!err)
		err = check_totals(&ctx, &c, nmms);
	if (!err)
		err = sys->rmap->check(sys, &ctx);
	ptrset_destroy(&c.pages);
	ptrset_destroy(&c.slots);
	return err;
}
