/* SPDX-License-Identifier: MIT */
/*
 * anonvm against the host kernel, on the same work.  One round, on each
 * side: a parent maps 1000 private anonymous VMAs of 100 pages (a one-page
 * gap after each, so that none merge), writes one byte to every page
 * (first touch), forks, the child writes one byte to every page (COW
 * faults: copies) and unmaps its VMAs one by one, then both exit.
 *
 * The kernel side is real processes (fork, mmap, munmap), with transparent
 * huge pages off (PR_SET_THP_DISABLE), started from a small server process
 * forked before anything else so that their forks copy nothing but the
 * workload.  The library side runs the same calls on one system per
 * payload (full: frames hold real bytes; none: metadata only).  Rounds
 * alternate the order of the sides; after one untimed warm-up round of
 * each, the table shows the median of each operation on each side and the
 * ratio anonvm / kernel.
 *
 * Two baselines are measured in the same run, for what a COW fault and a
 * first touch cannot avoid: a 4 KiB memset of a page, and taking a frame
 * from the library's pool plus a 4 KiB memcpy into it.
 *
 * No timing assertions: the exit status is 0 unless an operation fails
 * (1) or the usage is wrong (2).
 *
 * Usage: kernel [--rounds N] [--quick]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "anonvm/anonvm.h"
#include "mm/internal.h"
#include "bench.h"

#define MAX_ROUNDS	101
#define BASE		(1UL << 44)
#define PAGE		AVM_PAGE_SIZE

enum op { OP_MMAP, OP_TOUCH, OP_FORK, OP_COW, OP_MUNMAP, NR_OPS };
enum side { S_KERNEL, S_FULL, S_NONE, NR_SIDES };
enum base { B_MEMSET, B_COPY, NR_BASES };

static const struct {
	const char *name, *per;
} ops[NR_OPS] = {
	[OP_MMAP]   = { "mmap",	       "VMA" },
	[OP_TOUCH]  = { "first touch", "page" },
	[OP_FORK]   = { "fork",	       "present PTE" },
	[OP_COW]    = { "COW fault",   "page" },
	[OP_MUNMAP] = { "munmap",      "page" },
};

struct bench {
	unsigned long nvmas, per_vma, pages;
	int rounds;
	struct avm_sys *sys[NR_SIDES];		/* S_FULL, S_NONE */
	int cmd_fd, res_fd;			/* to and from the server */
	double ns[NR_SIDES][NR_OPS][MAX_ROUNDS];
	double base[NR_BASES][MAX_ROUNDS];
};

/* What a kernel round sends back: totals in ns, or an error. */
struct kres {
	double t[NR_OPS];
	int err;
	char msg[160];
};

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(s[0]));
	qsort(s, (size_t)n, sizeof(s[0]), bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static unsigned long vma_start(const struct bench *b, unsigned long i)
{
	return BASE + i * (b->per_vma + 1) * PAGE;
}

/* ---- the kernel side ------------------------------------------------------ */

static int kfail(struct kres *r, const char *what, int err)
{
	snprintf(r->msg, sizeof(r->msg), "%s: %s", what, strerror(err));
	r->err = err ? err : EIO;
	return 1;
}

static void ktouch(const struct bench *b, unsigned char v)
{
	for (unsigned long i = 0; i < b->nvmas; i++) {
		volatile unsigned char *p =
			(volatile unsigned char *)vma_start(b, i);

		for (unsigned long pg = 0; pg < b->per_vma; pg++)
			p[pg * PAGE] = v;
	}
}

/* The child: COW every page, check one, unmap every VMA. */
static int kchild(const struct bench *b, struct kres *r)
{
	double t0 = bench_now_ns();

	ktouch(b, 0x22);
	r->t[OP_COW] = bench_now_ns() - t0;
	if (*(volatile unsigned char *)vma_start(b, b->nvmas - 1) != 0x22)
		return kfail(r, "child reads back a wrong byte", EIO);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++)
		if (munmap((void *)vma_start(b, i), b->per_vma * PAGE))
			return kfail(r, "munmap", errno);
	r->t[OP_MUNMAP] = bench_now_ns() - t0;
	return 0;
}

/* One kernel round in a fresh process; results in the shared *r. */
static int kworker(const struct bench *b, struct kres *r)
{
	int status;
	double t0;
	pid_t pid;

	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return kfail(r, "prctl(PR_SET_THP_DISABLE)", errno);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++) {
		void *want = (void *)vma_start(b, i);
		void *p = mmap(want, b->per_vma * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED)
			return kfail(r, "mmap", errno);
		if (p != want)
			return kfail(r, "mmap: not at the fixed address", EEXIST);
	}
	r->t[OP_MMAP] = bench_now_ns() - t0;
	t0 = bench_now_ns();
	ktouch(b, 0x11);
	r->t[OP_TOUCH] = bench_now_ns() - t0;
	t0 = bench_now_ns();
	pid = fork();
	if (pid == 0)
		_exit(kchild(b, r));
	r->t[OP_FORK] = bench_now_ns() - t0;
	if (pid < 0)
		return kfail(r, "fork", errno);
	if (waitpid(pid, &status, 0) != pid)
		return kfail(r, "waitpid", errno);
	if (r->err)
		return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return kfail(r, "the child failed", EIO);
	if (*(volatile unsigned char *)vma_start(b, 0) != 0x11)
		return kfail(r, "parent reads back a wrong byte", EIO);
	return 0;
}

/* The server: one worker per command byte, until the pipe closes. */
static void kserver(const struct bench *b, int cmd, int res)
{
	struct kres *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char c;

	while (read(cmd, &c, 1) == 1) {
		struct kres out = { .err = EIO };
		int status;
		pid_t pid;

		if (r == MAP_FAILED) {
			kfail(&out, "mmap of the result page", errno);
		} else {
			memset(r, 0, sizeof(*r));
			pid = fork();
			if (pid == 0)
				_exit(kworker(b, r));
			if (pid < 0)
				kfail(&out, "fork", errno);
			else if (waitpid(pid, &status, 0) != pid)
				kfail(&out, "waitpid", errno);
			else if (!r->err && (!WIFEXITED(status) ||
					     WEXITSTATUS(status)))
				kfail(&out, "the worker failed", EIO);
			else
				out = *r;
		}
		if (write(res, &out, sizeof(out)) != (ssize_t)sizeof(out))
			break;
	}
	_exit(0);
}

static int kserver_start(struct bench *b)
{
	int cmd[2], res[2];
	pid_t pid;

	if (pipe(cmd) || pipe(res)) {
		perror("kernel: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("kernel: fork");
		return -1;
	}
	if (pid == 0) {
		close(cmd[1]);
		close(res[0]);
		kserver(b, cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	b->cmd_fd = cmd[1];
	b->res_fd = res[0];
	return 0;
}

static int kernel_round(struct bench *b, double *t)
{
	struct kres r;

	if (write(b->cmd_fd, "r", 1) != 1 ||
	    read(b->res_fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		fprintf(stderr, "kernel: the server is gone\n");
		return -1;
	}
	if (r.err) {
		fprintf(stderr, "kernel: host kernel round: %s\n", r.msg);
		return -1;
	}
	memcpy(t, r.t, sizeof(r.t));
	return 0;
}

/* ---- the library side ----------------------------------------------------- */

static int die(const char *what, int err)
{
	fprintf(stderr, "kernel: %s: %s\n", what, strerror(-err));
	return -1;
}

static int ltouch(const struct bench *b, struct avm_mm *mm, unsigned char v)
{
	for (unsigned long i = 0; i < b->nvmas; i++)
		for (unsigned long pg = 0; pg < b->per_vma; pg++) {
			int err = avm_write(mm, vma_start(b, i) + pg * PAGE,
					    &v, 1);

			if (err)
				return die("avm_write", err);
		}
	return 0;
}

static int lib_round(struct bench *b, struct avm_sys *sys, double *t)
{
	struct avm_mm *parent, *child;
	struct avm_stats s0, s1;
	double t0;
	int err;

	avm_stats(sys, &s0);
	err = avm_mm_create(sys, &parent);
	if (err)
		return die("avm_mm_create", err);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++) {
		unsigned long got;

		err = avm_mmap(parent, vma_start(b, i), b->per_vma * PAGE,
			       AVM_PROT_READ | AVM_PROT_WRITE,
			       AVM_MAP_FIXED_NOREPLACE, &got);
		if (err)
			return die("avm_mmap", err);
	}
	t[OP_MMAP] = bench_now_ns() - t0;
	t0 = bench_now_ns();
	if (ltouch(b, parent, 0x11))
		return -1;
	t[OP_TOUCH] = bench_now_ns() - t0;
	t0 = bench_now_ns();
	err = avm_fork(parent, &child);
	t[OP_FORK] = bench_now_ns() - t0;
	if (err)
		return die("avm_fork", err);
	t0 = bench_now_ns();
	if (ltouch(b, child, 0x22))
		return -1;
	t[OP_COW] = bench_now_ns() - t0;
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->nvmas; i++) {
		err = avm_munmap(child, vma_start(b, i), b->per_vma * PAGE);
		if (err)
			return die("avm_munmap", err);
	}
	t[OP_MUNMAP] = bench_now_ns() - t0;
	avm_exit(child);
	avm_exit(parent);
	avm_stats(sys, &s1);
	if (s1.anon_faults - s0.anon_faults != b->pages ||
	    s1.cow_copies - s0.cow_copies != b->pages || s1.frames_used) {
		fprintf(stderr, "kernel: library round: %lu first-write faults, "
			"%lu COW copies, %lu frames left (expected %lu, %lu, 0)\n",
			s1.anon_faults - s0.anon_faults,
			s1.cow_copies - s0.cow_copies, s1.frames_used, b->pages,
			b->pages);
		return -1;
	}
	return 0;
}

/* ---- baselines ------------------------------------------------------------ */

/*
 * ns per page of a 4 KiB memset of pool frames (as a first touch zeroes
 * them), and of taking a frame from the pool plus a 4 KiB memcpy into it
 * from another pool frame (as a COW fault copies the parent's).
 */
static int baselines(struct bench *b, double *t)
{
	struct avm_sys *sys = b->sys[S_FULL];
	struct page **src = calloc(2 * b->pages, sizeof(*src));
	struct page **dst = src + b->pages;
	double t0;
	int rc = 0;

	if (!src)
		return die("calloc", -ENOMEM);
	for (unsigned long i = 0; i < b->pages && !rc; i++) {
		src[i] = alloc_page(sys, 0);
		if (!src[i])
			rc = die("alloc_page", -ENOMEM);
	}
	if (rc)
		goto out;
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->pages; i++)
		memset(page_address(sys, src[i]), 0x11, PAGE);
	t[B_MEMSET] = (bench_now_ns() - t0) / (double)b->pages;
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < b->pages; i++) {
		dst[i] = alloc_page_nozero(sys, 0);	/* as a COW fault */
		if (!dst[i]) {
			rc = die("alloc_page", -ENOMEM);
			break;
		}
		memcpy(page_address(sys, dst[i]), page_address(sys, src[i]),
		       PAGE);
	}
	t[B_COPY] = (bench_now_ns() - t0) / (double)b->pages;
out:
	for (unsigned long i = 0; i < 2 * b->pages; i++)
		if (src[i])
			put_page(sys, src[i]);
	free(src);
	return rc;
}

/* ---- driver --------------------------------------------------------------- */

static int side_round(struct bench *b, int s, int r)
{
	double t[NR_OPS];
	int err = s == S_KERNEL ? kernel_round(b, t) :
		  lib_round(b, b->sys[s], t);

	if (err || r < 0)
		return err;
	for (int o = 0; o < NR_OPS; o++)
		b->ns[s][o][r] = t[o] / (double)(o == OP_MMAP ? b->nvmas :
						 b->pages);
	return 0;
}

/* Round r (-1: warm-up); the order of the sides turns every round. */
static int round_all(struct bench *b, int r)
{
	double t[NR_BASES] = { 0 };
	int first = r < 0 ? 0 : r % NR_SIDES;

	for (int k = 0; k < NR_SIDES; k++)
		if (side_round(b, (first + k) % NR_SIDES, r))
			return -1;
	if (baselines(b, t))
		return -1;
	if (r >= 0)
		for (int k = 0; k < NR_BASES; k++)
			b->base[k][r] = t[k];
	return 0;
}

static void print_table(const struct bench *b)
{
	double med[NR_SIDES][NR_OPS], ms, mc;

	for (int s = 0; s < NR_SIDES; s++)
		for (int o = 0; o < NR_OPS; o++)
			med[s][o] = median(b->ns[s][o], b->rounds);
	ms = median(b->base[B_MEMSET], b->rounds);
	mc = median(b->base[B_COPY], b->rounds);
	printf("anonvm vs the host kernel: %lu VMAs x %lu pages = %lu pages; "
	       "THP off;\nmedian ns per operation of %d alternating rounds "
	       "after a warm-up\n\n", b->nvmas, b->per_vma, b->pages,
	       b->rounds);
	printf("%-12s %-12s %10s %12s %7s %12s %7s\n", "operation", "per",
	       "kernel", "anonvm full", "ratio", "anonvm none", "ratio");
	for (int o = 0; o < NR_OPS; o++)
		printf("%-12s %-12s %10.1f %12.1f %6.2fx %12.1f %6.2fx\n",
		       ops[o].name, ops[o].per, med[S_KERNEL][o], med[S_FULL][o],
		       med[S_FULL][o] / med[S_KERNEL][o], med[S_NONE][o],
		       med[S_NONE][o] / med[S_KERNEL][o]);
	printf("\nbaselines (same run, ns per page): 4 KiB memset %.1f; pool "
	       "frame + 4 KiB memcpy %.1f\n", ms, mc);
	printf("anonvm full: first touch / memset %.2fx; COW fault / "
	       "(frame + memcpy) %.2fx\n", med[S_FULL][OP_TOUCH] / ms,
	       med[S_FULL][OP_COW] / mc);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kernel [--rounds N] [--quick]\n"
		"\n"
		"The same workload (mmap, first touch, fork, COW faults in the\n"
		"child, munmap) on the host kernel and on anonvm (payload full and\n"
		"none), in alternating rounds; prints the median ns per operation\n"
		"and the ratio anonvm / kernel.\n"
		"\n"
		"  --rounds N   timed rounds, 1 to %d (default 11)\n"
		"  --quick      100 VMAs x 100 pages instead of 1000 x 100\n",
		MAX_ROUNDS);
}

static int parse_args(int argc, char **argv, struct bench *b)
{
	b->nvmas = 1000;
	b->per_vma = 100;
	b->rounds = 11;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			b->nvmas = 100;
		} else if (!strcmp(argv[i], "--rounds")) {
			char *end;
			long v = i + 1 < argc ? strtol(argv[++i], &end, 10) : 0;

			if (v < 1 || v > MAX_ROUNDS || *end) {
				fprintf(stderr, "kernel: --rounds: expected 1 "
					"to %d\n", MAX_ROUNDS);
				return 2;
			}
			b->rounds = (int)v;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "kernel: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	b->pages = b->nvmas * b->per_vma;
	return -1;
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct avm_config cfg;
	int rc, err;

	rc = parse_args(argc, argv, &b);
	if (rc >= 0)
		return rc;
	if (kserver_start(&b))
		return 1;
	for (int s = S_FULL; s <= S_NONE; s++) {
		avm_config_default(&cfg);
		cfg.node_frames = 2 * b.pages + 1024;
		cfg.payload = s == S_FULL ? AVM_PAYLOAD_FULL : AVM_PAYLOAD_NONE;
		cfg.swap_slots = 0;
		err = avm_sys_create(&cfg, &b.sys[s]);
		if (err)
			return die("avm_sys_create", err), 1;
	}
	rc = 0;
	for (int r = -1; r < b.rounds && !rc; r++)
		rc = round_all(&b, r);
	if (!rc)
		print_table(&b);
	close(b.cmd_fd);
	avm_sys_destroy(b.sys[S_FULL]);
	avm_sys_destroy(b.sys[S_NONE]);
	return rc ? 1 : 0;
}
