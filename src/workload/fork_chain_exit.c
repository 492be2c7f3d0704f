/* SPDX-License-Identifier: MIT */
/*
 * fork-chain-exit: Forrest's reproducer (seeds 2012/2014) measured at its
 * worst moment, right after a parent exits: fork-chain measures while the
 * last parent and child both live; here the last parent exits too, so
 * what the chain left behind (abandoned anon_vmas or contexts, pages only
 * the survivor maps) is all there is.
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { GENS, PAGES };

static const struct wl_param params[] = {
	[GENS] = { "generations", "--exit-generations",
		   "fork-chain-exit generations", 10000, 1, 10000000 },
	[PAGES] = { "pages", "--exit-chain-pages",
		    "fork-chain-exit VMA pages", 16, 1, 1UL << 20 },
	{ NULL },
};

static int body(struct wl_run *r)
{
	unsigned long gens = r->param[GENS];
	int err;

	err = wl_sys_create(r, 4 * r->param[PAGES] + 1024);
	if (!err)
		err = wl_spawn(r, r->param[PAGES], 0x12);
	for (unsigned long g = 1; !err && g <= gens; g++) {
		wl_progress(r, "generations", g, gens);
		err = wl_fork(r, 0);			/* child is p[1] */
		if (!err)
			err = wl_write_pages(r, 1, g, 1, 1, (int)g);
		if (!err)
			wl_exit(r, 0);			/* the child moves to 0 */
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "%lu generations of fork, child writes a page, "
		 "parent exits (%lu-page VMA); measured right after the last "
		 "parent's exit", p[GENS], p[PAGES]);
}

const struct workload wl_fork_chain_exit = {
	.name = "fork-chain-exit",
	.summary = "Forrest's fork chain measured right after the parent exits "
		   "(its worst moment; seeds 2012/2014)",
	.seed = "2014-11-fork-slab-growth-reuse.txt",
	.params = params,
	.size_param = GENS,
	.body = body,
	.describe = describe,
};
