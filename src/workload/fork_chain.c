/* SPDX-License-Identifier: MIT */
/*
 * fork-chain: Forrest's reproducer (2012; the 2014 reuse threads).  G
 * generations of: fork, the child writes one page, the parent exits.  Only
 * two processes live at any time, but without anon_vma reuse every
 * generation leaves one more anon_vma in the chain.
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { GENS, PAGES };

#define SAMPLE_RATIO	1.05	/* series: generations 1, 2, ... spaced 5% */

static const struct wl_param params[] = {
	[GENS] = { "generations", "--generations", "fork-chain generations",
		   10000, 1, 10000000 },
	[PAGES] = { "pages", "--chain-pages", "fork-chain VMA pages", 16, 1,
		    1UL << 20 },
	{ NULL },
};

static int body(struct wl_run *r)
{
	unsigned long gens = r->param[GENS];
	double next = 1;	/* the next generation sampled */
	int err;

	err = wl_sys_create(r, 4 * r->param[PAGES] + 1024);
	if (!err)
		err = wl_spawn(r, r->param[PAGES], 0x11);
	for (unsigned long g = 1; !err && g <= gens; g++) {
		wl_progress(r, "generations", g, gens);
		err = wl_fork(r, 0);			/* child is p[1] */
		if (!err)
			err = wl_write_pages(r, 1, g, 1, 1, (int)g);
		if (!err && g < gens)
			wl_exit(r, 0);			/* the child moves to 0 */
		if (!err && (g >= next || g == gens)) {
			err = wl_sample(r, g);
			next = next * SAMPLE_RATIO > g + 1 ? next * SAMPLE_RATIO
							   : g + 1;
		}
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "%lu generations of fork, child writes a page, "
		 "parent exits (%lu-page VMA); measured after the last fork",
		 p[GENS], p[PAGES]);
}

const struct workload wl_fork_chain = {
	.name = "fork-chain",
	.summary = "G generations: fork, the child writes, the parent exits "
		   "(Forrest's reproducer, seeds 2012/2014)",
	.seed = "2014-11-fork-slab-growth-reuse.txt",
	.params = params,
	.size_param = GENS,
	.body = body,
	.describe = describe,
};
