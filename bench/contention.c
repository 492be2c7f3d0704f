/* SPDX-License-Identifier: MIT */
/*
 * The contention workload (src/workload/contention.c) as a benchmark:
 * each design R times at each size N (fresh system each, metadata only),
 * and the median of its timed metrics - walks/s, the family lock's hold
 * and wait per walk, its hold fraction, the two 64-CPU predictions -
 * where `anonvm compare --workload contention` shows a single run.
 *
 * Usage: contention [--design D]... [--children N]... [--reps R] [--ms T]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "anonvm/anonvm.h"
#include "workload/workload.h"
#include "bench.h"

#define MAX_SEL	32

static const enum wl_metric timed[] = {
	WL_WALKS_S, WL_HOLD_WALK, WL_WAIT_WALK, WL_XHOLD_FORK, WL_HOLD_FRAC,
	WL_PRED_X, WL_PRED_RW,
};
#define NR_TIMED	(sizeof(timed) / sizeof(timed[0]))

static void usage(void)
{
	fprintf(stderr, "usage: contention [--design D]... [--children N]... "
		"[--reps R] [--ms T]\n");
	exit(2);
}

static int bench_one(const struct workload *w, const unsigned long *param,
		     const char *design, int reps)
{
	struct wl_opts o = { .design = design, .payload = AVM_PAYLOAD_NONE };
	double v[NR_TIMED][64], visits = 0;

	for (int r = 0; r < reps; r++) {
		struct wl_result res;

		if (wl_run_cell(w, param, &o, &res)) {
			fprintf(stderr, "contention: %s: %s\n", design,
				res.error);
			return -1;
		}
		for (size_t m = 0; m < NR_TIMED; m++)
			v[m][r] = res.m[timed[m]];
		visits = res.m[WL_VISITS];
		wl_result_free(&res);
	}
	printf("  %-18s %6lu %9.1f", design, param[w->size_param], visits);
	for (size_t m = 0; m < NR_TIMED; m++)
		printf(m == 4 ? " %10.3f" : " %10.0f", bench_median(v[m], reps));
	printf("\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct workload *w = wl_find("contention");
	const char *dsel[MAX_SEL];
	unsigned long nsel[MAX_SEL], ms = 500, param[WL_MAX_PARAMS];
	int nd = 0, nn = 0, reps = 5, failed = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--design") && nd < MAX_SEL)
			dsel[nd++] = argv[++i];
		else if (!strcmp(argv[i], "--children") && nn < MAX_SEL)
			nsel[nn++] = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps"))
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ms"))
			ms = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!w || reps < 1 || reps > 64 || ms < 1)
		usage();
	if (!nd)
		for (const char *const *d = avm_designs(); *d && nd < MAX_SEL; d++)
			dsel[nd++] = *d;
	if (!nn)
		nsel[nn++] = 1000;
	wl_defaults(w, param);
	param[wl_param_index(w, "ms")] = ms;
	printf("contention: medians of %d runs of %lu ms, 1 walker + 1 "
	       "forker, 64 pages\n", reps, ms);
	printf("  %-18s %6s %9s %10s %10s %10s %10s %10s %10s %10s\n",
	       "design", "N", "VMAs/walk", "walks/s", "hold/walk",
	       "wait/walk", "xhold/fork", "hold_frac", "64cpu_excl",
	       "64cpu_rw");
	for (int k = 0; k < nn; k++)
		for (int d = 0; d < nd; d++) {
			param[w->size_param] = nsel[k];
			failed += !!bench_one(w, param, dsel[d], reps);
		}
	return failed ? 1 : 0;
}
