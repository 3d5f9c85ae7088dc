// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: targets for the pagescan command at scale and in motion.
 * Run without arguments it builds each of them in itself and checks,
 * with /proc/self/maps, that they are what the tests believe.
 *
 *   cli-maps.t                   the self-test (exit 0/1)
 *   cli-maps.t --maps N --hold   N mappings: N/2 consecutive mappings of
 *                                one file (every other page read-only, so
 *                                each page is its own mapping; all read),
 *                                then N/2 anonymous ones alike (written);
 *                                prints one JSON line, waits for stdin EOF
 *   cli-maps.t --churn --hold    a thread maps, touches and unmaps
 *                                anonymous memory without pause
 *   cli-maps.t --steps --hold    three private file mappings, "keep",
 *                                "grow" and "free" (16 pages written in
 *                                each); each line read on stdin takes a
 *                                step: grow gets 16 more pages written,
 *                                free is unmapped, "new" is mapped with 8
 *                                pages written; it answers "ok"
 */
#include "helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

static char dir[64];
static char paths[5][128];
static int npaths;

static void cleanup(void)
{
	int i;

	for (i = 0; i < npaths; i++)
		unlink(paths[i]);
	if (dir[0])
		rmdir(dir);
}

/* A file of @pages pages in our directory. */
static int make_file(const char *name, size_t pages)
{
	char *p = paths[npaths];
	int fd;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/pagescan-maps.XXXXXX");
		if (!mkdtemp(dir))
			t_error("mkdtemp: %s", strerror(errno));
		atexit(cleanup);
	}
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	npaths++;
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		t_error("%s: %s", p, strerror(errno));
	/*
	 * Allocated now, not on first touch: a full /tmp is an error here,
	 * not a SIGBUS that skips the cleanup and leaves /tmp full for
	 * every test after (the VM lane, 2026-12-08).
	 */
	errno = posix_fallocate(fd, 0, (off_t)(pages * t_psz));
	if (errno)
		t_error("%s: %zu pages: %s", p, pages, strerror(errno));
	return fd;
}

/* Every other page read-only: one mapping per page. */
static void split(char *p, size_t pages)
{
	size_t i;

	for (i = 1; i < pages; i += 2)
		if (mprotect(p + i * t_psz, t_psz, PROT_READ))
			t_error("mprotect: %s", strerror(errno));
}

static char *file_area, *anon_area;
static size_t file_pages, anon_pages;

static void build_maps(size_t n)
{
	volatile char sink;
	size_t i;
	int fd;

	file_pages = n / 2;
	anon_pages = n - file_pages;
	fd = make_file("big", file_pages);
	file_area = mmap(NULL, file_pages * t_psz, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
	if (file_area == MAP_FAILED)
		t_error("mmap: %s", strerror(errno));
	close(fd);
	for (i = 0; i < file_pages; i++)
		sink = file_area[i * t_psz];
	(void)sink;
	split(file_area, file_pages);
	/*
	 * A gap of one page between the two areas, so that the anonymous
	 * one never merges with a neighbour either.
	 */
	anon_area = t_map((anon_pages + 2) * t_psz, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	anon_area += t_psz;
	if (mprotect(anon_area, anon_pages * t_psz, PROT_READ | PROT_WRITE))
		t_error("mprotect: %s", strerror(errno));
	t_touch(anon_area, anon_pages * t_psz);
	split(anon_area, anon_pages);
}

static size_t count_maps(const char *name)
{
	char line[512];
	size_t n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		t_error("/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!name || strstr(line, name))
			n++;
	fclose(f);
	return n;
}

static _Atomic int stop;	/* also set by a signal handler: lock-free */
static unsigned long churned;

static void *churn(void *arg)
{
	unsigned int seed = 1;

	while (!stop) {
		size_t pages = 1 + rand_r(&seed) % 64;
		char *p = mmap(NULL, pages * t_psz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			continue;
		memset(p, 1, pages * t_psz);
		munmap(p, pages * t_psz);
		__atomic_add_fetch(&churned, 1, __ATOMIC_RELAXED);
	}
	return arg;
}

static void start_churn(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, churn, NULL))
		t_error("pthread_create failed");
	pthread_detach(t);
}

/* A private file mapping with @written pages written (anonymous memory). */
static char *map_step(const char *name, size_t pages, size_t written)
{
	int fd = make_file(name, pages);
	char *p = mmap(NULL, pages * t_psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		t_error("mmap %s: %s", name, strerror(errno));
	close(fd);
	t_touch(p, written * t_psz);
	return p;
}

static char *s_keep, *s_grow, *s_free, *s_new;

static void step(void)
{
	t_touch(s_grow + 16 * t_psz, 16 * t_psz);
	munmap(s_free, 64 * t_psz);
	s_new = map_step("new", 64, 8);
}

static void on_signal(int sig)
{
	stop = 1;
}

static void hold(bool steps)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char buf[256];

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (steps && !s_new) {
			step();
			printf("ok\n");
			fflush(stdout);
		}
	}
}

static void print_range(const char *name, const void *p, size_t pages)
{
	printf(",\"%s\":{\"start\":\"%#lx\",\"end\":\"%#lx\"}", name,
	       (unsigned long)p, (unsigned long)p + pages * t_psz);
}

/* N for --maps: a number, and one this process can map. */
static size_t maps_arg(const char *arg)
{
	unsigned long max = 65530;
	char *end;
	size_t n;
	FILE *f;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || !n)
		t_error("--maps %s: not a count of mappings", arg);
	f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 65530;
		fclose(f);
	}
	if (n + 100 > max)
		t_error("--maps %zu: vm.max_map_count is %lu", n, max);
	return n;
}

int main(int argc, char **argv)
{
	bool do_hold = false, do_churn = false, do_steps = false;
	size_t maps = 0;
	int i;

	t_init("cli-maps");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			do_hold = true;
		else if (!strcmp(argv[i], "--maps") && i + 1 < argc)
			maps = maps_arg(argv[++i]);
		else if (!strcmp(argv[i], "--churn"))
			do_churn = true;
		else if (!strcmp(argv[i], "--steps"))
			do_steps = true;
		else
			t_error("unknown argument %s", argv[i]);
	}
	if (!do_hold) {
		/* The self-test: each target is what it says. */
		size_t before = count_maps(NULL), n;

		build_maps(2000);
		n = count_maps("/big");
		t_check(n == 1000, "%zu mappings of the file, not 1000", n);
		n = count_maps(NULL) - before;
		t_check(n >= 2000, "%zu new mappings, not 2000 or more", n);
		start_churn();
		while (__atomic_load_n(&churned, __ATOMIC_RELAXED) < 1000)
			usleep(1000);
		stop = 1;
		s_keep = map_step("keep", 64, 16);
		s_grow = map_step("grow", 64, 16);
		s_free = map_step("free", 64, 16);
		step();
		t_check(count_maps("/free") == 0, "free is still mapped");
		t_check(count_maps("/new") == 1, "new is not mapped once");
		t_done();
	}
	if (maps)
		build_maps(maps);
	if (do_steps) {
		s_keep = map_step("keep", 64, 16);
		s_grow = map_step("grow", 64, 16);
		s_free = map_step("free", 64, 16);
	}
	printf("{\"pid\":%d,\"page_size\":%lu,\"dir\":\"%s\"", (int)getpid(),
	       t_psz, dir);
	if (maps) {
		printf(",\"mappings\":%zu", count_maps(NULL));
		print_range("file", file_area, file_pages);
		print_range("anon", anon_area, anon_pages);
	}
	printf("}\n");
	fflush(stdout);
	if (do_churn)
		start_churn();
	hold(do_steps);
	stop = 1;
	return 0;
}
