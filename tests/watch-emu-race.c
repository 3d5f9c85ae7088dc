// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the emulation asks the watch layer (PAGE_IS_WRITTEN,
 * WPALLOWED, WP_MATCHING of an emulated PAGEMAP_SCAN) while other
 * threads register, get, reset and unregister watches: the lock order
 * (pagescan_watch(3), LOCKING) has no cycle, so nothing deadlocks (a
 * deadlock dies of SIGALRM), and every scan either succeeds or fails
 * with a documented error.  With PAGESCAN_BACKEND=emulate, which is what
 * every pre-6.7 kernel runs under auto.  ROUNDS rounds per registrar, or
 * fewer (MIN_ROUNDS at least) once RUN_SECS have passed (EMU_RACE_SECS
 * if set: tests/vm/init, under TCG): a slow guest is not a deadlock; one
 * is a minute without any call returning.
 */
#include "watch-common.h"

#include <pthread.h>
#include <stdatomic.h>

#define NP 16
#define ROUNDS 3000
#define MIN_ROUNDS 200
#define RUN_SECS 20
#define STALL_SECS 60

static char *p[2];
static _Atomic int stop, enough, finished;
static _Atomic unsigned long scans, regs;

static void *scanner(void *arg)
{
	struct page_region r[NP];
	unsigned int k = (unsigned int)(uintptr_t)arg;
	struct pm_scan_arg a;
	int n, err;

	while (!atomic_load(&stop)) {
		char *b = p[k++ % 2];

		a = t_arg(b, b + NP * t_psz, r, NP,
			  k % 3 ? 0 : PM_SCAN_WP_MATCHING, 0, 0,
			  PAGE_IS_WRITTEN, 0,
			  PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED);
		n = t_pioctl(t_pagemap_fd(), &a, &err);
		/* EINVAL: no watch there at that moment (no provider). */
		if (n < 0 && err != EINVAL && err != EPERM) {
			printf("scan: errno %d\n", err);
			exit(1);
		}
		atomic_fetch_add(&scans, 1);
	}
	return NULL;
}

static void *registrar(void *arg)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_MPROTECT);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	unsigned int k = (unsigned int)(uintptr_t)arg;
	struct pagescan_region r[NP];
	struct pagescan_watch *w;
	char *b = p[k];
	int i;

	for (i = 0; i < ROUNDS && (i < MIN_ROUNDS || !atomic_load(&enough));
	     i++) {
		if (pagescan_watch_register(b, NP * t_psz, &wo, &w)) {
			printf("register: %s\n", strerror(errno));
			exit(1);
		}
		b[(i % NP) * t_psz] = 1;
		pagescan_watch_get_regions(w, b, NP * t_psz, r, NP, &go);
		pagescan_watch_reset(w, b, NP * t_psz);
		if (pagescan_watch_unregister(w))
			exit(1);
		atomic_fetch_add(&regs, 1);
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

int main(void)
{
	pthread_t s[2], g[2];
	const char *env = getenv("EMU_RACE_SECS");
	int i, secs, stalled, run_secs = env ? atoi(env) : RUN_SECS;

	t_init("watch-emu-race");
	/* Read once by the library: set before the first scan. */
	setenv("PAGESCAN_BACKEND", "emulate", 1);
	for (i = 0; i < 2; i++) {
		p[i] = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS);
		t_touch(p[i], NP * t_psz);
	}
	for (i = 0; i < 2; i++)
		if (pthread_create(&s[i], NULL, scanner, (void *)(uintptr_t)i) ||
		    pthread_create(&g[i], NULL, registrar,
				   (void *)(uintptr_t)i))
			t_error("pthread_create");
	/*
	 * Until both registrars are done: progress, or a deadlock (the
	 * registrars or the scanners stuck for STALL_SECS).
	 */
	for (secs = stalled = 0; atomic_load(&finished) < 2; secs++) {
		unsigned long r = atomic_load(&regs), n = atomic_load(&scans);

		sleep(1);
		if (secs >= run_secs)
			atomic_store(&enough, 1);
		if (atomic_load(&regs) == r || atomic_load(&scans) == n) {
			if (++stalled >= STALL_SECS) {
				printf("FAIL: %s stuck for %d s: deadlock\n",
				       atomic_load(&regs) == r ? "registrars" :
				       "scanners", STALL_SECS);
				_exit(1);
			}
		} else {
			stalled = 0;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(g[i], NULL);
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(s[i], NULL);
	printf("%lu emulated scans during %lu register/get/reset/unregister "
	       "rounds: no deadlock\n", atomic_load(&scans),
	       atomic_load(&regs));
	t_done();
}
