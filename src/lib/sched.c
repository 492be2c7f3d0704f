/* SPDX-License-Identifier: MIT */
/* The controlled scheduler of the interleaving explorer (sched.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "lib/lockdep.h"
#include "lib/sched.h"

#define MAX_IDLE_YIELDS	1000	/* a lone thread retrying: livelock */

atomic_bool sched_active;
__thread int sched_self = -1;

enum tstate { T_RUN, T_WAIT, T_DONE };

static struct {
	pthread_mutex_t m;
	pthread_cond_t cv;
	struct sched_config cfg;
	struct sched_record *rec;
	unsigned int n, ndone;
	int current;			/* the thread allowed to run */
	bool over;			/* deadlock: the run is abandoned */
	uint64_t rng;
	struct {
		enum tstate st;
		const void *wait;	/* T_WAIT: the lock */
		const char *what;
		int prio;		/* PCT */
	} t[SCHED_MAX_THREADS];
	unsigned int change[SCHED_MAX_DEPTH];	/* PCT change points */
	unsigned int nchange;
	unsigned int idle_yields;
	void (*fn)(void *arg, unsigned int t);
	void *arg;
} S = { .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static uint64_t rnd(void)
{
	uint64_t z = (S.rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* The run cannot go on (S.m held): record why, and stop every thread. */
static void give_up(const char *why)
{
	struct sched_record *r = S.rec;
	size_t len = 0;

	r->failed = true;
	len += snprintf(r->msg + len, sizeof(r->msg) - len, "%s", why);
	for (unsigned int i = 0; i < S.n && len < sizeof(r->msg); i++)
		if (S.t[i].st == T_WAIT)
			len += snprintf(r->msg + len, sizeof(r->msg) - len,
					"; thread %u waits for %s", i + 1,
					S.t[i].what);
	S.over = true;
	pthread_cond_broadcast(&S.cv);
}

/* Threads that may run now; for a yield, others first. */
static unsigned int candidates(int cur, enum sched_kind kind, int *cand)
{
	unsigned int nc = 0;

	for (unsigned int i = 0; i < S.n; i++)
		if (S.t[i].st == T_RUN &&
		    !(kind == SK_YIELD && (int)i == cur))
			cand[nc++] = (int)i;
	if (!nc && kind == SK_YIELD && S.t[cur].st == T_RUN)
		cand[nc++] = cur;
	return nc;
}

static bool among(int x, const int *cand, unsigned int nc)
{
	for (unsigned int i = 0; i < nc; i++)
		if (cand[i] == x)
			return true;
	return false;
}

static int choose(int cur, enum sched_kind kind, const int *cand,
		  unsigned int nc, unsigned int step)
{
	int best = cand[0];

	if (S.cfg.forced) {
		if (step < S.cfg.nforced && among(S.cfg.forced[step], cand, nc))
			return S.cfg.forced[step];
		return cur >= 0 && among(cur, cand, nc) ? cur : cand[0];
	}
	if (S.cfg.strategy == SCHED_RANDOM)
		return cand[rnd() % nc];
	for (unsigned int k = 0; k < S.nchange; k++)
		if (S.change[k] == step && cur >= 0)
			S.t[cur].prio = (int)(S.nchange - k);
	for (unsigned int i = 1; i < nc; i++)
		if (S.t[cand[i]].prio > S.t[best].prio)
			best = cand[i];
	return best;
}

/* Who runs after this point (S.m held); -1: nobody can. */
static int pick(int cur, enum sched_kind kind, const char *what)
{
	struct sched_record *r = S.rec;
	unsigned int step = r->steps;
	int cand[SCHED_MAX_THREADS], next;
	unsigned int nc = candidates(cur, kind, cand);

	if (!nc)
		return -1;
	if (step == SCHED_MAX_STEPS) {
		give_up("no progress: the step limit was reached");
		return -1;
	}
	next = choose(cur, kind, cand, nc, step);
	if (kind == SK_YIELD && next == cur) {
		if (++S.idle_yields > MAX_IDLE_YIELDS) {
			give_up("livelock: a thread retries while every other "
				"waits");
			return -1;
		}
	} else {
		S.idle_yields = 0;
	}
	r->choice[step] = (uint8_t)next;
	r->from[step] = (uint8_t)(cur < 0 ? 0xff : cur);
	r->kind[step] = (uint8_t)kind;
	r->what[step] = what;
	r->preempt[step] = cur >= 0 && next != cur &&
			   S.t[cur].st == T_RUN && kind != SK_YIELD;
	r->steps = step + 1;
	return next;
}

/* Hand over to next and wait for our turn (S.m held). */
static void switch_to(int me, int next)
{
	if (next < 0) {
		if (!S.over)
			give_up("deadlock");
	} else if (next != me) {
		S.current = next;
		pthread_cond_broadcast(&S.cv);
	}
	while (S.current != me || S.over)
		pthread_cond_wait(&S.cv, &S.m);	/* over: forever */
}

void sched_point(enum sched_kind kind, const char *what)
{
	int me = sched_self;

	if (!sched_controlled())
		return;
	pthread_mutex_lock(&S.m);
	switch_to(me, pick(me, kind, what));
	pthread_mutex_unlock(&S.m);
}

void sched_wait(const void *lock, const char *what)
{
	int me = sched_self;

	pthread_mutex_lock(&S.m);
	S.t[me].st = T_WAIT;
	S.t[me].wait = lock;
	S.t[me].what = what;
	switch_to(me, pick(me, SK_WAIT, what));
	pthread_mutex_unlock(&S.m);
}

void sched_wake(const void *lock)
{
	pthread_mutex_lock(&S.m);
	for (unsigned int i = 0; i < S.n; i++)
		if (S.t[i].st == T_WAIT && S.t[i].wait == lock)
			S.t[i].st = T_RUN;
	pthread_mutex_unlock(&S.m);
}

void sched_relax(const char *what)
{
	if (sched_controlled())
		sched_point(SK_YIELD, what);
	else
		sched_yield();
}

static void *thread_main(void *p)
{
	unsigned int t = (unsigned int)(uintptr_t)p;

	sched_self = (int)t;
	pthread_mutex_lock(&S.m);
	while (S.current != (int)t || S.over)
		pthread_cond_wait(&S.cv, &S.m);
	pthread_mutex_unlock(&S.m);
	S.fn(S.arg, t);
	pthread_mutex_lock(&S.m);
	S.t[t].st = T_DONE;
	if (++S.ndone == S.n) {
		S.current = -1;
		pthread_cond_broadcast(&S.cv);
	} else {
		int next = pick((int)t, SK_EXIT, "exit");

		if (next < 0) {
			if (!S.over)
				give_up("deadlock");
		} else {
			S.current = next;
			pthread_cond_broadcast(&S.cv);
		}
	}
	pthread_mutex_unlock(&S.m);
	sched_self = -1;
	return NULL;
}

static void pct_init(void)
{
	unsigned int d = S.cfg.depth ? S.cfg.depth : 1;
	unsigned int k = S.cfg.est_steps ? S.cfg.est_steps : 100;
	int perm[SCHED_MAX_THREADS];

	for (unsigned int i = 0; i < S.n; i++)
		perm[i] = (int)i;
	for (unsigned int i = S.n; i > 1; i--) {
		unsigned int j = (unsigned int)(rnd() % i);
		int x = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = x;
	}
	for (unsigned int i = 0; i < S.n; i++)
		S.t[i].prio = (int)d + perm[i];
	S.nchange = MIN(d - 1, SCHED_MAX_DEPTH);
	for (unsigned int i = 0; i < S.nchange; i++)
		S.change[i] = 1 + (unsigned int)(rnd() % k);
}

int sched_run(const struct sched_config *cfg, struct sched_record *rec,
	      unsigned int n, void (*fn)(void *arg, unsigned int t),
	      void *arg)
{
	pthread_t tid[SCHED_MAX_THREADS];
	bool over;

	if (!n || n > SCHED_MAX_THREADS)
		return -EINVAL;
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_lock(&S.m);
	S.cfg = *cfg;
	S.rec = rec;
	S.n = n;
	S.ndone = 0;
	S.over = false;
	S.current = -1;
	S.idle_yields = 0;
	S.fn = fn;
	S.arg = arg;
	S.rng = cfg->seed ^ 0x5DEECE66DULL;
	memset(S.t, 0, sizeof(S.t));
	if (cfg->strategy == SCHED_PCT)
		pct_init();
	pthread_mutex_unlock(&S.m);
	atomic_store(&lock_tracking, true);	/* the lock hooks are the points */
	atomic_store(&sched_active, true);
	for (unsigned int t = 0; t < n; t++)
		if (pthread_create(&tid[t], NULL, thread_main,
				   (void *)(uintptr_t)t))
			return -EAGAIN;		/* the caller's process exits */
	pthread_mutex_lock(&S.m);
	S.current = pick(-1, SK_START, "start");
	pthread_cond_broadcast(&S.cv);
	while (S.ndone < S.n && !S.over)
		pthread_cond_wait(&S.cv, &S.m);
	over = S.over;
	pthread_mutex_unlock(&S.m);
	if (over)
		return -EDEADLK;
	for (unsigned int t = 0; t < n; t++)
		pthread_join(tid[t], NULL);
	atomic_store(&sched_active, false);
	return 0;
}
