/* SPDX-License-Identifier: MIT */
/*
 * anon_vma_chain machinery (2010 on), shared by the chain designs.  Each
 * anon_vma indexes its avcs either in an interval tree keyed by the VMA's
 * pgoff range (2012 on: a walk visits only VMAs whose range holds the
 * page) or on a plain list in link order (2010: a walk visits every VMA
 * linked to the anon_vma and checks the range itself); the av_policy of
 * the design says which (index_* below), and when fork may reuse an
 * anon_vma instead of allocating one.
 *
 * Lock order: the family's root rwsem (write to link or unlink, read to
 * walk) nests inside mmap_lock and outside the page-table lock.
 *
 * Every VMA linked to an anon_vma is also linked to that anon_vma's parent
 * (fork copies the whole chain), so a parent's tree empties no sooner than
 * its children's: a child's ->parent is valid whenever it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/interval_tree.h"
#include "lib/ptrset.h"
#include "mm/check.h"
#include "mm/internal.h"
#include "rmap/anon_vma_impl.h"

static inline unsigned long avc_start_pgoff(const struct anon_vma_chain *avc)
{
	return avc->vma->vm_pgoff;
}

static inline unsigned long avc_last_pgoff(const struct anon_vma_chain *avc)
{
	return avc->vma->vm_pgoff + vma_pages(avc->vma) - 1;
}

INTERVAL_TREE_DEFINE(struct anon_vma_chain, rb, unsigned long, rb_subtree_last,
		     avc_start_pgoff, avc_last_pgoff, static inline, avc_tree)

static struct avm_sys *vma_sys(const struct vm_area_struct *vma)
{
	return vma->vm_mm->sys;
}

static const struct av_policy *policy(struct avm_sys *sys)
{
	return sys->rmap->design_data;
}

static bool uses_tree(struct avm_sys *sys)
{
	return policy(sys)->tree;
}

/* ---- the index of an anon_vma's avcs: interval tree or list ------------- */

static void index_init(struct avm_sys *sys, struct anon_vma *av)
{
	if (uses_tree(sys))
		av->rb_root = RB_ROOT;
	else
		INIT_LIST_HEAD(&av->head);
}

/* A list takes new links at the tail: a fork child's, a split part's or an
   mremap copy's avc comes after its source's, the order walks need. */
static void index_insert(struct avm_sys *sys, struct anon_vma_chain *avc)
{
	if (uses_tree(sys))
		avc_tree_insert(avc, &avc->anon_vma->rb_root);
	else
		list_add_tail(&avc->same_anon_vma, &avc->anon_vma->head);
}

static void index_remove(struct avm_sys *sys, struct anon_vma_chain *avc)
{
	if (uses_tree(sys))
		avc_tree_remove(avc, &avc->anon_vma->rb_root);
	else
		list_del(&avc->same_anon_vma);
}

static bool index_empty(struct avm_sys *sys, const struct anon_vma *av)
{
	return uses_tree(sys) ? RB_EMPTY_ROOT(&av->rb_root)
			      : list_empty(&av->head);
}

/* Every avc of av, in tree (pgoff) or list order: next after avc (NULL:
   the first); NULL at the end. */
static struct anon_vma_chain *index_next(bool tree, struct anon_vma *av,
					 struct anon_vma_chain *avc)
{
	struct list_head *l;
	struct rb_node *n;

	if (tree) {
		n = avc ? rb_next(&avc->rb) : rb_first(&av->rb_root);
		return n ? rb_entry(n, struct anon_vma_chain, rb) : NULL;
	}
	l = avc ? avc->same_anon_vma.next : av->head.next;
	return l == &av->head ? NULL :
	       list_entry(l, struct anon_vma_chain, same_anon_vma);
}

#define index_for_each(tree, av, avc) \
	for (avc = index_next(tree, av, NULL); avc; \
	     avc = index_next(tree, av, avc))

/* ---- objects ----------------------------------------------------------- */

struct anon_vma *anon_vma_new(struct avm_sys *sys)
{
	struct anon_vma *av;

	if (atomic_load_explicit(&sys->rcu_freed, memory_order_relaxed))
		anon_vma_reap(sys);
	av = avm_kmalloc(&sys->alloc, AK_ANON_VMA, sizeof(*av));

	if (!av)
		return NULL;
	memset(av, 0, sizeof(*av));
	av->root = av;
	av->parent = av;
	avm_rwlock_init(&av->rwsem);
	atomic_store(&av->refcount, 1);
	return av;
}

static struct anon_vma *anon_vma_alloc(struct avm_sys *sys)
{
	struct anon_vma *av = anon_vma_new(sys);

	if (av)
		index_init(sys, av);
	return av;
}

/*
 * The grace period is over: hand av to the library's own threads (the
 * next anon_vma_new, or avm_sys_destroy).  liburcu's callback thread takes
 * no lock of ours: it is not one of the threads the lock validator and
 * the interleaving explorer's scheduler know.
 */
static void anon_vma_free_rcu(struct rcu_head *head)
{
	struct anon_vma *av = container_of(head, struct anon_vma, rcu);
	struct avm_sys *sys;
	struct anon_vma *old;

	avm_rcu_cb_begin(head);
	sys = av->rcu_sys;
	old = atomic_load(&sys->rcu_freed);
	do
		av->rcu_next = old;
	while (!atomic_compare_exchange_weak(&sys->rcu_freed, &old, av));
}

void anon_vma_reap(struct avm_sys *sys)
{
	struct anon_vma *av = atomic_exchange(&sys->rcu_freed, NULL);

	while (av) {
		struct anon_vma *next = av->rcu_next;

		avm_rwlock_destroy(&av->rwsem);	/* a reader may have tried it */
		avm_kfree_memory(&sys->alloc, AK_ANON_VMA, av, sizeof(*av));
		av = next;
	}
}

/*
 * A walker may still be looking at av (it found it through page->mapping
 * inside an RCU read section and is about to fail to take a reference):
 * the memory goes only after a grace period, as Linux's
 * SLAB_TYPESAFE_BY_RCU anon_vma cache.  The one place every anon_vma
 * design frees through.
 */
void anon_vma_free(struct avm_sys *sys, struct anon_vma *av)
{
	avm_kfree_deferred(&sys->alloc, AK_ANON_VMA, sizeof(*av));
	av->rcu_sys = sys;
	avm_call_rcu(&av->rcu, anon_vma_free_rcu);
}

void anon_vma_put(struct avm_sys *sys, struct anon_vma *av)
{
	struct anon_vma *root = av->root;

	if (atomic_fetch_sub(&av->refcount, 1) != 1)
		return;
	anon_vma_free(sys, av);
	if (root != av && atomic_fetch_sub(&root->refcount, 1) == 1)
		anon_vma_free(sys, root);
}

static bool get_unless_zero(atomic_int *ref)
{
	int r = atomic_load(ref);

	while (r > 0)
		if (atomic_compare_exchange_weak(ref, &r, r + 1))
			return true;
	return false;
}

struct anon_vma *page_get_anon_vma(struct avm_sys *sys, struct page *page)
{
	struct anon_vma *av;

	avm_rcu_read_lock();
	av = page_anon_vma(page);
	/* Unmapped: no VMA keeps av, it may have been freed before this
	   read section began.  Mapped now: it cannot be freed before the
	   section ends, even if the last mapping goes right after. */
	if (av && page_mapcount(page)) {
		race_point(sys, AVM_RACE_ANON_VMA_GET, NULL,
			   page_to_pfn(sys, page));
		if (!get_unless_zero(&av->refcount))
			av = NULL;
	} else {
		av = NULL;
	}
	avm_rcu_read_unlock();
	return av;
}

struct anon_vma *page_lock_anon_vma_read(struct page *page,
					 struct rmap_walk_control *rwc)
{
	struct anon_vma *av = rwc->anon_ref, *root;

	if (av) {
		atomic_fetch_add(&av->refcount, 1);	/* the caller's holds */
		anon_vma_lock_read(av);
		return av;
	}
	/*
	 * As Linux, first without a reference: in a read section, a page
	 * still mapped names a live anon_vma; if its root's lock can be had
	 * at once and the page is still mapped then, nobody can unlink the
	 * last VMA (that takes the lock for writing) until we let go.  The
	 * caller holds the page lock, so it cannot become mapped again.
	 */
	avm_rcu_read_lock();
	av = page_anon_vma(page);
	if (!av || !page_mapcount(page)) {
		avm_rcu_read_unlock();
		return NULL;
	}
	race_point(rwc->sys, AVM_RACE_ANON_VMA_GET, NULL,
		   page_to_pfn(rwc->sys, page));
	if (atomic_load(&av->refcount) <= 0) {	/* freed meanwhile */
		avm_rcu_read_unlock();
		return NULL;
	}
	root = __atomic_load_n(&av->root, __ATOMIC_RELAXED);
	if (avm_read_trylock(&root->rwsem, &anon_vma_lock_class)) {
		if (!page_mapcount(page)) {
			avm_rwlock_unlock(&root->rwsem);
			av = NULL;
		}
		avm_rcu_read_unlock();
		return av;
	}
	avm_rcu_read_unlock();
	/* contended: take a reference and wait for the lock with it; the
	   unlock drops it */
	av = page_get_anon_vma(rwc->sys, page);
	if (av) {
		anon_vma_lock_read(av);
		rwc->anon_locked_ref = true;
	}
	return av;
}

void page_unlock_anon_vma_read(struct avm_sys *sys, struct anon_vma *av,
			       struct rmap_walk_control *rwc)
{
	if (rwc->anon_ref || rwc->anon_locked_ref)
		page_unlock_anon_vma_ref(sys, av);
	else
		anon_vma_unlock_read(av);
	rwc->anon_locked_ref = false;
}

void page_unlock_anon_vma_ref(struct avm_sys *sys, struct anon_vma *av)
{
	anon_vma_unlock_read(av);
	anon_vma_put(sys, av);		/* may be the last: after the unlock */
}

void *av_get_anon(struct avm_sys *sys, struct page *page)
{
	return page_get_anon_vma(sys, page);
}

void av_put_anon(struct avm_sys *sys, void *obj)
{
	anon_vma_put(sys, obj);
}

static struct anon_vma_chain *avc_alloc(struct avm_sys *sys)
{
	return avm_kmalloc(&sys->alloc, AK_AVC, sizeof(struct anon_vma_chain));
}

static void avc_free(struct avm_sys *sys, struct anon_vma_chain *avc)
{
	avm_kfree(&sys->alloc, AK_AVC, avc, sizeof(*avc));
}

/* Caller holds the root lock. */
static void avc_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
		     struct anon_vma *av)
{
	avc->vma = vma;
	avc->anon_vma = av;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	index_insert(vma_sys(vma), avc);
}

/* ---- prepare: the first anonymous fault in a VMA ----------------------- */

/* Could a and b (a just below b) share pages' anon_vma? */
static bool anon_vma_compatible(const struct vm_area_struct *a,
				const struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start &&
	       !((a->vm_flags ^ b->vm_flags) & ~VM_PROT_MASK) &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a);
}

/* A neighbour's anon_vma, if that neighbour never went through fork. */
static struct anon_vma *reusable_neighbour(const struct vm_area_struct *old,
					   const struct vm_area_struct *a,
					   const struct vm_area_struct *b)
{
	if (old && anon_vma_compatible(a, b) && old->anon_vma &&
	    list_is_singular(&old->anon_vma_chain))
		return old->anon_vma;
	return NULL;
}

static struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma), *prev = vma_prev(vma);
	struct anon_vma *av = NULL;

	if (next)
		av = reusable_neighbour(next, vma, next);
	if (!av && prev)
		av = reusable_neighbour(prev, prev, vma);
	return av;
}

/*
 * Two faults of one mm (threads of one process) may prepare at once, even
 * for the same VMA: as Linux's __anon_vma_prepare, the page-table lock
 * decides, and the loser frees what it allocated.  Neighbours' anon_vmas
 * and chains are read under it too (a neighbour may be preparing).
 */
int av_prepare(struct vm_area_struct *vma)
{
	struct avm_sys *sys = vma_sys(vma);
	struct avm_mm *mm = vma->vm_mm;
	struct anon_vma *av, *fresh = NULL;
	struct anon_vma_chain *avc;

	if (__atomic_load_n(&vma->anon_vma, __ATOMIC_ACQUIRE))
		return 0;
	avc = avc_alloc(sys);
	if (!avc)
		return -ENOMEM;
	ptl_lock(mm);
	av = find_mergeable_anon_vma(vma);
	ptl_unlock(mm);
	if (!av) {
		av = fresh = anon_vma_alloc(sys);
		if (!av) {
			avc_free(sys, avc);
			return -ENOMEM;
		}
	}
	anon_vma_lock_write(av);
	ptl_lock(mm);
	if (!vma->anon_vma) {
		if (fresh)
			av->num_children++;	/* a root is its own parent */
		avc_link(vma, avc, av);
		av->num_active_vmas++;
		/* published after the link: a fault that sees it uses it */
		__atomic_store_n(&vma->anon_vma, av, __ATOMIC_RELEASE);
		avc = NULL;
		fresh = NULL;
	}
	ptl_unlock(mm);
	anon_vma_unlock_write(av);
	if (avc)
		avc_free(sys, avc);
	if (fresh)
		anon_vma_free(sys, fresh);
	return 0;
}

/* ---- clone, fork, unlink ----------------------------------------------- */

/* Drop dst's links made by a clone that failed half-way; no tree empties
   because src is still linked everywhere dst was. */
static void unlink_partial(struct avm_sys *sys, struct vm_area_struct *dst)
{
	struct anon_vma_chain *avc, *n;

	list_for_each_entry_safe(avc, n, &dst->anon_vma_chain, same_vma) {
		index_remove(sys, avc);
		list_del(&avc->same_vma);
		avc_free(sys, avc);
	}
}

/*
 * Link dst to every anon_vma src is linked to, oldest first.  With reuse,
 * a forked dst with no anon_vma may adopt one of them (never src's own,
 * as Linux: that one has src as a user) that the policy allows; the first
 * allowed one, oldest first, wins.
 */
static int clone_chain(struct vm_area_struct *dst, struct vm_area_struct *src,
		       bool (*reusable)(const struct anon_vma *))
{
	struct avm_sys *sys = vma_sys(dst);
	struct anon_vma_chain *pavc, *avc;
	struct anon_vma *root = src->anon_vma;

	anon_vma_lock_write(root);
	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, same_vma) {
		avc = avc_alloc(sys);
		if (!avc) {
			unlink_partial(sys, dst);
			anon_vma_unlock_write(root);
			return -ENOMEM;
		}
		avc_link(dst, avc, pavc->anon_vma);
		if (reusable && !dst->anon_vma &&
		    pavc->anon_vma != src->anon_vma &&
		    reusable(pavc->anon_vma))
			dst->anon_vma = pavc->anon_vma;
	}
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	anon_vma_unlock_write(root);
	return 0;
}

int av_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma *keep = dst->anon_vma;
	int err;

	if (!src->anon_vma)
		return 0;
	err = clone_chain(dst, src, NULL);
	if (err)
		dst->anon_vma = keep;
	return err;
}

int av_fork(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct avm_sys *sys = vma_sys(dst);
	struct anon_vma *av, *pav = src->anon_vma;
	struct anon_vma_chain *avc;
	int err;

	dst->anon_vma = NULL;
	if (!pav)
		return 0;
	err = clone_chain(dst, src, policy(sys)->reusable);
	if (err) {
		dst->anon_vma = NULL;
		return err;
	}
	if (dst->anon_vma)
		return 0;		/* adopted an unused ancestor */
	av = anon_vma_alloc(sys);
	avc = av ? avc_alloc(sys) : NULL;
	if (!avc) {
		if (av)
			anon_vma_free(sys, av);
		av_unlink(dst);
		return -ENOMEM;
	}
	av->root = pav->root;
	av->parent = pav;
	atomic_fetch_add(&av->root->refcount, 1);
	av->num_active_vmas = 1;
	anon_vma_lock_write(av);
	dst->anon_vma = av;
	avc_link(dst, avc, av);
	pav->num_children++;
	anon_vma_unlock_write(av);
	return 0;
}

void av_unlink(struct vm_area_struct *vma)
{
	struct avm_sys *sys = vma_sys(vma);
	struct anon_vma_chain *avc, *n;
	struct anon_vma *root = NULL;

	if (list_empty(&vma->anon_vma_chain))
		goto out;
	root = list_first_entry(&vma->anon_vma_chain, struct anon_vma_chain,
				same_vma)->anon_vma->root;
	anon_vma_lock_write(root);
	list_for_each_entry_safe(avc, n, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		index_remove(sys, avc);
		if (index_empty(sys, av)) {
			/* keep the avc: it carries av to the put below */
			av->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		avc_free(sys, avc);
	}
	if (vma->anon_vma)
		vma->anon_vma->num_active_vmas--;
	anon_vma_unlock_write(root);
	/* Newest first: children are put before the root they hold. */
	list_for_each_entry_safe(avc, n, &vma->anon_vma_chain, same_vma) {
		list_del(&avc->same_vma);
		anon_vma_put(sys, avc->anon_vma);
		avc_free(sys, avc);
	}
out:
	vma->anon_vma = NULL;
}

/* ---- range changes: re-key this VMA's tree nodes ------------------------ */

/* The lock keeps walkers from seeing a half-changed range; a list needs
   nothing else (its order does not depend on the range). */
void av_adjust_begin(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	if (!vma->anon_vma)
		return;
	anon_vma_lock_write(vma->anon_vma);
	if (uses_tree(vma_sys(vma)))
		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
			avc_tree_remove(avc, &avc->anon_vma->rb_root);
}

void av_adjust_end(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	if (!vma->anon_vma)
		return;
	if (uses_tree(vma_sys(vma)))
		list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
			avc_tree_insert(avc, &avc->anon_vma->rb_root);
	anon_vma_unlock_write(vma->anon_vma);
}

/*
 * List designs, mremap (seed 2011-11, anon_vma_moveto_tail): the move's
 * destination merged into vma, which may sit anywhere in the lists; put
 * its avcs at the tails, after the source's, so that a walk racing the
 * PTE move sees the source (PTEs not moved yet) before the destination
 * (PTEs moved): it cannot miss both.  Other VMAs keep their order.
 */
void av_move_tail(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	if (!vma->anon_vma || uses_tree(vma_sys(vma)))
		return;
	anon_vma_lock_write(vma->anon_vma);
	list_for_each_entry_reverse(avc, &vma->anon_vma_chain, same_vma)
		list_move_tail(&avc->same_anon_vma, &avc->anon_vma->head);
	anon_vma_unlock_write(vma->anon_vma);
}

/* ---- merging ----------------------------------------------------------- */

/* A VMA linked to more than its own anon_vma inherited pages by fork. */
static bool had_forked_parents(const struct vm_area_struct *vma)
{
	return vma && vma->anon_vma && !list_is_singular(&vma->anon_vma_chain);
}

/*
 * Linux 6.18's rule: a range with an anon_vma may join a VMA without one
 * (which then takes copies of the range's links) unless the range's VMA
 * came from fork; a range without one may join a VMA with one unless that
 * VMA came from fork; otherwise the anon_vmas must be the same.  (Verified
 * against the host kernel: tests/scenarios/merge/.)
 */
bool av_mergeable(struct vm_area_struct *tgt, struct anon_vma *src_anon,
		  struct vm_area_struct *src)
{
	if (!tgt->anon_vma && src_anon)
		return !had_forked_parents(src);
	if (tgt->anon_vma && !src_anon)
		return !had_forked_parents(tgt);
	return tgt->anon_vma == src_anon;
}

/* ---- pages ------------------------------------------------------------- */

void av_page_add_new(struct page *page, struct vm_area_struct *vma,
		     unsigned long addr, bool exclusive)
{
	struct anon_vma *av = vma->anon_vma;

	/* A page that may be shared must name the anon_vma that outlives
	   every process mapping it: the root. */
	if (!exclusive)
		av = av->root;
	page->mapping = (uintptr_t)av | PAGE_MAPPING_ANON;
	page->index = linear_page_index(vma, addr);
}

int av_page_add(struct page *page, struct vm_area_struct *vma,
		unsigned long addr)
{
	return 0;
}

void av_page_remove(struct page *page, struct vm_area_struct *vma,
		    unsigned long addr)
{
}

void av_page_move(struct page *page, struct vm_area_struct *vma)
{
	page->mapping = (uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON;
}

/*
 * A walk over many processes' VMAs misses the cache at every step: the
 * avc, its VMA, the PTE table.  So it runs WALK_AHEAD avcs ahead of its
 * visits, in two stages: the VMA of an avc is fetched when the tree
 * iteration reaches it, its cached PTE table (header and entry) half-way
 * to its visit, when the VMA has arrived.
 */
#define WALK_AHEAD	8		/* a power of two */

static void prefetch_pte(const struct vm_area_struct *vma, unsigned long idx)
{
	const struct pgtable *pt = atomic_load_explicit(&vma->pt_cache,
							memory_order_relaxed);
	unsigned long addr = vma_address(vma, idx);

	if (pt && addr != ~0UL) {
		__builtin_prefetch(pt);
		__builtin_prefetch(&pt->e[pte_index(addr)]);
	}
}

int av_walk_tree(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *av = page_lock_anon_vma_read(page, rwc);
	struct anon_vma_chain *ring[WALK_AHEAD], *last;
	unsigned long idx = page->index;
	unsigned int head = 0, n = 0;

	if (!av)
		return 0;
	last = avc_tree_iter_first(&av->rb_root, idx, idx);
	for (; last && n < WALK_AHEAD; n++) {
		ring[n] = last;
		__builtin_prefetch(last->vma);
		last = avc_tree_iter_next(last, idx, idx);
	}
	/* ring[head .. head + n) are the next avcs; last the one after */
	while (n) {
		struct anon_vma_chain *avc = ring[head];
		struct vm_area_struct *vma = avc->vma;

		if (n > WALK_AHEAD / 2)
			prefetch_pte(ring[(head + WALK_AHEAD / 2) &
					  (WALK_AHEAD - 1)]->vma, idx);
		if (last) {
			ring[head] = last;
			__builtin_prefetch(last->vma);
			last = avc_tree_iter_next(last, idx, idx);
		} else {
			n--;
		}
		head = (head + 1) & (WALK_AHEAD - 1);
		rwc->visits++;
		if (!rwc->rmap_one(page, vma, vma_address(vma, idx), rwc->arg))
			break;
	}
	page_unlock_anon_vma_read(rwc->sys, av, rwc);
	return 0;
}

/*
 * 2010: every VMA linked to the anon_vma is a candidate; the visit itself
 * checks whether the page's index falls inside the VMA (vma_address), so
 * a walk costs the length of the list whatever the page.
 */
int av_walk_list(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *av = page_lock_anon_vma_read(page, rwc);
	struct anon_vma_chain *avc;
	unsigned long idx = page->index;

	if (!av)
		return 0;
	list_for_each_entry(avc, &av->head, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long addr = vma_address(vma, idx);

		rwc->visits++;
		if (addr == ~0UL)
			continue;	/* the page cannot be in this VMA */
		if (!rwc->rmap_one(page, vma, addr, rwc->arg))
			break;
	}
	page_unlock_anon_vma_read(rwc->sys, av, rwc);
	return 0;
}

void av_usage(struct avm_sys *sys, unsigned long *objects,
	      unsigned long *bytes)
{
	unsigned long nav = avm_alloc_live(&sys->alloc, AK_ANON_VMA);
	unsigned long navc = avm_alloc_live(&sys->alloc, AK_AVC);

	*objects = nav + navc;
	*bytes = nav * sizeof(struct anon_vma) +
		 navc * sizeof(struct anon_vma_chain);
}

/* ---- invariants -------------------------------------------------------- */

struct av_census {
	bool tree;		/* the design's index */
	struct ptrset avs;	/* anon_vma -> VMAs whose own it is */
	struct ptrset kids;	/* anon_vma -> anon_vmas with it as parent */
	struct ptrset roots;	/* root -> non-root family members */
	struct ptrset owner;	/* anon_vma -> first VMA whose own it is */
	struct ptrset linked;	/* anon_vma -> last VMA linked to it */
	struct ptrset links;	/* anon_vma -> avcs naming it */
	unsigned long avcs;
};

static int check_vma_chain(struct check_ctx *ctx, struct av_census *c,
			   struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;
	bool own = !vma->anon_vma;
	long *slot;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		CHECK(ctx, avc->vma == vma, "avc %p of VMA %#lx has vma %p",
		      (void *)avc, vma->vm_start, (void *)avc->vma);
		CHECK(ctx, av->root == vma->anon_vma->root,
		      "VMA %#lx linked to anon_vma %p of another family",
		      vma->vm_start, (void *)av);
		own |= av == vma->anon_vma;
		c->avcs++;
		ctx->steps++;
		slot = ptrset_slot(&c->avs, av);
		CHECK(ctx, slot, "checker out of memory");
		slot = ptrset_slot(&c->links, av);
		CHECK(ctx, slot, "checker out of memory");
		(*slot)++;
	}
	CHECK(ctx, own, "VMA %#lx: own anon_vma %p not on its chain",
	      vma->vm_start, (void *)vma->anon_vma);
	CHECK(ctx, !vma->anon_vma || !list_empty(&vma->anon_vma_chain),
	      "VMA %#lx has an anon_vma but no chain", vma->vm_start);
	if (vma->anon_vma) {
		slot = ptrset_slot(&c->avs, vma->anon_vma);
		CHECK(ctx, slot, "checker out of memory");
		(*slot)++;
	}
	return 0;
}

/*
 * What merging relies on (Linux's vma_merge and ours): VMAs that have the
 * same own anon_vma have the same chain, so a merge may keep either
 * chain.  Every way two VMAs come to share their own anon_vma keeps that
 * true: split, mremap copy and merge clone the chain exactly; prepare
 * adopts only a neighbour's anon_vma whose chain is that anon_vma alone;
 * fork adopts only an anon_vma no VMA uses (num_active_vmas == 0).  All of
 * these stay inside one mm, hence the first check: an anon_vma is the own
 * anon_vma of VMAs of one mm.  The 2015 degree rule breaks both (reuse of
 * an anon_vma some VMA still uses, CVE-2022-42703): first across
 * processes, and when one fork reuses it for two VMAs whose chains differ,
 * inside one, where a merge then strands pages (the walk check fires).
 */
static int check_own_users(struct check_ctx *ctx, struct av_census *c,
			   struct vm_area_struct *vma)
{
	struct vm_area_struct *first;
	struct list_head *a, *b;
	long *slot;

	if (!vma->anon_vma)
		return 0;
	slot = ptrset_slot(&c->owner, vma->anon_vma);
	CHECK(ctx, slot, "checker out of memory");
	if (!*slot) {
		*slot = (long)(uintptr_t)vma;
		return 0;
	}
	first = (struct vm_area_struct *)(uintptr_t)*slot;
	CHECK(ctx, first->vm_mm == vma->vm_mm, "anon_vma %p is the own "
	      "anon_vma of VMAs in two processes: mm %lu %#lx and mm %lu %#lx "
	      "(reused while in use)", (void *)vma->anon_vma,
	      first->vm_mm->id, first->vm_start, vma->vm_mm->id, vma->vm_start);
	for (a = first->anon_vma_chain.next, b = vma->anon_vma_chain.next;
	     a != &first->anon_vma_chain && b != &vma->anon_vma_chain;
	     a = a->next, b = b->next, ctx->steps++)
		CHECK(ctx, list_entry(a, struct anon_vma_chain, same_vma)->anon_vma ==
		      list_entry(b, struct anon_vma_chain, same_vma)->anon_vma,
		      "mm %lu: VMAs %#lx and %#lx share anon_vma %p but their "
		      "chains differ (%p, %p)", vma->vm_mm->id, first->vm_start,
		      vma->vm_start, (void *)vma->anon_vma,
		      (void *)list_entry(a, struct anon_vma_chain, same_vma)->anon_vma,
		      (void *)list_entry(b, struct anon_vma_chain, same_vma)->anon_vma);
	CHECK(ctx, a == &first->anon_vma_chain && b == &vma->anon_vma_chain,
	      "mm %lu: VMAs %#lx and %#lx share anon_vma %p but their chains "
	      "differ in length", vma->vm_mm->id, first->vm_start,
	      vma->vm_start, (void *)vma->anon_vma);
	return 0;
}

/*
 * The avc must be in its anon_vma's tree: climb from its node to the top,
 * which must be the tree's root (O(log n), where an overlap query over n
 * avcs of the same range costs n).  A red-black tree of fewer than 2^64
 * nodes is under 128 high: a longer climb is a cycle.  That the search
 * finds what is in the tree is check_counts' avc_tree_check.
 */
static bool avc_in_tree(struct check_ctx *ctx, struct anon_vma_chain *avc)
{
	const struct rb_node *n = &avc->rb;

	if (RB_EMPTY_NODE(n))
		return false;
	for (int depth = 0; rb_parent(n) && depth < 128; depth++) {
		n = rb_parent(n);
		ctx->steps++;
	}
	return n == avc->anon_vma->rb_root.rb_node;
}

/*
 * Every VMA linked to an anon_vma is linked to its parent too: per VMA,
 * the parents of its chain's anon_vmas are on the chain.  One set for
 * all VMAs, anon_vma -> the VMA whose chain last had it, so that a chain
 * of n costs n, not n * n, and nothing is cleared between VMAs.
 */
static int check_parent_superset(struct check_ctx *ctx, struct av_census *c,
				 struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;
	long *slot, *p;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		slot = ptrset_slot(&c->linked, avc->anon_vma);
		CHECK(ctx, slot, "checker out of memory");
		*slot = (long)(uintptr_t)vma;	/* on vma's chain */
	}
	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *av = avc->anon_vma;

		ctx->steps++;
		p = ptrset_find(&c->linked, av->parent);
		CHECK(ctx, av->parent == av || (p && *p == (long)(uintptr_t)vma),
		      "VMA %#lx linked to anon_vma %p but not to its parent %p",
		      vma->vm_start, (void *)av, (void *)av->parent);
	}
	return 0;
}

static int census_vmas(struct check_ctx *ctx, struct av_census *c)
{
	struct avm_mm *mm;
	struct rb_node *n;
	int err;

	list_for_each_entry(mm, &ctx->sys->mms, mmlist) {
		for (n = rb_first(&mm->mm_rb); n; n = rb_next(n)) {
			struct vm_area_struct *v =
				rb_entry(n, struct vm_area_struct, vm_rb);
			struct anon_vma_chain *avc;

			err = check_vma_chain(ctx, c, v);
			if (!err)
				err = check_own_users(ctx, c, v);
			if (!err)
				err = check_parent_superset(ctx, c, v);
			if (err)
				return err;
			if (!c->tree)
				continue;	/* lists: check_lists */
			list_for_each_entry(avc, &v->anon_vma_chain, same_vma)
				CHECK(ctx, avc_in_tree(ctx, avc), "avc of VMA %#lx "
				      "missing from anon_vma %p tree",
				      v->vm_start, (void *)avc->anon_vma);
		}
	}
	return 0;
}

/*
 * List designs: each anon_vma's list holds exactly the avcs that name it,
 * each once, and every avc of every VMA is on its anon_vma's list.
 */
static int check_lists(struct check_ctx *ctx, struct av_census *c)
{
	struct ptrset listed;
	unsigned long n = 0;
	struct avm_mm *mm;
	struct rb_node *node;
	int err = 0;

	ptrset_init(&listed);
	ptrset_for_each(&c->avs, i) {
		struct anon_vma *av = (struct anon_vma *)c->avs.keys[i];
		struct anon_vma_chain *avc;

		list_for_each_entry(avc, &av->head, same_anon_vma) {
			long *slot = ptrset_slot(&listed, avc);

			if (!slot) {
				err = check_fail(ctx, "checker out of memory");
				goto out;
			}
			if (avc->anon_vma != av || *slot) {
				err = check_fail(ctx, "anon_vma %p: list holds "
						 "avc %p %s", (void *)av,
						 (void *)avc, *slot ? "twice" :
						 "of another anon_vma");
				goto out;
			}
			*slot = 1;
			n++;
			ctx->steps++;
		}
	}
	list_for_each_entry(mm, &ctx->sys->mms, mmlist) {
		for (node = rb_first(&mm->mm_rb); node; node = rb_next(node)) {
			struct vm_area_struct *v =
				rb_entry(node, struct vm_area_struct, vm_rb);
			struct anon_vma_chain *avc;

			list_for_each_entry(avc, &v->anon_vma_chain, same_vma) {
				ctx->steps++;
				if (ptrset_find(&listed, avc))
					continue;
				err = check_fail(ctx, "avc of VMA %#lx missing "
						 "from anon_vma %p list",
						 v->vm_start,
						 (void *)avc->anon_vma);
				goto out;
			}
		}
	}
	if (n != c->avcs)
		err = check_fail(ctx, "%lu avcs on anon_vma lists, %lu on VMA "
				 "chains", n, c->avcs);
out:
	ptrset_destroy(&listed);
	return err;
}

/* Parents and roots of the linked anon_vmas, and the counts they keep. */
static int census_family(struct check_ctx *ctx, struct av_census *c)
{
	struct ptrset linked = c->avs;
	long *slot;

	ptrset_for_each(&linked, i) {
		struct anon_vma *av = (struct anon_vma *)linked.keys[i];

		ctx->steps++;
		CHECK(ctx, av->root->root == av->root && av->root->parent ==
		      av->root, "anon_vma %p: root %p is not a root",
		      (void *)av, (void *)av->root);
		slot = ptrset_slot(&c->kids, av->parent);
		CHECK(ctx, slot, "checker out of memory");
		(*slot)++;
		if (av->root != av) {
			slot = ptrset_slot(&c->roots, av->root);
			CHECK(ctx, slot, "checker out of memory");
			(*slot)++;
		}
		CHECK(ctx, ptrset_find(&c->avs, av->parent),
		      "anon_vma %p: parent %p has no VMAs", (void *)av,
		      (void *)av->parent);
	}
	return 0;
}

/*
 * The tree holds avcs of this anon_vma only, as many as name it: with
 * every avc found in its own anon_vma's tree (avc_in_tree), the trees hold
 * exactly the avcs.
 */
static int check_tree_members(struct check_ctx *ctx, struct av_census *c,
			      struct anon_vma *av)
{
	long *links = ptrset_find(&c->links, av);
	struct anon_vma_chain *avc;
	unsigned long n = 0;

	index_for_each(true, av, avc) {
		CHECK(ctx, avc->anon_vma == av, "anon_vma %p: tree holds avc %p "
		      "of anon_vma %p", (void *)av, (void *)avc,
		      (void *)avc->anon_vma);
		n++;
		ctx->steps++;
	}
	CHECK(ctx, n == (links ? (unsigned long)*links : 0), "anon_vma %p: %lu "
	      "avcs in its tree, %ld name it", (void *)av, n, links ? *links : 0L);
	return 0;
}

static int check_counts(struct check_ctx *ctx, struct av_census *c)
{
	ptrset_for_each(&c->avs, i) {
		struct anon_vma *av = (struct anon_vma *)c->avs.keys[i];
		long *kids = ptrset_find(&c->kids, av);
		long *members = ptrset_find(&c->roots, av);
		int ref = 1 + (members ? (int)*members : 0);
		int err;

		CHECK(ctx, av->num_active_vmas == (unsigned long)c->avs.vals[i],
		      "anon_vma %p: num_active_vmas %u, but %ld VMAs use it",
		      (void *)av, av->num_active_vmas, c->avs.vals[i]);
		CHECK(ctx, av->num_children == (kids ? (unsigned long)*kids : 0),
		      "anon_vma %p: num_children %u, but %ld point at it",
		      (void *)av, av->num_children, kids ? *kids : 0L);
		CHECK(ctx, atomic_load(&av->refcount) == ref,
		      "anon_vma %p: refcount %d, expected %d", (void *)av,
		      atomic_load(&av->refcount), ref);
		if (c->tree) {
			err = check_tree_members(ctx, c, av);
			if (err)
				return err;
			CHECK(ctx, avc_tree_check(&av->rb_root) == 0,
			      "anon_vma %p: interval tree order or "
			      "augmentation broken", (void *)av);
			CHECK(ctx, rb_validate(&av->rb_root, NULL) == 0,
			      "anon_vma %p: red-black properties broken",
			      (void *)av);
		}
	}
	return 0;
}

static int census_leaks(struct check_ctx *ctx, struct av_census *c)
{
	unsigned long nav = avm_alloc_live(&ctx->sys->alloc, AK_ANON_VMA);
	unsigned long navc = avm_alloc_live(&ctx->sys->alloc, AK_AVC);

	CHECK(ctx, nav == c->avs.n, "%lu anon_vmas live, %zu reachable "
	      "(leak or premature free)", nav, c->avs.n);
	CHECK(ctx, navc == c->avcs, "%lu avcs live, %lu reachable", navc,
	      c->avcs);
	return 0;
}

int av_check(struct avm_sys *sys, struct check_ctx *ctx)
{
	struct av_census c = { .tree = uses_tree(sys) };
	int err;

	ptrset_init(&c.avs);
	ptrset_init(&c.kids);
	ptrset_init(&c.roots);
	ptrset_init(&c.owner);
	ptrset_init(&c.linked);
	ptrset_init(&c.links);
	err = census_vmas(ctx, &c);
	if (!err && !c.tree)
		err = check_lists(ctx, &c);
	if (!err)
		err = census_family(ctx, &c);
	if (!err)
		err = check_counts(ctx, &c);
	if (!err)
		err = census_leaks(ctx, &c);
	ptrset_destroy(&c.avs);
	ptrset_destroy(&c.kids);
	ptrset_destroy(&c.roots);
	ptrset_destroy(&c.owner);
	ptrset_destroy(&c.linked);
	ptrset_destroy(&c.links);
	return err;
}
