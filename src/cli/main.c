/* SPDX-License-Identifier: MIT */
/* anonvm: the command.  One subcommand per file (cmd_*.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "anonvm/anonvm.h"
#include "cli/cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand commands[] = {
	{ "compare", cmd_compare, "every workload on every design, one table per workload (default)" },
	{ "demo", cmd_demo, "the seed workload on one design: 1 parent, N children, COW, walks" },
	{ "run", cmd_run, "run scenarios on the library, checking invariants" },
	{ "native", cmd_native, "run scenarios on the host kernel with real processes" },
	{ "diff", cmd_diff, "run scenarios on both and compare every result and state" },
	{ "explore", cmd_explore, "run a scenario's threads under every kind of schedule" },
	{ "fuzz", cmd_fuzz, "random scenarios against the reference model (and the kernel)" },
	{ "record", cmd_record, "record a real program's anonymous memory as a scenario" },
	{ "designs", cmd_designs, "list the reverse-map designs" },
};

int cli_progress_wanted(void)
{
	return isatty(STDERR_FILENO);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: anonvm [COMMAND] [OPTIONS] [FILE...]\n\n"
		   "A userspace model of Linux's anonymous memory and its anon_vma\n"
		   "reverse map.  Without a command, runs `compare`.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`anonvm COMMAND --help` describes each.  Exit status: 0 ok, "
		   "1 a problem was found,\n2 usage or input error, 77 cannot run "
		   "here.\n");
}

int cmd_designs(int argc, char **argv)
{
	const char *const *d = avm_designs();

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("usage: anonvm designs\nLists the reverse-map "
			       "designs selectable with --design.\n");
			return 0;
		}
		fprintf(stderr, "anonvm designs: unexpected argument '%s'\n",
			argv[1]);
		return EXIT_USAGE;
	}
	for (; *d; d++)
		printf("%-18s %s\n", *d, avm_design_summary(*d));
	return 0;
}

int main(int argc, char **argv)
{
	static char default_name[] = "compare";
	static char *default_argv[] = { default_name, NULL };

	if (argc < 2)
		return cmd_compare(1, default_argv);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (argv[1][0] == '-')		/* options of the default command */
		return cmd_compare(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "anonvm: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
