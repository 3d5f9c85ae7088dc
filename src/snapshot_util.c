// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The snapshot's small shared tools: page bitmaps, and the copy, compare
 * and hash of memory that may hold the program's AddressSanitizer
 * redzones (a process snapshot copies them as they are).
 */
#include "snapshot.h"

/* ---- bitmaps ---- */

void snap_set_range(uint64_t *b, size_t i0, size_t i1)
{
	while (i0 < i1 && i0 % 64)
		snap_set(b, i0++);
	while (i0 + 64 <= i1) {
		b[i0 / 64] = ~UINT64_C(0);
		i0 += 64;
	}
	while (i0 < i1)
		snap_set(b, i0++);
}

size_t snap_next_set(const uint64_t *b, size_t i, size_t n)
{
	while (i < n) {
		uint64_t w = b[i / 64] >> (i % 64);

		if (w)
			return i + (size_t)__builtin_ctzll(w) < n ?
			       i + (size_t)__builtin_ctzll(w) : n;
		i = (i / 64 + 1) * 64;
	}
	return n;
}

size_t snap_next_clear(const uint64_t *b, size_t i, size_t n)
{
	while (i < n) {
		uint64_t w = ~b[i / 64] >> (i % 64);

		if (w)
			return i + (size_t)__builtin_ctzll(w) < n ?
			       i + (size_t)__builtin_ctzll(w) : n;
		i = (i / 64 + 1) * 64;
	}
	return n;
}

#ifdef __SANITIZE_ADDRESS__
/*
 * Under AddressSanitizer: the memory we copy holds the redzones of the
 * program's globals and heap (a process snapshot copies it all), which
 * the intercepted memcpy and memcmp would report.  Plain loops, not
 * instrumented, and not turned back into calls by the compiler.
 */
__attribute__((no_sanitize_address,
	       optimize("no-tree-loop-distribute-patterns")))
void snap_memcpy(void *dst, const void *src, size_t len)
{
	uint64_t *d = dst;
	const uint64_t *q = src;
	size_t i;

	for (i = 0; i < len / 8; i++)
		d[i] = q[i];
	for (i = len & ~(size_t)7; i < len; i++)
		((unsigned char *)dst)[i] = ((const unsigned char *)src)[i];
}

__attribute__((no_sanitize_address,
	       optimize("no-tree-loop-distribute-patterns")))
int snap_memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}
#endif

__attribute__((no_sanitize_address))
uint64_t snap_hash(const void *p, size_t len)
{
	const uint64_t *q = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len / 8; i++) {
		h ^= q[i];
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return h;
}

uint64_t snap_hash_zero(size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len / 8; i++) {
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return h;
}
