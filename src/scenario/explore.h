/* SPDX-License-Identifier: MIT */
/*
 * The interleaving explorer: runs a concurrent body many times, each time
 * under the controlled scheduler (lib/sched.h) with another schedule, in a
 * fresh child process (so a crash, a lock validator abort, an ASan report
 * or a deadlock ends only that run).  A schedule is replayable from its
 * seed (the strategy and depth given) or from its recorded choices; a
 * failing one is shrunk to the fewest preemptions that still fail.
 */
#ifndef AVM_SCENARIO_EXPLORE_H
#define AVM_SCENARIO_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/sched.h"

/*
 * What runs, once per schedule, in the run's own process: run() must run
 * its threads with sched_run(cfg, rec, ...) and return 0 (pass), -EDEADLK
 * (sched_run's deadlock: run() must return at once, its threads still
 * hold locks), or another nonzero value with the failure in msg.
 */
struct explore_body {
	int (*run)(void *ctx, const struct sched_config *cfg,
		   struct sched_record *rec, char *msg, size_t len);
	void *ctx;
};

struct explore_opts {
	enum sched_strategy strategy;
	uint64_t seed;			/* schedule i uses seed + i */
	unsigned int schedules;		/* how many (default 100) */
	unsigned int depth;		/* PCT: at most depth - 1 preemptions
					   (default 2) */
	const uint8_t *replay;		/* run just these choices */
	unsigned int nreplay;
	bool shrink;			/* shrink a failing schedule */
	unsigned int timeout_s;		/* per run (default 20) */
	FILE *log;			/* a line per schedule, or NULL */
};

enum explore_outcome {
	EX_PASS, EX_FAIL, EX_DEADLOCK, EX_CRASH, EX_TIMEOUT
};

struct explore_run {
	enum explore_outcome outcome;
	uint64_t seed;
	struct sched_record rec;	/* the schedule it ran */
	char msg[4096];
};

struct explore_result {
	unsigned int ran;		/* schedules run (not counting shrinking) */
	unsigned int steps_est;		/* PCT's step estimate */
	bool failed;
	struct explore_run first;	/* the first failing schedule */
	struct explore_run shrunk;	/* it shrunk (== first if not shrunk) */
	struct sched_record serial;	/* the run without preemptions */
	unsigned int shrink_runs;
};

/* 0 (result->failed says if a schedule failed), or -errno. */
int explore(const struct explore_body *body, const struct explore_opts *o,
	    struct explore_result *result);

const char *explore_outcome_name(enum explore_outcome o);
unsigned int explore_preemptions(const struct sched_record *rec);
/* The switches of a schedule, one line each, indented.  Threads are
   numbered from 1 (a scenario's thread blocks in their order). */
void explore_print_schedule(FILE *f, const struct sched_record *rec);
/* Its choices as "T:N,T:N,..." (thread T, from 1, for N steps). */
void explore_print_choices(FILE *f, const struct sched_record *rec);
/* Parse that form; the number of choices, or -1 (bad text). */
int explore_parse_choices(const char *s, uint8_t *v, unsigned int max);

struct scenario;
struct scn_lib_opts;
/*
 * Explore a scenario with one group of thread blocks (explore_scn.c): a
 * run fails when an expectation or the checker fails, on a deadlock or a
 * crash.  -EINVAL with the reason in err when s has no thread group or
 * more than one.
 */
int scn_explore(const struct scenario *s, const struct scn_lib_opts *lo,
		const struct explore_opts *o, struct explore_result *res,
		char *err, size_t errlen);

#endif
