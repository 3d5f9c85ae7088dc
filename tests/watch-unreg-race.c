// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: unregistering the last watch while other threads still
 * write its range (pagescan_watch(3), SIGNALS: faults in flight).  A
 * write that faulted before the protection was restored must simply be
 * retried, on the protection-based backends (mprotect here; soft-dirty
 * where the kernel has it): no SIGSEGV death, many rounds, in a child so
 * that a death is reported.  The SIGSEGV disposition is the one found
 * before the first register once all is done.  And with every handler
 * slot used once, so that a register takes the slot of the watch just
 * unregistered: such a fault reached the handler after another range
 * owned the slot, was not known as retired, and killed the process
 * (rounds_reuse()).
 */
#include "watch-common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define NP 4096
#define WRITERS 3
#define ROUNDS 200

static char *p;
static size_t np = NP;		/* pages of p the writers store to */
static _Atomic int stop;

T_RACY static void *writer(void *arg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		((volatile char *)p)[(i % np) * t_psz + i % 64] = (char)i;
		i += 17;
	}
	return NULL;
}

static int rounds(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	struct sigaction before, after;
	pthread_t th[WRITERS];
	struct pagescan_watch *w;
	int r, i;

	sigaction(SIGSEGV, NULL, &before);
	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	for (r = 0; r < ROUNDS; r++) {
		if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
			return 2;
		atomic_store(&stop, 0);
		for (i = 0; i < WRITERS; i++)
			if (pthread_create(&th[i], NULL, writer,
					   (void *)(uintptr_t)(i * 13 + r)))
				return 3;
		sched_yield();
		if (pagescan_watch_unregister(w))
			return 4;
		/* Faults in flight now meet a retired slot. */
		sched_yield();
		atomic_store(&stop, 1);
		for (i = 0; i < WRITERS; i++)
			pthread_join(th[i], NULL);
	}
	sigaction(SIGSEGV, NULL, &after);
	if (after.sa_handler != before.sa_handler)
		return 5;
	return 0;
}

T_RACY static void *idle_writer(void *arg)
{
	struct sched_param sp = { 0 };

	/* Preempted between its fault and our handler, as often as can be. */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	return writer(arg);
}

/* Fewer under TCG (tests/vm/init): each round is two registers. */
static int reuse_rounds = 2000;

static int rounds_reuse(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	struct pagescan_watch *w, *keep;
	pthread_t th[WRITERS];
	char *other, *z;
	int r, i;

	p = t_map(16 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	np = 16;
	other = t_map(16 * t_psz, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS);
	z = t_map(t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, 16 * t_psz);
	t_touch(other, 16 * t_psz);
	/* The handler stays installed; every slot retired once. */
	if (pagescan_watch_register(z, t_psz, &wo, &keep))
		return 2;
	for (r = 0; r < 300; r++) {
		if (pagescan_watch_register(other, 16 * t_psz, &wo, &w) ||
		    pagescan_watch_unregister(w))
			return 3;
	}
	atomic_store(&stop, 0);
	for (i = 0; i < WRITERS; i++)
		if (pthread_create(&th[i], NULL, idle_writer,
				   (void *)(uintptr_t)(i * 7919 + 1)))
			return 4;
	for (r = 0; r < reuse_rounds; r++) {
		if (pagescan_watch_register(p, 16 * t_psz, &wo, &w))
			return 5;
		sched_yield();
		if (pagescan_watch_unregister(w) ||
		    pagescan_watch_register(other, 16 * t_psz, &wo, &w))
			return 6;
		sched_yield();
		if (pagescan_watch_unregister(w))
			return 7;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	return pagescan_watch_unregister(keep) ? 8 : 0;
}

static void in_child(enum pagescan_watch_backend b,
		     int (*fn)(enum pagescan_watch_backend), const char *what)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (pid == 0) {
		alarm(200);
		_exit(fn(b));
	}
	if (waitpid(pid, &status, 0) != pid)
		t_error("waitpid");
	t_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"%s: %s: child %s %d", pagescan_watch_backend_name(b), what,
		WIFEXITED(status) ? "exited" : "died of",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i, runs = 0;
	const char *env = getenv("UNREG_RACE_ROUNDS");

	t_init("watch-unreg-race");
	if (env && atoi(env) > 0)
		reuse_rounds = atoi(env);
	n = w_backends(bs);
	for (i = 0; i < n; i++) {
		const char *name = pagescan_watch_backend_name(bs[i]);

		if (bs[i] != PAGESCAN_WATCH_MPROTECT &&
		    bs[i] != PAGESCAN_WATCH_SOFT_DIRTY)
			continue;
		in_child(bs[i], rounds, "unregister under writers");
		in_child(bs[i], rounds_reuse, "its slot taken by another watch");
		printf("%s: %d rounds of unregister under %d writers\n", name,
		       ROUNDS, WRITERS);
		runs++;
	}
	if (!runs)
		t_skip("no protection-based backend forced here");
	t_done();
}
