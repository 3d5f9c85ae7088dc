// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the descriptors of write watches at a program's scale.
 * pagescan_watch(3), EMFILE: the watches of a process share their
 * descriptors (uffd-sync excepted: two of its own per watch), so many
 * watches fit under a small RLIMIT_NOFILE; each one still sees exactly
 * its own writes, closing some leaves the others working, the last one
 * closed gives every descriptor back, and a forked child's watches read
 * the child, not the parent; a daemon's child that closed every
 * descriptor and opened its own keeps them when it frees the watches,
 * handles and snapshots it inherited.  A whole-process snapshot of a program with
 * hundreds of writable mappings (one watch each) fits in 60 descriptors.
 * Before they were shared, 64 uffd-async watches needed 128 descriptors,
 * and such a take failed with EMFILE.
 */
#include "watch-common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NW	64	/* watches */
#define WP	4	/* pages per watch, one more page between two */
#define NSYNC	16	/* uffd-sync: two descriptors each */
#define NPROT	64	/* mprotect, soft-dirty (256 at most: ENOSPC) */
#define NMAP	200	/* writable mappings for the whole-process take */

static enum pagescan_watch_backend backend;

/*
 * The backend of a forked child's own watch.  uffd-sync starts a thread;
 * the sanitizers' runtimes do not support a thread started in the child
 * of a multi-threaded fork (ThreadSanitizer dies; gcc 12's
 * AddressSanitizer can inherit its thread registry's lock held, and the
 * child's handler thread waits on it for ever): mprotect's there.
 */
static enum pagescan_watch_backend child_backend(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	if (backend == PAGESCAN_WATCH_UFFD_SYNC)
		return PAGESCAN_WATCH_MPROTECT;
#endif
	return backend;
}

static int fds_now(void)
{
	return w_count_dir("/proc/self/fd");
}

/* The limit: what is open now and @more. */
static int limit_fds(int more)
{
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &r);
	r.rlim_cur = (rlim_t)(fds_now() + more);
	return setrlimit(RLIMIT_NOFILE, &r);
}

/* @n blocks of WP pages, a PROT_NONE page after each: separate VMAs. */
static char *blocks(int n)
{
	char *p = t_map((size_t)n * (WP + 1) * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	int i;

	t_touch(p, (size_t)n * (WP + 1) * t_psz);
	for (i = 0; i < n; i++)
		if (mprotect(p + ((size_t)i * (WP + 1) + WP) * t_psz, t_psz,
			     PROT_NONE))
			return NULL;
	return p;
}

static char *blk(char *p, int i)
{
	return p + (size_t)i * (WP + 1) * t_psz;
}

/* The one page of watch @w written since its last reset: index, or -1. */
static int written(struct pagescan_watch *w, char *b, int *err)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region r[WP];
	int n;

	n = pagescan_watch_get_regions(w, b, WP * t_psz, r, WP, &go);
	*err = n;
	if (n != 1 || r[0].end - r[0].start != t_psz)
		return -1;
	return (int)((r[0].start - (uintptr_t)b) / t_psz);
}

/* Write page (i + round) % WP of each watch in @mask, check each sees it. */
static int round_trip(struct pagescan_watch **w, char *p, int n, int round,
		      bool odd_only)
{
	int i, k, err;

	for (i = 0; i < n; i++)
		if (!odd_only || i % 2)
			blk(p, i)[((i + round) % WP) * t_psz] = (char)round;
	for (i = 0; i < n; i++) {
		if (odd_only && !(i % 2))
			continue;
		k = written(w[i], blk(p, i), &err);
		if (k != (i + round) % WP) {
			printf("watch %d of %d, round %d: page %d reported "
			       "(%d), not %d\n", i, n, round, k, err,
			       (i + round) % WP);
			return 1;
		}
	}
	return 0;
}

static int nwatches(enum pagescan_watch_backend b)
{
	if (b == PAGESCAN_WATCH_UFFD_SYNC)
		return NSYNC;
	return b == PAGESCAN_WATCH_UFFD_ASYNC ? NW : NPROT;
}

static int many(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = backend);
	bool sync = backend == PAGESCAN_WATCH_UFFD_SYNC;
	int n = nwatches(backend), base, i, r, most;
	struct pagescan_watch **w = calloc(n, sizeof(*w));
	char *p = blocks(n);

	if (!w || !p)
		return 90;
	base = fds_now();
	/* Shared: at most four of the process (uffd-async's kinds). */
	most = base + 4 + (sync ? 2 * n : 0);
	if (limit_fds(most - base + 1))
		return 91;
	for (i = 0; i < n; i++) {
		r = pagescan_watch_register(blk(p, i), WP * t_psz, &wo, &w[i]);
		if (r) {
			printf("register %d of %d: %s (%s)\n", i, n,
			       strerror(-r), pagescan_last_error());
			return 2;
		}
	}
	if (fds_now() > most) {
		printf("%d watches hold %d descriptors, at most %d\n", n,
		       fds_now() - base, most - base);
		return 3;
	}
	if (round_trip(w, p, n, 1, false))
		return 4;
	/* Half of them gone: what they shared still serves the rest. */
	for (i = 0; i < n; i += 2)
		pagescan_watch_unregister(w[i]);
	if (round_trip(w, p, n, 2, true))
		return 5;
	for (i = 1; i < n; i += 2)
		pagescan_watch_unregister(w[i]);
	if (fds_now() != base) {
		printf("%d descriptors before, %d after\n", base, fds_now());
		return 6;
	}
	return 0;
}

/*
 * fork(2) with watches registered: the child's own watch must read and
 * protect the child (a descriptor inherited reads the parent), the
 * child's unregisters of inherited watches give back what they held and
 * leave the parent's working.
 */
static int forked(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = backend);
	struct pagescan_watch *w[8], *cw;
	int base, i, st, err, k;
	char *p = blocks(9);
	pid_t pid;

	if (!p)
		return 90;
	base = fds_now();
	for (i = 0; i < 8; i++)
		if (pagescan_watch_register(blk(p, i), WP * t_psz, &wo, &w[i]))
			return 2;
	pid = fork();
	if (pid < 0)
		return 91;
	if (pid == 0) {
		/* The child: a watch of its own over block 8. */
		wo.backend = child_backend();
		if (pagescan_watch_register(blk(p, 8), WP * t_psz, &wo, &cw))
			_exit(10);
		blk(p, 8)[2 * t_psz] = 1;
		k = written(cw, blk(p, 8), &err);
		if (k != 2) {
			printf("child: its own watch reported page %d (%d), "
			       "not 2\n", k, err);
			_exit(11);
		}
		/* Inherited watches: unusable, given back. */
		if (pagescan_watch_get_regions(w[0], blk(p, 0), t_psz, NULL,
					       0, NULL) != -ECHILD)
			_exit(12);
		for (i = 0; i < 8; i++)
			pagescan_watch_unregister(w[i]);
		pagescan_watch_unregister(cw);
		if (fds_now() != base) {
			printf("child: %d descriptors before the watches, %d "
			       "after every unregister\n", base, fds_now());
			_exit(13);
		}
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("child: status %#x\n", st);
		return 4;
	}
	if (round_trip(w, p, 8, 3, false))
		return 5;
	for (i = 0; i < 8; i++)
		pagescan_watch_unregister(w[i]);
	return fds_now() == base ? 0 : 6;
}

/* How many VMAs of [p, p + len) carry uffd-wp (VmFlags "uw")? */
static int uw_vmas(const void *p, size_t len)
{
	char *vm = w_vmas(p, len), *l;
	int n = 0;

	for (l = vm; (l = strstr(l, "VmFlags:")); l++)
		if (strstr(l, " uw") && (!strchr(l, '\n') ||
					 strstr(l, " uw") < strchr(l, '\n')))
			n++;
	free(vm);
	return n;
}

/*
 * A daemon's child: it closes every descriptor it inherited, opens its
 * own (the kernel hands out the numbers the library's had), registers a
 * watch of its own, then unregisters the watch inherited from its
 * parent.  That must close neither the program's files nor the child's
 * own watch's descriptors (the first version of the shared table closed
 * both: found by the name of the descriptor, not the slot and file).
 */
/* A daemon's start: every inherited descriptor closed, @n files opened. */
static void daemon_files(int *f, int n)
{
	int i;

	for (i = 3; i < 1024; i++)
		close(i);
	for (i = 0; i < n; i++)
		f[i] = open("/proc/self/stat", O_RDONLY);
}

/* The first of files [from, to) of @f closed or unreadable, or -1. */
static int daemon_file_lost(const int *f, int from, int to)
{
	char c;
	int i;

	for (i = from; i < to; i++)
		if (f[i] < 0 || pread(f[i], &c, 1, 0) != 1)
			return i;
	return -1;
}

static int daemon_child(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = backend);
	struct pagescan_watch *w, *cw;
	char *p = blocks(2);
	int f[4], i, err, st;
	pid_t pid;

	if (!p)
		return 90;
	if (pagescan_watch_register(blk(p, 0), WP * t_psz, &wo, &w))
		return 2;
	pid = fork();
	if (pid < 0)
		return 91;
	if (pid == 0) {
		daemon_files(f, 2);
		wo.backend = child_backend();
		if (pagescan_watch_register(blk(p, 1), WP * t_psz, &wo, &cw))
			_exit(10);
		for (i = 2; i < 4; i++)
			f[i] = open("/proc/self/stat", O_RDONLY);
		pagescan_watch_unregister(w);
		i = daemon_file_lost(f, 0, 4);
		if (i >= 0) {
			printf("child: its file %d (fd %d) closed by the "
			       "unregister of an inherited watch\n", i, f[i]);
			_exit(11);
		}
		blk(p, 1)[t_psz] = 1;
		if (written(cw, blk(p, 1), &err) != 1) {
			printf("child: its own watch broken (%d) by the "
			       "unregister of an inherited one\n", err);
			_exit(12);
		}
		pagescan_watch_unregister(cw);
		_exit(daemon_file_lost(f, 0, 4) >= 0 ? 13 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("child: status %#x\n", st);
		return 4;
	}
	blk(p, 0)[2 * t_psz] = 1;
	if (written(w, blk(p, 0), &err) != 2)
		return 5;
	pagescan_watch_unregister(w);
	return 0;
}

/*
 * A watched mapping grown in place (mremap(2), as glibc's realloc() of a
 * large block does), unregistered while another uffd-async watch keeps
 * the shared userfaultfd: the grown part must not stay registered (the
 * program's own userfaultfd could not register it: EBUSY).
 */
static int grown(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_UFFD_ASYNC);
	struct pagescan_watch *keep, *w;
	char *k = blocks(1), *r, *a;

	if (!k || pagescan_watch_register(k, WP * t_psz, &wo, &keep))
		return 2;
	r = t_map(64 * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	munmap(r, 64 * t_psz);
	a = mmap(r, 4 * t_psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a != r)
		return 90;
	t_touch(a, 4 * t_psz);
	if (pagescan_watch_register(a, 4 * t_psz, &wo, &w))
		return 3;
	if (mremap(a, 4 * t_psz, 16 * t_psz, 0) != a)
		return 91;
	pagescan_watch_unregister(w);
	if (uw_vmas(a, 16 * t_psz)) {
		printf("after unregister, %d VMAs of the grown mapping still "
		       "registered\n", uw_vmas(a, 16 * t_psz));
		return 4;
	}
	pagescan_watch_unregister(keep);
	return 0;
}

/*
 * A descendant with its ancestor's pid (pid 1 of two nested pid
 * namespaces): its watch must get descriptors of its own.  It got the
 * ancestor's userfaultfd (the table was keyed by getpid()), registered
 * the ancestor's memory and reported nothing of its own writes.
 */
static bool same_pid_raw;

static int same_pid(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_UFFD_ASYNC);
	PAGESCAN_OPTS(pagescan_snapshot_opts, so);
	struct pagescan_watch *w, *gw;
	struct pagescan_snapshot *s;
	struct pagescan_range r;
	int err, st, k, ret, flags = CLONE_NEWPID;
	char *p = blocks(3);
	pid_t pid;

	if (!p)
		return 90;
	if (!t_root())
		flags |= CLONE_NEWUSER;
	if (unshare(flags)) {
		printf("unshare(CLONE_NEWPID): %s\n", strerror(errno));
		return 77;
	}
	pid = fork();	/* pid 1 of the first namespace */
	if (pid)
		return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ?
		       WEXITSTATUS(st) : 92;
	if (pagescan_watch_register(blk(p, 0), WP * t_psz, &wo, &w))
		_exit(2);
	r.addr = blk(p, 2);
	r.len = WP * t_psz;
	blk(p, 2)[0] = 'a';
	if (pagescan_snapshot_take(&r, 1, &so, &s))
		_exit(7);
	if (unshare(CLONE_NEWPID))
		_exit(93);
	/* pid 1 of the second, pid 2 of the first; raw: no atfork handler */
	pid = same_pid_raw ? (pid_t)syscall(SYS_fork) : fork();
	if (pid == 0) {
		if (getpid() != 1)
			_exit(94);
		if (pagescan_watch_register(blk(p, 1), WP * t_psz, &wo, &gw))
			_exit(3);
		blk(p, 1)[3 * t_psz] = 1;
		k = written(gw, blk(p, 1), &err);
		if (k != 3) {
			printf("pid 1 again: its watch reported page %d (%d), "
			       "not 3\n", k, err);
			_exit(4);
		}
		pagescan_watch_unregister(gw);
		/* The snapshot too is the ancestor's, whatever the pid. */
		blk(p, 2)[0] = 'b';
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret != -ECHILD || errno != ECHILD || blk(p, 2)[0] != 'b' ||
		    !pagescan_last_error()) {
			printf("pid 1 again: restore of the ancestor's "
			       "snapshot: %d (%s), byte %c\n", ret,
			       pagescan_last_error(), blk(p, 2)[0]);
			_exit(8);
		}
		pagescan_snapshot_free(s);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		_exit(95);
	if (WEXITSTATUS(st))
		_exit(WEXITSTATUS(st));
	if (uw_vmas(blk(p, 1), WP * t_psz)) {
		printf("the ancestor's memory registered by its descendant\n");
		_exit(5);
	}
	blk(p, 2)[0] = 'c';
	if (pagescan_snapshot_restore(s, NULL) || blk(p, 2)[0] != 'a')
		_exit(9);
	pagescan_snapshot_free(s);
	blk(p, 0)[0] = 1;
	_exit(written(w, blk(p, 0), &err) == 0 ? 0 : 6);
}

/* A program with many writable mappings, snapshotted whole. */
static int process(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, so, .flags = 0);
	struct pagescan_snapshot *s;
	char *p = blocks(NMAP);
	int i, r;

	if (!p)
		return 90;
	for (i = 0; i < NMAP; i++)
		blk(p, i)[0] = (char)(i | 1);
	if (limit_fds(60))
		return 91;
	r = pagescan_snapshot_take_process(&so, &s);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* A sanitizer's heap cannot be rewound: refused (snapshot-process). */
	printf("under a sanitizer: %d (%s)\n", r, pagescan_last_error());
	return r == -EOPNOTSUPP ? 0 : 2;
#endif
	if (r == -EOPNOTSUPP &&
	    pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, NULL) != 1) {
		printf("whole-process snapshot: %s\n", pagescan_last_error());
		return 77;
	}
	if (r) {
		printf("take of %d mappings, 60 descriptors: %s (%s)\n",
		       NMAP, strerror(-r), pagescan_last_error());
		return 2;
	}
	for (i = 0; i < NMAP; i += 7)
		blk(p, i)[0] = 0;
	r = pagescan_snapshot_restore(s, NULL);
	if (r) {
		printf("restore: %s (%s)\n", strerror(-r),
		       pagescan_last_error());
		return 3;
	}
	for (i = 0; i < NMAP; i++)
		if (blk(p, i)[0] != (char)(i | 1))
			return 4;
	pagescan_snapshot_free(s);
	return 0;
}

/*
 * A daemon's child again, with what else holds descriptors: a handle
 * (pagemap, maps, smaps) and a snapshot (its maps, its handle, its
 * watch's).  It closes everything, opens its own files (which get those
 * numbers), then closes the handle and frees the snapshot it inherited:
 * its files must stay open (both used to be closed by number).
 */
static int daemon_child_others(void)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, so);
	struct pagescan_snapshot *s;
	struct pagescan_range r;
	struct pagescan *ps;
	char *p = blocks(1);
	int f[12], i, st;
	pid_t pid;

	if (!p)
		return 90;
	r.addr = blk(p, 0);
	r.len = WP * t_psz;
	if (pagescan_open(0, NULL, &ps) ||
	    pagescan_snapshot_take(&r, 1, &so, &s))
		return 2;
	pid = fork();
	if (pid < 0)
		return 91;
	if (pid == 0) {
		daemon_files(f, 12);
		pagescan_close(ps);
		pagescan_snapshot_free(s);
		i = daemon_file_lost(f, 0, 12);
		if (i >= 0) {
			printf("child: its file %d (fd %d) closed by freeing an "
			       "inherited handle or snapshot\n", i, f[i]);
			_exit(11);
		}
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		printf("child: status %#x\n", st);
		return 4;
	}
	/* The parent's are untouched. */
	blk(p, 0)[t_psz] = 9;
	if (pagescan_snapshot_restore(s, NULL) || blk(p, 0)[t_psz] == 9)
		return 5;
	pagescan_snapshot_free(s);
	pagescan_close(ps);
	return 0;
}

/*
 * auto with one descriptor free at the first register: EMFILE, not a quiet
 * fall to mprotect
 * (whose read(2) into the range then fails with EFAULT); once some are
 * free, the best backend again.
 */
static int auto_emfile(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo);
	enum pagescan_watch_backend got;
	struct pagescan_watch *w;
	char *p = blocks(1);
	int fill[64], nfill = 0, ret;

	/* The first register of the process: its probes run now too. */
	if (limit_fds(16))
		t_error("setrlimit");
	while (nfill < 64 && (fill[nfill] = dup(0)) >= 0)
		nfill++;
	if (nfill)
		close(fill[--nfill]);	/* one free */
	ret = pagescan_watch_register(p, WP * t_psz, &wo, &w);
	while (nfill)
		close(fill[--nfill]);
	if (!ret) {
		got = pagescan_watch_backend(w);
		pagescan_watch_unregister(w);
		ret = pagescan_watch_register(p, WP * t_psz, &wo, &w);
		if (ret)
			t_error("register: %s", strerror(-ret));
		/* Where mprotect is the best here, it is no fall. */
		t_check(pagescan_watch_backend(w) == got, "auto with one "
			"descriptor free: %s, with enough: %s",
			pagescan_watch_backend_name(got),
			pagescan_watch_backend_name(pagescan_watch_backend(w)));
		pagescan_watch_unregister(w);
	} else {
		t_check(ret == -EMFILE && errno == EMFILE, "auto with one "
			"descriptor free: %s, not EMFILE", strerror(-ret));
	}
	return t_failures ? 1 : 0;
}

int main(void)
{
	enum pagescan_watch_backend b[PAGESCAN_WATCH__COUNT];
	int nb, i, st;
	char what[128];

	t_init("watch-fds");
	/* First: before anything here has probed a backend. */
	t_child_ok("auto with one descriptor free: EMFILE, or the best",
		   t_child(auto_emfile, 60));
	nb = w_backends(b);
	for (i = 0; i < nb; i++) {
		backend = b[i];
		snprintf(what, sizeof(what), "%s: %d watches, descriptors "
			 "shared", pagescan_watch_backend_name(backend),
			 nwatches(backend));
		t_child_ok(what, t_child(many, 240));
		snprintf(what, sizeof(what), "%s: fork, the child's watch and "
			 "the parent's", pagescan_watch_backend_name(backend));
		t_child_ok(what, t_child(forked, 120));
		snprintf(what, sizeof(what), "%s: a daemon's child closes "
			 "everything, unregisters what it inherited",
			 pagescan_watch_backend_name(backend));
		t_child_ok(what, t_child(daemon_child, 120));
	}
	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, NULL) == 1) {
		t_child_ok("uffd-async: a mapping grown in place is "
			   "unregistered whole", t_child(grown, 120));
		for (i = 0; i < 2; i++) {
			same_pid_raw = i;
			st = t_child(same_pid, 120);
			snprintf(what, sizeof(what), "uffd-async: a descendant "
				 "with its ancestor's pid (watches, a "
				 "snapshot)%s", i ? ", by a raw fork" : "");
			if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
				printf("pid 1 of a nested pid namespace: no "
				       "namespaces here\n");
			else
				t_child_ok(what, st);
		}
	}
	t_child_ok("a daemon's child closes everything, frees an inherited "
		   "handle and snapshot", t_child(daemon_child_others, 120));
	st = t_child(process, 240);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("whole-process take of %d mappings: not here\n", NMAP);
	else
		t_child_ok("whole-process take of 200 mappings in 60 "
			   "descriptors", st);
	t_done();
}
