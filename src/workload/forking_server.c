/* SPDX-License-Identifier: MIT */
/*
 * forking-server: Rik van Riel's workload from the 2010 anon_vma_chain
 * commit.  One parent writes M pages and forks N children; every child
 * copy-on-writes all M.  With one anon_vma per fork family a walk visits
 * N + 1 VMAs; with anon_vma chains about 2 ((2N + 1) / (N + 1)).
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { CHILDREN, PAGES };

static const struct wl_param params[] = {
	[CHILDREN] = { "children", "--children", "forking-server children",
		       1000, 0, 100000 },
	[PAGES] = { "pages", "--pages", "forking-server pages", 1000, 1,
		    1UL << 22 },
	{ NULL },
};

int wl_forking_server_setup(struct wl_run *r, unsigned long n,
			    unsigned long m)
{
	int err;

	wl_progress(r, "setup", 0, 1);
	err = wl_sys_create(r, (n + 1) * m);
	if (!err)
		err = wl_spawn(r, m, 0x50);
	for (unsigned long i = 0; !err && i < n; i++) {
		wl_progress(r, "forking", i, n);
		err = wl_fork(r, 0);
	}
	for (unsigned long i = 0; !err && i < n; i++) {
		wl_progress(r, "COW writes", i, n);
		err = wl_write_all(r, i + 1, (int)(1 + i % 254));
	}
	return err;
}

static int body(struct wl_run *r)
{
	return wl_forking_server_setup(r, r->param[CHILDREN], r->param[PAGES]);
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "1 parent writes %lu pages, forks %lu children, "
		 "each child COW-writes all %lu", p[PAGES], p[CHILDREN], p[PAGES]);
}

const struct workload wl_forking_server = {
	.name = "forking-server",
	.summary = "1 parent, N children each COW-writing M pages of a shared "
		   "VMA (seed 2010, anon_vma_chain commit)",
	.seed = "2010-anon_vma_chain-commit.txt",
	.params = params,
	.size_param = CHILDREN,
	.body = body,
	.describe = describe,
};
