// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Reset an arena to its initial image after each request, touching only
 * the pages the request changed: what a sandbox runtime does to an
 * instance's memory between requests.
 *   arena-reset [REQUESTS]        (default 2000)
 * Each request allocates from a bump arena of 64 MiB whose first 8 MiB
 * hold the initial image (a table the request reads and updates), writes
 * a few objects and the table; the snapshot then puts the arena back.
 * Prints the backend, the pages restored per reset, the time per reset
 * against a memcpy of the whole image, and checks the arena after each.
 * Build: cc arena-reset.c $(pkg-config --cflags --libs libpagescan)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <pagescan.h>

#define ARENA (64u << 20)
#define IMAGE (8u << 20)

struct arena {
	char *base;
	size_t used;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	void *p = a->base + a->used;

	a->used += (n + 63) & ~(size_t)63;
	return a->used <= ARENA ? p : NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One request: reads and updates the image, allocates some objects. */
static void request(struct arena *a, unsigned int seed)
{
	uint32_t *table = (uint32_t *)(void *)a->base;
	int i;

	for (i = 0; i < 16; i++) {
		char *obj = arena_alloc(a, 2000 + seed % 3000);

		seed = seed * 1103515245u + 12345u;
		if (obj)
			memset(obj, (int)(seed >> 24), 2000);
		table[(seed >> 8) % (IMAGE / 4)] += 1;
	}
}

int main(int argc, char **argv)
{
	long requests = argc > 1 ? atol(argv[1]) : 2000, i;
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	struct pagescan_snapshot *snap;
	struct pagescan_range r;
	struct arena a;
	uint64_t pages = 0;
	double t0, t_restore = 0, t_copy;
	size_t used0;
	char *image;
	int err;

	a.base = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	image = malloc(IMAGE);
	if (a.base == MAP_FAILED || !image)
		return 1;
	/* The initial image: a table, then the allocation pointer after it. */
	for (i = 0; i < (long)(IMAGE / 4); i++)
		((uint32_t *)(void *)a.base)[i] = (uint32_t)i * 2654435761u;
	a.used = IMAGE;
	used0 = a.used;
	memcpy(image, a.base, IMAGE);

	r.addr = a.base;
	r.len = ARENA;
	err = pagescan_snapshot_take(&r, 1, NULL, &snap);
	if (err) {
		fprintf(stderr, "arena-reset: take: %s\n", strerror(-err));
		return 1;
	}
	printf("backend: %s\n", pagescan_snapshot_reason(snap));

	for (i = 0; i < requests; i++) {
		request(&a, (unsigned int)i);
		t0 = now();
		err = pagescan_snapshot_restore(snap, &st);
		t_restore += now() - t0;
		a.used = used0;		/* the allocator's own reset */
		if (err) {
			fprintf(stderr, "arena-reset: restore: %s\n",
				strerror(-err));
			return 1;
		}
		pages += st.pages;
		/* Spot checks: the image is back, the heap part reads zero. */
		if (memcmp(a.base, image, 4096) ||
		    a.base[IMAGE + (size_t)(i % 64) * 4096] != 0) {
			fprintf(stderr, "arena-reset: request %ld: not reset\n",
				i);
			return 1;
		}
	}
	if (memcmp(a.base, image, IMAGE)) {
		fprintf(stderr, "arena-reset: the image differs at the end\n");
		return 1;
	}
	t0 = now();
	for (i = 0; i < 20; i++)
		memcpy(a.base, image, IMAGE);
	t_copy = (now() - t0) / 20;
	printf("%ld requests, %.1f pages restored per reset, %.1f us per "
	       "reset; a memcpy of the 8 MiB image alone: %.1f us (%.0fx)\n",
	       requests, requests ? (double)pages / (double)requests : 0.0,
	       requests ? t_restore / (double)requests * 1e6 : 0.0,
	       t_copy * 1e6, requests && t_restore > 0 ?
	       t_copy / (t_restore / (double)requests) : 0.0);
	printf("the snapshot holds %.1f MiB for a %u MiB arena\n",
	       (double)st.saved / (1 << 20), ARENA >> 20);
	pagescan_snapshot_free(snap);
	munmap(a.base, ARENA);
	free(image);
	return 0;
}
