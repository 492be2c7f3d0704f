/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs (one program per file in tests/). */
#ifndef AVM_TESTUTIL_H
#define AVM_TESTUTIL_H

#include <stdint.h>

/*
 * Seed for a randomised test: $AVM_SEED if set, else a fresh one.  Always
 * printed, so that a failure can be replayed with AVM_SEED=... .
 */
uint64_t test_seed(const char *test_name);

/* xorshift64* generator: small, fast and good enough for test input. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static inline uint64_t test_below(uint64_t *s, uint64_t n)
{
	return n ? test_rand(s) % n : 0;
}

#endif

#ifdef AVM_TEST_LIB
#include <stdio.h>
#include <stdlib.h>
#include "anonvm/anonvm.h"

/* The invariant checker must pass; on failure print why and fail. */
#define assert_check(sys) do {						\
	char msg__[512];						\
	int rc__ = avm_check((sys), msg__, sizeof(msg__));		\
	if (rc__) {							\
		fprintf(stderr, "%s:%d: avm_check: %s\n", __FILE__,	\
			__LINE__, msg__);				\
	}								\
	assert_int_equal(rc__, 0);					\
} while (0)

/* A system with small pools for tests; design from $AVM_DESIGN if set. */
struct avm_sys *test_sys(unsigned int nodes);
#endif
