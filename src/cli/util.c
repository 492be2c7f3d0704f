/* SPDX-License-Identifier: MIT */
/* Helpers shared by the subcommands: options, designs, time, files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"
#include "scenario/scenario.h"

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool cli_design_known(const char *name)
{
	for (const char *const *d = avm_designs(); *d; d++)
		if (!strcmp(*d, name))
			return true;
	return false;
}

int cli_check_design(const char *cmd, const char *name)
{
	if (!name || avm_design_summary(name))
		return 0;
	fprintf(stderr, "anonvm %s: unknown design '%s' (see `anonvm designs`)\n",
		cmd, name);
	return -EINVAL;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s,
		  uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' ||
	    s[0] == ' ' || *v < min || *v > max) {
		fprintf(stderr, "anonvm %s: %s must be a number in %llu..%llu, "
			"not '%s'\n", cmd, opt, (unsigned long long)min,
			(unsigned long long)max, s);
		return -EINVAL;
	}
	return 0;
}

int cli_parse_rate(const char *cmd, const char *opt, const char *s, double *p)
{
	char *end;

	errno = 0;
	*p = strtod(s, &end);
	if (errno || end == s || *end || !(*p >= 0.0 && *p <= 1.0)) {
		fprintf(stderr, "anonvm %s: %s must be a probability in 0..1, "
			"not '%s'\n", cmd, opt, s);
		return -EINVAL;
	}
	return 0;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *name,
			  bool *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	*missing = false;
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

int cli_take_files(const char *cmd, int argc, char **argv, int i,
		   char ***files, int *nfiles)
{
	*files = argv + i;
	*nfiles = argc - i;
	if (!*nfiles) {
		fprintf(stderr, "anonvm %s: no scenario file given\n", cmd);
		return -1;
	}
	return 0;
}

void cli_for_each_file(char **files, int nfiles,
		       int (*one)(void *ctx, const struct scenario *s),
		       void *ctx, struct cli_tally *t)
{
	for (int i = 0; i < nfiles; i++) {
		struct scenario *s;
		char err[512];
		int rc;

		if (scn_parse_file(files[i], &s, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			t->worst = EXIT_USAGE;
			t->failed++;
			continue;
		}
		rc = one(ctx, s);
		scn_free(s);
		if (rc == EXIT_SKIP)
			t->skipped++;
		else if (rc)
			t->failed++;
		else
			t->passed++;
		if (rc != EXIT_SKIP && rc > t->worst)
			t->worst = rc;
	}
}

int cli_parse_thp(const char *cmd, const char *s, int *mode)
{
	int m = scn_thp_mode_from_name(s);

	if (m <= SCN_THP_HOST) {
		fprintf(stderr, "anonvm %s: --thp is never, madvise or always, "
			"not '%s'\n", cmd, s ? s : "");
		return -EINVAL;
	}
	*mode = m;
	return 0;
}
