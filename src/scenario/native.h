/* SPDX-License-Identifier: MIT */
/*
 * Private to the host-kernel executor (native.c: the controller,
 * native_worker.c: the worker processes, native_proc.c: the /proc readers).
 * The protocol between controller and worker, and the state of a run.
 */
#ifndef ANONVM_SCENARIO_NATIVE_H
#define ANONVM_SCENARIO_NATIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "scenario/scenario.h"

#define NAT_MPOL_MF_MOVE	(1 << 1)

/* /proc/PID/pagemap bits */
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_EXCLUSIVE		(1ULL << 56)
#define PM_SWAP			(1ULL << 62)
#define PM_PRESENT		(1ULL << 63)

/* /proc/kpageflags bits */
#define KPF_COMPOUND_HEAD	15
#define KPF_COMPOUND_TAIL	16
#define KPF_THP			22
#define KPF_ZERO_PAGE		24

#define NAT_NO_PFN		UINT64_MAX
#define NAT_CHUNK		512	/* pagemap entries per read */
#define NAT_MAX_RESERVED	16

/*
 * A command: perform a statement (st[0]); perform a batch of statements
 * st[0..nstmts) in turn, each answered in res[] (one round trip for a run
 * of plain statements of one process: see nat_batchable); or hash up to 64
 * pages (anywhere).
 */
enum { NAT_CMD_STMT, NAT_CMD_BATCH, NAT_CMD_HASH };
#define NAT_HASH_PAGES	64
#define NAT_BATCH	32

struct nat_cmd {
	int kind;
	int nstmts;		/* batch */
	struct scn_stmt st[NAT_BATCH];
	int npages;		/* hash: the pages are page[0..npages) */
	uint64_t page[NAT_HASH_PAGES];
};

struct nat_result {
	int err;		/* positive errno */
	int value;		/* read/expect: the byte; else -1 */
	char note[64];
};

/* A worker's answer to a command (also its greeting). */
struct nat_reply {
	int err;		/* positive errno */
	int value;		/* read/expect: the byte; else -1 */
	int pid;		/* greeting, fork: the (new) process */
	char note[64];
	int nres;		/* batch: res[0..nres) */
	struct nat_result res[NAT_BATCH];
	uint64_t hashed;	/* hash: bit i: page[i] could be read */
	uint64_t hash[NAT_HASH_PAGES];
};

struct nat_worker {
	pid_t pid;		/* 0: no live process in this slot */
	int fd;			/* controller's end of its socket */
};

/* What a worker is told at its start (a copy lives in every worker). */
struct nat_wcfg {
	pid_t ctl;		/* the controller */
	int cpu;		/* where the workers run (-1: anywhere) */
	uint64_t mem_limit;	/* bytes of address space a spawned worker may
				   add to what it inherits (0: no limit) */
	int thp_disable;	/* PR_SET_THP_DISABLE: 0 no; 1 yes (mode
				   never); 2 except where madvised (mode
				   madvise on an "always" host) */
};

struct nat_range {
	uint64_t start, end;
};

struct nat_run {
	const struct scenario *s;
	struct scn_trace *t;
	struct nat_worker *w;	/* one per slot */
	struct nat_wcfg wc;
	int kpc;		/* /proc/kpagecount */
	int kpf;		/* /proc/kpageflags */
	enum scn_thp_mode thp;	/* scn_native_opts.thp */
	uint64_t thp_fallback0, thp_collapse0;	/* /proc/vmstat at the start */
	uint64_t folio_head;	/* the last large folio seen: its head PFN */
	unsigned folio_order;	/* and order (folio_head NAT_NO_PFN: none) */
	uint64_t zero_pfn;
	bool limited;		/* the worker memory limit refused a statement */
	uint64_t zero_hash;
	bool swap;		/* some swap area is active */
	struct nat_range reserved[NAT_MAX_RESERVED];	/* window ranges the
							   controller maps */
	int nreserved;
	char *err;
	size_t errlen;
};

int nat_fail(struct nat_run *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *nat_name(const struct nat_run *r, int slot);
int64_t nat_now_ms(void);

/* native_chan.c: commands to a worker; 0 or a negative errno (nat_fail). */
#define NAT_SLICE_MS	250	/* how often a waiting controller looks */
int nat_call(struct nat_run *r, int slot, const struct nat_cmd *cmd,
	     int passfd, struct nat_reply *rep);
/* Have the acting process perform statement st. */
int nat_call_stmt(struct nat_run *r, const struct scn_stmt *st, int passfd,
		  struct nat_reply *rep);
/* Wait for a new worker's greeting. */
int nat_greeted(struct nat_run *r, int slot);
/* Kill and reap pid (> 0 only); 0 when reaped. */
int nat_kill(pid_t pid, int *status);

/* native_worker.c: the body of a spawned worker (fd: its socket). */
__attribute__((noreturn))
void nat_spawned(int fd, const struct nat_wcfg *wc);

/* native_proc.c: reading /proc; 0 or a negative errno (and nat_fail). */
int nat_slurp(const char *path, char **buf);
int nat_pread_u64(int fd, uint64_t idx, uint64_t *v);
bool nat_reserved(const struct nat_run *r, uint64_t start, uint64_t end);
int nat_read_vmas(struct nat_run *r, int slot, struct scn_proc_snap *p);
int nat_read_vma_pages(struct nat_run *r, int pmfd, const struct scn_vma *v,
		       struct scn_proc_snap *p);
/* native_thp.c: large folios.  The largest anonymous folio: a PMD's. */
#define NAT_MAX_ORDER		9
/* Fill pg's order and huge_zero (pg: present, frame set) from kpageflags. */
void nat_page_folio(struct nat_run *r, struct scn_page *pg);
/* Set pmd_mapped on the pages of pages[0..n) in [start, end) that a huge
   PMD maps (PAGEMAP_SCAN); 0 or -errno. */
int nat_mark_pmd(int pmfd, uint64_t start, uint64_t end,
		 struct scn_page *pages, size_t n);
/* /proc/vmstat counter name (0 if unknown); the THP note of a run. */
uint64_t nat_vmstat(const char *name);
void nat_thp_note(const struct nat_run *r, char *note, size_t len);
/* Keep khugepaged off the workers (once per process; native_thp.c). */
void nat_khugepaged_decoy(void);
/* Is [start, end) the decoy (workers do not inherit it: not their room)? */
bool nat_is_decoy(uint64_t start, uint64_t end);
/* What expect-thp sees at addr in slot's process (enum scn_thp_state). */
int nat_thp_state(struct nat_run *r, int slot, uint64_t addr);
size_t nat_range_pfns(struct nat_run *r, int slot, const struct scn_stmt *st,
		      uint64_t *pfns, size_t max);
int nat_find_zero_pfn(struct nat_run *r);
bool nat_swap_active(void);
bool nat_node_exists(int node);
uint64_t nat_mem_total(void);
int nat_find_reserved(struct nat_run *r);
char nat_proc_state(pid_t pid, char *wchan, size_t len);

/* Waiting for a worker: call nat_clock_out about every 250 ms (see
   native_proc.c). */
#define NAT_CLOCK_STEP_MS	1000	/* most one look may count */

struct nat_clock {
	int64_t last;		/* the last look */
	int64_t total, idle;	/* ms waited; ms it was neither R nor D */
	int idle_ms, max_ms;
};
void nat_clock_start(struct nat_clock *c, int idle_ms, int max_ms);
/* Has the wait for pid run out?  If so, why says how long and in what state. */
bool nat_clock_out(struct nat_clock *c, pid_t pid, char *why, size_t len);

#endif
