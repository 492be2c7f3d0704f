/* SPDX-License-Identifier: MIT */
/*
 * contention: the 2010 anon_vma_chain commit's experiment as threads.  A
 * forking server (1 parent writes M pages, forks N children that stay
 * alive and COW-write all M) is measured for a fixed wall time while W
 * walker threads run reclaim's rmap walks over the family's frames (all
 * of them, evenly spread, as reclaim meets them on the LRU) and F forker
 * threads fork a child of the parent, COW-write a few of its pages and
 * exit it, in a loop.
 *
 * The family lock's statistics (lockstat, per class, over the measured
 * interval only) say what the walks cost the other threads: the read
 * (shared) holds are the walkers', the exclusive ones fork's and exit's;
 * a design whose family lock is a mutex has only exclusive holds, and
 * its per-walk hold then includes the forkers' (contention_hold_split).
 *
 * The 64-CPU prediction is the bottleneck law on the family lock, in two
 * variants (README "Contention"):
 *   exclusive: every hold serializes (the 2010 kernel's spinlock, what
 *     AIM7 hit): X64 = X * min(s, 1 / f) where X is the measured walks/s,
 *     s = 64 / (W + F) the scale-up with the same mix of threads, and
 *     f = total hold time / wall time measured;
 *   rwlock: walks share the lock; only the exclusive holds (fraction f_w)
 *     serialize everyone: X64 = X * s * max(0, 1 - s * f_w).
 * Both ignore cache-line transfer of the lock word, which only lowers X64.
 * A mutex family lock (anonmm, cow-context) has only the exclusive law;
 * pte-chain has no family lock (hashed per-frame chain locks, reported as
 * its class) and no prediction.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/lockdep.h"
#include "workload/wl_internal.h"

enum { CHILDREN, PAGES, WALKERS, FORKERS, MS, FAULTS, PASSES };

static const struct wl_param params[] = {
	[CHILDREN] = { "children", "--server-children",
		       "contention: forking-server children", 1000, 0, 100000 },
	[PAGES] = { "pages", "--server-pages", "contention: parent pages", 64,
		    1, 1UL << 16 },
	[WALKERS] = { "walkers", "--walkers", "contention: rmap walker threads",
		      1, 1, 64 },
	[FORKERS] = { "forkers", "--forkers",
		      "contention: fork/fault/exit threads", 1, 0, 64 },
	[MS] = { "ms", "--contention-ms", "contention: measured wall time (ms)",
		 500, 1, 600000 },
	[FAULTS] = { "fork_faults", "--fork-faults",
		     "contention: pages each forked child COW-writes", 4, 0,
		     1UL << 16 },
	[PASSES] = { "passes", "--contention-passes",
		     "contention: walkers walk whole passes over the frames, "
		     "at least this many (0: stop on time)", 0, 0, 1000 },
	{ NULL },
};

#define MAX_THREADS	128
/* pte-chain has no family lock: its chain locks are hashed per frame */
#define PTE_CHAIN_LOCK	"pte_chain lock"

struct cshared {
	struct wl_run *r;
	struct avm_mm *parent;
	unsigned long addr, pages, faults, passes;
	unsigned long *pfn, n, step;	/* the family's frames, Weyl step */
	atomic_bool time_up, stop;	/* walkers stop, then forkers */
	atomic_int err;
	pthread_barrier_t start;
	atomic_ulong walks, visits, early, hits, forks;
};

struct cthread {
	struct cshared *s;
	unsigned long k;		/* index among its kind */
};

static void cfail(struct cshared *s, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&s->err, &zero, err);
	atomic_store(&s->time_up, true);
	atomic_store(&s->stop, true);
}

static void *walker_main(void *arg)
{
	struct cthread *t = arg;
	struct cshared *s = t->s;
	struct avm_walk_stats ws = { 0 };
	/* each walker starts elsewhere in the sequence */
	unsigned long i0 = t->k * 7919, i = i0;

	pthread_barrier_wait(&s->start);
	for (;;) {
		unsigned long k;
		int err;

		/* with passes: only at a pass's end, once enough are done */
		if ((!s->passes || ((i - i0) % s->n == 0 &&
				    (i - i0) / s->n >= s->passes) ||
		     atomic_load(&s->err)) &&
		    atomic_load_explicit(&s->time_up, memory_order_relaxed))
			break;
		k = (unsigned long)(((unsigned __int128)(i++ % s->n) *
				     s->step) % s->n);
		err = avm_rmap_walk_pfn(s->r->sys, s->pfn[k], &ws);
		if (err) {
			cfail(s, err);
			break;
		}
	}
	atomic_fetch_add(&s->walks, ws.walks);
	atomic_fetch_add(&s->visits, ws.visits);
	atomic_fetch_add(&s->early, ws.early_visits);
	atomic_fetch_add(&s->hits, ws.hits);
	return NULL;
}

/* Fork the parent, COW-write faults pages of the child, exit it. */
static int fork_cycle(struct cshared *s, unsigned long *next)
{
	struct avm_mm *child = NULL;
	unsigned char b = 0x7a;
	int err = avm_fork(s->parent, &child);

	for (unsigned long j = 0; !err && j < s->faults; j++)
		err = avm_write(child, s->addr + (*next)++ % s->pages * PG, &b,
				1);
	if (child)
		avm_exit(child);
	return err;
}

static void *forker_main(void *arg)
{
	struct cthread *t = arg;
	struct cshared *s = t->s;
	unsigned long forks = 0, next = t->k * 31;
	int err;

	pthread_barrier_wait(&s->start);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		err = fork_cycle(s, &next);
		if (err) {
			cfail(s, err);
			break;
		}
		forks++;
	}
	atomic_fetch_add(&s->forks, forks);
	return NULL;
}

static unsigned long gcd(unsigned long a, unsigned long b)
{
	while (b) {
		unsigned long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Every present frame of the family (after the COW writes: distinct). */
static int collect(struct wl_run *r, struct cshared *s)
{
	unsigned long cap = (unsigned long)r->np * s->pages;

	s->pfn = malloc(cap * sizeof(*s->pfn));
	if (!s->pfn)
		return -ENOMEM;
	for (size_t i = 0; i < r->np; i++)
		for (unsigned long a = r->p[i].addr;
		     a < r->p[i].addr + r->p[i].len && s->n < cap; a += PG) {
			struct avm_page_info pi;

			if (!avm_page_info(r->p[i].mm, a, &pi) &&
			    pi.state == AVM_PTE_PRESENT && !pi.zero)
				s->pfn[s->n++] = pi.pfn;
		}
	if (!s->n)
		return -ENOENT;
	s->step = s->n > 2 ? (unsigned long)((double)s->n * 0.6180339887) : 1;
	while (s->n > 2 && gcd(s->step, s->n) != 1)
		s->step++;
	return 0;
}

/* The lock that serializes a fork family's reverse map in this design. */
static const char *family_class(const char *design)
{
	if (!design)
		return "anon_vma->root->rwsem";
	if (!strcmp(design, "anonmm"))
		return "anonmm family lock";
	if (!strcmp(design, "pte-chain"))
		return PTE_CHAIN_LOCK;
	if (!strncmp(design, "cow-context", 11) ||
	    !strcmp(design, "foreign-count") || !strcmp(design, "mapper-list"))
		return "cow-context family lock";
	return "anon_vma->root->rwsem";
}

static void class_stats(const char *name, struct avm_lockstat *out)
{
	struct avm_lockstat v[64];
	long n = avm_lockstat(v, 64);

	memset(out, 0, sizeof(*out));
	for (long i = 0; i < n && i < 64; i++)
		if (!strcmp(v[i].name, name))
			*out = v[i];
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static double per(double x, double n)
{
	return n > 0 ? x / n : 0;
}

/* The metrics of the interval from the family lock's statistics a -> b. */
static int metrics(struct wl_run *r, const struct cshared *s,
		   const struct avm_lockstat *a, const struct avm_lockstat *b,
		   double wall, unsigned long threads, bool family_lock)
{
	double walks = (double)s->walks, forks = (double)s->forks;
	double rd_hold = (double)(b->read_hold_ns - a->read_hold_ns);
	double rd_wait = (double)(b->read_wait_ns - a->read_wait_ns);
	double hold = (double)(b->hold_ns - a->hold_ns);
	double wait = (double)(b->wait_ns - a->wait_ns);
	bool shared = b->read_acquisitions > a->read_acquisitions;
	double ex_hold = hold - rd_hold;
	double scale = 64.0 / (double)threads, x = per(walks, wall);
	double f = hold / 1e9 / wall, fw = ex_hold / 1e9 / wall;
	double *m = r->res->m;

	m[WL_WALKS_S] = x;
	/* a walker's time per walk (its thread runs nothing else) */
	m[WL_NS_WALK] = per(wall * 1e9 * (double)r->param[WALKERS], walks);
	m[WL_FORKS_S] = per(forks, wall);
	/* a mutex family lock: walks' and forks' holds are not told apart */
	m[WL_HOLD_WALK] = per(shared ? rd_hold : hold, walks);
	m[WL_WAIT_WALK] = per(shared ? rd_wait : wait, walks);
	m[WL_XHOLD_FORK] = shared ? per(ex_hold, forks) : 0;
	m[WL_HOLD_FRAC] = f;
	if (!family_lock)
		return 0;	/* pte-chain: per-frame locks, no prediction */
	m[WL_PRED_X] = x * (f > 0 && 1 / f < scale ? 1 / f : scale);
	/* a mutex has no shared side: the exclusive law is its only one */
	m[WL_PRED_RW] = !shared ? m[WL_PRED_X] :
			x * scale * (scale * fw < 1 ? 1 - scale * fw : 0);
	return 0;
}

/* The measured interval: threads, with the family lock's statistics. */
static int measure(struct wl_run *r, struct cshared *s)
{
	unsigned long nw = r->param[WALKERS], nf = r->param[FORKERS];
	const char *cls = family_class(r->o->design);
	struct cthread t[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	struct avm_lockstat a, b;
	bool enabled = false;
	unsigned long nt = 0;
	double t0, wall;
	int err = 0;

	if (!atomic_load(&lockstat_on)) {
		err = avm_lockstat_enable(true);
		if (err)
			return wl_fail(r, err, "contention needs lock statistics");
		enabled = true;
	}
	class_stats(cls, &a);
	pthread_barrier_init(&s->start, NULL, (unsigned)(nw + nf + 1));
	for (; nt < nw + nf && !err; nt++) {
		t[nt] = (struct cthread){ s, nt < nw ? nt : nt - nw };
		err = -pthread_create(&tid[nt], NULL,
				      nt < nw ? walker_main : forker_main,
				      &t[nt]);
	}
	if (err) {
		/* the barrier cannot be passed: nothing measured */
		fprintf(stderr, "contention: pthread_create: %s\n",
			strerror(-err));
		abort();
	}
	pthread_barrier_wait(&s->start);
	t0 = wl_now();
	sleep_ms(r->param[MS]);
	atomic_store(&s->time_up, true);
	for (unsigned long i = 0; i < nt; i++) {
		if (i == nw)	/* the walkers are done: so are the forkers */
			atomic_store(&s->stop, true);
		pthread_join(tid[i], NULL);
	}
	wall = wl_now() - t0;
	class_stats(cls, &b);
	if (enabled)
		avm_lockstat_enable(false);
	pthread_barrier_destroy(&s->start);
	if (atomic_load(&s->err))
		return wl_fail(r, atomic_load(&s->err), "contention threads");
	return metrics(r, s, &a, &b, wall, nw + nf,
		       strcmp(cls, PTE_CHAIN_LOCK) != 0);
}

static int body(struct wl_run *r)
{
	unsigned long n = r->param[CHILDREN], m = r->param[PAGES];
	struct cshared *s;
	int err;

	if (r->param[WALKERS] + r->param[FORKERS] > MAX_THREADS)
		return wl_fail(r, -EINVAL, "more than %d threads", MAX_THREADS);
	err = wl_forking_server_setup(r, n, m);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return wl_fail(r, -ENOMEM, "contention");
	*s = (struct cshared){ .r = r, .parent = r->p[0].mm,
			       .addr = r->p[0].addr, .pages = m,
			       .faults = r->param[FAULTS],
			       .passes = r->param[PASSES] };
	err = collect(r, s);
	if (err)
		wl_fail(r, err, "collecting the family's frames");
	else {
		wl_progress(r, "contention", 0, 0);
		err = measure(r, s);
	}
	if (!err) {
		r->walked = true;
		r->res->all_walked = s->walks >= s->n;
		r->res->m[WL_WALKS] = (double)s->walks;
		r->res->m[WL_VISITS] = s->walks ? (double)s->visits /
						  (double)s->walks : 0;
		r->res->m[WL_EARLY] = s->walks ? (double)s->early /
						 (double)s->walks : 0;
		r->res->m[WL_HITS] = s->walks ? (double)s->hits /
						(double)s->walks : 0;
		r->res->m[WL_PER_MAP] = s->hits ? (double)s->visits /
						  (double)s->hits : 0;
		r->res->m[WL_FORKS] = (double)s->forks;
	}
	free(s->pfn);
	free(s);
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "forking server (1 parent, %lu pages, %lu children "
		 "COW-writing all) for %lu ms: %lu walker threads walk the "
		 "family's frames, %lu threads fork+COW-write %lu pages+exit",
		 p[PAGES], p[CHILDREN], p[MS], p[WALKERS], p[FORKERS],
		 p[FAULTS]);
}

const struct workload wl_contention = {
	.name = "contention",
	.summary = "W threads walk a forking server's rmap while F threads "
		   "fork/fault/exit: family lock hold and wait per walk "
		   "(seed 2010, AIM7 scaling)",
	.seed = "2010-anon_vma_chain-commit.txt",
	.params = params,
	.size_param = CHILDREN,
	.body = body,
	.describe = describe,
};
