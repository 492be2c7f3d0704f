/* SPDX-License-Identifier: MIT */
/*
 * vm.max_map_count against the host kernel.  A forked child measures its
 * room (the host's limit less its own mappings: scn_host_map_room), fills
 * it with one-page VMAs and then makes the calls whose answers the limit
 * decides - mmap past it, mprotect and munmap splits at and below it,
 * mremap moves and their margins - on real memory; the library, configured
 * with that room, must give every answer the kernel gave and end with as
 * many VMAs.  Then the same rules on a tiny limit, by exact values.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "scenario/scenario.h"

#define B	0x140000000000UL
#define PG	4096UL
#define SLOT(i)	(B + 4 * PG + (unsigned long)(i) * 2 * PG)	/* one-page VMAs */
#define FAR	0x180000000000UL
#define MAXN	200000

enum { MMAP, MUNMAP, MPROTECT, MREMAP };

struct op {
	int kind;
	unsigned long addr, len, to;
};

struct ops {
	struct op *v;
	int n;
};

struct answers {
	unsigned long room, filled;	/* filled: one-page VMAs that fit */
	long vmas;			/* in the window at the end */
	int err[64];			/* of the ops after the fill */
};

/* ---- the kernel side (in a child) --------------------------------------- */

static int host_op(const struct op *o)
{
	void *p;

	switch (o->kind) {
	case MMAP:
		p = mmap((void *)o->addr, o->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		return p == MAP_FAILED ? errno : 0;
	case MUNMAP:
		return munmap((void *)o->addr, o->len) ? errno : 0;
	case MPROTECT:
		return mprotect((void *)o->addr, o->len, PROT_READ) ? errno : 0;
	default:
		p = mremap((void *)o->addr, o->len, o->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)o->to);
		return p == MAP_FAILED ? errno : 0;
	}
}

static long window_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long long s, e;
	char line[512];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 &&
		    s >= B && e <= SCN_WINDOW_END)	/* not ASan's shadow */
			n++;
	fclose(f);
	return n;
}

/* Fill the room with one-page VMAs: how many fit before ENOMEM. */
static unsigned long fill(int (*op)(void *, const struct op *), void *arg)
{
	unsigned long i;

	for (i = 0; i < MAXN; i++) {
		struct op o = { MMAP, SLOT(i), PG, 0 };

		if (op(arg, &o))
			break;
	}
	return i;
}

static int host_cb(void *arg, const struct op *o)
{
	return host_op(o);
}

/*
 * What follows the fill, given how many one-page VMAs it made: calls at
 * the limit, one VMA below it, and further below.
 */
static void script(unsigned long n, struct ops *s)
{
	static struct op v[64];
	int k = 0;

#define OP(kind, a, l, t)	(v[k++] = (struct op){ kind, a, l, t })
	OP(MPROTECT, B + PG, PG, 0);		/* split at count = limit + 1 */
	OP(MUNMAP, B + PG, PG, 0);		/* hole in the middle */
	OP(MMAP, SLOT(n), PG, 0);		/* count > limit */
	OP(MUNMAP, SLOT(n - 1), PG, 0);		/* whole VMA: always */
	OP(MMAP, SLOT(n - 1), PG, 0);		/* count == limit: may */
	OP(MUNMAP, SLOT(n - 1), 2 * PG, 0);
	OP(MUNMAP, SLOT(n - 2), PG, 0);		/* limit - 1 */
	OP(MPROTECT, B + PG, PG, 0);		/* 2nd split fails, 1st stays */
	OP(MUNMAP, SLOT(n - 3), PG, 0);
	OP(MPROTECT, B + PG, PG, 0);		/* one split now */
	OP(MUNMAP, B + PG, PG, 0);		/* whole VMA */
	OP(MREMAP, SLOT(n - 4), PG, FAR);	/* count + 5 >= limit */
	for (int i = 5; i < 11; i++)
		OP(MUNMAP, SLOT(n - i), PG, 0);
	OP(MREMAP, SLOT(n - 11), PG, FAR);	/* room again */
	OP(MMAP, B + PG, PG, 0);
	OP(MUNMAP, B + PG, PG, 0);		/* middle: fits now */
#undef OP
	s->v = v;
	s->n = k;
}

static void kernel_side(int fd)
{
	struct answers a;
	struct ops s;

	memset(&a, 0, sizeof(a));
	a.room = scn_host_map_room();
	{
		struct op first = { MMAP, B, 3 * PG, 0 };

		if (host_op(&first))
			_exit(3);
	}
	a.filled = fill(host_cb, NULL);
	script(a.filled, &s);
	for (int i = 0; i < s.n; i++)
		a.err[i] = host_op(&s.v[i]);
	a.vmas = window_vmas();
	if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
		_exit(4);
	_exit(0);
}

/* ---- the library side ----------------------------------------------------- */

static int lib_op(void *arg, const struct op *o)
{
	struct avm_mm *mm = arg;
	int rw = AVM_PROT_READ | AVM_PROT_WRITE;

	switch (o->kind) {
	case MMAP:
		return -avm_mmap(mm, o->addr, o->len, rw,
				 AVM_MAP_FIXED_NOREPLACE, NULL);
	case MUNMAP:
		return -avm_munmap(mm, o->addr, o->len);
	case MPROTECT:
		return -avm_mprotect(mm, o->addr, o->len, AVM_PROT_READ);
	default:
		return -avm_mremap(mm, o->addr, o->len, o->len,
				   AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, o->to,
				   NULL);
	}
}

static struct avm_sys *lib_sys(unsigned long limit)
{
	struct avm_config cfg;
	struct avm_sys *sys;

	avm_config_default(&cfg);
	cfg.node_frames = 1024;
	cfg.swap_slots = 0;
	cfg.max_map_count = limit;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	return sys;
}

static void test_host(void **state)
{
	struct answers k, l;
	struct avm_sys *sys;
	struct avm_mm *mm;
	struct ops s;
	char msg[256];
	int fd[2], status;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fd[0]);
		kernel_side(fd[1]);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], &k, sizeof(k)), (ssize_t)sizeof(k));
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("host: room %lu, %lu one-page VMAs fitted\n", k.room, k.filled);
	/* the kernel's mmap refuses only above the limit: room + 1 fit,
	   the 3-page VMA first */
	assert_int_equal(k.filled, k.room);
	/* a process forked from this one has the room this one measures
	   (anonvm diff relies on it) */
	assert_int_equal(scn_host_map_room(), k.room);

	memset(&l, 0, sizeof(l));
	sys = lib_sys(k.room);
	assert_int_equal(avm_mm_create(sys, &mm), 0);
	assert_int_equal(avm_mmap(mm, B, 3 * PG, AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	l.filled = fill(lib_op, mm);
	assert_int_equal(l.filled, k.filled);
	script(l.filled, &s);
	for (int i = 0; i < s.n; i++) {
		l.err[i] = lib_op(mm, &s.v[i]);
		if (l.err[i] != k.err[i])
			fprintf(stderr, "op %d (kind %d at %#lx): kernel %d, "
				"anonvm %d\n", i, s.v[i].kind, s.v[i].addr,
				k.err[i], l.err[i]);
	}
	for (int i = 0; i < s.n; i++)
		assert_int_equal(l.err[i], k.err[i]);
	assert_int_equal(avm_vmas(mm, NULL, 0), k.vmas);
	/* the script met the limit where it meant to */
	assert_int_equal(k.err[0], ENOMEM);
	assert_int_equal(k.err[1], ENOMEM);
	assert_int_equal(k.err[2], ENOMEM);
	assert_int_equal(k.err[4], 0);
	assert_int_equal(k.err[7], ENOMEM);
	assert_int_equal(k.err[9], 0);
	assert_int_equal(k.err[11], ENOMEM);
	assert_int_equal(k.err[18], 0);
	assert_int_equal(avm_check(sys, msg, sizeof(msg)), 0);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

/* The same rules at limit 4, value by value. */
static void test_small_limit(void **state)
{
	struct avm_sys *sys = lib_sys(4);
	int rw = AVM_PROT_READ | AVM_PROT_WRITE;
	struct avm_mm *mm, *child;
	char msg[256];

	assert_int_equal(avm_mm_create(sys, &mm), 0);
	for (int i = 0; i < 5; i++)	/* counts 0..4 are not above 4 */
		assert_int_equal(avm_mmap(mm, SLOT(i), PG, rw,
					  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	assert_int_equal(avm_mmap(mm, SLOT(5), PG, rw, AVM_MAP_FIXED_NOREPLACE,
				  NULL), -ENOMEM);
	/* merging needs no new VMA, but the check comes first */
	assert_int_equal(avm_mmap(mm, SLOT(0) + PG, PG, rw,
				  AVM_MAP_FIXED_NOREPLACE, NULL), -ENOMEM);
	assert_int_equal(avm_munmap(mm, SLOT(4), PG), 0);
	assert_int_equal(avm_munmap(mm, SLOT(3), PG), 0);	/* 3 VMAs */
	assert_int_equal(avm_mmap(mm, B, 3 * PG, rw, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);			/* 4 */
	assert_int_equal(avm_mprotect(mm, B + PG, PG, AVM_PROT_READ), -ENOMEM);
	assert_int_equal(avm_madvise(mm, B + PG, PG, AVM_MADV_DONTFORK),
			 -ENOMEM);
	assert_int_equal(avm_munmap(mm, B + PG, PG), -ENOMEM);
	assert_int_equal(avm_munmap(mm, B, PG), 0);	/* head: no check */
	assert_int_equal(avm_vmas(mm, NULL, 0), 4);
	/* fork copies every VMA whatever the limit */
	assert_int_equal(avm_fork(mm, &child), 0);
	assert_int_equal(avm_vmas(child, NULL, 0), 4);
	assert_int_equal(avm_check(sys, msg, sizeof(msg)), 0);
	avm_exit(child);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

/* gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/*
 * As `anonvm diff` does it: 66,000 one-page mmaps with gaps, on real
 * worker processes and on the library given the room measured before the
 * kernel run.  Results and states must agree, ENOMEM from the same
 * statement on.  Needs root (the kernel executor); skipped in sanitizer
 * builds (slow there, and `diff` does not run them).
 */
static void test_diff(void **state)
{
	enum { N = 66000 };
	size_t len = 16 + (size_t)N * 32, off = 0;
	char *text, err[256], msg[1024];
	struct scn_lib_opts lo = { 0 };
	struct scn_trace kt, lt;
	struct scenario *s;
	int first_k = -1, first_l = -1, rc;

#ifdef UNDER_ASAN
	skip();
#endif
	text = malloc(len);
	assert_non_null(text);
	off += (size_t)snprintf(text + off, len - off, "spawn P\n");
	for (int i = 0; i < N; i++)
		off += (size_t)snprintf(text + off, len - off,
					"P mmap %#lx 1 rw\n", SLOT(i));
	snprintf(text + off, len - off, "check\n");
	assert_int_equal(scn_parse_string("maps.scn", text, &s, err,
					  sizeof(err)), 0);
	free(text);
	lo.max_map_count = scn_host_map_room();
	lo.no_expect = true;
	rc = scn_run_native(s, &kt, err, sizeof(err));
	if (rc == -EPERM || rc == -EBUSY) {
		printf("skip: %s\n", err);
		scn_trace_free(&kt);
		scn_free(s);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(scn_run_lib(s, &lo, &lt, err, sizeof(err)), 0);
	rc = scn_compare(s, &kt, &lt, SCN_CMP_KERNEL, msg, sizeof(msg));
	if (rc)
		fprintf(stderr, "%s\n", msg);
	assert_int_equal(rc, 0);
	for (int i = 0; i < s->nstmts && i < kt.nresults; i++) {
		if (first_k < 0 && kt.results[i].err == ENOMEM)
			first_k = i;
		if (first_l < 0 && lt.results[i].err == ENOMEM)
			first_l = i;
	}
	printf("diff: room %lu, ENOMEM from statement %d on both\n",
	       lo.max_map_count, first_k);
	assert_true(first_k > 60000);
	assert_int_equal(first_l, first_k);
	scn_trace_free(&kt);
	scn_trace_free(&lt);
	scn_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_small_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
