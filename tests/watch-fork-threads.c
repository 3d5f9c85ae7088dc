// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: fork(2) while another thread is inside the watch layer
 * (pagescan_watch(3), FORK).  One thread registers, gets, resets and
 * unregisters watches without pause while the main thread forks again and
 * again; each child writes the watched memory it inherited, unregisters
 * the inherited watch and exits, under alarm(): a child that inherited a
 * held lock would hang, and dies of SIGALRM.  On every backend available.
 */
#include "watch-common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define NP 16
#define FORKS 300

static enum pagescan_watch_backend be;
static _Atomic int stop;
static char *q;			/* the hammering thread's range */

static void *hammer(void *arg)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = be);
	PAGESCAN_OPTS(pagescan_watch_get_opts, go,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region r[NP];
	struct pagescan_watch *w;

	while (!atomic_load(&stop)) {
		if (pagescan_watch_register(q, NP * t_psz, &wo, &w))
			continue;
		q[3 * t_psz] = 1;
		pagescan_watch_get_regions(w, q, NP * t_psz, r, NP, &go);
		q[5 * t_psz] = 1;
		pagescan_watch_reset(w, q, NP * t_psz);
		pagescan_watch_unregister(w);
	}
	return NULL;
}

static void one_backend(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	int i, hung = 0, bad = 0, status;
	struct pagescan_watch *w;
	pthread_t th;
	char *p;
	pid_t pid;

	be = b;
	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	q = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, NP * t_psz);
	t_touch(q, NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);
	atomic_store(&stop, 0);
	if (pthread_create(&th, NULL, hammer, NULL))
		t_error("pthread_create");
	for (i = 0; i < FORKS; i++) {
		pid = fork();
		if (pid < 0)
			t_error("fork");
		if (pid == 0) {
			alarm(20);
			p[(i % NP) * t_psz] = 1;	/* a watched write */
			q[(i % NP) * t_psz] = 1;	/* maybe watched */
			_exit(pagescan_watch_unregister(w) ? 3 : 0);
		}
		if (waitpid(pid, &status, 0) != pid)
			t_error("waitpid");
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
		if (hung)
			break;	/* one is enough, and each takes 20 s */
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	t_check(!hung, "%s: %d of %d children hung", name, hung, FORKS);
	t_check(!bad, "%s: %d of %d children failed", name, bad, FORKS);
	printf("%s: %d forks under a register/get/reset/unregister loop: "
	       "%d hung, %d failed\n", name, FORKS, hung, bad);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NP * t_psz);
	munmap(q, NP * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("watch-fork-threads");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	for (i = 0; i < n; i++)
		one_backend(bs[i]);
	t_done();
}
