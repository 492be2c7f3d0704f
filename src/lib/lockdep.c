/* SPDX-License-Identifier: MIT */
/*
 * The lock validator: per-thread held-lock stacks and the graph of lock
 * orders between classes (see lockdep.h).  The graph only grows; a known
 * order costs a bit test per held lock, a new one a search under
 * graph_lock.  Classes and subclasses are its nodes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "anonvm/anonvm.h"
#include "lib/lockdep.h"
#include "lib/lockdep_internal.h"

#define MAX_CLASSES	32
#define NR_NODES	(MAX_CLASSES * LOCKDEP_SUBCLASSES)
#define NODE_WORDS	(NR_NODES / 64)
#define MAX_DEPS	2048
#define HELD_LOCAL	48

atomic_bool lock_tracking;
bool lockdep_on;

struct lock_class *lock_classes[MAX_CLASSES];
atomic_uint nr_lock_classes;

/* Where an order was first seen: the held lock's site, then the new one. */
struct dep {
	struct site from, to;
};

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t adj[NR_NODES][NODE_WORDS];	/* from -> to bits */
static uint16_t dep_of[NR_NODES][NR_NODES];		/* index + 1 */
static struct dep deps[MAX_DEPS];
static unsigned int nr_deps;

static __thread struct held_lock held_local[HELD_LOCAL];
static __thread struct held_lock *held;	/* held_local or malloc'd */
static __thread unsigned int nheld, held_cap;	/* entries, room */
static __thread unsigned int nlive;		/* live entries (see below) */
static __thread unsigned int hint;		/* after the last release */
static __thread uint16_t node_held[NR_NODES];	/* live entries per node */
static __thread uint64_t node_bits[NODE_WORDS];	/* nodes held */

static pthread_key_t held_key;

static void held_free(void *p)
{
	free(p);
}

__attribute__((constructor)) static void lockdep_init(void)
{
#ifdef CONFIG_LOCKDEP
	const char *e = getenv("ANONVM_LOCKDEP");

	/* The build's default (on in sanitizer builds), unless the
	   environment says otherwise. */
	lockdep_on = e ? strcmp(e, "0") != 0 : LOCKDEP_DEFAULT_ON;
	atomic_store(&lock_tracking, lockdep_on);
#endif
	pthread_key_create(&held_key, held_free);
}

/* ---- reports ------------------------------------------------------------ */

static char rbuf[8192];
static size_t rlen;

__attribute__((format(printf, 1, 2))) static void rprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rbuf + rlen, sizeof(rbuf) - rlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		rlen = MIN(rlen + (size_t)n, sizeof(rbuf) - 1);
}

static const char *node_name(unsigned int node, char *buf, size_t len)
{
	const struct lock_class *c = lock_classes[node / LOCKDEP_SUBCLASSES];
	unsigned int sub = node % LOCKDEP_SUBCLASSES;

	if (sub)
		snprintf(buf, len, "%s/%u", c->name, sub);
	else
		snprintf(buf, len, "%s", c->name);
	return buf;
}

static void print_held(void)
{
	char nb[96];

	rprintf("  locks held by this thread (%u):\n", nlive);
	for (unsigned int i = 0; i < nheld; i++) {
		const struct held_lock *h = &held[i];

		if (!h->lock)
			continue;
		rprintf("    #%u %s (%s%s) taken at %s:%d\n", i,
			node_name(h->node, nb, sizeof(nb)),
			h->flags & LD_READ ? "read" : "exclusive",
			h->flags & LD_TRY ? ", trylock" : "", h->file,
			h->line);
	}
}

/* Print the report and abort: the process must not go on. */
static _Noreturn void report_end(void)
{
	print_held();
	rprintf("anonvm lockdep: aborting\n");
	if (write(STDERR_FILENO, rbuf, rlen) < 0)
		abort();
	abort();
}

static void report_start(const char *what)
{
	pthread_mutex_trylock(&graph_lock);	/* freeze the graph */
	rlen = 0;
	rprintf("\nanonvm lockdep: %s\n", what);
}

_Noreturn void lockdep_fatal(const char *what, const char *file, int line)
{
	report_start(what);
	rprintf("  at %s:%d\n", file, line);
	report_end();
}

/* ---- classes ------------------------------------------------------------ */

static unsigned int class_register(struct lock_class *c)
{
	unsigned int id;

	pthread_mutex_lock(&graph_lock);
	id = atomic_load(&c->id);
	if (!id) {
		id = atomic_load(&nr_lock_classes) + 1;
		if (id > MAX_CLASSES) {
			pthread_mutex_unlock(&graph_lock);
			lockdep_fatal("too many lock classes (MAX_CLASSES)",
				      __FILE__, __LINE__);
		}
		lock_classes[id - 1] = c;
		atomic_store(&c->id, id);
		atomic_store(&nr_lock_classes, id);
	}
	pthread_mutex_unlock(&graph_lock);
	return id;
}

static unsigned int class_node(struct lock_class *c, unsigned int sub,
			       const char *file, int line)
{
	unsigned int id = atomic_load_explicit(&c->id, memory_order_acquire);

	if (sub >= LOCKDEP_SUBCLASSES)
		lockdep_fatal("lock subclass out of range", file, line);
	if (unlikely(!id))
		id = class_register(c);
	return (id - 1) * LOCKDEP_SUBCLASSES + sub;
}

/* ---- the order graph ---------------------------------------------------- */

static bool has_edge(unsigned int a, unsigned int b)
{
	return atomic_load_explicit(&adj[a][b / 64], memory_order_relaxed) &
	       (1ULL << (b % 64));
}

/* A path from -> ... -> to (graph_lock held): prev[] leads back from to. */
static bool find_path(unsigned int from, unsigned int to, uint16_t *prev)
{
	uint16_t queue[NR_NODES];
	bool seen[NR_NODES] = { false };
	unsigned int head = 0, tail = 0;

	queue[tail++] = from;
	seen[from] = true;
	while (head < tail) {
		unsigned int n = queue[head++];

		for (unsigned int m = 0; m < NR_NODES; m++) {
			if (seen[m] || !has_edge(n, m))
				continue;
			seen[m] = true;
			prev[m] = n;
			if (m == to)
				return true;
			queue[tail++] = m;
		}
	}
	return false;
}

static void print_path(unsigned int from, unsigned int to,
		       const uint16_t *prev)
{
	uint16_t path[NR_NODES];
	unsigned int n = 0;
	char a[96], b[96];

	for (unsigned int x = to; x != from; x = prev[x])
		path[n++] = x;
	path[n++] = from;
	while (n > 1) {
		unsigned int u = path[n - 1], v = path[n - 2];
		const struct dep *d = &deps[dep_of[u][v] - 1];

		if (!d->from.line)	/* declared, not seen */
			rprintf("    %s, then %s: %s\n",
				node_name(u, a, sizeof(a)),
				node_name(v, b, sizeof(b)), d->from.file);
		else
			rprintf("    %s taken at %s:%d, then %s at %s:%d\n",
				node_name(u, a, sizeof(a)), d->from.file,
				d->from.line, node_name(v, b, sizeof(b)),
				d->to.file, d->to.line);
		n--;
	}
}

static void add_edge(unsigned int a, unsigned int b, struct site from,
		     struct site to)
{
	if (nr_deps == MAX_DEPS) {
		pthread_mutex_unlock(&graph_lock);
		lockdep_fatal("too many lock orders (MAX_DEPS)", __FILE__,
			      __LINE__);
	}
	deps[nr_deps] = (struct dep){ from, to };
	dep_of[a][b] = ++nr_deps;
	atomic_fetch_or(&adj[a][b / 64], 1ULL << (b % 64));
}

/* h is held and node is wanted: record h -> node unless it inverts. */
static void check_order(const struct held_lock *h, unsigned int node,
			const char *file, int line)
{
	uint16_t prev[NR_NODES];
	char a[96], b[96];

	pthread_mutex_lock(&graph_lock);
	if (has_edge(h->node, node)) {
		pthread_mutex_unlock(&graph_lock);
		return;
	}
	if (!find_path(node, h->node, prev)) {
		add_edge(h->node, node, (struct site){ h->file, h->line },
			 (struct site){ file, line });
		pthread_mutex_unlock(&graph_lock);
		return;
	}
	report_start("possible deadlock: lock order inversion");
	rprintf("  this thread takes %s at %s:%d\n",
		node_name(node, a, sizeof(a)), file, line);
	rprintf("  while holding %s, taken at %s:%d\n",
		node_name(h->node, b, sizeof(b)), h->file, h->line);
	rprintf("  which orders %s -> %s, but the opposite order was "
		"recorded before:\n", b, a);
	print_path(node, h->node, prev);
	report_end();
}

void lockdep_declare_order(struct lock_class *a, struct lock_class *b,
			   const char *why)
{
	unsigned int na = class_node(a, 0, why, 0);
	unsigned int nb = class_node(b, 0, why, 0);
	uint16_t prev[NR_NODES];

	pthread_mutex_lock(&graph_lock);
	if (!has_edge(na, nb)) {
		if (find_path(nb, na, prev)) {
			pthread_mutex_unlock(&graph_lock);
			lockdep_fatal("declared lock order contradicts the "
				      "recorded one", why, 0);
		}
		add_edge(na, nb, (struct site){ why, 0 },
			 (struct site){ why, 0 });
	}
	pthread_mutex_unlock(&graph_lock);
}

/* ---- held locks --------------------------------------------------------- */

/*
 * A released lock's entry is marked dead (lock NULL) and the dead top of
 * the stack trimmed, so that releasing in the order of acquisition (an mm
 * walk's thousand read locks) costs as little as in the reverse order;
 * the classes held are counted per node, so that validating costs a bit
 * test per class held, not per lock.
 */

static struct held_lock *held_push(void)
{
	if (!held) {
		held = held_local;
		held_cap = HELD_LOCAL;
	}
	if (nheld == held_cap) {
		size_t sz = 2 * held_cap * sizeof(*held);
		struct held_lock *v = held == held_local ? malloc(sz)
							 : realloc(held, sz);

		if (!v)
			lockdep_fatal("out of memory for the held-lock stack",
				      __FILE__, __LINE__);
		if (held == held_local)
			memcpy(v, held_local, sizeof(held_local));
		pthread_setspecific(held_key, v);	/* freed at exit */
		held = v;
		held_cap *= 2;
	}
	return &held[nheld++];
}

/* The newest live entry of node (one is held). */
static const struct held_lock *held_of(unsigned int node)
{
	for (unsigned int i = nheld; i; i--)
		if (held[i - 1].lock && held[i - 1].node == node)
			return &held[i - 1];
	return NULL;
}

static void check_recursion(unsigned int node, const char *file, int line)
{
	const struct held_lock *h = held_of(node);
	char a[96];

	report_start("possible deadlock: recursive locking");
	rprintf("  this thread takes %s at %s:%d\n",
		node_name(node, a, sizeof(a)), file, line);
	rprintf("  while already holding %s, taken at %s:%d\n", a, h->file,
		h->line);
	rprintf("  (two locks of one class nest only with a nesting "
		"annotation: *_lock_nested)\n");
	report_end();
}

static void validate(unsigned int node, const char *file, int line)
{
	if (node_held[node])
		check_recursion(node, file, line);
	for (unsigned int w = 0; w < NODE_WORDS; w++) {
		for (uint64_t b = node_bits[w]; b; b &= b - 1) {
			unsigned int h = w * 64 + (unsigned int)__builtin_ctzll(b);

			if (!has_edge(h, node))
				check_order(held_of(h), node, file, line);
		}
	}
}

void lock_acquire(const void *lock, struct lock_class *c, unsigned int sub,
		  unsigned int flags, const char *file, int line)
{
	unsigned int node = class_node(c, sub, file, line);
	struct held_lock *h;

	if (lockdep_on && !(flags & LD_TRY))
		validate(node, file, line);
	h = held_push();
	*h = (struct held_lock){ .lock = lock, .c = c, .file = file,
				 .line = line, .node = node, .flags = flags };
	if (!node_held[node]++)
		node_bits[node / 64] |= 1ULL << (node % 64);
	nlive++;
}

void lock_acquired(const void *lock, bool contended, uint64_t wait_ns)
{
	struct held_lock *h;

	if (!atomic_load_explicit(&lockstat_on, memory_order_relaxed) ||
	    !nheld)
		return;
	h = &held[nheld - 1];
	if (h->lock != lock)
		return;
	lockstat_acquired(h->c, wait_ns, h->flags & LD_READ, contended);
	h->t_acq = lockstat_clock();
}

/* Index of lock's entry: the top (LIFO), from the last release on
   (FIFO), then anywhere; -1 if it is not held. */
static int find_held(const void *lock)
{
	if (nheld && held[nheld - 1].lock == lock)
		return (int)nheld - 1;
	for (unsigned int i = hint; i < nheld; i++)
		if (held[i].lock == lock)
			return (int)i;
	for (unsigned int i = 0; i < hint && i < nheld; i++)
		if (held[i].lock == lock)
			return (int)i;
	return -1;
}

struct lock_class *lock_release(const void *lock, const char *file, int line)
{
	int i = lock ? find_held(lock) : -1;
	struct lock_class *c;
	struct held_lock *h;

	if (i < 0) {
		/* statistics turned on while it was held: not tracked */
		if (lockdep_on)
			lockdep_fatal("releasing a lock this thread does not "
				      "hold", file, line);
		return NULL;
	}
	h = &held[i];
	c = h->c;
	if (h->t_acq && atomic_load_explicit(&lockstat_on,
					     memory_order_relaxed))
		lockstat_released(h->c, lockstat_clock() - h->t_acq,
				  h->flags & LD_READ);
	if (!--node_held[h->node])
		node_bits[h->node / 64] &= ~(1ULL << (h->node % 64));
	h->lock = NULL;
	nlive--;
	hint = (unsigned int)i + 1;
	while (nheld && !held[nheld - 1].lock)
		nheld--;
	if (hint > nheld)
		hint = 0;
	return c;
}

unsigned int lockdep_depth(void)
{
	return nlive;
}

bool lockdep_held(const void *lock)
{
	return lock && find_held(lock) >= 0;
}

void lockdep_api_return(const char *fn, unsigned int depth)
{
	unsigned int seen = 0;
	char a[96];

	if (!lockdep_on || nlive == depth)
		return;
	if (nlive < depth) {
		report_start("an API function released its caller's locks");
		rprintf("  %s returned with %u locks held, called with %u\n",
			fn, nlive, depth);
		report_end();
	}
	report_start("lock held at return to the caller");
	for (unsigned int i = 0; i < nheld; i++) {
		if (!held[i].lock || seen++ < depth)
			continue;	/* the caller's */
		rprintf("  %s returns with %s held, taken at %s:%d\n", fn,
			node_name(held[i].node, a, sizeof(a)), held[i].file,
			held[i].line);
	}
	report_end();
}

bool avm_lockdep_enabled(void)
{
	return lockdep_on;
}
