/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <limits.h>
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

	return d && (!strcmp(d, "pte-chain") || !strcmp(d, "anonmm") ||
		     !strcmp(d, "cow-context") || !strcmp(d, "foreign-count") ||
		     !strcmp(d, "mapper-list"));
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

struct avm_sys *test_sys_for(const char *design, unsigned int nodes,
			     unsigned long node_frames,
			     unsigned long swap_slots)
{
	struct avm_config cfg;
	struct avm_sys *sys = NULL;

	avm_config_default(&cfg);
	cfg.nodes = nodes;
	cfg.node_frames = node_frames;
	cfg.swap_slots = swap_slots;
	cfg.design = design;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	return sys;
}

struct avm_mm *test_mm_rw(struct avm_sys *sys, unsigned long addr,
			  unsigned long len)
{
	struct avm_mm *mm;

	assert_int_equal(avm_mm_create(sys, &mm), 0);
	assert_int_equal(avm_mmap(mm, addr, len,
				  AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	return mm;
}

unsigned char test_rd(struct avm_mm *mm, unsigned long addr)
{
	unsigned char b = 0xee;

	assert_int_equal(avm_read(mm, addr, &b, 1), 0);
	return b;
}

void test_wr(struct avm_mm *mm, unsigned long addr, unsigned char b)
{
	assert_int_equal(avm_write(mm, addr, &b, 1), 0);
}

struct avm_page_info test_info(struct avm_mm *mm, unsigned long addr)
{
	struct avm_page_info pi;

	assert_int_equal(avm_page_info(mm, addr, &pi), 0);
	return pi;
}

struct avm_stats test_stats(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st;
}

void test_fill_pages(struct avm_mm *mm, unsigned long addr, int n, int byte)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(avm_fill(mm, addr + (unsigned long)i *
					  AVM_PAGE_SIZE, byte + i,
					  AVM_PAGE_SIZE), 0);
}

void test_expect_page(struct avm_mm *mm, unsigned long addr, int byte)
{
	unsigned char buf[AVM_PAGE_SIZE];

	assert_int_equal(avm_read(mm, addr, buf, AVM_PAGE_SIZE), 0);
	for (size_t k = 0; k < AVM_PAGE_SIZE; k++)
		if (buf[k] != (unsigned char)byte) {
			fprintf(stderr, "mm %lu %#lx+%zu: %#x, expected %#x\n",
				avm_mm_id(mm), addr, k, buf[k],
				(unsigned char)byte);
			fail();
		}
}

void test_expect_pages(struct avm_mm *mm, unsigned long addr, int n,
		       int byte)
{
	for (int i = 0; i < n; i++)
		test_expect_page(mm, addr + (unsigned long)i * AVM_PAGE_SIZE,
				 byte + i);
}

unsigned long test_reclaim_all(struct avm_sys *sys)
{
	unsigned long n, total = 0;
	int passes = 0;

	do {
		assert_int_equal(avm_reclaim(sys, ULONG_MAX, &n), 0);
		total += n;
		assert_true(++passes < 100);
	} while (n);
	return total;
}

/* ---- the seed-2011 race window (test_widen_mremap_race) ----------------- */

/*
 * A handshake, not timing: mremap (MOVE) waits for a restore walk to
 * visit its destination; that walk (at its next visit) waits for the PTEs
 * to have moved (MOVED).  Both waits are bounded, so that a move that
 * takes the anon_vma lock (and so must wait for the walk) goes on after
 * the walk's wait times out.
 */
static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cv = PTHREAD_COND_INITIALIZER;
static unsigned long race_mm, race_dst;		/* the move under way */
static bool race_seen, race_moved, race_pause;
static atomic_ulong race_hits;

static void race_wait(bool *flag, long us)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += us * 1000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	while (!*flag && pthread_cond_timedwait(&race_cv, &race_mu, &ts) == 0)
		;
}

static void race_hook(void *arg, enum avm_race_point point,
		      unsigned long mm_id, unsigned long addr)
{
	(void)arg;
	pthread_mutex_lock(&race_mu);
	switch (point) {
	case AVM_RACE_MIGRATE_VISIT:
		/* the visit after the destination's: that one is over, let
		   the move go and wait for it */
		if (race_pause) {
			race_pause = false;
			race_seen = true;
			pthread_cond_broadcast(&race_cv);
			race_wait(&race_moved, 5000);
		}
		if (race_dst && !race_seen && mm_id == race_mm &&
		    addr >= race_dst && addr < race_dst + 64 * AVM_PAGE_SIZE) {
			race_pause = true;
			race_moved = false;
		}
		break;
	case AVM_RACE_MREMAP_MOVE:
		race_mm = mm_id;
		race_dst = addr;
		race_seen = false;
		race_wait(&race_seen, 2000);
		if (race_seen)
			atomic_fetch_add(&race_hits, 1);
		race_dst = 0;
		break;
	case AVM_RACE_MREMAP_MOVED:
		race_moved = true;
		pthread_cond_broadcast(&race_cv);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&race_mu);
}

unsigned long test_race_window_hits(void)
{
	return atomic_load(&race_hits);
}

void test_widen_mremap_race(struct avm_sys *sys)
{
	avm_set_race_hook(sys, race_hook, NULL);
}
