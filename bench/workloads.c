/* SPDX-License-Identifier: MIT */
/*
 * The seeds' workloads (src/workload/) as a benchmark: each workload on
 * each design R times (fresh system each, metadata only, every frame
 * walked), and the median and minimum of its timed metrics - walk, fork
 * and exit cost and the whole run - where `anonvm compare` shows a single
 * run within a walk budget.  The counted metrics (visits, anon_vmas, ...)
 * do not vary between repetitions; they are compare's business.
 *
 * Usage: workloads [--workload W]... [--design D]... [--reps R] [--scale K]
 *
 * --scale K divides every workload's size parameter by K (default 10, so
 * that the 2004 list design's O(N) walks finish; 1 is compare's default
 * size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "anonvm/anonvm.h"
#include "workload/workload.h"
#include "bench.h"

#define MAX_SEL	32

static const enum wl_metric timed[] = {
	WL_NS_WALK, WL_FORK_NS, WL_EXIT_NS, WL_WALL,
};
#define NR_TIMED	(sizeof(timed) / sizeof(timed[0]))

static void usage(void)
{
	fprintf(stderr, "usage: workloads [--workload W]... [--design D]... "
		"[--reps R] [--scale K]\n");
	exit(2);
}

/* Run w on design reps times; print a row of medians (and minima). */
static int bench_one(const struct workload *w, const unsigned long *param,
		     const char *design, int reps)
{
	struct wl_opts o = { .design = design, .payload = AVM_PAYLOAD_NONE };
	double v[NR_TIMED][64];

	for (int r = 0; r < reps; r++) {
		struct wl_result res;

		if (wl_run_cell(w, param, &o, &res)) {
			fprintf(stderr, "workloads: %s on %s: %s\n", w->name,
				design, res.error);
			return -1;
		}
		for (size_t m = 0; m < NR_TIMED; m++)
			v[m][r] = res.m[timed[m]];
		wl_result_free(&res);
	}
	printf("  %-19s", design);
	for (size_t m = 0; m < NR_TIMED; m++) {
		qsort(v[m], (size_t)reps, sizeof(double), bench_cmp_double);
		printf(" %12.*f %10.*f", m == 3 ? 3 : 0,
		       reps % 2 ? v[m][reps / 2] :
		       (v[m][reps / 2 - 1] + v[m][reps / 2]) / 2,
		       m == 3 ? 3 : 0, v[m][0]);
	}
	printf("\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *wsel[MAX_SEL], *dsel[MAX_SEL];
	int nw = 0, nd = 0, reps = 5, failed = 0;
	unsigned long scale = 10;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--workload") && nw < MAX_SEL)
			wsel[nw++] = argv[++i];
		else if (!strcmp(argv[i], "--design") && nd < MAX_SEL)
			dsel[nd++] = argv[++i];
		else if (!strcmp(argv[i], "--reps"))
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--scale"))
			scale = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (reps < 1 || reps > 64 || scale < 1)
		usage();
	for (int k = 0; k < nw; k++)
		if (!wl_find(wsel[k])) {
			fprintf(stderr, "workloads: no workload '%s'\n", wsel[k]);
			return 2;
		}
	if (!nd)
		for (const char *const *d = avm_designs(); *d && nd < MAX_SEL; d++)
			dsel[nd++] = *d;
	printf("workloads: medians (and minima) of %d runs, sizes / %lu, "
	       "metadata only, every frame walked\n", reps, scale);
	for (const struct workload *const *w = wl_all(); *w; w++) {
		unsigned long param[WL_MAX_PARAMS];
		const struct wl_param *sp = &(*w)->params[(*w)->size_param];
		char what[256];
		bool want = !nw;

		for (int k = 0; k < nw; k++)
			want |= !strcmp(wsel[k], (*w)->name);
		if (!want)
			continue;
		wl_defaults(*w, param);
		param[(*w)->size_param] /= scale;
		if (param[(*w)->size_param] < sp->lo)
			param[(*w)->size_param] = sp->lo;
		(*w)->describe(param, what, sizeof(what));
		printf("\n%s: %s\n  %-19s %23s %23s %23s %23s\n", (*w)->name, what,
		       "design", "ns per walk", "ns per fork", "ns per exit",
		       "s per run");
		printf("  %-19s", "");
		for (size_t m = 0; m < NR_TIMED; m++)
			printf(" %12s %10s", "median", "min");
		printf("\n");
		for (int d = 0; d < nd; d++)
			failed += !!bench_one(*w, param, dsel[d], reps);
	}
	return failed ? 1 : 0;
}
