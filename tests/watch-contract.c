// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the write watch's parameter contract, as pagescan_watch(3)
 * and pagescan_get_write_watch(3) state it, on every backend: a sub-range
 * that starts past the watch's end is EINVAL and touches nothing (it
 * passed an unsigned check once: the bitmap read past its end and, under
 * mprotect, memory after the watch was write-protected); GetWriteWatch
 * with *count == 0 is an invalid parameter (Windows, Wine) and *count is
 * the number stored even when verify mode fails the call; a forced
 * backend that cannot track the range says why (EINVAL), one that cannot
 * run here says EOPNOTSUPP; the handler table's limit is ENOSPC, not
 * "unavailable"; and hugetlb memory is reported one huge page per entry,
 * so that a reset loop with *count = 1 ends.
 */
#include "watch-common.h"

#include <sys/syscall.h>

#define NP 16
#define HP (2UL << 20)

static void past_end(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_region r[4];
	struct pagescan_watch *w;
	void *pg[4];
	char *p;
	int k;

	p = t_map(3 * NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, 3 * NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);
	for (k = 0; k <= NP; k += NP / 2) {
		char *s = p + (NP + 1 + k) * t_psz;

		t_check(pagescan_watch_reset(w, s, t_psz) == -EINVAL,
			"%s: reset %d pages past the end accepted", name,
			k + 1);
		t_check(pagescan_watch_get_regions(w, s, t_psz, r, 4,
						   &reset) == -EINVAL,
			"%s: get_regions past the end accepted", name);
		t_check(pagescan_watch_get_pages(w, s, 2 * t_psz, pg, 4,
						 &reset) == -EINVAL,
			"%s: get_pages past the end accepted", name);
		t_eq(errno, EINVAL);
	}
	/*
	 * Empty, anywhere (at the start, inside, exactly at the end): EINVAL
	 * as pagescan_watch(3) says, and nothing is re-armed by it.
	 */
	p[3 * t_psz] = 1;
	for (k = 0; k <= NP; k += NP / 2) {
		char *s = p + k * t_psz;

		errno = 0;
		t_check(pagescan_watch_get_regions(w, s, 0, r, 4, &reset) ==
			-EINVAL && errno == EINVAL,
			"%s: empty get_regions at page %d accepted", name, k);
		errno = 0;
		t_check(pagescan_watch_get_pages(w, s, 0, pg, 4, &reset) ==
			-EINVAL && errno == EINVAL,
			"%s: empty get_pages at page %d accepted", name, k);
		errno = 0;
		t_check(pagescan_watch_reset(w, s, 0) == -EINVAL &&
			errno == EINVAL,
			"%s: empty reset at page %d accepted", name, k);
	}
	k = pagescan_watch_get_pages(w, p, NP * t_psz, pg, 4, &reset);
	t_check(k >= 1 && pg[0] == (void *)(p + 3 * t_psz),
		"%s: the write before the empty calls was lost", name);
	/* The memory after the watch was not made read-only. */
	for (k = NP; k < 3 * NP; k++)
		p[k * t_psz] = 2;
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, 3 * NP * t_psz);
}

/* A memfd mapped twice: a write through the second is seen by no one. */
static void gww_count(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b,
		      .flags = PAGESCAN_WATCH_VERIFY);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	uint32_t gran = 0;
	uintptr_t cnt;
	void *addrs[NP];
	char *a, *c;
	int fd, ret;

	fd = (int)syscall(SYS_memfd_create, "wc", 0);
	if (fd < 0 || ftruncate(fd, NP * (off_t)t_psz))
		t_error("memfd");
	a = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	c = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED || c == MAP_FAILED)
		t_error("mmap");
	t_touch(a, NP * t_psz);
	ret = pagescan_watch_register(a, NP * t_psz, &wo, &w);
	/* EINVAL: soft-dirty refuses shared memory; uffd-sync before 5.19. */
	if (ret == -EOPNOTSUPP || (ret == -EINVAL &&
				   (b == PAGESCAN_WATCH_SOFT_DIRTY ||
				    b == PAGESCAN_WATCH_UFFD_SYNC))) {
		printf("%s: shmem not trackable here: %s\n", name,
		       strerror(-ret));
		goto out;
	}
	if (ret)
		t_error("%s: register: %s", name, strerror(-ret));

	cnt = 0;
	t_eq(pagescan_get_write_watch(0, a, NP * t_psz, addrs, &cnt, &gran),
	     -EINVAL);
	t_eq(errno, EINVAL);
	cnt = 4;
	t_eq(pagescan_get_write_watch(0, a, NP * t_psz, NULL, &cnt, &gran),
	     -EINVAL);

	a[3 * t_psz] = 1;		/* seen */
	c[5 * t_psz + 7] = 0x5a;	/* another mapping: not seen */
	cnt = NP;
	ret = pagescan_get_write_watch(PAGESCAN_WRITE_WATCH_FLAG_RESET, a,
				       NP * t_psz, addrs, &cnt, &gran);
	t_check(ret == -EIO, "%s: verify mode missed the other mapping's "
		"write (%d)", name, ret);
	t_check(cnt == 1, "%s: *count %lu after EIO, 1 stored", name,
		(unsigned long)cnt);
	t_check(cnt >= 1 && addrs[0] == a + 3 * t_psz, "%s: addresses[0]",
		name);
	t_eq(pagescan_watch_unregister(w), 0);
out:
	munmap(a, NP * t_psz);
	munmap(c, NP * t_psz);
	close(fd);
}

static void forced_errors(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, mo,
		      .backend = PAGESCAN_WATCH_MPROTECT);
	static struct pagescan_watch *ws[300];
	struct pagescan_watch *w;
	int b, i, ret = 0;
	char *p;

	/* Mixed protections: mprotect cannot track it; the manual: EINVAL. */
	p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	if (mprotect(p + 2 * t_psz, 2 * t_psz, PROT_READ | PROT_WRITE |
		     PROT_EXEC))
		t_error("mprotect");
	t_eq(pagescan_watch_register(p, 4 * t_psz, &mo, &w), -EINVAL);
	t_eq(errno, EINVAL);
	munmap(p, 4 * t_psz);

	/* A backend that cannot run here: EOPNOTSUPP. */
	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
		PAGESCAN_OPTS(pagescan_watch_opts, o, .backend = b);

		if (pagescan_watch_available(b, NULL) == 1)
			continue;
		p = t_map(t_psz, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
		t_eq(pagescan_watch_register(p, t_psz, &o, &w), -EOPNOTSUPP);
		munmap(p, t_psz);
	}

	/* Many mprotect watches: the limit, if any, is ENOSPC. */
	p = t_map(600 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	for (i = 0; i < 300; i++) {
		ret = pagescan_watch_register(p + 2 * i * t_psz, t_psz, &mo,
					      &ws[i]);
		if (ret)
			break;
	}
	t_check(!ret || ret == -ENOSPC, "watch %d: %s, not ENOSPC", i + 1,
		strerror(-ret));
	printf("mprotect: %d watches registered%s\n", i,
	       ret ? " (then ENOSPC)" : "");
	while (i-- > 0)
		t_eq(pagescan_watch_unregister(ws[i]), 0);
	munmap(p, 600 * t_psz);
}

/* GetWriteWatch over huge pages with *count = 1 and reset: it ends. */
static void huge_count(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo);
	struct pagescan_watch *w;
	uint32_t gran = 0;
	uintptr_t cnt;
	void *addrs[4];
	int calls = 0, got = 0, ret;
	long nh;
	char *p;

	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, NULL) != 1) {
		printf("hugetlb part: no uffd-async here\n");
		return;
	}
	nh = t_hugepages(4);
	if (nh < 4) {
		printf("hugetlb part: %ld free huge pages (needs root)\n", nh);
		return;
	}
	p = mmap(NULL, 4 * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		t_error("MAP_HUGETLB");
	wo.backend = PAGESCAN_WATCH_UFFD_ASYNC;
	if (pagescan_watch_register(p, 4 * HP, &wo, &w))
		t_error("hugetlb register");
	p[0] = 1;
	p[2 * HP + 5 * t_psz] = 1;
	p[3 * HP] = 1;
	do {
		cnt = 1;
		ret = pagescan_get_write_watch(PAGESCAN_WRITE_WATCH_FLAG_RESET,
					       p, 4 * HP, addrs, &cnt, &gran);
		t_eq(ret, 0);
		if (cnt == 1) {
			static const uint64_t want[] = { 0, 2 * HP, 3 * HP };

			t_check(got < 3 && (char *)addrs[0] == p + want[got],
				"huge page %d at %p", got, addrs[0]);
			got++;
		}
	} while (!ret && cnt && ++calls < 10);
	t_check(calls < 10, "hugetlb: a reset loop with *count = 1 does "
		"not end");
	t_eq(got, 3);
	t_eq(gran, HP);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, 4 * HP);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-contract");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		past_end(bs[i]);
		gww_count(bs[i]);
	}
	forced_errors();
	huge_count();
	t_done();
}
