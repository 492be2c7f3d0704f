/* SPDX-License-Identifier: MIT */
/* The classes of the kernel's locks, and Linux's order of them (locks.h). */
#include <pthread.h>
#include "mm/locks.h"

DEFINE_LOCK_CLASS(mmap_lock_class, "mm->mmap_lock");
DEFINE_LOCK_CLASS(vma_lock_class, "vma->vm_lock");
DEFINE_LOCK_CLASS(page_lock_class, "page lock");
DEFINE_LOCK_CLASS(anon_vma_lock_class, "anon_vma->root->rwsem");
DEFINE_LOCK_CLASS(ptl_class, "mm->page_table_lock");
DEFINE_LOCK_CLASS(swap_lock_class, "swap_info->lock");
DEFINE_LOCK_CLASS(sys_lock_class, "sys->lock");

#ifdef CONFIG_LOCKDEP
static pthread_once_t order_once = PTHREAD_ONCE_INIT;

static void declare(void)
{
	struct lock_class *const order[] = {
		&mmap_lock_class, &vma_lock_class, &page_lock_class, &anon_vma_lock_class,
		&ptl_class, &swap_lock_class, &sys_lock_class,
	};

	for (unsigned int i = 1; i < sizeof(order) / sizeof(order[0]); i++)
		lockdep_declare_order(order[i - 1], order[i],
				      "Linux's lock order (src/mm/locks.h)");
}
#endif

void lock_order_init(void)
{
#ifdef CONFIG_LOCKDEP
	if (lockdep_on)
		pthread_once(&order_once, declare);
#endif
}
