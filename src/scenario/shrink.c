/* SPDX-License-Identifier: MIT */
/*
 * Shrinking a failing scenario (delta debugging).
 *
 * First every process gets a name of its own, so that removing an `exit`
 * can never make a later spawn or fork reuse a live name.  Then chunks of
 * statements are removed, from halves down to single statements; removing
 * the spawn or fork of a process removes everything that process (and its
 * descendants) does.  Then statements are simplified: moved to an older
 * process where that still fails (so that intermediate processes can go),
 * and numbers made smaller (page counts, bytes, nodes, dontunmap).  Both
 * repeat until nothing changes.  Every candidate
 * is formatted and parsed again, which both validates it and gives it the
 * line numbers a user will see; it is kept if it still fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scenario/scenario.h"

#define MAX_ROUNDS	8

struct shrinker {
	int (*fails)(const struct scenario *cand, void *arg);
	void *arg;
	struct scenario *cur;	/* smallest failing scenario so far */
};

/* ---- candidates ------------------------------------------------------------ */

/* Format s and parse it again: 0 and *out, 1 if it does not parse, < 0. */
static int reparse(const struct scenario *s, struct scenario **out)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	rc = scn_format(s, f);
	if (fclose(f) || !text)
		rc = rc ? rc : -ENOMEM;
	if (!rc)
		rc = scn_parse_string(s->file, text, out, err, sizeof(err));
	free(text);
	return rc == -EINVAL ? 1 : rc;
}

/* Does st act as (or create) a process whose creation was removed? */
static bool orphaned(const struct scn_stmt *st, const bool *dead)
{
	return st->op != SCN_CHECK && st->op != SCN_SPAWN && dead[st->proc];
}

/*
 * base without the statements keep[] rejects, with stmts[edit] replaced by
 * *repl when repl is set.  Returns 0 and *out, 1 if invalid, -ENOMEM.
 */
static int candidate(const struct scenario *base, const bool *keep,
		     int edit, const struct scn_stmt *repl,
		     struct scenario **out)
{
	struct scenario tmp = *base;
	bool *dead = calloc((size_t)base->nslots + 1, sizeof(*dead));
	int rc = -ENOMEM;

	tmp.nstmts = 0;
	tmp.stmts = malloc(((size_t)base->nstmts + 1) * sizeof(*tmp.stmts));
	if (dead && tmp.stmts) {
		for (int i = 0; i < base->nstmts; i++) {
			const struct scn_stmt *st = i == edit && repl ? repl :
						    &base->stmts[i];

			if ((keep && !keep[i]) || orphaned(st, dead)) {
				if (st->op == SCN_SPAWN || st->op == SCN_FORK)
					dead[st->child] = true;
				continue;
			}
			tmp.stmts[tmp.nstmts++] = *st;
		}
		rc = reparse(&tmp, out);
	}
	free(tmp.stmts);
	free(dead);
	return rc;
}

/* Keep cand (1) if it is valid and still fails; 0 if not; < 0 on error. */
static int try_candidate(struct shrinker *h, int built, struct scenario *cand)
{
	int rc;

	if (built)
		return built < 0 ? built : 0;
	rc = h->fails(cand, h->arg);
	if (rc > 0) {
		scn_free(h->cur);
		h->cur = cand;
		return 1;
	}
	scn_free(cand);
	return rc;
}

/* ---- removing statements ------------------------------------------------------ */

static int try_remove(struct shrinker *h, int start, int len)
{
	int n = h->cur->nstmts, rc;
	bool *keep = malloc((size_t)n * sizeof(*keep));
	struct scenario *cand;

	if (!keep)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		keep[i] = i < start || i >= start + len;
	rc = candidate(h->cur, keep, -1, NULL, &cand);
	free(keep);
	return try_candidate(h, rc, cand);
}

/* One pass over chunks of len statements; 1 if any was removed. */
static int remove_pass(struct shrinker *h, int len)
{
	int changed = 0;

	for (int start = 0; start < h->cur->nstmts;) {
		int rc = try_remove(h, start, len);

		if (rc < 0)
			return rc;
		if (rc)
			changed = 1;	/* the next chunk now starts here */
		else
			start += len;
	}
	return changed;
}

/* Remove chunks: n parts, coarser after progress, finer without. */
static int remove_chunks(struct shrinker *h)
{
	int parts = 2, changed = 0;

	while (h->cur->nstmts > 0) {
		int n = h->cur->nstmts;
		int len = (n + parts - 1) / parts;
		int rc = remove_pass(h, len);

		if (rc < 0)
			return rc;
		changed |= rc;
		if (rc) {
			parts = parts > 2 ? parts - 1 : 2;
			continue;
		}
		if (len == 1)
			break;
		parts = parts * 2 < n ? parts * 2 : n;
	}
	return changed;
}

/* ---- simplifying numbers ---------------------------------------------------------- */

/* Smaller versions of a count: 1, half, one less. */
static int smaller_counts(uint64_t v, uint64_t *out)
{
	int n = 0;

	if (v > 1)
		out[n++] = 1;
	if (v > 3)
		out[n++] = v / 2;
	if (v > 2)
		out[n++] = v - 1;
	return n;
}

/* Simpler variants of st, most radical first; returns how many. */
static int variants(const struct scn_stmt *st, struct scn_stmt *v)
{
	uint64_t c[3];
	int n = 0, k;

	if (st->op == SCN_MREMAP && st->dontunmap) {
		v[n] = *st;
		v[n++].dontunmap = false;
	}
	k = smaller_counts(st->pages, c);
	for (int i = 0; i < k; i++) {
		v[n] = *st;
		v[n].pages = c[i];
		if (st->op == SCN_MREMAP && st->pages == st->new_pages)
			v[n].new_pages = c[i];	/* stay a plain move */
		n++;
	}
	k = st->op == SCN_MREMAP ? smaller_counts(st->new_pages, c) : 0;
	for (int i = 0; i < k; i++) {
		v[n] = *st;
		v[n++].new_pages = c[i];
	}
	if (st->byte > 1) {
		v[n] = *st;
		v[n++].byte = 1;
	}
	if (st->node > 0) {
		v[n] = *st;
		v[n++].node = 0;
	}
	return n;
}

/* Try the variants of statement i until none is accepted; 1 if changed. */
static int simplify_stmt(struct shrinker *h, int i)
{
	struct scn_stmt v[12];
	int changed = 0, rc;

	for (int j = 0, n = variants(&h->cur->stmts[i], v); j < n;) {
		struct scenario *cand;

		rc = candidate(h->cur, NULL, i, &v[j], &cand);
		rc = try_candidate(h, rc, cand);
		if (rc < 0)
			return rc;
		if (rc) {
			changed = 1;
			n = variants(&h->cur->stmts[i], v);
			j = 0;
		} else {
			j++;
		}
	}
	return changed;
}

/*
 * Let another process (the oldest that works) perform statement i, so that
 * intermediate processes can go: "b fork c; c write" may become "a fork c;
 * c write" and b disappear.  Candidates where that process is not alive
 * do not parse.  Returns 1 if changed.
 */
static int simplify_proc(struct shrinker *h, int i)
{
	struct scn_stmt v = h->cur->stmts[i];

	if (v.op == SCN_SPAWN || v.op == SCN_CHECK || v.op == SCN_EXIT)
		return 0;
	for (int slot = 0; slot < v.proc; slot++) {
		struct scenario *cand;
		int rc;

		v.proc = slot;
		rc = candidate(h->cur, NULL, i, &v, &cand);
		rc = try_candidate(h, rc, cand);
		if (rc)
			return rc;
	}
	return 0;
}

static int simplify_numbers(struct shrinker *h)
{
	int changed = 0;

	for (int i = 0; i < h->cur->nstmts; i++) {
		int rc = simplify_proc(h, i);

		if (rc < 0)
			return rc;
		changed |= rc;
		rc = simplify_stmt(h, i);

		if (rc < 0)
			return rc;
		changed |= rc;
	}
	return changed;
}

/* ---- setup ------------------------------------------------------------------------------ */

static bool name_taken(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* A copy of the slot names in which no two slots share a name. */
static char **unique_names(const struct scenario *s)
{
	char **names = calloc((size_t)s->nslots + 1, sizeof(*names));
	int i;

	for (i = 0; names && i < s->nslots; i++) {
		const char *base = s->slot_name[i];
		size_t len = strlen(base) + 24;

		names[i] = malloc(len);
		if (!names[i])
			break;
		snprintf(names[i], len, "%s", base);
		for (int k = 2; name_taken(names, i, names[i]) ||
				name_taken(s->slot_name + i + 1,
					   s->nslots - i - 1, names[i]); k++)
			snprintf(names[i], len, "%s_%d", base, k);
	}
	if (names && i < s->nslots) {
		for (int j = 0; j < i; j++)
			free(names[j]);
		free(names);
		names = NULL;
	}
	return names;
}

/* s with unique names, formatted and parsed again. */
static int normalise(const struct scenario *s, struct scenario **out)
{
	struct scenario tmp = *s;
	int rc;

	tmp.slot_name = unique_names(s);
	if (!tmp.slot_name)
		return -ENOMEM;
	rc = candidate(&tmp, NULL, -1, NULL, out);
	for (int i = 0; i < s->nslots; i++)
		free(tmp.slot_name[i]);
	free(tmp.slot_name);
	return rc;
}

int scn_shrink(const struct scenario *s,
	       int (*fails)(const struct scenario *cand, void *arg), void *arg,
	       struct scenario **out)
{
	struct shrinker h = { .fails = fails, .arg = arg };
	int rc = normalise(s, &h.cur), changed = 1;

	*out = NULL;
	if (rc)
		return rc < 0 ? rc : -EINVAL;
	rc = fails(h.cur, arg);
	if (rc <= 0) {
		scn_free(h.cur);
		return rc < 0 ? rc : -EINVAL;
	}
	for (int round = 0; changed && round < MAX_ROUNDS; round++) {
		int a = remove_chunks(&h), b = a < 0 ? 0 : simplify_numbers(&h);

		if (a < 0 || b < 0) {
			scn_free(h.cur);
			return a < 0 ? a : b;
		}
		changed = a | b;
	}
	*out = h.cur;
	return 0;
}
