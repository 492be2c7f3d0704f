/* SPDX-License-Identifier: MIT */
/*
 * scn_compare on hand-built traces: equal traces compare equal (also with
 * different frame numbering), and every planted divergence is found by its
 * flag, only by it, and described at the right place.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "scenario/scenario.h"

#define X	0x140000000000ULL
#define PG	SCN_PAGE_SIZE
#define ALL	(SCN_CMP_KERNEL | SCN_CMP_CONTENT | SCN_CMP_PAGEPROT)

/*
 * stmt 0..7; snapshots at 7 (check, line 8) and 8 (the end).  B is forked
 * after A's pageout, C before it.
 */
static const char *const text =
	"spawn A\n"				/* 0 */
	"A mmap 0x140000000000 4 rw\n"		/* 1 */
	"A write 0x140000000000 1\n"		/* 2 */
	"A fork C\n"				/* 3 */
	"A madvise 0x140000000000 4 pageout\n"	/* 4 */
	"A fork B\n"				/* 5 */
	"A read 0x140000000000\n"		/* 6 */
	"check\n";				/* 7 */

struct fixture {
	struct scenario *s;
	struct scn_trace a, b;
	char msg[1024];
};

/* The hash is a made-up content: equal for equal pages on both sides. */
static void add_page(struct scn_proc_snap *p, uint64_t addr, int state,
		     uint64_t frame, uint32_t mapcount, bool excl, uint64_t hash)
{
	struct scn_page pg;

	memset(&pg, 0, sizeof(pg));
	pg.addr = addr;
	pg.state = (uint8_t)state;
	pg.frame = frame;
	pg.mapcount = mapcount;
	pg.exclusive = excl;
	pg.has_hash = true;
	pg.hash = hash;
	assert_int_equal(scn_proc_add_page(p, &pg), 0);
}

/*
 * One process: VMA [X, X+4 pages) rw; page 0 the shared frame f0, page 1
 * the zero page, page 2 a private frame, page 3 none.
 */
static void add_proc(struct scn_snapshot *sn, int slot, uint64_t f0,
		     uint64_t fpriv, uint64_t zero)
{
	struct scn_proc_snap *p = scn_snapshot_add_proc(sn, slot);
	struct scn_vma v = { X, X + 4 * PG, SCN_PROT_RW, .dontcopy = false };

	assert_non_null(p);
	assert_int_equal(scn_proc_add_vma(p, &v), 0);
	add_page(p, X, SCN_PTE_PRESENT, f0, 3, false, 1);
	add_page(p, X + PG, SCN_PTE_PRESENT, zero, 0, false, 0);
	p->pages[1].zero = true;
	add_page(p, X + 2 * PG, SCN_PTE_PRESENT, fpriv + (uint64_t)slot, 1, true,
		 10 + (uint64_t)slot);
	add_page(p, X + 3 * PG, SCN_PTE_NONE, 0, 0, false, 0);
}

/* A trace of the scenario; base and step choose the frame numbers. */
static void build(struct scn_trace *t, const char *exec, const struct scenario *s,
		  uint64_t base, uint64_t step)
{
	struct scn_result r;

	scn_trace_init(t, exec);
	for (int i = 0; i < s->nstmts; i++) {
		memset(&r, 0, sizeof(r));
		r.value = s->stmts[i].op == SCN_READ ? 1 : -1;
		assert_int_equal(scn_trace_add_result(t, &r), 0);
	}
	for (int stmt = 7; stmt <= 8; stmt++) {
		struct scn_snapshot *sn = scn_trace_add_snapshot(t, stmt);

		assert_non_null(sn);
		/* slots: A 0, C 1, B 2 */
		for (int slot = 0; slot < 3; slot++)
			add_proc(sn, slot, base, base + 10 * step, base + 99 * step);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f || scn_parse_string("diff", text, &f->s, err, sizeof(err)))
		return -1;
	build(&f->a, "kernel", f->s, 1000, 1);
	build(&f->b, "anonvm", f->s, 7, 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	scn_trace_free(&f->a);
	scn_trace_free(&f->b);
	scn_free(f->s);
	free(f);
	return 0;
}

static int cmp(struct fixture *f, unsigned what)
{
	f->msg[0] = 'x';
	f->msg[1] = '\0';
	return scn_compare(f->s, &f->a, &f->b, what, f->msg, sizeof(f->msg));
}

/* Found by flag, not by all the other flags; the message contains each of
 * the strings that follow (NULL-terminated). */
static void expect_only(struct fixture *f, unsigned flag, ...)
{
	const char *want;
	va_list ap;

	assert_int_equal(cmp(f, ALL & ~flag), 0);
	assert_string_equal(f->msg, "");
	assert_int_equal(cmp(f, flag), 1);
	print_message("%s\n", f->msg);
	va_start(ap, flag);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(f->msg, want))
			fail_msg("'%s' not in '%s'", want, f->msg);
	va_end(ap);
	assert_int_equal(cmp(f, ALL), 1);
}

static struct scn_proc_snap *proc(struct scn_trace *t, int snap, int slot)
{
	return &t->snaps[snap].procs[slot];
}

/* ---- equal traces --------------------------------------------------------- */

static void test_equal(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmp(f, ALL), 0);
	assert_string_equal(f->msg, "");
	assert_int_equal(scn_compare(f->s, &f->a, &f->a, ALL, f->msg,
				     sizeof(f->msg)), 0);
}

static void test_renaming(void **state)
{
	struct fixture *f = *state;
	long *ia, *ib;
	long n;

	/* the frames differ in number and order, the partitions do not */
	assert_int_not_equal(f->a.snaps[0].procs[0].pages[0].frame,
			     f->b.snaps[0].procs[0].pages[0].frame);
	n = scn_snapshot_frame_ids(&f->a.snaps[0], &ia);
	assert_int_equal(n, 12);
	assert_int_equal(scn_snapshot_frame_ids(&f->b.snaps[0], &ib), 12);
	assert_memory_equal(ia, ib, (size_t)n * sizeof(long));
	/* A: shared #0, zero, private #1, none; C: #0, zero, #2, none ... */
	assert_int_equal(ia[0], 0);
	assert_int_equal(ia[1], SCN_FRAME_ZERO);
	assert_int_equal(ia[2], 1);
	assert_int_equal(ia[3], SCN_FRAME_NONE);
	assert_int_equal(ia[4], 0);
	assert_int_equal(ia[6], 2);
	assert_int_equal(ia[10], 3);
	free(ia);
	free(ib);
}

/* ---- one planted divergence per flag ------------------------------------------ */

static void test_results(void **state)
{
	struct fixture *f = *state;

	f->b.results[2].err = EFAULT;
	expect_only(f, SCN_CMP_RESULTS, "line 3 (stmt 2)",
		    "A write 0x140000000000 0x01", "kernel: OK", "anonvm: EFAULT",
		    NULL);
}

static void test_results_value(void **state)
{
	struct fixture *f = *state;

	f->a.results[6].value = 0;
	expect_only(f, SCN_CMP_RESULTS, "line 7 (stmt 6)", "kernel: read 0x00",
		    "anonvm: read 0x01", NULL);
}

static void test_results_unsupported_skipped(void **state)
{
	struct fixture *f = *state;

	f->a.results[4].unsupported = true;
	f->b.results[4].err = EINVAL;
	assert_int_equal(cmp(f, ALL), 0);
}

static void test_results_stopped(void **state)
{
	struct fixture *f = *state;

	f->b.nresults = 5;
	snprintf(f->b.failure, sizeof(f->b.failure), "it broke");
	assert_int_equal(cmp(f, SCN_CMP_RESULTS), 1);
	assert_non_null(strstr(f->msg, "line 6 (stmt 5)"));
	assert_non_null(strstr(f->msg, "anonvm had stopped before it (it broke)"));
	/* stopped right after an unsupported statement: nothing to compare */
	f->b.results[4].unsupported = true;
	assert_int_equal(cmp(f, ALL), 0);
}

static void test_vmas(void **state)
{
	struct fixture *f = *state;

	proc(&f->b, 0, 2)->vmas[0].wipeonfork = true;
	expect_only(f, SCN_CMP_VMAS, "check at line 8 (stmt 7)", "process B VMA #0",
		    "kernel has VMA 0x140000000000-0x140000004000 rw,",
		    "anonvm has VMA 0x140000000000-0x140000004000 rw wf", NULL);
}

static void test_vmas_split_is_not_pageprot(void **state)
{
	struct fixture *f = *state;
	struct scn_proc_snap *p = proc(&f->b, 1, 1);
	struct scn_vma v = { X + 2 * PG, X + 4 * PG, SCN_PROT_RW, .dontcopy = false };

	/* C at the end: the same pages and prot in two VMAs */
	p->vmas[0].end = X + 2 * PG;
	assert_int_equal(scn_proc_add_vma(p, &v), 0);
	expect_only(f, SCN_CMP_VMAS, "end of scenario (stmt 8)", "process C VMA #0",
		    "(1 VMAs vs 2)", NULL);
}

static void test_pageprot(void **state)
{
	struct fixture *f = *state;
	struct scn_proc_snap *p = proc(&f->b, 0, 0);
	struct scn_vma v = { X + 2 * PG, X + 3 * PG, SCN_PROT_R, .dontcopy = false };

	/* A: [X, X+2) rw, [X+2, X+3) r, and X+3 unmapped */
	p->vmas[0].end = X + 2 * PG;
	assert_int_equal(scn_proc_add_vma(p, &v), 0);
	assert_int_equal(cmp(f, SCN_CMP_PAGEPROT), 1);
	assert_non_null(strstr(f->msg, "process A page 0x140000002000: kernel "
			       "maps it rw, anonvm maps it r"));
	p->vmas[1].prot = SCN_PROT_RW;
	assert_int_equal(cmp(f, SCN_CMP_PAGEPROT), 1);
	assert_non_null(strstr(f->msg, "process A page 0x140000003000: kernel "
			       "maps it rw, anonvm does not map it"));
	p->vmas[1].end = X + 4 * PG;
	assert_int_equal(cmp(f, SCN_CMP_PAGEPROT), 0);
	assert_int_equal(cmp(f, SCN_CMP_VMAS), 1);
}

static void test_sharing(void **state)
{
	struct fixture *f = *state;

	/* B's page 0 gets a frame of its own in anonvm */
	proc(&f->b, 0, 2)->pages[0].frame = 12345;
	expect_only(f, SCN_CMP_SHARING, "check at line 8 (stmt 7)",
		    "process B page 0x140000000000 (sharing)",
		    "kernel has present frame #0 (shared with A 0x140000000000, "
		    "C 0x140000000000) mapcount 3 excl 0",
		    "anonvm has present frame #3 (not shared) mapcount 3 excl 0",
		    NULL);
}

static void test_sharing_merge(void **state)
{
	struct fixture *f = *state;

	/* in the kernel, C's private page is the same frame as A's */
	proc(&f->a, 1, 1)->pages[2].frame = proc(&f->a, 1, 0)->pages[2].frame;
	expect_only(f, SCN_CMP_SHARING, "end of scenario (stmt 8)",
		    "process C page 0x140000002000",
		    "kernel has present frame #1 (shared with A 0x140000002000)",
		    "anonvm has present frame #2 (not shared)", NULL);
}

static void test_sharing_zero_page(void **state)
{
	struct fixture *f = *state;
	struct scn_page *pg = &proc(&f->b, 0, 1)->pages[1];

	/* anonvm maps a real frame where the kernel has the zero page */
	pg->zero = false;
	pg->frame = 4242;
	pg->mapcount = 0;
	expect_only(f, SCN_CMP_SHARING, "process C page 0x140000001000",
		    "kernel has the zero page", "anonvm has present frame #2", NULL);
}

static void test_sharing_none(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 0, 0)->pages[3].state = SCN_PTE_PRESENT;
	proc(&f->a, 0, 0)->pages[3].frame = 777;
	proc(&f->a, 0, 0)->pages[3].mapcount = 1;
	proc(&f->a, 0, 0)->pages[3].has_hash = false;
	expect_only(f, SCN_CMP_SHARING, "process A page 0x140000003000",
		    "kernel has present frame #2 (not shared) mapcount 1 excl 0",
		    "anonvm has no page", NULL);
}

static void test_mapcount(void **state)
{
	struct fixture *f = *state;

	proc(&f->b, 0, 1)->pages[0].mapcount = 2;
	expect_only(f, SCN_CMP_MAPCOUNT, "process C page 0x140000000000 (mapcount)",
		    "kernel has present frame #0 (shared with A 0x140000000000, "
		    "B 0x140000000000) mapcount 3",
		    "anonvm has present frame #0 (shared with A 0x140000000000, "
		    "B 0x140000000000) mapcount 2", NULL);
}

static void test_mapcount_zero_page_ignored(void **state)
{
	struct fixture *f = *state;

	proc(&f->b, 0, 0)->pages[1].mapcount = 5;
	proc(&f->b, 0, 0)->pages[1].exclusive = true;
	assert_int_equal(cmp(f, ALL), 0);
}

static void test_thp_order(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 0, 0)->pages[2].order = 9;
	proc(&f->a, 0, 0)->pages[2].pmd_mapped = true;
	expect_only(f, SCN_CMP_THP, "process A page 0x140000002000 (thp)",
		    "in a folio of order 9 mapped by a PMD", NULL);
}

static void test_thp_pte_mapped(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 1, 2)->pages[2].order = 9;
	proc(&f->b, 1, 2)->pages[2].order = 9;
	assert_int_equal(cmp(f, ALL), 0);
	proc(&f->b, 1, 2)->pages[2].pmd_mapped = true;
	expect_only(f, SCN_CMP_THP, "end of scenario (stmt 8)",
		    "process B page 0x140000002000 (thp)", "mapped by a PTE",
		    "mapped by a PMD", NULL);
}

/* The huge and the base zero page are one frame class, not one state. */
static void test_thp_huge_zero(void **state)
{
	struct fixture *f = *state;

	proc(&f->b, 0, 0)->pages[1].huge_zero = true;
	proc(&f->b, 0, 0)->pages[1].order = 9;
	expect_only(f, SCN_CMP_THP, "process A page 0x140000001000 (thp)",
		    "kernel has the zero page", "anonvm has the huge zero page",
		    NULL);
}

static void test_thp_anon_huge(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 1, 1)->vmas[0].anon_huge = 2 << 20;
	expect_only(f, SCN_CMP_THP, "end of scenario (stmt 8)",
		    "process C VMA 0x140000000000-0x140000004000 (thp)",
		    "kernel has AnonHugePages 2048 kB, anonvm has 0 kB", NULL);
}

static void test_vmas_hugepage(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 0, 0)->vmas[0].nohugepage = true;
	expect_only(f, SCN_CMP_VMAS, "process A VMA #0",
		    "kernel has VMA 0x140000000000-0x140000004000 rw nh", NULL);
}

static void test_exclusive(void **state)
{
	struct fixture *f = *state;

	proc(&f->a, 1, 2)->pages[2].exclusive = false;
	expect_only(f, SCN_CMP_EXCLUSIVE, "end of scenario (stmt 8)",
		    "process B page 0x140000002000 (exclusive)",
		    "mapcount 1 excl 0, anonvm", "mapcount 1 excl 1", NULL);
}

static void test_swap(void **state)
{
	struct fixture *f = *state;
	struct scn_page *pg = &proc(&f->b, 0, 1)->pages[2];

	/* C (forked before the pageout) has a swapped page in anonvm */
	pg->state = SCN_PTE_SWAP;
	pg->has_hash = false;
	expect_only(f, SCN_CMP_SWAP, "process C page 0x140000002000 (swap)",
		    "kernel has present frame", "anonvm has a swap entry", NULL);
}

static void test_swap_after_unsupported_pageout(void **state)
{
	struct fixture *f = *state;

	/* A's pageout was unsupported in the kernel: A and B (forked from A
	   after it) are exempt, C (forked before) is not */
	f->a.results[4].unsupported = true;
	proc(&f->b, 0, 0)->pages[2].state = SCN_PTE_SWAP;
	proc(&f->b, 1, 2)->pages[2].state = SCN_PTE_SWAP;
	proc(&f->b, 1, 0)->pages[0].state = SCN_PTE_SWAP;
	assert_int_equal(cmp(f, ALL), 0);
	proc(&f->b, 1, 1)->pages[2].state = SCN_PTE_SWAP;
	assert_int_equal(cmp(f, ALL), 1);
	assert_non_null(strstr(f->msg, "end of scenario (stmt 8): process C page "
			       "0x140000002000 (swap)"));
}

static void test_content(void **state)
{
	struct fixture *f = *state;

	proc(&f->b, 1, 0)->pages[3].hash = 99;
	expect_only(f, SCN_CMP_CONTENT, "end of scenario (stmt 8)",
		    "process A page 0x140000003000 (content)",
		    "kernel has no page content 0000000000000000",
		    "anonvm has no page content 0000000000000063", NULL);
	/* only where both sides have a hash */
	proc(&f->a, 1, 0)->pages[3].has_hash = false;
	assert_int_equal(cmp(f, ALL), 0);
}

/* ---- processes and snapshots --------------------------------------------------- */

static void test_process_missing(void **state)
{
	struct fixture *f = *state;
	struct scn_snapshot *sn = &f->b.snaps[1];

	/* anonvm lost B (slot 2) by the end */
	free(sn->procs[2].vmas);
	free(sn->procs[2].pages);
	sn->nprocs = 2;
	assert_int_equal(cmp(f, SCN_CMP_VMAS), 1);
	assert_string_equal(f->msg, "end of scenario (stmt 8): process B is alive "
			    "in kernel, not in anonvm");
	assert_int_equal(cmp(f, SCN_CMP_RESULTS), 0);
}

static void test_snapshot_missing(void **state)
{
	struct fixture *f = *state;

	f->b.snaps[1].stmt = 99;	/* no snapshot at the end */
	assert_int_equal(cmp(f, SCN_CMP_SHARING), 1);
	assert_non_null(strstr(f->msg, "end of scenario (stmt 8): anonvm has no "
			       "snapshot"));
}

static void test_first_divergence_wins(void **state)
{
	struct fixture *f = *state;

	/* a page difference at the check and a result difference before it */
	proc(&f->b, 0, 0)->pages[2].mapcount = 9;
	f->b.results[6].err = EFAULT;
	assert_int_equal(cmp(f, ALL), 1);
	assert_non_null(strstr(f->msg, "line 7 (stmt 6)"));
	f->b.results[6].err = 0;
	/* a layout difference wins over a page difference in one snapshot */
	proc(&f->b, 0, 2)->vmas[0].dontcopy = true;
	assert_int_equal(cmp(f, ALL), 1);
	assert_non_null(strstr(f->msg, "process B VMA #0"));
}

static void test_tiny_buffer(void **state)
{
	struct fixture *f = *state;
	char small[8];

	f->b.results[2].err = EFAULT;
	assert_int_equal(scn_compare(f->s, &f->a, &f->b, ALL, small, sizeof(small)), 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(scn_compare(f->s, &f->a, &f->b, ALL, NULL, 0), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_equal),
		T(test_renaming),
		T(test_results),
		T(test_results_value),
		T(test_results_unsupported_skipped),
		T(test_results_stopped),
		T(test_vmas),
		T(test_vmas_split_is_not_pageprot),
		T(test_pageprot),
		T(test_sharing),
		T(test_sharing_merge),
		T(test_sharing_zero_page),
		T(test_sharing_none),
		T(test_mapcount),
		T(test_mapcount_zero_page_ignored),
		T(test_thp_order),
		T(test_thp_pte_mapped),
		T(test_thp_huge_zero),
		T(test_thp_anon_huge),
		T(test_vmas_hugepage),
		T(test_exclusive),
		T(test_swap),
		T(test_swap_after_unsupported_pageout),
		T(test_content),
		T(test_process_missing),
		T(test_snapshot_missing),
		T(test_first_divergence_wins),
		T(test_tiny_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
