// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: PAGESCAN_BACKEND holding an unknown value gives a clear
 * EINVAL from pagescan_open() and pagescan_ioctl() (and changes nothing),
 * while an explicit backend in the open options still works.
 */
#include "scan-common.h"

#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct pagescan *ps = NULL;
	struct pm_scan_arg a;
	char *p;
	int n;

	if (argc > 1 && !strcmp(argv[1], "--print")) {
		n = pagescan_open(0, NULL, &ps);
		printf("%d %s\n", n, pagescan_last_error() ?
		       pagescan_last_error() : "(none)");
		return n == -EINVAL ? 0 : 1;
	}

	t_init("handle-env");
	sc_need_scan();
	setenv("PAGESCAN_BACKEND", "bogus", 1);
	p = t_map(t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	errno = 0;
	n = pagescan_open(0, NULL, &ps);
	t_check(n == -EINVAL && errno == EINVAL && !ps,
		"open under PAGESCAN_BACKEND=bogus: %d", n);
	t_check(pagescan_last_error() &&
		strstr(pagescan_last_error(), "PAGESCAN_BACKEND=bogus") &&
		strstr(pagescan_last_error(), "native"),
		"the error names the variable, its value and the valid ones: %s",
		pagescan_last_error() ? pagescan_last_error() : "(none)");
	/* A failure without detail clears it: never a stale message. */
	n = pagescan_open(-5, NULL, &ps);
	t_check(n == -EINVAL && !pagescan_last_error(),
		"detail cleared by a later plain failure");
	/*
	 * The variable is read once per process: a hostile value is tried in
	 * a fresh image of this test, which prints the message it got.
	 */
	{
		char out[512] = "";
		int pfd[2], st;
		ssize_t got;
		pid_t c;

		t_check(!pipe(pfd), "pipe");
		c = fork();
		if (c == 0) {
			dup2(pfd[1], 1);
			setenv("PAGESCAN_BACKEND", "\033[2J\n\tnat\377ive", 1);
			execl("/proc/self/exe", "handle-env", "--print", NULL);
			_exit(99);
		}
		close(pfd[1]);
		got = read(pfd[0], out, sizeof(out) - 1);
		out[got > 0 ? got : 0] = '\0';
		close(pfd[0]);
		waitpid(c, &st, 0);
		t_check(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
			strstr(out, "PAGESCAN_BACKEND=?[2J??nat?ive:"),
			"a hostile value is quoted printable: '%s'", out);
		for (got = 0; out[got]; got++)
			t_check((unsigned char)out[got] >= ' ' ||
				out[got] == '\n', "no control byte in the message");
	}
	a = t_arg(p, p + t_psz, NULL, 0, 0, 0, 0, 0, 0, 0);
	a.walk_end = 77;
	errno = 0;
	n = pagescan_ioctl(t_pagemap_fd(), &a);
	t_check(n == -1 && errno == EINVAL && a.walk_end == 77,
		"pagescan_ioctl under bogus backend: %d errno %d", n, errno);
	t_check(pagescan_last_error() &&
		strstr(pagescan_last_error(), "PAGESCAN_BACKEND"),
		"pagescan_ioctl's EINVAL carries the detail too");
	{
		PAGESCAN_OPTS(pagescan_open_opts, o,
			      .backend = PAGESCAN_BACKEND_NATIVE);
		PAGESCAN_OPTS(pagescan_scan_opts, so, .return_mask = SC_ALL);
		struct pagescan_region r;

		n = pagescan_open(0, &o, &ps);
		t_check(n == 0, "explicit native backend: %d", n);
		if (!n) {
			p[0] = 1;
			n = pagescan_scan(ps, (uintptr_t)p,
					  (uintptr_t)p + t_psz, &r, 1, &so);
			t_check(n == 1 && r.categories == 0xa,
				"scan with explicit native: %d", n);
			pagescan_close(ps);
		}
	}
	t_done();
}
