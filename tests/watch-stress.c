// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the proof that a write watch never misses a write.  For
 * every backend available here (or the one PAGESCAN_WATCH_BACKEND names),
 * three writer threads write at random into three watches (private
 * anonymous memory mostly never touched before, so many first writes; a
 * THP-backed range; shared memory) with plain stores, memcpy, atomics
 * and read(2) into the tracked memory, while the main thread does
 * get-and-reset in a loop, in verify mode: a third of the time as fast
 * as they can (the most races), then with pauses (so that most pages
 * are not rewritten every round and a lost one shows).
 *
 * Ground truth is kept by the writers: per page, "started" is bumped
 * before each write and "done" after it, so the write landed in between.
 * A round k is: snapshot "done" (D_k), get-and-reset every watch (R_k),
 * snapshot "started" (E_k).  Then:
 *  - D_k > E_(k-1): a write started after round k-1 and completed before
 *    round k: it landed between them and must be in R_k;
 *  - D_k > E_(k-2): a write landed after round k-2, before round k: it
 *    must be in R_(k-1) or R_k (reported now or on the next call).
 * Anything else is a missed write.  A page in R_k with E_k == D_(k-1)
 * had no write that could have landed after round k-1 saw it: an
 * over-report (allowed; the rate is printed).
 */
#include "watch-common.h"

#include <sys/syscall.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NW 3			/* watches */
#define WRITERS 3
#define RUN_NS 2500000000ULL	/* per backend, at least */
#define MAX_NS 10000000000ULL	/* per backend, at most */
#define MIN_ROUNDS 20

struct area {
	char *p;
	size_t npages;
	const char *what;
	struct pagescan_watch *w;
	_Atomic uint64_t *started, *done;	/* per page */
	uint64_t *d[2], *e[3];	/* D_k, D_(k-1); E_k, E_(k-1), E_(k-2) */
	uint8_t *rep[2];	/* R_k, R_(k-1) */
	bool use_read;		/* read(2) into it must work */
};

static struct area areas[NW];
static atomic_bool stop, sparse;
static int src_fd;
static atomic_ulong nwrites, nreads_failed;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

T_RACY static void *writer(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	char buf[512];

	memset(buf, (int)(uintptr_t)arg + 'a', sizeof(buf));
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct area *a = &areas[rnd(&s) % NW];
		uint64_t pg = rnd(&s) % a->npages;
		char *page = a->p + pg * t_psz;
		unsigned int op = (unsigned int)(rnd(&s) % 4);
		size_t off = rnd(&s) % (t_psz - sizeof(buf));

		atomic_fetch_add(&a->started[pg], 1);

		switch (op) {
		case 0:
			((volatile char *)page)[off] = (char)rnd(&s);
			break;
		case 1:
			buf[0] = (char)rnd(&s);
			memcpy(page + off, buf, 1 + rnd(&s) % sizeof(buf));
			break;
		case 2:
			__atomic_fetch_add((uint64_t *)(page + (off & ~7UL)), 1,
					   __ATOMIC_SEQ_CST);
			break;
		case 3:
			if (!a->use_read) {
				((volatile char *)page)[off] ^= 1;
				break;
			}
			/* A write by the kernel, inside a system call. */
			/* The system call itself: no sanitizer hook. */
			if (syscall(SYS_pread64, src_fd, page + off, 64, 0) !=
			    64) {
				atomic_fetch_add(&nreads_failed, 1);
				continue;	/* not a write */
			}
			break;
		}
		atomic_fetch_add_explicit(&a->done[pg], 1,
					  memory_order_release);
		/*
		 * Pause now and then, so that a round sees some pages written
		 * and most not: a dense pattern would hide a lost page in the
		 * next round's write to it.
		 */
		if (atomic_fetch_add_explicit(&nwrites, 1,
					      memory_order_relaxed) % 2 == 0 &&
		    atomic_load_explicit(&sparse, memory_order_relaxed))
			nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
	return NULL;
}

/* which 0: D_k from "done"; 1: E_k from "started". */
static void snapshot(int which)
{
	int i;
	size_t j;

	for (i = 0; i < NW; i++) {
		struct area *a = &areas[i];
		uint64_t *dst = which ? a->e[0] : a->d[0];
		_Atomic uint64_t *src = which ? a->started : a->done;

		for (j = 0; j < a->npages; j++)
			dst[j] = atomic_load(&src[j]);
	}
}

struct stats {
	uint64_t rounds, reported, over, missed;
};

static int harvest(struct area *a)
{
	struct pagescan_region r[128];
	uint64_t pos = (uintptr_t)a->p, end = pos + a->npages * t_psz;

	memset(a->rep[0], 0, a->npages);
	while (pos < end) {
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = PAGESCAN_WATCH_RESET);
		int n, i;
		uint64_t x;

		/* A small buffer on purpose: the resume path is exercised. */
		n = pagescan_watch_get_regions(a->w, (void *)(uintptr_t)pos,
					       end - pos, r, sizeof(r) / sizeof(r[0]), &o);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			for (x = r[i].start; x < r[i].end; x += t_psz)
				a->rep[0][(x - (uintptr_t)a->p) / t_psz] = 1;
		if (o.next <= pos)
			return -EPROTO;
		pos = o.next;
	}
	return 0;
}

static void check_round(struct stats *st)
{
	int i;
	size_t j;

	for (i = 0; i < NW; i++) {
		struct area *a = &areas[i];

		for (j = 0; j < a->npages; j++) {
			bool r = a->rep[0][j], pr = a->rep[1][j];

			if (a->d[0][j] > a->e[1][j] && !r) {
				if (st->missed++ < 10)
					printf("MISSED: %s page %zu: written "
					       "between rounds, not reported\n",
					       a->what, j);
			}
			if (a->d[0][j] > a->e[2][j] && !r && !pr) {
				if (st->missed++ < 10)
					printf("MISSED: %s page %zu: written "
					       "around a round, reported by "
					       "neither it nor the next\n",
					       a->what, j);
			}
			if (r) {
				st->reported++;
				if (a->e[0][j] == a->d[1][j])
					st->over++;
			}
		}
	}
}

/* Round k becomes k-1. */
static void rotate(void)
{
	int i;

	for (i = 0; i < NW; i++) {
		struct area *a = &areas[i];
		uint64_t *t;
		uint8_t *u;

		t = a->d[1]; a->d[1] = a->d[0]; a->d[0] = t;
		t = a->e[2]; a->e[2] = a->e[1]; a->e[1] = a->e[0]; a->e[0] = t;
		u = a->rep[1]; a->rep[1] = a->rep[0]; a->rep[0] = u;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void setup_area(struct area *a, const char *what, size_t npages,
		       int flags, int advice, bool prefault)
{
	int i;

	a->what = what;
	a->npages = npages;
	a->p = t_map_aligned(npages * t_psz, 2 << 20, PROT_READ | PROT_WRITE,
			     flags);
	if (advice >= 0)
		madvise(a->p, npages * t_psz, advice);
	if (prefault)
		memset(a->p, 7, npages * t_psz);
	a->done = calloc(npages, sizeof(*a->done));
	a->started = calloc(npages, sizeof(*a->started));
	if (!a->done || !a->started)
		t_error("calloc");
	for (i = 0; i < 3; i++) {
		a->e[i] = calloc(npages, 8);
		if (i < 2) {
			a->d[i] = calloc(npages, 8);
			a->rep[i] = calloc(npages, 1);
			if (!a->d[i] || !a->rep[i])
				t_error("calloc");
		}
		if (!a->e[i])
			t_error("calloc");
	}
}

static void free_area(struct area *a)
{
	int i;

	munmap(a->p, a->npages * t_psz);
	free((void *)a->done);
	free((void *)a->started);
	for (i = 0; i < 3; i++) {
		free(a->e[i]);
		if (i < 2) {
			free(a->d[i]);
			free(a->rep[i]);
		}
	}
}

static void run(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		.flags = PAGESCAN_WATCH_VERIFY);
	pthread_t th[WRITERS];
	struct stats st = { 0 };
	uint64_t t0;
	int i, ret;

	setup_area(&areas[0], "anon", 4096, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, false);
	setup_area(&areas[1], "thp", 1024, MAP_PRIVATE | MAP_ANONYMOUS,
		   MADV_HUGEPAGE, true);
	setup_area(&areas[2], "shmem", 256, MAP_SHARED | MAP_ANONYMOUS,
		   -1, false);
	for (i = 0; i < NW; i++) {
		ret = pagescan_watch_register(areas[i].p,
					      areas[i].npages * t_psz, &wo,
					      &areas[i].w);
		if ((ret == -EOPNOTSUPP || ret == -EINVAL) && i == 2 &&
		    (b == PAGESCAN_WATCH_UFFD_SYNC ||
		     b == PAGESCAN_WATCH_SOFT_DIRTY)) {
			/*
			 * uffd-wp on shmem needs 5.19; soft-dirty refuses
			 * shared memory: the best other one.
			 */
			PAGESCAN_OPTS(pagescan_watch_opts, ao,
				.flags = PAGESCAN_WATCH_VERIFY);

			printf("%s: shmem not trackable (%s); tracked by "
			       "the automatic choice\n", name, strerror(-ret));
			ret = pagescan_watch_register(areas[i].p,
					areas[i].npages * t_psz, &ao,
					&areas[i].w);
		}
		if (ret)
			t_error("%s: register %s: %s", name, areas[i].what,
				strerror(-ret));
	}
	/*
	 * read(2) into tracked memory must work with the uffd backends; with
	 * mprotect it fails with EFAULT by design (watch-api tests that),
	 * and with soft-dirty it may fail while a reset runs.
	 */
	for (i = 0; i < NW; i++) {
		enum pagescan_watch_backend ab =
			pagescan_watch_backend(areas[i].w);

		areas[i].use_read = ab == PAGESCAN_WATCH_UFFD_ASYNC ||
				    ab == PAGESCAN_WATCH_UFFD_SYNC;
	}
	atomic_store(&stop, false);
	atomic_store(&sparse, false);
	atomic_store(&nwrites, 0);
	atomic_store(&nreads_failed, 0);
	/* Round 0 is the registration: E_0 = E_(-1) = D_0 = 0. */
	rotate();
	for (i = 0; i < WRITERS; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)(i + 1)))
			t_error("pthread_create");
	t0 = now_ns();
	for (;;) {
		uint64_t el = now_ns() - t0;
		/*
		 * At least MIN_ROUNDS (slow machines, qemu TCG in the VM
		 * lane), within MAX_NS.
		 */
		bool last = (el > RUN_NS && st.rounds >= MIN_ROUNDS) ||
			    el > MAX_NS;

		/* Dense first (races), then sparse (lost pages show). */
		if (el > RUN_NS / 3)
			atomic_store(&sparse, true);

		if (last) {
			atomic_store(&stop, true);
			for (i = 0; i < WRITERS; i++)
				pthread_join(th[i], NULL);
		}
		snapshot(0);
		for (i = 0; i < NW; i++) {
			ret = harvest(&areas[i]);
			if (ret == -EIO) {
				void *pg;
				uint64_t cnt;

				pagescan_watch_verify_failure(areas[i].w, &pg,
							      &cnt);
				t_fail("%s: verify: %" PRIu64 " page(s) "
				       "changed unreported, first %p (%s)",
				       name, cnt, pg, areas[i].what);
			} else if (ret) {
				t_fail("%s: get-and-reset %s: %s", name,
				       areas[i].what, strerror(-ret));
			}
		}
		snapshot(1);
		check_round(&st);
		rotate();
		st.rounds++;
		if (last)
			break;
	}
	/* Nothing may be left over after the writers stopped. */
	for (i = 0; i < NW; i++) {
		PAGESCAN_OPTS(pagescan_watch_get_opts, o);
		struct pagescan_region r[1];

		t_eq(pagescan_watch_get_regions(areas[i].w, areas[i].p,
						areas[i].npages * t_psz, r, 1,
						&o), 0);
	}
	t_check(atomic_load(&nreads_failed) == 0,
		"%s: %lu read(2) into tracked memory failed", name,
		atomic_load(&nreads_failed));
	printf("%s: rounds %" PRIu64 ", writes %lu, pages reported %" PRIu64
	       ", missed %" PRIu64 ", over-reported %" PRIu64 " (%.2f%%)\n",
	       name, st.rounds, atomic_load(&nwrites), st.reported, st.missed,
	       st.over, st.reported ? 100.0 * (double)st.over /
	       (double)st.reported : 0.0);
	t_check(st.missed == 0, "%s: %" PRIu64 " missed writes", name,
		st.missed);
	t_check(st.rounds > 2, "%s: only %" PRIu64 " rounds", name,
		st.rounds);
	for (i = 0; i < NW; i++) {
		t_eq(pagescan_watch_unregister(areas[i].w), 0);
		free_area(&areas[i]);
	}
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("watch-stress");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend available");
	src_fd = t_tmpfile(t_psz, 0x33);
	for (i = 0; i < n; i++)
		run(bs[i]);
	t_done();
}
