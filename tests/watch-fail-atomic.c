// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a failed call leaves the watch (and the snapshot) as it
 * found it.  A get-and-reset re-arms what it reports as it goes (one
 * WP_MATCHING walk, one re-arm per run); if a later step of the same
 * call failed, the caller got an error and no answer, and the pages
 * already re-armed were never reported again: every write to them lost
 * (uffd-async: the walk for moved memory failing after the WP walk;
 * uffd-sync: UFFDIO_WRITEPROTECT of the second run failing with ENOMEM,
 * as in a full memory cgroup; mprotect: mprotect(2) of the second run).
 * A snapshot update failing that way made the next restore return 0 with
 * the pages written before the update left as they were.  And the
 * discard audit (uffd-sync, soft-dirty, mprotect) ignored a failed
 * pread() of pagemap: the get succeeded without a discarded page, and a
 * restore returned 0 leaving a discarded private file page reading the
 * file.  The check that refuses (EBUSY) an mprotect watch over another
 * thread's stack took /proc/self/task failing to open (EMFILE) for "no
 * thread there": the stack was write-protected, and its thread would die
 * at its next signal.  Failures are injected by this program's own
 * ioctl(), mprotect(), pread() and opendir(), which the statically linked
 * library calls.  Expected: the failed call says so, and the next get
 * reports every write (the next restore puts every byte back).
 */
#include "watch-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define NP 16

/*
 * Atomic: uffd-sync's handler thread makes the intercepted calls too
 * (ThreadSanitizer saw the race).
 */
static _Atomic unsigned long inj_req;	/* ioctl request to fail, 0: none */
static _Atomic bool inj_wp_only;	/* UFFDIO_WRITEPROTECT: only MODE_WP */
static _Atomic bool inj_mprotect;	/* mprotect(2) to PROT_READ */
static _Atomic bool inj_pread;
static _Atomic int inj_nth, inj_seen, inj_err;

static bool inject(void)
{
	return ++inj_seen == inj_nth;
}

static void inj_set(int nth, int err)
{
	inj_seen = 0;
	inj_nth = nth;
	inj_err = err;
}

static void inj_off(void)
{
	inj_req = 0;
	inj_wp_only = false;
	inj_mprotect = false;
	inj_pread = false;
	inj_nth = 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (inj_req && req == inj_req &&
	    (!inj_wp_only || (((struct uffdio_writeprotect *)arg)->mode &
			      UFFDIO_WRITEPROTECT_MODE_WP)) && inject()) {
		errno = inj_err;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

int mprotect(void *a, size_t len, int prot)
{
	if (inj_mprotect && prot == PROT_READ && inject()) {
		errno = inj_err;
		return -1;
	}
	return (int)syscall(SYS_mprotect, a, len, prot);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (inj_pread && inject()) {
		errno = inj_err;
		return -1;
	}
	return syscall(SYS_pread64, fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

static _Atomic bool inj_opendir;

/* No dlsym (the VM lane links statically): open, then fdopendir(). */
DIR *opendir(const char *path)
{
	DIR *d;
	int fd;

	if (inj_opendir && !strcmp(path, "/proc/self/task")) {
		errno = EMFILE;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static int cases;

static bool usable(enum pagescan_watch_backend b)
{
	return pagescan_watch_available(b, NULL) == 1;
}

/* Pages reported by a plain get of the whole watch, -errno. */
static int reported(struct pagescan_watch *w, char *p)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, o);
	struct pagescan_region v[NP];
	int n, i, pages = 0;

	n = pagescan_watch_get_regions(w, p, NP * t_psz, v, NP, &o);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		pages += (int)((v[i].end - v[i].start) / t_psz);
	return pages;
}

/* A get-and-reset fails part way; then every write is reported. */
static void get_reset_fails(enum pagescan_watch_backend b, const char *what,
			    void (*arm)(void))
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		      .flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region v[NP];
	struct pagescan_watch *w;
	char *p;
	int n;

	if (!usable(b))
		return;
	cases++;
	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_check(!pagescan_watch_register(p, NP * t_psz, &wo, &w),
		"%s: register", what);
	p[0] = 1;
	p[5 * t_psz] = 1;
	p[9 * t_psz] = 1;		/* three runs */
	arm();
	n = pagescan_watch_get_regions(w, p, NP * t_psz, v, NP, &go);
	inj_off();
	t_check(n < 0 && errno == -n, "%s: the injected failure: %d", what, n);
	n = reported(w, p);
	t_check(n == 3, "%s: after the failed get-and-reset %d pages are "
		"reported, 3 were written", what, n);
	/* And it tracks on. */
	t_check(!pagescan_watch_reset(w, p, NP * t_psz), "%s: reset", what);
	p[3 * t_psz] = 2;
	n = reported(w, p);
	t_check(n == 1, "%s: a later write: %d pages", what, n);
	pagescan_watch_unregister(w);
	munmap(p, NP * t_psz);
}

/* A snapshot update fails part way; the next restore is exact. */
static void update_fails(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, so,
		      .backend = PAGESCAN_WATCH_UFFD_ASYNC);
	struct pagescan_snapshot *s;
	struct pagescan_range r;
	char *p;
	int ret, nth, bad;
	size_t i;

	if (!usable(PAGESCAN_WATCH_UFFD_ASYNC))
		return;
	cases++;
	/* Each ioctl of the update in turn, until one fails it no more. */
	for (nth = 1; nth < 64; nth++) {
		p = t_map(NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
		memset(p, 0x11, NP * t_psz);
		r.addr = p;
		r.len = NP * t_psz;
		if (pagescan_snapshot_take(&r, 1, &so, &s))
			t_error("snapshot take");
		memset(p, 0xee, t_psz);
		memset(p + 7 * t_psz, 0xee, t_psz);
		inj_req = PAGEMAP_SCAN;
		inj_set(nth, ENOMEM);
		ret = pagescan_snapshot_update(s, NULL);
		inj_off();
		if (!ret) {
			pagescan_snapshot_free(s);
			munmap(p, NP * t_psz);
			break;
		}
		ret = pagescan_snapshot_restore(s, NULL);
		for (bad = -1, i = 0; i < NP * t_psz && bad < 0; i++)
			if ((unsigned char)p[i] != 0x11)
				bad = (int)(i / t_psz);
		t_check(!ret && bad < 0, "update failing at ioctl %d, then "
			"restore: %d, page %d not restored", nth, ret, bad);
		pagescan_snapshot_free(s);
		munmap(p, NP * t_psz);
	}
	t_check(nth > 1 && nth < 64, "the update never failed (%d)", nth);
}

/* The audit's pagemap read fails: no success without the discard. */
static void audit_fails(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, so,
		      .backend = PAGESCAN_WATCH_MPROTECT);
	char path[] = "/tmp/pagescan-fail-atomicXXXXXX";
	struct pagescan_snapshot *s;
	struct pagescan_range r;
	volatile char c;
	char *p, *buf;
	int fd, ret;

	cases++;
	fd = mkstemp(path);
	if (fd < 0)
		t_error("mkstemp");
	unlink(path);
	buf = malloc(4 * t_psz);
	memset(buf, 0x49, 4 * t_psz);
	if (write(fd, buf, 4 * t_psz) != (ssize_t)(4 * t_psz))
		t_error("write");
	free(buf);
	p = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		t_error("mmap");
	memset(p + t_psz, 0x55, t_psz);		/* a private copy */
	r.addr = p;
	r.len = 4 * t_psz;
	if (pagescan_snapshot_take(&r, 1, &so, &s))
		t_error("snapshot take");
	madvise(p + t_psz, t_psz, MADV_DONTNEED);	/* the file's again */
	c = p[t_psz];
	(void)c;
	inj_pread = true;
	inj_set(1, ENOMEM);
	ret = pagescan_snapshot_restore(s, NULL);
	inj_off();
	t_check(ret || (unsigned char)p[t_psz] == 0x55, "restore with the "
		"audit's read failing: 0, and the page reads %#x, not 0x55",
		(unsigned char)p[t_psz]);
	ret = pagescan_snapshot_restore(s, NULL);
	t_check(!ret && (unsigned char)p[t_psz] == 0x55, "the restore after: "
		"%d, the page reads %#x", ret, (unsigned char)p[t_psz]);
	pagescan_snapshot_free(s);
	munmap(p, 4 * t_psz);
}

/* uffd-async: the 3rd PAGEMAP_SCAN (moved memory, after the walk). */
static void arm_async(void)
{
	inj_req = PAGEMAP_SCAN;
	inj_set(3, ENOMEM);
}

/* uffd-sync: the re-arm of the second run. */
static void arm_sync(void)
{
	inj_req = UFFDIO_WRITEPROTECT;
	inj_wp_only = true;
	inj_set(2, ENOMEM);
}

/* mprotect: the re-arm of the second run (not ENOMEM: that is handled). */
static void arm_mprotect(void)
{
	inj_mprotect = true;
	inj_set(2, EACCES);
}

static int stack_pipe[2];

static void *blocked(void *arg)
{
	char c;

	(void)arg;
	if (read(stack_pipe[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/* Another thread's stack, the threads unlistable: never armed. */
static void stack_unlisted(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		      .backend = PAGESCAN_WATCH_MPROTECT);
	size_t len = 2 << 20;	/* ThreadSanitizer wants 900 KiB at least */
	struct pagescan_watch *w;
	pthread_attr_t at;
	pthread_t t;
	char *stk;
	int ret;

	cases++;
	stk = t_map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (pipe(stack_pipe))
		t_error("pipe");
	pthread_attr_init(&at);
	pthread_attr_setstack(&at, stk, len);
	if (pthread_create(&t, &at, blocked, NULL))
		t_error("pthread_create");
	pthread_attr_destroy(&at);
	usleep(100000);		/* in read(2): its stack pointer shows */
	ret = pagescan_watch_register(stk, len, &wo, &w);
	t_check(ret == -EBUSY, "a thread's stack: %d, expected -EBUSY", ret);
	if (!ret)
		pagescan_watch_unregister(w);
	inj_opendir = true;
	ret = pagescan_watch_register(stk, len, &wo, &w);
	inj_opendir = false;
	t_check(ret < 0, "a thread's stack, /proc/self/task unreadable: "
		"%d, the stack was write-protected", ret);
	if (!ret)
		pagescan_watch_unregister(w);
	if (write(stack_pipe[1], "x", 1) != 1)
		t_error("write");
	pthread_join(t, NULL);
	close(stack_pipe[0]);
	close(stack_pipe[1]);
	munmap(stk, len);
}

int main(void)
{
	t_init("watch-fail-atomic");
	get_reset_fails(PAGESCAN_WATCH_UFFD_ASYNC, "uffd-async", arm_async);
	get_reset_fails(PAGESCAN_WATCH_UFFD_SYNC, "uffd-sync", arm_sync);
	get_reset_fails(PAGESCAN_WATCH_MPROTECT, "mprotect", arm_mprotect);
	update_fails();
	audit_fails();
	stack_unlisted();
	if (!cases)
		t_skip("no backend to test");
	t_done();
}
