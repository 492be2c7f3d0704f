/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor's channel to its workers (see native.c): one
 * command per message on each worker's SOCK_SEQPACKET socket, one answer
 * back, waited for as nat_clock_out says; a worker that is gone is reaped
 * and described.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "scenario/native.h"

int64_t nat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Kill and reap one worker.  Only ever a positive pid: kill(0) or
 * waitpid(0) would hit the caller's whole process group.
 */
int nat_kill(pid_t pid, int *status)
{
	pid_t p;

	if (pid <= 0)
		return -ESRCH;
	kill(pid, SIGKILL);
	do
		p = waitpid(pid, status, 0);
	while (p < 0 && errno == EINTR);
	return p == pid ? 0 : -errno;
}

/* Forget slot's worker (already reaped or never started). */
static void nat_forget(struct nat_run *r, int slot)
{
	struct nat_worker *w = &r->w[slot];

	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->pid = 0;
}

/*
 * Reap pid if it ends by itself within ms (its socket's end of file comes
 * just before it becomes a zombie); 0 when it did.
 */
static int nat_wait_exit(pid_t pid, int *status, int ms)
{
	struct timespec nap = { 0, 1000000 };
	pid_t p;

	for (int i = 0; pid > 0 && i <= ms; i++) {
		p = waitpid(pid, status, WNOHANG);
		if (p == pid)
			return 0;
		if (p < 0 && errno != EINTR)
			return -errno;
		nanosleep(&nap, NULL);
	}
	return -ETIMEDOUT;
}

/*
 * Describe why slot's worker is gone (it is reaped here).  A SIGKILL not
 * ours is most likely the kernel's OOM killer.
 */
static int nat_died(struct nat_run *r, int slot)
{
	int status = 0;
	bool own = false, reaped = !nat_wait_exit(r->w[slot].pid, &status, 100);

	if (!reaped)
		own = reaped = !nat_kill(r->w[slot].pid, &status);
	nat_forget(r, slot);
	if (reaped && !own && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return nat_fail(r, -EIO, "process %s was killed by SIGKILL (the "
				"kernel's OOM killer? see dmesg)",
				nat_name(r, slot));
	if (reaped && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		return nat_fail(r, -EIO, "process %s died of signal %d",
				nat_name(r, slot), WTERMSIG(status));
	if (reaped && WIFEXITED(status))
		return nat_fail(r, -EIO, "process %s exited with status %d",
				nat_name(r, slot), WEXITSTATUS(status));
	return nat_fail(r, -EIO, "process %s died", nat_name(r, slot));
}

/* Wait until slot's socket is readable: 1, 0 if the wait ran out, -errno. */
static int nat_wait(struct nat_run *r, int slot, char *why, size_t len)
{
	struct pollfd pfd = { .fd = r->w[slot].fd, .events = POLLIN };
	struct nat_clock c;
	int rc;

	nat_clock_start(&c, SCN_NATIVE_TIMEOUT_MS, SCN_NATIVE_TIMEOUT_MAX_MS);
	for (;;) {
		rc = poll(&pfd, 1, NAT_SLICE_MS);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (!rc && nat_clock_out(&c, r->w[slot].pid, why, len))
			return 0;
	}
}

static int nat_recv(struct nat_run *r, int slot, struct nat_reply *rep)
{
	char why[128];
	ssize_t n;
	int rc = nat_wait(r, slot, why, sizeof(why));

	if (rc < 0)
		return nat_fail(r, rc, "poll: %s", strerror(-rc));
	if (!rc)
		return nat_fail(r, -ETIMEDOUT, "process %s (pid %d) did not "
				"answer %s", nat_name(r, slot),
				(int)r->w[slot].pid, why);
	do
		n = recv(r->w[slot].fd, rep, sizeof(*rep), 0);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*rep))
		return 0;
	if (n <= 0)
		return nat_died(r, slot);
	return nat_fail(r, -EPROTO, "process %s: short answer", nat_name(r, slot));
}

static int nat_send(struct nat_run *r, int slot, const struct nat_cmd *cmd,
		    int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)cmd, sizeof(*cmd) };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	if (r->w[slot].pid <= 0 || r->w[slot].fd < 0)
		return nat_fail(r, -ESRCH, "process %s is not running",
				nat_name(r, slot));
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do
		n = sendmsg(r->w[slot].fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*cmd))
		return 0;
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return nat_died(r, slot);
	return nat_fail(r, n < 0 ? -errno : -EPROTO, "sending to process %s: %s",
			nat_name(r, slot), n < 0 ? strerror(errno) : "short");
}

int nat_call(struct nat_run *r, int slot, const struct nat_cmd *cmd,
		    int passfd, struct nat_reply *rep)
{
	int rc = nat_send(r, slot, cmd, passfd);

	return rc ? rc : nat_recv(r, slot, rep);
}

/* Have the acting process perform statement st. */
int nat_call_stmt(struct nat_run *r, const struct scn_stmt *st,
			 int passfd, struct nat_reply *rep)
{
	struct nat_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = NAT_CMD_STMT;
	cmd.nstmts = 1;
	cmd.st[0] = *st;
	return nat_call(r, st->proc, &cmd, passfd, rep);
}

/* Wait for a new worker's greeting. */
int nat_greeted(struct nat_run *r, int slot)
{
	struct nat_reply rep;
	int rc = nat_recv(r, slot, &rep);

	if (rc)
		return rc;
	if (rep.err)
		return nat_fail(r, -rep.err, "process %s could not start: %.*s: %s",
				nat_name(r, slot), (int)sizeof(rep.note), rep.note,
				strerror(rep.err));
	if (rep.pid != r->w[slot].pid)
		return nat_fail(r, -EPROTO, "process %s: greeting from pid %d, "
				"expected %d", nat_name(r, slot), rep.pid,
				(int)r->w[slot].pid);
	return 0;
}
