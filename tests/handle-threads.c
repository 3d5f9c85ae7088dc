// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: one handle used by several threads at once while the
 * process's mappings change: four threads scan it (the emulation, which
 * reads the handle's maps or smaps descriptor on every scan, and the
 * native ioctl) and list its VMAs from maps and from smaps, while a
 * mutator flips the protection of every other page of a 400-page
 * mapping (a maps text of many kernel reads, whose lines come and go).
 * Every call must succeed.  The handle's maps and smaps descriptors are
 * shared by its threads, and a seq_file has one read position per open
 * file: reads interleaved from two threads came back as torn text (a
 * line cut in two), and the scan failed with EIO.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NPAGES 400
#define READERS 4

static char *area;
static _Atomic int stop;
static _Atomic unsigned long calls, errors;
static _Atomic int first_err;

static void *mutator(void *arg)
{
	unsigned int round = 0;
	size_t i;

	(void)arg;
	while (!atomic_load(&stop)) {
		/* Every other page read-only, then all writable again. */
		for (i = round & 1; i < NPAGES; i += 2)
			mprotect(area + i * t_psz, t_psz,
				 round & 2 ? PROT_READ :
					     PROT_READ | PROT_WRITE);
		round++;
	}
	return NULL;
}

static int vma_fn(const struct pagescan_vma *v, void *ctx)
{
	(void)v;
	(void)ctx;
	return 0;
}

static void record(int ret, int what)
{
	atomic_fetch_add(&calls, 1);
	if (ret < 0 && !atomic_fetch_add(&errors, 1))
		atomic_store(&first_err, ret * 10 - what);
}

static void *reader(void *arg)
{
	struct pagescan *h = arg;
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		      .category_mask = PAGE_IS_PRESENT,
		      .return_mask = PAGE_IS_PRESENT);
	struct pagescan_region vec[64];
	uint64_t s = (uintptr_t)area, e = s + NPAGES * t_psz;

	while (!atomic_load(&stop)) {
		record(pagescan_scan(h, s, e, vec, 64, &o), 1);
		record(pagescan_vmas(h, 0, UINT64_MAX, 0, vma_fn, NULL), 2);
		record(pagescan_vmas(h, 0, UINT64_MAX, PAGESCAN_VMAS_SMAPS,
				     vma_fn, NULL), 3);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(enum pagescan_backend b, const char *name)
{
	PAGESCAN_OPTS(pagescan_open_opts, oo, .backend = b);
	pthread_t mut, rd[READERS];
	struct pagescan *h;
	double end;
	int i, ret;

	if (b == PAGESCAN_BACKEND_NATIVE &&
	    pagescan_probe(PAGESCAN_FEAT_SCAN) != 1) {
		printf("%s: no PAGEMAP_SCAN here\n", name);
		return;
	}
	ret = pagescan_open(0, &oo, &h);
	if (ret) {
		t_fail("%s: open: %d", name, ret);
		return;
	}
	atomic_store(&stop, 0);
	atomic_store(&calls, 0);
	atomic_store(&errors, 0);
	if (pthread_create(&mut, NULL, mutator, NULL))
		t_error("pthread_create");
	for (i = 0; i < READERS; i++)
		if (pthread_create(&rd[i], NULL, reader, h))
			t_error("pthread_create");
	end = now() + 1.5;
	while (now() < end && !atomic_load(&errors))
		usleep(10000);
	atomic_store(&stop, 1);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	pthread_join(mut, NULL);
	pagescan_close(h);
	printf("%s: %lu calls, %lu failed\n", name, atomic_load(&calls),
	       atomic_load(&errors));
	t_check(!atomic_load(&errors), "%s: %lu of %lu calls failed, the "
		"first with %d (call %d)", name, atomic_load(&errors),
		atomic_load(&calls), atomic_load(&first_err) / 10,
		-(atomic_load(&first_err) % 10));
}

int main(void)
{
	t_init("handle-threads");
	area = t_map(NPAGES * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(area, NPAGES * t_psz);
	run(PAGESCAN_BACKEND_EMULATE, "emulate");
	run(PAGESCAN_BACKEND_NATIVE, "native");
	t_done();
}
