// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: write watches across fork(), on every backend available.
 * Documented behaviour (pagescan_watch(3)): the child's copy of the
 * memory is ordinary memory for the child (writes just work: no crash,
 * no hang); in the child every call on an inherited watch except
 * unregister fails with ECHILD, and unregister only releases the
 * child's copy.  The parent's watch is unaffected: the child's writes
 * (to its own copy) are not reported, the parent's are.
 * A page shared with a child at one get and discarded by the parent
 * after the child exited (then read: zeros) is reported at the next get:
 * mprotect's audit recorded the shared page as holding no data and
 * missed it (measured on 6.18 before the fix: the get had every page
 * but it); so is one discarded while shared, the child gone by the get.
 */
#include "watch-common.h"

#include <sys/wait.h>

#define NP 16

static void one_backend(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region r[NP];
	struct pagescan_watch *w;
	int n, status;
	pid_t pid;
	char *p;

	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);
	p[1 * t_psz] = 1;
	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (pid == 0) {
		int bad = 0;

		p[2 * t_psz] = 2;		/* populated before? no */
		p[1 * t_psz] = 2;
		p[9 * t_psz] = 2;
		if (pagescan_watch_get_regions(w, p, NP * t_psz, r, NP, &go)
		    != -ECHILD)
			bad |= 1;
		if (pagescan_watch_reset(w, p, NP * t_psz) != -ECHILD)
			bad |= 2;
		if (pagescan_watch_unregister(w))
			bad |= 4;
		p[3 * t_psz] = 3;		/* still ordinary memory */
		if (p[2 * t_psz] != 2 || p[3 * t_psz] != 3)
			bad |= 8;
		_exit(bad);
	}
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid");
	t_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"%s: child: status %#x", name, status);
	t_check(p[2 * t_psz] == 0 && p[1 * t_psz] == 1,
		"%s: the child's writes reached the parent", name);
	p[4 * t_psz] = 4;
	n = pagescan_watch_get_regions(w, p, NP * t_psz, r, NP, &go);
	t_eq(n, 2);
	if (n == 2) {
		t_eq(r[0].start, (uintptr_t)p + 1 * t_psz);
		t_eq(r[0].end, (uintptr_t)p + 2 * t_psz);
		t_eq(r[1].start, (uintptr_t)p + 4 * t_psz);
		t_eq(r[1].end, (uintptr_t)p + 5 * t_psz);
	}
	printf("%s: child wrote freely, got ECHILD; parent saw only its own "
	       "writes\n", name);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
}

/*
 * Four written pages, a get while a child shares them, the child gone;
 * page 0 discarded after the child exited (@late) or before, read
 * again or not (@reread).  The next get must have page 0.
 */
static void discard_after_share(enum pagescan_watch_backend b, bool late,
				bool reread)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	void *pg[NP];
	struct pagescan_watch *w;
	struct t_holder h;
	bool seen = false;
	int n, i;
	char *p;

	p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 7, 4 * t_psz);
	if (pagescan_watch_register(p, 4 * t_psz, &wo, &w))
		t_error("%s: register", name);
	t_eq(pagescan_watch_get_pages(w, p, 4 * t_psz, pg, NP, &go), 0);
	t_holder_start(&h);
	/* Shared now: the fork may report the pages once. */
	t_check(pagescan_watch_get_pages(w, p, 4 * t_psz, pg, NP, &go) >= 0,
		"%s: get with the child alive", name);
	if (!late && madvise(p, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	t_holder_release(&h);
	if (late && madvise(p, t_psz, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	if (reread)
		t_eq(*(volatile char *)p, 0);
	n = pagescan_watch_get_pages(w, p, 4 * t_psz, pg, NP, &go);
	t_check(n >= 0, "%s: get: %s", name, strerror(-n));
	for (i = 0; i < n; i++)
		if (pg[i] == p)
			seen = true;
	/*
	 * Read again, it maps the zero page, which soft-dirty and mprotect
	 * tell from a shared page only by PAGE_IS_PFNZERO (6.7) or a PFN
	 * (pagescan_watch(3)).
	 */
	if (!seen && reread && (b == PAGESCAN_WATCH_MPROTECT ||
				b == PAGESCAN_WATCH_SOFT_DIRTY) &&
	    pagescan_probe(PAGESCAN_FEAT_CAT_PFNZERO) != 1 &&
	    (pagescan_probe(PAGESCAN_FEAT_PFN) != 1 ||
	     b == PAGESCAN_WATCH_SOFT_DIRTY)) {
		printf("%s: discarded after the child exited and read again: "
		       "not seen (no PFNZERO; no PFNs, or soft-dirty: "
		       "documented)\n", name);
		seen = true;
	}
	t_check(seen, "%s: page shared with a child at a get, discarded %s "
		"the child exited%s: not reported (%d pages)", name,
		late ? "after" : "before", reread ? ", read again" : "", n);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, 4 * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("watch-fork");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend available");
	for (i = 0; i < n; i++) {
		one_backend(bs[i]);
		discard_after_share(bs[i], true, true);
		discard_after_share(bs[i], true, false);
		discard_after_share(bs[i], false, false);
		printf("%s: a page shared at a get and discarded since is "
		       "reported\n", pagescan_watch_backend_name(bs[i]));
	}
	t_done();
}
