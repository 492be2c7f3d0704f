/* SPDX-License-Identifier: MIT */
/*
 * The workload registry, the metrics they report, and wl_run_cell(): one
 * workload on one design in a fresh system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "workload/workload.h"
#include "workload/wl_internal.h"

const struct wl_metric_info wl_metrics[WL_NR_METRICS] = {
	[WL_WALKS]	= { "walks", "walks", "frames walked", 8, -1 },
	[WL_VISITS]	= { "vmas_visited_per_walk", "visits/walk",
			    "VMAs visited per walk", 11, 3 },
	[WL_EARLY]	= { "early_visits_per_walk", "early/walk",
			    "VMAs a kernel walk visits (stops at mapcount)",
			    10, 3 },
	[WL_HITS]	= { "hits_per_walk", "hits/walk",
			    "mappings found per walk", 9, 3 },
	[WL_PER_MAP]	= { "visits_per_mapping", "visits/map",
			    "VMAs visited per mapping found", 10, 3 },
	[WL_EARLY_PER_MAP] = { "early_visits_per_mapping", "early/map",
			    "kernel-walk VMAs visited per mapping found", 9, 3 },
	[WL_VMAS]	= { "vmas", "vmas", "live VMAs", 7, -1 },
	[WL_ANON_VMAS]	= { "anon_vmas", "anon_vmas", "live anon_vmas", 9, -1 },
	[WL_AVCS]	= { "avcs", "avcs", "live anon_vma_chains", 8, -1 },
	[WL_OBJECTS]	= { "rmap_objects", "rmap_objs",
			    "live reverse-map objects", 9, -1 },
	[WL_BYTES]	= { "rmap_bytes", "rmap_bytes",
			    "reverse-map metadata (bytes)", 10, -1 },
	[WL_COPIES]	= { "rmap_copies", "copies",
			    "pages copied by the design", 7, -1, true },
	[WL_NS_WALK]	= { "ns_per_walk", "ns/walk", "walk cost (ns per walk)",
			    9, 0, false, true },
	[WL_FORK_NS]	= { "fork_ns", "fork_ns", "fork cost (ns per fork)", 9, 0,
			    false, true },
	[WL_EXIT_NS]	= { "exit_ns", "exit_ns", "exit cost (ns per exit)", 9, 0,
			    false, true },
	[WL_FORKS]	= { "forks", "forks", "forks by the forker threads", 7,
			    -1, true },
	[WL_WALKS_S]	= { "walks_per_s", "walks/s", "rmap walks per second",
			    9, 0, true, true },
	[WL_FORKS_S]	= { "forks_per_s", "forks/s",
			    "fork+fault+exit cycles per second", 8, 0, true,
			    true },
	[WL_HOLD_WALK]	= { "hold_ns_per_walk", "hold/walk",
			    "family lock hold per walk (ns)", 9, 0, true,
			    true },
	[WL_WAIT_WALK]	= { "wait_ns_per_walk", "wait/walk",
			    "family lock wait per walk (ns)", 9, 0, true,
			    true },
	[WL_XHOLD_FORK]	= { "excl_hold_ns_per_fork", "xhold/fork",
			    "family lock exclusive hold per fork cycle (ns)",
			    10, 0, true, true },
	[WL_HOLD_FRAC]	= { "hold_fraction", "hold_frac",
			    "family lock held / wall time", 9, 3, true, true },
	[WL_PRED_X]	= { "walks_per_s_64cpu_exclusive", "64cpu_excl",
			    "predicted walks/s at 64 CPUs, exclusive lock", 10,
			    0, true, true },
	[WL_PRED_RW]	= { "walks_per_s_64cpu_rwlock", "64cpu_rw",
			    "predicted walks/s at 64 CPUs, rwlock", 9, 0, true,
			    true },
	[WL_WALL]	= { "wall_s", "wall_s", "whole run (s)", 7, 2, false,
			    true },
};

static const struct workload *const workloads[] = {
	&wl_forking_server,
	&wl_fork_chain,
	&wl_fork_chain_exit,
	&wl_mprotect_split,
	&wl_mremap_after_fork,
	&wl_fork_tree,
	&wl_prefork,
	&wl_snapshot,
	&wl_contention,
	NULL
};

const struct workload *const *wl_all(void)
{
	return workloads;
}

const struct workload *wl_find(const char *name)
{
	for (const struct workload *const *w = workloads; *w; w++)
		if (!strcmp((*w)->name, name))
			return *w;
	return NULL;
}

int wl_nparams(const struct workload *w)
{
	int n = 0;

	while (n < WL_MAX_PARAMS && w->params[n].key)
		n++;
	return n;
}

void wl_defaults(const struct workload *w, unsigned long *param)
{
	int n = wl_nparams(w);

	memset(param, 0, WL_MAX_PARAMS * sizeof(*param));
	for (int i = 0; i < n; i++)
		param[i] = w->params[i].def;
}

void wl_describe(const struct workload *w, const unsigned long *param,
		 char *buf, size_t len)
{
	if (w->describe_self)
		w->describe_self(w, param, buf, len);
	else
		w->describe(param, buf, len);
}

int wl_param_index(const struct workload *w, const char *key)
{
	for (int i = 0; i < wl_nparams(w); i++)
		if (!strcmp(w->params[i].key, key))
			return i;
	return -1;
}

double wl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int wl_run_cell(const struct workload *w, const unsigned long *param,
		const struct wl_opts *o, struct wl_result *res)
{
	struct wl_run r = { .w = w, .param = param, .o = o, .res = res };
	double t0 = wl_now();
	int err;

	memset(res, 0, sizeof(*res));
	r.phase_t0 = t0;
	err = w->body(&r);
	if (!err && !r.walked)
		err = wl_walk_frames(&r);
	if (!err)
		err = wl_finish(&r);
	wl_teardown(&r);
	res->m[WL_FORK_NS] = r.forks ? r.fork_s * 1e9 / (double)r.forks : 0;
	res->m[WL_EXIT_NS] = r.exits ? r.exit_s * 1e9 / (double)r.exits : 0;
	res->m[WL_WALL] = wl_now() - t0;
	return err;
}

void wl_result_free(struct wl_result *res)
{
	free(res->series);
	res->series = NULL;
	res->nseries = 0;
}
