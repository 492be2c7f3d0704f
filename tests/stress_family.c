/* SPDX-License-Identifier: MIT */
/*
 * One fork family, many threads (issue 14): T worker threads issue random
 * operations - loads, stores, mmap, munmap, mprotect, mremap, madvise,
 * fork, exit, peeks and rmap walks - on any process of the family, while
 * one thread reclaims and one migrates.  Several workers drive the same
 * mm at once, as threads of one process do.
 *
 * The oracle is a shadow per process: worker w owns window w of every
 * process (a range of pages only it changes), so it knows what each of
 * its pages must hold: unmapped, or a protection and one byte value
 * repeated over the page.  Every read is checked against it; a write
 * after fork must never show in another process; nothing may be lost
 * through swap or migration.  Fork and exit take the test's own lock on
 * the process for writing (so the child's shadow is a copy of a stable
 * parent) while other processes go on.  At quiescent points (all threads
 * at a barrier) every page of every process is compared with its shadow
 * and avm_check must pass; at the end every count must drop to zero.
 *
 * With fault injection (avm_fail_random) an operation may fail with
 * -ENOMEM: loads, stores, munmap and fork must then have changed nothing
 * the shadow can see; after a failed mmap, mprotect, mremap or madvise
 * (which, as in Linux, may have done part of their work) the worker
 * re-learns its window from avm_vmas/avm_peek, and each page must still
 * hold one byte value throughout.
 *
 * $AVM_SEED replays; $AVM_STRESS_THREADS (2..8) and $AVM_STRESS_OPS set
 * the size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#define AVM_TEST_LIB
#include "lib/testutil.h"

#define PG		AVM_PAGE_SIZE
#define BASE		0x200000000000UL
#define WPAGES		48		/* pages per worker window */
#define NSLOTS		6		/* processes alive at most */
#define MAXW		8
#define ROUNDS		6		/* quiescent checks per run */

enum { UNMAPPED = -1 };

struct shadow_page {
	int prot;			/* UNMAPPED or AVM_PROT_* */
	unsigned char val;		/* every byte of the page */
};

struct slot {
	pthread_rwlock_t lock;		/* test's: write for fork/exit */
	struct avm_mm *mm;
	struct shadow_page sh[MAXW][WPAGES];
};

struct stress {
	struct avm_sys *sys;
	struct slot slots[NSLOTS];
	int nw;				/* workers */
	unsigned long ops;		/* per worker per round */
	bool inject;
	pthread_barrier_t bar;
	atomic_int stop, round_done;
	atomic_int failed;
	char why[256];
	pthread_mutex_t why_lock;
	atomic_ulong n_ops, n_enomem, n_forks, n_exits, n_reclaimed,
		     n_migrated;
	uint64_t seed;
};

struct worker {
	struct stress *s;
	int w;
	uint64_t rng;
	/* the last operations, printed on failure */
	struct trace { unsigned long mm; int op, i, n, j, err; } tr[1024];
	unsigned int ntr;
};

static void trace(struct worker *wk, struct avm_mm *mm, int op, int i, int n,
		  int j, int err)
{
	wk->tr[wk->ntr++ % 1024] = (struct trace){ mm ? avm_mm_id(mm) : 0, op,
						  i, n, j, err };
}

static void print_trace(struct worker *wk)
{
	for (unsigned int k = wk->ntr > 1024 ? wk->ntr - 1024 : 0; k < wk->ntr; k++) {
		struct trace *t = &wk->tr[k % 1024];

		fprintf(stderr, "  w%d: mm %lu op %d page %d n %d to %d: %d\n",
			wk->w, t->mm, t->op, t->i, t->n, t->j, t->err);
	}
}

static void sfail(struct stress *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->why_lock);
	if (!atomic_load(&s->failed)) {
		va_start(ap, fmt);
		vsnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
		atomic_store(&s->failed, 1);
	}
	pthread_mutex_unlock(&s->why_lock);
}

static unsigned long waddr(int w, int i)
{
	return BASE + ((unsigned long)w * WPAGES + (unsigned long)i) * PG;
}

/* Does the page read back as its shadow says? (checks every byte) */
static bool page_ok(struct stress *s, struct avm_mm *mm, int w, int i,
		    const struct shadow_page *sp, bool peek, const char *ctx)
{
	static __thread unsigned char buf[PG];
	int err = peek ? avm_peek(mm, waddr(w, i), buf, PG)
		       : avm_read(mm, waddr(w, i), buf, PG);
	bool readable = sp->prot != UNMAPPED &&
			(peek || (sp->prot & AVM_PROT_READ));

	if (err == -ENOMEM && s->inject && !peek)
		return true;		/* an injected failure: nothing read */
	if (!readable) {
		if (err != -EFAULT)
			sfail(s, "%s: mm %lu w%d page %d (prot %d): read "
			     "returned %d, expected -EFAULT", ctx,
			     avm_mm_id(mm), w, i, sp->prot, err);
		return err == -EFAULT;
	}
	if (err) {
		sfail(s, "%s: mm %lu w%d page %d: read returned %d", ctx,
		     avm_mm_id(mm), w, i, err);
		return false;
	}
	for (size_t k = 0; k < PG; k++)
		if (buf[k] != sp->val) {
			sfail(s, "%s: mm %lu w%d page %d byte %zu: read %#x, "
			     "expected %#x (seed %llu)", ctx, avm_mm_id(mm), w,
			     i, k, buf[k], sp->val,
			     (unsigned long long)s->seed);
			return false;
		}
	return true;
}

/* After a failed multi-step operation: learn the window back. */
static void relearn(struct stress *s, struct avm_mm *mm, int w,
		    struct shadow_page *sh)
{
	static __thread struct avm_vma_info vi[4096];
	static __thread unsigned char buf[PG];
	long n = avm_vmas(mm, vi, 4096);

	for (int i = 0; i < WPAGES; i++) {
		unsigned long a = waddr(w, i);
		int prot = UNMAPPED;

		for (long k = 0; k < n && k < 4096; k++)
			if (vi[k].start <= a && a < vi[k].end)
				prot = vi[k].prot;
		sh[i].prot = prot;
		if (prot == UNMAPPED)
			continue;
		if (avm_peek(mm, a, buf, PG)) {
			sfail(s, "relearn: peek mm %lu %#lx failed",
			     avm_mm_id(mm), a);
			return;
		}
		for (size_t k = 1; k < PG; k++)
			if (buf[k] != buf[0]) {
				sfail(s, "after a failed operation, mm %lu w%d "
				     "page %d holds %#x and %#x",
				     avm_mm_id(mm), w, i, buf[0], buf[k]);
				return;
			}
		sh[i].val = buf[0];
	}
}

static bool all_mapped(const struct shadow_page *sh, int i, int n)
{
	for (int k = i; k < i + n; k++)
		if (sh[k].prot == UNMAPPED)
			return false;
	return true;
}

static int rand_prot(uint64_t *r)
{
	static const int p[] = { AVM_PROT_NONE, AVM_PROT_READ,
				 AVM_PROT_READ | AVM_PROT_WRITE,
				 AVM_PROT_READ | AVM_PROT_WRITE };

	return p[test_below(r, 4)];
}

static void one_op_do(struct worker *wk, struct avm_mm *mm,
		      struct shadow_page *sh, int op, int i, int n, int *jp,
		      int *errp);

/* One operation on window w of mm, whose shadow is sh. */
static void one_op(struct worker *wk, struct avm_mm *mm,
		   struct shadow_page *sh)
{
	uint64_t *r = &wk->rng;
	int i = (int)test_below(r, WPAGES);
	int n = 1 + (int)test_below(r, 4);
	int op = (int)test_below(r, 100), err;

	int j = -1;

	if (i + n > WPAGES)
		n = WPAGES - i;
	err = 0;
	one_op_do(wk, mm, sh, op, i, n, &j, &err);
	trace(wk, mm, op, i, n, j, err);
}

static void one_op_do(struct worker *wk, struct avm_mm *mm,
		      struct shadow_page *sh, int op, int i, int n, int *jp,
		      int *errp)
{
	struct stress *s = wk->s;
	uint64_t *r = &wk->rng;
	int w = wk->w, err = 0;
	unsigned long got;

	if (op < 30) {				/* store */
		unsigned char v = (unsigned char)(1 + test_below(r, 255));

		err = *errp = avm_fill(mm, waddr(w, i), v, PG);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			return;
		}
		if (sh[i].prot != UNMAPPED && (sh[i].prot & AVM_PROT_WRITE)) {
			if (err)
				sfail(s, "mm %lu w%d page %d: store returned %d",
				     avm_mm_id(mm), w, i, err);
			sh[i].val = v;
		} else if (err != -EFAULT) {
			sfail(s, "mm %lu w%d page %d (prot %d): store returned "
			     "%d, expected -EFAULT", avm_mm_id(mm), w, i,
			     sh[i].prot, err);
		}
	} else if (op < 55) {			/* load */
		page_ok(s, mm, w, i, &sh[i], false, "load");
	} else if (op < 58) {			/* peek */
		page_ok(s, mm, w, i, &sh[i], true, "peek");
	} else if (op < 62) {			/* rmap walk, page info */
		struct avm_walk_stats ws = { 0 };
		struct avm_page_info pi;

		avm_rmap_walk_addr(mm, waddr(w, i), &ws);
		err = *errp = avm_page_info(mm, waddr(w, i), &pi);
		if (err && sh[i].prot != UNMAPPED)
			sfail(s, "page_info mm %lu w%d page %d: %d",
			     avm_mm_id(mm), w, i, err);
	} else if (op < 68) {			/* mmap fixed */
		int prot = rand_prot(r);

		err = *errp = avm_mmap(mm, waddr(w, i), (unsigned long)n * PG, prot,
			       AVM_MAP_FIXED, NULL);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			relearn(s, mm, w, sh);
			return;
		}
		if (err)
			sfail(s, "mmap: %d", err);
		for (int k = i; k < i + n; k++)
			sh[k] = (struct shadow_page){ prot, 0 };
	} else if (op < 72) {			/* munmap */
		err = *errp = avm_munmap(mm, waddr(w, i), (unsigned long)n * PG);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			return;
		}
		if (err)
			sfail(s, "munmap: %d", err);
		for (int k = i; k < i + n; k++)
			sh[k].prot = UNMAPPED;
	} else if (op < 78) {			/* mprotect */
		int prot = rand_prot(r);

		if (!all_mapped(sh, i, n))
			return;
		err = *errp = avm_mprotect(mm, waddr(w, i), (unsigned long)n * PG, prot);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			relearn(s, mm, w, sh);
			return;
		}
		if (err)
			sfail(s, "mprotect: %d", err);
		for (int k = i; k < i + n; k++)
			sh[k].prot = prot;
	} else if (op < 86) {			/* mremap fixed, same size */
		int j = *jp = (int)test_below(r, WPAGES - n + 1);

		if (sh[i].prot == UNMAPPED || (j < i + n && i < j + n))
			return;
		err = *errp = avm_mremap(mm, waddr(w, i), (unsigned long)n * PG,
				 (unsigned long)n * PG,
				 AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED,
				 waddr(w, j), &got);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			relearn(s, mm, w, sh);
			return;
		}
		if (err) {
			sfail(s, "mremap: %d", err);
			return;
		}
		/* each mapped source page lands opposite; a hole keeps
		   whatever the target has */
		for (int k = 0; k < n; k++)
			if (sh[i + k].prot != UNMAPPED) {
				sh[j + k] = sh[i + k];
				sh[i + k].prot = UNMAPPED;
			}
		/* as Linux, a source that could not be unmapped after the
		   move (a split's allocation failed) stays, empty */
		if (s->inject)
			relearn(s, mm, w, sh);
	} else if (op < 92) {			/* madvise */
		bool dontneed = test_below(r, 2);

		if (!all_mapped(sh, i, n))
			return;
		err = *errp = avm_madvise(mm, waddr(w, i), (unsigned long)n * PG,
				  dontneed ? AVM_MADV_DONTNEED
					   : AVM_MADV_PAGEOUT);
		if (err == -ENOMEM && s->inject) {
			atomic_fetch_add(&s->n_enomem, 1);
			relearn(s, mm, w, sh);
			return;
		}
		if (err)
			sfail(s, "madvise: %d", err);
		if (dontneed)
			for (int k = i; k < i + n; k++)
				sh[k].val = 0;
	}
	atomic_fetch_add(&s->n_ops, 1);
}

/* fork slot src into an empty slot, or exit a process (never slot 0) */
static void fork_or_exit(struct worker *wk)
{
	struct stress *s = wk->s;
	int a = (int)test_below(&wk->rng, NSLOTS);
	int b = (int)test_below(&wk->rng, NSLOTS);
	struct slot *sa, *sb;
	struct avm_mm *child;
	int err;

	if (a == b) {
		if (!a)
			return;
		sa = &s->slots[a];
		pthread_rwlock_wrlock(&sa->lock);
		if (sa->mm) {
			trace(wk, sa->mm, 100, 0, 0, 0, 0);
			avm_exit(sa->mm);
			sa->mm = NULL;
			atomic_fetch_add(&s->n_exits, 1);
		}
		pthread_rwlock_unlock(&sa->lock);
		return;
	}
	/* fork a into b: lock in slot order */
	sa = &s->slots[a];
	sb = &s->slots[b];
	pthread_rwlock_wrlock(a < b ? &sa->lock : &sb->lock);
	pthread_rwlock_wrlock(a < b ? &sb->lock : &sa->lock);
	if (sa->mm && !sb->mm) {
		err = avm_fork(sa->mm, &child);
		trace(wk, sa->mm, 101, b, 0, err ? 0 : (int)avm_mm_id(child), err);
		if (!err) {
			sb->mm = child;
			memcpy(sb->sh, sa->sh, sizeof(sb->sh));
			atomic_fetch_add(&s->n_forks, 1);
		} else if (err != -ENOMEM || !s->inject) {
			sfail(s, "fork: %d", err);
		}
	}
	pthread_rwlock_unlock(&sa->lock);
	pthread_rwlock_unlock(&sb->lock);
}

/* Quiescent: every page of every process against its shadow. */
static void full_check(struct stress *s, const char *when)
{
	char msg[512];

	for (int k = 0; k < NSLOTS; k++) {
		struct slot *sl = &s->slots[k];

		if (!sl->mm)
			continue;
		for (int w = 0; w < s->nw; w++)
			for (int i = 0; i < WPAGES; i++)
				if (!page_ok(s, sl->mm, w, i, &sl->sh[w][i],
					     true, when))
					return;
	}
	if (avm_check(s->sys, msg, sizeof(msg)))
		sfail(s, "%s: avm_check: %s", when, msg);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct stress *s = wk->s;

	for (int round = 0; round < ROUNDS; round++) {
		for (unsigned long n = 0; n < s->ops && !atomic_load(&s->failed);
		     n++) {
			int k = (int)test_below(&wk->rng, NSLOTS);
			struct slot *sl = &s->slots[k];

			if (!test_below(&wk->rng, 40)) {
				fork_or_exit(wk);
				continue;
			}
			pthread_rwlock_rdlock(&sl->lock);
			if (sl->mm)
				one_op(wk, sl->mm, sl->sh[wk->w]);
			pthread_rwlock_unlock(&sl->lock);
		}
		if (!wk->w)
			atomic_store(&s->round_done, 1);
		pthread_barrier_wait(&s->bar);	/* everyone stopped */
		if (!wk->w) {
			avm_fail_random(s->sys, 0, 0);
			full_check(s, "quiescent");
			if (s->inject)
				avm_fail_random(s->sys, 0.002,
						s->seed + (uint64_t)round);
			atomic_store(&s->round_done, 0);
		}
		pthread_barrier_wait(&s->bar);	/* checked: go on */
	}
	if (!wk->w)
		atomic_store(&s->stop, 1);
	return NULL;
}

/* Background threads run until the round ends, then join the barrier. */
static void background(struct worker *wk, bool reclaim)
{
	struct stress *s = wk->s;

	for (int round = 0; round < ROUNDS; round++) {
		while (!atomic_load(&s->round_done) && !atomic_load(&s->failed)) {
			if (reclaim) {
				unsigned long got = 0;
				int err = avm_reclaim(s->sys, 16, &got);

				if (err && !(err == -ENOMEM && s->inject))
					sfail(s, "reclaim: %d", err);
				atomic_fetch_add(&s->n_reclaimed, got);
				continue;
			}
			int k = (int)test_below(&wk->rng, NSLOTS);
			int w = (int)test_below(&wk->rng, (uint64_t)s->nw);
			struct slot *sl = &s->slots[k];
			unsigned long moved = 0;

			pthread_rwlock_rdlock(&sl->lock);
			if (sl->mm) {
				int err = avm_migrate(sl->mm, waddr(w, 0),
						      WPAGES * PG,
						      (unsigned)test_below(&wk->rng, 2),
						      &moved);

				if (err && !(err == -ENOMEM && s->inject))
					sfail(s, "migrate: %d", err);
			}
			pthread_rwlock_unlock(&sl->lock);
			atomic_fetch_add(&s->n_migrated, moved);
		}
		pthread_barrier_wait(&s->bar);
		pthread_barrier_wait(&s->bar);
	}
}

static void *reclaim_main(void *arg)
{
	background(arg, true);
	return NULL;
}

static void *migrate_main(void *arg)
{
	background(arg, false);
	return NULL;
}

static int env_int(const char *name, int def, int lo, int hi)
{
	const char *v = getenv(name);
	int n = v ? atoi(v) : def;

	return n < lo ? lo : n > hi ? hi : n;
}

static void run(const char *design, bool inject, unsigned long ops)
{
	const char *only = getenv("AVM_STRESS_ONLY");
	struct stress *s;
	struct worker wk[MAXW + 2];
	pthread_t t[MAXW + 2];
	struct avm_stats st;
	int nt;

	if (only && strcmp(only, inject ? "inject" : design))
		return;
	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->seed = test_seed(inject ? "stress_family_inject" : "stress_family");
	s->nw = env_int("AVM_STRESS_THREADS", 4, 2, MAXW);
	s->ops = (unsigned long)env_int("AVM_STRESS_OPS", (int)ops, 1,
					1 << 24);
	s->inject = inject;
	nt = s->nw + 2;
	/* small pools: reclaim has work, and migration meets full nodes */
	s->sys = test_sys_for(design, 2, 3000, 1 << 14);
	pthread_mutex_init(&s->why_lock, NULL);
	pthread_barrier_init(&s->bar, NULL, (unsigned)nt);
	for (int k = 0; k < NSLOTS; k++) {
		pthread_rwlock_init(&s->slots[k].lock, NULL);
		for (int w = 0; w < MAXW; w++)
			for (int i = 0; i < WPAGES; i++)
				s->slots[k].sh[w][i].prot = UNMAPPED;
	}
	assert_int_equal(avm_mm_create(s->sys, &s->slots[0].mm), 0);
	for (int w = 0; w < s->nw; w++) {
		assert_int_equal(avm_mmap(s->slots[0].mm, waddr(w, 0),
					  WPAGES * PG,
					  AVM_PROT_READ | AVM_PROT_WRITE,
					  AVM_MAP_FIXED, NULL), 0);
		for (int i = 0; i < WPAGES; i++)
			s->slots[0].sh[w][i] = (struct shadow_page){
				AVM_PROT_READ | AVM_PROT_WRITE, 0 };
	}
	if (inject)
		avm_fail_random(s->sys, 0.002, s->seed);
	for (int k = 0; k < nt; k++) {
		wk[k] = (struct worker){ .s = s, .w = k,
					 .rng = s->seed * 2654435761u + (uint64_t)k + 1 };
		assert_int_equal(pthread_create(&t[k], NULL,
			k < s->nw ? worker_main :
			k == s->nw ? reclaim_main : migrate_main, &wk[k]), 0);
	}
	for (int k = 0; k < nt; k++)
		pthread_join(t[k], NULL);
	avm_fail_random(s->sys, 0, 0);
	printf("%s%s: seed %llu, %d workers: %lu ops, %lu -ENOMEM, %lu forks, "
	       "%lu exits, %lu reclaimed, %lu migrated\n", design,
	       inject ? " (fault injection)" : "", (unsigned long long)s->seed,
	       s->nw, atomic_load(&s->n_ops), atomic_load(&s->n_enomem),
	       atomic_load(&s->n_forks), atomic_load(&s->n_exits),
	       atomic_load(&s->n_reclaimed), atomic_load(&s->n_migrated));
	if (atomic_load(&s->failed)) {
		fprintf(stderr, "stress_family %s: %s\n", design, s->why);
		for (int k = 0; k < s->nw; k++)
			print_trace(&wk[k]);
	}
	assert_int_equal(atomic_load(&s->failed), 0);
	for (int k = 0; k < NSLOTS; k++)
		if (s->slots[k].mm)
			avm_exit(s->slots[k].mm);
	avm_stats(s->sys, &st);
	assert_int_equal(st.mms, 0);
	assert_int_equal(st.vmas, 0);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(st.rmap_objects, 0);
	assert_check(s->sys);
	avm_sys_destroy(s->sys);
	free(s);
}

static void test_linux(void **state) { run("linux", false, 1500); }
static void test_linux_inject(void **state) { run("linux", true, 1000); }
static void test_avc_tree(void **state) { run("avc-tree", false, 600); }
static void test_avc_2010(void **state) { run("avc-2010", false, 600); }
static void test_anon_vma_2004(void **state)
{
	run("anon-vma-2004", false, 600);
}
static void test_single_descendant(void **state)
{
	run("single-descendant", false, 600);
}
static void test_pte_chain(void **state) { run("pte-chain", false, 600); }
static void test_anonmm(void **state) { run("anonmm", false, 600); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux),
		cmocka_unit_test(test_linux_inject),
		cmocka_unit_test(test_avc_tree),
		cmocka_unit_test(test_avc_2010),
		cmocka_unit_test(test_anon_vma_2004),
		cmocka_unit_test(test_single_descendant),
		cmocka_unit_test(test_pte_chain),
		cmocka_unit_test(test_anonmm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
