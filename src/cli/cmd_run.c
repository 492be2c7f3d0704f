/* SPDX-License-Identifier: MIT */
/*
 * anonvm run FILE...: run scenarios on the library; the invariant checker
 * runs at every `check` and at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/lockstat_report.h"
#include "cli/report.h"
#include "scenario/scenario.h"

struct run_opts {
	struct scn_lib_opts lib;
	bool verbose, quiet, json, stats, seeded, lockstat;
	uint64_t nth;		/* files run so far: file k's failures use
				   seed + k */
	struct avm_stats st;
	json_t *out;		/* --json: one object per file */
	char **files;
	int nfiles;
};

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm run [--design NAME] [--nodes N] [--payload none]\n"
		"                  [--fail-rate P [--seed S]] [--max-map-count N]\n"
		"                  [--thp MODE] [--verbose | --quiet] FILE...\n\n"
		"Run each scenario (docs/scenarios.md) on the library.  Every\n"
		"statement must meet its expectation (`!ERRNO` or success; `expect`\n"
		"bytes), and the invariant checker must pass at every `check` and at\n"
		"the end.\n\n"
		"  --design NAME   reverse-map design (`anonvm designs`)\n"
		"  --nodes N       memory nodes (default 2)\n"
		"  --payload none  metadata-only frames (expect/read see zeroes)\n"
		"  --max-map-count N  VMAs a process may have (vm.max_map_count;\n"
		"                  default: the host's, less what an anonvm process\n"
		"                  maps outside the window, as `diff` uses)\n"
		"  --thp MODE      transparent huge pages: never, madvise or always\n"
		"                  (default: the scenario's `thp` line, else the\n"
		"                  host's /sys/kernel/mm/transparent_hugepage/enabled,\n"
		"                  as `native` and `diff` use)\n"
		"  --fail-rate P   fail each allocation of the library with\n"
		"                  probability P (0..1): the checker then runs after\n"
		"                  every statement, and expectations are judged only\n"
		"                  up to the first statement a failure hit\n"
		"  --seed S        seed of those failures (default: from the clock;\n"
		"                  printed); the k-th FILE (from 0) uses S + k\n"
		"  --verbose       print every statement's result and every state\n"
		"  --quiet         print only failures and the summary\n"
		"  --stats         print the library's counters after each scenario\n"
		"                  (faults, COW, rmap walks and visits, reclaim,\n"
		"                  swap, migration, mremap lock decisions)\n"
		"  --lockstat      print the lock statistics after each scenario:\n"
		"                  per lock class acquisitions, contentions, total\n"
		"                  and longest wait and hold times\n"
		"  --json          print one JSON array (an object per file: every\n"
		"                  result and state) instead of text\n\n"
		"Exit status: 0 all passed, 1 a scenario failed, 2 usage or parse\n"
		"error.\n");
}

static int run_args(int argc, char **argv, struct run_opts *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		bool val = i + 1 < argc;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			run_usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--stats")) {
			o->stats = true;
			o->lib.stats = &o->st;
		} else if (!strcmp(a, "--lockstat")) {
			if (lockstat_report_start("run"))
				return -EINVAL;
			o->lockstat = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = true;
		} else if (val && !strcmp(a, "--design")) {
			o->lib.design = argv[++i];
		} else if (val && !strcmp(a, "--payload")) {
			if (strcmp(argv[++i], "none") && strcmp(argv[i], "full")) {
				fprintf(stderr, "anonvm run: --payload is full "
					"or none, not '%s'\n", argv[i]);
				return -EINVAL;
			}
			o->lib.payload_none = !strcmp(argv[i], "none");
		} else if (val && !strcmp(a, "--max-map-count")) {
			uint64_t v;

			if (cli_parse_u64("run", a, argv[++i], 1, UINT32_MAX, &v))
				return -EINVAL;
			o->lib.max_map_count = (unsigned long)v;
		} else if (val && !strcmp(a, "--thp")) {
			int m;

			if (cli_parse_thp("run", argv[++i], &m))
				return -EINVAL;
			o->lib.thp = (enum scn_thp_mode)m;
		} else if (val && !strcmp(a, "--fail-rate")) {
			if (cli_parse_rate("run", a, argv[++i], &o->lib.fail_rate))
				return -EINVAL;
		} else if (val && !strcmp(a, "--seed")) {
			if (cli_parse_u64("run", a, argv[++i], 0, UINT64_MAX,
					  &o->lib.fail_seed))
				return -EINVAL;
			o->seeded = true;
		} else if (val && !strcmp(a, "--nodes")) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			if (*end || n < 1 || n > 64) {
				fprintf(stderr, "anonvm run: --nodes must be "
					"1..64, not '%s'\n", argv[i]);
				return -EINVAL;
			}
			o->lib.nodes = (unsigned int)n;
		} else {
			fprintf(stderr, "anonvm run: unknown option or missing "
				"value: '%s'\n", a);
			return -EINVAL;
		}
	}
	if (cli_take_files("run", argc, argv, i, &o->files, &o->nfiles))
		return -EINVAL;
	return cli_check_design("run", o->lib.design);
}

static int run_one(void *ctx, const struct scenario *s)
{
	struct run_opts *o = ctx;
	struct scn_lib_opts lo = o->lib;
	struct scn_trace t;
	char err[256];
	int rc;

	lo.fail_seed += o->nth++;
	if (o->lockstat)
		avm_lockstat_enable(true);	/* this scenario's */
	rc = scn_run_lib(s, &lo, &t, err, sizeof(err));

	if (rc) {
		printf("ERROR %s: %s\n", s->file, err);
		scn_trace_free(&t);
		return EXIT_USAGE;
	}
	if (o->json) {
		bool ok = true;

		json_t *j = report_trace_json(s, &t, NULL, &ok);

		if (o->stats)
			json_object_set_new(j, "stats", report_stats_json(&o->st));
		if (o->lockstat)
			json_object_set_new(j, "lockstat",
					    lockstat_report_json());
		json_array_append_new(o->out, j);
	} else {
		if (o->verbose)
			report_trace_text(s, &t);
		if (t.failure[0])
			printf("FAIL %s: %s\n", s->file, t.failure);
		else if (!o->quiet)
			printf("PASS %s (%d statements, %d states checked)\n",
			       s->file, s->nstmts, t.nsnaps);
		if (t.injected && !o->quiet)
			printf("     allocation failures hit %d statements, the "
			       "first at line %d\n", t.injected,
			       s->stmts[t.first_injected].line);
		if (o->stats)
			report_stats_text(&o->st);
		if (o->lockstat)
			lockstat_report_text(stdout);
	}
	rc = t.failure[0] ? EXIT_PROBLEM : 0;
	scn_trace_free(&t);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct cli_tally t = { 0 };

	if (run_args(argc, argv, &o))
		return EXIT_USAGE;
	if (o.lib.fail_rate > 0) {
		if (!o.seeded)
			o.lib.fail_seed = (uint64_t)time(NULL) ^
					  ((uint64_t)clock() << 32);
		if (!o.json)
			printf("run: allocations fail with probability %g, "
			       "seed %" PRIu64 "\n", o.lib.fail_rate,
			       o.lib.fail_seed);
	}
	o.out = json_array();
	/* run_one never skips: every file passes or fails */
	cli_for_each_file(o.files, o.nfiles, run_one, &o, &t);
	if (o.json) {
		json_dumpf(o.out, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("run: %d passed, %d failed\n", t.passed, t.failed);
	}
	json_decref(o.out);
	return t.worst;
}
