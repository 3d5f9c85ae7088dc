// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Verify mode (PAGESCAN_WATCH_VERIFY): a hash of every page, taken when
 * it is armed, compared at get time with what the backend reported.
 */
#include "watch.h"

#include <sys/uio.h>

/*
 * Hash pages, read through process_vm_readv(2) rather than directly: a
 * page unmapped under a watch then reads as "unknown" (0) instead of
 * killing the process, and faults are taken by the kernel like any
 * system call's (uffd-sync serves them).  0 never matches.
 */
#define HASH_CHUNK 65536

static uint64_t hash_buf(const uint64_t *p)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i, n = ps_pagesz() / 8;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return h | 1;
}

/*
 * out[i] = hash of the page at start + i pages, for n pages.  The bounce
 * buffer is allocated per call, not thread-local: 64 KiB of TLS in a
 * library that also has an initial-exec variable (watch_mprotect.c) is
 * static TLS, and dlopen() (Python's ctypes, plugin hosts) then fails
 * with "cannot allocate memory in static TLS block".  Without memory the
 * pages read as unknown, which verify mode never flags.
 */
void watch_hash_pages(uint64_t start, uint64_t n, uint64_t *out)
{
	uint64_t per = HASH_CHUNK / ps_pagesz(), i = 0, j;
	uint64_t *buf;

	if (!per)
		per = 1;
	buf = malloc((size_t)(n < per ? n : per) * ps_pagesz());
	if (!buf) {
		for (i = 0; i < n; i++)
			out[i] = WATCH_HASH_UNKNOWN;
		return;
	}
	while (i < n) {
		uint64_t k = n - i < per ? n - i : per;
		struct iovec l = { buf, k * ps_pagesz() };
		struct iovec r = {
			(void *)(uintptr_t)(start + i * ps_pagesz()),
			k * ps_pagesz(),
		};
		ssize_t got = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		uint64_t ok = got > 0 ? (uint64_t)got / ps_pagesz() : 0;

		for (j = 0; j < ok; j++)
			out[i + j] = hash_buf(buf + j * (ps_pagesz() / 8));
		if (ok == k) {
			i += k;
			continue;
		}
		/* The page after the readable ones cannot be read. */
		out[i + ok] = WATCH_HASH_UNKNOWN;
		i += ok + 1;
	}
	free(buf);
}

void watch_rehash(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	watch_hash_pages(start, (end - start) >> ps_page_shift,
		   w->hash + ((start - w->start) >> ps_page_shift));
}

