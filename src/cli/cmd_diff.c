/* SPDX-License-Identifier: MIT */
/*
 * anonvm diff FILE...: run each scenario on the host kernel and on the
 * library, and compare every result and, at every check, the VMA layouts,
 * which pages share frames, mapcounts, exclusivity and swapped-ness.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "scenario/scenario.h"

struct diff_opts {
	const char *design;
	unsigned long max_map_count;
	enum scn_thp_mode thp;
	bool quiet;
	char **files;
	int nfiles;
};

static void diff_usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm diff [--design NAME] [--max-map-count N] [--thp MODE]\n"
		"                   [--quiet] FILE...\n\n"
		"Run each scenario on the host kernel (as `anonvm native`) and on\n"
		"the library (as `anonvm run`), then compare: every statement's\n"
		"result, and at every `check` and at the end the VMA layouts, which\n"
		"(process, page) pairs share one frame, mapcounts, exclusivity,\n"
		"swapped-ness and THP state (folio order, PMD-mapped, huge zero page,\n"
		"AnonHugePages).  The first divergence is printed with the process,\n"
		"the address, what the kernel has and what anonvm has.\n\n"
		"  --design NAME  reverse-map design of the library run\n"
		"  --max-map-count N  the library's vm.max_map_count (default: the\n"
		"                 host's, less the mappings a worker process has\n"
		"                 outside the window, so both have the same room)\n"
		"  --thp MODE     THP mode of both runs: never, madvise or always\n"
		"                 (default: the scenario's `thp` line, else the\n"
		"                 host's; the kernel runs only modes up to the host's:\n"
		"                 a wider one is a skip)\n"
		"  --quiet        print only divergences and the summary\n\n"
		"Exit status: 0 all agree, 1 a divergence or failed expectation,\n"
		"2 usage or parse error, 77 the kernel cannot be observed here.\n");
}

static int diff_args(int argc, char **argv, struct diff_opts *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			diff_usage(stdout);
			exit(0);
		} else if (!strcmp(argv[i], "--design") && i + 1 < argc) {
			o->design = argv[++i];
		} else if (!strcmp(argv[i], "--max-map-count") && i + 1 < argc) {
			uint64_t v;

			i++;
			if (cli_parse_u64("diff", "--max-map-count", argv[i], 1,
					  UINT32_MAX, &v))
				return -EINVAL;
			o->max_map_count = (unsigned long)v;
		} else if (!strcmp(argv[i], "--thp") && i + 1 < argc) {
			int m;

			if (cli_parse_thp("diff", argv[++i], &m))
				return -EINVAL;
			o->thp = (enum scn_thp_mode)m;
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			o->quiet = true;
		} else {
			fprintf(stderr, "anonvm diff: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		}
	}
	if (cli_take_files("diff", argc, argv, i, &o->files, &o->nfiles))
		return -EINVAL;
	return cli_check_design("diff", o->design);
}

static int diff_in_window(const struct diff_opts *o, const struct scenario *s);

/*
 * 0 agree, 1 diverge/fail, 77 skip, 2 error.  A scenario with its own
 * window (a recording) is relocated into the default one first: both
 * executors run the relocated copy.
 */
static int diff_one(void *ctx, const struct scenario *s)
{
	struct scenario *rs;
	char err[256];
	int n, rc;

	if (scn_window_default(s))
		return diff_in_window(ctx, s);
	if (scn_relocate(s, &rs, &n, err, sizeof(err))) {
		printf("ERROR %s\n", err);
		return EXIT_USAGE;
	}
	if (!((const struct diff_opts *)ctx)->quiet)
		printf("note: %s relocated into the window (%d clusters)\n",
		       s->file, n);
	rc = diff_in_window(ctx, rs);
	scn_free(rs);
	return rc;
}

static int diff_in_window(const struct diff_opts *o, const struct scenario *s)
{
	struct scn_lib_opts lo = { .design = o->design, .thp = o->thp };
	struct scn_native_opts no;
	struct scn_trace kt, lt;
	char err[256], msg[1024];
	int rc, ret = 0;

	/* The room the workers will have, measured before the kernel run
	   (whose memory would count later). */
	lo.max_map_count = o->max_map_count ? o->max_map_count :
			   scn_host_map_room();
	scn_native_opts_init(&no);
	no.thp = o->thp;
	rc = scn_run_native_opts(s, &no, &kt, err, sizeof(err));
	if (rc == -EPERM || rc == -EBUSY || rc == -ENOTSUP) {
		printf("SKIP %s: %s\n", s->file, err);
		scn_trace_free(&kt);
		return EXIT_SKIP;
	}
	if (rc) {
		printf("ERROR %s: kernel run broke: %s\n", s->file, err);
		scn_trace_free(&kt);
		return EXIT_USAGE;
	}
	rc = scn_run_lib(s, &lo, &lt, err, sizeof(err));
	if (rc) {
		printf("ERROR %s: %s\n", s->file, err);
		ret = EXIT_USAGE;
	} else if (scn_compare(s, &kt, &lt, SCN_CMP_KERNEL, msg, sizeof(msg))) {
		printf("DIFF %s: %s\n", s->file, msg);
		if (kt.note[0])
			printf("     note: %s\n", kt.note);
		ret = EXIT_PROBLEM;
	} else if (kt.failure[0] || lt.failure[0]) {
		printf("FAIL %s: %s%s%s\n", s->file,
		       kt.failure[0] ? "kernel: " : "", kt.failure,
		       lt.failure[0] ? (kt.failure[0] ? "; anonvm: " : "anonvm: ")
				     : "");
		if (lt.failure[0])
			printf("     %s\n", lt.failure);
		ret = EXIT_PROBLEM;
	} else if (!o->quiet) {
		printf("SAME %s (%d statements, %d states compared)\n", s->file,
		       s->nstmts, kt.nsnaps);
	}
	scn_trace_free(&kt);
	scn_trace_free(&lt);
	return ret;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { 0 };
	struct cli_tally t = { 0 };

	if (diff_args(argc, argv, &o))
		return EXIT_USAGE;
	cli_for_each_file(o.files, o.nfiles, diff_one, &o, &t);
	printf("diff: %d passed, %d failed, %d skipped\n", t.passed, t.failed,
	       t.skipped);
	if (!t.worst && t.skipped && !t.passed)
		return EXIT_SKIP;
	return t.worst;
}
