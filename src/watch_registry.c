// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The registry: every watch of the process, by range.  Overlapping
 * watches are refused (EBUSY), so an address has at most one watch.
 */
#include "watch.h"

static pthread_mutex_t reg_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static struct pagescan_watch *reg_head PS_STATE;

void watch_reg_lock(void)
{
	pthread_mutex_lock(&reg_lock);
}

void watch_reg_unlock(void)
{
	pthread_mutex_unlock(&reg_lock);
}

struct pagescan_watch *watch_reg_find_locked(uint64_t start, uint64_t end)
{
	struct pagescan_watch *w;

	for (w = reg_head; w; w = w->next)
		if (start < w->end && w->start < end)
			return w;
	return NULL;
}

uint64_t watch_reg_free_until(uint64_t from, uint64_t to)
{
	struct pagescan_watch *w;

	watch_reg_lock();
	while ((w = watch_reg_find_locked(from, to)))
		to = w->start > from ? w->start : from;
	watch_reg_unlock();
	return to;
}

void watch_reg_unlink_locked(struct pagescan_watch *w)
{
	struct pagescan_watch **pp;

	for (pp = &reg_head; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}


void watch_reg_link_locked(struct pagescan_watch *w)
{
	w->next = reg_head;
	reg_head = w;
}

/* The head of the list, for a walk under the registry lock. */
struct pagescan_watch *watch_reg_first_locked(void)
{
	return reg_head;
}
