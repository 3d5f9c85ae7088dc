// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: a handle only ever sees the address space it opened, on
 * both backends.  A child with a known layout is scanned through native
 * and emulated handles (pagescan_scan, the iterator, pagescan_vmas) and
 * through its bare pagemap descriptor (raw ioctl, emulation); then it
 * execs, exits (zombie, then reaped), and its pid is recycled (root:
 * ns_last_pid): every answer must be -ESRCH, never the new image's, even
 * for a range that is a hole in the new image.  A CLONE_VM sibling that
 * execs keeps the old address space alive: a handle opened before still
 * answers for it, exactly as the native descriptor does, and a bare
 * descriptor under the emulation answers the same or fails with
 * EOPNOTSUPP (EMU_QUIRK_BARE_DESCRIPTOR), never differently.  A target
 * that makes itself non-dumpable after open is scanned alike by both
 * backends through its handle (run unprivileged: as root a helper drops
 * to nobody first).  A caller that drops its own privileges (root to
 * nobody) after open gets the same answers from both backends through
 * the handles it opened before, and from handles opened after it the
 * same or EOPNOTSUPP where the emulation needs PFNs it no longer sees
 * (EMU_QUIRK_UNDECIDABLE).  In a new pid namespace whose /proc is still
 * the host's, a handle on the namespace's pid N reads that process, not
 * the host's process N (root).  pagescan_summary() joins the ESRCH
 * checks; the whole test runs again under PAGESCAN_BACKEND=emulate, so
 * that pagescan_ioctl() on the same descriptors goes through the
 * emulation too.
 */
#include "helpers.h"
#include "emu.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer's shadow is up there: its low application range. */
#define AREA_ADDR	UINT64_C(0x1000000000)
#else
#define AREA_ADDR	UINT64_C(0x300000000000)
#endif
#define AREA		((char *)(uintptr_t)AREA_ADDR)
#define NPG		8

static size_t psz;
static bool have_native;

struct kid {
	pid_t pid;
	int cmd;		/* we write commands */
	int ack;		/* it writes acknowledgements */
};

/* The layout: NPG pages at AREA, even ones written (4 regions). */
static void make_layout(bool all)
{
	size_t i;

	if (mmap(AREA, NPG * psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) !=
	    AREA)
		_exit(90);
	for (i = 0; i < NPG; i += all ? 1 : 2)
		AREA[i * psz] = 1;
}

static void child_loop(int cmd, int ack, char **argv)
{
	char c, fdarg[16];

	if (write(ack, "r", 1) != 1)
		_exit(91);
	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'e':
			snprintf(fdarg, sizeof(fdarg), "%d", ack);
			execl("/proc/self/exe", argv[0], "--exec-child", fdarg,
			      (char *)NULL);
			_exit(92);
		case 'd':
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
			if (write(ack, "d", 1) != 1)
				_exit(93);
			break;
		default:
			_exit(0);
		}
	}
	_exit(0);
}

static void spawn(struct kid *k, char **argv, bool all)
{
	int c[2], a[2];
	char r;

	if (pipe(c) || pipe(a))
		t_error("pipe");
	k->pid = fork();
	if (k->pid < 0)
		t_error("fork");
	if (!k->pid) {
		close(c[1]);
		close(a[0]);
		make_layout(all);
		child_loop(c[0], a[1], argv);
	}
	close(c[0]);
	close(a[1]);
	k->cmd = c[1];
	k->ack = a[0];
	if (read(k->ack, &r, 1) != 1 || r != 'r')
		t_error("child not ready");
}

static void command(struct kid *k, char c, char want)
{
	char r = 0;

	if (write(k->cmd, &c, 1) != 1)
		t_error("command %c", c);
	if (want && (read(k->ack, &r, 1) != 1 || r != want))
		t_error("command %c: ack %c", c, r);
}

static void reap(struct kid *k)
{
	kill(k->pid, SIGKILL);
	waitpid(k->pid, NULL, 0);
	close(k->cmd);
	close(k->ack);
}

/* Every way of asking, on one target. */
struct ways {
	struct pagescan *h[2];	/* native (or NULL), emulated */
	int fd;			/* bare /proc/PID/pagemap */
	pid_t pid;
};

static struct pm_scan_arg req(struct page_region *v, uint64_t start,
			      uint64_t end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = start, .end = end,
		.vec = (uintptr_t)v, .vec_len = NPG,
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};

	return a;
}

static void open_ways(struct ways *w, pid_t pid)
{
	PAGESCAN_OPTS(pagescan_open_opts, on,
		      .backend = PAGESCAN_BACKEND_NATIVE);
	PAGESCAN_OPTS(pagescan_open_opts, oe,
		      .backend = PAGESCAN_BACKEND_EMULATE);
	char path[64];
	int r;

	memset(w, 0, sizeof(*w));
	w->pid = pid;
	if (have_native) {
		r = pagescan_open(pid, &on, &w->h[0]);
		if (r)
			t_error("open native %d", r);
	}
	r = pagescan_open(pid, &oe, &w->h[1]);
	if (r)
		t_error("open emulated %d", r);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	w->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		t_error("open %s", path);
}

static void close_ways(struct ways *w)
{
	pagescan_close(w->h[0]);
	pagescan_close(w->h[1]);
	close(w->fd);
}

static int count_vma(const struct pagescan_vma *v, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int iterate(struct pagescan *h, uint64_t s, uint64_t e)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = PAGE_IS_PRESENT,
		      .return_mask = PAGE_IS_PRESENT);
	struct pagescan_region r[NPG];
	struct pagescan_iter *it;
	int n, total = 0;

	n = pagescan_iter_new(h, s, e, &o, &it);
	if (n)
		return n;
	while ((n = pagescan_iter_next(it, r, NPG)) > 0)
		total += n;
	pagescan_iter_free(it);
	return n < 0 ? n : total;
}

static int by_handle(struct pagescan *h, uint64_t s, uint64_t e,
		     struct pagescan_region *v)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = PAGE_IS_PRESENT,
		      .return_mask = PAGE_IS_PRESENT);

	return pagescan_scan(h, s, e, v, NPG, &o);
}

static int bare_native(int fd, uint64_t s, uint64_t e, struct page_region *v)
{
	struct pm_scan_arg a = req(v, s, e);
	int r = ioctl(fd, PAGEMAP_SCAN, &a);

	return r < 0 ? -errno : r;
}

static int bare_emu(int fd, pid_t pid, uint64_t s, uint64_t e,
		    struct page_region *v)
{
	struct pm_scan_arg a = req(v, s, e);

	return emu_scan(fd, pid, &a);
}

/* Everything about @w's target must now say ESRCH. */
static void all_gone(struct ways *w, const char *when)
{
	uint64_t s = AREA_ADDR, e = AREA_ADDR + NPG * psz;
	/* A range that no image maps at all. */
	uint64_t hs = AREA_ADDR + (UINT64_C(1) << 32), he = hs + psz;
	struct pagescan_region v[NPG];
	struct page_region pv[NPG];
	int b, n, r;

	for (b = 0; b < 2; b++) {
		const char *bn = b ? "emulated" : "native";

		if (!w->h[b])
			continue;
		r = by_handle(w->h[b], s, e, v);
		t_check(r == -ESRCH, "%s: %s pagescan_scan %d", when, bn, r);
		r = by_handle(w->h[b], hs, he, v);
		t_check(r == -ESRCH, "%s: %s pagescan_scan of a hole %d", when,
			bn, r);
		r = iterate(w->h[b], s, e);
		t_check(r == -ESRCH, "%s: %s iterator %d", when, bn, r);
		n = 0;
		r = pagescan_vmas(w->h[b], 0, UINT64_MAX, 0, count_vma, &n);
		t_check(r == -ESRCH, "%s: %s pagescan_vmas %d (%d vmas)",
			when, bn, r, n);
		n = 0;
		r = pagescan_vmas(w->h[b], 0, UINT64_MAX, PAGESCAN_VMAS_SMAPS,
				  count_vma, &n);
		t_check(r == -ESRCH, "%s: %s pagescan_vmas smaps %d", when,
			bn, r);
		r = pagescan_summary(w->h[b], 0, UINT64_MAX, NULL, NULL, NULL,
				     NULL);
		t_check(r == -ESRCH, "%s: %s pagescan_summary %d", when, bn,
			r);
	}
	if (w->h[1]) {
		/* The drop-in on a handle's descriptor, as auto picks. */
		struct pm_scan_arg a = req(pv, s, e);
		bool emulated = ps_resolve_backend(PAGESCAN_BACKEND_AUTO) ==
				PAGESCAN_BACKEND_EMULATE;

		errno = 0;
		r = pagescan_ioctl(pagescan_fd(w->h[1]), &a);
		if (emulated || ps_native_esrch() == 1)
			t_check(r == -1 && errno == ESRCH,
				"%s: pagescan_ioctl %d errno %d", when, r,
				errno);
	}
	r = bare_emu(w->fd, w->pid, s, e, pv);
	t_check(r == -ESRCH, "%s: bare emulated %d", when, r);
	r = bare_emu(w->fd, w->pid, hs, he, pv);
	t_check(r == -ESRCH, "%s: bare emulated, a hole %d", when, r);
	if (have_native && ps_native_esrch() == 1) {
		r = bare_native(w->fd, s, e, pv);
		t_check(r == -ESRCH, "%s: bare native %d", when, r);
	}
}

/* Before anything happens: every way sees the 4 written pages. */
static void all_see(struct ways *w, const char *when, int want)
{
	uint64_t s = AREA_ADDR, e = AREA_ADDR + NPG * psz;
	struct pagescan_region v[NPG];
	struct page_region pv[NPG];
	int b, n, r;

	for (b = 0; b < 2; b++) {
		if (!w->h[b])
			continue;
		r = by_handle(w->h[b], s, e, v);
		t_check(r == want, "%s: backend %d scan %d", when, b, r);
		r = iterate(w->h[b], s, e);
		t_check(r == want, "%s: backend %d iterator %d", when, b, r);
		n = 0;
		r = pagescan_vmas(w->h[b], 0, UINT64_MAX, 0, count_vma, &n);
		t_check(r == 0 && n > 3, "%s: vmas %d (%d)", when, r, n);
	}
	r = bare_emu(w->fd, w->pid, s, e, pv);
	t_check(r == want, "%s: bare emulated %d", when, r);
	if (have_native) {
		r = bare_native(w->fd, s, e, pv);
		t_check(r == want, "%s: bare native %d", when, r);
	}
}

static void exec_case(char **argv)
{
	struct ways w;
	struct kid k;
	char c;

	spawn(&k, argv, false);
	open_ways(&w, k.pid);
	all_see(&w, "before exec", NPG / 2);
	command(&k, 'e', 'E');
	all_gone(&w, "after exec");
	close_ways(&w);
	/* A new handle sees the new image: nothing at AREA. */
	open_ways(&w, k.pid);
	all_see(&w, "new handle after exec", 0);
	close_ways(&w);
	reap(&k);
	(void)c;
}

static void exit_case(char **argv)
{
	struct ways w;
	struct kid k;

	spawn(&k, argv, false);
	open_ways(&w, k.pid);
	all_see(&w, "before exit", NPG / 2);
	command(&k, 'x', 0);
	/* Wait for the zombie, without reaping it. */
	{
		siginfo_t si;

		if (waitid(P_PID, (id_t)k.pid, &si, WEXITED | WNOWAIT))
			t_error("waitid");
	}
	all_gone(&w, "zombie");
	waitpid(k.pid, NULL, 0);
	all_gone(&w, "reaped");
	close_ways(&w);
	close(k.cmd);
	close(k.ack);
}

/* Root: make the next fork get @pid through ns_last_pid. */
static pid_t fork_as(pid_t pid)
{
	char buf[32];
	int tries;

	for (tries = 0; tries < 50; tries++) {
		pid_t got;

		snprintf(buf, sizeof(buf), "%d", (int)pid - 1);
		if (t_write_file("/proc/sys/kernel/ns_last_pid", buf))
			return -1;
		got = fork();
		if (got == 0)
			return 0;
		if (got == pid)
			return got;
		if (got > 0) {
			kill(got, SIGKILL);
			waitpid(got, NULL, 0);
		}
	}
	return -1;
}

static void reuse_case(char **argv)
{
	struct ways w;
	struct kid k;
	pid_t again;
	int p[2];
	char c;

	if (!t_root()) {
		printf("pid reuse: needs root (ns_last_pid), not run here\n");
		return;
	}
	spawn(&k, argv, false);
	open_ways(&w, k.pid);
	all_see(&w, "before reuse", NPG / 2);
	reap(&k);
	if (pipe(p))
		t_error("pipe");
	again = fork_as(k.pid);
	if (again == 0) {
		/* The new process: AREA fully written (1 region). */
		close(p[0]);
		make_layout(true);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (again < 0) {
		printf("pid reuse: could not get pid %d again\n", (int)k.pid);
		close(p[0]);
		close_ways(&w);
		return;
	}
	if (read(p[0], &c, 1) != 1)
		t_error("reused child");
	printf("pid %d recycled\n", (int)again);
	all_gone(&w, "pid reused");
	close_ways(&w);
	kill(again, SIGKILL);
	waitpid(again, NULL, 0);
	close(p[0]);
}

/* A sibling sharing the address space execs: it lives on in the other. */
static char clone_stack[64 << 10] __attribute__((aligned(16)));
static int sib_cmd, sib_ack;
static char **sib_argv;

static int sibling(void *arg)
{
	char c, fdarg[16];

	(void)arg;
	if (write(sib_ack, "r", 1) != 1)
		_exit(1);
	if (read(sib_cmd, &c, 1) != 1)
		_exit(1);
	snprintf(fdarg, sizeof(fdarg), "%d", sib_ack);
	execl("/proc/self/exe", sib_argv[0], "--exec-child", fdarg,
	      (char *)NULL);
	_exit(2);
}

static void clone_vm_case(char **argv)
{
	struct page_region nv[NPG], ev[NPG];
	struct pagescan_region hv[NPG];
	uint64_t s = AREA_ADDR, e = AREA_ADDR + NPG * psz;
	int c[2], a[2], pp[2], b, rn = 0, r;
	struct ways w;
	pid_t holder, sib;
	char x;

	if (pipe(c) || pipe(a) || pipe(pp))
		t_error("pipe");
	holder = fork();
	if (holder < 0)
		t_error("fork");
	if (!holder) {
		make_layout(false);
		sib_cmd = c[0];
		sib_ack = a[1];
		sib_argv = argv;
		sib = clone(sibling, clone_stack + sizeof(clone_stack),
			    CLONE_VM | SIGCHLD, NULL);
		if (sib < 0 || write(pp[1], &sib, sizeof(sib)) != sizeof(sib))
			_exit(1);
		for (;;)
			pause();
	}
	if (read(pp[0], &sib, sizeof(sib)) != sizeof(sib) ||
	    read(a[0], &x, 1) != 1)
		t_error("sibling");
	open_ways(&w, sib);
	all_see(&w, "clone-vm sibling", NPG / 2);
	if (write(c[1], "e", 1) != 1 || read(a[0], &x, 1) != 1 || x != 'E')
		t_error("sibling exec");
	if (have_native) {
		rn = bare_native(w.fd, s, e, nv);
		t_check(rn == NPG / 2, "clone-vm: native descriptor %d", rn);
	}
	for (b = 0; b < 2; b++) {
		if (!w.h[b])
			continue;
		r = by_handle(w.h[b], s, e, hv);
		t_check(r == NPG / 2, "clone-vm: backend %d handle %d", b, r);
		if (have_native && r == rn)
			t_check(!memcmp(hv, nv, (size_t)r * sizeof(nv[0])),
				"clone-vm: backend %d regions differ", b);
	}
	r = bare_emu(w.fd, sib, s, e, ev);
	t_check(r == -EOPNOTSUPP || r == NPG / 2,
		"clone-vm: bare emulated %d (quirk bare-descriptor allows "
		"EOPNOTSUPP only)", r);
	if (r == NPG / 2 && have_native)
		t_check(!memcmp(ev, nv, (size_t)r * sizeof(nv[0])),
			"clone-vm: bare emulated regions differ");
	printf("clone-vm: bare emulated descriptor: %d\n", r);
	{
		/* The drop-in on the handle's own descriptor, as auto picks. */
		struct pm_scan_arg q = req(ev, s, e);
		bool emulated = ps_resolve_backend(PAGESCAN_BACKEND_AUTO) ==
				PAGESCAN_BACKEND_EMULATE;

		errno = 0;
		r = pagescan_ioctl(pagescan_fd(w.h[1]), &q);
		if (r < 0)
			r = -errno;
		if (!emulated)
			t_check(r == rn, "clone-vm: pagescan_ioctl %d, "
				"kernel %d", r, rn);
		else
			t_check(r == -EOPNOTSUPP || r == NPG / 2,
				"clone-vm: emulated pagescan_ioctl %d", r);
		if (r == NPG / 2 && have_native)
			t_check(!memcmp(ev, nv, (size_t)r * sizeof(nv[0])),
				"clone-vm: pagescan_ioctl regions differ");
		printf("clone-vm: pagescan_ioctl (%s): %d\n",
		       emulated ? "emulated" : "native", r);
	}
	close_ways(&w);
	kill(sib, SIGKILL);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	waitpid(sib, NULL, __WALL);
	close(c[0]);
	close(c[1]);
	close(a[0]);
	close(a[1]);
	close(pp[0]);
	close(pp[1]);
}

/*
 * The target drops privileges (non-dumpable) after open: both backends
 * go on answering alike through the handle (permission is checked at
 * open, and the handle's descriptors were opened then).
 */
static void dumpable_case(char **argv)
{
	struct pagescan_region v0[NPG], v1[NPG];
	uint64_t s = AREA_ADDR, e = AREA_ADDR + NPG * psz;
	struct page_region pv[NPG];
	struct ways w;
	struct kid k;
	int r0, r1, r, n;

	spawn(&k, argv, false);
	open_ways(&w, k.pid);
	command(&k, 'd', 'd');
	r1 = by_handle(w.h[1], s, e, v1);
	t_check(r1 == NPG / 2, "non-dumpable: emulated handle %d", r1);
	if (w.h[0]) {
		r0 = by_handle(w.h[0], s, e, v0);
		t_check(r0 == r1 && !memcmp(v0, v1, sizeof(v0[0]) *
					    (size_t)(r0 > 0 ? r0 : 0)),
			"non-dumpable: native %d vs emulated %d", r0, r1);
	}
	n = 0;
	r = pagescan_vmas(w.h[1], 0, UINT64_MAX, PAGESCAN_VMAS_SMAPS,
			  count_vma, &n);
	t_check(r == 0 && n > 3, "non-dumpable: vmas %d (%d)", r, n);
	r = iterate(w.h[1], s, e);
	t_check(r == NPG / 2, "non-dumpable: iterator %d", r);
	/* The bare descriptor's process by number: EMU_QUIRK_BARE_DESCRIPTOR. */
	r = bare_emu(w.fd, k.pid, s, e, pv);
	t_check(r == NPG / 2 || r == -EACCES || r == -EPERM,
		"non-dumpable: bare emulated %d", r);
	printf("non-dumpable: bare emulated descriptor: %d\n", r);
	close_ways(&w);
	reap(&k);
}

static void dumpable_unprivileged(char **argv)
{
	struct passwd *pw;
	pid_t helper;
	int st;

	if (!t_root()) {
		dumpable_case(argv);
		return;
	}
	pw = getpwnam("nobody");
	if (!pw)
		t_error("no user nobody");
	helper = fork();
	if (helper < 0)
		t_error("fork");
	if (!helper) {
		if (setgroups(0, NULL) || setgid(pw->pw_gid) ||
		    setuid(pw->pw_uid))
			_exit(99);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		dumpable_case(argv);
		_exit(t_failures ? 1 : 0);
	}
	if (waitpid(helper, &st, 0) != helper || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		t_fail("non-dumpable case (as nobody) failed: status %#x", st);
}

/*
 * The caller drops its own privileges (root to nobody) after opening:
 * permission and PFN visibility were settled at open, so both backends
 * answer alike through the handles opened before.  Handles opened after
 * the drop see no PFNs: the emulation, which found them when the library
 * started, must then answer as the kernel does or fail with EOPNOTSUPP
 * (undecidable), never miss a zero page.
 */
static const uint64_t drop_masks[] = {
	PAGE_IS_PRESENT, PAGE_IS_PFNZERO, PAGE_IS_HUGE, PAGE_IS_WRITTEN,
	PAGE_IS_PRESENT | PAGE_IS_WPALLOWED, PAGE_IS_FILE | PAGE_IS_SWAPPED,
};

static int scan_mask(struct pagescan *h, uint64_t mask,
		     struct pagescan_region *v)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_anyof_mask = mask,
		      .return_mask = mask);

	return pagescan_scan(h, AREA_ADDR, AREA_ADDR + NPG * psz, v, NPG, &o);
}

/* Native and emulated alike; with @quirk_ok, or EOPNOTSUPP for PFNs. */
static void compare_backends(struct pagescan *hn, struct pagescan *he,
			     const char *when, bool quirk_ok)
{
	struct pagescan_region vn[NPG], ve[NPG];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(drop_masks); i++) {
		uint64_t m = drop_masks[i];
		int rn = scan_mask(hn, m, vn), re = scan_mask(he, m, ve);
		const char *why = re < 0 ? pagescan_last_error() : NULL;

		if (quirk_ok && re == -EOPNOTSUPP &&
		    (m & (PAGE_IS_PFNZERO | PAGE_IS_HUGE))) {
			t_check(why && strstr(why, "PFN"),
				"%s: mask %#" PRIx64 ": EOPNOTSUPP without "
				"the reason", when, m);
			printf("%s: mask %#" PRIx64 ": emulated EOPNOTSUPP "
			       "(undecidable: %s)\n", when, m, why);
			continue;
		}
		t_check(rn == re && (rn <= 0 || !memcmp(vn, ve, (size_t)rn *
							 sizeof(vn[0]))),
			"%s: mask %#" PRIx64 ": native %d, emulated %d (%s)",
			when, m, rn, re, why ? why : "");
	}
}

static void caller_drop_case(void)
{
	PAGESCAN_OPTS(pagescan_open_opts, on,
		      .backend = PAGESCAN_BACKEND_NATIVE);
	PAGESCAN_OPTS(pagescan_open_opts, oe,
		      .backend = PAGESCAN_BACKEND_EMULATE);
	struct pagescan *hn, *he, *an, *ae;
	struct passwd *pw;
	int p[2], st;
	pid_t helper, target;
	char c;

	if (!t_root() || !have_native) {
		printf("caller privilege drop: needs root and the native "
		       "ioctl to compare with, not run here\n");
		return;
	}
	pw = getpwnam("nobody");
	if (!pw)
		t_error("no user nobody");
	helper = fork();
	if (helper < 0)
		t_error("fork");
	if (helper) {
		if (waitpid(helper, &st, 0) != helper || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			t_fail("caller privilege drop case failed: status %#x",
			       st);
		return;
	}
	/* The helper: a target as nobody (so that nobody may kill it). */
	if (pipe(p))
		_exit(90);
	target = fork();
	if (target == 0) {
		size_t i;

		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		make_layout(false);
		for (i = 1; i < NPG; i += 2)	/* the zero page */
			(void)*(volatile char *)(AREA + i * psz);
		if (setgroups(0, NULL) || setgid(pw->pw_gid) ||
		    setuid(pw->pw_uid))
			_exit(91);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (write(p[1], "r", 1) != 1)
			_exit(92);
		for (;;)
			pause();
	}
	if (target < 0 || read(p[0], &c, 1) != 1)
		_exit(93);
	/* Probe as root (PFNs, kpageflags), then open. */
	if (pagescan_open(target, &on, &hn) || pagescan_open(target, &oe, &he))
		_exit(94);
	compare_backends(hn, he, "before the drop", false);
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		_exit(95);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	compare_backends(hn, he, "opened before the caller's drop", false);
	t_check(!pagescan_open(target, &on, &an) &&
		!pagescan_open(target, &oe, &ae), "open after the drop");
	compare_backends(an, ae, "opened after the caller's drop", true);
	pagescan_close(hn);
	pagescan_close(he);
	pagescan_close(an);
	pagescan_close(ae);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	_exit(t_failures ? 1 : 0);
}

/*
 * In the namespace's target, whose getpid() is the decoy's number in
 * /proc: a write watch on every backend reads this process's mappings
 * (/proc/self), never the decoy's.  1 if all is well.
 */
static bool pidns_watch(void)
{
	int b, ok = 1;

	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
		PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
		struct pagescan_watch *w;
		void *got[4];
		char *m;
		int n;

		if (pagescan_watch_available(b, NULL) != 1)
			continue;
		m = mmap(NULL, 8 * t_psz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return false;
		memset(m, 1, 8 * t_psz);
		if (pagescan_watch_register(m, 8 * t_psz, &wo, &w)) {
			printf("pid namespace: watch %s: %s\n",
			       pagescan_watch_backend_name(b),
			       pagescan_last_error() ? pagescan_last_error() :
			       strerror(errno));
			ok = 0;
		} else {
			m[2 * t_psz] = 2;
			m[5 * t_psz] = 2;
			n = pagescan_watch_get_pages(w, m, 8 * t_psz, got, 4,
						     NULL);
			if (n != 2 || got[0] != m + 2 * t_psz ||
			    got[1] != m + 5 * t_psz) {
				printf("pid namespace: watch %s: %d pages\n",
				       pagescan_watch_backend_name(b), n);
				ok = 0;
			}
			pagescan_watch_unregister(w);
		}
		munmap(m, 8 * t_psz);
	}
	return ok;
}

/*
 * A pid namespace whose /proc is still the host's (unshare(CLONE_NEWPID)
 * without mounting procfs): the namespace's pid N is not the host's N.
 * A decoy in the host has number D; the namespace's target is made to
 * get D too (ns_last_pid).  Every handle opened in the namespace on D,
 * for the process and for its main thread, must read the target (4
 * regions at AREA), never the decoy (1 region).
 */
static void pidns_check(pid_t tgt, const char *when)
{
	struct pagescan_open_opts o[2];
	struct pagescan_region v[NPG];
	int b, r, n;

	for (b = 0; b < 4; b++) {
		struct pagescan *h;

		memset(&o[0], 0, sizeof(o[0]));
		o[0].sz = sizeof(o[0]);
		o[0].backend = b & 1 ? PAGESCAN_BACKEND_EMULATE :
				       PAGESCAN_BACKEND_NATIVE;
		o[0].tid = b & 2 ? tgt : 0;
		if (!(b & 1) && !have_native)
			continue;
		r = pagescan_open(tgt, &o[0], &h);
		if (r == -ESRCH && (b & 2) && pagescan_last_error() &&
		    strstr(pagescan_last_error(), "PIDFD_THREAD")) {
			printf("%s: thread %d: %s\n", when, (int)tgt,
			       pagescan_last_error());
			continue;
		}
		t_check(r == 0, "%s: open %d (backend %d, tid %d): %d %s",
			when, (int)tgt, (int)o[0].backend, (int)o[0].tid, r,
			pagescan_last_error() ? pagescan_last_error() : "");
		if (r)
			continue;
		r = by_handle(h, AREA_ADDR, AREA_ADDR + NPG * psz, v);
		t_check(r == NPG / 2, "%s: backend %d tid %d: %d regions (the "
			"host's process %d has 1)", when, (int)o[0].backend,
			(int)o[0].tid, r, (int)tgt);
		r = iterate(h, AREA_ADDR, AREA_ADDR + NPG * psz);
		t_check(r == NPG / 2, "%s: iterator %d", when, r);
		n = 0;
		r = pagescan_vmas(h, AREA_ADDR, AREA_ADDR + NPG * psz, 0,
				  count_vma, &n);
		t_check(r == 0 && n == 1, "%s: vmas %d (%d)", when, r, n);
		pagescan_close(h);
	}
}

static void pidns_case(void)
{
	int p[2], q[2], st;
	pid_t decoy, helper;
	char c;

	if (!t_root()) {
		printf("pid namespace: needs root (CLONE_NEWPID, "
		       "ns_last_pid), not run here\n");
		return;
	}
	if (pipe(p) || pipe(q))
		t_error("pipe");
	decoy = fork();
	if (decoy == 0) {
		make_layout(true);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (decoy < 0 || read(p[0], &c, 1) != 1)
		t_error("decoy");
	helper = fork();
	if (helper == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID))
			_exit(80);
		init = fork();
		if (init == 0) {
			/* pid 1 of the namespace; /proc is the host's. */
			pid_t tgt;

			tgt = fork_as(decoy);
			if (tgt == 0) {
				make_layout(false);
				if (write(q[1], pidns_watch() ? "r" : "w",
					  1) != 1)
					_exit(1);
				for (;;)
					pause();
			}
			if (tgt != decoy)
				_exit(81);
			if (read(q[0], &c, 1) != 1)
				_exit(82);
			t_check(c == 'r', "pid namespace: a write watch read "
				"another process's mappings");
			pidns_check(tgt, "pid namespace");
			kill(tgt, SIGKILL);
			waitpid(tgt, NULL, 0);
			_exit(t_failures ? 1 : 0);
		}
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(83);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 84);
	}
	if (helper < 0 || waitpid(helper, &st, 0) != helper)
		t_error("pid namespace helper");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 81)
		printf("pid namespace: could not get pid %d in it\n",
		       (int)decoy);
	else
		t_check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			"pid namespace case failed: status %#x", st);
	kill(decoy, SIGKILL);
	waitpid(decoy, NULL, 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* Everything once more with the drop-in emulated: a fresh image. */
static void again_emulated(char **argv)
{
	int st;
	pid_t c;

	if (getenv("PAGESCAN_BACKEND"))
		return;
	fflush(stdout);
	c = fork();
	if (c < 0)
		t_error("fork");
	if (c == 0) {
		setenv("PAGESCAN_BACKEND", "emulate", 1);
		execl("/proc/self/exe", argv[0], (char *)NULL);
		_exit(99);
	}
	t_check(waitpid(c, &st, 0) == c && WIFEXITED(st) &&
		WEXITSTATUS(st) == 0,
		"under PAGESCAN_BACKEND=emulate: status %#x", st);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--exec-child")) {
		int fd = atoi(argv[2]);

		if (write(fd, "E", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	t_init("handle-lifetime");
	psz = t_psz;
	have_native = pagescan_probe(PAGESCAN_FEAT_SCAN) == 1;
	printf("native %d, native ESRCH on a gone mm %d\n", have_native,
	       ps_native_esrch());
	exec_case(argv);
	exit_case(argv);
	reuse_case(argv);
	clone_vm_case(argv);
	dumpable_unprivileged(argv);
	caller_drop_case();
	pidns_case();
	again_emulated(argv);
	t_done();
}
