/* SPDX-License-Identifier: MIT */
/*
 * snapshot: Redis BGSAVE (and every fork-to-snapshot server): a large
 * parent (1 GiB by default) forks a child that reads every page to save
 * it, while the parent keeps writing a fraction of its pages, each write
 * a COW copy.  One fork, one huge VMA, pages split between "still shared"
 * and "parent's private copy".  (Not from a seed; the classic case for
 * fork's memory cost, cf. the 2014 thread's fork-heavy workloads.)
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { PAGES, PERCENT };

static const struct wl_param params[] = {
	[PAGES] = { "pages", "--snapshot-pages",
		    "snapshot parent pages (262144 = 1 GiB)", 262144, 1,
		    1UL << 24 },
	[PERCENT] = { "write_percent", "--write-percent",
		      "snapshot: % of pages the parent writes during the save",
		      25, 0, 100 },
	{ NULL },
};

static int body(struct wl_run *r)
{
	unsigned long m = r->param[PAGES], pct = r->param[PERCENT];
	unsigned char b;
	int err;

	wl_progress(r, "setup", 0, 1);
	err = wl_sys_create(r, m + m * pct / 100 + 1);
	if (!err)
		err = wl_spawn(r, m, 0x70);
	if (!err)
		err = wl_fork(r, 0);			/* the saver is p[1] */
	for (unsigned long i = 0; !err && i < m; i++) {
		struct wl_proc *c = &r->p[1];

		if (i % 4096 == 0)
			wl_progress(r, "saving", i, m);
		err = avm_read(c->mm, c->addr + i * AVM_PAGE_SIZE, &b, 1);
		if (err)
			return wl_fail(r, err, "saver read at page %lu", i);
		/* the parent writes pct of every 100 pages meanwhile */
		if (i % 100 < pct)
			err = wl_write_pages(r, 0, i, 1, 1, 0x71);
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "a %lu-page parent forks a child that reads every "
		 "page while the parent writes %lu%% of them", p[PAGES],
		 p[PERCENT]);
}

const struct workload wl_snapshot = {
	.name = "snapshot",
	.summary = "a 1 GiB parent forks a saver that reads everything while "
		   "the parent writes (Redis BGSAVE)",
	.seed = "none (Redis BGSAVE)",
	.params = params,
	.size_param = PAGES,
	.body = body,
	.describe = describe,
};
