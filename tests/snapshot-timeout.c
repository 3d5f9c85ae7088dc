// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a fuzzer's loop over a whole-process snapshot whose
 * timeout (a SIGPROF timer) siglongjmp()s out of the target, which spends
 * its time in malloc() and free(): the timer often fires inside the
 * allocator, leaving malloc's arena lock held (once the process has had a
 * second thread, glibc locks its arenas) or its lists half-updated.  The
 * restore puts the allocator back as it was at take (its state is the C
 * library's data and the heap, both taken), so it must not allocate from
 * that heap before it has: it hung on the arena lock with every signal
 * blocked, or aborted in malloc's consistency checks, in the check of the
 * mappings that comes before any copy.  Each round must restore, and
 * malloc() must work after it; single-threaded and multi-threaded.
 * snapshot-noquery runs it again without PROCMAP_QUERY (before Linux
 * 6.11), where the check reads the maps text instead.
 *
 * The restore rewinds this program's variables: what must outlive it
 * lives in a MAP_SHARED page, which no process snapshot takes.
 */
#include "snapshot-common.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>

/* SNAPSHOT_TIMEOUT_ROUNDS: fewer under TCG (tests/vm/init). */
static int rounds = 150;
#define ROUNDS rounds
#define SLOTS 256

struct keep {
	int rounds, fired, failed;
	char msg[400];
};
static struct keep *keep;
static sigjmp_buf jb;
static volatile sig_atomic_t armed;
static void *slot[SLOTS];

static void on_timeout(int sig)
{
	(void)sig;
	if (armed) {
		armed = 0;
		siglongjmp(jb, 1);
	}
}

static void *nothing(void *a)
{
	return a;
}

/* The target: allocates and frees blocks of tcache-missing sizes. */
static void __attribute__((noinline)) target(unsigned int x)
{
	for (;;) {
		x = x * 1103515245u + 12345u;
		free(slot[x % SLOTS]);
		slot[x % SLOTS] = malloc(1100 + (x >> 8) % 30000);
	}
}

static int loop(bool threaded)
{
	struct sigaction sa = { .sa_handler = on_timeout };
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot *s;
	int ret;

	if (threaded) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) ||
		    pthread_join(t, NULL))
			return 99;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	fflush(NULL);
	ret = pagescan_snapshot_take_process(&o, &s);
	if (ret) {
		snprintf(keep->msg, sizeof(keep->msg), "take: %d %s", ret,
			 pagescan_last_error());
		return 1;
	}
	for (keep->rounds = 0; keep->rounds < ROUNDS; keep->rounds++) {
		void *p;

		if (sigsetjmp(jb, 1) == 0) {
			struct itimerval tv = {
				.it_value.tv_usec = 50 + keep->rounds % 300,
			};

			armed = 1;
			setitimer(ITIMER_PROF, &tv, NULL);
			target((unsigned int)keep->rounds);
		}
		keep->fired++;
		ret = pagescan_snapshot_restore(s, NULL);
		if (ret) {
			snprintf(keep->msg, sizeof(keep->msg),
				 "restore %d: %d %s", keep->rounds, ret,
				 pagescan_last_error());
			return 1;
		}
		/* The allocator is the one of take again, and works. */
		p = malloc(50000);
		if (!p)
			return 1;
		memset(p, 1, 50000);
		free(p);
	}
	pagescan_snapshot_free(s);
	return 0;
}

static int loop_single(void)
{
	return loop(false);
}

static int loop_threaded(void)
{
	return loop(true);
}

static void run(const char *what, int (*fn)(void))
{
	int status;

	memset(keep, 0, sizeof(*keep));
	status = t_child(fn, 240);
	if (!t_child_ok(what, status))
		printf("%s: after %d of %d rounds, %s\n", what, keep->rounds,
		       ROUNDS, keep->msg[0] ? keep->msg :
		       "no error returned (a hang or a crash)");
}

int main(void)
{
	const char *why = "";
	const char *n = getenv("SNAPSHOT_TIMEOUT_ROUNDS");

	if (n && atoi(n) > 0)
		rounds = atoi(n);

	t_init("snapshot-timeout");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	s_process_refused();
#endif
	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, &why) != 1)
		t_skip("uffd-async unavailable: %s", why);
	{
		const char *env = getenv("PAGESCAN_WATCH_BACKEND");

		if (env && *env && strcmp(env, "uffd-async"))
			t_skip("another backend forced (%s): take_process "
			       "refuses it", env);
	}
	keep = mmap(NULL, sizeof(*keep), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED)
		t_error("mmap");
	run("timeout out of malloc, single-threaded", loop_single);
	run("timeout out of malloc, after a thread", loop_threaded);
	t_done();
}
