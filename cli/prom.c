// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The Prometheus exposition formats: text 0.0.4 and OpenMetrics 1.0.
 * The two differ where a parser would notice: OpenMetrics names a
 * counter's family without the _total its samples carry, may give a
 * # UNIT, and must end with # EOF.  Label values are whatever bytes a
 * process chose (its comm, its mapping names): made valid UTF-8, then
 * escaped, so that no name can end a label, a line or the scrape.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "prom.h"

void prom_utf8(struct obuf *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		int n = utf8_seq(p, &cp);

		if (!n) {
			ob_puts(o, "\xef\xbf\xbd");	/* U+FFFD */
			p++;
			continue;
		}
		ob_putn(o, (const char *)p, (size_t)n);
		p += n;
	}
}

void prom_label_value(struct obuf *o, const char *s)
{
	struct obuf u = { 0 };
	const char *p;

	prom_utf8(&u, s);
	for (p = u.buf ? u.buf : ""; *p; p++) {
		switch (*p) {
		case '\\':
			ob_puts(o, "\\\\");
			break;
		case '"':
			ob_puts(o, "\\\"");
			break;
		case '\n':
			ob_puts(o, "\\n");
			break;
		default:
			ob_putn(o, p, 1);
		}
	}
	if (u.oom)
		o->oom = true;
	ob_free(&u);
}

void prom_family(struct prom *p, const char *name, const char *type,
		 const char *unit, const char *help)
{
	/* The text format names the family as its samples are named. */
	const char *sfx = !p->om && !strcmp(type, "counter") ? "_total" : "";

	ob_printf(p->o, "# HELP %s%s %s\n", name, sfx, help);
	ob_printf(p->o, "# TYPE %s%s %s\n", name, sfx, type);
	if (p->om && unit)
		ob_printf(p->o, "# UNIT %s %s\n", name, unit);
}

void prom_sample(struct prom *p, const char *name, bool counter,
		 const char *const *lv, size_t nl, const char *value)
{
	size_t i;

	ob_puts(p->o, name);
	if (counter)
		ob_puts(p->o, "_total");
	for (i = 0; i < nl; i++) {
		ob_printf(p->o, "%s%s=\"", i ? "," : "{", lv[2 * i]);
		prom_label_value(p->o, lv[2 * i + 1]);
		ob_puts(p->o, "\"");
	}
	ob_printf(p->o, "%s %s\n", nl ? "}" : "", value);
}

void prom_sample_u64(struct prom *p, const char *name, bool counter,
		     const char *const *lv, size_t nl, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	prom_sample(p, name, counter, lv, nl, b);
}

void prom_sample_f(struct prom *p, const char *name, bool counter,
		   const char *const *lv, size_t nl, double v)
{
	char b[64];

	if (isnan(v))
		snprintf(b, sizeof(b), "NaN");
	else
		/* %.9g: nanoseconds of a duration, no locale (C numerics). */
		snprintf(b, sizeof(b), "%.9g", v);
	prom_sample(p, name, counter, lv, nl, b);
}

void prom_end(struct prom *p)
{
	if (p->om)
		ob_puts(p->o, "# EOF\n");
}
