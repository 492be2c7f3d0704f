/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure at every point of every operation that allocates.
 *
 * For each operation: build a fresh non-trivial state (several VMAs, three
 * processes in a fork tree, shared and private pages), snapshot the live
 * counters and every visible byte, fail the nth allocation from then on
 * (n = 1, 2, ...) and run the operation, until it succeeds without meeting
 * the injected failure.  At every n: the result is 0 or -ENOMEM, the
 * checker passes, and on -ENOMEM nothing leaked (counters equal the
 * snapshot) and every byte of every process is unchanged.  On success the
 * outcome (VMA lists and contents) equals that of a run without failures.
 *
 * Partial effects Linux itself leaves behind on ENOMEM, allowed here:
 *  - first write fault: anon_vma_prepare() ran before the page allocation
 *    failed; the VMA keeps its new anon_vma (one anon_vma, one avc more);
 *  - mprotect / munmap / madvise: when the split at the end of the range
 *    fails, the split at its start stays (one VMA more, and that VMA's
 *    avcs); the data is untouched;
 *  - mremap move: when unmapping the source fails after the pages moved,
 *    mremap still succeeds and the source range stays mapped, empty
 *    (move_vma: "OOM: unable to split vma, just get accounts right").
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x500000000000UL
#define PG	AVM_PAGE_SIZE
#define NP	40
#define A(p)	(BASE + (unsigned long)(p) * PG)
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define NMM	3
#define FAR	(BASE + (1UL << 39))	/* no page tables there yet */
#define MAXV	32

struct state {
	struct avm_sys *sys;
	struct avm_mm *mm[NMM + 1];	/* P, C (child), G (grandchild), new */
};

struct snap {
	unsigned long vmas, anon_vmas, avcs, frames, mms, failures;
	int rc[NMM][NP];
	uint64_t hash[NMM][NP];
	long nv[NMM];
	struct avm_vma_info v[NMM][MAXV];
};

enum partial {
	P_NONE,
	P_PREPARE,		/* first write: anon_vma kept */
	P_SPLIT,		/* start split kept */
	P_MREMAP,		/* success with the source left mapped */
};

struct op {
	const char *name;
	int (*fn)(struct state *s);
	enum partial partial;
	int split_mm;		/* P_SPLIT: the mm whose VMA may stay split */
	long split_page;	/* P_SPLIT: a page of that VMA */
};

/* ---- the state ---------------------------------------------------------- */

static void wr(struct avm_mm *mm, long p, int byte)
{
	assert_int_equal(avm_fill(mm, A(p), byte, PG), 0);
}

/*
 * P:  [0,8) RW faulted, [10,14) RW read-only-faulted (zero page, no
 *     anon_vma), [16,18) RO + [18,20) RW faulted (split), [21,22) RW
 *     unfaulted, [24,26) RW faulted; forked to C, C forked to G.
 * C:  COW-wrote pages 1 and 3;  P wrote page 2 after the fork;
 * G:  wrote page 5.
 */
static void build(struct state *s)
{
	struct avm_mm *P;
	unsigned char b;

	s->sys = test_sys(1);
	assert_int_equal(avm_mm_create(s->sys, &P), 0);
	s->mm[0] = P;
	assert_int_equal(avm_mmap(P, A(0), 8 * PG, RW, AVM_MAP_FIXED, NULL), 0);
	for (long p = 0; p < 8; p++)
		wr(P, p, (int)(0x10 + p));
	assert_int_equal(avm_mmap(P, A(10), 4 * PG, RW, AVM_MAP_FIXED, NULL), 0);
	assert_int_equal(avm_read(P, A(10), &b, 1), 0);
	assert_int_equal(avm_mmap(P, A(16), 4 * PG, RW, AVM_MAP_FIXED, NULL), 0);
	for (long p = 16; p < 20; p++)
		wr(P, p, (int)(0x20 + p));
	assert_int_equal(avm_mprotect(P, A(16), 2 * PG, AVM_PROT_READ), 0);
	assert_int_equal(avm_mmap(P, A(21), PG, RW, AVM_MAP_FIXED, NULL), 0);
	assert_int_equal(avm_mmap(P, A(24), 2 * PG, RW, AVM_MAP_FIXED, NULL), 0);
	wr(P, 24, 0x44);
	assert_int_equal(avm_mmap(P, FAR, 2 * PG, RW, AVM_MAP_FIXED, NULL), 0);
	assert_int_equal(avm_fork(P, &s->mm[1]), 0);
	wr(s->mm[1], 1, 0x61);
	wr(s->mm[1], 3, 0x63);
	wr(P, 2, 0x52);
	assert_int_equal(avm_fork(s->mm[1], &s->mm[2]), 0);
	wr(s->mm[2], 5, 0x75);
	s->mm[3] = NULL;
	assert_check(s->sys);
}

static void destroy(struct state *s)
{
	avm_sys_destroy(s->sys);	/* exits every mm */
}

static uint64_t page_hash(const unsigned char *d)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < PG; i++)
		h = (h ^ d[i]) * 1099511628211ULL;
	return h;
}

static void take(struct state *s, struct snap *sn)
{
	static unsigned char buf[PG];
	struct avm_stats st;

	avm_stats(s->sys, &st);
	sn->vmas = st.vmas;
	sn->anon_vmas = st.anon_vmas;
	sn->avcs = st.avcs;
	sn->frames = st.frames_used;
	sn->mms = st.mms;
	sn->failures = st.alloc_failures;
	for (int m = 0; m < NMM; m++) {
		sn->nv[m] = avm_vmas(s->mm[m], sn->v[m], MAXV);
		assert_true(sn->nv[m] <= MAXV);
		for (long p = 0; p < NP; p++) {
			sn->rc[m][p] = avm_peek(s->mm[m], A(p), buf, PG);
			sn->hash[m][p] = sn->rc[m][p] ? 0 : page_hash(buf);
		}
	}
}

static void same_bytes(const struct snap *a, const struct snap *b,
		       const char *what, unsigned long n)
{
	for (int m = 0; m < NMM; m++)
		for (long p = 0; p < NP; p++) {
			if (a->rc[m][p] != b->rc[m][p] ||
			    a->hash[m][p] != b->hash[m][p])
				fprintf(stderr, "%s n=%lu: mm %d page %ld changed "
					"(rc %d -> %d)\n", what, n, m, p,
					a->rc[m][p], b->rc[m][p]);
			assert_int_equal(a->rc[m][p], b->rc[m][p]);
			assert_int_equal(a->hash[m][p], b->hash[m][p]);
		}
}

static void same_vmas(const struct snap *a, const struct snap *b,
		      const char *what, unsigned long n)
{
	for (int m = 0; m < NMM; m++) {
		if (a->nv[m] != b->nv[m])
			fprintf(stderr, "%s n=%lu: mm %d has %ld VMAs, expected "
				"%ld\n", what, n, m, b->nv[m], a->nv[m]);
		assert_int_equal(a->nv[m], b->nv[m]);
		for (long i = 0; i < a->nv[m]; i++)
			assert_memory_equal(&a->v[m][i], &b->v[m][i],
					    sizeof(a->v[m][i]));
	}
}

/* The VMA of mm m that was split: the one covering the op's range start. */
static unsigned long split_avcs(const struct snap *before, int m, long page)
{
	for (long i = 0; i < before->nv[m]; i++)
		if (before->v[m][i].start <= A(page) && A(page) < before->v[m][i].end)
			return before->v[m][i].chain_len;
	fail();
	return 0;
}

/* ---- the operations ----------------------------------------------------- */

static int op_fork(struct state *s)
{
	return avm_fork(s->mm[1], &s->mm[3]);
}

static int op_first_write(struct state *s)
{
	unsigned char b = 0x99;

	return avm_write(s->mm[0], A(11), &b, 1);
}

static int op_far_write(struct state *s)
{
	unsigned char b = 0x9a;

	return avm_write(s->mm[0], FAR + PG, &b, 1);	/* tables, too */
}

static int op_mremap_far(struct state *s)
{
	unsigned long r;

	return avm_mremap(s->mm[1], A(0), 8 * PG, 8 * PG,
			  AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
			  FAR + (1UL << 30), &r);
}

static int op_zero_write(struct state *s)
{
	unsigned char b = 0x98;

	return avm_write(s->mm[0], A(10), &b, 1);	/* over the zero page */
}

static int op_cow_write(struct state *s)
{
	unsigned char b = 0x97;

	return avm_write(s->mm[1], A(4), &b, 1);	/* shared by all three */
}

static int op_cow_write_grandchild(struct state *s)
{
	unsigned char b = 0x96;

	return avm_write(s->mm[2], A(18), &b, 1);
}

static int op_mprotect(struct state *s)
{
	return avm_mprotect(s->mm[0], A(2), 2 * PG, AVM_PROT_READ);
}

static int op_mprotect_child(struct state *s)
{
	return avm_mprotect(s->mm[1], A(3), 3 * PG, AVM_PROT_READ);
}

static int op_munmap(struct state *s)
{
	return avm_munmap(s->mm[1], A(3), 2 * PG);
}

static int op_munmap_many(struct state *s)
{
	return avm_munmap(s->mm[0], A(6), 11 * PG);	/* splits 2 VMAs */
}

static int op_mremap_move(struct state *s)
{
	unsigned long r;

	return avm_mremap(s->mm[1], A(4), 2 * PG, 2 * PG,
			  AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, A(30), &r);
}

static int op_mremap_move_whole(struct state *s)
{
	unsigned long r;

	return avm_mremap(s->mm[2], A(0), 8 * PG, 8 * PG,
			  AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, A(30), &r);
}

static int op_mremap_grow_move(struct state *s)
{
	unsigned long r;

	/* [24,26) cannot grow to 30 pages in place: it moves */
	return avm_mremap(s->mm[1], A(24), 2 * PG, 4 * PG,
			  AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, A(34), &r);
}

static int op_mremap_grow_merge(struct state *s)
{
	unsigned long r;

	/* P's unfaulted [21,22) grows to meet [24,26) and adopts its
	   anon_vma (a clone: allocations) */
	return avm_mremap(s->mm[0], A(21), PG, 3 * PG, 0, 0, &r);
}

static int op_mremap_dontunmap(struct state *s)
{
	unsigned long r;

	return avm_mremap(s->mm[1], A(0), 8 * PG, 8 * PG,
			  AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED |
			  AVM_MREMAP_DONTUNMAP, A(30), &r);
}

static int op_madvise(struct state *s)
{
	return avm_madvise(s->mm[1], A(2), 2 * PG, AVM_MADV_DONTFORK);
}

static int op_madvise_wipe(struct state *s)
{
	return avm_madvise(s->mm[2], A(1), 5 * PG, AVM_MADV_WIPEONFORK);
}

static const struct op ops[] = {
	{ "fork", op_fork, P_NONE, 0, 0 },
	{ "first write", op_first_write, P_PREPARE, 0, 0 },
	{ "write over zero page", op_zero_write, P_PREPARE, 0, 0 },
	{ "first write, new page tables", op_far_write, P_PREPARE, 0, 0 },
	{ "COW write", op_cow_write, P_NONE, 0, 0 },
	{ "COW write (grandchild)", op_cow_write_grandchild, P_NONE, 0, 0 },
	{ "mprotect split", op_mprotect, P_SPLIT, 0, 2 },
	{ "mprotect split (child)", op_mprotect_child, P_SPLIT, 1, 3 },
	{ "munmap split", op_munmap, P_SPLIT, 1, 3 },
	{ "munmap across VMAs", op_munmap_many, P_SPLIT, 0, 6 },
	{ "mremap move", op_mremap_move, P_MREMAP, 1, 0 },
	{ "mremap move whole VMA", op_mremap_move_whole, P_MREMAP, 2, 0 },
	{ "mremap grow (move)", op_mremap_grow_move, P_MREMAP, 1, 0 },
	{ "mremap grow (in place, merge)", op_mremap_grow_merge, P_NONE, 0, 0 },
	{ "mremap DONTUNMAP", op_mremap_dontunmap, P_NONE, 1, 0 },
	{ "mremap move, new page tables", op_mremap_far, P_MREMAP, 1, 0 },
	{ "madvise split", op_madvise, P_SPLIT, 1, 2 },
	{ "madvise split (grandchild)", op_madvise_wipe, P_SPLIT, 2, 1 },
};

/* ---- the driver --------------------------------------------------------- */

/* -ENOMEM: nothing may have changed but the documented partial effects. */
static void check_failed(const struct op *op, const struct snap *before,
			 const struct snap *after, unsigned long n)
{
	unsigned long extra_vmas = after->vmas - before->vmas;
	unsigned long extra_av = after->anon_vmas - before->anon_vmas;
	unsigned long extra_avc = after->avcs - before->avcs;

	same_bytes(before, after, op->name, n);
	assert_int_equal(after->frames, before->frames);
	assert_int_equal(after->mms, before->mms);
	if (op->partial == P_PREPARE && extra_av == 1) {
		/* anon-vma-2004 links the VMA without an avc */
		assert_int_equal(extra_avc, test_design_one_list() ? 0 : 1);
		assert_int_equal(extra_vmas, 0);
		return;
	}
	if (op->partial == P_SPLIT && extra_vmas == 1) {
		/* the new part of the split VMA has a copy of its chain */
		assert_int_equal(extra_av, 0);
		assert_int_equal(extra_avc, test_design_one_list() ? 0 :
				 split_avcs(before, op->split_mm, op->split_page));
		return;
	}
	if (before->vmas != after->vmas || before->anon_vmas != after->anon_vmas ||
	    before->avcs != after->avcs)
		fprintf(stderr, "%s n=%lu: leak: vmas %lu->%lu anon_vmas %lu->%lu "
			"avcs %lu->%lu\n", op->name, n, before->vmas, after->vmas,
			before->anon_vmas, after->anon_vmas, before->avcs,
			after->avcs);
	assert_int_equal(after->vmas, before->vmas);
	assert_int_equal(after->anon_vmas, before->anon_vmas);
	assert_int_equal(after->avcs, before->avcs);
	same_vmas(before, after, op->name, n);
}

/* Pages mapped now that are unmapped in the reference outcome. */
static int left_mapped(const struct snap *ref, const struct snap *after)
{
	int k = 0;

	for (int m = 0; m < NMM; m++)
		for (long p = 0; p < NP; p++)
			k += after->rc[m][p] == 0 && ref->rc[m][p] == -EFAULT;
	return k;
}

/* Success although an allocation failed: Linux's outcome all the same,
   except a move whose source could not be unmapped (left mapped, empty). */
static void check_succeeded(const struct op *op, const struct snap *ref,
			    const struct snap *after, unsigned long n)
{
	static const unsigned char zero[PG];

	if (!left_mapped(ref, after)) {
		same_bytes(ref, after, op->name, n);
		same_vmas(ref, after, op->name, n);
		assert_int_equal(after->frames, ref->frames);
		assert_int_equal(after->anon_vmas, ref->anon_vmas);
		assert_int_equal(after->avcs, ref->avcs);
		return;
	}
	assert_int_equal(op->partial, P_MREMAP);
	for (int m = 0; m < NMM; m++)
		for (long p = 0; p < NP; p++) {
			if (after->rc[m][p] == 0 && ref->rc[m][p] == -EFAULT) {
				/* the source, left mapped: empty */
				assert_int_equal(after->hash[m][p],
						 page_hash(zero));
				continue;
			}
			assert_int_equal(after->rc[m][p], ref->rc[m][p]);
			assert_int_equal(after->hash[m][p], ref->hash[m][p]);
		}
	assert_int_equal(after->frames, ref->frames);
}

static void run_op(const struct op *op)
{
	static struct snap before, after, ref;
	struct state s;
	unsigned long n, hits = 0, partial = 0;
	int rc;

	build(&s);			/* the outcome without failures */
	assert_int_equal(op->fn(&s), 0);
	assert_check(s.sys);
	take(&s, &ref);
	destroy(&s);
	for (n = 1; n < 1000; n++) {
		build(&s);
		take(&s, &before);
		avm_fail_nth(s.sys, n);
		rc = op->fn(&s);
		avm_fail_nth(s.sys, 0);
		if (rc != 0 && rc != -ENOMEM)
			fprintf(stderr, "%s n=%lu: returned %d\n", op->name, n, rc);
		assert_true(rc == 0 || rc == -ENOMEM);
		assert_check(s.sys);
		take(&s, &after);
		if (rc == -ENOMEM) {
			hits++;
			if (after.vmas != before.vmas ||
			    after.anon_vmas != before.anon_vmas)
				partial++;
			check_failed(op, &before, &after, n);
		} else if (after.failures != before.failures) {
			check_succeeded(op, &ref, &after, n);
			partial++;
		} else {
			check_succeeded(op, &ref, &after, n);
			destroy(&s);
			break;
		}
		destroy(&s);
	}
	assert_true(n < 1000);
	printf("  %-32s %3lu failure points, %lu ENOMEM, %lu with a "
	       "documented partial effect\n", op->name, n - 1, hits, partial);
	/* it did allocate (with anon_vma chains: pte-chain, anonmm and
	   anon-vma-2004 need nothing to grow a VMA over its unfaulted
	   neighbour) */
	assert_true(n > 1 || test_design_by_address() ||
		    test_design_one_list());
}

static void test_alloc_fail(void **state)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run_op(&ops[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
