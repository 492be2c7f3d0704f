/* SPDX-License-Identifier: MIT */
/* Rounds of mms visited under their mmap_lock (see mm_walk.h). */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "rmap/mm_walk.h"

/* Ids are unique for the system's lifetime; a freed mm's address is not. */
static const void *mm_key(const struct avm_mm *mm)
{
	return (const void *)(uintptr_t)mm->id;
}

void mmw_init(struct mm_walk *w)
{
	ptrset_init(&w->done);
	w->tracking = false;
	w->busy = false;
	w->err = 0;
	w->locked = w->local;
	w->nlocked = 0;
	w->cap = sizeof(w->local) / sizeof(w->local[0]);
}

int mmw_destroy(struct mm_walk *w)
{
	mmw_end_round(w, true);
	ptrset_destroy(&w->done);
	if (w->locked != w->local)
		free(w->locked);
	return w->err;
}

static int push(struct mm_walk *w, struct avm_mm *mm)
{
	if (w->nlocked == w->cap) {
		struct avm_mm **v = malloc(2 * w->cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memcpy(v, w->locked, w->nlocked * sizeof(*v));
		if (w->locked != w->local)
			free(w->locked);
		w->locked = v;
		w->cap *= 2;
	}
	w->locked[w->nlocked++] = mm;
	return 0;
}

int mmw_take(struct mm_walk *w, struct avm_mm *mm)
{
	if (w->tracking && ptrset_find(&w->done, mm_key(mm)))
		return 0;
	if (!mmap_read_trylock(mm)) {
		w->busy = true;
		return 0;
	}
	if (push(w, mm)) {
		mmap_read_unlock(mm);
		return w->err = -ENOMEM;
	}
	return 1;
}

bool mmw_end_round(struct mm_walk *w, bool stop)
{
	bool again = w->busy && !stop && !w->err;

	/* from the first busy round on, remember what was visited */
	w->tracking |= again;
	for (size_t i = 0; i < w->nlocked; i++) {
		if (w->tracking && !w->err &&
		    !ptrset_slot(&w->done, mm_key(w->locked[i]))) {
			w->err = -ENOMEM;
			again = false;
		}
		mmap_read_unlock(w->locked[i]);
	}
	w->nlocked = 0;
	w->busy = false;
	if (again)
		sched_relax("mm walk: retry a busy mm");	/* let the writer finish */
	return again;
}
