// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * A small JSON reader, for pagescan diff to read what pagescan --json
 * wrote.  Strings come back as the bytes they stand for: \udcNN, the
 * escape of an invalid byte (json-schema.md), is that byte again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

struct parser {
	const char *p, *end;
	int depth;
	const char *err;
};

static void ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
				   *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int fail(struct parser *ps, const char *why)
{
	if (!ps->err)
		ps->err = why;
	return -1;
}

static int hex4(struct parser *ps, unsigned int *v)
{
	int i;

	*v = 0;
	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)*ps->p++);

		if (d < 0)
			return fail(ps, "bad \\u escape");
		*v = *v << 4 | (unsigned int)d;
	}
	return 0;
}

static void put_utf8(char **q, unsigned int c)
{
	char *o = *q;

	if (c < 0x80) {
		*o++ = (char)c;
	} else if (c < 0x800) {
		*o++ = (char)(0xc0 | c >> 6);
		*o++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*o++ = (char)(0xe0 | c >> 12);
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	} else {
		*o++ = (char)(0xf0 | c >> 18);
		*o++ = (char)(0x80 | ((c >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*o++ = (char)(0x80 | (c & 0x3f));
	}
	*q = o;
}

static int string(struct parser *ps, char **out)
{
	const char *s = ++ps->p;
	char *buf, *q;

	/* The decoded string is never longer than its source. */
	while (ps->p < ps->end && *ps->p != '"')
		ps->p += *ps->p == '\\' ? 2 : 1;
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	buf = malloc((size_t)(ps->p - s) + 1);
	if (!buf)
		return fail(ps, "out of memory");
	ps->p = s;
	q = buf;
	while (*ps->p != '"') {
		unsigned int c, lo;

		if ((unsigned char)*ps->p < 0x20) {
			free(buf);
			return fail(ps, "control byte in a string");
		}
		if (*ps->p != '\\') {
			*q++ = *ps->p++;
			continue;
		}
		ps->p++;
		switch (*ps->p++) {
		case '"': *q++ = '"'; break;
		case '\\': *q++ = '\\'; break;
		case '/': *q++ = '/'; break;
		case 'b': *q++ = '\b'; break;
		case 'f': *q++ = '\f'; break;
		case 'n': *q++ = '\n'; break;
		case 'r': *q++ = '\r'; break;
		case 't': *q++ = '\t'; break;
		case 'u':
			if (hex4(ps, &c)) {
				free(buf);
				return -1;
			}
			if (c >= 0xd800 && c < 0xdc00 && ps->end - ps->p >= 6 &&
			    ps->p[0] == '\\' && ps->p[1] == 'u') {
				const char *save = ps->p;

				ps->p += 2;
				if (!hex4(ps, &lo) && lo >= 0xdc00 &&
				    lo < 0xe000) {
					c = 0x10000 + ((c - 0xd800) << 10) +
					    (lo - 0xdc00);
				} else {
					ps->p = save;
					ps->err = NULL;
				}
			}
			if (c >= 0xdc80 && c <= 0xdcff)
				*q++ = (char)(c - 0xdc00);	/* a raw byte */
			else if (c == 0)
				*q++ = '?';
			else
				put_utf8(&q, c);
			break;
		default:
			free(buf);
			return fail(ps, "bad escape");
		}
	}
	ps->p++;
	*q = '\0';
	*out = buf;
	return 0;
}

static int value(struct parser *ps, struct jv *v);

static bool digit(const struct parser *ps, const char *p)
{
	return p < ps->end && *p >= '0' && *p <= '9';
}

/*
 * A number as JSON (RFC 8259) spells it, nothing more: strtod alone would
 * take "+5", " 5", "0x10", "inf" and "nan", and reading the integer part
 * of "6.5536e4" as 6 is a silent wrong count.  v->exact says whether it
 * is an integer from 0 to INT64_MAX written without fraction or exponent,
 * v->u its value; v->num is its value as a double in any case.
 */
static int number(struct parser *ps, struct jv *v)
{
	const char *p = ps->p;
	char buf[64];
	bool exact = true;
	uint64_t u = 0;

	v->type = JV_NUMBER;
	if (p < ps->end && *p == '-') {
		exact = false;
		p++;
	}
	if (!digit(ps, p))
		return fail(ps, "bad value");
	if (*p == '0') {
		p++;
	} else {
		for (; digit(ps, p); p++) {
			unsigned int d = (unsigned int)(*p - '0');

			if (u > (UINT64_C(0x7fffffffffffffff) - d) / 10)
				exact = false;
			else
				u = u * 10 + d;
		}
	}
	if (p < ps->end && *p == '.') {
		exact = false;
		if (!digit(ps, ++p))
			return fail(ps, "bad number");
		while (digit(ps, p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		exact = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (!digit(ps, p))
			return fail(ps, "bad number");
		while (digit(ps, p))
			p++;
	}
	if ((size_t)(p - ps->p) >= sizeof(buf))
		return fail(ps, "number too long");
	/* strtod on a copy: the document need not end in a NUL. */
	memcpy(buf, ps->p, (size_t)(p - ps->p));
	buf[p - ps->p] = '\0';
	v->num = strtod(buf, NULL);
	v->exact = exact;
	v->u = exact ? u : 0;
	ps->p = p;
	return 0;
}

static int push(struct jv *v, char *key, struct jv *item)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct jv *it = realloc(v->items, cap * sizeof(*it));
		char **k;

		if (!it)
			return -1;
		v->items = it;
		k = realloc(v->keys, cap * sizeof(*k));
		if (!k)
			return -1;
		v->keys = k;
		v->cap = cap;
	}
	v->keys[v->n] = key;
	v->items[v->n++] = *item;
	return 0;
}

static int container(struct parser *ps, struct jv *v, bool obj)
{
	char close = obj ? '}' : ']';

	v->type = obj ? JV_OBJECT : JV_ARRAY;
	if (++ps->depth > 64)
		return fail(ps, "nested too deep");
	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		struct jv item = { 0 };
		char *key = NULL;

		ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"' ||
			    string(ps, &key))
				return fail(ps, "expected a member name");
			ws(ps);
			if (ps->p >= ps->end || *ps->p++ != ':') {
				free(key);
				return fail(ps, "expected ':'");
			}
		}
		if (value(ps, &item) || push(v, key, &item)) {
			free(key);
			jv_free(&item);
			return fail(ps, "out of memory");
		}
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		return fail(ps, obj ? "expected ',' or '}'" :
			    "expected ',' or ']'");
	}
}

static int value(struct parser *ps, struct jv *v)
{
	ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	switch (*ps->p) {
	case '{':
		return container(ps, v, true);
	case '[':
		return container(ps, v, false);
	case '"':
		v->type = JV_STRING;
		return string(ps, &v->str);
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		int i;

		for (i = 0; i < 3; i++) {
			size_t l = strlen(words[i]);

			if ((size_t)(ps->end - ps->p) >= l &&
			    !memcmp(ps->p, words[i], l)) {
				ps->p += l;
				v->type = i == 2 ? JV_NULL : JV_BOOL;
				v->num = i == 0;
				return 0;
			}
		}
		return fail(ps, "bad literal");
	}
	default:
		return number(ps, v);
	}
}

int jv_parse(const char *s, size_t len, struct jv *out, const char **err)
{
	struct parser ps = { .p = s, .end = s + len };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = value(&ps, out);
	if (!ret) {
		ws(&ps);
		if (ps.p != ps.end)
			ret = fail(&ps, "text after the value");
	}
	if (ret) {
		jv_free(out);
		*err = ps.err;
		return -1;
	}
	return 0;
}

void jv_free(struct jv *v)
{
	size_t i;

	if (v->type == JV_STRING)
		free(v->str);
	for (i = 0; i < v->n; i++) {
		if (v->keys)
			free(v->keys[i]);
		jv_free(&v->items[i]);
	}
	free(v->items);
	free(v->keys);
	memset(v, 0, sizeof(*v));
}

const struct jv *jv_get(const struct jv *v, const char *key)
{
	size_t i;

	if (!v || v->type != JV_OBJECT)
		return NULL;
	for (i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key))
			return &v->items[i];
	return NULL;
}

const char *jv_str(const struct jv *v, const char *key)
{
	const struct jv *m = jv_get(v, key);

	return m && m->type == JV_STRING ? m->str : NULL;
}
