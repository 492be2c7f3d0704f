/* SPDX-License-Identifier: MIT */
/*
 * The worker side of the host-kernel executor (see native.c): a process
 * that performs the statements the controller sends it, with real system
 * calls, loads and stores, and forks itself on `fork`.  Runs in the worker
 * processes only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "scenario/native.h"

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
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED	(1 << 1)	/* Linux 6.18 */
#endif

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

	for (int i = 0; i < c->npages && i < NAT_HASH_PAGES; i++) {
		if (nat_read_page(c->page[i], buf))
			continue;
		rep->hash[i] = scn_hash_page(buf);
		rep->hashed |= 1ULL << i;
	}
}

/*
 * The memory bound of a worker: RLIMIT_AS at what the spawned worker
 * already maps (inherited from the controller, and so counting e.g. ASan's
 * shadow reservations) plus the configured limit.  Workers only ever hold
 * private anonymous memory, so this also bounds what a scenario can fill.
 * Past it the kernel itself refuses: mmap and mremap fail with ENOMEM.
 */
static uint64_t nat_as_limit;	/* bytes; 0: none */

/* This process's address space size (VmSize), in bytes; 0 if unknown. */
static uint64_t nat_vm_size(void)
{
	char buf[4096], *v;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strstr(buf, "\nVmSize:");
	return v ? strtoull(v + strlen("\nVmSize:"), NULL, 10) * 1024 : 0;
}

static int nat_set_mem_limit(uint64_t limit)
{
	uint64_t base = nat_vm_size();
	struct rlimit rl;

	if (!base)
		return EIO;
	rl.rlim_cur = rl.rlim_max = base + limit < base ? RLIM_INFINITY :
				    base + limit;
	if (setrlimit(RLIMIT_AS, &rl))
		return errno;
	nat_as_limit = rl.rlim_cur;
	return 0;
}

/* After ENOMEM from a mapping of len bytes more: was it our limit? */
static void nat_note_limit(uint64_t len, char *note, size_t n)
{
	uint64_t size = nat_vm_size();

	if (nat_as_limit && size && size + len > nat_as_limit)
		snprintf(note, n, "%s", SCN_NOTE_MEM_LIMIT);
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
		[SCN_ADV_HUGEPAGE] = MADV_HUGEPAGE,
		[SCN_ADV_NOHUGEPAGE] = MADV_NOHUGEPAGE,
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
		if (rep->err == ENOMEM)
			nat_note_limit(len, rep->note, sizeof(rep->note));
		break;
	case SCN_MUNMAP:
		rep->err = munmap(addr, len) ? errno : 0;
		break;
	case SCN_MPROTECT:
		rep->err = mprotect(addr, len, nat_prot(st->prot)) ? errno : 0;
		break;
	case SCN_MREMAP:
		rep->err = nat_mremap(st);
		if (rep->err == ENOMEM)
			nat_note_limit(st->new_pages > st->pages || st->dontunmap ?
				       (st->new_pages - (st->dontunmap ? 0 :
							 st->pages)) * SCN_PAGE_SIZE
				       : 0, rep->note, sizeof(rep->note));
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

/* A batch: each statement in turn, as if sent one by one. */
static void nat_batch(const struct nat_cmd *c, struct nat_reply *rep)
{
	struct nat_reply one;

	for (int i = 0; i < c->nstmts && i < NAT_BATCH; i++) {
		memset(&one, 0, offsetof(struct nat_reply, nres));
		one.value = -1;
		nat_exec(&c->st[i], &one);
		rep->res[i].err = one.err;
		rep->res[i].value = one.value;
		memcpy(rep->res[i].note, one.note, sizeof(one.note));
		rep->nres = i + 1;
	}
}

/*
 * Settings of a new worker; 0 or the errno of what failed.  Every worker
 * runs on one CPU (if it may): a write fault reuses an unshared page only if
 * no per-CPU LRU batch holds a reference to it, and the faulting CPU drains
 * only its own batches, so workers spread over CPUs would make the kernel's
 * "reuse or copy" vary from run to run.
 */
static int nat_worker_setup(const struct nat_wcfg *wc, bool spawned,
			    char *note, size_t len)
{
	struct sigaction sa;
	cpu_set_t cpus;
	sigset_t set;
	int err;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != wc->ctl)
		_exit(127);	/* the controller is gone already */
	if (wc->cpu >= 0 && wc->cpu < CPU_SETSIZE) {
		CPU_ZERO(&cpus);
		CPU_SET(wc->cpu, &cpus);
		sched_setaffinity(0, sizeof(cpus), &cpus);	/* best effort */
	}
	/* a forked worker inherits its parent's limit (and mappings) */
	if (spawned && wc->mem_limit) {
		err = nat_set_mem_limit(wc->mem_limit);
		if (err) {
			snprintf(note, len, "setrlimit(RLIMIT_AS)");
			return err;
		}
	}
	/* THP as the scenario's mode says (nat_thp_setup); inherited by
	   forked workers */
	if (spawned && wc->thp_disable &&
	    prctl(PR_SET_THP_DISABLE, 1, wc->thp_disable == 2 ?
		  PR_THP_DISABLE_EXCEPT_ADVISED : 0, 0, 0)) {
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
static void nat_hello(int fd, const struct nat_wcfg *wc, bool spawned)
{
	struct nat_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.err = nat_worker_setup(wc, spawned, rep.note, sizeof(rep.note));
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
static void nat_worker(int fd, const struct nat_wcfg *wc)
{
	struct nat_reply rep;
	struct nat_cmd cmd;
	int passed;
	pid_t pid;

	nat_hello(fd, wc, true);
	for (;;) {
		if (nat_worker_recv(fd, &cmd, &passed) <= 0)
			_exit(0);
		memset(&rep, 0, sizeof(rep));
		rep.value = -1;
		if (cmd.kind == NAT_CMD_HASH) {
			nat_hash_pages(&cmd, &rep);
		} else if (cmd.kind == NAT_CMD_BATCH) {
			nat_batch(&cmd, &rep);
		} else if (cmd.st[0].op == SCN_FORK) {
			pid = passed >= 0 ? nat_clone() : -1;
			if (pid == 0) {
				close(fd);
				fd = passed;
				nat_hello(fd, wc, false);
				continue;
			}
			rep.err = passed < 0 ? EBADF : pid < 0 ? errno : 0;
			rep.pid = pid;
		} else {
			nat_exec(&cmd.st[0], &rep);
		}
		if (passed >= 0)
			close(passed);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep) ||
		    (cmd.kind == NAT_CMD_STMT && cmd.st[0].op == SCN_EXIT))
			_exit(0);
	}
}

/* The spawned worker: keep only our end of the socket, then serve. */
void nat_spawned(int fd, const struct nat_wcfg *wc)
{
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	nat_worker(fd, wc);
}
