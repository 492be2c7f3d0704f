/* SPDX-License-Identifier: MIT */
/*
 * What workload bodies are built from: a table of processes (one mapping
 * each), fork and exit with their times, writes, phases with progress, and
 * the steps after a body: the rmap walk of the frames in use, the live
 * objects, the checker, teardown.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload/workload.h"
#include "workload/wl_internal.h"

#define CHUNK_PAGES	4096UL		/* pages per avm_fill call */

int wl_fail(struct wl_run *r, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!r->res->error[0] && err)
		snprintf(r->res->error, sizeof(r->res->error), "%s: %s", what,
			 strerror(-err));
	else if (!r->res->error[0])
		snprintf(r->res->error, sizeof(r->res->error), "%s", what);
	return err ? err : -EIO;
}

/* Close the current phase's time and open `phase`. */
static void enter_phase(struct wl_run *r, const char *phase, double t)
{
	int i;

	if (r->cur_phase)
		r->phase_s[r->cur_phase - 1] += t - r->phase_t0;
	r->phase_t0 = t;
	for (i = 0; i < r->nphases; i++)
		if (r->phase[i] == phase || !strcmp(r->phase[i], phase))
			break;
	if (i == r->nphases && r->nphases == WL_MAX_PHASES)
		i = WL_MAX_PHASES - 1;	/* more phases than slots: lump */
	else if (i == r->nphases)
		r->phase[r->nphases++] = phase;
	r->cur_phase = i + 1;
}

static bool in_phase(const struct wl_run *r, const char *phase)
{
	return r->cur_phase && r->phase[r->cur_phase - 1] == phase;
}

void wl_progress(struct wl_run *r, const char *phase, unsigned long done,
		 unsigned long total)
{
	bool same = in_phase(r, phase);
	double t;

	if (same && !r->o->progress)
		return;		/* the common case: no clock read */
	t = wl_now();
	if (!same)
		enter_phase(r, phase, t);
	if (!r->o->progress)
		return;
	if (same && t - r->last_progress < 0.1 && done < total)
		return;
	r->last_progress = t;
	r->o->progress(r->o->ctx, r, phase, done, total);
}

double wl_phase_seconds(const struct wl_run *r, const char *phase)
{
	for (int i = 0; i < r->nphases; i++)
		if (!strcmp(r->phase[i], phase))
			return r->phase_s[i] + (i == r->cur_phase - 1 ?
						wl_now() - r->phase_t0 : 0);
	return 0;
}

int wl_sys_create(struct wl_run *r, unsigned long frames)
{
	struct avm_config cfg;
	int err;

	if (r->sys)		/* the caller's own system (benchmarks) */
		return 0;
	avm_config_default(&cfg);
	cfg.payload = r->o->payload;
	cfg.design = r->o->design;
	cfg.swap_slots = 0;
	cfg.node_frames = frames + WL_SLACK_FRAMES;
	if (frames > (1UL << 32) - WL_SLACK_FRAMES)
		return wl_fail(r, -E2BIG, "%lu frames", frames);
	err = avm_sys_create(&cfg, &r->sys);
	if (err)
		return wl_fail(r, err, "avm_sys_create");
	return 0;
}

static struct wl_proc *add_proc(struct wl_run *r, struct avm_mm *mm,
				unsigned long addr, unsigned long len)
{
	if (r->np == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct wl_proc *p = realloc(r->p, cap * sizeof(*p));

		if (!p)
			return NULL;
		r->p = p;
		r->cap = cap;
	}
	r->p[r->np] = (struct wl_proc){ mm, addr, len };
	return &r->p[r->np++];
}

int wl_add(struct wl_run *r, struct avm_mm *mm)
{
	if (add_proc(r, mm, 0, 0))
		return 0;
	avm_exit(mm);
	return wl_fail(r, -ENOMEM, "process table");
}

int wl_spawn(struct wl_run *r, unsigned long pages, int byte)
{
	struct avm_mm *mm;
	unsigned long addr;
	int err = avm_mm_create(r->sys, &mm);

	if (err)
		return wl_fail(r, err, "avm_mm_create");
	err = avm_mmap(mm, 0, pages * PG, RW, 0, &addr);
	if (err) {
		avm_exit(mm);
		return wl_fail(r, err, "avm_mmap %lu pages", pages);
	}
	if (!add_proc(r, mm, addr, pages * PG)) {
		avm_exit(mm);
		return wl_fail(r, -ENOMEM, "process table");
	}
	for (unsigned long off = 0; off < pages; off += CHUNK_PAGES) {
		unsigned long n = pages - off < CHUNK_PAGES ? pages - off
							    : CHUNK_PAGES;

		err = avm_fill(mm, addr + off * PG, byte, n * PG);
		if (err)
			return wl_fail(r, err, "writing the first process");
	}
	return 0;
}

int wl_fork(struct wl_run *r, size_t i)
{
	struct avm_mm *child;
	double t = wl_now();
	int err = avm_fork(r->p[i].mm, &child);

	r->fork_s += wl_now() - t;
	if (err)
		return wl_fail(r, err, "avm_fork (fork %lu)", r->forks + 1);
	r->forks++;
	if (!add_proc(r, child, r->p[i].addr, r->p[i].len)) {
		avm_exit(child);
		return wl_fail(r, -ENOMEM, "process table");
	}
	return 0;
}

void wl_exit(struct wl_run *r, size_t i)
{
	double t = wl_now();

	avm_exit(r->p[i].mm);
	r->exit_s += wl_now() - t;
	r->exits++;
	r->p[i] = r->p[--r->np];
}

int wl_write_pages(struct wl_run *r, size_t i, unsigned long first,
		   unsigned long n, unsigned long step, int byte)
{
	struct wl_proc *p = &r->p[i];

	for (unsigned long k = 0; k < n; k++) {
		unsigned long a = p->addr + ((first + k * step) * PG) % p->len;
		unsigned char b = (unsigned char)byte;
		int err = avm_write(p->mm, a, &b, 1);

		if (err)
			return wl_fail(r, err, "mm %lu: write at %#lx",
				       avm_mm_id(p->mm), a);
	}
	return 0;
}

int wl_write_all(struct wl_run *r, size_t i, int byte)
{
	struct wl_proc *p = &r->p[i];
	int err;

	for (unsigned long off = 0; off < p->len; off += CHUNK_PAGES * PG) {
		unsigned long n = p->len - off < CHUNK_PAGES * PG ?
				  p->len - off : CHUNK_PAGES * PG;

		err = avm_fill(p->mm, p->addr + off, byte, n);
		if (err)
			return wl_fail(r, err, "mm %lu: writing",
				       avm_mm_id(p->mm));
	}
	return 0;
}

int wl_sample(struct wl_run *r, unsigned long x)
{
	struct wl_result *res = r->res;
	struct avm_stats st;

	if (!r->o->series)
		return 0;
	if (res->nseries == r->series_cap) {
		size_t cap = r->series_cap ? 2 * r->series_cap : 256;
		struct wl_sample *s = realloc(res->series, cap * sizeof(*s));

		if (!s)
			return wl_fail(r, -ENOMEM, "series");
		res->series = s;
		r->series_cap = cap;
	}
	avm_stats(r->sys, &st);
	res->series[res->nseries++] = (struct wl_sample){
		.x = x, .anon_vmas = st.anon_vmas, .avcs = st.avcs,
		.rmap_bytes = st.rmap_bytes, .vmas = st.vmas,
	};
	return 0;
}

void wl_exit_all(struct wl_run *r)
{
	while (r->np)
		wl_exit(r, r->np - 1);
}

void wl_teardown(struct wl_run *r)
{
	wl_exit_all(r);
	avm_sys_destroy(r->sys);
	r->sys = NULL;
	free(r->p);
	r->p = NULL;
	r->cap = 0;
}
