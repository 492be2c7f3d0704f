/* SPDX-License-Identifier: MIT */
/*
 * Lock statistics per class: acquisitions, contentions (the lock was
 * taken by someone else: a blocking acquisition had to wait, or a trylock
 * failed), total and longest wait and hold times.  Process-wide, like the
 * classes; collected only between avm_lockstat_enable(true) and (false).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "anonvm/anonvm.h"
#include "lib/lockdep_internal.h"

atomic_bool lockstat_on;

uint64_t lockstat_clock(void)
{
	struct timespec ts;

	if (!atomic_load_explicit(&lockstat_on, memory_order_relaxed))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void max_update(atomic_ulong *m, unsigned long v)
{
	unsigned long old = atomic_load_explicit(m, memory_order_relaxed);

	while (v > old &&
	       !atomic_compare_exchange_weak_explicit(m, &old, v,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

void lockstat_acquired(struct lock_class *c, uint64_t wait_ns, bool read,
		       bool contended)
{
	atomic_fetch_add_explicit(&c->st.acquisitions, 1,
				  memory_order_relaxed);
	if (read)
		atomic_fetch_add_explicit(&c->st.read_acquisitions, 1,
					  memory_order_relaxed);
	if (!contended)
		return;
	if (read)
		atomic_fetch_add_explicit(&c->st.read_wait_ns, wait_ns,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&c->st.contentions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->st.wait_ns, wait_ns,
				  memory_order_relaxed);
	max_update(&c->st.wait_max_ns, wait_ns);
}

void lockstat_released(struct lock_class *c, uint64_t hold_ns, bool read)
{
	if (read)
		atomic_fetch_add_explicit(&c->st.read_hold_ns, hold_ns,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&c->st.hold_ns, hold_ns,
				  memory_order_relaxed);
	max_update(&c->st.hold_max_ns, hold_ns);
}

void lock_try_failed(struct lock_class *c)
{
	if (atomic_load_explicit(&lockstat_on, memory_order_relaxed))
		atomic_fetch_add_explicit(&c->st.contentions, 1,
					  memory_order_relaxed);
}

static __attribute__((unused)) void stats_clear(struct lock_class_stats *st)
{
	atomic_store(&st->acquisitions, 0);
	atomic_store(&st->contentions, 0);
	atomic_store(&st->wait_ns, 0);
	atomic_store(&st->wait_max_ns, 0);
	atomic_store(&st->hold_ns, 0);
	atomic_store(&st->hold_max_ns, 0);
	atomic_store(&st->read_acquisitions, 0);
	atomic_store(&st->read_wait_ns, 0);
	atomic_store(&st->read_hold_ns, 0);
}

int avm_lockstat_enable(bool on)
{
#ifdef CONFIG_LOCKDEP
	if (on) {
		unsigned int n = atomic_load(&nr_lock_classes);

		for (unsigned int i = 0; i < n; i++)
			stats_clear(&lock_classes[i]->st);
		/* tracking stays on from now: held locks must be popped */
		atomic_store(&lock_tracking, true);
	}
	atomic_store(&lockstat_on, on);
	return 0;
#else
	return on ? -ENOSYS : 0;
#endif
}

long avm_lockstat(struct avm_lockstat *buf, size_t n)
{
	unsigned int nr = atomic_load(&nr_lock_classes);
	long out = 0;

	for (unsigned int i = 0; i < nr; i++) {
		const struct lock_class *c = lock_classes[i];
		const struct lock_class_stats *st = &c->st;

		if (!atomic_load(&st->acquisitions) &&
		    !atomic_load(&st->contentions))
			continue;
		if ((size_t)out < n)
			buf[out] = (struct avm_lockstat){
				.name = c->name,
				.acquisitions = atomic_load(&st->acquisitions),
				.contentions = atomic_load(&st->contentions),
				.wait_ns = atomic_load(&st->wait_ns),
				.wait_max_ns = atomic_load(&st->wait_max_ns),
				.hold_ns = atomic_load(&st->hold_ns),
				.hold_max_ns = atomic_load(&st->hold_max_ns),
				.read_acquisitions =
					atomic_load(&st->read_acquisitions),
				.read_wait_ns = atomic_load(&st->read_wait_ns),
				.read_hold_ns = atomic_load(&st->read_hold_ns),
			};
		out++;
	}
	return out;
}
