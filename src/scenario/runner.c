/* SPDX-License-Identifier: MIT */
/*
 * The library executor: runs a scenario on libanonvm, one avm_mm per
 * process slot, and records what `native` records on the host kernel so
 * that the two can be compared.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "anonvm/anonvm.h"
#include "lib/sched.h"
#include "scenario/scenario.h"

#define PG	SCN_PAGE_SIZE

struct run {
	const struct scenario *s;
	const struct scn_lib_opts *o;
	struct avm_sys *sys;
	struct avm_mm **mm;	/* per slot; NULL when not alive */
	struct scn_trace *t;
	unsigned char *buf;	/* one page, for content hashes */
};

static int prot_of(enum scn_prot p)
{
	return p == SCN_PROT_NONE ? AVM_PROT_NONE :
	       p == SCN_PROT_R ? AVM_PROT_READ : AVM_PROT_READ | AVM_PROT_WRITE;
}

static enum scn_prot scn_prot_of(int prot)
{
	return (prot & AVM_PROT_WRITE) ? SCN_PROT_RW :
	       (prot & AVM_PROT_READ) ? SCN_PROT_R : SCN_PROT_NONE;
}

static const enum avm_advice advice_map[SCN_NR_ADVICE] = {
	[SCN_ADV_DONTNEED] = AVM_MADV_DONTNEED,
	[SCN_ADV_DONTFORK] = AVM_MADV_DONTFORK,
	[SCN_ADV_DOFORK] = AVM_MADV_DOFORK,
	[SCN_ADV_WIPEONFORK] = AVM_MADV_WIPEONFORK,
	[SCN_ADV_KEEPONFORK] = AVM_MADV_KEEPONFORK,
	[SCN_ADV_PAGEOUT] = AVM_MADV_PAGEOUT,
	[SCN_ADV_HUGEPAGE] = AVM_MADV_HUGEPAGE,
	[SCN_ADV_NOHUGEPAGE] = AVM_MADV_NOHUGEPAGE,
};

/* What expect-thp sees at addr (the page holding it). */
static int thp_state_at(struct avm_mm *mm, uint64_t addr)
{
	struct avm_page_info pi;

	if (avm_page_info(mm, addr & ~(PG - 1), &pi) ||
	    pi.state != AVM_PTE_PRESENT)
		return SCN_THP_NONE;
	if (pi.huge_zero)
		return SCN_THP_HUGE_ZERO;
	if (pi.pmd_mapped)
		return SCN_THP_PMD;
	return pi.order ? SCN_THP_PTE : SCN_THP_BASE;
}

static int do_mremap(struct avm_mm *mm, const struct scn_stmt *st)
{
	int flags = 0;

	if (st->to)
		flags = AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED |
			(st->dontunmap ? AVM_MREMAP_DONTUNMAP : 0);
	return avm_mremap(mm, st->addr, st->pages * PG, st->new_pages * PG,
			  flags, st->new_addr, NULL);
}

int scn_lib_exec(struct avm_mm *mm, const struct scn_stmt *st, int *value)
{
	unsigned char b = (unsigned char)st->byte;
	int err;

	switch (st->op) {
	case SCN_MMAP:
		return avm_mmap(mm, st->addr, st->pages * PG, prot_of(st->prot),
				AVM_MAP_FIXED_NOREPLACE, NULL);
	case SCN_MUNMAP:
		return avm_munmap(mm, st->addr, st->pages * PG);
	case SCN_MPROTECT:
		return avm_mprotect(mm, st->addr, st->pages * PG,
				    prot_of(st->prot));
	case SCN_MREMAP:
		return do_mremap(mm, st);
	case SCN_MADVISE:
		return avm_madvise(mm, st->addr, st->pages * PG,
				   advice_map[st->advice]);
	case SCN_WRITE:
		return avm_write(mm, st->addr, &b, 1);
	case SCN_FILL:
		return avm_fill(mm, st->addr, st->byte, st->pages * PG);
	case SCN_READ:
	case SCN_EXPECT:
		err = avm_read(mm, st->addr, &b, 1);
		if (!err && value)
			*value = b;
		return err;
	case SCN_MIGRATE:
		return avm_migrate(mm, st->addr, st->pages * PG,
				   (unsigned int)st->node, NULL);
	case SCN_EXPECT_THP:
		if (value)
			*value = thp_state_at(mm, st->addr);
		return 0;
	default:
		return -EINVAL;
	}
}

/* Perform one statement; returns 0 or a negative errno. */
static int exec_stmt(struct run *r, const struct scn_stmt *st,
		     struct scn_result *res)
{
	struct avm_mm *mm = st->proc >= 0 ? r->mm[st->proc] : NULL;

	/* A process whose fork failed does not exist: nothing it does runs. */
	if (!mm && st->op != SCN_SPAWN && st->op != SCN_CHECK)
		return -ESRCH;

	switch (st->op) {
	case SCN_SPAWN:
		return avm_mm_create(r->sys, &r->mm[st->child]);
	case SCN_FORK:
		return avm_fork(mm, &r->mm[st->child]);
	case SCN_EXIT:
		avm_exit(mm);
		r->mm[st->proc] = NULL;
		return 0;
	case SCN_CHECK:
	case SCN_NR_OPS:
		return 0;
	default:
		return scn_lib_exec(mm, st, &res->value);
	}
}

/* ---- snapshots ----------------------------------------------------------- */

/*
 * The mapcount pagemap's exclusive bit (56) judges: the page's own, but
 * for a page mapped by a huge PMD the folio's first page's, which the
 * kernel evaluates for the whole PMD (entire mappings plus the head's
 * PTE mappings: 1 means exclusive).
 */
static unsigned int pmd_head_mapcount(struct avm_mm *mm, unsigned long addr,
				      const struct avm_page_info *pi)
{
	struct avm_page_info head;

	if (!pi->pmd_mapped ||
	    avm_page_info(mm, addr & ~(AVM_PMD_SIZE - 1), &head))
		return pi->mapcount;
	return head.mapcount;
}

static int snap_page(struct run *r, struct avm_mm *mm, unsigned long addr,
		     struct scn_proc_snap *ps)
{
	struct avm_page_info pi;
	struct scn_page pg = { .addr = addr };

	if (avm_page_info(mm, addr, &pi))
		return -EFAULT;
	if (pi.state == AVM_PTE_PRESENT) {
		pg.state = SCN_PTE_PRESENT;
		pg.zero = pi.zero || pi.huge_zero;
		pg.frame = pi.pfn;
		pg.mapcount = pi.mapcount;
		pg.exclusive = !pg.zero && pmd_head_mapcount(mm, addr, &pi) == 1;
		pg.order = (uint8_t)pi.order;
		pg.pmd_mapped = pi.pmd_mapped;
		pg.huge_zero = pi.huge_zero;
	} else if (pi.state == AVM_PTE_SWAP) {
		pg.state = SCN_PTE_SWAP;
	} else if (pi.state == AVM_PTE_NONE) {
		return 0;	/* emptied meanwhile: not recorded */
	}
	if (!r->o->payload_none && !avm_peek(mm, addr, r->buf, PG)) {
		pg.has_hash = true;
		pg.hash = scn_hash_page(r->buf);
	}
	return scn_proc_add_page(ps, &pg);
}

/* AnonHugePages of the VMA just added, whose pages start at pages[first]:
   its PMD-mapped anonymous THPs, as smaps counts them. */
static void anon_huge(struct scn_proc_snap *ps, size_t first)
{
	struct scn_vma *v;

	if (!ps->nvmas)
		return;
	v = &ps->vmas[ps->nvmas - 1];
	for (size_t k = first; k < ps->npages; k++)
		if (ps->pages[k].state == SCN_PTE_PRESENT &&
		    ps->pages[k].pmd_mapped && !ps->pages[k].huge_zero)
			v->anon_huge += PG;
}

static int snap_proc(struct run *r, int slot, struct scn_snapshot *sn)
{
	struct avm_mm *mm = r->mm[slot];
	struct scn_proc_snap *ps = scn_snapshot_add_proc(sn, slot);
	struct avm_vma_info *v;
	long n = avm_vmas(mm, NULL, 0);
	int err = 0;

	if (!ps)
		return -ENOMEM;
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = avm_vmas(mm, v, (size_t)n);
	for (long i = 0; i < n && !err; i++) {
		struct scn_vma sv = {
			.start = v[i].start, .end = v[i].end,
			.prot = scn_prot_of(v[i].prot),
			.dontcopy = v[i].flags & AVM_VMA_DONTCOPY,
			.wipeonfork = v[i].flags & AVM_VMA_WIPEONFORK,
			.hugepage = v[i].flags & AVM_VMA_HUGEPAGE,
			.nohugepage = v[i].flags & AVM_VMA_NOHUGEPAGE,
		};
		size_t first = ps->npages;

		if (sv.end <= scn_window_start(r->s) ||
		    sv.start >= scn_window_end(r->s))
			continue;
		err = scn_proc_add_vma(ps, &sv);
		/* Only pages that exist: the others are not populated and
		   read as zeroes (docs/scenarios.md). */
		for (unsigned long a = sv.start; !err && a < sv.end; a += PG) {
			if (avm_next_page(mm, a, sv.end, &a))
				break;
			err = snap_page(r, mm, a, ps);
		}
		anon_huge(ps, first);
	}
	free(v);
	return err;
}

static int snapshot(struct run *r, int stmt)
{
	struct scn_snapshot *sn = scn_trace_add_snapshot(r->t, stmt);
	int err = sn ? 0 : -ENOMEM;

	for (int slot = 0; slot < r->s->nslots && !err; slot++)
		if (r->mm[slot])
			err = snap_proc(r, slot, sn);
	return err;
}

/* Snapshot and verify; false ends the run. */
static bool checkpoint(struct run *r, int stmt, int line)
{
	char msg[200];

	if (snapshot(r, stmt)) {
		snprintf(r->t->failure, sizeof(r->t->failure),
			 "out of memory recording the state");
		return false;
	}
	if (r->o->no_check || !avm_check(r->sys, msg, sizeof(msg)))
		return true;
	if (line > 0)
		snprintf(r->t->failure, sizeof(r->t->failure),
			 "line %d: check: invariant violated: %s", line, msg);
	else
		snprintf(r->t->failure, sizeof(r->t->failure),
			 "at the end: invariant violated: %s", msg);
	return false;
}

/* The scenario's THP mode; orders and the huge zero page as the host's. */
static void thp_config(const struct scenario *s, enum scn_thp_mode over,
		       struct avm_config *cfg)
{
	static const enum avm_thp_mode modes[SCN_NR_THP_MODES] = {
		[SCN_THP_NEVER] = AVM_THP_NEVER,
		[SCN_THP_MADVISE] = AVM_THP_MADVISE,
		[SCN_THP_ALWAYS] = AVM_THP_ALWAYS,
	};
	struct scn_host_thp h;

	scn_host_thp(&h);
	cfg->thp = modes[scn_thp_mode(s, over)];
	cfg->thp_orders = h.orders;
	cfg->thp_no_zero_page = h.no_zero_page;
}

static int setup(struct run *r, char *err, size_t errlen)
{
	struct avm_config cfg;
	int rc;

	avm_config_default(&cfg);
	cfg.design = r->o->design;
	cfg.nodes = r->o->nodes ? r->o->nodes : 2;
	cfg.node_frames = 1UL << 18;
	cfg.swap_slots = 1UL << 18;
	cfg.payload = r->o->payload_none ? AVM_PAYLOAD_NONE : AVM_PAYLOAD_FULL;
	cfg.max_map_count = r->o->max_map_count ? r->o->max_map_count :
			    scn_host_map_room();
	cfg.overcommit_pages = r->o->overcommit_pages ?
			       r->o->overcommit_pages :
			       scn_host_overcommit_pages();
	thp_config(r->s, r->o->thp, &cfg);
	rc = avm_sys_create(&cfg, &r->sys);
	if (rc) {
		snprintf(err, errlen, "cannot create the system (design %s): %s",
			 cfg.design ? cfg.design : "default", strerror(-rc));
		return rc;
	}
	r->mm = calloc((size_t)r->s->nslots + 1, sizeof(*r->mm));
	r->buf = malloc(PG);
	return r->mm && r->buf ? 0 : -ENOMEM;
}

static void note_failure(struct run *r, const struct scn_stmt *st,
			 const struct scn_result *res)
{
	char msg[200];

	/* After an injected failure the run has left the scenario's script:
	   only the checker judges it. */
	if (r->o->no_expect || r->t->injected)
		return;
	if (!r->t->failure[0] && !scn_result_ok(r->s, st, res, msg, sizeof(msg)))
		snprintf(r->t->failure, sizeof(r->t->failure), "%s", msg);
}

/* With fault injection: the checker after every statement. */
static bool check_after(struct run *r, const struct scn_stmt *st)
{
	char msg[200], text[64];

	if (r->o->fail_rate <= 0 || r->o->no_check ||
	    !avm_check(r->sys, msg, sizeof(msg)))
		return true;
	scn_stmt_str(r->s, st, text, sizeof(text));
	snprintf(r->t->failure, sizeof(r->t->failure),
		 "line %d: %.60s: invariant violated (allocations failing): "
		 "%.100s", st->line, text, msg);
	return false;
}

/* Run statement i and record its result; false ends the run. */
static bool step(struct run *r, int i, int *rc)
{
	const struct scn_stmt *st = &r->s->stmts[i];
	struct scn_result res = { .value = -1 };
	unsigned long failed = avm_alloc_failures(r->sys);

	res.err = -exec_stmt(r, st, &res);
	if (r->o->fail_rate > 0 && avm_alloc_failures(r->sys) != failed) {
		snprintf(res.note, sizeof(res.note), "allocation failed");
		if (!r->t->injected++)
			r->t->first_injected = i;
	}
	if (scn_trace_add_result(r->t, &res))
		*rc = -ENOMEM;
	note_failure(r, st, &res);
	if (!check_after(r, st))
		return false;
	return st->op != SCN_CHECK || checkpoint(r, i, st->line);
}

/* ---- thread groups -------------------------------------------------------- */

struct group {
	struct run *r;
	int first, end;			/* its statements */
	struct scn_result *res;		/* theirs, by statement */
};

struct group_thread {
	struct group *g;
	unsigned int t;
	pthread_t tid;
};

/* Thread t (0-based) runs its block's statements in order. */
static void group_run(void *arg, unsigned int t)
{
	struct group *g = arg;

	for (int i = g->first; i < g->end; i++) {
		const struct scn_stmt *st = &g->r->s->stmts[i];

		if (st->thread == (int)t + 1)
			g->res[i - g->first].err =
				-exec_stmt(g->r, st, &g->res[i - g->first]);
	}
}

static void *group_pthread(void *arg)
{
	struct group_thread *gt = arg;

	group_run(gt->g, gt->t);
	return NULL;
}

/* Free-running threads (anonvm run). */
static int group_threads(struct group *g, unsigned int n)
{
	struct group_thread gt[SCN_MAX_THREADS];
	unsigned int started = 0;
	int err = 0;

	for (unsigned int t = 0; t < n && !err; t++, started++) {
		gt[t] = (struct group_thread){ .g = g, .t = t };
		err = -pthread_create(&gt[t].tid, NULL, group_pthread, &gt[t]);
	}
	if (err)
		started--;
	for (unsigned int t = 0; t < started; t++)
		pthread_join(gt[t].tid, NULL);
	return err;
}

/*
 * The thread blocks from statement *i to the group's end run together;
 * then their results are recorded in statement order.  Under the
 * explorer's scheduler a deadlock returns -EDEADLK at once (its threads
 * still hold locks: nothing may be torn down).
 */
static bool run_group(struct run *r, int *i, int *rc)
{
	const struct scn_stmt *st = r->s->stmts;
	struct group g = { .r = r, .first = *i };
	unsigned long failed = avm_alloc_failures(r->sys);
	unsigned int n = 0;
	bool go = true;

	for (g.end = g.first; g.end < r->s->nstmts &&
	     st[g.end].group == st[g.first].group && st[g.end].thread; g.end++)
		n = MAX(n, (unsigned int)st[g.end].thread);
	g.res = calloc((size_t)(g.end - g.first), sizeof(*g.res));
	if (!g.res) {
		*rc = -ENOMEM;
		return false;
	}
	for (int k = 0; k < g.end - g.first; k++)
		g.res[k].value = -1;
	if (r->o->sched)
		*rc = sched_run(r->o->sched, r->o->sched_rec, n, group_run, &g);
	else
		*rc = group_threads(&g, n);
	if (*rc == -EDEADLK)
		return false;
	/* which statement an injected failure hit is not known: none of the
	   group's expectations is judged */
	if (r->o->fail_rate > 0 && avm_alloc_failures(r->sys) != failed &&
	    !r->t->injected++)
		r->t->first_injected = g.first;
	for (int k = g.first; k < g.end && !*rc && go; k++) {
		if (scn_trace_add_result(r->t, &g.res[k - g.first]))
			*rc = -ENOMEM;
		note_failure(r, &st[k], &g.res[k - g.first]);
		go = check_after(r, &st[k]);
	}
	free(g.res);
	*i = g.end - 1;
	return go;
}

int scn_run_lib(const struct scenario *s, const struct scn_lib_opts *o,
		struct scn_trace *out, char *err, size_t errlen)
{
	static const struct scn_lib_opts defaults;
	struct run r = { .s = s, .o = o ? o : &defaults, .t = out };
	bool go = true;
	int rc;

	scn_trace_init(out, "anonvm");
	rc = setup(&r, err, errlen);
	if (!rc && r.o->fail_rate > 0)
		avm_fail_random(r.sys, r.o->fail_rate, r.o->fail_seed);
	for (int i = 0; !rc && go && i < s->nstmts; i++)
		go = s->stmts[i].thread ? run_group(&r, &i, &rc)
					: step(&r, i, &rc);
	if (rc == -EDEADLK)
		return rc;	/* the explorer's: the threads are stuck */
	if (!rc && go)
		checkpoint(&r, s->nstmts, 0);
	if (r.sys && r.o->stats)
		avm_stats(r.sys, r.o->stats);
	avm_sys_destroy(r.sys);
	free(r.mm);
	free(r.buf);
	return rc;
}
