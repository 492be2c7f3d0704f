/* SPDX-License-Identifier: MIT */
/*
 * The mremap rmap-ordering rule (reference section 5, seed 2011-11): an
 * rmap walk visits an anon_vma's VMAs in vm_pgoff order, so a move whose
 * destination VMA sorts no later than the source - it merged into a VMA
 * whose vm_pgoff is <= the source's - must move the PTEs under the
 * anon_vma lock (need_rmap_locks; counted in mremap_rmap_locked).  A move
 * to a new VMA, or into a VMA that still sorts after the source, relies on
 * the walk order alone and takes no lock.
 *
 * Every case asserts the exact counter decision, the resulting layout,
 * the data, the checker, and that the rmap still finds every moved page
 * (a forked child migrates the shared pages; the parent's moved mappings
 * must follow).  A threaded case races such moves against migration.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define A	0x100000000000UL
#define B	0x200000000000UL
#define C	0x300000000000UL
#define PG	AVM_PAGE_SIZE
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define MOVE	(AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED)

struct ctx {
	struct avm_sys *sys;
	struct avm_mm *p, *c;		/* c: forked child, may be NULL */
	unsigned long moves, locked;	/* counters at the last look */
};

/* mremap, then assert exactly one move and whether it took the lock. */
static void move(struct ctx *x, unsigned long from, unsigned long len,
		 unsigned long to, bool want_locked)
{
	struct avm_stats st;
	unsigned long got;

	avm_stats(x->sys, &st);
	x->moves = st.mremap_moves;
	x->locked = st.mremap_rmap_locked;
	assert_int_equal(avm_mremap(x->p, from, len, len, MOVE, to, &got), 0);
	assert_int_equal(got, to);
	avm_stats(x->sys, &st);
	assert_int_equal(st.mremap_moves - x->moves, 1);
	if (st.mremap_rmap_locked - x->locked != (want_locked ? 1u : 0u)) {
		fprintf(stderr, "move %#lx+%#lx -> %#lx: need_rmap_locks %s, "
			"expected %s\n", from, len, to,
			st.mremap_rmap_locked - x->locked ? "true" : "false",
			want_locked ? "true" : "false");
		fail();
	}
	assert_check(x->sys);
}

/* The VMAs of mm are exactly these [start, end, pgoff) triples. */
static void layout(struct avm_mm *mm, int n, const unsigned long (*want)[3])
{
	struct avm_vma_info vi[16];
	long got = avm_vmas(mm, vi, 16);

	if (got != n) {
		for (long i = 0; i < got && i < 16; i++)
			fprintf(stderr, "  [%#lx, %#lx) pgoff %#lx\n",
				vi[i].start, vi[i].end, vi[i].pgoff);
	}
	assert_int_equal(got, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(vi[i].start, want[i][0]);
		assert_int_equal(vi[i].end, want[i][1]);
		assert_int_equal(vi[i].pgoff, want[i][2]);
	}
}

/* Pages [first, first + n) of the original range now live at addr. */
static void expect(struct ctx *x, unsigned long addr, int first, int n)
{
	for (int i = 0; i < n; i++) {
		struct avm_page_info pi;

		test_expect_page(x->p, addr + i * PG, 0x40 + first + i);
		pi = test_info(x->p, addr + i * PG);
		if (!test_design_by_address())	/* there: an address */
			assert_int_equal(pi.index, (A >> 12) + first + i);
	}
}

/*
 * The child, which still maps the original pages at A, migrates them all:
 * the parent's moved mappings must be found and follow (same frame).
 */
static void follow(struct ctx *x, unsigned long paddr, int first, int n)
{
	static unsigned int node = 1;
	unsigned long moved;

	if (!x->c)
		return;
	assert_int_equal(avm_migrate(x->c, A, 8 * PG, node, &moved), 0);
	for (int i = 0; i < n; i++) {
		struct avm_page_info pp = test_info(x->p, paddr + i * PG);
		struct avm_page_info cp = test_info(x->c, A + (first + i) * PG);

		assert_int_equal(pp.state, AVM_PTE_PRESENT);
		if (test_design_copies_on_move() && pp.pfn != cp.pfn) {
			/* the parent's move copied the shared page */
			assert_int_equal(cp.node, node);
			assert_int_equal(pp.mapcount, 1);
			assert_int_equal(cp.mapcount, 1);
			continue;
		}
		assert_int_equal(pp.pfn, cp.pfn);
		assert_int_equal(pp.node, node);
		assert_int_equal(pp.mapcount, 2);
	}
	node ^= 1;
	assert_check(x->sys);
}

static void setup(struct ctx *x, bool forked)
{
	memset(x, 0, sizeof(*x));
	x->sys = test_sys(2);
	assert_int_equal(avm_mm_create(x->sys, &x->p), 0);
	assert_int_equal(avm_mmap(x->p, A, 8 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(avm_fill(x->p, A + i * PG, 0x40 + i, PG), 0);
	if (forked)
		assert_int_equal(avm_fork(x->p, &x->c), 0);
}

static void teardown(struct ctx *x)
{
	struct avm_stats st;

	if (x->c) {
		for (int i = 0; i < 8; i++)
			test_expect_page(x->c, A + i * PG, 0x40 + i);
		avm_exit(x->c);
		assert_check(x->sys);
	}
	avm_exit(x->p);
	avm_stats(x->sys, &st);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(st.anon_vmas, 0);
	avm_sys_destroy(x->sys);
}

#define P0	(A >> 12)

/*
 * One walk through the cases, each starting from the layout the last left:
 *   1. to a new VMA                         -> no lock
 *   2. back, merging into prev (pgoff <=)   -> lock
 *   3. a middle part into next, pgoff >     -> no lock
 *   4. a whole VMA into next, pgoff ==      -> lock
 *   5. back into a hole, merging both sides -> lock
 */
static void cases(bool forked)
{
	struct ctx x;

	setup(&x, forked);
	/* 1: [A+4, A+8) -> B: a new VMA; it keeps pgoff P0+4 */
	move(&x, A + 4 * PG, 4 * PG, B, false);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A, A + 4 * PG, P0 }, { B, B + 4 * PG, P0 + 4 } });
	expect(&x, A, 0, 4);
	expect(&x, B, 4, 4);
	follow(&x, B, 4, 4);

	/* 2: B -> A+4: merges into [A, A+4) whose pgoff P0 <= P0+4 */
	move(&x, B, 4 * PG, A + 4 * PG, true);
	layout(x.p, 1, (const unsigned long[][3]){ { A, A + 8 * PG, P0 } });
	expect(&x, A, 0, 8);
	follow(&x, A, 0, 8);

	/* 3: [A+4, A+8) -> B again (new VMA, no lock), then the middle part
	   [A+2, A+4) (pgoff P0+2, its VMA's pgoff P0) to B-2: it merges into
	   the VMA at B, which then starts at pgoff P0+2 > P0 */
	move(&x, A + 4 * PG, 4 * PG, B, false);
	move(&x, A + 2 * PG, 2 * PG, B - 2 * PG, false);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A, A + 2 * PG, P0 }, { B - 2 * PG, B + 4 * PG, P0 + 2 } });
	expect(&x, A, 0, 2);
	expect(&x, B - 2 * PG, 2, 6);
	follow(&x, B - 2 * PG, 2, 6);

	/* 4: the whole VMA [A, A+2) (pgoff P0) to B-4: merges into the next
	   VMA, which then starts at pgoff P0 == the source's */
	move(&x, A, 2 * PG, B - 4 * PG, true);
	layout(x.p, 1, (const unsigned long[][3]){
		{ B - 4 * PG, B + 4 * PG, P0 } });
	expect(&x, B - 4 * PG, 0, 8);
	follow(&x, B - 4 * PG, 0, 8);

	/* 5: punch the middle out to C (a new VMA), then put it back: the
	   destination joins both neighbours; the result is the left one,
	   pgoff P0 <= P0+3 */
	move(&x, B - PG, 2 * PG, C, false);
	layout(x.p, 3, (const unsigned long[][3]){
		{ B - 4 * PG, B - PG, P0 }, { B + PG, B + 4 * PG, P0 + 5 },
		{ C, C + 2 * PG, P0 + 3 } });
	follow(&x, C, 3, 2);
	move(&x, C, 2 * PG, B - PG, true);
	layout(x.p, 1, (const unsigned long[][3]){
		{ B - 4 * PG, B + 4 * PG, P0 } });
	expect(&x, B - 4 * PG, 0, 8);
	follow(&x, B - 4 * PG, 0, 8);
	teardown(&x);
}

static void test_cases(void **state)
{
	cases(false);
}

static void test_cases_forked(void **state)
{
	cases(true);
}

/*
 * Destinations next to VMAs they cannot merge with: a new VMA each time,
 * never the lock.
 */
static void test_no_merge(void **state)
{
	struct ctx x;

	setup(&x, true);
	/* a separately faulted VMA (own anon_vma) right below B */
	assert_int_equal(avm_mmap(x.p, B - 4 * PG, 4 * PG, RW,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	assert_int_equal(avm_fill(x.p, B - 4 * PG, 0x77, 4 * PG), 0);
	move(&x, A + 4 * PG, 4 * PG, B, false);
	layout(x.p, 3, (const unsigned long[][3]){
		{ A, A + 4 * PG, P0 }, { B - 4 * PG, B, (B >> 12) - 4 },
		{ B, B + 4 * PG, P0 + 4 } });
	expect(&x, B, 4, 4);
	follow(&x, B, 4, 4);
	/* pgoff not contiguous with the VMA before: back, but one page off */
	move(&x, B, 4 * PG, A + 5 * PG, false);
	layout(x.p, 3, (const unsigned long[][3]){
		{ A, A + 4 * PG, P0 }, { A + 5 * PG, A + 9 * PG, P0 + 4 },
		{ B - 4 * PG, B, (B >> 12) - 4 } });
	expect(&x, A + 5 * PG, 4, 4);
	follow(&x, A + 5 * PG, 4, 4);
	/* away (a new VMA), and back into place: now it merges (lock) */
	move(&x, A + 5 * PG, 4 * PG, C, false);
	follow(&x, C, 4, 4);
	move(&x, C, 4 * PG, A + 4 * PG, true);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A, A + 8 * PG, P0 }, { B - 4 * PG, B, (B >> 12) - 4 } });
	expect(&x, A, 0, 8);
	follow(&x, A, 0, 8);
	test_expect_page(x.p, B - 4 * PG, 0x77);
	teardown(&x);
}

/*
 * Never-faulted VMAs take the destination's pgoff, so the decision
 * depends on which side of the source the merge partner lies; and a
 * source can merge with its own destination (it is then freed or grown
 * in the merge).
 */
static void test_unfaulted(void **state)
{
	struct ctx x;
	unsigned char b;

	memset(&x, 0, sizeof(x));
	x.sys = test_sys(1);
	assert_int_equal(avm_mm_create(x.sys, &x.p), 0);
	/* source S at B (read only: zero-page PTEs), partner L below A */
	assert_int_equal(avm_mmap(x.p, B, 2 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	assert_int_equal(avm_read(x.p, B, &b, 1), 0);
	assert_int_equal(avm_mmap(x.p, A - 2 * PG, 2 * PG, RW,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	/* 1: S -> A joins L below: pgoff P0-2 <= S's B>>12: lock */
	move(&x, B, 2 * PG, A, true);
	layout(x.p, 1, (const unsigned long[][3]){
		{ A - 2 * PG, A + 2 * PG, P0 - 2 } });
	assert_true(test_info(x.p, A).zero);
	/* 2: [A, A+2) -> B+2: a new VMA, pgoff reset to (B>>12)+2 */
	move(&x, A, 2 * PG, B + 2 * PG, false);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A - 2 * PG, A, P0 - 2 },
		{ B + 2 * PG, B + 4 * PG, (B >> 12) + 2 } });
	assert_true(test_info(x.p, B + 2 * PG).zero);
	/* 3: a partner above: [B+2, B+4) -> C-2 joins H at C; the merged
	   VMA's pgoff (C>>12)-2 is larger than the source's: no lock */
	assert_int_equal(avm_mmap(x.p, C, 2 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	move(&x, B + 2 * PG, 2 * PG, C - 2 * PG, false);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A - 2 * PG, A, P0 - 2 },
		{ C - 2 * PG, C + 2 * PG, (C >> 12) - 2 } });
	assert_true(test_info(x.p, C - 2 * PG).zero);
	/* 4: the source is the merge's `next` and disappears into it:
	   S2 at A+1 -> A joins L and S2 itself; the move then happens
	   inside one VMA: lock (pgoff <= its own) */
	assert_int_equal(avm_mmap(x.p, A + PG, PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	assert_int_equal(avm_read(x.p, A + PG, &b, 1), 0);
	move(&x, A + PG, PG, A, true);
	layout(x.p, 2, (const unsigned long[][3]){
		{ A - 2 * PG, A + PG, P0 - 2 },
		{ C - 2 * PG, C + 2 * PG, (C >> 12) - 2 } });
	assert_true(test_info(x.p, A).zero);
	/* 5: the source is the merge's `prev` and grows over the
	   destination: [A, A+1) -> A+1 */
	move(&x, A, PG, A + PG, true);
	layout(x.p, 3, (const unsigned long[][3]){
		{ A - 2 * PG, A, P0 - 2 }, { A + PG, A + 2 * PG, P0 + 1 },
		{ C - 2 * PG, C + 2 * PG, (C >> 12) - 2 } });
	assert_true(test_info(x.p, A + PG).zero);
	assert_check(x.sys);
	/* faulting now works as anywhere else */
	assert_int_equal(avm_fill(x.p, A + PG, 0x31, PG), 0);
	test_expect_page(x.p, A + PG, 0x31);
	assert_check(x.sys);
	avm_exit(x.p);
	avm_sys_destroy(x.sys);
}

/*
 * The race the rule exists for (seed 2011-11): the parent moves a range of
 * shared pages back and forth - to a new VMA (no lock needed: the walk
 * meets the source first) and back into the VMA it came from (merging into
 * a VMA that sorts first: the lock is needed) - while the child migrates
 * the same pages, whose rmap walks visit the parent's VMAs.  A walk that
 * saw the destination before the PTEs arrived and the source after they
 * left would leave a migration entry behind (-EUCLEAN, and the checker
 * flags it).
 */
struct race {
	struct ctx *x;
	atomic_int stop;
	unsigned long migrations, moved;
	int err;
};

static void *migrator(void *arg)
{
	struct race *r = arg;
	unsigned int node = 1;
	unsigned long hits = test_race_window_hits();

	while (!atomic_load(&r->stop)) {
		unsigned long moved = 0;
		int err = avm_migrate(r->x->c, A + 4 * PG, 4 * PG, node, &moved);
		bool look;

		if (err) {
			r->err = err;
			break;
		}
		/* Our migration is over: none of its entries may be left in
		   the parent (its mmap_lock makes this a consistent look).
		   Looked at when a move went ahead with our walk in the
		   window (else it would mostly hold the walks back), and
		   before the next migration, which could reuse the frame a
		   stale entry names and so repair it. */
		look = test_race_window_hits() != hits;
		hits = test_race_window_hits();
		for (int i = 0; i < 8 && !r->err && look; i++) {
			struct avm_page_info pi;
			unsigned long at[2] = { A + i * PG, B + (i - 4) * PG };

			for (int k = 0; k < (i >= 4 ? 2 : 1); k++)
				if (!avm_page_info(r->x->p, at[k], &pi) &&
				    pi.state == AVM_PTE_MIGRATION) {
					fprintf(stderr, "migration entry left at "
						"%#lx\n", at[k]);
					r->err = -EUCLEAN;
				}
		}
		if (r->err)
			break;
		r->migrations++;
		r->moved += moved;
		node ^= 1;
	}
	return NULL;
}

#define NKIDS	48

static void test_race_with_migration(void **state)
{
	struct ctx x;
	struct race r = { .x = &x };
	struct avm_stats st;
	pthread_t t;
	struct timespec t0, t1;
	struct avm_mm *kids[NKIDS];
	int rounds = 0;
	unsigned long hits0 = test_race_window_hits();

	setup(&x, true);
	/* more children, whose VMAs (trimmed at the front) start at pgoffs
	   P0+1..P0+3: they sort between the destination (merged into
	   [A, ...), pgoff P0) and the source (pgoff P0+4), which widens the
	   window a walk leaves between the two */
	for (int i = 0; i < NKIDS; i++) {
		assert_int_equal(avm_fork(x.p, &kids[i]), 0);
		assert_int_equal(avm_munmap(kids[i], A, (1 + i % 3) * PG), 0);
	}
	/* the interleaving the rule is for, made likely (not rare) */
	test_widen_mremap_race(x.sys);
	assert_int_equal(pthread_create(&t, NULL, migrator, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned long got;

		assert_int_equal(avm_mremap(x.p, A + 4 * PG, 4 * PG, 4 * PG, MOVE,
					    B, &got), 0);
		assert_int_equal(avm_mremap(x.p, B, 4 * PG, 4 * PG, MOVE,
					    A + 4 * PG, &got), 0);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* enough moves inside the window (each one leaves an entry
		   behind if the move does not take the lock), or 5 s */
		if (r.err || test_race_window_hits() - hits0 >= 40 ||
		    (t1.tv_sec - t0.tv_sec) * 1000000000L +
		    (t1.tv_nsec - t0.tv_nsec) > 5000000000L)
			break;
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	printf("race: %d round trips, %lu in the window, %lu migrate calls, "
	       "%lu pages moved\n", rounds, test_race_window_hits() - hits0,
	       r.migrations, r.moved);
	assert_int_equal(r.err, 0);
	avm_stats(x.sys, &st);
	assert_int_equal(st.mremap_rmap_locked, (unsigned long)rounds);
	assert_int_equal(st.mremap_moves, 2UL * (unsigned long)rounds);
	assert_check(x.sys);
	expect(&x, A, 0, 8);
	for (int i = 0; i < NKIDS; i++)
		avm_exit(kids[i]);
	follow(&x, A, 0, 8);
	teardown(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cases_forked),
		cmocka_unit_test(test_no_merge),
		cmocka_unit_test(test_unfaulted),
		cmocka_unit_test(test_race_with_migration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
