// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the table "What a watch sees" in pagescan_watch(3) is what
 * the backends do.  Each row is a way memory can change; for every
 * backend this kernel has, the row's probe makes that change to an armed
 * page of a watch and says what happened: "reported" (the next get has
 * the page), "refused: ERRNO" (the change failed with that errno and the
 * memory is unchanged), or "not seen" (it changed, the get did not say);
 * the page's contents are compared, so that a refusal that changed it, or
 * a "miss" that changed nothing, cannot pass for the cell.
 * The test reads the table from the manual and fails on every cell that
 * differs, so that the manual and the library cannot drift apart.
 * A column whose heading ends in '*' (soft-dirty: from the kernel's docs),
 * rows without a probe here (KSM: tests/watch-ksm) and probes this host
 * cannot run (no io_uring, no O_DIRECT) are not checked.  "dropped": the
 * kernel's own store (CLONE_CHILD_CLEARTID) did not happen.
 * The table was measured on 6.18: on another kernel a refusal, or a
 * report, is accepted where the manual documents a miss ("not seen",
 * "dropped"), since a report, or the
 * kernel refusing the change or the registration (uffd-sync on shared
 * memory before 5.19, a fixed io_uring buffer on a write-protected page on
 * 5.10) keeps the promise better than the cell; never the reverse.
 * PAGESCAN_TABLE_PRINT=1 prints what was measured, in the table's form.
 */
#include "watch-common.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/falloc.h>

#ifndef MAN_PATH
#define MAN_PATH "man/pagescan_watch.3"
#endif

#define NP 8
#define PG 3			/* the page each probe changes */

struct probe_ctx {
	enum pagescan_watch_backend b;
	char *p;		/* the watched range, NP pages */
	int fd;			/* memfd behind it, for shared rows */
	struct pagescan_watch *w;
	int err;		/* the change failed with this errno */
	char *before;		/* page PG as it was before the change */
};

static const char *errno_name(int e)
{
	switch (e) {
	case EFAULT: return "EFAULT";
	case EIO: return "EIO";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}

static const char *outcome(struct probe_ctx *c, char *buf, size_t len)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	char *page = c->p + PG * t_psz;
	const char *res = "not seen";
	void *pg[NP];
	bool same;
	int i, n;

	if (c->err == -2)
		return "n/a";
	/*
	 * A refusal leaves the memory as it was, and a miss changed it:
	 * measured, not assumed (after the get: reading a punched hole
	 * maps a page).  The next change is measured from here.
	 */
	if (c->err) {
		same = !memcmp(c->before, page, t_psz);
		memcpy(c->before, page, t_psz);
		snprintf(buf, len, "refused: %s%s", errno_name(c->err),
			 same ? "" : ", yet changed");
		return buf;
	}
	n = pagescan_watch_get_pages(c->w, c->p, NP * t_psz, pg, NP, &reset);
	same = !memcmp(c->before, page, t_psz);
	memcpy(c->before, page, t_psz);
	if (n < 0) {
		snprintf(buf, len, "get failed: %s", strerror(-n));
		return buf;
	}
	for (i = 0; i < n; i++)
		if (pg[i] == page)
			res = "reported";
	if (!strcmp(res, "not seen") && same)
		res = "unchanged";
	return res;
}

/* ---- the probes: make one change to page PG; c->err if it failed ---- */

static char *pgp(struct probe_ctx *c)
{
	return c->p + PG * t_psz;
}

static void p_store(struct probe_ctx *c)
{
	volatile uint64_t *q = (volatile uint64_t *)(pgp(c) + 64);

	*q = 0x1234;
}

static void p_atomic(struct probe_ctx *c)
{
	__atomic_fetch_add((uint64_t *)(pgp(c) + 64), 1, __ATOMIC_SEQ_CST);
}

static void p_read(struct probe_ctx *c)
{
	int pfd[2];

	if (pipe(pfd) || write(pfd[1], "xyz", 3) != 3)
		t_error("pipe");
	if (read(pfd[0], pgp(c) + 64, 3) < 0)
		c->err = errno;
	close(pfd[0]);
	close(pfd[1]);
}

static void p_futex(struct probe_ctx *c)
{
	static int other;

	/* *uaddr2 = 1 (FUTEX_OP_SET), wake waiters of other (none). */
	if (syscall(SYS_futex, &other, FUTEX_WAKE_OP, 1, (void *)1,
		    (uint32_t *)(pgp(c) + 64),
		    FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)) < 0)
		c->err = errno;
}

static void p_direct(struct probe_ctx *c)
{
	char path[] = "/var/tmp/pagescan-table-XXXXXX";
	char *buf = aligned_alloc(4096, 4096);
	int fd = mkstemp(path);

	if (fd < 0 || !buf)
		t_error("mkstemp");
	memset(buf, 0x77, 4096);
	if (write(fd, buf, 4096) != 4096 || fsync(fd))
		t_error("write");
	close(fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	unlink(path);
	free(buf);
	if (fd < 0) {
		c->err = -2;	/* no O_DIRECT on this file system */
		return;
	}
	if (pread(fd, pgp(c), 4096, 0) < 0)
		c->err = errno;
	close(fd);
}

static void p_procmem(struct probe_ctx *c)
{
	int fd = open("/proc/self/mem", O_RDWR);

	if (fd < 0)
		t_error("/proc/self/mem");
	if (pwrite(fd, "abc", 3, (off_t)(uintptr_t)(pgp(c) + 64)) < 0)
		c->err = errno;
	close(fd);
}

static void p_vmwritev(struct probe_ctx *c)
{
	char src[3] = "abc";
	struct iovec l = { src, 3 }, r = { pgp(c) + 64, 3 };

	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) < 0)
		c->err = errno;
}

static void p_othermap(struct probe_ctx *c)
{
	char *q = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED,
		       c->fd, 0);

	if (q == MAP_FAILED)
		t_error("mmap");
	q[PG * t_psz + 64] = 0x42;
	munmap(q, NP * t_psz);
}

static void p_pwrite(struct probe_ctx *c)
{
	if (pwrite(c->fd, "abc", 3, PG * (off_t)t_psz + 64) < 0)
		c->err = errno;
}

static void p_dontneed(struct probe_ctx *c)
{
	if (madvise(pgp(c), t_psz, MADV_DONTNEED))
		c->err = errno;
}

/* A private file page copied on write, discarded, read: the file's. */
static void p_dontneed_read(struct probe_ctx *c)
{
	volatile char sink;

	if (madvise(pgp(c), t_psz, MADV_DONTNEED))
		c->err = errno;
	sink = *pgp(c);
	(void)sink;
}

static void p_punch(struct probe_ctx *c)
{
	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      PG * (off_t)t_psz, (off_t)t_psz))
		c->err = errno;
}

/* Away and back, then a store: the watch must still see it. */
static void p_mremap(struct probe_ctx *c)
{
	char *tmp = t_map(NP * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	char *q;

	q = mremap(c->p, NP * t_psz, NP * t_psz, MREMAP_MAYMOVE |
		   MREMAP_FIXED, tmp);
	if (q == MAP_FAILED ||
	    mremap(q, NP * t_psz, NP * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   c->p) == MAP_FAILED) {
		c->err = errno;
		return;
	}
	/* Report what the move did, then the store alone. */
	{
		char buf[40];

		outcome(c, buf, sizeof(buf));
	}
	p_store(c);
}

/* fork(2), then a store by the parent. */
static void p_fork(struct probe_ctx *c)
{
	pid_t pid = fork();

	if (pid < 0)
		t_error("fork");
	if (!pid)
		_exit(0);
	waitpid(pid, NULL, 0);
	p_store(c);
}

static int clear_child(void *arg)
{
	(void)arg;
	return 0;
}

/* A thread whose CLONE_CHILD_CLEARTID word is in the page exits. */
static void p_cleartid(struct probe_ctx *c)
{
	size_t stack_len = 64 << 10;
	char *stack = t_map(stack_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	int *ctid = (int *)(pgp(c) + 128), i;
	pid_t tid;

#ifdef __SANITIZE_THREAD__
	/*
	 * A raw clone(2) thread shares the parent's thread pointer, and so
	 * TSan's state of the parent thread: it dies in the runtime.  The
	 * other lanes measure this row.
	 */
	c->err = -2;
	munmap(stack, stack_len);
	(void)ctid;
	(void)i;
	(void)tid;
	return;
#endif
	/* Set by the parent first (a store of ours, reset below). */
	*ctid = -1;
	{
		char buf[40];

		outcome(c, buf, sizeof(buf));
	}
	tid = clone(clear_child, stack + stack_len, CLONE_VM | CLONE_FS |
		    CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_CHILD_CLEARTID, NULL, NULL, NULL,
		    ctid);
	if (tid < 0)
		t_error("clone");
	/* The kernel clears it at exit; give it two seconds. */
	for (i = 0; i < 200 && __atomic_load_n(ctid, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	if (__atomic_load_n(ctid, __ATOMIC_SEQ_CST))
		c->err = -1;	/* dropped */
	munmap(stack, stack_len);
}

static int ring_setup(struct io_uring_params *pr, void **sq, void **cq,
		      struct io_uring_sqe **sqes)
{
	int fd = (int)syscall(SYS_io_uring_setup, 2, pr);

	if (fd < 0)
		return -errno;
	*sq = mmap(NULL, pr->sq_off.array + pr->sq_entries * 4,
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		   IORING_OFF_SQ_RING);
	*cq = mmap(NULL, pr->cq_off.cqes + pr->cq_entries *
		   sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	*sqes = mmap(NULL, pr->sq_entries * sizeof(struct io_uring_sqe),
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		     IORING_OFF_SQES);
	if (*sq == MAP_FAILED || *cq == MAP_FAILED || *sqes == MAP_FAILED)
		t_error("io_uring mmap");
	return fd;
}

/* One read(2)-like op into the page; @fixed: from a registered buffer. */
static void p_uring(struct probe_ctx *c, bool fixed)
{
	struct io_uring_params pr = { 0 };
	struct io_uring_sqe *sqes = NULL;
	struct io_uring_cqe *cqe;
	struct iovec iov = { pgp(c), t_psz };
	void *sq = NULL, *cq = NULL;
	int fd, pfd[2];
	unsigned int tail;

	fd = ring_setup(&pr, &sq, &cq, &sqes);
	if (fd < 0) {
		c->err = -2;	/* no io_uring here (io_uring_disabled) */
		return;
	}
	if (fixed) {
		/* Registering pins the page for writing: seen or not, reset. */
		if (syscall(SYS_io_uring_register, fd,
			    IORING_REGISTER_BUFFERS, &iov, 1)) {
			c->err = errno;
			close(fd);
			return;
		}
		{
			char buf[40];

			outcome(c, buf, sizeof(buf));
		}
	}
	if (pipe(pfd) || write(pfd[1], "ring", 4) != 4)
		t_error("pipe");
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = fixed ? IORING_OP_READ_FIXED : IORING_OP_READ;
	sqes[0].fd = pfd[0];
	sqes[0].addr = (uintptr_t)pgp(c);
	sqes[0].len = 4;
	sqes[0].off = (uint64_t)-1;
	tail = *(unsigned int *)((char *)sq + pr.sq_off.tail);
	((unsigned int *)((char *)sq + pr.sq_off.array))
		[tail & *(unsigned int *)((char *)sq + pr.sq_off.ring_mask)] = 0;
	__atomic_store_n((unsigned int *)((char *)sq + pr.sq_off.tail),
			 tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		t_error("io_uring_enter");
	cqe = (struct io_uring_cqe *)((char *)cq + pr.cq_off.cqes);
	if (cqe[0].res < 0)
		c->err = -cqe[0].res;
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

static void p_uring_plain(struct probe_ctx *c)
{
	p_uring(c, false);
}

static void p_uring_fixed(struct probe_ctx *c)
{
	p_uring(c, true);
}

static const struct row {
	const char *label;	/* the first column of the manual's table */
	void (*probe)(struct probe_ctx *c);
	int kind;		/* a memfd mapping: 1 shared, 2 private */
} rows[] = {
	{ "CPU store", p_store, false },
	{ "atomic", p_atomic, false },
	{ "read(2)", p_read, false },
	{ "FUTEX_WAKE_OP", p_futex, false },
	{ "io_uring read", p_uring_plain, false },
	{ "io_uring fixed", p_uring_fixed, false },
	{ "O_DIRECT read", p_direct, false },
	{ "/proc/PID/mem", p_procmem, false },
	{ "vm_writev", p_vmwritev, false },
	{ "other mapping", p_othermap, true },
	{ "pwrite to file", p_pwrite, true },
	{ "MADV_DONTNEED", p_dontneed, false },
	{ "COW discarded", p_dontneed_read, 2 },
	{ "hole punch", p_punch, true },
	{ "mremap, back", p_mremap, false },
	{ "fork (parent)", p_fork, false },
	{ "thread exit", p_cleartid, false },
};

static const char *measure(const struct row *r, enum pagescan_watch_backend b,
			   char *buf, size_t len)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	struct probe_ctx c = { .b = b, .fd = -1, .before = malloc(t_psz) };
	const char *res;
	void *pg[NP];
	int ret;

	if (r->kind) {
		c.fd = (int)syscall(SYS_memfd_create, "table", 0);
		if (c.fd < 0 || ftruncate(c.fd, NP * (off_t)t_psz))
			t_error("memfd");
		c.p = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE,
			   r->kind == 1 ? MAP_SHARED : MAP_PRIVATE, c.fd, 0);
	} else {
		c.p = mmap(NULL, NP * t_psz, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (c.p == MAP_FAILED)
		t_error("mmap");
	memset(c.p, 0x11, NP * t_psz);
	ret = pagescan_watch_register(c.p, NP * t_psz, &wo, &c.w);
	if (ret) {
		snprintf(buf, len, "refused: %s", errno_name(-ret));
		res = buf;
		goto out;
	}
	pagescan_watch_get_pages(c.w, c.p, NP * t_psz, pg, NP, &reset);
	if (!c.before)
		t_error("malloc");
	memcpy(c.before, c.p + PG * t_psz, t_psz);
	r->probe(&c);
	if (c.err == -1)	/* the store did not happen: nothing else either */
		res = memcmp(c.before, c.p + PG * t_psz, t_psz) ?
		      "dropped, yet changed" : "dropped";
	else if (c.err == -2)
		res = "n/a";
	else
		res = outcome(&c, buf, len);
	pagescan_watch_unregister(c.w);
out:
	munmap(c.p, NP * t_psz);
	if (c.fd >= 0)
		close(c.fd);
	free(c.before);
	return res;
}

/* The manual's table: rows of tab-separated cells after "Change". */
static char *man_cells(const char *label, int col)
{
	static char *man;
	char *line, *save = NULL, *copy, *out = NULL;
	bool in = false;

	if (!man)
		man = w_slurp(MAN_PATH);
	copy = strdup(man);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Change\t", 7)) {
			in = true;
			if (strcmp(label, "Change"))
				continue;
		}
		if (in && !strcmp(line, ".TE"))
			break;
		if (in && !strncmp(line, label, strlen(label)) &&
		    line[strlen(label)] == '\t') {
			char *cell = line, *tab;
			int k;

			for (k = 0; k < col && cell; k++) {
				tab = strchr(cell, '\t');
				cell = tab ? tab + 1 : NULL;
			}
			if (cell) {
				tab = strchr(cell, '\t');
				out = strndup(cell, tab ? (size_t)(tab - cell) :
					      strlen(cell));
			}
			break;
		}
	}
	free(copy);
	return out;
}

/* A column whose heading ends in '*' is from the kernel's docs. */
static bool docs_column(int col)
{
	char *h = man_cells("Change", col);
	bool docs = h && h[0] && h[strlen(h) - 1] == '*';

	free(h);
	return docs;
}

/* The kernel the manual's table was measured on. */
static bool table_kernel(void)
{
	struct utsname u;

	return !uname(&u) && !strncmp(u.release, "6.18", 4) &&
	       (u.release[4] == '.' || u.release[4] == '-' || !u.release[4]);
}

/*
 * A documented miss, measured as a refusal or as reported on an older or
 * newer kernel: e.g. a forced /proc/PID/mem write under mprotect, which
 * 5.10 makes by copying the page, so that the audit sees the new frame
 * as root (watch_audit.c).
 */
static bool better_than_miss(const char *want, const char *got)
{
	return want && (!strcmp(want, "not seen") || !strcmp(want, "dropped")) &&
	       (!strncmp(got, "refused: ", 9) || !strcmp(got, "reported")) &&
	       !table_kernel();
}

/*
 * The manual's other documented difference of older kernels: uffd-sync
 * registers shmem (a memfd, shared or private) from 5.19 on, EINVAL
 * before.
 */
static bool old_shmem_refusal(const struct row *r,
			      enum pagescan_watch_backend b, const char *got)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (!r->kind || b != PAGESCAN_WATCH_UFFD_SYNC ||
	    strcmp(got, "refused: EINVAL") || uname(&u) ||
	    sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return false;
	return maj < 5 || (maj == 5 && min < 19);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	bool print = getenv("PAGESCAN_TABLE_PRINT");
	char buf[64];
	size_t i;
	int k, nb;

	t_init("watch-table");
	if (access(MAN_PATH, R_OK))
		t_skip("%s not here", MAN_PATH);
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (print)
			printf("%s", rows[i].label);
		for (k = 0; k < nb; k++) {
			const char *got = measure(&rows[i], bs[k], buf,
						  sizeof(buf));
			/* Columns: Change, uffd-async, uffd-sync, soft-dirty, mprotect */
			char *want = man_cells(rows[i].label, (int)bs[k]);

			if (print)
				printf("\t%s=%s", pagescan_watch_backend_name(bs[k]),
				       got);
			/* Not measurable here, or not measured at all. */
			if (!strcmp(got, "n/a") || docs_column((int)bs[k])) {
				free(want);
				continue;
			}
			if (better_than_miss(want, got) ||
			    old_shmem_refusal(&rows[i], bs[k], got)) {
				printf("note: %s, %s: the manual says \"%s\", "
				       "this kernel: %s\n", rows[i].label,
				       pagescan_watch_backend_name(bs[k]), want,
				       got);
				free(want);
				continue;
			}
			t_check(want && !strcmp(want, got), "%s, %s: the manual "
				"says \"%s\", measured \"%s\"", rows[i].label,
				pagescan_watch_backend_name(bs[k]),
				want ? want : "(no row)", got);
			free(want);
		}
		if (print)
			printf("\n");
	}
	t_done();
}
