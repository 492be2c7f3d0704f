/* SPDX-License-Identifier: MIT */
/*
 * Every registered design on the same small fixed workloads, with the
 * invariant checker after every step, the data, the mappings a walk finds,
 * and the counts where the designs differ (they run whatever $AVM_DESIGN
 * says: each test loops over avm_designs()).
 *
 *  - workload: fork, COW, fork again, mprotect split, mremap move, exit in
 *    the middle, fork after the exit (where reuse shows), COW, exits.
 *    Counts: anon-vma-2004 keeps one anon_vma per family and no chains;
 *    the chain designs one anon_vma per process and chains of 1 + depth;
 *    whether the fork after an exit reuses decides the rest.  Walks: a
 *    list (anon-vma-2004: the whole family; avc-2010: every VMA linked to
 *    the anon_vma) visits the split VMA's every piece, a tree only the one
 *    holding the page; reuse adds false aliasing.
 *  - section3: reference section 3's fork/exit sequence up to the point
 *    where the 2015 rule reuses an anon_vma twice (tests/reuse_degree.c
 *    goes on): the anon_vma count after each step per reuse rule.
 *  - forrest: Forrest's fork chain for 30 generations: the anon_vma count
 *    after each generation per reuse rule, exactly.
 *  - moveto_tail (list designs, white box): after mremap merges its
 *    destination into a VMA that sat before the source on the anon_vma's
 *    list, that VMA is at the tail, after the source (seed 2011-11's
 *    anon_vma_moveto_tail).
 *  - mremap_race: those moves racing page migration (a smoke test: in
 *    this model the window between copy_vma and the PTE move is too short
 *    to hit reliably; moveto_tail checks the order itself).
 *
 * Designs this file does not know (pte-chain, anonmm, later ones) run the
 * same steps under the checker, with data and hits checked.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"
#include "mm/internal.h"	/* moveto_tail looks at the lists */
#include "rmap/anon_vma.h"

#define A	0x100000000000UL
#define B	0x200000000000UL
#define C	0x300000000000UL
#define PG	AVM_PAGE_SIZE
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define P0	(A >> 12)

enum kind {
	K_OTHER,	/* not an anon_vma design: generic checks only */
	K_2004,		/* one anon_vma per family, one list */
	K_LIST,		/* anon_vma_chain, lists (avc-2010) */
	K_TREE,		/* anon_vma_chain, interval tree */
};

enum reuse {
	R_NONE,		/* never (avc-2010, avc-tree) */
	R_LINUX,	/* num_active_vmas == 0 && num_children < 2 */
	R_SINGLE,	/* num_active_vmas == 0 && num_children == 1 */
	R_DEGREE,	/* num_active_vmas + num_children < 2 (unsafe) */
};

struct design {
	const char *name;
	enum kind kind;
	enum reuse reuse;
};

static struct design classify(const char *name)
{
	static const struct design known[] = {
		{ "linux", K_TREE, R_LINUX },
		{ "anon-vma-2004", K_2004, R_NONE },
		{ "avc-2010", K_LIST, R_NONE },
		{ "avc-tree", K_TREE, R_NONE },
		{ "reuse-degree", K_TREE, R_DEGREE },
		{ "single-descendant", K_TREE, R_SINGLE },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].name, name))
			return known[i];
	return (struct design){ name, K_OTHER, R_NONE };
}

static struct avm_sys *sys_for(const char *design)
{
	return test_sys_for(design, 1, 1UL << 14, 0);
}

#define CHECK_AT(sys, d, step) do {					\
	char msg__[512];						\
	int rc__ = avm_check((sys), msg__, sizeof(msg__));		\
	if (rc__)							\
		fprintf(stderr, "%s, %s: avm_check: %s\n", (d)->name,	\
			(step), msg__);					\
	assert_int_equal(rc__, 0);					\
} while (0)

static void counts(struct avm_sys *sys, const struct design *d,
		   const char *step, unsigned long av, unsigned long avc)
{
	struct avm_stats st;

	if (d->kind == K_OTHER)
		return;
	avm_stats(sys, &st);
	if (st.anon_vmas != av || st.avcs != avc)
		fprintf(stderr, "%s, %s: %lu anon_vmas, %lu avcs; expected "
			"%lu, %lu\n", d->name, step, st.anon_vmas, st.avcs,
			av, avc);
	assert_int_equal(st.anon_vmas, av);
	assert_int_equal(st.avcs, avc);
}

/* Walk the frame mapped at addr: exact hits and visits per kind (-1: no
   expectation); a design this file does not know must at least find the
   mapping walked from (anonmm copies shared pages on mremap: fewer hits). */
static void walk(const struct design *d, struct avm_mm *mm, unsigned long addr,
		 unsigned long hits, long v2004, long vlist, long vtree)
{
	struct avm_walk_stats ws = { 0 };
	long want = d->kind == K_2004 ? v2004 : d->kind == K_LIST ? vlist :
		    d->kind == K_TREE ? vtree : -1;

	assert_int_equal(avm_rmap_walk_addr(mm, addr, &ws), 0);
	if (d->kind != K_OTHER && (ws.hits != hits ||
				   (want >= 0 && ws.visits != (unsigned long)want)))
		fprintf(stderr, "%s: walk of mm %lu %#lx: %lu visits, %lu hits; "
			"expected %ld, %lu\n", d->name, avm_mm_id(mm), addr,
			ws.visits, ws.hits, want, hits);
	assert_int_equal(ws.walks, 1);
	if (d->kind == K_OTHER) {
		assert_true(ws.hits >= 1 && ws.hits <= hits);
		return;
	}
	assert_int_equal(ws.hits, hits);
	if (want >= 0)
		assert_int_equal(ws.visits, (unsigned long)want);
}

static void fill(struct avm_mm *mm, unsigned long addr, int byte)
{
	assert_int_equal(avm_fill(mm, addr, byte, PG), 0);
}

static long nvmas(struct avm_mm *mm)
{
	struct avm_vma_info v[16];

	return avm_vmas(mm, v, 16);
}

/* ---- the fixed workload ---------------------------------------------------- */

static void workload(const struct design *d)
{
	struct avm_sys *sys = sys_for(d->name);
	struct avm_mm *P, *C1, *C2, *C3;
	struct avm_stats st;
	bool reuses = d->reuse != R_NONE;
	unsigned long got;

	/* 1: P faults 8 pages: the root anon_vma */
	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 8 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 8; i++)
		fill(P, A + i * PG, 0x10 + i);
	CHECK_AT(sys, d, "fault");
	counts(sys, d, "fault", 1, d->kind == K_2004 ? 0 : 1);

	/* 2: fork: a chain design gives C1 its own anon_vma, linked to R too;
	   anon-vma-2004 puts C1's VMA on the family's list */
	assert_int_equal(avm_fork(P, &C1), 0);
	CHECK_AT(sys, d, "fork C1");
	counts(sys, d, "fork C1", d->kind == K_2004 ? 1 : 2,
	       d->kind == K_2004 ? 0 : 1 + 2);
	walk(d, P, A, 2, 2, 2, 2);

	/* 3: C1 COW-writes pages 0..3 (its own anon_vma's pages) */
	for (int i = 0; i < 4; i++)
		fill(C1, A + i * PG, 0x20 + i);
	CHECK_AT(sys, d, "COW in C1");
	walk(d, C1, A, 1, 2, 1, 1);

	/* 4: C1 forks C2 */
	assert_int_equal(avm_fork(C1, &C2), 0);
	CHECK_AT(sys, d, "fork C2");
	counts(sys, d, "fork C2", d->kind == K_2004 ? 1 : 3,
	       d->kind == K_2004 ? 0 : 1 + 2 + 3);

	/* 5: C2 splits its VMA in three with mprotect */
	assert_int_equal(avm_mprotect(C2, A + 2 * PG, 2 * PG, AVM_PROT_READ), 0);
	assert_int_equal(nvmas(C2), 3);
	CHECK_AT(sys, d, "split in C2");
	counts(sys, d, "split in C2", d->kind == K_2004 ? 1 : 3,
	       d->kind == K_2004 ? 0 : 1 + 2 + 3 * 3);
	/* C1's page 0 (anon_vma A1), mapped by C1 and C2: the family list
	   holds P, C1 and C2's 3 pieces; A1's list C1 and the 3 pieces; A1's
	   tree finds C1 and the piece holding the page */
	walk(d, C2, A, 2, 5, 4, 2);
	/* P's page 5 (root R), mapped by P, C1, C2: R's tree finds P, C1
	   and C2's third piece; the lists hold all five VMAs */
	walk(d, C2, A + 5 * PG, 3, 5, 5, 3);

	/* 6: C1 moves its upper half away (a new VMA, same pgoff) */
	assert_int_equal(avm_mremap(C1, A + 4 * PG, 4 * PG, 4 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, B,
				    &got), 0);
	assert_int_equal(got, B);
	CHECK_AT(sys, d, "mremap in C1");
	counts(sys, d, "mremap in C1", d->kind == K_2004 ? 1 : 3,
	       d->kind == K_2004 ? 0 : 1 + 2 * 2 + 3 * 3);
	for (int i = 0; i < 4; i++)
		test_expect_page(C1, B + i * PG, 0x14 + i);
	/* P's page 4 now at B in C1: R's tree finds P, C1's moved VMA and
	   C2's third piece; the lists hold P, C1's two VMAs, C2's three */
	walk(d, C1, B, 3, 6, 6, 3);

	/* 7: C1 exits in the middle: A1 stays (C2 is linked to it) */
	avm_exit(C1);
	CHECK_AT(sys, d, "exit C1");
	counts(sys, d, "exit C1", d->kind == K_2004 ? 1 : 3,
	       d->kind == K_2004 ? 0 : 1 + 3 * 3);
	walk(d, C2, A, 1, 4, 3, 1);

	/* 8: C2 forks C3: a reusing design hands C3's first piece A1 (no VMA
	   uses it, one child: every reuse rule agrees); the other pieces get
	   new anon_vmas */
	assert_int_equal(avm_fork(C2, &C3), 0);
	CHECK_AT(sys, d, "fork C3");
	if (d->kind == K_2004)
		counts(sys, d, "fork C3", 1, 0);
	else if (reuses)
		counts(sys, d, "fork C3", 3 + 2, 1 + 3 * 3 + (3 + 4 + 4));
	else
		counts(sys, d, "fork C3", 3 + 3, 1 + 3 * 3 + 3 * 4);

	/* 9: C3 COW-writes page 1 (its first piece): the new page names C3's
	   own anon_vma: reused A1 is also C2's pieces' ancestor, so its tree
	   finds C2's first piece too (false aliasing); a new one only C3 */
	fill(C3, A + PG, 0x31);
	fill(C3, A + 5 * PG, 0x35);
	CHECK_AT(sys, d, "COW in C3");
	walk(d, C3, A + PG, 1, 7, reuses ? 6 : 1, reuses ? 2 : 1);
	test_expect_page(C3, A + PG, 0x31);
	test_expect_page(C2, A + PG, 0x21);
	test_expect_page(C3, A, 0x20);
	test_expect_page(P, A + PG, 0x11);
	test_expect_page(C3, A + 5 * PG, 0x35);
	test_expect_page(C2, A + 5 * PG, 0x15);

	/* 10: exits, the root's owner first */
	avm_exit(P);
	CHECK_AT(sys, d, "exit P");
	test_expect_page(C2, A + 7 * PG, 0x17);
	avm_exit(C2);
	CHECK_AT(sys, d, "exit C2");
	test_expect_page(C3, A + 7 * PG, 0x17);
	test_expect_page(C3, A + 3 * PG, 0x23);
	avm_exit(C3);
	CHECK_AT(sys, d, "exit C3");
	avm_stats(sys, &st);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.rmap_objects, 0);
	assert_int_equal(st.frames_used, 0);
	avm_sys_destroy(sys);
}

static void test_workload(void **state)
{
	for (const char *const *n = avm_designs(); *n; n++) {
		struct design d = classify(*n);

		printf("workload: %s\n", d.name);
		workload(&d);
	}
}

/* ---- reference section 3, up to the double reuse ----------------------------- */

static unsigned long anon_vmas(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	return st.anon_vmas;
}

/* expected anon_vmas: anon-vma-2004, then per reuse rule: none, linux,
   single, degree */
#define AV(sys, d, step, v2004, none, lin, single, degree) do {		\
	const unsigned long w__[] = { none, lin, single, degree };	\
	unsigned long want__ = (d)->kind == K_2004 ? (v2004) :		\
			       w__[(d)->reuse];				\
	if ((d)->kind != K_OTHER) {					\
		if (anon_vmas(sys) != want__)				\
			fprintf(stderr, "%s, %s: %lu anon_vmas, expected " \
				"%lu\n", (d)->name, step, anon_vmas(sys), \
				want__);				\
		assert_int_equal(anon_vmas(sys), want__);		\
	}								\
	CHECK_AT(sys, d, step);						\
} while (0)

static void section3(const struct design *d)
{
	struct avm_sys *sys = sys_for(d->name);
	struct avm_mm *P, *C1, *C2, *C3, *C4, *C5;

	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 4 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 4; i++)
		fill(P, A + i * PG, 0x40 + i);
	AV(sys, d, "P faults", 1, 1, 1, 1, 1);
	assert_int_equal(avm_fork(P, &C1), 0);
	AV(sys, d, "P forks C1", 1, 2, 2, 2, 2);
	assert_int_equal(avm_fork(C1, &C2), 0);
	AV(sys, d, "C1 forks C2", 1, 3, 3, 3, 3);
	avm_exit(C1);
	AV(sys, d, "C1 exits", 1, 3, 3, 3, 3);
	/* A1: no VMA, one child (A2): every rule reuses it */
	assert_int_equal(avm_fork(C2, &C3), 0);
	AV(sys, d, "C2 forks C3", 1, 4, 3, 3, 3);
	avm_exit(C2);
	AV(sys, d, "C2 exits", 1, 4, 3, 3, 3);
	/* A2: no VMA, no child (an abandoned leaf): linux and the degree rule
	   reuse it, single-descendant does not (no single descendant) */
	assert_int_equal(avm_fork(C3, &C4), 0);
	AV(sys, d, "C3 forks C4", 1, 5, 3, 4, 3);
	fill(C4, A, 0x50);
	AV(sys, d, "C4 writes", 1, 5, 3, 4, 3);
	if (d->reuse != R_DEGREE) {
		/* A2 is C4's now (linux): nobody may take it again */
		assert_int_equal(avm_fork(C3, &C5), 0);
		AV(sys, d, "C3 forks C5", 1, 6, 4, 5, 0);
		fill(C5, A + PG, 0x51);
		test_expect_page(C5, A, 0x40);
		test_expect_page(C5, A + PG, 0x51);
		test_expect_page(C4, A, 0x50);
		test_expect_page(C4, A + PG, 0x41);
		avm_exit(C5);
		CHECK_AT(sys, d, "C5 exits");
	}
	avm_exit(P);
	CHECK_AT(sys, d, "P exits");
	avm_exit(C3);
	CHECK_AT(sys, d, "C3 exits");
	test_expect_page(C4, A, 0x50);
	test_expect_page(C4, A + 3 * PG, 0x43);
	avm_exit(C4);
	AV(sys, d, "all exited", 0, 0, 0, 0, 0);
	avm_sys_destroy(sys);
}

static void test_section3(void **state)
{
	for (const char *const *n = avm_designs(); *n; n++) {
		struct design d = classify(*n);

		printf("section3: %s\n", d.name);
		section3(&d);
	}
}

/* ---- Forrest's fork chain ------------------------------------------------------ */

/*
 * anon_vmas after generation g (fork, the child writes a page, the parent
 * exits), one VMA:
 *   none:    g + 1 (each generation leaves one behind)
 *   linux:   2, then 3: the survivor's chain stays root + two that take
 *            turns (the parent's, abandoned with one or no child, is
 *            reused by the next fork);
 *   degree:  the same as linux here (one fork per process);
 *   single:  a reuse every third generation at best: an abandoned leaf
 *            (no child) is never reused, so each cycle of three leaves two
 *            more: 2 floor(g / 3) + 1 + g mod 3.
 */
static unsigned long forrest_want(const struct design *d, unsigned long g)
{
	switch (d->kind == K_2004 ? (enum reuse)-1 : d->reuse) {
	case R_NONE:
		return g + 1;
	case R_LINUX:
	case R_DEGREE:
		return g < 2 ? 2 : 3;
	case R_SINGLE:
		return 2 * (g / 3) + 1 + g % 3;
	default:
		return 1;
	}
}

static void forrest(const struct design *d)
{
	struct avm_sys *sys = sys_for(d->name);
	struct avm_mm *p, *c;

	assert_int_equal(avm_mm_create(sys, &p), 0);
	assert_int_equal(avm_mmap(p, A, 4 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	fill(p, A, 1);
	for (unsigned long g = 1; g <= 30; g++) {
		char step[32];

		snprintf(step, sizeof(step), "generation %lu", g);
		assert_int_equal(avm_fork(p, &c), 0);
		fill(c, A + (g % 4) * PG, (int)g);
		avm_exit(p);
		p = c;
		if (d->kind != K_OTHER) {
			unsigned long want = forrest_want(d, g);

			if (anon_vmas(sys) != want)
				fprintf(stderr, "%s, %s: %lu anon_vmas, "
					"expected %lu\n", d->name, step,
					anon_vmas(sys), want);
			assert_int_equal(anon_vmas(sys), want);
		}
		CHECK_AT(sys, d, step);
	}
	for (int i = 0; i < 4; i++)
		test_expect_page(p, A + i * PG, i == 2 ? 30 : i == 1 ? 29 : i == 0 ? 28 : 27);
	avm_exit(p);
	assert_int_equal(anon_vmas(sys), 0);
	avm_sys_destroy(sys);
}

static void test_forrest(void **state)
{
	for (const char *const *n = avm_designs(); *n; n++) {
		struct design d = classify(*n);

		printf("forrest: %s\n", d.name);
		forrest(&d);
	}
}

/* ---- mremap: list order (white box) ------------------------------------------ */

/* Position of vma on av's list (avcs, or VMAs for anon-vma-2004); -1. */
static long list_pos(const struct design *d, struct anon_vma *av,
		     struct vm_area_struct *vma)
{
	long i = 0;

	if (d->kind == K_2004) {
		struct vm_area_struct *v;

		list_for_each_entry(v, &av->head, anon_vma_node) {
			if (v == vma)
				return i;
			i++;
		}
	} else {
		struct anon_vma_chain *avc;

		list_for_each_entry(avc, &av->head, same_anon_vma) {
			if (avc->vma == vma)
				return i;
			i++;
		}
	}
	return -1;
}

/*
 * P maps 8 pages at A and forks; moves pages 4..7 to B (P's VMA there is
 * linked after its children), then pages 0..3 stay as X (a split part,
 * linked after that); moves all of B to C: Z, linked last.  Then pages
 * 4, 5 go from Z back to A + 4 with DONTUNMAP (Z stays, linked where it
 * was): the destination merges into X, which sat before Z; after the
 * call X must be after Z.
 */
static void moveto_tail(const struct design *d)
{
	struct avm_sys *sys = sys_for(d->name);
	struct avm_mm *P, *kid[4];
	struct vm_area_struct *X, *Z;
	struct anon_vma *R;
	unsigned char b;
	unsigned long got;

	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 8 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 8; i++)
		fill(P, A + i * PG, 0x90 + i);
	for (int i = 0; i < 4; i++)
		assert_int_equal(avm_fork(P, &kid[i]), 0);
	assert_int_equal(avm_mremap(P, A + 4 * PG, 4 * PG, 4 * PG,
				    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED, B,
				    &got), 0);
	assert_int_equal(avm_mremap(P, B, 4 * PG, 4 * PG, AVM_MREMAP_MAYMOVE |
				    AVM_MREMAP_FIXED, C, &got), 0);
	X = vma_lookup(P, A);
	Z = vma_lookup(P, C);
	R = X->anon_vma;
	assert_ptr_equal(Z->anon_vma, R);
	assert_true(list_pos(d, R, X) >= 0);
	assert_true(list_pos(d, R, Z) > list_pos(d, R, X));
	CHECK_AT(sys, d, "moveto_tail setup");

	assert_int_equal(avm_mremap(P, C, 2 * PG, 2 * PG, AVM_MREMAP_MAYMOVE |
				    AVM_MREMAP_FIXED | AVM_MREMAP_DONTUNMAP,
				    A + 4 * PG, &got), 0);
	assert_ptr_equal(vma_lookup(P, A + 5 * PG), X);	/* merged */
	assert_ptr_equal(vma_lookup(P, C + 3 * PG), Z);	/* stayed */
	if (list_pos(d, R, X) < list_pos(d, R, Z))
		fprintf(stderr, "%s: destination VMA at %ld, before the source "
			"at %ld\n", d->name, list_pos(d, R, X), list_pos(d, R, Z));
	assert_true(list_pos(d, R, X) > list_pos(d, R, Z));
	CHECK_AT(sys, d, "merged");
	for (int i = 0; i < 6; i++)
		test_expect_page(P, A + i * PG, 0x90 + i);
	assert_int_equal(avm_read(P, C, &b, 1), 0);
	assert_int_equal(b, 0);			/* left empty */
	test_expect_page(P, C + 2 * PG, 0x96);
	test_expect_page(P, C + 3 * PG, 0x97);
	for (int i = 0; i < 8; i++)
		test_expect_page(kid[3], A + i * PG, 0x90 + i);
	CHECK_AT(sys, d, "reads");
	avm_sys_destroy(sys);
}

static void test_moveto_tail(void **state)
{
	for (const char *const *n = avm_designs(); *n; n++) {
		struct design d = classify(*n);

		if (d.kind != K_LIST && d.kind != K_2004)
			continue;
		printf("moveto_tail: %s\n", d.name);
		moveto_tail(&d);
	}
}

/* ---- mremap racing migration: the walk order --------------------------------- */

/*
 * P maps 8 pages at A and writes them; NKIDS children keep them mapped
 * (their VMAs follow P's on every list).  P moves pages 0..3 to C: a new
 * VMA Z (pgoff P0) at the tails, after the children; X = pages 4..7 at
 * A + 4 (pgoff P0 + 4) stays first.  Then, round after round:
 *   1. Z's pages 2, 3 go to A + 2: the destination merges into X (next),
 *      whose pgoff becomes P0 + 2 > Z's P0: the mm code's pgoff rule
 *      takes no lock (a tree walk meets Z first).  On a list X sits
 *      before the children and Z: without moving X to the tail a walk
 *      could see X before the PTEs arrive and Z after they left.
 *   2. and back into Z (prev, pgoff P0 <= P0 + 2: under the lock).
 * Meanwhile a child migrates pages 2, 3 back and forth between nodes; a
 * migration that misses P's moved entry leaves it behind (the checker
 * reports it; P's next access would wait for it forever).
 */
#define NKIDS	32

struct race {
	struct avm_mm *kid;
	atomic_int stop;
	unsigned long migrations;
	int err;
};

static void *migrator(void *arg)
{
	struct race *r = arg;
	unsigned int node = 1;

	while (!atomic_load(&r->stop)) {
		unsigned long moved;
		int err = avm_migrate(r->kid, A + 2 * PG, 2 * PG, node, &moved);

		if (err) {
			r->err = err;
			break;
		}
		r->migrations++;
		node ^= 1;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mremap_race(const struct design *d, double secs)
{
	struct avm_config cfg;
	struct avm_sys *sys = NULL;
	struct avm_mm *P, *kid[NKIDS];
	struct race r = { 0 };
	struct avm_stats st0, st1;
	pthread_t t;
	unsigned long got, rounds = 0;
	double t0;

	avm_config_default(&cfg);
	cfg.nodes = 2;
	cfg.node_frames = 1UL << 14;
	cfg.swap_slots = 0;
	cfg.design = d->name;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	assert_int_equal(avm_mm_create(sys, &P), 0);
	assert_int_equal(avm_mmap(P, A, 8 * PG, RW, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	for (int i = 0; i < 8; i++)
		fill(P, A + i * PG, 0x80 + i);
	for (int i = 0; i < NKIDS; i++)
		assert_int_equal(avm_fork(P, &kid[i]), 0);
	assert_int_equal(avm_mremap(P, A, 4 * PG, 4 * PG, AVM_MREMAP_MAYMOVE |
				    AVM_MREMAP_FIXED, C, &got), 0);
	CHECK_AT(sys, d, "race setup");
	r.kid = kid[0];
	avm_stats(sys, &st0);
	/* the interleaving the rule is for, made likely (not rare) */
	test_widen_mremap_race(sys);
	assert_int_equal(pthread_create(&t, NULL, migrator, &r), 0);
	t0 = now();
	do {
		assert_int_equal(avm_mremap(P, C + 2 * PG, 2 * PG, 2 * PG,
					    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
					    A + 2 * PG, &got), 0);
		assert_int_equal(avm_mremap(P, A + 2 * PG, 2 * PG, 2 * PG,
					    AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
					    C + 2 * PG, &got), 0);
		rounds++;
	} while (!r.err && now() - t0 < secs);
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	avm_stats(sys, &st1);
	printf("mremap_race: %s: %lu round trips (%lu moves under the lock), "
	       "%lu migrate calls\n", d->name, rounds,
	       st1.mremap_rmap_locked - st0.mremap_rmap_locked, r.migrations);
	assert_int_equal(r.err, 0);
	CHECK_AT(sys, d, "after the race");	/* before any access */
	assert_int_equal(nvmas(P), 2);
	for (int i = 0; i < 4; i++)
		test_expect_page(P, C + i * PG, 0x80 + i);
	for (int i = 4; i < 8; i++)
		test_expect_page(P, A + i * PG, 0x80 + i);
	for (int i = 0; i < 8; i++)
		test_expect_page(kid[0], A + i * PG, 0x80 + i);
	avm_sys_destroy(sys);
}

static void test_mremap_race(void **state)
{
	for (const char *const *n = avm_designs(); *n; n++) {
		struct design d = classify(*n);

		mremap_race(&d, 0.5);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workload),
		cmocka_unit_test(test_section3),
		cmocka_unit_test(test_forrest),
		cmocka_unit_test(test_moveto_tail),
		cmocka_unit_test(test_mremap_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
