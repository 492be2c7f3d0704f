/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker (docs/invariants.md).  It needs a quiescent system:
 * no operation may run while it does.  Design-independent invariants are
 * here; the design adds its own through rmap_ops->check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * PTEs per frame, one counter per frame of each node (indexed like
 * node->pages): a hash set of every mapped frame would cost the checker
 * more memory than the frames' own metadata.
 */
struct frame_maps {
	uint32_t **count;		/* [node][frame] */
	unsigned long frames;		/* frames with count > 0 */
};

struct mm_census {
	struct check_ctx *ctx;
	struct avm_mm *mm;
	struct frame_maps maps;
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
		c->ctx->steps++;
	}
	CHECK(c->ctx, n == mm->map_count, "mm %lu: map_count %lu, tree "
	      "holds %lu", mm->id, mm->map_count, n);
	c->vmas += n;
	return 0;
}

/* ---- PTEs ---------------------------------------------------------------- */

/* An anonymous page at addr of vma: what its PTE and flags must agree on. */
static int check_anon_pte(struct mm_census *c, struct vm_area_struct *vma,
			  unsigned long addr, pte_t pte, struct page *page)
{
	struct avm_sys *sys = c->ctx->sys;
	unsigned long id = c->mm->id;

	CHECK(c->ctx, !page_test(page, PG_free), "mm %lu %#lx: PTE maps "
	      "free frame %lu", id, addr, page_to_pfn(sys, page));
	CHECK(c->ctx, page_is_anon(page), "mm %lu %#lx: mapped page has no "
	      "anon mapping", id, addr);
	CHECK(c->ctx, vma->anon_vma, "mm %lu %#lx: anonymous page in a VMA "
	      "without anon_vma", id, addr);
	CHECK(c->ctx, !(pte & PTE_WRITE) || page_test(page, PG_anon_exclusive),
	      "mm %lu %#lx: writable PTE to a page not AnonExclusive", id, addr);
	return 0;
}

static uint32_t *frame_count(struct frame_maps *m, struct avm_sys *sys,
			     unsigned long pfn)
{
	return &m->count[pfn >> sys->pfn_shift][pfn & pfn_node_mask(sys)];
}

static int census_pte(struct mm_census *c, struct vm_area_struct *vma,
		      unsigned long addr, pte_t pte)
{
	struct avm_sys *sys = c->ctx->sys;
	struct page *page;
	long *slot;

	c->ctx->steps++;
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
	CHECK(c->ctx, (pte_pfn(pte) & pfn_node_mask(sys)) <
	      sys->nodes[pte_pfn(pte) >> sys->pfn_shift].next_unused,
	      "mm %lu %#lx: PTE maps frame %lu, never allocated", c->mm->id,
	      addr, pte_pfn(pte));
	if (!(*frame_count(&c->maps, sys, pte_pfn(pte)))++)
		c->maps.frames++;
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

/* ---- the reverse map: one walk per mapped frame ------------------------- */

/* The present PTEs mapping the frame that its walk found. */
struct walk_hits {
	unsigned long pfn;
	pte_t **v;
	size_t n, cap;
	bool nomem;
};

static bool collect_hit(struct page *page, struct vm_area_struct *vma,
			unsigned long addr, void *arg)
{
	struct walk_hits *h = arg;
	struct pgtable *pt = pt_lookup(vma->vm_mm, addr);
	pte_t *pte = pt ? &pt->e[pte_index(addr)] : NULL;

	/* The VMA the walk names must be the one holding the PTE. */
	if (!pte || !pte_present(*pte) || pte_pfn(*pte) != h->pfn ||
	    vma_lookup(vma->vm_mm, addr) != vma)
		return true;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		pte_t **v = realloc(h->v, cap * sizeof(*v));

		if (!v) {
			h->nomem = true;
			return false;
		}
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = pte;
	return true;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(pte_t *const *)a;
	uintptr_t y = (uintptr_t)*(pte_t *const *)b;

	return x < y ? -1 : x > y;
}

/* Distinct PTEs among the hits (a walk may report a mapping twice). */
static size_t distinct_hits(struct walk_hits *h)
{
	size_t n = h->n ? 1 : 0;

	if (h->n < 2)
		return h->n;
	qsort(h->v, h->n, sizeof(*h->v), cmp_ptr);
	for (size_t i = 1; i < h->n; i++)
		n += h->v[i] != h->v[i - 1];
	return n;
}

struct missing {
	struct walk_hits *h;
	unsigned long addr;
	bool found;
};

static int find_missing(struct avm_mm *mm, struct pgtable *pt,
			unsigned long start, unsigned long end, void *arg)
{
	struct missing *m = arg;

	for (unsigned long a = start; a < end; a += PAGE_SIZE) {
		pte_t *pte = &pt->e[pte_index(a)];

		if (!pte_present(*pte) || pte_pfn(*pte) != m->h->pfn ||
		    bsearch(&pte, m->h->v, m->h->n, sizeof(pte), cmp_ptr))
			continue;
		m->addr = a;
		m->found = true;
		return 1;
	}
	return 0;
}

/* The walk missed a mapping: name it (only on failure, so no hurry). */
static int report_missing(struct check_ctx *ctx, struct page *page,
			  struct walk_hits *h)
{
	struct missing m = { .h = h };
	struct avm_mm *mm;

	list_for_each_entry(mm, &ctx->sys->mms, mmlist) {
		pt_for_each_table(mm, 0, TASK_SIZE, find_missing, &m);
		if (m.found)
			return check_fail(ctx, "mm %lu %#lx: rmap walk from frame "
					  "%lu (index %#lx) does not find this "
					  "mapping", mm->id, m.addr, h->pfn,
					  page->index);
	}
	return check_fail(ctx, "frame %lu: rmap walk finds fewer mappings "
			  "than PTEs", h->pfn);
}

/*
 * Each mapped frame's walk, once, must find every PTE mapping it: the
 * walk's distinct hits are PTEs that map the frame, so finding as many as
 * the census counted means finding all.  Linear in the walks' visits.
 */
static int check_walk(struct check_ctx *ctx, struct page *page,
		      uint32_t maps, struct walk_hits *h)
{
	struct rmap_walk_control rwc = { .rmap_one = collect_hit, .arg = h };

	h->pfn = page_to_pfn(ctx->sys, page);
	h->n = 0;
	rmap_walk_quiet(ctx->sys, page, &rwc);
	ctx->steps += rwc.visits;
	CHECK(ctx, !h->nomem, "checker out of memory");
	if (distinct_hits(h) != maps)
		return report_missing(ctx, page, h);
	return 0;
}

/* ---- pages --------------------------------------------------------------- */

static int check_page(struct check_ctx *ctx, struct page *p, long maps,
		      unsigned long *cached_mapped)
{
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
	return 0;
}

/* Every frame some PTE maps: its walk first, then its counts. */
static int check_pages(struct check_ctx *ctx, struct frame_maps *m,
		       unsigned long *cached_mapped)
{
	struct avm_sys *sys = ctx->sys;
	struct walk_hits h = { 0 };
	int err = 0;

	for (unsigned int i = 0; i < sys->nr_nodes && !err; i++) {
		struct mem_node *n = &sys->nodes[i];

		for (unsigned long f = 0; f < n->next_unused && !err; f++) {
			if (!m->count[i][f])
				continue;
			err = check_walk(ctx, &n->pages[f], m->count[i][f], &h);
			if (!err)
				err = check_page(ctx, &n->pages[f],
						 m->count[i][f], cached_mapped);
		}
	}
	free(h.v);
	return err;
}

static int frame_maps_init(struct frame_maps *m, struct avm_sys *sys)
{
	m->frames = 0;
	m->count = calloc(sys->nr_nodes, sizeof(*m->count));
	if (!m->count)
		return -ENOMEM;
	for (unsigned int i = 0; i < sys->nr_nodes; i++) {
		m->count[i] = calloc(sys->nodes[i].nr_frames, sizeof(uint32_t));
		if (!m->count[i])
			return -ENOMEM;
	}
	return 0;
}

static void frame_maps_destroy(struct frame_maps *m, struct avm_sys *sys)
{
	for (unsigned int i = 0; m->count && i < sys->nr_nodes; i++)
		free(m->count[i]);
	free(m->count);
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

	err = check_pages(ctx, &c->maps, &cached_mapped);
	if (err)
		return err;
	list_for_each_entry(mm, &ctx->sys->mms, mmlist)
		tables += pt_count_tables(mm);
	CHECK(ctx, avm_alloc_live(a, AK_MM) == nmms, "%lu mms live, %lu "
	      "listed", avm_alloc_live(a, AK_MM), nmms);
	CHECK(ctx, avm_alloc_live(a, AK_VMA) == c->vmas, "%lu VMAs live, "
	      "%lu in trees", avm_alloc_live(a, AK_VMA), c->vmas);
	CHECK(ctx, avm_alloc_live(a, AK_PGTABLE) == tables, "%lu page "
	      "tables live, %lu reachable", avm_alloc_live(a, AK_PGTABLE),
	      tables);
	return check_swap(ctx->sys, ctx, &c->slots, c->maps.frames,
			  cached_mapped);
}

int check_system(struct avm_sys *sys, char *msg, size_t len,
		 unsigned long *steps)
{
	struct check_ctx ctx = { .sys = sys, .msg = msg, .len = len };
	struct mm_census c = { .ctx = &ctx };
	unsigned long nmms = 0;
	struct avm_mm *mm;
	int err = 0;

	if (msg && len)
		msg[0] = 0;
	ptrset_init(&c.slots);
	if (frame_maps_init(&c.maps, sys))
		err = check_fail(&ctx, "checker out of memory");
	list_for_each_entry(mm, &sys->mms, mmlist) {
		if (err)
			break;
		nmms++;
		mmap_read_lock(mm);
		err = check_mm(&ctx, mm, &c);
		mmap_read_unlock(mm);
		if (err)
			break;
	}
	if (!err)
		err = check_totals(&ctx, &c, nmms);
	if (!err)
		err = sys->rmap->check(sys, &ctx);
	frame_maps_destroy(&c.maps, sys);
	ptrset_destroy(&c.slots);
	if (steps)
		*steps = ctx.steps;
	return err;
}

int avm_check(struct avm_sys *sys, char *msg, size_t len)
{
	return check_system(sys, msg, len, NULL);
}
