/* SPDX-License-Identifier: MIT */
/*
 * The overcommit heuristic against the host kernel: with
 * vm.overcommit_memory 0 one call may commit at most total RAM + swap
 * pages (scn_host_overcommit_pages).  A forked child makes the calls at
 * and just past that bound - a writable mmap, mprotect making a read-only
 * mapping writable, mremap growing a writable one - and the library,
 * configured with the same bound, must answer each the same.  Nothing is
 * touched, so nothing is really committed.  Skips (77) in other modes.
 * Swap areas that come and go meanwhile (other tests) change the bound:
 * the child then tries again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "scenario/scenario.h"

#define B	0x140000000000UL
#define PG	4096UL
#define NOPS	9

struct answers {
	unsigned long limit;
	int err[NOPS];
};

/* Every call of the script, on the kernel (lib == NULL) or the library. */
static void script(struct avm_mm *lib, unsigned long limit, int *err)
{
	unsigned long big = (limit + 1) * PG, fit = limit * PG;
	int rw = PROT_READ | PROT_WRITE, k = 0;
	void *p;

#define K(call)	(err[k++] = (call) ? errno : 0)
#define L(call)	(err[k++] = -(call))
	if (!lib) {
		p = mmap((void *)B, big, rw, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
		err[k++] = p == MAP_FAILED ? errno : 0;
		p = mmap((void *)B, fit, rw, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
		err[k++] = p == MAP_FAILED ? errno : 0;
		K(munmap((void *)B, fit));
		p = mmap((void *)B, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
		err[k++] = p == MAP_FAILED ? errno : 0;
		K(mprotect((void *)B, big, rw));
		K(mprotect((void *)B, fit, rw));
		K(munmap((void *)B, big));
		p = mmap((void *)B, PG, rw, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
		err[k++] = p == MAP_FAILED ? errno : 0;
		p = mremap((void *)B, PG, PG + big, 0);
		err[k++] = p == MAP_FAILED ? errno : 0;
	} else {
		int arw = AVM_PROT_READ | AVM_PROT_WRITE, fx = AVM_MAP_FIXED_NOREPLACE;

		L(avm_mmap(lib, B, big, arw, fx, NULL));
		L(avm_mmap(lib, B, fit, arw, fx, NULL));
		L(avm_munmap(lib, B, fit));
		L(avm_mmap(lib, B, big, AVM_PROT_READ, fx, NULL));
		L(avm_mprotect(lib, B, big, arw));
		L(avm_mprotect(lib, B, fit, arw));
		L(avm_munmap(lib, B, big));
		L(avm_mmap(lib, B, PG, arw, fx, NULL));
		L(avm_mremap(lib, B, PG, PG + big, 0, 0, NULL));
	}
#undef K
#undef L
}

static void kernel_side(int fd)
{
	struct answers a;

	for (int tries = 0; tries < 5; tries++) {
		memset(&a, 0, sizeof(a));
		a.limit = scn_host_overcommit_pages();
		script(NULL, a.limit, a.err);
		munmap((void *)B, 2 * (a.limit + 2) * PG);
		if (scn_host_overcommit_pages() == a.limit)
			break;
	}
	if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
		_exit(4);
	_exit(0);
}

static void test_host(void **state)
{
	static const int want[NOPS] = {
		ENOMEM, 0, 0, 0, ENOMEM, 0, 0, 0, ENOMEM,
	};
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *mm;
	struct answers k;
	int fd[2], status, err[NOPS];
	char msg[256];
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fd[0]);
		kernel_side(fd[1]);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], &k, sizeof(k)), (ssize_t)sizeof(k));
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("host: one call may commit %lu pages\n", k.limit);

	avm_config_default(&cfg);
	cfg.node_frames = 1024;
	cfg.swap_slots = 0;
	cfg.overcommit_pages = k.limit;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	assert_int_equal(avm_mm_create(sys, &mm), 0);
	script(mm, k.limit, err);
	for (int i = 0; i < NOPS; i++) {
		if (err[i] != k.err[i] || err[i] != want[i])
			fprintf(stderr, "call %d: kernel %d, anonvm %d, "
				"expected %d\n", i, k.err[i], err[i], want[i]);
	}
	for (int i = 0; i < NOPS; i++) {
		assert_int_equal(k.err[i], want[i]);
		assert_int_equal(err[i], k.err[i]);
	}
	assert_int_equal(avm_check(sys, msg, sizeof(msg)), 0);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

/* The library's own default: its RAM (frames of every node) + swap. */
static void test_default(void **state)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *mm;
	int rw = AVM_PROT_READ | AVM_PROT_WRITE;

	avm_config_default(&cfg);
	cfg.nodes = 2;
	cfg.node_frames = 1000;
	cfg.swap_slots = 500;
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	assert_int_equal(avm_mm_create(sys, &mm), 0);
	assert_int_equal(avm_mmap(mm, B, 2501 * PG, rw, AVM_MAP_FIXED_NOREPLACE,
				  NULL), -ENOMEM);
	assert_int_equal(avm_mmap(mm, B, 2500 * PG, rw, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	/* the heuristic looks at one call, not at the total */
	assert_int_equal(avm_mmap(mm, B + 4000 * PG, 2500 * PG, rw,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	/* read-only memory commits nothing */
	assert_int_equal(avm_mmap(mm, B + 8000 * PG, 9000 * PG, AVM_PROT_READ,
				  AVM_MAP_FIXED_NOREPLACE, NULL), 0);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_default),
	};
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int mode = -1;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = -1;
		fclose(f);
	}
	if (mode != 0) {
		printf("skip: vm.overcommit_memory is %d, not the heuristic 0\n",
		       mode);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
