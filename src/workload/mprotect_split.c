/* SPDX-License-Identifier: MIT */
/*
 * mprotect-split: why the anon_vma_chain lists became an interval tree
 * (2012, reference §3).  A faulted P-page VMA is forked, the parent exits,
 * and the child mprotects every other page: P one-page VMAs share the
 * anon_vmas, so a list walks all of them per page and a tree one.
 */
#include <stdio.h>
#include "workload/wl_internal.h"

enum { PAGES };

static const struct wl_param params[] = {
	[PAGES] = { "pages", "--split-pages", "mprotect-split pages = VMAs",
		    4096, 2, 1UL << 20 },
	{ NULL },
};

static int body(struct wl_run *r)
{
	unsigned long pages = r->param[PAGES];
	int err;

	err = wl_sys_create(r, 2 * pages + 1024);
	if (!err)
		err = wl_spawn(r, pages, 0x22);
	if (!err)
		err = wl_fork(r, 0);
	if (err)
		return err;
	wl_exit(r, 0);					/* the child is p[0] */
	for (unsigned long i = 0; i < pages; i += 2) {
		wl_progress(r, "mprotect", i, pages);
		err = avm_mprotect(r->p[0].mm, r->p[0].addr + i * PG, PG,
				   AVM_PROT_READ);
		if (err)
			return wl_fail(r, err, "avm_mprotect page %lu", i);
	}
	return 0;
}

static void describe(const unsigned long *p, char *buf, size_t len)
{
	snprintf(buf, len, "a %lu-page faulted VMA, forked; the parent exits; "
		 "the child mprotects every other page: %lu VMAs", p[PAGES],
		 p[PAGES]);
}

const struct workload wl_mprotect_split = {
	.name = "mprotect-split",
	.summary = "a faulted P-page VMA, forked, split into P one-page VMAs "
		   "by mprotect (the 2012 interval tree, reference §3)",
	.seed = "linux-anon-rmap.md",
	.params = params,
	.size_param = PAGES,
	.body = body,
	.describe = describe,
};
