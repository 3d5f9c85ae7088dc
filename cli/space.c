// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The target: opening it (with a message that names the real obstacle),
 * and its mappings with their counts, from pagescan_summary(3).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"

/* Uid: and CapEff: of /proc/PID/status; -1 where unreadable. */
static void proc_ids(pid_t pid, long uid[4], unsigned long long *capprm)
{
	char path[64], line[256];
	FILE *f;

	uid[0] = uid[1] = uid[2] = uid[3] = -1;
	*capprm = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %ld %ld %ld %ld", &uid[0], &uid[1],
			   &uid[2], &uid[3]) == 4)
			continue;
		if (sscanf(line, "CapPrm: %llx", capprm) == 1)
			continue;
	}
	fclose(f);
}

/*
 * Why ptrace read access was refused, as precisely as /proc tells: a
 * process of another user, or one that is not dumpable (its /proc files
 * then belong to root), or one with capabilities we lack.
 */
static void why_denied(pid_t pid, const char *comm)
{
	char path[64];
	struct stat st;
	long uid[4];
	unsigned long long cap;
	uid_t me = getuid();
	struct obuf o = { 0 };

	ob_text(&o, comm);
	/*
	 * /proc/PID/mem, not /proc/PID: a non-dumpable process's files
	 * belong to root, its directory (6.x) to its user still.
	 */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	proc_ids(pid, uid, &cap);
	if (stat(path, &st) || uid[0] < 0) {
		err_msg("may not read the memory of pid %d: that needs ptrace "
			"read access; run as its user or as root", (int)pid);
	} else if (uid[0] != (long)me || uid[1] != (long)me ||
		   uid[2] != (long)me) {
		if (me == 0)
			err_msg("may not read the memory of pid %d (%s, uid "
				"%ld): refused even to root (a security "
				"module, or a container boundary)", (int)pid,
				o.buf, uid[1]);
		else if (uid[1] == 0)
			err_msg("may not read the memory of pid %d (%s, uid "
				"0): that needs ptrace read access; run as "
				"root", (int)pid, o.buf);
		else
			err_msg("may not read the memory of pid %d (%s, uid "
				"%ld): that needs ptrace read access; run as "
				"uid %ld or as root", (int)pid, o.buf, uid[1],
				uid[1]);
	} else if (st.st_uid == 0 && me != 0) {
		err_msg("may not read the memory of pid %d (%s): it is not "
			"dumpable (prctl PR_SET_DUMPABLE 0, or it ran a setuid "
			"or file-capability program); only root can read it",
			(int)pid, o.buf);
	} else if (cap) {
		err_msg("may not read the memory of pid %d (%s): it holds "
			"capabilities (CapPrm %llx) that we lack; run as root",
			(int)pid, o.buf, cap);
	} else {
		err_msg("may not read the memory of pid %d (%s): ptrace read "
			"access refused (a security module, or "
			"kernel.yama.ptrace_scope)", (int)pid, o.buf);
	}
	ob_free(&o);
}

int target_open(pid_t pid, struct pagescan **out, bool quiet)
{
	char path[64], comm[64];
	struct stat st;
	int ret;

	ret = pagescan_open(pid, NULL, out);
	if (!ret)
		return EX_OK;
	if (quiet)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	proc_comm(pid, comm, sizeof(comm));
	switch (-ret) {
	case ESRCH:
	case ENOENT:
		if (!stat(path, &st)) {
			struct obuf o = { 0 };

			ob_text(&o, comm);
			err_msg("pid %d (%s) has no user memory (a kernel "
				"thread, or a process that has exited)",
				(int)pid, o.buf);
			ob_free(&o);
		} else {
			err_msg("no process with pid %d", (int)pid);
		}
		break;
	case EACCES:
	case EPERM:
		why_denied(pid, comm);
		break;
	default:
		/* PAGESCAN_BACKEND=bogus and such: the library says why. */
		err_msg("cannot open pid %d: %s", (int)pid, lib_error(-ret));
	}
	return exit_code(-ret);
}

static int add_row(const struct pagescan_mapping *pm, void *ctx)
{
	struct space *s = ctx;
	struct row *m;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		m = realloc(s->m, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		s->m = m;
		s->cap = cap;
	}
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->start = pm->start;
	m->end = pm->end;
	m->size = pm->end - pm->start;
	m->nmaps = 1;
	m->flags = pm->flags;
	memcpy(m->b, pm->bytes, sizeof(m->b));
	m->name = strdup(pm->name ? pm->name : "");
	if (!m->name)
		return -ENOMEM;
	s->n++;
	return 0;
}

/* The list alone (regions): no counting. */
static int add_vma(const struct pagescan_vma *v, void *ctx)
{
	struct pagescan_mapping pm = {
		.sz = sizeof(pm), .start = v->start, .end = v->end,
		.flags = v->flags, .name = v->name,
	};

	return add_row(&pm, ctx);
}

static void rows_free(struct space *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->m[i].name);
	free(s->m);
	s->m = NULL;
	s->n = s->cap = 0;
}

static int load(struct space *s)
{
	int ret;

	rows_free(s);
	memset(&s->sum, 0, sizeof(s->sum));
	s->sum.sz = sizeof(s->sum);
	ret = pagescan_summary(s->ps, 0, UINT64_MAX, NULL, add_row, s,
			       &s->sum);
	return ret > 0 ? -ENOMEM : ret;
}

int scan_error(const struct space *s, int err)
{
	if (err == -ESRCH || err == -ENOENT)
		err_msg("pid %d exited during the scan; nothing printed",
			(int)s->pid);
	else if (err == -EACCES || err == -EPERM)
		err_msg("may not read pid %d (%s): that needs ptrace read "
			"access; run as its user or as root", (int)s->pid,
			lib_error(-err));
	else
		err_msg("scan of pid %d failed: %s", (int)s->pid,
			lib_error(-err));
	return exit_code(-err);
}

int space_begin(struct space *s, pid_t pid, bool count)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	ret = target_open(pid, &s->ps, false);
	if (ret)
		return ret;
	proc_comm(pid, s->comm, sizeof(s->comm));
	/*
	 * For tests only: stop here, so that a test can make the target
	 * exit between opening and the scan (tests/cli-errors.sh).
	 */
	if (getenv("PAGESCAN_CLI_STOP_BEFORE_SCAN"))
		raise(SIGSTOP);
	if (count) {
		ret = load(s);
	} else {
		/* The list, and (from an empty summary) what is available. */
		s->sum.sz = sizeof(s->sum);
		ret = pagescan_summary(s->ps, 0, 0, NULL, NULL, NULL, &s->sum);
		if (!ret)
			ret = pagescan_vmas(s->ps, 0, UINT64_C(1) << 63, 0,
					    add_vma, s);
	}
	if (ret) {
		ret = scan_error(s, ret);
		space_end(s);
		return ret;
	}
	return EX_OK;
}

int space_recount(struct space *s)
{
	return load(s);
}

void space_end(struct space *s)
{
	rows_free(s);
	if (s->ps)
		pagescan_close(s->ps);
	s->ps = NULL;
}

const char *row_label(const struct row *m)
{
	if (m->name[0])
		return m->name;
	return m->flags & PAGESCAN_VMA_SHARED ? "[anon shared]" : "[anon]";
}

void stats_add(uint64_t *to, const uint64_t *from)
{
	int i;

	for (i = 0; i < PAGESCAN_STAT_SLOTS; i++)
		to[i] += from[i];
}

const char *perms(uint32_t flags, char buf[5])
{
	buf[0] = flags & PAGESCAN_VMA_READ ? 'r' : '-';
	buf[1] = flags & PAGESCAN_VMA_WRITE ? 'w' : '-';
	buf[2] = flags & PAGESCAN_VMA_EXEC ? 'x' : '-';
	buf[3] = flags & PAGESCAN_VMA_SHARED ? 's' : 'p';
	buf[4] = '\0';
	return buf;
}

const char *proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	/* Raw bytes, up to the kernel's newline (a comm may hold others). */
	if (!f || (n = (ssize_t)fread(buf, 1, len - 1, f)) <= 0) {
		snprintf(buf, len, "?");
	} else {
		if (buf[n - 1] == '\n')
			n--;
		buf[n] = '\0';
	}
	if (f)
		fclose(f);
	return buf;
}

const char *kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "?";
	return u.release;
}
