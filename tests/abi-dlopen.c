// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the shared library loads with dlopen() into a running
 * process, as Python's ctypes and plugin hosts load it: a library with an
 * initial-exec TLS variable has all its TLS in the static block, and
 * glibc has only a small surplus for modules loaded late ("cannot
 * allocate memory in static TLS block").  Then a watch in verify mode and
 * an iteration work through the loaded copy.
 */
#include "helpers.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#define SYM(h, name) ((__typeof__(&name))dlsym(h, #name))

int main(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .flags = PAGESCAN_WATCH_VERIFY);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	struct pagescan_region r[4];
	struct pagescan_watch *w;
	char path[4096];
	void *h;
	char *p;
	int n;

	t_init("abi-dlopen");
	snprintf(path, sizeof(path), "%s/libpagescan.so.0", build);
	/* The VM lane ships static test binaries and no shared library. */
	if (access(path, R_OK))
		t_skip("no %s here (static binaries only)", path);
	/* A load into a running process, with only the surplus left. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	t_check(h != NULL, "dlopen(%s): %s", path, h ? "" : dlerror());
	if (!h)
		t_done();
	t_check(SYM(h, pagescan_version_major)() == PAGESCAN_VERSION_MAJOR,
		"version through the loaded copy");

	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	n = SYM(h, pagescan_watch_register)(p, 8 * t_psz, &wo, &w);
	t_check(n == 0, "register: %s", strerror(-n));
	if (!n) {
		p[3 * t_psz] = 1;
		n = SYM(h, pagescan_watch_get_regions)(w, p, 8 * t_psz, r, 4,
						       &go);
		t_check(n == 1 && r[0].start == (uintptr_t)p + 3 * t_psz &&
			r[0].end == (uintptr_t)p + 4 * t_psz,
			"one written page, verified: %d (%s)", n,
			n < 0 ? strerror(-n) : "");
		t_eq(SYM(h, pagescan_watch_unregister)(w), 0);
	}
	munmap(p, 8 * t_psz);
	dlclose(h);
	t_done();
}
