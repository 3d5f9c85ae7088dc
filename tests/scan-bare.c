// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: pagescan_ioctl() on bare descriptors the library did not
 * open, under the emulation (PAGESCAN_BACKEND=emulate), answers as the
 * kernel's ioctl does on the same descriptor: one opened through a second
 * procfs mount (a monitoring agent's /host/proc; root), one opened
 * write-only (root) or O_PATH, one of a process whose leader has exited
 * (pthread_exit() from main) while another thread runs, opened before
 * and after, by the process and by the thread.  The emulation said
 * ENOTTY for the first (it knew only /proc/), ESRCH for the write-only
 * one and for the leaderless process (its /proc/PID/maps lists nothing),
 * and ESRCH instead of EBADF for O_PATH.
 */
#include "helpers.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NP 16

static char *area;

/* The raw ioctl and the emulation on @fd: the same answer, or a failure. */
static void same(int fd, const char *what)
{
	struct page_region vn[8], ve[8];
	struct pm_scan_arg an, ae;
	int rn, re, en, ee;

	memset(vn, 0x5a, sizeof(vn));
	memset(ve, 0x5a, sizeof(ve));
	an = t_arg(area, area + NP * t_psz, vn, 8, 0, 0, 0, 0, 0,
		   PAGE_IS_PRESENT);
	ae = t_arg(area, area + NP * t_psz, ve, 8, 0, 0, 0, 0, 0,
		   PAGE_IS_PRESENT);
	rn = t_ioctl(fd, &an, &en);
	re = t_pioctl(fd, &ae, &ee);
	t_check(rn == re && en == ee && an.walk_end == ae.walk_end &&
		!memcmp(vn, ve, sizeof(vn)), "%s: kernel %d (%s), emulated %d "
		"(%s)%s", what, rn, en ? strerror(en) : "-", re,
		ee ? strerror(ee) : "-",
		rn == re && en == ee ? ", other regions or walk_end" : "");
	printf("%s: %d regions%s%s\n", what, rn, en ? ", " : "",
	       en ? strerror(en) : "");
}

static void procfs_mount(void)
{
	char dir[] = "/tmp/pagescan-bare.XXXXXX", path[64];
	int fd;

	if (!t_root()) {
		printf("a second procfs mount: needs root\n");
		return;
	}
	if (!mkdtemp(dir))
		t_error("mkdtemp");
	if (mount("proc", dir, "proc", 0, NULL)) {
		printf("a second procfs mount: %s\n", strerror(errno));
		rmdir(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/self/pagemap", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("%s: %s", path, strerror(errno));
	else
		same(fd, "through a second procfs mount");
	close(fd);
	snprintf(path, sizeof(path), "%s/%d/task/%d/pagemap", dir,
		 (int)getpid(), (int)syscall(SYS_gettid));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		same(fd, "through a second procfs mount, a task's");
	close(fd);
	umount(dir);
	rmdir(dir);
}

static void open_modes(void)
{
	int fd;

	fd = open("/proc/self/pagemap", O_PATH | O_CLOEXEC);
	if (fd < 0)
		t_error("O_PATH");
	same(fd, "opened O_PATH");
	close(fd);
	/* pagemap is 0400: write-only needs CAP_DAC_OVERRIDE. */
	fd = open("/proc/self/pagemap", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("opened write-only: %s\n", strerror(errno));
		return;
	}
	same(fd, "opened write-only");
	close(fd);
}

static int pipefd[2];

static void *lingers(void *arg)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)arg;
	if (write(pipefd[1], &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

/* The child: the same layout, one thread more, then main exits. */
static void leaderless_child(void)
{
	pthread_t t;

	/* setpriv to nobody made us undumpable: let the parent read us. */
	prctl(PR_SET_DUMPABLE, 1);
	if (pthread_create(&t, NULL, lingers, NULL))
		_exit(1);
	pthread_exit(NULL);
}

static void leaderless(void)
{
	char path[96], st[128];
	int before, fd, i;
	pid_t kid, tid;
	FILE *f;

	if (pipe(pipefd))
		t_error("pipe");
	kid = fork();
	if (kid < 0)
		t_error("fork");
	if (!kid)
		leaderless_child();
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)kid);
	before = open(path, O_RDONLY | O_CLOEXEC);
	if (before < 0 || read(pipefd[0], &tid, sizeof(tid)) != sizeof(tid))
		t_error("the child");
	/* Wait for the leader to be a zombie (state Z) beside its thread. */
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)kid);
		f = fopen(path, "r");
		if (!f || !fgets(st, sizeof(st), f))
			t_error("%s", path);
		fclose(f);
		if (strstr(st, ") Z "))
			break;
		usleep(1000);
	}
	t_check(strstr(st, ") Z ") != NULL, "the leader did not exit");
	same(before, "leader exited, the process's, opened before");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)kid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		same(fd, "leader exited, the process's, opened after");
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/pagemap", (int)kid,
		 (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_error("%s", path);
	same(fd, "leader exited, the thread's");
	close(fd);
	close(before);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	/* Before the first call: the backend choice is made once. */
	setenv("PAGESCAN_BACKEND", "emulate", 1);
	t_init("scan-bare");
	if (pagescan_probe(PAGESCAN_FEAT_SCAN) != 1)
		t_skip("no native PAGEMAP_SCAN to compare against");
	/* At a fixed place: the child, forked after, has it too. */
	area = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	area[0] = area[3 * t_psz] = area[9 * t_psz] = 1;
	procfs_mount();
	open_modes();
	leaderless();
	t_done();
}
