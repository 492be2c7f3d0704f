/* SPDX-License-Identifier: MIT */
/*
 * Concurrent scenarios: thread blocks in the parser (what is accepted,
 * what is refused and why, formatting back), anonvm run on real threads,
 * and the explorer on them - a race-free scenario of mremap, migration,
 * pageout, COW and fork passes every schedule on every design, and an
 * expectation that holds only in some interleavings is found (not in the
 * serial run), shrunk to at most one preemption, and replayed.
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
#include "scenario/explore.h"
#include "scenario/scenario.h"

static const char *const race_free =
	"spawn P\n"
	"P mmap 0x140000000000 8 rw\n"
	"P fill 0x140000000000 8 0x11\n"
	"P fork C\n"
	"thread T1 {\n"
	"  P mremap 0x140000000000 8 8 to 0x150000000000\n"
	"  P expect 0x150000000000 0x11\n"
	"  P write 0x150000002000 0x44\n"
	"}\n"
	"thread T2 {\n"
	"  C migrate 0x140000000000 8 1\n"
	"  C expect 0x140000000000 0x11\n"
	"  C madvise 0x140000000000 8 pageout\n"
	"}\n"
	"thread T3 {\n"
	"  C write 0x140000001000 0x33\n"
	"  C fork D\n"
	"  D expect 0x140000001000 0x33\n"
	"}\n"
	"join\n"
	"P expect 0x150000002000 0x44\n"
	"C expect 0x140000001000 0x33\n"
	"check\n";

/*
 * On free-running threads only work on different fork families is safe
 * today (docs/locking.md): two families, each with its own COW traffic.
 */
static const char *const two_families =
	"spawn P\n"
	"P mmap 0x140000000000 16 rw\n"
	"P fill 0x140000000000 16 0x11\n"
	"P fork C\n"
	"spawn Q\n"
	"Q mmap 0x140000000000 16 rw\n"
	"Q fill 0x140000000000 16 0x55\n"
	"Q fork R\n"
	"thread T1 {\n"
	"  C fill 0x140000000000 16 0x22\n"
	"  P mremap 0x140000000000 16 16 to 0x150000000000\n"
	"  P expect 0x150000004000 0x11\n"
	"  C expect 0x140000004000 0x22\n"
	"}\n"
	"thread T2 {\n"
	"  R fill 0x140000000000 16 0x66\n"
	"  Q migrate 0x140000000000 16 1\n"
	"  R fork S\n"
	"  S expect 0x140000008000 0x66\n"
	"  Q expect 0x140000008000 0x55\n"
	"}\n"
	"join\n"
	"check\n";

/* Serially (thread 1 first) it holds; not if thread 2 writes first. */
static const char *const racy =
	"spawn P\n"
	"P mmap 0x140000000000 1 rw\n"
	"P write 0x140000000000 0x11\n"
	"thread A {\n"
	"  P expect 0x140000000000 0x11\n"
	"}\n"
	"thread B {\n"
	"  P write 0x140000000000 0x22\n"
	"}\n"
	"join\n";

static struct scenario *parse_ok(const char *text)
{
	struct scenario *s;
	char err[256];

	if (scn_parse_string("t.scn", text, &s, err, sizeof(err)))
		fail_msg("parse: %s", err);
	return s;
}

static void parse_fails(const char *text, const char *msg)
{
	struct scenario *s;
	char err[256];

	assert_int_equal(scn_parse_string("t.scn", text, &s, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
}

static void test_parse(void **state)
{
	struct scenario *s = parse_ok(race_free);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	struct scenario *back;

	assert_int_equal(s->stmts[3].thread, 0);	/* P fork C */
	assert_int_equal(s->stmts[4].thread, 1);
	assert_int_equal(s->stmts[4].group, 1);
	assert_int_equal(s->stmts[7].thread, 2);
	assert_int_equal(s->stmts[10].thread, 3);
	assert_int_equal(s->stmts[13].thread, 0);
	assert_int_equal(s->stmts[13].group, 0);
	/* formatted back, it parses to the same statements */
	f = open_memstream(&text, &len);
	assert_int_equal(scn_format(s, f), 0);
	fclose(f);
	back = parse_ok(text);
	assert_int_equal(back->nstmts, s->nstmts);
	for (int i = 0; i < s->nstmts; i++) {
		assert_int_equal(back->stmts[i].thread, s->stmts[i].thread);
		assert_int_equal(back->stmts[i].group, s->stmts[i].group);
		assert_int_equal(back->stmts[i].op, s->stmts[i].op);
	}
	free(text);
	scn_free(back);
	scn_free(s);
	/* `thread` and `join` stay usable as process names */
	s = parse_ok("spawn thread\nthread mmap 0x140000000000 1 rw\n"
		     "spawn join\njoin exit\n");
	assert_int_equal(s->nstmts, 4);
	scn_free(s);
}

static void test_parse_errors(void **state)
{
	parse_fails("spawn P\nthread T {\nP exit\n}\njoin\n", "'exit' is not "
		    "allowed in the thread block of line 2");
	parse_fails("thread T {\ncheck\n}\njoin\n", "'check' is not allowed");
	parse_fails("thread T {\nspawn P\n}\njoin\n", "'spawn' is not allowed");
	parse_fails("spawn P\nthread T {\n", "expected '}' before the end");
	parse_fails("spawn P\nthread T {\n}\n", "expected 'join' before the end");
	parse_fails("spawn P\nthread T {\n}\nP exit\n", "expected 'join'");
	parse_fails("spawn P\n}\n", "'}' closes no thread block");
	parse_fails("spawn P\njoin\n", "'join' follows no thread blocks");
	parse_fails("thread T {\nthread U {\n", "expected '}'");
	parse_fails("spawn P\nthread T {\nP fork C\n}\nthread U {\n"
		    "C write 0x140000000000 1\n}\njoin\n", "forked in another "
		    "thread block at line 3");
	parse_fails("thread T { x\n", "expected end of line");
	parse_fails("thread 1 {\n}\njoin\n", "expected");
	parse_fails("thread A {\n}\nthread B {\n}\nthread C {\n}\nthread D {\n}\n"
		    "thread E {\n}\nthread F {\n}\nthread G {\n}\nthread H {\n}\n"
		    "thread I {\n}\njoin\n", "at most 8 thread blocks");
}

static void run_ok(const char *text, const char *design)
{
	struct scenario *s = parse_ok(text);
	struct scn_lib_opts o = { .design = design };
	struct scn_trace t;
	char err[256];

	assert_int_equal(scn_run_lib(s, &o, &t, err, sizeof(err)), 0);
	if (t.failure[0])
		fail_msg("%s: %s", design, t.failure);
	scn_trace_free(&t);
	scn_free(s);
}

static void test_run_threads(void **state)
{
	for (const char *const *d = avm_designs(); *d; d++)
		if (!avm_design_unsafe(*d))
			for (int i = 0; i < 20; i++)
				run_ok(two_families, *d);
}

/* Allocation failures inside a group: no expectation of the group is
   judged (which statement failed is unknown), the checker still is. */
static void test_run_threads_failing(void **state)
{
	struct scenario *s = parse_ok(two_families);
	uint64_t seed = test_seed("threads with failures");

	for (int i = 0; i < 20; i++) {
		struct scn_lib_opts o = { .fail_rate = 0.05,
					  .fail_seed = seed + (uint64_t)i };
		struct scn_trace t;
		char err[256];

		assert_int_equal(scn_run_lib(s, &o, &t, err, sizeof(err)), 0);
		if (t.failure[0])
			fail_msg("seed %llu: %s", (unsigned long long)(seed + i),
				 t.failure);
		scn_trace_free(&t);
	}
	scn_free(s);
}

static struct explore_result *res;

static void test_explore_race_free(void **state)
{
	struct scenario *s = parse_ok(race_free);
	uint64_t seed = test_seed("race-free explore");
	char err[256];

	for (const char *const *d = avm_designs(); *d; d++) {
		struct scn_lib_opts lo = { .design = *d };
		struct explore_opts o = { .seed = seed, .schedules = 10,
					  .depth = 3 };

		if (avm_design_unsafe(*d))
			continue;
		for (int strat = 0; strat < 2; strat++) {
			o.strategy = strat ? SCHED_RANDOM : SCHED_PCT;
			assert_int_equal(scn_explore(s, &lo, &o, res, err,
						     sizeof(err)), 0);
			if (res->failed)
				fail_msg("%s: %s", *d, res->first.msg);
			assert_int_equal(res->ran, 10);
			assert_true(res->steps_est > 50);
		}
	}
	scn_free(s);
}

static void test_explore_finds(void **state)
{
	struct scenario *s = parse_ok(racy);
	struct scn_lib_opts lo = { 0 };
	struct explore_opts o = { .strategy = SCHED_PCT,
				  .seed = test_seed("racy explore"),
				  .schedules = 200, .depth = 2, .shrink = true };
	struct explore_run *first = malloc(sizeof(*first));
	char err[256];

	assert_non_null(first);
	assert_int_equal(scn_explore(s, &lo, &o, res, err, sizeof(err)), 0);
	assert_true(res->failed);
	assert_true(res->ran > 0);	/* the serial run passed */
	assert_int_equal(res->first.outcome, EX_FAIL);
	assert_non_null(strstr(res->first.msg, "line 5: P expect "
			       "0x140000000000 0x11: got 0x22"));
	/* one preemption, or none when thread 2 starts (a start is not a
	   preemption) */
	assert_true(explore_preemptions(&res->shrunk.rec) <= 1);
	assert_non_null(strstr(res->shrunk.msg, "got 0x22"));
	explore_print_schedule(stdout, &res->shrunk.rec);
	*first = res->shrunk;
	/* the printed choices replay it */
	o.replay = first->rec.choice;
	o.nreplay = first->rec.steps;
	assert_int_equal(scn_explore(s, &lo, &o, res, err, sizeof(err)), 0);
	assert_true(res->failed);
	assert_string_equal(res->first.msg, first->msg);
	free(first);
	scn_free(s);
}

static void test_explore_needs_one_group(void **state)
{
	struct scenario *s = parse_ok("spawn P\n");
	struct scn_lib_opts lo = { 0 };
	struct explore_opts o = { .schedules = 1 };
	char err[256];

	assert_int_equal(scn_explore(s, &lo, &o, res, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "one group of thread blocks"));
	scn_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_run_threads),
		cmocka_unit_test(test_run_threads_failing),
		cmocka_unit_test(test_explore_race_free),
		cmocka_unit_test(test_explore_finds),
		cmocka_unit_test(test_explore_needs_one_group),
	};
	int rc;

	res = malloc(sizeof(*res));
	if (!res)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(res);
	return rc;
}
