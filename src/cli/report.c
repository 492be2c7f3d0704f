/* SPDX-License-Identifier: MIT */
/*
 * Printing scenario traces for people (text) and machines (JSON): shared
 * by `run`, `native` and `diff`.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "anonvm/anonvm.h"
#include "cli/report.h"

/* ---- text ------------------------------------------------------------------ */

static const char *result_str(const struct scn_stmt *st,
			      const struct scn_result *r, char *buf, size_t len)
{
	const char *name = scn_errno_name(r->err);

	if (r->unsupported)
		snprintf(buf, len, "unsupported (%s)", r->note);
	else if (r->err && name)
		snprintf(buf, len, "%s", name);
	else if (r->err)
		snprintf(buf, len, "errno %d", r->err);
	else if ((st->op == SCN_READ || st->op == SCN_EXPECT) && r->value >= 0)
		snprintf(buf, len, "0x%02x", (unsigned)r->value);
	else if (st->op == SCN_EXPECT_THP)
		snprintf(buf, len, "%s", scn_thp_state_name(r->value));
	else
		snprintf(buf, len, "OK");
	return buf;
}

/* " [dc wf hg nh]": the VMA's flags, "" if none. */
static const char *vma_flags_str(const struct scn_vma *v, char *buf,
				 size_t len)
{
	char f[24];

	snprintf(f, sizeof(f), "%s%s%s%s", v->dontcopy ? " dc" : "",
		 v->wipeonfork ? " wf" : "", v->hugepage ? " hg" : "",
		 v->nohugepage ? " nh" : "");
	if (f[0])
		snprintf(buf, len, " [%s]", f + 1);
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

/* "pmd9", "pte9", "hzero" (the huge zero page) or "-" (a base page). */
static const char *thp_str(const struct scn_page *pg, char *buf, size_t len)
{
	if (pg->huge_zero)
		snprintf(buf, len, "hzero");
	else if (pg->order)
		snprintf(buf, len, "%s%u", pg->pmd_mapped ? "pmd" : "pte",
			 (unsigned)pg->order);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* Does pg (frame id) continue the run of prev (id pid) line-for-line? */
static bool page_continues(const struct scn_page *prev, long pid,
			   const struct scn_page *pg, long id)
{
	return prev->state == SCN_PTE_PRESENT && pg->state == SCN_PTE_PRESENT &&
	       pg->addr == prev->addr + SCN_PAGE_SIZE && pg->zero == prev->zero &&
	       pg->order == prev->order && pg->pmd_mapped == prev->pmd_mapped &&
	       pg->huge_zero == prev->huge_zero && pg->mapcount == prev->mapcount &&
	       pg->exclusive == prev->exclusive && (pg->zero || id == pid + 1);
}

static void print_page(const struct scn_page *pg, long id)
{
	char frame[32], thp[16];

	if (pg->state == SCN_PTE_SWAP) {
		printf("      0x%012" PRIx64 "  S  swap entry 0x%" PRIx64 "\n",
		       pg->addr, pg->frame);
		return;
	}
	if (pg->zero)
		snprintf(frame, sizeof(frame), "zero");
	else
		snprintf(frame, sizeof(frame), "#%ld", id);
	printf("      0x%012" PRIx64 "  %c  %-6s %8" PRIu32 "  %d     %s\n",
	       pg->addr, pg->zero ? 'Z' : 'P', frame, pg->mapcount,
	       pg->exclusive, thp_str(pg, thp, sizeof(thp)));
}

/* Pages of one VMA; runs of pages that are not there take one line. */
static void print_vma_pages(const struct scn_proc_snap *p, size_t *k,
			    const struct scn_vma *v, const long *ids, long base)
{
	while (*k < p->npages && p->pages[*k].addr < v->end) {
		const struct scn_page *pg = &p->pages[*k];
		size_t run = 0;

		while (*k + run < p->npages && p->pages[*k + run].addr < v->end &&
		       p->pages[*k + run].state == SCN_PTE_NONE)
			run++;
		if (run) {
			printf("      0x%012" PRIx64 "  -  (%zu page%s not present)\n",
			       pg->addr, run, run == 1 ? "" : "s");
			*k += run;
			continue;
		}
		print_page(pg, ids ? ids[base + (long)*k] : -1);
		(*k)++;
		/* a THP's 512 pages alike: one line for the rest */
		for (run = 0; ids && *k + run < p->npages &&
			      p->pages[*k + run].addr < v->end &&
			      page_continues(&p->pages[*k + run - 1],
					     ids[base + (long)(*k + run) - 1],
					     &p->pages[*k + run],
					     ids[base + (long)(*k + run)]); run++)
			;
		if (run > 1) {
			const struct scn_page *end = &p->pages[*k + run - 1];

			if (end->zero)
				printf("      ... %zu more pages like it, to 0x%012"
				       PRIx64 "\n", run, end->addr);
			else
				printf("      ... %zu more pages like it, to 0x%012"
				       PRIx64 " (frames #%ld-#%ld)\n", run,
				       end->addr, ids[base + (long)*k],
				       ids[base + (long)(*k + run) - 1]);
			*k += run;
		}
	}
}

static void print_proc(const struct scenario *s, const struct scn_proc_snap *p,
		       const long *ids, long base)
{
	char flags[32];
	size_t k = 0;

	printf("  process %s: %d VMA%s in the window\n",
	       s->slot_name[p->slot], p->nvmas, p->nvmas == 1 ? "" : "s");
	for (int i = 0; i < p->nvmas; i++) {
		const struct scn_vma *v = &p->vmas[i];

		printf("    0x%012" PRIx64 "-0x%012" PRIx64 " %-4s %" PRIu64
		       " page%s%s", v->start, v->end, scn_prot_name(v->prot),
		       (uint64_t)((v->end - v->start) / SCN_PAGE_SIZE),
		       v->end - v->start == SCN_PAGE_SIZE ? "" : "s",
		       vma_flags_str(v, flags, sizeof(flags)));
		if (v->anon_huge)
			printf(" AnonHugePages %" PRIu64 " kB", v->anon_huge / 1024);
		printf("\n      page            st frame  mapcount  excl  thp\n");
		while (k < p->npages && p->pages[k].addr < v->start)
			k++;
		print_vma_pages(p, &k, v, ids, base);
	}
}

static void print_snapshot(const struct scenario *s, const struct scn_snapshot *sn)
{
	long *ids = NULL, base = 0;

	if (sn->stmt < s->nstmts)
		printf("snapshot at check, line %d (stmt %d):\n",
		       s->stmts[sn->stmt].line, sn->stmt);
	else
		printf("snapshot at the end (stmt %d):\n", sn->stmt);
	if (scn_snapshot_frame_ids(sn, &ids) < 0)
		printf("  (out of memory numbering frames)\n");
	if (!sn->nprocs)
		printf("  no live process\n");
	for (int i = 0; i < sn->nprocs; i++) {
		print_proc(s, &sn->procs[i], ids, base);
		base += (long)sn->procs[i].npages;
	}
	free(ids);
}

static const struct scn_snapshot *snapshot_at(const struct scn_trace *t, int stmt)
{
	for (int i = 0; i < t->nsnaps; i++)
		if (t->snaps[i].stmt == stmt)
			return &t->snaps[i];
	return NULL;
}

/* Print the run; returns true if every statement met its expectation. */
bool report_trace_text(const struct scenario *s, const struct scn_trace *t)
{
	char text[256], res[128], why[256];
	const struct scn_snapshot *sn;
	bool ok = true;

	printf("== %s\n", s->file);
	for (int i = 0; i < t->nresults && i < s->nstmts; i++) {
		const struct scn_stmt *st = &s->stmts[i];
		const struct scn_result *r = &t->results[i];
		bool met = scn_result_ok(s, st, r, why, sizeof(why));

		scn_stmt_str(s, st, text, sizeof(text));
		printf("%d: %s -> %s", st->line, text, result_str(st, r, res, sizeof(res)));
		if (!r->unsupported && r->note[0])
			printf(" (%s)", r->note);
		printf("%s%s\n", met ? "" : "    <-- FAILED: ", met ? "" : why);
		ok &= met;
		sn = st->op == SCN_CHECK ? snapshot_at(t, i) : NULL;
		if (sn)
			print_snapshot(s, sn);
	}
	sn = snapshot_at(t, s->nstmts);
	if (sn)
		print_snapshot(s, sn);
	if (t->note[0])
		printf("note: %s\n", t->note);
	return ok && t->nresults == s->nstmts;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *json_hex(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *json_vma(const struct scn_vma *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "start", json_hex(v->start));
	json_object_set_new(o, "end", json_hex(v->end));
	json_object_set_new(o, "prot", json_string(scn_prot_name(v->prot)));
	json_object_set_new(o, "dontcopy", json_boolean(v->dontcopy));
	json_object_set_new(o, "wipeonfork", json_boolean(v->wipeonfork));
	json_object_set_new(o, "hugepage", json_boolean(v->hugepage));
	json_object_set_new(o, "nohugepage", json_boolean(v->nohugepage));
	json_object_set_new(o, "anon_huge", json_integer((json_int_t)v->anon_huge));
	return o;
}

static json_t *json_page(const struct scn_page *pg, long id)
{
	static const char *const states[] = { "none", "present", "swapped" };
	json_t *o = json_object();

	json_object_set_new(o, "addr", json_hex(pg->addr));
	json_object_set_new(o, "state", json_string(states[pg->state % 3]));
	if (pg->state == SCN_PTE_PRESENT) {
		json_object_set_new(o, "zero", json_boolean(pg->zero));
		json_object_set_new(o, "frame", pg->zero ? json_string("zero") :
				    json_integer(id));
		json_object_set_new(o, "pfn", json_hex(pg->frame));
		json_object_set_new(o, "mapcount", json_integer(pg->mapcount));
		json_object_set_new(o, "exclusive", json_boolean(pg->exclusive));
		json_object_set_new(o, "order", json_integer(pg->order));
		json_object_set_new(o, "pmd_mapped", json_boolean(pg->pmd_mapped));
		json_object_set_new(o, "huge_zero", json_boolean(pg->huge_zero));
	} else if (pg->state == SCN_PTE_SWAP) {
		json_object_set_new(o, "swap_entry", json_hex(pg->frame));
	}
	if (pg->has_hash)
		json_object_set_new(o, "hash", json_hex(pg->hash));
	return o;
}

static json_t *json_proc(const struct scenario *s, const struct scn_proc_snap *p,
			 const long *ids, long base)
{
	json_t *o = json_object(), *vmas = json_array(), *pages = json_array();

	for (int i = 0; i < p->nvmas; i++)
		json_array_append_new(vmas, json_vma(&p->vmas[i]));
	for (size_t k = 0; k < p->npages; k++)
		json_array_append_new(pages, json_page(&p->pages[k],
				      ids ? ids[base + (long)k] : -1));
	json_object_set_new(o, "process", json_string(s->slot_name[p->slot]));
	json_object_set_new(o, "slot", json_integer(p->slot));
	json_object_set_new(o, "vmas", vmas);
	json_object_set_new(o, "pages", pages);
	return o;
}

static json_t *json_snapshot(const struct scenario *s, const struct scn_snapshot *sn)
{
	json_t *o = json_object(), *procs = json_array();
	long *ids = NULL, base = 0;

	if (scn_snapshot_frame_ids(sn, &ids) < 0) {
		json_decref(o);
		json_decref(procs);
		return NULL;
	}
	json_object_set_new(o, "stmt", json_integer(sn->stmt));
	if (sn->stmt < s->nstmts)
		json_object_set_new(o, "line", json_integer(s->stmts[sn->stmt].line));
	for (int i = 0; i < sn->nprocs; i++) {
		json_array_append_new(procs, json_proc(s, &sn->procs[i], ids, base));
		base += (long)sn->procs[i].npages;
	}
	json_object_set_new(o, "processes", procs);
	free(ids);
	return o;
}

static json_t *json_result(const struct scenario *s, const struct scn_stmt *st,
			   const struct scn_result *r, bool *ok)
{
	char text[256], why[256];
	const char *name = scn_errno_name(r->err);
	json_t *o = json_object();
	bool met = scn_result_ok(s, st, r, why, sizeof(why));

	scn_stmt_str(s, st, text, sizeof(text));
	json_object_set_new(o, "line", json_integer(st->line));
	json_object_set_new(o, "statement", json_string(text));
	json_object_set_new(o, "err", !r->err ? json_string("OK") :
			    name ? json_string(name) : json_integer(r->err));
	if (r->value >= 0)
		json_object_set_new(o, "value", json_integer(r->value));
	json_object_set_new(o, "unsupported", json_boolean(r->unsupported));
	if (r->note[0])
		json_object_set_new(o, "note", json_string(r->note));
	json_object_set_new(o, "ok", json_boolean(met));
	if (!met)
		json_object_set_new(o, "why", json_string(why));
	*ok &= met;
	return o;
}

json_t *report_trace_json(const struct scenario *s, const struct scn_trace *t,
			  const char *error, bool *ok)
{
	json_t *o = json_object(), *stmts = json_array(), *snaps = json_array();

	for (int i = 0; i < t->nresults && i < s->nstmts; i++)
		json_array_append_new(stmts, json_result(s, &s->stmts[i],
							 &t->results[i], ok));
	for (int i = 0; i < t->nsnaps; i++)
		json_array_append_new(snaps, json_snapshot(s, &t->snaps[i]));
	*ok &= t->nresults == s->nstmts && !error;
	json_object_set_new(o, "file", json_string(s->file));
	json_object_set_new(o, "executor", json_string(t->executor));
	json_object_set_new(o, "ok", json_boolean(*ok));
	if (t->failure[0])
		json_object_set_new(o, "failure", json_string(t->failure));
	if (error)
		json_object_set_new(o, "error", json_string(error));
	json_object_set_new(o, "statements", stmts);
	json_object_set_new(o, "snapshots", snaps);
	return o;
}


/* ---- library counters -------------------------------------------------- */

#define STAT(f) { #f, offsetof(struct avm_stats, f) }

static const struct { const char *name; size_t off; } stat_fields[] = {
	STAT(mms), STAT(vmas), STAT(anon_vmas), STAT(avcs), STAT(rmap_objects),
	STAT(rmap_bytes), STAT(frames_used), STAT(page_tables), STAT(forks),
	STAT(faults), STAT(anon_faults), STAT(zero_faults), STAT(cow_copies),
	STAT(cow_reuses), STAT(allocs), STAT(rmap_walks), STAT(rmap_visits),
	STAT(rmap_hits), STAT(mremap_moves), STAT(mremap_rmap_locked),
	STAT(rmap_copies), STAT(lru_scanned), STAT(referenced),
	STAT(pte_unmapped), STAT(swap_outs), STAT(swap_ins),
	STAT(swap_slots_used), STAT(swap_cache_pages), STAT(migrations),
	STAT(migration_entries_removed), STAT(vma_lock_faults),
	STAT(vma_lock_miss), STAT(vma_lock_no_anon), STAT(vma_lock_retries),
};

static unsigned long stat_value(const struct avm_stats *st, size_t i)
{
	return *(const unsigned long *)((const char *)st + stat_fields[i].off);
}

void report_stats_text(const struct avm_stats *st)
{
	for (size_t i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]); i++)
		if (stat_value(st, i))
			printf("  %-26s %lu\n", stat_fields[i].name,
			       stat_value(st, i));
	if (st->rmap_walks)
		printf("  %-26s %.3f\n", "vmas_visited_per_walk",
		       (double)st->rmap_visits / (double)st->rmap_walks);
}

json_t *report_stats_json(const struct avm_stats *st)
{
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]); i++)
		json_object_set_new(o, stat_fields[i].name,
				    json_integer((json_int_t)stat_value(st, i)));
	return o;
}
