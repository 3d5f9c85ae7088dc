// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Small helpers of the pagescan command: messages, exit codes, strict
 * number parsing, categories, usage checks.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

const char *prog = "pagescan";

const char exit_help[] =
"Exit status:\n"
"  0  success\n"
"  1  usage error: bad option, pid, number, range or category name\n"
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
	struct obuf o = { 0 };

	/*
	 * In a cluster ("-29") getopt has not moved past the argument yet:
	 * optind still points at it.
	 */
	if (optopt && argv[optind] && argv[optind][0] == '-' &&
	    argv[optind][1] == optopt)
		arg = argv[optind];
	/* The argument is the user's: show it escaped. */
	ob_text(&o, arg);
	if (arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9')
		err_msg("'%s' is no option, and no number either: numbers "
			"here are positive decimals", o.buf);
	else if (optopt && optopt != '?' &&
		 !(arg[0] == '-' && arg[1] == '-'))
		err_msg("unknown option '-%c' (see pagescan %s --help)",
			optopt, sub);
	else
		err_msg("option '%s' is unknown or lacks its argument (see "
			"pagescan %s --help)", o.buf ? o.buf : "", sub);
	ob_free(&o);
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

const char *lib_error(int err)
{
	const char *m = pagescan_last_error();

	return m ? m : strerror(err);
}

int once(bool *seen, const char *opt)
{
	if (*seen) {
		err_msg("%s given twice (it takes one value; see --help)", opt);
		return -1;
	}
	*seen = true;
	return 0;
}

int help_alone(int argc, char **argv, const char *sub)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			continue;
		{
			struct obuf o = { 0 };

			ob_text(&o, argv[i]);
			err_msg("--help takes nothing else, not '%s' (pagescan "
				"%s%s--help)", o.buf ? o.buf : "", sub,
				*sub ? " " : "");
			ob_free(&o);
		}
		return -1;
	}
	return 0;
}

/* Decimal digits only: no blank, sign, 0x or octal; 020 is twenty. */
int parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int d = (unsigned char)*s - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* See cli.h. */
int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hexadecimal digits, with or without 0x, nothing else. */
int parse_hex(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d = hex_digit((unsigned char)*s);

		if (d < 0)
			return -1;
		if (x >> 60)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

/* "2", "0.5", "1.25": decimal seconds; no sign, exponent, inf or nan. */
int parse_seconds(const char *s, double *v)
{
	const char *p = s;
	bool digits = false;

	while (*p >= '0' && *p <= '9')
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits = true;
	}
	if (*p || !digits || p - s > 20)
		return -1;
	*v = strtod(s, NULL);
	return 0;
}

int parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;

	if (parse_u64(s, &v) || v == 0 || v > INT32_MAX) {
		struct obuf o = { 0 };

		ob_text(&o, s);
		err_msg("'%s' is not a process id (a positive decimal number)",
			o.buf ? o.buf : "");
		ob_free(&o);
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
	       bool allow_not, const char *opt)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int ret = 0;

	if (!copy) {
		err_msg("out of memory");
		return -1;
	}
	if (!*list) {
		err_msg("%s needs a category name; valid: %s", opt, cat_list());
		ret = -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		bool neg = false;
		uint64_t bit;
		int64_t b;

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
		b = cat_parse1(tok);
		if (b < 0) {
			struct obuf o = { 0 };

			ob_text(&o, tok);
			err_msg("unknown category '%s'; valid: %s",
				o.buf ? o.buf : "", cat_list());
			ob_free(&o);
			ret = -1;
			break;
		}
		bit = (uint64_t)b;
		/* Required and excluded at once: nothing could match. */
		if (inv && (*mask & bit) && !(*inv & bit) == neg) {
			err_msg("category '%s' is both required and excluded "
				"in %s", pagescan_category_name(
				(unsigned int)__builtin_ctzll(bit)), opt);
			ret = -1;
			break;
		}
		*mask |= bit;
		if (neg)
			*inv |= bit;
	}
	free(copy);
	return ret;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[32];

	if (la > 30 || lb > 30)
		return 99;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = d[0], cur;

		d[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j - 1] + 1 < d[j])
				d[j] = d[j - 1] + 1;
			if (cur + 1 < d[j])
				d[j] = cur + 1;
			prev = cur;
		}
	}
	return d[lb];
}

const char *nearest(const char *s, const char *const *words)
{
	const char *best = NULL;
	size_t bd = 3, i;

	for (i = 0; words[i]; i++) {
		size_t d = edit_distance(s, words[i]);

		if (strlen(s) >= 3 && !strncmp(words[i], s, strlen(s)))
			d = 1;
		if (d < bd) {
			bd = d;
			best = words[i];
		}
	}
	return best;
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
