/* SPDX-License-Identifier: MIT */
/*
 * anonvm explore FILE: run a scenario's thread blocks under the
 * controlled scheduler, schedule after schedule (src/scenario/explore.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "scenario/explore.h"
#include "scenario/scenario.h"

static void explore_usage(FILE *f)
{
	fprintf(f,
"usage: anonvm explore [--strategy pct|random] [--seed S] [--schedules N]\n"
"                      [--depth D] [--replay CHOICES] [--no-shrink]\n"
"                      [--design NAME] [--verbose] FILE\n\n"
"Run the thread blocks of a scenario (docs/scenarios.md, `thread T {`\n"
"... `}` ... `join`) under a controlled scheduler: one thread runs at a\n"
"time, and at every lock acquisition and release and at the named\n"
"preemption points inside operations (between PTE moves in mremap,\n"
"between VMAs of an rmap walk, between migration's unmap and remap,\n"
"between fork's VMA copies) the strategy picks who runs next.  Each\n"
"schedule runs in a child process; it fails when an expectation or the\n"
"invariant checker fails, when it deadlocks, or when it crashes (the lock\n"
"validator, AddressSanitizer).  A failing schedule is printed as its\n"
"switch points, shrunk to the fewest preemptions, and can be replayed.\n\n"
"  --strategy pct     PCT (default): random thread priorities, depth - 1\n"
"                     random points where the running thread drops to\n"
"                     the lowest (at most depth - 1 preemptions)\n"
"  --strategy random  a uniform choice at every point\n"
"  --seed S           seed of the first schedule; schedule i uses S + i\n"
"                     (default: from the clock; printed)\n"
"  --schedules N      schedules to run (default 100)\n"
"  --depth D          PCT depth (default 2)\n"
"  --replay CHOICES   run one schedule given as printed (T:N,T:N,...:\n"
"                     thread T for N steps)\n"
"  --no-shrink        do not shrink a failing schedule\n"
"  --design NAME      reverse-map design (`anonvm designs`)\n"
"  --verbose          a line per schedule\n\n"
"The scenario must have one group of thread blocks.  Exit status: 0 no\n"
"schedule failed, 1 one did, 2 usage or parse error.\n");
}

struct explore_cli {
	struct explore_opts o;
	struct scn_lib_opts lo;
	uint8_t *replay;
	const char *file;
	bool seeded;
};

static int strategy_option(const char *v, struct explore_cli *c)
{
	if (!strcmp(v, "pct"))
		c->o.strategy = SCHED_PCT;
	else if (!strcmp(v, "random"))
		c->o.strategy = SCHED_RANDOM;
	else {
		fprintf(stderr, "anonvm explore: --strategy is pct or random, "
			"not '%s'\n", v);
		return -EINVAL;
	}
	return 0;
}

static int replay_option(const char *v, struct explore_cli *c)
{
	int n;

	c->replay = malloc(SCHED_MAX_STEPS);
	if (!c->replay)
		return -ENOMEM;
	n = explore_parse_choices(v, c->replay, SCHED_MAX_STEPS);
	if (n < 0) {
		fprintf(stderr, "anonvm explore: --replay wants T:N,T:N,... "
			"(as a failure prints it), not '%s'\n", v);
		return -EINVAL;
	}
	c->o.replay = c->replay;
	c->o.nreplay = (unsigned int)n;
	return 0;
}

static int missing_value(const char *opt)
{
	fprintf(stderr, "anonvm explore: %s needs a value\n", opt);
	return -EINVAL;
}

static int one_option(int argc, char **argv, int *i, struct explore_cli *c)
{
	const char *v;
	bool missing;
	uint64_t x;

	if (!strcmp(argv[*i], "--no-shrink")) {
		c->o.shrink = false;
		return 0;
	}
	if (!strcmp(argv[*i], "--verbose") || !strcmp(argv[*i], "-v")) {
		c->o.log = stdout;
		return 0;
	}
	if ((v = cli_opt_value(argc, argv, i, "--strategy", &missing)) || missing)
		return v ? strategy_option(v, c) : missing_value("--strategy");
	if ((v = cli_opt_value(argc, argv, i, "--replay", &missing)) || missing)
		return v ? replay_option(v, c) : missing_value("--replay");
	if ((v = cli_opt_value(argc, argv, i, "--design", &missing)) || missing) {
		if (!v)
			return missing_value("--design");
		c->lo.design = v;
		return cli_check_design("explore", v);
	}
	if ((v = cli_opt_value(argc, argv, i, "--seed", &missing)) || missing) {
		if (!v)
			return missing_value("--seed");
		c->seeded = true;
		return cli_parse_u64("explore", "--seed", v, 0, UINT64_MAX,
				     &c->o.seed);
	}
	if ((v = cli_opt_value(argc, argv, i, "--schedules", &missing)) || missing) {
		if (!v)
			return missing_value("--schedules");
		if (cli_parse_u64("explore", "--schedules", v, 1, 1000000, &x))
			return -EINVAL;
		c->o.schedules = (unsigned int)x;
		return 0;
	}
	if ((v = cli_opt_value(argc, argv, i, "--depth", &missing)) || missing) {
		if (!v)
			return missing_value("--depth");
		if (cli_parse_u64("explore", "--depth", v, 1, SCHED_MAX_DEPTH,
				  &x))
			return -EINVAL;
		c->o.depth = (unsigned int)x;
		return 0;
	}
	fprintf(stderr, "anonvm explore: unknown option '%s'\n", argv[*i]);
	return -EINVAL;
}

static int explore_args(int argc, char **argv, struct explore_cli *c)
{
	int i;

	c->o = (struct explore_opts){ .strategy = SCHED_PCT, .schedules = 100,
				      .depth = 2, .shrink = true };
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			explore_usage(stdout);
			exit(0);
		}
		if (one_option(argc, argv, &i, c))
			return -EINVAL;
	}
	if (argc - i != 1) {
		fprintf(stderr, "anonvm explore: one scenario FILE, not %d\n",
			argc - i);
		return -EINVAL;
	}
	c->file = argv[i];
	if (!c->seeded)
		c->o.seed = (uint64_t)time(NULL) * 1000003u;
	return 0;
}

static void print_failure(const struct explore_cli *c,
			  const struct explore_result *r)
{
	const struct explore_run *f = &r->first, *s = &r->shrunk;

	if (c->o.replay)
		printf("FAIL %s: the replayed schedule: %s: %s\n", c->file,
		       explore_outcome_name(f->outcome), f->msg);
	else if (r->ran == 1 && !explore_preemptions(&f->rec))
		printf("FAIL %s: without preemption: %s: %s\n", c->file,
		       explore_outcome_name(f->outcome), f->msg);
	else
		printf("FAIL %s: schedule %u (seed %" PRIu64 "): %s: %s\n",
		       c->file, r->ran - 1, f->seed,
		       explore_outcome_name(f->outcome), f->msg);
	printf("its switches (%u preemptions, %u steps):\n",
	       explore_preemptions(&f->rec), f->rec.steps);
	explore_print_schedule(stdout, &f->rec);
	if (c->o.shrink) {
		printf("shrunk to %u preemptions (%u runs): %s: %s\n",
		       explore_preemptions(&s->rec), r->shrink_runs,
		       explore_outcome_name(s->outcome), s->msg);
		explore_print_schedule(stdout, &s->rec);
	}
	printf("replay: anonvm explore%s%s --replay ",
	       c->lo.design ? " --design " : "",
	       c->lo.design ? c->lo.design : "");
	explore_print_choices(stdout, &s->rec);
	printf(" %s\n", c->file);
}

static bool has_threads(const struct scenario *s)
{
	for (int i = 0; i < s->nstmts; i++)
		if (s->stmts[i].thread)
			return true;
	return false;
}

int cmd_explore(int argc, char **argv)
{
	struct explore_cli c = { 0 };
	struct explore_result *r = NULL;
	struct scenario *s = NULL;
	char err[512];
	int rc = EXIT_USAGE;

	if (explore_args(argc, argv, &c))
		goto out;
	if (scn_parse_file(c.file, &s, err, sizeof(err))) {
		fprintf(stderr, "anonvm explore: %s\n", err);
		goto out;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "anonvm explore: out of memory\n");
		rc = EXIT_PROBLEM;
		goto out;
	}
	if (!has_threads(s)) {
		fprintf(stderr, "anonvm explore: %s has no thread blocks "
			"(docs/scenarios.md, \"Threads\")\n", c.file);
		goto out;
	}
	if (!c.o.replay)
		printf("explore %s: strategy %s, depth %u, seeds %" PRIu64
		       "..%" PRIu64 "\n", c.file,
		       c.o.strategy == SCHED_PCT ? "pct" : "random", c.o.depth,
		       c.o.seed, c.o.seed + c.o.schedules - 1);
	fflush(stdout);
	err[0] = '\0';
	if (scn_explore(s, &c.lo, &c.o, r, err, sizeof(err))) {
		fprintf(stderr, "anonvm explore: %s\n", err[0] ? err :
			"cannot run the schedules");
		goto out;
	}
	if (r->failed) {
		print_failure(&c, r);
		rc = EXIT_PROBLEM;
	} else {
		printf("PASS %s: %u schedule%s, none failed (%u steps without "
		       "preemption)\n", c.file, r->ran, r->ran == 1 ? "" : "s",
		       r->steps_est);
		rc = 0;
	}
out:
	free(r);
	free(c.replay);
	scn_free(s);
	return rc;
}
