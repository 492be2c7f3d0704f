/* SPDX-License-Identifier: MIT */
/*
 * Forrest's fork chain (2012/2014, reference 7.2): each process forks, the
 * parent exits, the child writes a page and goes on.  Without anon_vma
 * reuse every generation leaves one more anon_vma and one more avc per VMA
 * behind; with Linux's rule (reuse an anon_vma that no VMA uses and that
 * has at most one child) they stay bounded.
 *
 * Bounds checked at every one of 10,000 generations, for a process with
 * NV VMAs (so NV fork families):
 *  - while parent and child both live (after fork): anon_vmas < 2 x VMAs;
 *  - after the parent's exit (NV VMAs live): anon_vmas <= 3 x VMAs and
 *    avcs <= 3 x VMAs.  Each family then holds its root (pinned by its
 *    descendants), the live VMA's anon_vma and the one reused in turn: a
 *    chain of 3, as Linux has in this loop.  (2 x live VMAs cannot hold
 *    here: the root alone is one more than the single live VMA's own.)
 * avm_check() runs every 1000 generations and at the end.
 *
 * The bounds are Linux's reuse rule's (test_design_linux_reuse()): other
 * designs run 200 generations, checked every 50, and report their growth
 * (avc-2010 and avc-tree grow by design: one anon_vma per VMA per
 * generation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x300000000000UL
#define PG	AVM_PAGE_SIZE
#define NV	4		/* VMAs (protections alternate) */
#define VP	4		/* pages per VMA */
#define GENS	10000

static unsigned long vma_addr(int v)
{
	return BASE + (unsigned long)v * VP * PG;
}

static void test_fork_chain(void **state)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *p, *c;
	struct avm_stats st;
	unsigned long max_av = 0, max_avc = 0;
	bool bounded = test_design_linux_reuse();
	int gens = bounded ? GENS : 200, every = bounded ? 1000 : 50;

	assert_int_equal(avm_mm_create(sys, &p), 0);
	for (int v = 0; v < NV; v++) {
		/* alternate protections so the VMAs never merge */
		assert_int_equal(avm_mmap(p, vma_addr(v), VP * PG,
					  AVM_PROT_READ | AVM_PROT_WRITE,
					  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
		assert_int_equal(avm_fill(p, vma_addr(v), v + 1, VP * PG), 0);
		if (v & 1)
			assert_int_equal(avm_mprotect(p, vma_addr(v), VP * PG,
						      AVM_PROT_READ), 0);
	}
	for (int g = 1; g <= gens; g++) {
		assert_int_equal(avm_fork(p, &c), 0);
		avm_stats(sys, &st);
		assert_int_equal(st.vmas, 2 * NV);
		if (bounded && st.anon_vmas >= 2 * st.vmas)
			fprintf(stderr, "gen %d after fork: %lu anon_vmas, "
				"%lu VMAs\n", g, st.anon_vmas, st.vmas);
		assert_true(!bounded || st.anon_vmas < 2 * st.vmas);
		avm_exit(p);
		p = c;
		/* the child writes one page of each writable VMA */
		for (int v = 0; v < NV; v += 2) {
			unsigned long a = vma_addr(v) + (unsigned long)(g % VP) * PG;
			unsigned char b = (unsigned char)g;

			assert_int_equal(avm_write(p, a, &b, 1), 0);
		}
		avm_stats(sys, &st);
		assert_int_equal(st.vmas, NV);
		assert_int_equal(st.mms, 1);
		if (bounded && (st.anon_vmas > 3 * st.vmas ||
				st.avcs > 3 * st.vmas))
			fprintf(stderr, "gen %d: %lu anon_vmas, %lu avcs, %lu "
				"VMAs\n", g, st.anon_vmas, st.avcs, st.vmas);
		assert_true(!bounded || st.anon_vmas <= 3 * st.vmas);
		assert_true(!bounded || st.avcs <= 3 * st.vmas);
		max_av = st.anon_vmas > max_av ? st.anon_vmas : max_av;
		max_avc = st.avcs > max_avc ? st.avcs : max_avc;
		if (g % every == 0)
			assert_check(sys);
	}
	assert_check(sys);
	/* the data of every generation is where it should be */
	for (int v = 0; v < NV; v++)
		for (int i = 0; i < VP; i++) {
			unsigned char b;
			int last = gens - ((gens - i) % VP + VP) % VP;

			assert_int_equal(avm_peek(p, vma_addr(v) + (unsigned long)i * PG,
						  &b, 1), 0);
			assert_int_equal(b, (v & 1) ? v + 1 : (unsigned char)last);
		}
	printf("fork_chain: design %s, %d generations, %d VMAs: at most %lu "
	       "anon_vmas, %lu avcs live\n", test_design(), gens, NV, max_av,
	       max_avc);
	avm_exit(p);
	avm_stats(sys, &st);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.frames_used, 0);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
