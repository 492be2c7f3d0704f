/* SPDX-License-Identifier: MIT */
/*
 * The interleaving explorer (explore.h): one child process per schedule,
 * the scheduler's record in memory shared with it, its stderr in a file.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "scenario/explore.h"

struct shared {
	struct sched_record rec;
	char msg[2048];			/* the body's failure */
};

static const char *const kind_name[] = {
	[SK_START] = "start", [SK_POINT] = "point", [SK_ACQUIRE] = "lock",
	[SK_RELEASE] = "unlock", [SK_WAIT] = "wait", [SK_YIELD] = "yield",
	[SK_EXIT] = "exit",
};

static const char *const outcome_name[] = {
	[EX_PASS] = "pass", [EX_FAIL] = "fail", [EX_DEADLOCK] = "deadlock",
	[EX_CRASH] = "crash", [EX_TIMEOUT] = "timeout",
};

const char *explore_outcome_name(enum explore_outcome o)
{
	return outcome_name[o];
}

enum { CHILD_PASS, CHILD_FAIL, CHILD_DEADLOCK };

static _Noreturn void child(const struct explore_body *b,
			    const struct sched_config *cfg,
			    struct shared *sh, int errfd, unsigned int timeout)
{
	int rc;

	dup2(errfd, STDERR_FILENO);
	alarm(timeout);
	rc = b->run(b->ctx, cfg, &sh->rec, sh->msg, sizeof(sh->msg));
	if (rc == -EDEADLK || sh->rec.failed)
		_exit(CHILD_DEADLOCK);
	if (rc && !sh->msg[0])
		snprintf(sh->msg, sizeof(sh->msg), "failed (%d)", rc);
	_exit(rc ? CHILD_FAIL : CHILD_PASS);
}

/* The end of what the child wrote to stderr, appended to msg. */
static void append_stderr(FILE *err, char *msg, size_t len)
{
	size_t used = strlen(msg), n;
	long size;

	fflush(err);
	if (fseek(err, 0, SEEK_END) || (size = ftell(err)) <= 0)
		return;
	n = MIN((size_t)size, len - used - 1);
	if (n < 2)
		return;
	fseek(err, size - (long)(n - 1), SEEK_SET);
	msg[used++] = '\n';
	used += fread(msg + used, 1, n - 1, err);
	msg[used] = '\0';
}

static void classify(int st, struct shared *sh, FILE *err,
		     struct explore_run *out)
{
	out->msg[0] = '\0';
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);

		out->outcome = sig == SIGALRM ? EX_TIMEOUT : EX_CRASH;
		snprintf(out->msg, sizeof(out->msg), "%s (signal %d, %s)",
			 sig == SIGALRM ? "timed out" : "crashed", sig,
			 strsignal(sig));
		append_stderr(err, out->msg, sizeof(out->msg));
		return;
	}
	switch (WEXITSTATUS(st)) {
	case CHILD_PASS:
		out->outcome = EX_PASS;
		return;
	case CHILD_FAIL:
		out->outcome = EX_FAIL;
		snprintf(out->msg, sizeof(out->msg), "%s", sh->msg);
		return;
	case CHILD_DEADLOCK:
		out->outcome = EX_DEADLOCK;
		snprintf(out->msg, sizeof(out->msg), "%s", sh->rec.msg);
		return;
	default:
		out->outcome = EX_CRASH;
		snprintf(out->msg, sizeof(out->msg), "exited with status %d",
			 WEXITSTATUS(st));
		append_stderr(err, out->msg, sizeof(out->msg));
	}
}

static int run_one(const struct explore_body *b, const struct explore_opts *o,
		   const struct sched_config *cfg, struct shared *sh,
		   struct explore_run *out)
{
	FILE *err = tmpfile();
	pid_t pid;
	int st;

	if (!err)
		return -errno;
	memset(sh, 0, sizeof(*sh));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fclose(err);
		return -errno;
	}
	if (!pid)
		child(b, cfg, sh, fileno(err), o->timeout_s ? o->timeout_s : 20);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			fclose(err);
			return -errno;
		}
	out->seed = cfg->seed;
	out->rec = sh->rec;
	classify(st, sh, err, out);
	fclose(err);
	return 0;
}

unsigned int explore_preemptions(const struct sched_record *rec)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < rec->steps; i++)
		n += rec->preempt[i];
	return n;
}

static bool failing(const struct explore_run *r)
{
	return r->outcome != EX_PASS;
}

#define MAX_SHRINK_RUNS	4000

/* Run the forced choices cand[0, n); keep the result if it fails with
   fewer preemptions than res->shrunk. */
static int try_shrink(const struct explore_body *b,
		      const struct explore_opts *o, struct shared *sh,
		      struct explore_result *res, const uint8_t *cand,
		      unsigned int n, struct explore_run *t, bool *better)
{
	struct sched_config cfg = { .forced = cand, .nforced = n };
	int err = run_one(b, o, &cfg, sh, t);

	res->shrink_runs++;
	*better = !err && failing(t) && explore_preemptions(&t->rec) <
		  explore_preemptions(&res->shrunk.rec);
	if (*better) {
		t->seed = res->first.seed;
		res->shrunk = *t;
	}
	return err;
}

/*
 * Remove one preemption at a time (the preempted thread goes on instead;
 * later choices are kept where they still apply) while the schedule still
 * fails with fewer preemptions.
 */
static int shrink_greedy(const struct explore_body *b,
			 const struct explore_opts *o, struct shared *sh,
			 struct explore_result *res, uint8_t *cand,
			 struct explore_run *t)
{
	bool better = true;
	int err = 0;

	while (better && !err) {
		const struct sched_record *best = &res->shrunk.rec;

		better = false;
		for (unsigned int i = best->steps; i-- > 0 && !better && !err;) {
			if (!best->preempt[i])
				continue;
			memcpy(cand, best->choice, best->steps);
			cand[i] = best->from[i];
			err = try_shrink(b, o, sh, res, cand, best->steps, t,
					 &better);
		}
	}
	return err;
}

/*
 * Greedy removal can be stuck above the minimum (the failure may need its
 * one preemption somewhere else): try every schedule with one preemption,
 * the run without preemptions (serial) up to step s, then thread u.
 */
static int shrink_one(const struct explore_body *b,
		      const struct explore_opts *o, struct shared *sh,
		      struct explore_result *res, uint8_t *cand,
		      struct explore_run *t)
{
	const struct sched_record *serial = &res->serial;
	unsigned int nthreads = 0;
	bool better = false;
	int err = 0;

	for (unsigned int i = 0; i < serial->steps; i++)
		nthreads = MAX(nthreads, serial->choice[i] + 1u);
	memcpy(cand, serial->choice, serial->steps);
	for (unsigned int s = 1; s < serial->steps && !better && !err; s++) {
		for (unsigned int u = 0; u < nthreads && !better && !err; u++) {
			if (u == serial->from[s] || serial->kind[s] == SK_EXIT)
				continue;
			if (res->shrink_runs >= MAX_SHRINK_RUNS)
				return 0;
			cand[s] = (uint8_t)u;
			err = try_shrink(b, o, sh, res, cand, s + 1, t, &better);
			cand[s] = serial->choice[s];
		}
	}
	return err;
}

static int shrink(const struct explore_body *b, const struct explore_opts *o,
		  struct shared *sh, struct explore_result *res)
{
	struct explore_run *t = malloc(sizeof(*t));
	uint8_t *cand = malloc(SCHED_MAX_STEPS);
	int err = -ENOMEM;

	res->shrunk = res->first;
	if (t && cand)
		err = shrink_greedy(b, o, sh, res, cand, t);
	if (!err && explore_preemptions(&res->shrunk.rec) > 1 &&
	    res->serial.steps)
		err = shrink_one(b, o, sh, res, cand, t);
	if (!err)
		err = shrink_greedy(b, o, sh, res, cand, t);
	free(t);
	free(cand);
	return err;
}

static void log_run(const struct explore_opts *o, unsigned int i,
		    const struct explore_run *r)
{
	if (!o->log)
		return;
	fprintf(o->log, "schedule %u (seed %llu): %s, %u steps, %u "
		"preemptions\n", i, (unsigned long long)r->seed,
		outcome_name[r->outcome], r->rec.steps,
		explore_preemptions(&r->rec));
	fflush(o->log);
}

/* Schedules from seeds; PCT spreads its change points over the steps
   of the run without preemptions (deterministic for a body). */
static int search(const struct explore_body *b, const struct explore_opts *o,
		  struct shared *sh, struct explore_run *r,
		  struct explore_result *res)
{
	static const uint8_t none[1];
	struct sched_config cfg = { .forced = none, .nforced = 0 };
	unsigned int n = o->schedules ? o->schedules : 100;
	int err = run_one(b, o, &cfg, sh, r);

	if (err)
		return err;
	res->steps_est = r->rec.steps;
	res->serial = r->rec;
	if (failing(r)) {		/* fails even without preemption */
		res->ran = 1;
		res->failed = true;
		res->first = *r;
		return 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		cfg = (struct sched_config){
			.strategy = o->strategy, .seed = o->seed + i,
			.depth = o->depth ? o->depth : 2,
			.est_steps = res->steps_est,
		};
		err = run_one(b, o, &cfg, sh, r);
		if (err)
			return err;
		res->ran++;
		log_run(o, i, r);
		if (failing(r)) {
			res->failed = true;
			res->first = *r;
			return 0;
		}
	}
	return 0;
}

int explore(const struct explore_body *b, const struct explore_opts *o,
	    struct explore_result *res)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct explore_run *r = malloc(sizeof(*r));
	int err;

	memset(res, 0, sizeof(*res));
	if (sh == MAP_FAILED || !r) {
		if (sh != MAP_FAILED)
			munmap(sh, sizeof(*sh));
		free(r);
		return -ENOMEM;
	}
	if (o->replay) {
		struct sched_config cfg = { .forced = o->replay,
					    .nforced = o->nreplay };

		err = run_one(b, o, &cfg, sh, r);
		res->ran = 1;
		if (!err && failing(r)) {
			res->failed = true;
			res->first = *r;
		}
	} else {
		err = search(b, o, sh, r, res);
	}
	res->shrunk = res->first;
	if (!err && res->failed && o->shrink)
		err = shrink(b, o, sh, res);
	munmap(sh, sizeof(*sh));
	free(r);
	return err;
}

void explore_print_schedule(FILE *f, const struct sched_record *rec)
{
	for (unsigned int i = 0; i < rec->steps; i++) {
		if (rec->kind[i] != SK_START && rec->choice[i] == rec->from[i])
			continue;
		unsigned int from = rec->from[i] + 1, to = rec->choice[i] + 1;

		if (rec->kind[i] == SK_START)
			fprintf(f, "  step %u: thread %u starts\n", i, to);
		else if (rec->kind[i] == SK_EXIT)
			fprintf(f, "  step %u: thread %u ends; thread %u runs\n",
				i, from, to);
		else if (rec->kind[i] == SK_WAIT)
			fprintf(f, "  step %u: thread %u waits for %s; thread %u "
				"runs\n", i, from, rec->what[i], to);
		else
			fprintf(f, "  step %u: thread %u -> %u at %s %s%s\n", i,
				from, to, kind_name[rec->kind[i]], rec->what[i],
				rec->preempt[i] ? " (preempted)" : "");
	}
}

void explore_print_choices(FILE *f, const struct sched_record *rec)
{
	for (unsigned int i = 0; i < rec->steps;) {
		unsigned int j = i;

		while (j < rec->steps && rec->choice[j] == rec->choice[i])
			j++;
		fprintf(f, "%s%u:%u", i ? "," : "", rec->choice[i] + 1, j - i);
		i = j;
	}
}

int explore_parse_choices(const char *s, uint8_t *v, unsigned int max)
{
	unsigned int n = 0;

	while (*s) {
		char *end;
		unsigned long t = strtoul(s, &end, 10), k;

		if (end == s || *end != ':' || !t || t > SCHED_MAX_THREADS)
			return -1;
		s = end + 1;
		k = strtoul(s, &end, 10);
		if (end == s || !k || k > max - n || (*end && *end != ','))
			return -1;
		while (k--)
			v[n++] = (uint8_t)(t - 1);
		s = end;
		if (*s == ',' && !*++s)
			return -1;	/* a trailing comma */
	}
	return n ? (int)n : -1;
}
