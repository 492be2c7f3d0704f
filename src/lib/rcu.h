/* SPDX-License-Identifier: MIT */
/*
 * Read-copy-update, from liburcu's "memb" flavour (Debian liburcu-dev).
 *
 * Why memb: its read side is a thread-local counter update with no
 * barrier (writers use membarrier(2) to order readers), which suits the
 * lookups on the rmap walk path; the signal flavour would take a signal
 * from the application, qsbr would need the application to report
 * quiescent states, and bp costs a barrier on every read section.  memb
 * needs each reader thread to be registered: the library registers a
 * thread on its first read section (or deferred free) and unregisters it
 * when it exits, so users' threads need nothing.
 *
 * Used as Linux uses it for anon_vmas: a walker that found an anon_vma
 * through page->mapping without holding anything takes its reference
 * inside a read section, and anon_vmas are freed after a grace period.
 */
#ifndef AVM_LIB_RCU_H
#define AVM_LIB_RCU_H

#include <urcu/urcu-memb.h>

typedef struct rcu_head avm_rcu_head;

void avm_rcu_read_lock(void);
void avm_rcu_read_unlock(void);
/* fn(head) runs after every read section now in progress has ended;
   fn starts with avm_rcu_cb_begin(head). */
void avm_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *));
void avm_rcu_cb_begin(struct rcu_head *head);
/* Wait until every callback queued so far has run. */
void avm_rcu_barrier(void);

#endif
