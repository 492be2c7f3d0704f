/* SPDX-License-Identifier: MIT */
/*
 * The reference model, the scenario generator and the shrinker.
 *
 * Model: hand-written scenarios whose `expect` and `!ERR` carry the exact
 * results (fork isolation, fork flags, dontneed, mprotect and madvise over
 * holes, every kind of mremap, the error cases), plus snapshots checked
 * page by page.  Generator: many seeds, each scenario survives a format and
 * parse round trip unchanged and runs on the model.  Shrinker: synthetic
 * predicates, one of them evaluated with the model.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "scenario/scenario.h"
#include "lib/testutil.h"

/* ---- helpers ---------------------------------------------------------------- */

static struct scenario *parse(const char *text)
{
	struct scenario *s = NULL;
	char err[256];
	int rc = scn_parse_string("test", text, &s, err, sizeof(err));

	if (rc)
		fail_msg("parse: %s", err);
	return s;
}

/* Run text on the model; every expectation must hold and the run finish. */
static void run_ok(const char *text)
{
	struct scenario *s = parse(text);
	struct scn_trace t;

	assert_int_equal(scn_run_model(s, &t), 0);
	if (t.failure[0])
		fail_msg("model: %s", t.failure);
	assert_int_equal(t.nresults, s->nstmts);
	assert_true(t.nsnaps >= 1);
	assert_int_equal(t.snaps[t.nsnaps - 1].stmt, s->nstmts);
	scn_trace_free(&t);
	scn_free(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the model: data -------------------------------------------------------------- */

static void test_cow_isolation(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a write 0x140000000000 0x11\n"
	       "a fork b\n"
	       "b expect 0x140000000000 0x11\n"
	       "b write 0x140000000000 0x22\n"	/* child writes */
	       "a expect 0x140000000000 0x11\n"
	       "a write 0x140000001005 0x33\n"	/* parent writes */
	       "b expect 0x140000001005 0x00\n"
	       "b expect 0x140000000000 0x22\n"
	       "a expect 0x140000001005 0x33\n"
	       "a exit\n"
	       "b expect 0x140000000000 0x22\n");
}

static void test_grandchildren(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 1 rw\n"
	       "a write 0x140000000000 1\n"
	       "a fork b\n"
	       "b write 0x140000000000 2\n"
	       "b fork c\n"
	       "c expect 0x140000000000 2\n"
	       "c write 0x140000000000 3\n"
	       "b expect 0x140000000000 2\n"
	       "a expect 0x140000000000 1\n"
	       "b exit\n"
	       "c expect 0x140000000000 3\n"
	       "c fork d\n"
	       "c exit\n"
	       "d expect 0x140000000000 3\n"
	       "a fork b\n"			/* a name used again */
	       "b expect 0x140000000000 1\n"
	       "d munmap 0x140000000000 1\n"
	       "b expect 0x140000000000 1\n"
	       "d read 0x140000000000 !EFAULT\n");
}

static void test_dontfork(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 3 rw\n"
	       "a fill 0x140000000000 3 0x44\n"
	       "a madvise 0x140000001000 1 dontfork\n"
	       "a fork b\n"
	       "b read 0x140000001000 !EFAULT\n"
	       "b write 0x140000001000 1 !EFAULT\n"
	       "b expect 0x140000000000 0x44\n"
	       "b expect 0x140000002fff 0x44\n"
	       "b mmap 0x140000001000 1 r\n"	/* the hole is free in b */
	       "a expect 0x140000001000 0x44\n"
	       "a madvise 0x140000001000 1 dofork\n"
	       "a fork c\n"
	       "c expect 0x140000001000 0x44\n"
	       /* holes: ENOMEM, but the mapped part is advised */
	       "a madvise 0x140000002000 3 dontfork !ENOMEM\n"
	       "a fork d\n"
	       "d read 0x140000002000 !EFAULT\n"
	       "d expect 0x140000001000 0x44\n");
}

static void test_wipeonfork(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a fill 0x140000000000 2 0x55\n"
	       "a madvise 0x140000000000 1 wipeonfork\n"
	       "a fork b\n"
	       "b expect 0x140000000000 0\n"
	       "b expect 0x140000001000 0x55\n"
	       "a expect 0x140000000000 0x55\n"
	       "b write 0x140000000000 7\n"
	       "b fork c\n"			/* the flag is inherited */
	       "c expect 0x140000000000 0\n"
	       "b expect 0x140000000000 7\n"
	       "a madvise 0x140000000000 1 keeponfork\n"
	       "a fork d\n"
	       "d expect 0x140000000000 0x55\n"
	       /* prot none pages take the flag too */
	       "a mprotect 0x140000001000 1 none\n"
	       "a madvise 0x140000001000 1 wipeonfork\n"
	       "a mprotect 0x140000001000 1 r\n"
	       "a fork e\n"
	       "e expect 0x140000001000 0\n"
	       "a expect 0x140000001000 0x55\n");
}

static void test_dontneed(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a fill 0x140000000000 2 9\n"
	       "a fork b\n"
	       "a madvise 0x140000000000 1 dontneed\n"
	       "a expect 0x140000000000 0\n"
	       "a expect 0x140000001000 9\n"
	       "b expect 0x140000000000 9\n"
	       "a write 0x140000000000 3\n"
	       "a expect 0x140000000000 3\n"
	       "a expect 0x140000000001 0\n"
	       /* hole after the mapping: ENOMEM, mapped pages still dropped */
	       "a madvise 0x140000000000 4 dontneed !ENOMEM\n"
	       "a expect 0x140000000000 0\n"
	       "a expect 0x140000001000 0\n"
	       /* nothing mapped at all */
	       "a madvise 0x140000010000 1 dontneed !ENOMEM\n"
	       "a madvise 0x140000000000 1 pageout\n"
	       "b mprotect 0x140000000000 2 none\n"
	       "b madvise 0x140000000000 2 dontneed\n"
	       "b mprotect 0x140000000000 2 r\n"
	       "b expect 0x140000001000 0\n");
}

/* Linux changes VMA after VMA and stops at the first hole. */
static void test_mprotect_hole(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a mmap 0x140000003000 2 rw\n"
	       "a mprotect 0x140000000000 5 r !ENOMEM\n"
	       "a write 0x140000001000 1 !EFAULT\n"	/* changed */
	       "a write 0x140000003000 1\n"		/* not reached */
	       "a mprotect 0x140000002000 2 r !ENOMEM\n"	/* starts in the hole */
	       "a write 0x140000003000 2\n"
	       "a mprotect 0x140000003000 3 none !ENOMEM\n"
	       "a read 0x140000004000 !EFAULT\n"
	       "a mprotect 0x140000003000 2 rw\n"
	       "a expect 0x140000003000 2\n"
	       "a mprotect 0x140000000800 1 none !EINVAL\n");
}

/*
 * Zero lengths, which the parser only accepts with an expected error: Linux
 * accepts them for mprotect and madvise (doing nothing).
 */
static void test_zero_lengths(void **state)
{
	struct scenario *s = parse("spawn a\n"
				   "a mmap 0x140000000000 1 rw\n"
				   "a write 0x140000000000 5\n"
				   "a mprotect 0x140000000000 1 none\n"
				   "a madvise 0x140000000000 1 dontneed\n"
				   "a madvise 0x140000000000 1 dontfork\n"
				   "a fill 0x140000000000 1 7\n"
				   "a migrate 0x140000000000 1 0\n"
				   "a fork b\n"
				   "b expect 0x140000000000 5\n");
	struct scn_trace t;

	for (int i = 3; i <= 7; i++)
		s->stmts[i].pages = 0;
	assert_int_equal(scn_run_model(s, &t), 0);
	if (t.failure[0])
		fail_msg("model: %s", t.failure);
	assert_int_equal(t.nresults, s->nstmts);
	scn_trace_free(&t);
	scn_free(s);
}

/* ---- the model: mremap ------------------------------------------------------------------ */

static void test_mremap_in_place(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a fill 0x140000000000 2 0x66\n"
	       "a mremap 0x140000000000 2 4\n"		/* grow */
	       "a expect 0x140000003000 0\n"
	       "a expect 0x140000001000 0x66\n"
	       "a write 0x140000003000 1\n"
	       "a mmap 0x140000004000 1 r\n"
	       "a mremap 0x140000000000 4 6 !ENOMEM\n"	/* next range taken */
	       "a mremap 0x140000000000 2 3 !ENOMEM\n"	/* not the VMA's end */
	       "a mremap 0x140000000000 5 6 !EFAULT\n"	/* crosses a VMA */
	       "a mremap 0x140000000000 4 1\n"		/* shrink */
	       "a read 0x140000001000 !EFAULT\n"
	       "a expect 0x140000000000 0x66\n"
	       "a mremap 0x140000000000 6 6\n"		/* same size: no-op */
	       "a mremap 0x140000000000 9 1\n"		/* shrink over anything */
	       "a read 0x140000004000 !EFAULT\n"
	       "a mremap 0x140000001000 1 1 !EFAULT\n"	/* ADDR unmapped */
	       "a mremap 0x140000000000 0 1 !EINVAL\n"	/* no duplicates */
	       "a mremap 0x140000000000 1 0 !EINVAL\n"
	       "a mremap 0x140000000010 1 1 !EINVAL\n"
	       "a expect 0x140000000000 0x66\n");
}

static void test_mremap_move(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a fill 0x140000000000 2 0x66\n"
	       "a mmap 0x140000010000 3 r\n"		/* will be replaced */
	       "a mremap 0x140000000000 1 1 to 0x140000010000\n"
	       "a read 0x140000000000 !EFAULT\n"
	       "a expect 0x140000010000 0x66\n"
	       "a write 0x140000010000 1\n"		/* rw moved along */
	       "a write 0x140000011000 1 !EFAULT\n"	/* still r */
	       "a expect 0x140000001000 0x66\n"
	       /* grow while moving, onto a mapped range */
	       "a mremap 0x140000001000 1 3 to 0x140000010000\n"
	       "a expect 0x140000010000 0x66\n"
	       "a expect 0x140000012000 0\n"
	       "a write 0x140000012000 5\n"
	       /* shrink while moving */
	       "a mremap 0x140000010000 3 1 to 0x140000020000\n"
	       "a read 0x140000011000 !EFAULT\n"
	       "a expect 0x140000020000 0x66\n"
	       /* old and new ranges overlap */
	       "a mremap 0x140000020000 1 2 to 0x140000020000 !EINVAL\n"
	       "a mremap 0x140000030000 2 2 to 0x140000031000 !EINVAL\n"
	       "a mremap 0x140000030000 1 1 to 0x140000040000 !EFAULT\n"
	       "a mremap 0x140000020000 0 1 to 0x140000040000 !EINVAL\n"
	       "a mremap 0x140000020000 1 1 to 0x140000040800 !EINVAL\n");
}

/* Since Linux 6.17 a move that keeps the size takes several VMAs along. */
static void test_mremap_multi(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 1 rw\n"
	       "a mmap 0x140000001000 1 r\n"
	       "a mmap 0x140000003000 1 rw\n"
	       "a write 0x140000000000 1\n"
	       "a write 0x140000003000 3\n"
	       "a mmap 0x140000010000 8 rw\n"
	       "a fill 0x140000010000 8 0x77\n"
	       "a mremap 0x140000000000 5 5 to 0x140000010000\n"
	       "a expect 0x140000010000 1\n"
	       "a expect 0x140000011000 0\n"
	       "a write 0x140000011000 1 !EFAULT\n"
	       "a expect 0x140000012000 0x77\n"	/* gap: left alone */
	       "a expect 0x140000013000 3\n"
	       "a expect 0x140000014000 0x77\n"	/* trailing gap too */
	       "a read 0x140000000000 !EFAULT\n"
	       "a read 0x140000003000 !EFAULT\n"
	       /* a resize must stay in one VMA */
	       "a mremap 0x140000010000 2 3 to 0x140000020000 !EFAULT\n"
	       "a mremap 0x140000010000 2 1 to 0x140000020000\n"
	       "a expect 0x140000020000 1\n"
	       "a read 0x140000011000 !EFAULT\n"
	       /* starting in a gap */
	       "a mremap 0x140000011000 2 2 to 0x140000030000 !EFAULT\n");
}

static void test_mremap_dontunmap(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 4 rw\n"
	       "a fill 0x140000000000 4 0x66\n"
	       "a mremap 0x140000001000 2 2 to 0x140000010000 dontunmap\n"
	       "a expect 0x140000001000 0\n"		/* still mapped, empty */
	       "a expect 0x140000002000 0\n"
	       "a expect 0x140000000000 0x66\n"
	       "a expect 0x140000003000 0x66\n"
	       "a expect 0x140000010000 0x66\n"
	       "a expect 0x140000011fff 0x66\n"
	       "a write 0x140000001000 9\n"
	       "a mremap 0x140000000000 1 2 to 0x140000020000 dontunmap !EINVAL\n"
	       "a mremap 0x140000020000 1 1 to 0x140000030000 dontunmap !EFAULT\n"
	       "a fork b\n"
	       "b expect 0x140000001000 9\n"
	       "b expect 0x140000010000 0x66\n");
}

/* ---- the model: errors -------------------------------------------------------------------- */

static void test_errors(void **state)
{
	run_ok("spawn a\n"
	       "a mmap 0x140000000000 2 rw\n"
	       "a mmap 0x140000001000 2 rw !EEXIST\n"
	       "a mmap 0x140000002000 0 rw !EINVAL\n"
	       "a mmap 0x140000002800 1 rw !EINVAL\n"
	       "a mmap 0x140000002000 1 none\n"
	       "a munmap 0x140000050000 4\n"		/* nothing there: fine */
	       "a munmap 0x140000050000 0 !EINVAL\n"
	       "a munmap 0x140000050010 1 !EINVAL\n"
	       "a read 0x140000060000 !EFAULT\n"
	       "a write 0x140000060000 1 !EFAULT\n"
	       "a read 0x140000002000 !EFAULT\n"	/* prot none */
	       "a mprotect 0x140000000000 1 r\n"
	       "a write 0x140000000000 1 !EFAULT\n"
	       "a expect 0x140000000000 0\n"
	       "a fill 0x140000000000 1 1 !EFAULT\n"
	       /* fill: bytes before the first faulting page are written */
	       "a fill 0x140000001000 2 0x77 !EFAULT\n"
	       "a expect 0x140000001fff 0x77\n"
	       "a mprotect 0x140000002000 1 r\n"
	       "a expect 0x140000002000 0\n"
	       "a madvise 0x140000000800 1 dontneed !EINVAL\n"
	       "a migrate 0x140000000000 3 0\n"
	       "a migrate 0x140000070000 3 0\n"	/* like move_pages(2) */
	       "a expect 0x140000001fff 0x77\n");
}

/* ---- the model: snapshots and the unknown ------------------------------------------------------- */

static void fill_page(uint8_t *page, int off, int byte)
{
	memset(page, 0, SCN_PAGE_SIZE);
	if (off >= 0)
		page[off] = (uint8_t)byte;
}

static void assert_vma(const struct scn_vma *v, uint64_t start, uint64_t end,
		       enum scn_prot prot, bool dc, bool wf)
{
	assert_int_equal(v->start, start);
	assert_int_equal(v->end, end);
	assert_int_equal(v->prot, prot);
	assert_int_equal(v->dontcopy, dc);
	assert_int_equal(v->wipeonfork, wf);
}

static void test_snapshot(void **state)
{
	struct scenario *s = parse(
		"spawn a\n"
		"a mmap 0x140000000000 4 rw\n"
		"a mprotect 0x140000001000 1 r\n"
		"a madvise 0x140000003000 1 dontfork\n"
		"a write 0x140000000010 0xab\n"
		"a mmap 0x140000010000 1 none\n"
		"a fork b\n"
		"check\n"
		"a exit\n");
	static uint8_t page[SCN_PAGE_SIZE];
	const struct scn_proc_snap *p;
	struct scn_trace t;

	assert_int_equal(scn_run_model(s, &t), 0);
	assert_string_equal(t.executor, "model");
	assert_int_equal(t.nsnaps, 2);
	assert_int_equal(t.snaps[0].stmt, 7);
	assert_int_equal(t.snaps[0].nprocs, 2);
	p = &t.snaps[0].procs[0];
	assert_int_equal(p->slot, 0);
	assert_int_equal(p->nvmas, 5);
	assert_vma(&p->vmas[0], 0x140000000000, 0x140000001000, SCN_PROT_RW, 0, 0);
	assert_vma(&p->vmas[1], 0x140000001000, 0x140000002000, SCN_PROT_R, 0, 0);
	assert_vma(&p->vmas[2], 0x140000002000, 0x140000003000, SCN_PROT_RW, 0, 0);
	assert_vma(&p->vmas[3], 0x140000003000, 0x140000004000, SCN_PROT_RW, 1, 0);
	assert_vma(&p->vmas[4], 0x140000010000, 0x140000011000, SCN_PROT_NONE, 0, 0);
	assert_int_equal(p->npages, 5);
	fill_page(page, 0x10, 0xab);
	assert_true(p->pages[0].has_hash);
	assert_int_equal(p->pages[0].hash, scn_hash_page(page));
	fill_page(page, -1, 0);
	for (size_t i = 1; i < p->npages; i++)
		assert_int_equal(p->pages[i].hash, scn_hash_page(page));
	assert_int_equal(p->pages[4].addr, 0x140000010000);
	p = &t.snaps[0].procs[1];
	assert_int_equal(p->slot, 1);
	assert_int_equal(p->nvmas, 4);			/* no dontfork page */
	assert_int_equal(p->npages, 4);
	assert_int_equal(t.snaps[1].stmt, s->nstmts);
	assert_int_equal(t.snaps[1].nprocs, 1);
	assert_int_equal(t.snaps[1].procs[0].slot, 1);
	scn_trace_free(&t);
	scn_free(s);
}

/* An unmet expectation is reported, and the run goes on. */
static void test_failure_reported(void **state)
{
	struct scenario *s = parse("spawn a\n"
				   "a mmap 0x140000000000 1 rw\n"
				   "a expect 0x140000000000 5\n"
				   "a read 0x140000000000 !EFAULT\n"
				   "a write 0x140000000000 5\n");
	struct scn_trace t;

	assert_int_equal(scn_run_model(s, &t), 0);
	assert_non_null(strstr(t.failure, "line 3"));
	assert_int_equal(t.nresults, 5);
	assert_int_equal(t.results[2].value, 0);
	assert_int_equal(t.results[3].err, 0);
	assert_int_equal(t.results[4].value, -1);
	scn_trace_free(&t);
	scn_free(s);
}

/*
 * Split a VMA before anything faulted, fault both sides, join them again:
 * Linux keeps two VMAs (their anon_vmas differ) and a grow across them
 * fails with EFAULT.  Without faults it would have merged.  The model
 * cannot tell, so it stops there; where there was no split, it knows.
 */
static void test_unknown_boundary(void **state)
{
	struct scenario *s = parse("spawn a\n"
				   "a mmap 0x140000000000 4 rw\n"
				   "a mprotect 0x140000001000 1 r\n"
				   "a write 0x140000000000 1\n"
				   "a mprotect 0x140000001000 1 rw\n"
				   "a mremap 0x140000000000 4 5\n"
				   "a mremap 0x140000000000 1 1\n");
	struct scn_trace t;

	assert_int_equal(scn_run_model(s, &t), 0);
	assert_int_equal(t.nresults, 6);
	assert_true(t.results[5].unsupported);
	assert_true(t.results[5].note[0]);
	assert_int_equal(t.nsnaps, 0);
	assert_string_equal(t.failure, "");	/* not a failed expectation */
	scn_trace_free(&t);
	scn_free(s);

	run_ok("spawn a\n"
	       "a mmap 0x140000000000 4 rw\n"
	       "a write 0x140000000000 1\n"
	       "a madvise 0x140000000000 4 dontfork\n"	/* all of it: no split */
	       "a mprotect 0x140000000000 4 rw\n"		/* no change */
	       "a fork b\n"
	       "a mremap 0x140000000000 4 5\n"
	       "a mremap 0x140000000000 5 6 to 0x140000010000\n"
	       "a expect 0x140000010000 1\n");
}

/* ---- the generator ---------------------------------------------------------------------------- */

static char *format_text(const struct scenario *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(scn_format(s, f), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void assert_same_stmt(const struct scn_stmt *a, const struct scn_stmt *b)
{
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->line, b->line);
	assert_int_equal(a->proc, b->proc);
	assert_int_equal(a->child, b->child);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->pages, b->pages);
	assert_int_equal(a->new_pages, b->new_pages);
	assert_int_equal(a->new_addr, b->new_addr);
	assert_int_equal(a->to, b->to);
	assert_int_equal(a->dontunmap, b->dontunmap);
	assert_int_equal(a->prot, b->prot);
	assert_int_equal(a->advice, b->advice);
	assert_int_equal(a->byte, b->byte);
	assert_int_equal(a->node, b->node);
	assert_int_equal(a->expect_err, b->expect_err);
}

static void assert_round_trip(const struct scenario *s)
{
	char *text = format_text(s);
	struct scenario *back = parse(text);

	assert_int_equal(back->nstmts, s->nstmts);
	assert_int_equal(back->nslots, s->nslots);
	for (int i = 0; i < s->nslots; i++)
		assert_string_equal(back->slot_name[i], s->slot_name[i]);
	for (int i = 0; i < s->nstmts; i++)
		assert_same_stmt(&back->stmts[i], &s->stmts[i]);
	scn_free(back);
	free(text);
}

/* Addresses inside the region, no pageout or migrate when native_safe. */
static void assert_shape(const struct scenario *s, int region, bool native_safe)
{
	uint64_t end = SCN_GEN_BASE + (uint64_t)region * SCN_PAGE_SIZE;

	for (int i = 0; i < s->nstmts; i++) {
		const struct scn_stmt *st = &s->stmts[i];

		assert_int_equal(st->expect_err, 0);
		if (st->op == SCN_EXPECT || st->op == SCN_CHECK ||
		    st->op == SCN_SPAWN || st->op == SCN_FORK || st->op == SCN_EXIT)
			continue;
		assert_true(st->addr >= SCN_GEN_BASE && st->addr < end);
		assert_true(st->addr + st->pages * SCN_PAGE_SIZE <= end);
		if (native_safe) {
			assert_int_not_equal(st->op, SCN_MIGRATE);
			assert_false(st->op == SCN_MADVISE &&
				     st->advice == SCN_ADV_PAGEOUT);
		}
	}
}

static void count_ops(const struct scenario *s, int *counts)
{
	for (int i = 0; i < s->nstmts; i++)
		counts[s->stmts[i].op]++;
}

static void test_generate_round_trip(void **state)
{
	uint64_t seed = test_seed("generate_round_trip");
	int counts[SCN_NR_OPS] = { 0 }, unsupported = 0;
	double t0 = now();

	for (int i = 0; i < 200; i++) {
		struct scn_gen_opts o = {
			.seed = seed + (uint64_t)i, .ops = 300,
			.native_safe = i % 2,
		};
		struct scenario *s;
		struct scn_trace t;

		assert_int_equal(scn_generate(&o, &s), 0);
		assert_int_equal(s->nstmts, 300);
		assert_shape(s, 64, o.native_safe);
		assert_round_trip(s);
		count_ops(s, counts);
		assert_int_equal(scn_run_model(s, &t), 0);
		assert_true(t.nresults >= 1);
		unsupported += t.nresults < s->nstmts;
		scn_trace_free(&t);
		scn_free(s);
	}
	for (int op = 0; op < SCN_NR_OPS; op++) {
		if (op != SCN_EXPECT && op != SCN_EXPECT_THP)
			assert_true(counts[op] > 0);
	}
	printf("200 scenarios: %.2fs, %d stopped at an unknown VMA boundary\n",
	       now() - t0, unsupported);
}

static void test_generate_options(void **state)
{
	struct scn_gen_opts o = { .seed = 7, .ops = 500, .max_procs = 1,
				  .max_pages = 8 };
	struct scenario *a, *b;

	assert_int_equal(scn_generate(&o, &a), 0);
	assert_int_equal(scn_generate(&o, &b), 0);
	assert_int_equal(a->nstmts, b->nstmts);
	for (int i = 0; i < a->nstmts; i++)		/* deterministic */
		assert_same_stmt(&a->stmts[i], &b->stmts[i]);
	assert_shape(a, 8, false);
	assert_round_trip(a);
	scn_free(a);
	scn_free(b);
	o.ops = 0;
	assert_int_equal(scn_generate(&o, &a), -EINVAL);
	assert_null(a);
	o.ops = 1;
	o.max_pages = -1;
	assert_int_equal(scn_generate(&o, &a), -EINVAL);
}

/* Statements of s advising hugepage or nohugepage. */
static int thp_advice(const struct scenario *s)
{
	int n = 0;

	for (int i = 0; i < s->nstmts; i++)
		n += s->stmts[i].op == SCN_MADVISE &&
		     (s->stmts[i].advice == SCN_ADV_HUGEPAGE ||
		      s->stmts[i].advice == SCN_ADV_NOHUGEPAGE);
	return n;
}

/*
 * Without thp the generator emits no THP advice (old seeds keep their
 * scenarios); with it, advice, 2 MiB-aligned whole-huge-page mmaps, in a
 * region of 2048 pages, and the model agrees with the library (THP
 * changes no contents; VMAs split at hugepage-flag boundaries).
 */
static void test_generate_thp(void **state)
{
	uint64_t seed = test_seed("generate_thp");
	int advice = 0, aligned = 0, stopped = 0;

	for (int i = 0; i < 40; i++) {
		struct scn_gen_opts o = { .seed = seed + (uint64_t)i, .ops = 200 };
		struct scn_lib_opts lo = { .no_expect = true, .thp = SCN_THP_MADVISE };
		struct scn_trace mt, lt;
		struct scenario *s;
		char msg[512], err[256];

		assert_int_equal(scn_generate(&o, &s), 0);
		assert_int_equal(thp_advice(s), 0);
		scn_free(s);
		o.thp = true;
		assert_int_equal(scn_generate(&o, &s), 0);
		assert_shape(s, 2048, false);
		assert_round_trip(s);
		advice += thp_advice(s);
		for (int k = 0; k < s->nstmts; k++)
			aligned += s->stmts[k].op == SCN_MMAP &&
				   s->stmts[k].addr % (2 << 20) == 0 &&
				   s->stmts[k].pages >= 512;
		assert_int_equal(scn_run_model(s, &mt), 0);
		assert_int_equal(scn_run_lib(s, &lo, &lt, err, sizeof(err)), 0);
		stopped += mt.nresults < s->nstmts;
		if (scn_compare(s, &mt, &lt, SCN_CMP_RESULTS | SCN_CMP_CONTENT |
				SCN_CMP_PAGEPROT, msg, sizeof(msg)))
			fail_msg("seed %" PRIu64 ": %s", o.seed, msg);
		scn_trace_free(&mt);
		scn_trace_free(&lt);
		scn_free(s);
	}
	printf("thp: %d hugepage/nohugepage advice, %d aligned huge mmaps, "
	       "model stopped in %d of 40\n", advice, aligned, stopped);
	assert_true(advice > 0);
	assert_true(aligned > 0);
}

/* Drop statement i (an mremap: nothing depends on it for validity). */
static void drop_stmt(struct scenario *s, int i)
{
	assert_int_equal(s->stmts[i].op, SCN_MREMAP);
	memmove(&s->stmts[i], &s->stmts[i + 1],
		(size_t)(s->nstmts - i - 1) * sizeof(*s->stmts));
	s->nstmts--;
}

/*
 * 100,000 statements must take the model a few seconds at most.  The
 * mremaps at which the model stops (an unknown VMA boundary) are dropped
 * until it runs to the end.
 */
static void test_model_speed(void **state)
{
	struct scn_gen_opts o = { .seed = 99, .ops = 100000, .max_procs = 6 };
	struct scenario *s;
	struct scn_trace t;
	int dropped = 0;
	double t0;

	assert_int_equal(scn_generate(&o, &s), 0);
	for (;;) {
		assert_int_equal(scn_run_model(s, &t), 0);
		if (t.nresults == s->nstmts)
			break;
		assert_true(t.results[t.nresults - 1].unsupported);
		drop_stmt(s, t.nresults - 1);
		dropped++;
		scn_trace_free(&t);
	}
	scn_trace_free(&t);
	t0 = now();
	assert_int_equal(scn_run_model(s, &t), 0);
	printf("model: %d statements (%d mremaps dropped), %d snapshots in "
	       "%.2fs\n", s->nstmts, dropped, t.nsnaps, now() - t0);
	assert_int_equal(t.nresults, s->nstmts);
	assert_true(now() - t0 < 30.0);
	scn_trace_free(&t);
	scn_free(s);
}

/* ---- the shrinker ------------------------------------------------------------------------------ */

/* A write of 0x2a by a forked process after some munmap. */
static int fails_forked_write(const struct scenario *s, void *arg)
{
	bool *forked = calloc((size_t)s->nslots + 1, sizeof(*forked));
	bool munmapped = false;
	int hit = 0;

	(*(int *)arg)++;
	for (int i = 0; forked && i < s->nstmts && !hit; i++) {
		const struct scn_stmt *st = &s->stmts[i];

		if (st->op == SCN_FORK)
			forked[st->child] = true;
		munmapped |= st->op == SCN_MUNMAP;
		hit = st->op == SCN_WRITE && st->byte == 0x2a && munmapped &&
		      forked[st->proc];
	}
	free(forked);
	return hit;
}

/* Make the last write by a forked process after a munmap write 0x2a. */
static void plant_forked_write(struct scenario *s)
{
	int count = 0;

	for (int i = s->nstmts - 1; i >= 0; i--) {
		struct scn_stmt *st = &s->stmts[i];

		if (st->op == SCN_WRITE) {
			st->byte = 0x2a;
			if (fails_forked_write(s, &count))
				return;
			st->byte = 0x2b;
		}
	}
	fail_msg("no write by a forked process after a munmap");
}

static void test_shrink_synthetic(void **state)
{
	uint64_t seed = test_seed("shrink_synthetic");
	struct scn_gen_opts o = { .seed = seed, .ops = 400 };
	struct scenario *s, *small;
	int calls = 0;
	char *text;

	assert_int_equal(scn_generate(&o, &s), 0);
	for (int i = 0; i < s->nstmts; i++)	/* only the planted one */
		if (s->stmts[i].op == SCN_WRITE && s->stmts[i].byte == 0x2a)
			s->stmts[i].byte = 0x2b;
	plant_forked_write(s);
	assert_int_equal(scn_shrink(s, fails_forked_write, &calls, &small), 0);
	text = format_text(small);
	printf("%d candidates, shrunk to:\n%s", calls, text);
	assert_true(fails_forked_write(small, &calls));
	assert_true(small->nstmts <= 4);
	for (int i = 0; i < small->nstmts; i++)
		if (small->stmts[i].op == SCN_MUNMAP)
			assert_int_equal(small->stmts[i].pages, 1);
	scn_free(parse(text));
	free(text);
	scn_free(small);
	scn_free(s);
}

/* The model reports ENOMEM for some mprotect. */
static int fails_mprotect_enomem(const struct scenario *s, void *arg)
{
	struct scn_trace t;
	int hit = 0;

	if (scn_run_model(s, &t))
		return -ENOMEM;
	for (int i = 0; i < t.nresults; i++)
		hit |= s->stmts[i].op == SCN_MPROTECT && t.results[i].err == ENOMEM;
	scn_trace_free(&t);
	return hit;
}

static void test_shrink_with_model(void **state)
{
	struct scn_gen_opts o = { .seed = 12345, .ops = 300 };
	struct scenario *s, *small;

	assert_int_equal(scn_generate(&o, &s), 0);
	assert_int_equal(fails_mprotect_enomem(s, NULL), 1);
	assert_int_equal(scn_shrink(s, fails_mprotect_enomem, NULL, &small), 0);
	assert_int_equal(small->nstmts, 2);		/* spawn, mprotect */
	assert_int_equal(small->stmts[1].op, SCN_MPROTECT);
	assert_int_equal(small->stmts[1].pages, 1);
	scn_free(small);
	scn_free(s);
}

static int always_passes(const struct scenario *s, void *arg)
{
	return 0;
}

/* Fails while it has more than 3 statements; errors out on call 5. */
static int fails_then_errors(const struct scenario *s, void *arg)
{
	return ++*(int *)arg == 5 ? -EIO : s->nstmts > 3;
}

static void test_shrink_edges(void **state)
{
	struct scenario *s = parse("spawn a\n"
				   "a exit\n"
				   "spawn a\n"		/* same name: renamed */
				   "a mmap 0x140000000000 8 rw\n"
				   "a fork b\n"
				   "b exit\n"
				   "check\n");
	struct scenario *out = (struct scenario *)1;
	int calls = 0;

	assert_int_equal(scn_shrink(s, always_passes, NULL, &out), -EINVAL);
	assert_null(out);
	assert_int_equal(scn_shrink(s, fails_then_errors, &calls, &out), -EIO);
	assert_null(out);
	calls = -1000;
	assert_int_equal(scn_shrink(s, fails_then_errors, &calls, &out), 0);
	assert_int_equal(out->nstmts, 4);
	for (int i = 0; i < out->nslots; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(out->slot_name[i],
						out->slot_name[j]);
	scn_free(out);
	scn_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cow_isolation),
		cmocka_unit_test(test_grandchildren),
		cmocka_unit_test(test_dontfork),
		cmocka_unit_test(test_wipeonfork),
		cmocka_unit_test(test_dontneed),
		cmocka_unit_test(test_mprotect_hole),
		cmocka_unit_test(test_zero_lengths),
		cmocka_unit_test(test_mremap_in_place),
		cmocka_unit_test(test_mremap_move),
		cmocka_unit_test(test_mremap_multi),
		cmocka_unit_test(test_mremap_dontunmap),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_failure_reported),
		cmocka_unit_test(test_unknown_boundary),
		cmocka_unit_test(test_generate_round_trip),
		cmocka_unit_test(test_generate_options),
		cmocka_unit_test(test_generate_thp),
		cmocka_unit_test(test_model_speed),
		cmocka_unit_test(test_shrink_synthetic),
		cmocka_unit_test(test_shrink_with_model),
		cmocka_unit_test(test_shrink_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
