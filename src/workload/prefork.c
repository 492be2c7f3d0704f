/* SPDX-License-Identifier: MIT */
/*
 * prefork: a forking server with long-lived workers (Apache's prefork MPM,
 * gunicorn, PostgreSQL backends): the parent writes M pages and keeps W
 * workers; each worker COW-writes a fraction of the pages (its private
 * state) and lives on; R times the oldest worker exits and the parent
 * forks a replacement, which writes its own fraction.  Unlike the 2010
 * commit's forking server (seed 2010), most pages stay shared with the
 * parent, and the parent's context or anon_vma collects generations of
 * exited workers.
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { WORKERS, PAGES, PERCENT, REPLACE };

static const struct wl_param params[] = {
	[WORKERS] = { "workers", "--workers", "prefork live workers", 64, 1,
		      10000 },
	[PAGES] = { "pages", "--prefork-pages", "prefork parent pages", 1024,
		    1, 1UL << 22 },
	[PERCENT] = { "cow_percent", "--cow-percent",
		      "prefork: % of the pages a worker COW-writes", 10, 0,
		      100 },
	[REPLACE] = { "replacements", "--replacements",
		      "prefork: workers that exit and are replaced", 256, 0,
		      1000000 },
	{ NULL },
};

/* Worker r->p[i] (a fresh fork) writes its share, offset by its number. */
static int work(struct wl_run *r, size_t i, unsigned long k)
{
	unsigned long m = r->param[PAGES];
	unsigned long n = m * r->param[PERCENT] / 100;

	return n ? wl_write_pages(r, i, k * 7, n, 1, (int)(1 + k % 254)) : 0;
}

static int body(struct wl_run *r)
{
	unsigned long w = r->param[WORKERS], m = r->param[PAGES];
	unsigned long share = m * r->param[PERCENT] / 100 + 1;
	int err;

	wl_progress(r, "setup", 0, 1);
	err = wl_sys_create(r, m + (w + 1) * share);
	if (!err)
		err = wl_spawn(r, m, 0x60);
	for (unsigned long k = 0; !err && k < w; k++) {
		wl_progress(r, "forking workers", k, w);
		err = wl_fork(r, 0);
		if (!err)
			err = work(r, r->np - 1, k);
	}
	for (unsigned long k = 0; !err && k < r->param[REPLACE]; k++) {
		wl_progress(r, "replacing workers", k, r->param[REPLACE]);
		/* p[1] is the oldest live worker: exit moves the newest there,
		   so the victim rotates over every slot */
		wl_exit(r, 1 + k % w);
		err = wl_fork(r, 0);
		if (!err)
			err = work(r, r->np - 1, w + k);
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "1 parent writes %lu pages and keeps %lu workers, "
		 "each COW-writing %lu%% of them; %lu times a worker exits and "
		 "is replaced", p[PAGES], p[WORKERS], p[PERCENT], p[REPLACE]);
}

const struct workload wl_prefork = {
	.name = "prefork",
	.summary = "forking server with long-lived workers: W workers COW a "
		   "fraction, exit and are replaced (seed 2010, AIM7-style)",
	.seed = "2010-anon_vma_chain-commit.txt",
	.params = params,
	.size_param = WORKERS,
	.body = body,
	.describe = describe,
};
