// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a watched range that is several VMAs, because the program
 * split it before register or after (madvise(2) flags: MADV_DONTDUMP,
 * MADV_DONTFORK), loses no write on any backend.  On older kernels
 * UFFDIO_WRITEPROTECT takes one VMA per call and fails with ENOENT over
 * two (5.10 and 6.1); uffd-sync took a written run across a boundary for
 * unmapped, re-armed nothing of it and cleared its bits, so every later
 * write to it was unseen (found in the 5.10 guest, where memory mapped
 * again in place gave such runs).  Each round writes runs that cross
 * every boundary, and each get-and-reset must report every page written.
 */
#include "watch-common.h"

#define NP 32
#define ROUNDS 4

static void split(char *p)
{
	/* Four VMAs: 0-7, 8-15 (no dump), 16-19, 20-23 (no fork), 24-31. */
	if (madvise(p + 8 * t_psz, 8 * t_psz, MADV_DONTDUMP) ||
	    madvise(p + 20 * t_psz, 4 * t_psz, MADV_DONTFORK))
		t_error("madvise");
}

static void run(enum pagescan_watch_backend b, bool before)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	const char *when = before ? "split before register" :
			   "split after register";
	struct pagescan_watch *w;
	bool seen[NP];
	void *pg[NP];
	int i, n, round, ret, missed = 0;
	char *p;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 1, NP * t_psz);
	if (before)
		split(p);
	ret = pagescan_watch_register(p, NP * t_psz, &wo, &w);
	if (ret) {
		/* A backend may refuse such a range, and say so. */
		t_check(ret == -EINVAL || ret == -EOPNOTSUPP, "%s, %s: "
			"register: %s", name, when, strerror(-ret));
		printf("%s, %s: refused: %s\n", name, when, strerror(-ret));
		munmap(p, NP * t_psz);
		return;
	}
	if (!before)
		split(p);
	t_check(t_mappings_in(p, NP * t_psz) >= 4, "%s, %s: the range is "
		"%d VMAs, not split", name, when,
		t_mappings_in(p, NP * t_psz));
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "%s, %s: get: %s", name, when, strerror(-n));
	for (round = 0; round < ROUNDS; round++) {
		/* Every page: runs across every boundary. */
		for (i = 0; i < NP; i++)
			p[i * t_psz + round] = (char)(2 + round);
		memset(seen, 0, sizeof(seen));
		n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
		t_check(n >= 0, "%s, %s: get: %s", name, when, strerror(-n));
		for (i = 0; i < n; i++)
			seen[((char *)pg[i] - p) / t_psz] = true;
		for (i = 0; i < NP; i++)
			if (!seen[i]) {
				missed++;
				t_check(false, "%s, %s, round %d: a store to "
					"page %d not reported", name, when,
					round, i);
			}
	}
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
	printf("%s, %s: %d rounds, %d stores missed\n", name, when, ROUNDS,
	       missed);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-split");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		run(bs[i], true);
		run(bs[i], false);
	}
	t_done();
}
