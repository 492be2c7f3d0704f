/* SPDX-License-Identifier: MIT */
/* The explorer on scenarios: each run is scn_run_lib under a schedule. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "scenario/explore.h"
#include "scenario/scenario.h"

struct scn_ctx {
	const struct scenario *s;
	const struct scn_lib_opts *lo;
};

static int scn_body(void *ctx, const struct sched_config *cfg,
		    struct sched_record *rec, char *msg, size_t len)
{
	struct scn_ctx *c = ctx;
	struct scn_lib_opts lo = *c->lo;
	struct scn_trace t;
	char err[256] = "";
	int rc;

	lo.sched = cfg;
	lo.sched_rec = rec;
	rc = scn_run_lib(c->s, &lo, &t, err, sizeof(err));
	if (rc == -EDEADLK)
		return rc;
	if (rc)
		snprintf(msg, len, "%s", err[0] ? err : strerror(-rc));
	else if (t.failure[0])
		snprintf(msg, len, "%s", t.failure);
	scn_trace_free(&t);
	return rc || msg[0];
}

int scn_explore(const struct scenario *s, const struct scn_lib_opts *lo,
		const struct explore_opts *o, struct explore_result *res,
		char *err, size_t errlen)
{
	struct scn_ctx c = { .s = s, .lo = lo };
	struct explore_body b = { .run = scn_body, .ctx = &c };
	int groups = 0;

	for (int i = 0; i < s->nstmts; i++)
		groups = s->stmts[i].group > groups ? s->stmts[i].group : groups;
	if (groups != 1) {
		snprintf(err, errlen, "%s: explore runs a scenario with one "
			 "group of thread blocks (this one has %d)", s->file,
			 groups);
		return -EINVAL;
	}
	return explore(&b, o, res);
}
