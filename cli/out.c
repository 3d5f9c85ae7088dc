// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Output: the buffer every subcommand prints into, the three escapings of
 * names (a mapping name or a comm is whatever bytes a process chose:
 * ESC sequences, invalid UTF-8, markup), display widths and the terminal
 * width.
 */
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"

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

void ob_putn(struct obuf *o, const char *s, size_t n)
{
	if (ob_grow(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void ob_puts(struct obuf *o, const char *s)
{
	ob_putn(o, s, strlen(s));
}

void ob_pad(struct obuf *o, int n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		int k = n < (int)sizeof(sp) - 1 ? n : (int)sizeof(sp) - 1;

		ob_putn(o, sp, (size_t)k);
		n -= k;
	}
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

/* See cli.h. */
int utf8_seq(const unsigned char *p, uint32_t *cp)
{
	uint32_t c = p[0], min;
	int n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Code points that change what a terminal shows beyond themselves: C1
 * controls (0x9b is CSI to some terminals), line and paragraph
 * separators, zero-width and bidirectional controls (they reorder what
 * follows), the BOM and non-characters.
 */
static bool cp_hostile(uint32_t c)
{
	return (c >= 0x80 && c < 0xa0) || c == 0xad ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff ||
	       (c >= 0xfff9 && c <= 0xfffb) || (c & 0xfffe) == 0xfffe ||
	       (c >= 0xfdd0 && c <= 0xfdef) || (c >= 0xe0000 && c <= 0xe007f);
}

/* Is the locale's character set UTF-8?  (Else only ASCII is printed.) */
static int utf8_locale = -1;

static bool locale_utf8(void)
{
	if (utf8_locale < 0) {
		setlocale(LC_CTYPE, "");
		utf8_locale = !strcmp(nl_langinfo(CODESET), "UTF-8");
	}
	return utf8_locale;
}

/*
 * Walk @s as text: for each piece, either a run to print as it is (with
 * its display width) or a byte to show as \xNN.
 */
struct piece {
	const char *p;
	size_t len;	/* bytes */
	int width;	/* columns */
	bool escape;	/* show as \xNN each byte, or \\ */
};

static size_t next_piece(const char *s, struct piece *pc)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	int n;

	pc->p = s;
	if (*p == '\\') {
		pc->len = 1;
		pc->width = 2;
		pc->escape = true;
		return 1;
	}
	if (*p >= 0x20 && *p < 0x7f) {
		pc->len = 1;
		pc->width = 1;
		pc->escape = false;
		return 1;
	}
	n = *p >= 0x80 && locale_utf8() ? utf8_seq(p, &cp) : 0;
	if (n > 1 && !cp_hostile(cp)) {
		int w = wcwidth((wchar_t)cp);

		if (w >= 0) {
			pc->len = (size_t)n;
			pc->width = w;
			pc->escape = false;
			return (size_t)n;
		}
	}
	if (n < 1)
		n = 1;
	pc->len = (size_t)n;
	pc->width = 4 * n;
	pc->escape = true;
	return (size_t)n;
}

static void put_piece(struct obuf *o, const struct piece *pc)
{
	size_t i;

	if (!pc->escape) {
		ob_putn(o, pc->p, pc->len);
		return;
	}
	if (pc->p[0] == '\\') {
		ob_puts(o, "\\\\");
		return;
	}
	for (i = 0; i < pc->len; i++)
		ob_printf(o, "\\x%02x", (unsigned char)pc->p[i]);
}

void ob_text(struct obuf *o, const char *s)
{
	struct piece pc;

	while (*s) {
		s += next_piece(s, &pc);
		put_piece(o, &pc);
	}
}

int text_width(const char *s)
{
	struct piece pc;
	int w = 0;

	while (*s) {
		s += next_piece(s, &pc);
		w += pc.width;
	}
	return w;
}

int ob_text_fit(struct obuf *o, const char *s, int width, bool pad)
{
	int w = text_width(s), cut;
	struct piece pc;

	if (width < 0)
		width = 0;
	if (w <= width) {
		ob_text(o, s);
		if (pad)
			ob_pad(o, width - w);
		return pad ? width : w;
	}
	if (width < 4) {
		ob_pad(o, width);
		return width;
	}
	/* A path: ".../" and its file name, if that fits. */
	{
		const char *base = strrchr(s, '/');
		int bw;

		if (base && base != s && base[1] &&
		    (bw = text_width(base + 1)) + 4 <= width) {
			ob_puts(o, ".../");
			ob_text(o, base + 1);
			if (pad)
				ob_pad(o, width - bw - 4);
			return pad ? width : bw + 4;
		}
	}
	/*
	 * "...", then the tail that fits: the end of a path says most.  An
	 * escape (\x1b, four columns) is never cut in half, so the tail may
	 * be narrower than what is left.
	 */
	ob_puts(o, "...");
	cut = w - (width - 3);
	while (*s && cut > 0) {
		s += next_piece(s, &pc);
		cut -= pc.width;
	}
	ob_text(o, s);
	if (pad)
		ob_pad(o, -cut);
	return pad ? width : width + cut;
}

void ob_wrap_from(struct obuf *o, const char *s, int ind, int col)
{
	int width = term_width();

	while (*s) {
		const char *w = s;
		int len;

		while (*s && *s != ' ')
			s++;
		len = (int)(s - w);
		if (col > ind && col + 1 + len > width) {
			ob_puts(o, "\n");
			col = 0;
		}
		/*
		 * A word wider than a line (a long path): cut it, never
		 * inside a UTF-8 sequence.  Bytes are at least columns.
		 */
		while (len > width - ind && width - ind >= 8) {
			int k = width - (col > ind ? col + 1 : ind);

			if (k < 8) {
				ob_puts(o, "\n");
				col = 0;
				continue;
			}
			while (k > 0 && (w[k] & 0xc0) == 0x80)
				k--;
			if (col < ind)
				ob_pad(o, ind - col);
			else if (col > ind)
				ob_puts(o, " ");
			ob_putn(o, w, (size_t)k);
			ob_puts(o, "\n");
			col = 0;
			w += k;
			len -= k;
		}
		if (col < ind) {
			ob_pad(o, ind - col);
			col = ind;
		} else if (col > ind) {
			ob_puts(o, " ");
			col++;
		}
		ob_putn(o, w, (size_t)len);
		col += len;
		while (*s == ' ')
			s++;
	}
	ob_puts(o, "\n");
}

void ob_wrap(struct obuf *o, const char *s, int ind)
{
	ob_wrap_from(o, s, ind, 0);
}

/* JSON: a quoted string, valid UTF-8 kept (see cli.h). */
void ob_json_str(struct obuf *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	ob_puts(o, "\"");
	while (*p) {
		uint32_t cp;
		int n;

		run = p;
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			ob_putn(o, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			ob_printf(o, "\\%c", *p++);
			continue;
		}
		if (*p < 0x80) {
			ob_printf(o, "\\u%04x", *p++);
			continue;
		}
		n = utf8_seq(p, &cp);
		if (!n) {
			/* One invalid byte: a lone low surrogate. */
			ob_printf(o, "\\udc%02x", *p++);
		} else if (cp == 0x2028 || cp == 0x2029) {
			/* Valid JSON, but not in JavaScript strings. */
			ob_printf(o, "\\u%04x", cp);
			p += n;
		} else {
			ob_putn(o, (const char *)p, (size_t)n);
			p += n;
		}
	}
	ob_puts(o, "\"");
}

/* XML 1.0 text or attribute value (see cli.h). */
void ob_xml(struct obuf *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		int n = utf8_seq(p, &cp), i;

		if (n == 1) {
			switch (*p) {
			case '<': ob_puts(o, "&lt;"); break;
			case '>': ob_puts(o, "&gt;"); break;
			case '&': ob_puts(o, "&amp;"); break;
			case '"': ob_puts(o, "&quot;"); break;
			case '\'': ob_puts(o, "&apos;"); break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					ob_printf(o, "\\x%02x", *p);
				else
					ob_putn(o, (const char *)p, 1);
			}
			p++;
			continue;
		}
		if (n && !cp_hostile(cp)) {
			ob_putn(o, (const char *)p, (size_t)n);
			p += n;
			continue;
		}
		if (!n)
			n = 1;
		for (i = 0; i < n; i++)
			ob_printf(o, "\\x%02x", *p++);
	}
}

int term_width(void)
{
	static int width;
	struct winsize ws;
	const char *c;
	uint64_t v;

	if (width)
		return width;
	width = 80;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) &&
	    ws.ws_col > 0)
		width = ws.ws_col;
	else if ((c = getenv("COLUMNS")) && !parse_u64(c, &v) && v >= 20 &&
		 v <= 10000)
		width = (int)v;
	/* Below 40 nothing useful fits: lines may then be longer. */
	if (width < 40)
		width = 40;
	return width;
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
	if (v < 9.95)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}
