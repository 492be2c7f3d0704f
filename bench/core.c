/* SPDX-License-Identifier: MIT */
/*
 * The core benchmark: nanoseconds per operation for the operations the
 * anonymous memory manager is made of, on a large layout (1000 VMAs of 100
 * pages, with a one-page gap after each so that none merge: 100,000 present
 * pages).
 *
 * One run: map the layout, write one byte to every page (first-write
 * faults), fork (the child shares every page), walk the reverse map of
 * every frame (each mapped twice), write one byte to every page of the
 * child (COW faults: copies), munmap the child's VMAs one by one, and exit
 * the parent.  One untimed warm-up run (which also checks the counters and
 * the invariants), then five timed runs; the table shows the median, min
 * and max of the five.  All runs share one system, so frames come from a
 * pool the warm-up has already touched.
 *
 * No timing assertions: the exit status is 0 unless an operation or a
 * check fails (1) or the usage is wrong (2).
 *
 * Usage: core [--payload full|none] [--quick] [--design D] [--json]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "anonvm/anonvm.h"
#include "bench.h"

#define RUNS		5
#define BASE		(1UL << 44)
#define PAGE		AVM_PAGE_SIZE

enum op {
	OP_MMAP, OP_FAULT, OP_FORK_VMA, OP_FORK_PTE, OP_WALK, OP_COW,
	OP_MUNMAP_VMA, OP_MUNMAP_PAGE, OP_EXIT, NR_OPS
};

static const struct {
	const char *name, *per, *key;
} ops[NR_OPS] = {
	[OP_MMAP]	 = { "mmap",		  "VMA",	 "mmap_per_vma" },
	[OP_FAULT]	 = { "first-write fault", "page",	 "anon_fault_per_page" },
	[OP_FORK_VMA]	 = { "fork",		  "VMA",	 "fork_per_vma" },
	[OP_FORK_PTE]	 = { "fork",		  "present PTE", "fork_per_pte" },
	[OP_WALK]	 = { "rmap walk",	  "frame",	 "rmap_walk_per_frame" },
	[OP_COW]	 = { "COW fault",	  "page",	 "cow_fault_per_page" },
	[OP_MUNMAP_VMA]	 = { "munmap",		  "VMA",	 "munmap_per_vma" },
	[OP_MUNMAP_PAGE] = { "munmap",		  "page",	 "munmap_per_page" },
	[OP_EXIT]	 = { "exit",		  "page",	 "exit_per_page" },
};

struct bench {
	unsigned long nvmas, per_vma, pages;	/* layout */
	enum avm_payload payload;
	const char *design;			/* NULL: the default */
	bool json;
	struct avm_sys *sys;
	double ns[NR_OPS][RUNS];		/* per operation */
	unsigned long count[NR_OPS];		/* operations per run */
	double visits_per_walk;
};

static unsigned long vma_start(unsigned long i, unsigned long per_vma)
{
	return BASE + i * (per_vma + 1) * PAGE;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "core: %s: %s\n", what, strerror(-err));
	return -1;
}

/* Write one byte to every page of the layout. */
static int touch_all(struct bench *b, struct avm_mm *mm, unsigned char v)
{
	for (unsigned long i = 0; i < b->nvmas; i++) {
		unsigned long s = vma_start(i, b->per_vma);

		for (unsigned long p = 0; p < b->per_vma; p++) {
			int err = avm_write(mm, s + p * PAGE, &v, 1);

			if (err)
				return die("avm_write", err);
		}
	}
	return 0;
}

/* The counters one run must move by, and the invariants after its COW. */
static int sanity(struct bench *b, const struct avm_stats *s0,
		  const struct avm_walk_stats *ws)
{
	struct avm_stats s;
	char msg[512];
	int err;

	avm_stats(b->sys, &s);
	if (s.anon_faults - s0->anon_faults != b->pages ||
	    s.cow_copies - s0->cow_copies != b->pages ||
	    s.forks - s0->forks != 1 || s.vmas != 2 * b->nvmas ||
	    ws->walks != b->pages || ws->hits != 2 * b->pages) {
		fprintf(stderr, "core: unexpected counts: %lu anonymous faults, "
			"%lu COW copies, %lu forks, %lu VMAs, %lu walks, %lu hits "
			"(expected %lu, %lu, 1, %lu, %lu, %lu)\n",
			s.anon_faults - s0->anon_faults,
			s.cow_copies - s0->cow_copies, s.forks - s0->forks, s.vmas,
			ws->walks, ws->hits, b->pages, b->pages, 2 * b->nvmas,
			b->pages, 2 * b->pages);
		return -1;
	}
	err = avm_check(b->sys, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "core: avm_check after the COW faults: %s\n", msg);
		return -1;
	}
	return 0;
}

/* One run; timed into column r unless r < 0 (the warm-up). */
static int run(struct bench *b, int r)
{
	struct avm_mm *parent, *child;
	struct avm_walk_stats ws = { 0 };
	struct avm_stats s0, s1;
	double t[NR_OPS] = { 0 }, t0;
	int err;

	avm_stats(b->sys, &s0);
	err = avm_mm_create(b->sys, &parent);
	if (err)
		return die("avm_mm_create", err);

	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++) {
		unsigned long got;

		err = avm_mmap(parent, vma_start(i, b->per_vma), b->per_vma * PAGE,
			       AVM_PROT_READ | AVM_PROT_WRITE,
			       AVM_MAP_FIXED_NOREPLACE, &got);
		if (err)
			return die("avm_mmap", err);
	}
	t[OP_MMAP] = bench_now_ns() - t0;

	t0 = bench_now_ns();
	if (touch_all(b, parent, 0x11))
		return -1;
	t[OP_FAULT] = bench_now_ns() - t0;

	t0 = bench_now_ns();
	err = avm_fork(parent, &child);
	t[OP_FORK_VMA] = t[OP_FORK_PTE] = bench_now_ns() - t0;
	if (err)
		return die("avm_fork", err);

	t0 = bench_now_ns();
	err = avm_rmap_walk_all(b->sys, &ws);
	t[OP_WALK] = bench_now_ns() - t0;
	if (err)
		return die("avm_rmap_walk_all", err);
	b->visits_per_walk = ws.walks ? (double)ws.visits / (double)ws.walks : 0;

	t0 = bench_now_ns();
	if (touch_all(b, child, 0x22))
		return -1;
	t[OP_COW] = bench_now_ns() - t0;

	if (r < 0 && sanity(b, &s0, &ws))
		return -1;

	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++) {
		err = avm_munmap(child, vma_start(i, b->per_vma),
				 b->per_vma * PAGE);
		if (err)
			return die("avm_munmap", err);
	}
	t[OP_MUNMAP_VMA] = t[OP_MUNMAP_PAGE] = bench_now_ns() - t0;
	avm_exit(child);

	t0 = bench_now_ns();
	avm_exit(parent);
	t[OP_EXIT] = bench_now_ns() - t0;

	avm_stats(b->sys, &s1);
	if (s1.mms || s1.vmas || s1.anon_vmas || s1.avcs || s1.frames_used) {
		fprintf(stderr, "core: left alive after the run: %lu mms, %lu "
			"VMAs, %lu anon_vmas, %lu avcs, %lu frames\n", s1.mms,
			s1.vmas, s1.anon_vmas, s1.avcs, s1.frames_used);
		return -1;
	}
	if (r >= 0)
		for (int o = 0; o < NR_OPS; o++)
			b->ns[o][r] = t[o] / (double)b->count[o];
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: core [--payload full|none] [--quick] [--design D] [--json]\n"
		"\n"
		"Nanoseconds per operation (median, min and max of %d runs after a\n"
		"warm-up) for mmap, first-write faults, fork, rmap walks, COW faults,\n"
		"munmap and exit, on 1000 VMAs x 100 pages (100,000 present pages).\n"
		"\n"
		"  --payload full   frames hold 4 KiB of real bytes (default)\n"
		"  --payload none   metadata only\n"
		"  --quick          100 VMAs x 100 pages\n"
		"  --design D       reverse-map design (default: linux)\n"
		"  --json           one JSON object instead of the table\n",
		RUNS);
}

static int parse_args(int argc, char **argv, struct bench *b)
{
	b->nvmas = 1000;
	b->per_vma = 100;
	b->payload = AVM_PAYLOAD_FULL;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--quick")) {
			b->nvmas = 100;
		} else if (!strcmp(argv[i], "--design") && i + 1 < argc) {
			b->design = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			b->json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--payload") ||
			   !strncmp(argv[i], "--payload=", 10)) {
			v = argv[i][9] == '=' ? argv[i] + 10 :
			    i + 1 < argc ? argv[++i] : "";
			if (!strcmp(v, "full")) {
				b->payload = AVM_PAYLOAD_FULL;
			} else if (!strcmp(v, "none")) {
				b->payload = AVM_PAYLOAD_NONE;
			} else {
				fprintf(stderr, "core: --payload: expected 'full' "
					"or 'none', not '%s'\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "core: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	b->pages = b->nvmas * b->per_vma;
	return -1;
}

struct summary {
	double med, min, max;
};

static struct summary summarize(const double *v)
{
	double s[RUNS];
	struct summary r;

	memcpy(s, v, sizeof(s));
	qsort(s, RUNS, sizeof(s[0]), bench_cmp_double);
	r.med = RUNS % 2 ? s[RUNS / 2] : (s[RUNS / 2 - 1] + s[RUNS / 2]) / 2;
	r.min = s[0];
	r.max = s[RUNS - 1];
	return r;
}

static void print_table(const struct bench *b, const struct avm_sizes *z)
{
	struct summary fork = summarize(b->ns[OP_FORK_PTE]);

	printf("anonvm core benchmark: %lu VMAs x %lu pages = %lu present pages, "
	       "payload %s,\ndesign %s, lock validator %s; median, min and max "
	       "of %d runs after a warm-up\n\n", b->nvmas, b->per_vma, b->pages,
	       b->payload == AVM_PAYLOAD_FULL ? "full" : "none",
	       b->design ? b->design : avm_designs()[0],
	       avm_lockdep_enabled() ? "on" : "off", RUNS);
	printf("%-18s %-12s %8s %12s %12s %12s\n", "operation", "per", "count",
	       "median ns", "min ns", "max ns");
	for (int o = 0; o < NR_OPS; o++) {
		struct summary s = summarize(b->ns[o]);

		printf("%-18s %-12s %8lu %12.1f %12.1f %12.1f\n", ops[o].name,
		       ops[o].per, b->count[o], s.med, s.min, s.max);
	}
	printf("\nrmap walk: %.2f VMAs visited per frame (every frame mapped by "
	       "parent and child)\n", b->visits_per_walk);
	printf("struct sizes (bytes): page %zu, vma %zu, anon_vma %zu, "
	       "anon_vma_chain %zu, mm %zu\n", z->page, z->vma, z->anon_vma,
	       z->avc, z->mm);
	printf("fork: %.3f ms per 10,000 PTEs (median; min %.3f, max %.3f; "
	       "target: well under 1 ms)\n", fork.med * 1e4 / 1e6,
	       fork.min * 1e4 / 1e6, fork.max * 1e4 / 1e6);
}

static int print_json(const struct bench *b, const struct avm_sizes *z)
{
	struct summary fork = summarize(b->ns[OP_FORK_PTE]);
	json_t *top = json_object(), *res = json_array();
	int rc = 0;

	if (!top || !res) {
		json_decref(top);
		json_decref(res);
		return -1;
	}
	for (int o = 0; o < NR_OPS; o++) {
		struct summary s = summarize(b->ns[o]);
		json_t *runs = json_array();

		for (int r = 0; r < RUNS; r++)
			json_array_append_new(runs, json_real(b->ns[o][r]));
		json_array_append_new(res, json_pack("{ss ss ss sI sf sf sf so}",
			"key", ops[o].key, "operation", ops[o].name,
			"per", ops[o].per, "count", (json_int_t)b->count[o],
			"median_ns", s.med, "min_ns", s.min, "max_ns", s.max,
			"runs_ns", runs));
	}
	json_object_set_new(top, "layout", json_pack("{sI sI sI ss ss si sb}",
		"vmas", (json_int_t)b->nvmas, "pages_per_vma", (json_int_t)b->per_vma,
		"pages", (json_int_t)b->pages,
		"payload", b->payload == AVM_PAYLOAD_FULL ? "full" : "none",
		"design", b->design ? b->design : avm_designs()[0], "runs", RUNS,
		"lockdep", avm_lockdep_enabled()));
	json_object_set_new(top, "results", res);
	json_object_set_new(top, "rmap_visits_per_walk",
			    json_real(b->visits_per_walk));
	json_object_set_new(top, "sizes", json_pack("{sI sI sI sI sI}",
		"page", (json_int_t)z->page, "vma", (json_int_t)z->vma,
		"anon_vma", (json_int_t)z->anon_vma, "avc", (json_int_t)z->avc,
		"mm", (json_int_t)z->mm));
	json_object_set_new(top, "fork_ms_per_10k_ptes", json_pack("{sf sf sf}",
		"median", fork.med * 1e4 / 1e6, "min", fork.min * 1e4 / 1e6,
		"max", fork.max * 1e4 / 1e6));
	if (json_dumpf(top, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	else
		rc = -1;
	json_decref(top);
	return rc;
}

int main(int argc, char **argv)
{
	struct bench b;
	struct avm_config cfg;
	struct avm_sizes z;
	int rc, err;

	memset(&b, 0, sizeof(b));
	rc = parse_args(argc, argv, &b);
	if (rc >= 0)
		return rc;
	b.count[OP_MMAP] = b.count[OP_FORK_VMA] = b.nvmas;
	b.count[OP_MUNMAP_VMA] = b.nvmas;
	b.count[OP_FAULT] = b.count[OP_FORK_PTE] = b.count[OP_WALK] = b.pages;
	b.count[OP_COW] = b.count[OP_MUNMAP_PAGE] = b.count[OP_EXIT] = b.pages;

	avm_config_default(&cfg);
	cfg.node_frames = 2 * b.pages + 1024;
	cfg.payload = b.payload;
	cfg.swap_slots = 0;
	cfg.design = b.design;
	err = avm_sys_create(&cfg, &b.sys);
	if (err)
		return die("avm_sys_create", err), 1;
	avm_sizes(b.sys, &z);
	rc = 0;
	for (int r = -1; r < RUNS && !rc; r++)
		rc = run(&b, r);
	if (!rc)
		rc = b.json ? print_json(&b, &z) : (print_table(&b, &z), 0);
	avm_sys_destroy(b.sys);
	return rc ? 1 : 0;
}
