/* SPDX-License-Identifier: MIT */
/* anonvm compare, shared by cmd_compare.c, compare_sweep.c, compare_plot.c. */
#ifndef AVM_CLI_COMPARE_H
#define AVM_CLI_COMPARE_H

#include <stdbool.h>
#include <jansson.h>
#include "workload/workload.h"

#define CMP_MAX_DESIGNS		32
#define CMP_MAX_WORKLOADS	32
#define CMP_MAX_SWEEP		32

struct cmp_opts {
	const struct workload *w[CMP_MAX_WORKLOADS];	/* every workload */
	int nworkloads;
	bool want[CMP_MAX_WORKLOADS];			/* selected */
	unsigned long param[CMP_MAX_WORKLOADS][WL_MAX_PARAMS];
	const char *design[CMP_MAX_DESIGNS];
	int ndesigns;
	unsigned long sweep[CMP_MAX_SWEEP];		/* --sweep sizes */
	int nsweep;
	const char *plot_dir;				/* --plot */
	double walk_budget;		/* seconds per cell, 0: unlimited */
	double walk_min;		/* walk again until this is spent */
	bool json, check, progress, lockstat;
};

/* Run workload w (index into o->w) on design; prints a failure. */
int cmp_run_cell(const struct cmp_opts *o, int w, const unsigned long *param,
		 const char *design, bool series, struct wl_result *res);
/* The value of parameter key of workload wname (0 if none). */
unsigned long cmp_param(const struct cmp_opts *o, const char *wname,
			const char *key);

json_t *cmp_json_metrics(const struct wl_result *c);
json_t *cmp_json_params(const struct cmp_opts *o);
json_t *cmp_json_unsafe(const struct cmp_opts *o);
/* Print top (indented) on stdout and drop it; -1 if it cannot. */
int cmp_json_dump(json_t *top);

/* Slope k of log v against log n over the points with v > 0: v ~ n^k. */
int cmp_fit_exponent(const unsigned long *n, const double *v, int k,
		     double *slope);
/* --sweep: the exit status. */
int cmp_sweep(const struct cmp_opts *o);
/* --plot, after the cells ran: 0, 1 no gnuplot (data and scripts
   written), or -1 after saying why. */
int cmp_plot(const struct cmp_opts *o,
	     struct wl_result (*cells)[CMP_MAX_DESIGNS]);

#endif
