// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What the protection-based backends (mprotect, soft-dirty) check before
 * they arm a range: not hugetlb, one protection that includes PROT_WRITE,
 * and no live thread stack inside.
 *
 * Why stacks: to run a signal handler the kernel pushes a frame onto the
 * thread's stack; on a write-protected stack it cannot, and the process
 * dies of SIGSEGV (unless the handler runs on an alternate stack).  So a
 * range holding the stack of a thread is refused with EBUSY.  A stack is
 * found by the calling thread's own stack pointer, the main thread's
 * [stack] in /proc/self/maps, and the stack pointer of every other thread
 * blocked in a system call (/proc/self/task/N/syscall; a thread running at
 * that moment shows no pointer and is not seen).
 */
#include "watch.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>

/*
 * How often to look again at a thread running in user space for its stack
 * pointer: a thread between two system calls is soon seen, a spinning one
 * is not waited for (a collector registers while its mutators run).
 */
#define STACK_TRIES 20

/*
 * Does [start, end) hold the part of @sp's stack that a signal frame may
 * need: from the bottom of the VMA holding @sp (a thread stack has its
 * guard page below it) up to @sp's page?  Not the VMA above @sp: the
 * kernel merges a glibc thread stack with an anonymous mapping made next
 * to its top, and frames above @sp that fault are served by a frame
 * pushed below @sp (a buffer next to a stack was refused on 6.1).
 */
static bool sp_in(const struct ps_maps *m, uint64_t sp, uint64_t start,
		  uint64_t end)
{
	size_t i = ps_maps_find(m, sp);
	uint64_t top;

	if (i >= m->n || m->v[i].start > sp || sp >= m->v[i].end)
		return false;
	top = (sp & ~(uint64_t)(ps_pagesz() - 1)) + ps_pagesz();
	if (top > m->v[i].end)
		top = m->v[i].end;
	return m->v[i].start < end && start < top;
}

/*
 * One pass over the threads reads each one's pointer once; those running
 * in user space are looked at again after a yield, all of them per yield,
 * so that a register costs STACK_TRIES yields at most, however many
 * threads keep running (it was that many per such thread: a collector
 * with busy mutators waited seconds).
 */
/*
 * 1 found, 0 not, -errno when the threads cannot be listed (EMFILE,
 * ENOMEM): not known is not "none", or a stack would be write-protected
 * and its thread killed by the next signal it takes.
 */
static int threads_have_stack(const struct ps_maps *m, uint64_t start,
			      uint64_t end)
{
	char (*busy)[16] = NULL, (*more)[16];
	size_t nbusy = 0, cap = 0, i, k;
	struct dirent *e;
	bool found = false;
	unsigned int t;
	uint64_t sp;
	int err = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return errno ? -errno : -ENOMEM;
	while (d && !found && (e = readdir(d))) {
		int ret;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(*busy))
			continue;
		ret = sys_thread_sp(e->d_name, 0, &sp);
		if (!ret) {
			found = sp_in(m, sp, start, end);
			continue;
		}
		if (ret != -EBUSY)
			continue;	/* gone meanwhile */
		if (nbusy == cap) {
			cap = cap ? 2 * cap : 16;
			more = realloc(busy, cap * sizeof(*busy));
			if (!more) {
				err = -ENOMEM;
				break;
			}
			busy = more;
		}
		strcpy(busy[nbusy++], e->d_name);
	}
	closedir(d);
	/* A thread that keeps running is not seen (pagescan_watch(3)). */
	for (t = 0; t < STACK_TRIES && nbusy && !found; t++) {
		sched_yield();
		for (i = k = 0; i < nbusy && !found; i++) {
			int ret = sys_thread_sp(busy[i], 0, &sp);

			if (!ret)
				found = sp_in(m, sp, start, end);
			else if (ret == -EBUSY)
				memmove(busy[k++], busy[i], sizeof(*busy));
		}
		nbusy = k;
	}
	free(busy);
	return found ? 1 : err;
}

static int range_has_stack(const struct ps_maps *m, uint64_t start,
			   uint64_t end)
{
	uint64_t here = (uintptr_t)__builtin_frame_address(0);
	size_t i;

	stack_t alt;

	if (sp_in(m, here, start, end))
		return 1;
	/*
	 * The caller's alternate signal stack: the kernel pushes the frame
	 * of our own SA_ONSTACK handler there, and cannot on a protected
	 * page.  Another thread's cannot be found (nothing in /proc shows
	 * it): pagescan_watch(3) says so.
	 */
	if (!sigaltstack(NULL, &alt) && !(alt.ss_flags & SS_DISABLE) &&
	    alt.ss_size && (uintptr_t)alt.ss_sp < end &&
	    start < (uintptr_t)alt.ss_sp + alt.ss_size)
		return 1;
	for (i = ps_maps_find(m, start); i < m->n && m->v[i].start < end; i++)
		if (!strcmp(ps_vma_name(m, &m->v[i]), "[stack]"))
			return 1;
	return threads_have_stack(m, start, end);
}

int watch_range_prot(uint64_t start, uint64_t end, int *prot)
{
	struct ps_maps m = { 0 };
	uint64_t pos = start;
	int p = -1, ret;
	size_t i;

	ret = ps_maps_read(getpid(), 0, &m);
	if (ret)
		return ret;
	for (i = ps_maps_find(&m, start); i < m.n && pos < end; i++) {
		const struct ps_vma *v = &m.v[i];
		int vp = 0;

		if (v->start > pos)
			break;
		vp |= v->flags & PAGESCAN_VMA_READ ? PROT_READ : 0;
		vp |= v->flags & PAGESCAN_VMA_WRITE ? PROT_WRITE : 0;
		vp |= v->flags & PAGESCAN_VMA_EXEC ? PROT_EXEC : 0;
		if (p >= 0 && vp != p)
			ret = -EINVAL;
		p = vp;
		pos = v->end;
	}
	if (!ret && pos < end)
		ret = -ENOMEM;
	if (!ret && !(p & PROT_WRITE))
		ret = -EINVAL;
	if (!ret) {
		int st = range_has_stack(&m, start, end);

		ret = st < 0 ? st : st ? -EBUSY : 0;
	}
	ps_maps_free(&m);
	*prot = p;
	return ret;
}

int watch_protect_prepare(struct pagescan_watch *w)
{
	int ret;

	if (w->hugetlb)
		return -EOPNOTSUPP;
	ret = watch_range_prot(w->start, w->end, &w->prot);
	if (ret == -EBUSY)
		watch_reason(w, "; %s: a thread's stack is in the range",
			     w->ops->name);
	if (ret)
		return ret;
	w->bits = ps_own_zalloc(watch_bitmap_words(w->npages) *
				 sizeof(uint64_t));
	return w->bits ? 0 : -ENOMEM;
}
