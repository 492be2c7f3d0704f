/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define AVM_TEST_LIB
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "testutil.h"

uint64_t test_seed(const char *test_name)
{
	const char *env = getenv("AVM_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
		       ((uint64_t)getpid() << 40);
	}
	if (!seed)
		seed = 1;
	printf("%s: seed %" PRIu64 " (replay with AVM_SEED=%" PRIu64 ")\n",
	       test_name, seed, seed);
	fflush(stdout);
	return seed;
}

#include "anonvm/anonvm.h"

struct avm_sys *test_sys(unsigned int nodes)
{
	struct avm_config cfg;
	struct avm_sys *sys = NULL;
	int err;

	avm_config_default(&cfg);
	cfg.nodes = nodes;
	cfg.node_frames = 1UL << 16;
	cfg.swap_slots = 1UL << 16;
	cfg.design = getenv("AVM_DESIGN");
	err = avm_sys_create(&cfg, &sys);
	if (err) {
		fprintf(stderr, "avm_sys_create: %d\n", err);
		exit(1);
	}
	return sys;
}

bool test_design_by_address(void)
{
	const char *d = getenv("AVM_DESIGN");

	return d && (!strcmp(d, "pte-chain") || !strcmp(d, "anonmm"));
}

bool test_design_copies_on_move(void)
{
	const char *d = getenv("AVM_DESIGN");

	return d && !strcmp(d, "anonmm");
}

const char *test_design(void)
{
	const char *d = getenv("AVM_DESIGN");

	return d && *d ? d : "linux";
}
