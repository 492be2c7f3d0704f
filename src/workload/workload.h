/* SPDX-License-Identifier: MIT */
/*
 * Workloads: the experiments of the seed texts as small described objects,
 * run by `anonvm compare` (tables, JSON, --sweep, --plot), `anonvm demo`
 * and the benchmarks alike.
 *
 * A workload has a name, a one-line summary naming the seed it comes from,
 * integer parameters with defaults (each with its command-line option), and
 * a body that builds its processes on a fresh system through the helpers
 * below.  wl_run_cell() runs one workload on one design: a fresh system,
 * the body, an rmap walk of the frames in use (evenly spread, within a time
 * budget), the live objects, the checker if asked, every process exits; the
 * result is one number per metric (enum wl_metric).
 *
 * Adding a workload: one file here (fork_chain.c is a short example)
 * defining a `const struct workload` whose body calls wl_sys_create()
 * first and then the helpers below; its extern in wl_internal.h and its
 * entry in the table of workload.c.  compare (tables, JSON, --sweep over
 * size_param), bench/workloads and tests/workload.c (every workload on
 * every design, checked) pick it up; its parameters become compare
 * options (each `option` must be unique over all workloads).  A body that
 * calls wl_sample() feeds compare --plot's series.
 *
 * Internal to libanonvm (the shared library exports only avm_*); the CLI,
 * benchmarks and tests link the static archive.
 */
#ifndef AVM_WORKLOAD_H
#define AVM_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include "anonvm/anonvm.h"

#define WL_MAX_PARAMS	8
#define WL_SLACK_FRAMES	65536UL		/* frames beyond what a body asks */

/* ---- metrics ------------------------------------------------------------ */

enum wl_metric {
	WL_WALKS, WL_VISITS, WL_EARLY, WL_HITS, WL_PER_MAP, WL_EARLY_PER_MAP,
	WL_VMAS, WL_ANON_VMAS, WL_AVCS,
	WL_OBJECTS, WL_BYTES, WL_COPIES, WL_NS_WALK, WL_FORK_NS, WL_EXIT_NS,
	/* contention: measured with threads (walks above are theirs) */
	WL_FORKS, WL_WALKS_S, WL_FORKS_S, WL_HOLD_WALK, WL_WAIT_WALK,
	WL_XHOLD_FORK, WL_HOLD_FRAC, WL_PRED_X, WL_PRED_RW,
	WL_WALL, WL_NR_METRICS
};

struct wl_metric_info {
	const char *key;	/* JSON key */
	const char *head;	/* table column */
	const char *label;	/* axis label, with its unit */
	int width, prec;	/* prec < 0: an integer */
	bool hide_zero;		/* a table drops it when 0 for every design */
	bool timing;		/* measured time: varies run to run */
};

extern const struct wl_metric_info wl_metrics[WL_NR_METRICS];

/* ---- workloads ------------------------------------------------------------ */

struct wl_param {
	const char *key;	/* name (JSON "parameters") */
	const char *option;	/* command-line option, unique over workloads */
	const char *help;
	unsigned long def, lo, hi;
};

struct wl_run;

struct workload {
	const char *name;
	const char *summary;		/* one line, naming the seed */
	const char *seed;		/* the seed text it comes from */
	const struct wl_param *params;	/* ends with a NULL key */
	int size_param;			/* the parameter --sweep varies */
	/* Build the processes (fresh system: wl_sys_create first). */
	int (*body)(struct wl_run *r);
	/* One sentence saying what runs with these parameter values. */
	void (*describe)(const unsigned long *param, char *buf, size_t len);
	/* Instead of describe, for workloads made at run time. */
	void (*describe_self)(const struct workload *w,
			      const unsigned long *param, char *buf, size_t len);
};

/* Every workload, NULL-terminated, in the order compare prints them. */
const struct workload *const *wl_all(void);
const struct workload *wl_find(const char *name);
int wl_nparams(const struct workload *w);
void wl_defaults(const struct workload *w, unsigned long *param);
/* w->describe or w->describe_self. */
void wl_describe(const struct workload *w, const unsigned long *param,
		 char *buf, size_t len);
/*
 * A scenario file (a recording) as a workload named "file:BASENAME"
 * (scenario.c): NULL and a message if it does not parse.  Free it with
 * wl_scenario_free().
 */
const struct workload *wl_scenario_load(const char *path, char *err,
					size_t errlen);
void wl_scenario_free(const struct workload *w);
/* Index of parameter key in w->params (-1 if none). */
int wl_param_index(const struct workload *w, const char *key);

/* ---- running one ------------------------------------------------------------ */

struct wl_opts {
	const char *design;		/* NULL: "linux" */
	enum avm_payload payload;	/* 0 is AVM_PAYLOAD_FULL: say so */
	double walk_budget;		/* seconds of walking, 0: every frame */
	/* Walk every frame again until this many seconds are spent (for
	   steadier ns_per_walk on small runs; walks then counts repeats). */
	double walk_min;
	bool check;			/* avm_check at the end, and no leaks */
	/* Called at most every 0.1 s of a long phase (may be NULL). */
	void (*progress)(void *ctx, const struct wl_run *r, const char *phase,
			 unsigned long done, unsigned long total);
	void *ctx;
	/* Record avm_stats at the points a body samples (wl_sample). */
	bool series;
};

struct wl_sample {
	unsigned long x;		/* the body's step (e.g. generation) */
	unsigned long anon_vmas, avcs, rmap_bytes, vmas;
};

struct wl_result {
	double m[WL_NR_METRICS];
	bool all_walked;		/* every frame in use was walked */
	char error[256];		/* empty: the run completed */
	struct wl_sample *series;	/* opts.series: malloc'ed */
	size_t nseries;
};

/* Run w on o->design with parameters param (wl_defaults() then edits). */
int wl_run_cell(const struct workload *w, const unsigned long *param,
		const struct wl_opts *o, struct wl_result *res);
void wl_result_free(struct wl_result *res);

/* ---- for bodies (and for callers that run the steps themselves) --------- */

struct wl_proc {
	struct avm_mm *mm;
	unsigned long addr, len;	/* its one mapping */
};

#define WL_MAX_PHASES	8

struct wl_run {
	const struct workload *w;
	const unsigned long *param;
	const struct wl_opts *o;
	struct wl_result *res;
	struct avm_sys *sys;
	struct wl_proc *p;		/* the live processes */
	size_t np, cap;
	unsigned long forks, exits;
	double fork_s, exit_s;
	bool walked;			/* the body walked: no walk after it */
	/* phases named by wl_progress, with their seconds */
	const char *phase[WL_MAX_PHASES];
	double phase_s[WL_MAX_PHASES];
	int nphases, cur_phase;	/* cur_phase: index + 1, 0 none */
	double phase_t0, last_progress;
	size_t series_cap;
};

/* Record the first failure in r->res->error; returns err (or -EIO). */
int wl_fail(struct wl_run *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Enter or continue a phase (timed; reported to o->progress). */
void wl_progress(struct wl_run *r, const char *phase, unsigned long done,
		 unsigned long total);
/* Seconds spent in phase so far (0 if it never ran). */
double wl_phase_seconds(const struct wl_run *r, const char *phase);
/*
 * The fresh system, with room for `frames` frames and the slack; a caller
 * that set r->sys before the body keeps its own system instead.
 */
int wl_sys_create(struct wl_run *r, unsigned long frames);
/* A new process mapping pages read-write, every page written with byte. */
int wl_spawn(struct wl_run *r, unsigned long pages, int byte);
/* Append a process the caller created (r->p may move); -ENOMEM. */
int wl_add(struct wl_run *r, struct avm_mm *mm);
/* Fork r->p[i]; the child is appended (r->p may move). */
int wl_fork(struct wl_run *r, size_t i);
/* Exit r->p[i]; the last process takes its slot. */
void wl_exit(struct wl_run *r, size_t i);
/* Write byte to n pages of r->p[i]: first, first + step, ... (mod len). */
int wl_write_pages(struct wl_run *r, size_t i, unsigned long first,
		   unsigned long n, unsigned long step, int byte);
/* Write byte to every page of r->p[i]. */
int wl_write_all(struct wl_run *r, size_t i, int byte);
/* The seed's forking server: a fresh system, a parent with pages pages
   and n children, each of which has COW-written all of them. */
int wl_forking_server_setup(struct wl_run *r, unsigned long n,
			    unsigned long pages);
/* Record the live objects at step x (when o->series). */
int wl_sample(struct wl_run *r, unsigned long x);

/* The steps wl_run_cell() runs after the body. */
int wl_walk_frames(struct wl_run *r);
int wl_finish(struct wl_run *r);	/* objects, check, every exit */
void wl_exit_all(struct wl_run *r);	/* every process exits */
void wl_teardown(struct wl_run *r);	/* exits, destroys the system */

#endif
