// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned long t_psz;
int t_failures;
static const char *t_name = "test";

#ifdef __SANITIZE_THREAD__
static void *t_nothing(void *arg)
{
	return arg;
}
#endif

void t_init(const char *name)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	t_psz = (unsigned long)sysconf(_SC_PAGESIZE);
	t_name = name;
#ifdef __SANITIZE_THREAD__
	{
		/*
		 * ThreadSanitizer starts its own thread with the first
		 * pthread_create(): have it now, so that the tests' thread
		 * counts (no thread leaked) count only ours.
		 */
		pthread_t th;

		if (!pthread_create(&th, NULL, t_nothing, NULL))
			pthread_join(th, NULL);
	}
#endif
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP %s: ", t_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(T_EXIT_SKIP);
}

void t_error(const char *fmt, ...)
{
	va_list ap;

	printf("ERROR %s: ", t_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
	exit(T_EXIT_ERROR);
}

int t_child(int (*fn)(void), unsigned int secs)
{
	int status;
	pid_t pid;

	fflush(stdout);		/* the child's exit must not repeat it */
	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (pid == 0) {
		alarm(secs);
		_exit(fn());
	}
	/*
	 * The child's alarm cannot end a thread that hangs with every
	 * signal blocked (in a signal handler): SIGKILL it a little after.
	 */
	for (secs = secs * 100 + 500; secs; secs--) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			t_error("waitpid");
		usleep(10000);
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid");
	return status;
}

bool t_child_ok(const char *what, int status)
{
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	t_check(ok, "%s: child %s %d", what,
		WIFEXITED(status) ? "exited" : "died of",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (ok)
		printf("%s: ok\n", what);
	return ok;
}

void t_done(void)
{
	if (t_failures) {
		printf("%s: %d failure(s)\n", t_name, t_failures);
		exit(T_EXIT_FAIL);
	}
	exit(T_EXIT_PASS);
}

void *t_map(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, -1, 0);

	if (p == MAP_FAILED)
		t_error("mmap(%zu)", len);
	return p;
}

void *t_map_aligned(size_t len, size_t align, int prot, int flags)
{
	char *p = mmap(NULL, len + align, prot, flags, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		t_error("mmap(%zu)", len + align);
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + len + align > a + len)
		munmap((char *)a + len, (uintptr_t)p + len + align - a - len);
	return (void *)a;
}

void t_touch(void *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += t_psz)
		((volatile char *)p)[i] = 1;
}

void t_read(const void *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += t_psz)
		(void)((const volatile char *)p)[i];
}

int t_pagemap_fd(void)
{
	static _Atomic int fd = -1;
	int f = fd, expect = -1;

	if (f < 0) {
		/* Threads may race here: one descriptor wins, others close. */
		f = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (f < 0)
			t_error("open /proc/self/pagemap");
		if (!atomic_compare_exchange_strong(&fd, &expect, f)) {
			close(f);
			f = expect;
		}
	}
	return f;
}

int t_ioctl(int fd, struct pm_scan_arg *a, int *err)
{
	int r;

	errno = 0;
	r = ioctl(fd, PAGEMAP_SCAN, a);
	if (err)
		*err = r < 0 ? errno : 0;
	return r;
}

int t_pioctl(int fd, struct pm_scan_arg *a, int *err)
{
	int r;

	errno = 0;
	r = pagescan_ioctl(fd, a);
	if (err)
		*err = r < 0 ? errno : 0;
	return r;
}

struct pm_scan_arg t_arg(const void *start, const void *end,
			 struct page_region *vec, uint64_t vec_len,
			 uint64_t flags, uint64_t max_pages, uint64_t inv,
			 uint64_t mask, uint64_t anyof, uint64_t ret)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)start, .end = (uintptr_t)end,
		.vec = (uintptr_t)vec, .vec_len = vec_len,
		.max_pages = max_pages, .category_inverted = inv,
		.category_mask = mask, .category_anyof_mask = anyof,
		.return_mask = ret,
	};
	return a;
}

uint64_t t_avail_cats(void)
{
	static uint64_t cats = UINT64_MAX;
	unsigned int b;

	if (cats != UINT64_MAX)
		return cats;
	cats = 0;
	for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		if (!pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + b, &fi)
		    && fi.support != PAGESCAN_UNAVAILABLE)
			cats |= UINT64_C(1) << b;
	}
	return cats;
}

int64_t t_page_cats(const void *p)
{
	struct page_region r;
	struct pm_scan_arg a = t_arg(p, (const char *)p + t_psz, &r, 1, 0, 0,
				     0, 0, 0, t_avail_cats());
	int err, n = pagescan_ioctl(t_pagemap_fd(), &a);

	if (n < 0) {
		err = errno;
		return -err;
	}
	return n ? (int64_t)r.categories : -ENOENT;
}

const char *t_cats(uint64_t c)
{
	static char buf[256];
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < PAGESCAN_CAT_COUNT; b++)
		if (c & (UINT64_C(1) << b)) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, pagescan_category_name(b));
		}
	return buf[0] ? buf : "0";
}

bool t_root(void)
{
	return geteuid() == 0;
}

int t_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static char saved_hp[32];

/*
 * The 2 MiB pool's own knobs, not /proc/sys/vm/nr_hugepages: that one is
 * the default size's, 1 GiB on a host booted with default_hugepagesz=1G.
 */
#define HP2M_DIR "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static void restore_hugepages(void)
{
	if (saved_hp[0])
		t_write_file(HP2M_DIR "nr_hugepages", saved_hp);
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	return strtol(buf, NULL, 10);
}

long t_hugepages(long n)
{
	long cur = read_long(HP2M_DIR "nr_hugepages");
	long nfree = read_long(HP2M_DIR "free_hugepages");
	char buf[32];
	int ret;

	if (cur < 0)
		return cur;
	if (nfree < 0)
		return nfree;
	/* Pages another test (or program) holds are not ours: add to them. */
	if (nfree < n) {
		if (!t_root())
			return nfree ? nfree : -EPERM;
		if (!saved_hp[0]) {
			snprintf(saved_hp, sizeof(saved_hp), "%ld", cur);
			atexit(restore_hugepages);
		}
		snprintf(buf, sizeof(buf), "%ld", cur + (n - nfree));
		ret = t_write_file(HP2M_DIR "nr_hugepages", buf);
		if (ret)
			return ret;
	}
	return read_long(HP2M_DIR "free_hugepages");
}

static char swap_path[64];

static void swap_off(void)
{
	if (swap_path[0]) {
		swapoff(swap_path);
		unlink(swap_path);
	}
}

/*
 * A test killed by the runner's timeout never runs its atexit handlers:
 * take down swap files whose owner is gone before adding one.
 */
static void reap_stale_swap(void)
{
	DIR *d = opendir("/var/tmp");
	struct dirent *e;
	char path[300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		long pid;

		if (strncmp(e->d_name, "pagescan-swap.", 14))
			continue;
		pid = strtol(e->d_name + 14, NULL, 10);
		if (pid <= 0 || !kill((pid_t)pid, 0) || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/var/tmp/%s", e->d_name);
		swapoff(path);
		unlink(path);
	}
	closedir(d);
}

/* Free swap in KiB (SwapFree of /proc/meminfo), or 0. */
static long swap_free_kib(void)
{
	char line[128];
	long kib = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SwapFree: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int t_swap_on(unsigned int mib)
{
	char cmd[256];
	int fd, ret;

	/*
	 * Unprivileged, a test can still page its own memory out
	 * (MADV_PAGEOUT) to a swap area that root set up beforehand (the
	 * nobody lane does).
	 */
	if (!t_root())
		return swap_free_kib() >= (long)mib * 1024 ? 0 : -EPERM;
	reap_stale_swap();
	snprintf(swap_path, sizeof(swap_path), "/var/tmp/pagescan-swap.%d",
		 (int)getpid());
	fd = open(swap_path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	atexit(swap_off);
	/* dd, not fallocate: swapon refuses files with holes on some fs. */
	snprintf(cmd, sizeof(cmd),
		 "dd if=/dev/zero of=%s bs=1M count=%u status=none && "
		 "mkswap %s >/dev/null 2>&1", swap_path, mib, swap_path);
	ret = system(cmd);
	if (ret)
		return -EIO;
	if (swapon(swap_path, 0))
		return -errno;
	return 0;
}

int t_tmpfile(size_t len, int byte)
{
	char path[] = "/var/tmp/pagescan-test.XXXXXX";
	char buf[4096];
	int fd = mkstemp(path);
	size_t done = 0;

	if (fd < 0)
		t_error("mkstemp");
	unlink(path);
	memset(buf, byte, sizeof(buf));
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		if (write(fd, buf, n) != (ssize_t)n)
			t_error("write tmpfile");
		done += n;
	}
	return fd;
}

void t_holder_start(struct t_holder *h)
{
	int pfd[2];
	char c;

	if (pipe(pfd))
		t_error("pipe");
	fflush(stdout);
	h->pid = fork();
	if (h->pid < 0)
		t_error("fork");
	if (!h->pid) {
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) < 0);
	}
	close(pfd[0]);
	h->fd = pfd[1];
}

void t_holder_release(struct t_holder *h)
{
	int status;

	close(h->fd);
	if (waitpid(h->pid, &status, 0) != h->pid)
		t_error("waitpid");
}

int t_mappings_in(const void *p, size_t len)
{
	unsigned long lo, hi, a = (uintptr_t)p, b = a + len;
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		t_error("/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < b && a < hi)
			n++;
	fclose(f);
	return n;
}
