// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The threads of a whole-process snapshot (snapshot_proc.c).
 *
 * The C library's data is taken, and with it glibc's count of live
 * threads (__nptl_nthreads) and its lists of thread descriptors.  Put
 * back while another set of threads is alive, the count is wrong: a
 * thread created since take (the restoring one, say) that exits then
 * sees it reach 0, and glibc calls exit(0), the whole process gone with
 * status 0; a thread gone since is brought back into the lists.  So the
 * TIDs of /proc/self/task are recorded at take and at each update (which
 * takes the C library's data of now), and a restore with another set
 * alive fails with EBUSY before it writes anything.  Read before the
 * copy: a thread created meanwhile is then counted but not recorded (a
 * restore refused), never the other way (a count too low).  A TID reused
 * (a thread gone, a new one given its TID) is not seen.
 *
 * Read with getdents64(2) into a buffer on the stack: a restore must not
 * allocate (the heap is one of the ranges), and no DIR is left open.
 */
#include "snapshot.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Looks at the threads, 50 us apart, while one not recorded is listed. */
#define THREAD_TRIES 40
/* How long a take or update waits for an exiting thread to be reaped. */
#define TAKE_REAP_MS 1000

struct tid_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static pid_t tid_parse(const char *s)
{
	long v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > INT_MAX / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v <= INT_MAX ? (pid_t)v : 0;
}

/* @fn for each TID listed: 0, fn's value, or -errno. */
static int tids_each(int (*fn)(pid_t tid, void *ctx), void *ctx)
{
	char buf[4096] __attribute__((aligned(8)));
	long n = 0, pos;
	int fd, ret = 0;

	fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (!ret && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (pos = 0; !ret && pos < n;) {
			const struct tid_dirent *d = (const void *)(buf + pos);
			pid_t tid = tid_parse(d->name);

			pos += d->reclen;
			if (tid > 0)
				ret = fn(tid, ctx);
		}
	if (!ret && n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static const char *tid_str(pid_t tid, char buf[16])
{
	snprintf(buf, 16, "%d", (int)tid);
	return buf;
}

struct tid_list {
	pid_t *v;
	size_t n, cap;
};

/* In our own memory: at take nothing of ours may be on the heap. */
static int tid_add(pid_t tid, void *ctx)
{
	struct tid_list *l = ctx;
	char b[16];

	/*
	 * Past the start of its exit and reaped soon after (sys_task_
	 * reaped()): glibc counts it no more, so neither does the snapshot;
	 * recorded, a restore after it is reaped would be refused as
	 * "exited since".  One not reaped in time is recorded (a later
	 * restore refused, honestly).
	 */
	if (sys_task_exiting(tid_str(tid, b)) &&
	    sys_task_reaped(b, TAKE_REAP_MS))
		return 0;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		pid_t *nv = ps_own_zalloc(nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		ps_own_free(l->v);
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = tid;
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The threads of now, sorted, into *@tids (our own memory) and *@n. */
int snap_proc_threads_read(pid_t **tids, size_t *n)
{
	struct tid_list l = { 0 };
	size_t i, k = 0;
	int ret;

	ret = tids_each(tid_add, &l);
	if (ret) {
		ps_own_free(l.v);
		return ret;
	}
	/* Insertion sort: no qsort() buffer on the heap (take_once()). */
	for (i = 1; i < l.n; i++) {
		pid_t t = l.v[i];
		size_t j = i;

		while (j && cmp_tid(&l.v[j - 1], &t) > 0) {
			l.v[j] = l.v[j - 1];
			j--;
		}
		l.v[j] = t;
	}
	for (i = 0; i < l.n; i++)	/* a directory read twice over */
		if (!k || l.v[k - 1] != l.v[i])
			l.v[k++] = l.v[i];
	*tids = l.v;
	*n = k;
	return 0;
}

void snap_proc_threads_install(struct pagescan_snapshot *s, pid_t *tids,
			       size_t n)
{
	ps_own_free(s->proc->tids);
	s->proc->tids = tids;
	s->proc->ntids = n;
}

struct tid_cmp {
	const struct snap_proc *proc;
	size_t seen;		/* recorded and listed */
	pid_t created;		/* the lowest listed and not recorded */
};

static int tid_match(pid_t tid, void *ctx)
{
	struct tid_cmp *c = ctx;

	if (bsearch(&tid, c->proc->tids, c->proc->ntids, sizeof(tid),
		    cmp_tid))
		c->seen++;
	else if (!c->created || tid < c->created)
		c->created = tid;
	return 0;
}

/*
 * A recorded thread still listed, but past the point where pthread_join()
 * returns: the kernel clears its TID word as it lets go of its memory,
 * then reaps it a little later (in a slow guest, long enough for a
 * restore to start in between, which put back a count of threads with it
 * in: seen in the 6.12 guest).  Such a task has PF_EXITING set
 * (sys_task_exiting()), and once it has no memory any more its statm
 * reads all zeros.  The first such TID, or 0.
 */
static pid_t exiting(const struct snap_proc *proc)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	char path[64], buf[32], tid[16];
	size_t i;

	for (i = 0; i < proc->ntids; i++) {
		ssize_t n;
		int fd;

		if (proc->tids[i] == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/statm",
			 (int)proc->tids[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return proc->tids[i];	/* gone meanwhile */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if ((n > 0 && buf[0] == '0' && buf[1] == ' ') ||
		    sys_task_exiting(tid_str(proc->tids[i], tid)))
			return proc->tids[i];
	}
	return 0;
}

/*
 * Restore, before anything is written: the threads alive must be those
 * recorded, or -EBUSY.  A thread joined a moment ago is still listed
 * until the kernel has reaped it (pthread_join() returns once its TID
 * word is cleared, a little before): one listed and not recorded is
 * looked for again, for a while, before the restore is refused.
 */
int snap_proc_threads_check(const struct pagescan_snapshot *s)
{
	const struct snap_proc *proc = s->proc;
	struct timespec ts = { 0, 50000 };
	struct tid_cmp c;
	char path[64], b[16];
	size_t i;
	int tries, ret;

	if (!proc)
		return 0;
	for (tries = 0; ; tries++) {
		c = (struct tid_cmp){ .proc = proc };
		ret = tids_each(tid_match, &c);
		if (ret)
			return ps_errf(-ret, "/proc/self/task cannot be read: "
				       "the threads are not known");
		if (!c.created || tries == THREAD_TRIES)
			break;
		/* Joined a moment ago: running its exit, reaped soon. */
		if (sys_task_exiting(tid_str(c.created, b)) &&
		    sys_task_reaped(b, TAKE_REAP_MS))
			continue;
		nanosleep(&ts, NULL);
	}
	if (c.created)
		return ps_errf(EBUSY, "thread %d was created since take (or "
			       "the last update) and is alive: join it "
			       "before restoring", (int)c.created);
	if (c.seen == proc->ntids) {
		pid_t gone = exiting(proc);

		if (!gone)
			return 0;
		return ps_errf(EBUSY, "thread %d, alive at take (or the last "
			       "update), has exited since: take a new "
			       "snapshot", (int)gone);
	}
	for (i = 0; i < proc->ntids; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d",
			 (int)proc->tids[i]);
		if (access(path, F_OK))
			break;
	}
	return ps_errf(EBUSY, "thread %d, alive at take (or the last "
		       "update), has exited since: take a new snapshot",
		       i < proc->ntids ? (int)proc->tids[i] : 0);
}
