/* SPDX-License-Identifier: MIT */
/*
 * Comparing two traces of one scenario (anonvm diff, anonvm fuzz).
 *
 * The walk follows the scenario: the result of statement 0, 1, ... and, at
 * each `check` and at the end, the snapshots.  The first divergence found is
 * described and ends the comparison.  Within a snapshot: the set of live
 * processes, then every process's layout (VMAS or PAGEPROT), then the pages
 * of every process in (slot, address) order.
 *
 * Frames.  Frame numbers (PFNs, model frame ids) mean nothing across
 * executors, only "same frame or not" does.  Walking the pages that both
 * traces have, each side renames its present frames 0, 1, 2... in order of
 * first appearance; the zero page is a class of its own.  Two traces share
 * frames the same way exactly when, page by page, the new names agree, so
 * the first page where they differ is the first place the partitions differ.
 *
 * Swap.  A page swapped on either side is compared by SWAP only (swapped or
 * not): it has no frame, mapcount or contents to compare.
 *
 * Unsupported statements.  A statement either trace marks unsupported is
 * left out of RESULTS.  After an unsupported `madvise pageout` the other
 * executor may have swapped pages that this one could not, so from then on
 * the acting process and every process it forks afterwards are exempt from
 * SWAP: their pages swapped on one side are skipped.  Their pages present
 * on both sides are compared for sharing (and contents), but not for
 * mapcount and exclusivity: those count the page's mappings in the other
 * exempt processes, some of which may be swap entries on one side only
 * (the parent swapped a page, forked, the child faulted it back: mapped
 * once on that side, twice on the other).  A trace that stopped
 * right after a statement it marked unsupported (the reference model does
 * that) ends the comparison there: later results and snapshots, the final
 * one included, are not compared.
 *
 * Pages are matched by address; pages only one side has are left to the
 * layout comparison (VMAS or PAGEPROT), if selected.  The zero page's
 * mapcount and exclusive bit are bookkeeping conventions of each executor
 * (the kernel does not count zero-page mappings) and are not compared.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

/* ---- frame renaming ------------------------------------------------------ */

/* Open-addressing map frame -> new name; val < 0 marks an empty entry. */
struct fmap {
	uint64_t *key;
	long *val;
	size_t cap, used;
	long next;		/* the next new name */
};

static void fmap_free(struct fmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

static size_t fmap_slot(const struct fmap *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (m->cap - 1);

	while (m->val[i] >= 0 && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int fmap_grow(struct fmap *m)
{
	struct fmap n = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0, m->next };

	n.key = malloc(n.cap * sizeof(*n.key));
	n.val = malloc(n.cap * sizeof(*n.val));
	if (!n.key || !n.val) {
		fmap_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n.cap; i++)
		n.val[i] = -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->val[i] >= 0) {
			size_t j = fmap_slot(&n, m->key[i]);

			n.key[j] = m->key[i];
			n.val[j] = m->val[i];
			n.used++;
		}
	}
	fmap_free(m);
	*m = n;
	return 0;
}

/* The name of frame key, giving it the next one if it has none yet. */
static int fmap_name(struct fmap *m, uint64_t key, long *name)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap && fmap_grow(m))
		return -ENOMEM;
	i = fmap_slot(m, key);
	if (m->val[i] < 0) {
		m->key[i] = key;
		m->val[i] = m->next++;
		m->used++;
	}
	*name = m->val[i];
	return 0;
}

static bool page_real(const struct scn_page *pg)
{
	return pg->state == SCN_PTE_PRESENT && !pg->zero;
}

/* SCN_FRAME_NONE, SCN_FRAME_ZERO or the frame's name. */
static int page_class(struct fmap *m, const struct scn_page *pg, long *cls)
{
	if (pg->state != SCN_PTE_PRESENT) {
		*cls = SCN_FRAME_NONE;
		return 0;
	}
	if (pg->zero) {
		*cls = SCN_FRAME_ZERO;
		return 0;
	}
	return fmap_name(m, pg->frame, cls);
}

long scn_snapshot_frame_ids(const struct scn_snapshot *sn, long **ids)
{
	struct fmap m = { NULL, NULL, 0, 0, 0 };
	size_t total = 0, k = 0;
	long *out;

	*ids = NULL;
	for (int i = 0; i < sn->nprocs; i++)
		total += sn->procs[i].npages;
	if (!total)
		return 0;
	if (total > (size_t)LONG_MAX / sizeof(long))
		return -ENOMEM;
	out = malloc(total * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (int i = 0; i < sn->nprocs; i++) {
		for (size_t j = 0; j < sn->procs[i].npages; j++) {
			if (page_class(&m, &sn->procs[i].pages[j], &out[k++])) {
				fmap_free(&m);
				free(out);
				return -ENOMEM;
			}
		}
	}
	fmap_free(&m);
	*ids = out;
	return (long)total;
}

/* ---- the comparison's state ---------------------------------------------- */

struct cmp {
	const struct scenario *s;
	const struct scn_trace *t[2];
	const char *name[2];	/* executor names */
	unsigned what;
	char *msg;
	size_t len;
	bool *noswap;		/* per slot: SWAP not compared (see above) */
	char where[96];		/* "check at line 14 (stmt 9)" */
};

static int cmp_say(struct cmp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write the divergence message ("WHERE: ..."); returns 1. */
static int cmp_say(struct cmp *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->msg || !c->len)
		return 1;
	n = snprintf(c->msg, c->len, "%s: ", c->where);
	if (n >= 0 && (size_t)n < c->len) {
		va_start(ap, fmt);
		vsnprintf(c->msg + n, c->len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 1;
}

static const char *slot_name(const struct cmp *c, int slot)
{
	if (slot >= 0 && slot < c->s->nslots && c->s->slot_name[slot])
		return c->s->slot_name[slot];
	return "?";
}

/* ---- results ----------------------------------------------------------------- */

static void result_str(const struct scn_stmt *st, const struct scn_result *r,
		       char *buf, size_t len)
{
	const char *e = scn_errno_name(r->err);

	if (r->err && e)
		snprintf(buf, len, "%s", e);
	else if (r->err)
		snprintf(buf, len, "errno %d", r->err);
	else if ((st->op == SCN_READ || st->op == SCN_EXPECT) && r->value >= 0)
		snprintf(buf, len, "read 0x%02x", (unsigned)r->value);
	else if (st->op == SCN_READ || st->op == SCN_EXPECT)
		snprintf(buf, len, "no value (%d)", r->value);
	else if (st->op == SCN_EXPECT_THP)
		snprintf(buf, len, "THP state %s", scn_thp_state_name(r->value));
	else
		snprintf(buf, len, "OK");
}

static bool results_differ(const struct scn_stmt *st, const struct scn_result *a,
			   const struct scn_result *b)
{
	if (a->err != b->err)
		return true;
	return (st->op == SCN_READ || st->op == SCN_EXPECT ||
		st->op == SCN_EXPECT_THP) && !a->err && a->value != b->value;
}

/* "line 7 (stmt 4) "B write 0x100000003000 0x41"" */
static void where_stmt(struct cmp *c, int i)
{
	const struct scn_stmt *st = &c->s->stmts[i];
	char text[200];

	scn_stmt_str(c->s, st, text, sizeof(text));
	snprintf(c->where, sizeof(c->where), "line %d (stmt %d) \"%.60s\"",
		 st->line, i, text);
}

/* One side ran statement i, the other had stopped before it. */
static int cmp_stopped(struct cmp *c, int i, int ran)
{
	const struct scn_trace *stop = c->t[!ran];
	bool why = stop->failure[0] != '\0';

	where_stmt(c, i);
	return cmp_say(c, "%s ran it, %s had stopped before it%s%.*s%s",
		       c->name[ran], c->name[!ran], why ? " (" : "",
		       (int)sizeof(stop->failure), stop->failure, why ? ")" : "");
}

static int cmp_result(struct cmp *c, int i)
{
	const struct scn_stmt *st = &c->s->stmts[i];
	bool ha = i < c->t[0]->nresults, hb = i < c->t[1]->nresults;
	const struct scn_result *ra, *rb;
	char sa[48], sb[48];

	if (!(c->what & SCN_CMP_RESULTS) || (!ha && !hb))
		return 0;
	if (ha != hb)
		return cmp_stopped(c, i, ha ? 0 : 1);
	ra = &c->t[0]->results[i];
	rb = &c->t[1]->results[i];
	if (ra->unsupported || rb->unsupported || !results_differ(st, ra, rb))
		return 0;
	where_stmt(c, i);
	result_str(st, ra, sa, sizeof(sa));
	result_str(st, rb, sb, sizeof(sb));
	return cmp_say(c, "%s: %s, %s: %s", c->name[0], sa, c->name[1], sb);
}

/* Was statement i unsupported on either side? */
static bool unsupported_either(const struct cmp *c, int i)
{
	for (int k = 0; k < 2; k++)
		if (i < c->t[k]->nresults && c->t[k]->results[i].unsupported)
			return true;
	return false;
}

/* Keep noswap up to date after statement i. */
static void track_pageout(struct cmp *c, int i)
{
	const struct scn_stmt *st = &c->s->stmts[i];

	if (st->op == SCN_MADVISE && st->advice == SCN_ADV_PAGEOUT &&
	    st->proc >= 0 && st->proc < c->s->nslots && unsupported_either(c, i))
		c->noswap[st->proc] = true;
	if (st->op == SCN_FORK && st->proc >= 0 && st->proc < c->s->nslots &&
	    st->child >= 0 && st->child < c->s->nslots)
		c->noswap[st->child] = c->noswap[st->proc];
}

/* ---- layouts ------------------------------------------------------------------ */

static void vma_str(const struct scn_vma *v, char *buf, size_t len)
{
	int n;

	if (!v) {
		snprintf(buf, len, "no VMA");
		return;
	}
	n = snprintf(buf, len, "VMA 0x%" PRIx64 "-0x%" PRIx64 " %s%s%s%s%s",
		     v->start, v->end, scn_prot_name(v->prot),
		     v->dontcopy ? " dc" : "", v->wipeonfork ? " wf" : "",
		     v->hugepage ? " hg" : "", v->nohugepage ? " nh" : "");

	if (v->anon_huge && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " AnonHugePages %" PRIu64
			 " kB", v->anon_huge / 1024);
}

static bool vma_eq(const struct scn_vma *a, const struct scn_vma *b)
{
	return a->start == b->start && a->end == b->end && a->prot == b->prot &&
	       a->dontcopy == b->dontcopy && a->wipeonfork == b->wipeonfork &&
	       a->hugepage == b->hugepage && a->nohugepage == b->nohugepage;
}

/*
 * AnonHugePages of the VMAs both sides have with the same bounds (where
 * the layouts differ, VMAS tells); THP.
 */
static int cmp_anon_huge(struct cmp *c, const struct scn_proc_snap *pa,
			 const struct scn_proc_snap *pb)
{
	for (int i = 0, j = 0; i < pa->nvmas && j < pb->nvmas;) {
		const struct scn_vma *va = &pa->vmas[i], *vb = &pb->vmas[j];

		if (va->start != vb->start || va->end != vb->end) {
			i += va->start <= vb->start;
			j += vb->start <= va->start;
			continue;
		}
		if (va->anon_huge != vb->anon_huge)
			return cmp_say(c, "process %s VMA 0x%" PRIx64 "-0x%" PRIx64
				       " (thp): %s has AnonHugePages %" PRIu64
				       " kB, %s has %" PRIu64 " kB",
				       slot_name(c, pa->slot), va->start, va->end,
				       c->name[0], va->anon_huge / 1024,
				       c->name[1], vb->anon_huge / 1024);
		i++;
		j++;
	}
	return 0;
}

static int cmp_vmas(struct cmp *c, const struct scn_proc_snap *pa,
		    const struct scn_proc_snap *pb)
{
	int n = pa->nvmas > pb->nvmas ? pa->nvmas : pb->nvmas;
	char sa[128], sb[128];

	for (int k = 0; k < n; k++) {
		const struct scn_vma *va = k < pa->nvmas ? &pa->vmas[k] : NULL;
		const struct scn_vma *vb = k < pb->nvmas ? &pb->vmas[k] : NULL;

		if (va && vb && vma_eq(va, vb))
			continue;
		vma_str(va, sa, sizeof(sa));
		vma_str(vb, sb, sizeof(sb));
		return cmp_say(c, "process %s VMA #%d: %s has %s, %s has %s "
			       "(%d VMAs vs %d)", slot_name(c, pa->slot), k,
			       c->name[0], sa, c->name[1], sb, pa->nvmas,
			       pb->nvmas);
	}
	return 0;
}

/* A run of pages with one prot: VMAs merged where only bounds differ. */
struct prun {
	uint64_t start, end;
	int prot;
};

static int pruns(const struct scn_proc_snap *p, struct prun **out, size_t *n)
{
	struct prun *r = malloc((p->nvmas ? (size_t)p->nvmas : 1) * sizeof(*r));

	*n = 0;
	*out = r;
	if (!r)
		return -ENOMEM;
	for (int k = 0; k < p->nvmas; k++) {
		const struct scn_vma *v = &p->vmas[k];

		if (*n && r[*n - 1].end == v->start && r[*n - 1].prot == (int)v->prot) {
			r[*n - 1].end = v->end;
			continue;
		}
		r[*n].start = v->start;
		r[*n].end = v->end;
		r[(*n)++].prot = (int)v->prot;
	}
	return 0;
}

/* The prot at addr (-1: unmapped), and where that answer may change. */
static int prot_at(const struct prun *r, size_t n, uint64_t addr, uint64_t *next)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n) {
		*next = UINT64_MAX;
		return -1;
	}
	if (r[lo].start > addr) {
		*next = r[lo].start;
		return -1;
	}
	*next = r[lo].end;
	return r[lo].prot;
}

static const char *prot_desc(int prot, char *buf, size_t len)
{
	if (prot < 0)
		snprintf(buf, len, "does not map it");
	else
		snprintf(buf, len, "maps it %s", scn_prot_name((enum scn_prot)prot));
	return buf;
}

/* First page where the runs disagree; 1 and *addr if there is one. */
static int prun_diff(const struct prun *a, size_t na, const struct prun *b,
		     size_t nb, uint64_t *addr, int *pa, int *pb)
{
	uint64_t at = 0, nxa, nxb;

	for (;;) {
		*pa = prot_at(a, na, at, &nxa);
		*pb = prot_at(b, nb, at, &nxb);
		if (*pa != *pb) {
			*addr = at;
			return 1;
		}
		at = nxa < nxb ? nxa : nxb;
		if (at == UINT64_MAX)
			return 0;
	}
}

static int cmp_pageprot(struct cmp *c, const struct scn_proc_snap *pa,
			const struct scn_proc_snap *pb)
{
	struct prun *ra = NULL, *rb = NULL;
	size_t na, nb;
	uint64_t addr;
	int prot_a, prot_b, rc;
	char da[32], db[32];

	rc = pruns(pa, &ra, &na);
	if (!rc)
		rc = pruns(pb, &rb, &nb);
	if (!rc && prun_diff(ra, na, rb, nb, &addr, &prot_a, &prot_b))
		rc = cmp_say(c, "process %s page 0x%" PRIx64 ": %s %s, %s %s",
			     slot_name(c, pa->slot), addr, c->name[0],
			     prot_desc(prot_a, da, sizeof(da)), c->name[1],
			     prot_desc(prot_b, db, sizeof(db)));
	free(ra);
	free(rb);
	return rc;
}

/* ---- pages --------------------------------------------------------------------- */

/* "shared with A 0x100000003000, C 0x100000003000 and 2 more" or "not shared". */
static void shared_with(const struct cmp *c, const struct scn_snapshot *sn,
			const struct scn_page *pg, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "shared with ");
	int found = 0;

	for (int i = 0; i < sn->nprocs; i++) {
		const struct scn_proc_snap *p = &sn->procs[i];

		for (size_t k = 0; k < p->npages; k++) {
			const struct scn_page *q = &p->pages[k];

			if (q == pg || !page_real(q) || q->frame != pg->frame)
				continue;
			if (found++ < 3 && off < len)
				off += (size_t)snprintf(buf + off, len - off,
							"%s%s 0x%" PRIx64,
							found > 1 ? ", " : "",
							slot_name(c, p->slot), q->addr);
		}
	}
	if (!found)
		snprintf(buf, len, "not shared");
	else if (found > 3 && off < len)
		snprintf(buf + off, len - off, " and %d more", found - 3);
}

static void page_str(const struct cmp *c, const struct scn_snapshot *sn,
		     const struct scn_page *pg, long cls, char *buf, size_t len)
{
	char sh[160];
	int n;

	if (pg->state == SCN_PTE_SWAP) {
		n = snprintf(buf, len, "a swap entry");
	} else if (pg->state != SCN_PTE_PRESENT) {
		n = snprintf(buf, len, "no page");
	} else if (pg->zero) {
		n = snprintf(buf, len, "the %szero page",
			     pg->huge_zero ? "huge " : "");
	} else {
		shared_with(c, sn, pg, sh, sizeof(sh));
		n = snprintf(buf, len, "present frame #%ld (%s) mapcount %" PRIu32
			     " excl %d", cls, sh, pg->mapcount, pg->exclusive);
		if (pg->order && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, " in a folio of "
				      "order %u mapped by a %s", pg->order,
				      pg->pmd_mapped ? "PMD" : "PTE");
	}
	if (pg->has_hash && (c->what & SCN_CMP_CONTENT) && n > 0 &&
	    (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " content %016" PRIx64, pg->hash);
}

/* One pair of pages at the same address: what differs first, if anything. */
static const char *page_diff(const struct cmp *c, const struct scn_page *x, const struct scn_page *y,
			     long cx, long cy, bool counts)
{
	bool real = page_real(x) && page_real(y) && counts;

	if ((c->what & SCN_CMP_SHARING) && cx != cy)
		return "sharing";
	/* a THP's pages: same folio order, mapped by a PMD or not, the huge
	   zero page or the base one (both are class SCN_FRAME_ZERO) */
	if ((c->what & SCN_CMP_THP) &&
	    (x->order != y->order || x->pmd_mapped != y->pmd_mapped ||
	     x->huge_zero != y->huge_zero))
		return "thp";
	if ((c->what & SCN_CMP_MAPCOUNT) && real && x->mapcount != y->mapcount)
		return "mapcount";
	if ((c->what & SCN_CMP_EXCLUSIVE) && real && x->exclusive != y->exclusive)
		return "exclusive";
	if ((c->what & SCN_CMP_CONTENT) && x->has_hash && y->has_hash &&
	    x->hash != y->hash)
		return "content";
	return NULL;
}

struct pagewalk {
	const struct scn_snapshot *sn[2];
	struct fmap m[2];
};

static int cmp_page(struct cmp *c, struct pagewalk *w, int slot,
		    const struct scn_page *x, const struct scn_page *y)
{
	bool sx = x->state == SCN_PTE_SWAP, sy = y->state == SCN_PTE_SWAP;
	char dx[320], dy[320];
	const char *what;
	long cx, cy;

	if (sx || sy) {
		if (!(c->what & SCN_CMP_SWAP) || c->noswap[slot] || sx == sy)
			return 0;
		what = "swap";
		cx = cy = SCN_FRAME_NONE;
		if ((!sx && page_class(&w->m[0], x, &cx)) ||
		    (!sy && page_class(&w->m[1], y, &cy)))
			return -ENOMEM;
	} else {
		if (page_class(&w->m[0], x, &cx) || page_class(&w->m[1], y, &cy))
			return -ENOMEM;
		what = page_diff(c, x, y, cx, cy, !c->noswap[slot]);
		if (!what)
			return 0;
	}
	page_str(c, w->sn[0], x, cx, dx, sizeof(dx));
	page_str(c, w->sn[1], y, cy, dy, sizeof(dy));
	return cmp_say(c, "process %s page 0x%" PRIx64 " (%s): %s has %s, %s has %s",
		       slot_name(c, slot), x->addr, what, c->name[0], dx,
		       c->name[1], dy);
}

/* Is addr inside one of p's VMAs? */
static bool in_vmas(const struct scn_proc_snap *p, uint64_t addr)
{
	int lo = 0, hi = p->nvmas;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (p->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nvmas && p->vmas[lo].start <= addr;
}

/*
 * A page a snapshot does not list, at an address its process maps: not
 * populated, reading as zeroes (snapshots may list only the pages that
 * exist).  NULL (nothing to compare) if the process does not map addr:
 * the layouts differ there, which the layout comparison reports.
 */
static const struct scn_page *absent_page(const struct scn_proc_snap *p,
					  uint64_t addr, struct scn_page *buf)
{
	static uint64_t zero_hash;

	if (!in_vmas(p, addr))
		return NULL;
	if (!zero_hash) {
		static const unsigned char zeroes[SCN_PAGE_SIZE];

		zero_hash = scn_hash_page(zeroes);
	}
	memset(buf, 0, sizeof(*buf));
	buf->addr = addr;
	buf->state = SCN_PTE_NONE;
	buf->has_hash = true;
	buf->hash = zero_hash;
	return buf;
}

/* The pages of one process, matched by address. */
static int cmp_proc_pages(struct cmp *c, struct pagewalk *w,
			  const struct scn_proc_snap *pa,
			  const struct scn_proc_snap *pb)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (!rc && (i < pa->npages || j < pb->npages)) {
		uint64_t xa = i < pa->npages ? pa->pages[i].addr : UINT64_MAX;
		uint64_t xb = j < pb->npages ? pb->pages[j].addr : UINT64_MAX;
		const struct scn_page *x, *y;
		struct scn_page gap;

		if (xa == xb) {
			x = &pa->pages[i++];
			y = &pb->pages[j++];
		} else if (xa < xb) {
			x = &pa->pages[i++];
			y = absent_page(pb, xa, &gap);
		} else {
			y = &pb->pages[j++];
			x = absent_page(pa, xb, &gap);
		}
		if (x && y)
			rc = cmp_page(c, w, pa->slot, x, y);
	}
	return rc;
}

static int cmp_pages(struct cmp *c, const struct scn_snapshot *sa,
		     const struct scn_snapshot *sb)
{
	struct pagewalk w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.sn[0] = sa;
	w.sn[1] = sb;
	for (int k = 0; k < sa->nprocs && !rc; k++)
		rc = cmp_proc_pages(c, &w, &sa->procs[k], &sb->procs[k]);
	fmap_free(&w.m[0]);
	fmap_free(&w.m[1]);
	return rc;
}

/* ---- snapshots ------------------------------------------------------------------ */

static const struct scn_snapshot *snap_at(const struct scn_trace *t, int stmt)
{
	for (int i = 0; i < t->nsnaps; i++)
		if (t->snaps[i].stmt == stmt)
			return &t->snaps[i];
	return NULL;
}

static int cmp_proc_sets(struct cmp *c, const struct scn_snapshot *sa,
			 const struct scn_snapshot *sb)
{
	int n = sa->nprocs > sb->nprocs ? sa->nprocs : sb->nprocs;

	for (int k = 0; k < n; k++) {
		int ka = k < sa->nprocs ? sa->procs[k].slot : -1;
		int kb = k < sb->nprocs ? sb->procs[k].slot : -1;
		int side = kb < 0 || (ka >= 0 && ka < kb) ? 0 : 1;

		if (ka == kb)
			continue;
		return cmp_say(c, "process %s is alive in %s, not in %s",
			       slot_name(c, side ? kb : ka), c->name[side],
			       c->name[!side]);
	}
	return 0;
}

static int cmp_layouts(struct cmp *c, const struct scn_snapshot *sa,
		       const struct scn_snapshot *sb)
{
	int rc = 0;

	for (int k = 0; k < sa->nprocs && !rc; k++) {
		if (c->what & SCN_CMP_VMAS)
			rc = cmp_vmas(c, &sa->procs[k], &sb->procs[k]);
		if (!rc && (c->what & SCN_CMP_PAGEPROT))
			rc = cmp_pageprot(c, &sa->procs[k], &sb->procs[k]);
		if (!rc && (c->what & SCN_CMP_THP))
			rc = cmp_anon_huge(c, &sa->procs[k], &sb->procs[k]);
	}
	return rc;
}

static int cmp_snapshot(struct cmp *c, int stmt)
{
	const struct scn_snapshot *sa = snap_at(c->t[0], stmt);
	const struct scn_snapshot *sb = snap_at(c->t[1], stmt);
	int rc;

	if (!(c->what & ~(unsigned)SCN_CMP_RESULTS) || (!sa && !sb))
		return 0;
	if (stmt < c->s->nstmts)
		snprintf(c->where, sizeof(c->where), "check at line %d (stmt %d)",
			 c->s->stmts[stmt].line, stmt);
	else
		snprintf(c->where, sizeof(c->where), "end of scenario (stmt %d)",
			 stmt);
	if (!sa || !sb)
		return cmp_say(c, "%s has no snapshot (it ran %d of %d statements)",
			       c->name[sa ? 1 : 0], c->t[sa ? 1 : 0]->nresults,
			       c->s->nstmts);
	rc = cmp_proc_sets(c, sa, sb);
	if (!rc)
		rc = cmp_layouts(c, sa, sb);
	if (!rc)
		rc = cmp_pages(c, sa, sb);
	return rc;
}

/* ---- the walk --------------------------------------------------------------------- */

/*
 * Where the comparison ends: the end of the scenario, or earlier if a trace
 * stopped at a statement it could not perform (the reference model stops at
 * such a statement; nothing after it can be compared), or at a statement
 * the kernel executor's memory limit refused.
 */
static int cmp_end(const struct cmp *c, bool *stopped)
{
	int end = c->s->nstmts;

	*stopped = false;
	for (int k = 0; k < 2; k++) {
		const struct scn_trace *t = c->t[k];

		/* Stopped: its last result is unsupported and nothing was
		   recorded after it (not even the final snapshot, when that
		   was the last statement). */
		if (t->nresults > 0 && t->nresults <= end &&
		    t->results[t->nresults - 1].unsupported &&
		    (t->nresults < c->s->nstmts || !snap_at(t, c->s->nstmts))) {
			end = t->nresults;
			*stopped = true;
		}
		/* Refused by the kernel executor's own memory limit: the
		   kernel without it might have said yes. */
		for (int i = 0; i < t->nresults && i < end; i++)
			if (!strcmp(t->results[i].note, SCN_NOTE_MEM_LIMIT)) {
				end = i;
				*stopped = true;
			}
	}
	return end;
}

static int cmp_walk(struct cmp *c)
{
	bool stopped;
	int end = cmp_end(c, &stopped), rc;

	for (int i = 0; i < end; i++) {
		rc = cmp_result(c, i);
		if (rc)
			return rc;
		track_pageout(c, i);
		if (c->s->stmts[i].op == SCN_CHECK) {
			rc = cmp_snapshot(c, i);
			if (rc)
				return rc;
		}
	}
	return stopped ? 0 : cmp_snapshot(c, end);
}

int scn_compare(const struct scenario *s, const struct scn_trace *a,
		const struct scn_trace *b, unsigned what, char *msg, size_t len)
{
	struct cmp c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.t[0] = a;
	c.t[1] = b;
	c.name[0] = a->executor ? a->executor : "first";
	c.name[1] = b->executor ? b->executor : "second";
	c.what = what;
	c.msg = msg;
	c.len = len;
	if (msg && len)
		msg[0] = '\0';
	c.noswap = calloc(s->nslots > 0 ? (size_t)s->nslots : 1, sizeof(bool));
	if (!c.noswap)
		rc = -ENOMEM;
	else
		rc = cmp_walk(&c);
	free(c.noswap);
	if (rc < 0 && msg && len)
		snprintf(msg, len, "out of memory while comparing");
	return rc;
}
