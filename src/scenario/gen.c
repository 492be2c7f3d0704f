/* SPDX-License-Identifier: MIT */
/*
 * Random scenarios for the fuzzer.
 *
 * The generator knows which processes are alive (so that every statement is
 * valid) but nothing about their memory: it cannot predict results, so it
 * writes no expectations, and the fuzzer compares executors instead.  To
 * make operations meet each other, every address lies in one small region,
 * and about half of them reuse the start of a recently mapped or moved
 * range.  Ranges overlap, straddle holes and protections, mremap moves onto
 * mapped ranges; the failures that follow are part of the test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

#define PG		SCN_PAGE_SIZE
#define NRECENT		8
#define MAX_PROCS	64
#define MAX_REGION	(1 << 20)
#define PMD_PAGES	512		/* pages of a 2 MiB huge page */
#define GEN_THP_REGION	(4 * PMD_PAGES)	/* default region with thp */

struct gen {
	uint64_t rng;
	const struct scn_gen_opts *o;
	int max_procs, region;		/* region: pages */
	struct scenario *s;
	size_t stmt_cap;
	int *live;			/* live slots, oldest first */
	int nlive;
	uint64_t recent[NRECENT];	/* starts of recent ranges */
	int nrecent;
};

/* ---- randomness --------------------------------------------------------- */

static uint64_t next_rand(struct gen *g)
{
	uint64_t x = g->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n), n > 0. */
static uint64_t below(struct gen *g, uint64_t n)
{
	return next_rand(g) % n;
}

static bool chance(struct gen *g, int percent)
{
	return (int)below(g, 100) < percent;
}

/* ---- addresses -------------------------------------------------------------- */

static uint64_t region_end(const struct gen *g)
{
	return SCN_GEN_BASE + (uint64_t)g->region * PG;
}

static void remember(struct gen *g, uint64_t addr)
{
	g->recent[g->nrecent++ % NRECENT] = addr;
}

/* With thp: a 2 MiB-aligned address of the region (or 0: none). */
static uint64_t pick_pmd_addr(struct gen *g)
{
	uint64_t n = (uint64_t)g->region / PMD_PAGES;

	return n ? SCN_GEN_BASE + below(g, n) * PMD_PAGES * PG : 0;
}

/* A page address in the region: often the start of a recent range. */
static uint64_t pick_addr(struct gen *g)
{
	int have = g->nrecent < NRECENT ? g->nrecent : NRECENT;
	uint64_t pmd;

	/* only with thp, so that other seeds give the scenarios they gave */
	if (g->o->thp && chance(g, 25) && (pmd = pick_pmd_addr(g)))
		return pmd;

	if (have && chance(g, 50)) {
		uint64_t a = g->recent[below(g, (uint64_t)have)];

		if (chance(g, 25))
			a += below(g, 4) * PG;
		if (a < region_end(g))
			return a;
	}
	return SCN_GEN_BASE + below(g, (uint64_t)g->region) * PG;
}

/* A page count, mostly small, that keeps [addr, ...) in the region. */
static uint64_t pick_pages(struct gen *g, uint64_t addr)
{
	uint64_t room = (region_end(g) - addr) / PG, n;
	int r;

	/* with thp: whole huge pages, or one and a bit */
	if (g->o->thp && chance(g, 25)) {
		n = PMD_PAGES * (1 + below(g, 2)) + (chance(g, 30) ? 1 : 0);
		return n < room ? n : room;
	}
	r = (int)below(g, 100);
	if (r < 55)
		n = 1 + below(g, 2);
	else if (r < 90)
		n = 1 + below(g, 8);
	else
		n = 1 + below(g, (uint64_t)(g->region / 2 > 0 ? g->region / 2 : 1));
	return n < room ? n : room;
}

/* A byte address for read and write: a few offsets, so they meet. */
static uint64_t pick_byte_addr(struct gen *g)
{
	static const uint64_t offs[] = { 0, 1, 7, 2048, 4095 };

	return pick_addr(g) + offs[below(g, sizeof(offs) / sizeof(offs[0]))];
}

static int pick_byte(struct gen *g)
{
	return chance(g, 5) ? 0 : 1 + (int)below(g, 255);
}

/* ---- building the scenario ------------------------------------------------------- */

static struct scn_stmt *add_stmt(struct gen *g, enum scn_op op, int proc)
{
	struct scenario *s = g->s;
	struct scn_stmt *st;

	if ((size_t)s->nstmts == g->stmt_cap) {
		size_t cap = g->stmt_cap ? g->stmt_cap * 2 : 64;

		st = realloc(s->stmts, cap * sizeof(*st));
		if (!st)
			return NULL;
		s->stmts = st;
		g->stmt_cap = cap;
	}
	st = &s->stmts[s->nstmts];
	memset(st, 0, sizeof(*st));
	st->op = op;
	st->line = s->nstmts + 1;
	st->proc = proc;
	st->child = -1;
	s->nstmts++;
	return st;
}

static bool name_alive(const struct gen *g, const char *name)
{
	for (int i = 0; i < g->nlive; i++)
		if (!strcmp(g->s->slot_name[g->live[i]], name))
			return true;
	return false;
}

/* A new slot named after a process that is not alive (names get reused). */
static int new_slot(struct gen *g)
{
	struct scenario *s = g->s;
	char name[16], **names;
	int pool = g->max_procs + 2;

	do
		snprintf(name, sizeof(name), "p%d", (int)below(g, (uint64_t)pool));
	while (name_alive(g, name));
	names = realloc(s->slot_name, ((size_t)s->nslots + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	s->slot_name = names;
	names[s->nslots] = strdup(name);
	if (!names[s->nslots])
		return -ENOMEM;
	g->live[g->nlive++] = s->nslots;
	return s->nslots++;
}

/* ---- statements ----------------------------------------------------------------------- */

static int gen_spawn(struct gen *g)
{
	int slot = new_slot(g);
	struct scn_stmt *st;

	if (slot < 0)
		return slot;
	st = add_stmt(g, SCN_SPAWN, slot);
	if (!st)
		return -ENOMEM;
	st->child = slot;
	return 0;
}

/* Half of the forks extend a chain (the newest process forks). */
static int gen_fork(struct gen *g)
{
	int parent = chance(g, 50) ? g->live[g->nlive - 1] :
		     g->live[below(g, (uint64_t)g->nlive)];
	int slot = new_slot(g);
	struct scn_stmt *st;

	if (slot < 0)
		return slot;
	st = add_stmt(g, SCN_FORK, parent);
	if (!st)
		return -ENOMEM;
	st->child = slot;
	return 0;
}

static int gen_exit(struct gen *g)
{
	int i = (int)below(g, (uint64_t)g->nlive);
	int slot = g->live[i];

	memmove(&g->live[i], &g->live[i + 1],
		(size_t)(g->nlive - i - 1) * sizeof(*g->live));
	g->nlive--;
	return add_stmt(g, SCN_EXIT, slot) ? 0 : -ENOMEM;
}

static int random_proc(struct gen *g)
{
	return g->live[below(g, (uint64_t)g->nlive)];
}

/* A statement on [ADDR, ADDR + PAGES) by a random live process. */
static struct scn_stmt *range_stmt(struct gen *g, enum scn_op op)
{
	struct scn_stmt *st = add_stmt(g, op, random_proc(g));

	if (st) {
		st->addr = pick_addr(g);
		st->pages = pick_pages(g, st->addr);
	}
	return st;
}

static int gen_mmap(struct gen *g)
{
	struct scn_stmt *st = range_stmt(g, SCN_MMAP);

	if (!st)
		return -ENOMEM;
	st->prot = chance(g, 70) ? SCN_PROT_RW :
		   (enum scn_prot)below(g, 2);
	remember(g, st->addr);
	return 0;
}

static int gen_mprotect(struct gen *g)
{
	struct scn_stmt *st = range_stmt(g, SCN_MPROTECT);

	if (!st)
		return -ENOMEM;
	st->prot = (enum scn_prot)below(g, 3);
	return 0;
}

static int gen_madvise(struct gen *g)
{
	struct scn_stmt *st = range_stmt(g, SCN_MADVISE);
	int n = g->o->native_safe ? SCN_ADV_PAGEOUT : SCN_ADV_PAGEOUT + 1;

	if (!st)
		return -ENOMEM;
	if (g->o->thp && chance(g, 30))
		st->advice = chance(g, 75) ? SCN_ADV_HUGEPAGE : SCN_ADV_NOHUGEPAGE;
	else
		st->advice = (enum scn_advice)below(g, (uint64_t)n);
	return 0;
}

static int gen_simple_range(struct gen *g, enum scn_op op)
{
	struct scn_stmt *st = range_stmt(g, op);

	if (!st)
		return -ENOMEM;
	if (op == SCN_FILL)
		st->byte = pick_byte(g);
	if (op == SCN_MIGRATE)
		st->node = chance(g, 80) ? 0 : 1;
	return 0;
}

/*
 * In place (shrink, grow or same), or "to" a new address in the region:
 * mostly keeping the size (which moves every mapping in the range, and
 * may carry dontunmap), otherwise resizing.
 */
static int gen_mremap(struct gen *g)
{
	struct scn_stmt *st = range_stmt(g, SCN_MREMAP);

	if (!st)
		return -ENOMEM;
	if (chance(g, 45)) {
		st->new_pages = pick_pages(g, st->addr);
		return 0;
	}
	st->to = true;
	st->new_addr = pick_addr(g);
	st->new_pages = pick_pages(g, st->new_addr);
	if (chance(g, 65)) {
		uint64_t n = st->pages < st->new_pages ? st->pages : st->new_pages;

		st->pages = st->new_pages = n;
		st->dontunmap = chance(g, 35);
	}
	remember(g, st->new_addr);
	return 0;
}

static int gen_access(struct gen *g, enum scn_op op)
{
	struct scn_stmt *st = add_stmt(g, op, random_proc(g));

	if (!st)
		return -ENOMEM;
	st->addr = pick_byte_addr(g);
	if (op == SCN_WRITE)
		st->byte = pick_byte(g);
	return 0;
}

/* ---- choosing -------------------------------------------------------------------------- */

enum choice {
	C_SPAWN, C_FORK, C_EXIT, C_MMAP, C_MUNMAP, C_MPROTECT, C_MREMAP,
	C_MADVISE, C_WRITE, C_FILL, C_READ, C_MIGRATE, C_CHECK, C_NR
};

static const int weights[C_NR] = {
	[C_SPAWN] = 2,	  [C_FORK] = 6,	     [C_EXIT] = 3,   [C_MMAP] = 14,
	[C_MUNMAP] = 6,	  [C_MPROTECT] = 8,  [C_MREMAP] = 10, [C_MADVISE] = 8,
	[C_WRITE] = 14,	  [C_FILL] = 6,	     [C_READ] = 12,  [C_MIGRATE] = 2,
	[C_CHECK] = 7,
};

static bool allowed(const struct gen *g, enum choice c)
{
	switch (c) {
	case C_SPAWN:
	case C_FORK:
		return g->nlive < g->max_procs;
	case C_EXIT:
		return g->nlive > 1 || g->max_procs == 1;
	case C_MIGRATE:
		return !g->o->native_safe;
	default:
		return true;
	}
}

static enum choice choose(struct gen *g)
{
	int total = 0, r;

	for (int c = 0; c < C_NR; c++)
		total += allowed(g, (enum choice)c) ? weights[c] : 0;
	r = (int)below(g, (uint64_t)total);
	for (int c = 0; c < C_NR; c++) {
		if (!allowed(g, (enum choice)c))
			continue;
		if (r < weights[c])
			return (enum choice)c;
		r -= weights[c];
	}
	return C_CHECK;
}

static int gen_one(struct gen *g)
{
	if (!g->nlive)
		return gen_spawn(g);
	switch (choose(g)) {
	case C_SPAWN:		return gen_spawn(g);
	case C_FORK:		return gen_fork(g);
	case C_EXIT:		return gen_exit(g);
	case C_MMAP:		return gen_mmap(g);
	case C_MUNMAP:		return gen_simple_range(g, SCN_MUNMAP);
	case C_MPROTECT:	return gen_mprotect(g);
	case C_MREMAP:		return gen_mremap(g);
	case C_MADVISE:		return gen_madvise(g);
	case C_WRITE:		return gen_access(g, SCN_WRITE);
	case C_FILL:		return gen_simple_range(g, SCN_FILL);
	case C_READ:		return gen_access(g, SCN_READ);
	case C_MIGRATE:		return gen_simple_range(g, SCN_MIGRATE);
	default:		return add_stmt(g, SCN_CHECK, -1) ? 0 : -ENOMEM;
	}
}

static int gen_init(struct gen *g, const struct scn_gen_opts *o)
{
	memset(g, 0, sizeof(*g));
	if (!o || o->ops < 1 || o->max_procs < 0 || o->max_procs > MAX_PROCS ||
	    o->max_pages < 0 || o->max_pages > MAX_REGION)
		return -EINVAL;
	g->o = o;
	g->rng = o->seed ? o->seed : 0x9E3779B97F4A7C15ULL;
	g->max_procs = o->max_procs ? o->max_procs : 4;
	g->region = o->max_pages ? o->max_pages : o->thp ? GEN_THP_REGION : 64;
	g->live = calloc((size_t)g->max_procs, sizeof(*g->live));
	g->s = calloc(1, sizeof(*g->s));
	if (g->s)
		g->s->file = strdup("<generated>");
	return g->live && g->s && g->s->file ? 0 : -ENOMEM;
}

int scn_generate(const struct scn_gen_opts *o, struct scenario **out)
{
	struct gen g;
	int rc = gen_init(&g, o);

	*out = NULL;
	for (int i = 0; !rc && i < o->ops; i++)
		rc = gen_one(&g);
	free(g.live);
	if (rc) {
		scn_free(g.s);
		return rc;
	}
	*out = g.s;
	return 0;
}
