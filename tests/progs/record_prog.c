/* SPDX-License-Identifier: MIT */
/*
 * A small forking program whose anonymous-memory events at 0x140000000000
 * are known exactly (tests/record.c lists them).  Raw system calls between
 * the steps are the stops at which `anonvm record` scans the pages.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG	4096UL
#define BASE	((char *)0x140000000000UL)
#define AWAY	((char *)0x141000000000UL)

static void stop(void)
{
	syscall(SYS_getppid);		/* a syscall stop: a scan */
}

static void child(char *p)
{
	p[0] = 1;			/* COW break: a new frame */
	p[3 * PG] = 1;			/* the zero page replaced */
	stop();
	if (mremap(p + PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		   AWAY) != AWAY)
		_exit(3);
	munmap(AWAY, 2 * PG);
	_exit(0);
}

int main(void)
{
	volatile char *v;
	char *p = mmap(BASE, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	pid_t pid;
	int status;

	if (p != BASE)
		return 2;
	p[0] = p[PG] = p[2 * PG] = 1;	/* three write faults */
	v = p + 3 * PG;
	(void)*v;			/* a read fault: the zero page */
	stop();
	mprotect(p + 7 * PG, PG, PROT_READ);
	madvise(p + 6 * PG, PG, MADV_DONTNEED);
	pid = fork();
	if (pid < 0)
		return 2;
	if (!pid)
		child(p);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 3;
	p[PG] = 2;			/* reused in place: the child is gone */
	p[4 * PG] = 1;			/* a write fault */
	stop();
	munmap(p, 8 * PG);
	return 0;
}
