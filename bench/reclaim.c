/* SPDX-License-Identifier: MIT */
/*
 * Rik van Riel's anon_vma_chain workload (seed 2010-anon_vma_chain-commit;
 * the forking-server workload of src/workload/): one parent maps a VMA of M pages and writes them all, then forks N
 * children, each of which copy-on-writes all M pages.  That leaves N * M
 * child pages, each mapped in one process only, and the parent's M
 * originals.  Then, timed, five repetitions each:
 *
 *   (a) an rmap walk of every frame: average VMAs visited per walk (the
 *       commit: "from O(N) to 2" - each child page's anon_vma holds only
 *       its child's VMA; the parent's M pages see all N + 1 VMAs);
 *   (b) global reclaim of everything: pages reclaimed per second;
 *   (c) migration of every frame to node 1: pages migrated per second.
 *
 * Each repetition of (b) and (c) starts from a freshly built workload
 * (building is not timed; all processes exit between repetitions, the
 * system stays); the medians are printed, with the VMAs visited per page,
 * and the bytes the swap-outs wrote to the swap file.
 *
 * Usage: reclaim [--children N] [--pages M] [--payload none|full]
 *                [--design NAME] [--reps R]
 *
 * The default payload is none (metadata only: the default run takes about
 * ten seconds); with --payload full every frame holds 4 KiB, copies and
 * swap I/O are real (4 GiB written to the swap file per reclaim
 * repetition), and the default size takes about two minutes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anonvm/anonvm.h"
#include "workload/workload.h"
#include "bench.h"


struct opts {
	unsigned long children, pages;
	enum avm_payload payload;
	const char *design;
	int reps;
};

struct world {
	struct wl_run wr;		/* forking-server: wr.p[0] the parent */
	struct wl_result res;
	struct wl_opts wo;
	unsigned long param[WL_MAX_PARAMS];
	unsigned long frames;		/* frames in use after the build */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "reclaim: %s: %s\n", what, strerror(-err));
	exit(1);
}

/* Bytes this process handed to write(2)-like calls so far (wchar). */
static unsigned long long io_written(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One system for the whole run: frames freed by one repetition are reused
   by the next, so only the first pays for touching fresh memory. */
static struct avm_sys *make_sys(const struct opts *o)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	int err;

	avm_config_default(&cfg);
	cfg.nodes = 2;
	cfg.payload = o->payload;
	cfg.design = o->design;
	/* room for everything on either node, and in swap */
	cfg.node_frames = (o->children + 2) * o->pages + 1024;
	cfg.swap_slots = (o->children + 2) * o->pages + 1024;
	err = avm_sys_create(&cfg, &sys);
	if (err)
		die("avm_sys_create", err);
	return sys;
}

/* The forking-server workload (src/workload/) on the bench's system. */
static void build(struct world *w, struct avm_sys *sys, const struct opts *o)
{
	const struct workload *fs = wl_find("forking-server");
	int ci = fs ? wl_param_index(fs, "children") : -1;
	int pi = fs ? wl_param_index(fs, "pages") : -1;
	struct avm_stats st;
	int err;

	memset(w, 0, sizeof(*w));
	if (ci < 0 || pi < 0)
		die("no forking-server workload", -ENOENT);
	wl_defaults(fs, w->param);
	w->param[ci] = o->children;
	w->param[pi] = o->pages;
	w->wo = (struct wl_opts){ .design = o->design, .payload = o->payload };
	w->wr = (struct wl_run){ .w = fs, .param = w->param, .o = &w->wo,
				 .res = &w->res, .sys = sys };
	err = fs->body(&w->wr);
	if (err) {
		fprintf(stderr, "reclaim: building: %s\n", w->res.error);
		exit(1);
	}
	avm_stats(sys, &st);
	w->frames = st.frames_used;
}

/* Every process exits; the system (and its touched memory) stays. */
static void destroy(struct world *w, const struct opts *o)
{
	struct avm_stats st;
	struct avm_sys *sys = w->wr.sys;

	wl_exit_all(&w->wr);
	free(w->wr.p);
	avm_stats(sys, &st);
	if (st.frames_used || st.swap_slots_used)
		fprintf(stderr, "  warning: %lu frames, %lu swap slots left "
			"after exit\n", st.frames_used, st.swap_slots_used);
	memset(w, 0, sizeof(*w));
}

static void usage(void)
{
	fprintf(stderr, "usage: reclaim [--children N] [--pages M] "
		"[--payload none|full] [--design NAME] [--reps R]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	o->children = 1000;
	o->pages = 1000;
	o->payload = AVM_PAYLOAD_NONE;	/* full: ~2 min at the default size */
	o->design = NULL;
	o->reps = 5;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--children"))
			o->children = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--pages"))
			o->pages = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--payload") && !strcmp(v, "full"))
			o->payload = AVM_PAYLOAD_FULL;
		else if (!strcmp(a, "--payload") && !strcmp(v, "none"))
			o->payload = AVM_PAYLOAD_NONE;
		else if (!strcmp(a, "--design"))
			o->design = v;
		else if (!strcmp(a, "--reps"))
			o->reps = atoi(v);
		else
			usage();
	}
	if (!o->pages || o->reps < 1)
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	struct world w;
	struct avm_stats s0, s1;
	double *t_walk, *t_rec, *t_mig;
	double walk_visits = 0, rec_visits = 0, mig_visits = 0;
	unsigned long long written = 0, swap_outs = 0;
	unsigned long frames = 0, walks = 0;
	struct avm_sys *sys;
	double t0;
	int err;

	parse(argc, argv, &o);
	sys = make_sys(&o);
	t_walk = calloc((size_t)o.reps, sizeof(double));
	t_rec = calloc((size_t)o.reps, sizeof(double));
	t_mig = calloc((size_t)o.reps, sizeof(double));
	if (!t_walk || !t_rec || !t_mig)
		die("calloc", -ENOMEM);
	printf("reclaim: 1 parent + %lu children x %lu COW pages, payload %s, "
	       "design %s, %d repetitions\n", o.children, o.pages,
	       o.payload == AVM_PAYLOAD_FULL ? "full" : "none",
	       o.design ? o.design : "linux", o.reps);

	/* (a) rmap walks; (b) reclaim - one fresh workload per repetition */
	for (int r = 0; r < o.reps; r++) {
		struct avm_walk_stats ws = { 0 };
		unsigned long n, freed = 0;
		unsigned long long w0;

		t0 = bench_now();
		build(&w, sys, &o);
		if (r == 0)
			printf("  build: %lu frames in %.2f s (not timed below)\n",
			       w.frames, bench_now() - t0);
		frames = w.frames;

		t0 = bench_now();
		err = avm_rmap_walk_all(w.wr.sys, &ws);
		t_walk[r] = bench_now() - t0;
		if (err)
			die("avm_rmap_walk_all", err);
		walks = ws.walks;
		walk_visits = (double)ws.visits / (double)ws.walks;

		avm_stats(w.wr.sys, &s0);
		w0 = io_written();
		t0 = bench_now();
		do {
			err = avm_reclaim(w.wr.sys, ULONG_MAX, &n);
			if (err)
				die("avm_reclaim", err);
			freed += n;
		} while (n);
		t_rec[r] = bench_now() - t0;
		written = io_written() - w0;
		avm_stats(w.wr.sys, &s1);
		swap_outs = s1.swap_outs - s0.swap_outs;
		rec_visits = (double)(s1.rmap_visits - s0.rmap_visits) /
			     (double)freed;
		if (freed != w.frames || s1.frames_used)
			fprintf(stderr, "  warning: reclaimed %lu of %lu frames "
				"(%lu left)\n", freed, w.frames, s1.frames_used);
		t_rec[r] = (double)freed / t_rec[r];
		destroy(&w, &o);
	}

	/* (c) migration of every frame to node 1 */
	for (int r = 0; r < o.reps; r++) {
		unsigned long moved, total = 0;

		build(&w, sys, &o);
		avm_stats(w.wr.sys, &s0);
		t0 = bench_now();
		for (size_t i = 0; i < w.wr.np; i++) {
			const struct wl_proc *p = &w.wr.p[i];

			err = avm_migrate(p->mm, p->addr, p->len, 1, &moved);
			if (err)
				die("avm_migrate", err);
			total += moved;
		}
		t_mig[r] = bench_now() - t0;
		avm_stats(w.wr.sys, &s1);
		if (total != w.frames)
			fprintf(stderr, "  warning: migrated %lu of %lu frames\n",
				total, w.frames);
		mig_visits = (double)(s1.rmap_visits - s0.rmap_visits) /
			     (double)total;
		t_mig[r] = (double)total / t_mig[r];
		destroy(&w, &o);
	}
	avm_sys_destroy(sys);

	printf("  (a) rmap walk of every frame: %lu walks, %.3f VMAs visited "
	       "per walk, median %.3f s (%.0f walks/s)\n", walks, walk_visits,
	       bench_median(t_walk, o.reps), (double)walks / bench_median(t_walk, o.reps));
	printf("  (b) reclaim of everything:    median %.0f pages/s, %.3f VMAs "
	       "visited per page reclaimed\n", bench_median(t_rec, o.reps),
	       rec_visits);
	printf("      swap file: %llu swap-outs, %llu bytes written "
	       "(%.1f MiB) per repetition%s\n", swap_outs, written,
	       (double)written / (1 << 20), o.payload == AVM_PAYLOAD_NONE ?
	       " (payload none: no swap I/O; --payload full writes a page "
	       "per swap-out)" : "");
	printf("  (c) migration to node 1:      median %.0f pages/s, %.3f VMAs "
	       "visited per page migrated\n", bench_median(t_mig, o.reps), mig_visits);
	printf("  frames per repetition: %lu\n", frames);
	free(t_walk);
	free(t_rec);
	free(t_mig);
	return 0;
}
