/* SPDX-License-Identifier: MIT */
/*
 * Data survives migration: random fork trees (up to five generations, with
 * copy-on-write at every level) are migrated between two memory nodes and
 * back, by random processes and ranges; every process reads back exactly
 * what it wrote and inherited, every mapping of a shared frame follows it
 * to the same new frame, and no migration entry is left (the checker flags
 * any).  Plus the kernel selftest idea: a page faulted before a five-level
 * fork tree is migrated by one process and every process then maps the
 * same new frame.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "lib/forktree.h"

#define PG	AVM_PAGE_SIZE

/* Frames (present, not the zero page) of every live process. */
static void frames_stats(struct forktree *ft, const struct snap *s,
			 unsigned long *ptes, unsigned long *frames)
{
	size_t nf = 4UL << 16;
	unsigned char *seen = calloc(nf, 1);

	assert_non_null(seen);
	*ptes = *frames = 0;
	for (int i = 0; i < ft->n; i++) {
		if (!ft->p[i].mm)
			continue;
		for (int v = 0; v < ft->nv; v++)
			for (unsigned long g = 0; g < ft->pages[v]; g++) {
				const struct avm_page_info *pi = &s->pi[i][v][g];

				if (!is_frame(pi))
					continue;
				(*ptes)++;
				if (!seen[pi->pfn]++)
					(*frames)++;
			}
	}
	free(seen);
}

static void assert_all_on(struct forktree *ft, const struct snap *s,
			  unsigned int node)
{
	for (int i = 0; i < ft->n; i++) {
		if (!ft->p[i].mm)
			continue;
		for (int v = 0; v < ft->nv; v++)
			for (unsigned long g = 0; g < ft->pages[v]; g++) {
				const struct avm_page_info *pi = &s->pi[i][v][g];

				assert_int_not_equal(pi->state,
						     AVM_PTE_MIGRATION);
				if (is_frame(pi))
					assert_int_equal(pi->node, node);
			}
	}
}

/* Migrate process i's whole VMAs to node; returns pages moved. */
static unsigned long migrate_proc(struct forktree *ft, int i, unsigned int node)
{
	unsigned long moved, total = 0;

	for (int v = 0; v < ft->nv; v++) {
		assert_int_equal(avm_migrate(ft->p[i].mm, ft->start[v],
					     ft_len(ft, v), node, &moved), 0);
		total += moved;
	}
	return total;
}

static void migrate_tree_once(uint64_t seed)
{
	struct avm_sys *sys = test_sys(2);
	struct forktree ft;
	struct snap *s0 = calloc(1, sizeof(*s0)), *s1 = calloc(1, sizeof(*s1));
	unsigned long ptes, frames, moved = 0;
	struct avm_stats st0, st;
	int order[FT_MAXP];

	assert_non_null(s0);
	assert_non_null(s1);
	ft_build(&ft, sys, seed, 2 + (int)(seed % 30), 5);
	if (seed & 2) {
		/* some pages swapped out, some swapped back in (cached) */
		for (int k = 0; k < ft.n; k++) {
			int i = (int)test_below(&ft.rng, (uint64_t)ft.n);
			int v = (int)test_below(&ft.rng, (uint64_t)ft.nv);

			assert_int_equal(avm_madvise(ft.p[i].mm, ft.start[v],
						     ft_len(&ft, v),
						     AVM_MADV_PAGEOUT), 0);
			if (k & 1)
				ft_verify(&ft, (int)test_below(&ft.rng,
							       (uint64_t)ft.n));
		}
	}
	assert_check(sys);
	snapshot(&ft, s0);
	frames_stats(&ft, s0, &ptes, &frames);
	avm_stats(sys, &st0);

	/* to node 1, every process in turn: each frame moves exactly once */
	for (int k = 0; k < ft.n; k++)
		order[k] = k;
	for (int k = ft.n - 1; k > 0; k--) {
		int j = (int)test_below(&ft.rng, (uint64_t)k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < ft.n; k++)
		moved += migrate_proc(&ft, order[k], 1);
	assert_int_equal(moved, frames);
	avm_stats(sys, &st);
	assert_int_equal(st.migrations - st0.migrations, frames);
	assert_int_equal(st.migration_entries_removed -
			 st0.migration_entries_removed, ptes);
	assert_check(sys);
	snapshot(&ft, s1);
	assert_all_on(&ft, s1, 1);
	assert_same_sharing(&ft, s0, s1);
	ft_verify_all(&ft);
	assert_check(sys);

	/* and back, by random processes and random subranges */
	snapshot(&ft, s0);
	for (int round = 0; round < 4 * ft.n; round++) {
		int i = (int)test_below(&ft.rng, (uint64_t)ft.n);
		int v = (int)test_below(&ft.rng, (uint64_t)ft.nv);
		unsigned long a = test_below(&ft.rng, ft.pages[v]);
		unsigned long b = a + 1 + test_below(&ft.rng, ft.pages[v] - a);

		assert_int_equal(avm_migrate(ft.p[i].mm, ft.start[v] + a * PG,
					     (b - a) * PG, 0, NULL), 0);
		for (unsigned long g = a; g < b; g++) {
			struct avm_page_info pi = test_info(ft.p[i].mm,
							    ft.start[v] + g * PG);

			if (is_frame(&pi))
				assert_int_equal(pi.node, 0);
		}
	}
	for (int i = 0; i < ft.n; i++)
		migrate_proc(&ft, i, 0);
	assert_check(sys);
	snapshot(&ft, s1);
	assert_all_on(&ft, s1, 0);
	assert_same_sharing(&ft, s0, s1);
	ft_verify_all(&ft);
	assert_check(sys);

	/* migrated pages still reclaim and come back */
	while (avm_reclaim(sys, ULONG_MAX, &moved), moved)
		;
	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 0);
	ft_verify_all(&ft);
	assert_check(sys);

	ft_exit_all(&ft, true);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
	free(s0);
	free(s1);
}

static void test_migrate_fork_trees(void **state)
{
	uint64_t s = test_seed("migrate_fork_trees");

	for (int round = 0; round < 24; round++)
		migrate_tree_once(test_rand(&s) | 1);
}

/*
 * Kernel selftest idea (tools/testing/selftests/mm/migration.c, "shared
 * anon"): a page faulted before a deep fork tree is mapped by every
 * process; migrating it from any one of them moves all the mappings.
 */
static void shared_deep_once(uint64_t seed)
{
	struct avm_sys *sys = test_sys(2);
	struct forktree ft;
	unsigned long target, moved;
	int queue[FT_MAXP], head = 0, tail = 0, live;
	unsigned int node = 1;

	memset(&ft, 0, sizeof(ft));
	ft.sys = sys;
	ft.rng = seed;
	ft.nv = 1;
	ft.pages[0] = 8;
	ft.start[0] = FT_BASE;
	assert_int_equal(avm_mm_create(sys, &ft.p[0].mm), 0);
	ft.p[0].parent = -1;
	ft.p[0].data[0] = calloc(1, ft_len(&ft, 0));
	assert_non_null(ft.p[0].data[0]);
	assert_int_equal(avm_mmap(ft.p[0].mm, FT_BASE, ft_len(&ft, 0),
				  AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	ft.n = 1;
	for (unsigned long g = 0; g < 8; g++) {
		unsigned char b = (unsigned char)(0x40 + g);

		assert_int_equal(avm_fill(ft.p[0].mm, FT_BASE + g * PG, b, PG), 0);
		memset(ft.p[0].data[0] + g * PG, b, PG);
	}
	target = FT_BASE + 3 * PG;
	/* breadth first, random fan-out 1..3, five generations below */
	queue[tail++] = 0;
	while (head < tail) {
		int i = queue[head++];
		int kids = 1 + (int)test_below(&ft.rng, 3);

		if (ft.p[i].depth >= 5)
			continue;
		for (int k = 0; k < kids && ft.n < FT_MAXP; k++) {
			int c = ft_fork(&ft, i);
			unsigned long g = test_below(&ft.rng, 8);

			queue[tail++] = c;
			if (FT_BASE + g * PG != target) {
				/* COW some other page at this level */
				unsigned char b = (unsigned char)test_rand(&ft.rng);

				assert_int_equal(avm_write(ft.p[c].mm,
					FT_BASE + g * PG + 17, &b, 1), 0);
				ft.p[c].data[0][g * PG + 17] = b;
			}
		}
	}
	assert_true(ft.p[ft.n - 1].depth >= 3);
	assert_check(sys);
	live = ft.n;
	for (int round = 0; round < 6; round++) {
		struct avm_page_info ref;
		int who;

		do
			who = (int)test_below(&ft.rng, (uint64_t)ft.n);
		while (!ft.p[who].mm);
		ref = test_info(ft.p[who].mm, target);
		assert_int_equal(avm_migrate(ft.p[who].mm, target, PG, node,
					     &moved), 0);
		assert_int_equal(moved, 1);
		for (int i = 0; i < ft.n; i++) {
			struct avm_page_info pi;

			if (!ft.p[i].mm)
				continue;
			pi = test_info(ft.p[i].mm, target);
			assert_int_equal(pi.state, AVM_PTE_PRESENT);
			assert_int_not_equal(pi.pfn, ref.pfn);
			assert_int_equal(pi.pfn, test_info(ft.p[who].mm, target).pfn);
			assert_int_equal(pi.node, node);
			assert_int_equal(pi.mapcount, live);
		}
		assert_check(sys);
		ft_verify_all(&ft);
		node ^= 1;
		/* a few processes go between rounds */
		for (int k = 0; k < ft.n / 8 && live > 1; k++) {
			int i = (int)test_below(&ft.rng, (uint64_t)ft.n);

			if (ft.p[i].mm && i != who) {
				ft_exit(&ft, i);
				live--;
			}
		}
		assert_check(sys);
	}
	ft_exit_all(&ft, false);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

static void test_migrate_shared_deep_tree(void **state)
{
	uint64_t s = test_seed("migrate_shared_deep_tree");

	for (int round = 0; round < 8; round++)
		shared_deep_once(test_rand(&s) | 1);
}

/* Exclusive, shared-with-child and swap-cached pages keep their state. */
static void test_migrate_page_state(void **state)
{
	struct avm_sys *sys = test_sys(2);
	struct avm_mm *p, *c;
	struct avm_page_info a, b;
	struct avm_stats st;
	unsigned long base = FT_BASE, moved, n;
	unsigned char x;

	p = test_mm_rw(sys, base, 3 * PG);
	for (int i = 0; i < 3; i++)
		assert_int_equal(avm_fill(p, base + i * PG, 0x10 + i, PG), 0);
	/* exclusive, writable: stays so, and writes go to the new frame */
	a = test_info(p, base);
	assert_true(a.exclusive && a.writable);
	assert_int_equal(avm_migrate(p, base, PG, 1, &moved), 0);
	assert_int_equal(moved, 1);
	b = test_info(p, base);
	assert_int_equal(b.node, 1);
	assert_true(b.exclusive && b.writable);
	assert_int_equal(b.index, a.index);
	assert_int_equal(b.mapcount, 1);
	assert_int_equal(b.refcount, 1);
	assert_int_equal(avm_fill(p, base, 0x99, 1), 0);
	assert_int_equal(test_info(p, base).pfn, b.pfn);	/* no COW */
	/* migrating to the node it is on does nothing */
	assert_int_equal(avm_migrate(p, base, PG, 1, &moved), 0);
	assert_int_equal(moved, 0);
	assert_int_equal(avm_migrate(p, base, PG, 2, &moved), -ENODEV);
	assert_check(sys);

	/* shared with a child, then swapped and read back by the child */
	assert_int_equal(avm_fork(p, &c), 0);
	assert_int_equal(avm_migrate(c, base + PG, PG, 1, &moved), 0);
	assert_int_equal(test_info(p, base + PG).pfn, test_info(c, base + PG).pfn);
	assert_false(test_info(p, base + PG).writable);
	while (avm_reclaim(sys, ULONG_MAX, &n), n)
		;
	assert_int_equal(avm_read(c, base + 2 * PG, &x, 1), 0);
	assert_int_equal(x, 0x12);
	avm_stats(sys, &st);
	assert_int_equal(st.swap_cache_pages, 1);
	a = test_info(c, base + 2 * PG);
	assert_int_equal(avm_migrate(c, base + 2 * PG, PG, 1, &moved), 0);
	assert_int_equal(moved, 1);
	b = test_info(c, base + 2 * PG);
	assert_int_not_equal(a.pfn, b.pfn);
	assert_int_equal(b.refcount, 2);	/* PTE + swap cache */
	assert_check(sys);
	/* the parent's swap entry now finds the migrated frame in the cache */
	assert_int_equal(avm_read(p, base + 2 * PG, &x, 1), 0);
	assert_int_equal(x, 0x12);
	a = test_info(p, base + 2 * PG);
	assert_int_equal(a.pfn, b.pfn);
	assert_int_equal(a.node, 1);
	assert_int_equal(a.mapcount, 2);
	assert_check(sys);
	avm_exit(c);
	assert_check(sys);
	avm_exit(p);
	assert_all_freed(sys);
	avm_sys_destroy(sys);
}

/*
 * Everything at once, from several threads on different mms (the library
 * promises that is safe): C1 migrates the shared pages back and forth, P
 * rewrites, drops (DONTNEED) and re-creates its copies, a reclaim thread
 * swaps out whatever it finds, and C2 keeps forking grandchildren that read
 * everything and exit.  Every process must always read its own bytes (the
 * children the originals), and afterwards the checker passes and exiting
 * frees everything.
 */
#define SPG	16

struct stress {
	struct avm_sys *sys;
	struct avm_mm *p, *c1, *c2;
	atomic_int stop;
	int err;
	char what[160];
	unsigned long loops[4];
};

static unsigned char orig(int i) { return (unsigned char)(0x30 + i); }

static void stress_fail(struct stress *s, const char *what, int err)
{
	if (!s->err) {
		snprintf(s->what, sizeof(s->what), "%s", what);
		s->err = err ? err : -1;
	}
	atomic_store(&s->stop, 1);
}

/* mm must read orig(i) at every byte checked of page i */
static bool reads_orig(struct avm_mm *mm, int i, char *why, size_t n)
{
	unsigned char buf[64];
	int err = avm_read(mm, FT_BASE + (unsigned long)i * PG + 100, buf,
			   sizeof(buf));

	if (err) {
		snprintf(why, n, "mm %lu page %d: read %d", avm_mm_id(mm), i, err);
		return false;
	}
	for (size_t k = 0; k < sizeof(buf); k++)
		if (buf[k] != orig(i)) {
			snprintf(why, n, "mm %lu page %d: %#x, expected %#x",
				 avm_mm_id(mm), i, buf[k], orig(i));
			return false;
		}
	return true;
}

static void *stress_migrate(void *arg)
{
	struct stress *s = arg;
	unsigned int node = 1;

	while (!atomic_load(&s->stop)) {
		int err = avm_migrate(s->c1, FT_BASE, SPG * PG, node, NULL);

		if (err)
			stress_fail(s, "migrate", err);
		node ^= 1;
		s->loops[0]++;
	}
	return NULL;
}

static void *stress_reclaim(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->stop)) {
		unsigned long n;
		int err = avm_reclaim(s->sys, 8, &n);

		if (err)
			stress_fail(s, "reclaim", err);
		s->loops[1]++;
	}
	return NULL;
}

static void *stress_forker(void *arg)
{
	struct stress *s = arg;
	char why[128];

	while (!atomic_load(&s->stop)) {
		struct avm_mm *g;
		int err = avm_fork(s->c2, &g);

		if (err) {
			stress_fail(s, "fork", err);
			break;
		}
		for (int i = 0; i < SPG; i++)
			if (!reads_orig(g, i, why, sizeof(why)) ||
			    !reads_orig(s->c2, i, why, sizeof(why))) {
				stress_fail(s, why, 0);
				break;
			}
		/* a write in the grandchild must stay there */
		err = avm_fill(g, FT_BASE + (s->loops[2] % SPG) * PG, 0xee, 8);
		if (err)
			stress_fail(s, "grandchild write", err);
		avm_exit(g);
		s->loops[2]++;
	}
	return NULL;
}

static void test_concurrent_stress(void **state)
{
	uint64_t seed;
	int mask;

	seed = test_seed("migrate_concurrent_stress");
	struct stress s = { 0 };
	unsigned char mine[SPG];
	pthread_t t[3];
	struct timespec t0, t1;
	char why[128];

	s.sys = test_sys(2);
	assert_int_equal(avm_mm_create(s.sys, &s.p), 0);
	assert_int_equal(avm_mmap(s.p, FT_BASE, SPG * PG,
				  AVM_PROT_READ | AVM_PROT_WRITE,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	for (int i = 0; i < SPG; i++) {
		assert_int_equal(avm_fill(s.p, FT_BASE + i * PG, orig(i), PG), 0);
		mine[i] = orig(i);
	}
	assert_int_equal(avm_fork(s.p, &s.c1), 0);
	assert_int_equal(avm_fork(s.p, &s.c2), 0);
	mask = (int)strtol(getenv("AVM_STRESS") ? getenv("AVM_STRESS") : "7",
			   NULL, 0);
	if (mask & 1)
		assert_int_equal(pthread_create(&t[0], NULL, stress_migrate, &s), 0);
	if (mask & 2)
		assert_int_equal(pthread_create(&t[1], NULL, stress_reclaim, &s), 0);
	if (mask & 4)
		assert_int_equal(pthread_create(&t[2], NULL, stress_forker, &s), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&s.stop)) {
		int i = (int)test_below(&seed, SPG);
		unsigned char b[64];

		int err;

		switch (test_below(&seed, 5)) {
		case 0:	/* own copy with other bytes */
			mine[i] = (unsigned char)(0x80 + test_below(&seed, 64));
			err = avm_fill(s.p, FT_BASE + i * PG, mine[i], PG);
			if (err)
				stress_fail(&s, "P write", err);
			break;
		case 1:	/* drop it: reads zeroes */
			err = avm_madvise(s.p, FT_BASE + i * PG, PG,
					  AVM_MADV_DONTNEED);
			if (err)
				stress_fail(&s, "P dontneed", err);
			mine[i] = 0;
			break;
		case 2:	/* page it out (only if P alone maps it) */
			err = avm_madvise(s.p, FT_BASE + i * PG, PG,
					  AVM_MADV_PAGEOUT);
			if (err)
				stress_fail(&s, "P pageout", err);
			break;
		default:
			err = avm_read(s.p, FT_BASE + i * PG + 7, b, sizeof(b));
			if (err)
				stress_fail(&s, "P read", err);
			for (size_t k = 0; k < sizeof(b); k++)
				if (b[k] != mine[i]) {
					snprintf(why, sizeof(why), "P page %d: "
						 "%#x, expected %#x", i, b[k],
						 mine[i]);
					stress_fail(&s, why, 0);
					break;
				}
			break;
		}
		for (int k = 0; k < SPG && test_below(&seed, 8) == 0; k++)
			if (!reads_orig(s.c1, k, why, sizeof(why)))
				stress_fail(&s, why, 0);
		s.loops[3]++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000L +
		    (t1.tv_nsec - t0.tv_nsec) > 2000000000L)
			atomic_store(&s.stop, 1);
	}
	for (int k = 0; k < 3; k++)
		if (mask & (1 << k))
			pthread_join(t[k], NULL);
	printf("stress: %lu migrate, %lu reclaim, %lu fork, %lu P loops\n",
	       s.loops[0], s.loops[1], s.loops[2], s.loops[3]);
	if (s.err)
		fprintf(stderr, "stress: %s (%d)\n", s.what, s.err);
	assert_int_equal(s.err, 0);
	assert_check(s.sys);
	for (int i = 0; i < SPG; i++) {
		unsigned char b;

		assert_true(reads_orig(s.c1, i, why, sizeof(why)));
		assert_true(reads_orig(s.c2, i, why, sizeof(why)));
		assert_int_equal(avm_read(s.p, FT_BASE + i * PG, &b, 1), 0);
		assert_int_equal(b, mine[i]);
	}
	assert_check(s.sys);
	avm_exit(s.c1);
	avm_exit(s.p);
	avm_exit(s.c2);
	assert_all_freed(s.sys);
	avm_sys_destroy(s.sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_page_state),
		cmocka_unit_test(test_migrate_shared_deep_tree),
		cmocka_unit_test(test_migrate_fork_trees),
		cmocka_unit_test(test_concurrent_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
