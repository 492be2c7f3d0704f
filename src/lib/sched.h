/* SPDX-License-Identifier: MIT */
/*
 * A controlled scheduler, for the interleaving explorer (src/scenario/
 * explore.c).  The threads of one run are real threads, but only one runs
 * at a time: at every scheduling point - a lock acquisition or release
 * (the lock wrappers of lockdep.h), a lock found busy, or a named
 * preemption point inside an operation (avm_preempt_point) - the running
 * thread asks the scheduler who runs next, and hands over if it is
 * someone else.  The choice is the strategy's:
 *   - random: uniform among the threads that can run;
 *   - PCT (probabilistic concurrency testing, Burckhardt et al. 2010):
 *     random distinct priorities, the highest-priority thread that can
 *     run runs; at depth - 1 random steps the running thread drops below
 *     every other, so a schedule has at most depth - 1 preemptions;
 *   - forced: a recorded list of choices (replay, shrinking).
 * Every choice is recorded, so a run is replayed exactly from its choices
 * (or from its seed).  A thread waiting for a lock does not run until the
 * lock is released; when no thread can run, the run has deadlocked.
 *
 * Threads that are not the run's (the explorer's main thread) never stop
 * at a scheduling point.
 */
#ifndef AVM_LIB_SCHED_H
#define AVM_LIB_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "lib/compiler.h"

#define SCHED_MAX_THREADS	8
#define SCHED_MAX_STEPS		20000
#define SCHED_MAX_DEPTH		16

enum sched_strategy { SCHED_RANDOM, SCHED_PCT };

/* What a scheduling point is. */
enum sched_kind {
	SK_START,	/* the run starts */
	SK_POINT,	/* a named preemption point */
	SK_ACQUIRE,	/* before taking a lock */
	SK_RELEASE,	/* after releasing one */
	SK_WAIT,	/* the lock is busy: wait for its release */
	SK_YIELD,	/* busy retry: let another thread run first */
	SK_EXIT,	/* the thread ends */
};

struct sched_config {
	enum sched_strategy strategy;
	uint64_t seed;
	unsigned int depth;		/* PCT: d */
	unsigned int est_steps;		/* PCT: steps the change points
					   are spread over */
	const uint8_t *forced;		/* choices to replay, or NULL */
	unsigned int nforced;		/* beyond them: no preemption */
};

/* One run's record: in memory shared with the explorer's parent. */
struct sched_record {
	unsigned int steps;
	uint8_t choice[SCHED_MAX_STEPS];	/* thread run after step i */
	uint8_t from[SCHED_MAX_STEPS];		/* thread that reached it */
	uint8_t kind[SCHED_MAX_STEPS];		/* enum sched_kind */
	bool preempt[SCHED_MAX_STEPS];		/* from could have gone on */
	const char *what[SCHED_MAX_STEPS];	/* static names */
	bool failed;			/* deadlock or no progress */
	char msg[1024];
};

extern atomic_bool sched_active;
extern __thread int sched_self;		/* this thread's id, -1: not the run's */

static inline bool sched_controlled(void)
{
	return unlikely(atomic_load_explicit(&sched_active,
					     memory_order_relaxed)) &&
	       sched_self >= 0;
}

/*
 * Run fn(arg, t) for t in [0, n) on n threads under the scheduler, the
 * record going to rec.  0 when every thread returned; -EDEADLK when the
 * run deadlocked or made no progress (rec->msg says how; the threads are
 * left blocked: the caller's process must exit).
 */
int sched_run(const struct sched_config *cfg, struct sched_record *rec,
	      unsigned int n, void (*fn)(void *arg, unsigned int t),
	      void *arg);

/* A scheduling point of the running thread (no-op for other threads). */
void sched_point(enum sched_kind kind, const char *what);
/* lock is busy: wait (running others) until it is released. */
void sched_wait(const void *lock, const char *what);
/* lock was released: its waiters may run again. */
void sched_wake(const void *lock);

/* A named preemption point inside an operation. */
#define avm_preempt_point(name)					\
	do {							\
		if (sched_controlled())				\
			sched_point(SK_POINT, name);		\
	} while (0)

/* Busy-wait step: under the scheduler, let another thread run. */
void sched_relax(const char *what);

#endif
