/* SPDX-License-Identifier: MIT */
/*
 * anonvm fuzz: random valid scenarios run on the library and on the
 * reference model (and with --native on the host kernel); any divergence,
 * or an invariant violation in the library, is shrunk to a minimal
 * scenario and written to a file that `run` and `diff` replay.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "scenario/scenario.h"

struct fuzz_opts {
	uint64_t seed;
	long ops;		/* total statements */
	int batch;		/* statements per scenario */
	bool native;
	const char *design;
	const char *out;
	double fail_rate;
	unsigned long max_map_count;
	enum scn_thp_mode thp;	/* --thp: SCN_THP_HOST if not given */
};

static void fuzz_usage(FILE *f)
{
	fprintf(f,
		"usage: anonvm fuzz [--seed S] [--ops N] [--batch K] [--native]\n"
		"                   [--design NAME] [--fail-rate P] [--max-map-count N]\n"
		"                   [--thp MODE] [--out FILE]\n\n"
		"Generate random valid scenarios (fork trees, exits, every operation,\n"
		"partial ranges, accesses to unmapped and protected pages) of K\n"
		"statements each until N statements have run.  Each runs on the\n"
		"library and on the reference model; results, per-page protection\n"
		"and contents must agree, and the library's invariant checker must\n"
		"pass.  With --native each also runs on the host kernel and must\n"
		"agree with it as `anonvm diff` demands (no pageout or migrate then).\n"
		"A divergence is shrunk to a minimal scenario, written to FILE\n"
		"(default anonvm-fuzz-SEED.scn), and the exit status is 1.\n\n"
		"  --seed S    first seed (default: from the clock; always printed)\n"
		"  --ops N     statements in total (default 100000; 10000 with --native)\n"
		"  --batch K   statements per scenario (default 200)\n"
		"  --design NAME  reverse-map design of the library\n"
		"  --fail-rate P  fail each allocation of the library with probability\n"
		"              P (0..1), seeded by the scenario's seed: the checker\n"
		"              runs after every statement, and the other executors\n"
		"              are compared only up to the first statement a failure\n"
		"              hit\n"
		"  --max-map-count N  VMAs a process may have (library and model;\n"
		"              the kernel has its own)\n"
		"  --thp MODE  never, madvise or always: every scenario says `thp MODE`\n"
		"              and the generator also emits madvise hugepage and\n"
		"              nohugepage, 2 MiB-aligned addresses and whole huge\n"
		"              pages (in a region of 2048 pages); without it the\n"
		"              scenarios have none of these\n"
		"  --out FILE  where to write a divergent scenario\n");
}

static int fuzz_args(int argc, char **argv, struct fuzz_opts *o)
{
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fuzz_usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--native")) {
			o->native = true;
		} else if (val && !strcmp(a, "--design")) {
			o->design = argv[++i];
		} else if (val && !strcmp(a, "--max-map-count")) {
			if (cli_parse_u64("fuzz", a, argv[++i], 1, UINT32_MAX, &v))
				return -EINVAL;
			o->max_map_count = (unsigned long)v;
		} else if (val && !strcmp(a, "--fail-rate")) {
			if (cli_parse_rate("fuzz", a, argv[++i], &o->fail_rate))
				return -EINVAL;
		} else if (val && !strcmp(a, "--thp")) {
			int m;

			if (cli_parse_thp("fuzz", argv[++i], &m))
				return -EINVAL;
			o->thp = (enum scn_thp_mode)m;
		} else if (val && !strcmp(a, "--out")) {
			o->out = argv[++i];
		} else if (val && !strcmp(a, "--seed")) {
			if (cli_parse_u64("fuzz", a, argv[++i], 0, UINT64_MAX,
					  &o->seed))
				return -EINVAL;
		} else if (val && !strcmp(a, "--ops")) {
			if (cli_parse_u64("fuzz", a, argv[++i], 1, LONG_MAX, &v))
				return -EINVAL;
			o->ops = (long)v;
		} else if (val && !strcmp(a, "--batch")) {
			if (cli_parse_u64("fuzz", a, argv[++i], 1, 100000, &v))
				return -EINVAL;
			o->batch = (int)v;
		} else {
			fprintf(stderr, "anonvm fuzz: unknown option or missing "
				"value: '%s'\n", a);
			return -EINVAL;
		}
	}
	if (o->native && o->max_map_count) {
		fprintf(stderr, "anonvm fuzz: --max-map-count cannot go with "
			"--native (the kernel has its own limit)\n");
		return -EINVAL;
	}
	return cli_check_design("fuzz", o->design);
}

struct oracle {
	const struct fuzz_opts *o;
	uint64_t seed;		/* of the scenario: seeds its failures */
	long hit_stmts, hit_scenarios;	/* with --fail-rate */
	char msg[1024];
	bool skip_native;	/* the kernel cannot be observed here */
};

/*
 * Compare a and lt (the library's trace) only up to the first statement an
 * injected allocation failure hit: after it the library left the script.
 */
static int compare_prefix(const struct scenario *s, struct scn_trace *a,
			  struct scn_trace *lt, unsigned what, char *msg,
			  size_t len)
{
	int na = a->nresults, nsa = a->nsnaps, nl = lt->nresults,
	    nsl = lt->nsnaps, rc;

	if (lt->injected) {
		int cut = lt->first_injected;

		a->nresults = na < cut ? na : cut;
		lt->nresults = nl < cut ? nl : cut;
		while (a->nsnaps && a->snaps[a->nsnaps - 1].stmt >= cut)
			a->nsnaps--;
		while (lt->nsnaps && lt->snaps[lt->nsnaps - 1].stmt >= cut)
			lt->nsnaps--;
	}
	rc = scn_compare(s, a, lt, what, msg, len);
	a->nresults = na;
	a->nsnaps = nsa;
	lt->nresults = nl;
	lt->nsnaps = nsl;
	return rc;
}

/* 1 if s shows a divergence (message in or->msg), 0 if not, <0 error. */
static int diverges(const struct scenario *s, void *arg)
{
	struct oracle *or = arg;
	struct scn_lib_opts lo = { .design = or->o->design, .no_expect = true,
				   .fail_rate = or->o->fail_rate,
				   .fail_seed = or->seed,
				   .max_map_count = or->o->max_map_count };
	struct scn_trace lt, mt, kt;
	char err[256];
	int rc = 0;

	if (scn_run_lib(s, &lo, &lt, err, sizeof(err))) {
		snprintf(or->msg, sizeof(or->msg), "library: %s", err);
		scn_trace_free(&lt);
		return -EIO;
	}
	or->hit_stmts += lt.injected;
	or->hit_scenarios += lt.injected > 0;
	if (lt.failure[0]) {
		snprintf(or->msg, sizeof(or->msg), "anonvm: %s", lt.failure);
		rc = 1;
	}
	if (!rc) {
		if (scn_run_model_limit(s, lo.max_map_count, &mt))
			rc = -ENOMEM;
		else
			rc = compare_prefix(s, &mt, &lt, SCN_CMP_RESULTS |
					    SCN_CMP_CONTENT | SCN_CMP_PAGEPROT,
					    or->msg, sizeof(or->msg));
		scn_trace_free(&mt);
	}
	if (!rc && or->o->native && !or->skip_native) {
		int n = scn_run_native(s, &kt, err, sizeof(err));

		if (n == -EPERM || n == -EBUSY || n == -ENOTSUP) {
			fprintf(stderr, "fuzz: not comparing with the kernel: %s\n",
				err);
			or->skip_native = true;
		} else if (n) {
			snprintf(or->msg, sizeof(or->msg), "kernel run: %s", err);
			rc = -EIO;
		} else {
			rc = compare_prefix(s, &kt, &lt, SCN_CMP_KERNEL,
					    or->msg, sizeof(or->msg));
		}
		scn_trace_free(&kt);
	}
	scn_trace_free(&lt);
	return rc;
}

static int report(const struct fuzz_opts *o, struct oracle *or,
		  const struct scenario *s, uint64_t seed)
{
	struct scenario *min = NULL;
	char path[256], first[1024];
	FILE *f;

	snprintf(first, sizeof(first), "%s", or->msg);
	fprintf(stderr, "\nfuzz: divergence with seed %" PRIu64 ": %s\n"
		"fuzz: shrinking...\n", seed, first);
	if (scn_shrink(s, diverges, or, &min))
		min = NULL;
	if (o->out)
		snprintf(path, sizeof(path), "%s", o->out);
	else
		snprintf(path, sizeof(path), "anonvm-fuzz-%" PRIu64 ".scn", seed);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		scn_free(min);
		return EXIT_PROBLEM;
	}
	fprintf(f, "# found by anonvm fuzz%s; scenario seed %" PRIu64 "\n# %s\n",
		o->native ? " --native" : "", seed, min ? or->msg : first);
	if (o->fail_rate > 0)
		fprintf(f, "# with allocation failures: anonvm run --fail-rate %g "
			"--seed %" PRIu64 "\n", o->fail_rate, seed);
	scn_format(min ? min : s, f);
	fclose(f);
	fprintf(stderr, "fuzz: %s scenario (%d statements) written to %s\n",
		min ? "minimal" : "unshrunk", (min ? min : s)->nstmts, path);
	scn_format(min ? min : s, stdout);
	scn_free(min);
	return EXIT_PROBLEM;
}

/* Scenario i of a run: a well-mixed seed, so nearby --seed values do not
   share scenarios (splitmix64). */
static uint64_t scenario_seed(uint64_t seed, long i)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

int cmd_fuzz(int argc, char **argv)
{
	struct fuzz_opts o = { .batch = 200, .ops = -1 };
	struct oracle or = { .o = &o };
	double t0 = cli_now();
	long done = 0, scenarios = 0;
	int rc = 0;

	o.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	if (fuzz_args(argc, argv, &o))
		return EXIT_USAGE;
	if (!o.max_map_count)	/* library and model: the same room */
		o.max_map_count = scn_host_map_room();
	if (o.ops < 0)
		o.ops = o.native ? 10000 : 100000;
	printf("fuzz: seed %" PRIu64 ", %ld statements in scenarios of %d%s\n",
	       o.seed, o.ops, o.batch, o.native ? ", with the kernel" : "");
	if (o.fail_rate > 0)
		printf("fuzz: allocations fail with probability %g\n",
		       o.fail_rate);
	fflush(stdout);
	while (done < o.ops && !rc) {
		uint64_t seed = scenario_seed(o.seed, scenarios);
		struct scn_gen_opts g = { .seed = seed, .native_safe = o.native,
					  .thp = o.thp != SCN_THP_HOST,
					  .ops = (int)(o.ops - done < o.batch ? o.ops - done : o.batch) };
		struct scenario *s;
		int d;

		if (scn_generate(&g, &s))
			return EXIT_USAGE;
		s->thp = o.thp;	/* the written scenario says it too */
		or.seed = seed;
		d = diverges(s, &or);
		if (d > 0)
			rc = report(&o, &or, s, seed);
		else if (d < 0) {
			fprintf(stderr, "fuzz: seed %" PRIu64 ": %s\n", seed,
				or.msg);
			rc = EXIT_PROBLEM;
		}
		done += s->nstmts;
		scenarios++;
		scn_free(s);
		if (cli_progress_wanted())
			fprintf(stderr, "\rfuzz: %ld/%ld statements, %ld scenarios",
				done, o.ops, scenarios);
	}
	if (cli_progress_wanted())
		fputc('\n', stderr);
	if (o.fail_rate > 0)
		printf("fuzz: allocation failures hit %ld statements in %ld "
		       "scenarios\n", or.hit_stmts, or.hit_scenarios);
	printf("fuzz: %ld statements in %ld scenarios, %.1f s: %s\n", done,
	       scenarios, cli_now() - t0, rc ? "DIVERGENCE" : "no divergence");
	return rc;
}
