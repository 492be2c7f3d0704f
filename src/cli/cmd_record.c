/* SPDX-License-Identifier: MIT */
/* anonvm record: a real program's anonymous memory, as a scenario. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "scenario/record.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm record [-o FILE] [--max-events N] [--max-seconds S]"
		" -- CMD [ARG...]\n\n"
		"Runs CMD under ptrace (as root), following every fork, vfork,\n"
		"clone and exec, and writes what its processes do to their\n"
		"private anonymous memory as a scenario (docs/record.md): the\n"
		"process tree, every anonymous mmap, munmap, mprotect, mremap,\n"
		"madvise and brk with its result, and the page events seen in\n"
		"/proc/PID/pagemap between stops.  Replay it with `anonvm run`,\n"
		"`anonvm compare --scenario FILE`, check it with `anonvm diff`.\n\n"
		"  -o FILE          write the recording to FILE (default stdout)\n"
		"  --max-events N   stop after N statements (default 1000000)\n"
		"  --max-seconds S  stop after S seconds (default 600)\n\n"
		"A limit, Ctrl-C or an error kills CMD and its processes; what was\n"
		"recorded is written.  Exit status: 0 recorded to the end, 1 stopped\n"
		"early, 2 usage, 77 not root.\n");
}

static int parse_num(const char *opt, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = v ? strtod(v, &end) : 0;
	if (!v || errno || end == v || *end || *out <= 0) {
		fprintf(stderr, "anonvm record: %s needs a positive number, "
			"found '%s'\n", opt, v ? v : "");
		return -1;
	}
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct scn_rec_opts o = { 0 };
	struct scn_rec_stats st;
	const char *file = NULL, *v;
	char err[256] = "";
	FILE *out = stdout;
	double x;
	bool missing;
	int i, rc;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if ((v = cli_opt_value(argc, argv, &i, "-o", &missing)) ||
			   missing) {
			file = v;
		} else if ((v = cli_opt_value(argc, argv, &i, "--max-events",
					      &missing)) || missing) {
			if (parse_num("--max-events", v, &x))
				return EXIT_USAGE;
			o.max_events = (long)x;
		} else if ((v = cli_opt_value(argc, argv, &i, "--max-seconds",
					      &missing)) || missing) {
			if (parse_num("--max-seconds", v, &x))
				return EXIT_USAGE;
			o.max_seconds = x;
		} else {
			break;
		}
		if (missing || (file && !*file)) {
			fprintf(stderr, "anonvm record: %s needs a value\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	else if (i < argc && argv[i][0] == '-') {
		fprintf(stderr, "anonvm record: unknown option '%s'\n", argv[i]);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		fprintf(stderr, "anonvm record: no command given (anonvm record "
			"-- CMD ...)\n");
		return EXIT_USAGE;
	}
	if (file && !(out = fopen(file, "w"))) {
		fprintf(stderr, "anonvm record: cannot write %s: %s\n", file,
			strerror(errno));
		return EXIT_USAGE;
	}
	rc = scn_record(argv + i, &o, out, &st, err, sizeof(err));
	if (file && fclose(out) && rc >= 0)
		rc = -EIO;
	if (rc == -EPERM) {
		fprintf(stderr, "anonvm record: skipped: %s\n", err);
		return EXIT_SKIP;
	}
	if (rc < 0) {
		fprintf(stderr, "anonvm record: %s\n", err[0] ? err : strerror(-rc));
		return EXIT_PROBLEM;
	}
	fprintf(stderr, "anonvm record: %s: %ld statements, %ld processes, "
		"%ld page events in %.2f s%s%s\n", argv[i], st.stmts, st.procs,
		st.page_events, st.seconds, rc ? "; stopped early: " : "",
		rc ? st.stopped : "");
	return rc ? EXIT_PROBLEM : 0;
}
