/* SPDX-License-Identifier: MIT */
/*
 * fork-tree: a random fork tree with exits and COW writes at every level,
 * where anon_vma reuse (seed 2014-11) trades anon_vmas for false aliasing:
 * a reused anon_vma makes walks visit VMAs that no longer map the page.
 */
#include <stdint.h>
#include <stdio.h>
#include "workload/wl_internal.h"

enum { SEED, STEPS, PROCS, PAGES };

static const struct wl_param params[] = {
	[SEED] = { "seed", "--seed", "fork-tree seed (printed)", 42, 0, ~0UL },
	[STEPS] = { "steps", "--tree-ops", "fork-tree steps", 3000, 1,
		    100000000 },
	[PROCS] = { "max_processes", "--tree-procs",
		    "fork-tree live processes at most", 128, 1, 100000 },
	[PAGES] = { "pages", "--tree-pages", "fork-tree VMA pages", 64, 1,
		    1UL << 20 },
	{ NULL },
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int body(struct wl_run *r)
{
	unsigned long steps = r->param[STEPS], procs = r->param[PROCS];
	unsigned long pages = r->param[PAGES];
	uint64_t s = r->param[SEED] ^ 0x9E3779B97F4A7C15ULL;
	unsigned long writes = pages < 4 ? pages : 4;
	int err;

	if (!s)
		s = 1;
	err = wl_sys_create(r, procs * pages + pages + 1024);
	if (!err)
		err = wl_spawn(r, pages, 0x44);
	for (unsigned long k = 0; !err && k < steps; k++) {
		unsigned int dice = (unsigned int)(rnd(&s) % 100);
		size_t i = (size_t)(rnd(&s) % r->np);
		unsigned long first = rnd(&s) % pages;

		wl_progress(r, "steps", k, steps);
		if (dice < 45 && r->np < procs) {
			err = wl_fork(r, i);
			if (!err)	/* the child writes at once */
				err = wl_write_pages(r, r->np - 1, first,
						     writes, 7, (int)k);
		} else if (dice < 75 && r->np > 1) {
			wl_exit(r, i);
		} else {
			err = wl_write_pages(r, i, first, writes, 3, (int)k);
		}
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "random fork tree, seed %lu: %lu steps (fork / exit "
		 "/ COW writes), at most %lu processes, %lu-page VMA", p[SEED],
		 p[STEPS], p[PROCS], p[PAGES]);
}

const struct workload wl_fork_tree = {
	.name = "fork-tree",
	.summary = "random fork tree with exits and COW writes (reuse and its "
		   "false aliasing, seed 2014-11)",
	.seed = "2014-11-fork-slab-growth-reuse.txt",
	.params = params,
	.size_param = PROCS,
	.body = body,
	.describe = describe,
};
