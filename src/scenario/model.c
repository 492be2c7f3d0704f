/* SPDX-License-Identifier: MIT */
/*
 * The reference model: a deliberately simple executor of scenarios, written
 * independently of the library so that the two can check each other.
 *
 * Each process is a sorted array of the pages it has mapped.  A page carries
 * its protection, the two fork flags (dontcopy, wipeonfork) and its 4096
 * bytes (allocated on the first write; absent means all zero).  fork copies
 * the array, mremap moves entries, every other operation works page by page.
 * There are no VMAs, no sharing and no page tables.
 *
 * The semantics are those of Linux 6.17 and later (checked against the host
 * kernel), including the parts that depend on VMA boundaries:
 *
 *  - munmap, mprotect and madvise behave the same whatever the boundaries
 *    are, so the model does them per page;
 *  - mremap with "to" and PAGES == NEWPAGES moves every mapping in the range
 *    (Linux 6.17 moves several VMAs at once and keeps the gaps between them:
 *    only the destination of a mapped page is unmapped first);
 *  - mremap shrinking in place only needs ADDR to be mapped;
 *  - mremap growing (in place or with "to") and shrinking with "to" need
 *    the kept part of the range inside one VMA, or fail with EFAULT.
 *
 * For the last case the model keeps, per page, a "seam" bit: false only when
 * the page is certainly in the same VMA as the page before it.  Pages whose
 * protection or flags differ are certainly in different VMAs.  When the
 * answer depends on a boundary between equal pages that Linux may or may not
 * have merged (merging depends on anon_vma state the model does not have),
 * the model reports the statement as unsupported and stops the run there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "anonvm/anonvm.h"
#include "scenario/scenario.h"

#define PG		SCN_PAGE_SIZE
/* x86-64 TASK_SIZE with 4-level page tables: the end of user space. */
#define M_TASK_SIZE	0x7ffffffff000ULL
/* Pages one process may map in the model; beyond: unsupported. */
#define M_MAX_PAGES	(1ULL << 20)

struct mpage {
	uint64_t addr;
	uint8_t *data;		/* NULL: all zero */
	uint64_t hash;		/* scn_hash_page(data) when hashed */
	bool hashed;
	enum scn_prot prot;
	bool dontcopy;
	bool wipeonfork;
	bool hugepage, nohugepage;	/* madvise hugepage, nohugepage: VMA
					   flags only (THP changes no
					   contents) */
	bool seam;		/* may start a VMA other than the page before */
};

struct mproc {
	struct mpage *pg;	/* ascending addresses */
	size_t n, cap;
	unsigned long max_map_count;	/* the run's vm.max_map_count */
};

struct model {
	const struct scenario *s;
	struct scn_trace *t;
	unsigned long max_map_count;
	struct mproc **procs;	/* by slot; NULL: not alive */
	uint64_t zero_hash;
};

/* ---- results ------------------------------------------------------------- */

static int fail_with(struct scn_result *r, int err)
{
	r->err = err;
	return 0;
}

static int unsupported(struct scn_result *r, const char *why)
{
	r->unsupported = true;
	snprintf(r->note, sizeof(r->note), "%s", why);
	return 0;
}

#define UNSURE_VMA	"model: depends on a VMA boundary it cannot know"
#define UNSURE_LIMIT	"model: more pages than the model supports"
#define UNSURE_MAPS	"model: near vm.max_map_count, VMA count unknown"

/* ---- ranges ---------------------------------------------------------------- */

/* End of [addr, addr + pages pages) if it lies in user space, else 0. */
static uint64_t span_end(uint64_t addr, uint64_t pages)
{
	if (addr > M_TASK_SIZE || pages > (M_TASK_SIZE - addr) / PG)
		return 0;
	return addr + pages * PG;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Index of the first page at or above addr. */
static size_t lower(const struct mproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->pg[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The page that contains addr, or NULL. */
static struct mpage *find(const struct mproc *p, uint64_t addr)
{
	size_t i = lower(p, addr & ~(PG - 1));

	return i < p->n && p->pg[i].addr == (addr & ~(PG - 1)) ? &p->pg[i] : NULL;
}

static size_t count_in(const struct mproc *p, uint64_t start, uint64_t end)
{
	return lower(p, end) - lower(p, start);
}

static bool range_free(const struct mproc *p, uint64_t start, uint64_t end)
{
	return count_in(p, start, end) == 0;
}

static bool range_full(const struct mproc *p, uint64_t start, uint64_t end)
{
	return count_in(p, start, end) == (end - start) / PG;
}

static bool too_many(const struct mproc *p, uint64_t more)
{
	return more > M_MAX_PAGES || p->n + more > M_MAX_PAGES;
}

static bool same_attrs(const struct mpage *a, const struct mpage *b)
{
	return a->prot == b->prot && a->dontcopy == b->dontcopy &&
	       a->wipeonfork == b->wipeonfork && a->hugepage == b->hugepage &&
	       a->nohugepage == b->nohugepage;
}

/* The page at addr, if mapped, may now start a VMA of its own. */
static void mark_seam(struct mproc *p, uint64_t addr)
{
	struct mpage *pg = find(p, addr);

	if (pg)
		pg->seam = true;
}

/*
 * Is [start, end) inside one VMA?  1: certainly, 0: certainly not, -1: it
 * depends on whether Linux merged equal neighbours.
 */
static int single_vma(const struct mproc *p, uint64_t start, uint64_t end)
{
	size_t i0 = lower(p, start), i1 = lower(p, end);
	bool unsure = false;

	if (!range_full(p, start, end))
		return 0;
	for (size_t i = i0 + 1; i < i1; i++) {
		if (!same_attrs(&p->pg[i - 1], &p->pg[i]))
			return 0;
		unsure |= p->pg[i].seam;
	}
	return unsure ? -1 : 1;
}

/* ---- pages and processes ---------------------------------------------------- */

static uint64_t page_hash(const struct model *m, struct mpage *pg)
{
	if (!pg->data)
		return m->zero_hash;
	if (!pg->hashed) {
		pg->hash = scn_hash_page(pg->data);
		pg->hashed = true;
	}
	return pg->hash;
}

/* The bytes of pg, allocated on first use; NULL when out of memory. */
static uint8_t *page_bytes(struct mpage *pg)
{
	if (!pg->data)
		pg->data = calloc(1, PG);
	pg->hashed = false;
	return pg->data;
}

static void page_clear(struct mpage *pg)
{
	free(pg->data);
	pg->data = NULL;
	pg->hashed = false;
}

static void proc_free(struct mproc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->pg[i].data);
	free(p->pg);
	free(p);
}

static int reserve(struct mproc *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 16;
	struct mpage *np;

	if (n <= p->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	np = realloc(p->pg, cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	p->pg = np;
	p->cap = cap;
	return 0;
}

static void free_batch(struct mpage *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].data);
	free(b);
}

/*
 * Merge the sorted pages b[0..n) (none of them mapped yet) into p.  Always
 * consumes b and the data it points to.
 */
static int merge_in(struct mproc *p, struct mpage *b, size_t n)
{
	size_t i = p->n, j = n, k = p->n + n;

	if (reserve(p, p->n + n)) {
		free_batch(b, n);
		return -ENOMEM;
	}
	while (j > 0) {
		if (i > 0 && p->pg[i - 1].addr > b[j - 1].addr)
			p->pg[--k] = p->pg[--i];
		else
			p->pg[--k] = b[--j];
	}
	p->n += n;
	free(b);
	return 0;
}

/*
 * Take the pages of [start, end) out of p.  With out, they are returned
 * (with their data) in a new array of *nout entries; without, freed.
 */
static int take_range(struct mproc *p, uint64_t start, uint64_t end,
		      struct mpage **out, size_t *nout)
{
	size_t i0 = lower(p, start), i1 = lower(p, end), k = i1 - i0;

	if (out) {
		*out = malloc((k ? k : 1) * sizeof(**out));
		if (!*out)
			return -ENOMEM;
		*nout = k;
	}
	if (!k)
		return 0;
	if (out)
		memcpy(*out, p->pg + i0, k * sizeof(**out));
	else
		for (size_t i = i0; i < i1; i++)
			free(p->pg[i].data);
	memmove(p->pg + i0, p->pg + i1, (p->n - i1) * sizeof(*p->pg));
	p->n -= k;
	mark_seam(p, end);
	return 0;
}

static void unmap_range(struct mproc *p, uint64_t start, uint64_t end)
{
	take_range(p, start, end, NULL, NULL);
}

/* n fresh zero pages from addr on, all like proto; the first one's seam. */
static struct mpage *new_pages(uint64_t addr, size_t n,
			       const struct mpage *proto, bool seam)
{
	struct mpage *b = calloc(n ? n : 1, sizeof(*b));

	for (size_t i = 0; b && i < n; i++) {
		b[i].addr = addr + i * PG;
		b[i].prot = proto->prot;
		b[i].dontcopy = proto->dontcopy;
		b[i].wipeonfork = proto->wipeonfork;
		b[i].hugepage = proto->hugepage;
		b[i].nohugepage = proto->nohugepage;
		b[i].seam = i == 0 && seam;
	}
	return b;
}

/* Map n zero pages like proto at [addr, ...); the range must be free. */
static int map_zero(struct mproc *p, uint64_t addr, size_t n,
		    const struct mpage *proto, bool seam)
{
	struct mpage *b = new_pages(addr, n, proto, seam);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = merge_in(p, b, n);
	if (!rc)
		mark_seam(p, addr + n * PG);
	return rc;
}

/* ---- attribute changes ------------------------------------------------------ */

enum attr_op {
	A_PROT,			/* set prot */
	A_DONTCOPY, A_DOCOPY,	/* madvise dontfork, dofork */
	A_WIPE, A_KEEP,		/* madvise wipeonfork, keeponfork */
	A_HUGE, A_NOHUGE,	/* madvise hugepage, nohugepage (each clears
				   the other) */
};

/* Apply op to one page; true if the page's VMA would change. */
static bool change_attr(struct mpage *pg, enum attr_op op, enum scn_prot prot)
{
	struct mpage old = *pg;

	switch (op) {
	case A_PROT:
		pg->prot = prot;
		break;
	case A_DONTCOPY:
	case A_DOCOPY:
		pg->dontcopy = op == A_DONTCOPY;
		break;
	case A_WIPE:
	case A_KEEP:
		pg->wipeonfork = op == A_WIPE;
		break;
	case A_HUGE:
	case A_NOHUGE:
		pg->hugepage = op == A_HUGE;
		pg->nohugepage = op == A_NOHUGE;
		break;
	}
	return !same_attrs(&old, pg);
}

/*
 * Apply op to every mapped page of [start, end).  Linux splits a VMA where
 * the change starts or stops, so a boundary between a changed and an
 * unchanged page becomes a seam.
 */
static void apply_attr(struct mproc *p, uint64_t start, uint64_t end,
		       enum attr_op op, enum scn_prot prot)
{
	size_t i0 = lower(p, start), i1 = lower(p, end);
	bool prev_changed = false;

	for (size_t i = i0; i < i1; i++) {
		bool changed = change_attr(&p->pg[i], op, prot);

		if (changed != prev_changed)
			p->pg[i].seam = true;
		prev_changed = changed;
	}
	if (prev_changed && i1 > i0)
		mark_seam(p, p->pg[i1 - 1].addr + PG);
}

/* ---- processes ----------------------------------------------------------------- */

static struct mproc *proc_new(void)
{
	return calloc(1, sizeof(struct mproc));
}

/* The page as a child sees it after fork (data duplicated or wiped). */
static int fork_page(const struct mpage *src, struct mpage *dst)
{
	*dst = *src;
	if (src->wipeonfork || !src->data) {
		dst->data = NULL;
		dst->hashed = false;
		return 0;
	}
	dst->data = malloc(PG);
	if (!dst->data)
		return -ENOMEM;
	memcpy(dst->data, src->data, PG);
	return 0;
}

static int do_fork(struct model *m, const struct mproc *par, int slot)
{
	struct mproc *c = proc_new();

	if (!c || reserve(c, par->n)) {
		proc_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < par->n; i++) {
		struct mpage *pg = &c->pg[c->n];

		if (par->pg[i].dontcopy)
			continue;
		if (fork_page(&par->pg[i], pg)) {
			proc_free(c);
			return -ENOMEM;
		}
		c->n++;
		if (c->n == 1 || pg[-1].addr + PG != pg->addr)
			pg->seam = true;
	}
	m->procs[slot] = c;
	return 0;
}

/* ---- memory operations ----------------------------------------------------------- */

static int do_mmap(struct mproc *p, const struct scn_stmt *st,
		   struct scn_result *r)
{
	struct mpage proto = { .prot = st->prot };
	uint64_t end;

	if (!st->pages || st->addr % PG)
		return fail_with(r, EINVAL);
	end = span_end(st->addr, st->pages);
	if (!end)
		return fail_with(r, ENOMEM);
	if (!range_free(p, st->addr, end))
		return fail_with(r, EEXIST);
	if (too_many(p, st->pages))
		return unsupported(r, UNSURE_LIMIT);
	return map_zero(p, st->addr, st->pages, &proto, true);
}

static int do_munmap(struct mproc *p, const struct scn_stmt *st,
		     struct scn_result *r)
{
	uint64_t end;

	if (!st->pages || st->addr % PG)
		return fail_with(r, EINVAL);
	end = span_end(st->addr, st->pages);
	if (!end)
		return fail_with(r, EINVAL);
	unmap_range(p, st->addr, end);
	return 0;
}

/* Linux changes VMA after VMA from ADDR on, and stops at the first hole. */
static int do_mprotect(struct mproc *p, const struct scn_stmt *st,
		       struct scn_result *r)
{
	uint64_t end, reach = st->addr;

	if (st->addr % PG)
		return fail_with(r, EINVAL);
	if (!st->pages)
		return 0;
	end = span_end(st->addr, st->pages);
	if (!end)
		return fail_with(r, ENOMEM);
	while (reach < end && find(p, reach))
		reach += PG;
	apply_attr(p, st->addr, reach, A_PROT, st->prot);
	return fail_with(r, reach < end ? ENOMEM : 0);
}

static void drop_data(struct mproc *p, uint64_t start, uint64_t end)
{
	for (size_t i = lower(p, start), i1 = lower(p, end); i < i1; i++)
		page_clear(&p->pg[i]);
}

/* Holes make it fail with ENOMEM, but the mapped pages are still advised. */
static int do_madvise(struct mproc *p, const struct scn_stmt *st,
		      struct scn_result *r)
{
	static const enum attr_op ops[SCN_NR_ADVICE] = {
		[SCN_ADV_DONTFORK] = A_DONTCOPY, [SCN_ADV_DOFORK] = A_DOCOPY,
		[SCN_ADV_WIPEONFORK] = A_WIPE,	 [SCN_ADV_KEEPONFORK] = A_KEEP,
		[SCN_ADV_HUGEPAGE] = A_HUGE,	 [SCN_ADV_NOHUGEPAGE] = A_NOHUGE,
	};
	uint64_t end;

	if (st->addr % PG || (unsigned)st->advice >= SCN_NR_ADVICE)
		return fail_with(r, EINVAL);
	if (!st->pages)
		return 0;
	end = span_end(st->addr, st->pages);
	if (!end)
		return fail_with(r, EINVAL);
	if (st->advice == SCN_ADV_DONTNEED)
		drop_data(p, st->addr, end);
	else if (st->advice != SCN_ADV_PAGEOUT)
		apply_attr(p, st->addr, end, ops[st->advice], SCN_PROT_NONE);
	return fail_with(r, range_full(p, st->addr, end) ? 0 : ENOMEM);
}

/*
 * Like move_pages(2), which reports unmapped pages per page but succeeds as
 * a whole: migrate never fails, and neither data nor VMAs change.
 */
static int do_migrate(struct mproc *p, const struct scn_stmt *st,
		      struct scn_result *r)
{
	return 0;
}

/* ---- mremap ------------------------------------------------------------------------ */

/* The argument checks Linux makes before it looks at any mapping. */
static int mremap_params(const struct scn_stmt *st)
{
	if (st->addr % PG || !st->new_pages)
		return EINVAL;
	if (!span_end(st->addr, st->pages) || !span_end(st->addr, st->new_pages))
		return EINVAL;
	if (!st->to)
		return 0;
	if (st->new_addr % PG || !span_end(st->new_addr, st->new_pages))
		return EINVAL;
	if (st->dontunmap && st->pages != st->new_pages)
		return EINVAL;
	if (overlaps(st->addr, st->pages * PG, st->new_addr, st->new_pages * PG))
		return EINVAL;
	return 0;
}

/* The first page of each run of b (by address) starts a VMA of its own. */
static void relocate(struct mpage *b, size_t n, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || b[i - 1].addr + PG != b[i].addr)
			b[i].seam = true;
	}
	for (size_t i = 0; i < n; i++)
		b[i].addr = b[i].addr - from + to;
}

/* The page after each run of the (relocated, now mapped) pages b. */
static void seam_after_runs(struct mproc *p, const uint64_t *ends, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mark_seam(p, ends[i]);
}

/* Collect the end address of each run of b. */
static uint64_t *run_ends(const struct mpage *b, size_t n, size_t *nruns)
{
	uint64_t *ends = malloc((n ? n : 1) * sizeof(*ends));

	*nruns = 0;
	for (size_t i = 0; ends && i < n; i++) {
		if (i + 1 == n || b[i].addr + PG != b[i + 1].addr)
			ends[(*nruns)++] = b[i].addr + PG;
	}
	return ends;
}

/* The source pages stay mapped but empty (MREMAP_DONTUNMAP). */
static int keep_source_empty(struct mproc *p, uint64_t start, uint64_t end,
			     struct mpage **out, size_t *nout)
{
	size_t i0 = lower(p, start), k = count_in(p, start, end);

	*out = malloc((k ? k : 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (k)
		memcpy(*out, p->pg + i0, k * sizeof(**out));
	*nout = k;
	for (size_t i = i0; i < i0 + k; i++) {
		p->pg[i].data = NULL;
		p->pg[i].hashed = false;
	}
	return 0;
}

/*
 * PAGES == NEWPAGES with "to": every mapped page of the range moves, gaps
 * stay gaps, and only the destination of each moved page is unmapped.
 */
static int mremap_move_all(struct mproc *p, const struct scn_stmt *st,
			   struct scn_result *r)
{
	uint64_t start = st->addr, end = start + st->pages * PG, *ends;
	size_t n, nruns;
	struct mpage *b;
	int rc;

	if (st->dontunmap && too_many(p, count_in(p, start, end)))
		return unsupported(r, UNSURE_LIMIT);
	if (st->dontunmap)
		rc = keep_source_empty(p, start, end, &b, &n);
	else
		rc = take_range(p, start, end, &b, &n);
	if (rc)
		return rc;
	relocate(b, n, start, st->new_addr);
	for (size_t i = 0; i < n; i++)
		unmap_range(p, b[i].addr, b[i].addr + PG);
	ends = run_ends(b, n, &nruns);
	rc = ends ? merge_in(p, b, n) : (free_batch(b, n), -ENOMEM);
	if (!rc)
		seam_after_runs(p, ends, nruns);
	free(ends);
	return rc;
}

/* Is the kept part of a resize inside one VMA?  Sets r if not (or unsure). */
static bool resize_source_ok(const struct mproc *p, const struct scn_stmt *st,
			     uint64_t keep, struct scn_result *r)
{
	int one;

	if (!st->pages) {
		fail_with(r, EINVAL);	/* private mappings cannot be duplicated */
		return false;
	}
	one = single_vma(p, st->addr, st->addr + keep);
	if (one < 0)
		unsupported(r, UNSURE_VMA);
	else if (!one)
		fail_with(r, EFAULT);
	return one > 0;
}

static int mremap_in_place(struct mproc *p, const struct scn_stmt *st,
			   struct scn_result *r)
{
	uint64_t old = st->pages * PG, new = st->new_pages * PG;
	uint64_t start = st->addr;

	if (new <= old) {
		unmap_range(p, start + new, start + old);
		return 0;
	}
	if (!resize_source_ok(p, st, old, r))
		return 0;
	if (!range_free(p, start + old, start + new))
		return fail_with(r, ENOMEM);
	if (too_many(p, st->new_pages - st->pages))
		return unsupported(r, UNSURE_LIMIT);
	return map_zero(p, start + old, st->new_pages - st->pages,
			find(p, start + old - PG), false);
}

/* "to" with PAGES != NEWPAGES: one VMA moves, shrinking or growing. */
static int mremap_resize_move(struct mproc *p, const struct scn_stmt *st,
			      struct scn_result *r)
{
	uint64_t start = st->addr, to = st->new_addr;
	uint64_t old = st->pages * PG, new = st->new_pages * PG;
	uint64_t keep = old < new ? old : new;
	struct mpage *b, proto;
	size_t n;
	int rc;

	if (!resize_source_ok(p, st, keep, r))
		return 0;
	if (too_many(p, st->new_pages))
		return unsupported(r, UNSURE_LIMIT);
	proto = *find(p, start);
	unmap_range(p, to, to + new);
	unmap_range(p, start + keep, start + old);
	rc = take_range(p, start, start + keep, &b, &n);
	if (rc)
		return rc;
	relocate(b, n, start, to);
	rc = merge_in(p, b, n);
	if (!rc && new > old)
		return map_zero(p, to + old, (new - old) / PG, &proto, false);
	if (!rc)
		mark_seam(p, to + new);
	return rc;
}

static int do_mremap(struct mproc *p, const struct scn_stmt *st,
		     struct scn_result *r)
{
	int err = mremap_params(st);

	if (err)
		return fail_with(r, err);
	if (!find(p, st->addr))
		return fail_with(r, EFAULT);
	if (!st->to)
		return mremap_in_place(p, st, r);
	if (st->pages == st->new_pages)
		return mremap_move_all(p, st, r);
	return mremap_resize_move(p, st, r);
}

/* ---- data access ----------------------------------------------------------------- */

static bool readable(const struct mpage *pg)
{
	return pg && pg->prot != SCN_PROT_NONE;
}

static bool writable(const struct mpage *pg)
{
	return pg && pg->prot == SCN_PROT_RW;
}

static int do_read(struct mproc *p, const struct scn_stmt *st,
		   struct scn_result *r)
{
	struct mpage *pg = find(p, st->addr);

	if (!readable(pg))
		return fail_with(r, EFAULT);
	r->value = pg->data ? pg->data[st->addr % PG] : 0;
	return 0;
}

static int do_write(struct mproc *p, const struct scn_stmt *st,
		    struct scn_result *r)
{
	struct mpage *pg = find(p, st->addr);
	uint8_t *bytes;

	if (!writable(pg))
		return fail_with(r, EFAULT);
	bytes = page_bytes(pg);
	if (!bytes)
		return -ENOMEM;
	bytes[st->addr % PG] = (uint8_t)st->byte;
	return 0;
}

/* Bytes up to the first page that is not writable are written. */
static int do_fill(struct mproc *p, const struct scn_stmt *st,
		   struct scn_result *r)
{
	uint64_t a = st->addr, end = span_end(st->addr, st->pages);

	if (!end && st->pages)
		return fail_with(r, EFAULT);
	while (a < end) {
		struct mpage *pg = find(p, a);
		uint64_t off = a % PG, len = PG - off;
		uint8_t *bytes;

		if (!writable(pg))
			return fail_with(r, EFAULT);
		if (len > end - a)
			len = end - a;
		bytes = page_bytes(pg);
		if (!bytes)
			return -ENOMEM;
		memset(bytes + off, st->byte, len);
		a += len;
	}
	return 0;
}

/* ---- snapshots -------------------------------------------------------------------- */

static int snap_vmas(const struct mproc *p, struct scn_proc_snap *ps)
{
	for (size_t i = 0; i < p->n;) {
		const struct mpage *first = &p->pg[i];
		struct scn_vma v = {
			.start = first->addr, .prot = first->prot,
			.dontcopy = first->dontcopy,
			.wipeonfork = first->wipeonfork,
			.hugepage = first->hugepage,
			.nohugepage = first->nohugepage,
		};

		for (i++; i < p->n && p->pg[i].addr == p->pg[i - 1].addr + PG &&
			  same_attrs(first, &p->pg[i]); i++)
			;
		v.end = p->pg[i - 1].addr + PG;
		if (scn_proc_add_vma(ps, &v))
			return -ENOMEM;
	}
	return 0;
}

static int snap_pages(const struct model *m, struct mproc *p,
		      struct scn_proc_snap *ps)
{
	for (size_t i = 0; i < p->n; i++) {
		struct scn_page pg = {
			.addr = p->pg[i].addr,
			.state = SCN_PTE_NONE,
			.has_hash = true,
			.hash = page_hash(m, &p->pg[i]),
		};

		if (scn_proc_add_page(ps, &pg))
			return -ENOMEM;
	}
	return 0;
}

static int snapshot(struct model *m, int stmt)
{
	struct scn_snapshot *snap = scn_trace_add_snapshot(m->t, stmt);

	if (!snap)
		return -ENOMEM;
	for (int slot = 0; slot < m->s->nslots; slot++) {
		struct mproc *p = m->procs[slot];
		struct scn_proc_snap *ps;

		if (!p)
			continue;
		ps = scn_snapshot_add_proc(snap, slot);
		if (!ps || snap_vmas(p, ps) || snap_pages(m, p, ps))
			return -ENOMEM;
	}
	return 0;
}

/* ---- the run ------------------------------------------------------------------------ */

/* ---- vm.max_map_count ---------------------------------------------------- */

/*
 * The fewest VMAs p can have (runs of adjacent pages with equal attributes:
 * Linux merged all it could) and the most (those runs cut at every seam).
 */
static void vma_bounds(const struct mproc *p, size_t *lo, size_t *hi)
{
	*lo = *hi = 0;
	for (size_t i = 0; i < p->n; i++) {
		bool joined = i && p->pg[i].addr == p->pg[i - 1].addr + PG &&
			      same_attrs(&p->pg[i - 1], &p->pg[i]);

		*lo += !joined;
		*hi += !joined || p->pg[i].seam;
	}
}

static bool splits_vmas(const struct scn_stmt *st)
{
	return st->op == SCN_MUNMAP || st->op == SCN_MPROTECT ||
	       st->op == SCN_MREMAP ||
	       (st->op == SCN_MADVISE && st->advice != SCN_ADV_DONTNEED &&
		st->advice != SCN_ADV_PAGEOUT);
}

/*
 * Linux's map-count checks (mmap: count > limit; a split: count >= limit;
 * mremap: margins of 3 and 5).  Far from the limit they cannot fire.  Near
 * it, mmap is decided when both bounds agree; anything else that may split
 * depends on the exact count, which the model does not know: unsupported.
 * True when this decided the statement (r is set).
 */
static bool map_limit(const struct mproc *p, const struct scn_stmt *st,
		      struct scn_result *r)
{
	unsigned long limit = p->max_map_count;
	size_t lo, hi;

	if (p->n + 6 < limit || !(st->op == SCN_MMAP || splits_vmas(st)))
		return false;
	vma_bounds(p, &lo, &hi);
	if (st->op == SCN_MMAP) {
		if (!st->pages || hi <= limit)
			return false;	/* EINVAL first, or room */
		if (lo > limit)
			return !fail_with(r, ENOMEM);
		return !unsupported(r, UNSURE_MAPS);
	}
	if (hi + 6 < limit)
		return false;
	return !unsupported(r, UNSURE_MAPS);
}

static int do_memop(struct mproc *p, const struct scn_stmt *st,
		    struct scn_result *r)
{
	if (map_limit(p, st, r))
		return 0;
	switch (st->op) {
	case SCN_MMAP:		return do_mmap(p, st, r);
	case SCN_MUNMAP:	return do_munmap(p, st, r);
	case SCN_MPROTECT:	return do_mprotect(p, st, r);
	case SCN_MREMAP:	return do_mremap(p, st, r);
	case SCN_MADVISE:	return do_madvise(p, st, r);
	case SCN_WRITE:		return do_write(p, st, r);
	case SCN_FILL:		return do_fill(p, st, r);
	case SCN_READ:
	case SCN_EXPECT:	return do_read(p, st, r);
	case SCN_MIGRATE:	return do_migrate(p, st, r);
	/* page tables are not modelled: how memory is mapped is unknown */
	case SCN_EXPECT_THP:	return unsupported(r, "the model has no THP state");
	default:		return -EINVAL;
	}
}

static bool slot_ok(const struct model *m, int slot)
{
	return slot >= 0 && slot < m->s->nslots;
}

static int exec_stmt(struct model *m, int idx, struct scn_result *r)
{
	const struct scn_stmt *st = &m->s->stmts[idx];

	if (st->op == SCN_CHECK)
		return snapshot(m, idx);
	if (st->op == SCN_SPAWN) {
		if (!slot_ok(m, st->child) || m->procs[st->child])
			return -EINVAL;
		m->procs[st->child] = proc_new();
		return m->procs[st->child] ? 0 : -ENOMEM;
	}
	if (!slot_ok(m, st->proc) || !m->procs[st->proc])
		return -EINVAL;
	m->procs[st->proc]->max_map_count = m->max_map_count;
	if (st->op == SCN_FORK) {
		if (!slot_ok(m, st->child) || m->procs[st->child])
			return -EINVAL;
		return do_fork(m, m->procs[st->proc], st->child);
	}
	if (st->op == SCN_EXIT) {
		proc_free(m->procs[st->proc]);
		m->procs[st->proc] = NULL;
		return 0;
	}
	return do_memop(m->procs[st->proc], st, r);
}

static int record(struct model *m, int idx, const struct scn_result *r)
{
	char msg[sizeof(m->t->failure)];

	if (!m->t->failure[0] &&
	    !scn_result_ok(m->s, &m->s->stmts[idx], r, msg, sizeof(msg)))
		snprintf(m->t->failure, sizeof(m->t->failure), "%s", msg);
	return scn_trace_add_result(m->t, r);
}

/*
 * Run s on the model.  Initialises *out; one result per statement, a
 * snapshot at each check and at the end.  A statement the model cannot
 * decide ends the run early (its result is marked unsupported).  Returns 0,
 * -ENOMEM, or -EINVAL for a malformed scenario; *out keeps what was done.
 */
int scn_run_model(const struct scenario *s, struct scn_trace *out)
{
	return scn_run_model_limit(s, AVM_DEFAULT_MAX_MAP_COUNT, out);
}

int scn_run_model_limit(const struct scenario *s, unsigned long max_map_count,
			struct scn_trace *out)
{
	struct model m = { .s = s, .t = out, .max_map_count = max_map_count };
	uint8_t zero[SCN_PAGE_SIZE] = { 0 };
	int rc = 0, i;

	scn_trace_init(out, "model");
	m.zero_hash = scn_hash_page(zero);
	m.procs = calloc(s->nslots > 0 ? (size_t)s->nslots : 1, sizeof(*m.procs));
	if (!m.procs)
		return -ENOMEM;
	for (i = 0; !rc && i < s->nstmts; i++) {
		struct scn_result r = { .value = -1 };

		rc = exec_stmt(&m, i, &r);
		if (!rc)
			rc = record(&m, i, &r);
		if (r.unsupported)
			break;
	}
	if (!rc && i == s->nstmts)
		rc = snapshot(&m, s->nstmts);
	for (int slot = 0; slot < s->nslots; slot++)
		proc_free(m.procs[slot]);
	free(m.procs);
	return rc;
}
