// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the GetWriteWatch/ResetWriteWatch conformance scenarios
 * that Wine's kernel32 tests check on Windows (test_write_watch), in
 * their order, over pagescan_get_write_watch() and
 * pagescan_reset_write_watch(), on every write-watch backend this kernel
 * has: a fresh watch reports nothing; a store reports its page, in
 * address order; a reset (by flag or by call, of a sub-range) clears
 * exactly what it covers; a 4-byte store across a page boundary reports
 * both pages; a get-and-reset with *count = 1 resets only the page it
 * reports; a protection change by the application neither adds nor
 * loses reports; memset of the whole range reports every page; a read(2)
 * into the range, also one blocked in another thread before the reset,
 * reports the page it filled; a failed read(2) reports nothing; every
 * invalid parameter Wine checks fails (EINVAL, errno set) and changes
 * nothing; a watch registered over PROT_NONE memory tracks a store made
 * after the application opens it, and keeps reporting it after the
 * memory is decommitted.
 *
 * Where pagescan_watch(3) states a backend differs, the test checks what
 * it states instead, and says so: under mprotect a read(2) into a
 * protected page fails with EFAULT and consumes nothing (the table's
 * "refused: EFAULT"; Wine writes into such buffers first, and so does
 * the test after checking the refusal), the range must not be
 * mprotect(2)ed by the application, and a PROT_NONE range is refused
 * with EINVAL ("one protection including PROT_WRITE"), as under
 * soft-dirty, which makes the range read-only while it resets.
 */
#include "watch-common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>

#define NP 16

static char *base;
static size_t size;

typedef uint32_t __attribute__((aligned(1), may_alias)) u32_unaligned;

/*
 * One get, checked against the expected page indices (terminated by -1):
 * ret 0, *count the number expected, the addresses in order, and
 * *granularity the page size.
 */
static void expect(const char *b, const char *what, uint32_t flags,
		   char *addr, size_t len, uintptr_t cap, ...)
{
	void *res[64];
	uintptr_t count = cap;
	uint32_t gran = 0;
	int want[64], n = 0, ret, i, v;
	va_list ap;

	va_start(ap, cap);
	while ((v = va_arg(ap, int)) >= 0 && n < 64)
		want[n++] = v;
	va_end(ap);
	ret = pagescan_get_write_watch(flags, addr, len, res, &count, &gran);
	t_check(ret == 0, "%s: %s: get: %s", b, what, strerror(-ret));
	if (ret)
		return;
	t_check(gran == t_psz, "%s: %s: granularity %u", b, what, gran);
	t_check(count == (uintptr_t)n, "%s: %s: count %ju, expected %d", b,
		what, (uintmax_t)count, n);
	for (i = 0; i < n && i < (int)count; i++)
		t_check(res[i] == base + (size_t)want[i] * t_psz,
			"%s: %s: result %d is page %td, expected %d", b, what,
			i, ((char *)res[i] - base) / (ptrdiff_t)t_psz, want[i]);
}

/* An invalid call: -EINVAL, errno EINVAL. */
static void invalid(const char *b, const char *what, int ret)
{
	t_check(ret == -EINVAL && errno == EINVAL,
		"%s: %s: %d (errno %d), expected -EINVAL", b, what, ret, errno);
}

struct reader {
	int fd;
	ssize_t got;
	int err;
};

static void *read_pipe(void *arg)
{
	struct reader *r = arg;

	r->got = read(r->fd, base, size);
	r->err = r->got < 0 ? errno : 0;
	return NULL;
}

static const char testdata[] = "Hello World";

/* Wine's pipe scenario: a read(2) into the watched range. */
static void pipe_read(const char *b, bool refused)
{
	uintptr_t count = 64;
	uint32_t gran;
	void *res[64];
	char tmp[sizeof(testdata)];
	int p[2];
	ssize_t got;

	/* Non-blocking where a refused read must leave the data there. */
	if (pipe2(p, refused ? O_NONBLOCK : 0))
		t_error("pipe");
	memset(base, 0, size);
	expect(b, "memset all", PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size,
	       64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -1);
	if (write(p[1], testdata, sizeof(testdata)) != sizeof(testdata))
		t_error("write pipe");
	got = read(p[0], base, size);
	if (refused) {
		/* pagescan_watch(3): "-1/EFAULT and nothing ... consumed". */
		t_check(got < 0 && errno == EFAULT,
			"%s: read into a protected page: %zd (%s), expected "
			"EFAULT", b, got, strerror(errno));
		expect(b, "refused read", 0, base, size, 64, -1);
		got = read(p[0], tmp, sizeof(tmp));
		t_check(got == sizeof(testdata) &&
			!memcmp(tmp, testdata, sizeof(tmp)),
			"%s: the refused read consumed data (%zd left)", b, got);
		if (write(p[1], testdata, sizeof(testdata)) !=
		    sizeof(testdata))
			t_error("write pipe");
		base[0] = 0;	/* Wine's way: write into the buffer first */
		got = read(p[0], base, size);
	}
	t_check(got == sizeof(testdata) && !memcmp(base, testdata, (size_t)got),
		"%s: read into the range: %zd", b, got);
	expect(b, "read(2)", PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size, 64,
	       0, -1);

	/* Blocked in read(2) in another thread across the reset. */
	if (!refused) {
		struct reader r = { .fd = p[0] };
		pthread_t t;

		memset(base, 0, size);
		t_check(!pagescan_get_write_watch(
				PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size,
				res, &count, &gran) && count == NP,
			"%s: reset before the blocked read", b);
		if (pthread_create(&t, NULL, read_pipe, &r))
			t_error("pthread_create");
		usleep(100000);
		expect(b, "read blocked", PAGESCAN_WRITE_WATCH_FLAG_RESET,
		       base, size, 64, -1);
		if (write(p[1], testdata, sizeof(testdata)) !=
		    sizeof(testdata))
			t_error("write pipe");
		pthread_join(t, NULL);
		t_check(r.got == sizeof(testdata),
			"%s: blocked read: %zd (%s)", b, r.got,
			strerror(r.err));
		expect(b, "blocked read(2)", PAGESCAN_WRITE_WATCH_FLAG_RESET,
		       base, size, 64, 0, -1);
	}
	close(p[0]);
	close(p[1]);

	/* A failing read(2) (EBADF) writes nothing. */
	got = read(-1, base, size);
	t_check(got < 0 && errno == EBADF, "%s: read(-1)", b);
	expect(b, "read(-1)", PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size, 64,
	       -1);
}

/* Wine's invalid-parameter checks; none may change the watch. */
static void invalid_params(const char *b)
{
	void *res[64];
	uintptr_t count;
	uint32_t gran;
	int local;

	base[3 * t_psz] = 1;
	count = 0;
	invalid(b, "count 0", pagescan_get_write_watch(0, base, size, res,
						       &count, &gran));
	count = 64;
	invalid(b, "NULL count", pagescan_get_write_watch(0, base, size, res,
							  NULL, &gran));
	invalid(b, "NULL granularity",
		pagescan_get_write_watch(0, base, size, res, &count, NULL));
	invalid(b, "NULL addresses",
		pagescan_get_write_watch(0, base, size, NULL, &count, &gran));
	count = 0;
	invalid(b, "NULL addresses, count 0",
		pagescan_get_write_watch(0, base, size, NULL, &count, &gran));
	count = 64;
	invalid(b, "flags 0xdeadbeef",
		pagescan_get_write_watch(0xdeadbeef, base, size, res, &count,
					 &gran));
	invalid(b, "size 0", pagescan_get_write_watch(0, base, 0, res, &count,
						      &gran));
	invalid(b, "size * 2", pagescan_get_write_watch(0, base, size * 2, res,
							&count, &gran));
	invalid(b, "last page + 1",
		pagescan_get_write_watch(0, base + size - t_psz, t_psz + 1,
					 res, &count, &gran));
	invalid(b, "NULL base", pagescan_get_write_watch(0, NULL, size, res,
							 &count, &gran));
	invalid(b, "not watched", pagescan_get_write_watch(0, &local, 4, res,
							   &count, &gran));
	invalid(b, "reset size 0", pagescan_reset_write_watch(base, 0));
	invalid(b, "reset not watched",
		pagescan_reset_write_watch(&local, sizeof(local)));
	t_check(count == 64, "%s: a failed get changed *count to %ju", b,
		(uintmax_t)count);
	expect(b, "after the invalid calls", PAGESCAN_WRITE_WATCH_FLAG_RESET,
	       base, size, 64, 3, -1);
}

static void scenarios(enum pagescan_watch_backend be)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = be);
	const char *b = pagescan_watch_backend_name(be);
	bool mp = be == PAGESCAN_WATCH_MPROTECT;
	struct pagescan_watch *w;
	struct w_state st;
	int ret;

	size = NP * t_psz;
	base = t_map(size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	/*
	 * Populated first (committed memory): pieces of a VMA split while
	 * each is first written get anon_vmas of their own, which Linux 6.1
	 * does not merge back, so the VMA list would differ after unregister
	 * for a reason that is not the library's.
	 */
	t_touch(base, size);
	w_state_get(&st, base, size);
	ret = pagescan_watch_register(base, size, &wo, &w);
	if (ret) {
		t_fail("%s: register: %s", b, strerror(-ret));
		free(st.maps);
		munmap(base, size);
		return;
	}

	expect(b, "fresh", 0, base, size, 64, -1);
	base[t_psz + 1] = 0x44;
	expect(b, "one store", 0, base, size, 64, 1, -1);
	expect(b, "get and reset", PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size,
	       64, 1, -1);
	expect(b, "after reset", 0, base, size, 64, -1);

	base[2 * t_psz + 3] = 0x11;
	base[4 * t_psz + 8] = 0x11;
	expect(b, "two stores", 0, base, size, 64, 2, 4, -1);
	expect(b, "sub-range", 0, base + 3 * t_psz, 2 * t_psz, 64, 4, -1);
	ret = pagescan_reset_write_watch(base, 3 * t_psz);
	t_check(ret == 0, "%s: reset 3 pages: %s", b, strerror(-ret));
	expect(b, "after a partial reset", 0, base, size, 64, 4, -1);

	*(volatile u32_unaligned *)(base + 2 * t_psz - 2) = 0xdeadbeef;
	expect(b, "store across pages", 0, base, size, 64, 1, 2, 4, -1);
	expect(b, "reset with count 1", PAGESCAN_WRITE_WATCH_FLAG_RESET, base,
	       size, 1, 1, -1);
	expect(b, "beyond count not reset", 0, base, size, 64, 2, 4, -1);

	/* "changing protections doesn't affect watches" */
	if (mp) {
		printf("%s: no protection change: pagescan_watch(3) says the "
		       "range must not be mprotect(2)ed while watched\n", b);
	} else {
		t_check(!mprotect(base, 3 * t_psz, PROT_READ) &&
			!mprotect(base, 3 * t_psz, PROT_READ | PROT_WRITE),
			"mprotect");
		expect(b, "protection changed", 0, base, size, 64, 2, 4, -1);
		base[0] = 1;
		base[t_psz] = 1;
		expect(b, "stores after it", PAGESCAN_WRITE_WATCH_FLAG_RESET,
		       base, size, 64, 0, 1, 2, 4, -1);
		base[t_psz + 5] = 2;
		expect(b, "a store after the reset",
		       PAGESCAN_WRITE_WATCH_FLAG_RESET, base, size, 64, 1, -1);
	}

	pipe_read(b, mp);
	invalid_params(b);

	pagescan_watch_unregister(w);
	w_state_check(&st, base, size, b);
	free(st.maps);
	munmap(base, size);
}

/* "initial protect doesn't matter": a watch over PROT_NONE memory. */
static void prot_none(enum pagescan_watch_backend be)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = be);
	const char *b = pagescan_watch_backend_name(be);
	struct pagescan_watch *w;
	int ret;

	size = NP * t_psz;
	base = t_map(size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	ret = pagescan_watch_register(base, size, &wo, &w);
	/* Both make the range read-only, so it needs PROT_WRITE. */
	if (be == PAGESCAN_WATCH_MPROTECT || be == PAGESCAN_WATCH_SOFT_DIRTY) {
		t_check(ret == -EINVAL, "%s: PROT_NONE register: %d, "
			"expected -EINVAL (pagescan_watch(3))", b, ret);
		if (!ret)
			pagescan_watch_unregister(w);
		munmap(base, size);
		return;
	}
	if (ret) {
		t_fail("%s: register over PROT_NONE: %s", b, strerror(-ret));
		munmap(base, size);
		return;
	}
	expect(b, "PROT_NONE fresh", 0, base, size, 64, -1);
	t_check(!mprotect(base, 6 * t_psz, PROT_READ | PROT_WRITE),
		"mprotect RW");
	base[5 * t_psz + 200] = 3;
	t_check(!mprotect(base, 6 * t_psz, PROT_NONE), "mprotect NONE");
	expect(b, "opened, written, closed", 0, base, size, 64, 5, -1);
	/*
	 * Decommit (VirtualFree MEM_DECOMMIT): the page is still written.
	 * uffd-async: the discard drops the protection of every page it
	 * covers, so each is reported (pagescan_watch(3), an over-report);
	 * page 5 must be among them.
	 */
	t_check(!madvise(base, size, MADV_DONTNEED), "MADV_DONTNEED");
	if (be == PAGESCAN_WATCH_UFFD_ASYNC) {
		void *res[64];
		uintptr_t count = 64, i;
		uint32_t gran;
		bool seen = false;

		t_check(!pagescan_get_write_watch(0, base, size, res, &count,
						  &gran), "%s: get", b);
		for (i = 0; i < count; i++)
			seen |= res[i] == base + 5 * t_psz;
		t_check(seen, "%s: decommitted: page 5 not reported", b);
		printf("%s: decommitted: %ju pages reported (the discard's "
		       "documented over-report)\n", b, (uintmax_t)count);
	} else {
		expect(b, "decommitted", 0, base, size, 64, 5, -1);
	}
	pagescan_watch_unregister(w);
	munmap(base, size);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-wine");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		scenarios(bs[i]);
		prot_none(bs[i]);
	}
	t_done();
}
