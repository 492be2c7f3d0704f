/* SPDX-License-Identifier: MIT */
/*
 * Reverse-map completeness under long random sequences: several processes
 * in fork trees, exits, mmap/munmap/mprotect/mremap/madvise and accesses,
 * all in one small address region so that operations collide; reclaim,
 * migration and MADV_PAGEOUT (rmap users) run in between.  After every
 * step:
 *  - avm_check() passes (it walks the rmap from every mapped frame);
 *  - independently, through the public API only: for every present
 *    non-zero page, avm_rmap_walk_addr() finds exactly as many mappings as
 *    there are (mm, addr) pairs mapping that frame (from avm_page_info over
 *    every mm's VMAs), and the frame's mapcount agrees;
 *  - every mapped page reads what a simple model of the writes says.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define BASE	0x200000000000UL
#define PG	AVM_PAGE_SIZE
#define NP	32			/* pages in the region */
#define MAXP	8			/* live processes at most */
#define A(p)	(BASE + (unsigned long)(p) * PG)
#define RW	(AVM_PROT_READ | AVM_PROT_WRITE)
#define MIN(a, b)	((a) < (b) ? (a) : (b))

struct proc {
	struct avm_mm *mm;
	uint64_t tok[NP];		/* token at offset 0; 0 = zero page */
};

struct world {
	struct avm_sys *sys;
	struct proc p[MAXP];
	int n;
	uint64_t rng, next_tok;
	unsigned long steps, checks;
};

static long vmas_of(struct avm_mm *mm, struct avm_vma_info *v, size_t n)
{
	long k = avm_vmas(mm, v, n);

	assert_true(k >= 0 && (size_t)k <= n);
	return k;
}

/* The VMA covering page p, or NULL. */
static const struct avm_vma_info *vma_at(const struct avm_vma_info *v, long n,
					 long p)
{
	for (long i = 0; i < n; i++)
		if (v[i].start <= A(p) && A(p) < v[i].end)
			return &v[i];
	return NULL;
}

/* ---- the independent rmap check -------------------------------------- */

struct frame_use {
	unsigned long pfn;
	unsigned int maps, mapcount;
	struct avm_mm *mm;		/* one mapping to walk from */
	unsigned long addr;
};

static void check_rmap(struct world *w)
{
	struct frame_use f[MAXP * NP];
	int nf = 0;

	for (int i = 0; i < w->n; i++) {
		for (long p = 0; p < NP; p++) {
			struct avm_page_info pi;
			int j, r = avm_page_info(w->p[i].mm, A(p), &pi);

			if (r == -EFAULT)
				continue;
			assert_int_equal(r, 0);
			if (pi.state != AVM_PTE_PRESENT || pi.zero)
				continue;
			for (j = 0; j < nf && f[j].pfn != pi.pfn; j++)
				;
			if (j == nf) {
				f[nf++] = (struct frame_use){ pi.pfn, 0,
					pi.mapcount, w->p[i].mm, A(p) };
			}
			f[j].maps++;
		}
	}
	for (int j = 0; j < nf; j++) {
		struct avm_walk_stats ws = { 0 };

		assert_int_equal(avm_rmap_walk_addr(f[j].mm, f[j].addr, &ws), 0);
		if (ws.hits != f[j].maps || f[j].mapcount != f[j].maps)
			fprintf(stderr, "frame %lu: mapped %u times, mapcount "
				"%u, rmap walk hits %lu (visits %lu)\n", f[j].pfn,
				f[j].maps, f[j].mapcount, ws.hits, ws.visits);
		assert_int_equal(ws.hits, f[j].maps);
		assert_int_equal(f[j].mapcount, f[j].maps);
		assert_true(ws.visits >= ws.hits);
	}
	w->checks += (unsigned long)nf;
}

static void check_data(struct world *w)
{
	struct avm_vma_info v[NP + 8];

	for (int i = 0; i < w->n; i++) {
		struct proc *pr = &w->p[i];
		long nv = vmas_of(pr->mm, v, NP + 8);

		for (long p = 0; p < NP; p++) {
			uint64_t t = 0xdeadbeef;

			if (!vma_at(v, nv, p)) {
				assert_int_equal(pr->tok[p], 0);
				continue;
			}
			assert_int_equal(avm_peek(pr->mm, A(p), &t, sizeof(t)), 0);
			if (t != pr->tok[p])
				fprintf(stderr, "mm %lu page %ld: token %#lx, "
					"want %#lx\n", avm_mm_id(pr->mm), p,
					(unsigned long)t,
					(unsigned long)pr->tok[p]);
			assert_int_equal(t, pr->tok[p]);
		}
	}
}

static void check_all(struct world *w)
{
	assert_check(w->sys);
	check_rmap(w);
	check_data(w);
}

/* ---- operations ------------------------------------------------------- */

static uint64_t rnd(struct world *w, uint64_t n)
{
	return test_below(&w->rng, n);
}

/* A random range [*p, *p + *n) inside the region. */
static void pick_range(struct world *w, long *p, long *n)
{
	*p = (long)rnd(w, NP);
	*n = 1 + (long)rnd(w, rnd(w, 4) ? 4 : NP - *p);
	if (*p + *n > NP)
		*n = NP - *p;
}

static void clear_tokens(struct proc *pr, long p, long n)
{
	for (long i = p; i < p + n && i < NP; i++)
		pr->tok[i] = 0;
}

static void op_mmap(struct world *w, struct proc *pr)
{
	long p, n;
	int prot = rnd(w, 4) ? RW : AVM_PROT_READ;

	pick_range(w, &p, &n);
	assert_int_equal(avm_mmap(pr->mm, A(p), (unsigned long)n * PG, prot,
				  AVM_MAP_FIXED, NULL), 0);
	clear_tokens(pr, p, n);
}

static void op_munmap(struct world *w, struct proc *pr)
{
	long p, n;

	pick_range(w, &p, &n);
	assert_int_equal(avm_munmap(pr->mm, A(p), (unsigned long)n * PG), 0);
	clear_tokens(pr, p, n);
}

static void op_mprotect(struct world *w, struct proc *pr)
{
	static const int prots[] = { RW, RW, AVM_PROT_READ, AVM_PROT_NONE };
	long p, n;
	int r;

	pick_range(w, &p, &n);
	r = avm_mprotect(pr->mm, A(p), (unsigned long)n * PG,
			 prots[rnd(w, 4)]);
	assert_true(r == 0 || r == -ENOMEM);	/* ENOMEM: a hole */
}

static void op_madvise(struct world *w, struct proc *pr)
{
	static const enum avm_advice adv[] = {
		AVM_MADV_DONTNEED, AVM_MADV_DONTFORK, AVM_MADV_DOFORK,
		AVM_MADV_WIPEONFORK, AVM_MADV_KEEPONFORK,
	};
	enum avm_advice a = adv[rnd(w, 5)];
	long p, n;
	int r;

	pick_range(w, &p, &n);
	r = avm_madvise(pr->mm, A(p), (unsigned long)n * PG, a);
	assert_true(r == 0 || r == -ENOMEM);
	if (a == AVM_MADV_DONTNEED)
		clear_tokens(pr, p, n);
}

/* Move, resize or DONTUNMAP-move part of one VMA. */
static void op_mremap(struct world *w, struct proc *pr)
{
	struct avm_vma_info v[NP + 8];
	long nv = vmas_of(pr->mm, v, NP + 8), s, e, p, n, to, nn;
	const struct avm_vma_info *vi;
	uint64_t save[NP];
	unsigned long res;
	int kind = (int)rnd(w, 4), r;

	if (!nv)
		return;
	vi = &v[rnd(w, (uint64_t)nv)];
	s = (long)((vi->start - BASE) / PG);
	e = (long)((vi->end - BASE) / PG);
	if (s < 0 || e > NP)
		return;
	p = s + (long)rnd(w, (uint64_t)(e - s));
	n = 1 + (long)rnd(w, (uint64_t)(e - p));
	memcpy(save, pr->tok, sizeof(save));
	if (kind == 0) {			/* resize in place */
		nn = 1 + (long)rnd(w, 6);
		if (p + nn > NP)
			nn = NP - p;
		if (nn > n && p + n != e)
			n = e - p;		/* only the tail can grow */
		r = avm_mremap(pr->mm, A(p), (unsigned long)n * PG,
			       (unsigned long)nn * PG, 0, 0, &res);
		assert_true(r == 0 || r == -ENOMEM);
		if (!r && nn < n)
			clear_tokens(pr, p + nn, n - nn);
		return;
	}
	to = (long)rnd(w, NP);
	nn = kind == 3 ? n : 1 + (long)rnd(w, 6);
	if (to + nn > NP)
		nn = NP - to;
	if (kind == 3 && nn != n)
		return;
	r = avm_mremap(pr->mm, A(p), (unsigned long)n * PG,
		       (unsigned long)nn * PG,
		       AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED |
		       (kind == 3 ? AVM_MREMAP_DONTUNMAP : 0), A(to), &res);
	if (to < p + n && p < to + nn) {
		assert_int_equal(r, -EINVAL);	/* overlap */
		return;
	}
	assert_int_equal(r, 0);
	clear_tokens(pr, to, nn);
	clear_tokens(pr, p, n);
	for (long i = 0; i < MIN(n, nn); i++)
		pr->tok[to + i] = save[p + i];
}

static void op_write(struct world *w, struct proc *pr)
{
	long p = (long)rnd(w, NP);
	uint64_t t = ++w->next_tok;
	int r = avm_write(pr->mm, A(p), &t, sizeof(t));

	assert_true(r == 0 || r == -EFAULT);
	if (!r)
		pr->tok[p] = t;
}

static void op_read(struct world *w, struct proc *pr)
{
	long p = (long)rnd(w, NP);
	uint64_t t;
	int r = avm_read(pr->mm, A(p), &t, sizeof(t));

	assert_true(r == 0 || r == -EFAULT);
	if (!r)
		assert_int_equal(t, pr->tok[p]);
}

/* Reclaim, migration and PAGEOUT walk the rmap too: a page they miss
   stays mapped (or leaves a migration entry), which the checks catch. */
static void op_rmap_user(struct world *w, struct proc *pr)
{
	unsigned long got, n = 1 + rnd(w, 8);
	int r;

	switch (rnd(w, 3)) {
	case 0:
		assert_int_equal(avm_reclaim(w->sys, n, &got), 0);
		break;
	case 1:
		r = avm_migrate(pr->mm, A(rnd(w, NP)), n * PG,
				(unsigned int)rnd(w, 2), &got);
		assert_true(r == 0 || r == -EFAULT);
		break;
	default:
		r = avm_madvise(pr->mm, A(rnd(w, NP)), n * PG,
				AVM_MADV_PAGEOUT);
		assert_true(r == 0 || r == -ENOMEM);
		break;
	}
}

static void op_fork(struct world *w, struct proc *pr)
{
	struct avm_vma_info v[NP + 8];
	long nv = vmas_of(pr->mm, v, NP + 8);
	struct proc *c = &w->p[w->n];

	assert_int_equal(avm_fork(pr->mm, &c->mm), 0);
	w->n++;
	memcpy(c->tok, pr->tok, sizeof(c->tok));
	for (long p = 0; p < NP; p++) {
		const struct avm_vma_info *vi = vma_at(v, nv, p);

		if (!vi || (vi->flags & (AVM_VMA_DONTCOPY | AVM_VMA_WIPEONFORK)))
			c->tok[p] = 0;
	}
}

static void op_exit(struct world *w, int i)
{
	avm_exit(w->p[i].mm);
	w->p[i] = w->p[--w->n];
}

static void step(struct world *w)
{
	int i = (int)rnd(w, (uint64_t)w->n);
	struct proc *pr = &w->p[i];
	unsigned int op = (unsigned int)rnd(w, 100);

	if (op < 8) {
		if (w->n < MAXP)
			op_fork(w, pr);
		else
			op_exit(w, i);
	} else if (op < 12) {
		if (w->n > 1)
			op_exit(w, i);
	} else if (op < 22) {
		op_mmap(w, pr);
	} else if (op < 28) {
		op_munmap(w, pr);
	} else if (op < 38) {
		op_mprotect(w, pr);
	} else if (op < 48) {
		op_mremap(w, pr);
	} else if (op < 56) {
		op_madvise(w, pr);
	} else if (op < 60) {
		op_rmap_user(w, pr);
	} else if (op < 88) {
		op_write(w, pr);
	} else {
		op_read(w, pr);
	}
	w->steps++;
}

static void run(uint64_t seed, unsigned long nsteps)
{
	struct world w = { .rng = seed };
	struct avm_stats st;

	w.sys = test_sys(2);		/* two nodes for migration */
	assert_int_equal(avm_mm_create(w.sys, &w.p[0].mm), 0);
	w.n = 1;
	assert_int_equal(avm_mmap(w.p[0].mm, A(0), NP * PG, RW,
				  AVM_MAP_FIXED, NULL), 0);
	while (w.steps < nsteps) {
		step(&w);
		check_all(&w);
	}
	avm_stats(w.sys, &st);
	printf("  %lu steps, %lu frame walks checked, %lu forks, %lu "
	       "mremap moves, %lu swap-outs, %lu migrations, %lu anon_vmas "
	       "live\n", w.steps, w.checks, st.forks, st.mremap_moves,
	       st.swap_outs, st.migrations, st.anon_vmas);
	while (w.n)
		op_exit(&w, 0);
	avm_stats(w.sys, &st);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.vmas, 0);
	assert_int_equal(st.frames_used, 0);
	avm_sys_destroy(w.sys);
}

static void test_random(void **state)
{
	uint64_t seed = test_seed("rmap_random");

	/* several independent runs: fresh fork trees */
	for (int i = 0; i < 8; i++)
		run(seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
