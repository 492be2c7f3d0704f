/* SPDX-License-Identifier: MIT */
/*
 * Mutexes and rwlocks with a class (lockdep.h): the slow paths, taken
 * while the validator, the statistics or the explorer's scheduler is on.
 * A blocking acquisition is validated before it may wait, so an inversion
 * is reported instead of hanging; it tries first, to tell a contended
 * acquisition.  Under the scheduler (sched.h) every acquisition and
 * release is a scheduling point, and a busy lock is waited for by running
 * other threads.
 */
#include "lib/lockdep_internal.h"
#include "lib/sched.h"

void avm_mutex_init(struct avm_mutex *m)
{
	pthread_mutex_init(&m->m, NULL);
}

void avm_mutex_destroy(struct avm_mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void avm_rwlock_init(struct avm_rwlock *l)
{
	pthread_rwlock_init(&l->l, NULL);
}

void avm_rwlock_destroy(struct avm_rwlock *l)
{
	pthread_rwlock_destroy(&l->l);
}

void avm_mutex_lock_slow(struct avm_mutex *m, struct lock_class *c,
			 unsigned int sub, const char *file, int line)
{
	uint64_t t0;

	lock_acquire(m, c, sub, 0, file, line);
	if (sched_controlled()) {
		sched_point(SK_ACQUIRE, c->name);
		while (pthread_mutex_trylock(&m->m))
			sched_wait(m, c->name);
		lock_acquired(m, false, 0);
		return;
	}
	if (!pthread_mutex_trylock(&m->m)) {
		lock_acquired(m, false, 0);
		return;
	}
	t0 = lockstat_clock();
	pthread_mutex_lock(&m->m);
	lock_acquired(m, true, lockstat_clock() - t0);
}

bool avm_mutex_trylock_slow(struct avm_mutex *m, struct lock_class *c,
			    const char *file, int line)
{
	if (sched_controlled())
		sched_point(SK_ACQUIRE, c->name);
	if (pthread_mutex_trylock(&m->m)) {
		lock_try_failed(c);
		return false;
	}
	lock_acquire(m, c, 0, LD_TRY, file, line);
	lock_acquired(m, false, 0);
	return true;
}

void avm_mutex_unlock_slow(struct avm_mutex *m, const char *file, int line)
{
	struct lock_class *c = lock_release(m, file, line);

	pthread_mutex_unlock(&m->m);
	if (sched_controlled()) {
		sched_wake(m);
		sched_point(SK_RELEASE, c ? c->name : "a lock");
	}
}

static int rw_try(struct avm_rwlock *l, unsigned int flags)
{
	return flags & LD_READ ? pthread_rwlock_tryrdlock(&l->l)
				 : pthread_rwlock_trywrlock(&l->l);
}

void avm_rwlock_lock_slow(struct avm_rwlock *l, struct lock_class *c,
			  unsigned int sub, unsigned int flags,
			  const char *file, int line)
{
	uint64_t t0;

	lock_acquire(l, c, sub, flags, file, line);
	if (sched_controlled()) {
		sched_point(SK_ACQUIRE, c->name);
		while (rw_try(l, flags))
			sched_wait(l, c->name);
		lock_acquired(l, false, 0);
		return;
	}
	if (!rw_try(l, flags)) {
		lock_acquired(l, false, 0);
		return;
	}
	t0 = lockstat_clock();
	if (flags & LD_READ)
		pthread_rwlock_rdlock(&l->l);
	else
		pthread_rwlock_wrlock(&l->l);
	lock_acquired(l, true, lockstat_clock() - t0);
}

bool avm_rwlock_trylock_slow(struct avm_rwlock *l, struct lock_class *c,
			     unsigned int flags, const char *file, int line)
{
	if (sched_controlled())
		sched_point(SK_ACQUIRE, c->name);
	if (rw_try(l, flags)) {
		lock_try_failed(c);
		return false;
	}
	lock_acquire(l, c, 0, flags | LD_TRY, file, line);
	lock_acquired(l, false, 0);
	return true;
}

void avm_rwlock_unlock_slow(struct avm_rwlock *l, const char *file, int line)
{
	struct lock_class *c = lock_release(l, file, line);

	pthread_rwlock_unlock(&l->l);
	if (sched_controlled()) {
		sched_wake(l);
		sched_point(SK_RELEASE, c ? c->name : "a lock");
	}
}
