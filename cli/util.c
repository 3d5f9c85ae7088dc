// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Small helpers of the pagescan command: messages, exit codes, the output
 * buffer, number and category parsing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

const char *prog = "pagescan";

const char exit_help[] =
"Exit status:\n"
"  0  success\n"
"  1  usage error: bad option, pid, range or category name\n"
"  2  no such process, or the process exited during the scan\n"
"  3  permission denied: no ptrace read access to the process\n"
"  4  this kernel cannot give what was asked for (e.g. soft-dirty)\n"
"  5  other failure (I/O error, out of memory)\n";

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bad_option(char **argv, const char *sub)
{
	const char *arg = argv[optind - 1];

	if (optopt && optopt != '?' && !(arg[0] == '-' && arg[1] == '-'))
		err_msg("unknown option '-%c' (see pagescan %s --help)",
			optopt, sub);
	else
		err_msg("option '%s' is unknown or lacks its argument (see "
			"pagescan %s --help)", arg, sub);
	return EX_USAGE;
}

int exit_code(int err)
{
	switch (err) {
	case ESRCH:
	case ENOENT:
		return EX_NOPROC;
	case EACCES:
	case EPERM:
		return EX_PERM;
	case EOPNOTSUPP:
	case ENOTTY:
	case ENOSYS:
		return EX_UNSUPP;
	case EINVAL:
		return EX_USAGE;
	default:
		return EX_FAIL;
	}
}

static int ob_grow(struct obuf *o, size_t need)
{
	size_t cap;
	char *n;

	if (o->oom)
		return -1;
	if (o->len + need + 1 <= o->cap)
		return 0;
	cap = o->cap ? o->cap : 4096;
	while (cap < o->len + need + 1)
		cap *= 2;
	n = realloc(o->buf, cap);
	if (!n) {
		o->oom = true;
		return -1;
	}
	o->buf = n;
	o->cap = cap;
	return 0;
}

void ob_printf(struct obuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* Mostly it fits: format once, straight into the buffer. */
	if (o->oom || (o->cap - o->len < 256 && ob_grow(o, 256)))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= o->cap - o->len) {
		if (ob_grow(o, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t)n;
}

void ob_puts(struct obuf *o, const char *s)
{
	size_t n = strlen(s);

	if (ob_grow(o, n))
		return;
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

/* A JSON string, quoted; bytes that are not printable ASCII escaped. */
void ob_json_str(struct obuf *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	ob_puts(o, "\"");
	while (*p) {
		run = p;
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && !ob_grow(o, (size_t)(p - run))) {
			memcpy(o->buf + o->len, run, (size_t)(p - run));
			o->len += (size_t)(p - run);
			o->buf[o->len] = '\0';
		}
		if (!*p)
			break;
		if (*p == '"' || *p == '\\')
			ob_printf(o, "\\%c", *p);
		else
			ob_printf(o, "\\u%04x", *p);
		p++;
	}
	ob_puts(o, "\"");
}

int ob_flush(struct obuf *o, FILE *f)
{
	if (o->oom)
		return -ENOMEM;
	if (o->len && fwrite(o->buf, 1, o->len, f) != o->len)
		return -EIO;
	o->len = 0;
	if (fflush(f))
		return -EIO;
	return 0;
}

void ob_free(struct obuf *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64, bytes);
		return buf;
	}
	/* 1023.7K would print as "1024K": that is 1.0M. */
	while (v >= 1023.5 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v < 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

int parse_hex(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 16);
	return errno || end == s || *end ? -1 : 0;
}

int parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;

	if (parse_u64(s, &v) || v == 0 || v > INT32_MAX) {
		err_msg("'%s' is not a process id (a positive number)", s);
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}

int pid_operand(int argc, char **argv, pid_t *pid)
{
	if (optind != argc - 1) {
		err_msg(optind == argc ? "which process? (a PID is needed)" :
			"too many arguments (one PID expected)");
		return -1;
	}
	return parse_pid(argv[optind], pid) ? -1 : 0;
}

const char *cat_list(void)
{
	static char buf[256];
	unsigned int b;

	if (buf[0])
		return buf;
	for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		if (b)
			strcat(buf, ", ");
		strcat(buf, pagescan_category_name(b));
	}
	strcat(buf, " (also: zero for pfnzero, thp for huge)");
	return buf;
}

const char *cat_names(uint64_t c, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		if (!(c & (UINT64_C(1) << b)))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
					"%s%s", off ? "," : "",
					pagescan_category_name(b));
	}
	if (!off)
		snprintf(buf, len, "-");
	return buf;
}

static int64_t cat_parse1(const char *name)
{
	if (!strcasecmp(name, "zero"))
		return (int64_t)PAGESCAN_CAT_PFNZERO;
	if (!strcasecmp(name, "thp"))
		return (int64_t)PAGESCAN_CAT_HUGE;
	return pagescan_category_parse(name);
}

int parse_cats(const char *list, uint64_t *mask, uint64_t *inv,
	       bool allow_not)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int ret = 0;

	if (!copy) {
		err_msg("out of memory");
		return -1;
	}
	*mask = 0;
	if (inv)
		*inv = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool neg = false;
		int64_t bit;

		if (*tok == '!' || *tok == '^') {
			neg = true;
			tok++;
		}
		if (neg && !allow_not) {
			err_msg("'!%s': negation is allowed only in --require",
				tok);
			ret = -1;
			break;
		}
		bit = cat_parse1(tok);
		if (bit < 0) {
			err_msg("unknown category '%s'; valid: %s", tok,
				cat_list());
			ret = -1;
			break;
		}
		*mask |= (uint64_t)bit;
		if (neg)
			*inv |= (uint64_t)bit;
	}
	free(copy);
	return ret;
}

uint64_t cats_available(void)
{
	uint64_t m = 0;
	unsigned int b;

	for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		if (!pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + b,
					   &fi) &&
		    fi.support != PAGESCAN_UNAVAILABLE)
			m |= UINT64_C(1) << b;
	}
	return m;
}

uint64_t cats_meaningful(void)
{
	uint64_t m = cats_available();

	/*
	 * 6.8+ kernels accept the SOFT_DIRTY bit even without
	 * CONFIG_MEM_SOFT_DIRTY; it is then never set, and a column of
	 * zeros would be a lie.
	 */
	if (pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) != 1)
		m &= ~PAGESCAN_CAT_SOFT_DIRTY;
	return m;
}

int target_open(pid_t pid, struct pagescan **out)
{
	char path[64];
	struct stat st;
	int ret;

	ret = pagescan_open(pid, NULL, out);
	if (!ret)
		return EX_OK;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	switch (-ret) {
	case ESRCH:
	case ENOENT:
		if (!stat(path, &st)) {
			char comm[64];

			err_msg("pid %d (%s) has no user memory (a kernel "
				"thread, or a process that has exited)",
				(int)pid, proc_comm(pid, comm, sizeof(comm)));
		} else {
			err_msg("no process with pid %d", (int)pid);
		}
		break;
	case EACCES:
	case EPERM:
		if (!stat(path, &st))
			err_msg("may not read the memory of pid %d (uid %u): "
				"that needs ptrace read access; run as uid %u "
				"or as root (see also kernel.yama.ptrace_scope)",
				(int)pid, (unsigned int)st.st_uid,
				(unsigned int)st.st_uid);
		else
			err_msg("may not read the memory of pid %d: that needs "
				"ptrace read access; run as its user or as root",
				(int)pid);
		break;
	default:
		err_msg("cannot open pid %d: %s", (int)pid, strerror(-ret));
	}
	return exit_code(-ret);
}
