// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The fault-handling core of the protection-based backends (mprotect,
 * and soft-dirty while it freezes its ranges): the one SIGSEGV handler
 * of the library and its table of armed ranges.
 *
 * Semantics (pagescan_watch(3), SIGNALS):
 *  - The handler runs with every signal blocked (sa_mask full, and it
 *    blocks them itself on entry: an application handler stacked on ours
 *    calls it with its own mask), the C library's SIGCANCEL included (an
 *    asynchronous pthread_cancel() acts once it returns), so no
 *    application handler and no cancellation can run on
 *    this thread while it holds an arm lock, and none can write watched
 *    memory half way through an arm.
 *  - A fault is ours only if the kernel raised it (si_code > 0: kill(2),
 *    sigqueue(3), raise(3) and tgkill(2) give SI_USER, SI_QUEUE, SI_TKILL,
 *    all <= 0) as SEGV_ACCERR at an address inside an ACTIVE slot.
 *  - Everything else goes to the disposition found when we were first
 *    installed, the way the kernel would deliver it: SA_SIGINFO or plain
 *    handler, called with the interrupted mask | its sa_mask | the signal
 *    (unless SA_NODEFER), as the kernel would, except for a fault: then
 *    SIGSEGV is left unblocked, since a store of the handler to watched
 *    memory must fault into us (a GC's barrier handler logging to a
 *    watched card table), and a fault with SIGSEGV blocked kills.  Such
 *    a handler is entered again, nested, by a SIGSEGV sent while it runs,
 *    or a fault of its own, where the kernel would have held the one and
 *    killed for the other; a sent SIGSEGV is forwarded as the kernel
 *    delivers it, deferred (a handler holding a lock must not nest).
 *    SA_RESETHAND honoured (it runs once, then the previous disposition
 *    is SIG_DFL); SIG_IGN ignores a sent signal, but a fault cannot be
 *    ignored (the kernel resets it to SIG_DFL too); SIG_DFL: a fault is
 *    returned from with SIG_DFL installed, so that it repeats and kills
 *    as it would have without us; a sent signal is
 *    sent again with SIG_DFL installed, and kills.
 *  - The saved previous disposition is never ours and never one installed
 *    on top of ours (which may chain to us): when a watch is registered
 *    while we are still installed below an application's handler, that
 *    handler stays on top (we are reached through it) and we keep the
 *    previous found first; only SIG_DFL or SIG_IGN put back over ours is
 *    replaced by ours again.  A handler that chains back to us with the same siginfo is
 *    treated as SIG_DFL, so no pair of handlers can call each other forever.
 *  - Faults in flight when the last slot goes: a retired slot is still
 *    recognised (the write is simply retried, its protection having been
 *    restored), and the previous handler is put back only once no thread
 *    has a SIGSEGV pending (/proc/self/task/N/status); otherwise ours
 *    stays installed, forwarding everything.
 *  - If mprotect(2) of one page fails in the handler (vm.max_map_count:
 *    each un-protected page may split a VMA), every page of the watch is
 *    marked and the whole range made writable: an over-report, no crash.
 *  - mremap(2) moves an mprotect watch's pages, read-only, to addresses
 *    no slot owns.  A write fault there (x86: the error code says write)
 *    on a readable page, while the range of some mprotect slot is no
 *    longer wholly mapped, is taken for one: every such watch is marked
 *    wholly written and flagged moved (watch_mprotect.c reports it all
 *    until the pages are back), and the page is given the slot's
 *    protection so the store lands.  At most npages such pages per slot
 *    until it is back: a store to read-only memory of the program's own
 *    while nothing is moved, or past that bound, is forwarded as above.
 */
#include "watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define MP_SLOTS 256

enum { MP_FREE, MP_ACTIVE, MP_RETIRED };

struct mp_slot {
	_Atomic int state;
	_Atomic int busy;	/* handlers inside this slot */
	_Atomic uint64_t start, end;
	_Atomic int prot;
	struct pagescan_watch *_Atomic w;
	_Atomic bool rescue;	/* mprotect: its moved pages are let write */
	_Atomic size_t moved;	/* pages let write while it was moved */
};

static struct mp_slot mp_tab[MP_SLOTS] PS_STATE;
/*
 * The ranges of the last MP_GONE retired slots that were reused: a store
 * that faulted before its watch went away may reach the handler only
 * after another watch took the slot, and must still be retried, not
 * forwarded to a handler that kills the process (mp_retired()).
 */
#define MP_GONE 64
static struct {
	_Atomic uint64_t start, end;
} mp_gone[MP_GONE] PS_STATE;
static _Atomic unsigned int mp_gone_next PS_STATE;
/*
 * Slots retired so far.  A thread retries a stale fault at an address
 * once per retirement: the same store can be stale again after the
 * watch came back and went once more, and a second fault there with no
 * unregister between is a real one, for the handler before ours.
 */
static _Atomic uint64_t mp_retires PS_STATE;
static __thread uint64_t mp_retry_gen __attribute__((tls_model("initial-exec")));
static pthread_mutex_t mp_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static int mp_users PS_STATE;		/* active slots */
/* Ours is installed, on top or below. */
static bool mp_installed PS_STATE;
/* What we found at the first install. */
static struct sigaction mp_old PS_STATE;
/* SA_RESETHAND: ran once, now SIG_DFL. */
static _Atomic int mp_old_spent PS_STATE;
static __thread uint64_t mp_retry __attribute__((tls_model("initial-exec")));
/* The forwarding in progress on this thread, to recognise a call back. */
static __thread const siginfo_t *mp_fwd_si
	__attribute__((tls_model("initial-exec")));
static __thread uintptr_t mp_fwd_frame
	__attribute__((tls_model("initial-exec")));
/*
 * And the mark it left in that siginfo: after a siglongjmp() out of the
 * handler the two above stay, and on an alternate signal stack the next
 * signal's siginfo lies at the same address, deeper than the dead frame
 * when a handler stacked on ours chains to us: that was taken for a call
 * back, and the fault killed the process.  The kernel writes every new
 * siginfo whole, so a fresh one has no mark.
 */
static __thread uint64_t mp_fwd_mark __attribute__((tls_model("initial-exec")));
static _Atomic uint64_t mp_marks PS_STATE;

/* The last 8 bytes of a siginfo: padding for every SIGSEGV code. */
static uint64_t *si_tail(siginfo_t *si)
{
	return (uint64_t *)(void *)((char *)si + sizeof(*si) -
				    sizeof(uint64_t));
}

static void mp_handler(int sig, siginfo_t *si, void *uc);

static bool mp_is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == mp_handler;
}

/* Queue @si to this thread, same siginfo (sender, code): allowed to self. */
static void mp_requeue(int sig, siginfo_t *si)
{
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid),
		    sig, si))
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
}

/* Send @sig again with SIG_DFL installed, and let it act. */
static void mp_default(int sig, siginfo_t *si, bool fault)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t one;

	sigaction(sig, &dfl, NULL);
	if (fault)
		return;		/* the instruction repeats and kills */
	mp_requeue(sig, si);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

/* Deliver what is not ours to the previous disposition (see the top). */
static void mp_forward(int sig, siginfo_t *si, void *uc)
{
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	const siginfo_t *up_si = mp_fwd_si;
	uintptr_t up_frame = mp_fwd_frame;
	uint64_t up_mark = mp_fwd_mark, tail, mark;
	bool fault = si->si_code > 0;
	struct sigaction old = mp_old;
	sigset_t m, cur;

	/* Called back from the handler we called, with its siginfo: a cycle. */
	if ((si == up_si && frame < up_frame && up_mark &&
	     *si_tail(si) == up_mark) || atomic_load(&mp_old_spent))
		old.sa_handler = SIG_DFL;
	else if ((old.sa_flags & SA_RESETHAND) && old.sa_handler != SIG_DFL &&
		 old.sa_handler != SIG_IGN &&
		 atomic_exchange(&mp_old_spent, 1))
		old.sa_handler = SIG_DFL;	/* another thread ran it */
	if (old.sa_handler == SIG_IGN) {
		if (!fault)
			return;
		old.sa_handler = SIG_DFL;	/* a fault cannot be ignored */
	}
	if (old.sa_handler == SIG_DFL) {
		mp_default(sig, si, fault);
		return;
	}
	/*
	 * The mask the kernel would have set for it, less SIGSEGV for a
	 * fault (see the top): its stores to watched memory must fault into
	 * us.
	 */
	m = ((ucontext_t *)uc)->uc_sigmask;
	sigorset(&m, &m, &old.sa_mask);
	if (fault)
		sigdelset(&m, sig);
	else if (!(old.sa_flags & SA_NODEFER))
		sigaddset(&m, sig);
	pthread_sigmask(SIG_SETMASK, &m, &cur);
	mark = (atomic_fetch_add(&mp_marks, 1) + 1) | UINT64_C(1) << 63;
	tail = *si_tail(si);
	*si_tail(si) = mark;
	mp_fwd_si = si;
	mp_fwd_frame = frame;
	mp_fwd_mark = mark;
	if (old.sa_flags & SA_SIGINFO)
		old.sa_sigaction(sig, si, uc);
	else
		old.sa_handler(sig);
	*si_tail(si) = tail;
	mp_fwd_si = up_si;
	mp_fwd_frame = up_frame;
	mp_fwd_mark = up_mark;
	pthread_sigmask(SIG_SETMASK, &cur, NULL);
}

/* Mark every page of @w and make the whole range writable. */
static bool mp_give_up(struct pagescan_watch *w, int prot)
{
	watch_bits_set_all(w);
	return !mprotect((void *)(uintptr_t)w->start, w->end - w->start, prot);
}

/* Mark and un-protect @a if an active slot owns it: true if done. */
static bool mp_mark(uint64_t a)
{
	int i;

	for (i = 0; i < MP_SLOTS; i++) {
		struct mp_slot *s = &mp_tab[i];
		struct pagescan_watch *w;
		uint64_t page;
		bool ok;
		int prot;

		if (atomic_load(&s->state) != MP_ACTIVE ||
		    a < atomic_load(&s->start) || a >= atomic_load(&s->end))
			continue;
		atomic_fetch_add(&s->busy, 1);
		if (atomic_load(&s->state) != MP_ACTIVE) {
			atomic_fetch_sub(&s->busy, 1);
			continue;
		}
		w = atomic_load(&s->w);
		prot = atomic_load(&s->prot);
		page = a & ~(uint64_t)(ps_page_size - 1);
		/*
		 * Mark, then un-protect, under the arm lock (watch.h); the
		 * write happens after we return.  If the page cannot be made
		 * writable (ENOMEM: vm.max_map_count reached by split VMAs),
		 * mark everything and un-protect the whole range, which
		 * merges VMAs instead of splitting them: an over-report.
		 */
		watch_arm_lock(w);
		watch_bit_set(w, page);
		ok = !mprotect((void *)(uintptr_t)page, ps_page_size, prot) ||
		     mp_give_up(w, prot);
		watch_arm_unlock(w);
		atomic_fetch_sub(&s->busy, 1);
		return ok;
	}
	return false;
}

/* Was @a in a slot unregistered while its fault was in flight? */
static bool mp_retired(uint64_t a)
{
	int i;

	for (i = 0; i < MP_SLOTS; i++) {
		struct mp_slot *s = &mp_tab[i];

		if (atomic_load(&s->state) == MP_RETIRED &&
		    a >= atomic_load(&s->start) && a < atomic_load(&s->end))
			return true;
	}
	for (i = 0; i < MP_GONE; i++)
		if (a >= atomic_load(&mp_gone[i].start) &&
		    a < atomic_load(&mp_gone[i].end))
			return true;
	return false;
}

/*
 * Was it a write?  x86: bit 1 of the page fault error code, which the
 * kernel passes in the signal frame.  Elsewhere unknown: false, so that
 * nothing is rescued (mp_moved()) on a guess.
 */
static bool mp_is_write(const void *uc)
{
#if defined(__x86_64__) || defined(__i386__)
	return ((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 2;
#else
	(void)uc;
	return false;
#endif
}

/*
 * What to make writable for a rescued store at @page: the mapping that
 * holds it, clipped to @span bytes (the watch's size) either side.  One
 * page would split the moved mapping in three, and mremap(2) of a range
 * over several mappings fails with EFAULT before Linux 6.17: the program
 * could not move its pages back.  Every page of the watch is reported
 * written already.  One page if the mapping cannot be read.
 */
static void moved_span(uint64_t page, uint64_t span, uint64_t *lo,
		       uint64_t *hi)
{
	uint64_t a, b;

	*lo = page;
	*hi = page + ps_page_size;
	if (sys_vma_of(page, &a, &b))
		return;
	*lo = page - a > span ? page - span : a;
	*hi = b - page > span ? page + span : b;
}

/*
 * A write fault at @a, outside every slot: pages of an mprotect watch
 * moved by mremap(2)?  Only if the page is readable (a PROT_NONE guard
 * page is never made writable) and some mprotect slot's range is not
 * wholly mapped any more (msync(2) says ENOMEM for a hole).  Every such
 * watch is marked wholly written and flagged moved, under its arm lock,
 * before the pages are made writable (the order of watch.h): the whole
 * mapping that holds the page, as far as the watch's size reaches either
 * side (moved_span()).  npages rescues at most per slot until
 * watch_fault_moved_back().
 */
static bool mp_moved(uint64_t a, const void *uc)
{
	uint64_t page = a & ~(uint64_t)(ps_page_size - 1), span = 0, lo, hi;
	bool claimed = false;
	int i, prot = 0;
	char probe;

	if (!mp_is_write(uc) ||
	    sys_copy_from_self(&probe, (const void *)(uintptr_t)page, 1))
		return false;
	for (i = 0; i < MP_SLOTS; i++) {
		struct mp_slot *s = &mp_tab[i];
		struct pagescan_watch *w;
		uint64_t start, end;
		size_t n;

		if (atomic_load(&s->state) != MP_ACTIVE ||
		    !atomic_load(&s->rescue))
			continue;
		atomic_fetch_add(&s->busy, 1);
		start = atomic_load(&s->start);
		end = atomic_load(&s->end);
		if (atomic_load(&s->state) != MP_ACTIVE ||
		    !msync((void *)(uintptr_t)start, end - start, MS_ASYNC) ||
		    errno != ENOMEM) {
			atomic_fetch_sub(&s->busy, 1);
			continue;
		}
		w = atomic_load(&s->w);
		watch_arm_lock(w);
		watch_bits_set_all(w);
		atomic_store(&w->moved, true);
		watch_arm_unlock(w);
		n = atomic_load(&s->moved);
		while (!claimed && n < w->npages)
			if (atomic_compare_exchange_weak(&s->moved, &n, n + 1)) {
				claimed = true;
				prot = atomic_load(&s->prot);
				span = end - start;
			}
		atomic_fetch_sub(&s->busy, 1);
	}
	if (!claimed)
		return false;
	moved_span(page, span, &lo, &hi);
	return !mprotect((void *)(uintptr_t)lo, (size_t)(hi - lo), prot);
}

/* Was it a tracking fault, now handled? */
static bool mp_ours(int sig, siginfo_t *si, void *uc)
{
	uint64_t a = (uintptr_t)si->si_addr;

	/* Raised by the kernel (never SI_USER, SI_QUEUE, SI_TKILL: <= 0). */
	if (sig != SIGSEGV || si->si_code <= 0 || si->si_code != SEGV_ACCERR)
		return false;
	if (mp_mark(a)) {
		mp_retry = 0;
		return true;
	}
	/* The protection is already restored: retry, once per retirement. */
	if ((mp_retry != a || mp_retry_gen != atomic_load(&mp_retires)) &&
	    mp_retired(a)) {
		mp_retry = a;
		mp_retry_gen = atomic_load(&mp_retires);
		return true;
	}
	if (mp_moved(a, uc)) {
		mp_retry = 0;
		return true;
	}
	return false;
}

/*
 * The C library's own signals too: sigfillset() and pthread_sigmask()
 * leave out glibc's SIGCANCEL and SIGSETXID (32 and 33), and a thread
 * with asynchronous cancellation that is cancelled in our handler would
 * unwind out of it holding an arm lock, which every later fault and get
 * then spins on for ever.  So they are set by hand and the mask through
 * the system call (the kernel takes sa_mask as given: mp_install()).
 */
static void mp_block_all(sigset_t *set)
{
	/* The C libraries' sigset_t: an array of unsigned long, bit sig-1. */
	unsigned long w[sizeof(sigset_t) / sizeof(unsigned long)];
	const size_t bits = 8 * sizeof(unsigned long);
	int sig;

	sigfillset(set);
	memcpy(w, set, sizeof(w));
	for (sig = 32; sig <= 33; sig++)
		w[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
	memcpy(set, w, sizeof(w));
}

static void mp_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	sigset_t all, entry;

	/*
	 * Every signal blocked before an arm lock can be taken: the kernel
	 * calls us so (sa_mask), an application handler stacked on ours
	 * that chains to us with its own mask.  A signal whose handler
	 * writes watched memory would fault back in on this thread and spin
	 * on the lock it interrupted.
	 */
	mp_block_all(&all);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &entry, _NSIG / 8);
	if (!mp_ours(sig, si, uc))
		mp_forward(sig, si, uc);
	/* As found: a cancel pending since acts once we return. */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &entry, NULL, _NSIG / 8);
	errno = saved;
}

/* The same handler function, called the same way. */
static bool mp_same_handler(const struct sigaction *a,
			    const struct sigaction *b)
{
	if ((a->sa_flags & SA_SIGINFO) != (b->sa_flags & SA_SIGINFO))
		return false;
	return a->sa_flags & SA_SIGINFO ? a->sa_sigaction == b->sa_sigaction :
					  a->sa_handler == b->sa_handler;
}

/*
 * Ours on top; the previous disposition saved only if it cannot be one
 * that calls us (see the top).  Called with mp_lock.
 */
static int mp_install(void)
{
	struct sigaction sa = {
		.sa_sigaction = mp_handler,
		.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART,
	}, cur;

	if (sigaction(SIGSEGV, NULL, &cur))
		return -errno;
	if (mp_is_ours(&cur)) {
		mp_installed = true;
		return 0;
	}
	/*
	 * Still installed, below a handler the application put on top of
	 * ours: it chains to us (pagescan_watch(3) asks it to), so we are
	 * reached through it.  Taking the top again would cut it off for
	 * good (its faults went to our previous, SIG_DFL: a JVM's implicit
	 * null checks killed the process).  Only a disposition that cannot
	 * chain, is replaced: SIG_DFL or SIG_IGN put back over ours, or the
	 * previous one we saved (a crash reporter installing its handler
	 * again), which we call, never the other way round.
	 */
	if (mp_installed && ((cur.sa_flags & SA_SIGINFO) ||
			     (cur.sa_handler != SIG_DFL &&
			      cur.sa_handler != SIG_IGN)) &&
	    !mp_same_handler(&cur, &mp_old))
		return 0;
	if (!mp_installed) {
		mp_old = cur;
		atomic_store(&mp_old_spent, 0);
	}
	/* All signals blocked while it runs (see the top), glibc's too. */
	mp_block_all(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		return -errno;
	mp_installed = true;
	return 0;
}

/*
 * No thread has a SIGSEGV pending that it does not block (a fault raised
 * before the protection was restored, not yet delivered)?  A fault's
 * signal is thread-directed and unblocked by the kernel.  false also when
 * /proc cannot tell.
 */
static bool mp_no_fault_pending(void)
{
	uint64_t bit = UINT64_C(1) << (SIGSEGV - 1);
	bool quiet = true;
	struct dirent *e;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return false;
	while (quiet && (e = readdir(d))) {
		unsigned long long pnd = 0, blk = 0;
		char path[300], buf[2048], *p;
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* exited */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		p = strstr(buf, "\nSigPnd:");
		if (!p || sscanf(p, "\nSigPnd: %llx", &pnd) != 1) {
			quiet = false;
			break;
		}
		p = strstr(buf, "\nSigBlk:");
		if (p)
			sscanf(p, "\nSigBlk: %llx", &blk);
		if (pnd & ~blk & bit)
			quiet = false;
	}
	closedir(d);
	return quiet;
}

/* The last slot went: put the previous disposition back if we may. */
static void mp_uninstall(void)
{
	struct sigaction cur, old = mp_old;
	int i;

	/* An application's handler on top of ours: stay, forwarding. */
	if (sigaction(SIGSEGV, NULL, &cur) || !mp_is_ours(&cur))
		return;
	for (i = 0; i < 1000; i++) {
		sched_yield();
		if (mp_no_fault_pending())
			break;
	}
	if (i == 1000)
		return;		/* stay installed: safe, forwards everything */
	if (atomic_load(&mp_old_spent)) {
		old.sa_handler = SIG_DFL;
		old.sa_flags &= ~SA_SIGINFO;
	}
	if (!sigaction(SIGSEGV, &old, NULL))
		mp_installed = false;
}

int watch_fault_add(struct pagescan_watch *w, bool rescue_moved)
{
	int i, slot = -1, ret = 0;

	pthread_mutex_lock(&mp_lock);
	for (i = 0; i < MP_SLOTS && slot < 0; i++)
		if (atomic_load(&mp_tab[i].state) == MP_FREE)
			slot = i;
	for (i = 0; i < MP_SLOTS && slot < 0; i++)
		if (atomic_load(&mp_tab[i].state) == MP_RETIRED)
			slot = i;
	if (slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	if (!mp_users) {
		ret = mp_install();
		if (ret)
			goto out;
	}
	mp_users++;
	if (atomic_load(&mp_tab[slot].state) == MP_RETIRED) {
		unsigned int g = atomic_fetch_add(&mp_gone_next, 1) % MP_GONE;

		/* Emptied first: never a range made of two watches' ends. */
		atomic_store(&mp_gone[g].end, 0);
		atomic_store(&mp_gone[g].start, atomic_load(&mp_tab[slot].start));
		atomic_store(&mp_gone[g].end, atomic_load(&mp_tab[slot].end));
	}
	atomic_store(&mp_tab[slot].w, w);
	atomic_store(&mp_tab[slot].prot, w->prot);
	atomic_store(&mp_tab[slot].start, w->start);
	atomic_store(&mp_tab[slot].end, w->end);
	atomic_store(&mp_tab[slot].rescue, rescue_moved);
	atomic_store(&mp_tab[slot].moved, 0);
	atomic_store(&mp_tab[slot].state, MP_ACTIVE);
	w->mp_slot = slot;
out:
	pthread_mutex_unlock(&mp_lock);
	return ret;
}

void watch_fault_del(struct pagescan_watch *w)
{
	struct mp_slot *s;

	if (w->mp_slot < 0)
		return;
	s = &mp_tab[w->mp_slot];
	pthread_mutex_lock(&mp_lock);
	atomic_store(&s->state, MP_RETIRED);
	atomic_fetch_add(&mp_retires, 1);
	while (atomic_load(&s->busy))
		sched_yield();
	atomic_store(&s->w, NULL);
	w->mp_slot = -1;
	if (!--mp_users)
		mp_uninstall();
	pthread_mutex_unlock(&mp_lock);
}

void watch_fault_moved_back(struct pagescan_watch *w)
{
	if (w->mp_slot >= 0)
		atomic_store(&mp_tab[w->mp_slot].moved, 0);
}

/* fork(2): see watch_fork.c. */
void watch_fault_fork_lock(void)
{
	pthread_mutex_lock(&mp_lock);
}

void watch_fault_fork_unlock(bool child)
{
	int i;

	/*
	 * A thread of the parent that was inside a slot does not exist in
	 * the child: its busy count would make unregister wait forever.
	 */
	if (child)
		for (i = 0; i < MP_SLOTS; i++)
			atomic_store(&mp_tab[i].busy, 0);
	pthread_mutex_unlock(&mp_lock);
}
