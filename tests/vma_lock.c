/* SPDX-License-Identifier: MIT */
/*
 * Per-VMA locks (issue 14): which lock each fault takes, and faults racing
 * the calls that change VMAs.
 *
 * - paths: the first fault of a VMA has no anon_vma and goes to mmap_lock
 *   (vma_lock_no_anon); the next ones take the VMA's lock
 *   (vma_lock_faults); faults = the sum of the three counters.
 * - write-locked: while a writer holds mmap_lock for writing and has
 *   write-locked VMA X (here: this thread, and a thread stopped inside
 *   mremap's PTE move), lock_vma_under_rcu fails for X at once, succeeds
 *   for another VMA Y, and a store into Y completes without mmap_lock
 *   (with mmap_lock taken it would deadlock or abort in the validator).
 * - concurrent: two threads fault on their own pages while a third
 *   mprotects, mremaps away and back, and munmaps/mmaps the same ranges;
 *   every byte read is checked against a shadow, the checker is clean at
 *   the end.  $AVM_SEED replays, $VMA_LOCK_ONLY=DESIGN runs one design.
 *   Two faulters on one churn page found do_anonymous_page installing
 *   over the other's PTE (a leaked frame, 1 run in 4 on anonmm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "mm/internal.h"

#define A	0x100000000000UL
#define B	0x200000000000UL
#define T	0x300000000000UL
#define PG	AVM_PAGE_SIZE

static const char *const designs[] = { "linux", "avc-tree", "avc-2010",
	"anon-vma-2004", "anonmm", "pte-chain", "cow-context" };
#define NDESIGNS (sizeof(designs) / sizeof(designs[0]))

static void expect_sum(const struct avm_stats *st)
{
	assert_int_equal(st->faults, st->vma_lock_faults + st->vma_lock_miss +
				     st->vma_lock_no_anon);
}


static void paths(const char *design)
{
	struct avm_sys *sys = test_sys_for(design, 1, 1024, 0);
	struct avm_mm *mm = test_mm_rw(sys, A, 4 * PG);
	struct avm_stats s0, s1;

	s0 = test_stats(sys);
	test_wr(mm, A, 0x11);			/* first fault: no anon_vma */
	s1 = test_stats(sys);
	assert_int_equal(s1.vma_lock_no_anon - s0.vma_lock_no_anon, 1);
	assert_int_equal(s1.vma_lock_faults, s0.vma_lock_faults);
	test_wr(mm, A + PG, 0x22);		/* its anon_vma is there now */
	assert_int_equal(test_rd(mm, A + 2 * PG), 0);	/* zero page */
	s0 = test_stats(sys);
	/* every design sets vma->anon_vma (or a marker) on a first fault */
	assert_int_equal(s0.vma_lock_faults - s1.vma_lock_faults, 2);
	assert_int_equal(s0.vma_lock_no_anon, s1.vma_lock_no_anon);
	test_wr(mm, A + PG, 0x23);		/* present and writable */
	s1 = test_stats(sys);
	assert_int_equal(s1.faults, s0.faults);
	assert_int_equal(s1.vma_lock_retries, 0);
	expect_sum(&s1);
	assert_int_equal(test_rd(mm, A), 0x11);
	assert_int_equal(test_rd(mm, A + PG), 0x23);
	/* no VMA there: the lockless lookup fails, mmap_lock says EFAULT */
	assert_int_equal(avm_write(mm, B, "x", 1), -EFAULT);
	assert_check(sys);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

static void test_paths(void **state)
{
	for (size_t i = 0; i < NDESIGNS; i++)
		paths(designs[i]);
}

/* This thread is the writer: mmap_lock for writing, X write-locked. */
static void write_locked_self(void)
{
	struct avm_sys *sys = test_sys_for("linux", 1, 1024, 0);
	struct avm_mm *mm = test_mm_rw(sys, A, 2 * PG);
	struct vm_area_struct *x, *y;
	struct avm_stats s0, s1;
	unsigned long b;

	assert_int_equal(avm_mmap(mm, B, 2 * PG, AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED, &b), 0);
	test_wr(mm, A, 1);
	test_wr(mm, B, 2);
	mmap_write_lock(mm);
	x = vma_lookup(mm, A);
	vma_start_write(x);
	assert_null(lock_vma_under_rcu(mm, A));		/* X: write-locked */
	y = lock_vma_under_rcu(mm, B);
	assert_ptr_equal(y, vma_lookup(mm, B));		/* Y: not */
	vma_end_read(y);
	s0 = test_stats(sys);
	test_wr(mm, B + PG, 3);	/* a fault with mmap_lock held elsewhere */
	s1 = test_stats(sys);
	assert_int_equal(s1.vma_lock_faults - s0.vma_lock_faults, 1);
	mmap_write_unlock(mm);				/* ends X's lock */
	x = lock_vma_under_rcu(mm, A);
	assert_ptr_equal(x, vma_lookup(mm, A));
	vma_end_read(x);
	assert_int_equal(avm_munmap(mm, A, 2 * PG), 0);
	assert_null(lock_vma_under_rcu(mm, A));		/* removed */
	assert_check(sys);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

struct stopped {
	struct avm_mm *mm;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool inside, go;
	int err;
};

/* The mremap thread waits here, holding mmap_lock, source write-locked. */
static void stop_hook(void *arg, enum avm_race_point point, unsigned long mm,
		      unsigned long addr)
{
	struct stopped *s = arg;

	if (point != AVM_RACE_MREMAP_MOVE || s->inside)
		return;
	pthread_mutex_lock(&s->mu);
	s->inside = true;
	pthread_cond_broadcast(&s->cv);
	while (!s->go)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static void *mremap_thread(void *arg)
{
	struct stopped *s = arg;
	unsigned long to;

	s->err = avm_mremap(s->mm, A, 2 * PG, 2 * PG,
			    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, T, &to);
	return NULL;
}

/* Another thread is the writer, stopped inside mremap. */
static void write_locked_thread(void)
{
	struct avm_sys *sys = test_sys_for("linux", 1, 1024, 0);
	struct stopped s = { .mu = PTHREAD_MUTEX_INITIALIZER,
			     .cv = PTHREAD_COND_INITIALIZER };
	struct vm_area_struct *y;
	struct avm_stats s0, s1;
	unsigned long b;
	pthread_t t;

	s.mm = test_mm_rw(sys, A, 2 * PG);
	assert_int_equal(avm_mmap(s.mm, B, 2 * PG,
				  AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED, &b), 0);
	test_wr(s.mm, A, 0x41);
	test_wr(s.mm, A + PG, 0x42);
	test_wr(s.mm, B, 0x43);
	avm_set_race_hook(sys, stop_hook, &s);
	assert_int_equal(pthread_create(&t, NULL, mremap_thread, &s), 0);
	pthread_mutex_lock(&s.mu);
	while (!s.inside)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	/* the source is write-locked: a fault there would fall back (and
	   wait for mmap_lock); the lookup itself never waits */
	assert_null(lock_vma_under_rcu(s.mm, A));
	y = lock_vma_under_rcu(s.mm, B);
	assert_non_null(y);
	vma_end_read(y);
	s0 = test_stats(sys);
	test_wr(s.mm, B + PG, 0x44);	/* completes while mremap is stopped */
	assert_int_equal(test_rd(s.mm, B), 0x43);
	s1 = test_stats(sys);
	assert_int_equal(s1.vma_lock_faults - s0.vma_lock_faults, 1);
	assert_int_equal(s1.vma_lock_miss, s0.vma_lock_miss);
	pthread_mutex_lock(&s.mu);
	s.go = true;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	pthread_join(t, NULL);
	avm_set_race_hook(sys, NULL, NULL);
	assert_int_equal(s.err, 0);
	assert_int_equal(test_rd(s.mm, T), 0x41);
	assert_int_equal(test_rd(s.mm, T + PG), 0x42);
	assert_int_equal(avm_read(s.mm, A, &b, 1), -EFAULT);
	assert_check(sys);
	avm_exit(s.mm);
	avm_sys_destroy(sys);
}

static void test_write_locked(void **state)
{
	write_locked_self();
	write_locked_thread();
}

/* ---- faults racing VMA changes ---------------------------------------- */

#define STABLE	48		/* pages with an exact shadow */
#define CHURN	16		/* pages unmapped and mapped again */
#define FAULTERS 2

struct race {
	struct avm_sys *sys;
	struct avm_mm *mm;
	uint64_t seed;
	unsigned long ops;
	unsigned char shadow[STABLE];	/* page i: owned by i % FAULTERS */
	atomic_bool done;
	atomic_int bad;
	char msg[256];
};

static void race_fail(struct race *r, const char *fmt, unsigned long a,
		     unsigned long b, unsigned long c)
{
	if (atomic_fetch_add(&r->bad, 1) == 0)
		snprintf(r->msg, sizeof(r->msg), fmt, a, b, c);
}

struct faulter {
	struct race *r;
	int id;
	uint64_t rng;
};

/* An access to a stable page may find it read-only or moved away for a
   moment: retry until the changer puts it back. */
static int retry(int err)
{
	if (err == -EFAULT) {
		sched_yield();
		return 1;
	}
	return 0;
}

static void stable_op(struct faulter *f)
{
	struct race *r = f->r;
	unsigned long i = test_below(&f->rng, STABLE / FAULTERS) * FAULTERS +
			  (unsigned long)f->id;
	unsigned long a = A + i * PG;
	unsigned char b, got;
	int err;

	if (test_below(&f->rng, 2)) {	/* a page is filled at once */
		b = (unsigned char)(test_rand(&f->rng) | 1);
		while (retry(err = avm_fill(r->mm, a, b, PG)))
			;
		if (err)
			race_fail(r, "fill %#lx: %lu (%lu)", a,
				 (unsigned long)-err, 0);
		else
			r->shadow[i] = b;
		return;
	}
	a += test_below(&f->rng, PG);
	while (retry(err = avm_read(r->mm, a, &got, 1)))
		;
	if (err)
		race_fail(r, "read %#lx: %lu (%lu)", a, (unsigned long)-err, 0);
	else if (got != r->shadow[i])
		race_fail(r, "page %lu: read %#lx, expected %#lx", i, got,
			 r->shadow[i]);
}

/* Churn pages lose their contents at any time: a read sees 0 or a byte
   some faulter stored (odd), whole pages at once. */
static void churn_op(struct faulter *f)
{
	struct race *r = f->r;
	unsigned long a = A + (STABLE + test_below(&f->rng, CHURN)) * PG;
	unsigned char b = (unsigned char)(test_rand(&f->rng) | 1);
	static __thread unsigned char buf[PG];
	int err;

	if (test_below(&f->rng, 2)) {
		err = avm_fill(r->mm, a, b, PG);
		if (err && err != -EFAULT)
			race_fail(r, "fill %#lx: %lu (%lu)", a,
				 (unsigned long)-err, 0);
		return;
	}
	err = avm_read(r->mm, a, buf, PG);
	if (err && err != -EFAULT) {
		race_fail(r, "read %#lx: %lu (%lu)", a, (unsigned long)-err, 0);
		return;
	}
	for (size_t k = 0; !err && k < PG; k++)
		if (buf[k] != buf[0] || (buf[0] && !(buf[0] & 1))) {
			race_fail(r, "churn page %#lx byte %lu: %#lx", a, k,
				 buf[k]);
			break;
		}
}

static void *faulter(void *arg)
{
	struct faulter *f = arg;

	for (unsigned long n = 0; n < f->r->ops; n++) {
		if (test_below(&f->rng, 4))
			stable_op(f);
		else
			churn_op(f);
	}
	return NULL;
}

/* [first, first + n) of the stable pages, as addresses */
static void stable_range(uint64_t *rng, unsigned long *addr,
			 unsigned long *len)
{
	unsigned long first = test_below(rng, STABLE);
	unsigned long n = 1 + test_below(rng, STABLE - first);

	*addr = A + first * PG;
	*len = n * PG;
}

static int change(struct race *r, uint64_t *rng)
{
	unsigned long a, len, got;
	int err;

	switch (test_below(rng, 3)) {
	case 0:		/* read-only for a moment: contents stay */
		stable_range(rng, &a, &len);
		err = avm_mprotect(r->mm, a, len, AVM_PROT_READ);
		if (!err)
			err = avm_mprotect(r->mm, a, len,
					   AVM_PROT_READ | AVM_PROT_WRITE);
		return err;
	case 1:		/* away and back: contents stay */
		stable_range(rng, &a, &len);
		err = avm_mremap(r->mm, a, len, len, AVM_MREMAP_MAYMOVE |
				 AVM_MREMAP_FIXED, T, &got);
		if (!err)
			err = avm_mremap(r->mm, T, len, len,
					 AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
					 a, &got);
		return err;
	default:	/* churn pages: unmapped, mapped again */
		a = A + (STABLE + test_below(rng, CHURN)) * PG;
		len = (1 + test_below(rng, (A + (STABLE + CHURN) * PG - a) /
					   PG)) * PG;
		err = avm_munmap(r->mm, a, len);
		if (!err)
			err = avm_mmap(r->mm, a, len,
				       AVM_PROT_READ | AVM_PROT_WRITE,
				       AVM_MAP_FIXED, &got);
		return err;
	}
}

static void race_design(const char *design, uint64_t seed)
{
	struct race r = { .seed = seed, .ops = 3000 };
	struct faulter f[FAULTERS];
	pthread_t t[FAULTERS];
	uint64_t rng = seed * 2654435761u + 7;
	struct avm_stats st;
	unsigned char got;

	r.sys = test_sys_for(design, 1, 4096, 0);
	r.mm = test_mm_rw(r.sys, A, (STABLE + CHURN) * PG);
	for (int k = 0; k < FAULTERS; k++) {
		f[k] = (struct faulter){ .r = &r, .id = k,
					 .rng = seed + 31 * (uint64_t)k + 1 };
		assert_int_equal(pthread_create(&t[k], NULL, faulter, &f[k]),
				 0);
	}
	for (int n = 0; n < 300 && !atomic_load(&r.bad); n++) {
		int err = change(&r, &rng);

		if (err) {
			race_fail(&r, "change %d: %lu (%lu)", (unsigned long)n,
				 (unsigned long)-err, 0);
			break;
		}
	}
	for (int k = 0; k < FAULTERS; k++)
		pthread_join(t[k], NULL);
	if (atomic_load(&r.bad))
		print_error("%s: %s (seed %llu)\n", design, r.msg,
			    (unsigned long long)seed);
	assert_int_equal(atomic_load(&r.bad), 0);
	for (unsigned long i = 0; i < STABLE; i++) {
		assert_int_equal(avm_read(r.mm, A + i * PG, &got, 1), 0);
		if (got != r.shadow[i])
			print_error("%s: page %lu reads %#x, expected %#x "
				    "(seed %llu)\n", design, i, got,
				    r.shadow[i], (unsigned long long)seed);
		assert_int_equal(got, r.shadow[i]);
	}
	avm_stats(r.sys, &st);
	expect_sum(&st);
	assert_true(st.vma_lock_faults > 0);
	printf("%s: %lu faults: %lu per-VMA lock, %lu lookup/lock failed, "
	       "%lu no anon_vma\n", design, st.faults, st.vma_lock_faults,
	       st.vma_lock_miss, st.vma_lock_no_anon);
	assert_check(r.sys);
	avm_exit(r.mm);
	avm_sys_destroy(r.sys);
}

static void test_concurrent(void **state)
{
	uint64_t seed = test_seed("vma_lock");

	const char *only = getenv("VMA_LOCK_ONLY");

	for (size_t i = 0; i < NDESIGNS; i++)
		if (!only || !strcmp(only, designs[i]))
			race_design(designs[i], seed + i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_write_locked),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
