/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor (scn_run_native) against exact facts of the
 * host: Linux 6.x x86_64 with 4 KiB pages, run as root.  Skipped (exit 77)
 * where the kernel cannot be observed.
 *
 * Addresses are at 0x140000000000, clear of ASan's shadow memory (which
 * covers the start of the window in sanitizer builds).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "scenario/scenario.h"

#define X	0x140000000000ULL
#define PG	SCN_PAGE_SIZE

struct run {
	struct scenario *s;
	struct scn_trace t;
	char err[512];
	int rc;
};

/* Parse and run text; every statement must meet its expectation. */
static void run_text(struct run *r, const char *text)
{
	char msg[512];

	memset(r, 0, sizeof(*r));
	assert_int_equal(scn_parse_string("test", text, &r->s, msg, sizeof(msg)), 0);
	r->rc = scn_run_native(r->s, &r->t, r->err, sizeof(r->err));
	if (r->rc)
		print_error("scn_run_native: %d: %s\n", r->rc, r->err);
	assert_int_equal(r->rc, 0);
	if (r->t.failure[0])
		print_error("failure: %s\n", r->t.failure);
	assert_string_equal(r->t.failure, "");
	assert_int_equal(r->t.nresults, r->s->nstmts);
}

static void run_free(struct run *r)
{
	scn_trace_free(&r->t);
	scn_free(r->s);
}

/* The newest slot of a process name. */
static int slot_of(const struct scenario *s, const char *name)
{
	for (int i = s->nslots - 1; i >= 0; i--)
		if (!strcmp(s->slot_name[i], name))
			return i;
	fail_msg("no process %s", name);
	return -1;
}

/* Snapshot n (0: first check), process name; NULL if it is not alive. */
static const struct scn_proc_snap *proc_at(const struct run *r, int n,
					   const char *name)
{
	const struct scn_snapshot *sn;
	int slot = slot_of(r->s, name);

	assert_true(n < r->t.nsnaps);
	sn = &r->t.snaps[n];
	for (int i = 0; i < sn->nprocs; i++)
		if (sn->procs[i].slot == slot)
			return &sn->procs[i];
	return NULL;
}

static const struct scn_page *page_at(const struct run *r, int n,
				      const char *name, uint64_t addr)
{
	const struct scn_proc_snap *p = proc_at(r, n, name);

	assert_non_null(p);
	for (size_t k = 0; k < p->npages; k++)
		if (p->pages[k].addr == addr)
			return &p->pages[k];
	fail_msg("process %s has no page 0x%llx", name, (unsigned long long)addr);
	return NULL;
}

static void assert_vma(const struct scn_vma *v, uint64_t start, uint64_t pages,
		       enum scn_prot prot)
{
	assert_int_equal(v->start, start);
	assert_int_equal(v->end, start + pages * PG);
	assert_int_equal(v->prot, prot);
}

/* ---- pages and frames ---------------------------------------------------- */

static void test_read_maps_zero_page(void **state)
{
	const struct scn_page *pg;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 4 rw\n"
		     "A read 0x140000000000\n"
		     "check\n");
	assert_int_equal(r.t.results[2].value, 0);
	pg = page_at(&r, 0, "A", X);
	assert_int_equal(pg->state, SCN_PTE_PRESENT);
	assert_true(pg->zero);
	assert_false(pg->exclusive);
	/* kpagecount does not count the zero page's mappings */
	assert_int_equal(pg->mapcount, 0);
	assert_int_equal(page_at(&r, 0, "A", X + PG)->state, SCN_PTE_NONE);
	assert_int_equal(proc_at(&r, 0, "A")->npages, 4);
	run_free(&r);
}

static void test_write_fork_cow(void **state)
{
	const struct scn_page *a, *b;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 4 rw\n"
		     "A write 0x140000000000 0x41\n"
		     "check\n"
		     "A fork B\n"
		     "check\n"
		     "B write 0x140000000000 0x42\n"
		     "check\n"
		     "A expect 0x140000000000 0x41\n"
		     "B expect 0x140000000000 0x42\n");
	/* after the write: a private frame */
	a = page_at(&r, 0, "A", X);
	assert_int_equal(a->state, SCN_PTE_PRESENT);
	assert_false(a->zero);
	assert_true(a->exclusive);
	assert_int_equal(a->mapcount, 1);
	/* after fork: one frame, two mappings, exclusive in neither */
	a = page_at(&r, 1, "A", X);
	b = page_at(&r, 1, "B", X);
	assert_int_equal(a->frame, b->frame);
	assert_int_equal(a->frame, page_at(&r, 0, "A", X)->frame);
	assert_int_equal(a->mapcount, 2);
	assert_int_equal(b->mapcount, 2);
	assert_false(a->exclusive);
	assert_false(b->exclusive);
	/* after B's write: B copied; A's frame is mapped once again */
	a = page_at(&r, 2, "A", X);
	b = page_at(&r, 2, "B", X);
	assert_int_not_equal(a->frame, b->frame);
	assert_int_equal(a->frame, page_at(&r, 0, "A", X)->frame);
	assert_int_equal(b->mapcount, 1);
	assert_true(b->exclusive);
	assert_int_equal(a->mapcount, 1);
	/* pagemap bit 56 means "mapped once", so A's page shows it again */
	assert_true(a->exclusive);
	run_free(&r);
}

/* A write to a page whose sharers are gone reuses it (no copy). */
static void test_cow_reuse_after_exit(void **state)
{
	const struct scn_page *pg;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 1 rw\n"
		     "A write 0x140000000000 1\n"
		     "check\n"
		     "A fork B\n"
		     "B exit\n"
		     "check\n"
		     "A write 0x140000000000 2\n"
		     "check\n");
	/* the fork left the page mapped once, but no longer marked exclusive
	   in the kernel; pagemap's bit 56 only says "mapped once" */
	pg = page_at(&r, 1, "A", X);
	assert_int_equal(pg->mapcount, 1);
	assert_true(pg->exclusive);
	pg = page_at(&r, 2, "A", X);
	assert_int_equal(pg->frame, page_at(&r, 0, "A", X)->frame);
	assert_int_equal(pg->mapcount, 1);
	run_free(&r);
}

static void test_content_hashes(void **state)
{
	unsigned char buf[SCN_PAGE_SIZE];
	const struct scn_page *pg;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 2 rw\n"
		     "A fill 0x140000000000 1 0xab\n"
		     "check\n"
		     "A mprotect 0x140000000000 1 none\n"
		     "check\n");
	memset(buf, 0xab, sizeof(buf));
	pg = page_at(&r, 0, "A", X);
	assert_true(pg->has_hash);
	assert_int_equal(pg->hash, scn_hash_page(buf));
	memset(buf, 0, sizeof(buf));
	pg = page_at(&r, 0, "A", X + PG);
	assert_int_equal(pg->state, SCN_PTE_NONE);
	assert_true(pg->has_hash);
	assert_int_equal(pg->hash, scn_hash_page(buf));
	/* present but PROT_NONE: no contents without touching the page */
	pg = page_at(&r, 1, "A", X);
	assert_int_equal(pg->state, SCN_PTE_PRESENT);
	assert_false(pg->has_hash);
	run_free(&r);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_errors(void **state)
{
	struct run r;

	(void)state;
	/* run_text checks every expected error */
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 4 rw\n"
		     "A mprotect 0x140000001000 1 none\n"
		     "A read 0x140000001000 !EFAULT\n"
		     "A write 0x140000001000 1 !EFAULT\n"
		     "A mprotect 0x140000002000 1 r\n"
		     "A write 0x140000002000 1 !EFAULT\n"
		     "A read 0x140000002000\n"
		     "A read 0x140000100000 !EFAULT\n"
		     "A write 0x140000100000 1 !EFAULT\n"
		     "A fill 0x140000000000 2 7 !EFAULT\n"
		     "A expect 0x140000000000 7\n"
		     "A mmap 0x140000003000 2 rw !EEXIST\n"
		     "A mmap 0x13ffffffe000 4 rw !EEXIST\n"
		     "A munmap 0x140000000001 1 !EINVAL\n");
	assert_int_equal(r.t.results[3].value, -1);
	assert_int_equal(r.t.results[7].value, 0);
	run_free(&r);
}

/* ---- VMAs ------------------------------------------------------------------ */

static void test_mprotect_splits(void **state)
{
	const struct scn_proc_snap *p;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 4 rw\n"
		     "A write 0x140000000000 1\n"
		     "A mprotect 0x140000001000 1 r\n"
		     "check\n"
		     "A mprotect 0x140000001000 1 rw\n"
		     "check\n");
	p = proc_at(&r, 0, "A");
	assert_int_equal(p->nvmas, 3);
	assert_vma(&p->vmas[0], X, 1, SCN_PROT_RW);
	assert_vma(&p->vmas[1], X + PG, 1, SCN_PROT_R);
	assert_vma(&p->vmas[2], X + 2 * PG, 2, SCN_PROT_RW);
	assert_int_equal(p->npages, 4);
	/* mprotect back: the three parts merge into one VMA again */
	p = proc_at(&r, 1, "A");
	assert_int_equal(p->nvmas, 1);
	assert_vma(&p->vmas[0], X, 4, SCN_PROT_RW);
	run_free(&r);
}

static void test_dontfork(void **state)
{
	const struct scn_proc_snap *p;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 4 rw\n"
		     "A mmap 0x140000010000 1 rw\n"
		     "A write 0x140000000000 1\n"
		     "A madvise 0x140000000000 4 dontfork\n"
		     "A fork B\n"
		     "check\n"
		     "B read 0x140000000000 !EFAULT\n"
		     "A expect 0x140000000000 1\n");
	p = proc_at(&r, 0, "A");
	assert_int_equal(p->nvmas, 2);
	assert_true(p->vmas[0].dontcopy);
	assert_false(p->vmas[1].dontcopy);
	p = proc_at(&r, 0, "B");
	assert_int_equal(p->nvmas, 1);
	assert_vma(&p->vmas[0], X + 16 * PG, 1, SCN_PROT_RW);
	assert_int_equal(page_at(&r, 0, "A", X)->mapcount, 1);
	run_free(&r);
}

static void test_wipeonfork(void **state)
{
	const struct scn_proc_snap *p;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 2 rw\n"
		     "A fill 0x140000000000 2 0x55\n"
		     "A madvise 0x140000000000 2 wipeonfork\n"
		     "A fork B\n"
		     "check\n"
		     "B expect 0x140000000000 0\n"
		     "B expect 0x140000001000 0\n"
		     "A expect 0x140000001000 0x55\n");
	p = proc_at(&r, 0, "B");
	assert_int_equal(p->nvmas, 1);
	assert_true(p->vmas[0].wipeonfork);
	assert_false(p->vmas[0].dontcopy);
	assert_int_equal(p->pages[0].state, SCN_PTE_NONE);
	assert_int_equal(p->pages[1].state, SCN_PTE_NONE);
	assert_true(proc_at(&r, 0, "A")->vmas[0].wipeonfork);
	assert_int_equal(page_at(&r, 0, "A", X)->mapcount, 1);
	run_free(&r);
}

static void test_mremap_move(void **state)
{
	const struct scn_proc_snap *p;
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 2 rw\n"
		     "A write 0x140000000000 0x66\n"
		     "A write 0x140000001000 0x67\n"
		     "A mremap 0x140000000000 2 2 to 0x140000100000\n"
		     "A expect 0x140000100000 0x66\n"
		     "A expect 0x140000101000 0x67\n"
		     "A read 0x140000000000 !EFAULT\n"
		     "A mremap 0x140000100000 1 1 to 0x140000200000 dontunmap\n"
		     "A expect 0x140000200000 0x66\n"
		     "A expect 0x140000100000 0\n"
		     "check\n");
	/* the emptied dontunmap source stays one VMA with its neighbour */
	p = proc_at(&r, 0, "A");
	assert_int_equal(p->nvmas, 2);
	assert_vma(&p->vmas[0], X + 0x100000, 2, SCN_PROT_RW);
	assert_vma(&p->vmas[1], X + 0x200000, 1, SCN_PROT_RW);
	assert_int_equal(page_at(&r, 0, "A", X + 0x101000)->mapcount, 1);
	/* the dontunmap source was read after the move: the zero page */
	assert_true(page_at(&r, 0, "A", X + 0x100000)->zero);
	run_free(&r);
}

/* ---- processes --------------------------------------------------------------- */

static void test_exit_keeps_children(void **state)
{
	const struct scn_snapshot *end;
	struct run r;
	int status;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 1 rw\n"
		     "A write 0x140000000000 9\n"
		     "A fork B\n"
		     "A exit\n"
		     "check\n"
		     "B expect 0x140000000000 9\n"
		     "spawn A\n"
		     "A read 0x140000000000 !EFAULT\n");
	assert_int_equal(r.t.snaps[0].nprocs, 1);
	assert_int_equal(r.t.snaps[0].procs[0].slot, slot_of(r.s, "B"));
	assert_int_equal(page_at(&r, 0, "B", X)->mapcount, 1);
	end = &r.t.snaps[r.t.nsnaps - 1];
	assert_int_equal(end->stmt, r.s->nstmts);
	assert_int_equal(end->nprocs, 2);
	/* every worker was reaped: no child left */
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	run_free(&r);
}

static void test_unsupported(void **state)
{
	struct run r;
	bool swap;
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int lines = 0;

	(void)state;
	while (f && fgets(line, sizeof(line), f))
		lines++;
	if (f)
		fclose(f);
	swap = lines > 1;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 2 rw\n"
		     "A write 0x140000000000 1\n"
		     "A madvise 0x140000000000 2 pageout\n"
		     "A migrate 0x140000000000 2 1023\n"
		     "A migrate 0x140000000000 2 0\n"
		     "A expect 0x140000000000 1\n");
	assert_int_equal(r.t.results[3].unsupported, !swap);
	assert_true(r.t.results[4].unsupported);
	assert_non_null(strstr(r.t.results[4].note, "1023"));
	assert_false(r.t.results[5].unsupported);
	assert_int_equal(r.t.results[5].err, 0);
	run_free(&r);
}

/* Two runs (usually other PFNs): the same partition of pages into frames. */
static void test_two_runs_compare_equal(void **state)
{
	static const char *const text =
		"spawn A\n"
		"A mmap 0x140000000000 8 rw\n"
		"A fill 0x140000000000 4 1\n"
		"A read 0x140000006000\n"
		"A fork B\n"
		"B fork C\n"
		"B write 0x140000001000 2\n"
		"A mprotect 0x140000002000 2 r\n"
		"check\n"
		"C exit\n"
		"A munmap 0x140000007000 1\n";
	struct run r1, r2;
	char msg[512];

	(void)state;
	run_text(&r1, text);
	run_text(&r2, text);
	assert_int_equal(scn_compare(r1.s, &r1.t, &r2.t, SCN_CMP_KERNEL |
				     SCN_CMP_CONTENT | SCN_CMP_PAGEPROT, msg,
				     sizeof(msg)), 0);
	/* C's page 0 is A's frame, B's page 1 is not */
	assert_int_equal(page_at(&r1, 0, "C", X)->frame,
			 page_at(&r1, 0, "A", X)->frame);
	assert_int_equal(page_at(&r1, 0, "C", X)->mapcount, 3);
	assert_int_not_equal(page_at(&r1, 0, "B", X + PG)->frame,
			     page_at(&r1, 0, "A", X + PG)->frame);
	run_free(&r1);
	run_free(&r2);
}

/*
 * Many VMAs (smaps read with a hand parser, hashes batched over VMAs):
 * 1500 one-page VMAs, each written with its own byte, every 100th advised
 * wipeonfork and every 100th + 1 dontfork, with prot alternating rw / r.
 */
static void test_many_vmas(void **state)
{
	enum { N = 1500 };
	size_t cap = N * 160, len = 0;
	char *text = malloc(cap);
	const struct scn_proc_snap *p;
	unsigned char page[SCN_PAGE_SIZE];
	struct run r;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "spawn A\n");
	for (int i = 0; i < N; i++) {
		unsigned long long a = X + (unsigned long long)i * 2 * PG;

		len += (size_t)snprintf(text + len, cap - len,
					"A mmap 0x%llx 1 rw\nA write 0x%llx %d\n",
					a, a, i % 251 + 1);
		if (i % 100 == 0)
			len += (size_t)snprintf(text + len, cap - len,
						"A madvise 0x%llx 1 wipeonfork\n", a);
		if (i % 100 == 1)
			len += (size_t)snprintf(text + len, cap - len,
						"A madvise 0x%llx 1 dontfork\n", a);
		if (i % 2)
			len += (size_t)snprintf(text + len, cap - len,
						"A mprotect 0x%llx 1 r\n", a);
	}
	snprintf(text + len, cap - len, "check\n");
	run_text(&r, text);
	free(text);
	p = proc_at(&r, 0, "A");
	assert_int_equal(p->nvmas, N);
	assert_int_equal(p->npages, N);
	for (int i = 0; i < N; i++) {
		assert_vma(&p->vmas[i], X + (uint64_t)i * 2 * PG, 1,
			   i % 2 ? SCN_PROT_R : SCN_PROT_RW);
		assert_int_equal(p->vmas[i].wipeonfork, i % 100 == 0);
		assert_int_equal(p->vmas[i].dontcopy, i % 100 == 1);
		memset(page, 0, sizeof(page));
		page[0] = (unsigned char)(i % 251 + 1);
		assert_true(p->pages[i].has_hash);
		assert_int_equal(p->pages[i].hash, scn_hash_page(page));
	}
	run_free(&r);
}

/* By default a spawned worker may map at most 4 GiB beyond what it
   inherits (less on a host with less than 16 GiB of RAM). */
static void test_mem_limit_default(void **state)
{
	struct run r;

	(void)state;
	run_text(&r, "spawn A\n"
		     "A mmap 0x140000000000 1310720 rw !ENOMEM\n"	/* 5 GiB */
		     "A mmap 0x140000000000 1 rw\n"
		     "A write 0x140000000000 1\n");
	assert_non_null(strstr(r.t.results[1].note, "memory limit"));
	run_free(&r);
}

static void run_limit(struct run *r, uint64_t limit, const char *text)
{
	struct scn_native_opts o;
	char msg[512];

	memset(r, 0, sizeof(*r));
	assert_int_equal(scn_parse_string("test", text, &r->s, msg, sizeof(msg)), 0);
	scn_native_opts_init(&o);
	o.worker_mem_limit = limit;
	r->rc = scn_run_native_opts(r->s, &o, &r->t, r->err, sizeof(r->err));
	if (r->rc)
		print_error("scn_run_native_opts: %d: %s\n", r->rc, r->err);
	assert_int_equal(r->rc, 0);
	if (r->t.failure[0])
		print_error("failure: %s\n", r->t.failure);
	assert_string_equal(r->t.failure, "");
}

/* A 16 MiB limit: mmap and mremap past it are the kernel's ENOMEM; a
   forked worker inherits its parent's limit. */
static void test_mem_limit_option(void **state)
{
	struct run r;

	(void)state;
	run_limit(&r, 16 << 20,
		  "spawn A\n"
		  "A mmap 0x140000000000 2048 rw\n"		/* 8 MiB */
		  "A fill 0x140000000000 2048 1\n"
		  "A mmap 0x140001000000 4096 rw !ENOMEM\n"	/* 16 MiB more */
		  "A mremap 0x140000000000 2048 8192 !ENOMEM\n"
		  "A fork B\n"
		  "B mmap 0x140002000000 1024 rw\n"		/* 4 MiB */
		  "B mmap 0x140003000000 2048 rw !ENOMEM\n"	/* 8 MiB more */
		  "B fill 0x140002000000 1024 2\n"
		  "B expect 0x140000000000 1\n"
		  "A mmap 0x140004000000 1024 rw\n");
	assert_non_null(strstr(r.t.results[3].note, "memory limit"));
	assert_non_null(strstr(r.t.results[4].note, "memory limit"));
	assert_non_null(strstr(r.t.results[7].note, "memory limit"));
	run_free(&r);
	/* no limit: 2 GiB of address space is fine (nothing is filled) */
	run_limit(&r, 0, "spawn A\n"
		  "A mmap 0x140000000000 524288 rw\n"
		  "A write 0x140000000000 1\n");
	run_free(&r);
}

/* gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The start of the window is ASan's shadow memory in sanitizer builds. */
static void test_window_start(void **state)
{
	struct scenario *s;
	struct scn_trace t;
	char err[512];
	int rc;

	(void)state;
	assert_int_equal(scn_parse_string("low", "spawn A\n"
					  "A mmap 0x100000000000 1 rw\n"
					  "A write 0x100000000000 1\n",
					  &s, err, sizeof(err)), 0);
	rc = scn_run_native(s, &t, err, sizeof(err));
#ifdef UNDER_ASAN
	assert_int_equal(rc, -EBUSY);
	assert_non_null(strstr(err, "0x100000000000"));
#else
	assert_int_equal(rc, 0);
	assert_int_equal(t.nresults, 3);
	assert_int_equal(t.results[2].err, 0);
#endif
	scn_trace_free(&t);
	scn_free(s);
}

/* ---- THP ------------------------------------------------------------------- */

/* Hosts whose THP mode is never cannot run "thp madvise": skip there. */
static bool host_has_thp(void)
{
	struct scn_host_thp h;

	scn_host_thp(&h);
	return h.mode != SCN_THP_NEVER;
}

/*
 * A write and a read fault in aligned ranges of a hugepage VMA: a PMD
 * folio of 512 contiguous frames and the huge zero page, read from
 * kpageflags and PAGEMAP_SCAN; then munmap of one page splits the PMD:
 * the pages stay in the order-9 folio, mapped by PTEs.
 */
static void test_thp_pmd_and_split(void **state)
{
	const struct scn_page *pg, *zp;
	const struct scn_proc_snap *p;
	struct run r;

	if (!host_has_thp())
		skip();
	run_text(&r, "thp madvise\n"
		 "spawn A\n"
		 "A mmap 0x140000000000 1024 rw\n"
		 "A madvise 0x140000000000 1024 hugepage\n"
		 "A write 0x140000000000 1\n"
		 "A read 0x140000200000\n"
		 "A expect-thp 0x140000001000 pmd\n"
		 "A expect-thp 0x1400003ff000 huge-zero\n"
		 "check\n"
		 "A munmap 0x140000001000 1\n"
		 "A expect-thp 0x140000000000 pte\n"
		 "check\n");
	p = proc_at(&r, 0, "A");
	assert_int_equal(p->nvmas, 1);
	assert_true(p->vmas[0].hugepage);
	assert_false(p->vmas[0].nohugepage);
	assert_int_equal(p->vmas[0].anon_huge, 2 << 20);
	pg = page_at(&r, 0, "A", X);
	for (int i = 0; i < 512; i++) {
		assert_int_equal(pg[i].state, SCN_PTE_PRESENT);
		assert_int_equal(pg[i].frame, pg[0].frame + (uint64_t)i);
		assert_int_equal(pg[i].order, 9);
		assert_true(pg[i].pmd_mapped);
		assert_false(pg[i].huge_zero);
		assert_int_equal(pg[i].mapcount, 1);
		assert_true(pg[i].exclusive);
	}
	zp = page_at(&r, 0, "A", X + (2 << 20));
	for (int i = 0; i < 512; i++) {
		assert_true(zp[i].zero && zp[i].huge_zero && zp[i].pmd_mapped);
		assert_int_equal(zp[i].order, 9);
	}
	p = proc_at(&r, 1, "A");
	assert_int_equal(p->nvmas, 2);
	assert_int_equal(p->vmas[0].anon_huge, 0);
	assert_int_equal(p->vmas[1].anon_huge, 0);	/* the huge zero page */
	pg = page_at(&r, 1, "A", X + 2 * PG);
	assert_int_equal(pg->order, 9);
	assert_false(pg->pmd_mapped);
	assert_true(page_at(&r, 1, "A", X + (2 << 20))->huge_zero);
	run_free(&r);
}

/* Mode never: the advice sets the flag, faults map base pages. */
static void test_thp_never(void **state)
{
	const struct scn_page *pg;
	struct run r;

	run_text(&r, "thp never\n"
		 "spawn A\n"
		 "A mmap 0x140000000000 512 rw\n"
		 "A madvise 0x140000000000 512 hugepage\n"
		 "A write 0x140000000000 1\n"
		 "A expect-thp 0x140000000000 base\n"
		 "check\n");
	assert_true(proc_at(&r, 0, "A")->vmas[0].hugepage);
	pg = page_at(&r, 0, "A", X);
	assert_int_equal(pg->order, 0);
	assert_false(pg->pmd_mapped);
	assert_int_equal(page_at(&r, 0, "A", X + PG)->state, SCN_PTE_NONE);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_maps_zero_page),
		cmocka_unit_test(test_thp_pmd_and_split),
		cmocka_unit_test(test_thp_never),
		cmocka_unit_test(test_write_fork_cow),
		cmocka_unit_test(test_cow_reuse_after_exit),
		cmocka_unit_test(test_content_hashes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mprotect_splits),
		cmocka_unit_test(test_dontfork),
		cmocka_unit_test(test_wipeonfork),
		cmocka_unit_test(test_mremap_move),
		cmocka_unit_test(test_exit_keeps_children),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_two_runs_compare_equal),
		cmocka_unit_test(test_window_start),
		cmocka_unit_test(test_many_vmas),
		cmocka_unit_test(test_mem_limit_default),
		cmocka_unit_test(test_mem_limit_option),
	};

	if (geteuid() != 0) {
		printf("native: skipped: needs root to observe the kernel\n");
		return 77;
	}
	if (access("/proc/kpagecount", R_OK)) {
		printf("native: skipped: /proc/kpagecount is not readable\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
