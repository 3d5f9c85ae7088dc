// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the rules of pagescan_snapshot_take(3), on every
 * write-watch backend this kernel has.  A range munmapped, mremapped or
 * mprotected since take fails the restore with EFAULT and nothing is
 * touched (the scribbles stay), and restores again once the mapping is
 * back as it was; memory mapped again in place is restored whole or
 * refused the same way; guard pages installed since take (MADV_GUARD_INSTALL,
 * 6.13) fail it the same way, and at take; a thread whose stack lies in
 * a range cannot restore it (EBUSY), another thread can; fork: the
 * child's copy fails with ECHILD and frees cleanly, the parent's goes on
 * and does not see the child's writes, and memory the child maps where
 * the parent's copy was is the child's to snapshot, also after a raw
 * fork system call, which runs no pthread_atfork() handler; racing writer threads, stopped
 * for each restore, never leave a byte different; free leaves no fd,
 * thread, mapping or signal handler behind.
 */
#include "snapshot-common.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

#define NP 64

#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif

static char *fresh(size_t np)
{
	char *p = t_map(np * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	size_t i;

	madvise(p, np * t_psz, MADV_NOHUGEPAGE);
	for (i = 0; i < np; i += 3)
		memset(p + i * t_psz, (int)i + 1, t_psz);
	return p;
}

static void expect_efault(struct pagescan_snapshot *s, char *p,
			  const char *what)
{
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	int ret;

	p[10 * t_psz] = 'X';
	ret = pagescan_snapshot_restore(s, &st);
	t_check(ret == -EFAULT, "%s: restore: %s", what, strerror(-ret));
	t_check(p[10 * t_psz] == 'X', "%s: a failed restore touched memory",
		what);
	t_check(pagescan_last_error() != NULL, "%s: no message", what);
	ret = pagescan_snapshot_update(s, NULL);
	t_check(ret == -EFAULT, "%s: update: %s", what, strerror(-ret));
}

static void mappings(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char what[64], *p = fresh(NP), *q;

	s_ref_take(&ref, p, NP * t_psz, true);
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), 0);

	/*
	 * mprotect (not under the mprotect and soft-dirty backends: they
	 * own PROT_WRITE, pagescan_snapshot_take(3)).
	 */
	if (b != PAGESCAN_WATCH_MPROTECT && b != PAGESCAN_WATCH_SOFT_DIRTY) {
		snprintf(what, sizeof(what), "%s mprotect", name);
		mprotect(p + 20 * t_psz, t_psz, PROT_READ);
		expect_efault(s, p, what);
		mprotect(p + 20 * t_psz, t_psz, PROT_READ | PROT_WRITE);
		s_restore(s, what);
		s_ref_check(&ref, what, NULL);
	}

	/* mremap away: a hole where the range was. */
	snprintf(what, sizeof(what), "%s mremap", name);
	q = mremap(p + 30 * t_psz, 2 * t_psz, 2 * t_psz,
		   MREMAP_MAYMOVE | MREMAP_FIXED,
		   t_map(2 * t_psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS));
	if (q == MAP_FAILED)
		t_error("mremap");
	expect_efault(s, p, what);
	/* Back in place: mapped as before, but the watch cannot follow. */
	if (mremap(q, 2 * t_psz, 2 * t_psz, MREMAP_MAYMOVE | MREMAP_FIXED,
		   p + 30 * t_psz) == MAP_FAILED)
		t_error("mremap back");

	/* munmap */
	snprintf(what, sizeof(what), "%s munmap", name);
	munmap(p + 40 * t_psz, t_psz);
	expect_efault(s, p, what);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, NP * t_psz);
}

/*
 * One of several ranges munmapped and mapped again in place (same size,
 * same protection, so the mapping check sees what it saw at take), then
 * written, or mprotect()ed writable again by the program.  mprotect
 * restored nothing of it and said 0 as nobody: the new memory is
 * writable and faults on no store.  Either every byte comes back, or
 * the restore fails with EFAULT and leaves memory alone; and the error
 * names the right range when its neighbours are fine (uffd-async checks
 * neighbouring ranges in one scan).
 */
#define NR 6
static void remapped(enum pagescan_watch_backend b, int victim, bool mmap_again)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .backend = b);
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	size_t step = (NP + 1) * t_psz, len = NR * step;
	struct pagescan_range r[NR];
	struct pagescan_snapshot *s;
	struct s_ref ref[NR];
	char what[96], at[32], *p, *v;
	const char *msg;
	int i, ret;

	snprintf(what, sizeof(what), "%s, range %d of %d %s",
		 pagescan_watch_backend_name(b), victim, NR,
		 mmap_again ? "mapped again" : "mprotect()ed writable");
	p = t_map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	memset(p, 0x5a, len);
	for (i = 0; i < NR; i++) {
		if (mprotect(p + i * step + NP * t_psz, t_psz, PROT_NONE))
			t_error("mprotect");
		r[i].addr = p + i * step;
		r[i].len = NP * t_psz;
		s_ref_take(&ref[i], r[i].addr, r[i].len, true);
	}
	ret = pagescan_snapshot_take(r, NR, &o, &s);
	t_check(!ret, "%s: take: %s", what, strerror(-ret));
	if (ret)
		goto out;
	v = p + victim * step;
	if (mmap_again) {
		if (munmap(v, NP * t_psz) ||
		    mmap(v, NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_FIXED, -1, 0) != v)
			t_error("%s: map again", what);
	} else if (mprotect(v, NP * t_psz, PROT_READ | PROT_WRITE)) {
		t_error("%s: mprotect", what);
	}
	memset(v, 0x77, NP * t_psz);
	ret = pagescan_snapshot_restore(s, &st);
	if (ret == -EFAULT) {
		msg = pagescan_last_error();
		snprintf(at, sizeof(at), "%#lx-", (unsigned long)(uintptr_t)v);
		t_check(msg && strstr(msg, at), "%s: the error names another "
			"range: %s", what, msg ? msg : "(none)");
		t_check(v[0] == 0x77 && v[NP * t_psz - 1] == 0x77,
			"%s: a failed restore touched memory", what);
		printf("%s: refused (EFAULT): %s\n", what, msg ? msg : "");
	} else {
		t_check(ret == 0, "%s: restore: %s (%s)", what, strerror(-ret),
			pagescan_last_error() ? pagescan_last_error() : "");
		for (i = 0; i < NR; i++)
			t_check(!s_ref_check(&ref[i], what, NULL),
				"%s: restore said %d, and range %d differs",
				what, ret, i);
		/* Tracked again: a later store, and an update, are seen. */
		memset(v + t_psz, 0x66, t_psz);
		s_restore(s, what);
		t_check(!s_ref_check(&ref[victim], what, NULL),
			"%s: a store after the restore was not restored", what);
		memset(v, 0x55, NP * t_psz);
		t_eq(pagescan_snapshot_update(s, NULL), 0);
		memset(v + 2 * t_psz, 0x44, 3 * t_psz);
		s_restore(s, what);
		t_check(v[2 * t_psz] == 0x55 && v[NP * t_psz - 1] == 0x55,
			"%s: restore after an update: %02x, not 55", what,
			(unsigned char)v[2 * t_psz]);
		printf("%s: restored, then tracked\n", what);
	}
	pagescan_snapshot_free(s);
out:
	for (i = 0; i < NR; i++)
		s_ref_free(&ref[i]);
	munmap(p, len);
}

/*
 * mlock(2) after take, every page written: the restore's MADV_DONTNEED
 * of the pages unpopulated at take failed with EINVAL, half way, the
 * populated ones put back and the others not.  Under soft-dirty the
 * pages it emptied held a zeroed page again after it (its re-arm thaws
 * the range with mprotect(2), which faults a locked private mapping in:
 * all 42 in the 6.12 guest, the bytes right; the check stops at the
 * first, and de470b0 had counted only differing bytes there).
 */
static void locked(enum pagescan_watch_backend b)
{
	char what[64], *p = fresh(NP);
	struct pagescan_snapshot *s;
	struct s_ref ref;

	snprintf(what, sizeof(what), "%s, mlock after take",
		 pagescan_watch_backend_name(b));
	s_ref_take(&ref, p, NP * t_psz, true);
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), 0);
	if (mlock(p, NP * t_psz)) {
		printf("%s: mlock: %s\n", what, strerror(errno));
	} else {
		size_t bad;

		/*
		 * Before MADV_DONTNEED_LOCKED (5.18) locked anonymous pages
		 * are zeroed, not emptied (the manual): only their bytes.
		 */
		char *q = t_map(t_psz, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
		bool emptied = !madvise(q, t_psz, 24 /* DONTNEED_LOCKED */);

		munmap(q, t_psz);
		memset(p, 0x3c, NP * t_psz);
		s_restore(s, what);
		if (!emptied) {
			size_t k;

			for (k = bad = 0; k < NP; k++)
				bad += !!memcmp(p + k * t_psz,
						ref.data + k * t_psz, t_psz);
		} else {
			bad = s_ref_check(&ref, what, NULL);
		}
		t_check(!bad, "%s: differs", what);
		munlock(p, NP * t_psz);
		printf("%s: restored\n", what);
	}
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, NP * t_psz);
}

/*
 * A timer's handler in the restoring thread writes the range while
 * restores run (a fuzzer's timeout): once it stops, a clean restore must
 * leave every byte as at take.  A write between the restore's gather and
 * its re-arm stayed through every later restore (uffd-async 530, uffd-
 * sync 241 of 2,000).
 */
#define SIG_NP 2048
static char *sig_p;
static volatile unsigned char sig_val;
static volatile unsigned int sig_calls;

static void sig_write(int sig)
{
	size_t i;

	(void)sig;
	sig_calls++;
	for (i = 0; i < SIG_NP; i += 97)
		sig_p[i * t_psz + 5] = (char)sig_val;
}

/* Fewer under TCG (tests/vm/init). */
static int sig_rounds = 300;

static void handler_writes(enum pagescan_watch_backend b)
{
	struct itimerval on = { { 0, 20 }, { 0, 20 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = sig_write }, old;
	size_t len = SIG_NP * t_psz, i;
	struct pagescan_snapshot *s;
	int it, bad = 0, ret;
	char what[64], *ref;

	snprintf(what, sizeof(what), "%s, a handler writing during restores",
		 pagescan_watch_backend_name(b));
#ifdef T_TSAN
	/*
	 * ThreadSanitizer runs an asynchronous handler at points of its own;
	 * one that faults there on a page mprotect armed dies in its
	 * runtime (exit 139 in the tsan lane).
	 */
	if (b == PAGESCAN_WATCH_MPROTECT) {
		printf("%s: not under ThreadSanitizer\n", what);
		return;
	}
#endif
	sig_p = t_map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	memset(sig_p, 0x11, len);
	ref = malloc(len);
	if (!ref)
		t_error("malloc");
	memcpy(ref, sig_p, len);
	t_eq(s_take1(sig_p, len, b, 0, &s), 0);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, &old);
	for (it = 0; it < sig_rounds && bad < 3; it++) {
		for (i = 0; i < SIG_NP; i += 3)
			sig_p[i * t_psz] = (char)it;
		sig_val = (unsigned char)(0x80 | it);
		setitimer(ITIMER_REAL, &on, NULL);
		ret = pagescan_snapshot_restore(s, NULL);
		setitimer(ITIMER_REAL, &off, NULL);
		t_check(!ret, "%s: restore %d", what, ret);
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret || memcmp(sig_p, ref, len)) {
			t_fail("%s: round %d: %d, and different after a clean "
			       "restore", what, it, ret);
			memcpy(sig_p, ref, len);
			bad++;
		}
	}
	sigaction(SIGALRM, &old, NULL);
	printf("%s: %d rounds, %u signals, %d left different\n", what, it,
	       sig_calls, bad);
	pagescan_snapshot_free(s);
	free(ref);
	munmap(sig_p, len);
}

static void guards(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char *p = fresh(NP);

	if (pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) != 1) {
		printf("guard regions: not on this kernel (6.13)\n");
		munmap(p, NP * t_psz);
		return;
	}
	s_ref_take(&ref, p, NP * t_psz, true);
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), 0);
	p[5 * t_psz] = 1;
	if (madvise(p + 12 * t_psz, 2 * t_psz, MADV_GUARD_INSTALL))
		t_error("MADV_GUARD_INSTALL");
	expect_efault(s, p, name);
	t_check(p[5 * t_psz] == 1, "%s: touched before the guard check", name);
	madvise(p + 12 * t_psz, 2 * t_psz, MADV_GUARD_REMOVE);
	/* Seen before the failure: kept, restored now. */
	s_restore(s, name);
	s_ref_check(&ref, name, NULL);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);

	/* Guard pages at take: refused. */
	madvise(p + 12 * t_psz, t_psz, MADV_GUARD_INSTALL);
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), -EFAULT);
	munmap(p, NP * t_psz);
}

/* ---- a thread whose stack is in the range ---- */

struct stk {
	struct pagescan_snapshot *s;
	int ret;
};

static void *restore_thread(void *arg)
{
	struct stk *k = arg;

	k->ret = pagescan_snapshot_restore(k->s, NULL);
	return NULL;
}

static void stacks(enum pagescan_watch_backend b)
{
	size_t len = 256 * t_psz;	/* ThreadSanitizer wants 900 KiB */
	char *stack = t_map(len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);
	struct stk k = { 0 };
	pthread_attr_t a;
	pthread_t th;

	/*
	 * Under mprotect a thread cannot run on a read-only stack (the
	 * kernel cannot push the SIGSEGV frame): not with that backend.
	 */
	if (b == PAGESCAN_WATCH_MPROTECT) {
		munmap(stack, len);
		return;
	}
	/* Another thread's stack may be snapshotted (it is not running). */
	t_eq(s_take1(stack, len, b, 0, &k.s), 0);
	pthread_attr_init(&a);
	pthread_attr_setstack(&a, stack, len);
	if (pthread_create(&th, &a, restore_thread, &k))
		t_error("pthread_create");
	pthread_join(th, NULL);
	t_check(k.ret == -EBUSY, "%s: restore on its own stack: %s",
		pagescan_watch_backend_name(b), strerror(-k.ret));
	t_eq(pagescan_snapshot_restore(k.s, NULL), 0);
	pagescan_snapshot_free(k.s);
	pthread_attr_destroy(&a);
	munmap(stack, len);
}

/* ---- fork ---- */

/* The parent's copy of a range of @len: its only MADV_DONTFORK mapping of that size. */
static char *dontfork_at(size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long a = 0, b = 0, found = 0;
	char line[512];

	if (!f)
		t_error("smaps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long x, y;

		if (sscanf(line, "%lx-%lx ", &x, &y) == 2) {
			a = x;
			b = y;
		} else if (!strncmp(line, "VmFlags:", 8) &&
			   strstr(line, " dc") && b - a == len) {
			found = a;
		}
	}
	fclose(f);
	return (char *)found;
}

/*
 * The child maps memory of its own where the parent's copy was (it is
 * not inherited) and snapshots it: that memory is the child's, not the
 * library's (it was refused with EBUSY, and a whole-process snapshot of
 * the child left it out: restore then left the child's writes there).
 */
static int child_where_copy_was(char *at, enum pagescan_watch_backend b)
{
	struct pagescan_snapshot *c;
	char *m;
	int ret;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* A thread in the child of a multi-threaded fork: see watch-fds. */
	if (b == PAGESCAN_WATCH_UFFD_SYNC)
		b = PAGESCAN_WATCH_MPROTECT;
#endif
	m = mmap(at, NP * t_psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != at)
		return 20;
	memset(m, 'A', NP * t_psz);
	ret = s_take1(m, NP * t_psz, b, 0, &c);
	if (ret) {
		printf("child: take of its memory where the parent's copy "
		       "was: %d %s\n", ret, pagescan_last_error());
		return 21;
	}
	memset(m + t_psz, 'B', 10);
	ret = pagescan_snapshot_restore(c, NULL);
	pagescan_snapshot_free(c);
	if (ret || m[t_psz] != 'A')
		return 22;
	return 0;
}

/*
 * @raw: the fork(2) system call itself, as programs that call it or
 * clone(2) directly make it: no pthread_atfork() handler runs, and the
 * library must still know the child for one (ps_proc_id()).
 */
static void forks(enum pagescan_watch_backend b, bool raw)
{
	char name[64];
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char *p = fresh(NP), *copy;
	int status;
	pid_t pid;

	snprintf(name, sizeof(name), "%s%s", pagescan_watch_backend_name(b),
		 raw ? ", raw fork" : "");
	s_ref_take(&ref, p, NP * t_psz, true);
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), 0);
	p[0] = 'p';
	copy = dontfork_at(NP * t_psz);
	pid = raw ? (pid_t)syscall(SYS_fork) : fork();
	if (pid < 0)
		t_error("fork");
	if (!pid) {
		int r1, r2;

		memset(p, 'c', 8 * t_psz);
		r1 = pagescan_snapshot_restore(s, NULL);
		r2 = pagescan_snapshot_changed(s, NULL, NULL);
		pagescan_snapshot_free(s);
		if (r1 != -ECHILD || r2 != -EINVAL || p[0] != 'c')
			_exit(1);
		/* The copy's record went with the free: no page left. */
		if (copy && (!msync(copy + NP * t_psz, t_psz, MS_ASYNC) ||
			     errno != ENOMEM))
			_exit(2);
		/* No thread in the child of a raw fork: glibc's state. */
		if (raw && b == PAGESCAN_WATCH_UFFD_SYNC)
			b = PAGESCAN_WATCH_MPROTECT;
		_exit(copy ? child_where_copy_was(copy, b) : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid");
	t_check(WIFEXITED(status) && !WEXITSTATUS(status),
		"%s: in the child: status %#x (1: restore did not fail with "
		"ECHILD; 2: the copy's record left mapped; 20-22: its memory "
		"where the copy was)", name, status);
	t_check(copy, "%s: the parent's copy not found in smaps", name);
	t_check(p[0] == 'p' && p[3 * t_psz] != 'c', "%s: the child's writes "
		"reached the parent", name);
	s_restore(s, name);
	s_ref_check(&ref, name, NULL);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, NP * t_psz);
}

/* ---- racing writers, stopped for each restore ---- */

struct racer {
	char *p;
	size_t len;
	pthread_mutex_t m;
	pthread_cond_t c;
	int want;		/* 0 stop, 1 run, 2 exit */
	int state;		/* 0 stopped, 1 running */
	uint64_t seed;
};

T_RACY static void *racer(void *arg)
{
	struct racer *r = arg;
	int i;

	for (;;) {
		pthread_mutex_lock(&r->m);
		if (r->want != 1) {
			r->state = 0;
			pthread_cond_broadcast(&r->c);
			while (r->want == 0)
				pthread_cond_wait(&r->c, &r->m);
			if (r->want == 2) {
				pthread_mutex_unlock(&r->m);
				return NULL;
			}
			r->state = 1;
		}
		pthread_mutex_unlock(&r->m);
		for (i = 0; i < 64; i++) {
			size_t o = s_rand(&r->seed) % r->len;

			if (s_rand(&r->seed) % 64 == 0)
				madvise(r->p + (o & ~(t_psz - 1)), t_psz,
					MADV_DONTNEED);
			else
				r->p[o] = (char)s_rand(&r->seed);
		}
	}
}

static void racer_set(struct racer *r, int want)
{
	pthread_mutex_lock(&r->m);
	r->want = want;
	pthread_cond_broadcast(&r->c);
	while (want == 0 && r->state != 0)
		pthread_cond_wait(&r->c, &r->m);
	pthread_mutex_unlock(&r->m);
}

static void racing(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	struct racer r[2];
	pthread_t th[2];
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char *p = fresh(NP);
	int i, k;

	for (k = 0; k < 2; k++) {
		r[k] = (struct racer){ .p = p, .len = NP * t_psz, .want = 1,
				       .state = 1, .seed = 77 + (uint64_t)k };
		pthread_mutex_init(&r[k].m, NULL);
		pthread_cond_init(&r[k].c, NULL);
		if (pthread_create(&th[k], NULL, racer, &r[k]))
			t_error("pthread_create");
	}
	/* Take while they run: allowed.  The reference is what restores. */
	t_eq(s_take1(p, NP * t_psz, b, 0, &s), 0);
	for (k = 0; k < 2; k++)
		racer_set(&r[k], 0);
	s_restore(s, name);
	s_ref_take(&ref, p, NP * t_psz, true);
	for (i = 0; i < 200; i++) {
		for (k = 0; k < 2; k++)
			racer_set(&r[k], 1);
		usleep(200);
		for (k = 0; k < 2; k++)
			racer_set(&r[k], 0);
		if (s_restore(s, name) == UINT64_MAX ||
		    s_ref_check(&ref, name, NULL))
			break;
	}
	for (k = 0; k < 2; k++) {
		racer_set(&r[k], 2);
		pthread_join(th[k], NULL);
	}
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, NP * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	struct w_state st;
	const char *env;
	char *probe;
	int n, i;

	t_init("snapshot-rules");
	env = getenv("SNAPSHOT_SIG_ROUNDS");
	if (env && atoi(env) > 0)
		sig_rounds = atoi(env);
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	probe = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS);
	for (i = 0; i < n; i++) {
		struct pagescan_snapshot *s;

		/* Free leaves the process as it found it. */
		w_state_get(&st, probe, 4 * t_psz);
		t_eq(s_take1(probe, 4 * t_psz, bs[i], 0, &s), 0);
		pagescan_snapshot_free(s);
		w_state_check(&st, probe, 4 * t_psz,
			      pagescan_watch_backend_name(bs[i]));
		free(st.maps);

		mappings(bs[i]);
		locked(bs[i]);
		handler_writes(bs[i]);
		remapped(bs[i], 0, true);
		remapped(bs[i], NR / 2, true);
		remapped(bs[i], NR - 1, true);
		if (bs[i] != PAGESCAN_WATCH_MPROTECT &&
		    bs[i] != PAGESCAN_WATCH_SOFT_DIRTY)
			remapped(bs[i], NR / 2, false);
		guards(bs[i]);
		stacks(bs[i]);
		forks(bs[i], false);
#ifdef T_TSAN
		/*
		 * ThreadSanitizer follows fork(2), not the system call: in
		 * such a child it still sees the parent's uffd-sync handler
		 * thread, and reports the free's read of its state as a race.
		 */
		if (bs[i] == PAGESCAN_WATCH_UFFD_SYNC)
			printf("uffd-sync, raw fork: not under "
			       "ThreadSanitizer\n");
		else
#endif
			forks(bs[i], true);
		racing(bs[i]);
	}
	t_done();
}
