/* SPDX-License-Identifier: MIT */
/*
 * The system object and address-space life cycle, fault injection, and
 * the statistics and sizes the tools report.
 */
#include <stdlib.h>
#include <string.h>
#include "lib/rcu.h"
#include "mm/internal.h"
#include "mm/swap.h"
#include "rmap/anon_vma.h"
#include "rmap/rmap.h"

void avm_config_default(struct avm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = 1;
	cfg->node_frames = 1UL << 21;
	cfg->payload = AVM_PAYLOAD_FULL;
	cfg->design = NULL;
	cfg->swap_slots = 1UL << 18;
	cfg->swap_file = NULL;
}

int avm_sys_create(const struct avm_config *cfg, struct avm_sys **out)
{
	struct avm_sys *sys;
	int err;

	*out = NULL;
	if (!cfg->nodes || cfg->nodes > 64 || cfg->node_frames < 2 ||
	    cfg->node_frames > (1UL << 32))
		return -EINVAL;
	sys = calloc(1, sizeof(*sys));
	if (!sys)
		return -ENOMEM;
	sys->cfg = *cfg;
	sys->rmap = rmap_find(cfg->design);
	if (!sys->rmap) {
		free(sys);
		return -ENOENT;
	}
	avm_alloc_init(&sys->alloc);
	pthread_mutex_init(&sys->lock, NULL);
	INIT_LIST_HEAD(&sys->mms);
	err = node_pools_init(sys);
	if (!err)
		err = swap_init(sys);
	if (err) {
		swap_destroy(sys);
		node_pools_destroy(sys);
		free(sys);
		return err;
	}
	*out = sys;
	return 0;
}

void avm_sys_destroy(struct avm_sys *sys)
{
	if (!sys)
		return;
	while (!list_empty(&sys->mms))
		avm_exit(list_first_entry(&sys->mms, struct avm_mm, mmlist));
	swap_destroy(sys);
	node_pools_destroy(sys);
	pthread_mutex_destroy(&sys->lock);
	free(sys);
	avm_rcu_barrier();	/* anon_vmas still waiting for a grace period */
}

struct avm_mm *mm_alloc(struct avm_sys *sys)
{
	struct avm_mm *mm = avm_kzalloc(&sys->alloc, AK_MM, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->sys = sys;
	mm->mm_rb = RB_ROOT;
	pthread_rwlock_init(&mm->mmap_lock, NULL);
	pthread_mutex_init(&mm->page_table_lock, NULL);
	if (pgd_alloc(mm)) {
		avm_kfree(&sys->alloc, AK_MM, mm, sizeof(*mm));
		return NULL;
	}
	pthread_mutex_lock(&sys->lock);
	mm->id = ++sys->next_mm_id;
	list_add_tail(&mm->mmlist, &sys->mms);
	pthread_mutex_unlock(&sys->lock);
	return mm;
}

void mm_free(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;

	pthread_mutex_lock(&sys->lock);
	list_del(&mm->mmlist);
	pthread_mutex_unlock(&sys->lock);
	pgd_free(mm);
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_mutex_destroy(&mm->page_table_lock);
	avm_kfree(&sys->alloc, AK_MM, mm, sizeof(*mm));
}

int avm_mm_create(struct avm_sys *sys, struct avm_mm **out)
{
	*out = mm_alloc(sys);
	return *out ? 0 : -ENOMEM;
}

void avm_exit(struct avm_mm *mm)
{
	exit_mmap(mm);
	if (mm->sys->rmap->mm_exit)
		mm->sys->rmap->mm_exit(mm);
	mm_free(mm);
}

unsigned long avm_mm_id(const struct avm_mm *mm)
{
	return mm->id;
}

void avm_set_race_hook(struct avm_sys *sys, avm_race_hook fn, void *arg)
{
	if (fn)
		sys->race_arg = arg;
	atomic_store_explicit(&sys->race_hook, fn, memory_order_release);
}

/* ---- fault injection --------------------------------------------------- */

void avm_fail_nth(struct avm_sys *sys, unsigned long n)
{
	atomic_store(&sys->alloc.fail_at,
		     n ? atomic_load(&sys->alloc.attempts) + n : 0);
}

void avm_fail_random(struct avm_sys *sys, double p, uint64_t seed)
{
	pthread_mutex_lock(&sys->alloc.rng_lock);
	sys->alloc.fail_ppm = p <= 0 ? 0 : p >= 1 ? 1000000 : (uint32_t)(p * 1e6);
	sys->alloc.rng = seed ? seed : 1;
	pthread_mutex_unlock(&sys->alloc.rng_lock);
}

unsigned long avm_alloc_count(struct avm_sys *sys)
{
	return atomic_load(&sys->alloc.attempts);
}

/* ---- statistics -------------------------------------------------------- */

void avm_stats(struct avm_sys *sys, struct avm_stats *st)
{
	const struct avm_counters *c = &sys->ctr;
	const struct avm_alloc *a = &sys->alloc;

	memset(st, 0, sizeof(*st));
	st->mms = atomic_load(&a->live[AK_MM]);
	st->vmas = atomic_load(&a->live[AK_VMA]);
	st->anon_vmas = atomic_load(&a->live[AK_ANON_VMA]);
	st->avcs = atomic_load(&a->live[AK_AVC]);
	st->page_tables = atomic_load(&a->live[AK_PGTABLE]);
	sys->rmap->usage(sys, &st->rmap_objects, &st->rmap_bytes);
	st->frames_used = frames_in_use(sys);
	st->frames_total = sys->cfg.node_frames * sys->nr_nodes - 1;
	st->forks = atomic_load(&c->forks);
	st->faults = atomic_load(&c->faults);
	st->anon_faults = atomic_load(&c->anon_faults);
	st->zero_faults = atomic_load(&c->zero_faults);
	st->cow_copies = atomic_load(&c->cow_copies);
	st->cow_reuses = atomic_load(&c->cow_reuses);
	st->allocs = atomic_load(&a->attempts);
	st->alloc_failures = atomic_load(&a->failures);
	st->rmap_walks = atomic_load(&c->rmap_walks);
	st->rmap_visits = atomic_load(&c->rmap_visits);
	st->rmap_hits = atomic_load(&c->rmap_hits);
	st->mremap_moves = atomic_load(&c->mremap_moves);
	st->mremap_rmap_locked = atomic_load(&c->mremap_rmap_locked);
	st->rmap_copies = atomic_load(&c->rmap_copies);
	swap_stats(sys, st);
}

void avm_sizes(struct avm_sys *sys, struct avm_sizes *sz)
{
	sz->page = sizeof(struct page);
	sz->vma = sizeof(struct vm_area_struct);
	sz->anon_vma = sizeof(struct anon_vma);
	sz->avc = sizeof(struct anon_vma_chain);
	sz->mm = sizeof(struct avm_mm);
}
