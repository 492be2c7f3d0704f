/* SPDX-License-Identifier: MIT */
/*
 * A random fork tree with an expected-bytes model, for the data-survival
 * tests (reclaim_data, migrate_data, reclaim_fail).  Include after
 * <cmocka.h> and "lib/testutil.h" (with AVM_TEST_LIB).
 *
 * The root maps a few separate VMAs and writes into them; then processes
 * are forked from random members of the tree (depth up to ft->max_depth),
 * and after each fork the child and its parent write at random places
 * (partial pages and whole pages: copy-on-write at every level).  Every
 * process keeps a byte-exact copy of what it must read back.
 */
#ifndef AVM_TEST_FORKTREE_H
#define AVM_TEST_FORKTREE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FT_MAXP		64
#define FT_MAXV		4
#define FT_BASE		0x100000000000UL
#define FT_GAP		(64 * AVM_PAGE_SIZE)	/* VMAs never touch */
#define FT_PG		AVM_PAGE_SIZE

struct ft_proc {
	struct avm_mm *mm;		/* NULL once exited */
	int depth, parent;
	unsigned char *data[FT_MAXV];	/* expected contents of each VMA */
};

struct forktree {
	struct avm_sys *sys;
	uint64_t rng;
	int n, max_depth;
	int nv;
	unsigned long start[FT_MAXV], pages[FT_MAXV];
	struct ft_proc p[FT_MAXP];
};

static inline unsigned long ft_len(const struct forktree *ft, int v)
{
	return ft->pages[v] * FT_PG;
}

/* One random store by process i, mirrored in its model. */
static inline void ft_write(struct forktree *ft, int i)
{
	struct ft_proc *p = &ft->p[i];
	int v = (int)test_below(&ft->rng, (uint64_t)ft->nv);
	unsigned long pg = test_below(&ft->rng, ft->pages[v]);
	unsigned long off, len;
	unsigned char buf[FT_PG];

	if (test_below(&ft->rng, 3) == 0) {
		off = 0;
		len = FT_PG;
	} else {
		off = test_below(&ft->rng, FT_PG);
		len = 1 + test_below(&ft->rng,
				       FT_PG - off < 200 ? FT_PG - off : 200);
	}
	for (unsigned long k = 0; k < len; k++)
		buf[k] = (unsigned char)test_rand(&ft->rng);
	assert_int_equal(avm_write(p->mm, ft->start[v] + pg * FT_PG + off, buf,
				   len), 0);
	memcpy(p->data[v] + pg * FT_PG + off, buf, len);
}

/* A load of a random page: maps the zero page where nothing was written. */
static inline void ft_touch(struct forktree *ft, int i)
{
	int v = (int)test_below(&ft->rng, (uint64_t)ft->nv);
	unsigned long pg = test_below(&ft->rng, ft->pages[v]);
	unsigned char b;

	assert_int_equal(avm_read(ft->p[i].mm, ft->start[v] + pg * FT_PG, &b,
				  1), 0);
	assert_int_equal(b, ft->p[i].data[v][pg * FT_PG]);
}

static inline int ft_fork(struct forktree *ft, int i)
{
	struct ft_proc *c;
	int k = ft->n;

	assert_true(k < FT_MAXP);
	c = &ft->p[k];
	assert_int_equal(avm_fork(ft->p[i].mm, &c->mm), 0);
	c->depth = ft->p[i].depth + 1;
	c->parent = i;
	for (int v = 0; v < ft->nv; v++) {
		c->data[v] = malloc(ft_len(ft, v));
		assert_non_null(c->data[v]);
		memcpy(c->data[v], ft->p[i].data[v], ft_len(ft, v));
	}
	ft->n++;
	return k;
}

/*
 * nprocs processes in all (the root included), forked from random members
 * no deeper than max_depth - 1; the newest is preferred so that chains of
 * max_depth generations appear.
 */
static inline void ft_build(struct forktree *ft, struct avm_sys *sys,
			    uint64_t seed, int nprocs, int max_depth)
{
	struct ft_proc *r;

	memset(ft, 0, sizeof(*ft));
	ft->sys = sys;
	ft->rng = seed;
	ft->max_depth = max_depth;
	ft->nv = 2 + (int)test_below(&ft->rng, FT_MAXV - 1);
	r = &ft->p[0];
	assert_int_equal(avm_mm_create(sys, &r->mm), 0);
	r->parent = -1;
	for (int v = 0; v < ft->nv; v++) {
		ft->pages[v] = 2 + test_below(&ft->rng, 11);
		ft->start[v] = FT_BASE + (unsigned long)v * FT_GAP;
		assert_int_equal(avm_mmap(r->mm, ft->start[v], ft_len(ft, v),
					  AVM_PROT_READ | AVM_PROT_WRITE,
					  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
		r->data[v] = calloc(1, ft_len(ft, v));
		assert_non_null(r->data[v]);
	}
	ft->n = 1;
	for (int w = 0; w < 12; w++)
		ft_write(ft, 0);
	ft_touch(ft, 0);
	while (ft->n < nprocs) {
		int i, c;

		if (test_below(&ft->rng, 2) == 0)
			i = ft->n - 1;
		else
			i = (int)test_below(&ft->rng, (uint64_t)ft->n);
		if (ft->p[i].depth >= max_depth)
			continue;
		c = ft_fork(ft, i);
		for (int w = (int)test_below(&ft->rng, 5); w > 0; w--)
			ft_write(ft, c);
		for (int w = (int)test_below(&ft->rng, 3); w > 0; w--)
			ft_write(ft, i);
		if (test_below(&ft->rng, 3) == 0)
			ft_touch(ft, c);
	}
}

/* Every VMA of process i reads back exactly as the model says. */
static inline void ft_verify(struct forktree *ft, int i)
{
	struct ft_proc *p = &ft->p[i];

	if (!p->mm)
		return;
	for (int v = 0; v < ft->nv; v++) {
		unsigned long len = ft_len(ft, v);
		unsigned char *buf = malloc(len);

		assert_non_null(buf);
		assert_int_equal(avm_read(p->mm, ft->start[v], buf, len), 0);
		for (unsigned long k = 0; k < len; k++) {
			if (buf[k] != p->data[v][k]) {
				fprintf(stderr, "process %d (mm %lu) vma %d byte "
					"%#lx: read %#x, expected %#x\n", i,
					avm_mm_id(p->mm), v, k, buf[k],
					p->data[v][k]);
				fail();
			}
		}
		free(buf);
	}
}

/* All live processes, in a random order. */
static inline void ft_verify_all(struct forktree *ft)
{
	int order[FT_MAXP];

	for (int i = 0; i < ft->n; i++)
		order[i] = i;
	for (int i = ft->n - 1; i > 0; i--) {
		int j = (int)test_below(&ft->rng, (uint64_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < ft->n; i++)
		ft_verify(ft, order[i]);
}

static inline void ft_exit(struct forktree *ft, int i)
{
	struct ft_proc *p = &ft->p[i];

	if (!p->mm)
		return;
	avm_exit(p->mm);
	p->mm = NULL;
	for (int v = 0; v < ft->nv; v++) {
		free(p->data[v]);
		p->data[v] = NULL;
	}
}

/* Exit everything in a random order, checking after each exit. */
static inline void ft_exit_all(struct forktree *ft, bool check_each)
{
	int left = 0;

	for (int i = 0; i < ft->n; i++)
		left += ft->p[i].mm != NULL;
	while (left) {
		int i = (int)test_below(&ft->rng, (uint64_t)ft->n);

		if (!ft->p[i].mm)
			continue;
		ft_exit(ft, i);
		left--;
		if (check_each)
			assert_check(ft->sys);
	}
}

/* Nothing is left: frames, swap slots, swap cache, rmap objects. */
static inline void assert_all_freed(struct avm_sys *sys)
{
	struct avm_stats st;

	avm_stats(sys, &st);
	assert_int_equal(st.frames_used, 0);
	assert_int_equal(st.swap_slots_used, 0);
	assert_int_equal(st.swap_cache_pages, 0);
	assert_int_equal(st.anon_vmas, 0);
	assert_int_equal(st.avcs, 0);
	assert_int_equal(st.vmas, 0);
	assert_int_equal(st.page_tables, 0);
}


#define FT_MAXPG	16

struct snap {
	struct avm_page_info pi[FT_MAXP][FT_MAXV][FT_MAXPG];
};

static inline void snapshot(struct forktree *ft, struct snap *s)
{
	for (int i = 0; i < ft->n; i++) {
		if (!ft->p[i].mm)
			continue;
		for (int v = 0; v < ft->nv; v++)
			for (unsigned long g = 0; g < ft->pages[v]; g++)
				s->pi[i][v][g] = test_info(ft->p[i].mm,
							   ft->start[v] + g * FT_PG);
	}
}

static inline bool is_frame(const struct avm_page_info *pi)
{
	return pi->state == AVM_PTE_PRESENT && !pi->zero;
}

/*
 * Every frame mapped in `before` is, in `after`, again one frame mapped by
 * exactly the same PTEs (and by no others), with a mapcount to match.
 */
static inline void assert_same_sharing(struct forktree *ft,
				       const struct snap *before,
				       const struct snap *after)
{
	size_t nf = 4UL << 16;
	unsigned long *fwd = calloc(nf, sizeof(*fwd));	/* old pfn + 1 -> new */
	unsigned long *rev = calloc(nf, sizeof(*rev));
	unsigned int *users = calloc(nf, sizeof(*users));

	assert_non_null(fwd);
	assert_non_null(rev);
	assert_non_null(users);
	for (int i = 0; i < ft->n; i++) {
		if (!ft->p[i].mm)
			continue;
		for (int v = 0; v < ft->nv; v++)
			for (unsigned long g = 0; g < ft->pages[v]; g++) {
				const struct avm_page_info *b = &before->pi[i][v][g];
				const struct avm_page_info *a = &after->pi[i][v][g];

				if (!is_frame(b)) {
					assert_false(is_frame(a) && b->state ==
						     AVM_PTE_NONE);
					continue;
				}
				assert_true(is_frame(a));
				assert_true(b->pfn < nf && a->pfn < nf);
				if (!fwd[b->pfn])
					fwd[b->pfn] = a->pfn + 1;
				if (!rev[a->pfn])
					rev[a->pfn] = b->pfn + 1;
				assert_int_equal(fwd[b->pfn], a->pfn + 1);
				assert_int_equal(rev[a->pfn], b->pfn + 1);
				users[a->pfn]++;
			}
	}
	for (int i = 0; i < ft->n; i++) {
		if (!ft->p[i].mm)
			continue;
		for (int v = 0; v < ft->nv; v++)
			for (unsigned long g = 0; g < ft->pages[v]; g++) {
				const struct avm_page_info *a = &after->pi[i][v][g];

				if (is_frame(a) && is_frame(&before->pi[i][v][g]))
					assert_int_equal(a->mapcount,
							 users[a->pfn]);
			}
	}
	free(fwd);
	free(rev);
	free(users);
}


#endif
