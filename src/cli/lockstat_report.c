/* SPDX-License-Identifier: MIT */
/* The lock statistics of a run (avm_lockstat), as text or JSON. */
#include <errno.h>
#include <inttypes.h>
#include "anonvm/anonvm.h"
#include "cli/lockstat_report.h"

#define MAX_CLASSES	64

int lockstat_report_start(const char *cmd)
{
	if (avm_lockstat_enable(true) == -ENOSYS) {
		fprintf(stderr, "anonvm %s: --lockstat: built without lock "
			"tracking (make LOCKDEP=0)\n", cmd);
		return -1;
	}
	return 0;
}

static long take(struct avm_lockstat *v)
{
	long n = avm_lockstat(v, MAX_CLASSES);

	return n > MAX_CLASSES ? MAX_CLASSES : n;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

void lockstat_report_text(FILE *f)
{
	struct avm_lockstat v[MAX_CLASSES];
	long n = take(v);

	fprintf(f, "\nlock statistics (times in us):\n");
	fprintf(f, "%-24s %12s %11s %12s %10s %12s %10s %12s %12s\n",
		"class", "acquisitions", "contentions", "wait total",
		"wait max", "hold total", "hold max", "read acq", "read hold");
	for (long i = 0; i < n; i++)
		fprintf(f, "%-24s %12lu %11lu %12.1f %10.1f %12.1f %10.1f "
			"%12lu %12.1f\n", v[i].name, v[i].acquisitions,
			v[i].contentions, us(v[i].wait_ns),
			us(v[i].wait_max_ns), us(v[i].hold_ns),
			us(v[i].hold_max_ns), v[i].read_acquisitions,
			us(v[i].read_hold_ns));
	if (!n)
		fprintf(f, "(no lock taken)\n");
}

json_t *lockstat_report_json(void)
{
	struct avm_lockstat v[MAX_CLASSES];
	long n = take(v);
	json_t *a = json_array();

	for (long i = 0; i < n; i++)
		json_array_append_new(a, json_pack(
			"{ss sI sI sI sI sI sI sI sI sI}", "class", v[i].name,
			"acquisitions", (json_int_t)v[i].acquisitions,
			"contentions", (json_int_t)v[i].contentions,
			"wait_ns", (json_int_t)v[i].wait_ns,
			"wait_max_ns", (json_int_t)v[i].wait_max_ns,
			"hold_ns", (json_int_t)v[i].hold_ns,
			"hold_max_ns", (json_int_t)v[i].hold_max_ns,
			"read_acquisitions", (json_int_t)v[i].read_acquisitions,
			"read_wait_ns", (json_int_t)v[i].read_wait_ns,
			"read_hold_ns", (json_int_t)v[i].read_hold_ns));
	return a;
}
