// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the fault core's signal semantics (pagescan_watch(3),
 * SIGNALS), under the mprotect backend, each case in a child process so
 * that a death or a hang is seen by the parent:
 *  - an application signal whose handler writes watched memory, sent
 *    again and again while the main thread writes watched pages: no death,
 *    no deadlock, every write reported;
 *  - a SIGSEGV sent with kill()/raise() is never taken for a tracking
 *    fault: it reaches the previous disposition as the kernel would
 *    deliver it (SIG_IGN ignores it, SIG_DFL kills, a handler runs with
 *    its sa_mask and the signal blocked, SA_NODEFER and SA_RESETHAND are
 *    honoured), and tracking goes on; two sent while a handler without
 *    SA_NODEFER holds a lock: the second waits for the first to return
 *    (it nested and spun on the lock when forwarded with SIGSEGV
 *    unblocked);
 *  - a real fault outside any watch reaches the previous handler (which
 *    may siglongjmp out, again and again), or kills under SIG_DFL;
 *  - that handler, without SA_NODEFER, writes watched memory (a GC's
 *    barrier handler that logs to a watched card table): no death, the
 *    write reported (for a fault the library leaves SIGSEGV unblocked);
 *  - on an alternate signal stack, a previous handler that siglongjmp()s
 *    out, then an application handler stacked on ours that chains to it,
 *    then a foreign fault: it reaches the previous handler (the stale
 *    state of the first forward took it for a call back: SIG_DFL, death);
 *  - an application handler stacked on ours that chains to its previous
 *    (ours), then unregister all and register again, then a foreign
 *    SIGSEGV: no endless recursion;
 *  - a handler on top of ours that owns some faults (siglongjmp out),
 *    then unregister all and register again: it stays on top and still
 *    gets its faults (ours took the top back and sent them to SIG_DFL);
 *  - the storm again through such a stacked handler (SA_NODEFER, empty
 *    sa_mask): ours is then called with the application's mask, and must
 *    block every signal itself before it takes an arm lock, or a signal
 *    whose handler writes watched memory spins on the lock it holds.
 */
#include "watch-common.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NP 32

static char *wp;		/* the watched range */
static struct pagescan_watch *ww;

static void w_open(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = PAGESCAN_WATCH_MPROTECT);

	wp = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(wp, NP * t_psz);
	if (pagescan_watch_register(wp, NP * t_psz, &wo, &ww))
		_exit(90);
}

/* The written pages of the watch, as a bitmap; with reset. */
static uint64_t w_take(void)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region r[NP];
	uint64_t m = 0, a;
	int n, i;

	n = pagescan_watch_get_regions(ww, wp, NP * t_psz, r, NP, &go);
	if (n < 0)
		_exit(91);
	for (i = 0; i < n; i++)
		for (a = r[i].start; a < r[i].end; a += t_psz)
			m |= UINT64_C(1) << ((a - (uintptr_t)wp) / t_psz);
	return m;
}

static void set(int sig, void (*h)(int), void (*sa)(int, siginfo_t *, void *),
		int flags, int masked)
{
	struct sigaction s = { .sa_flags = flags };

	if (sa) {
		s.sa_sigaction = sa;
		s.sa_flags |= SA_SIGINFO;
	} else {
		s.sa_handler = h;
	}
	sigemptyset(&s.sa_mask);
	if (masked)
		sigaddset(&s.sa_mask, masked);
	if (sigaction(sig, &s, NULL))
		_exit(92);
}

static bool blocked(int sig)
{
	sigset_t m;

	pthread_sigmask(SIG_BLOCK, NULL, &m);
	return sigismember(&m, sig);
}

static void expect_segv(const char *what, int st)
{
	t_check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		"%s: child %s %d, expected death by SIGSEGV", what,
		WIFEXITED(st) ? "exited" : "died of",
		WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		printf("%s: killed by SIGSEGV, as without the library\n", what);
}

/* ---- an application signal handler writing watched memory ---- */

static _Atomic uint64_t h_wrote;
static _Atomic unsigned int h_next;
static _Atomic int h_stop;
static _Atomic unsigned long h_runs;

static void usr1(int sig)
{
	unsigned int k = atomic_fetch_add(&h_next, 1) % (NP / 2);

	/* The upper half is the handler's; the main thread writes the lower. */
	wp[(NP / 2 + k) * t_psz + 8] = 1;
	atomic_fetch_or(&h_wrote, UINT64_C(1) << (NP / 2 + k));
	atomic_fetch_add(&h_runs, 1);
}

static void *hammer(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;

	unsigned long seen;

	/*
	 * One signal in flight at a time: the next is sent as soon as the
	 * handler has run, so one lands at every point of the main thread's
	 * writes and gets.  Sending without waiting livelocked the main
	 * thread under qemu's TCG (6.1 guest): a new signal was pending at
	 * every return from the handler, so the writes never went on.
	 */
	while (!atomic_load(&h_stop)) {
		seen = atomic_load(&h_runs);
		pthread_kill(main_thread, SIGUSR1);
		while (atomic_load(&h_runs) == seen && !atomic_load(&h_stop))
			;	/* spin: a yield lets a busy host starve us */
	}
	return NULL;
}

static void stack_app_handler(void);

static int storm_run(bool stack)
{
	pthread_t me = pthread_self(), th;
	uint64_t wrote, got;
	sigset_t u;
	struct timespec t0, t;
	int round, i;

	w_open();
	if (stack)
		stack_app_handler();
	set(SIGUSR1, usr1, NULL, SA_RESTART, 0);
	sigemptyset(&u);
	sigaddset(&u, SIGUSR1);
	if (pthread_create(&th, NULL, hammer, &me))
		_exit(93);
	/*
	 * 3,000 rounds take 2 s here but minutes under qemu's TCG, where
	 * every fault and signal costs a millisecond: past 30 s (and 300
	 * rounds, some 5,000 handler runs) the storm has made its point.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < 3000; round++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (round >= 300 && t.tv_sec - t0.tv_sec > 30)
			break;
		wrote = 0;
		for (i = 0; i < NP / 2; i++) {
			wp[i * t_psz] = (char)round;
			wrote |= UINT64_C(1) << i;
		}
		/* No handler from here to the get: what it recorded is done. */
		pthread_sigmask(SIG_BLOCK, &u, NULL);
		wrote |= atomic_exchange(&h_wrote, 0);
		got = w_take();
		pthread_sigmask(SIG_UNBLOCK, &u, NULL);
		if ((got & wrote) != wrote) {
			printf("round %d: wrote %#" PRIx64 ", reported %#"
			       PRIx64 "\n", round, wrote, got);
			_exit(1);
		}
	}
	atomic_store(&h_stop, 1);
	pthread_join(th, NULL);
	printf("storm%s: %d rounds, %lu handler runs, every write reported\n",
	       stack ? " through a stacked handler" : "", round,
	       atomic_load(&h_runs));
	_exit(pagescan_watch_unregister(ww) ? 2 : 0);
}

static int storm(void)
{
	return storm_run(false);
}

static int storm_stacked(void)
{
	return storm_run(true);
}

/* ---- foreign SIGSEGVs ---- */

static _Atomic int calls;
static bool bad_mask;

static void plain(int sig)
{
	atomic_fetch_add(&calls, 1);
	/* SA_NODEFER: the signal is not blocked inside. */
	if (blocked(SIGSEGV))
		bad_mask = true;
}

static void info(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(&calls, 1);
	/* A sent one: its sa_mask and SIGSEGV blocked, as the kernel does. */
	if (si->si_code > 0 || !blocked(SIGSEGV) || !blocked(SIGUSR2))
		bad_mask = true;
}

/* A tracked write after the foreign signal: still tracked. */
static void tracked_write_checked(int code)
{
	wp[3 * t_psz] = 1;
	if (w_take() != UINT64_C(1) << 3)
		_exit(code);
}

static int sent_ignored(void)
{
	set(SIGSEGV, SIG_IGN, NULL, 0, 0);
	w_open();
	kill(getpid(), SIGSEGV);
	raise(SIGSEGV);
	tracked_write_checked(3);
	return 0;
}

static int sent_default(void)
{
	set(SIGSEGV, SIG_DFL, NULL, 0, 0);	/* not a sanitizer's */
	w_open();
	kill(getpid(), SIGSEGV);
	_exit(3);		/* the kernel would have killed us */
}

static int sent_info_resethand(void)
{
	set(SIGSEGV, NULL, info, SA_RESETHAND, SIGUSR2);
	w_open();
	raise(SIGSEGV);
	if (calls != 1 || bad_mask)
		_exit(3);
	tracked_write_checked(4);
	raise(SIGSEGV);		/* reset to SIG_DFL: kills */
	_exit(5);
}

static int sent_plain_nodefer(void)
{
	set(SIGSEGV, plain, NULL, SA_NODEFER, 0);
	w_open();
	kill(getpid(), SIGSEGV);
	tracked_write_checked(3);
	raise(SIGSEGV);
	if (calls != 2 || bad_mask)
		_exit(4);
	tracked_write_checked(5);
	return 0;
}

/* Holds a lock that is not reentrant for 1 ms. */
static _Atomic int h_lock, h_depth, h_max;

static void slow_locked(int sig, siginfo_t *si, void *uc)
{
	struct timespec t0, t;
	int z = 0, d = atomic_fetch_add(&h_depth, 1) + 1;

	if (d > atomic_load(&h_max))
		atomic_store(&h_max, d);
	atomic_fetch_add(&calls, 1);
	while (!atomic_compare_exchange_weak(&h_lock, &z, 1))
		z = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L +
	       (t.tv_nsec - t0.tv_nsec) < 1000000);
	atomic_store(&h_lock, 0);
	atomic_fetch_sub(&h_depth, 1);
}

static pid_t main_tid;

/*
 * The second once the handler runs: two SIGSEGVs pending at once are one
 * (not queued), which a loaded host made happen with a fixed 100 us gap.
 * The handler holds its lock for 1 ms, so the second still comes while
 * it runs, nearly always.
 */
static void *send_two(void *arg)
{
	int i;

	(void)arg;
	syscall(SYS_tgkill, getpid(), main_tid, SIGSEGV);
	for (i = 0; i < 100000 && !atomic_load(&calls); i++)
		usleep(10);
	syscall(SYS_tgkill, getpid(), main_tid, SIGSEGV);
	return NULL;
}

static int sent_deferred(void)
{
	struct timespec t0, t;
	pthread_t th;

	set(SIGSEGV, NULL, slow_locked, 0, 0);	/* no SA_NODEFER */
	w_open();
	main_tid = (pid_t)syscall(SYS_gettid);
	if (pthread_create(&th, NULL, send_two, NULL))
		_exit(93);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (t.tv_sec - t0.tv_sec < 1 && atomic_load(&calls) < 2);
	if (atomic_load(&calls) != 2 || atomic_load(&h_max) != 1)
		_exit(3);
	tracked_write_checked(4);
	return 0;
}

static sigjmp_buf jb;
static void *fault_addr;

static void jumper(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(&calls, 1);
	fault_addr = si->si_addr;
	if (si->si_code != SEGV_ACCERR)
		_exit(10);
	siglongjmp(jb, 1);
}

static int real_fault_handler(void)
{
	volatile char *ro;
	int i;

	set(SIGSEGV, NULL, jumper, 0, 0);
	w_open();
	ro = t_map(t_psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	for (i = 0; i < 5; i++) {
		if (!sigsetjmp(jb, 1))
			ro[0] = 1;
		if (fault_addr != ro)
			_exit(3);
		tracked_write_checked(4);
	}
	return calls != 5 ? 5 : 0;
}

/* A GC's barrier: its own read-only page, and a log in watched memory. */
static volatile char *barrier_page;

static void barrier(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(&calls, 1);
	if (si->si_addr != (void *)barrier_page)
		_exit(10);
	wp[5 * t_psz + calls] = 1;	/* faults into the library's handler */
	if (mprotect((void *)barrier_page, t_psz, PROT_READ | PROT_WRITE))
		_exit(11);
}

static int real_fault_handler_writes(void)
{
	int i;

	set(SIGSEGV, NULL, barrier, 0, 0);	/* no SA_NODEFER */
	w_open();
	barrier_page = t_map(t_psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	for (i = 0; i < 5; i++) {
		barrier_page[0] = 1;
		if (calls != i + 1)
			_exit(3);
		if (w_take() != UINT64_C(1) << 5)
			_exit(4);
		mprotect((void *)barrier_page, t_psz, PROT_READ);
	}
	tracked_write_checked(5);
	return 0;
}

static int real_fault_default(void)
{
	volatile char *ro;

	set(SIGSEGV, SIG_DFL, NULL, 0, 0);
	w_open();
	ro = t_map(t_psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	ro[0] = 1;
	_exit(3);
}

/* ---- an application handler stacked on ours ---- */

static struct sigaction app_prev;

static void app_handler(int sig, siginfo_t *si, void *uc)
{
	/* Chains to what it found: ours. */
	if (app_prev.sa_flags & SA_SIGINFO)
		app_prev.sa_sigaction(sig, si, uc);
	else if (app_prev.sa_handler != SIG_DFL &&
		 app_prev.sa_handler != SIG_IGN)
		app_prev.sa_handler(sig);
}

static void base(int sig)
{
	atomic_fetch_add(&calls, 1);
}

static void jump_out(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(&calls, 1);
	siglongjmp(jb, 1);
}

static _Atomic int chained;

static void stack_chain(int sig, siginfo_t *si, void *uc)
{
	app_prev.sa_sigaction(sig, si, uc);
	atomic_fetch_add(&chained, 1);	/* a frame of its own: no tail call */
}

/* A fault (SEGV_MAPERR), left by siglongjmp from the handler. */
static char *volatile nowhere = (char *)16;

static __attribute__((noinline)) void fault_and_jump(void)
{
	if (!sigsetjmp(jb, 1))
		*(volatile char *)nowhere = 1;
}

static int altstack_jump_then_stacked(void)
{
	stack_t ss = { .ss_size = 1 << 16 };
	struct sigaction s = { .sa_sigaction = stack_chain,
			       .sa_flags = SA_SIGINFO | SA_ONSTACK };

	ss.ss_sp = malloc(ss.ss_size);
	if (!ss.ss_sp || sigaltstack(&ss, NULL))
		_exit(93);
	set(SIGSEGV, NULL, jump_out, SA_ONSTACK, 0);
	w_open();
	fault_and_jump();
	sigemptyset(&s.sa_mask);
	if (sigaction(SIGSEGV, &s, &app_prev))
		_exit(94);
	fault_and_jump();	/* through the stacked handler, then ours */
	if (calls != 2)
		_exit(3);
	tracked_write_checked(4);
	return 0;
}

static void stack_nodefer(int sig, siginfo_t *si, void *uc)
{
	app_prev.sa_sigaction(sig, si, uc);
}

/* On top of ours: SA_NODEFER, nothing in sa_mask, chaining to ours. */
static void stack_app_handler(void)
{
	struct sigaction s = { .sa_sigaction = stack_nodefer,
			       .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&s.sa_mask);
	if (sigaction(SIGSEGV, &s, &app_prev) ||
	    !(app_prev.sa_flags & SA_SIGINFO))
		_exit(94);
}

static int stacked(void)
{
	struct sigaction s = { .sa_sigaction = app_handler,
			       .sa_flags = SA_SIGINFO };

	set(SIGSEGV, base, NULL, 0, 0);
	w_open();
	sigemptyset(&s.sa_mask);
	sigaction(SIGSEGV, &s, &app_prev);
	tracked_write_checked(3);	/* through the application's handler */
	pagescan_watch_unregister(ww);
	munmap(wp, NP * t_psz);
	w_open();			/* register again */
	tracked_write_checked(4);
	raise(SIGSEGV);
	if (calls != 1)
		_exit(5);
	tracked_write_checked(6);
	pagescan_watch_unregister(ww);
	raise(SIGSEGV);
	return calls != 2 ? 7 : 0;
}

/*
 * A JVM-like handler on top of ours: it owns its faults (a null check:
 * siglongjmp out) and chains the rest.  Unregister every watch, register
 * again: the second register put ours back on top, and forwarded the
 * application's own faults to our previous disposition, SIG_DFL: death.
 * SIG_DFL put back over ours is replaced again, and tracking goes on.
 */
static void owns_null(int sig, siginfo_t *si, void *uc)
{
	if (si->si_addr == (void *)nowhere)
		siglongjmp(jb, 1);
	app_prev.sa_sigaction(sig, si, uc);
}

static int null_owned(void)
{
	if (!sigsetjmp(jb, 1)) {
		*(volatile char *)nowhere = 1;
		return 0;
	}
	return 1;
}

static int stacked_owner(void)
{
	struct sigaction s = { .sa_sigaction = owns_null,
			       .sa_flags = SA_SIGINFO | SA_NODEFER }, cur;

	set(SIGSEGV, SIG_DFL, NULL, 0, 0);
	w_open();
	sigemptyset(&s.sa_mask);
	if (sigaction(SIGSEGV, &s, &app_prev) ||
	    !(app_prev.sa_flags & SA_SIGINFO))
		_exit(94);
	if (!null_owned())
		return 3;
	tracked_write_checked(4);
	pagescan_watch_unregister(ww);
	munmap(wp, NP * t_psz);
	if (!null_owned())
		return 5;
	w_open();			/* register again */
	if (sigaction(SIGSEGV, NULL, &cur) || cur.sa_sigaction != owns_null)
		return 6;		/* the application's taken off the top */
	if (!null_owned())
		return 7;
	tracked_write_checked(8);
	pagescan_watch_unregister(ww);
	munmap(wp, NP * t_psz);
	if (!null_owned())
		return 9;
	/* SIG_DFL over ours, then a register: ours on top again. */
	set(SIGSEGV, SIG_DFL, NULL, 0, 0);
	w_open();
	if (sigaction(SIGSEGV, NULL, &cur) || !(cur.sa_flags & SA_SIGINFO) ||
	    cur.sa_sigaction == owns_null)
		return 10;
	tracked_write_checked(11);
	return 0;
}

/*
 * The handler found at our first install (ours calls it: a crash
 * reporter's), a stacked one on top of ours, every watch gone, the first
 * installed again, a register: ours must be on top again, or the
 * tracking faults went to that handler (here it counts them and returns:
 * the store faults for ever).
 */
static int first_again(void)
{
	struct sigaction cur;

	set(SIGSEGV, base, NULL, 0, 0);
	w_open();
	stack_app_handler();
	tracked_write_checked(3);
	pagescan_watch_unregister(ww);
	munmap(wp, NP * t_psz);
	set(SIGSEGV, base, NULL, 0, 0);
	w_open();
	if (sigaction(SIGSEGV, NULL, &cur) || !(cur.sa_flags & SA_SIGINFO))
		return 4;		/* the first one left on top */
	tracked_write_checked(5);
	return calls ? 6 : 0;
}

/*
 * A thread with asynchronous cancellation stores to watched memory and
 * is cancelled.  glibc's pthread_sigmask() cannot block its SIGCANCEL,
 * so the cancel once unwound the thread out of our handler holding an
 * arm lock, and the next get spun for ever (within a few hundred rounds
 * here).  Then every write after the cancel must still be seen.
 */
static void *async_writer(void *arg)
{
	unsigned int i;

	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	for (i = 0;; i++)
		wp[(i % NP) * t_psz] = 1;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * 2,000 rounds, or as many as 5 s allow but at least 300 (the hang came
 * within a few hundred; a guest without KVM runs 10 times slower).
 */
static int async_cancel(void)
{
	double t0 = now_s();
	pthread_t t;
	int k;

	w_open();
	for (k = 0; k < 2000 && (k < 300 || now_s() - t0 < 5); k++) {
		if (pthread_create(&t, NULL, async_writer, NULL))
			return 2;
		usleep(200 + k % 300);
		pthread_cancel(t);
		pthread_join(t, NULL);
		w_take();
		wp[(k % NP) * t_psz] = 2;
		if (!(w_take() & (UINT64_C(1) << (k % NP))))
			return 3;	/* a write after the cancel unseen */
	}
	return 0;
}

int main(void)
{
	t_init("watch-signals");
	t_child_ok("application signal writing watched memory",
		   t_child(storm, 120));
	t_child_ok("kill/raise SIGSEGV, previous SIG_IGN",
		   t_child(sent_ignored, 120));
	expect_segv("kill SIGSEGV, previous SIG_DFL",
		    t_child(sent_default, 120));
	expect_segv("raise SIGSEGV, SA_SIGINFO|SA_RESETHAND handler",
		    t_child(sent_info_resethand, 120));
	t_child_ok("kill/raise SIGSEGV, plain SA_NODEFER handler",
		   t_child(sent_plain_nodefer, 120));
	t_child_ok("real fault outside the watch, siglongjmp handler",
		   t_child(real_fault_handler, 120));
	expect_segv("real fault outside the watch, SIG_DFL",
		    t_child(real_fault_default, 120));
	t_child_ok("two SIGSEGVs sent to a handler holding a lock",
		   t_child(sent_deferred, 120));
	t_child_ok("real fault, previous handler writes watched memory",
		   t_child(real_fault_handler_writes, 120));
	t_child_ok("alternate stack: siglongjmp out, then a stacked handler",
		   t_child(altstack_jump_then_stacked, 120));
	t_child_ok("application handler stacked on ours, register again",
		   t_child(stacked, 120));
	t_child_ok("a handler owning its faults on top, register again",
		   t_child(stacked_owner, 120));
	t_child_ok("the first handler installed again over ours, register",
		   t_child(first_again, 120));
	t_child_ok("signal storm through a stacked SA_NODEFER handler",
		   t_child(storm_stacked, 120));
	t_child_ok("asynchronous pthread_cancel of a thread storing",
		   t_child(async_cancel, 120));
	t_done();
}
