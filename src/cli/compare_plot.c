/* SPDX-License-Identifier: MIT */
/* Placeholder until the sweep and plot code lands (next commit). */
#include <stdio.h>
#include "cli/cli.h"
#include "cli/compare.h"

int cmp_plot(const struct cmp_opts *o, struct wl_result (*cells)[CMP_MAX_DESIGNS])
{
	fprintf(stderr, "anonvm compare: --plot is not implemented yet\n");
	return -1;
}
