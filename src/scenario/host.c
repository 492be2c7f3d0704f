/* SPDX-License-Identifier: MIT */
/*
 * What the host kernel allows a scenario process, for the library to
 * allow the same: the room vm.max_map_count leaves it, and how much
 * memory one call may commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include "anonvm/anonvm.h"
#include "scenario/scenario.h"

static unsigned long host_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? v : AVM_DEFAULT_MAX_MAP_COUNT;
}

/*
 * VMAs of this process ([vsyscall] is no VMA).  Called before a scenario
 * maps anything, all of them are its own: in sanitizer builds that
 * includes ASan's shadow, which lies in the window.
 */
static unsigned long own_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long n = 0;
	char line[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		size_t len = strlen(line);

		if (sscanf(line, "%llx-%llx", &start, &end) == 2 &&
		    !strstr(line, "[vsyscall]"))
			n++;
		while (len && line[len - 1] != '\n' && fgets(line, sizeof(line), f))
			len = strlen(line);	/* the rest of a long line */
	}
	fclose(f);
	return n;
}

unsigned long scn_host_overcommit_pages(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	struct sysinfo si;
	int mode = 0;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = 0;
		fclose(f);
	}
	if (mode == 1 || sysinfo(&si))
		return ~0UL;		/* always overcommit */
	return (unsigned long)((si.totalram + si.totalswap) *
			       (unsigned long long)si.mem_unit / SCN_PAGE_SIZE);
}

unsigned long scn_host_map_room(void)
{
	unsigned long max = host_max_map_count(), own = own_mappings();

	return own < max ? max - own : 1;
}
