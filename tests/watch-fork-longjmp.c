// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a signal handler that siglongjmp()s out of fork(2) (a
 * fuzzer's timeout firing as clone returns in the parent) must not leave
 * the watch layer's locks held: they are taken by the library's
 * pthread_atfork() prepare handler and released by its parent handler,
 * which such a jump skips.  The signal is raised, deterministically, from
 * a parent handler registered before the library's (parent handlers run
 * in the order of registration, so it runs first); asynchronous signals
 * are held off from the library's prepare handler to its parent handler,
 * so the jump is taken only once the locks are released.  Before, the
 * next fork (or register, unregister) hung.  Every backend here.
 */
#include "helpers.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile sig_atomic_t armed;
static enum pagescan_watch_backend backend;

static void on_alrm(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void parent_hook(void)
{
	if (armed) {
		armed = 0;
		raise(SIGALRM);
	}
}

static int run(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, o, .backend = backend);
	struct pagescan_watch *w;
	char *p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	volatile int jumped = 0;
	pid_t c;
	int ret;

	ret = pagescan_watch_register(p, 4 * t_psz, &o, &w);
	if (ret)
		return 10;
	signal(SIGALRM, on_alrm);
	if (sigsetjmp(jb, 1) == 0) {
		armed = 1;
		c = fork();
		if (c == 0)
			_exit(0);
	} else {
		jumped = 1;
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	if (!jumped)
		return 11;
	/* Each of these took a lock the jump left held. */
	p[0] = 1;
	c = fork();
	if (c == 0)
		_exit(0);
	if (c < 0 || waitpid(c, NULL, 0) != c)
		return 12;
	if (pagescan_watch_unregister(w))
		return 13;
	return 0;
}

int main(void)
{
	int b;

	t_init("watch-fork-longjmp");
	/* Before any watch: the library registers its handlers after. */
	if (pthread_atfork(NULL, parent_hook, NULL))
		t_error("pthread_atfork");
	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++) {
		char what[80];
		const char *why;

		if (pagescan_watch_available(b, &why) != 1)
			continue;
		backend = b;
		snprintf(what, sizeof(what), "%s: siglongjmp out of fork",
			 pagescan_watch_backend_name(b));
		t_child_ok(what, t_child(run, 20));
	}
	t_done();
}
