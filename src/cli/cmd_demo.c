/* SPDX-License-Identifier: MIT */
/*
 * anonvm demo: the workload of the 2010 anon_vma_chain commit (the
 * forking-server workload of src/workload/, with payload, verification of
 * every page and the time of each phase).  One parent
 * maps M private anonymous pages and writes them all, forks N children, and
 * every child writes all M pages (copy-on-write).  Then one reverse-map
 * walk per frame in use: with anon_vma chains a walk visits about 2 VMAs
 * ((2N + 1) / (N + 1)) where the 2004 single-anon_vma design visited N + 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/lockstat_report.h"
#include "workload/workload.h"

#define DEMO_MAX_CHILDREN	1000000UL
#define DEMO_MAX_FRAMES		(1UL << 32)	/* avm_sys_create's limit */
#define DEMO_SLACK		WL_SLACK_FRAMES	/* frames beyond (N + 1) * M */
#define PARENT_BYTE		0x50

static void demo_usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm demo [--children N] [--pages M] [--design NAME]\n"
		"                   [--payload full|none] [--json]\n"
		"\n"
		"The workload of the 2010 anon_vma_chain commit: one parent maps M\n"
		"private anonymous pages (read-write) and writes them all, forks N\n"
		"children, and each child writes all M pages, so that every child\n"
		"copies every page (copy-on-write).  Then the reverse map of every\n"
		"frame in use is walked once, the contents and the invariants are\n"
		"checked, and every process exits.\n"
		"\n"
		"Printed: the live objects (processes, VMAs, anon_vmas,\n"
		"anon_vma_chains, frames, reverse-map bytes), the struct sizes, the\n"
		"walk (VMAs visited and mappings found per walk: about 2 and 1 with\n"
		"anon_vma chains, where one anon_vma per fork family meant N + 1\n"
		"visits for every page) and the time of each phase.\n"
		"\n"
		"  --children N        forked children (default 1000, 0 to %lu)\n"
		"  --pages M           pages in the parent's mapping (default 1000)\n"
		"  --design NAME       reverse-map design (default linux; see below)\n"
		"  --payload full      every frame holds 4 KiB of real bytes: the run\n"
		"                      touches (N + 1) * M * 4 KiB of memory, about\n"
		"                      4 GiB at the defaults (the default mode)\n"
		"  --payload none      metadata only: writes are dropped and reads\n"
		"                      return zeroes; about 100 bytes per frame\n"
		"  --json              print one JSON object instead of the tables\n"
		"  --lockstat          lock statistics of the run, per lock class:\n"
		"                      acquisitions, contentions, total and longest\n"
		"                      wait and hold times\n"
		"  --help              this text\n"
		"\n"
		"(N + 1) * M may not exceed 2^32 frames, and a run that would need\n"
		"more memory than this machine has is refused (exit 77).  Progress is\n"
		"shown on stderr when it is a terminal.  Exit status: 0 the run\n"
		"completed and every check held, 1 a check failed or an operation\n"
		"failed, 2 usage error, 77 cannot run here.\n"
		"\n"
		"Designs:\n", DEMO_MAX_CHILDREN);
	for (const char *const *d = avm_designs(); *d; d++)
		fprintf(f, "  %-18s  %s\n", *d, avm_design_summary(*d));
}

/* ---- options --------------------------------------------------------------- */

struct demo_opts {
	unsigned long children, pages;
	const char *design;
	enum avm_payload payload;
	bool json, lockstat;
};

/* A whole decimal number in [lo, hi]; 0 or -1 after printing why not. */
static int parse_ulong(const char *opt, const char *s, unsigned long lo,
		       unsigned long hi, unsigned long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s) {
		fprintf(stderr, "anonvm demo: %s needs a value\n", opt);
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') {
			fprintf(stderr, "anonvm demo: %s: '%s' is not a whole "
				"number (expected %lu to %lu)\n", opt, s, lo, hi);
			return -1;
		}
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || *end || v < lo || v > hi) {
		fprintf(stderr, "anonvm demo: %s: %s is out of range "
			"(expected %lu to %lu)\n", opt, s, lo, hi);
		return -1;
	}
	*out = (unsigned long)v;
	return 0;
}

/* -1: go on; otherwise the exit status. */
static int demo_args(int argc, char **argv, struct demo_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->children = 1000;
	o->pages = 1000;
	o->design = "linux";
	o->payload = AVM_PAYLOAD_FULL;

	for (int i = 1; i < argc; i++) {
		const char *v;
		bool missing;

		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strcmp(argv[i], "--lockstat")) {
			o->lockstat = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			demo_usage(stdout);
			return 0;
		} else if ((v = cli_opt_value(argc, argv, &i, "--children", &missing)) ||
			   missing) {
			if (parse_ulong("--children", v, 0, DEMO_MAX_CHILDREN,
					&o->children))
				return EXIT_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--pages", &missing)) ||
			   missing) {
			if (parse_ulong("--pages", v, 1, DEMO_MAX_FRAMES,
					&o->pages))
				return EXIT_USAGE;
		} else if ((v = cli_opt_value(argc, argv, &i, "--design", &missing)) ||
			   missing) {
			if (!v || !*v) {
				fprintf(stderr, "anonvm demo: --design needs a "
					"value\n");
				return EXIT_USAGE;
			}
			if (!cli_design_known(v)) {
				fprintf(stderr, "anonvm demo: --design: unknown "
					"design '%s' (known:", v);
				for (const char *const *d = avm_designs(); *d; d++)
					fprintf(stderr, " %s", *d);
				fprintf(stderr, ")\n");
				return EXIT_USAGE;
			}
			o->design = v;
		} else if ((v = cli_opt_value(argc, argv, &i, "--payload", &missing)) ||
			   missing) {
			if (!v || !*v) {
				fprintf(stderr, "anonvm demo: --payload needs a "
					"value (full or none)\n");
				return EXIT_USAGE;
			} else if (!strcmp(v, "full")) {
				o->payload = AVM_PAYLOAD_FULL;
			} else if (!strcmp(v, "none")) {
				o->payload = AVM_PAYLOAD_NONE;
			} else {
				fprintf(stderr, "anonvm demo: --payload: expected "
					"'full' or 'none', not '%s'\n", v);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "anonvm demo: unknown %s '%s'\n",
				argv[i][0] == '-' ? "option" : "argument",
				argv[i]);
			fprintf(stderr, "Try 'anonvm demo --help'.\n");
			return EXIT_USAGE;
		}
	}
	/* (N + 1) * M frames plus slack, without overflow. */
	if (o->pages > (DEMO_MAX_FRAMES - DEMO_SLACK) / (o->children + 1)) {
		fprintf(stderr, "anonvm demo: --children %lu --pages %lu needs "
			"(N + 1) * M = %.0f frames, more than the 2^32 a system "
			"can have\n", o->children, o->pages,
			(double)(o->children + 1) * (double)o->pages);
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- timing and progress --------------------------------------------------- */

struct progress {
	bool on;
	const char *what;
	unsigned long done, total;
	int shown;			/* percent last printed, -1 none */
};

static void progress_start(struct progress *p, bool on, const char *what,
			   unsigned long total)
{
	p->on = on;
	p->what = what;
	p->done = 0;
	p->total = total ? total : 1;
	p->shown = -1;
}

static void progress_add(struct progress *p, unsigned long n)
{
	int pct;

	p->done += n;
	if (!p->on)
		return;
	pct = (int)(p->done * 100.0 / (double)p->total);
	if (pct == p->shown)
		return;
	p->shown = pct;
	fprintf(stderr, "\ranonvm demo: %-10s %3d%% (%lu/%lu)   ", p->what, pct,
		p->done, p->total);
	fflush(stderr);
}

/* A phase that is one library call: its name, without a percentage. */
static void progress_note(struct progress *p, bool on, const char *what)
{
	progress_start(p, on, what, 1);
	if (!on)
		return;
	p->shown = 0;
	fprintf(stderr, "\ranonvm demo: %-10s ...   ", what);
	fflush(stderr);
}

static void progress_end(struct progress *p)
{
	if (p->on && p->shown >= 0) {
		fprintf(stderr, "\r%72s\r", "");
		fflush(stderr);
	}
}

/* ---- the run --------------------------------------------------------------- */

enum phase { PH_SETUP, PH_FORK, PH_COW, PH_WALK, PH_VERIFY, PH_CHECK, PH_EXIT,
	     NR_PHASES };

static const char *const phase_name[NR_PHASES] = {
	"setup", "fork", "COW writes", "walk", "verify", "check", "exit",
};
static const char *const phase_key[NR_PHASES] = {
	"setup", "fork", "cow", "walk", "verify", "check", "exit",
};

struct demo_run {
	const struct demo_opts *o;
	/* the forking-server workload (src/workload/) builds the processes */
	const struct workload *w;
	unsigned long param[WL_MAX_PARAMS];
	struct wl_opts wo;
	struct wl_result res;
	struct wl_run wr;		/* wr.p[0] the parent, wr.p[i] child i */
	bool progress;

	double t[NR_PHASES], total;	/* seconds */
	struct avm_stats peak;		/* after the COW writes */
	struct avm_sizes sizes;
	struct avm_walk_stats walk;
	unsigned long verified;		/* pages verified */
	unsigned long bad_pages;
	char verify_msg[256];
	int check_rc;
	char check_msg[512];
	struct avm_stats after;		/* after every process exited */
	int after_check_rc;
	char after_msg[512];
	char error[256];		/* an operation that failed */
};

static int child_byte(unsigned long i)
{
	return (int)(1 + i % 254);	/* what forking-server's child i+1 writes */
}

static void body_progress(void *ctx, const struct wl_run *wr, const char *phase,
			  unsigned long done, unsigned long total)
{
	fprintf(stderr, "\r\033[Kanonvm demo: %-10s", phase);
	if (total)
		fprintf(stderr, " %3d%% (%lu/%lu)", (int)(done * 100.0 / total),
			done, total);
	fflush(stderr);
}

/* Setup, fork and COW writes: the forking-server workload's body. */
static int phase_body(struct demo_run *r)
{
	int ci, pi, err;

	r->w = wl_find("forking-server");
	ci = r->w ? wl_param_index(r->w, "children") : -1;
	pi = r->w ? wl_param_index(r->w, "pages") : -1;
	if (ci < 0 || pi < 0) {
		snprintf(r->error, sizeof(r->error), "no forking-server workload "
			 "with children and pages");
		return -ENOENT;
	}
	wl_defaults(r->w, r->param);
	r->param[ci] = r->o->children;
	r->param[pi] = r->o->pages;
	r->wo = (struct wl_opts){ .design = r->o->design,
				  .payload = r->o->payload,
				  .progress = r->progress ? body_progress : NULL };
	r->wr = (struct wl_run){ .w = r->w, .param = r->param, .o = &r->wo,
				 .res = &r->res, .phase_t0 = cli_now() };
	err = r->w->body(&r->wr);
	r->t[PH_SETUP] = wl_phase_seconds(&r->wr, "setup");
	r->t[PH_FORK] = wl_phase_seconds(&r->wr, "forking");
	r->t[PH_COW] = wl_phase_seconds(&r->wr, "COW writes");
	if (r->progress)
		fprintf(stderr, "\r\033[K");
	if (err)
		snprintf(r->error, sizeof(r->error), "%s", r->res.error);
	return err;
}

/*
 * Every page of every process: present, mapped once, holding the process's
 * byte (0 without payload); a child's page is also writable, exclusive and
 * not the parent's frame.  (The parent's pages stay write-protected and
 * non-exclusive after the fork: its next write would reuse them.)  Records
 * the first discrepancy.
 */
static void verify_mm(struct demo_run *r, const struct wl_proc *p, int byte,
		      bool is_child)
{
	int want = r->o->payload == AVM_PAYLOAD_FULL ? byte : 0;
	struct avm_mm *parent = r->wr.p[0].mm;

	for (unsigned long a = p->addr; a < p->addr + p->len; a += AVM_PAGE_SIZE) {
		struct avm_page_info pi, ppi;
		unsigned char c = 0xff;
		const char *why = NULL;

		r->verified++;
		if (avm_page_info(p->mm, a, &pi))
			why = "no VMA";
		else if (pi.state != AVM_PTE_PRESENT || pi.zero)
			why = "not present";
		else if (is_child && (!pi.writable || !pi.exclusive))
			why = "not writable and exclusive";
		else if (pi.mapcount != 1)
			why = "mapped more than once";
		else if (is_child && !avm_page_info(parent, a, &ppi) &&
			 ppi.state == AVM_PTE_PRESENT && ppi.pfn == pi.pfn)
			why = "shares the parent's frame";
		else if (avm_peek(p->mm, a, &c, 1) || c != want)
			why = "holds the wrong byte";
		if (!why)
			continue;
		if (!r->bad_pages++)
			snprintf(r->verify_msg, sizeof(r->verify_msg),
				 "mm %lu, page %#lx: %s (pfn %lu, mapcount %u, "
				 "byte %#x, expected %#x)", avm_mm_id(p->mm), a,
				 why, pi.pfn, pi.mapcount, c, want);
	}
}

static void phase_verify(struct demo_run *r)
{
	struct progress p;

	progress_start(&p, r->progress, "verify", r->wr.np);
	for (size_t i = 0; i < r->wr.np; i++) {
		verify_mm(r, &r->wr.p[i], i ? child_byte(i - 1) : PARENT_BYTE,
			  i > 0);
		progress_add(&p, 1);
	}
	progress_end(&p);
}

/* Children first, then the parent. */
static void phase_exit(struct demo_run *r)
{
	struct progress p;

	progress_start(&p, r->progress, "exit", r->wr.np);
	while (r->wr.np) {
		wl_exit(&r->wr, r->wr.np - 1);
		progress_add(&p, 1);
	}
	progress_end(&p);
}

/* Runs every phase; 0, or the first operation's error (r->error says). */
static int demo_run(struct demo_run *r)
{
	double t0 = cli_now(), t;
	struct avm_sys *sys;
	struct progress p;
	int err;

	err = phase_body(r);
	if (err)
		goto out;
	sys = r->wr.sys;
	avm_stats(sys, &r->peak);
	avm_sizes(sys, &r->sizes);

	progress_note(&p, r->progress, "walk");
	t = cli_now();
	err = avm_rmap_walk_all(sys, &r->walk);
	r->t[PH_WALK] = cli_now() - t;
	progress_end(&p);
	if (err) {
		snprintf(r->error, sizeof(r->error), "avm_rmap_walk_all: %s",
			 strerror(-err));
		goto out;
	}
	t = cli_now();
	phase_verify(r);
	r->t[PH_VERIFY] = cli_now() - t;
	progress_note(&p, r->progress, "check");
	t = cli_now();
	r->check_rc = avm_check(sys, r->check_msg, sizeof(r->check_msg));
	r->t[PH_CHECK] = cli_now() - t;
	progress_end(&p);
	t = cli_now();
	phase_exit(r);
	r->t[PH_EXIT] = cli_now() - t;
	avm_stats(sys, &r->after);
	r->after_check_rc = avm_check(sys, r->after_msg, sizeof(r->after_msg));
out:
	r->total = cli_now() - t0;
	return err;
}

/* Anything left alive once every process has exited. */
static unsigned long leftovers(const struct avm_stats *s)
{
	return s->mms + s->vmas + s->anon_vmas + s->avcs + s->frames_used +
	       s->page_tables;
}

static bool run_ok(const struct demo_run *r)
{
	return !r->error[0] && !r->bad_pages && !r->check_rc &&
	       !r->after_check_rc && !leftovers(&r->after);
}

/* ---- output ---------------------------------------------------------------- */

static double ratio(double a, double b)
{
	return b ? a / b : 0;
}

/* Per-operation cost of a phase, "" when it has no natural unit. */
static const char *phase_per(const struct demo_run *r, enum phase ph,
			     char *buf, size_t len)
{
	double s = r->t[ph];
	unsigned long n = 0;
	const char *unit = NULL;
	bool us = false;

	switch (ph) {
	case PH_FORK:	n = r->wr.forks; unit = "child"; us = true; break;
	case PH_COW:	n = r->o->children * r->o->pages; unit = "page"; break;
	case PH_WALK:	n = r->walk.walks; unit = "walk"; break;
	case PH_VERIFY:	n = r->verified; unit = "page"; break;
	case PH_CHECK:	n = r->peak.frames_used; unit = "frame"; break;
	case PH_EXIT:	n = r->wr.forks + 1; unit = "process"; us = true; break;
	default:	break;
	}
	if (!unit || !n)
		return "";
	if (us)
		snprintf(buf, len, "%10.1f us per %s", s * 1e6 / (double)n, unit);
	else
		snprintf(buf, len, "%10.1f ns per %s", s * 1e9 / (double)n, unit);
	return buf;
}

static void print_text(const struct demo_run *r)
{
	const struct demo_opts *o = r->o;
	const struct avm_stats *s = &r->peak;
	const struct avm_sizes *z = &r->sizes;
	double n = (double)o->children;
	char buf[64];

	printf("anonvm demo: 1 parent maps %lu pages and writes them, forks %lu "
	       "children,\n"
	       "each child writes all %lu pages (copy-on-write); then one rmap "
	       "walk per frame.\n", o->pages, o->children, o->pages);
	printf("design %s, payload %s\n\n", o->design,
	       o->payload == AVM_PAYLOAD_FULL ? "full (4096 bytes per frame)"
					      : "none (metadata only)");

	printf("live objects after the COW writes\n");
	printf("  %-18s %12lu\n", "processes", s->mms);
	printf("  %-18s %12lu\n", "VMAs", s->vmas);
	printf("  %-18s %12lu\n", "anon_vmas", s->anon_vmas);
	printf("  %-18s %12lu\n", "anon_vma_chains", s->avcs);
	printf("  %-18s %12lu\n", "frames", s->frames_used);
	printf("  %-18s %12lu\n", "page tables", s->page_tables);
	printf("  %-18s %12lu   (%.2f per frame)\n", "rmap bytes",
	       s->rmap_bytes, ratio((double)s->rmap_bytes, (double)s->frames_used));
	printf("  %-18s %12lu   (%lu copied, %lu reused)\n", "COW faults",
	       s->cow_copies + s->cow_reuses, s->cow_copies, s->cow_reuses);
	printf("  %-18s %12lu   (%lu per-VMA lock; mmap_lock: %lu lookup/lock "
	       "failed, %lu no anon_vma; %lu retried)\n", "faults", s->faults,
	       s->vma_lock_faults, s->vma_lock_miss, s->vma_lock_no_anon,
	       s->vma_lock_retries);
	printf("\nstruct sizes (bytes): page %zu, vma %zu, anon_vma %zu, "
	       "anon_vma_chain %zu, mm %zu\n", z->page, z->vma, z->anon_vma,
	       z->avc, z->mm);

	printf("\nrmap walk over every frame\n");
	printf("  %-18s %12lu\n", "walks", r->walk.walks);
	printf("  %-18s %12lu   %8.3f per walk\n", "VMAs visited",
	       r->walk.visits, ratio((double)r->walk.visits, (double)r->walk.walks));
	printf("  %-18s %12lu   %8.3f per walk\n", "hits", r->walk.hits,
	       ratio((double)r->walk.hits, (double)r->walk.walks));
	printf("  (anon_vma_chain expectation: (2N + 1) / (N + 1) = %.3f visits "
	       "per walk;\n   one anon_vma per fork family: N + 1 = %.0f for "
	       "every page)\n", (2 * n + 1) / (n + 1), n + 1);

	printf("\ntime\n");
	for (int ph = 0; ph < NR_PHASES; ph++)
		printf("  %-12s %12.3f ms   %s\n", phase_name[ph], r->t[ph] * 1e3,
		       phase_per(r, (enum phase)ph, buf, sizeof(buf)));
	printf("  %-12s %12.3f ms\n", "total", r->total * 1e3);

	printf("\nverify: ");
	if (r->bad_pages)
		printf("FAILED: %lu of %lu pages wrong; first: %s\n",
		       r->bad_pages, r->verified, r->verify_msg);
	else
		printf("OK (%lu pages present, mapped once, right contents; "
		       "each child's\n        pages are its own writable "
		       "frames)\n", r->verified);
	printf("check:  %s%s\n", r->check_rc ? "FAILED: " : "OK (every invariant "
	       "holds)", r->check_rc ? r->check_msg : "");
	printf("exit:   ");
	if (r->after_check_rc)
		printf("check FAILED after exit: %s\n", r->after_msg);
	else if (leftovers(&r->after))
		printf("LEAK: %lu processes, %lu VMAs, %lu anon_vmas, %lu avcs, "
		       "%lu frames, %lu page tables still alive\n", r->after.mms,
		       r->after.vmas, r->after.anon_vmas, r->after.avcs,
		       r->after.frames_used, r->after.page_tables);
	else
		printf("OK (nothing left alive)\n");
}

static json_t *json_stats(const struct avm_stats *s)
{
	return json_pack("{sI sI sI sI sI sI sI sI}",
			 "processes", (json_int_t)s->mms,
			 "vmas", (json_int_t)s->vmas,
			 "anon_vmas", (json_int_t)s->anon_vmas,
			 "avcs", (json_int_t)s->avcs,
			 "rmap_objects", (json_int_t)s->rmap_objects,
			 "frames", (json_int_t)s->frames_used,
			 "page_tables", (json_int_t)s->page_tables,
			 "rmap_bytes", (json_int_t)s->rmap_bytes);
}

static int print_json(const struct demo_run *r)
{
	const struct demo_opts *o = r->o;
	const struct avm_stats *s = &r->peak;
	const struct avm_sizes *z = &r->sizes;
	json_t *top = json_object(), *t = json_object(), *per = json_object();
	double n = (double)o->children;
	int rc = 0;

	if (!top || !t || !per) {
		json_decref(top);
		json_decref(t);
		json_decref(per);
		return -1;
	}
	for (int ph = 0; ph < NR_PHASES; ph++)
		json_object_set_new(t, phase_key[ph], json_real(r->t[ph] * 1e3));
	json_object_set_new(t, "total", json_real(r->total * 1e3));
	if (r->wr.forks)
		json_object_set_new(per, "fork_us_per_child",
				    json_real(r->t[PH_FORK] * 1e6 / (double)r->wr.forks));
	if (o->children)
		json_object_set_new(per, "cow_ns_per_page",
				    json_real(r->t[PH_COW] * 1e9 / (n * (double)o->pages)));
	if (r->walk.walks)
		json_object_set_new(per, "walk_ns_per_walk",
				    json_real(r->t[PH_WALK] * 1e9 / (double)r->walk.walks));
	json_object_set_new(per, "exit_us_per_process",
			    json_real(r->t[PH_EXIT] * 1e6 / (double)(r->wr.forks + 1)));

	json_object_set_new(top, "workload", json_pack("{si sI sI ss ss}",
		"parents", 1, "children", (json_int_t)o->children,
		"pages", (json_int_t)o->pages, "design", o->design,
		"payload", o->payload == AVM_PAYLOAD_FULL ? "full" : "none"));
	json_object_set_new(top, "objects", json_stats(s));
	json_object_set_new(top, "events", json_pack("{sI sI sI sI sI sI}",
		"forks", (json_int_t)s->forks, "faults", (json_int_t)s->faults,
		"anon_faults", (json_int_t)s->anon_faults,
		"zero_faults", (json_int_t)s->zero_faults,
		"cow_copies", (json_int_t)s->cow_copies,
		"cow_reuses", (json_int_t)s->cow_reuses));
	json_object_set_new(top, "fault_locks", json_pack("{sI sI sI sI}",
		"vma_lock", (json_int_t)s->vma_lock_faults,
		"mmap_lock_lookup_failed", (json_int_t)s->vma_lock_miss,
		"mmap_lock_no_anon_vma", (json_int_t)s->vma_lock_no_anon,
		"retries", (json_int_t)s->vma_lock_retries));
	json_object_set_new(top, "sizes", json_pack("{sI sI sI sI sI}",
		"page", (json_int_t)z->page, "vma", (json_int_t)z->vma,
		"anon_vma", (json_int_t)z->anon_vma, "avc", (json_int_t)z->avc,
		"mm", (json_int_t)z->mm));
	json_object_set_new(top, "walk", json_pack("{sI sI sI sf sf sf}",
		"walks", (json_int_t)r->walk.walks,
		"visits", (json_int_t)r->walk.visits,
		"hits", (json_int_t)r->walk.hits,
		"visits_per_walk", ratio((double)r->walk.visits, (double)r->walk.walks),
		"hits_per_walk", ratio((double)r->walk.hits, (double)r->walk.walks),
		"chain_expectation", (2 * n + 1) / (n + 1)));
	json_object_set_new(top, "time_ms", t);
	json_object_set_new(top, "per_operation", per);
	json_object_set_new(top, "verify", json_pack("{sb sI sI}",
		"ok", !r->bad_pages, "pages", (json_int_t)r->verified,
		"bad_pages", (json_int_t)r->bad_pages));
	if (r->bad_pages)
		json_object_set_new(json_object_get(top, "verify"), "first",
				    json_string(r->verify_msg));
	json_object_set_new(top, "check", json_pack("{sb}", "ok", !r->check_rc));
	if (r->check_rc)
		json_object_set_new(json_object_get(top, "check"), "message",
				    json_string(r->check_msg));
	json_object_set_new(top, "after_exit", json_stats(&r->after));
	json_object_set_new(json_object_get(top, "after_exit"), "check_ok",
			    json_boolean(!r->after_check_rc));
	if (r->after_check_rc)
		json_object_set_new(json_object_get(top, "after_exit"), "message",
				    json_string(r->after_msg));
	if (o->lockstat)
		json_object_set_new(top, "lockstat", lockstat_report_json());
	json_object_set_new(top, "ok", json_boolean(run_ok(r)));
	if (json_dumpf(top, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	else
		rc = -1;
	json_decref(top);
	return rc;
}

/* ---- driver ---------------------------------------------------------------- */

/*
 * Bytes the run will touch: per frame a struct page (64), a PTE (8), the
 * payload if any, and slack; per process the mm, four levels of 4 KiB page
 * tables (one more PTE table per 512 pages), the VMA and its chain.
 */
static int memory_fits(const struct demo_opts *o)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	double procs = (double)o->children + 1;
	double frames = procs * (double)o->pages;
	double need = frames * (96 + (o->payload == AVM_PAYLOAD_FULL ?
				     AVM_PAGE_SIZE : 0)) +
		      procs * ((5 + (double)o->pages / 512) * 4200 + 1024);
	double have = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;

	if (!have || need <= have * 0.8)
		return 0;
	fprintf(stderr, "anonvm demo: cannot run here: %lu children x %lu "
		"pages need about %.1f GiB, this machine has %.1f GiB%s\n",
		o->children, o->pages, need / (1 << 30), have / (1 << 30),
		o->payload == AVM_PAYLOAD_FULL ? " (try --payload none)" : "");
	return -1;
}

int cmd_demo(int argc, char **argv)
{
	struct demo_opts o;
	struct demo_run r;
	int rc = demo_args(argc, argv, &o), err;

	if (rc >= 0)
		return rc;
	if (memory_fits(&o))
		return EXIT_SKIP;
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.progress = cli_progress_wanted();
	if (o.lockstat && lockstat_report_start("demo"))
		return EXIT_USAGE;
	err = demo_run(&r);
	wl_teardown(&r.wr);
	if (o.lockstat)
		avm_lockstat_enable(false);	/* what the run took */
	if (err) {
		fprintf(stderr, "anonvm demo: %s\n", r.error);
		return EXIT_PROBLEM;
	}
	if (o.json ? print_json(&r) : (print_text(&r), 0)) {
		fprintf(stderr, "anonvm demo: cannot write the JSON output\n");
		return EXIT_PROBLEM;
	}
	if (o.lockstat && !o.json)
		lockstat_report_text(stdout);
	if (!run_ok(&r)) {
		fprintf(stderr, "anonvm demo: the run found a problem (see above)\n");
		return EXIT_PROBLEM;
	}
	return 0;
}
