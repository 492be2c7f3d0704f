/* SPDX-License-Identifier: MIT */
/*
 * The anonvm command: one file per subcommand (cmd_NAME.c), each with
 * `int cmd_NAME(int argc, char **argv)` where argv[0] is the subcommand name.
 * Exit codes: 0 success, 1 the run found a problem (divergence, failed
 * expectation or check), 2 usage or input error, 77 cannot run here (skip).
 */
#ifndef AVM_CLI_H
#define AVM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_PROBLEM	1
#define EXIT_USAGE	2
#define EXIT_SKIP	77

int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_native(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_fuzz(int argc, char **argv);
int cmd_designs(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_explore(int argc, char **argv);

/* True when stderr is a terminal: long runs then show progress there. */
int cli_progress_wanted(void);

/* ---- util.c ---- */

/* Seconds on the monotonic clock. */
double cli_now(void);
/* Is name one of avm_designs()? */
bool cli_design_known(const char *name);
/* 0 if name is NULL or a design; else -EINVAL after saying so on stderr. */
int cli_check_design(const char *cmd, const char *name);
/*
 * Option values: a number (decimal or 0x hex) in [min, max], or a
 * probability in [0, 1].  -EINVAL after naming cmd, opt and s on stderr.
 */
int cli_parse_u64(const char *cmd, const char *opt, const char *s,
		  uint64_t min, uint64_t max, uint64_t *v);
int cli_parse_rate(const char *cmd, const char *opt, const char *s, double *p);
/* --thp MODE: never, madvise or always (an enum scn_thp_mode). */
int cli_parse_thp(const char *cmd, const char *s, int *mode);
/*
 * The value of option `name` at argv[*i], as "--name VALUE" or
 * "--name=VALUE"; NULL if argv[*i] is another option.  *missing when the
 * option is there but its value is not.
 */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name,
			  bool *missing);
/*
 * The scenario files: argv[i..argc).  -1 after printing "anonvm CMD: no
 * scenario file given" when there are none.
 */
int cli_take_files(const char *cmd, int argc, char **argv, int i,
		   char ***files, int *nfiles);

struct scenario;
/* Results of cli_for_each_file(); start from all zero. */
struct cli_tally {
	int passed, failed, skipped;
	int worst;		/* highest exit status but EXIT_SKIP */
};
/*
 * Parse each file and run one(ctx, scenario) on it: it returns 0 (passed),
 * EXIT_SKIP (skipped) or another exit status (failed).  A file that does
 * not parse is reported on stderr and fails with EXIT_USAGE.
 */
void cli_for_each_file(char **files, int nfiles,
		       int (*one)(void *ctx, const struct scenario *s),
		       void *ctx, struct cli_tally *t);

#endif
