/* SPDX-License-Identifier: MIT */
/*
 * The command's answers to bad options and bad input: every subcommand
 * exits 2 with a message naming what is wrong (never 1, "a problem was
 * found", and never a run with a silently changed value).  Runs the
 * anonvm binary of the same build ($O/tests/../anonvm).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static char bin[4096];
static char out[65536];

/* Run anonvm with args (NULL-terminated); stdout+stderr in out. */
static int run_cli(const char *first, ...)
{
	const char *argv[32] = { bin, first };
	int n = 2, fd[2], status;
	size_t len = 0;
	ssize_t r;
	va_list ap;
	pid_t pid;

	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		execv(bin, (char **)argv);
		_exit(127);
	}
	close(fd[1]);
	while ((r = read(fd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define assert_usage(msg, ...) do {					\
	int rc__ = run_cli(__VA_ARGS__, (const char *)NULL);		\
	if (rc__ != 2 || !strstr(out, msg))				\
		fprintf(stderr, "exit %d, output:\n%s\n(wanted '%s')\n",	\
			rc__, out, msg);				\
	assert_int_equal(rc__, 2);					\
	assert_non_null(strstr(out, msg));				\
} while (0)

static const char *scn_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/anonvm-cli-usage-XXXXXX");
	fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Unknown designs are usage errors everywhere, before anything runs. */
static void test_unknown_design(void **state)
{
	const char *f = scn_file("spawn P\n");

	assert_usage("unknown design 'nosuch'", "fuzz", "--design", "nosuch",
		     "--ops", "10");
	assert_usage("unknown design 'nosuch'", "run", "--design", "nosuch", f);
	assert_usage("unknown design 'nosuch'", "diff", "--design", "nosuch", f);
	assert_usage("unknown design 'nosuch'", "compare", "--design", "nosuch");
	assert_usage("unknown design 'nosuch'", "demo", "--design", "nosuch");
	unlink(f);
}

/* Numbers out of range are refused, not truncated. */
static void test_numbers(void **state)
{
	assert_usage("--batch must be a number in 1..100000, not '4294967297'",
		     "fuzz", "--batch", "4294967297", "--ops", "10");
	assert_usage("--batch must be", "fuzz", "--batch", "0");
	assert_usage("--ops must be", "fuzz", "--ops", "0");
	assert_usage("--ops must be", "fuzz", "--ops", "-5");
	assert_usage("--ops must be", "fuzz", "--ops", "99999999999999999999");
	assert_usage("--seed must be", "fuzz", "--seed", "abc");
	assert_usage("--nodes must be", "run", "--nodes", "0", "x.scn");
	assert_usage("--payload is full or none", "run", "--payload", "x",
		     "x.scn");
}

/* --fail-rate: a probability; at 1 every allocation fails and the run
   still ends cleanly, judged by the checker alone. */
static void test_fail_rate(void **state)
{
	const char *f = scn_file("spawn P\nP mmap 0x140000000000 1 rw\n"
				 "P write 0x140000000000 1\nP expect "
				 "0x140000000000 1\ncheck\n");

	assert_usage("--fail-rate must be a probability in 0..1, not '2'",
		     "run", "--fail-rate", "2", f);
	assert_usage("--fail-rate must be", "run", "--fail-rate", "x", f);
	assert_usage("--fail-rate must be", "fuzz", "--fail-rate", "-0.1");
	assert_usage("--seed must be", "run", "--fail-rate", "0.1", "--seed",
		     "y", f);
	assert_int_equal(run_cli("run", "--fail-rate", "1", "--seed", "7", f,
				 (const char *)NULL), 0);
	assert_non_null(strstr(out, "seed 7"));
	assert_non_null(strstr(out, "allocation failures hit 1 statements, "
			       "the first at line 1"));
	assert_int_equal(run_cli("fuzz", "--fail-rate", "0.05", "--ops", "2000",
				 "--seed", "3", (const char *)NULL), 0);
	assert_non_null(strstr(out, "no divergence"));
	unlink(f);
}

/* --thp: never, madvise or always; "host" is the default, not an option
   value.  A mode line of the scenario is overridden by --thp. */
static void test_thp(void **state)
{
	const char *f = scn_file("thp madvise\nspawn P\nP mmap 0x140000000000 "
				 "512 rw\nP madvise 0x140000000000 512 hugepage\n"
				 "P expect-thp 0x140000000000 none\n");

	assert_usage("--thp is never, madvise or always, not 'sometimes'",
		     "run", "--thp", "sometimes", f);
	assert_usage("--thp is never, madvise or always, not 'host'",
		     "diff", "--thp", "host", f);
	assert_usage("--thp is never", "native", "--thp", "x", f);
	assert_usage("--thp is never", "fuzz", "--thp", "x", "--ops", "10");
	assert_int_equal(run_cli("run", "--thp", "never", f,
				 (const char *)NULL), 0);
	assert_int_equal(run_cli("fuzz", "--thp", "madvise", "--ops", "2000",
				 "--seed", "3", (const char *)NULL), 0);
	assert_non_null(strstr(out, "no divergence"));
	unlink(f);
}

static void test_unknown_options(void **state)
{
	assert_usage("'--bogus'", "fuzz", "--bogus");
	assert_usage("'--bogus'", "run", "--bogus", "x.scn");
	assert_usage("'--bogus'", "diff", "--bogus", "x.scn");
	assert_usage("'--bogus'", "native", "--bogus", "x.scn");
	assert_usage("'--bogus'", "designs", "--bogus");
	assert_usage("'--design'", "run", "--design");
	assert_usage("no scenario file given", "run");
	assert_usage("no scenario file given", "diff");
}

/* anonvm explore: usage errors exit 2; a race is found (1), and
   replayed from the printed --replay; a race-free scenario passes. */
static void test_explore(void **state)
{
	const char *racy = "spawn P\nP mmap 0x140000000000 1 rw\n"
			   "thread A {\nP expect 0x140000000000 0\n}\n"
			   "thread B {\nP write 0x140000000000 1\n}\njoin\n";
	char f[64], replay[256];
	const char *r;

	assert_usage("'--bogus'", "explore", "--bogus", "x.scn");
	assert_usage("one scenario FILE", "explore");
	assert_usage("--strategy is pct or random", "explore", "--strategy",
		     "fifo", "x.scn");
	assert_usage("--replay wants", "explore", "--replay", "1:", "x.scn");
	assert_usage("--depth", "explore", "--depth", "0", "x.scn");
	assert_usage("--schedules", "explore", "--schedules", "x", "x.scn");
	snprintf(f, sizeof(f), "%s", scn_file("spawn P\n"));
	assert_usage("has no thread blocks", "explore", f);
	unlink(f);
	snprintf(f, sizeof(f), "%s", scn_file(racy));
	assert_int_equal(run_cli("explore", "--seed", "1", f, NULL), 1);
	assert_non_null(strstr(out, "FAIL"));
	r = strstr(out, "--replay ");
	assert_non_null(r);
	assert_int_equal(sscanf(r, "--replay %255s", replay), 1);
	assert_int_equal(run_cli("explore", "--replay", replay, f, NULL), 1);
	assert_non_null(strstr(out, "the replayed schedule: fail"));
	unlink(f);
	snprintf(f, sizeof(f), "%s", scn_file("spawn P\nspawn Q\n"
		 "thread A {\nP mmap 0x140000000000 1 rw\n}\n"
		 "thread B {\nQ mmap 0x140000000000 1 rw\n}\njoin\n"));
	assert_int_equal(run_cli("explore", "--schedules", "20", f, NULL), 0);
	assert_non_null(strstr(out, "PASS"));
	unlink(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_design),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_fail_rate),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_explore),
	};
	ssize_t n = readlink("/proc/self/exe", bin, sizeof(bin) - 16);
	char *slash;

	if (n <= 0)
		return 77;
	bin[n] = '\0';
	slash = strrchr(bin, '/');
	*slash = '\0';			/* $O/tests */
	slash = strrchr(bin, '/');
	strcpy(slash, "/anonvm");	/* $O/anonvm */
	if (access(bin, X_OK)) {
		printf("skip: %s not built\n", bin);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
