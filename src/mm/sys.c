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
	cfg->max_map_count = AVM_DEFAULT_MAX_MAP_COUNT;
}

int avm_sys_create(const struct avm_config *cfg, struct avm_sys **out)
{
	struct avm_sys *sys;
	int err;

	*out = NULL;
	if (!cfg->nodes || cfg->nodes > 64 || cfg->node_frames < 2 ||
	    cfg->node_frames > (1UL << 32))
		return -EINVAL;
	lock_order_init();
	sys = calloc(1, sizeof(*sys));
	if (!sys)
		return -ENOMEM;
	sys->cfg = *cfg;
	if (!sys->cfg.max_map_count)
		sys->cfg.max_map_count = AVM_DEFAULT_MAX_MAP_COUNT;
	if (!sys->cfg.overcommit_pages)	/* this machine's RAM + swap */
		sys->cfg.overcommit_pages = cfg->nodes * cfg->node_frames +
					    cfg->swap_slots;
	sys->rmap = rmap_find(cfg->design);
	if (!sys->rmap) {
		free(sys);
		return -ENOENT;
	}
	avm_alloc_init(&sys->alloc);
	avm_alloc_cache(&sys->alloc, AK_VMA, sizeof(struct vm_area_struct));
	avm_alloc_cache(&sys->alloc, AK_ANON_VMA, sizeof(struct anon_vma));
	avm_alloc_cache(&sys->alloc, AK_AVC, sizeof(struct anon_vma_chain));
	avm_alloc_cache(&sys->alloc, AK_PGTABLE, sizeof(struct pgtable));
	avm_mutex_init(&sys->lock);
	INIT_LIST_HEAD(&sys->mms);
	err = node_pools_init(sys);
	if (!err)
		err = swap_init(sys);
	if (err) {
		swap_destroy(sys);
		node_pools_destroy(sys);
		avm_alloc_destroy(&sys->alloc);
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
	/* anon_vmas still waiting for a grace period go back to the
	   allocator before it goes */
	avm_rcu_barrier();
	anon_vma_reap(sys);
	vma_reap(sys);
	swap_destroy(sys);
	node_pools_destroy(sys);
	avm_mutex_destroy(&sys->lock);
	avm_alloc_destroy(&sys->alloc);
	free(sys);
}

struct avm_mm *mm_alloc(struct avm_sys *sys)
{
	struct avm_mm *mm = avm_kzalloc(&sys->alloc, AK_MM, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->sys = sys;
	mm->mm_rb = RB_ROOT;
	avm_rwlock_init(&mm->mmap_lock);
	avm_mutex_init(&mm->page_table_lock);
	/* mm->pgd: on the first pt_alloc */
	sys_lock(sys);
	mm->id = ++sys->next_mm_id;
	list_add_tail(&mm->mmlist, &sys->mms);
	sys_unlock(sys);
	return mm;
}

void mm_free(struct avm_mm *mm)
{
	struct avm_sys *sys = mm->sys;

	sys_lock(sys);
	list_del(&mm->mmlist);
	sys_unlock(sys);
	pgd_free(mm);
	avm_rwlock_destroy(&mm->mmap_lock);
	avm_mutex_destroy(&mm->page_table_lock);
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
	avm_alloc_fail_nth(&sys->alloc, n);
}

void avm_fail_random(struct avm_sys *sys, double p, uint64_t seed)
{
	avm_alloc_fail_random(&sys->alloc, p <= 0 ? 0 : p >= 1 ? 1000000 :
			      (uint32_t)(p * 1e6), seed);
}

unsigned long avm_alloc_count(struct avm_sys *sys)
{
	return avm_alloc_attempts(&sys->alloc);
}

unsigned long avm_alloc_failures(struct avm_sys *sys)
{
	return avm_alloc_nfailures(&sys->alloc);
}

/* ---- statistics -------------------------------------------------------- */

void avm_stats(struct avm_sys *sys, struct avm_stats *st)
{
	const struct avm_counters *c = &sys->ctr;
	struct avm_alloc *a = &sys->alloc;

	memset(st, 0, sizeof(*st));
	st->mms = avm_alloc_live(a, AK_MM);
	st->vmas = avm_alloc_live(a, AK_VMA);
	st->anon_vmas = avm_alloc_live(a, AK_ANON_VMA);
	st->avcs = avm_alloc_live(a, AK_AVC);
	st->page_tables = avm_alloc_live(a, AK_PGTABLE);
	sys->rmap->usage(sys, &st->rmap_objects, &st->rmap_bytes);
	st->frames_used = frames_in_use(sys);
	st->frames_total = sys->cfg.node_frames * sys->nr_nodes - 1;
	st->forks = atomic_load(&c->forks);
	st->faults = atomic_load(&c->faults);
	st->anon_faults = atomic_load(&c->anon_faults);
	st->zero_faults = atomic_load(&c->zero_faults);
	st->cow_copies = atomic_load(&c->cow_copies);
	st->cow_reuses = atomic_load(&c->cow_reuses);
	st->allocs = avm_alloc_attempts(a);
	st->alloc_failures = avm_alloc_nfailures(a);
	st->rmap_walks = atomic_load(&c->rmap_walks);
	st->rmap_visits = atomic_load(&c->rmap_visits);
	st->rmap_hits = atomic_load(&c->rmap_hits);
	st->mremap_moves = atomic_load(&c->mremap_moves);
	st->mremap_rmap_locked = atomic_load(&c->mremap_rmap_locked);
	st->rmap_copies = atomic_load(&c->rmap_copies);
	st->vma_lock_miss = atomic_load(&c->vma_lock_miss);
	st->vma_lock_no_anon = atomic_load(&c->vma_lock_no_anon);
	/* the rest (not counted on the fast path; exact when quiescent) */
	st->vma_lock_faults = st->faults - st->vma_lock_miss -
			      st->vma_lock_no_anon;
	st->vma_lock_retries = atomic_load(&c->vma_lock_retries);
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
