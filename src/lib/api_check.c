/* SPDX-License-Identifier: MIT */
/*
 * The API boundary of the lock validator: every public avm_* function is
 * linked through a wrapper (ld --wrap, the Makefile lists every function
 * declared in include/anonvm/anonvm.h) that checks on return that it left
 * the caller's thread holding exactly the locks it held on entry - the
 * analogue of the kernel's check on return to user space.  A function
 * without a wrapper here fails to link, so none is missed.
 */
#include "anonvm/anonvm.h"
#include "lib/lockdep.h"

#ifdef CONFIG_LOCKDEP

#define API(ret, fn, params, args)					\
	ret __real_##fn params;						\
	ret __wrap_##fn params;						\
	ret __wrap_##fn params						\
	{								\
		unsigned int depth__ = lockdep_depth();			\
		ret r__ = __real_##fn args;				\
									\
		lockdep_api_return(#fn, depth__);			\
		return r__;						\
	}

#define API_VOID(fn, params, args)					\
	void __real_##fn params;					\
	void __wrap_##fn params;					\
	void __wrap_##fn params						\
	{								\
		unsigned int depth__ = lockdep_depth();			\
									\
		__real_##fn args;					\
		lockdep_api_return(#fn, depth__);			\
	}

typedef const char *const *name_list;

API_VOID(avm_config_default, (struct avm_config *cfg), (cfg))
API(int, avm_sys_create, (const struct avm_config *cfg, struct avm_sys **out),
    (cfg, out))
API_VOID(avm_sys_destroy, (struct avm_sys *sys), (sys))
API(name_list, avm_designs, (void), ())
API(const char *, avm_design_summary, (const char *name), (name))
API(bool, avm_design_unsafe, (const char *name), (name))
API(int, avm_mm_create, (struct avm_sys *sys, struct avm_mm **out),
    (sys, out))
API(int, avm_fork, (struct avm_mm *parent, struct avm_mm **child),
    (parent, child))
API_VOID(avm_exit, (struct avm_mm *mm), (mm))
API(unsigned long, avm_mm_id, (const struct avm_mm *mm), (mm))
API(int, avm_mmap, (struct avm_mm *mm, unsigned long addr, unsigned long len,
		    int prot, int flags, unsigned long *mapped),
    (mm, addr, len, prot, flags, mapped))
API(int, avm_munmap, (struct avm_mm *mm, unsigned long addr,
		      unsigned long len), (mm, addr, len))
API(int, avm_mprotect, (struct avm_mm *mm, unsigned long addr,
			unsigned long len, int prot), (mm, addr, len, prot))
API(int, avm_mremap, (struct avm_mm *mm, unsigned long old_addr,
		      unsigned long old_len, unsigned long new_len, int flags,
		      unsigned long new_addr, unsigned long *result),
    (mm, old_addr, old_len, new_len, flags, new_addr, result))
API(int, avm_madvise, (struct avm_mm *mm, unsigned long addr,
		       unsigned long len, enum avm_advice advice),
    (mm, addr, len, advice))
API(int, avm_read, (struct avm_mm *mm, unsigned long addr, void *buf,
		    size_t len), (mm, addr, buf, len))
API(int, avm_write, (struct avm_mm *mm, unsigned long addr, const void *buf,
		     size_t len), (mm, addr, buf, len))
API(int, avm_fill, (struct avm_mm *mm, unsigned long addr, int byte,
		    size_t len), (mm, addr, byte, len))
API(int, avm_peek, (struct avm_mm *mm, unsigned long addr, void *buf,
		    size_t len), (mm, addr, buf, len))
API(int, avm_reclaim, (struct avm_sys *sys, unsigned long nr,
		       unsigned long *reclaimed), (sys, nr, reclaimed))
API(int, avm_migrate, (struct avm_mm *mm, unsigned long addr,
		       unsigned long len, unsigned int node,
		       unsigned long *moved), (mm, addr, len, node, moved))
API(long, avm_vmas, (struct avm_mm *mm, struct avm_vma_info *buf, size_t n),
    (mm, buf, n))
API(int, avm_page_info, (struct avm_mm *mm, unsigned long addr,
			 struct avm_page_info *info), (mm, addr, info))
API(int, avm_next_page, (struct avm_mm *mm, unsigned long addr,
			 unsigned long end, unsigned long *found),
    (mm, addr, end, found))
API_VOID(avm_stats, (struct avm_sys *sys, struct avm_stats *st), (sys, st))
API(int, avm_rmap_walk_addr, (struct avm_mm *mm, unsigned long addr,
			      struct avm_walk_stats *ws), (mm, addr, ws))
API(int, avm_rmap_walk_all, (struct avm_sys *sys, struct avm_walk_stats *ws),
    (sys, ws))
API(int, avm_rmap_walk_pfn, (struct avm_sys *sys, unsigned long pfn,
			     struct avm_walk_stats *ws), (sys, pfn, ws))
API(int, avm_check, (struct avm_sys *sys, char *msg, size_t len),
    (sys, msg, len))
API_VOID(avm_sizes, (struct avm_sys *sys, struct avm_sizes *sz), (sys, sz))
API_VOID(avm_fail_nth, (struct avm_sys *sys, unsigned long n), (sys, n))
API_VOID(avm_set_race_hook, (struct avm_sys *sys, avm_race_hook fn, void *arg),
	 (sys, fn, arg))
API_VOID(avm_fail_random, (struct avm_sys *sys, double p, uint64_t seed),
	 (sys, p, seed))
API(unsigned long, avm_alloc_count, (struct avm_sys *sys), (sys))
API(unsigned long, avm_alloc_failures, (struct avm_sys *sys), (sys))
API(int, avm_lockstat_enable, (bool on), (on))
API(long, avm_lockstat, (struct avm_lockstat *buf, size_t n), (buf, n))
API(bool, avm_lockdep_enabled, (void), ())

#endif
