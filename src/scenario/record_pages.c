/* SPDX-License-Identifier: MIT */
/*
 * The page half of `anonvm record`: statements that change the shadow
 * system, and the scan that compares a traced process's anonymous memory
 * (/proc/PID/maps, /proc/PID/pagemap, /proc/kpageflags) with its shadow and
 * writes what the kernel did since the last scan:
 *
 *   kernel now          shadow has         statement
 *   present, zero page  nothing            read
 *   present, own frame  nothing, zero page write (fill for a run)
 *   present, new PFN    frame shared       write (a COW break)
 *   not present         present or swap    madvise dontneed (a zap)
 *   swapped             present            madvise pageout
 *   present             swapped            read (swap-in)
 *
 * A write to a page that is already exclusive changes no reverse-map state
 * (the frame, its mapping and its anon_vma stay) and is invisible here
 * without soft-dirty bits; it needs no statement.  VMAs the kernel has and
 * the shadow has not (stack growth, an operation made some other way) are
 * mmapped, the reverse munmapped, and protections that differ mprotected.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "anonvm/anonvm.h"
#include "scenario/record.h"

#define PG		((uint64_t)4096)
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define KPF_ZERO_PAGE	24
#define WRITE_BYTE	"0x01"

static const char *const prot_names[] = { "none", "r", "rw", "rw" };
static const char *const advice_names[] = {
	[AVM_MADV_DONTNEED] = "dontneed", [AVM_MADV_DONTFORK] = "dontfork",
	[AVM_MADV_DOFORK] = "dofork", [AVM_MADV_WIPEONFORK] = "wipeonfork",
	[AVM_MADV_KEEPONFORK] = "keeponfork", [AVM_MADV_PAGEOUT] = "pageout",
	[AVM_MADV_HUGEPAGE] = "hugepage", [AVM_MADV_NOHUGEPAGE] = "nohugepage",
};

void rec_emit(struct rec *r, const struct rec_proc *p, const char *fmt, ...)
{
	va_list ap;

	if (r->limit)
		return;
	if (p)
		fprintf(r->body, "p%d ", p->id);
	va_start(ap, fmt);
	vfprintf(r->body, fmt, ap);
	va_end(ap);
	fputc('\n', r->body);
	if (++r->st->stmts >= r->o->max_events)
		r->limit = true;
}

/* ---- the table of last-seen pagemap words --------------------------------- */

static size_t pg_slot(const struct rec_pgtab *t, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (t->cap - 1);
}

static uint64_t pg_get(const struct rec_pgtab *t, uint64_t addr)
{
	uint64_t key = addr / PG + 1;

	if (!t->cap)
		return 0;
	for (size_t i = pg_slot(t, key);; i = (i + 1) & (t->cap - 1)) {
		if (!t->key[i])
			return 0;
		if (t->key[i] == key)
			return t->val[i];
	}
}

static int pg_grow(struct rec_pgtab *t)
{
	struct rec_pgtab n = { .cap = t->cap ? t->cap * 2 : 1024 };

	n.key = calloc(n.cap, sizeof(*n.key));
	n.val = calloc(n.cap, sizeof(*n.val));
	if (!n.key || !n.val) {
		free(n.key);
		free(n.val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->key[i])
			continue;
		for (j = pg_slot(&n, t->key[i]); n.key[j]; j = (j + 1) & (n.cap - 1))
			;
		n.key[j] = t->key[i];
		n.val[j] = t->val[i];
		n.used++;
	}
	rec_pgtab_free(t);
	*t = n;
	return 0;
}

static int pg_set(struct rec_pgtab *t, uint64_t addr, uint64_t val)
{
	uint64_t key = addr / PG + 1;
	size_t i;

	if ((t->used + 1) * 2 > t->cap && pg_grow(t))
		return -ENOMEM;
	for (i = pg_slot(t, key); t->key[i] && t->key[i] != key;
	     i = (i + 1) & (t->cap - 1))
		;
	if (!t->key[i])
		t->used++;
	t->key[i] = key;
	t->val[i] = val;
	return 0;
}

/* Linear probing: delete by shifting later entries of the cluster back. */
static void pg_del_slot(struct rec_pgtab *t, size_t i)
{
	size_t j = i;

	t->key[i] = 0;
	t->used--;
	for (;;) {
		size_t home;

		j = (j + 1) & (t->cap - 1);
		if (!t->key[j])
			return;
		home = pg_slot(t, t->key[j]);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			t->key[i] = t->key[j];
			t->val[i] = t->val[j];
			t->key[j] = 0;
			i = j;
		}
	}
}

/* Forget [a, a + len): the next scan compares those pages in full. */
static void pg_forget(struct rec_pgtab *t, uint64_t a, uint64_t len)
{
	uint64_t lo = a / PG + 1, hi = (a + len) / PG + 1;

	if (!t->used)
		return;
	if (hi - lo <= t->used) {
		for (uint64_t k = lo; k < hi; k++) {
			for (size_t i = pg_slot(t, k); t->key[i];
			     i = (i + 1) & (t->cap - 1))
				if (t->key[i] == k) {
					pg_del_slot(t, i);
					break;
				}
		}
		return;
	}
	for (size_t i = 0; i < t->cap;) {
		if (t->key[i] >= lo && t->key[i] < hi)
			pg_del_slot(t, i);	/* slot i refilled: look again */
		else
			i++;
	}
}

void rec_pgtab_free(struct rec_pgtab *t)
{
	free(t->key);
	free(t->val);
	memset(t, 0, sizeof(*t));
}

int rec_pgtab_copy(struct rec_pgtab *dst, const struct rec_pgtab *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->cap)
		return 0;
	dst->key = malloc(src->cap * sizeof(*dst->key));
	dst->val = malloc(src->cap * sizeof(*dst->val));
	if (!dst->key || !dst->val) {
		rec_pgtab_free(dst);
		return -ENOMEM;
	}
	memcpy(dst->key, src->key, src->cap * sizeof(*dst->key));
	memcpy(dst->val, src->val, src->cap * sizeof(*dst->val));
	dst->cap = src->cap;
	dst->used = src->used;
	return 0;
}

/* ---- statements on the shadow ----------------------------------------------- */

static void refused(struct rec *r, const struct rec_proc *p, const char *op,
		    uint64_t a, int err)
{
	r->st->skip_model++;
	fprintf(r->body, "# p%d %s %#" PRIx64 ": the model says %s; left out\n",
		p->id, op, a, strerror(-err));
}

void rec_munmap(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len)
{
	int err;

	len = (len + PG - 1) & ~(PG - 1);
	if (r->limit || !len)
		return;
	err = avm_munmap(p->mm, a, len);
	pg_forget(&p->seen, a, len);
	if (err)
		refused(r, p, "munmap", a, err);
	else
		rec_emit(r, p, "munmap %#" PRIx64 " %" PRIu64, a, len / PG);
}

void rec_mmap(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
	      int prot)
{
	int err;

	len = (len + PG - 1) & ~(PG - 1);
	if (r->limit || !len)
		return;
	err = avm_mmap(p->mm, a, len, prot, AVM_MAP_FIXED_NOREPLACE, NULL);
	pg_forget(&p->seen, a, len);
	if (err)
		refused(r, p, "mmap", a, err);
	else
		rec_emit(r, p, "mmap %#" PRIx64 " %" PRIu64 " %s", a, len / PG,
			 prot_names[prot & 3]);
}

/* The parts of [a, a + len) the shadow maps, as maximal runs. */
struct piece { uint64_t start, end; };

static int pieces(struct rec_proc *p, uint64_t a, uint64_t len,
		  struct piece **out)
{
	long n = avm_vmas(p->mm, NULL, 0), k = 0;
	struct avm_vma_info *v = calloc((size_t)n + 1, sizeof(*v));
	struct piece *pc = calloc((size_t)n + 1, sizeof(*pc));

	*out = pc;
	if (!v || !pc) {
		free(v);
		return -ENOMEM;
	}
	n = avm_vmas(p->mm, v, (size_t)n);
	for (long i = 0; i < n; i++) {
		uint64_t s = v[i].start > a ? v[i].start : a;
		uint64_t e = v[i].end < a + len ? v[i].end : a + len;

		if (s >= e)
			continue;
		if (k && pc[k - 1].end == s)
			pc[k - 1].end = e;
		else
			pc[k++] = (struct piece){ s, e };
	}
	free(v);
	return (int)k;
}

bool rec_mapped(struct rec_proc *p, uint64_t a, uint64_t len)
{
	struct piece *pc;
	int n = pieces(p, a, (len + PG - 1) & ~(PG - 1), &pc);

	free(pc);
	return n != 0;		/* out of memory: say yes, let munmap decide */
}

void rec_munmap_mapped(struct rec *r, struct rec_proc *p, uint64_t a,
		       uint64_t len)
{
	if (rec_mapped(p, a, len))
		rec_munmap(r, p, a, len);
}

void rec_mprotect(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
		  int prot)
{
	struct piece *pc;
	int n = pieces(p, a, (len + PG - 1) & ~(PG - 1), &pc);

	for (int i = 0; i < n && !r->limit; i++) {
		uint64_t l = pc[i].end - pc[i].start;
		int err = avm_mprotect(p->mm, pc[i].start, l, prot);

		if (err)
			refused(r, p, "mprotect", pc[i].start, err);
		else
			rec_emit(r, p, "mprotect %#" PRIx64 " %" PRIu64 " %s",
				 pc[i].start, l / PG, prot_names[prot & 3]);
	}
	free(pc);
}

void rec_madvise(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
		 int advice)
{
	struct piece *pc;
	int n = pieces(p, a, (len + PG - 1) & ~(PG - 1), &pc);

	for (int i = 0; i < n && !r->limit; i++) {
		uint64_t l = pc[i].end - pc[i].start;
		int err = avm_madvise(p->mm, pc[i].start, l, advice);

		if (advice == AVM_MADV_DONTNEED || advice == AVM_MADV_PAGEOUT)
			pg_forget(&p->seen, pc[i].start, l);
		if (err)
			refused(r, p, "madvise", pc[i].start, err);
		else
			rec_emit(r, p, "madvise %#" PRIx64 " %" PRIu64 " %s",
				 pc[i].start, l / PG, advice_names[advice]);
	}
	free(pc);
}

void rec_mremap(struct rec *r, struct rec_proc *p, uint64_t old, uint64_t olen,
		uint64_t nlen, uint64_t result, bool dontunmap)
{
	int flags = 0, err;

	olen = (olen + PG - 1) & ~(PG - 1);
	nlen = (nlen + PG - 1) & ~(PG - 1);
	if (r->limit)
		return;
	if (result != old)
		flags = AVM_MREMAP_MAYMOVE | AVM_MREMAP_FIXED |
			(dontunmap ? AVM_MREMAP_DONTUNMAP : 0);
	err = avm_mremap(p->mm, old, olen, nlen, flags, result, NULL);
	pg_forget(&p->seen, old, olen > nlen ? olen : nlen);
	pg_forget(&p->seen, result, nlen);
	if (err)
		refused(r, p, "mremap", old, err);
	else if (result == old)
		rec_emit(r, p, "mremap %#" PRIx64 " %" PRIu64 " %" PRIu64, old,
			 olen / PG, nlen / PG);
	else
		rec_emit(r, p, "mremap %#" PRIx64 " %" PRIu64 " %" PRIu64
			 " to %#" PRIx64 "%s", old, olen / PG, nlen / PG,
			 result, dontunmap ? " dontunmap" : "");
}

/* ---- the kernel's anonymous VMAs ---------------------------------------------- */

struct kvma { uint64_t start, end; int prot; };

/* Private, anonymous, and an ordinary mapping (not vdso, vvar, ...). */
static bool anon_line(const char *perms, unsigned long inode, const char *path)
{
	if (perms[3] != 'p' || inode)
		return false;
	return !*path || !strncmp(path, "[heap]", 6) ||
	       !strncmp(path, "[stack]", 7) || !strncmp(path, "[anon:", 6);
}

static int read_maps(int pid, struct kvma **out, long *n)
{
	char name[64], line[4096], perms[8], dev[16], path[4096];
	size_t cap = 0;
	FILE *f;

	*out = NULL;
	*n = 0;
	snprintf(name, sizeof(name), "/proc/%d/maps", pid);
	f = fopen(name, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		unsigned long inode;
		struct kvma v;

		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %15s %lu %4095[^\n]", &s, &e,
			   perms, &off, dev, &inode, path) < 6)
			continue;
		if (!anon_line(perms, inode, path + strspn(path, " ")))
			continue;
		v.start = s;
		v.end = e;
		v.prot = (perms[1] == 'w') ? AVM_PROT_READ | AVM_PROT_WRITE :
			 (perms[0] == 'r' || perms[2] == 'x') ? AVM_PROT_READ :
			 AVM_PROT_NONE;
		if ((size_t)*n == cap) {
			struct kvma *nv = realloc(*out, (cap = cap * 2 + 16) *
						  sizeof(*nv));
			if (!nv) {
				fclose(f);
				return -ENOMEM;
			}
			*out = nv;
		}
		(*out)[(*n)++] = v;
	}
	fclose(f);
	return 0;
}

/* ---- VMAs: make the shadow's layout the kernel's ------------------------------- */

enum fix { FIX_NONE, FIX_UNMAP, FIX_MAP, FIX_PROT };
struct action { enum fix what; uint64_t start, end; int prot; };

/* Segment covering pos in a sorted list (or the gap up to the next). */
static bool seg_at(const uint64_t (*se)[2], const int *prot, long n, long *i,
		   uint64_t pos, uint64_t *next, int *pr)
{
	while (*i < n && se[*i][1] <= pos)
		(*i)++;
	if (*i >= n) {
		*next = UINT64_MAX;
		return false;
	}
	if (se[*i][0] > pos) {
		*next = se[*i][0];
		return false;
	}
	*next = se[*i][1];
	*pr = prot[*i];
	return true;
}

static int add_action(struct action **a, long *n, size_t *cap, enum fix what,
		      uint64_t s, uint64_t e, int prot)
{
	if (*n && (*a)[*n - 1].what == what && (*a)[*n - 1].end == s &&
	    (*a)[*n - 1].prot == prot) {
		(*a)[*n - 1].end = e;
		return 0;
	}
	if ((size_t)*n == *cap) {
		struct action *na = realloc(*a, (*cap = *cap * 2 + 16) * sizeof(*na));

		if (!na)
			return -ENOMEM;
		*a = na;
	}
	(*a)[(*n)++] = (struct action){ what, s, e, prot };
	return 0;
}

static void apply(struct rec *r, struct rec_proc *p, const struct action *a,
		  long n, enum fix what)
{
	for (long i = 0; i < n; i++) {
		if (a[i].what != what)
			continue;
		if (what == FIX_UNMAP)
			rec_munmap(r, p, a[i].start, a[i].end - a[i].start);
		else if (what == FIX_MAP)
			rec_mmap(r, p, a[i].start, a[i].end - a[i].start, a[i].prot);
		else
			rec_mprotect(r, p, a[i].start, a[i].end - a[i].start,
				     a[i].prot);
	}
}

static int sync_vmas(struct rec *r, struct rec_proc *p, const struct kvma *kv,
		     long nk)
{
	long ns = avm_vmas(p->mm, NULL, 0), ik = 0, is = 0, na = 0;
	uint64_t (*ks)[2] = calloc((size_t)nk + 1, sizeof(*ks));
	uint64_t (*ss)[2] = calloc((size_t)ns + 1, sizeof(*ss));
	int *kp = calloc((size_t)nk + 1, sizeof(int));
	int *sp = calloc((size_t)ns + 1, sizeof(int));
	struct avm_vma_info *sv = calloc((size_t)ns + 1, sizeof(*sv));
	struct action *act = NULL;
	size_t cap = 0;
	uint64_t pos = 0;
	int err = -ENOMEM;

	if (!ks || !ss || !kp || !sp || !sv)
		goto out;
	for (long i = 0; i < nk; i++) {
		ks[i][0] = kv[i].start;
		ks[i][1] = kv[i].end;
		kp[i] = kv[i].prot;
	}
	ns = avm_vmas(p->mm, sv, (size_t)ns);
	for (long i = 0; i < ns; i++) {
		ss[i][0] = sv[i].start;
		ss[i][1] = sv[i].end;
		sp[i] = sv[i].prot & 3;
	}
	err = 0;
	while (pos != UINT64_MAX && !err) {
		uint64_t nk_end, ns_end, end;
		int pk = 0, ps = 0;
		bool ink = seg_at((const uint64_t (*)[2])ks, kp, nk, &ik, pos,
				  &nk_end, &pk);
		bool ins = seg_at((const uint64_t (*)[2])ss, sp, ns, &is, pos,
				  &ns_end, &ps);

		end = nk_end < ns_end ? nk_end : ns_end;
		if (ink && !ins)
			err = add_action(&act, &na, &cap, FIX_MAP, pos, end, pk);
		else if (!ink && ins)
			err = add_action(&act, &na, &cap, FIX_UNMAP, pos, end, 0);
		else if (ink && ins && pk != ps)
			err = add_action(&act, &na, &cap, FIX_PROT, pos, end, pk);
		pos = end;
	}
	if (!err) {
		apply(r, p, act, na, FIX_UNMAP);
		apply(r, p, act, na, FIX_PROT);
		apply(r, p, act, na, FIX_MAP);
	}
out:
	free(ks);
	free(ss);
	free(kp);
	free(sp);
	free(sv);
	free(act);
	return err;
}

/* ---- pages -------------------------------------------------------------------- */

enum ev { EV_NONE, EV_READ, EV_WRITE, EV_ZAP, EV_SWAP, EV_ZAP_READ,
	  EV_WRITE_SWAP };

struct run { enum ev ev; uint64_t start, end; };

static bool is_zero_pfn(struct rec *r, uint64_t pfn)
{
	uint64_t flags;

	if (r->zero_pfn && pfn == r->zero_pfn)
		return true;
	if (pread(r->kpageflags_fd, &flags, 8, (off_t)(pfn * 8)) != 8)
		return false;
	if (!(flags & (1ULL << KPF_ZERO_PAGE)))
		return false;
	if (!r->zero_pfn && !(flags & (1ULL << 22)))	/* not the huge one */
		r->zero_pfn = pfn;
	return true;
}

static enum ev classify(struct rec *r, struct rec_proc *p, uint64_t a,
			uint64_t w, uint64_t last)
{
	struct avm_page_info pi;
	int m;

	if (avm_page_info(p->mm, a, &pi))
		return EV_NONE;
	m = pi.state == AVM_PTE_PRESENT ? (pi.zero ? 1 : 2) :
	    pi.state == AVM_PTE_SWAP ? 3 : 0;
	if (w & PM_SWAP)
		return m == 2 || m == 1 ? EV_SWAP : m == 0 ? EV_WRITE_SWAP :
		       EV_NONE;
	if (!(w & PM_PRESENT))
		return m ? EV_ZAP : EV_NONE;
	if (!(w & PM_PFN_MASK)) {
		r->st->skip_hidden++;
		return EV_NONE;
	}
	if (is_zero_pfn(r, w & PM_PFN_MASK))
		return m == 0 ? EV_READ : m == 1 ? EV_NONE : EV_ZAP_READ;
	if (m == 0 || m == 1)
		return EV_WRITE;
	if (m == 3)
		return EV_READ;
	if ((last & PM_PRESENT) && (last & PM_PFN_MASK) != (w & PM_PFN_MASK) &&
	    pi.mapcount > 1)
		return EV_WRITE;	/* the kernel broke COW: a new frame */
	return EV_NONE;
}

static void count_swap_misses(struct rec *r, struct rec_proc *p,
			      const struct run *rn)
{
	for (uint64_t a = rn->start; a < rn->end; a += PG) {
		struct avm_page_info pi;

		if (!avm_page_info(p->mm, a, &pi) && pi.state != AVM_PTE_SWAP)
			r->st->skip_swap++;
	}
}

static void write_run(struct rec *r, struct rec_proc *p, uint64_t s, uint64_t e)
{
	if (r->limit)
		return;
	if (avm_fill(p->mm, s, 1, e - s)) {
		refused(r, p, "fill", s, -EFAULT);
		return;
	}
	if (e - s == PG)
		rec_emit(r, p, "write %#" PRIx64 " " WRITE_BYTE, s);
	else
		rec_emit(r, p, "fill %#" PRIx64 " %" PRIu64 " " WRITE_BYTE, s,
			 (e - s) / PG);
}

static void read_run(struct rec *r, struct rec_proc *p, uint64_t s, uint64_t e)
{
	for (uint64_t a = s; a < e && !r->limit; a += PG) {
		unsigned char b;

		if (avm_read(p->mm, a, &b, 1))
			refused(r, p, "read", a, -EFAULT);
		else
			rec_emit(r, p, "read %#" PRIx64, a);
	}
}

static void flush(struct rec *r, struct rec_proc *p, struct run *rn)
{
	uint64_t s = rn->start, e = rn->end;

	if (rn->ev == EV_NONE)
		return;
	r->st->page_events += (long)((e - s) / PG);
	switch (rn->ev) {
	case EV_READ:
		read_run(r, p, s, e);
		break;
	case EV_WRITE:
		write_run(r, p, s, e);
		break;
	case EV_ZAP:
		rec_madvise(r, p, s, e - s, AVM_MADV_DONTNEED);
		break;
	case EV_ZAP_READ:
		rec_madvise(r, p, s, e - s, AVM_MADV_DONTNEED);
		read_run(r, p, s, e);
		break;
	case EV_WRITE_SWAP:
		write_run(r, p, s, e);
		/* fall through */
	case EV_SWAP:
		rec_madvise(r, p, s, e - s, AVM_MADV_PAGEOUT);
		count_swap_misses(r, p, rn);
		break;
	case EV_NONE:
		break;
	}
	rn->ev = EV_NONE;
}

#define CHUNK	4096

static int scan_vma(struct rec *r, struct rec_proc *p, const struct kvma *v,
		    uint64_t *buf)
{
	struct run rn = { EV_NONE, 0, 0 };

	for (uint64_t a = v->start; a < v->end && !r->limit;) {
		uint64_t n = (v->end - a) / PG;
		ssize_t got;

		n = n > CHUNK ? CHUNK : n;
		got = pread(r->pagemap_fd, buf, n * 8, (off_t)(a / PG * 8));
		if (got != (ssize_t)(n * 8))
			return got < 0 ? -errno : -EIO;
		for (uint64_t i = 0; i < n; i++, a += PG) {
			uint64_t last = pg_get(&p->seen, a);
			enum ev ev;

			if (buf[i] == last)
				continue;
			ev = classify(r, p, a, buf[i], last);
			if (ev != rn.ev || rn.end != a) {
				flush(r, p, &rn);
				rn = (struct run){ ev, a, a };
			}
			rn.end = a + PG;
			if (pg_set(&p->seen, a, buf[i]))
				return -ENOMEM;
		}
	}
	flush(r, p, &rn);
	return 0;
}

int rec_scan(struct rec *r, struct rec_proc *p)
{
	char name[64];
	struct kvma *kv;
	uint64_t *buf;
	long nk, pages = 0;
	int err = read_maps(p->pid, &kv, &nk);

	if (err)
		return err == -ENOENT || err == -ESRCH ? 0 : err;
	r->st->scans++;
	err = sync_vmas(r, p, kv, nk);
	snprintf(name, sizeof(name), "/proc/%d/pagemap", p->pid);
	r->pagemap_fd = err ? -1 : open(name, O_RDONLY | O_CLOEXEC);
	buf = malloc(CHUNK * 8);
	if (!err && (r->pagemap_fd < 0 || !buf))
		err = r->pagemap_fd < 0 ? 0 : -ENOMEM;	/* it exited */
	for (long i = 0; !err && r->pagemap_fd >= 0 && i < nk; i++) {
		pages += (long)((kv[i].end - kv[i].start) / PG);
		err = scan_vma(r, p, &kv[i], buf);
		if (err == -EIO || err == -ESRCH)
			err = 0;	/* the process went away meanwhile */
	}
	if (r->pagemap_fd >= 0)
		close(r->pagemap_fd);
	if (nk > r->st->max_vmas)
		r->st->max_vmas = nk;
	if (pages > r->st->max_pages)
		r->st->max_pages = pages;
	free(buf);
	free(kv);
	return err;
}
