/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: the small language of docs/scenarios.md, its parsed form, and
 * the trace every executor (library, host kernel, reference model) produces
 * so that `anonvm diff` and `anonvm fuzz` can compare them.
 *
 * A scenario is linear (no branches), so the parser resolves process names
 * to slots and rejects statements about processes that are not alive: an
 * executor never has to handle a malformed program.
 */
#ifndef AVM_SCENARIO_H
#define AVM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SCN_PAGE_SIZE		4096ULL
#define SCN_WINDOW_START	0x100000000000ULL
#define SCN_WINDOW_END		0x200000000000ULL
#define SCN_USER_END		0x7ffffffff000ULL	/* TASK_SIZE on x86-64 */

enum scn_op {
	SCN_SPAWN,	/* spawn P */
	SCN_FORK,	/* P fork Q */
	SCN_EXIT,	/* P exit */
	SCN_MMAP,	/* P mmap ADDR PAGES PROT */
	SCN_MUNMAP,	/* P munmap ADDR PAGES */
	SCN_MPROTECT,	/* P mprotect ADDR PAGES PROT */
	SCN_MREMAP,	/* P mremap ADDR PAGES NEWPAGES [to NEWADDR [dontunmap]] */
	SCN_MADVISE,	/* P madvise ADDR PAGES ADVICE */
	SCN_WRITE,	/* P write ADDR BYTE */
	SCN_FILL,	/* P fill ADDR PAGES BYTE */
	SCN_READ,	/* P read ADDR */
	SCN_EXPECT,	/* P expect ADDR BYTE */
	SCN_MIGRATE,	/* P migrate ADDR PAGES NODE */
	SCN_CHECK,	/* check */
	SCN_EXPECT_THP,	/* P expect-thp ADDR STATE (enum scn_thp_state in byte) */
	SCN_NR_OPS
};

enum scn_prot { SCN_PROT_NONE, SCN_PROT_R, SCN_PROT_RW };

enum scn_advice {
	SCN_ADV_DONTNEED,
	SCN_ADV_DONTFORK,
	SCN_ADV_DOFORK,
	SCN_ADV_WIPEONFORK,
	SCN_ADV_KEEPONFORK,
	SCN_ADV_PAGEOUT,
	SCN_ADV_HUGEPAGE,	/* MADV_HUGEPAGE (smaps VmFlags "hg") */
	SCN_ADV_NOHUGEPAGE,	/* MADV_NOHUGEPAGE ("nh") */
	SCN_NR_ADVICE
};

/*
 * What `expect-thp` sees at an address (and the value of its result): no
 * page (not populated, swapped or migrating); a base page (order 0, the
 * base zero page included); a page of a large folio mapped by a PTE; one
 * mapped by a huge PMD; the huge zero page (mapped by a PMD).
 */
struct scenario;

enum scn_thp_state {
	SCN_THP_NONE, SCN_THP_BASE, SCN_THP_PTE, SCN_THP_PMD, SCN_THP_HUGE_ZERO,
	SCN_NR_THP_STATES
};
const char *scn_thp_state_name(int state);

/*
 * The THP mode a scenario runs under ("thp MODE" line, or --thp): as the
 * host's /sys/kernel/mm/transparent_hugepage/enabled (SCN_THP_HOST: read
 * it, scn_host_thp), or never / madvise / always.
 */
enum scn_thp_mode {
	SCN_THP_HOST, SCN_THP_NEVER, SCN_THP_MADVISE, SCN_THP_ALWAYS,
	SCN_NR_THP_MODES
};
const char *scn_thp_mode_name(enum scn_thp_mode m);
/* "never", "madvise", "always" (and "host"): the mode, or -1. */
int scn_thp_mode_from_name(const char *name);

/* The host's THP settings (/sys/kernel/mm/transparent_hugepage). */
struct scn_host_thp {
	enum scn_thp_mode mode;	/* enabled: never (if unreadable), madvise,
				   always */
	unsigned long orders;	/* bit n: hugepages-*kB of order n is not
				   never ("inherit" counts when mode is not
				   never) */
	bool no_zero_page;	/* use_zero_page is 0 */
};
void scn_host_thp(struct scn_host_thp *h);
/* The mode a run uses: over (a --thp option) unless SCN_THP_HOST, else
   the scenario's, else the host's. */
enum scn_thp_mode scn_thp_mode(const struct scenario *s,
			       enum scn_thp_mode over);

struct scn_stmt {
	enum scn_op op;
	int line;		/* 1-based source line */
	int proc;		/* slot of the acting process (-1 for check) */
	int child;		/* fork: slot of the new process; spawn: its slot */
	uint64_t addr;		/* byte address (page-aligned where PAGES given) */
	uint64_t pages;
	uint64_t new_pages;	/* mremap */
	uint64_t new_addr;	/* mremap ... to NEWADDR */
	bool to;		/* mremap has "to NEWADDR" (MAYMOVE|FIXED) */
	bool dontunmap;		/* mremap ... dontunmap */
	enum scn_prot prot;	/* mmap, mprotect */
	enum scn_advice advice;	/* madvise */
	int byte;		/* write, fill, expect: 0..255 */
	int node;		/* migrate */
	int expect_err;		/* "!ENAME": that errno (positive); 0: must succeed */
	int thread;		/* in a thread block: its number (1-based) in
				   its group; 0: the main sequence */
	int group;		/* thread blocks up to a `join`: 1, 2, ... */
};

/* Thread blocks of one group (before a `join`): at most this many. */
#define SCN_MAX_THREADS		8

/*
 * A slot is one process's life: spawn or fork opens it, exit closes it.  A
 * name may be reused after exit and then gets a new slot, so a slot index
 * names exactly one process everywhere in a trace.
 */
struct scenario {
	char *file;		/* name used in messages */
	char **slot_name;	/* process name of each slot */
	int nslots;
	struct scn_stmt *stmts;
	int nstmts;
	enum scn_thp_mode thp;	/* "thp MODE" line (or --thp): SCN_THP_HOST
				   if neither */
	/* "window START END": the address range of this scenario; 0, 0 (or
	   absent): [SCN_WINDOW_START, SCN_WINDOW_END).  Use the accessors. */
	uint64_t window_start, window_end;
};

/* Input bounds: bytes of a scenario file, bytes of a line (without EOL). */
#define SCN_MAX_FILE		(64 << 20)
#define SCN_MAX_LINE		4096

static inline uint64_t scn_window_start(const struct scenario *s)
{
	return s->window_end ? s->window_start : SCN_WINDOW_START;
}

static inline uint64_t scn_window_end(const struct scenario *s)
{
	return s->window_end ? s->window_end : SCN_WINDOW_END;
}

/* Does the scenario use the default window (the kernel executor's)? */
static inline bool scn_window_default(const struct scenario *s)
{
	return scn_window_start(s) == SCN_WINDOW_START &&
	       scn_window_end(s) == SCN_WINDOW_END;
}

/*
 * Parse; on error return -EINVAL and put "FILE:LINE:COL: message" in err.
 * scn_parse_file reads at most SCN_MAX_FILE + 1 bytes: more is -EFBIG
 * ("FILE: expected a scenario of at most ... bytes"); a read error is its
 * -errno ("FILE: strerror").  A FIFO blocks until its writer closes it.
 */
int scn_parse_file(const char *path, struct scenario **out, char *err, size_t errlen);
int scn_parse_string(const char *name, const char *text, struct scenario **out,
		     char *err, size_t errlen);
void scn_free(struct scenario *s);
/* Write the scenario back as text that parses to the same statements. */
int scn_format(const struct scenario *s, FILE *f);
/* Format one statement (no newline) into buf; returns buf. */
const char *scn_stmt_str(const struct scenario *s, const struct scn_stmt *st,
			 char *buf, size_t len);

const char *scn_op_name(enum scn_op op);
const char *scn_prot_name(enum scn_prot prot);
const char *scn_advice_name(enum scn_advice adv);
/* "EFAULT" for EFAULT; NULL if unknown.  And back: 0 if unknown. */
const char *scn_errno_name(int err);
int scn_errno_from_name(const char *name);

/*
 * A copy of s moved into the default window (relocate.c): the ranges it
 * touches, grouped into clusters less than 1 GiB apart, each moved as a
 * whole to [SCN_GEN_BASE, SCN_WINDOW_END) keeping its offset within 1 GiB.
 * For the kernel executor, whose workers map the program's own addresses.
 * Returns 0, *out and the number of clusters; -E2BIG if they do not fit,
 * -ENOMEM; a message in err.
 */
int scn_relocate(const struct scenario *s, struct scenario **out,
		 int *nclusters, char *err, size_t errlen);

/* ---- traces ------------------------------------------------------------ */

enum scn_pte_state { SCN_PTE_NONE, SCN_PTE_PRESENT, SCN_PTE_SWAP };

struct scn_page {
	uint64_t addr;
	uint8_t state;		/* enum scn_pte_state */
	bool zero;		/* present and the shared zero page */
	bool exclusive;		/* present, mapped exclusively (pagemap bit 56) */
	uint32_t mapcount;	/* present: number of PTEs mapping the frame */
	uint64_t frame;		/* present: frame number (PFN); meaningful only
				   for "same frame or not" comparisons */
	bool has_hash;		/* hash is valid (library and model only) */
	uint64_t hash;		/* FNV-1a of the 4096 bytes the process sees */
	/* present: large folios (THP) */
	uint8_t order;		/* the folio's order (0: a base page) */
	bool pmd_mapped;	/* mapped by a huge PMD here */
	bool huge_zero;		/* the huge zero page (zero is set too) */
};

/* The page's expect-thp state. */
enum scn_thp_state scn_page_thp_state(const struct scn_page *pg);

struct scn_vma {
	uint64_t start, end;
	enum scn_prot prot;
	bool dontcopy;		/* smaps VmFlags "dc" */
	bool wipeonfork;	/* smaps VmFlags "wf" */
	bool hugepage;		/* smaps VmFlags "hg" (madvise hugepage) */
	bool nohugepage;	/* smaps VmFlags "nh" (madvise nohugepage) */
	uint64_t anon_huge;	/* smaps AnonHugePages, bytes: the VMA's
				   PMD-mapped anonymous THPs (not the huge
				   zero page) */
};

struct scn_proc_snap {
	int slot;
	struct scn_vma *vmas;
	int nvmas;
	struct scn_page *pages;	/* every page of every VMA, ascending */
	size_t npages;
};

/* State of every live process at a `check` (or at the end: stmt == nstmts). */
struct scn_snapshot {
	int stmt;
	struct scn_proc_snap *procs;	/* ascending slot order */
	int nprocs;
};

struct scn_result {
	int err;		/* 0 or positive errno */
	int value;		/* read/expect: the byte loaded; else -1 */
	bool unsupported;	/* the executor cannot perform it (see note) */
	char note[64];		/* why unsupported, or other remark */
};

struct scn_trace {
	const char *executor;	/* "anonvm", "kernel", "model" */
	struct scn_result *results;	/* one per statement */
	int nresults;		/* < nstmts if the run stopped early */
	struct scn_snapshot *snaps;
	int nsnaps;
	char failure[256];	/* first unmet expectation / failed check */
	char note[160];		/* kernel: what else happened on the host
				   during the run that the library does not
				   model (THP fault fallbacks, khugepaged
				   collapses, from /proc/vmstat), or "" */
	/* anonvm with scn_lib_opts.fail_rate: statements during which an
	   allocation failed, and the first of them (-1: none) */
	int injected;
	int first_injected;
};

void scn_trace_init(struct scn_trace *t, const char *executor);
void scn_trace_free(struct scn_trace *t);
/* Append helpers; return -ENOMEM on allocation failure. */
int scn_trace_add_result(struct scn_trace *t, const struct scn_result *r);
struct scn_snapshot *scn_trace_add_snapshot(struct scn_trace *t, int stmt);
struct scn_proc_snap *scn_snapshot_add_proc(struct scn_snapshot *s, int slot);
int scn_proc_add_vma(struct scn_proc_snap *p, const struct scn_vma *v);
int scn_proc_add_page(struct scn_proc_snap *p, const struct scn_page *pg);
uint64_t scn_hash_page(const void *bytes);

/*
 * Did the statement meet its expectation (err == expect_err, and for
 * `expect` the loaded byte equals st->byte)?  If not, describe why in msg.
 */
bool scn_result_ok(const struct scenario *s, const struct scn_stmt *st,
		   const struct scn_result *r, char *msg, size_t len);

/* ---- executors and comparison (native.c, diff.c) ----------------------- */

/*
 * Run s on the host kernel with real processes (one worker process per
 * scenario process; `fork` really forks) and record what the kernel did in
 * *out as executor "kernel".  *out is initialised here; free it with
 * scn_trace_free() whatever the return value.  Statements the host cannot
 * perform (pageout without active swap, migrate to a missing node) get
 * unsupported = true and a note.  Contents (has_hash): pages not present
 * hash as zeroes, present pages of readable VMAs as read by their process;
 * swapped pages and present pages of PROT_NONE VMAs have none.  The workers
 * share one CPU, which makes the kernel's COW reuse decisions (per-CPU LRU
 * batches hold page references) reproducible.  Returns 0 when the scenario
 * ran to its end (whether or not every expectation was met: see
 * out->failure), else a negative errno and a message in err:
 *   -EPERM   cannot observe the kernel here (not root, no /proc/kpagecount,
 *            PFNs hidden): a caller should skip (exit 77);
 *   -EBUSY   the scenario uses addresses that this process already maps
 *            (e.g. ASan's shadow memory covers 0x100000000000-0x10007fff8000
 *            in sanitizer builds): also a reason to skip;
 *   -ETIMEDOUT, -EIO, -ENOMEM, ...: the run broke (a worker did not answer:
 *            asleep for SCN_NATIVE_TIMEOUT_MS, or held in the kernel or
 *            running for SCN_NATIVE_TIMEOUT_MAX_MS; or it died, or a
 *            resource ran out); the trace holds what ran before.
 */
#define SCN_NATIVE_TIMEOUT_MS		10000
#define SCN_NATIVE_TIMEOUT_MAX_MS	120000
int scn_run_native(const struct scenario *s, struct scn_trace *out, char *err,
		   size_t errlen);

/*
 * Options of the kernel executor; scn_run_native() uses the defaults.
 * worker_mem_limit: the bytes of address space each spawned worker may map
 * beyond what it inherits from the caller (RLIMIT_AS; a forked worker
 * inherits its parent's limit), so that a scenario cannot fill more than
 * that per process: past it the kernel refuses mmap and mremap with ENOMEM
 * (the result's note says so).  0: no limit.  Default: a quarter of the
 * host's RAM, at most SCN_NATIVE_MEM_LIMIT_DEFAULT (more than the library
 * runner's memory and swap together, so that the limit does not change
 * the kernel's answers on what the library can run).
 */
#define SCN_NATIVE_MEM_LIMIT_DEFAULT	(4ULL << 30)
/* The note of a result the worker memory limit refused (not the kernel's
   own rule: `diff` compares nothing from that statement on). */
#define SCN_NOTE_MEM_LIMIT	"over the worker memory limit, RLIMIT_AS"
struct scn_native_opts {
	uint64_t worker_mem_limit;
	enum scn_thp_mode thp;	/* SCN_THP_HOST: the scenario's (scn_thp_mode) */
};
void scn_native_opts_init(struct scn_native_opts *o);
int scn_run_native_opts(const struct scenario *s,
			const struct scn_native_opts *o, struct scn_trace *out,
			char *err, size_t errlen);

/* What scn_compare() looks at. */
enum {
	SCN_CMP_RESULTS = 1,	/* err and value of every statement */
	SCN_CMP_VMAS = 2,	/* exact VMA layouts and flags */
	SCN_CMP_SHARING = 4,	/* which (process, page) pairs share a frame */
	SCN_CMP_MAPCOUNT = 8,
	SCN_CMP_EXCLUSIVE = 16,
	SCN_CMP_SWAP = 32,	/* swapped or not */
	SCN_CMP_CONTENT = 64,	/* page hashes, where both sides have them */
	SCN_CMP_PAGEPROT = 128,	/* mapped pages and their prot, not VMA bounds */
	SCN_CMP_THP = 256,	/* per page: folio order, PMD-mapped, huge
				   zero page; per VMA: AnonHugePages */
	SCN_CMP_KERNEL = 1 | 2 | 4 | 8 | 16 | 32 | 256,
};

/*
 * Compare two traces of s.  Returns 0 if they agree on everything selected
 * by what; else 1 and a description of the first divergence (in statement
 * order) in msg, naming the executors by trace->executor; -ENOMEM (and a
 * message) if it ran out of memory.  See diff.c for how unsupported
 * statements, the zero page and pages only one side has are treated.
 */
int scn_compare(const struct scenario *s, const struct scn_trace *a,
		const struct scn_trace *b, unsigned what, char *msg, size_t len);

/* Canonical frame numbers (scn_snapshot_frame_ids). */
enum { SCN_FRAME_NONE = -1, SCN_FRAME_ZERO = -2 };

/*
 * Canonical frame numbers of one snapshot: (*ids)[k] belongs to the k-th
 * page counting through the processes in order and their pages in order:
 * 0, 1, 2... for present frames in order of first appearance, SCN_FRAME_ZERO
 * for the zero page, SCN_FRAME_NONE for a page that is not present.  *ids is
 * malloc'ed (NULL when there are no pages).  Returns the number of pages, or
 * -ENOMEM.
 */
long scn_snapshot_frame_ids(const struct scn_snapshot *sn, long **ids);

/* ---- reference model, generator, shrinker (model.c, gen.c, shrink.c) ---- */

/*
 * Run s on the reference model (executor "model"): each process a sorted
 * set of pages with prot, fork flags and bytes; no VMAs, no sharing.  *out
 * is initialised here; free it with scn_trace_free() whatever the return
 * value.  Snapshots carry, for every mapped page, its hash (has_hash) but
 * no page-table state (state SCN_PTE_NONE, no frame), and one VMA per run
 * of consecutive pages with equal prot and flags: compare them with
 * SCN_CMP_RESULTS | SCN_CMP_CONTENT | SCN_CMP_PAGEPROT.  Where Linux's
 * answer depends on whether two equal neighbouring VMAs were merged (an
 * mremap that grows, or shrinks with "to", across such a boundary), the
 * statement gets unsupported = true and the run stops there.  Returns 0
 * (see out->failure for unmet expectations), -ENOMEM, or -EINVAL for a
 * scenario the parser would not produce.
 */
int scn_run_model(const struct scenario *s, struct scn_trace *out);
/*
 * The same with a vm.max_map_count (scn_run_model: 65530): near it the
 * model decides mmap when its bounds on the VMA count agree, and stops
 * (unsupported) at other statements that may split VMAs.
 */
int scn_run_model_limit(const struct scenario *s, unsigned long max_map_count,
			struct scn_trace *out);

#define SCN_GEN_BASE		0x140000000000ULL

struct scn_gen_opts {
	uint64_t seed;		/* same seed and options: same scenario */
	int ops;		/* statements to generate (>= 1) */
	int max_procs;		/* live processes at most; 0: 4 */
	int max_pages;		/* pages of the region used; 0: 64 */
	bool native_safe;	/* no pageout, no migrate */
	bool thp;		/* also madvise hugepage/nohugepage, 2 MiB-
				   aligned addresses and whole-huge-page
				   lengths; max_pages 0 then means 2048 */
};

/*
 * A random valid scenario (it survives scn_format + scn_parse_string) of
 * exactly o->ops statements, without expectations: executors are compared
 * with each other, not with expected errors.  Addresses stay in a region of
 * o->max_pages pages at SCN_GEN_BASE (clear of ASan's shadow memory), so
 * operations collide often.  Returns 0, -EINVAL or -ENOMEM.
 */
int scn_generate(const struct scn_gen_opts *o, struct scenario **out);

/*
 * Shrink a failing scenario: remove chunks of statements (a removed spawn
 * or fork takes the process's statements with it), hand statements to older
 * processes, make numbers smaller; keep each candidate that is still valid
 * (it is formatted and parsed again) and still fails.
 * fails() returns 1 for "fails", 0 for "passes", a negative errno to stop.
 * The result uses one distinct name per process.  Returns 0 and *out, or
 * -EINVAL if s itself does not fail, -ENOMEM, or fails()'s error.
 */
int scn_shrink(const struct scenario *s,
	       int (*fails)(const struct scenario *cand, void *arg), void *arg,
	       struct scenario **out);


/* ---- the library executor (runner.c) ---------------------------------- */

struct avm_stats;

struct sched_config;
struct sched_record;

struct scn_lib_opts {
	const char *design;	/* NULL: the default design */
	unsigned int nodes;	/* memory nodes; 0: 2 (so migrate works) */
	bool payload_none;	/* metadata-only frames (no content hashes) */
	bool no_check;		/* skip avm_check at checks and at the end */
	bool no_expect;		/* generated scenarios: results are compared
				   with another executor, not expectations */
	struct avm_stats *stats;	/* if set: the counters at the end */
	double fail_rate;	/* > 0: fail each allocation with this
				   probability (avm_fail_random), run the
				   checker after every statement, and judge
				   expectations only before the first
				   statement an allocation failure hit */
	uint64_t fail_seed;
	unsigned long max_map_count;	/* VMAs a process may have in the
					   window; 0: scn_host_map_room() */
	unsigned long overcommit_pages;	/* 0: scn_host_overcommit_pages() */
	enum scn_thp_mode thp;	/* SCN_THP_HOST: the scenario's (scn_thp_mode) */
	/* Thread groups under the explorer's scheduler (scenario/explore.h)
	   instead of free-running threads: the schedule, and its record. */
	const struct sched_config *sched;
	struct sched_record *sched_rec;
};

/*
 * The host's vm.max_map_count (65530 if it cannot be read) minus the
 * mappings this process has now (libraries, stack, heap; call it before a
 * scenario maps anything): a process forked from it now - as the kernel
 * executor's workers are - may have that many VMAs of its own.
 */
unsigned long scn_host_map_room(void);
/*
 * The most pages one call may commit on the host: total RAM + swap (the
 * default heuristic, vm.overcommit_memory 0; also used for 2, whose
 * system-wide accounting is not modelled), ~0UL for 1 (always).
 */
unsigned long scn_host_overcommit_pages(void);

/*
 * Run s on libanonvm (executor "anonvm").  At every `check` and at the end
 * it records a snapshot (state of every live process, as `native` does;
 * "exclusive" means mapped once, as pagemap's bit 56) and runs the
 * invariant checker; a violation ends the run with out->failure set.
 * Returns 0 (see out->failure), or a negative errno if the system could not
 * be set up (message in err).
 */
int scn_run_lib(const struct scenario *s, const struct scn_lib_opts *o,
		struct scn_trace *out, char *err, size_t errlen);

struct avm_mm;
/*
 * One address-space or access statement (mmap ... migrate) on mm, as
 * scn_run_lib performs it; *value gets the byte a read or expect loaded.
 * Returns 0 or a negative errno; -EINVAL for spawn, fork, exit and check.
 */
int scn_lib_exec(struct avm_mm *mm, const struct scn_stmt *st, int *value);

#endif
