/* SPDX-License-Identifier: MIT */
/*
 * The host-kernel executor, controller side: runs a scenario with real
 * processes and records what the kernel did, as read from /proc.  The
 * workers are in native_worker.c, the channel to them in native_chan.c,
 * the /proc readers in native_proc.c.
 *
 * The calling process is the controller.  Every scenario process is a real
 * worker process that obeys commands sent over its own SOCK_SEQPACKET
 * socket: one struct nat_cmd (a statement; a run of up to NAT_BATCH plain
 * statements of that process, performed in turn; or "hash these pages")
 * per message, one struct nat_reply per answer (waited for as
 * nat_clock_out says).  Workers run on one CPU (see nat_worker_setup), each under a
 * memory bound (nat_set_mem_limit).  A spawn or fork the kernel refuses is
 * that statement's error; the process then does not exist and each later
 * statement naming it gets ESRCH, as on the library.  Only workers are
 * ever killed, each by its own pid.
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
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "scenario/native.h"

/* Record the first error message; returns rc. */
int nat_fail(struct nat_run *r, int rc, const char *fmt, ...)
{
	va_list ap;

	if (r->err && r->errlen && !r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *nat_name(const struct nat_run *r, int slot)
{
	return slot >= 0 && slot < r->s->nslots ? r->s->slot_name[slot] : "?";
}

/* ======================================================================
 * Workers: start, fork, exit.
 * ====================================================================== */

/* Reap pid, killing it if it does not exit in time (see nat_clock). */
static int nat_reap(pid_t pid, char *why, size_t len)
{
	struct timespec nap = { 0, 100000 };
	struct nat_clock c;
	int64_t next;
	pid_t p;

	if (pid <= 0)
		return -ESRCH;
	nat_clock_start(&c, SCN_NATIVE_TIMEOUT_MS, SCN_NATIVE_TIMEOUT_MAX_MS);
	next = c.last + NAT_SLICE_MS;
	for (;;) {
		p = waitpid(pid, NULL, WNOHANG);
		if (p == pid || (p < 0 && errno == ECHILD))
			return 0;
		if (p < 0 && errno != EINTR)
			return -errno;
		if (nat_now_ms() >= next) {
			if (nat_clock_out(&c, pid, why, len))
				break;
			next += NAT_SLICE_MS;
		}
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 10000000)
			nap.tv_nsec *= 2;
	}
	nat_kill(pid, NULL);
	return -ETIMEDOUT;
}


static int nat_spawn(struct nat_run *r, int slot, struct scn_result *res)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return nat_fail(r, -errno, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		nat_spawned(sv[1], &r->wc);
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
	if (rep.pid <= 0) {
		close(sv[0]);
		return nat_fail(r, -EPROTO, "process %s: fork answered pid %d",
				nat_name(r, st->proc), rep.pid);
	}
	r->w[st->child].pid = rep.pid;
	r->w[st->child].fd = sv[0];
	return nat_greeted(r, st->child);
}

static int nat_exit(struct nat_run *r, const struct scn_stmt *st)
{
	struct nat_worker *w = &r->w[st->proc];
	struct nat_reply rep;
	char why[128];
	int rc = nat_call_stmt(r, st, -1, &rep);

	if (rc)
		return rc;
	close(w->fd);
	w->fd = -1;
	rc = nat_reap(w->pid, why, sizeof(why));
	w->pid = 0;
	if (rc == -ETIMEDOUT)
		return nat_fail(r, rc, "process %s did not exit %s",
				nat_name(r, st->proc), why);
	if (rc)
		return nat_fail(r, rc, "process %s did not exit: %s",
				nat_name(r, st->proc), strerror(-rc));
	return 0;
}

/* Kill and reap every worker still alive. */
static void nat_kill_all(struct nat_run *r)
{
	for (int i = 0; i < r->s->nslots; i++) {
		if (r->w[i].fd >= 0)
			close(r->w[i].fd);
		r->w[i].fd = -1;
		if (r->w[i].pid > 0)
			kill(r->w[i].pid, SIGKILL);
	}
	for (int i = 0; i < r->s->nslots; i++) {
		if (r->w[i].pid > 0)
			while (waitpid(r->w[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
		r->w[i].pid = 0;
	}
}

/* ======================================================================
 * Snapshots.
 * ====================================================================== */


/* Ask slot's worker for the hashes of the pages of cmd (see below). */
static int nat_hash_batch(struct nat_run *r, int slot, struct nat_cmd *cmd,
			  struct scn_page **pg)
{
	struct nat_reply rep;
	int rc;

	if (!cmd->npages)
		return 0;
	rc = nat_call(r, slot, cmd, -1, &rep);
	for (int i = 0; !rc && i < cmd->npages; i++) {
		if (rep.hashed & (1ULL << i)) {
			pg[i]->has_hash = true;
			pg[i]->hash = rep.hash[i];
		}
	}
	cmd->npages = 0;
	return rc;
}

/*
 * Contents of the present pages of readable VMAs: the worker hashes them
 * itself (see nat_hash_pages), up to NAT_HASH_PAGES pages of any VMAs per
 * command.  Present pages of PROT_NONE VMAs and swapped pages get no hash.
 * p->pages holds every page of each VMA in turn.
 */
static int nat_hash_proc(struct nat_run *r, int slot, struct scn_proc_snap *p)
{
	struct scn_page *pg[NAT_HASH_PAGES];
	struct nat_cmd cmd;
	size_t k = 0;
	int rc = 0;

	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = NAT_CMD_HASH;
	for (int i = 0; i < p->nvmas && !rc; i++) {
		const struct scn_vma *v = &p->vmas[i];
		size_t end = k + (v->end - v->start) / SCN_PAGE_SIZE;

		for (; k < end && !rc; k++) {
			if (v->prot == SCN_PROT_NONE ||
			    p->pages[k].state != SCN_PTE_PRESENT || p->pages[k].zero)
				continue;
			pg[cmd.npages] = &p->pages[k];
			cmd.page[cmd.npages++] = p->pages[k].addr;
			if (cmd.npages == NAT_HASH_PAGES)
				rc = nat_hash_batch(r, slot, &cmd, pg);
		}
	}
	return rc ? rc : nat_hash_batch(r, slot, &cmd, pg);
}

static int nat_read_pages(struct nat_run *r, int slot, struct scn_proc_snap *p)
{
	char path[64];
	int pmfd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)r->w[slot].pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0)
		return nat_fail(r, -errno, "%s: %s", path, strerror(errno));
	for (int i = 0; i < p->nvmas && !rc; i++)
		rc = nat_read_vma_pages(r, pmfd, &p->vmas[i], p);
	close(pmfd);
	return rc ? rc : nat_hash_proc(r, slot, p);
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
 * Set-up: can we run here.
 * ====================================================================== */

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

/* Does the scenario advise hugepage (and so register with khugepaged)? */
static bool nat_advises_huge(const struct scenario *s)
{
	for (int i = 0; i < s->nstmts; i++)
		if (s->stmts[i].op == SCN_MADVISE &&
		    s->stmts[i].advice == SCN_ADV_HUGEPAGE)
			return true;
	return false;
}

/*
 * The workers' THP setting for the scenario's mode.  The mode is
 * system-wide on the host: a worker can only narrow it (PR_SET_THP_DISABLE:
 * never; with PR_THP_DISABLE_EXCEPT_ADVISED, madvise on an "always" host).
 * A wider mode than the host's cannot be had: -ENOTSUP (a reason to skip).
 */
static int nat_thp_setup(struct nat_run *r)
{
	enum scn_thp_mode want = scn_thp_mode(r->s, r->thp);
	struct scn_host_thp h;

	scn_host_thp(&h);
	if (want == SCN_THP_NEVER)
		r->wc.thp_disable = h.mode == SCN_THP_NEVER ? 0 : 1;
	else if (want == SCN_THP_MADVISE && h.mode == SCN_THP_ALWAYS)
		r->wc.thp_disable = 2;
	else if (want != h.mode)
		return nat_fail(r, -ENOTSUP, "THP mode %s: the host's is %s "
				"(/sys/kernel/mm/transparent_hugepage/enabled), "
				"which a process cannot widen",
				scn_thp_mode_name(want), scn_thp_mode_name(h.mode));
	if (want == SCN_THP_ALWAYS ||
	    (want == SCN_THP_MADVISE && nat_advises_huge(r->s)))
		nat_khugepaged_decoy();
	return 0;
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
	r->kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (r->kpf < 0)
		return nat_fail(r, -EPERM, "cannot open /proc/kpageflags: %s",
				strerror(errno));
	rc = nat_thp_setup(r);
	if (!rc)
		rc = nat_find_zero_pfn(r);
	if (!rc)
		rc = nat_find_reserved(r);
	if (!rc)
		rc = nat_check_reserved(r);
	r->swap = nat_swap_active();
	r->wc.cpu = nat_pick_cpu();
	r->w = calloc(r->s->nslots ? (size_t)r->s->nslots : 1, sizeof(*r->w));
	if (!rc && !r->w)
		rc = nat_fail(r, -ENOMEM, "out of memory");
	for (int i = 0; r->w && i < r->s->nslots; i++)
		r->w[i].fd = -1;	/* no worker: never descriptor 0 */
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

	/* A process whose spawn or fork failed does not exist (as in the
	   library): nothing it does runs. */
	if (st->op != SCN_SPAWN && st->op != SCN_CHECK &&
	    (st->proc < 0 || r->w[st->proc].pid <= 0)) {
		res->err = ESRCH;
		return 0;
	}
	switch (st->op) {
	case SCN_SPAWN:
		return nat_spawn(r, st->child, res);
	case SCN_FORK:
		return nat_fork(r, st, res);
	case SCN_EXIT:
		return nat_exit(r, st);
	case SCN_CHECK:
		return nat_snapshot(r, i);
	case SCN_EXPECT_THP:
		res->value = nat_thp_state(r, st->proc, st->addr);
		return 0;
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
	/* A refusal by the worker memory limit is not the kernel's answer:
	   no expectation is judged from there on (what follows depends on
	   it; diff stops comparing there too). */
	if (!strcmp(res->note, SCN_NOTE_MEM_LIMIT))
		r->limited = true;
	if (!r->t->failure[0] && !r->limited &&
	    !scn_result_ok(r->s, &r->s->stmts[i], res, why, sizeof(why)))
		snprintf(r->t->failure, sizeof(r->t->failure), "%s", why);
	return 0;
}

/*
 * Can statement i go in a batch after (or as the first of) statements of
 * process proc?  Only plain statements of a live process whose result the
 * controller does nothing about between statements: no process changes, no
 * check, no pageout (settling) or migrate (node check).
 */
static bool nat_batchable(const struct nat_run *r, int i, int proc)
{
	const struct scn_stmt *st = &r->s->stmts[i];

	if (st->proc != proc || proc < 0 || r->w[proc].pid <= 0)
		return false;
	switch (st->op) {
	case SCN_MMAP:
	case SCN_MUNMAP:
	case SCN_MPROTECT:
	case SCN_MREMAP:
	case SCN_WRITE:
	case SCN_FILL:
	case SCN_READ:
	case SCN_EXPECT:
		return true;
	case SCN_MADVISE:
		return st->advice != SCN_ADV_PAGEOUT;
	default:
		return false;
	}
}

/* Run statements i..i+n-1 (all batchable, one process) in one round trip. */
static int nat_run_batch(struct nat_run *r, int i, int n)
{
	struct scn_result res;
	struct nat_reply rep;
	struct nat_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = NAT_CMD_BATCH;
	cmd.nstmts = n;
	memcpy(cmd.st, &r->s->stmts[i], (size_t)n * sizeof(cmd.st[0]));
	rc = nat_call(r, cmd.st[0].proc, &cmd, -1, &rep);
	if (!rc && rep.nres != n)
		rc = nat_fail(r, -EPROTO, "process %s: %d answers to %d "
			      "statements", nat_name(r, cmd.st[0].proc),
			      rep.nres, n);
	for (int k = 0; k < n && !rc; k++) {
		memset(&res, 0, sizeof(res));
		res.err = rep.res[k].err;
		res.value = rep.res[k].value;
		memcpy(res.note, rep.res[k].note, sizeof(res.note));
		res.note[sizeof(res.note) - 1] = '\0';
		rc = nat_record(r, i + k, &res);
	}
	return rc;
}

static int nat_run_all(struct nat_run *r)
{
	int rc = 0, n;

	for (int i = 0; i < r->s->nstmts && !rc; i += n) {
		struct scn_result res;
		int proc = r->s->stmts[i].proc;

		for (n = 0; i + n < r->s->nstmts && n < NAT_BATCH &&
			    nat_batchable(r, i + n, proc); n++)
			;
		if (n > 1) {
			rc = nat_run_batch(r, i, n);
			continue;
		}
		n = 1;
		memset(&res, 0, sizeof(res));
		res.value = -1;
		rc = nat_stmt(r, i, &res);
		if (!rc)
			rc = nat_record(r, i, &res);
	}
	return rc ? rc : nat_snapshot(r, r->s->nstmts);
}

void scn_native_opts_init(struct scn_native_opts *o)
{
	uint64_t ram = nat_mem_total();

	memset(o, 0, sizeof(*o));
	o->worker_mem_limit = SCN_NATIVE_MEM_LIMIT_DEFAULT;
	if (ram && ram / 4 < o->worker_mem_limit)
		o->worker_mem_limit = ram / 4;
}

int scn_run_native(const struct scenario *s, struct scn_trace *out, char *err,
		   size_t errlen)
{
	return scn_run_native_opts(s, NULL, out, err, errlen);
}

int scn_run_native_opts(const struct scenario *s,
			const struct scn_native_opts *o, struct scn_trace *out,
			char *err, size_t errlen)
{
	struct scn_native_opts def;
	struct nat_run r;
	int rc;

	if (!o) {
		scn_native_opts_init(&def);
		o = &def;
	}
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.t = out;
	r.wc.ctl = getpid();
	r.kpc = -1;
	r.kpf = -1;
	r.folio_head = NAT_NO_PFN;
	r.wc.cpu = -1;
	r.wc.mem_limit = o->worker_mem_limit;
	r.thp = o->thp;
	r.zero_pfn = NAT_NO_PFN;
	r.err = err;
	r.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	scn_trace_init(out, "kernel");
	rc = nat_setup(&r);
	r.thp_fallback0 = nat_vmstat("thp_fault_fallback");
	r.thp_collapse0 = nat_vmstat("thp_collapse_alloc");
	if (!rc)
		rc = nat_run_all(&r);
	nat_thp_note(&r, out->note, sizeof(out->note));
	if (r.w)
		nat_kill_all(&r);
	free(r.w);
	if (r.kpc >= 0)
		close(r.kpc);
	if (r.kpf >= 0)
		close(r.kpf);
	if (rc && !out->failure[0] && err)
		snprintf(out->failure, sizeof(out->failure), "%s", err);
	return rc;
}
