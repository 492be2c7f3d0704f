/* SPDX-License-Identifier: MIT */
/* RCU (lib/rcu.h): lazy registration of the library's reader threads. */
#include <pthread.h>
#include <stdbool.h>
/* the read side inlined (liburcu's LGPL inline functions; anonvm's MIT
   code may include them) */
#define _LGPL_SOURCE
#include "lib/rcu.h"

#ifdef __SANITIZE_THREAD__
/*
 * liburcu 0.13 orders readers and grace periods with barriers that
 * ThreadSanitizer cannot see; tell it what RCU guarantees: whatever a
 * reader did before leaving its read section happens before a callback
 * queued after that section began.
 */
#include <sanitizer/tsan_interface.h>
static char rcu_tsan_sync;
#define tsan_release(p)	__tsan_release(p)
#define tsan_acquire(p)	__tsan_acquire(p)

/* liburcu's own queues (call_rcu, rcu_barrier) synchronise the same
   invisible way: its internal frees are not ours to judge. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "called_from_lib:liburcu-memb.so\n"
	       "called_from_lib:liburcu-common.so\n"
	       "race:urcu_common_wake_up_gp\n"
	       "race:_urcu_memb_read_unlock_update_and_wakeup\n";
}
#else
#define tsan_release(p)	do { } while (0)
#define tsan_acquire(p)	do { } while (0)
#endif

static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;
static __thread bool registered;

static void reader_exit(void *arg)
{
	urcu_memb_unregister_thread();
	registered = false;
}

static void reader_key_init(void)
{
	pthread_key_create(&reader_key, reader_exit);
	/* a process that forks (the interleaving explorer, a user's
	   program) keeps a working call_rcu thread on both sides, as
	   liburcu asks */
	pthread_atfork(urcu_memb_call_rcu_before_fork,
		       urcu_memb_call_rcu_after_fork_parent,
		       urcu_memb_call_rcu_after_fork_child);
}

static void ensure_registered(void)
{
	if (__builtin_expect(registered, 1))
		return;
	pthread_once(&reader_once, reader_key_init);
	urcu_memb_register_thread();
	registered = true;
	/* the destructor runs at thread exit (not for the main thread,
	   which stays registered until the process ends) */
	pthread_setspecific(reader_key, &registered);
}

void avm_rcu_read_lock(void)
{
	ensure_registered();
	urcu_memb_read_lock();
}

void avm_rcu_read_unlock(void)
{
	tsan_release(&rcu_tsan_sync);
	urcu_memb_read_unlock();
}

void avm_rcu_cb_begin(struct rcu_head *head)
{
	tsan_acquire(&rcu_tsan_sync);	/* the readers' sections */
	tsan_acquire(head);		/* the writer that queued it */
}

void avm_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
	ensure_registered();
	tsan_release(head);
	urcu_memb_call_rcu(head, fn);
}

void avm_rcu_barrier(void)
{
	ensure_registered();
	urcu_memb_barrier();
}
