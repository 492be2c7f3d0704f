/* SPDX-License-Identifier: MIT */
/*
 * `anonvm record`: run a program under ptrace and write what it does to its
 * anonymous memory as a scenario (docs/record.md).
 *
 * Every task is traced (PTRACE_O_TRACEFORK/VFORK/CLONE/EXEC/EXIT).  Tasks
 * that share an mm (threads, a vfork child until it execs) are one scenario
 * process; a fork is `fork`, an exec ends the old process (`exit` when its
 * last task leaves it) and starts a new one (`spawn`), the end of an mm's
 * last task is `exit`.  At each syscall entry the process's pages are
 * scanned (record_pages.c); at the exit of mmap, munmap, mprotect, mremap,
 * madvise and brk the call is written with its result.  x86-64 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "anonvm/anonvm.h"
#include "scenario/record.h"

#define PG		((uint64_t)4096)
#define PAGE_UP(x)	(((x) + PG - 1) & ~(PG - 1))

struct task {
	int tid, tgid;
	struct rec_proc *proc;	/* NULL before the first exec */
	bool early;		/* stopped before its parent's event: waits */
	bool expect_stop;	/* its first SIGSTOP is still to come */
	unsigned long long nr;	/* syscall at entry */
	unsigned long long args[6];
};

struct tracer {
	struct rec r;
	struct task *tasks;
	int ntasks, cap;
	struct rec_proc **procs;
	int nprocs, pcap;
	int root;
	double t0;
};

static volatile sig_atomic_t interrupted, timed_out;

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		timed_out = 1;
	else
		interrupted = sig;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tasks and processes ---------------------------------------------------- */

static struct task *task_find(struct tracer *t, int tid)
{
	for (int i = 0; i < t->ntasks; i++)
		if (t->tasks[i].tid == tid)
			return &t->tasks[i];
	return NULL;
}

static struct task *task_add(struct tracer *t, int tid, int tgid)
{
	if (t->ntasks == t->cap) {
		struct task *n = realloc(t->tasks, (size_t)(t->cap = t->cap * 2 + 16) *
					 sizeof(*n));
		if (!n)
			return NULL;
		t->tasks = n;
	}
	t->tasks[t->ntasks] = (struct task){ .tid = tid, .tgid = tgid };
	t->r.st->tasks++;
	return &t->tasks[t->ntasks++];
}

static struct rec_proc *proc_new(struct tracer *t, int pid)
{
	struct rec_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (t->nprocs == t->pcap) {
		struct rec_proc **n = realloc(t->procs, (size_t)(t->pcap =
					      t->pcap * 2 + 16) * sizeof(*n));
		if (!n) {
			free(p);
			return NULL;
		}
		t->procs = n;
	}
	t->procs[t->nprocs++] = p;
	p->id = ++t->r.next_id;
	p->pid = pid;
	p->users = 1;
	t->r.st->procs++;
	return p;
}

/* A task leaves its mm; the mm's last task ends the process. */
static void proc_put(struct tracer *t, struct rec_proc *p)
{
	if (!p || --p->users > 0)
		return;
	rec_emit(&t->r, NULL, "check");	/* compare the state before it goes */
	rec_emit(&t->r, p, "exit");
	avm_exit(p->mm);
	p->mm = NULL;
	rec_pgtab_free(&p->seen);
	p->dead = true;
}

static void task_del(struct tracer *t, struct task *k)
{
	proc_put(t, k->proc);
	*k = t->tasks[--t->ntasks];
}

/* The program break from /proc/PID/stat (field 47, start_brk). */
static uint64_t read_brk(int pid)
{
	char name[64], buf[4096], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, field = 2;

	snprintf(name, sizeof(name), "/proc/%d/stat", pid);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');		/* comm may hold spaces */
	for (; p && *p && field < 47; p++)
		if (*p == ' ')
			field++;
	if (p && sscanf(p, "%llu", &v) != 1)
		v = 0;
	return v;
}

static void exec_comment(struct tracer *t, const struct rec_proc *p, int pid)
{
	char name[64], exe[512];
	ssize_t n;

	snprintf(name, sizeof(name), "/proc/%d/exe", pid);
	n = readlink(name, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	fprintf(t->r.body, "# p%d: pid %d exec %s\n", p->id, pid, exe);
}

static int on_exec(struct tracer *t, struct task *k)
{
	struct rec_proc *p;
	int err;

	/* The other threads of the group are gone; their mm with them. */
	for (int i = 0; i < t->ntasks; i++) {
		struct task *o = &t->tasks[i];

		if (o != k && o->tgid == k->tgid && o->proc == k->proc) {
			task_del(t, o);
			i = -1;
			k = task_find(t, k->tid);
		}
	}
	proc_put(t, k->proc);
	k->proc = p = proc_new(t, k->tid);
	if (!p)
		return -ENOMEM;
	t->r.st->execs++;
	err = avm_mm_create(t->r.sys, &p->mm);
	if (err)
		return err;
	exec_comment(t, p, k->tid);
	rec_emit(&t->r, NULL, "spawn p%d", p->id);
	p->brk = read_brk(k->tid);
	return rec_scan(&t->r, p);
}

/* clone flags of the call that k is making (fork, vfork, clone, clone3). */
static unsigned long long clone_flags(const struct task *k)
{
	if (k->nr == SYS_vfork)
		return CLONE_VM | CLONE_VFORK;
	if (k->nr == SYS_clone)
		return k->args[0];
	if (k->nr == SYS_clone3) {
		errno = 0;
		long v = ptrace(PTRACE_PEEKDATA, k->tid, (void *)k->args[0], 0);
		return errno ? 0 : (unsigned long long)v;
	}
	return 0;
}

static int on_clone(struct tracer *t, struct task *k)
{
	unsigned long msg = 0;
	unsigned long long flags = clone_flags(k);
	struct task *c;
	struct rec_proc *p = k->proc;
	int tid, tgid, err = 0;

	if (ptrace(PTRACE_GETEVENTMSG, k->tid, 0, &msg))
		return 0;
	tid = (int)msg;
	tgid = (flags & CLONE_THREAD) ? k->tgid : tid;
	c = task_find(t, tid);
	if (!c) {
		c = task_add(t, tid, tgid);
		if (!c)
			return -ENOMEM;
		c->expect_stop = true;
		k = task_find(t, k->tid);	/* the array may have moved */
	}
	c->tgid = tgid;
	if (p && (flags & CLONE_VM)) {
		p->users++;
		c->proc = p;
	} else if (p) {
		struct rec_proc *np = proc_new(t, tid);

		if (!np)
			return -ENOMEM;
		c->proc = np;
		np->brk = p->brk;
		err = avm_fork(p->mm, &np->mm);
		if (!err)
			err = rec_pgtab_copy(&np->seen, &p->seen);
		if (err)
			return err;
		fprintf(t->r.body, "# p%d: pid %d\n", np->id, tid);
		rec_emit(&t->r, p, "fork p%d", np->id);
	}
	if (c->early) {
		c->early = false;
		ptrace(PTRACE_SYSCALL, tid, 0, 0);
	}
	return 0;
}

/* ---- system calls ------------------------------------------------------------- */

static int prot_of(unsigned long long prot)
{
	return (prot & PROT_WRITE) ? AVM_PROT_READ | AVM_PROT_WRITE :
	       (prot & (PROT_READ | PROT_EXEC)) ? AVM_PROT_READ : AVM_PROT_NONE;
}

static int advice_of(unsigned long long adv)
{
	switch (adv) {
	case MADV_DONTNEED:
	case 24:			/* MADV_DONTNEED_LOCKED */
		return AVM_MADV_DONTNEED;
	case MADV_DONTFORK:	return AVM_MADV_DONTFORK;
	case MADV_DOFORK:	return AVM_MADV_DOFORK;
	case MADV_WIPEONFORK:	return AVM_MADV_WIPEONFORK;
	case MADV_KEEPONFORK:	return AVM_MADV_KEEPONFORK;
	case 21:		return AVM_MADV_PAGEOUT;	/* MADV_PAGEOUT */
	case MADV_HUGEPAGE:	return AVM_MADV_HUGEPAGE;
	case MADV_NOHUGEPAGE:	return AVM_MADV_NOHUGEPAGE;
	default:		return -1;
	}
}

static void sys_mmap(struct tracer *t, struct rec_proc *p, const struct task *k,
		     uint64_t res)
{
	unsigned long long len = k->args[1], flags = k->args[3];

	rec_munmap_mapped(&t->r, p, res, len);	/* MAP_FIXED replaced them */
	if ((flags & MAP_TYPE) != MAP_PRIVATE)
		t->r.st->skip_shared++;
	else if (!(flags & MAP_ANONYMOUS) || (flags & MAP_HUGETLB))
		t->r.st->skip_file++;
	else
		rec_mmap(&t->r, p, res, len, prot_of(k->args[2]));
}

static void sys_brk(struct tracer *t, struct rec_proc *p, uint64_t res)
{
	uint64_t old = PAGE_UP(p->brk), new = PAGE_UP(res);

	if (p->brk && new > old)
		rec_mmap(&t->r, p, old, new - old, AVM_PROT_READ | AVM_PROT_WRITE);
	else if (p->brk && new < old)
		rec_munmap(&t->r, p, new, old - new);
	p->brk = res;
}

static void sys_exit(struct tracer *t, struct task *k, long long rval)
{
	struct rec_proc *p = k->proc;
	const unsigned long long *a = k->args;
	int adv;

	if (!p || (rval < 0 && rval > -4096))
		return;
	switch (k->nr) {
	case SYS_mmap:
		sys_mmap(t, p, k, (uint64_t)rval);
		break;
	case SYS_munmap:
		rec_munmap_mapped(&t->r, p, a[0], a[1]);
		break;
	case SYS_mprotect:
	case SYS_pkey_mprotect:
		if (!(a[2] & (PROT_GROWSDOWN | PROT_GROWSUP)))
			rec_mprotect(&t->r, p, a[0], a[1], prot_of(a[2]));
		break;
	case SYS_madvise:
		adv = advice_of(a[2]);
		if (adv < 0)
			t->r.st->skip_advice++;
		else
			rec_madvise(&t->r, p, a[0], a[1], adv);
		break;
	case SYS_mremap:
		if (a[1] && rec_mapped(p, a[0], a[1]))
			rec_mremap(&t->r, p, a[0], a[1], a[2], (uint64_t)rval,
				   a[3] & 4 /* MREMAP_DONTUNMAP */);
		else if ((uint64_t)rval != a[0])
			rec_munmap_mapped(&t->r, p, (uint64_t)rval, a[2]);
		break;
	case SYS_brk:
		sys_brk(t, p, (uint64_t)rval);
		break;
	case SYS_shmat:
		t->r.st->skip_shared++;
		break;
	}
}

static int on_syscall(struct tracer *t, struct task *k)
{
	struct __ptrace_syscall_info si;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, k->tid, sizeof(si), &si) <= 0)
		return 0;
	if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
		k->nr = si.entry.nr;
		memcpy(k->args, si.entry.args, sizeof(k->args));
		t->r.st->syscalls++;
		if (!k->proc)
			return 0;
		k->proc->pid = k->tid;
		return rec_scan(&t->r, k->proc);
	}
	if (si.op == PTRACE_SYSCALL_INFO_EXIT && k->proc) {
		k->proc->pid = k->tid;
		sys_exit(t, k, si.exit.rval);
	}
	return 0;
}

/* ---- the loop ------------------------------------------------------------------ */

static int on_stop(struct tracer *t, struct task *k, int status)
{
	int sig = WSTOPSIG(status), ev = status >> 16, err = 0, tid = k->tid;

	if (sig == (SIGTRAP | 0x80)) {
		err = on_syscall(t, k);
		sig = 0;
	} else if (sig == SIGTRAP && ev) {
		if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
		    ev == PTRACE_EVENT_CLONE)
			err = on_clone(t, k);
		else if (ev == PTRACE_EVENT_EXEC)
			err = on_exec(t, k);
		else if (ev == PTRACE_EVENT_EXIT && k->proc && k->proc->users == 1)
			err = rec_scan(&t->r, k->proc);
		sig = 0;
	} else if (sig == SIGSTOP && k->expect_stop) {
		k->expect_stop = false;
		sig = 0;
	}
	ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)sig);
	return err;
}

static void on_wait(struct tracer *t, int w, int status)
{
	struct task *k = task_find(t, w);

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (w == t->root)
			t->r.st->exit_status = WIFEXITED(status) ?
				WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (k)
			task_del(t, k);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (!k) {		/* a new task, before its parent's event */
		k = task_add(t, w, w);
		if (k)
			k->early = true;
		else		/* it would wait forever: stop (kill_all) */
			snprintf(t->r.st->stopped, sizeof(t->r.st->stopped),
				 "out of memory");
		return;
	}
	if (k->early)
		return;
	if (on_stop(t, k, status) && !t->r.st->stopped[0])
		snprintf(t->r.st->stopped, sizeof(t->r.st->stopped),
			 "an error reading the process state");
}

/*
 * Kill every task and reap it.  A killed tracee may still report a stop
 * (its exit event, or a new child's first stop): kill and resume whatever
 * stops, until no traced task is left.
 */
static void kill_all(struct tracer *t)
{
	int status, w;

	for (int i = 0; i < t->ntasks; i++)
		kill(t->tasks[i].tid, SIGKILL);
	while ((w = waitpid(-1, &status, __WALL)) > 0 || errno == EINTR) {
		if (w > 0 && WIFSTOPPED(status)) {
			kill(w, SIGKILL);
			ptrace(PTRACE_CONT, w, 0, 0);
		}
	}
}

static bool limits(struct tracer *t)
{
	struct scn_rec_stats *st = t->r.st;

	if (st->stopped[0])
		return true;
	if (t->r.limit)
		snprintf(st->stopped, sizeof(st->stopped),
			 "--max-events %ld reached", t->r.o->max_events);
	else if (timed_out || now() - t->t0 >= t->r.o->max_seconds)
		snprintf(st->stopped, sizeof(st->stopped),
			 "--max-seconds %g reached", t->r.o->max_seconds);
	else if (interrupted)
		snprintf(st->stopped, sizeof(st->stopped), "interrupted (%s)",
			 strsignal(interrupted));
	return st->stopped[0];
}

static void trace_loop(struct tracer *t)
{
	int status, w;

	while (!limits(t)) {
		w = waitpid(-1, &status, __WALL);
		if (w < 0) {
			if (errno != EINTR)
				return;		/* ECHILD: everything ended */
			continue;
		}
		on_wait(t, w, status);
	}
	kill_all(t);
}

/* ---- setting up and writing ------------------------------------------------------ */

static int start(struct tracer *t, char *const argv[], char *err, size_t len)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
	int status, pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(126);
		raise(SIGSTOP);
		execvp(argv[0], argv);
		fprintf(stderr, "anonvm record: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	t->root = pid;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)opts)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(err, len, "cannot trace %s (ptrace not permitted?)",
			 argv[0]);
		return -EPERM;
	}
	if (!task_add(t, pid, pid))
		return -ENOMEM;
	ptrace(PTRACE_SYSCALL, pid, 0, 0);
	return 0;
}

static void header(struct tracer *t, char *const argv[], FILE *out)
{
	const struct scn_rec_stats *st = t->r.st;
	struct utsname u;

	uname(&u);
	fprintf(out, "# anonvm record:");
	for (int i = 0; argv[i]; i++) {
		fputc(' ', out);
		for (const char *c = argv[i]; *c; c++)	/* one comment line */
			if (*c == '\n')
				fputs("\\n", out);
			else
				fputc(*c >= ' ' && *c != 0x7f ? *c : '?', out);
	}
	fprintf(out, "\n# on Linux %s %s: %.2f s, ", u.release, u.machine,
		st->seconds);
	if (st->stopped[0])
		fprintf(out, "killed: %s\n", st->stopped);
	else
		fprintf(out, "exit status %d\n", st->exit_status);
	fprintf(out, "# %ld statements; %ld processes (mms), %ld tasks, %ld execs;"
		" %ld syscalls, %ld scans; at most %ld anonymous VMAs and %ld"
		" pages in one mm; %ld page events\n", st->stmts, st->procs,
		st->tasks, st->execs, st->syscalls, st->scans, st->max_vmas,
		st->max_pages, st->page_events);
	fprintf(out, "# skipped (outside the model): %ld mmaps of files, %ld of "
		"shared memory, %ld madvise calls with other advice, %ld "
		"operations the model refused, %ld swapped pages it would not "
		"swap (shared), %ld pages without PFN\n", st->skip_file,
		st->skip_shared, st->skip_advice, st->skip_model, st->skip_swap,
		st->skip_hidden);
	if (st->stopped[0])
		fprintf(out, "# stopped early: %s\n", st->stopped);
	fprintf(out, "window 0x1000 %#llx\n", 0x7ffffffff000ULL);
}

static int setup(struct tracer *t, char *err, size_t len)
{
	struct avm_config cfg;
	int rc;

	if (geteuid()) {
		snprintf(err, len, "needs root (PFNs in /proc/PID/pagemap, "
			 "/proc/kpageflags)");
		return -EPERM;
	}
	t->r.kpageflags_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (t->r.kpageflags_fd < 0) {
		snprintf(err, len, "cannot open /proc/kpageflags: %s",
			 strerror(errno));
		return -EPERM;
	}
	avm_config_default(&cfg);
	cfg.payload = AVM_PAYLOAD_NONE;
	cfg.node_frames = 1UL << 24;
	cfg.swap_slots = 1UL << 20;
	rc = avm_sys_create(&cfg, &t->r.sys);
	if (rc)
		snprintf(err, len, "cannot create the shadow system: %s",
			 strerror(-rc));
	t->r.body = rc ? NULL : open_memstream(&t->r.body_buf, &t->r.body_len);
	return rc ? rc : t->r.body ? 0 : -ENOMEM;
}

static void teardown(struct tracer *t)
{
	for (int i = 0; i < t->nprocs; i++) {
		rec_pgtab_free(&t->procs[i]->seen);
		free(t->procs[i]);
	}
	avm_sys_destroy(t->r.sys);
	if (t->r.kpageflags_fd > 0)
		close(t->r.kpageflags_fd);
	free(t->procs);
	free(t->tasks);
	free(t->r.body_buf);
}

int scn_record(char *const argv[], const struct scn_rec_opts *o, FILE *out,
	       struct scn_rec_stats *st, char *err, size_t errlen)
{
	struct scn_rec_opts opts = *o;
	struct tracer t = { .r = { .st = st, .o = &opts, .kpageflags_fd = -1 } };
	struct sigaction sa = { .sa_handler = on_signal }, old[4];
	static const int sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	int rc;

	memset(st, 0, sizeof(*st));
	opts.max_events = opts.max_events > 0 ? opts.max_events : 1000000;
	opts.max_seconds = opts.max_seconds > 0 ? opts.max_seconds : 600;
	interrupted = timed_out = 0;
	rc = setup(&t, err, errlen);
	for (int i = 0; !rc && i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);	/* no SA_RESTART */
	t.t0 = now();
	if (!rc) {
		struct itimerval it = { .it_value = {
			.tv_sec = (time_t)opts.max_seconds,
			.tv_usec = (suseconds_t)((opts.max_seconds -
				   (double)(time_t)opts.max_seconds) * 1e6) + 1 } };

		setitimer(ITIMER_REAL, &it, NULL);	/* wakes waitpid */
		rc = start(&t, argv, err, errlen);
		if (!rc)
			trace_loop(&t);
		memset(&it, 0, sizeof(it));
		setitimer(ITIMER_REAL, &it, NULL);
		for (int i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
	}
	st->seconds = now() - t.t0;
	if (!rc && fflush(t.r.body))
		rc = -ENOMEM;
	if (!rc) {
		header(&t, argv, out);
		fwrite(t.r.body_buf, 1, t.r.body_len, out);
		rc = ferror(out) ? -EIO : st->stopped[0] ? 1 : 0;
	}
	if (t.r.body)
		fclose(t.r.body);
	t.r.body = NULL;
	teardown(&t);
	return rc;
}
