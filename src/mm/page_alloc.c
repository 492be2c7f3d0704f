/* SPDX-License-Identifier: MIT */
/*
 * Frame pools, one per memory node.  struct page arrays and payloads are
 * reserved with MAP_NORESERVE and touched only as frames are first used, so
 * a large pool costs nothing until it is needed.  Frame 0 of node 0 is the
 * shared zero page.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "mm/internal.h"
#include "rmap/rmap.h"

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int node_init(struct avm_sys *sys, struct mem_node *n, unsigned int id)
{
	n->id = id;
	n->nr_frames = sys->cfg.node_frames;
	n->base_pfn = (unsigned long)id << sys->pfn_shift;
	INIT_LIST_HEAD(&n->free_list);
	INIT_LIST_HEAD(&n->lru_active);
	INIT_LIST_HEAD(&n->lru_inactive);
	n->pages = reserve(n->nr_frames * sizeof(struct page));
	if (!n->pages)
		return -ENOMEM;
	if (sys->cfg.payload == AVM_PAYLOAD_FULL) {
		n->payload = reserve(n->nr_frames * PAGE_SIZE);
		if (!n->payload)
			return -ENOMEM;
	}
	return 0;
}

static void node_destroy(struct mem_node *n)
{
	if (n->pages)
		munmap(n->pages, n->nr_frames * sizeof(struct page));
	if (n->payload)
		munmap(n->payload, n->nr_frames * PAGE_SIZE);
}

int node_pools_init(struct avm_sys *sys)
{
	struct page *zero;

	sys->nr_nodes = sys->cfg.nodes;
	/* pfn = node << pfn_shift | frame: pfn_to_page needs no division */
	sys->pfn_shift = 0;
	while ((1UL << sys->pfn_shift) < sys->cfg.node_frames)
		sys->pfn_shift++;
	sys->nodes = calloc(sys->nr_nodes, sizeof(*sys->nodes));
	if (!sys->nodes)
		return -ENOMEM;
	for (unsigned int i = 0; i < sys->nr_nodes; i++)
		if (node_init(sys, &sys->nodes[i], i))
			return -ENOMEM;
	/* The zero page: frame 0 of node 0, never freed, never counted. */
	zero = &sys->nodes[0].pages[0];
	sys->nodes[0].next_unused = 1;
	atomic_store(&zero->flags, PG_zero);
	atomic_store(&zero->_refcount, 1);
	INIT_LIST_HEAD(&zero->lru);
	sys->zero_page = zero;
	return 0;
}

void node_pools_destroy(struct avm_sys *sys)
{
	if (!sys->nodes)
		return;
	for (unsigned int i = 0; i < sys->nr_nodes; i++)
		node_destroy(&sys->nodes[i]);
	free(sys->nodes);
	sys->nodes = NULL;
}

static struct page *take_frame(struct mem_node *n)
{
	struct page *p;

	if (!list_empty(&n->free_list)) {
		p = list_first_entry(&n->free_list, struct page, lru);
		list_del(&p->lru);
		n->nr_free--;
		return p;
	}
	if (n->next_unused < n->nr_frames)
		return &n->pages[n->next_unused++];
	return NULL;
}

struct page *alloc_page_nozero(struct avm_sys *sys, unsigned int node)
{
	struct mem_node *n = &sys->nodes[node];
	struct page *p;

	if (avm_alloc_should_fail(&sys->alloc))
		return NULL;
	sys_lock(sys);
	p = take_frame(n);
	sys_unlock(sys);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	atomic_store(&p->flags, (uint32_t)node << PG_NODE_SHIFT);
	atomic_store(&p->_refcount, 1);
	INIT_LIST_HEAD(&p->lru);
	avm_alloc_account(&sys->alloc, AK_FRAME, 1, PAGE_SIZE);
	return p;
}

struct page *alloc_page(struct avm_sys *sys, unsigned int node)
{
	struct page *p = alloc_page_nozero(sys, node);
	unsigned char *addr = p ? page_address(sys, p) : NULL;

	if (addr)
		memset(addr, 0, PAGE_SIZE);
	return p;
}

static void free_frame(struct avm_sys *sys, struct page *p)
{
	struct mem_node *n = &sys->nodes[page_node(p)];

	if (page_is_anon(p) && sys->rmap->page_free)
		sys->rmap->page_free(sys, p);
	sys_lock(sys);
	if (page_test(p, PG_lru)) {
		list_del(&p->lru);
		if (page_test(p, PG_active))
			n->nr_active--;
		else
			n->nr_inactive--;
	}
	p->mapping = 0;
	p->private = 0;
	p->rmap_data = NULL;
	atomic_store(&p->flags, (page_node(p) << PG_NODE_SHIFT) | PG_free);
	list_add(&p->lru, &n->free_list);
	n->nr_free++;
	sys_unlock(sys);
	avm_alloc_account(&sys->alloc, AK_FRAME, -1, -(long)PAGE_SIZE);
}

void put_page(struct avm_sys *sys, struct page *page)
{
	if (page_test(page, PG_zero))
		return;
	if (atomic_fetch_sub(&page->_refcount, 1) == 1)
		free_frame(sys, page);
}

unsigned char *page_address(struct avm_sys *sys, const struct page *page)
{
	const struct mem_node *n = &sys->nodes[page_node(page)];

	if (!n->payload)
		return NULL;
	return n->payload + (size_t)(page - n->pages) * PAGE_SIZE;
}

void copy_page_payload(struct avm_sys *sys, struct page *dst,
		       const struct page *src)
{
	unsigned char *d = page_address(sys, dst);
	const unsigned char *s = page_address(sys, src);

	if (d && s)
		memcpy(d, s, PAGE_SIZE);
}

void lru_add(struct avm_sys *sys, struct page *page)
{
	struct mem_node *n = &sys->nodes[page_node(page)];

	sys_lock(sys);
	if (!page_test(page, PG_lru)) {
		list_add(&page->lru, &n->lru_inactive);
		n->nr_inactive++;
		page_set(page, PG_lru);
	}
	sys_unlock(sys);
}

unsigned long frames_in_use(struct avm_sys *sys)
{
	return avm_alloc_live(&sys->alloc, AK_FRAME);
}

static bool page_trylock_bit(struct page *page)
{
	return !(atomic_fetch_or(&page->flags, PG_locked) & PG_locked);
}

void __lock_page(struct page *page, unsigned int sub, const char *file,
		 int line)
{
	bool track = atomic_load_explicit(&lock_tracking,
					  memory_order_relaxed);
	uint64_t t0;

	if (track)
		lock_acquire(&page->flags, &page_lock_class, sub, 0, file,
			     line);
	if (sched_controlled()) {
		sched_point(SK_ACQUIRE, page_lock_class.name);
		while (!page_trylock_bit(page))
			sched_wait(&page->flags, page_lock_class.name);
		lock_acquired(&page->flags, false, 0);
		return;
	}
	if (page_trylock_bit(page)) {
		if (track)
			lock_acquired(&page->flags, false, 0);
		return;
	}
	t0 = lockstat_clock();
	while (!page_trylock_bit(page))
		sched_yield();
	if (track)
		lock_acquired(&page->flags, true, lockstat_clock() - t0);
}

bool __trylock_page(struct page *page, const char *file, int line)
{
	if (sched_controlled())
		sched_point(SK_ACQUIRE, page_lock_class.name);
	if (!page_trylock_bit(page)) {
		lock_try_failed(&page_lock_class);
		return false;
	}
	if (atomic_load_explicit(&lock_tracking, memory_order_relaxed)) {
		lock_acquire(&page->flags, &page_lock_class, 0, LD_TRY,
			     file, line);
		lock_acquired(&page->flags, false, 0);
	}
	return true;
}

void __unlock_page(struct page *page, const char *file, int line)
{
	if (atomic_load_explicit(&lock_tracking, memory_order_relaxed))
		lock_release(&page->flags, file, line);
	atomic_fetch_and(&page->flags, ~(uint32_t)PG_locked);
	if (sched_controlled()) {
		sched_wake(&page->flags);
		sched_point(SK_RELEASE, page_lock_class.name);
	}
}
