/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor with many VMAs (issue 15, item 3): one process
 * maps N one-page VMAs with a one-page gap between them (so none merge),
 * writes a byte to each, then a `check`; so two snapshots (the check and
 * the end) of N VMAs with one present page each.  Prints the median wall
 * time of scn_run_native over the repetitions, and how many mmaps the
 * kernel refused (ENOMEM once the process reaches vm.max_map_count, which
 * also counts the worker's own mappings).
 *
 * Usage: native_vmas [--vmas N[,N...]] [--reps R]
 * (default --vmas 2000,8000,66000 --reps 3).  Needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenario/scenario.h"
#include "bench.h"

#define BASE	0x140000000000ULL

/* The scenario text for n VMAs (malloc'd). */
static char *make_text(long n)
{
	size_t cap = 64 + (size_t)n * 80, len = 0;
	char *t = malloc(cap);

	if (!t)
		return NULL;
	len += (size_t)snprintf(t + len, cap - len, "spawn P\n");
	for (long i = 0; i < n; i++) {
		unsigned long long a = BASE + (unsigned long long)i * 2 * SCN_PAGE_SIZE;

		len += (size_t)snprintf(t + len, cap - len,
					"P mmap 0x%llx 1 rw\n"
					"P write 0x%llx 1\n", a, a);
	}
	snprintf(t + len, cap - len, "check\n");
	return t;
}

static int run_one(long n, int reps)
{
	char err[512];
	struct scenario *s;
	struct scn_trace t;
	double *secs = calloc((size_t)reps, sizeof(*secs));
	char *text = make_text(n);
	long refused = 0, vmas = 0;
	int rc = 0;

	if (!secs || !text || scn_parse_string("native_vmas", text, &s, err,
					       sizeof(err))) {
		fprintf(stderr, "native_vmas: %s\n", text && secs ? err :
			"out of memory");
		free(secs);
		free(text);
		return 1;
	}
	for (int r = 0; r < reps && !rc; r++) {
		double t0 = bench_now();

		rc = scn_run_native(s, &t, err, sizeof(err));
		secs[r] = bench_now() - t0;
		if (rc) {
			fprintf(stderr, "native_vmas: %ld VMAs: %s\n", n, err);
		} else {
			refused = 0;
			for (int i = 0; i < t.nresults; i++)
				refused += s->stmts[i].op == SCN_MMAP &&
					   t.results[i].err == ENOMEM;
			vmas = t.nsnaps && t.snaps[0].nprocs ?
			       t.snaps[0].procs[0].nvmas : 0;
		}
		scn_trace_free(&t);
	}
	if (!rc) {
		qsort(secs, (size_t)reps, sizeof(*secs), bench_cmp_double);
		printf("%6ld VMAs asked: %6ld in the window, %6ld mmaps ENOMEM, "
		       "median %.3f s (min %.3f, max %.3f, %d runs)\n", n, vmas,
		       refused, secs[reps / 2], secs[0], secs[reps - 1], reps);
	}
	scn_free(s);
	free(secs);
	free(text);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *list = "2000,8000,66000";
	int reps = 3, status = 0;
	char *copy, *tok, *save;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vmas") && i + 1 < argc) {
			list = argv[++i];
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: native_vmas [--vmas N[,N...]] "
				"[--reps R]\n");
			return 2;
		}
	}
	if (reps < 1 || geteuid() != 0) {
		fprintf(stderr, "native_vmas: %s\n", reps < 1 ? "--reps must be >= 1"
			: "needs root (the kernel executor)");
		return reps < 1 ? 2 : 77;
	}
	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		status |= run_one(atol(tok), reps);
	free(copy);
	return status;
}
