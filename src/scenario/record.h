/* SPDX-License-Identifier: MIT */
/*
 * Recording real programs as scenarios (`anonvm record`).
 *
 * record.c runs the program under ptrace, follows every fork, vfork, clone
 * and exec, and turns the anonymous-memory system calls into statements at
 * syscall exit; record_pages.c reads each process's /proc/PID/maps and
 * pagemap at its stops and turns what changed into page statements.  Every
 * statement is also applied to a shadow system of the library (design
 * `linux`, metadata only), so "what changed" is what the kernel has and the
 * model, fed with the recording so far, does not.
 */
#ifndef AVM_SCENARIO_RECORD_H
#define AVM_SCENARIO_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct scn_rec_opts {
	long max_events;	/* statements at most; 0: 1000000 */
	double max_seconds;	/* wall clock at most; 0: 600 */
};

/* What a recording holds and what it left out (the header comment). */
struct scn_rec_stats {
	long stmts;		/* statements written */
	long procs;		/* spawn + fork statements (one per mm) */
	long tasks;		/* tasks traced (threads included) */
	long execs;
	long syscalls;		/* syscall stops seen (entry) */
	long scans;		/* page-table scans */
	long max_vmas;		/* most anonymous VMAs of one mm at a scan */
	long max_pages;		/* most anonymous pages of one mm at a scan */
	long page_events;	/* pages that read, write, zap or swap statements
				   cover */
	long skip_file;		/* file-backed mappings: mmap calls skipped */
	long skip_shared;	/* shared mappings: mmap calls skipped */
	long skip_advice;	/* madvise advice outside the model */
	long skip_model;	/* operations the shadow model refused */
	long skip_swap;		/* swapped pages the model cannot swap (shared) */
	long skip_hidden;	/* pages the kernel hides (no PFN) */
	double seconds;
	int exit_status;	/* of the traced command (shell convention) */
	char stopped[160];	/* non-empty: why the recording stopped early */
};

/*
 * Run argv (argv[0] looked up in PATH) under ptrace and write the
 * recording to out.  Returns 0 when the command ran to its end, 1 when a
 * limit stopped it (st->stopped says which; the recording so far is
 * written, the processes are killed and reaped), -EPERM when ptrace or the
 * PFNs are not available (not root), or another negative errno with a
 * message in err.
 */
int scn_record(char *const argv[], const struct scn_rec_opts *o, FILE *out,
	       struct scn_rec_stats *st, char *err, size_t errlen);

/* ---- internal: shared by record.c and record_pages.c --------------------- */

struct avm_sys;
struct avm_mm;
struct rec;

/* Last pagemap word seen per page of one mm (open addressing). */
struct rec_pgtab {
	uint64_t *key;		/* page number + 1; 0: empty */
	uint64_t *val;
	size_t cap, used;
};

/* One mm of the traced program: a scenario process. */
struct rec_proc {
	int id;			/* name "pID" */
	int users;		/* tasks using the mm */
	int pid;		/* a task of it, for /proc */
	struct avm_mm *mm;	/* the shadow */
	uint64_t brk;		/* current program break; 0: unknown */
	struct rec_pgtab seen;
	bool dead;
};

struct rec {
	struct avm_sys *sys;
	FILE *body;		/* the statements (written after the header) */
	char *body_buf;
	size_t body_len;
	struct scn_rec_stats *st;
	const struct scn_rec_opts *o;
	int pagemap_fd_pid;	/* pid whose pagemap is open */
	int pagemap_fd, kpageflags_fd;
	uint64_t zero_pfn;	/* learnt from kpageflags; 0: not yet */
	int next_id;
	bool limit;		/* max_events reached */
};

/* Write a statement ("P ..." when p is set) and count it. */
void rec_emit(struct rec *r, const struct rec_proc *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Apply an address-space statement to the shadow and write it if the shadow
   accepted it. */
void rec_munmap(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len);
/* Does the shadow map any of [a, a + len)?  munmap only if it does. */
bool rec_mapped(struct rec_proc *p, uint64_t a, uint64_t len);
void rec_munmap_mapped(struct rec *r, struct rec_proc *p, uint64_t a,
		       uint64_t len);
void rec_mmap(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
	      int prot);
void rec_mprotect(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
		  int prot);
void rec_madvise(struct rec *r, struct rec_proc *p, uint64_t a, uint64_t len,
		 int advice);
void rec_mremap(struct rec *r, struct rec_proc *p, uint64_t old, uint64_t olen,
		uint64_t nlen, uint64_t result, bool dontunmap);
/* Bring the shadow of p in line with the kernel's state of task pid. */
int rec_scan(struct rec *r, struct rec_proc *p);
void rec_pgtab_free(struct rec_pgtab *t);
int rec_pgtab_copy(struct rec_pgtab *dst, const struct rec_pgtab *src);

#endif
