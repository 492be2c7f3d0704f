/* SPDX-License-Identifier: MIT */
/*
 * A program an embedder would write against an installed libanonvm (built
 * by tests/install.sh with `pkg-config --cflags --libs anonvm`, static and
 * shared): one parent writes 8 pages and forks 3 children that write them
 * all; every frame's reverse map is walked; the checker runs; everything
 * exits.  Prints "ok anon_vmas=4 walks=32 visits=56" when all went right.
 */
#include <stdio.h>
#include <string.h>
#include <anonvm/anonvm.h>

#define PAGES	8
#define KIDS	3

static int fail(const char *what, int err)
{
	fprintf(stderr, "embed: %s: %d\n", what, err);
	return 1;
}

int main(void)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *parent, *kid[KIDS];
	struct avm_walk_stats ws = { 0 };
	struct avm_stats st;
	unsigned long addr;
	char msg[256];
	int err;

	avm_config_default(&cfg);
	cfg.node_frames = 1024;
	cfg.swap_slots = 0;
	err = avm_sys_create(&cfg, &sys);
	if (err)
		return fail("avm_sys_create", err);
	err = avm_mm_create(sys, &parent);
	if (!err)
		err = avm_mmap(parent, 0, PAGES * AVM_PAGE_SIZE,
			       AVM_PROT_READ | AVM_PROT_WRITE, 0, &addr);
	if (!err)
		err = avm_fill(parent, addr, 0x5a, PAGES * AVM_PAGE_SIZE);
	for (int i = 0; !err && i < KIDS; i++) {
		err = avm_fork(parent, &kid[i]);
		if (!err)
			err = avm_fill(kid[i], addr, i + 1, PAGES * AVM_PAGE_SIZE);
	}
	if (err)
		return fail("building", err);
	avm_stats(sys, &st);
	err = avm_rmap_walk_all(sys, &ws);
	if (err)
		return fail("avm_rmap_walk_all", err);
	if (avm_check(sys, msg, sizeof(msg)))
		return fail(msg, -1);
	for (int i = 0; i < KIDS; i++)
		avm_exit(kid[i]);
	avm_exit(parent);
	avm_sys_destroy(sys);
	printf("ok anon_vmas=%lu walks=%lu visits=%lu\n", st.anon_vmas,
	       ws.walks, ws.visits);
	return 0;
}
