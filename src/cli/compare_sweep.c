/* SPDX-License-Identifier: MIT */
/*
 * anonvm compare --sweep N1,N2,...: each selected workload at several
 * sizes (its size parameter, struct workload.size_param), every design,
 * and the growth exponent of every metric: the slope k of the least-squares
 * line through (log N, log metric), so that metric ~ N^k.  That is what
 * the seeds' claims are about: "O(N)" visits per walk (k = 1) for one
 * anon_vma per family against "about 2" (k = 0) for anon_vma chains, one
 * anon_vma per generation without reuse (k = 1) against a bounded count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/compare.h"

/* The metrics a sweep reports (walks only says how big the sample was). */
static bool swept(int m)
{
	return m != WL_WALKS && m != WL_WALL;
}

int cmp_fit_exponent(const unsigned long *n, const double *v, int k,
		     double *slope)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int pts = 0;

	for (int i = 0; i < k; i++) {
		double x, y;

		if (!(v[i] > 0) || !n[i])
			continue;
		x = log((double)n[i]);
		y = log(v[i]);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		pts++;
	}
	if (pts < 2 || pts * sxx - sx * sx <= 0)
		return -1;
	*slope = (pts * sxy - sx * sy) / (pts * sxx - sx * sx);
	if (fabs(*slope) < 0.005)
		*slope = 0;	/* no "-0.00" for a flat line */
	return 0;
}

struct sweep_cells {
	struct wl_result r[CMP_MAX_DESIGNS][CMP_MAX_SWEEP];
};

static int run_workload(const struct cmp_opts *o, int w, struct sweep_cells *c)
{
	int failed = 0;

	for (int k = 0; k < o->nsweep; k++) {
		unsigned long param[WL_MAX_PARAMS];
		const struct wl_param *p = &o->w[w]->params[o->w[w]->size_param];

		memcpy(param, o->param[w], sizeof(param));
		if (o->sweep[k] < p->lo || o->sweep[k] > p->hi) {
			fprintf(stderr, "anonvm compare: --sweep: %s %lu is out "
				"of range for %s (%lu to %lu)\n", p->option,
				o->sweep[k], o->w[w]->name, p->lo, p->hi);
			return -1;
		}
		param[o->w[w]->size_param] = o->sweep[k];
		for (int d = 0; d < o->ndesigns; d++)
			failed += !!cmp_run_cell(o, w, param, o->design[d], false,
						 &c->r[d][k]);
	}
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	return failed;
}

static void values(const struct cmp_opts *o, const struct sweep_cells *c,
		   int d, int m, double *v)
{
	for (int k = 0; k < o->nsweep; k++)
		v[k] = c->r[d][k].error[0] ? NAN : c->r[d][k].m[m];
}

static void print_workload(const struct cmp_opts *o, int w,
			   const struct sweep_cells *c)
{
	const struct workload *wl = o->w[w];
	const struct wl_param *p = &wl->params[wl->size_param];

	printf("%s: %s %lu", wl->name, p->option, o->sweep[0]);
	for (int k = 1; k < o->nsweep; k++)
		printf(",%lu", o->sweep[k]);
	printf(" (%s)\n  %-19s %-22s", p->help, "design", "metric");
	for (int k = 0; k < o->nsweep; k++)
		printf(" %10lu", o->sweep[k]);
	printf("   exponent\n");
	for (int d = 0; d < o->ndesigns; d++) {
		bool first = true;

		for (int m = 0; m < WL_NR_METRICS; m++) {
			double v[CMP_MAX_SWEEP], slope;
			bool any = false;

			if (!swept(m))
				continue;
			values(o, c, d, m, v);
			for (int k = 0; k < o->nsweep; k++)
				any |= v[k] != 0;
			if (!any)
				continue;
			printf("  %-19s %-22s", first ? o->design[d] : "",
			       wl_metrics[m].key);
			first = false;
			for (int k = 0; k < o->nsweep; k++) {
				if (isnan(v[k]))
					printf(" %10s", "FAILED");
				else if (wl_metrics[m].prec < 0)
					printf(" %10.0f", v[k]);
				else
					printf(" %10.*f", wl_metrics[m].prec, v[k]);
			}
			if (cmp_fit_exponent(o->sweep, v, o->nsweep, &slope))
				printf("   %8s\n", "-");
			else
				printf("   %8.2f\n", slope);
		}
	}
	printf("  exponent k: metric ~ N^k (least squares on log-log; timings "
	       "vary run to run)\n\n");
}

static json_t *json_workload(const struct cmp_opts *o, int w,
			     const struct sweep_cells *c)
{
	const struct workload *wl = o->w[w];
	json_t *top = json_object(), *sizes = json_array(), *ds = json_object();

	for (int k = 0; k < o->nsweep; k++)
		json_array_append_new(sizes, json_integer((json_int_t)o->sweep[k]));
	for (int d = 0; d < o->ndesigns; d++) {
		json_t *dm = json_object();

		for (int m = 0; m < WL_NR_METRICS; m++) {
			double v[CMP_MAX_SWEEP], slope;
			json_t *vals;

			if (!swept(m))
				continue;
			vals = json_array();
			values(o, c, d, m, v);
			for (int k = 0; k < o->nsweep; k++)
				json_array_append_new(vals, isnan(v[k]) ?
						      json_null() : json_real(v[k]));
			json_object_set_new(dm, wl_metrics[m].key, json_pack(
				"{s o s o}", "values", vals, "exponent",
				cmp_fit_exponent(o->sweep, v, o->nsweep, &slope) ?
				json_null() : json_real(slope)));
		}
		json_object_set_new(ds, o->design[d], dm);
	}
	json_object_set_new(top, "parameter",
			    json_string(wl->params[wl->size_param].key));
	json_object_set_new(top, "sizes", sizes);
	json_object_set_new(top, "designs", ds);
	return top;
}

int cmp_sweep(const struct cmp_opts *o)
{
	struct sweep_cells *c = malloc(sizeof(*c));
	json_t *top = NULL, *sw = NULL;
	int failed = 0;
	double t0 = cli_now();

	if (!c) {
		fprintf(stderr, "anonvm compare: out of memory\n");
		return EXIT_PROBLEM;
	}
	if (o->json) {
		top = json_object();
		sw = json_object();
		json_object_set_new(top, "sweep", sw);
	}
	for (int w = 0; w < o->nworkloads; w++) {
		int f;

		if (!o->want[w])
			continue;
		memset(c, 0, sizeof(*c));
		f = run_workload(o, w, c);
		if (f < 0) {
			json_decref(top);
			free(c);
			return EXIT_USAGE;
		}
		failed += f;
		if (o->json)
			json_object_set_new(sw, o->w[w]->name,
					    json_workload(o, w, c));
		else
			print_workload(o, w, c);
		fflush(stdout);
	}
	free(c);
	if (o->json) {
		json_object_set_new(top, "parameters", cmp_json_params(o));
		json_object_set_new(top, "unsafe_designs", cmp_json_unsafe(o));
		if (cmp_json_dump(top)) {
			fprintf(stderr, "anonvm compare: cannot write the JSON "
				"output\n");
			return EXIT_PROBLEM;
		}
	} else {
		printf("total %.1f s\n", cli_now() - t0);
	}
	return failed ? EXIT_PROBLEM : 0;
}
