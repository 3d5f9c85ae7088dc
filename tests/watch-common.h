/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Shared by the tests/watch-*.c tests: which backends to run, and the
 * process state a watch must leave as it found it.
 */
#ifndef WATCH_COMMON_H
#define WATCH_COMMON_H

#include "helpers.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The backends to run: the one named by PAGESCAN_WATCH_BACKEND if set
 * (the VM lane and the user can force one), else all of them.  Each
 * unavailable one is printed with its reason, and counted as a skip.
 */
static inline int w_backends(enum pagescan_watch_backend *out)
{
	const char *env = getenv("PAGESCAN_WATCH_BACKEND");
	int b, n = 0;

	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
		const char *why = "";
		int r;

		if (env && *env && strcmp(env, "auto") &&
		    strcmp(env, pagescan_watch_backend_name(b)))
			continue;
		r = pagescan_watch_available(b, &why);
		if (r == 1) {
			out[n++] = b;
		} else {
			printf("backend %s unavailable here: %s\n",
			       pagescan_watch_backend_name(b), why);
		}
	}
	return n;
}

static inline int w_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The state "unregister restores everything" is checked against. */
struct w_state {
	int fds, threads;
	struct sigaction segv;
	char *maps;
};

static inline char *w_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);

	if (!f || !buf)
		t_error("read %s", path);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				t_error("realloc");
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* The smaps lines (header + VmFlags) of the VMAs inside [p, p+len). */
static inline char *w_vmas(const void *p, size_t len)
{
	char *all = w_slurp("/proc/self/smaps"), *out, *line, *save = NULL;
	uintptr_t s = (uintptr_t)p, e = s + len;
	bool in = false;
	size_t olen = 0;

	out = calloc(1, strlen(all) + 1);
	if (!out)
		t_error("calloc");
	for (line = strtok_r(all, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in = a < e && s < b;
			/*
			 * Clipped to the range: a neighbour mapped meanwhile
			 * (by malloc, ASan) may merge with the VMA.
			 */
			if (in)
				olen += (size_t)sprintf(out + olen,
					"%lx-%lx %.4s\n",
					a > s ? a : (unsigned long)s,
					b < e ? b : (unsigned long)e,
					line + strcspn(line, " ") + 1);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			char *sd = strstr(line, " sd ");

			/*
			 * VM_SOFTDIRTY is cleared process-wide by every
			 * clear_refs (the soft-dirty backend's reset, or any
			 * other soft-dirty user) and cannot be set back: not
			 * part of the state a watch restores.
			 */
			if (sd)
				memmove(sd, sd + 3, strlen(sd + 3) + 1);
			olen += (size_t)sprintf(out + olen, "%s\n", line);
		}
	}
	free(all);
	return out;
}

static inline void w_state_get(struct w_state *st, const void *p, size_t len)
{
	st->fds = w_count_dir("/proc/self/fd");
	st->threads = w_count_dir("/proc/self/task");
	sigaction(SIGSEGV, NULL, &st->segv);
	st->maps = w_vmas(p, len);
}

static inline void w_state_check(const struct w_state *a, const void *p,
				 size_t len, const char *what)
{
	struct w_state b;
	int i;

	/*
	 * A joined thread can stay listed in /proc/self/task for a moment
	 * (pthread_join returns when the kernel clears its tid, before the
	 * task is reaped): give it up to a second.
	 */
	for (i = 0; i < 100 && w_count_dir("/proc/self/task") > a->threads;
	     i++)
		usleep(10000);
	w_state_get(&b, p, len);
	t_check(a->fds == b.fds, "%s: %d fds before, %d after", what, a->fds,
		b.fds);
	/* Fewer is fine: one joined earlier may have been reaped since. */
	t_check(b.threads <= a->threads, "%s: %d threads before, %d after",
		what, a->threads, b.threads);
	t_check(a->segv.sa_handler == b.segv.sa_handler &&
		((a->segv.sa_flags ^ b.segv.sa_flags) & ~0x04000000) == 0,
		"%s: SIGSEGV handler not restored (%p/%#x, was %p/%#x)", what,
		(void *)b.segv.sa_handler, b.segv.sa_flags,
		(void *)a->segv.sa_handler, a->segv.sa_flags);
	t_check(!strcmp(a->maps, b.maps), "%s: mappings differ:\n%s---\n%s",
		what, a->maps, b.maps);
	free(b.maps);
}

#endif
