/* SPDX-License-Identifier: MIT */
/*
 * The anonvm command: one file per subcommand (cmd_NAME.c), each with
 * `int cmd_NAME(int argc, char **argv)` where argv[0] is the subcommand name.
 * Exit codes: 0 success, 1 the run found a problem (divergence, failed
 * expectation or check), 2 usage or input error, 77 cannot run here (skip).
 */
#ifndef AVM_CLI_H
#define AVM_CLI_H

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

/* True when stderr is a terminal: long runs then show progress there. */
int cli_progress_wanted(void);

#endif
