/* SPDX-License-Identifier: MIT */
/*
 * Traces: what an executor saw while running a scenario (one result per
 * statement, a snapshot per `check`), and the test of a result against the
 * statement's expectation.
 *
 * The arrays carry no capacity field, so it is implied by the count: an
 * array of n > 0 elements has room for max(8, next power of two >= n).  The
 * arrays must therefore only grow through these helpers.  Appending may move
 * an array: pointers returned earlier into it are then stale.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

/* Make room for element n (the array holds n elements now). */
static int grow(void *arr, size_t n, size_t elem)
{
	size_t cap;
	void *p;

	if (n && (n < 8 || (n & (n - 1))))
		return 0;
	cap = n ? n * 2 : 8;
	if (n > SIZE_MAX / 2 || cap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*(void **)arr, cap * elem);
	if (!p)
		return -ENOMEM;
	*(void **)arr = p;
	return 0;
}

static int grow_int(void *arr, int n, size_t elem)
{
	if (n < 0 || n == INT_MAX)
		return -ENOMEM;
	return grow(arr, (size_t)n, elem);
}

void scn_trace_init(struct scn_trace *t, const char *executor)
{
	memset(t, 0, sizeof(*t));
	t->executor = executor;
	t->first_injected = -1;
}

static void free_proc(struct scn_proc_snap *p)
{
	free(p->vmas);
	free(p->pages);
}

void scn_trace_free(struct scn_trace *t)
{
	for (int i = 0; i < t->nsnaps; i++) {
		struct scn_snapshot *s = &t->snaps[i];

		for (int j = 0; j < s->nprocs; j++)
			free_proc(&s->procs[j]);
		free(s->procs);
	}
	free(t->snaps);
	free(t->results);
	scn_trace_init(t, t->executor);
}

int scn_trace_add_result(struct scn_trace *t, const struct scn_result *r)
{
	if (grow_int(&t->results, t->nresults, sizeof(*r)))
		return -ENOMEM;
	t->results[t->nresults++] = *r;
	return 0;
}

struct scn_snapshot *scn_trace_add_snapshot(struct scn_trace *t, int stmt)
{
	struct scn_snapshot *s;

	if (grow_int(&t->snaps, t->nsnaps, sizeof(*s)))
		return NULL;
	s = &t->snaps[t->nsnaps++];
	memset(s, 0, sizeof(*s));
	s->stmt = stmt;
	return s;
}

/*
 * Insert in ascending slot order (usually at the end).  Adding a slot twice
 * returns the process already there.
 */
struct scn_proc_snap *scn_snapshot_add_proc(struct scn_snapshot *s, int slot)
{
	struct scn_proc_snap *p;
	int i = s->nprocs;

	while (i > 0 && s->procs[i - 1].slot >= slot) {
		if (s->procs[i - 1].slot == slot)
			return &s->procs[i - 1];
		i--;
	}
	if (grow_int(&s->procs, s->nprocs, sizeof(*p)))
		return NULL;
	p = &s->procs[i];
	memmove(p + 1, p, (size_t)(s->nprocs - i) * sizeof(*p));
	s->nprocs++;
	memset(p, 0, sizeof(*p));
	p->slot = slot;
	return p;
}

int scn_proc_add_vma(struct scn_proc_snap *p, const struct scn_vma *v)
{
	if (grow_int(&p->vmas, p->nvmas, sizeof(*v)))
		return -ENOMEM;
	p->vmas[p->nvmas++] = *v;
	return 0;
}

int scn_proc_add_page(struct scn_proc_snap *p, const struct scn_page *pg)
{
	if (grow(&p->pages, p->npages, sizeof(*pg)))
		return -ENOMEM;
	p->pages[p->npages++] = *pg;
	return 0;
}

uint64_t scn_hash_page(const void *bytes)
{
	const unsigned char *b = bytes;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < SCN_PAGE_SIZE; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* "OK", "EFAULT", or "errno 1234" for one the tables do not know. */
static const char *err_str(int err, char *buf, size_t len)
{
	const char *name = scn_errno_name(err);

	if (!err)
		return "OK";
	if (name)
		return name;
	snprintf(buf, len, "errno %d", err);
	return buf;
}

static void value_str(int value, char *buf, size_t len)
{
	if (value >= 0 && value <= 255)
		snprintf(buf, len, "0x%02x", (unsigned)value);
	else
		snprintf(buf, len, "no value (%d)", value);
}

/* Why r does not meet st's expectation, or "" if it does. */
static void mismatch(const struct scn_stmt *st, const struct scn_result *r,
		     char *why, size_t len)
{
	char a[32], b[32];

	why[0] = '\0';
	if (r->err != st->expect_err)
		snprintf(why, len, "expected %s, got %s",
			 err_str(st->expect_err, a, sizeof(a)),
			 err_str(r->err, b, sizeof(b)));
	else if (st->op == SCN_EXPECT && !r->err && r->value != st->byte) {
		value_str(r->value, a, sizeof(a));
		snprintf(why, len, "got %s", a);
	} else if (st->op == SCN_EXPECT_THP && !r->err && r->value != st->byte) {
		snprintf(why, len, "got %s", scn_thp_state_name(r->value));
	}
}

enum scn_thp_state scn_page_thp_state(const struct scn_page *pg)
{
	if (pg->state != SCN_PTE_PRESENT)
		return SCN_THP_NONE;
	if (pg->huge_zero)
		return SCN_THP_HUGE_ZERO;
	if (pg->pmd_mapped)
		return SCN_THP_PMD;
	return pg->order ? SCN_THP_PTE : SCN_THP_BASE;
}

/*
 * A statement the executor could not perform (r->unsupported) has no outcome
 * to judge: it counts as met, and the caller decides what the note means.
 */
bool scn_result_ok(const struct scenario *s, const struct scn_stmt *st,
		   const struct scn_result *r, char *msg, size_t len)
{
	struct scn_stmt bare = *st;
	char why[128], text[256];

	if (msg && len)
		msg[0] = '\0';
	if (r->unsupported)
		return true;
	mismatch(st, r, why, sizeof(why));
	if (!why[0])
		return true;
	if (msg && len) {
		bare.expect_err = 0;
		scn_stmt_str(s, &bare, text, sizeof(text));
		snprintf(msg, len, "line %d: %s: %s", st->line, text, why);
	}
	return false;
}
