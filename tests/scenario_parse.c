/* SPDX-License-Identifier: MIT */
/*
 * The scenario parser, printer and trace helpers: a table of good inputs
 * with the statements they must give, a table of malformed inputs with the
 * exact message each must give, round trips through scn_format, generated
 * scenarios in random spellings, and random garbage and mutations (which
 * must never crash and always fail with a FILE:LINE:COL: prefix).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "scenario/scenario.h"
#include "lib/testutil.h"

/* Test hook of src/scenario/parse.c: fail the nth next allocation. */
void scn_parse_inject_enomem(long nth);

#define W0	0x100000000000ULL
#define PG	4096ULL

/* ---- helpers ------------------------------------------------------------- */

/* The first field in which a and b differ, or NULL. */
static const char *stmt_diff(const struct scn_stmt *a, const struct scn_stmt *b,
			     bool line)
{
#define F(f) if (a->f != b->f) return #f
	F(op); F(proc); F(child); F(addr); F(pages); F(new_pages);
	F(new_addr); F(to); F(dontunmap); F(prot); F(advice); F(byte);
	F(node); F(expect_err);
	if (line && a->line != b->line)
		return "line";
#undef F
	return NULL;
}

static void assert_stmts(const struct scenario *got, const struct scn_stmt *want,
			 int n, bool line)
{
	char a[256], b[256];

	assert_int_equal(got->nstmts, n);
	for (int i = 0; i < n; i++) {
		const char *f = stmt_diff(&got->stmts[i], &want[i], line);

		if (!f)
			continue;
		print_error("stmt %d differs in %s:\n  got  %s (line %d)\n"
			    "  want %s (line %d)\n", i, f,
			    scn_stmt_str(got, &got->stmts[i], a, sizeof(a)),
			    got->stmts[i].line,
			    scn_stmt_str(got, &want[i], b, sizeof(b)),
			    want[i].line);
		fail();
	}
}

static struct scenario *parse_ok(const char *text)
{
	struct scenario *s = NULL;
	char err[512];
	int rc = scn_parse_string("t.scn", text, &s, err, sizeof(err));

	if (rc) {
		print_error("parse failed (%d): %s\n--- input:\n%s\n", rc, err, text);
		fail();
	}
	assert_non_null(s);
	return s;
}

/* Format s, parse the text again: same statements and slot names. */
static void assert_roundtrip(const struct scenario *s)
{
	struct scenario *t;
	size_t len = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(scn_format(s, f), 0);
	assert_int_equal(fclose(f), 0);
	t = parse_ok(text);
	assert_stmts(t, s->stmts, s->nstmts, false);
	assert_int_equal(t->nslots, s->nslots);
	assert_int_equal(t->thp, s->thp);
	for (int i = 0; i < s->nslots; i++)
		assert_string_equal(t->slot_name[i], s->slot_name[i]);
	for (int i = 0; i < t->nstmts; i++)	/* after a "thp" line */
		assert_int_equal(t->stmts[i].line,
				 i + 1 + (s->thp != SCN_THP_HOST));
	scn_free(t);
	free(text);
}

/* ---- good inputs ---------------------------------------------------------- */

#define MAXST 16

struct good {
	const char *text;
	int nstmts;
	struct scn_stmt st[MAXST];
	int nslots;
	const char *names[4];
};

/* Statement shorthands: line, op, proc, child, then the fields used. */
#define S(l, o, p, c, ...) { .line = l, .op = o, .proc = p, .child = c, __VA_ARGS__ }

static const struct good goods[] = {
	{ "", 0, { { 0 } }, 0, { NULL } },
	{ "# nothing\n\n   \t\r\n#  \n", 0, { { 0 } }, 0, { NULL } },
	{
		"spawn A\n"
		"A mmap 0x100000000000 4 rw\n"
		"A write 0x100000000005 42\n"
		"A fork B\n"
		"B expect 0x100000000005 0x2a\n"
		"A mprotect 0x100000000000 2 r\n"
		"A mremap 0x100000000000 4 8\n"
		"A mremap 0x100000000000 8 8 to 0x100000100000 dontunmap\n"
		"A madvise 0x100000100000 8 pageout\n"
		"A fill 0x100000100000 1 255\n"
		"A read 0x100000100fff\n"
		"A migrate 0x100000100000 2 1\n"
		"A munmap 0x100000000000 0x8\n"
		"B exit\n"
		"check\n",
		15, {
			S(1, SCN_SPAWN, 0, 0),
			S(2, SCN_MMAP, 0, -1, .addr = W0, .pages = 4, .prot = SCN_PROT_RW),
			S(3, SCN_WRITE, 0, -1, .addr = W0 + 5, .byte = 42),
			S(4, SCN_FORK, 0, 1),
			S(5, SCN_EXPECT, 1, -1, .addr = W0 + 5, .byte = 42),
			S(6, SCN_MPROTECT, 0, -1, .addr = W0, .pages = 2, .prot = SCN_PROT_R),
			S(7, SCN_MREMAP, 0, -1, .addr = W0, .pages = 4, .new_pages = 8),
			S(8, SCN_MREMAP, 0, -1, .addr = W0, .pages = 8, .new_pages = 8,
			  .to = true, .new_addr = W0 + 0x100000, .dontunmap = true),
			S(9, SCN_MADVISE, 0, -1, .addr = W0 + 0x100000, .pages = 8,
			  .advice = SCN_ADV_PAGEOUT),
			S(10, SCN_FILL, 0, -1, .addr = W0 + 0x100000, .pages = 1, .byte = 255),
			S(11, SCN_READ, 0, -1, .addr = W0 + 0x100fff),
			S(12, SCN_MIGRATE, 0, -1, .addr = W0 + 0x100000, .pages = 2, .node = 1),
			S(13, SCN_MUNMAP, 0, -1, .addr = W0, .pages = 8),
			S(14, SCN_EXIT, 1, -1),
			S(15, SCN_CHECK, -1, -1),
		}, 2, { "A", "B" },
	},
	{	/* spelling: comments, CRLF, tabs, hex case, decimal, no final newline */
		"# header\r\n"
		"\r\n"
		"  spawn\t_p1   # the first\r\n"
		"_p1 mmap 17592186044416 0X10 none#glued comment\r\n"
		"_p1\tmadvise 0x1000000000aB 1 wipeonfork !EINVAL\r\n"
		"_p1 mprotect 0x100000000000 1 rw !EACCES\r\n"
		"_p1 mremap 0x100000001000 1 2 to 0x100000100000 !EFAULT\r\n"
		"check",
		6, {
			S(3, SCN_SPAWN, 0, 0),
			S(4, SCN_MMAP, 0, -1, .addr = W0, .pages = 16, .prot = SCN_PROT_NONE),
			S(5, SCN_MADVISE, 0, -1, .addr = W0 + 0xab, .pages = 1,
			  .advice = SCN_ADV_WIPEONFORK, .expect_err = EINVAL),
			S(6, SCN_MPROTECT, 0, -1, .addr = W0, .pages = 1,
			  .prot = SCN_PROT_RW, .expect_err = EACCES),
			S(7, SCN_MREMAP, 0, -1, .addr = W0 + PG, .pages = 1, .new_pages = 2,
			  .to = true, .new_addr = W0 + 0x100000, .expect_err = EFAULT),
			S(8, SCN_CHECK, -1, -1),
		}, 1, { "_p1" },
	},
	{	/* a name is reused after exit and gets a new slot */
		"spawn A\nA fork B\nA exit\nB fork A\nA exit\nspawn A\nA exit\n",
		7, {
			S(1, SCN_SPAWN, 0, 0),
			S(2, SCN_FORK, 0, 1),
			S(3, SCN_EXIT, 0, -1),
			S(4, SCN_FORK, 1, 2),
			S(5, SCN_EXIT, 2, -1),
			S(6, SCN_SPAWN, 3, 3),
			S(7, SCN_EXIT, 3, -1),
		}, 4, { "A", "B", "A", "A" },
	},
	{	/* shape rules waived when an error is expected */
		"spawn mmap\n"
		"mmap mmap 0x100000000001 0 rw !EINVAL\n"
		"mmap munmap 0x100000000000 0 !EINVAL\n"
		"mmap mremap 0x100000000000 1 0 !EINVAL\n"
		"mmap mremap 0x100000000000 1 1 to 0x100000000800 dontunmap !EINVAL\n"
		"mmap fill 0x100000000fff 0 0 !EFAULT\n",
		6, {
			S(1, SCN_SPAWN, 0, 0),
			S(2, SCN_MMAP, 0, -1, .addr = W0 + 1, .prot = SCN_PROT_RW,
			  .expect_err = EINVAL),
			S(3, SCN_MUNMAP, 0, -1, .addr = W0, .expect_err = EINVAL),
			S(4, SCN_MREMAP, 0, -1, .addr = W0, .pages = 1, .expect_err = EINVAL),
			S(5, SCN_MREMAP, 0, -1, .addr = W0, .pages = 1, .new_pages = 1,
			  .to = true, .new_addr = W0 + 0x800, .dontunmap = true,
			  .expect_err = EINVAL),
			S(6, SCN_FILL, 0, -1, .addr = W0 + 0xfff, .expect_err = EFAULT),
		}, 1, { "mmap" },
	},
	{	/* the edges of the window */
		"spawn Z9\n"
		"Z9 mmap 0x1ffffffff000 1 r\n"
		"Z9 write 0x1fffffffffff 0\n"
		"Z9 mremap 0x1fffffffe000 2 1 to 0x100000000000\n"
		"Z9 migrate 0x100000000000 0x100000000 1023 !ENOMEM\n",
		5, {
			S(1, SCN_SPAWN, 0, 0),
			S(2, SCN_MMAP, 0, -1, .addr = 0x1ffffffff000ULL, .pages = 1,
			  .prot = SCN_PROT_R),
			S(3, SCN_WRITE, 0, -1, .addr = 0x1fffffffffffULL),
			S(4, SCN_MREMAP, 0, -1, .addr = 0x1fffffffe000ULL, .pages = 2,
			  .new_pages = 1, .to = true, .new_addr = W0),
			S(5, SCN_MIGRATE, 0, -1, .addr = W0, .pages = 0x100000000ULL,
			  .node = 1023, .expect_err = ENOMEM),
		}, 1, { "Z9" },
	},
};

static void test_good(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		struct scenario *s = parse_ok(g->text);

		assert_string_equal(s->file, "t.scn");
		assert_stmts(s, g->st, g->nstmts, true);
		assert_int_equal(s->nslots, g->nslots);
		for (int j = 0; j < g->nslots; j++)
			assert_string_equal(s->slot_name[j], g->names[j]);
		assert_roundtrip(s);
		scn_free(s);
	}
}

/* ---- malformed inputs ----------------------------------------------------- */

struct bad {
	const char *text;
	const char *msg;
};

#define A0 "spawn A\n"
#define OPS "operation (fork, exit, mmap, munmap, mprotect, mremap, madvise, " \
	    "write, fill, read, expect, migrate, expect-thp)"
#define ADV "ADVICE (dontneed, dontfork, dofork, wipeonfork, keeponfork, pageout, hugepage, nohugepage)"
#define WIN "[0x100000000000, 0x200000000000)"

static const struct bad bads[] = {
	{ "spawn", "t.scn:1:6: expected process name, found end of line" },
	{ "spawn # A", "t.scn:1:6: expected process name, found end of line" },
	{ "spawn 1A", "t.scn:1:7: expected process name, found '1A'" },
	{ "spawn A-B", "t.scn:1:7: expected process name, found 'A-B'" },
	{ "spawn check", "t.scn:1:7: expected process name, found 'check' (a keyword)" },
	{ A0 "spawn A", "t.scn:2:7: expected process name not in use, found 'A' "
	  "(alive since line 1)" },
	{ A0 "A fork A", "t.scn:2:8: expected process name not in use, found 'A' "
	  "(alive since line 1)" },
	{ "\n# c\nB exit", "t.scn:3:1: expected live process, found 'B' (never spawned)" },
	{ A0 "A exit\nA exit", "t.scn:3:1: expected live process, found 'A' "
	  "(exited at line 2)" },
	{ "!EEXIST", "t.scn:1:1: expected statement (spawn, check or a process "
	  "name), found '!EEXIST'" },
	{ "\x01", "t.scn:1:1: expected statement (spawn, check or a process "
	  "name), found '\\x01'" },
	{ "99999999999999999999999999999999999999999999999999",
	  "t.scn:1:1: expected statement (spawn, check or a process name), "
	  "found '9999999999999999999999999999999999999999...'" },
	{ A0 "A frob", "t.scn:2:3: expected " OPS ", found 'frob'" },
	{ A0 "A MMAP 0x100000000000 1 rw", "t.scn:2:3: expected " OPS ", found 'MMAP'" },
	{ A0 "A spawn B", "t.scn:2:3: expected " OPS ", found 'spawn'" },
	{ A0 "A", "t.scn:2:2: expected " OPS ", found end of line" },
	{ A0 "A mmap 0x100000000000 1 rwx",
	  "t.scn:2:25: expected PROT (none, r, rw), found 'rwx'" },
	{ "spawn A\r\nA mmap 0x100000000000 1 rwx\r\n",
	  "t.scn:2:25: expected PROT (none, r, rw), found 'rwx'" },
	{ A0 "A mmap 0x100000000000 1   # no prot",
	  "t.scn:2:24: expected PROT (none, r, rw), found end of line" },
	{ A0 "A mmap 0x1000 1 rw", "t.scn:2:8: expected ADDR in " WIN ", found '0x1000'" },
	{ A0 "A mmap 0x200000000000 1 rw",
	  "t.scn:2:8: expected ADDR in " WIN ", found '0x200000000000'" },
	{ A0 "A mmap 0x10000000000g 1 rw",
	  "t.scn:2:8: expected ADDR (a number), found '0x10000000000g'" },
	{ A0 "A mmap 0x 1 rw", "t.scn:2:8: expected ADDR (a number), found '0x'" },
	{ A0 "A mmap +17592186044416 1 rw",
	  "t.scn:2:8: expected ADDR (a number), found '+17592186044416'" },
	{ A0 "A mmap 0x10000000000000000 1 rw",
	  "t.scn:2:8: expected ADDR in " WIN ", found '0x10000000000000000'" },
	{ A0 "A read 99999999999999999999999",
	  "t.scn:2:8: expected ADDR in " WIN ", found '99999999999999999999999'" },
	{ A0 "A read", "t.scn:2:7: expected ADDR (a number), found end of line" },
	{ A0 "A write 0x200000000000 1",
	  "t.scn:2:9: expected ADDR in " WIN ", found '0x200000000000'" },
	{ A0 "A mmap 0x1ffffffff000 2 rw",
	  "t.scn:2:23: expected PAGES with ADDR+PAGES*4096 <= 0x200000000000, found '2'" },
	{ A0 "A munmap 0x100000000000 0xffffffffffffffff",
	  "t.scn:2:25: expected PAGES with ADDR+PAGES*4096 <= 0x200000000000, "
	  "found '0xffffffffffffffff'" },
	{ A0 "A munmap 0x100000000000 one",
	  "t.scn:2:25: expected PAGES (a number), found 'one'" },
	{ A0 "A mmap 0x100000000001 1 rw",
	  "t.scn:2:8: expected page-aligned ADDR (or an expected error such as "
	  "!EINVAL), found '0x100000000001'" },
	{ A0 "A munmap 0x100000000000 0",
	  "t.scn:2:25: expected PAGES >= 1 (or an expected error such as !EINVAL), "
	  "found '0'" },
	{ A0 "A mremap 0x100000000000 1 0",
	  "t.scn:2:27: expected NEWPAGES >= 1 (or an expected error such as "
	  "!EINVAL), found '0'" },
	{ A0 "A mremap 0x100000000000 1 1 to 0x100000000800",
	  "t.scn:2:32: expected page-aligned NEWADDR (or an expected error such as "
	  "!EINVAL), found '0x100000000800'" },
	{ A0 "A mremap 0x1fffffffe000 2 3",
	  "t.scn:2:27: expected NEWPAGES with ADDR+NEWPAGES*4096 <= 0x200000000000, "
	  "found '3'" },
	{ A0 "A mremap 0x100000000000 2 3 to 0x1fffffffe000",
	  "t.scn:2:32: expected NEWADDR with NEWADDR+NEWPAGES*4096 <= "
	  "0x200000000000, found '0x1fffffffe000'" },
	{ A0 "A mremap 0x100000000000 2 2 dontunmap",
	  "t.scn:2:29: expected 'to', '!ERRNAME' or end of line, found 'dontunmap'" },
	{ A0 "A mremap 0x100000000000 2 2 to",
	  "t.scn:2:31: expected NEWADDR (a number), found end of line" },
	{ A0 "A mremap 0x100000000000 2 2 to 0x100000010000 maymove",
	  "t.scn:2:47: expected 'dontunmap', '!ERRNAME' or end of line, found 'maymove'" },
	{ A0 "A mremap 0x100000000000 2 2 to 0x100000010000 dontunmap x",
	  "t.scn:2:57: expected '!ERRNAME' or end of line, found 'x'" },
	{ A0 "A mremap 0x100000000000 2",
	  "t.scn:2:26: expected NEWPAGES (a number), found end of line" },
	{ A0 "A write 0x100000000000 256", "t.scn:2:24: expected BYTE (0..255), found '256'" },
	{ A0 "A expect 0x100000000000 -1", "t.scn:2:25: expected BYTE (0..255), found '-1'" },
	{ A0 "A fill 0x100000000000 1", "t.scn:2:24: expected BYTE (0..255), found end of line" },
	{ A0 "A madvise 0x100000000000 1 free", "t.scn:2:28: expected " ADV ", found 'free'" },
	{ A0 "A madvise 0x100000000000 1 DONTNEED",
	  "t.scn:2:28: expected " ADV ", found 'DONTNEED'" },
	{ A0 "A migrate 0x100000000000 1 1024", "t.scn:2:28: expected NODE (0..1023), found '1024'" },
	{ A0 "A mmap 0x100000000000 1 rw !EFOO",
	  "t.scn:2:28: expected a known errno name after '!', found '!EFOO'" },
	{ A0 "A mmap 0x100000000000 1 rw !eexist",
	  "t.scn:2:28: expected a known errno name after '!', found '!eexist'" },
	{ A0 "A mmap 0x100000000000 1 rw !",
	  "t.scn:2:28: expected a known errno name after '!', found '!'" },
	{ A0 "A mmap 0x100000000000 1 rw !EEXIST again",
	  "t.scn:2:36: expected end of line, found 'again'" },
	{ A0 "A mmap 0x100000000000 1 rw!EEXIST",
	  "t.scn:2:25: expected PROT (none, r, rw), found 'rw!EEXIST'" },
	{ A0 "A munmap 0x100000000000 1 rw",
	  "t.scn:2:27: expected '!ERRNAME' or end of line, found 'rw'" },
	{ "check !EINVAL",
	  "t.scn:1:7: expected end of line, found '!EINVAL' (check cannot have an "
	  "expected error)" },
	{ "check now", "t.scn:1:7: expected end of line, found 'now'" },
	{ "spawn A !EAGAIN",
	  "t.scn:1:9: expected end of line, found '!EAGAIN' (spawn cannot have an "
	  "expected error)" },
	{ A0 "A fork B !EAGAIN",
	  "t.scn:2:10: expected end of line, found '!EAGAIN' (fork cannot have an "
	  "expected error)" },
	{ A0 "A exit !EPERM",
	  "t.scn:2:8: expected end of line, found '!EPERM' (exit cannot have an "
	  "expected error)" },
	{ A0 "A exit now", "t.scn:2:8: expected end of line, found 'now'" },
	{ A0 "A write 0x100000000000 0x1\xff",
	  "t.scn:2:24: expected BYTE (0..255), found '0x1\\xff'" },
	{ A0 "A write 0x100000000000 'x'",
	  "t.scn:2:24: expected BYTE (0..255), found '\\x27x\\x27'" },
	{ A0 "A\vmmap", "t.scn:2:1: expected statement (spawn, check or a process "
	  "name), found 'A\\x0bmmap'" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		struct scenario *s = (void *)1;
		char err[512];
		int rc = scn_parse_string("t.scn", bads[i].text, &s, err, sizeof(err));

		if (rc != -EINVAL || strcmp(err, bads[i].msg)) {
			print_error("bad[%zu]: rc %d\n  got  %s\n  want %s\n", i, rc,
				    err, bads[i].msg);
			fail();
		}
		assert_null(s);
	}
	assert_true(ARRAY_SIZE(bads) >= 30);
}

/* A message that does not fit is cut, never overflowed; NULL err is fine. */
static void test_bad_small_buffer(void **state)
{
	struct scenario *s;
	char err[12];

	memset(err, 'x', sizeof(err));
	assert_int_equal(scn_parse_string("t.scn", "spawn", &s, err, 8), -EINVAL);
	assert_string_equal(err, "t.scn:1");
	assert_int_equal(err[8], 'x');
	assert_int_equal(scn_parse_string("t.scn", "spawn", &s, NULL, 0), -EINVAL);
	assert_int_equal(scn_parse_string(NULL, "check\n", &s, NULL, 0), 0);
	assert_string_equal(s->file, "<string>");
	scn_free(s);
	scn_free(NULL);
}

/* ---- files --------------------------------------------------------------- */

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/scenario_parse.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static int parse_temp(const void *data, size_t len, struct scenario **s,
		      char *err, size_t errlen, char **path)
{
	int rc;

	*path = write_temp(data, len);
	rc = scn_parse_file(*path, s, err, errlen);
	unlink(*path);
	return rc;
}

static void test_file(void **state)
{
	static const char nul_tok[] = "spawn A # \0 in a comment\r\nA mmap 0x100000000000 1 r\0w\n";
	static const char good[] = "spawn A\r\nA mmap 0x100000000000 1 rw\r\ncheck";
	struct scenario *s = (void *)1;
	char err[512], want[600], *path;

	assert_int_equal(scn_parse_file("/nonexistent/x.scn", &s, err, sizeof(err)),
			 -ENOENT);
	assert_null(s);
	assert_string_equal(err, "/nonexistent/x.scn: No such file or directory");

	assert_int_equal(parse_temp(nul_tok, sizeof(nul_tok) - 1, &s, err,
				    sizeof(err), &path), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2:25: expected PROT (none, r, rw), found 'r\\x00w'", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(parse_temp(good, sizeof(good) - 1, &s, err, sizeof(err),
				    &path), 0);
	assert_string_equal(s->file, path);
	assert_int_equal(s->nstmts, 3);
	assert_int_equal(s->stmts[2].line, 3);
	assert_int_equal(s->stmts[2].op, SCN_CHECK);
	scn_free(s);
	free(path);
}

/*
 * Lines are bounded (SCN_MAX_LINE bytes): a longer one is rejected where
 * the limit is passed; up to the limit, long names and blanks are fine.
 */
static void test_long(void **state)
{
	size_t n = SCN_MAX_LINE - 8;	/* "spawn " + name: under the limit */
	char *text = malloc(2 * n + 64), *p = text;
	struct scenario *s;
	char err[512];

	assert_non_null(text);
	p += sprintf(p, "spawn ");
	memset(p, 'n', n);
	p += n;
	p += sprintf(p, "\n");
	memset(p, ' ', n);
	p += n;
	sprintf(p, "check  x");
	assert_int_equal(scn_parse_string("t.scn", text, &s, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.scn:2:4096: expected end of line, found 'x'");
	p[6] = '\0';
	s = parse_ok(text);
	assert_int_equal(strlen(s->slot_name[0]), n);
	assert_roundtrip(s);
	scn_free(s);
	free(text);

	n = 200000;
	text = malloc(n + 64);
	assert_non_null(text);
	p = text + sprintf(text, "spawn A\nspawn ");
	memset(p, 'n', n);
	strcpy(p + n, "\ncheck\n");
	assert_int_equal(scn_parse_string("t.scn", text, &s, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.scn:2:4097: expected a line of at most "
			    "4096 bytes, found a longer one");
	free(text);
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void **state)
{
	static const char *const need[] = {
		"EPERM", "ENOENT", "EINTR", "EIO", "E2BIG", "EBADF", "EAGAIN",
		"ENOMEM", "EACCES", "EFAULT", "EBUSY", "EEXIST", "ENODEV",
		"EINVAL", "ENOSPC", "ERANGE", "ENOSYS", "EOVERFLOW",
#ifdef EHWPOISON
		"EHWPOISON",
#endif
	};
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		int e = scn_errno_from_name(need[i]);

		assert_true(e > 0);
		assert_string_equal(scn_errno_name(e), need[i]);
	}
	assert_int_equal(scn_errno_from_name("EEXIST"), EEXIST);
	assert_int_equal(scn_errno_from_name("EFOO"), 0);
	assert_int_equal(scn_errno_from_name("eexist"), 0);
	assert_int_equal(scn_errno_from_name(""), 0);
	assert_null(scn_errno_name(0));
	assert_null(scn_errno_name(100000));
	for (int op = 0; op < SCN_NR_OPS; op++)
		assert_true(strlen(scn_op_name(op)) > 0);
	assert_string_equal(scn_op_name(SCN_MREMAP), "mremap");
	assert_string_equal(scn_op_name(SCN_NR_OPS), "?");
	assert_string_equal(scn_prot_name(SCN_PROT_RW), "rw");
	assert_string_equal(scn_advice_name(SCN_ADV_KEEPONFORK), "keeponfork");
	assert_string_equal(scn_advice_name(SCN_NR_ADVICE), "?");

	struct scn_stmt st = { .op = SCN_MMAP, .proc = 7, .addr = W0, .pages = 1 };
	assert_string_equal(scn_stmt_str(NULL, &st, buf, sizeof(buf)),
			    "? mmap 0x100000000000 1 none");
	assert_string_equal(scn_stmt_str(NULL, &st, buf, 8), "? mmap ");
}

/* ---- generated scenarios -------------------------------------------------- */

#define GEN_STMTS	48
#define GEN_SLOTS	(GEN_STMTS + 1)

struct gen {
	uint64_t *rng;
	char *text;
	size_t len, cap;
	int line;
	struct scn_stmt st[GEN_STMTS];
	int n;
	const char *slot_name[GEN_SLOTS];
	bool alive[GEN_SLOTS];
	int nslots;
};

static const char *const name_pool[] = {
	"A", "B", "C", "p1", "_x", "mmap", "Zz_9", "to", "dontunmap",
};

static const int err_pool[] = { EINVAL, EEXIST, EFAULT, ENOMEM, EPERM, EAGAIN,
				EBUSY, EACCES, ENODEV };

static uint64_t below(struct gen *g, uint64_t n)
{
	return test_below(g->rng, n);
}

static void emit(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (g->len + (size_t)n + 1 > g->cap) {
		g->cap = (g->len + (size_t)n + 1) * 2;
		g->text = realloc(g->text, g->cap);
		assert_non_null(g->text);
	}
	va_start(ap, fmt);
	vsnprintf(g->text + g->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	g->len += (size_t)n;
}

static void emit_sep(struct gen *g)
{
	static const char *const seps[] = { " ", " ", " ", "\t", "  ", " \t ", " \r " };

	emit(g, "%s", seps[below(g, ARRAY_SIZE(seps))]);
}

static void emit_num(struct gen *g, uint64_t v)
{
	emit_sep(g);
	switch (below(g, 4)) {
	case 0:
		emit(g, "%" PRIu64, v);
		break;
	case 1:
		emit(g, "0X%" PRIX64, v);
		break;
	case 2:
		emit(g, "0x000%" PRIx64, v);
		break;
	default:
		emit(g, "0x%" PRIx64, v);
	}
}

static void emit_word(struct gen *g, const char *w)
{
	emit_sep(g);
	emit(g, "%s", w);
}

static void emit_eol(struct gen *g)
{
	if (!below(g, 4))
		emit(g, "%s# comment %d", below(g, 2) ? " " : "", g->line);
	emit(g, below(g, 3) ? "\n" : "\r\n");
	g->line++;
	while (!below(g, 5)) {
		emit(g, below(g, 2) ? "# just a comment\n" : " \t\r\n");
		g->line++;
	}
}

/* A name for a new process: not alive (may be one that exited). */
static const char *free_name(struct gen *g)
{
	for (int tries = 0; tries < 20; tries++) {
		const char *n = name_pool[below(g, ARRAY_SIZE(name_pool))];
		bool used = false;

		for (int i = 0; i < g->nslots; i++)
			used |= g->alive[i] && !strcmp(g->slot_name[i], n);
		if (!used)
			return n;
	}
	return NULL;
}

static int live_proc(struct gen *g)
{
	int live[GEN_SLOTS], n = 0;

	for (int i = 0; i < g->nslots; i++)
		if (g->alive[i])
			live[n++] = i;
	return n ? live[below(g, (uint64_t)n)] : -1;
}

/* A page-aligned address with room for 64 pages after it. */
static uint64_t gen_addr(struct gen *g)
{
	uint64_t npages = (SCN_WINDOW_END - SCN_WINDOW_START) / PG;

	switch (below(g, 3)) {
	case 0:
		return W0 + below(g, 256) * PG;
	case 1:
		return SCN_WINDOW_END - (64 + below(g, 64)) * PG;
	default:
		return W0 + below(g, npages - 64) * PG;
	}
}

static void gen_range(struct gen *g, struct scn_stmt *st)
{
	st->addr = gen_addr(g);
	st->pages = 1 + below(g, 16);
	if (st->expect_err && !below(g, 3))
		st->addr += below(g, PG);
	if (st->expect_err && !below(g, 4))
		st->pages = 0;
	emit_num(g, st->addr);
	emit_num(g, st->pages);
}

static void gen_mremap(struct gen *g, struct scn_stmt *st)
{
	gen_range(g, st);
	st->new_pages = below(g, 16) + (st->expect_err ? 0 : 1);
	emit_num(g, st->new_pages);
	if (below(g, 2))
		return;
	st->to = true;
	st->new_addr = gen_addr(g);
	emit_word(g, "to");
	emit_num(g, st->new_addr);
	st->dontunmap = below(g, 2);
	if (st->dontunmap)
		emit_word(g, "dontunmap");
}

static void gen_args(struct gen *g, struct scn_stmt *st)
{
	switch (st->op) {
	case SCN_MMAP:
	case SCN_MPROTECT:
		gen_range(g, st);
		st->prot = (enum scn_prot)below(g, 3);
		emit_word(g, scn_prot_name(st->prot));
		break;
	case SCN_MUNMAP:
		gen_range(g, st);
		break;
	case SCN_MREMAP:
		gen_mremap(g, st);
		break;
	case SCN_MADVISE:
		gen_range(g, st);
		st->advice = (enum scn_advice)below(g, SCN_NR_ADVICE);
		emit_word(g, scn_advice_name(st->advice));
		break;
	case SCN_FILL:
		gen_range(g, st);
		st->byte = (int)below(g, 256);
		emit_num(g, (uint64_t)st->byte);
		break;
	case SCN_MIGRATE:
		gen_range(g, st);
		st->node = (int)below(g, 4);
		emit_num(g, (uint64_t)st->node);
		break;
	default:	/* write, read, expect: any byte address */
		st->addr = W0 + below(g, SCN_WINDOW_END - W0);
		emit_num(g, st->addr);
		st->byte = st->op == SCN_READ ? 0 : (int)below(g, 256);
		if (st->op != SCN_READ)
			emit_num(g, (uint64_t)st->byte);
	}
}

static int new_slot(struct gen *g, const char *name)
{
	g->slot_name[g->nslots] = name;
	g->alive[g->nslots] = true;
	return g->nslots++;
}

/* Spawn, fork, exit or check: true if one was generated. */
static bool gen_life(struct gen *g, struct scn_stmt *st, int p)
{
	const char *n = free_name(g);
	unsigned r = (unsigned)below(g, 10);

	if (p < 0 || (r == 0 && n)) {
		if (!n)
			return false;
		st->op = SCN_SPAWN;
		st->proc = st->child = new_slot(g, n);
		emit(g, "%sspawn", below(g, 2) ? "" : " ");
		emit_word(g, n);
	} else if (r == 1 && n) {
		st->op = SCN_FORK;
		st->child = new_slot(g, n);
		emit(g, "%s", g->slot_name[p]);
		emit_word(g, "fork");
		emit_word(g, n);
	} else if (r == 2) {
		st->op = SCN_EXIT;
		g->alive[p] = false;
		emit(g, "%s", g->slot_name[p]);
		emit_word(g, "exit");
	} else if (r == 3) {
		st->op = SCN_CHECK;
		st->proc = -1;
		emit(g, "check");
	} else {
		return false;
	}
	return true;
}

static void gen_stmt(struct gen *g, struct scn_stmt *st)
{
	int p = live_proc(g);

	memset(st, 0, sizeof(*st));
	st->line = g->line;
	st->proc = p;
	st->child = -1;
	if (gen_life(g, st, p)) {
		emit_eol(g);
		return;
	}
	st->op = (enum scn_op)(SCN_MMAP + below(g, SCN_CHECK - SCN_MMAP));
	if (!below(g, 4))
		st->expect_err = err_pool[below(g, ARRAY_SIZE(err_pool))];
	emit(g, "%s", g->slot_name[p]);
	emit_word(g, scn_op_name(st->op));
	gen_args(g, st);
	if (st->expect_err)
		emit_word(g, "!"), emit(g, "%s", scn_errno_name(st->expect_err));
	emit_eol(g);
}

static void gen_scenario(struct gen *g, uint64_t *rng)
{
	memset(g, 0, sizeof(*g));
	g->rng = rng;
	g->line = 1;
	emit(g, "%s", "");
	g->n = 1 + (int)below(g, GEN_STMTS);
	for (int i = 0; i < g->n; i++)
		gen_stmt(g, &g->st[i]);
	if (!below(g, 4) && g->len && g->text[g->len - 1] == '\n')
		g->text[--g->len] = '\0';	/* no final newline */
}

static void test_generated(void **state)
{
	uint64_t rng = test_seed("generated");
	struct gen g;

	for (int iter = 0; iter < 3000; iter++) {
		struct scenario *s;

		gen_scenario(&g, &rng);
		s = parse_ok(g.text);
		assert_stmts(s, g.st, g.n, true);
		assert_int_equal(s->nslots, g.nslots);
		for (int i = 0; i < g.nslots; i++)
			assert_string_equal(s->slot_name[i], g.slot_name[i]);
		assert_roundtrip(s);
		scn_free(s);
		free(g.text);
	}
}

/* ---- garbage and mutations ------------------------------------------------ */

/* Line count and longest line of the first len bytes. */
static void measure(const char *text, size_t len, int *lines, size_t *longest)
{
	size_t cur = 0;

	*lines = 1;
	*longest = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			++*lines;
			cur = 0;
		} else {
			*longest = MAX(*longest, ++cur);
		}
	}
}

static int n_parsed, n_rejected;

/* The outcome of parsing anything: a valid scenario or a located error. */
static void check_outcome(const char *name, const char *text, size_t len,
			  int rc, struct scenario *s, const char *err)
{
	size_t nlen = strlen(name), longest, col;
	int lines, line, used = 0;

	if (rc == 0) {
		n_parsed++;
		assert_non_null(s);
		for (int i = 0; i < s->nstmts; i++) {
			assert_true(s->stmts[i].proc < s->nslots);
			assert_true(s->stmts[i].child < s->nslots);
		}
		assert_roundtrip(s);
		scn_free(s);
		return;
	}
	n_rejected++;
	measure(text, len, &lines, &longest);
	if (rc != -EINVAL || s || strncmp(err, name, nlen) || err[nlen] != ':' ||
	    sscanf(err + nlen, ":%d:%zu: %n", &line, &col, &used) != 2 || !used ||
	    line < 1 || line > lines || col < 1 || col > longest + 1 ||
	    strncmp(err + nlen + used, "expected ", 9)) {
		print_error("rc %d, bad message: %s\n", rc, err);
		fail();
	}
}

static void mutate(char *buf, size_t *len, size_t cap, uint64_t *rng)
{
	static const char alphabet[] = "\0\n\r\t #!x0aA9_-+.'\xff";
	size_t at = test_below(rng, *len + 1), n = test_below(rng, 24) + 1;

	switch (test_below(rng, 5)) {
	case 0:		/* replace a byte */
		if (at < *len)
			buf[at] = (char)(test_below(rng, 2) ?
				 alphabet[test_below(rng, sizeof(alphabet) - 1)] :
				 (char)test_rand(rng));
		break;
	case 1:		/* delete a run */
		n = MIN(n % 8, *len - at);
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 2:		/* insert a byte */
		if (*len + 1 < cap) {
			memmove(buf + at + 1, buf + at, *len - at);
			buf[at] = alphabet[test_below(rng, sizeof(alphabet) - 1)];
			++*len;
		}
		break;
	case 3:		/* copy a run elsewhere */
		n = MIN(n, cap - *len - 1);
		if (at + n <= *len) {
			size_t to = test_below(rng, *len + 1);

			memmove(buf + to + n, buf + to, *len - to);
			memmove(buf + to, buf + (at <= to ? at : at + n), n);
			*len += n;
		}
		break;
	default:	/* cut */
		*len = at;
	}
}

static void parse_any(const char *buf, size_t len, bool via_file)
{
	struct scenario *s = (void *)1;
	char err[512], *path = NULL;
	int rc;

	if (via_file) {
		rc = parse_temp(buf, len, &s, err, sizeof(err), &path);
		check_outcome(path, buf, len, rc, s, err);
		free(path);
		return;
	}
	rc = scn_parse_string("m.scn", buf, &s, err, sizeof(err));
	check_outcome("m.scn", buf, strlen(buf), rc, s, err);
}

static void test_mutations(void **state)
{
	uint64_t rng = test_seed("mutations");
	struct gen g;
	size_t cap = 1 << 16;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len;

		gen_scenario(&g, &rng);
		len = MIN(g.len, cap - 1);
		memcpy(buf, g.text, len);
		free(g.text);
		for (int k = 1 + (int)test_below(&rng, 4); k > 0; k--)
			mutate(buf, &len, cap, &rng);
		buf[len] = '\0';
		parse_any(buf, len, test_below(&rng, 16) == 0);
	}
	free(buf);
	printf("mutations: %d parsed, %d rejected\n", n_parsed, n_rejected);
	n_parsed = n_rejected = 0;
}

static void test_garbage(void **state)
{
	static const char *const words[] = {
		"spawn", "check", "A", "B", "fork", "exit", "mmap", "munmap",
		"mprotect", "mremap", "madvise", "write", "fill", "read",
		"expect", "migrate", "to", "dontunmap", "rw", "r", "none",
		"pageout", "0x100000000000", "0x100000001000", "1", "0", "255",
		"0x1ffffffff000", "!EINVAL", "!EEXIST", "#", "\n", "\r\n", " ",
		"\t", "\0", "99999999999999999999", "0x",
	};
	uint64_t rng = test_seed("garbage");
	char buf[1024];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0, n = test_below(&rng, 64);
		bool bytes = test_below(&rng, 4) == 0;

		for (size_t i = 0; i < n && len + 24 < sizeof(buf); i++) {
			const char *w = words[test_below(&rng, ARRAY_SIZE(words))];
			size_t wl = *w ? strlen(w) : 1;

			if (bytes) {
				buf[len++] = (char)test_rand(&rng);
				continue;
			}
			memcpy(buf + len, w, wl);
			len += wl;
			if (test_below(&rng, 2))
				buf[len++] = ' ';
		}
		buf[len] = '\0';
		parse_any(buf, len, test_below(&rng, 16) == 0);
	}
	printf("garbage: %d parsed, %d rejected\n", n_parsed, n_rejected);
	n_parsed = n_rejected = 0;
}

/* ---- allocation failure --------------------------------------------------- */

static void test_enomem(void **state)
{
	char *text = NULL, *path = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct scenario *s;
	char err[256];
	long n;
	int rc;

	assert_non_null(f);
	for (int i = 0; i < 40; i++)
		fprintf(f, "spawn P%d\nP%d mmap 0x100000000000 1 rw\n", i, i);
	fclose(f);
	for (n = 1;; n++) {
		scn_parse_inject_enomem(n);
		rc = scn_parse_string("e.scn", text, &s, err, sizeof(err));
		if (!rc)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_null(s);
		assert_string_equal(err, "e.scn: out of memory");
	}
	scn_parse_inject_enomem(0);
	assert_true(n > 10);
	assert_int_equal(s->nslots, 40);
	scn_free(s);
	for (n = 1; n < 4; n++) {
		path = write_temp(text, len);
		scn_parse_inject_enomem(n);
		rc = scn_parse_file(path, &s, err, sizeof(err));
		scn_parse_inject_enomem(0);
		unlink(path);
		free(path);
		assert_int_equal(rc, -ENOMEM);
		assert_null(s);
	}
	free(text);
}

/* ---- traces --------------------------------------------------------------- */

static void test_trace_build(void **state)
{
	struct scn_trace t;
	struct scn_snapshot *sn;
	struct scn_proc_snap *p, *q;
	struct scn_result r = { .err = 0, .value = -1 };
	struct scn_vma v = { .start = W0, .end = W0 + PG, .prot = SCN_PROT_RW };
	static const int slots[] = { 5, 1, 3, 9, 0, 7 };

	scn_trace_init(&t, "model");
	assert_string_equal(t.executor, "model");
	for (int i = 0; i < 1000; i++) {
		r.value = i & 255;
		assert_int_equal(scn_trace_add_result(&t, &r), 0);
	}
	assert_int_equal(t.nresults, 1000);
	assert_int_equal(t.results[999].value, 999 & 255);
	for (int k = 0; k < 20; k++) {
		sn = scn_trace_add_snapshot(&t, k);
		assert_non_null(sn);
		for (size_t i = 0; i < ARRAY_SIZE(slots); i++) {
			p = scn_snapshot_add_proc(sn, slots[i]);
			assert_non_null(p);
			assert_int_equal(p->slot, slots[i]);
			assert_int_equal(scn_proc_add_vma(p, &v), 0);
			for (int j = 0; j < 100 * k; j++) {
				struct scn_page pg = { .addr = W0 + (uint64_t)j * PG };

				assert_int_equal(scn_proc_add_page(p, &pg), 0);
			}
		}
		q = scn_snapshot_add_proc(sn, 3);
		assert_int_equal(q->slot, 3);
		assert_int_equal(sn->nprocs, (int)ARRAY_SIZE(slots));
		for (int i = 0; i < sn->nprocs; i++) {
			if (i)
				assert_true(sn->procs[i - 1].slot < sn->procs[i].slot);
			assert_int_equal(sn->procs[i].nvmas, 1);
			assert_int_equal(sn->procs[i].npages, 100 * k);
			if (k)
				assert_int_equal(sn->procs[i].pages[100 * k - 1].addr,
						 W0 + (uint64_t)(100 * k - 1) * PG);
		}
	}
	assert_int_equal(t.nsnaps, 20);
	assert_int_equal(t.snaps[19].stmt, 19);
	scn_trace_free(&t);
	assert_int_equal(t.nresults, 0);
	assert_int_equal(t.nsnaps, 0);
	assert_null(t.results);
	scn_trace_free(&t);
}

static void test_hash(void **state)
{
	unsigned char page[4096];

	memset(page, 0, sizeof(page));
	assert_int_equal(scn_hash_page(page), 0xb93a0c83ce3b6325ULL);
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)i;
	assert_int_equal(scn_hash_page(page), 0x88d6ce5789d35325ULL);
}

static void test_result_ok(void **state)
{
	struct scenario *s = parse_ok(
		"spawn A\nA fork B\n"
		"A mmap 0x100000000000 1 rw !EEXIST\n"
		"B expect 0x100000001000 0x2a\n"
		"A read 0x100000000000\n"
		"A munmap 0x100000000000 1\n"
		"B expect 0x100000001000 7 !EFAULT\n");
	struct scn_stmt *mm = &s->stmts[2], *ex = &s->stmts[3];
	struct scn_stmt *rd = &s->stmts[4], *un = &s->stmts[5], *ef = &s->stmts[6];
	struct scn_result ok = { .err = 0, .value = -1 };
	struct scn_result r;
	char msg[256];

	assert_false(scn_result_ok(s, mm, &ok, msg, sizeof(msg)));
	assert_string_equal(msg, "line 3: A mmap 0x100000000000 1 rw: expected EEXIST, got OK");
	r = (struct scn_result){ .err = EEXIST, .value = -1 };
	assert_true(scn_result_ok(s, mm, &r, msg, sizeof(msg)));
	assert_string_equal(msg, "");

	r = (struct scn_result){ .err = 0, .value = 0 };
	assert_false(scn_result_ok(s, ex, &r, msg, sizeof(msg)));
	assert_string_equal(msg, "line 4: B expect 0x100000001000 0x2a: got 0x00");
	r.value = 0x2a;
	assert_true(scn_result_ok(s, ex, &r, msg, sizeof(msg)));
	r = (struct scn_result){ .err = EFAULT, .value = -1 };
	assert_false(scn_result_ok(s, ex, &r, msg, sizeof(msg)));
	assert_string_equal(msg, "line 4: B expect 0x100000001000 0x2a: expected OK, got EFAULT");
	assert_true(scn_result_ok(s, ef, &r, msg, sizeof(msg)));

	r = (struct scn_result){ .err = 0, .value = 0x99 };
	assert_true(scn_result_ok(s, rd, &r, msg, sizeof(msg)));
	r = (struct scn_result){ .err = 4321, .value = -1 };
	assert_false(scn_result_ok(s, un, &r, msg, sizeof(msg)));
	assert_string_equal(msg, "line 6: A munmap 0x100000000000 1: expected OK, got errno 4321");
	assert_false(scn_result_ok(s, un, &r, NULL, 0));
	assert_false(scn_result_ok(s, un, &r, msg, 20));
	assert_string_equal(msg, "line 6: A munmap 0x");

	/* not performed: nothing to judge */
	r = (struct scn_result){ .unsupported = true, .value = -1 };
	snprintf(r.note, sizeof(r.note), "no NUMA");
	assert_true(scn_result_ok(s, mm, &r, msg, sizeof(msg)));
	assert_string_equal(msg, "");
	assert_true(scn_result_ok(s, ex, &r, msg, sizeof(msg)));
	scn_free(s);
}

/* THP: the mode line, the advice, expect-thp, and their printed forms. */
static void test_thp(void **state)
{
	static const char *const bad_thp[][2] = {
		{ "thp sometimes", "t.scn:1:5: expected THP mode (host, never, "
		  "madvise, always), found 'sometimes'" },
		{ "thp always x", "t.scn:1:12: expected end of line, found 'x'" },
		{ "thp never\nthp always", "t.scn:2:1: expected live process, "
		  "found 'thp' (never spawned)" },
		{ A0 "A expect-thp 0x100000000000 huge",
		  "t.scn:2:29: expected THP state (none, base, pte, pmd, "
		  "huge-zero), found 'huge'" },
		{ A0 "A expect-thp 0x100000000000",
		  "t.scn:2:28: expected THP state (none, base, pte, pmd, "
		  "huge-zero), found end of line" },
	};
	struct scenario *s = parse_ok(
		"thp always\n"
		"spawn A\n"
		"A mmap 0x100000000000 1024 rw\n"
		"A madvise 0x100000000000 512 hugepage\n"
		"A madvise 0x100000200000 512 nohugepage\n"
		"A expect-thp 0x100000000fff pmd\n"
		"A expect-thp 0x100000200000 huge-zero !ESRCH\n");
	struct scn_result r = { .err = 0, .value = SCN_THP_PTE };
	char buf[128], err[256];
	struct scenario *t;

	assert_int_equal(s->thp, SCN_THP_ALWAYS);
	assert_int_equal(s->stmts[2].advice, SCN_ADV_HUGEPAGE);
	assert_int_equal(s->stmts[3].advice, SCN_ADV_NOHUGEPAGE);
	assert_int_equal(s->stmts[4].op, SCN_EXPECT_THP);
	assert_int_equal(s->stmts[4].byte, SCN_THP_PMD);
	assert_int_equal(s->stmts[4].addr, W0 + 0xfff);
	assert_int_equal(s->stmts[5].byte, SCN_THP_HUGE_ZERO);
	assert_string_equal(scn_stmt_str(s, &s->stmts[4], buf, sizeof(buf)),
			    "A expect-thp 0x100000000fff pmd");
	assert_false(scn_result_ok(s, &s->stmts[4], &r, buf, sizeof(buf)));
	assert_string_equal(buf, "line 6: A expect-thp 0x100000000fff pmd: got pte");
	r.value = SCN_THP_PMD;
	assert_true(scn_result_ok(s, &s->stmts[4], &r, buf, sizeof(buf)));
	assert_roundtrip(s);
	scn_free(s);

	/* no line: the host's mode; "thp host" says so explicitly */
	s = parse_ok("spawn A\n");
	assert_int_equal(s->thp, SCN_THP_HOST);
	scn_free(s);
	s = parse_ok("thp host\nspawn thp\nthp exit\n");
	assert_int_equal(s->thp, SCN_THP_HOST);
	assert_int_equal(s->nstmts, 2);
	scn_free(s);
	assert_int_equal(scn_thp_mode_from_name("madvise"), SCN_THP_MADVISE);
	assert_int_equal(scn_thp_mode_from_name("sometimes"), -1);
	assert_string_equal(scn_thp_state_name(SCN_NR_THP_STATES), "?");
	for (size_t i = 0; i < sizeof(bad_thp) / sizeof(bad_thp[0]); i++) {
		assert_int_equal(scn_parse_string("t.scn", bad_thp[i][0], &t, err,
						  sizeof(err)), -EINVAL);
		assert_string_equal(err, bad_thp[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_small_buffer),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_trace_build),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_result_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
