// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * fork(2) from a thread while another one is inside the watch layer: the
 * child has only the forking thread, so a lock some other thread held at
 * the fork would stay held in the child for ever (its first watched write,
 * or the pagescan_watch_unregister() the man page tells it to call, would
 * hang).  pthread_atfork() handlers take every mutex of the watch layer
 * in the lock order (watch.h) before the fork and release them after, in
 * both processes.  The arm spin locks are not taken (a fault handler may
 * hold one for a moment and the forking thread must not wait on signal
 * context): in the child, where no other thread exists, they and the
 * fault core's busy counts are simply cleared, and each watch's get/reset
 * mutex is made new.  Each watch is marked inherited (forked: a pid
 * compare cannot tell a descendant with its ancestor's pid), and the
 * descriptors of the watches, which read and protect the parent, are
 * closed in the child (watch_fds.c).
 */
#include "watch.h"

#include <signal.h>

static pthread_once_t fork_once PS_STATE = PTHREAD_ONCE_INIT;

/*
 * From the prepare handler to the parent's or child's, the locks are
 * held: a signal handler that siglongjmp()s out of fork(2) there (a
 * fuzzer's timeout, landing as clone returns) would leave them held for
 * ever, and the next fork, register or unregister would hang (glibc
 * takes no lock of its own in the fork of a single-threaded process, so
 * it is ours alone).  So asynchronous signals are held off over that
 * span and delivered as the locks are released; faults (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGTRAP) are not blocked: the kernel kills a thread that
 * faults with them blocked, and the mprotect backend needs SIGSEGV.
 */
static __thread sigset_t fork_mask;

static void fork_block(void)
{
	sys_block_async(&fork_mask);
}

static void fork_unblock(void)
{
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

static void fork_prepare(void)
{
	fork_block();
	watch_reg_lock();
	watch_sd_fork_lock();
	watch_fault_fork_lock();
	watch_avail_fork_lock();
	watch_fd_fork_lock();
	ps_own_fork_lock();	/* watches live in the library's own memory */
}

static void fork_parent(void)
{
	ps_own_fork_unlock();
	watch_fd_fork_unlock(false);
	watch_avail_fork_unlock();
	watch_fault_fork_unlock(false);
	watch_sd_fork_unlock(false);
	watch_reg_unlock();
	fork_unblock();
}

static void fork_child(void)
{
	struct pagescan_watch *w;

	for (w = watch_reg_first_locked(); w; w = w->next) {
		atomic_store(&w->arm_lock, 0);
		pthread_mutex_init(&w->lock, NULL);
		w->forked = true;	/* the parent's, whatever getpid() says */
		watch_fd_fork_child(w);
	}
	ps_own_fork_unlock();
	watch_fd_fork_unlock(true);
	watch_avail_fork_unlock();
	watch_fault_fork_unlock(true);
	watch_sd_fork_unlock(true);
	watch_reg_unlock();
	fork_unblock();
}

static void fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void watch_fork_init(void)
{
	pthread_once(&fork_once, fork_init);
}
