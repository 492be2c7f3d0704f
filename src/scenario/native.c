/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor: runs a scenario with real processes and records
 * what the kernel did, as read from /proc.
 *
 * The calling process is the controller.  Every scenario process is a real
 * worker process that obeys commands sent over its own SOCK_SEQPACKET
 * socket: one struct nat_cmd (a statement, or "hash these pages") per
 * message, one struct nat_reply per answer, each within
 * SCN_NATIVE_TIMEOUT_MS.  Workers run on one CPU (see nat_worker_setup).
 *
 *  - spawn: the controller forks a worker (closing every other descriptor in
 *    it).
 *  - fork: the controller makes a new socket pair and sends one end to the
 *    parent worker with SCM_RIGHTS; the worker forks itself with
 *    clone(CLONE_PARENT | SIGCHLD): a fork whose child is a child of the
 *    controller, not of the worker.  So every worker is the controller's
 *    child: PR_SET_PDEATHSIG ties each one to the controller, a worker's exit
 *    never orphans its children, and the controller reaps all of them.
 *  - A worker also exits when its socket reports end of file (the
 *    controller closed it or died).
 *
 * Accesses (write, fill, read, expect) are real loads and stores in the
 * worker; SIGSEGV or SIGBUS during one becomes EFAULT (sigsetjmp and
 * siglongjmp).  A `fill` that faults part way leaves the bytes stored
 * before the fault.  A worker's own memory (stack, data, heap) is what it
 * inherited from the controller, outside the window; where the controller
 * itself maps part of the window (ASan's shadow memory in sanitizer builds)
 * a scenario that touches that part is refused with -EBUSY before anything
 * runs.
 *
 * Snapshots are taken by the controller while every worker waits for its
 * next command: VMAs from /proc/PID/smaps, pages from /proc/PID/pagemap,
 * mapcounts from /proc/kpagecount.  None of these takes a reference on a
 * page.  Contents (has_hash): present pages of readable VMAs are hashed by
 * their worker with plain loads (reading /proc/PID/mem instead would pin
 * each page and perturb later COW decisions); a page not present is
 * recorded as the zeroes its process would fault in; swapped pages and
 * present pages of PROT_NONE VMAs get no hash.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "scenario/scenario.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK		18
#define MADV_KEEPONFORK		19
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#define NAT_MPOL_MF_MOVE	(1 << 1)

/* /proc/PID/pagemap bits */
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_EXCLUSIVE		(1ULL << 56)
#define PM_SWAP			(1ULL << 62)
#define PM_PRESENT		(1ULL << 63)

#define NAT_NO_PFN		UINT64_MAX
#define NAT_CHUNK		512	/* pagemap entries per read */
#define NAT_MAX_RESERVED	16

/* A command: perform a statement, or hash some of 64 pages. */
enum { NAT_CMD_STMT, NAT_CMD_HASH };
#define NAT_HASH_PAGES	64

struct nat_cmd {
	int kind;
	struct scn_stmt st;	/* hash: st.addr is the first page */
	uint64_t mask;		/* hash: bit i asks for page st.addr + i pages */
};

/* A worker's answer to a command (also its greeting). */
struct nat_reply {
	int err;		/* positive errno */
	int value;		/* read/expect: the byte; else -1 */
	int pid;		/* greeting, fork: the (new) process */
	char note[64];
	uint64_t hashed;	/* hash: the pages of mask that could be read */
	uint64_t hash[NAT_HASH_PAGES];
};

struct nat_worker {
	pid_t pid;		/* 0: no live process in this slot */
	int fd;			/* controller's end of its socket */
};

struct nat_range {
	uint64_t start, end;
};

struct nat_run {
	const struct scenario *s;
	struct scn_trace *t;
	struct nat_worker *w;	/* one per slot */
	pid_t ctl;
	int cpu;		/* where the workers run (-1: anywhere) */
	int kpc;		/* /proc/kpagecount */
	uint64_t zero_pfn;
	uint64_t zero_hash;
	bool swap;		/* some swap area is active */
	struct nat_range reserved[NAT_MAX_RESERVED];	/* window ranges the
							   controller maps */
	int nreserved;
	char *err;
	size_t errlen;
};

static int nat_fail(struct nat_run *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error message; returns rc. */
static int nat_fail(struct nat_run *r, int rc, const char *fmt, ...)
{
	va_list ap;

	if (r->err && r->errlen && !r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const char *nat_name(const struct nat_run *r, int slot)
{
	return slot >= 0 && slot < r->s->nslots ? r->s->slot_name[slot] : "?";
}

/* ======================================================================
 * The worker side.  Runs in the worker processes only.
 * ====================================================================== */

static sigjmp_buf nat_jmp;
static volatile sig_atomic_t nat_armed;

static void nat_fault(int sig)
{
	if (nat_armed) {
		nat_armed = 0;
		siglongjmp(nat_jmp, sig);
	}
	/* Not an access of ours: fault again with the default action. */
	signal(sig, SIG_DFL);
}

/* The stores of `fill`; word stores where the address allows. */
__attribute__((noinline, no_sanitize_address))
static void nat_fill(uint64_t addr, uint64_t pages, int byte)
{
	uint64_t len = pages * SCN_PAGE_SIZE;

	if (addr % 8) {
		volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)addr;

		for (uint64_t i = 0; i < len; i++)
			b[i] = (uint8_t)byte;
		return;
	}
	volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)addr;
	uint64_t v = 0x0101010101010101ULL * (uint8_t)byte;

	for (uint64_t i = 0; i < len / 8; i++)
		q[i] = v;
}

/* The memory access of an access statement; may fault. */
__attribute__((noinline, no_sanitize_address))
static void nat_touch(const struct scn_stmt *st, int *value)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)st->addr;

	switch (st->op) {
	case SCN_WRITE:
		*p = (uint8_t)st->byte;
		break;
	case SCN_FILL:
		nat_fill(st->addr, st->pages, st->byte);
		break;
	default:
		*value = *p;
		break;
	}
}

/* Perform an access; a SIGSEGV or SIGBUS on the way makes it EFAULT. */
static int nat_access(const struct scn_stmt *st, int *value)
{
	*value = -1;
	if (sigsetjmp(nat_jmp, 1))
		return EFAULT;
	nat_armed = 1;
	nat_touch(st, value);
	nat_armed = 0;
	return 0;
}

/* Copy one page that is present and readable. */
__attribute__((noinline, no_sanitize_address))
static void nat_copy_page(uint64_t addr, uint64_t *buf)
{
	const volatile uint64_t *q = (const volatile uint64_t *)(uintptr_t)addr;

	for (size_t i = 0; i < SCN_PAGE_SIZE / 8; i++)
		buf[i] = q[i];
}

static int nat_read_page(uint64_t addr, uint64_t *buf)
{
	if (sigsetjmp(nat_jmp, 1))
		return EFAULT;
	nat_armed = 1;
	nat_copy_page(addr, buf);
	nat_armed = 0;
	return 0;
}

/*
 * Hash the pages the controller asks for.  The worker reads its own memory
 * with plain loads: unlike the controller reading /proc/PID/mem (which pins
 * the page and marks it accessed, leaving references in per-CPU LRU
 * batches), this does not change what the kernel does next (e.g. whether a
 * write fault may reuse the page).
 */
static void nat_hash_pages(const struct nat_cmd *c, struct nat_reply *rep)
{
	uint64_t buf[SCN_PAGE_SIZE / 8];

	for (int i = 0; i < NAT_HASH_PAGES; i++) {
		if (!(c->mask & (1ULL << i)) ||
		    nat_read_page(c->st.addr + (uint64_t)i * SCN_PAGE_SIZE, buf))
			continue;
		rep->hash[i] = scn_hash_page(buf);
		rep->hashed |= 1ULL << i;
	}
}

static int nat_prot(enum scn_prot p)
{
	return p == SCN_PROT_RW ? PROT_READ | PROT_WRITE :
	       p == SCN_PROT_R ? PROT_READ : PROT_NONE;
}

static int nat_mmap(const struct scn_stmt *st)
{
	size_t len = st->pages * SCN_PAGE_SIZE;
	void *want = (void *)(uintptr_t)st->addr;
	void *p = mmap(want, len, nat_prot(st->prot),
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return errno;
	if (p != want) {	/* a kernel that ignores MAP_FIXED_NOREPLACE */
		munmap(p, len);
		return EEXIST;
	}
	return 0;
}

static int nat_mremap(const struct scn_stmt *st)
{
	void *old = (void *)(uintptr_t)st->addr;
	size_t olen = st->pages * SCN_PAGE_SIZE;
	size_t nlen = st->new_pages * SCN_PAGE_SIZE;
	void *p;

	if (!st->to)
		p = mremap(old, olen, nlen, 0);
	else
		p = mremap(old, olen, nlen, MREMAP_MAYMOVE | MREMAP_FIXED |
			   (st->dontunmap ? MREMAP_DONTUNMAP : 0),
			   (void *)(uintptr_t)st->new_addr);
	return p == MAP_FAILED ? errno : 0;
}

static int nat_madvise(const struct scn_stmt *st)
{
	static const int adv[SCN_NR_ADVICE] = {
		[SCN_ADV_DONTNEED] = MADV_DONTNEED,
		[SCN_ADV_DONTFORK] = MADV_DONTFORK,
		[SCN_ADV_DOFORK] = MADV_DOFORK,
		[SCN_ADV_WIPEONFORK] = MADV_WIPEONFORK,
		[SCN_ADV_KEEPONFORK] = MADV_KEEPONFORK,
		[SCN_ADV_PAGEOUT] = MADV_PAGEOUT,
	};

	if ((unsigned)st->advice >= SCN_NR_ADVICE)
		return EINVAL;
	return madvise((void *)(uintptr_t)st->addr, st->pages * SCN_PAGE_SIZE,
		       adv[st->advice]) ? errno : 0;
}

/* Count move_pages(2) page states for the note. */
struct nat_moved {
	uint64_t on_node, absent, other;
};

static int nat_move_chunk(const struct scn_stmt *st, uint64_t first,
			  unsigned n, struct nat_moved *m)
{
	void *pages[64];
	int nodes[64], status[64];
	long rc;

	for (unsigned i = 0; i < n; i++) {
		pages[i] = (void *)(uintptr_t)(st->addr +
					       (first + i) * SCN_PAGE_SIZE);
		nodes[i] = st->node;
		status[i] = INT32_MIN;
	}
	rc = syscall(SYS_move_pages, 0, (unsigned long)n, pages, nodes, status,
		     NAT_MPOL_MF_MOVE);
	if (rc < 0)
		return errno;
	for (unsigned i = 0; i < n; i++) {
		if (status[i] == st->node)
			m->on_node++;
		else if (status[i] == -ENOENT || status[i] == -EFAULT)
			m->absent++;
		else
			m->other++;
	}
	return 0;
}

static int nat_migrate(const struct scn_stmt *st, char *note, size_t len)
{
	struct nat_moved m = { 0, 0, 0 };
	int err = 0;

	for (uint64_t i = 0; i < st->pages && !err; i += 64) {
		uint64_t left = st->pages - i;

		err = nat_move_chunk(st, i, left < 64 ? (unsigned)left : 64, &m);
	}
	if (!err)
		snprintf(note, len, "on node %d: %" PRIu64 ", not present: %"
			 PRIu64 ", other: %" PRIu64, st->node, m.on_node,
			 m.absent, m.other);
	return err;
}

static void nat_exec(const struct scn_stmt *st, struct nat_reply *rep)
{
	void *addr = (void *)(uintptr_t)st->addr;
	size_t len = st->pages * SCN_PAGE_SIZE;

	switch (st->op) {
	case SCN_MMAP:
		rep->err = nat_mmap(st);
		break;
	case SCN_MUNMAP:
		rep->err = munmap(addr, len) ? errno : 0;
		break;
	case SCN_MPROTECT:
		rep->err = mprotect(addr, len, nat_prot(st->prot)) ? errno : 0;
		break;
	case SCN_MREMAP:
		rep->err = nat_mremap(st);
		break;
	case SCN_MADVISE:
		rep->err = nat_madvise(st);
		break;
	case SCN_WRITE:
	case SCN_FILL:
	case SCN_READ:
	case SCN_EXPECT:
		rep->err = nat_access(st, &rep->value);
		break;
	case SCN_MIGRATE:
		rep->err = nat_migrate(st, rep->note, sizeof(rep->note));
		break;
	case SCN_EXIT:
		break;
	default:
		rep->err = EINVAL;
		break;
	}
}

/*
 * Settings of a new worker; 0 or the errno of what failed.  Every worker
 * runs on one CPU (if it may): a write fault reuses an unshared page only if
 * no per-CPU LRU batch holds a reference to it, and the faulting CPU drains
 * only its own batches, so workers spread over CPUs would make the kernel's
 * "reuse or copy" vary from run to run.
 */
static int nat_worker_setup(pid_t ctl, int cpu, char *note, size_t len)
{
	struct sigaction sa;
	cpu_set_t cpus;
	sigset_t set;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != ctl)
		_exit(127);	/* the controller is gone already */
	if (cpu >= 0 && cpu < CPU_SETSIZE) {
		CPU_ZERO(&cpus);
		CPU_SET(cpu, &cpus);
		sched_setaffinity(0, sizeof(cpus), &cpus);	/* best effort */
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
		snprintf(note, len, "prctl(PR_SET_THP_DISABLE)");
		return errno;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nat_fault;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL)) {
		snprintf(note, len, "sigaction");
		return errno;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigaddset(&set, SIGBUS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

/* Set up and greet the controller; a worker that cannot start exits. */
static void nat_hello(int fd, pid_t ctl, int cpu)
{
	struct nat_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.err = nat_worker_setup(ctl, cpu, rep.note, sizeof(rep.note));
	rep.value = -1;
	rep.pid = getpid();
	if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep) || rep.err)
		_exit(127);
}

/* Next command, and the descriptor it carries (or -1); <= 0 at the end. */
static ssize_t nat_worker_recv(int fd, struct nat_cmd *cmd, int *passed)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { cmd, sizeof(*cmd) };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	*passed = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(passed, CMSG_DATA(c), sizeof(int));
	return n == (ssize_t)sizeof(*cmd) ? n : 0;
}

/*
 * fork, but the child becomes a child of our parent (the controller).  The
 * raw system call returns in the child on a copy of this stack, like fork.
 */
static pid_t nat_clone(void)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD),
			      NULL, NULL, NULL, 0UL);
}

__attribute__((noreturn))
static void nat_worker(int fd, pid_t ctl, int cpu)
{
	struct nat_reply rep;
	struct nat_cmd cmd;
	int passed;
	pid_t pid;

	nat_hello(fd, ctl, cpu);
	for (;;) {
		if (nat_worker_recv(fd, &cmd, &passed) <= 0)
			_exit(0);
		memset(&rep, 0, sizeof(rep));
		rep.value = -1;
		if (cmd.kind == NAT_CMD_HASH) {
			nat_hash_pages(&cmd, &rep);
		} else if (cmd.st.op == SCN_FORK) {
			pid = passed >= 0 ? nat_clone() : -1;
			if (pid == 0) {
				close(fd);
				fd = passed;
				nat_hello(fd, ctl, cpu);
				continue;
			}
			rep.err = passed < 0 ? EBADF : pid < 0 ? errno : 0;
			rep.pid = pid;
		} else {
			nat_exec(&cmd.st, &rep);
		}
		if (passed >= 0)
			close(passed);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep) ||
		    (cmd.kind == NAT_CMD_STMT && cmd.st.op == SCN_EXIT))
			_exit(0);
	}
}

/* ======================================================================
 * The controller side: talking to workers.
 * ====================================================================== */

static int64_t nat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Describe why slot's worker is gone (it is reaped here). */
static int nat_died(struct nat_run *r, int slot)
{
	struct nat_worker *w = &r->w[slot];
	int status = 0;
	pid_t p;

	kill(w->pid, SIGKILL);
	do
		p = waitpid(w->pid, &status, 0);
	while (p < 0 && errno == EINTR);
	w->pid = 0;
	close(w->fd);
	w->fd = -1;
	if (p > 0 && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		return nat_fail(r, -EIO, "process %s died of signal %d",
				nat_name(r, slot), WTERMSIG(status));
	if (p > 0 && WIFEXITED(status))
		return nat_fail(r, -EIO, "process %s exited with status %d",
				nat_name(r, slot), WEXITSTATUS(status));
	return nat_fail(r, -EIO, "process %s died", nat_name(r, slot));
}

static int nat_recv(struct nat_run *r, int slot, struct nat_reply *rep)
{
	struct pollfd pfd = { .fd = r->w[slot].fd, .events = POLLIN };
	int64_t end = nat_now_ms() + SCN_NATIVE_TIMEOUT_MS, left;
	ssize_t n;
	int rc;

	do {
		left = end - nat_now_ms();
		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return nat_fail(r, -errno, "poll: %s", strerror(errno));
	if (!rc)
		return nat_fail(r, -ETIMEDOUT, "process %s (pid %d) did not "
				"answer within %d s", nat_name(r, slot),
				(int)r->w[slot].pid, SCN_NATIVE_TIMEOUT_MS / 1000);
	do
		n = recv(pfd.fd, rep, sizeof(*rep), 0);
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

static int nat_call(struct nat_run *r, int slot, const struct nat_cmd *cmd,
		    int passfd, struct nat_reply *rep)
{
	int rc = nat_send(r, slot, cmd, passfd);

	return rc ? rc : nat_recv(r, slot, rep);
}

/* Have the acting process perform statement st. */
static int nat_call_stmt(struct nat_run *r, const struct scn_stmt *st,
			 int passfd, struct nat_reply *rep)
{
	struct nat_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = NAT_CMD_STMT;
	cmd.st = *st;
	return nat_call(r, st->proc, &cmd, passfd, rep);
}

/* Wait for a new worker's greeting. */
static int nat_greeted(struct nat_run *r, int slot)
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

/* Reap pid, killing it if it does not exit within the timeout. */
static int nat_reap(pid_t pid)
{
	int64_t end = nat_now_ms() + SCN_NATIVE_TIMEOUT_MS;
	struct timespec nap = { 0, 100000 };
	pid_t p;

	for (;;) {
		p = waitpid(pid, NULL, WNOHANG);
		if (p == pid || (p < 0 && errno == ECHILD))
			return 0;
		if (p < 0 && errno != EINTR)
			return -errno;
		if (nat_now_ms() > end)
			break;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 10000000)
			nap.tv_nsec *= 2;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

/* The spawned worker: keep only our end of the socket, then serve. */
__attribute__((noreturn))
static void nat_spawned(int fd, pid_t ctl, int cpu)
{
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	nat_worker(fd, ctl, cpu);
}

static int nat_spawn(struct nat_run *r, int slot, struct scn_result *res)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return nat_fail(r, -errno, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		nat_spawned(sv[1], r->ctl, r->cpu);
	close(sv[1]);
	if (pid < 0) {
		res->err = errno;
		close(sv[0]);
		return 0;
	}
	r->w[slot].pid = pid;
	r->w[slot].fd = sv[0];
	return nat_greeted(r, slot);
}

static int nat_fork(struct nat_run *r, const struct scn_stmt *st,
		    struct scn_result *res)
{
	struct nat_reply rep;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return nat_fail(r, -errno, "socketpair: %s", strerror(errno));
	rc = nat_call_stmt(r, st, sv[1], &rep);
	close(sv[1]);
	if (!rc && rep.err)
		res->err = rep.err;
	if (rc || rep.err) {
		close(sv[0]);
		return rc;
	}
	r->w[st->child].pid = rep.pid;
	r->w[st->child].fd = sv[0];
	return nat_greeted(r, st->child);
}

static int nat_exit(struct nat_run *r, const struct scn_stmt *st)
{
	struct nat_worker *w = &r->w[st->proc];
	struct nat_reply rep;
	int rc = nat_call_stmt(r, st, -1, &rep);

	if (rc)
		return rc;
	close(w->fd);
	rc = nat_reap(w->pid);
	w->pid = 0;
	w->fd = -1;
	if (rc)
		return nat_fail(r, rc, "process %s did not exit: %s",
				nat_name(r, st->proc), strerror(-rc));
	return 0;
}

/* Kill and reap every worker still alive. */
static void nat_kill_all(struct nat_run *r)
{
	for (int i = 0; i < r->s->nslots; i++) {
		if (r->w[i].pid > 0) {
			close(r->w[i].fd);
			kill(r->w[i].pid, SIGKILL);
		}
	}
	for (int i = 0; i < r->s->nslots; i++) {
		if (r->w[i].pid > 0)
			while (waitpid(r->w[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		r->w[i].pid = 0;
	}
}

/* ======================================================================
 * The controller side: reading /proc.
 * ====================================================================== */

/* Read a whole (proc) file into a new NUL-terminated buffer. */
static int nat_slurp(const char *path, char **buf)
{
	size_t cap = 65536, len = 0;
	char *p = malloc(cap), *np;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0 || !p) {
		rc = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			np = realloc(p, cap * 2);
			if (!np) {
				rc = -ENOMEM;
				goto out;
			}
			p = np;
			cap *= 2;
		}
		n = read(fd, p + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(p);
		return rc;
	}
	p[len] = '\0';
	*buf = p;
	return 0;
}

static int nat_pread_u64(int fd, uint64_t idx, uint64_t *v)
{
	ssize_t n = pread(fd, v, sizeof(*v), (off_t)(idx * sizeof(*v)));

	return n == (ssize_t)sizeof(*v) ? 0 : n < 0 ? -errno : -EIO;
}

static bool nat_reserved(const struct nat_run *r, uint64_t start, uint64_t end)
{
	for (int i = 0; i < r->nreserved; i++)
		if (start < r->reserved[i].end && r->reserved[i].start < end)
			return true;
	return false;
}

/* VmFlags of the last VMA added to p. */
static void nat_vmflags(struct scn_proc_snap *p, const char *line)
{
	struct scn_vma *v = &p->vmas[p->nvmas - 1];
	const char *f = line + strlen("VmFlags:");

	for (; *f && *f != '\n'; f++) {
		if (f[0] == ' ' && f[1] == 'd' && f[2] == 'c' &&
		    (f[3] == ' ' || f[3] == '\n' || !f[3]))
			v->dontcopy = true;
		if (f[0] == ' ' && f[1] == 'w' && f[2] == 'f' &&
		    (f[3] == ' ' || f[3] == '\n' || !f[3]))
			v->wipeonfork = true;
	}
}

/* One line of smaps: a VMA header (added if in the window) or VmFlags. */
static int nat_smaps_line(const struct nat_run *r, struct scn_proc_snap *p,
			  const char *line, bool *cur)
{
	struct scn_vma v;
	uint64_t start, end;
	char perms[8];

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) == 3) {
		*cur = start >= SCN_WINDOW_START && end <= SCN_WINDOW_END &&
		       !nat_reserved(r, start, end);
		if (!*cur)
			return 0;
		memset(&v, 0, sizeof(v));
		v.start = start;
		v.end = end;
		v.prot = perms[1] == 'w' ? SCN_PROT_RW :
			 perms[0] == 'r' ? SCN_PROT_R : SCN_PROT_NONE;
		return scn_proc_add_vma(p, &v);
	}
	if (*cur && !strncmp(line, "VmFlags:", 8))
		nat_vmflags(p, line);
	return 0;
}

static int nat_read_vmas(struct nat_run *r, int slot, struct scn_proc_snap *p)
{
	char path[64], *buf, *line, *nl;
	bool cur = false;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)r->w[slot].pid);
	rc = nat_slurp(path, &buf);
	if (rc)
		return nat_fail(r, rc, "%s: %s", path, strerror(-rc));
	for (line = buf; *line && !rc; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		rc = nat_smaps_line(r, p, line, &cur);
	}
	free(buf);
	return rc ? nat_fail(r, rc, "out of memory") : 0;
}

/* Turn one pagemap entry into a page (contents: see nat_hash_vma). */
static void nat_page(const struct nat_run *r, uint64_t addr, uint64_t e,
		     struct scn_page *pg)
{
	uint64_t cnt;

	memset(pg, 0, sizeof(*pg));
	pg->addr = addr;
	if (e & PM_SWAP) {
		pg->state = SCN_PTE_SWAP;
		pg->frame = e & PM_PFN_MASK;	/* swap type and offset */
		return;
	}
	if (!(e & PM_PRESENT)) {
		/* Nothing there yet: the process would fault in zeroes. */
		pg->has_hash = true;
		pg->hash = r->zero_hash;
		return;
	}
	pg->state = SCN_PTE_PRESENT;
	pg->frame = e & PM_PFN_MASK;
	pg->zero = pg->frame == r->zero_pfn;
	pg->exclusive = !!(e & PM_EXCLUSIVE);
	if (!nat_pread_u64(r->kpc, pg->frame, &cnt))
		pg->mapcount = (uint32_t)cnt;
	if (pg->zero) {
		pg->has_hash = true;
		pg->hash = r->zero_hash;
	}
}

static int nat_read_vma_pages(struct nat_run *r, int pmfd,
			      const struct scn_vma *v, struct scn_proc_snap *p)
{
	uint64_t e[NAT_CHUNK];
	struct scn_page pg;

	for (uint64_t a = v->start; a < v->end; a += NAT_CHUNK * SCN_PAGE_SIZE) {
		uint64_t n = (v->end - a) / SCN_PAGE_SIZE;
		ssize_t got;

		n = n < NAT_CHUNK ? n : NAT_CHUNK;
		got = pread(pmfd, e, n * sizeof(e[0]),
			    (off_t)(a / SCN_PAGE_SIZE * sizeof(e[0])));
		if (got != (ssize_t)(n * sizeof(e[0])))
			return nat_fail(r, got < 0 ? -errno : -EIO,
					"reading pagemap at 0x%" PRIx64 ": %s", a,
					got < 0 ? strerror(errno) : "short read");
		for (uint64_t i = 0; i < n; i++) {
			nat_page(r, a + i * SCN_PAGE_SIZE, e[i], &pg);
			if (scn_proc_add_page(p, &pg))
				return nat_fail(r, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

/*
 * Contents of the present pages of a readable VMA, whose pages start at
 * p->pages[first]: the worker hashes them itself (see nat_hash_pages).
 * Present pages of PROT_NONE VMAs and swapped pages get no hash.
 */
static int nat_hash_vma(struct nat_run *r, int slot, struct scn_proc_snap *p,
			size_t first)
{
	struct nat_reply rep;
	struct nat_cmd cmd;
	int rc;

	for (size_t k = first; k < p->npages; k += NAT_HASH_PAGES) {
		size_t n = p->npages - k < NAT_HASH_PAGES ? p->npages - k :
			   NAT_HASH_PAGES;

		memset(&cmd, 0, sizeof(cmd));
		cmd.kind = NAT_CMD_HASH;
		cmd.st.addr = p->pages[k].addr;
		for (size_t i = 0; i < n; i++)
			if (p->pages[k + i].state == SCN_PTE_PRESENT &&
			    !p->pages[k + i].zero)
				cmd.mask |= 1ULL << i;
		if (!cmd.mask)
			continue;
		rc = nat_call(r, slot, &cmd, -1, &rep);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (rep.hashed & (1ULL << i)) {
				p->pages[k + i].has_hash = true;
				p->pages[k + i].hash = rep.hash[i];
			}
		}
	}
	return 0;
}

static int nat_read_pages(struct nat_run *r, int slot, struct scn_proc_snap *p)
{
	char path[64];
	int pmfd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)r->w[slot].pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0)
		return nat_fail(r, -errno, "%s: %s", path, strerror(errno));
	for (int i = 0; i < p->nvmas && !rc; i++) {
		size_t first = p->npages;

		rc = nat_read_vma_pages(r, pmfd, &p->vmas[i], p);
		if (!rc && p->vmas[i].prot != SCN_PROT_NONE)
			rc = nat_hash_vma(r, slot, p, first);
	}
	close(pmfd);
	return rc;
}

/* Record the state of every live process (stmt: index, or nstmts). */
static int nat_snapshot(struct nat_run *r, int stmt)
{
	struct scn_snapshot *sn = scn_trace_add_snapshot(r->t, stmt);
	struct scn_proc_snap *p;
	int rc;

	if (!sn)
		return nat_fail(r, -ENOMEM, "out of memory");
	for (int slot = 0; slot < r->s->nslots; slot++) {
		if (r->w[slot].pid <= 0)
			continue;
		p = scn_snapshot_add_proc(sn, slot);
		if (!p)
			return nat_fail(r, -ENOMEM, "out of memory");
		rc = nat_read_vmas(r, slot, p);
		if (!rc)
			rc = nat_read_pages(r, slot, p);
		if (rc)
			return rc;
	}
	return 0;
}

/* ======================================================================
 * Set-up: can we run here, and facts about the host.
 * ====================================================================== */

/* The zero page's PFN: read-fault a fresh private anonymous page. */
static int nat_find_zero_pfn(struct nat_run *r)
{
	static const unsigned char zeros[SCN_PAGE_SIZE];
	volatile unsigned char *p;
	uint64_t e = 0;
	int fd, rc;

	r->zero_hash = scn_hash_page(zeros);
	p = mmap(NULL, SCN_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return nat_fail(r, -errno, "mmap: %s", strerror(errno));
	madvise((void *)p, SCN_PAGE_SIZE, MADV_NOHUGEPAGE);
	(void)p[0];
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : nat_pread_u64(fd, (uintptr_t)p / SCN_PAGE_SIZE, &e);
	if (fd >= 0)
		close(fd);
	munmap((void *)p, SCN_PAGE_SIZE);
	if (rc)
		return nat_fail(r, -EPERM, "cannot read /proc/self/pagemap: %s",
				strerror(-rc));
	if (!(e & PM_PRESENT) || !(e & PM_PFN_MASK))
		return nat_fail(r, -EPERM, "/proc/self/pagemap hides PFNs "
				"(needs CAP_SYS_ADMIN)");
	r->zero_pfn = e & PM_PFN_MASK;
	return 0;
}

static bool nat_swap_active(void)
{
	char *buf, *nl;
	bool on;

	if (nat_slurp("/proc/swaps", &buf))
		return false;
	nl = strchr(buf, '\n');
	on = nl && nl[1] != '\0';	/* a line after the header */
	free(buf);
	return on;
}

static bool nat_node_exists(int node)
{
	char path[64];

	if (access("/sys/devices/system/node", F_OK))
		return node == 0;	/* a kernel without NUMA: one node */
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return !access(path, F_OK);
}

/* Ranges of the window that this process (and so every worker) maps. */
static int nat_find_reserved(struct nat_run *r)
{
	char *buf, *line;
	uint64_t start, end;
	int rc = nat_slurp("/proc/self/maps", &buf);

	if (rc)
		return nat_fail(r, rc, "/proc/self/maps: %s", strerror(-rc));
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2 ||
		    end <= SCN_WINDOW_START || start >= SCN_WINDOW_END)
			continue;
		if (r->nreserved == NAT_MAX_RESERVED)
			break;
		r->reserved[r->nreserved].start = start;
		r->reserved[r->nreserved++].end = end;
	}
	free(buf);
	return 0;
}

/* Does st touch a reserved range?  *where: its address there. */
static bool nat_stmt_touches(const struct nat_run *r, const struct scn_stmt *st,
			     uint64_t *where)
{
	uint64_t len = st->pages * SCN_PAGE_SIZE;

	switch (st->op) {
	case SCN_WRITE:
	case SCN_READ:
	case SCN_EXPECT:
		len = 1;
		break;
	case SCN_MREMAP:
		if (st->to && nat_reserved(r, st->new_addr, st->new_addr +
					   st->new_pages * SCN_PAGE_SIZE)) {
			*where = st->new_addr;
			return true;
		}
		if (!st->to && st->new_pages > st->pages)
			len = st->new_pages * SCN_PAGE_SIZE;
		break;
	case SCN_SPAWN:
	case SCN_FORK:
	case SCN_EXIT:
	case SCN_CHECK:
		return false;
	default:
		break;
	}
	*where = st->addr;
	return nat_reserved(r, st->addr, st->addr + (len ? len : 1));
}

static int nat_check_reserved(struct nat_run *r)
{
	uint64_t where;

	for (int i = 0; i < r->s->nstmts; i++) {
		const struct scn_stmt *st = &r->s->stmts[i];

		if (nat_stmt_touches(r, st, &where))
			return nat_fail(r, -EBUSY, "%s:%d: address 0x%" PRIx64
					" is already mapped in this process "
					"(0x%" PRIx64 "-0x%" PRIx64 ", sanitizer "
					"shadow memory?); run a release build "
					"or use higher addresses",
					r->s->file ? r->s->file : "<scenario>",
					st->line, where, r->reserved[0].start,
					r->reserved[0].end);
	}
	return 0;
}

/* The first CPU this process may run on, or -1. */
static int nat_pick_cpu(void)
{
	cpu_set_t cpus;

	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &cpus))
			return i;
	return -1;
}

static int nat_setup(struct nat_run *r)
{
	int rc;

	if (geteuid() != 0)
		return nat_fail(r, -EPERM, "not running as root: the host kernel "
				"can only be observed by root (/proc/kpagecount, "
				"PFNs in /proc/PID/pagemap)");
	r->kpc = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	if (r->kpc < 0)
		return nat_fail(r, -EPERM, "cannot open /proc/kpagecount: %s",
				strerror(errno));
	rc = nat_find_zero_pfn(r);
	if (!rc)
		rc = nat_find_reserved(r);
	if (!rc)
		rc = nat_check_reserved(r);
	r->swap = nat_swap_active();
	r->cpu = nat_pick_cpu();
	r->w = calloc(r->s->nslots ? (size_t)r->s->nslots : 1, sizeof(*r->w));
	if (!rc && !r->w)
		rc = nat_fail(r, -ENOMEM, "out of memory");
	return rc;
}

/* ======================================================================
 * Running.
 * ====================================================================== */

static void nat_unsupported(struct scn_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void nat_unsupported(struct scn_result *res, const char *fmt, ...)
{
	va_list ap;

	res->unsupported = true;
	va_start(ap, fmt);
	vsnprintf(res->note, sizeof(res->note), fmt, ap);
	va_end(ap);
}

/*
 * Settling after `madvise pageout`.  MADV_PAGEOUT unmaps the pages and
 * starts writing them to swap; the folios stay in the swap cache, under
 * writeback, until the I/O completes, and completion (on whatever CPU takes
 * the interrupt) parks each folio in that CPU's LRU "move to tail" batch,
 * off the LRU, until that CPU drains it.  A later pageout of such a folio
 * (faulted back in meanwhile) skips it: under writeback, or not isolable
 * from the LRU.  How long that lasts is timing, so the kernel's answer to
 * "pageout, read, pageout" varied from run to run.  So after a pageout the
 * controller waits until none of the frames it saw in the range is under
 * writeback (/proc/kpageflags), then drains every CPU's LRU batches
 * (move_pages(2) does that on entry: lru_cache_disable()), giving the
 * state the library models: the I/O done, every folio back on the LRU.
 */
#define KPF_WRITEBACK_BIT	8
#define NAT_SETTLE_MS		2000

/* The frames present in [st->addr, +pages) of slot's process (at most max). */
static size_t nat_range_pfns(struct nat_run *r, int slot,
			     const struct scn_stmt *st, uint64_t *pfns,
			     size_t max)
{
	char path[64];
	uint64_t e[NAT_CHUNK];
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)r->w[slot].pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (uint64_t i = 0; i < st->pages && n < max; i += NAT_CHUNK) {
		uint64_t k = st->pages - i < NAT_CHUNK ? st->pages - i : NAT_CHUNK;
		ssize_t got = pread(fd, e, k * sizeof(e[0]),
				    (off_t)((st->addr / SCN_PAGE_SIZE + i) *
					    sizeof(e[0])));

		if (got <= 0)
			break;
		for (uint64_t j = 0; j < (uint64_t)got / sizeof(e[0]) && n < max; j++)
			if ((e[j] & PM_PRESENT) && !(e[j] & PM_SWAP) &&
			    (e[j] & PM_PFN_MASK) && (e[j] & PM_PFN_MASK) != r->zero_pfn)
				pfns[n++] = e[j] & PM_PFN_MASK;
	}
	close(fd);
	return n;
}

/* Drain the LRU batches of every CPU: move_pages(2) of one of our pages
   to the node it is on. */
static void nat_drain_lru(void)
{
	static char page[SCN_PAGE_SIZE] __attribute__((aligned(SCN_PAGE_SIZE)));
	void *pages[1] = { page };
	int node = 0, status = -1;

	*(volatile char *)page = 1;
	if (!syscall(SYS_move_pages, 0, 1UL, pages, NULL, &status, 0) &&
	    status >= 0)
		node = status;
	syscall(SYS_move_pages, 0, 1UL, pages, &node, &status, NAT_MPOL_MF_MOVE);
}

static void nat_settle(const uint64_t *pfns, size_t n)
{
	int64_t end = nat_now_ms() + NAT_SETTLE_MS;
	struct timespec nap = { 0, 100000 };
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint64_t f;

	for (size_t i = 0; fd >= 0 && i < n; ) {
		if (nat_pread_u64(fd, pfns[i], &f) ||
		    !(f & (1ULL << KPF_WRITEBACK_BIT))) {
			i++;
			continue;
		}
		if (nat_now_ms() > end)
			break;
		nanosleep(&nap, NULL);
	}
	if (fd >= 0)
		close(fd);
	nat_drain_lru();
}

static int nat_pageout(struct nat_run *r, const struct scn_stmt *st,
		       struct scn_result *res)
{
	size_t max = st->pages < 65536 ? (size_t)st->pages : 65536, n;
	uint64_t *pfns = malloc(max * sizeof(*pfns));
	struct nat_reply rep;
	int rc;

	n = pfns ? nat_range_pfns(r, st->proc, st, pfns, max) : 0;
	rc = nat_call_stmt(r, st, -1, &rep);
	if (!rc) {
		res->err = rep.err;
		res->value = rep.value;
		nat_settle(pfns, n);
	}
	free(pfns);
	return rc;
}

/* Run statement i; a non-zero return means the run broke. */
static int nat_stmt(struct nat_run *r, int i, struct scn_result *res)
{
	const struct scn_stmt *st = &r->s->stmts[i];
	struct nat_reply rep;
	int rc;

	switch (st->op) {
	case SCN_SPAWN:
		return nat_spawn(r, st->child, res);
	case SCN_FORK:
		return nat_fork(r, st, res);
	case SCN_EXIT:
		return nat_exit(r, st);
	case SCN_CHECK:
		return nat_snapshot(r, i);
	case SCN_MADVISE:
		if (st->advice == SCN_ADV_PAGEOUT && !r->swap) {
			nat_unsupported(res, "no active swap area (/proc/swaps)");
			return 0;
		}
		if (st->advice == SCN_ADV_PAGEOUT)
			return nat_pageout(r, st, res);
		break;
	case SCN_MIGRATE:
		if (!nat_node_exists(st->node)) {
			nat_unsupported(res, "NUMA node %d does not exist here",
					st->node);
			return 0;
		}
		break;
	default:
		break;
	}
	rc = nat_call_stmt(r, st, -1, &rep);
	if (rc)
		return rc;
	res->err = rep.err;
	res->value = rep.value;
	memcpy(res->note, rep.note, sizeof(res->note));
	res->note[sizeof(res->note) - 1] = '\0';
	return 0;
}

static int nat_record(struct nat_run *r, int i, const struct scn_result *res)
{
	char why[sizeof(r->t->failure)];

	if (scn_trace_add_result(r->t, res))
		return nat_fail(r, -ENOMEM, "out of memory");
	if (!r->t->failure[0] &&
	    !scn_result_ok(r->s, &r->s->stmts[i], res, why, sizeof(why)))
		snprintf(r->t->failure, sizeof(r->t->failure), "%s", why);
	return 0;
}

static int nat_run_all(struct nat_run *r)
{
	int rc = 0;

	for (int i = 0; i < r->s->nstmts && !rc; i++) {
		struct scn_result res;

		memset(&res, 0, sizeof(res));
		res.value = -1;
		rc = nat_stmt(r, i, &res);
		if (!rc)
			rc = nat_record(r, i, &res);
	}
	return rc ? rc : nat_snapshot(r, r->s->nstmts);
}

int scn_run_native(const struct scenario *s, struct scn_trace *out, char *err,
		   size_t errlen)
{
	struct nat_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.t = out;
	r.ctl = getpid();
	r.kpc = -1;
	r.cpu = -1;
	r.zero_pfn = NAT_NO_PFN;
	r.err = err;
	r.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	scn_trace_init(out, "kernel");
	rc = nat_setup(&r);
	if (!rc)
		rc = nat_run_all(&r);
	if (r.w)
		nat_kill_all(&r);
	free(r.w);
	if (r.kpc >= 0)
		close(r.kpc);
	if (rc && !out->failure[0] && err)
		snprintf(out->failure, sizeof(out->failure), "%s", err);
	return rc;
}
