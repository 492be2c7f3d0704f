/* SPDX-License-Identifier: MIT */
/*
 * The `window` statement (docs/scenarios.md) and scn_relocate(): exact
 * messages, the canonical form, and relocated addresses (distances inside a
 * cluster kept, clusters apart, offsets within 1 GiB kept).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "scenario/scenario.h"

#define GIB	(1ULL << 30)

static struct scenario *parse_ok(const char *text)
{
	struct scenario *s;
	char err[256];

	if (scn_parse_string("t", text, &s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	return s;
}

static void parse_err(const char *text, const char *msg)
{
	struct scenario *s;
	char err[256];

	assert_int_equal(scn_parse_string("t", text, &s, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, msg);
}

static void test_window_parse(void **state)
{
	struct scenario *s = parse_ok("window 0x1000 0x7ffffffff000\n"
				      "spawn A\nA mmap 0x555555554000 2 rw\n"
				      "A write 0x7ffffffde000 1\n");

	assert_int_equal(scn_window_start(s), 0x1000);
	assert_int_equal(scn_window_end(s), 0x7ffffffff000ULL);
	assert_false(scn_window_default(s));
	assert_int_equal(s->nstmts, 3);
	scn_free(s);
	s = parse_ok("spawn A\n");
	assert_true(scn_window_default(s));
	scn_free(s);
}

static void test_window_errors(void **state)
{
	parse_err("spawn A\nA mmap 0x555555554000 2 rw\n",
		  "t:2:8: expected ADDR in [0x100000000000, 0x200000000000), "
		  "found '0x555555554000'");
	parse_err("window 0x1000 0x2000\nspawn A\nA mmap 0x2000 1 rw\n",
		  "t:3:8: expected ADDR in [0x1000, 0x2000), found '0x2000'");
	parse_err("window 0x1000 0x3000\nspawn A\nA mmap 0x1000 3 rw\n",
		  "t:3:15: expected PAGES with ADDR+PAGES*4096 <= 0x3000, "
		  "found '3'");
	parse_err("spawn A\nwindow 0x1000 0x2000\n",
		  "t:2:1: expected live process, found 'window' (never spawned)");
	parse_err("window 0 0x2000\n", "t:1:8: expected page-aligned window "
		  "START >= 0x1000, found '0'");
	parse_err("window 0x1000 0x800000000000\n", "t:1:15: expected "
		  "page-aligned window END above START, at most 0x7ffffffff000, "
		  "found '0x800000000000'");
	parse_err("window 0x1000 0x2000 x\n",
		  "t:1:22: expected end of line, found 'x'");
}

static void test_window_format(void **state)
{
	struct scenario *s = parse_ok("window 0x1000 0x7ffffffff000\n"
				      "spawn A\nA mmap 0x555555554000 2 rw\n");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_int_equal(scn_format(s, f), 0);
	fclose(f);
	assert_string_equal(text, "window 0x1000 0x7ffffffff000\nspawn A\n"
			    "A mmap 0x555555554000 2 rw\n");
	free(text);
	scn_free(s);
}

static void test_relocate(void **state)
{
	struct scenario *s = parse_ok(
		"window 0x1000 0x7ffffffff000\nspawn A\n"
		"A mmap 0x555555554000 2 rw\n"		/* cluster 1 */
		"A mmap 0x555555600000 1 rw\n"		/* cluster 1 */
		"A mmap 0x7f0000000000 4 rw\n"		/* cluster 2 */
		"A mremap 0x7f0000000000 4 4 to 0x7f0000100000\n"
		"A write 0x7ffffffde123 7\n"		/* cluster 3 */
		"A fork B\nB exit\n"), *r;
	char err[256];
	int n;

	assert_int_equal(scn_relocate(s, &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_true(scn_window_default(r));
	assert_int_equal(r->nstmts, s->nstmts);
	assert_int_equal(r->stmts[1].addr, SCN_GEN_BASE + 0x555555554000ULL % GIB);
	assert_int_equal(r->stmts[2].addr - r->stmts[1].addr,
			 0x555555600000ULL - 0x555555554000ULL);
	assert_int_equal(r->stmts[4].new_addr - r->stmts[3].addr, 0x100000);
	assert_int_equal(r->stmts[3].addr % GIB, 0x7f0000000000ULL % GIB);
	assert_true(r->stmts[3].addr >= r->stmts[2].addr + GIB);
	assert_int_equal(r->stmts[5].addr % GIB, 0x7ffffffde123ULL % GIB);
	assert_true(r->stmts[5].addr >= r->stmts[4].new_addr + GIB);
	assert_true(r->stmts[5].addr < SCN_WINDOW_END);
	assert_int_equal(r->stmts[5].byte, 7);
	assert_int_equal(r->stmts[6].op, SCN_FORK);
	scn_free(r);
	scn_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_window_errors),
		cmocka_unit_test(test_window_format),
		cmocka_unit_test(test_relocate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
