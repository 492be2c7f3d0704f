/* SPDX-License-Identifier: MIT */
/*
 * anonvm compare --plot DIR: the seeds' curves, as gnuplot figures (SVG
 * and PNG) with their data (.dat) and scripts (.gp) beside them, so that a
 * figure can be redrawn or restyled without rerunning anything:
 *
 *   fork-chain-anon_vmas      live anon_vmas per generation of the fork
 *                             chain, every design (sampled along the run)
 *   forking-server-visits     VMAs visited per walk against children N
 *                             (log-log): N + 1 against about 2
 *   forking-server-rmap-bytes reverse-map bytes against N (log-log)
 *   walk-cost-vs-rmap-bytes   ns per walk against rmap bytes, one line per
 *                             design over N: the memory/time trade-off
 *
 * Designs whose curves coincide are drawn once, their names together in
 * the legend (counts: exactly; per-walk averages: within 2%, see
 * close_to; times never).  Designs with nothing to put on a log axis are
 * named in the caption instead.
 *
 * The forking-server figures need more than the one size of the table: the
 * server runs again at N = 1, 3, 10, ... below the table's N, with a
 * shorter walk budget (the per-walk numbers are averages either way), and
 * small sizes walk their frames repeatedly for 50 ms so that one
 * preemption does not make a point.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "cli/compare.h"

#define SWEEP_BUDGET	0.25	/* walk seconds per extra server cell */
#define SWEEP_MIN_WALK	0.05	/* and at least this much (repeated passes) */
#define MAX_POINTS	16

struct plot {
	const struct cmp_opts *o;
	const char *dir;
	char path[4096];
};

static const char *file(struct plot *p, const char *name)
{
	snprintf(p->path, sizeof(p->path), "%s/%s", p->dir, name);
	return p->path;
}

static FILE *create(struct plot *p, const char *name)
{
	FILE *f = fopen(file(p, name), "w");

	if (!f)
		fprintf(stderr, "anonvm compare: --plot: cannot write %s: %s\n",
			p->path, strerror(errno));
	return f;
}

static int close_file(struct plot *p, FILE *f, const char *name)
{
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "anonvm compare: --plot: writing %s failed\n",
			file(p, name));
		return -1;
	}
	return 0;
}

static int workload_index(const struct cmp_opts *o, const char *name)
{
	for (int w = 0; w < o->nworkloads; w++)
		if (!strcmp(o->w[w]->name, name))
			return o->want[w] ? w : -1;
	return -1;
}

/* Text for gnuplot's enhanced mode: '_' would start a subscript. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '_' || *s == '^' || *s == '{' || *s == '}' ||
		    *s == '@' || *s == '&' || *s == '~')
			fputs("\\\\", f);
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* Append design's legend name to buf: "a, b (unsafe), c". */
static void legend_add(char *buf, size_t len, const char *design)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s%s", n ? ", " : "", design,
		 avm_design_unsafe(design) ? " (unsafe)" : "");
}

struct curves {
	int leader[CMP_MAX_DESIGNS];	/* the first design drawing this curve,
					   -1: not drawn */
	char legend[CMP_MAX_DESIGNS][256];
};

/* The head of every script: both terminals, axes, caption. */
static void preamble(FILE *f, const char *title, const char *xlabel,
		     const char *ylabel, const char *caption, bool logx,
		     bool logy, int rows)
{
	fprintf(f, "# anonvm compare --plot: %s\n", title);
	/* the caption under the title, the legend under the plot */
	fputs("set title \"", f);
	put_text(f, title);
	fputs("\\n{/*0.75 ", f);
	put_text(f, caption);
	fputs("}\" font \",13\"\nset xlabel \"", f);
	put_text(f, xlabel);
	fputs("\"\nset ylabel \"", f);
	put_text(f, ylabel);
	fprintf(f, "\"\nset grid\nset key below box\nset bmargin %d\n", 4 + rows);
	if (logx)
		fprintf(f, "set logscale x\nset format x \"10^{%%L}\"\n");
	if (logy)
		fprintf(f, "set logscale y\nset format y \"10^{%%L}\"\n");
	fprintf(f, "set offsets graph 0.02, graph 0.02, graph 0.02, graph 0.02\n"
		"set style data linespoints\n");
}

/* Both outputs from one plot command. */
static void outputs(FILE *f, const char *name, const char *plot_cmd)
{
	fprintf(f, "set terminal svg size 960,600 dynamic enhanced "
		"font \"sans,11\" background \"white\"\n");
	fprintf(f, "set output \"%s.svg\"\n%s\n", name, plot_cmd);
	fprintf(f, "set terminal pngcairo size 960,600 enhanced "
		"font \"sans,10\"\n");
	fprintf(f, "set output \"%s.png\"\nreplot\nset output\n", name);
}

/* One "plot" element per curve leader, into a malloc'ed command. */
static char *plot_command(const struct cmp_opts *o, const struct curves *c,
			  const char *dat, const char *using, const char *extra)
{
	char *cmd = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&cmd, &len);
	bool first = true;

	if (!m)
		return NULL;
	for (int d = 0; d < o->ndesigns; d++) {
		if (c->leader[d] != d)
			continue;
		fprintf(m, "%s\"%s\" index %d using %s%s title \"",
			first ? "plot " : ", ", dat, d, using, extra);
		put_text(m, c->legend[d]);
		fputc('"', m);
		first = false;
	}
	if (fclose(m) || first) {
		free(cmd);
		return NULL;
	}
	return cmd;
}

/* Group designs d whose curve equals an earlier one's (same(e, d)). */
static void group(const struct cmp_opts *o, struct curves *c,
		  bool (*drawn)(const void *ctx, int d),
		  bool (*same)(const void *ctx, int e, int d), const void *ctx)
{
	for (int d = 0; d < o->ndesigns; d++) {
		c->leader[d] = -1;
		c->legend[d][0] = 0;
		if (!drawn(ctx, d))
			continue;
		c->leader[d] = d;
		for (int e = 0; e < d; e++) {
			if (c->leader[e] == e && same(ctx, e, d)) {
				c->leader[d] = e;
				break;
			}
		}
		legend_add(c->legend[c->leader[d]], sizeof(c->legend[0]),
			   o->design[d]);
	}
}

/* Designs left out, for the caption: ", not shown: ..." */
static void left_out(const struct cmp_opts *o, const struct curves *c,
		     const char *why, char *buf, size_t len)
{
	size_t n = strlen(buf);
	bool any = false;

	for (int d = 0; d < o->ndesigns; d++) {
		if (c->leader[d] >= 0)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", any ? ", " :
				      " Not shown: ", o->design[d]);
		any = true;
		if (n >= len)
			return;
	}
	if (any)
		snprintf(buf + n, len - n, " (%s).", why);
}

static int write_script(struct plot *p, const char *name, const char *title,
			const char *xlabel, const char *ylabel,
			const char *caption, bool logx, bool logy,
			const struct curves *c, const char *cmd, char *names,
			size_t nlen)
{
	int ncurves = 0, width = 0, cols, rows;

	char fname[128];
	FILE *f;

	snprintf(fname, sizeof(fname), "%s.gp", name);
	f = create(p, fname);
	if (!f)
		return -1;
	for (int d = 0; d < p->o->ndesigns; d++) {
		if (c->leader[d] != d)
			continue;
		ncurves++;
		if ((int)strlen(c->legend[d]) > width)
			width = (int)strlen(c->legend[d]);
	}
	/* the horizontal key's rows: entries of the widest one's width */
	cols = 110 / (width + 10);
	cols = cols < 1 ? 1 : cols;
	rows = (ncurves + cols - 1) / cols;
	preamble(f, title, xlabel, ylabel, caption, logx, logy, rows);
	outputs(f, name, cmd);
	strncat(names, " ", nlen - strlen(names) - 1);
	strncat(names, name, nlen - strlen(names) - 1);
	return close_file(p, f, fname);
}

/* ---- fork-chain: anon_vmas per generation -------------------------------- */

static bool chain_drawn(const void *ctx, int d)
{
	const struct wl_result *r = (const struct wl_result *)ctx + d;

	if (r->error[0] || !r->nseries)
		return false;
	for (size_t i = 0; i < r->nseries; i++)
		if (r->series[i].anon_vmas)
			return true;
	return false;
}

static bool chain_same(const void *ctx, int e, int d)
{
	const struct wl_result *a = (const struct wl_result *)ctx + e;
	const struct wl_result *b = (const struct wl_result *)ctx + d;

	if (a->nseries != b->nseries)
		return false;
	for (size_t i = 0; i < a->nseries; i++)
		if (a->series[i].x != b->series[i].x ||
		    a->series[i].anon_vmas != b->series[i].anon_vmas)
			return false;
	return true;
}

static int fig_fork_chain(struct plot *p, int w,
			  struct wl_result *cells, char *names, size_t nlen)
{
	const struct cmp_opts *o = p->o;
	struct curves c;
	char caption[600], *cmd;
	int err;
	FILE *f = create(p, "fork-chain-anon_vmas.dat");

	if (!f)
		return -1;
	fprintf(f, "# fork-chain: generation, live anon_vmas, avcs, rmap bytes; "
		"one block per design (index = design number)\n");
	for (int d = 0; d < o->ndesigns; d++) {
		fprintf(f, "%s# %s\n", d ? "\n\n" : "", o->design[d]);
		for (size_t i = 0; i < cells[d].nseries; i++) {
			const struct wl_sample *s = &cells[d].series[i];

			fprintf(f, "%lu %lu %lu %lu\n", s->x, s->anon_vmas,
				s->avcs, s->rmap_bytes);
		}
		if (!cells[d].nseries)		/* keep the block numbering */
			fprintf(f, "# (no data)\n");
	}
	if (close_file(p, f, "fork-chain-anon_vmas.dat"))
		return -1;
	group(o, &c, chain_drawn, chain_same, cells);
	snprintf(caption, sizeof(caption), "Seed 2014-11 (fork-slab-growth-"
		 "reuse): fork, write, exit, %lu times.", o->param[w][0]);
	left_out(o, &c, "no anon_vmas", caption, sizeof(caption));
	cmd = plot_command(o, &c, "fork-chain-anon_vmas.dat", "1:2",
			   " pointinterval 8");
	if (!cmd)
		return -1;
	err = write_script(p, "fork-chain-anon_vmas", "fork chain: live "
			   "anon_vmas per generation", "generation",
			   "live anon_vmas (count)", caption, true, true, &c, cmd,
			   names, nlen);
	free(cmd);
	return err;
}

/* ---- forking-server at several N ------------------------------------------ */

struct server_pts {
	unsigned long n[MAX_POINTS];
	int k;
	struct wl_result r[CMP_MAX_DESIGNS][MAX_POINTS];
};

static int run_server_sweep(const struct cmp_opts *o, int w,
			    struct wl_result *cells, struct server_pts *s)
{
	struct cmp_opts so = *o;
	int ci = o->w[w]->size_param;
	unsigned long top = o->param[w][ci];
	int failed = 0;

	if (so.walk_budget == 0 || so.walk_budget > SWEEP_BUDGET)
		so.walk_budget = SWEEP_BUDGET;
	so.walk_min = SWEEP_MIN_WALK;
	s->k = 0;
	/* 1, 3, 10, 30, 100, ... below the table's N */
	for (unsigned long dec = 1, n = 1; n < top && s->k < MAX_POINTS - 1;
	     n = n == dec ? 3 * dec : (dec *= 10)) {
		unsigned long param[WL_MAX_PARAMS];

		memcpy(param, o->param[w], sizeof(param));
		param[ci] = n;
		for (int d = 0; d < o->ndesigns; d++)
			failed += !!cmp_run_cell(&so, w, param, o->design[d],
						 false, &s->r[d][s->k]);
		s->n[s->k++] = n;
	}
	for (int d = 0; d < o->ndesigns; d++)
		s->r[d][s->k] = cells[d];	/* the table's cell: no series */
	s->n[s->k++] = top;
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	return failed;
}

/* Does design d have a positive value of metric m at some N? */
static bool positive(const struct server_pts *s, int d, int m)
{
	for (int k = 0; k < s->k; k++)
		if (!s->r[d][k].error[0] && s->r[d][k].m[m] > 0)
			return true;
	return false;
}

static int write_server_dat(struct plot *p, const struct server_pts *s)
{
	const struct cmp_opts *o = p->o;
	FILE *f = create(p, "forking-server.dat");

	if (!f)
		return -1;
	fprintf(f, "# forking-server: children, VMAs visited per walk, rmap "
		"bytes, ns per walk, anon_vmas; one block per design\n");
	for (int d = 0; d < o->ndesigns; d++) {
		fprintf(f, "%s# %s\n", d ? "\n\n" : "", o->design[d]);
		for (int k = 0; k < s->k; k++) {
			const struct wl_result *r = &s->r[d][k];

			if (r->error[0])
				continue;
			fprintf(f, "%lu %.6g %.0f %.6g %.0f\n", s->n[k],
				r->m[WL_VISITS], r->m[WL_BYTES],
				r->m[WL_NS_WALK], r->m[WL_ANON_VMAS]);
		}
	}
	return close_file(p, f, "forking-server.dat");
}

struct server_fig {
	const struct server_pts *s;
	int xm, ym;		/* metrics on the axes (xm -1: N) */
};

static bool server_drawn(const void *ctx, int d)
{
	const struct server_fig *g = ctx;

	return (g->xm < 0 || positive(g->s, d, g->xm)) &&
	       positive(g->s, d, g->ym);
}

/*
 * Equal to the eye: walks over a sample of the frames (the walk budget)
 * give per-walk averages that differ in the fourth digit between designs
 * whose full walks agree exactly (by a few per cent on a loaded machine,
 * where the budget walks a small sample); within 2%, invisible on a log
 * axis, they share one line.
 */
static bool close_to(double a, double b)
{
	return fabs(a - b) <= 0.02 * fmax(fabs(a), fabs(b));
}

static bool server_same(const void *ctx, int e, int d)
{
	const struct server_fig *g = ctx;

	if (wl_metrics[g->ym].timing || (g->xm >= 0 && wl_metrics[g->xm].timing))
		return false;	/* measured times never coincide */
	for (int k = 0; k < g->s->k; k++) {
		const struct wl_result *a = &g->s->r[e][k], *b = &g->s->r[d][k];

		if (!close_to(a->m[g->ym], b->m[g->ym]) ||
		    (g->xm >= 0 && !close_to(a->m[g->xm], b->m[g->xm])))
			return false;
	}
	return true;
}

/* Plot column ycol (against xcol) of forking-server.dat, log-log, designs
   with equal curves drawn once, those without positive values left out. */
static int server_fig(struct plot *p, const struct server_pts *s,
		      const char *name, const char *title, const char *xlabel,
		      const char *ylabel, int xcol, int xm, int ycol, int ym,
		      const char *caption, char *names, size_t nlen)
{
	const struct cmp_opts *o = p->o;
	struct server_fig g = { s, xm, ym };
	char using[128], cap[800];
	struct curves c;
	char *cmd;
	int err;

	group(o, &c, server_drawn, server_same, &g);
	snprintf(cap, sizeof(cap), "%s", caption);
	left_out(o, &c, "0 here", cap, sizeof(cap));
	snprintf(using, sizeof(using), "($%d > 0 ? $%d : 1/0):($%d > 0 ? $%d : "
		 "1/0)", xcol, xcol, ycol, ycol);
	cmd = plot_command(o, &c, "forking-server.dat", using, "");
	if (!cmd)
		return 0;
	err = write_script(p, name, title, xlabel, ylabel, cap, true, true, &c,
			   cmd, names, nlen);
	free(cmd);
	return err;
}

static int fig_server(struct plot *p, int w, struct wl_result *cells,
		      char *names, size_t nlen)
{
	const struct cmp_opts *o = p->o;
	struct server_pts *s = calloc(1, sizeof(*s));
	char cap[400];
	int err;

	if (!s)
		return -1;
	err = run_server_sweep(o, w, cells, s) ? -1 : 0;
	if (!err)
		err = write_server_dat(p, s);
	snprintf(cap, sizeof(cap), "Seed 2010 (anon_vma_chain commit): 1 "
		 "parent, N children COW-writing all %lu pages.",
		 o->param[w][1]);
	if (!err)
		err = server_fig(p, s, "forking-server-visits",
				 "forking server: VMAs visited per rmap walk",
				 "children N", "VMAs visited per walk (count)",
				 1, -1, 2, WL_VISITS, cap, names, nlen);
	if (!err)
		err = server_fig(p, s, "forking-server-rmap-bytes",
				 "forking server: reverse-map metadata",
				 "children N", "rmap metadata (bytes)",
				 1, -1, 3, WL_BYTES, cap, names, nlen);
	snprintf(cap, sizeof(cap), "Seed 2010 (anon_vma_chain commit): "
		 "forking server, a point per N = 1 ... %lu; lower left is "
		 "cheaper.", o->param[w][0]);
	if (!err)
		err = server_fig(p, s, "walk-cost-vs-rmap-bytes",
				 "walk cost against reverse-map memory",
				 "rmap metadata (bytes)", "walk cost (ns per walk)",
				 3, WL_BYTES, 4, WL_NS_WALK, cap, names, nlen);
	for (int d = 0; d < o->ndesigns; d++)
		for (int k = 0; k < s->k - 1; k++)	/* the last is the table's */
			wl_result_free(&s->r[d][k]);
	free(s);
	return err;
}

/* ---- drawing ----------------------------------------------------------------- */

/* Run gnuplot on each script in dir: 0, 1 no gnuplot, -1 it failed. */
static int draw(struct plot *p, const char *names)
{
	char buf[1024], *save, *name;

	snprintf(buf, sizeof(buf), "%s", names);
	for (name = strtok_r(buf, " ", &save); name;
	     name = strtok_r(NULL, " ", &save)) {
		char script[160];
		pid_t pid;
		int status;

		snprintf(script, sizeof(script), "%s.gp", name);
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0)
				dup2(null, STDOUT_FILENO);
			if (chdir(p->dir))
				_exit(126);
			execlp("gnuplot", "gnuplot", script, (char *)NULL);
			_exit(errno == ENOENT ? 127 : 126);
		}
		if (waitpid(pid, &status, 0) < 0)
			return -1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			return 1;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "anonvm compare: --plot: gnuplot failed "
				"on %s\n", file(p, script));
			return -1;
		}
	}
	return 0;
}

int cmp_plot(const struct cmp_opts *o, struct wl_result (*cells)[CMP_MAX_DESIGNS])
{
	struct plot p = { .o = o, .dir = o->plot_dir };
	char names[512] = "";
	int chain = workload_index(o, "fork-chain");
	int server = workload_index(o, "forking-server");
	int err = 0, rc;

	if (mkdir(p.dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "anonvm compare: --plot: cannot create %s: %s\n",
			p.dir, strerror(errno));
		return -1;
	}
	if (chain >= 0)
		err |= fig_fork_chain(&p, chain, cells[chain], names,
				      sizeof(names));
	if (server >= 0)
		err |= fig_server(&p, server, cells[server], names,
				  sizeof(names));
	if (chain < 0 || server < 0)
		fprintf(stderr, "anonvm compare: --plot: %s%s%s not selected: "
			"%s figures left out\n", chain < 0 ? "fork-chain" : "",
			chain < 0 && server < 0 ? " and " : "",
			server < 0 ? "forking-server" : "",
			chain < 0 && server < 0 ? "all" : "its");
	if (!names[0])
		return err ? -1 : 0;
	rc = draw(&p, names);
	if (rc > 0) {
		fprintf(stderr, "anonvm compare: --plot: gnuplot not found "
			"(Debian: gnuplot-nox); the data (.dat) and scripts "
			"(.gp) are in %s\n", p.dir);
		return 1;
	}
	if (rc < 0)
		return -1;
	if (!o->json)
		printf("figures (SVG, PNG; data .dat, scripts .gp) in %s:%s\n",
		       p.dir, names);
	return err ? -1 : 0;
}
