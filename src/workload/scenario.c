/* SPDX-License-Identifier: MIT */
/*
 * A scenario file as a workload (`anonvm compare --scenario FILE`), for
 * recordings of real programs (`anonvm record`).
 *
 * The body replays the file's statements on the fresh system up to a
 * measuring point, and the usual steps (rmap walk of the frames in use,
 * live objects, checker) measure the state there.  A recording ends with
 * every process gone, so the default point is the recording's peak: just
 * before the first exit that happens while the most processes are alive
 * (parameter "statements": how many statements run, 1 to all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/compiler.h"
#include "scenario/scenario.h"
#include "workload/workload.h"
#include "workload/wl_internal.h"

struct wl_scn {
	struct workload w;
	struct wl_param params[2];
	struct scenario *s;
	char name[64], summary[160], option[96];
};

/* Statements before the first exit at the largest number of live processes. */
static int peak(const struct scenario *s)
{
	int live = 0, most = 0, at = s->nstmts;

	for (int i = 0; i < s->nstmts; i++) {
		const struct scn_stmt *st = &s->stmts[i];

		if (st->op == SCN_SPAWN || st->op == SCN_FORK)
			live++;
		if (live > most) {
			most = live;
			at = s->nstmts;
		}
		if (st->op == SCN_EXIT) {
			if (live == most && at == s->nstmts)
				at = i;
			live--;
		}
	}
	return at;
}

/* At most one new frame per page a statement stores to or faults in. */
static unsigned long frames_needed(const struct scenario *s, int n)
{
	unsigned long f = 0;

	for (int i = 0; i < n; i++)
		f += s->stmts[i].op == SCN_FILL ? s->stmts[i].pages :
		     s->stmts[i].op == SCN_WRITE || s->stmts[i].op == SCN_READ ||
		     s->stmts[i].op == SCN_EXPECT ? 1 : 0;
	return f;
}

static long proc_index(const struct wl_run *r, const struct avm_mm *mm)
{
	for (size_t i = 0; i < r->np; i++)
		if (r->p[i].mm == mm)
			return (long)i;
	return -1;
}

static int step(struct wl_run *r, struct avm_mm **slot, const struct scn_stmt *st)
{
	struct avm_mm *mm = st->proc >= 0 ? slot[st->proc] : NULL;
	long i = mm ? proc_index(r, mm) : -1;
	int err, value;

	switch (st->op) {
	case SCN_SPAWN:
		err = avm_mm_create(r->sys, &slot[st->child]);
		return err ? err : wl_add(r, slot[st->child]);
	case SCN_FORK:
		if ((err = wl_fork(r, (size_t)i)))
			return err;
		slot[st->child] = r->p[r->np - 1].mm;
		return 0;
	case SCN_EXIT:
		wl_exit(r, (size_t)i);
		slot[st->proc] = NULL;
		return 0;
	case SCN_CHECK:
		return 0;
	default:
		err = scn_lib_exec(mm, st, &value);
		return err == -st->expect_err ? 0 : err ? err : -EPROTO;
	}
}

static int scn_body(struct wl_run *r)
{
	const struct wl_scn *ws = container_of(r->w, struct wl_scn, w);
	const struct scenario *s = ws->s;
	int n = (int)r->param[0], err;
	struct avm_mm **slot;

	err = wl_sys_create(r, frames_needed(s, n));
	if (err)
		return err;
	slot = calloc((size_t)s->nslots + 1, sizeof(*slot));
	if (!slot)
		return wl_fail(r, -ENOMEM, "slots");
	wl_progress(r, "replaying", 0, (unsigned long)n);
	for (int i = 0; i < n && !err; i++) {
		char buf[160];

		err = step(r, slot, &s->stmts[i]);
		if (err)
			wl_fail(r, err, "%s:%d: %s", s->file, s->stmts[i].line,
				scn_stmt_str(s, &s->stmts[i], buf, sizeof(buf)));
		else if (i % 1024 == 0)
			wl_progress(r, "replaying", (unsigned long)i,
				    (unsigned long)n);
	}
	free(slot);
	return err;
}

static void scn_describe(const struct workload *w, const unsigned long *param,
			 char *buf, size_t len)
{
	const struct wl_scn *ws = container_of(w, struct wl_scn, w);
	int live = 0, procs = 0;

	for (unsigned long i = 0; i < param[0]; i++) {
		enum scn_op op = ws->s->stmts[i].op;

		procs += op == SCN_SPAWN || op == SCN_FORK;
		live += (op == SCN_SPAWN || op == SCN_FORK) - (op == SCN_EXIT);
	}
	snprintf(buf, len, "%s replayed to statement %lu of %d (%d processes "
		 "so far, %d alive there)", ws->s->file, param[0],
		 ws->s->nstmts, procs, live);
}

const struct workload *wl_scenario_load(const char *path, char *err,
					size_t errlen)
{
	struct wl_scn *ws = calloc(1, sizeof(*ws));
	const char *base = strrchr(path, '/');

	if (!ws) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (scn_parse_file(path, &ws->s, err, errlen)) {
		free(ws);
		return NULL;
	}
	base = base ? base + 1 : path;
	snprintf(ws->name, sizeof(ws->name), "file:%.58s", base);
	snprintf(ws->summary, sizeof(ws->summary), "the scenario file %.140s",
		 path);
	snprintf(ws->option, sizeof(ws->option), "--%.80s-statements", base);
	ws->params[0] = (struct wl_param){
		.key = "statements", .option = ws->option,
		.help = "statements replayed (default: to the peak)",
		.def = (unsigned long)peak(ws->s), .lo = 1,
		.hi = (unsigned long)ws->s->nstmts,
	};
	if (!ws->params[0].def)
		ws->params[0].def = ws->params[0].lo = ws->params[0].hi = 0;
	ws->w = (struct workload){
		.name = ws->name, .summary = ws->summary, .seed = "recording",
		.params = ws->params, .size_param = 0, .body = scn_body,
		.describe_self = scn_describe,
	};
	return &ws->w;
}

void wl_scenario_free(const struct workload *w)
{
	struct wl_scn *ws;

	if (!w || w->body != scn_body)
		return;
	ws = container_of(w, struct wl_scn, w);
	scn_free(ws->s);
	free(ws);
}
