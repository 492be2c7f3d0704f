/* SPDX-License-Identifier: MIT */
/*
 * The THP readers of the host-kernel executor (see native.c): a present
 * page's folio order and whether it is the huge zero page, from
 * /proc/kpageflags; whether it is mapped by a huge PMD, from the
 * PAGEMAP_SCAN ioctl of /proc/PID/pagemap (its PAGE_IS_HUGE category:
 * pagemap entries themselves do not say how a page is mapped).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "scenario/native.h"

/* The uapi of PAGEMAP_SCAN (Linux 6.7), for C libraries without it. */
struct nat_page_region {
	uint64_t start, end, categories;
};

struct nat_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define NAT_PAGE_IS_PRESENT	(1ULL << 3)
#define NAT_PAGE_IS_HUGE	(1ULL << 6)
#define NAT_PAGEMAP_SCAN	_IOWR('f', 16, struct nat_pm_scan_arg)

static bool kpf_bit(uint64_t f, int bit)
{
	return f & (1ULL << bit);
}

/*
 * The order of the compound page holding pfn (flags: its kpageflags): walk
 * back to the head, count the tails after it.  The last folio measured is
 * remembered, since a snapshot meets its 512 pages in a row.
 */
static unsigned nat_folio_order(struct nat_run *r, uint64_t pfn, uint64_t f)
{
	uint64_t head = pfn, n = 1, g;

	if (r->folio_head != NAT_NO_PFN && pfn >= r->folio_head &&
	    pfn < r->folio_head + (1ULL << r->folio_order))
		return r->folio_order;
	while (!kpf_bit(f, KPF_COMPOUND_HEAD) && head > 0 &&
	       pfn - head < (1ULL << NAT_MAX_ORDER)) {
		if (nat_pread_u64(r->kpf, --head, &f))
			return 0;
	}
	if (!kpf_bit(f, KPF_COMPOUND_HEAD))
		return 0;
	while (n < (1ULL << NAT_MAX_ORDER) &&
	       !nat_pread_u64(r->kpf, head + n, &g) &&
	       kpf_bit(g, KPF_COMPOUND_TAIL) && !kpf_bit(g, KPF_COMPOUND_HEAD))
		n++;
	r->folio_head = head;
	r->folio_order = 0;
	while ((1ULL << (r->folio_order + 1)) <= n)
		r->folio_order++;
	return r->folio_order;
}

void nat_page_folio(struct nat_run *r, struct scn_page *pg)
{
	uint64_t f;

	if (r->kpf < 0 || nat_pread_u64(r->kpf, pg->frame, &f) ||
	    !kpf_bit(f, KPF_THP))
		return;
	pg->order = (uint8_t)nat_folio_order(r, pg->frame, f);
	if (kpf_bit(f, KPF_ZERO_PAGE)) {
		pg->huge_zero = true;
		pg->zero = true;
	}
}

/*
 * Mark the pages of pages[0..n) (ascending, from start) that lie in
 * [start, end) and are mapped by a huge PMD.  Returns 0 or -errno (a
 * kernel without PAGEMAP_SCAN: -ENOTTY or -EINVAL).
 */
int nat_mark_pmd(int pmfd, uint64_t start, uint64_t end,
		 struct scn_page *pages, size_t n)
{
	struct nat_page_region reg[64];
	struct nat_pm_scan_arg a;
	size_t k = 0;
	long got;

	while (start < end) {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.start = start;
		a.end = end;
		a.vec = (uintptr_t)reg;
		a.vec_len = 64;
		a.category_mask = NAT_PAGE_IS_HUGE | NAT_PAGE_IS_PRESENT;
		a.return_mask = NAT_PAGE_IS_HUGE | NAT_PAGE_IS_PRESENT;
		got = ioctl(pmfd, NAT_PAGEMAP_SCAN, &a);
		if (got < 0)
			return -errno;
		for (long i = 0; i < got; i++) {
			while (k < n && pages[k].addr < reg[i].start)
				k++;
			for (; k < n && pages[k].addr < reg[i].end; k++)
				if (pages[k].state == SCN_PTE_PRESENT)
					pages[k].pmd_mapped = true;
		}
		if (a.walk_end <= start || got < 64)
			break;
		start = a.walk_end;
	}
	return 0;
}

/*
 * khugepaged.  It collapses the base pages of an aligned 2 MiB range of a
 * hugepage VMA into a THP on its own (max_ptes_none 511: one present page
 * is enough), in passes of pages_to_scan (4096) pages, 512 per PMD range,
 * every scan_sleep_millisecs (10 s); and when the first mm registers with
 * it (an madvise hugepage, a fault in such a VMA), it wakes at once.  That
 * raced with scenarios: a `hugepage` advised after a fault saw its pages
 * collapsed a few milliseconds later, in some runs.  So the controller
 * registers first, with a decoy: a large, never touched hugepage VMA of
 * its own (not inherited: MADV_DONTFORK).  khugepaged scans the mms in
 * the order they registered, so it spends its passes walking the decoy's
 * PMD ranges (cheap: no page tables) and reaches the workers, which
 * register after it, only after NAT_DECOY_BYTES / 2 MiB / 8 passes (hours).
 * khugepaged only looks at (and an mm only registers by) VMAs with an
 * anon_vma: a read fault gives the decoy one, mapping the huge zero page
 * (no memory).  Best effort: without it, runs are as before.
 */
#define NAT_DECOY_BYTES		(64ULL << 30)

static uintptr_t decoy_start, decoy_end;

bool nat_is_decoy(uint64_t start, uint64_t end)
{
	return decoy_end && start == decoy_start && end == decoy_end;
}

void nat_khugepaged_decoy(void)
{
	static bool done;
	void *p;

	if (done)
		return;
	done = true;
	p = mmap(NULL, NAT_DECOY_BYTES, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, NAT_DECOY_BYTES, MADV_DONTFORK) ||
	    madvise(p, NAT_DECOY_BYTES, MADV_HUGEPAGE)) {
		munmap(p, NAT_DECOY_BYTES);
		return;
	}
	/* the first 2 MiB-aligned address inside */
	(void)*(volatile char *)(((uintptr_t)p + (2 << 20) - 1) &
				 ~(uintptr_t)((2 << 20) - 1));
	decoy_start = (uintptr_t)p;
	decoy_end = decoy_start + NAT_DECOY_BYTES;
}

/* A /proc/vmstat counter; 0 if unknown. */
uint64_t nat_vmstat(const char *name)
{
	char *buf, *v;
	size_t n = strlen(name);
	uint64_t x = 0;

	if (nat_slurp("/proc/vmstat", &buf))
		return 0;
	for (v = buf; v && *v; v = strchr(v, '\n'), v = v ? v + 1 : NULL) {
		if (!strncmp(v, name, n) && v[n] == ' ') {
			x = strtoull(v + n + 1, NULL, 10);
			break;
		}
	}
	free(buf);
	return x;
}

/*
 * THP events the library does not model that happened on the host while
 * the scenario ran (host-wide counters: other processes count too).
 */
void nat_thp_note(const struct nat_run *r, char *note, size_t len)
{
	uint64_t fb = nat_vmstat("thp_fault_fallback") - r->thp_fallback0;
	uint64_t co = nat_vmstat("thp_collapse_alloc") - r->thp_collapse0;

	if (fb || co)
		snprintf(note, len, "during the run the host had %" PRIu64
			 " THP fault fallback(s) (no huge page to allocate) and "
			 "%" PRIu64 " khugepaged collapse(s) (/proc/vmstat)",
			 fb, co);
}

int nat_thp_state(struct nat_run *r, int slot, uint64_t addr)
{
	struct scn_page pg;
	char path[64];
	uint64_t e;
	int fd;

	memset(&pg, 0, sizeof(pg));
	addr &= ~(SCN_PAGE_SIZE - 1);
	pg.addr = addr;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)r->w[slot].pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SCN_THP_NONE;
	if (!nat_pread_u64(fd, addr / SCN_PAGE_SIZE, &e) &&
	    (e & PM_PRESENT) && !(e & PM_SWAP)) {
		pg.state = SCN_PTE_PRESENT;
		pg.frame = e & PM_PFN_MASK;
		r->folio_head = NAT_NO_PFN;
		nat_page_folio(r, &pg);
		nat_mark_pmd(fd, addr, addr + SCN_PAGE_SIZE, &pg, 1);
	}
	close(fd);
	return scn_page_thp_state(&pg);
}
