/* SPDX-License-Identifier: MIT */
/*
 * Moving a scenario's addresses into the default window.
 *
 * A recording keeps the addresses the program used (0x55..., 0x7f...), but
 * the kernel executor's workers are processes with their own executable,
 * libraries and stack there, so `native` and `diff` run a relocated copy:
 * the ranges the scenario touches are grouped into clusters (ranges less
 * than 1 GiB apart), and each cluster moves as a whole to its own place in
 * [SCN_GEN_BASE, SCN_WINDOW_END), keeping its offset within 1 GiB.  Inside a
 * cluster distances are kept (so which VMAs touch, merge and split is
 * unchanged) and clusters stay at least 1 GiB apart, as they were.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

#define GIB		(1ULL << 30)

struct cluster { uint64_t start, end, base; };

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Every [start, end) a statement names: at most two per statement. */
static long ranges(const struct scenario *s, uint64_t (*r)[2])
{
	long n = 0;

	for (int i = 0; i < s->nstmts; i++) {
		const struct scn_stmt *st = &s->stmts[i];
		uint64_t len = st->pages ? st->pages * SCN_PAGE_SIZE : 1;

		if (st->op == SCN_SPAWN || st->op == SCN_FORK ||
		    st->op == SCN_EXIT || st->op == SCN_CHECK)
			continue;
		r[n][0] = st->addr;
		r[n][1] = st->addr + len;
		n++;
		if (st->op != SCN_MREMAP)
			continue;
		r[n][0] = st->to ? st->new_addr : st->addr;
		r[n][1] = r[n][0] + st->new_pages * SCN_PAGE_SIZE;
		n++;
	}
	return n;
}

static long clusters(const struct scenario *s, uint64_t (*r)[2], long n,
		     struct cluster *c, char *err, size_t errlen)
{
	uint64_t next = SCN_GEN_BASE;
	long k = 0;

	qsort(r, (size_t)n, sizeof(*r), cmp_range);
	for (long i = 0; i < n; i++) {
		if (k && r[i][0] < c[k - 1].end + GIB) {
			if (r[i][1] > c[k - 1].end)
				c[k - 1].end = r[i][1];
			continue;
		}
		c[k++] = (struct cluster){ r[i][0], r[i][1], 0 };
	}
	for (long i = 0; i < k; i++) {
		c[i].base = next + c[i].start % GIB;
		next = (c[i].base + (c[i].end - c[i].start) + 2 * GIB - 1) /
		       GIB * GIB;
		if (next > SCN_WINDOW_END) {
			snprintf(err, errlen, "%s: its addresses do not fit in "
				 "the window [%#llx, %#llx) (clusters more than "
				 "1 GiB apart, kept apart)", s->file,
				 SCN_GEN_BASE, SCN_WINDOW_END);
			return -E2BIG;
		}
	}
	return k;
}

static uint64_t move(const struct cluster *c, long k, uint64_t a)
{
	long lo = 0, hi = k - 1;

	while (lo < hi) {		/* the last cluster starting <= a */
		long mid = (lo + hi + 1) / 2;

		if (c[mid].start <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return a - c[lo].start + c[lo].base;
}

/* Format tmp and parse it: the relocated scenario, checked like any other. */
static int reparse(const struct scenario *tmp, struct scenario **out,
		   char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	rc = scn_format(tmp, f);
	if (fclose(f) || !text)
		rc = rc ? rc : -ENOMEM;
	if (!rc)
		rc = scn_parse_string(tmp->file, text, out, err, errlen);
	free(text);
	return rc;
}

int scn_relocate(const struct scenario *s, struct scenario **out, int *nclusters,
		 char *err, size_t errlen)
{
	uint64_t (*r)[2] = calloc((size_t)s->nstmts * 2 + 1, sizeof(*r));
	struct cluster *c = calloc((size_t)s->nstmts * 2 + 1, sizeof(*c));
	struct scenario tmp = *s;
	long n, k;
	int rc = -ENOMEM;

	*out = NULL;
	tmp.stmts = calloc((size_t)s->nstmts + 1, sizeof(*tmp.stmts));
	if (!r || !c || !tmp.stmts)
		goto done;
	n = ranges(s, r);
	k = clusters(s, r, n, c, err, errlen);
	rc = (int)(k < 0 ? k : 0);
	if (rc)
		goto done;
	for (int i = 0; i < s->nstmts; i++) {
		struct scn_stmt *st = &tmp.stmts[i];

		*st = s->stmts[i];
		if (st->op == SCN_SPAWN || st->op == SCN_FORK ||
		    st->op == SCN_EXIT || st->op == SCN_CHECK)
			continue;
		st->addr = move(c, k, st->addr);
		if (st->op == SCN_MREMAP && st->to)
			st->new_addr = move(c, k, st->new_addr);
	}
	tmp.window_start = tmp.window_end = 0;
	*nclusters = (int)k;
	rc = reparse(&tmp, out, err, errlen);
done:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory relocating", s->file);
	free(r);
	free(c);
	free(tmp.stmts);
	return rc;
}
