// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: write watches across fork(), on every backend available.
 * Documented behaviour (pagescan_watch(3)): the child's copy of the
 * memory is ordinary memory for the child (writes just work: no crash,
 * no hang); in the child every call on an inherited watch except
 * unregister fails with ECHILD, and unregister only releases the
 * child's copy.  The parent's watch is unaffected: the child's writes
 * (to its own copy) are not reported, the parent's are.
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

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("watch-fork");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend available");
	for (i = 0; i < n; i++)
		one_backend(bs[i]);
	t_done();
}
