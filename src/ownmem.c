// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The library's own memory, outside the heap and recorded.
 *
 * A whole-process snapshot (snapshot_proc.c) covers the heap and the data
 * of the program: a snapshot or a write watch whose state lived there
 * would be rewound by the restore, in the middle of reading it (and a
 * watch backend whose handler writes its bitmap in memory it protects
 * would fault in its own handler).  So every lasting piece of a snapshot
 * and of a watch (the structs, bitmaps, lists, the copies) is a mapping
 * of its own, and each is recorded here, so that a process snapshot can
 * leave all of them out.  The list's nodes are the headers of the
 * mappings themselves: the list allocates nothing.
 *
 * The list head and its lock are library state (PS_STATE): a restore
 * never rewinds them either.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18	/* 4.14 */
#endif

struct own_mem {
	struct own_mem *next, *prev;
	size_t len;		/* of the whole mapping */
	uint64_t pad;		/* 1: a store's record; keeps 32-byte alignment */
};

static pthread_mutex_t mem_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static struct own_mem *mem_head PS_STATE;

/*
 * Who owns what: a number no forked child shares, even one made by a raw
 * fork or clone system call, which runs no pthread_atfork() handler (the
 * handlers of watch_fork.c then never run, and a pid compare cannot tell
 * pid 1 of a nested pid namespace from its ancestor).  It lives in a page
 * with MADV_WIPEONFORK (4.14), which the kernel zeroes in every child;
 * the child then takes the next number after the last one its ancestors
 * handed out (id_last, copied by fork).  Without MADV_WIPEONFORK: the
 * pid.  vfork(2) shares the page, as it shares everything.
 */
static _Atomic(_Atomic uint64_t *) id_page PS_STATE;
static _Atomic uint64_t id_last PS_STATE;
static _Atomic bool id_nowipe PS_STATE;

static _Atomic uint64_t *id_map(void)
{
	_Atomic uint64_t *p = atomic_load(&id_page), *none = NULL;
	void *m;

	if (p || atomic_load(&id_nowipe))
		return p;
	/*
	 * Without the page (no memory, or before 4.14) the pid, for good:
	 * an owner recorded by one way never compares with the other.
	 */
	m = mmap(NULL, ps_pagesz(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED && madvise(m, ps_pagesz(), MADV_WIPEONFORK)) {
		munmap(m, ps_pagesz());
		m = MAP_FAILED;
	}
	if (m == MAP_FAILED) {
		atomic_store(&id_nowipe, true);
		return atomic_load(&id_page);	/* another thread's, if any */
	}
	p = m;
	if (!atomic_compare_exchange_strong(&id_page, &none, p)) {
		munmap(m, ps_pagesz());
		p = none;
	}
	return p;
}

uint64_t ps_proc_id(void)
{
	_Atomic uint64_t *p = id_map();
	uint64_t v, nv;

	if (!p)
		return (uint64_t)getpid() | UINT64_C(1) << 63;
	v = atomic_load(p);
	if (v)
		return v;
	nv = atomic_fetch_add(&id_last, 1) + 1;
	v = 0;
	return atomic_compare_exchange_strong(p, &v, nv) ? nv : v;
}

static void mem_link(struct own_mem *m)
{
	pthread_mutex_lock(&mem_lock);
	m->prev = NULL;
	m->next = mem_head;
	if (mem_head)
		mem_head->prev = m;
	mem_head = m;
	pthread_mutex_unlock(&mem_lock);
}

static void mem_unlink(struct own_mem *m)
{
	pthread_mutex_lock(&mem_lock);
	if (m->prev)
		m->prev->next = m->next;
	else if (mem_head == m)
		mem_head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	pthread_mutex_unlock(&mem_lock);
}

/*
 * Ranges our memory must not be placed in: the watched ones.  A hole in
 * a watched range (munmap(2) of part of it is allowed) is where the
 * kernel may put a new mapping; a watch's struct or bitmap there would
 * be write-protected with the range by the next get, and the fault
 * handler would fault on its own state (mprotect: the process dies;
 * uffd-sync: its thread waits on itself).  A mapping that lands in one
 * is held while another is asked for, then given back.
 */
#define AVOID_MAX	1024
#define AVOID_TRIES	16
static struct {
	uint64_t start, end;
} avoid[AVOID_MAX] PS_STATE;
static size_t navoid PS_STATE;

void ps_own_avoid(uint64_t start, uint64_t end, bool add)
{
	size_t i;

	pthread_mutex_lock(&mem_lock);
	if (add && navoid < AVOID_MAX) {
		avoid[navoid].start = start;
		avoid[navoid++].end = end;
	}
	for (i = 0; !add && i < navoid; i++)
		if (avoid[i].start == start && avoid[i].end == end) {
			avoid[i] = avoid[--navoid];
			break;
		}
	pthread_mutex_unlock(&mem_lock);
}

static bool avoided(const void *p, size_t len)
{
	uint64_t a = (uintptr_t)p, b = a + len;
	bool hit = false;
	size_t i;

	pthread_mutex_lock(&mem_lock);
	for (i = 0; i < navoid && !hit; i++)
		hit = a < avoid[i].end && avoid[i].start < b;
	pthread_mutex_unlock(&mem_lock);
	return hit;
}

static void *own_mmap(size_t len)
{
	void *held[AVOID_TRIES], *p;
	int n = 0, err;

	for (;;) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED || !avoided(p, len))
			break;
		if (n == AVOID_TRIES) {
			munmap(p, len);
			p = MAP_FAILED;
			errno = ENOMEM;
			break;
		}
		held[n++] = p;
	}
	err = errno;
	while (n--)
		munmap(held[n], len);
	errno = err;
	return p;
}

void *ps_own_zalloc(size_t size)
{
	size_t psz = ps_pagesz(), len;
	struct own_mem *m;

	if (size > SIZE_MAX - sizeof(*m) - psz)
		return NULL;
	len = (size + sizeof(*m) + psz - 1) & ~(psz - 1);
	m = own_mmap(len);
	if (m == MAP_FAILED)
		return NULL;
	/* Inherited by fork: the child's copy must answer ECHILD. */
	m->len = len;
	mem_link(m);
	return m + 1;
}

void ps_own_free(void *p)
{
	struct own_mem *m;

	if (!p)
		return;
	m = (struct own_mem *)p - 1;
	mem_unlink(m);
	munmap(m, m->len);
}

/*
 * A store is [p, p + len), not inherited (MADV_DONTFORK), and its record
 * is the page after it, which is: found from p in O(1) at unmap (looked
 * for in the list, the free of a whole-process snapshot of 3,000 ranges
 * spent most of its time there), and inherited, so that a child's list
 * still names the store it lacks.
 */
void *ps_own_map(size_t len)
{
	size_t psz = ps_pagesz();
	struct own_mem *m;
	void *p;

	len = (len + psz - 1) & ~(psz - 1);
	if (!len || len > SIZE_MAX - psz)
		return NULL;
	p = own_mmap(len + psz);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_DONTFORK);
	m = (struct own_mem *)(void *)((char *)p + len);
	m->len = psz;
	m->pad = 1;	/* a store's record */
	((void **)(void *)(m + 1))[0] = p;
	((size_t *)(void *)(m + 1))[1] = len;
	((uint64_t *)(void *)(m + 1))[2] = ps_proc_id();
	mem_link(m);
	return p;
}

void ps_own_unmap(void *p, size_t len, bool owner)
{
	size_t psz = ps_pagesz();
	struct own_mem *m;

	if (!p)
		return;
	len = (len + psz - 1) & ~(psz - 1);
	m = (struct own_mem *)(void *)((char *)p + len);
	mem_unlink(m);
	/*
	 * A forked child has the record, not the copy (MADV_DONTFORK), and
	 * may have mapped memory of its own there: only the record goes.
	 */
	if (owner)
		munmap(p, len + psz);
	else
		munmap(m, psz);
}

int ps_own_foreach(int (*fn)(uint64_t start, uint64_t end, void *ctx),
		   void *ctx)
{
	struct own_mem *m;
	int ret = 0;

	pthread_mutex_lock(&mem_lock);
	for (m = mem_head; m && !ret; m = m->next) {
		/*
		 * A store made by this process, not one a fork left: the
		 * copy is MADV_DONTFORK, and a child may map its own memory
		 * there, which its snapshots must take.
		 */
		if (m->pad == 1 &&
		    ((uint64_t *)(void *)(m + 1))[2] == ps_proc_id()) {
			uint64_t a = (uintptr_t)((void **)(void *)(m + 1))[0];

			ret = fn(a, a + ((size_t *)(void *)(m + 1))[1], ctx);
		}
		if (!ret)
			ret = fn((uintptr_t)m, (uintptr_t)m + m->len, ctx);
	}
	pthread_mutex_unlock(&mem_lock);
	if (!ret && atomic_load(&id_page))
		ret = fn((uintptr_t)atomic_load(&id_page),
			 (uintptr_t)atomic_load(&id_page) + ps_pagesz(), ctx);
	return ret;
}

struct owns_ctx {
	uint64_t start, end;
};

static int owns_fn(uint64_t a, uint64_t b, void *ctx)
{
	const struct owns_ctx *c = ctx;

	return c->start < b && a < c->end;
}

bool ps_own_owns(uint64_t start, uint64_t end)
{
	struct owns_ctx c = { start, end };

	return ps_own_foreach(owns_fn, &c) > 0;
}

/*
 * The library's state section (PS_STATE): the linker names its ends.  In
 * a static link it shares pages with the program's own variables.
 */
extern char __start_pagescan_state[], __stop_pagescan_state[];

void ps_state_bounds(uint64_t *lo, uint64_t *hi)
{
	*lo = (uintptr_t)__start_pagescan_state;
	*hi = (uintptr_t)__stop_pagescan_state;
}

/* The innermost lock: taken last before fork(2), released first after. */
void ps_own_fork_lock(void)
{
	pthread_mutex_lock(&mem_lock);
}

void ps_own_fork_unlock(void)
{
	pthread_mutex_unlock(&mem_lock);
}
