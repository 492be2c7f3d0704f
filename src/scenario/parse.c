/* SPDX-License-Identifier: MIT */
/*
 * The scenario language of docs/scenarios.md: parser, printer and the names
 * of operations, protections, advice and errnos.
 *
 * The parser works line by line on a (pointer, length) buffer, so NUL bytes,
 * CR characters and lines of any length are just input.  Every error is
 * "FILE:LINE:COL: expected WHAT, found WHAT"; an allocation failure makes it
 * return -ENOMEM, never abort.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "lib/compiler.h"
#include "scenario/scenario.h"

/* ---- names --------------------------------------------------------------- */

static const char *const op_names[SCN_NR_OPS] = {
	[SCN_SPAWN] = "spawn",		[SCN_FORK] = "fork",
	[SCN_EXIT] = "exit",		[SCN_MMAP] = "mmap",
	[SCN_MUNMAP] = "munmap",	[SCN_MPROTECT] = "mprotect",
	[SCN_MREMAP] = "mremap",	[SCN_MADVISE] = "madvise",
	[SCN_WRITE] = "write",		[SCN_FILL] = "fill",
	[SCN_READ] = "read",		[SCN_EXPECT] = "expect",
	[SCN_MIGRATE] = "migrate",	[SCN_CHECK] = "check",
	[SCN_EXPECT_THP] = "expect-thp",
};

static const char *const prot_names[] = {
	[SCN_PROT_NONE] = "none", [SCN_PROT_R] = "r", [SCN_PROT_RW] = "rw",
};

static const char *const advice_names[SCN_NR_ADVICE] = {
	[SCN_ADV_DONTNEED] = "dontneed",	[SCN_ADV_DONTFORK] = "dontfork",
	[SCN_ADV_DOFORK] = "dofork",		[SCN_ADV_WIPEONFORK] = "wipeonfork",
	[SCN_ADV_KEEPONFORK] = "keeponfork",	[SCN_ADV_PAGEOUT] = "pageout",
	[SCN_ADV_HUGEPAGE] = "hugepage",	[SCN_ADV_NOHUGEPAGE] = "nohugepage",
};

static const char *const thp_state_names[SCN_NR_THP_STATES] = {
	[SCN_THP_NONE] = "none",	[SCN_THP_BASE] = "base",
	[SCN_THP_PTE] = "pte",		[SCN_THP_PMD] = "pmd",
	[SCN_THP_HUGE_ZERO] = "huge-zero",
};

static const char *const thp_mode_names[SCN_NR_THP_MODES] = {
	[SCN_THP_HOST] = "host",	[SCN_THP_NEVER] = "never",
	[SCN_THP_MADVISE] = "madvise",	[SCN_THP_ALWAYS] = "always",
};

struct errname {
	int err;
	const char *name;
};

#define ERRNAME(e) { e, #e }
static const struct errname errnames[] = {
	ERRNAME(EPERM),   ERRNAME(ENOENT),  ERRNAME(ESRCH),   ERRNAME(EINTR),
	ERRNAME(EIO),     ERRNAME(ENXIO),   ERRNAME(E2BIG),   ERRNAME(ENOEXEC),
	ERRNAME(EBADF),   ERRNAME(ECHILD),  ERRNAME(EAGAIN),  ERRNAME(ENOMEM),
	ERRNAME(EACCES),  ERRNAME(EFAULT),  ERRNAME(EBUSY),   ERRNAME(EEXIST),
	ERRNAME(EXDEV),   ERRNAME(ENODEV),  ERRNAME(ENOTDIR), ERRNAME(EISDIR),
	ERRNAME(EINVAL),  ERRNAME(ENFILE),  ERRNAME(EMFILE),  ERRNAME(EFBIG),
	ERRNAME(ENOSPC),  ERRNAME(ESPIPE),  ERRNAME(EROFS),   ERRNAME(EMLINK),
	ERRNAME(ERANGE),  ERRNAME(EDEADLK), ERRNAME(ENOSYS),  ERRNAME(ENOTSUP),
	ERRNAME(EOVERFLOW),
#ifdef EHWPOISON
	ERRNAME(EHWPOISON),
#endif
};

const char *scn_op_name(enum scn_op op)
{
	return (unsigned)op < SCN_NR_OPS ? op_names[op] : "?";
}

const char *scn_prot_name(enum scn_prot prot)
{
	return (unsigned)prot < ARRAY_SIZE(prot_names) ? prot_names[prot] : "?";
}

const char *scn_advice_name(enum scn_advice adv)
{
	return (unsigned)adv < SCN_NR_ADVICE ? advice_names[adv] : "?";
}

const char *scn_thp_state_name(int state)
{
	return state >= 0 && state < SCN_NR_THP_STATES ?
	       thp_state_names[state] : "?";
}

const char *scn_thp_mode_name(enum scn_thp_mode m)
{
	return (unsigned)m < SCN_NR_THP_MODES ? thp_mode_names[m] : "?";
}

int scn_thp_mode_from_name(const char *name)
{
	for (int i = 0; name && i < SCN_NR_THP_MODES; i++)
		if (!strcmp(name, thp_mode_names[i]))
			return i;
	return -1;
}

const char *scn_errno_name(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return NULL;
}

static int errno_from_mem(const char *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnames); i++)
		if (strlen(errnames[i].name) == len &&
		    !memcmp(errnames[i].name, p, len))
			return errnames[i].err;
	return 0;
}

int scn_errno_from_name(const char *name)
{
	return name ? errno_from_mem(name, strlen(name)) : 0;
}

/* ---- allocation (with a test hook) --------------------------------------- */

/*
 * Test hook, declared again in tests/scenario_parse.c: make the nth next
 * allocation of this thread's parser fail (0: never).  Not part of the API.
 */
void scn_parse_inject_enomem(long nth);

static _Thread_local long fail_countdown;

void scn_parse_inject_enomem(long nth)
{
	fail_countdown = nth;
}

static void *p_realloc(void *p, size_t size)
{
	if (fail_countdown > 0 && --fail_countdown == 0)
		return NULL;
	return realloc(p, size ? size : 1);
}

static char *p_strndup(const char *s, size_t len)
{
	char *d = len < SIZE_MAX ? p_realloc(NULL, len + 1) : NULL;

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* Make room for need elements in *arr of *cap; doubles the capacity. */
static int p_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = p_realloc(*(void **)arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*(void **)arr = p;
	*cap = ncap;
	return 0;
}

/* ---- the parser's state --------------------------------------------------- */

struct tok {
	const char *p;
	size_t len;		/* 0: end of line */
	size_t col;		/* 1-based */
};

struct slotinfo {
	int open_line;
	int exit_line;		/* 0 while alive */
	int group, thread;	/* forked in this thread block (0: not) */
};

struct parser {
	const char *name;
	const char *pos, *end;		/* unparsed rest of the text */
	const char *line_start, *line_end;	/* comment stripped */
	const char *cur;		/* cursor in the line */
	const char *last_end;		/* end of the last token read */
	int line;
	char *err;
	size_t errlen;
	struct scenario *s;
	size_t stmt_cap, slot_cap;
	struct slotinfo *slots;
	int *htab;			/* name -> newest slot; -1: empty */
	size_t hcap, hused;
	struct tok newname;		/* spawn, fork: the new process */
	int thread;			/* inside a thread block: its number */
	int nthreads;			/* blocks of the group, not joined */
	int group;			/* the current group: 1, 2, ... */
	int block_line;			/* where the block / group began */
	bool thp_seen;			/* the "thp MODE" line */
};

/* The tokens of one statement that later, relaxable checks point at. */
struct toks {
	struct tok addr, pages, new_pages, new_addr;
};

#define OR_ERROR	" (or an expected error such as !EINVAL)"
#define ERR_OR_EOL	"'!ERRNAME' or end of line"

/* ---- errors --------------------------------------------------------------- */

static int fail(struct parser *ps, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, size_t col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->err || !ps->errlen)
		return -EINVAL;
	n = snprintf(ps->err, ps->errlen, "%s:%d:%zu: ", ps->name, ps->line, col);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int out_of_memory(struct parser *ps)
{
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s: out of memory", ps->name);
	return -ENOMEM;
}

/* Quote a token for a message: at most 40 bytes, unprintables escaped. */
static void describe(const struct tok *t, char *buf, size_t len)
{
	size_t off = 0, n = MIN(t->len, 40);

	if (!t->len) {
		snprintf(buf, len, "end of line");
		return;
	}
	off += snprintf(buf, len, "'");
	for (size_t i = 0; i < n && off + 8 < len; i++) {
		unsigned char c = (unsigned char)t->p[i];

		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			buf[off++] = (char)c;
		else
			off += snprintf(buf + off, len - off, "\\x%02x", c);
	}
	snprintf(buf + off, len - off, "%s'", t->len > n ? "..." : "");
}

static int expected(struct parser *ps, const struct tok *t, const char *what,
		    const char *note)
{
	char found[200];

	describe(t, found, sizeof(found));
	return fail(ps, t->col, "expected %s, found %s%s", what, found,
		    note ? note : "");
}

/* ---- tokens ---------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Next token of the line; false (and an end-of-line token) at its end. */
static bool next_tok(struct parser *ps, struct tok *t)
{
	while (ps->cur < ps->line_end && is_blank(*ps->cur))
		ps->cur++;
	if (ps->cur == ps->line_end) {
		t->p = ps->cur;
		t->len = 0;
		t->col = (size_t)(ps->last_end - ps->line_start) + 1;
		return false;
	}
	t->p = ps->cur;
	while (ps->cur < ps->line_end && !is_blank(*ps->cur))
		ps->cur++;
	t->len = (size_t)(ps->cur - t->p);
	t->col = (size_t)(t->p - ps->line_start) + 1;
	ps->last_end = ps->cur;
	return true;
}

/* Consume the next token if it is the keyword kw. */
static bool accept_kw(struct parser *ps, const char *kw)
{
	const char *cur = ps->cur, *last = ps->last_end;
	struct tok t;

	if (next_tok(ps, &t) && t.len == strlen(kw) && !memcmp(t.p, kw, t.len))
		return true;
	ps->cur = cur;
	ps->last_end = last;
	return false;
}

static bool tok_is(const struct tok *t, const char *kw)
{
	return t->len == strlen(kw) && !memcmp(t->p, kw, t->len);
}

static int tok_index(const struct tok *t, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (names[i] && tok_is(t, names[i]))
			return i;
	return -1;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decimal or 0x-hex.  False on anything else (including end of line); a
 * value that does not fit 64 bits becomes UINT64_MAX, which every field
 * rejects as out of range.
 */
static bool tok_number(const struct tok *t, uint64_t *v)
{
	const char *p = t->p, *e = t->p + t->len;
	unsigned base = 10;
	uint64_t x = 0;
	bool big = false;

	if (t->len > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (p == e)
		return false;
	for (; p < e; p++) {
		int d = digit_value(*p);

		if (d < 0 || (unsigned)d >= base)
			return false;
		if (x > (UINT64_MAX - (unsigned)d) / base)
			big = true;
		else
			x = x * base + (unsigned)d;
	}
	*v = big ? UINT64_MAX : x;
	return true;
}

static bool is_ident(const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++) {
		char c = t->p[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_';

		if (!alpha && !(i && c >= '0' && c <= '9'))
			return false;
	}
	return t->len > 0;
}

/* ---- process names ---------------------------------------------------------- */

static size_t name_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return (size_t)h;
}

/* Index in htab of the name's entry, or of the empty entry it would take. */
static size_t name_pos(const struct parser *ps, const char *p, size_t len)
{
	size_t i = name_hash(p, len) & (ps->hcap - 1);

	for (;; i = (i + 1) & (ps->hcap - 1)) {
		int slot = ps->htab[i];
		const char *n;

		if (slot < 0)
			return i;
		n = ps->s->slot_name[slot];
		if (strlen(n) == len && !memcmp(n, p, len))
			return i;
	}
}

/* Newest slot named by t, or -1. */
static int name_lookup(const struct parser *ps, const struct tok *t)
{
	return ps->hcap ? ps->htab[name_pos(ps, t->p, t->len)] : -1;
}

static int name_rehash(struct parser *ps)
{
	size_t ncap = ps->hcap ? ps->hcap * 2 : 16;
	int *old = ps->htab;
	size_t ocap = ps->hcap;

	if (ncap > SIZE_MAX / sizeof(int))
		return -ENOMEM;
	ps->htab = p_realloc(NULL, ncap * sizeof(int));
	if (!ps->htab) {
		ps->htab = old;
		return -ENOMEM;
	}
	ps->hcap = ncap;
	for (size_t i = 0; i < ncap; i++)
		ps->htab[i] = -1;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i] >= 0) {
			const char *n = ps->s->slot_name[old[i]];

			ps->htab[name_pos(ps, n, strlen(n))] = old[i];
		}
	}
	free(old);
	return 0;
}

/* Make slot the one its name refers to from now on. */
static int name_set(struct parser *ps, int slot)
{
	const char *n = ps->s->slot_name[slot];
	size_t i;

	if ((ps->hused + 1) * 2 > ps->hcap && name_rehash(ps))
		return -ENOMEM;
	i = name_pos(ps, n, strlen(n));
	if (ps->htab[i] < 0)
		ps->hused++;
	ps->htab[i] = slot;
	return 0;
}

static int open_slot(struct parser *ps, const struct tok *name)
{
	struct scenario *s = ps->s;
	size_t cap = ps->slot_cap;
	int slot = s->nslots;

	if (p_grow(&s->slot_name, &cap, (size_t)slot + 1, sizeof(char *)))
		return -ENOMEM;
	cap = ps->slot_cap;
	if (p_grow(&ps->slots, &cap, (size_t)slot + 1, sizeof(*ps->slots)))
		return -ENOMEM;
	ps->slot_cap = cap;
	s->slot_name[slot] = p_strndup(name->p, name->len);
	if (!s->slot_name[slot])
		return -ENOMEM;
	s->nslots++;
	ps->slots[slot].open_line = ps->line;
	ps->slots[slot].exit_line = 0;
	ps->slots[slot].group = ps->thread ? ps->group : 0;
	ps->slots[slot].thread = ps->thread;
	return name_set(ps, slot) ? -ENOMEM : slot;
}

/* The acting process: a name that is alive. */
static int parse_live(struct parser *ps, const struct tok *t, int *slot)
{
	char note[96];
	int n;

	if (!is_ident(t))
		return expected(ps, t, "statement (spawn, check or a process name)",
				NULL);
	n = name_lookup(ps, t);
	if (n >= 0 && !ps->slots[n].exit_line && ps->slots[n].thread &&
	    ps->slots[n].group == ps->group &&
	    ps->slots[n].thread != ps->thread) {
		snprintf(note, sizeof(note), " (forked in another thread "
			 "block at line %d: usable after join)",
			 ps->slots[n].open_line);
		return expected(ps, t, "process of this thread", note);
	}
	if (n >= 0 && !ps->slots[n].exit_line) {
		*slot = n;
		return 0;
	}
	if (n < 0)
		snprintf(note, sizeof(note), " (never spawned)");
	else
		snprintf(note, sizeof(note), " (exited at line %d)",
			 ps->slots[n].exit_line);
	return expected(ps, t, "live process", note);
}

/* The new process of spawn or fork: a name that is not alive. */
static int parse_newname(struct parser *ps)
{
	struct tok *t = &ps->newname;
	char note[64];
	int n;

	next_tok(ps, t);
	if (tok_is(t, "spawn") || tok_is(t, "check"))
		return expected(ps, t, "process name", " (a keyword)");
	if (!is_ident(t))
		return expected(ps, t, "process name", NULL);
	n = name_lookup(ps, t);
	if (n < 0 || ps->slots[n].exit_line)
		return 0;
	snprintf(note, sizeof(note), " (alive since line %d)",
		 ps->slots[n].open_line);
	return expected(ps, t, "process name not in use", note);
}

/* ---- arguments --------------------------------------------------------------- */

static int parse_addr(struct parser *ps, struct tok *t, const char *field,
		      uint64_t *v)
{
	char what[64];

	next_tok(ps, t);
	if (!tok_number(t, v)) {
		snprintf(what, sizeof(what), "%s (a number)", field);
		return expected(ps, t, what, NULL);
	}
	if (*v >= scn_window_start(ps->s) && *v < scn_window_end(ps->s))
		return 0;
	snprintf(what, sizeof(what), "%s in [%#" PRIx64 ", %#" PRIx64 ")",
		 field, scn_window_start(ps->s), scn_window_end(ps->s));
	return expected(ps, t, what, NULL);
}

static int parse_count(struct parser *ps, struct tok *t, const char *field,
		       uint64_t *v)
{
	char what[64];

	next_tok(ps, t);
	if (tok_number(t, v))
		return 0;
	snprintf(what, sizeof(what), "%s (a number)", field);
	return expected(ps, t, what, NULL);
}

/* [base, base + pages pages) must end inside the window. */
static int check_end(struct parser *ps, const struct tok *t, uint64_t base,
		     uint64_t pages, const char *field)
{
	uint64_t end = scn_window_end(ps->s);
	char what[96];

	if (pages <= (end - base) / SCN_PAGE_SIZE)
		return 0;
	snprintf(what, sizeof(what), "%s <= %#" PRIx64, field, end);
	return expected(ps, t, what, NULL);
}

static int parse_range(struct parser *ps, struct scn_stmt *st, struct toks *tk)
{
	int rc = parse_addr(ps, &tk->addr, "ADDR", &st->addr);

	if (!rc)
		rc = parse_count(ps, &tk->pages, "PAGES", &st->pages);
	if (!rc)
		rc = check_end(ps, &tk->pages, st->addr, st->pages,
			       "PAGES with ADDR+PAGES*4096");
	return rc;
}

static int parse_small(struct parser *ps, const char *what, uint64_t max,
		       int *v)
{
	struct tok t;
	uint64_t x;

	next_tok(ps, &t);
	if (!tok_number(&t, &x) || x > max)
		return expected(ps, &t, what, NULL);
	*v = (int)x;
	return 0;
}

static int parse_word(struct parser *ps, const char *what,
		      const char *const *names, int n, int *v)
{
	struct tok t;

	next_tok(ps, &t);
	*v = tok_index(&t, names, n);
	return *v < 0 ? expected(ps, &t, what, NULL) : 0;
}

static int parse_prot(struct parser *ps, struct scn_stmt *st)
{
	int v, rc = parse_word(ps, "PROT (none, r, rw)", prot_names,
			       (int)ARRAY_SIZE(prot_names), &v);

	st->prot = (enum scn_prot)v;
	return rc;
}

static int parse_advice(struct parser *ps, struct scn_stmt *st)
{
	int v, rc = parse_word(ps, "ADVICE (dontneed, dontfork, dofork, "
			       "wipeonfork, keeponfork, pageout, hugepage, "
			       "nohugepage)",
			       advice_names, SCN_NR_ADVICE, &v);

	st->advice = (enum scn_advice)v;
	return rc;
}

static int parse_byte(struct parser *ps, struct scn_stmt *st)
{
	return parse_small(ps, "BYTE (0..255)", 255, &st->byte);
}

/* expect-thp: the state goes where expect keeps its byte. */
static int parse_thp_state(struct parser *ps, struct scn_stmt *st)
{
	return parse_word(ps, "THP state (none, base, pte, pmd, huge-zero)",
			  thp_state_names, SCN_NR_THP_STATES, &st->byte);
}

/* ---- statements ------------------------------------------------------------- */

static bool may_fail(enum scn_op op)
{
	return op != SCN_SPAWN && op != SCN_FORK && op != SCN_EXIT &&
	       op != SCN_CHECK;
}

/* Optional "!ERRNAME", then the end of the line; other is what else fits. */
static int parse_tail(struct parser *ps, struct scn_stmt *st, const char *other)
{
	char note[64];
	struct tok t;

	if (!next_tok(ps, &t))
		return 0;
	if (!may_fail(st->op)) {
		snprintf(note, sizeof(note), " (%s cannot have an expected error)",
			 scn_op_name(st->op));
		return expected(ps, &t, "end of line", t.p[0] == '!' ? note : NULL);
	}
	if (t.p[0] != '!')
		return expected(ps, &t, other, NULL);
	st->expect_err = errno_from_mem(t.p + 1, t.len - 1);
	if (!st->expect_err)
		return expected(ps, &t, "a known errno name after '!'", NULL);
	if (next_tok(ps, &t))
		return expected(ps, &t, "end of line", NULL);
	return 0;
}

/* mremap ADDR PAGES NEWPAGES [to NEWADDR [dontunmap]] [!ERR] */
static int parse_mremap(struct parser *ps, struct scn_stmt *st, struct toks *tk)
{
	int rc = parse_range(ps, st, tk);

	if (!rc)
		rc = parse_count(ps, &tk->new_pages, "NEWPAGES", &st->new_pages);
	if (rc)
		return rc;
	if (!accept_kw(ps, "to")) {
		rc = check_end(ps, &tk->new_pages, st->addr, st->new_pages,
			       "NEWPAGES with ADDR+NEWPAGES*4096");
		return rc ? rc : parse_tail(ps, st, "'to', " ERR_OR_EOL);
	}
	st->to = true;
	rc = parse_addr(ps, &tk->new_addr, "NEWADDR", &st->new_addr);
	if (!rc)
		rc = check_end(ps, &tk->new_addr, st->new_addr, st->new_pages,
			       "NEWADDR with NEWADDR+NEWPAGES*4096");
	if (rc)
		return rc;
	st->dontunmap = accept_kw(ps, "dontunmap");
	return parse_tail(ps, st, st->dontunmap ? ERR_OR_EOL :
			  "'dontunmap', " ERR_OR_EOL);
}

/* The arguments after the operation, up to the optional "!ERR". */
static int parse_args(struct parser *ps, struct scn_stmt *st, struct toks *tk)
{
	int rc = 0;

	switch (st->op) {
	case SCN_FORK:
		return parse_newname(ps);
	case SCN_MMAP:
	case SCN_MPROTECT:
		return parse_range(ps, st, tk) ?: parse_prot(ps, st);
	case SCN_MUNMAP:
		return parse_range(ps, st, tk);
	case SCN_MADVISE:
		return parse_range(ps, st, tk) ?: parse_advice(ps, st);
	case SCN_FILL:
		return parse_range(ps, st, tk) ?: parse_byte(ps, st);
	case SCN_MIGRATE:
		return parse_range(ps, st, tk) ?:
		       parse_small(ps, "NODE (0..1023)", 1023, &st->node);
	case SCN_WRITE:
	case SCN_EXPECT:
		rc = parse_addr(ps, &tk->addr, "ADDR", &st->addr);
		return rc ? rc : parse_byte(ps, st);
	case SCN_READ:
		return parse_addr(ps, &tk->addr, "ADDR", &st->addr);
	case SCN_EXPECT_THP:
		return parse_addr(ps, &tk->addr, "ADDR", &st->addr) ?:
		       parse_thp_state(ps, st);
	default:
		return 0;
	}
}

static bool has_pages(enum scn_op op)
{
	return op == SCN_MMAP || op == SCN_MUNMAP || op == SCN_MPROTECT ||
	       op == SCN_MREMAP || op == SCN_MADVISE || op == SCN_FILL ||
	       op == SCN_MIGRATE;
}

/*
 * The argument checks the kernel itself makes: a scenario must say what it
 * expects when it breaks them.  mmap, munmap, mprotect, madvise and mremap
 * need a page-aligned address; mmap, munmap and mremap a length (mprotect
 * and madvise of zero length succeed).  fill (a memset) and migrate
 * (move_pages(2) of the pages holding ADDR, ADDR+4096, ...) check neither.
 */
static bool needs_aligned(enum scn_op op)
{
	return op == SCN_MMAP || op == SCN_MUNMAP || op == SCN_MPROTECT ||
	       op == SCN_MREMAP || op == SCN_MADVISE;
}

static bool needs_length(enum scn_op op)
{
	return op == SCN_MMAP || op == SCN_MUNMAP || op == SCN_MREMAP;
}

/* Alignment and non-zero sizes: waived when an error is expected. */
static int check_shape(struct parser *ps, const struct scn_stmt *st,
		       const struct toks *tk)
{
	if (st->expect_err)
		return 0;
	if (needs_aligned(st->op) && st->addr % SCN_PAGE_SIZE)
		return expected(ps, &tk->addr, "page-aligned ADDR" OR_ERROR, NULL);
	if (needs_length(st->op) && !st->pages)
		return expected(ps, &tk->pages, "PAGES >= 1" OR_ERROR, NULL);
	if (st->op != SCN_MREMAP)
		return 0;
	if (!st->new_pages)
		return expected(ps, &tk->new_pages, "NEWPAGES >= 1" OR_ERROR,
				NULL);
	if (st->to && st->new_addr % SCN_PAGE_SIZE)
		return expected(ps, &tk->new_addr, "page-aligned NEWADDR" OR_ERROR,
				NULL);
	return 0;
}

/* "P OP ARGS [!ERR]" with the process token already read. */
static int parse_action(struct parser *ps, const struct tok *first,
			struct scn_stmt *st)
{
	struct toks tk;
	struct tok t;
	int op, rc;

	memset(&tk, 0, sizeof(tk));
	rc = parse_live(ps, first, &st->proc);
	if (rc)
		return rc;
	next_tok(ps, &t);
	op = tok_index(&t, op_names, SCN_NR_OPS);
	if (op < 0 || op == SCN_SPAWN || op == SCN_CHECK)
		return expected(ps, &t, "operation (fork, exit, mmap, munmap, "
				"mprotect, mremap, madvise, write, fill, read, "
				"expect, migrate, expect-thp)", NULL);
	st->op = (enum scn_op)op;
	if (st->op == SCN_MREMAP)
		rc = parse_mremap(ps, st, &tk);
	else
		rc = parse_args(ps, st, &tk) ?: parse_tail(ps, st, ERR_OR_EOL);
	return rc ? rc : check_shape(ps, st, &tk);
}

/* Record the statement; spawn, fork and exit open or close slots. */
static int add_stmt(struct parser *ps, struct scn_stmt *st)
{
	struct scenario *s = ps->s;
	size_t cap = ps->stmt_cap;
	int slot;

	if (st->op == SCN_SPAWN || st->op == SCN_FORK) {
		slot = open_slot(ps, &ps->newname);
		if (slot < 0)
			return slot;
		st->child = slot;
		if (st->op == SCN_SPAWN)
			st->proc = slot;
	} else if (st->op == SCN_EXIT) {
		if (ps->thread)
			return fail(ps, 1, "expected an operation other than "
				    "exit ('exit' is not allowed in the thread "
				    "block of line %d)", ps->block_line);
		ps->slots[st->proc].exit_line = ps->line;
	}
	if (p_grow(&s->stmts, &cap, (size_t)s->nstmts + 1, sizeof(*st)))
		return -ENOMEM;
	ps->stmt_cap = cap;
	s->stmts[s->nstmts++] = *st;
	return 0;
}

/*
 * "window START END" before the first statement: the scenario's addresses
 * lie in [START, END) instead of the default window (recordings of real
 * programs use the whole user address space).
 */
static int parse_window(struct parser *ps)
{
	struct tok a, b;
	uint64_t lo, hi;

	next_tok(ps, &a);
	if (!tok_number(&a, &lo) || lo < SCN_PAGE_SIZE || lo % SCN_PAGE_SIZE)
		return expected(ps, &a, "page-aligned window START >= 0x1000",
				NULL);
	next_tok(ps, &b);
	if (!tok_number(&b, &hi) || hi % SCN_PAGE_SIZE || hi <= lo ||
	    hi > SCN_USER_END)
		return expected(ps, &b, "page-aligned window END above START, "
				"at most 0x7ffffffff000", NULL);
	ps->s->window_start = lo;
	ps->s->window_end = hi;
	if (next_tok(ps, &a))
		return expected(ps, &a, "end of line", NULL);
	return 0;
}

/* "thp MODE" before the first statement: the THP mode it runs under. */
static int parse_thp(struct parser *ps)
{
	struct tok t;
	int mode, rc = parse_word(ps, "THP mode (host, never, madvise, always)",
				  thp_mode_names, SCN_NR_THP_MODES, &mode);

	if (rc)
		return rc;
	ps->s->thp = (enum scn_thp_mode)mode;
	if (next_tok(ps, &t))
		return expected(ps, &t, "end of line", NULL);
	return 0;
}

static int parse_stmt(struct parser *ps, const struct tok *first)
{
	struct scn_stmt st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.line = ps->line;
	st.proc = -1;
	st.child = -1;
	if (tok_is(first, "window") && !ps->s->nstmts && !ps->s->window_end)
		return parse_window(ps);
	if (tok_is(first, "thp") && !ps->s->nstmts && !ps->thp_seen) {
		ps->thp_seen = true;
		return parse_thp(ps);
	}
	st.thread = ps->thread;
	st.group = ps->thread ? ps->group : 0;
	if (ps->nthreads && !ps->thread)
		return fail(ps, first->col, "expected 'join' or another "
			    "'thread NAME {' after the thread blocks of line %d",
			    ps->block_line);
	if (ps->thread && (tok_is(first, "check") || tok_is(first, "spawn")))
		return fail(ps, first->col, "expected a process's statement "
			    "('%.*s' is not allowed in the thread block of line "
			    "%d)", (int)first->len, first->p, ps->block_line);
	if (tok_is(first, "check")) {
		st.op = SCN_CHECK;
		rc = parse_tail(ps, &st, NULL);
	} else if (tok_is(first, "spawn")) {
		st.op = SCN_SPAWN;
		rc = parse_newname(ps) ?: parse_tail(ps, &st, NULL);
	} else {
		rc = parse_action(ps, first, &st);
	}
	return rc ? rc : add_stmt(ps, &st);
}

/* Set up the next line; false at the end of the text. */
static bool next_line(struct parser *ps)
{
	const char *nl, *hash;

	if (ps->pos >= ps->end)
		return false;
	nl = memchr(ps->pos, '\n', (size_t)(ps->end - ps->pos));
	if (!nl)
		nl = ps->end;
	hash = memchr(ps->pos, '#', (size_t)(nl - ps->pos));
	ps->line_start = ps->pos;
	ps->line_end = hash ? hash : nl;
	ps->cur = ps->last_end = ps->pos;
	ps->pos = nl < ps->end ? nl + 1 : nl;
	return true;
}

/* ---- thread blocks -------------------------------------------------------- */

static int open_block(struct parser *ps, const struct tok *first)
{
	if (ps->thread)
		return fail(ps, first->col, "expected '}' before another thread "
			    "block (the block of line %d is open)",
			    ps->block_line);
	if (ps->nthreads == SCN_MAX_THREADS)
		return fail(ps, first->col, "expected 'join': at most %d thread "
			    "blocks run together", SCN_MAX_THREADS);
	if (!ps->nthreads) {
		ps->group++;
		ps->block_line = ps->line;
	}
	ps->thread = ++ps->nthreads;
	return 0;
}

static int close_block(struct parser *ps, const struct tok *first)
{
	if (!ps->thread)
		return fail(ps, first->col, "expected a statement ('}' closes "
			    "no thread block)");
	ps->thread = 0;
	return 0;
}

static int join_group(struct parser *ps, const struct tok *first)
{
	if (ps->thread)
		return fail(ps, first->col, "expected '}': the thread block of "
			    "line %d is open", ps->block_line);
	if (!ps->nthreads)
		return fail(ps, first->col, "expected a statement ('join' "
			    "follows no thread blocks)");
	ps->nthreads = 0;
	return 0;
}

/*
 * `thread NAME {`, `}` and `join`, each a line of its own; false if the
 * line is a statement (`join` and `thread` may also be process names).
 */
static bool parse_structure(struct parser *ps, const struct tok *first,
			    int *rc)
{
	const char *cur = ps->cur, *last = ps->last_end;
	struct tok t2, t3, t4;

	if (tok_is(first, "}")) {
		*rc = next_tok(ps, &t2) ? expected(ps, &t2, "end of line", NULL)
					: close_block(ps, first);
		return true;
	}
	if (tok_is(first, "join") && !next_tok(ps, &t2)) {
		*rc = join_group(ps, first);
		return true;
	}
	if (tok_is(first, "thread") && next_tok(ps, &t2) && is_ident(&t2) &&
	    next_tok(ps, &t3) && tok_is(&t3, "{")) {
		*rc = next_tok(ps, &t4) ? expected(ps, &t4, "end of line", NULL)
					: open_block(ps, first);
		return true;
	}
	ps->cur = cur;
	ps->last_end = last;
	return false;
}

static int parse_end(struct parser *ps)
{
	if (ps->thread)
		return fail(ps, 1, "expected '}' before the end (the thread "
			    "block of line %d is open)", ps->block_line);
	if (ps->nthreads)
		return fail(ps, 1, "expected 'join' before the end (after the "
			    "thread blocks of line %d)", ps->block_line);
	return 0;
}

static int parse_lines(struct parser *ps)
{
	struct tok first;
	int rc;

	while (next_line(ps)) {
		if (ps->line == INT_MAX)
			return fail(ps, 1, "expected at most %d lines, found more",
				    INT_MAX);
		ps->line++;
		if ((size_t)(ps->pos - ps->line_start) > SCN_MAX_LINE + 1)
			return fail(ps, SCN_MAX_LINE + 1, "expected a line of at "
				    "most %d bytes, found a longer one",
				    SCN_MAX_LINE);
		if (!next_tok(ps, &first))
			continue;
		if (!parse_structure(ps, &first, &rc))
			rc = parse_stmt(ps, &first);
		if (rc)
			return rc;
	}
	return parse_end(ps);
}

static int parse_buffer(const char *name, const char *text, size_t len,
			struct scenario **out, char *err, size_t errlen)
{
	struct parser ps;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.name = name ? name : "<string>";
	ps.pos = text;
	ps.end = text + len;
	ps.err = err;
	ps.errlen = errlen;
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	ps.s = p_realloc(NULL, sizeof(*ps.s));
	if (!ps.s)
		return out_of_memory(&ps);
	memset(ps.s, 0, sizeof(*ps.s));
	ps.s->file = p_strndup(ps.name, strlen(ps.name));
	rc = ps.s->file ? parse_lines(&ps) : -ENOMEM;
	free(ps.slots);
	free(ps.htab);
	if (rc) {
		scn_free(ps.s);
		return rc == -ENOMEM ? out_of_memory(&ps) : rc;
	}
	*out = ps.s;
	return 0;
}

int scn_parse_string(const char *name, const char *text, struct scenario **out,
		     char *err, size_t errlen)
{
	return parse_buffer(name, text ? text : "", text ? strlen(text) : 0,
			    out, err, errlen);
}

/* Read all of f into a new buffer; -EFBIG past SCN_MAX_FILE bytes. */
static int read_all(FILE *f, char **buf, size_t *len)
{
	size_t cap = 0, n;

	*buf = NULL;
	*len = 0;
	errno = 0;
	do {
		size_t room;

		if (*len > SCN_MAX_FILE)
			return -EFBIG;
		if (p_grow(buf, &cap, *len + 65536, 1))
			return -ENOMEM;
		room = cap - *len;
		if (room > SCN_MAX_FILE + 1 - *len)
			room = SCN_MAX_FILE + 1 - *len;
		n = fread(*buf + *len, 1, room, f);
		*len += n;
	} while (n > 0);
	if (!ferror(f))
		return 0;
	return errno > 0 ? -errno : -EIO;
}

int scn_parse_file(const char *path, struct scenario **out, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t len;
	char *buf;
	int rc;

	*out = NULL;
	if (!f) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = read_all(f, &buf, &len);
	fclose(f);
	if (!rc)
		rc = parse_buffer(path, buf, len, out, err, errlen);
	else if (rc == -EFBIG && err && errlen)
		snprintf(err, errlen, "%s: expected a scenario of at most %d "
			 "bytes, found more", path, SCN_MAX_FILE);
	else if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	free(buf);
	return rc;
}

void scn_free(struct scenario *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nslots; i++)
		free(s->slot_name[i]);
	free(s->slot_name);
	free(s->stmts);
	free(s->file);
	free(s);
}

/* ---- printing ---------------------------------------------------------------- */

/* A bounded string builder; off counts what the whole text needs. */
struct sbuf {
	char *p;
	size_t len, off;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	size_t room = b->off < b->len ? b->len - b->off : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->p + b->off : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->off += (size_t)n;
}

static const char *slot_str(const struct scenario *s, int slot)
{
	if (s && slot >= 0 && slot < s->nslots && s->slot_name[slot])
		return s->slot_name[slot];
	return "?";
}

static void sb_args(struct sbuf *b, const struct scn_stmt *st)
{
	sb_printf(b, " 0x%" PRIx64, st->addr);
	if (has_pages(st->op))
		sb_printf(b, " %" PRIu64, st->pages);
	switch (st->op) {
	case SCN_MMAP:
	case SCN_MPROTECT:
		sb_printf(b, " %s", scn_prot_name(st->prot));
		break;
	case SCN_MREMAP:
		sb_printf(b, " %" PRIu64, st->new_pages);
		if (st->to)
			sb_printf(b, " to 0x%" PRIx64 "%s", st->new_addr,
				  st->dontunmap ? " dontunmap" : "");
		break;
	case SCN_MADVISE:
		sb_printf(b, " %s", scn_advice_name(st->advice));
		break;
	case SCN_WRITE:
	case SCN_FILL:
	case SCN_EXPECT:
		sb_printf(b, " 0x%02x", (unsigned)st->byte);
		break;
	case SCN_MIGRATE:
		sb_printf(b, " %d", st->node);
		break;
	case SCN_EXPECT_THP:
		sb_printf(b, " %s", scn_thp_state_name(st->byte));
		break;
	default:
		break;
	}
}

static void sb_stmt(struct sbuf *b, const struct scenario *s,
		    const struct scn_stmt *st)
{
	const char *e = scn_errno_name(st->expect_err);

	if (st->op == SCN_CHECK)
		sb_printf(b, "check");
	else if (st->op == SCN_SPAWN)
		sb_printf(b, "spawn %s", slot_str(s, st->child));
	else
		sb_printf(b, "%s %s", slot_str(s, st->proc), scn_op_name(st->op));
	if (st->op == SCN_FORK)
		sb_printf(b, " %s", slot_str(s, st->child));
	else if (st->op != SCN_CHECK && st->op != SCN_SPAWN &&
		 st->op != SCN_EXIT)
		sb_args(b, st);
	if (st->expect_err && e)
		sb_printf(b, " !%s", e);
	else if (st->expect_err)
		sb_printf(b, " !errno%d", st->expect_err);
}

const char *scn_stmt_str(const struct scenario *s, const struct scn_stmt *st,
			 char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	sb_stmt(&b, s, st);
	return buf;
}

static int format_one(const struct scenario *s, const struct scn_stmt *st,
		      FILE *f)
{
	char small[256];
	struct sbuf b = { small, sizeof(small), 0 };
	int rc = 0;

	sb_stmt(&b, s, st);
	if (b.off >= sizeof(small)) {
		b.len = b.off + 1;
		b.off = 0;
		b.p = malloc(b.len);
		if (!b.p)
			return -ENOMEM;
		sb_stmt(&b, s, st);
	}
	if (fprintf(f, "%s\n", b.p) < 0)
		rc = -EIO;
	if (b.p != small)
		free(b.p);
	return rc;
}

/* The `thread T {` / `}` / `join` lines between statements a and b. */
static void format_structure(const struct scn_stmt *a,
			     const struct scn_stmt *b, FILE *f)
{
	int ta = a ? a->thread : 0, ga = a ? a->group : 0;
	int tb = b ? b->thread : 0, gb = b ? b->group : 0;

	if (ta && (tb != ta || gb != ga))
		fprintf(f, "}\n");
	if (ta && gb != ga)
		fprintf(f, "join\n");
	if (tb && (tb != ta || gb != ga))
		fprintf(f, "thread T%d {\n", tb);
}

int scn_format(const struct scenario *s, FILE *f)
{
	if (s->window_end && (s->window_start != SCN_WINDOW_START ||
			      s->window_end != SCN_WINDOW_END))
		fprintf(f, "window %#" PRIx64 " %#" PRIx64 "\n",
			s->window_start, s->window_end);
	if (s->thp != SCN_THP_HOST)
		fprintf(f, "thp %s\n", scn_thp_mode_name(s->thp));
	for (int i = 0; i < s->nstmts; i++) {
		int rc;

		format_structure(i ? &s->stmts[i - 1] : NULL, &s->stmts[i], f);
		rc = format_one(s, &s->stmts[i], f);
		if (rc)
			return rc;
	}
	if (s->nstmts)
		format_structure(&s->stmts[s->nstmts - 1], NULL, f);
	if (!ferror(f))
		return 0;
	return errno > 0 ? -errno : -EIO;
}
