/* SPDX-License-Identifier: MIT */
/*
 * The lock validator and lock statistics (src/lib/lockdep.h).  Each bug
 * (inversion, recursion, lock held at return) runs in a forked child that
 * must abort with a report naming both sites; the parent reads the report
 * from a pipe.  The rest of the suite runs with the validator on: this
 * program fails if it is not.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "mm/internal.h"

#ifdef CONFIG_LOCKDEP
#define BASE	0x100000000000UL
#define PG	AVM_PAGE_SIZE

static DEFINE_LOCK_CLASS(test_a_class, "test lock A");
static DEFINE_LOCK_CLASS(test_b_class, "test lock B");
static DEFINE_LOCK_CLASS(test_c_class, "test lock C");

/*
 * The child marks the lines of its acquisitions (MARK(i) on the line of
 * the call) and sends them with send_sites() before the one that aborts.
 */
static int sites[8], nsites;
#define MARK(i)	(sites[i] = __LINE__, nsites = (i) + 1)

static void send_sites(void)
{
	fprintf(stderr, "sites:");
	for (int i = 0; i < nsites; i++)
		fprintf(stderr, " %d", sites[i]);
	fprintf(stderr, "\n");
	fflush(stderr);
}

/* Run fn in a child; its stderr, and whether it died of SIGABRT. */
static bool run_child(void (*fn)(void), char *out, size_t len)
{
	int fd[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fd[0]);
		dup2(fd[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(fd[1]);
	while (n + 1 < len && (r = read(fd[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	printf("child report:\n%s\n", out);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void assert_mentions(const char *report, const char *what)
{
	if (!strstr(report, what))
		fail_msg("report lacks \"%s\"", what);
}

/* The report names the site the child marked i. */
static void assert_site(const char *report, int i)
{
	const char *p = strstr(report, "sites:");
	char s[64];
	int line = 0;

	assert_non_null(p);
	p += 6;
	for (int k = 0; k <= i; k++) {
		int used;

		assert_int_equal(sscanf(p, "%d%n", &line, &used), 1);
		p += used;
	}
	snprintf(s, sizeof(s), "tests/lockdep.c:%d", line);
	assert_mentions(report, s);
}

static void test_enabled(void **state)
{
	/* every test of the suite runs with the validator on */
	assert_true(avm_lockdep_enabled());
}

/* ---- inversion: A -> B, later B -> A ------------------------------------ */

static void invert(void)
{
	struct avm_mutex a, b;

	avm_mutex_init(&a);
	avm_mutex_init(&b);
	MARK(0); avm_mutex_lock(&a, &test_a_class);
	MARK(1); avm_mutex_lock(&b, &test_b_class);
	avm_mutex_unlock(&b);
	avm_mutex_unlock(&a);
	MARK(2); avm_mutex_lock(&b, &test_b_class);
	MARK(3); send_sites(); avm_mutex_lock(&a, &test_a_class);
}

static void test_inversion(void **state)
{
	char rep[8192];

	assert_true(run_child(invert, rep, sizeof(rep)));
	assert_mentions(rep, "lock order inversion");
	assert_mentions(rep, "test lock A");
	assert_mentions(rep, "test lock B");
	for (int i = 0; i < 4; i++)	/* both orders, both sites each */
		assert_site(rep, i);
}

/* A -> B, B -> C, then C -> A: found through the chain of orders. */
static void invert_chain(void)
{
	struct avm_mutex a, b, c;

	avm_mutex_init(&a);
	avm_mutex_init(&b);
	avm_mutex_init(&c);
	MARK(0); avm_mutex_lock(&a, &test_a_class);
	MARK(1); avm_mutex_lock(&b, &test_b_class);
	avm_mutex_unlock(&b);
	avm_mutex_unlock(&a);
	MARK(2); avm_mutex_lock(&b, &test_b_class);
	MARK(3); avm_mutex_lock(&c, &test_c_class);
	avm_mutex_unlock(&c);
	avm_mutex_unlock(&b);
	MARK(4); avm_mutex_lock(&c, &test_c_class);
	MARK(5); send_sites(); avm_mutex_lock(&a, &test_a_class);
}

static void test_inversion_chain(void **state)
{
	char rep[8192];

	assert_true(run_child(invert_chain, rep, sizeof(rep)));
	assert_mentions(rep, "lock order inversion");
	for (int i = 0; i < 6; i++)
		assert_site(rep, i);
}

/* ---- Linux's order is declared: the first contrary use aborts ---------- */

static void ptl_then_mmap(void)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm = test_mm_rw(sys, BASE, PG);

	MARK(0); ptl_lock(mm);
	MARK(1); send_sites(); mmap_read_lock(mm);
}

static void test_declared_order(void **state)
{
	char rep[8192];

	assert_true(run_child(ptl_then_mmap, rep, sizeof(rep)));
	assert_mentions(rep, "lock order inversion");
	assert_mentions(rep, "mm->mmap_lock");
	assert_mentions(rep, "mm->page_table_lock");
	assert_mentions(rep, "Linux's lock order");
	assert_site(rep, 0);
	assert_site(rep, 1);
}

/* ---- recursion and nesting ---------------------------------------------- */

static void recurse(void)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm = test_mm_rw(sys, BASE, PG);

	MARK(0); mmap_read_lock(mm);
	MARK(1); send_sites(); mmap_read_lock(mm);
}

static void test_recursion(void **state)
{
	char rep[8192];

	assert_true(run_child(recurse, rep, sizeof(rep)));
	assert_mentions(rep, "recursive locking");
	assert_mentions(rep, "mm->mmap_lock");
	assert_site(rep, 0);
	assert_site(rep, 1);
}

/* Two locks of one class, of two mms: recursion without the annotation. */
static void two_mms(void)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *a = test_mm_rw(sys, BASE, PG);
	struct avm_mm *b = test_mm_rw(sys, BASE, PG);

	MARK(0); ptl_lock(a);
	MARK(1); send_sites(); ptl_lock(b);
}

static void two_mms_nested(void)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *a = test_mm_rw(sys, BASE, PG);
	struct avm_mm *b = test_mm_rw(sys, BASE, PG);

	ptl_lock(a);
	ptl_lock_nested(b, SINGLE_DEPTH_NESTING);
	ptl_unlock(b);
	ptl_unlock(a);
	avm_sys_destroy(sys);
}

static void test_nesting(void **state)
{
	char rep[8192];

	assert_true(run_child(two_mms, rep, sizeof(rep)));
	assert_mentions(rep, "recursive locking");
	assert_mentions(rep, "mm->page_table_lock");
	assert_site(rep, 0);
	assert_site(rep, 1);
	assert_false(run_child(two_mms_nested, rep, sizeof(rep)));
	assert_null(strstr(rep, "lockdep"));
}

/* ---- held at return to the caller --------------------------------------- */

/* Public functions are linked through the check (ld --wrap). */
int __wrap_avm_mmap(struct avm_mm *mm, unsigned long addr, unsigned long len,
		    int prot, int flags, unsigned long *mapped);

static void test_api_wrapped(void **state)
{
	assert_ptr_equal((void *)avm_mmap, (void *)__wrap_avm_mmap);
}

/* What the wrapper of a function does, around a function that leaks. */
static void leaky_api(void)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm = test_mm_rw(sys, BASE, PG);
	unsigned int depth = lockdep_depth();

	MARK(0); mmap_write_lock(mm);
	send_sites();
	lockdep_api_return("avm_leaky", depth);
}

static void test_held_at_return(void **state)
{
	char rep[8192];

	assert_true(run_child(leaky_api, rep, sizeof(rep)));
	assert_mentions(rep, "lock held at return to the caller");
	assert_mentions(rep, "avm_leaky returns with mm->mmap_lock held");
	assert_site(rep, 0);
}

/* A lock the caller holds across a call is no leak. */
static void test_caller_lock_ok(void **state)
{
	struct avm_mutex a;
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm = test_mm_rw(sys, BASE, PG);

	avm_mutex_init(&a);
	avm_mutex_lock(&a, &test_c_class);
	assert_int_equal(avm_fill(mm, BASE, 1, PG), 0);
	avm_mutex_unlock(&a);
	assert_int_equal(lockdep_depth(), 0);
	avm_sys_destroy(sys);
}

/* ---- lock statistics ---------------------------------------------------- */

static const struct avm_lockstat *find_stat(const struct avm_lockstat *v,
					    long n, const char *name)
{
	for (long i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void test_lockstat(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm = test_mm_rw(sys, BASE, 4 * PG);
	struct avm_lockstat st[32];
	const struct avm_lockstat *m;
	long n;

	assert_int_equal(avm_lockstat_enable(true), 0);
	/* one mmap: the mmap_lock once, for writing */
	assert_int_equal(avm_mmap(mm, BASE + 16 * PG, PG, AVM_PROT_READ,
				  AVM_MAP_FIXED, NULL), 0);
	n = avm_lockstat(st, 32);
	m = find_stat(st, n, "mm->mmap_lock");
	assert_non_null(m);
	assert_int_equal(m->acquisitions, 1);
	assert_int_equal(m->contentions, 0);
	assert_true(m->hold_ns > 0 && m->hold_max_ns == m->hold_ns);
	/* a failed trylock is a contention, without an acquisition */
	mmap_write_lock(mm);
	assert_false(mmap_read_trylock(mm));
	mmap_write_unlock(mm);
	n = avm_lockstat(st, 32);
	m = find_stat(st, n, "mm->mmap_lock");
	assert_int_equal(m->acquisitions, 2);
	assert_int_equal(m->contentions, 1);
	/* faults: the page-table lock, pages allocated under sys->lock */
	assert_int_equal(avm_fill(mm, BASE, 7, 4 * PG), 0);
	n = avm_lockstat(st, 32);
	assert_non_null(find_stat(st, n, "mm->page_table_lock"));
	assert_non_null(find_stat(st, n, "sys->lock"));
	/* off: nothing more is counted */
	assert_int_equal(avm_lockstat_enable(false), 0);
	assert_int_equal(avm_fill(mm, BASE, 8, 4 * PG), 0);
	assert_int_equal(avm_lockstat(st, 32), n);
	m = find_stat(st, n, "mm->mmap_lock");
	assert_int_equal(m->acquisitions, 3);	/* the fill's read lock */
	avm_sys_destroy(sys);
}

#endif

int main(void)
{
#ifndef CONFIG_LOCKDEP
	printf("skip: built without the lock validator (make LOCKDEP=0)\n");
	return 77;
#else
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enabled),
		cmocka_unit_test(test_inversion),
		cmocka_unit_test(test_inversion_chain),
		cmocka_unit_test(test_declared_order),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_api_wrapped),
		cmocka_unit_test(test_held_at_return),
		cmocka_unit_test(test_caller_lock_ok),
		cmocka_unit_test(test_lockstat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
