/* SPDX-License-Identifier: MIT */
/*
 * After a workload's body: walk the reverse map of the frames in use, take
 * the live objects, check, exit every process.
 *
 * Walks go over the distinct frames in the order of a Weyl sequence (step
 * ~ n / golden ratio, coprime to n), so that any prefix is spread evenly
 * over all of them, until every frame is walked or the walk budget is
 * spent: designs whose walks cost O(processes) then finish too, and
 * res->all_walked says whether the per-walk numbers are over a sample.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "workload/workload.h"
#include "workload/wl_internal.h"

static unsigned long gcd(unsigned long a, unsigned long b)
{
	while (b) {
		unsigned long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

struct frames {
	unsigned long *pfn, n, cap;
	unsigned char *seen;	/* bitmap by pfn */
	size_t seen_len;
};

static int add_frame(struct frames *f, unsigned long pfn)
{
	if (pfn / 8 >= f->seen_len) {
		size_t nl = f->seen_len;
		unsigned char *ns;

		while (pfn / 8 >= nl)
			nl *= 2;
		ns = realloc(f->seen, nl);
		if (!ns)
			return -ENOMEM;
		memset(ns + f->seen_len, 0, nl - f->seen_len);
		f->seen = ns;
		f->seen_len = nl;
	}
	if (f->seen[pfn / 8] & (1u << (pfn % 8)))
		return 0;
	f->seen[pfn / 8] |= (unsigned char)(1u << (pfn % 8));
	if (f->n == f->cap) {
		unsigned long cap = f->cap ? 2 * f->cap : 4096;
		unsigned long *np = realloc(f->pfn, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		f->pfn = np;
		f->cap = cap;
	}
	f->pfn[f->n++] = pfn;
	return 0;
}

static int collect_range(struct frames *f, struct avm_mm *mm, unsigned long lo,
			 unsigned long hi)
{
	int err = 0;

	for (unsigned long a = lo; a < hi && !err; a += PG) {
		struct avm_page_info pi;

		if (avm_page_info(mm, a, &pi) || pi.state != AVM_PTE_PRESENT ||
		    pi.zero)
			continue;
		err = add_frame(f, pi.pfn);
	}
	return err;
}

/* Every VMA of a process added without one mapping (wl_add). */
static int collect_vmas(struct frames *f, struct avm_mm *mm)
{
	long n = avm_vmas(mm, NULL, 0);
	struct avm_vma_info *v = calloc((size_t)n + 1, sizeof(*v));
	int err = v ? 0 : -ENOMEM;

	n = v ? avm_vmas(mm, v, (size_t)n) : 0;
	for (long i = 0; i < n && !err; i++)
		err = collect_range(f, mm, v[i].start, v[i].end);
	free(v);
	return err;
}

/* The distinct frames (not the zero page) the processes map. */
static int collect_frames(struct wl_run *r, struct frames *f)
{
	int err = 0;

	f->seen_len = 1UL << 16;
	f->seen = calloc(1, f->seen_len);
	if (!f->seen)
		return -ENOMEM;
	wl_progress(r, "collecting frames", 0, 0);
	for (size_t i = 0; i < r->np && !err; i++)
		err = r->p[i].len ? collect_range(f, r->p[i].mm, r->p[i].addr,
						  r->p[i].addr + r->p[i].len) :
		      collect_vmas(f, r->p[i].mm);
	free(f->seen);
	f->seen = NULL;
	return err;
}

int wl_walk_frames(struct wl_run *r)
{
	struct avm_walk_stats ws = { 0 };
	struct frames f = { 0 };
	unsigned long step, done = 0, n;
	double t0, spent;
	int err;

	err = collect_frames(r, &f);
	if (err) {
		free(f.pfn);
		return wl_fail(r, err, "collecting frames");
	}
	n = f.n;
	step = n > 2 ? (unsigned long)((double)n * 0.6180339887) : 1;
	while (n > 2 && gcd(step, n) != 1)
		step++;
	t0 = wl_now();
again:
	for (unsigned long i = 0; i < n; i++) {
		unsigned long k = (unsigned long)
				  (((unsigned __int128)i * step) % n);

		err = avm_rmap_walk_pfn(r->sys, f.pfn[k], &ws);
		if (err) {
			wl_fail(r, err, "avm_rmap_walk_pfn");
			break;
		}
		done++;
		if (done % 32 == 0) {
			spent = wl_now() - t0;
			wl_progress(r, "walking", done, n);
			if (r->o->walk_budget > 0 && spent >= r->o->walk_budget)
				break;
		}
	}
	spent = wl_now() - t0;
	if (!err && done == n && n && spent < r->o->walk_min) {
		done = 0;		/* a full pass: once more */
		goto again;
	}
	r->res->all_walked = done == n;
	r->res->m[WL_WALKS] = (double)ws.walks;
	r->res->m[WL_VISITS] = ws.walks ? (double)ws.visits / (double)ws.walks : 0;
	r->res->m[WL_HITS] = ws.walks ? (double)ws.hits / (double)ws.walks : 0;
	r->res->m[WL_EARLY] = ws.walks ? (double)ws.early_visits /
					 (double)ws.walks : 0;
	r->res->m[WL_PER_MAP] = ws.hits ? (double)ws.visits /
					  (double)ws.hits : 0;
	r->res->m[WL_EARLY_PER_MAP] = ws.hits ? (double)ws.early_visits /
						(double)ws.hits : 0;
	r->res->m[WL_NS_WALK] = ws.walks ? spent * 1e9 / (double)ws.walks : 0;
	free(f.pfn);
	return err;
}

int wl_finish(struct wl_run *r)
{
	struct avm_stats st;
	char msg[512];
	int err;

	avm_stats(r->sys, &st);
	r->res->m[WL_VMAS] = (double)st.vmas;
	r->res->m[WL_ANON_VMAS] = (double)st.anon_vmas;
	r->res->m[WL_AVCS] = (double)st.avcs;
	r->res->m[WL_OBJECTS] = (double)st.rmap_objects;
	r->res->m[WL_BYTES] = (double)st.rmap_bytes;
	r->res->m[WL_COPIES] = (double)st.rmap_copies;
	if (r->o->check) {
		wl_progress(r, "checking", 0, 0);
		err = avm_check(r->sys, msg, sizeof(msg));
		if (err)
			return wl_fail(r, 0, "avm_check: %s", msg);
	}
	wl_progress(r, "exiting", 0, 0);
	while (r->np)
		wl_exit(r, r->np - 1);
	if (r->o->check) {
		avm_stats(r->sys, &st);
		if (st.mms || st.vmas || st.anon_vmas || st.avcs ||
		    st.rmap_objects || st.frames_used || st.page_tables)
			return wl_fail(r, 0, "left alive after every exit: %lu "
				       "VMAs, %lu anon_vmas, %lu avcs, %lu rmap "
				       "objects, %lu frames", st.vmas,
				       st.anon_vmas, st.avcs, st.rmap_objects,
				       st.frames_used);
	}
	return 0;
}
