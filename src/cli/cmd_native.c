/* SPDX-License-Identifier: MIT */
/*
 * anonvm native [--json] FILE...: run scenarios on the host kernel with real
 * processes and show what the kernel did (results, VMAs, pages).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/cli.h"
#include "cli/report.h"
#include "scenario/scenario.h"

static void native_usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm native [--json] [--thp MODE] [--worker-mem-limit SIZE] FILE...\n"
		"\n"
		"Run each scenario on the host kernel: one real process per\n"
		"scenario process, real fork, mmap and memory accesses.  Prints\n"
		"every statement's result and, at each `check` and at the end,\n"
		"every live process's VMAs in the window and the state of each\n"
		"page (from /proc/PID/maps, smaps, pagemap and /proc/kpagecount).\n"
		"\n"
		"Page states: P present, Z the zero page, S swapped, - none.\n"
		"Frames are numbered #0, #1, ... in order of first appearance in\n"
		"each snapshot: pages with the same number share one frame.\n"
		"\n"
		"  --json   print one JSON array with an object per file\n"
		"  --thp MODE  never, madvise or always: the workers' THP mode\n"
		"           (default: the scenario's `thp` line, else the host's);\n"
		"           only the host's or a narrower one (a wider one: exit 77).\n"
		"           The thp column: pmd9 / pte9 a page of an order-9 folio\n"
		"           mapped by a PMD / a PTE, hzero the huge zero page\n"
		"  --worker-mem-limit SIZE\n"
		"           address space each scenario process may map beyond\n"
		"           what it starts with (RLIMIT_AS; a forked process\n"
		"           inherits its parent's limit); past it mmap and mremap\n"
		"           fail with the kernel's ENOMEM.  SIZE in bytes, or with\n"
		"           a suffix K, M, G, T (powers of 1024); 0 for no limit.\n"
		"           Default: a quarter of the host's RAM, at most 4G\n"
		"  --help   this text\n"
		"\n"
		"Needs root (/proc/kpagecount, PFNs in pagemap).  Exit status: 0\n"
		"every statement met its expectation, 1 otherwise, 2 usage or\n"
		"parse error, 77 cannot run here.\n");
}

/* ---- driver ---------------------------------------------------------------- */

struct native_opts {
	bool json;
	struct scn_native_opts run;
	int nfiles;
	char **files;
};

/* SIZE: digits and an optional K, M, G or T suffix; false if not. */
static bool parse_size(const char *arg, uint64_t *v)
{
	static const char suffix[] = "KMGT";
	const char *s;
	char *end;
	unsigned long long n;
	int shift = 0;

	if (!arg || *arg < '0' || *arg > '9')
		return false;
	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno)
		return false;
	if (*end) {
		s = strchr(suffix, *end);
		if (!s || end[1])
			return false;
		shift = 10 * (int)(s - suffix + 1);
	}
	if (shift && n > (UINT64_MAX >> shift))
		return false;
	*v = (uint64_t)n << shift;
	return true;
}

static int native_args(int argc, char **argv, struct native_opts *o)
{
	const char *v;
	bool missing;

	memset(o, 0, sizeof(*o));
	scn_native_opts_init(&o->run);
	o->files = calloc(argc > 0 ? (size_t)argc : 1, sizeof(char *));
	if (!o->files) {
		fprintf(stderr, "anonvm native: out of memory\n");
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		missing = false;
		v = cli_opt_value(argc, argv, &i, "--worker-mem-limit", &missing);
		if (v || missing) {
			if (!parse_size(v, &o->run.worker_mem_limit)) {
				fprintf(stderr, "anonvm native: --worker-mem-limit "
					"needs a size (bytes, or e.g. 512M, 2G; 0: "
					"none), not '%s'\n", v ? v : "");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--thp") && i + 1 < argc) {
			int m;

			if (cli_parse_thp("native", argv[++i], &m))
				return EXIT_USAGE;
			o->run.thp = (enum scn_thp_mode)m;
		} else if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			native_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--")) {
			while (++i < argc)
				o->files[o->nfiles++] = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "anonvm native: unknown option '%s'\n", argv[i]);
			native_usage(stderr);
			return EXIT_USAGE;
		} else {
			o->files[o->nfiles++] = argv[i];
		}
	}
	if (o->nfiles)
		return -1;
	fprintf(stderr, "anonvm native: no scenario file given\n");
	native_usage(stderr);
	return EXIT_USAGE;
}

static int parse_all(const struct native_opts *o, struct scenario **sc)
{
	char err[512];

	for (int i = 0; i < o->nfiles; i++) {
		if (scn_parse_file(o->files[i], &sc[i], err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* Run one scenario; returns an exit status (0, EXIT_PROBLEM, EXIT_SKIP). */
static int native_in_window(const struct native_opts *o,
			    const struct scenario *s, json_t *out);

/*
 * A scenario with its own window (a recording) runs relocated into the
 * default one: the workers' own mappings sit at the program's addresses.
 */
static int native_one(const struct native_opts *o, const struct scenario *s,
		      json_t *out)
{
	struct scenario *rs;
	char err[512];
	int n, rc;

	if (scn_window_default(s))
		return native_in_window(o, s, out);
	if (scn_relocate(s, &rs, &n, err, sizeof(err))) {
		fprintf(stderr, "anonvm native: %s\n", err);
		return EXIT_USAGE;
	}
	fprintf(stderr, "anonvm native: %s relocated into the window (%d "
		"clusters)\n", s->file, n);
	rc = native_in_window(o, rs, out);
	scn_free(rs);
	return rc;
}

static int native_in_window(const struct native_opts *o,
			    const struct scenario *s, json_t *out)
{
	struct scn_trace t;
	char err[512];
	bool ok = true;
	int rc = scn_run_native_opts(s, &o->run, &t, err, sizeof(err));

	if (rc == -EPERM || rc == -EBUSY || rc == -ENOTSUP) {
		fprintf(stderr, "anonvm native: cannot run here: %s\n", err);
		scn_trace_free(&t);
		return EXIT_SKIP;
	}
	if (o->json)
		json_array_append_new(out, report_trace_json(s, &t, rc ? err : NULL, &ok));
	else
		ok = report_trace_text(s, &t);
	if (rc) {
		fprintf(stderr, "anonvm native: %s: run broken: %s\n", s->file, err);
		ok = false;
	}
	scn_trace_free(&t);
	return ok ? 0 : EXIT_PROBLEM;
}

static int native_run_all(const struct native_opts *o, struct scenario **sc)
{
	json_t *out = o->json ? json_array() : NULL;
	int status = 0, rc;

	if (o->json && !out) {
		fprintf(stderr, "anonvm native: out of memory\n");
		return EXIT_PROBLEM;
	}
	for (int i = 0; i < o->nfiles; i++) {
		rc = native_one(o, sc[i], out);
		if (rc == EXIT_SKIP) {
			json_decref(out);
			return EXIT_SKIP;
		}
		if (rc)
			status = rc;
		fflush(stdout);
	}
	if (out && json_dumpf(out, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	else if (out)
		status = EXIT_PROBLEM;
	json_decref(out);
	return status;
}

int cmd_native(int argc, char **argv)
{
	struct native_opts o;
	struct scenario **sc = NULL;
	int rc = native_args(argc, argv, &o);

	if (rc < 0) {
		sc = calloc((size_t)o.nfiles, sizeof(*sc));
		rc = sc ? parse_all(&o, sc) : EXIT_USAGE;
		if (!rc)
			rc = native_run_all(&o, sc);
	}
	for (int i = 0; sc && i < o.nfiles; i++)
		scn_free(sc[i]);
	free(sc);
	free(o.files);
	return rc;
}
