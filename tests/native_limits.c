/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor under resource limits: a fork or spawn that the
 * kernel refuses (a pids cgroup at its pids.max) is the statement's EAGAIN,
 * later statements of the process that does not exist get ESRCH (as in the
 * library), and the executor kills nothing but its own workers - the caller
 * survives even when its stdin is a socket whose peer has closed (the old
 * executor sent the missing process's command to descriptor 0 and then
 * killed process group 0).
 *
 * Each run happens in a child process in its own process group (so that a
 * regression kills only that child), inside a fresh pids cgroup (v2 if the
 * unified hierarchy has the pids controller, else v1), removed afterwards.
 * Also: a worker SIGKILLed from outside (as by the OOM killer) is named as
 * such.  Skipped (77) without root; without a writable pids cgroup only
 * the last test runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "scenario/scenario.h"

#define MAX_RES	32

/* What the child reports through a pipe. */
struct outcome {
	int rc;
	int nresults;
	int err[MAX_RES];
	int value[MAX_RES];
	char failure[256];
	char msg[256];
};

static char cg_dir[256];	/* the pids cgroup made for this test */
static const char *cg_procs;	/* "cgroup.procs" */

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -EIO;
}

/* A pids cgroup of our own; false if none can be made here. */
static bool make_pids_cgroup(void)
{
	static const char *const roots[] = {
		"/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids",
	};
	char probe[512];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(cg_dir, sizeof(cg_dir), "%s/anonvm-test-%d", roots[i],
			 (int)getpid());
		if (mkdir(cg_dir, 0755))
			continue;
		snprintf(probe, sizeof(probe), "%s/pids.max", cg_dir);
		if (!access(probe, W_OK)) {
			cg_procs = "cgroup.procs";
			return true;
		}
		rmdir(cg_dir);
	}
	cg_dir[0] = '\0';
	return false;
}

/* Run text in a child inside the cgroup with pids.max = max. */
__attribute__((noreturn))
static void child_run(const char *text, int max, int out)
{
	struct outcome o;
	struct scenario *s;
	struct scn_trace t;
	char buf[32];
	int sv[2];

	memset(&o, 0, sizeof(o));
	setpgid(0, 0);
	/* stdin: a socket whose peer has closed */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || dup2(sv[0], 0) < 0)
		_exit(3);
	close(sv[0]);
	close(sv[1]);
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	if (write_file(cg_dir, cg_procs, buf))
		_exit(4);
	snprintf(buf, sizeof(buf), "%d", max);
	if (write_file(cg_dir, "pids.max", buf))
		_exit(5);
	if (scn_parse_string("limits", text, &s, o.msg, sizeof(o.msg)))
		_exit(6);
	o.rc = scn_run_native(s, &t, o.msg, sizeof(o.msg));
	o.nresults = t.nresults < MAX_RES ? t.nresults : MAX_RES;
	for (int i = 0; i < o.nresults; i++) {
		o.err[i] = t.results[i].err;
		o.value[i] = t.results[i].value;
	}
	snprintf(o.failure, sizeof(o.failure), "%s", t.failure);
	if (write(out, &o, sizeof(o)) != sizeof(o))
		_exit(7);
	_exit(0);
}

static void run_limited(const char *text, int max, struct outcome *o)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_run(text, max, p[1]);
	}
	close(p[1]);
	memset(o, 0, sizeof(*o));
	n = read(p[0], o, sizeof(*o));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the caller was killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(n, sizeof(*o));
	if (o->rc)
		print_error("scn_run_native: %d: %s\n", o->rc, o->msg);
}

/* The repro: the fork fails; C does not exist. */
static void test_fork_fails(void **state)
{
	struct outcome o;

	(void)state;
	/* the caller and P: a third task is refused */
	run_limited("spawn P\n"
		    "P mmap 0x140000000000 1 rw\n"
		    "P fork C\n"
		    "C write 0x140000000000 7\n"
		    "P write 0x140000000000 8\n"
		    "P expect 0x140000000000 8\n"
		    "check\n", 2, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.nresults, 7);
	assert_int_equal(o.err[1], 0);
	assert_int_equal(o.err[2], EAGAIN);
	assert_int_equal(o.err[3], ESRCH);
	assert_int_equal(o.err[4], 0);
	assert_int_equal(o.err[5], 0);
	assert_int_equal(o.value[5], 8);
	assert_non_null(strstr(o.failure, "EAGAIN"));
}

static void test_spawn_fails(void **state)
{
	struct outcome o;

	(void)state;
	run_limited("spawn P\n"
		    "P mmap 0x140000000000 1 rw\n"
		    "P write 0x140000000000 7\n"
		    "P exit\n"
		    "check\n", 1, &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.nresults, 5);
	assert_int_equal(o.err[0], EAGAIN);
	assert_int_equal(o.err[1], ESRCH);
	assert_int_equal(o.err[2], ESRCH);
	assert_int_equal(o.err[3], ESRCH);
}

/* The first child of process pid, or 0 (/proc/PID/task/PID/children). */
static pid_t first_child(pid_t pid)
{
	char path[96];
	FILE *f;
	int c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &c) != 1)
		c = 0;
	fclose(f);
	return c;
}

/*
 * A worker killed by SIGKILL from elsewhere (as the OOM killer does) breaks
 * the run with a message that says so; the caller survives.  The scenario
 * runs for a while (fills of 64 MiB); we kill its worker as soon as it
 * exists.
 */
static void test_worker_killed(void **state)
{
	static char text[4096];
	struct outcome o;
	size_t len = 0;
	int p[2], status;
	pid_t pid, w = 0;
	ssize_t n;

	(void)state;
	len += (size_t)snprintf(text + len, sizeof(text) - len,
				"spawn A\nA mmap 0x140000000000 16384 rw\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"A fill 0x140000000000 16384 %d\n", i);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct scenario *s;
		struct scn_trace t;

		close(p[0]);
		memset(&o, 0, sizeof(o));
		if (scn_parse_string("killed", text, &s, o.msg, sizeof(o.msg)))
			_exit(6);
		o.rc = scn_run_native(s, &t, o.msg, sizeof(o.msg));
		o.nresults = t.nresults;
		if (write(p[1], &o, sizeof(o)) != sizeof(o))
			_exit(7);
		_exit(0);
	}
	close(p[1]);
	for (int i = 0; i < 100000 && !w; i++)
		w = first_child(pid);
	assert_true(w > 0);
	kill(w, SIGKILL);
	n = read(p[0], &o, sizeof(o));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(n, sizeof(o));
	print_message("rc %d after %d statements: %s\n", o.rc, o.nresults, o.msg);
	assert_int_equal(o.rc, -EIO);
	assert_true(o.nresults < 102);
	assert_non_null(strstr(o.msg, "SIGKILL"));
	assert_non_null(strstr(o.msg, "OOM"));
}

int main(void)
{
	const struct CMUnitTest basic[] = {
		cmocka_unit_test(test_worker_killed),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_killed),
		cmocka_unit_test(test_fork_fails),
		cmocka_unit_test(test_spawn_fails),
	};
	int rc;

	if (geteuid() != 0) {
		printf("native_limits: skipped: needs root to observe the kernel\n");
		return 77;
	}
	if (access("/proc/kpagecount", R_OK)) {
		printf("native_limits: skipped: /proc/kpagecount is not readable\n");
		return 77;
	}
	if (!make_pids_cgroup()) {
		printf("native_limits: no writable pids cgroup: only the "
		       "killed-worker test runs\n");
		return cmocka_run_group_tests(basic, NULL, NULL);
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rmdir(cg_dir))
		fprintf(stderr, "native_limits: rmdir %s: %s\n", cg_dir,
			strerror(errno));
	return rc;
}
