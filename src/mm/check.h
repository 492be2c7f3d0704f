/* SPDX-License-Identifier: MIT */
/* The invariant checker's context, shared with the designs' checkers. */
#ifndef AVM_MM_CHECK_H
#define AVM_MM_CHECK_H

#include <stddef.h>
#include "mm/mm_types.h"

struct check_ctx {
	struct avm_sys *sys;
	char *msg;
	size_t len;
	int failed;
	unsigned long steps;	/* objects and links visited (for tests:
				   the checker stays linear in its input) */
};

/* avm_check, also counting its steps into *steps (may be NULL). */
int check_system(struct avm_sys *sys, char *msg, size_t len,
		 unsigned long *steps);

/* Record the first violation; returns -EUCLEAN. */
int check_fail(struct check_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define CHECK(ctx, cond, ...) \
	do { if (!(cond)) return check_fail(ctx, __VA_ARGS__); } while (0)

#endif
