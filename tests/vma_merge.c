/* SPDX-License-Identifier: MIT */
/*
 * VMA split and merge: exact VMA lists (start, end, pgoff, prot, flags,
 * anon_vma, chain length) after mprotect, mmap, fork, mremap, munmap and
 * madvise, plus the error numbers of each call.  Every expectation about
 * which VMAs merge was checked against /proc/self/maps of the host kernel
 * (Linux 6.18) with the same sequence, unless a comment says otherwise;
 * the errno values were checked the same way.  Data and the invariant
 * checker are verified after every step.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x100000000000UL
#define PG	AVM_PAGE_SIZE
#define NP	64			/* pages of the region the tests use */
#define A(p)	(BASE + (unsigned long)(p) * PG)
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define RO	AVM_PROT_READ
#define DC	AVM_VMA_DONTCOPY
#define WF	AVM_VMA_WIPEONFORK
#define TASK_END 0x7ffffffff000UL	/* x86-64 TASK_SIZE */

/* What one mm should hold: per page of the region, -1 unmapped or a byte. */
struct shadow {
	struct avm_mm *mm;
	int val[NP];
};

/* An expected VMA, in pages relative to BASE (pgoff too). */
struct xv {
	long s, e, pgoff;
	int prot;
	unsigned int flags;
	int anon;		/* has_anon_vma */
	int chain;		/* chain_len */
};

static void print_vmas(const struct avm_vma_info *v, long n)
{
	for (long i = 0; i < n; i++)
		fprintf(stderr, "  [%ld, %ld) pgoff %ld prot %d flags %u anon %d "
			"chain %u\n", (long)(v[i].start - BASE) / (long)PG,
			(long)(v[i].end - BASE) / (long)PG,
			(long)(v[i].pgoff - (BASE >> 12)), v[i].prot, v[i].flags,
			v[i].has_anon_vma, v[i].chain_len);
}

/*
 * pte-chain and anonmm allow every merge that flags and offsets allow and
 * keep no chains: for them only what the VMAs map is compared - runs of
 * adjacent VMAs with equal protection and flags, coalesced.
 */
static long runs(unsigned long (*r)[4], const unsigned long (*v)[4], long n)
{
	long k = 0;

	for (long i = 0; i < n; i++) {
		if (k && r[k - 1][1] == v[i][0] && r[k - 1][2] == v[i][2] &&
		    r[k - 1][3] == v[i][3]) {
			r[k - 1][1] = v[i][1];
			continue;
		}
		memcpy(r[k++], v[i], sizeof(r[0]));
	}
	return k;
}

static bool same_runs(const struct avm_vma_info *v, long n, const struct xv *x,
		      long nx)
{
	unsigned long a[32][4], b[32][4], ra[32][4], rb[32][4];
	long na, nb;

	if (n > 32 || nx > 32)
		return false;
	for (long i = 0; i < n; i++) {
		a[i][0] = v[i].start;
		a[i][1] = v[i].end;
		a[i][2] = (unsigned long)v[i].prot;
		a[i][3] = v[i].flags;
	}
	for (long i = 0; i < nx; i++) {
		b[i][0] = A(x[i].s);
		b[i][1] = A(x[i].e);
		b[i][2] = (unsigned long)x[i].prot;
		b[i][3] = x[i].flags;
	}
	na = runs(ra, (const unsigned long (*)[4])a, n);
	nb = runs(rb, (const unsigned long (*)[4])b, nx);
	return na == nb && !memcmp(ra, rb, (size_t)na * sizeof(ra[0]));
}

static void expect_vmas_at(struct avm_mm *mm, const struct xv *x, long nx,
			   int line)
{
	struct avm_vma_info v[32];
	long n = avm_vmas(mm, v, 32);
	bool ok = n == nx;

	/* anon-vma-2004 merges forked VMAs Linux keeps apart (one anon_vma
	   per family) and has no chains: compare what is mapped, as above */
	if (test_design_by_address() || test_design_one_list())
		ok = same_runs(v, n, x, nx);
	else
		for (long i = 0; ok && i < n; i++)
			ok = v[i].start == A(x[i].s) && v[i].end == A(x[i].e) &&
			     v[i].pgoff == (BASE >> 12) +
					   (unsigned long)x[i].pgoff &&
			     v[i].prot == x[i].prot &&
			     v[i].flags == x[i].flags &&
			     v[i].has_anon_vma == !!x[i].anon &&
			     v[i].chain_len == (unsigned int)x[i].chain;
	if (!ok) {
		fprintf(stderr, "line %d: mm %lu VMAs differ; expected:\n", line,
			avm_mm_id(mm));
		for (long i = 0; i < nx; i++)
			fprintf(stderr, "  [%ld, %ld) pgoff %ld prot %d flags %u "
				"anon %d chain %d\n", x[i].s, x[i].e, x[i].pgoff,
				x[i].prot, x[i].flags, x[i].anon, x[i].chain);
		fprintf(stderr, "got:\n");
		print_vmas(v, n < 32 ? n : 32);
	}
	assert_true(ok);
}

/* anon_vma and avc counts: only the anon_vma designs have them */
#define EXPECT_AV(got, want) do {					\
	if (!test_design_by_address())					\
		assert_int_equal(got, want);				\
} while (0)

#define EXPECT(mm, ...) do {						\
	const struct xv x__[] = { __VA_ARGS__ };			\
	expect_vmas_at(mm, x__, (long)(sizeof(x__) / sizeof(x__[0])),	\
		       __LINE__);					\
} while (0)
#define EXPECT_NONE(mm) expect_vmas_at(mm, NULL, 0, __LINE__)

/* Every page reads as the shadow says (peek: no faults, no state change). */
static void verify_at(struct shadow *sh, int line)
{
	for (int i = 0; i < NP; i++) {
		unsigned char b[2] = { 0xee, 0xee };
		int r0 = avm_peek(sh->mm, A(i), &b[0], 1);
		int r1 = avm_peek(sh->mm, A(i) + PG - 1, &b[1], 1);

		if (sh->val[i] < 0) {
			if (r0 != -EFAULT || r1 != -EFAULT)
				fprintf(stderr, "line %d: mm %lu page %d should "
					"be unmapped\n", line, avm_mm_id(sh->mm), i);
			assert_int_equal(r0, -EFAULT);
			assert_int_equal(r1, -EFAULT);
			continue;
		}
		if (r0 || r1 || b[0] != sh->val[i] || b[1] != sh->val[i])
			fprintf(stderr, "line %d: mm %lu page %d: rc %d/%d bytes "
				"%d/%d, want %d\n", line, avm_mm_id(sh->mm), i,
				r0, r1, b[0], b[1], sh->val[i]);
		assert_int_equal(r0, 0);
		assert_int_equal(r1, 0);
		assert_int_equal(b[0], sh->val[i]);
		assert_int_equal(b[1], sh->val[i]);
	}
}

#define VERIFY(sys, ...) do {						\
	struct shadow *s__[] = { __VA_ARGS__ };				\
	for (size_t i__ = 0; i__ < sizeof(s__) / sizeof(s__[0]); i__++)	\
		verify_at(s__[i__], __LINE__);				\
	assert_check(sys);						\
} while (0)

static void sh_init(struct shadow *sh, struct avm_mm *mm)
{
	sh->mm = mm;
	for (int i = 0; i < NP; i++)
		sh->val[i] = -1;
}

static void sh_copy(struct shadow *dst, const struct shadow *src,
		    struct avm_mm *mm)
{
	*dst = *src;
	dst->mm = mm;
}

static void map(struct shadow *sh, long p, long n, int prot)
{
	assert_int_equal(avm_mmap(sh->mm, A(p), (unsigned long)n * PG, prot,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	for (long i = p; i < p + n; i++)
		sh->val[i] = 0;
}

static void unmap(struct shadow *sh, long p, long n)
{
	assert_int_equal(avm_munmap(sh->mm, A(p), (unsigned long)n * PG), 0);
	for (long i = p; i < p + n; i++)
		sh->val[i] = -1;
}

/* Write the whole page (first write or COW). */
static void wr(struct shadow *sh, long p, int byte)
{
	assert_int_equal(avm_fill(sh->mm, A(p), byte, PG), 0);
	sh->val[p] = byte;
}

static void wr_range(struct shadow *sh, long p, long n, int byte)
{
	for (long i = p; i < p + n; i++)
		wr(sh, i, byte + (int)(i - p));
}

static void rd(struct shadow *sh, long p)
{
	unsigned char b;

	assert_int_equal(avm_read(sh->mm, A(p), &b, 1), 0);
	assert_int_equal(b, sh->val[p]);
}

static void prot(struct shadow *sh, long p, long n, int pr)
{
	assert_int_equal(avm_mprotect(sh->mm, A(p), (unsigned long)n * PG, pr), 0);
}

static void advise(struct shadow *sh, long p, long n, enum avm_advice adv)
{
	assert_int_equal(avm_madvise(sh->mm, A(p), (unsigned long)n * PG, adv), 0);
}

/* mremap with MAYMOVE|FIXED from page `from` to page `to`. */
static void move(struct shadow *sh, long from, long n, long to)
{
	unsigned long res = 0;
	int save[NP];

	assert_int_equal(avm_mremap(sh->mm, A(from), (unsigned long)n * PG,
				    (unsigned long)n * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, A(to),
				    &res), 0);
	assert_int_equal(res, A(to));
	memcpy(save, sh->val, sizeof(save));
	for (long i = from; i < from + n; i++)
		sh->val[i] = -1;
	for (long i = 0; i < n; i++)
		sh->val[to + i] = save[from + i];
}

static struct avm_sys *setup(struct shadow *sh)
{
	struct avm_sys *sys = test_sys(1);
	struct avm_mm *mm;

	assert_int_equal(avm_mm_create(sys, &mm), 0);
	sh_init(sh, mm);
	return sys;
}

/* ---- mprotect ------------------------------------------------------------ */

static void test_mprotect_unfaulted(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);

	map(&a, 0, 8, RW);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 });
	prot(&a, 2, 2, RO);			/* middle */
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 0, 0 }, { 2, 4, 2, RO, 0, 0, 0 },
	       { 4, 8, 4, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	rd(&a, 2);				/* zero page, still no anon_vma */
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 0, 0 }, { 2, 4, 2, RO, 0, 0, 0 },
	       { 4, 8, 4, RW, 0, 0, 0 });
	prot(&a, 2, 2, RW);			/* restored: one VMA again */
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	prot(&a, 0, 3, RO);			/* head, then merge back */
	EXPECT(a.mm, { 0, 3, 0, RO, 0, 0, 0 }, { 3, 8, 3, RW, 0, 0, 0 });
	prot(&a, 6, 2, RO);			/* tail */
	EXPECT(a.mm, { 0, 3, 0, RO, 0, 0, 0 }, { 3, 6, 3, RW, 0, 0, 0 },
	       { 6, 8, 6, RO, 0, 0, 0 });
	prot(&a, 3, 3, RO);			/* middle joins both sides */
	EXPECT(a.mm, { 0, 8, 0, RO, 0, 0, 0 });
	prot(&a, 0, 8, RW);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 });
	prot(&a, 0, 8, RW);			/* no change: no-op */
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

static void test_mprotect_faulted(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	unsigned char b = 1;

	map(&a, 0, 8, RW);
	wr_range(&a, 0, 8, 10);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 });
	prot(&a, 2, 2, RO);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 2, 4, 2, RO, 0, 1, 1 },
	       { 4, 8, 4, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	assert_int_equal(avm_write(a.mm, A(2), &b, 1), -EFAULT);
	rd(&a, 3);
	prot(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	wr(&a, 2, 99);			/* write access is back */
	/* many single-page splits, then restore all at once */
	for (long p = 0; p < 8; p += 2)
		prot(&a, p, 1, RO);
	EXPECT(a.mm, { 0, 1, 0, RO, 0, 1, 1 }, { 1, 2, 1, RW, 0, 1, 1 },
	       { 2, 3, 2, RO, 0, 1, 1 }, { 3, 4, 3, RW, 0, 1, 1 },
	       { 4, 5, 4, RO, 0, 1, 1 }, { 5, 6, 5, RW, 0, 1, 1 },
	       { 6, 7, 6, RO, 0, 1, 1 }, { 7, 8, 7, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	prot(&a, 0, 8, RW);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* One VMA faulted, its neighbour not: the merge adopts the anon_vma. */
static void test_mprotect_mixed(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	struct avm_stats st;

	map(&a, 0, 2, RW);
	wr(&a, 0, 5);
	map(&a, 2, 2, RO);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 2, 4, 2, RO, 0, 0, 0 });
	prot(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 });
	wr(&a, 3, 6);
	VERIFY(sys, &a);
	/* [0,4) and [6,8) faulted with different anon_vmas, [4,6) RO and
	   unfaulted between them: made RW it can join one side only
	   (host: [0,6) [6,8)) */
	map(&a, 4, 2, RO);
	map(&a, 6, 2, RW);
	wr(&a, 6, 7);
	avm_stats(sys, &st);
	EXPECT_AV(st.anon_vmas, 2);
	prot(&a, 4, 2, RW);
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 1, 1 }, { 6, 8, 6, RW, 0, 1, 1 });
	wr(&a, 5, 8);
	VERIFY(sys, &a);
	avm_stats(sys, &st);
	EXPECT_AV(st.anon_vmas, 2);
	avm_sys_destroy(sys);
}

/* ---- mmap next to existing VMAs ------------------------------------------ */

static void test_mmap_adjacent(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);

	map(&a, 0, 4, RW);
	map(&a, 4, 4, RW);			/* merges (same prot) */
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 });
	map(&a, 8, 2, RO);			/* does not (other prot) */
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 0, 0 }, { 8, 10, 8, RO, 0, 0, 0 });
	wr_range(&a, 0, 8, 1);
	map(&a, 10, 2, RO);			/* joins the RO one */
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 }, { 8, 12, 8, RO, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* filling a hole: faulted prev + unfaulted next -> one VMA */
	sys = setup(&a);
	map(&a, 0, 2, RW);
	wr(&a, 0, 1);
	map(&a, 4, 2, RW);
	map(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* unfaulted prev + faulted next -> one VMA */
	sys = setup(&a);
	map(&a, 0, 2, RW);
	map(&a, 4, 2, RW);
	wr(&a, 4, 1);
	map(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 1, 1 });
	wr(&a, 0, 2);
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* both faulted, different anon_vmas: the new part joins prev only */
	sys = setup(&a);
	map(&a, 0, 2, RW);
	wr(&a, 0, 1);
	map(&a, 4, 2, RW);
	wr(&a, 4, 2);
	map(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 4, 6, 4, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* a new VMA below a faulted one: it takes the lower pgoff */
	sys = setup(&a);
	map(&a, 4, 4, RW);
	wr_range(&a, 4, 4, 30);
	map(&a, 2, 2, RW);
	EXPECT(a.mm, { 2, 8, 2, RW, 0, 1, 1 });
	wr(&a, 2, 9);
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* First write in a VMA next to a compatible faulted one (flags equal but
   for protection, pgoff contiguous, chain of one) reuses its anon_vma
   (prepare), so restoring the protection merges them (host: merged). */
static void test_prepare_reuses_neighbour(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	struct avm_stats st;

	map(&a, 0, 2, RW);
	wr(&a, 0, 1);
	prot(&a, 0, 2, RO);
	map(&a, 2, 2, RW);
	wr(&a, 2, 2);			/* reuses prev's anon_vma */
	EXPECT(a.mm, { 0, 2, 0, RO, 0, 1, 1 }, { 2, 4, 2, RW, 0, 1, 1 });
	avm_stats(sys, &st);
	EXPECT_AV(st.anon_vmas, 1);
	prot(&a, 0, 2, RW);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	/* next is tried first */
	map(&a, 10, 2, RW);
	wr(&a, 10, 3);
	prot(&a, 10, 2, RO);
	map(&a, 8, 2, RW);
	wr(&a, 8, 4);			/* reuses next's anon_vma */
	avm_stats(sys, &st);
	EXPECT_AV(st.anon_vmas, 2);
	prot(&a, 10, 2, RW);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 8, 12, 8, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* ---- fork history blocks merging ------------------------------------------ */

static void test_fork_merge(void **state)
{
	struct shadow a, b;
	struct avm_sys *sys = setup(&a);
	struct avm_mm *child;

	map(&a, 0, 2, RW);
	wr_range(&a, 0, 2, 40);
	assert_int_equal(avm_fork(a.mm, &child), 0);
	sh_copy(&b, &a, child);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 });
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 });
	/* the child's VMA went through fork: no merge with a new neighbour */
	map(&b, 2, 2, RW);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 2, 4, 2, RW, 0, 0, 0 });
	map(&b, 62, 1, RW);		/* below-side too */
	prot(&b, 62, 1, RO);
	/* the parent's did not: it merges */
	map(&a, 2, 2, RW);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a, &b);
	/* the child's fresh VMAs behave as in any process */
	map(&b, 30, 2, RW);
	wr(&b, 30, 1);
	map(&b, 32, 2, RW);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 2, 4, 2, RW, 0, 0, 0 },
	       { 30, 34, 30, RW, 0, 1, 1 }, { 62, 63, 62, RO, 0, 0, 0 });
	/* faulting the child's neighbour cannot reuse the forked anon_vma,
	   and the two never merge */
	wr(&b, 2, 2);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 2, 4, 2, RW, 0, 1, 1 },
	       { 30, 34, 30, RW, 0, 1, 1 }, { 62, 63, 62, RO, 0, 0, 0 });
	/* split and restore inside the forked VMA: same chain, re-merges */
	prot(&b, 1, 1, RO);
	EXPECT(b.mm, { 0, 1, 0, RW, 0, 1, 2 }, { 1, 2, 1, RO, 0, 1, 2 },
	       { 2, 4, 2, RW, 0, 1, 1 }, { 30, 34, 30, RW, 0, 1, 1 },
	       { 62, 63, 62, RO, 0, 0, 0 });
	prot(&b, 1, 1, RW);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 2, 4, 2, RW, 0, 1, 1 },
	       { 30, 34, 30, RW, 0, 1, 1 }, { 62, 63, 62, RO, 0, 0, 0 });
	wr(&b, 0, 77);			/* COW in the child */
	VERIFY(sys, &a, &b);
	/* after the parent exits the child's VMA still has two links */
	avm_exit(a.mm);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 2, 4, 2, RW, 0, 1, 1 },
	       { 30, 34, 30, RW, 0, 1, 1 }, { 62, 63, 62, RO, 0, 0, 0 });
	VERIFY(sys, &b);
	avm_sys_destroy(sys);
}

/* ---- mremap -------------------------------------------------------------- */

static void test_mremap_away_and_back(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	struct avm_stats st;

	map(&a, 0, 4, RW);
	wr_range(&a, 0, 4, 50);
	move(&a, 2, 2, 20);		/* the tail moves, keeping pgoff */
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 20, 22, 2, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	move(&a, 20, 2, 2);		/* and back: one VMA again */
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	move(&a, 0, 4, 40);		/* the whole VMA */
	EXPECT(a.mm, { 40, 44, 0, RW, 0, 1, 1 });
	wr(&a, 41, 1);
	VERIFY(sys, &a);
	/* next to an unfaulted VMA whose pgoff does not fit: no merge */
	map(&a, 44, 2, RW);
	EXPECT(a.mm, { 40, 44, 0, RW, 0, 1, 1 }, { 44, 46, 44, RW, 0, 0, 0 });
	move(&a, 40, 4, 0);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 44, 46, 44, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_stats(sys, &st);
	EXPECT_AV(st.anon_vmas, 1);
	assert_int_equal(st.mremap_moves, 4);
	avm_sys_destroy(sys);
}

static void test_mremap_unfaulted(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	unsigned long res;

	map(&a, 0, 4, RW);
	rd(&a, 1);				/* zero page only */
	move(&a, 0, 4, 20);			/* pgoff follows the address */
	EXPECT(a.mm, { 20, 24, 20, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	/* so it merges with an unfaulted neighbour there */
	map(&a, 30, 2, RW);
	move(&a, 20, 4, 26);
	EXPECT(a.mm, { 26, 32, 26, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	/* a non-FIXED move of a grown unfaulted VMA takes its new pgoff */
	assert_int_equal(avm_mremap(a.mm, A(26), 6 * PG, 8 * PG,
				    AVM_MREMAP_MAYMOVE, 0, &res), 0);
	if (res != A(26)) {
		struct avm_vma_info vi;

		assert_int_equal(avm_vmas(a.mm, &vi, 1), 1);
		assert_int_equal(vi.pgoff, res >> 12);
	}
	avm_sys_destroy(sys);
}

/* The moved VMA lands between two unfaulted VMAs: the source itself is one
   of the merge partners (host: [0,1) [2,3) -> [0,2)). */
static void test_mremap_merges_with_source(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);

	map(&a, 0, 1, RW);
	map(&a, 2, 1, RW);
	rd(&a, 2);
	move(&a, 2, 1, 1);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* part of the source moves next to it (host: [0,1) [3,4)) */
	sys = setup(&a);
	map(&a, 0, 1, RW);
	map(&a, 2, 2, RW);
	rd(&a, 2);
	rd(&a, 3);
	move(&a, 2, 1, 1);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 0, 0 }, { 3, 4, 3, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* the source grows into the page after it: prev is the source */
	sys = setup(&a);
	map(&a, 0, 2, RW);
	move(&a, 1, 1, 2);
	EXPECT(a.mm, { 0, 1, 0, RW, 0, 0, 0 }, { 2, 3, 2, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* Growing in place up to the next VMA merges with it when compatible
   (host: faulted+unfaulted and unfaulted+unfaulted merge, two faulted with
   different anon_vmas do not). */
static void test_mremap_grow_merge(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	unsigned long res;

	map(&a, 0, 2, RW);
	wr(&a, 0, 1);
	map(&a, 4, 2, RW);
	assert_int_equal(avm_mremap(a.mm, A(0), 2 * PG, 4 * PG, 0, 0, &res), 0);
	assert_int_equal(res, A(0));
	a.val[2] = a.val[3] = 0;
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	sys = setup(&a);
	map(&a, 0, 2, RW);
	map(&a, 4, 2, RW);
	assert_int_equal(avm_mremap(a.mm, A(0), 2 * PG, 4 * PG, 0, 0, &res), 0);
	a.val[2] = a.val[3] = 0;
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	sys = setup(&a);
	map(&a, 0, 2, RW);
	wr(&a, 0, 1);
	map(&a, 4, 2, RW);
	wr(&a, 5, 2);
	assert_int_equal(avm_mremap(a.mm, A(0), 2 * PG, 4 * PG, 0, 0, &res), 0);
	a.val[2] = a.val[3] = 0;
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 4, 6, 4, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	/* not up to the neighbour: a plain grow */
	assert_int_equal(avm_mremap(a.mm, A(4), 2 * PG, 3 * PG, 0, 0, &res), 0);
	a.val[6] = 0;
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 4, 7, 4, RW, 0, 1, 1 });
	/* shrink */
	assert_int_equal(avm_mremap(a.mm, A(4), 3 * PG, 1 * PG, 0, 0, &res), 0);
	a.val[5] = a.val[6] = -1;
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 4, 5, 4, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* A forked child's VMA moved away and back re-merges (same anon_vma and
   chain).  Moved next to an unfaulted VMA whose pgoff fits, it does not
   merge: the fork-history rule applies to the moved VMA too (host 6.18:
   no merge in the child, merge in the parent). */
static void test_mremap_forked(void **state)
{
	struct shadow a, b;
	struct avm_sys *sys = setup(&a);
	struct avm_mm *child;

	map(&a, 0, 4, RW);
	wr_range(&a, 0, 4, 60);
	assert_int_equal(avm_fork(a.mm, &child), 0);
	sh_copy(&b, &a, child);
	move(&b, 2, 2, 20);
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 20, 22, 2, RW, 0, 1, 2 });
	wr(&b, 20, 1);
	VERIFY(sys, &a, &b);
	move(&b, 20, 2, 2);
	EXPECT(b.mm, { 0, 4, 0, RW, 0, 1, 2 });
	VERIFY(sys, &a, &b);
	/* child: [1,2) unfaulted, then the forked pages land at [2,4) */
	move(&b, 2, 2, 20);
	unmap(&b, 0, 2);
	map(&b, 1, 1, RW);
	move(&b, 20, 2, 2);
	EXPECT(b.mm, { 1, 2, 1, RW, 0, 0, 0 }, { 2, 4, 2, RW, 0, 1, 2 });
	VERIFY(sys, &a, &b);
	/* parent, same steps: merges */
	move(&a, 2, 2, 20);
	unmap(&a, 0, 2);
	map(&a, 1, 1, RW);
	move(&a, 20, 2, 2);
	EXPECT(a.mm, { 1, 4, 1, RW, 0, 1, 1 });
	VERIFY(sys, &a, &b);
	avm_exit(a.mm);
	VERIFY(sys, &b);
	avm_sys_destroy(sys);
}

static void test_mremap_dontunmap(void **state)
{
	struct shadow a, b;
	struct avm_mm *child;
	struct avm_sys *sys = setup(&a);
	unsigned long res;

	map(&a, 0, 2, RW);
	wr_range(&a, 0, 2, 7);
	assert_int_equal(avm_mremap(a.mm, A(0), 2 * PG, 2 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_DONTUNMAP |
				    AVM_MREMAP_FIXED, A(10), &res), 0);
	assert_int_equal(res, A(10));
	a.val[10] = a.val[0];
	a.val[11] = a.val[1];
	a.val[0] = a.val[1] = 0;		/* source stays, empty */
	VERIFY(sys, &a);
	/* Linux unlinks the fully moved source from its anon_vmas
	   (dontunmap_complete); the pages went to the destination. */
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 0, 0 }, { 10, 12, 0, RW, 0, 1, 1 });
	wr(&a, 1, 3);
	VERIFY(sys, &a);
	/* DONTUNMAP without FIXED: new_addr is a hint (host: honoured) */
	assert_int_equal(avm_mremap(a.mm, A(0), 2 * PG, 2 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_DONTUNMAP,
				    A(30), &res), 0);
	assert_int_equal(res, A(30));
	a.val[30] = a.val[0];
	a.val[31] = a.val[1];
	a.val[0] = a.val[1] = 0;
	VERIFY(sys, &a);
	avm_sys_destroy(sys);

	/* in a forked child the emptied source loses its fork history, so
	   it merges with a new neighbour (host: [0,4) after DONTUNMAP) */
	sys = setup(&a);
	map(&a, 0, 2, RW);
	wr_range(&a, 0, 2, 9);
	assert_int_equal(avm_fork(a.mm, &child), 0);
	sh_copy(&b, &a, child);
	assert_int_equal(avm_mremap(b.mm, A(0), 2 * PG, 2 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_DONTUNMAP |
				    AVM_MREMAP_FIXED, A(10), &res), 0);
	b.val[10] = b.val[0];
	b.val[11] = b.val[1];
	b.val[0] = b.val[1] = 0;
	map(&b, 2, 2, RW);
	EXPECT(b.mm, { 0, 4, 0, RW, 0, 0, 0 }, { 10, 12, 0, RW, 0, 1, 2 });
	VERIFY(sys, &a, &b);
	/* only part of a VMA: the source keeps its links */
	assert_int_equal(avm_mremap(b.mm, A(10), PG, PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_DONTUNMAP |
				    AVM_MREMAP_FIXED, A(20), &res), 0);
	b.val[20] = b.val[10];
	b.val[10] = 0;
	EXPECT(b.mm, { 0, 4, 0, RW, 0, 0, 0 }, { 10, 12, 0, RW, 0, 1, 2 },
	       { 20, 21, 0, RW, 0, 1, 2 });
	VERIFY(sys, &a, &b);
	avm_sys_destroy(sys);
}

/* ---- munmap -------------------------------------------------------------- */

static void test_munmap(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	struct avm_stats st;

	map(&a, 0, 16, RW);
	wr_range(&a, 0, 16, 100);
	unmap(&a, 0, 2);				/* head */
	EXPECT(a.mm, { 2, 16, 2, RW, 0, 1, 1 });
	unmap(&a, 14, 2);				/* tail */
	EXPECT(a.mm, { 2, 14, 2, RW, 0, 1, 1 });
	unmap(&a, 6, 2);				/* middle */
	EXPECT(a.mm, { 2, 6, 2, RW, 0, 1, 1 }, { 8, 14, 8, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	unmap(&a, 40, 4);				/* nothing there */
	unmap(&a, 5, 1);				/* exact last page */
	EXPECT(a.mm, { 2, 5, 2, RW, 0, 1, 1 }, { 8, 14, 8, RW, 0, 1, 1 });
	/* across several VMAs and the holes between them */
	map(&a, 20, 2, RO);
	map(&a, 22, 2, RW);
	wr(&a, 22, 1);
	map(&a, 24, 2, RO);
	EXPECT(a.mm, { 2, 5, 2, RW, 0, 1, 1 }, { 8, 14, 8, RW, 0, 1, 1 },
	       { 20, 22, 20, RO, 0, 0, 0 }, { 22, 24, 22, RW, 0, 1, 1 },
	       { 24, 26, 24, RO, 0, 0, 0 });
	unmap(&a, 21, 4);
	EXPECT(a.mm, { 2, 5, 2, RW, 0, 1, 1 }, { 8, 14, 8, RW, 0, 1, 1 },
	       { 20, 21, 20, RO, 0, 0, 0 }, { 25, 26, 25, RO, 0, 0, 0 });
	VERIFY(sys, &a);
	unmap(&a, 3, 20);
	EXPECT(a.mm, { 2, 3, 2, RW, 0, 1, 1 }, { 25, 26, 25, RO, 0, 0, 0 });
	VERIFY(sys, &a);
	unmap(&a, 0, NP);
	EXPECT_NONE(a.mm);
	VERIFY(sys, &a);
	avm_stats(sys, &st);
	assert_int_equal(st.vmas, 0);
	EXPECT_AV(st.anon_vmas, 0);
	EXPECT_AV(st.avcs, 0);
	assert_int_equal(st.frames_used, 0);
	avm_sys_destroy(sys);
}

/* ---- madvise ------------------------------------------------------------- */

static void test_madvise_flags(void **state)
{
	struct shadow a, b;
	struct avm_sys *sys = setup(&a);
	struct avm_mm *child;

	map(&a, 0, 8, RW);
	wr_range(&a, 0, 8, 20);
	advise(&a, 2, 2, AVM_MADV_DONTFORK);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 2, 4, 2, RW, DC, 1, 1 },
	       { 4, 8, 4, RW, 0, 1, 1 });
	advise(&a, 2, 2, AVM_MADV_DONTFORK);		/* again: no change */
	advise(&a, 6, 2, AVM_MADV_WIPEONFORK);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 2, 4, 2, RW, DC, 1, 1 },
	       { 4, 6, 4, RW, 0, 1, 1 }, { 6, 8, 6, RW, WF, 1, 1 });
	VERIFY(sys, &a);
	/* fork: no DONTCOPY VMA in the child, WIPEONFORK one comes empty */
	assert_int_equal(avm_fork(a.mm, &child), 0);
	sh_copy(&b, &a, child);
	b.val[2] = b.val[3] = -1;
	b.val[6] = b.val[7] = 0;
	EXPECT(b.mm, { 0, 2, 0, RW, 0, 1, 2 }, { 4, 6, 4, RW, 0, 1, 2 },
	       { 6, 8, 6, RW, WF, 0, 0 });
	VERIFY(sys, &a, &b);
	avm_exit(child);
	/* undo: everything merges back */
	advise(&a, 0, 8, AVM_MADV_DOFORK);
	EXPECT(a.mm, { 0, 6, 0, RW, 0, 1, 1 }, { 6, 8, 6, RW, WF, 1, 1 });
	advise(&a, 6, 2, AVM_MADV_KEEPONFORK);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	/* unfaulted too, both flags on one range and a partial undo */
	map(&a, 10, 6, RW);
	advise(&a, 11, 4, AVM_MADV_WIPEONFORK);
	advise(&a, 12, 2, AVM_MADV_DONTFORK);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 }, { 10, 11, 10, RW, 0, 0, 0 },
	       { 11, 12, 11, RW, WF, 0, 0 }, { 12, 14, 12, RW, WF | DC, 0, 0 },
	       { 14, 15, 14, RW, WF, 0, 0 }, { 15, 16, 15, RW, 0, 0, 0 });
	advise(&a, 12, 2, AVM_MADV_DOFORK);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 }, { 10, 11, 10, RW, 0, 0, 0 },
	       { 11, 15, 11, RW, WF, 0, 0 }, { 15, 16, 15, RW, 0, 0, 0 });
	advise(&a, 10, 6, AVM_MADV_KEEPONFORK);
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 }, { 10, 16, 10, RW, 0, 0, 0 });
	/* DONTNEED: pages read as zero, VMAs unchanged */
	advise(&a, 1, 2, AVM_MADV_DONTNEED);
	a.val[1] = a.val[2] = 0;
	EXPECT(a.mm, { 0, 8, 0, RW, 0, 1, 1 }, { 10, 16, 10, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

/* ---- error numbers (all checked on the host kernel) ---------------------- */

static void test_errors_mmap_munmap(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	unsigned long got;
	const int fx = AVM_MAP_FIXED, nr = AVM_MAP_FIXED_NOREPLACE;

	map(&a, 0, 4, RW);
	wr(&a, 0, 1);
	assert_int_equal(avm_mmap(a.mm, A(8), 0, RW, fx, NULL), -EINVAL);
	assert_int_equal(avm_mmap(a.mm, 0, ~0UL, RW, 0, NULL), -ENOMEM);
	assert_int_equal(avm_mmap(a.mm, 0, ~0UL - 2 * PG, RW, 0, NULL), -ENOMEM);
	assert_int_equal(avm_mmap(a.mm, 0, 1UL << 47, RW, 0, NULL), -ENOMEM);
	assert_int_equal(avm_mmap(a.mm, A(8) + 1, PG, RW, fx, NULL), -EINVAL);
	assert_int_equal(avm_mmap(a.mm, A(8) + 1, PG, RW, nr, NULL), -EINVAL);
	assert_int_equal(avm_mmap(a.mm, TASK_END - PG, 2 * PG, RW, fx, NULL),
			 -ENOMEM);
	assert_int_equal(avm_mmap(a.mm, TASK_END, PG, RW, fx, NULL), -ENOMEM);
	assert_int_equal(avm_mmap(a.mm, A(2), 4 * PG, RW, nr, NULL), -EEXIST);
	VERIFY(sys, &a);
	/* the last page of user space can be mapped */
	assert_int_equal(avm_mmap(a.mm, TASK_END - PG, PG, RW, fx, &got), 0);
	assert_int_equal(got, TASK_END - PG);
	assert_int_equal(avm_munmap(a.mm, TASK_END - PG, PG), 0);
	/* a free hint is used (x86-64 rounds it down to a page), a busy or
	   partly busy one is not */
	assert_int_equal(avm_mmap(a.mm, A(10), PG, RW, 0, &got), 0);
	assert_int_equal(got, A(10));
	a.val[10] = 0;
	assert_int_equal(avm_mmap(a.mm, A(12) - 5, PG, RW, 0, &got), 0);
	assert_int_equal(got, A(11));
	a.val[11] = 0;
	assert_int_equal(avm_mmap(a.mm, A(12) + 5, PG, RW, 0, &got), 0);
	assert_int_equal(got, A(12));
	a.val[12] = 0;
	assert_int_equal(avm_mmap(a.mm, A(2), PG, RW, 0, &got), 0);
	assert_true(got < A(0) || got >= A(NP));
	assert_int_equal(avm_munmap(a.mm, got, PG), 0);
	assert_int_equal(avm_mmap(a.mm, A(3), 2 * PG, RW, 0, &got), 0);
	assert_true(got < A(0) || got >= A(NP));
	assert_int_equal(avm_munmap(a.mm, got, 2 * PG), 0);
	/* MAP_FIXED replaces, data gone */
	assert_int_equal(avm_mmap(a.mm, A(0), PG, RO, fx, NULL), 0);
	a.val[0] = 0;
	EXPECT(a.mm, { 0, 1, 0, RO, 0, 0, 0 }, { 1, 4, 1, RW, 0, 1, 1 },
	       { 10, 13, 10, RW, 0, 0, 0 });
	VERIFY(sys, &a);

	assert_int_equal(avm_munmap(a.mm, A(1) + 1, PG), -EINVAL);
	assert_int_equal(avm_munmap(a.mm, A(1), 0), -EINVAL);
	assert_int_equal(avm_munmap(a.mm, A(1), ~0UL), -EINVAL);
	assert_int_equal(avm_munmap(a.mm, TASK_END - PG, 2 * PG), -EINVAL);
	assert_int_equal(avm_munmap(a.mm, TASK_END, PG), -EINVAL);
	assert_int_equal(avm_munmap(a.mm, A(40), PG), 0);
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

static void test_errors_mprotect_madvise(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);

	map(&a, 0, 4, RW);
	wr_range(&a, 0, 4, 1);
	map(&a, 10, 1, RW);
	assert_int_equal(avm_mprotect(a.mm, A(0) + 1, PG, RO), -EINVAL);
	assert_int_equal(avm_mprotect(a.mm, A(40), 0, RO), 0);
	assert_int_equal(avm_mprotect(a.mm, A(40), PG, RO), -ENOMEM);
	assert_int_equal(avm_mprotect(a.mm, A(0), ~0UL, RO), -ENOMEM);
	assert_int_equal(avm_mprotect(a.mm, A(0), PG, 0x100), -EINVAL);
	assert_int_equal(avm_mprotect(a.mm, TASK_END - PG, 2 * PG, RO), -ENOMEM);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 10, 11, 10, RW, 0, 0, 0 });
	/* a hole: the part before it is changed, then ENOMEM */
	assert_int_equal(avm_mprotect(a.mm, A(3), 4 * PG, RO), -ENOMEM);
	EXPECT(a.mm, { 0, 3, 0, RW, 0, 1, 1 }, { 3, 4, 3, RO, 0, 1, 1 },
	       { 10, 11, 10, RW, 0, 0, 0 });
	VERIFY(sys, &a);

	assert_int_equal(avm_madvise(a.mm, A(0) + 1, PG, AVM_MADV_DONTNEED),
			 -EINVAL);
	assert_int_equal(avm_madvise(a.mm, A(0), PG, (enum avm_advice)12345),
			 -EINVAL);
	assert_int_equal(avm_madvise(a.mm, A(0), 0, AVM_MADV_DONTFORK), 0);
	assert_int_equal(avm_madvise(a.mm, A(40), PG, AVM_MADV_DONTFORK),
			 -ENOMEM);
	assert_int_equal(avm_madvise(a.mm, A(40), PG, AVM_MADV_DONTNEED),
			 -ENOMEM);
	assert_int_equal(avm_madvise(a.mm, A(0), ~0UL, AVM_MADV_DONTFORK),
			 -EINVAL);
	assert_int_equal(avm_madvise(a.mm, A(0), -2 * PG, AVM_MADV_DONTNEED),
			 -EINVAL);
	EXPECT(a.mm, { 0, 3, 0, RW, 0, 1, 1 }, { 3, 4, 3, RO, 0, 1, 1 },
	       { 10, 11, 10, RW, 0, 0, 0 });
	/* a hole: mapped parts advised, then ENOMEM */
	assert_int_equal(avm_madvise(a.mm, A(2), 10 * PG, AVM_MADV_DONTFORK),
			 -ENOMEM);
	EXPECT(a.mm, { 0, 2, 0, RW, 0, 1, 1 }, { 2, 3, 2, RW, DC, 1, 1 },
	       { 3, 4, 3, RO, DC, 1, 1 }, { 10, 11, 10, RW, DC, 0, 0 });
	assert_int_equal(avm_madvise(a.mm, A(1), 3 * PG, AVM_MADV_DONTNEED), 0);
	a.val[1] = a.val[2] = a.val[3] = 0;
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

static void test_errors_mremap(void **state)
{
	struct shadow a;
	struct avm_sys *sys = setup(&a);
	unsigned long r = 0;
	const int mv = AVM_MREMAP_MAYMOVE, fx = AVM_MREMAP_FIXED,
		  du = AVM_MREMAP_DONTUNMAP;

	map(&a, 0, 4, RW);
	wr_range(&a, 0, 4, 1);
	map(&a, 5, 1, RW);
	assert_int_equal(avm_mremap(a.mm, A(0), PG, PG, 8, 0, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), PG, PG, fx, A(20), &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), PG, 2 * PG, mv | du, 0, &r),
			 -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), PG, PG + 1, mv | du, 0, &r),
			 -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0) + 1, PG, PG, 0, 0, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), PG, 0, 0, 0, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(40), PG, 2 * PG, 0, 0, &r), -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(40), PG, PG, 0, 0, &r), -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(40), 2 * PG, PG, 0, 0, &r), -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(40), 0, PG, mv, 0, &r), -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(0), 0, PG, mv, 0, &r), -EINVAL);
	/* [2, 6) crosses the hole at 4 */
	assert_int_equal(avm_mremap(a.mm, A(2), 4 * PG, 8 * PG, mv, 0, &r),
			 -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(0), 6 * PG, 7 * PG, mv, 0, &r),
			 -EFAULT);
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 6 * PG, 0, 0, &r),
			 -ENOMEM);			/* blocked by [5,6) */
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 6 * PG, mv | fx, A(2),
				    &r), -EINVAL);	/* overlap */
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 6 * PG, mv | fx,
				    A(20) + 1, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 4 * PG, mv | fx,
				    TASK_END - 2 * PG, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 4 * PG, mv | du,
				    A(20) + 1, &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(0), 4 * PG, 4 * PG, mv | du, A(2),
				    &r), -EINVAL);
	assert_int_equal(avm_mremap(a.mm, A(1), PG, 3 * PG, mv | fx, A(1), &r),
			 -EINVAL);
	EXPECT(a.mm, { 0, 4, 0, RW, 0, 1, 1 }, { 5, 6, 5, RW, 0, 0, 0 });
	VERIFY(sys, &a);
	/* same size over the hole: nothing to do (host: success) */
	r = 0;
	assert_int_equal(avm_mremap(a.mm, A(2), 4 * PG, 4 * PG, 0, 0, &r), 0);
	assert_int_equal(r, A(2));
	/* shrinking may cross VMA boundaries: it is an munmap */
	assert_int_equal(avm_mremap(a.mm, A(2), 4 * PG, PG, 0, 0, &r), 0);
	assert_int_equal(r, A(2));
	a.val[3] = a.val[5] = -1;
	EXPECT(a.mm, { 0, 3, 0, RW, 0, 1, 1 });
	VERIFY(sys, &a);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mprotect_unfaulted),
		cmocka_unit_test(test_mprotect_faulted),
		cmocka_unit_test(test_mprotect_mixed),
		cmocka_unit_test(test_mmap_adjacent),
		cmocka_unit_test(test_prepare_reuses_neighbour),
		cmocka_unit_test(test_fork_merge),
		cmocka_unit_test(test_mremap_away_and_back),
		cmocka_unit_test(test_mremap_unfaulted),
		cmocka_unit_test(test_mremap_merges_with_source),
		cmocka_unit_test(test_mremap_grow_merge),
		cmocka_unit_test(test_mremap_forked),
		cmocka_unit_test(test_mremap_dontunmap),
		cmocka_unit_test(test_munmap),
		cmocka_unit_test(test_madvise_flags),
		cmocka_unit_test(test_errors_mmap_munmap),
		cmocka_unit_test(test_errors_mprotect_madvise),
		cmocka_unit_test(test_errors_mremap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
