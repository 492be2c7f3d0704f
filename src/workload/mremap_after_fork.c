/* SPDX-License-Identifier: MIT */
/*
 * mremap-after-fork: every child of a parent moves its mapping with mremap
 * and writes half of it (seed 2011-11, the mremap/rmap ordering thread;
 * the 2004 seed's argument against anonmm, which indexes by address and
 * has to copy every shared page that moves).
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { CHILDREN, PAGES };

#define DEST	0x600000000000UL

static const struct wl_param params[] = {
	[CHILDREN] = { "children", "--mremap-children",
		       "mremap-after-fork children", 100, 1, 100000 },
	[PAGES] = { "pages", "--mremap-pages", "mremap-after-fork pages", 1000,
		    2, 1UL << 22 },
	{ NULL },
};

static int body(struct wl_run *r)
{
	unsigned long n = r->param[CHILDREN], m = r->param[PAGES];
	int err;

	err = wl_sys_create(r, (n + 1) * m);
	if (!err)
		err = wl_spawn(r, m, 0x33);
	for (unsigned long i = 0; !err && i < n; i++) {
		wl_progress(r, "forking", i, n);
		err = wl_fork(r, 0);
	}
	for (unsigned long i = 1; !err && i <= n; i++) {
		struct wl_proc *p = &r->p[i];
		unsigned long got;

		wl_progress(r, "mremap and writes", i, n);
		err = avm_mremap(p->mm, p->addr, p->len, p->len,
				 AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, DEST,
				 &got);
		if (err)
			return wl_fail(r, err, "mm %lu: avm_mremap",
				       avm_mm_id(p->mm));
		p->addr = DEST;
		err = wl_write_pages(r, i, 0, m / 2, 2, (int)(1 + i % 254));
	}
	return err;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "1 parent writes %lu pages, forks %lu children; "
		 "each moves its mapping (mremap) and writes every other page",
		 p[PAGES], p[CHILDREN]);
}

const struct workload wl_mremap_after_fork = {
	.name = "mremap-after-fork",
	.summary = "1 parent, K children that move their mapping with mremap "
		   "and write half of it (seeds 2011-11, 2004-05 anonmm)",
	.seed = "2011-11-mremap-rmap-ordering.txt",
	.params = params,
	.size_param = CHILDREN,
	.body = body,
	.describe = describe,
};
