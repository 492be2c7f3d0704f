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
#include "scenario/native.h"

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
 * includes ASan's shadow, which lies in the window.  Not the kernel
 * executor's khugepaged decoy, which its workers do not inherit.
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
		    !strstr(line, "[vsyscall]") && !nat_is_decoy(start, end))
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

#define THP_SYSFS	"/sys/kernel/mm/transparent_hugepage"

/* The bracketed word of a sysfs choice file ("always [madvise] never"). */
static bool host_choice(const char *path, char *word, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[256], *a, *b;

	if (!f)
		return false;
	a = fgets(line, sizeof(line), f);
	fclose(f);
	if (!a || !(a = strchr(line, '[')) || !(b = strchr(a, ']')))
		return false;
	*b = '\0';
	snprintf(word, len, "%s", a + 1);
	return true;
}

static enum scn_thp_mode host_mode_of(const char *word)
{
	return !strcmp(word, "always") ? SCN_THP_ALWAYS :
	       !strcmp(word, "madvise") ? SCN_THP_MADVISE : SCN_THP_NEVER;
}

/*
 * The one place that reads the host's THP settings, so that `run`,
 * `native` and `diff` default to the same mode.  Per-size files
 * (hugepages-NkB/enabled) give the mTHP orders; one that says "always" or
 * "madvise" while the global mode is never is not modelled (its order is
 * taken, the mode stays never).
 */
void scn_host_thp(struct scn_host_thp *h)
{
	char word[32], path[128];
	FILE *f;
	int v;

	memset(h, 0, sizeof(*h));
	h->mode = host_choice(THP_SYSFS "/enabled", word, sizeof(word)) ?
		  host_mode_of(word) : SCN_THP_NEVER;
	for (int order = 2; order <= AVM_PMD_ORDER; order++) {
		snprintf(path, sizeof(path), THP_SYSFS "/hugepages-%llukB/enabled",
			 (SCN_PAGE_SIZE << order) / 1024);
		if (!host_choice(path, word, sizeof(word)))
			continue;
		if (strcmp(word, "never") &&
		    (strcmp(word, "inherit") || h->mode != SCN_THP_NEVER))
			h->orders |= 1UL << order;
	}
	f = fopen(THP_SYSFS "/use_zero_page", "r");
	if (f) {
		if (fscanf(f, "%d", &v) == 1)
			h->no_zero_page = v == 0;
		fclose(f);
	}
}

enum scn_thp_mode scn_thp_mode(const struct scenario *s,
			       enum scn_thp_mode over)
{
	struct scn_host_thp h;

	if (over != SCN_THP_HOST)
		return over;
	if (s->thp != SCN_THP_HOST)
		return s->thp;
	scn_host_thp(&h);
	return h.mode;
}
