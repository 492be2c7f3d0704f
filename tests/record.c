/* SPDX-License-Identifier: MIT */
/*
 * anonvm record against real programs: the exact events of a small forking
 * program (tests/progs/record_prog.c), a shell pipeline, Python
 * multiprocessing (if python3 is present), and the limits.  Every
 * recording must replay on every safe design with the checker passing and,
 * relocated, agree with the host kernel (`diff`).  Needs root (exit 77).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "scenario/record.h"
#include "scenario/scenario.h"

struct recording {
	char *text;
	size_t len;
	struct scn_rec_stats st;
	struct scenario *s;
	int rc;
};

static void record(struct recording *r, char *const argv[],
		   const struct scn_rec_opts *o)
{
	static const struct scn_rec_opts none;
	char err[256] = "", perr[512];
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = open_memstream(&r->text, &r->len);
	assert_non_null(f);
	r->rc = scn_record(argv, o ? o : &none, f, &r->st, err, sizeof(err));
	assert_int_equal(fclose(f), 0);
	if (r->rc < 0)
		fprintf(stderr, "scn_record: %s\n", err);
	assert_true(r->rc >= 0);
	if (scn_parse_string(argv[0], r->text, &r->s, perr, sizeof(perr))) {
		fprintf(stderr, "%s\n", perr);
		fail();
	}
}

static void recording_free(struct recording *r)
{
	scn_free(r->s);
	free(r->text);
}

/* Replays on every safe design, the checker at every check and the end. */
static void replay_everywhere(const struct scenario *s)
{
	for (const char *const *d = avm_designs(); *d; d++) {
		struct scn_lib_opts o = { .design = *d, .payload_none = true };
		struct scn_trace t;
		char err[256];

		if (avm_design_unsafe(*d))
			continue;
		assert_int_equal(scn_run_lib(s, &o, &t, err, sizeof(err)), 0);
		if (t.failure[0])
			fprintf(stderr, "design %s: %s\n", *d, t.failure);
		assert_string_equal(t.failure, "");
		scn_trace_free(&t);
	}
}

/* Relocated into the window, the kernel and anonvm agree on it. */
static void diff_with_kernel(const struct scenario *s)
{
	struct scn_trace kt, lt;
	struct scenario *rs;
	char err[512], msg[1024];
	int n;

	assert_int_equal(scn_relocate(s, &rs, &n, err, sizeof(err)), 0);
	assert_int_equal(scn_run_native(rs, &kt, err, sizeof(err)), 0);
	assert_int_equal(scn_run_lib(rs, NULL, &lt, err, sizeof(err)), 0);
	if (scn_compare(rs, &kt, &lt, SCN_CMP_KERNEL, msg, sizeof(msg))) {
		fprintf(stderr, "diff: %s\n", msg);
		fail();
	}
	assert_string_equal(kt.failure, "");
	scn_trace_free(&kt);
	scn_trace_free(&lt);
	scn_free(rs);
}

static char prog[PATH_MAX];

/* What record_prog does at 0x140000000000, in order (nothing else there). */
static const char *const prog_events[] = {
	"p1 mmap 0x140000000000 8 rw",
	"p1 fill 0x140000000000 3 0x01",
	"p1 read 0x140000003000",
	"p1 mprotect 0x140000007000 1 r",
	"p1 madvise 0x140000006000 1 dontneed",
	"p1 fork p2",
	"p2 write 0x140000000000 0x01",		/* COW break */
	"p2 write 0x140000003000 0x01",		/* zero page -> own frame */
	"p2 mremap 0x140000001000 2 2 to 0x141000000000",
	"p2 munmap 0x141000000000 2",
	"p2 exit",
	/* p1's store to page 1 reuses the frame in place: no statement */
	"p1 write 0x140000004000 0x01",
	"p1 munmap 0x140000000000 8",
	"p1 exit",
};

static bool prog_line(const char *l)
{
	return strstr(l, " 0x140") || strstr(l, " 0x141") ||
	       strstr(l, " fork ") || !strcmp(strchr(l, ' ') ?: "", " exit");
}

static void test_prog_events(void **state)
{
	char *argv[] = { prog, NULL };
	struct recording r;
	size_t k = 0, n = sizeof(prog_events) / sizeof(prog_events[0]);
	char *save, *text, *l;

	record(&r, argv, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.st.exit_status, 0);
	assert_int_equal(r.st.procs, 2);
	text = strdup(r.text);
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || !prog_line(l))
			continue;
		if (k >= n || strcmp(l, prog_events[k]))
			fprintf(stderr, "event %zu: got '%s', expected '%s'\n", k,
				l, k < n ? prog_events[k] : "nothing");
		assert_true(k < n);
		assert_string_equal(l, prog_events[k]);
		k++;
	}
	assert_int_equal(k, n);
	free(text);
	replay_everywhere(r.s);
	diff_with_kernel(r.s);
	recording_free(&r);
}

static void test_sh_pipeline(void **state)
{
	char *argv[] = { "sh", "-c", "echo hello | tr a-z A-Z | wc -c >/dev/null;"
			 " seq 1 3000 | sort -rn | head -1 >/dev/null", NULL };
	struct recording r;

	record(&r, argv, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.st.exit_status, 0);
	assert_true(r.st.procs >= 7);		/* sh and six commands */
	assert_true(r.st.execs >= 6);
	assert_non_null(strstr(r.text, " fork p"));
	replay_everywhere(r.s);
	diff_with_kernel(r.s);
	recording_free(&r);
}

static const char *python(void)
{
	static const char *const paths[] = { "/usr/bin/python3",
					     "/usr/local/bin/python3" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

static void test_python_multiprocessing(void **state)
{
	char *argv[] = { (char *)python(), "-c",
		"import multiprocessing as mp\n"
		"def f(x): return x * x\n"
		"if __name__ == '__main__':\n"
		"    with mp.get_context('fork').Pool(2) as p:\n"
		"        assert sum(p.map(f, range(100))) == 328350\n", NULL };
	struct recording r;

	if (!argv[0]) {
		printf("python3 not installed: multiprocessing not recorded\n");
		skip();
	}
	record(&r, argv, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.st.exit_status, 0);
	assert_true(r.st.procs >= 3);		/* the parent and two workers */
	assert_true(r.st.tasks > r.st.procs);	/* the pool's threads */
	replay_everywhere(r.s);
	diff_with_kernel(r.s);
	recording_free(&r);
}

static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG | __WALL), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_max_events(void **state)
{
	struct scn_rec_opts o = { .max_events = 5 };
	char *argv[] = { prog, NULL };
	struct recording r;

	record(&r, argv, &o);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.st.stmts, 5);
	assert_non_null(strstr(r.st.stopped, "--max-events 5"));
	assert_non_null(strstr(r.text, "# stopped early: --max-events 5"));
	assert_no_children();
	recording_free(&r);
}

static void test_max_seconds(void **state)
{
	struct scn_rec_opts o = { .max_seconds = 0.3 };
	char *argv[] = { "sh", "-c", "sleep 20 & sleep 20; wait", NULL };
	struct timespec a, b;
	struct recording r;

	clock_gettime(CLOCK_MONOTONIC, &a);
	record(&r, argv, &o);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.st.stopped, "--max-seconds"));
	assert_true(b.tv_sec - a.tv_sec < 10);	/* killed, not waited for */
	assert_no_children();
	recording_free(&r);
}

static void test_missing_command(void **state)
{
	char *argv[] = { "/nonexistent/anonvm-test", NULL };
	struct recording r;

	record(&r, argv, NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.st.exit_status, 127);
	assert_int_equal(r.st.stmts, 0);
	recording_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prog_events),
		cmocka_unit_test(test_sh_pipeline),
		cmocka_unit_test(test_python_multiprocessing),
		cmocka_unit_test(test_max_events),
		cmocka_unit_test(test_max_seconds),
		cmocka_unit_test(test_missing_command),
	};
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (geteuid()) {
		printf("needs root (ptrace and PFNs in /proc/PID/pagemap)\n");
		return 77;
	}
	if (n <= 0)
		return 1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(prog, sizeof(prog), "%s/progs/record_prog", self);
	if (access(prog, X_OK)) {
		printf("%s not built\n", prog);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
