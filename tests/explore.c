/* SPDX-License-Identifier: MIT */
/*
 * The interleaving explorer (src/scenario/explore.c) on toys whose bugs
 * are known: a lost update (load, preemption point, store) that needs
 * exactly one preemption, the same with a lock (no schedule fails), a
 * deadlock that the validator cannot see (wrong nesting annotations),
 * and an AB-BA inversion that the validator aborts on.  Each must be
 * found, replayed from its seed and from its choices, and shrunk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "lib/testutil.h"
#include "lib/lockdep.h"
#include "lib/sched.h"
#include "scenario/explore.h"

static DEFINE_LOCK_CLASS(toy_class, "toy lock");
static DEFINE_LOCK_CLASS(toy_b_class, "toy lock B");

/* ---- the toys ------------------------------------------------------------ */

static int counter;
static struct avm_mutex lock_a, lock_b;

static void lost_update(void *arg, unsigned int t)
{
	bool locked = *(bool *)arg;
	int v;

	if (locked)
		avm_mutex_lock(&lock_a, &toy_class);
	v = counter;
	avm_preempt_point("toy: between load and store");
	counter = v + 1;
	if (locked)
		avm_mutex_unlock(&lock_a);
}

static int run_counter(void *ctx, const struct sched_config *cfg,
		       struct sched_record *rec, char *msg, size_t len)
{
	int rc;

	counter = 0;
	avm_mutex_init(&lock_a);
	rc = sched_run(cfg, rec, 2, lost_update, ctx);
	if (rc)
		return rc;
	if (counter != 2) {
		snprintf(msg, len, "lost update: counter is %d, not 2", counter);
		return 1;
	}
	return 0;
}

/* Two locks of one class, each thread annotating its second as nested:
   the validator sees one order (subclass 0 -> 1), the threads deadlock. */
static void mis_annotated(void *arg, unsigned int t)
{
	struct avm_mutex *first = t ? &lock_b : &lock_a;
	struct avm_mutex *second = t ? &lock_a : &lock_b;

	avm_mutex_lock(first, &toy_class);
	avm_mutex_lock_nested(second, &toy_class, SINGLE_DEPTH_NESTING);
	avm_mutex_unlock(second);
	avm_mutex_unlock(first);
}

/* AB-BA with two classes: the validator aborts on the second order. */
static void ab_ba(void *arg, unsigned int t)
{
	if (t) {
		avm_mutex_lock(&lock_b, &toy_b_class);
		avm_mutex_lock(&lock_a, &toy_class);
	} else {
		avm_mutex_lock(&lock_a, &toy_class);
		avm_mutex_lock(&lock_b, &toy_b_class);
	}
	avm_mutex_unlock(t ? &lock_a : &lock_b);
	avm_mutex_unlock(t ? &lock_b : &lock_a);
}

static int run_two_locks(void *ctx, const struct sched_config *cfg,
			 struct sched_record *rec, char *msg, size_t len)
{
	avm_mutex_init(&lock_a);
	avm_mutex_init(&lock_b);
	return sched_run(cfg, rec, 2, ctx, NULL);
}

/* ---- helpers ----------------------------------------------------------- */

static struct explore_result *res;

static void explore_ok(const struct explore_body *b, struct explore_opts *o)
{
	printf("explore: strategy %s, seed %llu, %u schedules, depth %u\n",
	       o->strategy == SCHED_PCT ? "pct" : "random",
	       (unsigned long long)o->seed, o->schedules, o->depth);
	assert_int_equal(explore(b, o, res), 0);
	if (res->failed) {
		printf("failed: %s: %s\n",
		       explore_outcome_name(res->first.outcome), res->first.msg);
		explore_print_schedule(stdout, &res->shrunk.rec);
	}
}

static bool same_choices(const struct sched_record *a,
			 const struct sched_record *b)
{
	return a->steps == b->steps &&
	       !memcmp(a->choice, b->choice, a->steps);
}

/* ---- tests --------------------------------------------------------------- */

static void found_replayed_shrunk(enum sched_strategy strategy)
{
	bool locked = false;
	struct explore_body b = { .run = run_counter, .ctx = &locked };
	struct explore_opts o = {
		.strategy = strategy, .seed = test_seed("explore"),
		.schedules = 200, .depth = 2, .shrink = true,
	};
	struct explore_result *again = malloc(sizeof(*again));
	struct sched_record *first = malloc(sizeof(*first));

	assert_non_null(again);
	assert_non_null(first);
	explore_ok(&b, &o);
	assert_true(res->failed);
	assert_int_equal(res->first.outcome, EX_FAIL);
	assert_non_null(strstr(res->first.msg, "lost update"));
	/* the fewest preemptions: T0 preempted between load and store */
	assert_int_equal(explore_preemptions(&res->shrunk.rec), 1);
	assert_non_null(strstr(res->shrunk.msg, "lost update"));
	*first = res->first.rec;

	/* its seed replays it */
	o.seed = res->first.seed;
	o.schedules = 1;
	o.shrink = false;
	assert_int_equal(explore(&b, &o, again), 0);
	assert_true(again->failed);
	assert_true(same_choices(&again->first.rec, first));

	/* so do its choices, and the shrunk schedule's */
	o.replay = res->shrunk.rec.choice;
	o.nreplay = res->shrunk.rec.steps;
	assert_int_equal(explore(&b, &o, again), 0);
	assert_true(again->failed);
	assert_true(same_choices(&again->first.rec, &res->shrunk.rec));
	free(again);
	free(first);
}

static void test_random(void **state)
{
	found_replayed_shrunk(SCHED_RANDOM);
}

static void test_pct(void **state)
{
	found_replayed_shrunk(SCHED_PCT);
}

static void test_locked_passes(void **state)
{
	bool locked = true;
	struct explore_body b = { .run = run_counter, .ctx = &locked };
	struct explore_opts o = { .strategy = SCHED_RANDOM,
				  .seed = test_seed("explore locked"),
				  .schedules = 100 };

	explore_ok(&b, &o);
	assert_false(res->failed);
	assert_int_equal(res->ran, 100);
	o.strategy = SCHED_PCT;
	o.depth = 3;
	explore_ok(&b, &o);
	assert_false(res->failed);
}

static void test_deadlock(void **state)
{
	struct explore_body b = { .run = run_two_locks, .ctx = mis_annotated };
	struct explore_opts o = { .strategy = SCHED_RANDOM,
				  .seed = test_seed("explore deadlock"),
				  .schedules = 200, .shrink = true };

	explore_ok(&b, &o);
	assert_true(res->failed);
	assert_int_equal(res->first.outcome, EX_DEADLOCK);
	assert_non_null(strstr(res->first.msg, "thread 1 waits for toy lock"));
	assert_non_null(strstr(res->first.msg, "thread 2 waits for toy lock"));
	assert_int_equal(res->shrunk.outcome, EX_DEADLOCK);
	assert_int_equal(explore_preemptions(&res->shrunk.rec), 1);
}

static void test_validator_abort(void **state)
{
	struct explore_body b = { .run = run_two_locks, .ctx = ab_ba };
	struct explore_opts o = { .strategy = SCHED_PCT,
				  .seed = test_seed("explore ab-ba"),
				  .schedules = 10, .depth = 2 };

	if (!avm_lockdep_enabled())
		skip();
	explore_ok(&b, &o);
	/* found without preemption: the serial run sees both orders */
	assert_true(res->failed);
	assert_int_equal(res->first.outcome, EX_CRASH);
	assert_non_null(strstr(res->first.msg, "lock order inversion"));
	assert_int_equal(res->ran, 1);
}

static void test_choices_text(void **state)
{
	uint8_t v[16];
	struct sched_record *r = calloc(1, sizeof(*r));
	char buf[64];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(r);
	assert_int_equal(explore_parse_choices("1:3,2:2,1:1", v, 16), 6);
	assert_memory_equal(v, ((uint8_t[]){ 0, 0, 0, 1, 1, 0 }), 6);
	r->steps = 6;
	memcpy(r->choice, v, 6);
	explore_print_choices(f, r);
	fclose(f);
	assert_string_equal(buf, "1:3,2:2,1:1");
	assert_int_equal(explore_parse_choices("1:3,", v, 16), -1);
	assert_int_equal(explore_parse_choices("0:1", v, 16), -1);
	assert_int_equal(explore_parse_choices("9:1", v, 16), -1);
	assert_int_equal(explore_parse_choices("1:17", v, 16), -1);
	assert_int_equal(explore_parse_choices("", v, 16), -1);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choices_text),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_locked_passes),
		cmocka_unit_test(test_deadlock),
		cmocka_unit_test(test_validator_abort),
	};
	int rc;

	res = malloc(sizeof(*res));
	if (!res)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(res);
	return rc;
}
