/* SPDX-License-Identifier: MIT */
/* Shared by the validator (lockdep.c), the locks (lock.c), the statistics
   (lockstat.c); not for lock users. */
#ifndef AVM_LIB_LOCKDEP_INTERNAL_H
#define AVM_LIB_LOCKDEP_INTERNAL_H

#include "lib/lockdep.h"

struct site {
	const char *file;
	int line;
};

struct held_lock {
	const void *lock;
	struct lock_class *c;
	const char *file;
	int line;
	uint16_t node;		/* class and subclass */
	uint8_t flags;		/* LD_READ, LD_TRY */
	uint64_t t_acq;		/* statistics: when taken, 0 if not timed */
};

/* Registered classes, in order of first use. */
extern struct lock_class *lock_classes[];
extern atomic_uint nr_lock_classes;

_Noreturn void lockdep_fatal(const char *what, const char *file, int line);
void lockstat_acquired(struct lock_class *c, uint64_t wait_ns, bool read,
		       bool contended);
void lockstat_released(struct lock_class *c, uint64_t hold_ns, bool read);

#endif
