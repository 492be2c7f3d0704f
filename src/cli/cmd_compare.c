/* SPDX-License-Identifier: MIT */
/*
 * anonvm compare: every workload (src/workload/) on every reverse-map
 * design, one table per workload (or one JSON object), so that the claims
 * of the seed texts can be read off the numbers.  --sweep runs them at
 * several sizes and fits growth exponents (compare_sweep.c); --plot draws
 * the figures (compare_plot.c).  Each cell runs in a fresh system,
 * metadata only (AVM_PAYLOAD_NONE).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <malloc.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/lockstat_report.h"
#include "cli/compare.h"

static void compare_usage(FILE *f)
{
	const struct workload *const *w;

	fprintf(f,
"usage: anonvm compare [--workload W]... [--scenario FILE]... [--design D]...\n"
"                      [SIZE OPTIONS]\n"
"                      [--walk-budget SEC] [--check] [--json]\n"
"                      [--sweep N1,N2,...] [--plot DIR]\n"
"\n"
"Runs each workload on each reverse-map design (each in a fresh system,\n"
"metadata only) and prints one table per workload: a row per design, a\n"
"column per metric.  Without --workload every workload runs; without\n"
"--design every design does (unsafe ones too, marked '!'), but the race\n"
"variants (which measure as their originals).\n"
"\n"
"Workloads:\n");
	for (w = wl_all(); *w; w++)
		fprintf(f, "  %-18s %s\n", (*w)->name, (*w)->summary);
	fprintf(f, "\nSizes:\n");
	for (w = wl_all(); *w; w++)
		for (const struct wl_param *p = (*w)->params; p->key; p++) {
			char opt[40];

			snprintf(opt, sizeof(opt), "%s N", p->option);
			fprintf(f, "  %-21s %s (default %lu)\n", opt, p->help,
				p->def);
		}
	fprintf(f,
"\n"
"  --scenario FILE       one more workload, named file:BASENAME: FILE (a\n"
"                        recording of `anonvm record`) replayed up to its\n"
"                        peak, the first exit while the most processes\n"
"                        are alive (--BASENAME-statements N: the first N\n"
"                        statements), and measured there\n"
"  --walk-budget SEC     walking time per cell (default 2): frames are\n"
"                        walked in an evenly spread order until all are\n"
"                        done or the time is up; 0: walk every frame\n"
"  --check               run the invariant checker at the end of each cell\n"
"  --json                one JSON object instead of the tables:\n"
"                        {\"workloads\": {W: {D: {METRIC: number}}}, ...}\n"
"  --sweep N1,N2,...     run each workload with its size parameter (below)\n"
"                        set to each N in turn, and print every metric per\n"
"                        design per size and its fitted growth exponent k\n"
"                        (metric ~ N^k, least squares on log-log); with\n"
"                        --json: {\"sweep\": ...}\n"
"  --lockstat            lock statistics of the whole run, per lock class:\n"
"                        acquisitions, contentions, total and longest wait\n"
"                        and hold times (timing every lock slows the run;\n"
"                        with --sweep: text only)\n"
"  --plot DIR            also write figures (SVG and PNG, with gnuplot)\n"
"                        and their data into DIR: anon_vmas per generation\n"
"                        (fork-chain), visits per walk and rmap bytes\n"
"                        against children (forking-server, log-log), walk\n"
"                        cost against rmap bytes per design\n"
"  --help                this text\n"
"\n"
"Size parameters (--sweep):");
	for (w = wl_all(); *w; w++)
		fprintf(f, " %s%s", (*w)->params[(*w)->size_param].option,
			w[1] ? "," : "\n");
	fprintf(f,
"\n"
"Metrics (per cell; objects and bytes live at the end of the workload):\n"
"  walks                 frames whose reverse map was walked\n"
"  vmas_visited_per_walk VMAs (or PTE slots, mms) a walk examined\n"
"  early_visits_per_walk of those, the ones a kernel walk makes: it stops at\n"
"                        the mapping that uses up the frame's mapcount\n"
"  hits_per_walk         of those, mappings of the frame found\n"
"  visits_per_mapping, early_visits_per_mapping   the same per mapping\n"
"                        found (1 is exact)\n"
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

/* A workload's size option: 1 taken, 0 not this option, -1 bad value. */
static int size_option(int argc, char **argv, int *i, struct cmp_opts *o)
{
	for (int w = 0; w < o->nworkloads; w++) {
		const struct wl_param *p = o->w[w]->params;

		for (int k = 0; p[k].key; k++) {
			bool missing;
			const char *v = cli_opt_value(argc, argv, i, p[k].option,
						      &missing);

			if (!v && !missing)
				continue;
			if (parse_ulong(p[k].option, v, p[k].lo, p[k].hi,
					&o->param[w][k]))
				return -1;
			return 1;
		}
	}
	return 0;
}

static int workload_option(const char *v, struct cmp_opts *o)
{
	for (int w = 0; v && w < o->nworkloads; w++) {
		if (!strcmp(v, o->w[w]->name)) {
			o->want[w] = true;
			return 0;
		}
	}
	fprintf(stderr, "anonvm compare: --workload: expected one of");
	for (int w = 0; w < o->nworkloads; w++)
		fprintf(stderr, " %s", o->w[w]->name);
	fprintf(stderr, "\n");
	return -1;
}

/* --scenario FILE: one more workload, the file replayed (a recording). */
static int scenario_option(const char *v, struct cmp_opts *o)
{
	const struct workload *w;
	char err[512];

	if (!v || !*v) {
		fprintf(stderr, "anonvm compare: --scenario needs a file\n");
		return -1;
	}
	if (o->nworkloads == CMP_MAX_WORKLOADS) {
		fprintf(stderr, "anonvm compare: too many workloads\n");
		return -1;
	}
	w = wl_scenario_load(v, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	o->w[o->nworkloads] = w;
	wl_defaults(w, o->param[o->nworkloads]);
	o->nworkloads++;
	return 0;
}

static int design_option(const char *v, struct cmp_opts *o)
{
	if (!v || !cli_design_known(v)) {
		fprintf(stderr, "anonvm compare: --design: unknown design '%s' "
			"(known:", v ? v : "");
		for (const char *const *d = avm_designs(); *d; d++)
			fprintf(stderr, " %s", *d);
		fprintf(stderr, ")\n");
		return -1;
	}
	if (o->ndesigns == CMP_MAX_DESIGNS) {
		fprintf(stderr, "anonvm compare: too many --design options\n");
		return -1;
	}
	o->design[o->ndesigns++] = v;
	return 0;
}

/* "N1,N2,...": at least two sizes, increasing. */
static int sweep_option(const char *v, struct cmp_opts *o)
{
	char buf[512], *tok, *save;

	if (!v || strlen(v) >= sizeof(buf)) {
		fprintf(stderr, "anonvm compare: --sweep needs sizes N1,N2,...\n");
		return -1;
	}
	strcpy(buf, v);
	o->nsweep = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long n;

		if (o->nsweep == CMP_MAX_SWEEP) {
			fprintf(stderr, "anonvm compare: --sweep: at most %d "
				"sizes\n", CMP_MAX_SWEEP);
			return -1;
		}
		if (parse_ulong("--sweep", tok, 1, 100000000, &n))
			return -1;
		if (o->nsweep && n <= o->sweep[o->nsweep - 1]) {
			fprintf(stderr, "anonvm compare: --sweep: sizes must "
				"increase ('%s' after %lu)\n", tok,
				o->sweep[o->nsweep - 1]);
			return -1;
		}
		o->sweep[o->nsweep++] = n;
	}
	if (o->nsweep < 2) {
		fprintf(stderr, "anonvm compare: --sweep needs at least two "
			"sizes (N1,N2,...)\n");
		return -1;
	}
	return 0;
}

static void set_defaults(struct cmp_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (const struct workload *const *w = wl_all(); *w &&
	     o->nworkloads < CMP_MAX_WORKLOADS; w++) {
		o->w[o->nworkloads] = *w;
		wl_defaults(*w, o->param[o->nworkloads]);
		o->nworkloads++;
	}
	o->walk_budget = 2.0;
}

/* One option at argv[*i]: 0 taken, 1 unknown, EXIT_USAGE bad, -2 help. */
static int one_option(int argc, char **argv, int *i, struct cmp_opts *o)
{
	const char *v;
	bool missing;
	int rc;

	if (!strcmp(argv[*i], "--help") || !strcmp(argv[*i], "-h"))
		return -2;
	if (!strcmp(argv[*i], "--json")) {
		o->json = true;
		return 0;
	}
	if (!strcmp(argv[*i], "--check")) {
		o->check = true;
		return 0;
	}
	if (!strcmp(argv[*i], "--lockstat")) {
		o->lockstat = true;
		return 0;
	}
	if ((v = cli_opt_value(argc, argv, i, "--workload", &missing)) || missing)
		return workload_option(v, o) ? EXIT_USAGE : 0;
	if ((v = cli_opt_value(argc, argv, i, "--scenario", &missing)) || missing)
		return scenario_option(v, o) ? EXIT_USAGE : 0;
	if ((v = cli_opt_value(argc, argv, i, "--design", &missing)) || missing)
		return design_option(v, o) ? EXIT_USAGE : 0;
	if ((v = cli_opt_value(argc, argv, i, "--sweep", &missing)) || missing)
		return sweep_option(v, o) ? EXIT_USAGE : 0;
	if ((v = cli_opt_value(argc, argv, i, "--plot", &missing)) || missing) {
		if (!v || !*v) {
			fprintf(stderr, "anonvm compare: --plot needs a "
				"directory\n");
			return EXIT_USAGE;
		}
		o->plot_dir = v;
		return 0;
	}
	if ((v = cli_opt_value(argc, argv, i, "--walk-budget", &missing)) ||
	    missing) {
		char *end;

		o->walk_budget = v ? strtod(v, &end) : -1;
		if (!v || *end || !(o->walk_budget >= 0) || o->walk_budget > 1e6) {
			fprintf(stderr, "anonvm compare: --walk-budget needs "
				"seconds (0: unlimited)\n");
			return EXIT_USAGE;
		}
		return 0;
	}
	rc = size_option(argc, argv, i, o);
	return rc < 0 ? EXIT_USAGE : rc ? 0 : 1;
}

/* -1: go on; otherwise the exit status. */
static int compare_args(int argc, char **argv, struct cmp_opts *o)
{
	bool any_workload = false;

	set_defaults(o);
	for (int i = 1; i < argc; i++) {
		int rc = one_option(argc, argv, &i, o);

		if (rc == -2) {
			compare_usage(stdout);
			return 0;
		}
		if (rc == EXIT_USAGE)
			return rc;
		if (rc == 0)
			continue;
		fprintf(stderr, "anonvm compare: unknown %s '%s'\n",
			argv[i][0] == '-' ? "option" : "argument", argv[i]);
		fprintf(stderr, "Try 'anonvm compare --help'.\n");
		return EXIT_USAGE;
	}
	for (int w = 0; w < o->nworkloads; w++)
		any_workload |= o->want[w];
	if (!any_workload)
		for (int w = 0; w < o->nworkloads; w++)
			o->want[w] = true;
	if (!o->ndesigns)	/* a race variant measures as its original */
		for (const char *const *d = avm_designs(); *d &&
		     o->ndesigns < CMP_MAX_DESIGNS; d++)
			if (!avm_design_race_variant(*d))
				o->design[o->ndesigns++] = *d;
	return -1;
}

/* ---- running ----------------------------------------------------------------- */

static void progress(void *ctx, const struct wl_run *r, const char *phase,
		     unsigned long done, unsigned long total)
{
	fprintf(stderr, "\r\033[Kanonvm compare: %s / %s: %s", r->w->name,
		r->o->design, phase);
	if (total)
		fprintf(stderr, " %lu/%lu", done, total);
	fflush(stderr);
}

int cmp_run_cell(const struct cmp_opts *o, int w, const unsigned long *param,
		 const char *design, bool series, struct wl_result *res)
{
	struct wl_opts wo = {
		.design = design,
		.payload = AVM_PAYLOAD_NONE,
		.walk_budget = o->walk_budget,
		.walk_min = o->walk_min,
		.check = o->check,
		.progress = o->progress ? progress : NULL,
		.series = series,
	};
	int err = wl_run_cell(o->w[w], param, &wo, res);

	if (err) {
		if (o->progress)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr, "anonvm compare: %s on %s: %s\n", o->w[w]->name,
			design, res->error);
	}
	return err;
}

/*
 * The first cell would pay for growing this process's heap (page tables,
 * VMAs and mms are malloc'ed): a fork then cost up to several times what
 * it does in later cells.  A small forking-server run first, not reported,
 * takes that cost, and the heap is not trimmed afterwards.
 */
static void warm_up(const struct cmp_opts *o)
{
	const struct workload *w = wl_find("forking-server");
	struct wl_opts wo = { .design = o->design[0],
			      .payload = AVM_PAYLOAD_NONE,
			      .walk_budget = 0.01 };
	unsigned long param[WL_MAX_PARAMS];
	struct wl_result res;

	/* keep what the warm-up frees for the cells (no trimming) */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	if (!w)
		return;
	memcpy(param, o->param[0], sizeof(param));
	for (int i = 0; i < o->nworkloads; i++)
		if (o->w[i] == w)
			memcpy(param, o->param[i], sizeof(param));
	param[1] = 1;				/* pages */
	if (param[0] > 1000)			/* children */
		param[0] = 1000;
	wl_run_cell(w, param, &wo, &res);
	wl_result_free(&res);
}

/* ---- output ------------------------------------------------------------------ */

static void print_value(enum wl_metric m, double v)
{
	if (wl_metrics[m].prec < 0)
		printf(" %*.0f", wl_metrics[m].width, v);
	else
		printf(" %*.*f", wl_metrics[m].width, wl_metrics[m].prec, v);
}

static void print_table(const struct cmp_opts *o, int w, struct wl_result *cells)
{
	bool show[WL_NR_METRICS];
	bool any_partial = false, any_unsafe = false;
	char what[256];

	wl_describe(o->w[w], o->param[w], what, sizeof(what));
	printf("%s: %s\n", o->w[w]->name, what);
	for (int m = 0; m < WL_NR_METRICS; m++) {
		show[m] = !wl_metrics[m].hide_zero;
		for (int d = 0; d < o->ndesigns && !show[m]; d++)
			show[m] = cells[d].m[m] != 0;
	}
	printf("  %-19s", "design");
	for (int m = 0; m < WL_NR_METRICS; m++)
		if (show[m])
			printf(" %*s", wl_metrics[m].width, wl_metrics[m].head);
	printf("\n");
	for (int d = 0; d < o->ndesigns; d++) {
		struct wl_result *c = &cells[d];
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
		for (int m = 0; m < WL_NR_METRICS; m++)
			if (show[m])
				print_value((enum wl_metric)m, c->m[m]);
		if (!c->all_walked) {
			printf(" *");
			any_partial = true;
		}
		printf("\n");
	}
	if (any_partial && !strcmp(o->w[w]->name, "contention"))
		printf("  * the measured time ended before every frame was "
		       "walked: walks over an evenly spread sample\n");
	else if (any_partial)
		printf("  * walk budget (%.3g s) spent: walks over an evenly spread "
		       "sample of the frames\n", o->walk_budget);
	if (any_unsafe)
		printf("  ! unsafe design (known broken, kept for study)\n");
	printf("\n");
}

json_t *cmp_json_metrics(const struct wl_result *c)
{
	json_t *cell = json_object();

	for (int m = 0; cell && m < WL_NR_METRICS; m++)
		json_object_set_new(cell, wl_metrics[m].key,
				    wl_metrics[m].prec < 0 ?
				    json_integer((json_int_t)c->m[m]) :
				    json_real(c->m[m]));
	return cell;
}

json_t *cmp_json_params(const struct cmp_opts *o)
{
	json_t *params = json_object();

	for (int w = 0; params && w < o->nworkloads; w++) {
		json_t *p = json_object();

		for (int k = 0; o->w[w]->params[k].key; k++)
			json_object_set_new(p, o->w[w]->params[k].key,
					    json_integer((json_int_t)
							 o->param[w][k]));
		json_object_set_new(params, o->w[w]->name, p);
	}
	json_object_set_new(params, "walk_budget_s", json_real(o->walk_budget));
	return params;
}

json_t *cmp_json_unsafe(const struct cmp_opts *o)
{
	json_t *unsafe = json_array();

	for (int d = 0; unsafe && d < o->ndesigns; d++)
		if (avm_design_unsafe(o->design[d]))
			json_array_append_new(unsafe, json_string(o->design[d]));
	return unsafe;
}

int cmp_json_dump(json_t *top)
{
	int rc = 0;

	if (top && json_dumpf(top, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	else
		rc = -1;
	json_decref(top);
	return rc;
}

static int print_json(const struct cmp_opts *o,
		      struct wl_result (*cells)[CMP_MAX_DESIGNS])
{
	json_t *top = json_object(), *ws = json_object(), *errs = json_object();

	if (!top || !ws || !errs) {
		json_decref(top);
		json_decref(ws);
		json_decref(errs);
		return -1;
	}
	for (int w = 0; w < o->nworkloads; w++) {
		const char *wn = o->w[w]->name;
		json_t *row;

		if (!o->want[w])
			continue;
		row = json_object();
		for (int d = 0; d < o->ndesigns; d++) {
			struct wl_result *c = &cells[w][d];

			if (c->error[0]) {
				json_t *e = json_object_get(errs, wn);

				if (!e) {
					e = json_object();
					json_object_set_new(errs, wn, e);
				}
				json_object_set_new(e, o->design[d],
						    json_string(c->error));
				continue;
			}
			json_object_set_new(row, o->design[d],
					    cmp_json_metrics(c));
		}
		json_object_set_new(ws, wn, row);
	}
	json_object_set_new(top, "workloads", ws);
	json_object_set_new(top, "parameters", cmp_json_params(o));
	json_object_set_new(top, "unsafe_designs", cmp_json_unsafe(o));
	if (o->lockstat)
		json_object_set_new(top, "lockstat", lockstat_report_json());
	if (json_object_size(errs))
		json_object_set_new(top, "errors", errs);
	else
		json_decref(errs);
	return cmp_json_dump(top);
}

/* ---- driver -------------------------------------------------------------------- */

static void print_header(const struct cmp_opts *o)
{
	int nw = 0;

	for (int w = 0; w < o->nworkloads; w++)
		nw += o->want[w];
	printf("anonvm compare: %d workload%s x %d design%s (metadata only; "
	       "fork-tree seed %lu)\n\n", nw, nw == 1 ? "" : "s", o->ndesigns,
	       o->ndesigns == 1 ? "" : "s", cmp_param(o, "fork-tree", "seed"));
	fflush(stdout);
}

unsigned long cmp_param(const struct cmp_opts *o, const char *wname,
			const char *key)
{
	for (int w = 0; w < o->nworkloads; w++) {
		if (strcmp(o->w[w]->name, wname))
			continue;
		for (int k = 0; o->w[w]->params[k].key; k++)
			if (!strcmp(o->w[w]->params[k].key, key))
				return o->param[w][k];
	}
	return 0;
}

static void free_scenarios(struct cmp_opts *o)
{
	for (int w = 0; w < o->nworkloads; w++)
		wl_scenario_free(o->w[w]);	/* ignores the built-in ones */
}

int cmd_compare(int argc, char **argv)
{
	static struct wl_result cells[CMP_MAX_WORKLOADS][CMP_MAX_DESIGNS];
	struct cmp_opts o;
	int rc = compare_args(argc, argv, &o), failed = 0;
	bool skipped = false;
	double t0 = cli_now();

	if (rc >= 0) {
		free_scenarios(&o);
		return rc;
	}
	o.progress = cli_progress_wanted();
	if (!o.json && !o.nsweep)
		print_header(&o);
	warm_up(&o);
	if (o.lockstat && lockstat_report_start("compare")) {
		free_scenarios(&o);
		return EXIT_USAGE;
	}
	if (o.nsweep) {
		rc = cmp_sweep(&o);
		if (o.lockstat && !o.json)
			lockstat_report_text(stdout);
		free_scenarios(&o);
		return rc;
	}
	for (int w = 0; w < o.nworkloads; w++) {
		if (!o.want[w])
			continue;
		for (int d = 0; d < o.ndesigns; d++)
			failed += !!cmp_run_cell(&o, w, o.param[w], o.design[d],
						 o.plot_dir != NULL, &cells[w][d]);
		if (o.progress)
			fprintf(stderr, "\r\033[K");
		if (!o.json) {
			print_table(&o, w, cells[w]);
			fflush(stdout);
		}
	}
	if (o.json && print_json(&o, cells)) {
		fprintf(stderr, "anonvm compare: cannot write the JSON output\n");
		failed++;
	}
	if (o.plot_dir) {
		int prc = cmp_plot(&o, cells);

		if (prc < 0)
			failed++;
		else if (prc > 0 && !failed)
			skipped = true;		/* no gnuplot: exit 77 */
	}
	if (o.lockstat && !o.json)
		lockstat_report_text(stdout);
	if (!o.json)
		printf("total %.1f s\n", cli_now() - t0);
	for (int w = 0; w < o.nworkloads; w++)
		for (int d = 0; d < o.ndesigns; d++)
			wl_result_free(&cells[w][d]);
	free_scenarios(&o);
	return failed ? EXIT_PROBLEM : skipped ? EXIT_SKIP : 0;
}
