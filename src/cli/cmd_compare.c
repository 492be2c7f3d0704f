/* SPDX-License-Identifier: MIT */
/*
 * anonvm compare: every workload on every reverse-map design, one table
 * per workload (or one JSON object), so that the claims of the seed texts
 * can be read off the numbers:
 *
 *   forking-server     (2010 anon_vma_chain commit) one parent, N children
 *                      that COW every page: one anon_vma per family visits
 *                      N + 1 VMAs per walk, the chains about 2;
 *   fork-chain         (Forrest, 2012/2014) fork, exit, write, G times:
 *                      without reuse anon_vmas grow with G;
 *   mprotect-split     (2012) a forked VMA split into page-sized VMAs: a
 *                      list visits all of them per walk, a tree one;
 *   mremap-after-fork  a child moves its mapping and writes (anonmm's
 *                      weak spot: it has to copy);
 *   fork-tree          a random fork tree with exits and COW writes at
 *                      every level (reuse and its false aliasing).
 *
 * Each cell runs in a fresh system (metadata only: AVM_PAYLOAD_NONE).
 * Walks: the frames in use are walked in an evenly spread order (a Weyl
 * sequence over the distinct frames) until all are done or the cell's walk
 * budget is spent, so that designs whose walks cost O(processes) finish;
 * `walks` says how many were walked, and the per-walk numbers are averages
 * over them.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <malloc.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/lockstat_report.h"

#define PG		AVM_PAGE_SIZE
#define RW		(AVM_PROT_READ | AVM_PROT_WRITE)
#define MAX_DESIGNS	32
#define CHUNK_PAGES	4096UL		/* pages per avm_fill call */

/* ---- metrics --------------------------------------------------------------- */

enum metric {
	M_WALKS, M_VISITS, M_HITS, M_VMAS, M_ANON_VMAS, M_AVCS, M_OBJECTS,
	M_BYTES, M_COPIES, M_NS_WALK, M_FORK_NS, M_EXIT_NS, M_WALL,
	NR_METRICS
};

static const struct {
	const char *key;	/* JSON */
	const char *head;	/* table column */
	int width, prec;	/* prec < 0: integer */
	bool hide_zero;		/* drop the column when 0 for every design */
} metric[NR_METRICS] = {
	[M_WALKS]	= { "walks", "walks", 8, -1, false },
	[M_VISITS]	= { "vmas_visited_per_walk", "visits/walk", 11, 3, false },
	[M_HITS]	= { "hits_per_walk", "hits/walk", 9, 3, false },
	[M_VMAS]	= { "vmas", "vmas", 7, -1, false },
	[M_ANON_VMAS]	= { "anon_vmas", "anon_vmas", 9, -1, false },
	[M_AVCS]	= { "avcs", "avcs", 8, -1, false },
	[M_OBJECTS]	= { "rmap_objects", "rmap_objs", 9, -1, false },
	[M_BYTES]	= { "rmap_bytes", "rmap_bytes", 10, -1, false },
	[M_COPIES]	= { "rmap_copies", "copies", 7, -1, true },
	[M_NS_WALK]	= { "ns_per_walk", "ns/walk", 9, 0, false },
	[M_FORK_NS]	= { "fork_ns", "fork_ns", 9, 0, false },
	[M_EXIT_NS]	= { "exit_ns", "exit_ns", 9, 0, false },
	[M_WALL]	= { "wall_s", "wall_s", 7, 2, false },
};

struct cell {
	double m[NR_METRICS];
	bool done;
	bool all_walked;	/* every frame in use was walked */
	char error[256];	/* empty: the run completed */
};

/* ---- options --------------------------------------------------------------- */

struct cmp_opts {
	bool want[8];			/* workloads selected (by index) */
	const char *design[MAX_DESIGNS];
	int ndesigns;
	unsigned long server_children, server_pages;
	unsigned long chain_gens, chain_pages;
	unsigned long split_pages;
	unsigned long mremap_children, mremap_pages;
	unsigned long tree_ops, tree_pages, tree_procs;
	uint64_t tree_seed;
	double walk_budget;		/* seconds per cell, 0: unlimited */
	bool json, check, progress, lockstat;
};

struct workload;
typedef int (*run_fn)(const struct cmp_opts *o, const char *design,
		      struct cell *c);

struct workload {
	const char *name;
	run_fn run;
};

static int run_forking_server(const struct cmp_opts *o, const char *design,
			      struct cell *c);
static int run_fork_chain(const struct cmp_opts *o, const char *design,
			  struct cell *c);
static int run_mprotect_split(const struct cmp_opts *o, const char *design,
			      struct cell *c);
static int run_mremap_after_fork(const struct cmp_opts *o, const char *design,
				 struct cell *c);
static int run_fork_tree(const struct cmp_opts *o, const char *design,
			 struct cell *c);

static const struct workload workloads[] = {
	{ "forking-server", run_forking_server },
	{ "fork-chain", run_fork_chain },
	{ "mprotect-split", run_mprotect_split },
	{ "mremap-after-fork", run_mremap_after_fork },
	{ "fork-tree", run_fork_tree },
};
#define NR_WORKLOADS	(int)(sizeof(workloads) / sizeof(workloads[0]))

static void describe(const struct cmp_opts *o, int w, char *buf, size_t len)
{
	switch (w) {
	case 0:
		snprintf(buf, len, "1 parent writes %lu pages, forks %lu "
			 "children, each child COW-writes all %lu", o->server_pages,
			 o->server_children, o->server_pages);
		break;
	case 1:
		snprintf(buf, len, "%lu generations of fork, child writes a "
			 "page, parent exits (%lu-page VMA); measured after the "
			 "last fork", o->chain_gens, o->chain_pages);
		break;
	case 2:
		snprintf(buf, len, "a %lu-page faulted VMA, forked; the parent "
			 "exits; the child mprotects every other page: %lu VMAs",
			 o->split_pages, o->split_pages);
		break;
	case 3:
		snprintf(buf, len, "1 parent writes %lu pages, forks %lu "
			 "children; each moves its mapping (mremap) and writes "
			 "every other page", o->mremap_pages, o->mremap_children);
		break;
	default:
		snprintf(buf, len, "random fork tree, seed %" PRIu64 ": %lu "
			 "steps (fork / exit / COW writes), at most %lu "
			 "processes, %lu-page VMA", o->tree_seed, o->tree_ops,
			 o->tree_procs, o->tree_pages);
		break;
	}
}

static void compare_usage(FILE *f)
{
	fprintf(f,
"usage: anonvm compare [--workload W]... [--design D]... [SIZE OPTIONS]\n"
"                      [--walk-budget SEC] [--check] [--json]\n"
"\n"
"Runs each workload on each reverse-map design (each in a fresh system,\n"
"metadata only) and prints one table per workload: a row per design, a\n"
"column per metric.  Without --workload every workload runs; without\n"
"--design every design does (unsafe ones too, marked '!').\n"
"\n"
"Workloads:\n"
"  forking-server     1 parent, N children each COW-writing M pages of a\n"
"                     shared VMA (the 2010 anon_vma_chain commit's case)\n"
"  fork-chain         G generations: fork, the child writes, the parent\n"
"                     exits (Forrest's reproducer, 2012/2014)\n"
"  mprotect-split     a faulted P-page VMA, forked; the child splits it\n"
"                     into P one-page VMAs with mprotect; walk; exit\n"
"  mremap-after-fork  1 parent, K children that move their mapping with\n"
"                     mremap and write half of it\n"
"  fork-tree          random fork tree with exits and COW writes\n"
"\n"
"Sizes:\n"
"  --children N          forking-server children (default 1000)\n"
"  --pages M             forking-server pages (default 1000)\n"
"  --generations G       fork-chain generations (default 10000)\n"
"  --chain-pages P       fork-chain VMA pages (default 16)\n"
"  --split-pages P       mprotect-split pages = VMAs (default 4096)\n"
"  --mremap-children K   mremap-after-fork children (default 100)\n"
"  --mremap-pages M      mremap-after-fork pages (default 1000)\n"
"  --tree-ops S          fork-tree steps (default 3000)\n"
"  --tree-procs P        fork-tree live processes at most (default 128)\n"
"  --tree-pages M        fork-tree VMA pages (default 64)\n"
"  --seed S              fork-tree seed (default 42; printed)\n"
"\n"
"  --walk-budget SEC     walking time per cell (default 2): frames are\n"
"                        walked in an evenly spread order until all are\n"
"                        done or the time is up; 0: walk every frame\n"
"  --check               run the invariant checker at the end of each cell\n"
"  --json                one JSON object instead of the tables:\n"
"                        {\"workloads\": {W: {D: {METRIC: number}}}, ...}\n"
"  --lockstat            lock statistics of the whole run, per lock class:\n"
"                        acquisitions, contentions, total and longest wait\n"
"                        and hold times (timing every lock slows the run)\n"
"  --help                this text\n"
"\n"
"Metrics (per cell; objects and bytes live at the end of the workload):\n"
"  walks                 frames whose reverse map was walked\n"
"  vmas_visited_per_walk VMAs (or PTE slots, mms) a walk examined\n"
"  hits_per_walk         of those, mappings of the frame found\n"
"  vmas, anon_vmas, avcs live VMAs, anon_vmas, anon_vma_chains\n"
"  rmap_objects          the design's reverse-map objects\n"
"  rmap_bytes            their bytes\n"
"  rmap_copies           pages the design had to copy (anonmm's mremap)\n"
"  ns_per_walk, fork_ns, exit_ns   mean time of a walk, fork, exit\n"
"  wall_s                the whole cell\n"
"Progress goes to stderr when it is a terminal.  Exit status: 0 every\n"
"cell ran (and checked), 1 a cell failed, 2 usage error.\n"
"\n"
"Designs:\n");
	for (const char *const *d = avm_designs(); *d; d++)
		fprintf(f, "  %-18s %s%s\n", *d, avm_design_unsafe(*d) ? "! " : "",
			avm_design_summary(*d));
}

static int parse_ulong(const char *opt, const char *s, unsigned long lo,
		       unsigned long hi, unsigned long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-') {
		fprintf(stderr, "anonvm compare: %s needs a number\n", opt);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "anonvm compare: %s: '%s' is not a number from "
			"%lu to %lu\n", opt, s, lo, hi);
		return -1;
	}
	*out = (unsigned long)v;
	return 0;
}

static const struct {
	const char *opt;
	size_t off;
	unsigned long lo, hi;
} size_opts[] = {
	{ "--children", offsetof(struct cmp_opts, server_children), 0, 100000 },
	{ "--pages", offsetof(struct cmp_opts, server_pages), 1, 1UL << 22 },
	{ "--generations", offsetof(struct cmp_opts, chain_gens), 1, 10000000 },
	{ "--chain-pages", offsetof(struct cmp_opts, chain_pages), 1, 1UL << 20 },
	{ "--split-pages", offsetof(struct cmp_opts, split_pages), 2, 1UL << 20 },
	{ "--mremap-children", offsetof(struct cmp_opts, mremap_children), 1,
	  100000 },
	{ "--mremap-pages", offsetof(struct cmp_opts, mremap_pages), 2,
	  1UL << 22 },
	{ "--tree-ops", offsetof(struct cmp_opts, tree_ops), 1, 100000000 },
	{ "--tree-procs", offsetof(struct cmp_opts, tree_procs), 1, 100000 },
	{ "--tree-pages", offsetof(struct cmp_opts, tree_pages), 1, 1UL << 20 },
};

/* -1: go on; otherwise the exit status. */
static int compare_args(int argc, char **argv, struct cmp_opts *o)
{
	bool any_workload = false;

	memset(o, 0, sizeof(*o));
	o->server_children = 1000;
	o->server_pages = 1000;
	o->chain_gens = 10000;
	o->chain_pages = 16;
	o->split_pages = 4096;
	o->mremap_children = 100;
	o->mremap_pages = 1000;
	o->tree_ops = 3000;
	o->tree_procs = 128;
	o->tree_pages = 64;
	o->tree_seed = 42;
	o->walk_budget = 2.0;

	for (int i = 1; i < argc; i++) {
		const char *v;
		bool missing, done = false;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			compare_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(argv[i], "--check")) {
			o->check = true;
			continue;
		}
		if (!strcmp(argv[i], "--lockstat")) {
			o->lockstat = true;
			continue;
		}
		if ((v = cli_opt_value(argc, argv, &i, "--workload", &missing)) ||
		    missing) {
			int w;

			for (w = 0; v && w < NR_WORKLOADS; w++)
				if (!strcmp(v, workloads[w].name))
					break;
			if (!v || w == NR_WORKLOADS) {
				fprintf(stderr, "anonvm compare: --workload: "
					"expected one of");
				for (w = 0; w < NR_WORKLOADS; w++)
					fprintf(stderr, " %s", workloads[w].name);
				fprintf(stderr, "\n");
				return EXIT_USAGE;
			}
			o->want[w] = true;
			any_workload = true;
			continue;
		}
		if ((v = cli_opt_value(argc, argv, &i, "--design", &missing)) ||
		    missing) {
			if (!v || !cli_design_known(v)) {
				fprintf(stderr, "anonvm compare: --design: "
					"unknown design '%s' (known:", v ? v : "");
				for (const char *const *d = avm_designs(); *d; d++)
					fprintf(stderr, " %s", *d);
				fprintf(stderr, ")\n");
				return EXIT_USAGE;
			}
			if (o->ndesigns == MAX_DESIGNS) {
				fprintf(stderr, "anonvm compare: too many "
					"--design options\n");
				return EXIT_USAGE;
			}
			o->design[o->ndesigns++] = v;
			continue;
		}
		if ((v = cli_opt_value(argc, argv, &i, "--seed", &missing)) ||
		    missing) {
			unsigned long s;

			if (parse_ulong("--seed", v, 0, ~0UL, &s))
				return EXIT_USAGE;
			o->tree_seed = s;
			continue;
		}
		if ((v = cli_opt_value(argc, argv, &i, "--walk-budget", &missing)) ||
		    missing) {
			char *end;

			o->walk_budget = v ? strtod(v, &end) : -1;
			if (!v || *end || !(o->walk_budget >= 0) ||
			    o->walk_budget > 1e6) {
				fprintf(stderr, "anonvm compare: --walk-budget "
					"needs seconds (0: unlimited)\n");
				return EXIT_USAGE;
			}
			continue;
		}
		for (size_t k = 0; k < sizeof(size_opts) / sizeof(size_opts[0]);
		     k++) {
			if (!(v = cli_opt_value(argc, argv, &i, size_opts[k].opt,
						&missing)) && !missing)
				continue;
			if (parse_ulong(size_opts[k].opt, v, size_opts[k].lo,
					size_opts[k].hi, (unsigned long *)
					((char *)o + size_opts[k].off)))
				return EXIT_USAGE;
			done = true;
			break;
		}
		if (done)
			continue;
		fprintf(stderr, "anonvm compare: unknown %s '%s'\n",
			argv[i][0] == '-' ? "option" : "argument", argv[i]);
		fprintf(stderr, "Try 'anonvm compare --help'.\n");
		return EXIT_USAGE;
	}
	if (!any_workload)
		for (int w = 0; w < NR_WORKLOADS; w++)
			o->want[w] = true;
	if (!o->ndesigns)
		for (const char *const *d = avm_designs(); *d &&
		     o->ndesigns < MAX_DESIGNS; d++)
			o->design[o->ndesigns++] = *d;
	return -1;
}

/* ---- a run ----------------------------------------------------------------- */

/* One simulated process and the range it maps (one mapping each). */
struct proc {
	struct avm_mm *mm;
	unsigned long addr, len;
};

struct run {
	const struct cmp_opts *o;
	const char *design;
	const char *wname;
	struct cell *c;
	struct avm_sys *sys;
	struct proc *p;
	size_t np, cap;
	unsigned long forks, exits;
	double fork_s, exit_s;
	const char *phase;
	double last_progress;
};

static int fail(struct run *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct run *r, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!r->c->error[0] && err)
		snprintf(r->c->error, sizeof(r->c->error), "%s: %s", what,
			 strerror(-err));
	else if (!r->c->error[0])
		snprintf(r->c->error, sizeof(r->c->error), "%s", what);
	return err ? err : -EIO;
}

static void progress(struct run *r, const char *phase, unsigned long done,
		     unsigned long total)
{
	double t;

	if (!r->o->progress)
		return;
	t = cli_now();
	if (phase == r->phase && t - r->last_progress < 0.1 && done < total)
		return;
	r->phase = phase;
	r->last_progress = t;
	fprintf(stderr, "\r\033[Kanonvm compare: %s / %s: %s", r->wname,
		r->design, phase);
	if (total)
		fprintf(stderr, " %lu/%lu", done, total);
	fflush(stderr);
}

static int run_init(struct run *r, unsigned long frames)
{
	struct avm_config cfg;
	int err;

	avm_config_default(&cfg);
	cfg.payload = AVM_PAYLOAD_NONE;
	cfg.design = r->design;
	cfg.swap_slots = 0;
	cfg.node_frames = frames + 65536;
	if (cfg.node_frames > (1UL << 32))
		return fail(r, -E2BIG, "%lu frames", frames);
	err = avm_sys_create(&cfg, &r->sys);
	if (err)
		return fail(r, err, "avm_sys_create");
	return 0;
}

static struct proc *add_proc(struct run *r, struct avm_mm *mm,
			     unsigned long addr, unsigned long len)
{
	if (r->np == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct proc *p = realloc(r->p, cap * sizeof(*p));

		if (!p)
			return NULL;
		r->p = p;
		r->cap = cap;
	}
	r->p[r->np] = (struct proc){ mm, addr, len };
	return &r->p[r->np++];
}

static int spawn(struct run *r, unsigned long pages, int byte)
{
	struct avm_mm *mm;
	unsigned long addr;
	int err = avm_mm_create(r->sys, &mm);

	if (err)
		return fail(r, err, "avm_mm_create");
	err = avm_mmap(mm, 0, pages * PG, RW, 0, &addr);
	if (err) {
		avm_exit(mm);
		return fail(r, err, "avm_mmap %lu pages", pages);
	}
	if (!add_proc(r, mm, addr, pages * PG)) {
		avm_exit(mm);
		return fail(r, -ENOMEM, "process table");
	}
	for (unsigned long off = 0; off < pages; off += CHUNK_PAGES) {
		unsigned long n = pages - off < CHUNK_PAGES ? pages - off
							    : CHUNK_PAGES;

		err = avm_fill(mm, addr + off * PG, byte, n * PG);
		if (err)
			return fail(r, err, "writing the first process");
	}
	return 0;
}

/* Fork r->p[i]; the child is appended (r->p may move). */
static int do_fork(struct run *r, size_t i)
{
	struct avm_mm *child;
	double t = cli_now();
	int err = avm_fork(r->p[i].mm, &child);

	r->fork_s += cli_now() - t;
	if (err)
		return fail(r, err, "avm_fork (fork %lu)", r->forks + 1);
	r->forks++;
	if (!add_proc(r, child, r->p[i].addr, r->p[i].len)) {
		avm_exit(child);
		return fail(r, -ENOMEM, "process table");
	}
	return 0;
}

/* Exit r->p[i]; the last process takes its slot. */
static void do_exit(struct run *r, size_t i)
{
	double t = cli_now();

	avm_exit(r->p[i].mm);
	r->exit_s += cli_now() - t;
	r->exits++;
	r->p[i] = r->p[--r->np];
}

static int write_pages(struct run *r, size_t i, unsigned long first,
		       unsigned long n, unsigned long step, int byte)
{
	struct proc *p = &r->p[i];

	for (unsigned long k = 0; k < n; k++) {
		unsigned long a = p->addr + ((first + k * step) * PG) % p->len;
		unsigned char b = (unsigned char)byte;
		int err = avm_write(p->mm, a, &b, 1);

		if (err)
			return fail(r, err, "mm %lu: write at %#lx",
				    avm_mm_id(p->mm), a);
	}
	return 0;
}

static int write_all(struct run *r, size_t i, int byte)
{
	struct proc *p = &r->p[i];
	int err;

	for (unsigned long off = 0; off < p->len; off += CHUNK_PAGES * PG) {
		unsigned long n = p->len - off < CHUNK_PAGES * PG ?
				  p->len - off : CHUNK_PAGES * PG;

		err = avm_fill(p->mm, p->addr + off, byte, n);
		if (err)
			return fail(r, err, "mm %lu: writing",
				    avm_mm_id(p->mm));
	}
	return 0;
}

static unsigned long gcd(unsigned long a, unsigned long b)
{
	while (b) {
		unsigned long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Walk the reverse map of the distinct frames the processes map, in the
 * order of a Weyl sequence (step ~ n / golden ratio, coprime to n), so
 * that any prefix is spread evenly over all of them, until every frame is
 * walked or the walk budget is spent.
 */
static int walk_frames(struct run *r)
{
	struct avm_walk_stats ws = { 0 };
	unsigned long *pfn = NULL, n = 0, cap = 0, step, done = 0;
	unsigned char *seen;
	size_t seen_len = 1UL << 16;
	double t0, spent = 0;
	int err = 0;

	seen = calloc(1, seen_len);
	if (!seen)
		return fail(r, -ENOMEM, "walk");
	progress(r, "collecting frames", 0, 0);
	for (size_t i = 0; i < r->np && !err; i++) {
		for (unsigned long a = r->p[i].addr;
		     a < r->p[i].addr + r->p[i].len; a += PG) {
			struct avm_page_info pi;

			if (avm_page_info(r->p[i].mm, a, &pi) ||
			    pi.state != AVM_PTE_PRESENT || pi.zero)
				continue;
			if (pi.pfn / 8 >= seen_len) {
				size_t nl = seen_len;
				unsigned char *ns;

				while (pi.pfn / 8 >= nl)
					nl *= 2;
				ns = realloc(seen, nl);
				if (!ns) {
					err = -ENOMEM;
					break;
				}
				memset(ns + seen_len, 0, nl - seen_len);
				seen = ns;
				seen_len = nl;
			}
			if (seen[pi.pfn / 8] & (1u << (pi.pfn % 8)))
				continue;
			seen[pi.pfn / 8] |= (unsigned char)(1u << (pi.pfn % 8));
			if (n == cap) {
				unsigned long *np;

				cap = cap ? 2 * cap : 4096;
				np = realloc(pfn, cap * sizeof(*pfn));
				if (!np) {
					err = -ENOMEM;
					break;
				}
				pfn = np;
			}
			pfn[n++] = pi.pfn;
		}
	}
	free(seen);
	if (err) {
		free(pfn);
		return fail(r, err, "collecting frames");
	}
	step = n > 2 ? (unsigned long)((double)n * 0.6180339887) : 1;
	while (n > 2 && gcd(step, n) != 1)
		step++;
	t0 = cli_now();
	for (unsigned long i = 0; i < n; i++) {
		unsigned long k = (unsigned long)
				  (((unsigned __int128)i * step) % n);

		err = avm_rmap_walk_pfn(r->sys, pfn[k], &ws);
		if (err) {
			fail(r, err, "avm_rmap_walk_pfn");
			break;
		}
		done++;
		if (done % 32 == 0) {
			spent = cli_now() - t0;
			progress(r, "walking", done, n);
			if (r->o->walk_budget > 0 && spent >= r->o->walk_budget)
				break;
		}
	}
	spent = cli_now() - t0;
	r->c->all_walked = done == n;
	r->c->m[M_WALKS] = (double)ws.walks;
	r->c->m[M_VISITS] = ws.walks ? (double)ws.visits / (double)ws.walks : 0;
	r->c->m[M_HITS] = ws.walks ? (double)ws.hits / (double)ws.walks : 0;
	r->c->m[M_NS_WALK] = ws.walks ? spent * 1e9 / (double)ws.walks : 0;
	free(pfn);
	return err;
}

/* Objects live now, the checker if asked, then every process exits. */
static int finish(struct run *r)
{
	struct avm_stats st;
	char msg[512];
	int err;

	avm_stats(r->sys, &st);
	r->c->m[M_VMAS] = (double)st.vmas;
	r->c->m[M_ANON_VMAS] = (double)st.anon_vmas;
	r->c->m[M_AVCS] = (double)st.avcs;
	r->c->m[M_OBJECTS] = (double)st.rmap_objects;
	r->c->m[M_BYTES] = (double)st.rmap_bytes;
	r->c->m[M_COPIES] = (double)st.rmap_copies;
	if (r->o->check) {
		progress(r, "checking", 0, 0);
		err = avm_check(r->sys, msg, sizeof(msg));
		if (err)
			return fail(r, 0, "avm_check: %s", msg);
	}
	progress(r, "exiting", 0, 0);
	while (r->np)
		do_exit(r, r->np - 1);
	if (r->o->check) {
		avm_stats(r->sys, &st);
		if (st.mms || st.vmas || st.anon_vmas || st.avcs ||
		    st.rmap_objects || st.frames_used || st.page_tables)
			return fail(r, 0, "left alive after every exit: %lu VMAs, "
				    "%lu anon_vmas, %lu avcs, %lu rmap objects, "
				    "%lu frames", st.vmas, st.anon_vmas, st.avcs,
				    st.rmap_objects, st.frames_used);
	}
	return 0;
}

/* ---- the workloads ----------------------------------------------------------- */

static int server_body(struct run *r)
{
	const struct cmp_opts *o = r->o;
	int err;

	err = run_init(r, (o->server_children + 1) * o->server_pages);
	if (!err)
		err = spawn(r, o->server_pages, 0x50);
	for (unsigned long i = 0; !err && i < o->server_children; i++) {
		progress(r, "forking", i, o->server_children);
		err = do_fork(r, 0);
	}
	for (unsigned long i = 0; !err && i < o->server_children; i++) {
		progress(r, "COW writes", i, o->server_children);
		err = write_all(r, i + 1, (int)(1 + i % 254));
	}
	return err;
}

static int fork_chain_body(struct run *r)
{
	const struct cmp_opts *o = r->o;
	int err;

	err = run_init(r, 4 * o->chain_pages + 1024);
	if (!err)
		err = spawn(r, o->chain_pages, 0x11);
	for (unsigned long g = 1; !err && g <= o->chain_gens; g++) {
		progress(r, "generations", g, o->chain_gens);
		err = do_fork(r, 0);			/* child is p[1] */
		if (!err)
			err = write_pages(r, 1, g, 1, 1, (int)g);
		if (!err && g < o->chain_gens)
			do_exit(r, 0);			/* the child moves to 0 */
	}
	return err;
}

static int split_body(struct run *r)
{
	const struct cmp_opts *o = r->o;
	int err;

	err = run_init(r, 2 * o->split_pages + 1024);
	if (!err)
		err = spawn(r, o->split_pages, 0x22);
	if (!err)
		err = do_fork(r, 0);
	if (err)
		return err;
	do_exit(r, 0);					/* the child is p[0] */
	for (unsigned long i = 0; i < o->split_pages; i += 2) {
		progress(r, "mprotect", i, o->split_pages);
		err = avm_mprotect(r->p[0].mm, r->p[0].addr + i * PG, PG,
				   AVM_PROT_READ);
		if (err)
			return fail(r, err, "avm_mprotect page %lu", i);
	}
	return 0;
}

static int mremap_body(struct run *r)
{
	const struct cmp_opts *o = r->o;
	const unsigned long dest = 0x600000000000UL;
	int err;

	err = run_init(r, (o->mremap_children + 1) * o->mremap_pages);
	if (!err)
		err = spawn(r, o->mremap_pages, 0x33);
	for (unsigned long i = 0; !err && i < o->mremap_children; i++) {
		progress(r, "forking", i, o->mremap_children);
		err = do_fork(r, 0);
	}
	for (unsigned long i = 1; !err && i <= o->mremap_children; i++) {
		struct proc *p = &r->p[i];
		unsigned long got;

		progress(r, "mremap and writes", i, o->mremap_children);
		err = avm_mremap(p->mm, p->addr, p->len, p->len,
				 AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, dest,
				 &got);
		if (err)
			return fail(r, err, "mm %lu: avm_mremap",
				    avm_mm_id(p->mm));
		p->addr = dest;
		err = write_pages(r, i, 0, o->mremap_pages / 2, 2,
				  (int)(1 + i % 254));
	}
	return err;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int fork_tree_body(struct run *r)
{
	const struct cmp_opts *o = r->o;
	uint64_t s = o->tree_seed ^ 0x9E3779B97F4A7C15ULL;
	unsigned long writes = o->tree_pages < 4 ? o->tree_pages : 4;
	int err;

	if (!s)
		s = 1;
	err = run_init(r, o->tree_procs * o->tree_pages + o->tree_pages + 1024);
	if (!err)
		err = spawn(r, o->tree_pages, 0x44);
	for (unsigned long k = 0; !err && k < o->tree_ops; k++) {
		unsigned int dice = (unsigned int)(rnd(&s) % 100);
		size_t i = (size_t)(rnd(&s) % r->np);
		unsigned long first = rnd(&s) % o->tree_pages;

		progress(r, "steps", k, o->tree_ops);
		if (dice < 45 && r->np < o->tree_procs) {
			err = do_fork(r, i);
			if (!err)	/* the child writes at once */
				err = write_pages(r, r->np - 1, first, writes,
						  7, (int)k);
		} else if (dice < 75 && r->np > 1) {
			do_exit(r, i);
		} else {
			err = write_pages(r, i, first, writes, 3, (int)k);
		}
	}
	return err;
}

static int run_cell(const struct cmp_opts *o, const char *design,
		    const char *wname, int (*body)(struct run *),
		    struct cell *c)
{
	struct run r = { .o = o, .design = design, .wname = wname, .c = c };
	double t0 = cli_now();
	int err;

	memset(c, 0, sizeof(*c));
	err = body(&r);
	if (!err)
		err = walk_frames(&r);
	if (!err)
		err = finish(&r);
	while (r.np)
		do_exit(&r, r.np - 1);
	avm_sys_destroy(r.sys);
	free(r.p);
	c->m[M_FORK_NS] = r.forks ? r.fork_s * 1e9 / (double)r.forks : 0;
	c->m[M_EXIT_NS] = r.exits ? r.exit_s * 1e9 / (double)r.exits : 0;
	c->m[M_WALL] = cli_now() - t0;
	c->done = true;
	return err;
}

static int run_forking_server(const struct cmp_opts *o, const char *design,
			      struct cell *c)
{
	return run_cell(o, design, "forking-server", server_body, c);
}

static int run_fork_chain(const struct cmp_opts *o, const char *design,
			  struct cell *c)
{
	return run_cell(o, design, "fork-chain", fork_chain_body, c);
}

static int run_mprotect_split(const struct cmp_opts *o, const char *design,
			      struct cell *c)
{
	return run_cell(o, design, "mprotect-split", split_body, c);
}

static int run_mremap_after_fork(const struct cmp_opts *o, const char *design,
				 struct cell *c)
{
	return run_cell(o, design, "mremap-after-fork", mremap_body, c);
}

static int run_fork_tree(const struct cmp_opts *o, const char *design,
			 struct cell *c)
{
	return run_cell(o, design, "fork-tree", fork_tree_body, c);
}

/* ---- output ------------------------------------------------------------------ */

static void print_value(enum metric m, double v)
{
	if (metric[m].prec < 0)
		printf(" %*.0f", metric[m].width, v);
	else
		printf(" %*.*f", metric[m].width, metric[m].prec, v);
}

static void print_table(const struct cmp_opts *o, int w, struct cell *cells)
{
	bool show[NR_METRICS];
	bool any_partial = false, any_unsafe = false;
	char what[256];

	describe(o, w, what, sizeof(what));
	printf("%s: %s\n", workloads[w].name, what);
	for (int m = 0; m < NR_METRICS; m++) {
		show[m] = !metric[m].hide_zero;
		for (int d = 0; d < o->ndesigns && !show[m]; d++)
			show[m] = cells[d].m[m] != 0;
	}
	printf("  %-19s", "design");
	for (int m = 0; m < NR_METRICS; m++)
		if (show[m])
			printf(" %*s", metric[m].width, metric[m].head);
	printf("\n");
	for (int d = 0; d < o->ndesigns; d++) {
		struct cell *c = &cells[d];
		bool unsafe = avm_design_unsafe(o->design[d]);
		char name[32];

		snprintf(name, sizeof(name), "%s%s", o->design[d],
			 unsafe ? " !" : "");
		any_unsafe |= unsafe;
		printf("  %-19s", name);
		if (c->error[0]) {
			printf(" FAILED: %s\n", c->error);
			continue;
		}
		for (int m = 0; m < NR_METRICS; m++)
			if (show[m])
				print_value((enum metric)m, c->m[m]);
		if (!c->all_walked) {
			printf(" *");
			any_partial = true;
		}
		printf("\n");
	}
	if (any_partial)
		printf("  * walk budget (%.3g s) spent: walks over an evenly spread "
		       "sample of the frames\n", o->walk_budget);
	if (any_unsafe)
		printf("  ! unsafe design (known broken, kept for study)\n");
	printf("\n");
}

static int print_json(const struct cmp_opts *o, struct cell (*cells)[MAX_DESIGNS])
{
	json_t *top = json_object(), *ws = json_object(), *errs = json_object();
	json_t *params, *unsafe = json_array();
	int rc = 0;

	if (!top || !ws || !errs || !unsafe) {
		json_decref(top);
		json_decref(ws);
		json_decref(errs);
		json_decref(unsafe);
		return -1;
	}
	for (int w = 0; w < NR_WORKLOADS; w++) {
		json_t *row;

		if (!o->want[w])
			continue;
		row = json_object();
		for (int d = 0; d < o->ndesigns; d++) {
			struct cell *c = &cells[w][d];
			json_t *cell;

			if (c->error[0]) {
				json_t *e = json_object_get(errs,
							   workloads[w].name);

				if (!e) {
					e = json_object();
					json_object_set_new(errs,
							    workloads[w].name, e);
				}
				json_object_set_new(e, o->design[d],
						    json_string(c->error));
				continue;
			}
			cell = json_object();
			for (int m = 0; m < NR_METRICS; m++)
				json_object_set_new(cell, metric[m].key,
						    metric[m].prec < 0 ?
						    json_integer((json_int_t)
								 c->m[m]) :
						    json_real(c->m[m]));
			json_object_set_new(row, o->design[d], cell);
		}
		json_object_set_new(ws, workloads[w].name, row);
	}
	for (int d = 0; d < o->ndesigns; d++)
		if (avm_design_unsafe(o->design[d]))
			json_array_append_new(unsafe, json_string(o->design[d]));
	params = json_pack("{s{sIsI} s{sIsI} s{sI} s{sIsI} s{sIsIsIsI} sf}",
		"forking-server", "children", (json_int_t)o->server_children,
		"pages", (json_int_t)o->server_pages,
		"fork-chain", "generations", (json_int_t)o->chain_gens,
		"pages", (json_int_t)o->chain_pages,
		"mprotect-split", "pages", (json_int_t)o->split_pages,
		"mremap-after-fork", "children", (json_int_t)o->mremap_children,
		"pages", (json_int_t)o->mremap_pages,
		"fork-tree", "seed", (json_int_t)o->tree_seed,
		"steps", (json_int_t)o->tree_ops,
		"max_processes", (json_int_t)o->tree_procs,
		"pages", (json_int_t)o->tree_pages,
		"walk_budget_s", o->walk_budget);
	json_object_set_new(top, "workloads", ws);
	json_object_set_new(top, "parameters", params);
	json_object_set_new(top, "unsafe_designs", unsafe);
	if (o->lockstat)
		json_object_set_new(top, "lockstat", lockstat_report_json());
	if (json_object_size(errs))
		json_object_set_new(top, "errors", errs);
	else
		json_decref(errs);
	if (json_dumpf(top, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	else
		rc = -1;
	json_decref(top);
	return rc;
}

/* ---- driver -------------------------------------------------------------------- */

/*
 * The first cell would pay for growing this process's heap (page tables,
 * VMAs and mms are malloc'ed): a fork then cost up to several times what
 * it does in later cells.  A small forking-server run first, not reported,
 * takes that cost, and the heap is not trimmed afterwards.
 */
static void warm_up(const struct cmp_opts *o)
{
	struct cmp_opts w = *o;
	struct cell c;

	/* keep what the warm-up frees for the cells (no trimming) */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);

	w.server_pages = 1;
	w.walk_budget = 0.01;
	w.check = false;
	w.progress = false;
	if (w.server_children > 1000)
		w.server_children = 1000;
	run_forking_server(&w, o->design[0], &c);
}

int cmd_compare(int argc, char **argv)
{
	static struct cell cells[NR_WORKLOADS][MAX_DESIGNS];
	struct cmp_opts o;
	int rc = compare_args(argc, argv, &o), failed = 0;
	double t0 = cli_now();

	if (rc >= 0)
		return rc;
	o.progress = cli_progress_wanted();
	if (!o.json) {
		int nw = 0;

		for (int w = 0; w < NR_WORKLOADS; w++)
			nw += o.want[w];
		printf("anonvm compare: %d workload%s x %d design%s (metadata "
		       "only; fork-tree seed %" PRIu64 ")\n\n", nw,
		       nw == 1 ? "" : "s", o.ndesigns, o.ndesigns == 1 ? "" : "s",
		       o.tree_seed);
		fflush(stdout);
	}
	warm_up(&o);
	if (o.lockstat && lockstat_report_start("compare"))
		return EXIT_USAGE;
	for (int w = 0; w < NR_WORKLOADS; w++) {
		if (!o.want[w])
			continue;
		for (int d = 0; d < o.ndesigns; d++) {
			if (workloads[w].run(&o, o.design[d], &cells[w][d])) {
				failed++;
				if (o.progress)
					fprintf(stderr, "\r\033[K");
				fprintf(stderr, "anonvm compare: %s on %s: %s\n",
					workloads[w].name, o.design[d],
					cells[w][d].error);
			}
		}
		if (o.progress)
			fprintf(stderr, "\r\033[K");
		if (!o.json) {
			print_table(&o, w, cells[w]);
			fflush(stdout);
		}
	}
	if (o.json) {
		if (print_json(&o, cells)) {
			fprintf(stderr, "anonvm compare: cannot write the JSON "
				"output\n");
			return EXIT_PROBLEM;
		}
	} else {
		if (o.lockstat)
			lockstat_report_text(stdout);
		printf("total %.1f s\n", cli_now() - t0);
	}
	return failed ? EXIT_PROBLEM : 0;
}
