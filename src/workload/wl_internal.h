/* SPDX-License-Identifier: MIT */
/* Inside the workload module: the workloads, and what they share. */
#ifndef AVM_WL_INTERNAL_H
#define AVM_WL_INTERNAL_H

#include "workload/workload.h"

#define PG		AVM_PAGE_SIZE
#define RW		(AVM_PROT_READ | AVM_PROT_WRITE)

extern const struct workload wl_forking_server;
extern const struct workload wl_fork_chain;
extern const struct workload wl_mprotect_split;
extern const struct workload wl_mremap_after_fork;
extern const struct workload wl_fork_tree;
extern const struct workload wl_prefork;
extern const struct workload wl_snapshot;
extern const struct workload wl_fork_chain_exit;
extern const struct workload wl_contention;

/* Seconds on the monotonic clock. */
double wl_now(void);

#endif
