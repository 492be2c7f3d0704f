/* SPDX-License-Identifier: MIT */
/*
 * The /proc readers of the host-kernel executor (see native.c): VMAs from
 * /proc/PID/smaps, pages from /proc/PID/pagemap, mapcounts from
 * /proc/kpagecount, and facts about the host (the zero page's PFN, swap,
 * NUMA nodes, what the controller itself maps in the window).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "scenario/native.h"

/* Read a whole (proc) file into a new NUL-terminated buffer. */
int nat_slurp(const char *path, char **buf)
{
	size_t cap = 65536, len = 0;
	char *p = malloc(cap), *np;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0 || !p) {
		rc = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			np = realloc(p, cap * 2);
			if (!np) {
				rc = -ENOMEM;
				goto out;
			}
			p = np;
			cap *= 2;
		}
		n = read(fd, p + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(p);
		return rc;
	}
	p[len] = '\0';
	*buf = p;
	return 0;
}

int nat_pread_u64(int fd, uint64_t idx, uint64_t *v)
{
	ssize_t n = pread(fd, v, sizeof(*v), (off_t)(idx * sizeof(*v)));

	return n == (ssize_t)sizeof(*v) ? 0 : n < 0 ? -errno : -EIO;
}

bool nat_reserved(const struct nat_run *r, uint64_t start, uint64_t end)
{
	for (int i = 0; i < r->nreserved; i++)
		if (start < r->reserved[i].end && r->reserved[i].start < end)
			return true;
	return false;
}

/* VmFlags of the last VMA added to p (line: one NUL-terminated line). */
static void nat_vmflags(struct scn_proc_snap *p, const char *line)
{
	struct scn_vma *v = &p->vmas[p->nvmas - 1];
	const char *f = line + strlen("VmFlags:");

	for (; *f; f++) {
		if (f[0] == ' ' && f[1] == 'd' && f[2] == 'c' &&
		    (f[3] == ' ' || !f[3]))
			v->dontcopy = true;
		if (f[0] == ' ' && f[1] == 'w' && f[2] == 'f' &&
		    (f[3] == ' ' || !f[3]))
			v->wipeonfork = true;
		if (f[0] == ' ' && f[1] == 'h' && f[2] == 'g' &&
		    (f[3] == ' ' || !f[3]))
			v->hugepage = true;
		if (f[0] == ' ' && f[1] == 'n' && f[2] == 'h' &&
		    (f[3] == ' ' || !f[3]))
			v->nohugepage = true;
	}
}

/* A lower-case hex number of at most 16 digits at *s; advances *s. */
static bool nat_hex(const char **s, uint64_t *v)
{
	const char *c = *s;
	uint64_t x = 0;
	int n = 0;

	for (;; c++, n++) {
		int d = *c >= '0' && *c <= '9' ? *c - '0' :
			*c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;

		if (d < 0)
			break;
		x = x << 4 | (uint64_t)d;
	}
	if (n == 0 || n > 16)
		return false;
	*s = c;
	*v = x;
	return true;
}

/*
 * A VMA header line of smaps ("start-end perms offset dev inode [path]");
 * false for the other lines.  A hand parser looking only at the start of
 * the line: sscanf() would first measure the rest of the whole buffer,
 * which made reading smaps quadratic in the number of VMAs.
 */
static bool nat_vma_header(const char *line, uint64_t *start, uint64_t *end,
			   char perms[4])
{
	const char *c = line;

	if (!nat_hex(&c, start) || *c++ != '-' || !nat_hex(&c, end) ||
	    *c++ != ' ')
		return false;
	for (int i = 0; i < 4; i++, c++) {
		if (!*c || *c == ' ')
			return false;
		perms[i] = *c;
	}
	return *c == ' ';
}

/* One line of smaps: a VMA header (added if in the window) or VmFlags. */
static int nat_smaps_line(const struct nat_run *r, struct scn_proc_snap *p,
			  const char *line, bool *cur)
{
	struct scn_vma v;
	uint64_t start, end;
	char perms[4];

	if (nat_vma_header(line, &start, &end, perms)) {
		*cur = start >= SCN_WINDOW_START && end <= SCN_WINDOW_END &&
		       !nat_reserved(r, start, end);
		if (!*cur)
			return 0;
		memset(&v, 0, sizeof(v));
		v.start = start;
		v.end = end;
		v.prot = perms[1] == 'w' ? SCN_PROT_RW :
			 perms[0] == 'r' ? SCN_PROT_R : SCN_PROT_NONE;
		return scn_proc_add_vma(p, &v);
	}
	if (*cur && !strncmp(line, "VmFlags:", 8))
		nat_vmflags(p, line);
	if (*cur && !strncmp(line, "AnonHugePages:", 14))
		p->vmas[p->nvmas - 1].anon_huge =
			strtoull(line + 14, NULL, 10) * 1024;
	return 0;
}

/* The VMAs in the window of slot's process, from its smaps; linear. */
int nat_read_vmas(struct nat_run *r, int slot, struct scn_proc_snap *p)
{
	char path[64], *buf, *line, *nl;
	bool cur = false;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)r->w[slot].pid);
	rc = nat_slurp(path, &buf);
	if (rc)
		return nat_fail(r, rc, "%s: %s", path, strerror(-rc));
	for (line = buf; line && *line && !rc; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		rc = nat_smaps_line(r, p, line, &cur);
	}
	free(buf);
	return rc ? nat_fail(r, rc, "out of memory") : 0;
}

static int nat_read_vma_ptes(struct nat_run *r, int pmfd,
			     const struct scn_vma *v, struct scn_proc_snap *p);

/* Turn one pagemap entry into a page (contents: see nat_hash_vma). */
static void nat_page(struct nat_run *r, uint64_t addr, uint64_t e,
		     struct scn_page *pg)
{
	uint64_t cnt;

	memset(pg, 0, sizeof(*pg));
	pg->addr = addr;
	if (e & PM_SWAP) {
		pg->state = SCN_PTE_SWAP;
		pg->frame = e & PM_PFN_MASK;	/* swap type and offset */
		return;
	}
	if (!(e & PM_PRESENT)) {
		/* Nothing there yet: the process would fault in zeroes. */
		pg->has_hash = true;
		pg->hash = r->zero_hash;
		return;
	}
	pg->state = SCN_PTE_PRESENT;
	pg->frame = e & PM_PFN_MASK;
	pg->zero = pg->frame == r->zero_pfn;
	pg->exclusive = !!(e & PM_EXCLUSIVE);
	if (!nat_pread_u64(r->kpc, pg->frame, &cnt))
		pg->mapcount = (uint32_t)cnt;
	if (!pg->zero)
		nat_page_folio(r, pg);
	if (pg->zero) {
		pg->has_hash = true;
		pg->hash = r->zero_hash;
	}
}

int nat_read_vma_pages(struct nat_run *r, int pmfd,
			      const struct scn_vma *v, struct scn_proc_snap *p)
{
	size_t first = p->npages;
	bool large = false;
	int rc;

	r->folio_head = NAT_NO_PFN;	/* folios of an earlier look may be gone */
	rc = nat_read_vma_ptes(r, pmfd, v, p);
	if (rc)
		return rc;
	for (size_t k = first; k < p->npages; k++)
		large |= p->pages[k].order > 0 || p->pages[k].huge_zero;
	/* Only where a large folio is: most snapshots have none. */
	rc = large ? nat_mark_pmd(pmfd, v->start, v->end, p->pages + first,
				  p->npages - first) : 0;
	if (rc == -ENOTTY || rc == -EINVAL)
		return nat_fail(r, -EPERM, "this kernel has no PAGEMAP_SCAN "
				"(Linux 6.7): cannot tell PMD-mapped THPs");
	return rc ? nat_fail(r, rc, "PAGEMAP_SCAN: %s", strerror(-rc)) : 0;
}

static int nat_read_vma_ptes(struct nat_run *r, int pmfd,
			     const struct scn_vma *v, struct scn_proc_snap *p)
{
	uint64_t e[NAT_CHUNK];
	struct scn_page pg;

	for (uint64_t a = v->start; a < v->end; a += NAT_CHUNK * SCN_PAGE_SIZE) {
		uint64_t n = (v->end - a) / SCN_PAGE_SIZE;
		ssize_t got;

		n = n < NAT_CHUNK ? n : NAT_CHUNK;
		got = pread(pmfd, e, n * sizeof(e[0]),
			    (off_t)(a / SCN_PAGE_SIZE * sizeof(e[0])));
		if (got != (ssize_t)(n * sizeof(e[0])))
			return nat_fail(r, got < 0 ? -errno : -EIO,
					"reading pagemap at 0x%" PRIx64 ": %s", a,
					got < 0 ? strerror(errno) : "short read");
		for (uint64_t i = 0; i < n; i++) {
			nat_page(r, a + i * SCN_PAGE_SIZE, e[i], &pg);
			if (scn_proc_add_page(p, &pg))
				return nat_fail(r, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* The frames present in [st->addr, +pages) of slot's process (at most max). */
size_t nat_range_pfns(struct nat_run *r, int slot,
			     const struct scn_stmt *st, uint64_t *pfns,
			     size_t max)
{
	char path[64];
	uint64_t e[NAT_CHUNK];
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)r->w[slot].pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (uint64_t i = 0; i < st->pages && n < max; i += NAT_CHUNK) {
		uint64_t k = st->pages - i < NAT_CHUNK ? st->pages - i : NAT_CHUNK;
		ssize_t got = pread(fd, e, k * sizeof(e[0]),
				    (off_t)((st->addr / SCN_PAGE_SIZE + i) *
					    sizeof(e[0])));

		if (got <= 0)
			break;
		for (uint64_t j = 0; j < (uint64_t)got / sizeof(e[0]) && n < max; j++)
			if ((e[j] & PM_PRESENT) && !(e[j] & PM_SWAP) &&
			    (e[j] & PM_PFN_MASK) && (e[j] & PM_PFN_MASK) != r->zero_pfn)
				pfns[n++] = e[j] & PM_PFN_MASK;
	}
	close(fd);
	return n;
}

/* The zero page's PFN: read-fault a fresh private anonymous page. */
int nat_find_zero_pfn(struct nat_run *r)
{
	static const unsigned char zeros[SCN_PAGE_SIZE];
	volatile unsigned char *p;
	uint64_t e = 0;
	int fd, rc;

	r->zero_hash = scn_hash_page(zeros);
	p = mmap(NULL, SCN_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return nat_fail(r, -errno, "mmap: %s", strerror(errno));
	madvise((void *)p, SCN_PAGE_SIZE, MADV_NOHUGEPAGE);
	(void)p[0];
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : nat_pread_u64(fd, (uintptr_t)p / SCN_PAGE_SIZE, &e);
	if (fd >= 0)
		close(fd);
	munmap((void *)p, SCN_PAGE_SIZE);
	if (rc)
		return nat_fail(r, -EPERM, "cannot read /proc/self/pagemap: %s",
				strerror(-rc));
	if (!(e & PM_PRESENT) || !(e & PM_PFN_MASK))
		return nat_fail(r, -EPERM, "/proc/self/pagemap hides PFNs "
				"(needs CAP_SYS_ADMIN)");
	r->zero_pfn = e & PM_PFN_MASK;
	return 0;
}

bool nat_swap_active(void)
{
	char *buf, *nl;
	bool on;

	if (nat_slurp("/proc/swaps", &buf))
		return false;
	nl = strchr(buf, '\n');
	on = nl && nl[1] != '\0';	/* a line after the header */
	free(buf);
	return on;
}

/* The host's RAM (MemTotal of /proc/meminfo) in bytes; 0 if unknown. */
uint64_t nat_mem_total(void)
{
	char *buf, *v;
	uint64_t kib = 0;

	if (nat_slurp("/proc/meminfo", &buf))
		return 0;
	v = strstr(buf, "MemTotal:");
	if (v)
		kib = strtoull(v + strlen("MemTotal:"), NULL, 10);
	free(buf);
	return kib * 1024;
}

bool nat_node_exists(int node)
{
	char path[64];

	if (access("/sys/devices/system/node", F_OK))
		return node == 0;	/* a kernel without NUMA: one node */
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return !access(path, F_OK);
}

/* Ranges of the window that this process (and so every worker) maps. */
int nat_find_reserved(struct nat_run *r)
{
	char *buf, *line;
	uint64_t start, end;
	int rc = nat_slurp("/proc/self/maps", &buf);

	if (rc)
		return nat_fail(r, rc, "/proc/self/maps: %s", strerror(-rc));
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2 ||
		    end <= SCN_WINDOW_START || start >= SCN_WINDOW_END)
			continue;
		if (r->nreserved == NAT_MAX_RESERVED)
			break;
		r->reserved[r->nreserved].start = start;
		r->reserved[r->nreserved++].end = end;
	}
	free(buf);
	return 0;
}

/*
 * The scheduler state of pid (the letter of /proc/PID/stat: R running or
 * runnable, S asleep, D waiting in the kernel, Z ...), or '?'; and where in
 * the kernel it sleeps (/proc/PID/wchan) in wchan ("" if unknown).
 */
char nat_proc_state(pid_t pid, char *wchan, size_t len)
{
	char path[64], buf[512], *p;
	char state = '?';
	ssize_t n;
	int fd;

	if (len)
		wchan[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return state;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');	/* after the command name, which may hold ')' */
	if (p && p[1] == ' ' && p[2])
		state = p[2];
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !len)
		goto out;
	n = read(fd, wchan, len - 1);
	wchan[n > 0 ? n : 0] = '\0';
	if (!strcmp(wchan, "0"))
		wchan[0] = '\0';
out:
	if (fd >= 0)
		close(fd);
	return state;
}

/*
 * How long to wait for a worker.  A worker answers within milliseconds
 * unless the kernel holds it: a fault waiting for swap-in I/O, direct
 * reclaim or its throttling, a folio lock or writeback, mmap_lock, a
 * kworker flushing per-CPU LRU batches (move_pages), or simply no CPU (all
 * workers share one, and the host may be busy).  Then it is running or
 * runnable (R) or waiting uninterruptibly in the kernel (D).  So the clock
 * that runs out after idle_ms counts only the time a worker spends in
 * neither state (asleep, stopped): a worker that should have answered but
 * has not.  One held in the kernel or running is waited for up to max_ms
 * in all.  Either way the message says in what state and where in the
 * kernel it last was.
 */
void nat_clock_start(struct nat_clock *c, int idle_ms, int max_ms)
{
	memset(c, 0, sizeof(*c));
	c->last = nat_now_ms();
	c->idle_ms = idle_ms;
	c->max_ms = max_ms;
}

bool nat_clock_out(struct nat_clock *c, pid_t pid, char *why, size_t len)
{
	int64_t now = nat_now_ms(), dt = now - c->last;
	char wchan[64], state = nat_proc_state(pid, wchan, sizeof(wchan));
	const char *what;

	/* time between two looks, so that a jump of the clock (a paused VM)
	   does not count */
	dt = dt < 0 ? 0 : dt > NAT_CLOCK_STEP_MS ? NAT_CLOCK_STEP_MS : dt;
	c->last = now;
	c->total += dt;
	c->idle = state == 'R' || state == 'D' ? 0 : c->idle + dt;
	if (c->idle < c->idle_ms && c->total < c->max_ms)
		return false;
	what = state == 'D' ? "waiting in the kernel" :
	       state == 'R' ? "running or waiting for a CPU" :
	       state == 'T' || state == 't' ? "stopped" : "asleep";
	snprintf(why, len, "within %.1f s (%s%s%s)", (double)c->total / 1000,
		 what, wchan[0] ? " in " : "", wchan);
	return true;
}
