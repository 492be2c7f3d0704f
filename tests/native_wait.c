/* SPDX-License-Identifier: MIT */
/*
 * How the kernel executor waits for a worker (nat_clock, issue 15 item 5):
 * the short clock (idle_ms) runs only while the process is neither running
 * nor waiting in the kernel; a process that runs (R) or is held in the
 * kernel (D) is waited for up to max_ms; the message names the state.
 * Exercised on plain child processes in each state: asleep in pause(),
 * stopped by SIGSTOP, spinning, and held in the kernel (a parent in vfork
 * waiting for its child, state D).  Bounds are one-sided (a loaded host
 * only makes waits longer), so nothing here depends on timing.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "scenario/native.h"

#define IDLE_MS	300
#define MAX_MS	1500

/* Look every 50 ms until the clock runs out; returns the ms it took. */
static int64_t wait_out(pid_t pid, int idle_ms, int max_ms, char *why,
			size_t len)
{
	struct timespec nap = { 0, 50 * 1000000L };
	struct nat_clock c;
	int64_t t0 = nat_now_ms();

	nat_clock_start(&c, idle_ms, max_ms);
	do
		nanosleep(&nap, NULL);
	while (!nat_clock_out(&c, pid, why, len));
	return nat_now_ms() - t0;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_asleep_times_out_short(void **state)
{
	char why[128];
	int64_t ms;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	ms = wait_out(pid, IDLE_MS, 60000, why, sizeof(why));
	reap(pid);
	print_message("asleep: %lld ms: %s\n", (long long)ms, why);
	assert_true(ms >= IDLE_MS);
	assert_true(ms < 60000);
	assert_non_null(strstr(why, "asleep"));
}

static void test_stopped_times_out_short(void **state)
{
	char why[128];
	int64_t ms;
	pid_t pid = fork();
	int status;

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	kill(pid, SIGSTOP);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));
	ms = wait_out(pid, IDLE_MS, 60000, why, sizeof(why));
	reap(pid);
	print_message("stopped: %lld ms: %s\n", (long long)ms, why);
	assert_true(ms >= IDLE_MS && ms < 60000);
	assert_non_null(strstr(why, "stopped"));
}

/* A process on a CPU (or waiting for one) gets the long clock. */
static void test_running_gets_long_clock(void **state)
{
	char why[128];
	int64_t ms;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		for (volatile unsigned long i = 0;; i++)
			;
	}
	ms = wait_out(pid, IDLE_MS, MAX_MS, why, sizeof(why));
	reap(pid);
	print_message("running: %lld ms: %s\n", (long long)ms, why);
	assert_true(ms >= MAX_MS);
	assert_non_null(strstr(why, "running"));
}

/*
 * Held in the kernel: a parent in vfork() sleeps uninterruptibly (D) until
 * its child exits; the child waits on a pipe until we close it.
 */
static void test_kernel_wait_gets_long_clock(void **state)
{
	char why[128], c;
	int p[2], q[2];
	int64_t ms;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		close(q[1]);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		if (vfork() == 0) {
			while (read(q[0], &c, 1) > 0)
				;
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	ms = wait_out(pid, IDLE_MS, MAX_MS, why, sizeof(why));
	close(q[1]);		/* the vfork child ends, then its parent */
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	print_message("in the kernel: %lld ms: %s\n", (long long)ms, why);
	assert_true(ms >= MAX_MS);
	assert_non_null(strstr(why, "waiting in the kernel"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asleep_times_out_short),
		cmocka_unit_test(test_stopped_times_out_short),
		cmocka_unit_test(test_running_gets_long_clock),
		cmocka_unit_test(test_kernel_wait_gets_long_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
