/* SPDX-License-Identifier: MIT */
/*
 * Locks with a validator (lockdep, much smaller) and statistics (lockstat).
 *
 * Every lock belongs to a class: a static struct lock_class named after
 * the field it protects ("mm->mmap_lock").  The class is given where the
 * lock is taken (the per-lock helpers in mm/locks.h bind it), so a lock
 * costs no memory beyond the pthread object.  With the validator on:
 *   - each thread keeps the stack of locks it holds;
 *   - the first time a class B is taken while A is held, the order A -> B
 *     is recorded with both acquisition sites; taking A while holding B
 *     afterwards (directly or through a chain of recorded orders) aborts,
 *     naming both orders;
 *   - taking a class already held aborts unless the second one carries a
 *     nesting annotation (subclass, as the kernel's *_lock_nested): each
 *     subclass orders as its own class;
 *   - a public entry point returning with a lock held aborts (the
 *     linker-wrapped API boundary, src/lib/api_check.c);
 *   - a trylock is neither ordered nor checked for recursion (it cannot
 *     wait), but what is taken under it is ordered after it.
 *
 * Built in unless CONFIG_LOCKDEP is off (make LOCKDEP=0); at run time on
 * by default in sanitizer builds, off in the release build, and as
 * $ANONVM_LOCKDEP (1 or 0) says when set.  Lock statistics need the same
 * hooks and are
 * collected only while avm_lockstat_enable(true) (src/lib/lockstat.c).
 */
#ifndef AVM_LIB_LOCKDEP_H
#define AVM_LIB_LOCKDEP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "lib/compiler.h"

#define LOCKDEP_SUBCLASSES	4
#define SINGLE_DEPTH_NESTING	1

struct lock_class_stats {
	atomic_ulong acquisitions, contentions;
	atomic_ulong wait_ns, wait_max_ns, hold_ns, hold_max_ns;
	/* of those, the shared (read) acquisitions of a rwlock */
	atomic_ulong read_acquisitions, read_wait_ns, read_hold_ns;
};

struct lock_class {
	const char *name;
	atomic_uint id;			/* 1-based once registered */
	struct lock_class_stats st;
};

#define DEFINE_LOCK_CLASS(var, str) struct lock_class var = { .name = (str) }

/* Flags of an acquisition. */
#define LD_READ	1u		/* shared (rwlock read side) */
#define LD_TRY	2u		/* trylock: cannot wait */

struct avm_mutex {
	pthread_mutex_t m;
};

struct avm_rwlock {
	pthread_rwlock_t l;
};

/* ---- hooks (lockdep.c), for locks of any kind ----------------------------- */

/* Held-lock tracking is on (validator or statistics): take the slow path. */
extern atomic_bool lock_tracking;
/* The validator is on. */
extern bool lockdep_on;

/*
 * Before waiting for lock (a blocking acquisition) or after a successful
 * trylock (flags & LD_TRY): validate and push it on this thread's stack.
 */
void lock_acquire(const void *lock, struct lock_class *c, unsigned int sub,
		  unsigned int flags, const char *file, int line);
/* lock, pushed last, is now held; it had to wait wait_ns (statistics). */
void lock_acquired(const void *lock, bool contended, uint64_t wait_ns);
/* A trylock of class c failed (lock statistics). */
void lock_try_failed(struct lock_class *c);
/* lock is being released (it must be held by this thread); its class,
   NULL if it was not tracked. */
struct lock_class *lock_release(const void *lock, const char *file, int line);
/* Locks this thread holds. */
unsigned int lockdep_depth(void);
/* An API function returns: it must leave as many locks held as it found. */
void lockdep_api_return(const char *fn, unsigned int depth);
/* Monotonic ns for wait times, 0 when statistics are off. */
uint64_t lockstat_clock(void);
/* The statistics are being collected. */
extern atomic_bool lockstat_on;
/* This thread holds lock (validator or statistics on). */
bool lockdep_held(const void *lock);

/*
 * Declare an order a -> b that no code may invert (the kernel's documented
 * lock order): recorded as if seen at "why".
 */
void lockdep_declare_order(struct lock_class *a, struct lock_class *b,
			   const char *why);

/* ---- mutex ------------------------------------------------------------------ */

void avm_mutex_init(struct avm_mutex *m);
void avm_mutex_destroy(struct avm_mutex *m);
void avm_mutex_lock_slow(struct avm_mutex *m, struct lock_class *c,
			 unsigned int sub, const char *file, int line);
bool avm_mutex_trylock_slow(struct avm_mutex *m, struct lock_class *c,
			    const char *file, int line);
void avm_mutex_unlock_slow(struct avm_mutex *m, const char *file, int line);

static inline void __avm_mutex_lock(struct avm_mutex *m, struct lock_class *c,
				    unsigned int sub, const char *file,
				    int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed))) {
		avm_mutex_lock_slow(m, c, sub, file, line);
		return;
	}
#endif
	pthread_mutex_lock(&m->m);
}

static inline bool __avm_mutex_trylock(struct avm_mutex *m,
				       struct lock_class *c, const char *file,
				       int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed)))
		return avm_mutex_trylock_slow(m, c, file, line);
#endif
	return pthread_mutex_trylock(&m->m) == 0;
}

static inline void __avm_mutex_unlock(struct avm_mutex *m, const char *file,
				      int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed))) {
		avm_mutex_unlock_slow(m, file, line);
		return;
	}
#endif
	pthread_mutex_unlock(&m->m);
}

#define avm_mutex_lock(m, c)	__avm_mutex_lock(m, c, 0, __FILE__, __LINE__)
#define avm_mutex_lock_nested(m, c, sub) \
	__avm_mutex_lock(m, c, sub, __FILE__, __LINE__)
/* true: taken */
#define avm_mutex_trylock(m, c)	__avm_mutex_trylock(m, c, __FILE__, __LINE__)
#define avm_mutex_unlock(m)	__avm_mutex_unlock(m, __FILE__, __LINE__)

/* ---- rwlock ----------------------------------------------------------------- */

void avm_rwlock_init(struct avm_rwlock *l);
void avm_rwlock_destroy(struct avm_rwlock *l);
void avm_rwlock_lock_slow(struct avm_rwlock *l, struct lock_class *c,
			  unsigned int sub, unsigned int flags,
			  const char *file, int line);
bool avm_rwlock_trylock_slow(struct avm_rwlock *l, struct lock_class *c,
			     unsigned int flags, const char *file, int line);
void avm_rwlock_unlock_slow(struct avm_rwlock *l, const char *file, int line);

static inline void __avm_rwlock_lock(struct avm_rwlock *l,
				     struct lock_class *c, unsigned int sub,
				     unsigned int flags, const char *file,
				     int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed))) {
		avm_rwlock_lock_slow(l, c, sub, flags, file, line);
		return;
	}
#endif
	if (flags & LD_READ)
		pthread_rwlock_rdlock(&l->l);
	else
		pthread_rwlock_wrlock(&l->l);
}

static inline bool __avm_rwlock_trylock(struct avm_rwlock *l,
					struct lock_class *c,
					unsigned int flags, const char *file,
					int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed)))
		return avm_rwlock_trylock_slow(l, c, flags, file, line);
#endif
	if (flags & LD_READ)
		return pthread_rwlock_tryrdlock(&l->l) == 0;
	return pthread_rwlock_trywrlock(&l->l) == 0;
}

static inline void __avm_rwlock_unlock(struct avm_rwlock *l, const char *file,
				       int line)
{
#ifdef CONFIG_LOCKDEP
	if (unlikely(atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed))) {
		avm_rwlock_unlock_slow(l, file, line);
		return;
	}
#endif
	pthread_rwlock_unlock(&l->l);
}

#define avm_read_lock(l, c) \
	__avm_rwlock_lock(l, c, 0, LD_READ, __FILE__, __LINE__)
#define avm_write_lock(l, c) \
	__avm_rwlock_lock(l, c, 0, 0, __FILE__, __LINE__)
#define avm_read_lock_nested(l, c, sub) \
	__avm_rwlock_lock(l, c, sub, LD_READ, __FILE__, __LINE__)
#define avm_write_lock_nested(l, c, sub) \
	__avm_rwlock_lock(l, c, sub, 0, __FILE__, __LINE__)
#define avm_read_trylock(l, c) \
	__avm_rwlock_trylock(l, c, LD_READ, __FILE__, __LINE__)
#define avm_write_trylock(l, c) \
	__avm_rwlock_trylock(l, c, 0, __FILE__, __LINE__)
#define avm_rwlock_unlock(l)	__avm_rwlock_unlock(l, __FILE__, __LINE__)

#endif
