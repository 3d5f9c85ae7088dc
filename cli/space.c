// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The target's mapping list and the counting pass: one iterator walk over
 * the whole space (not one per mapping), keeping only present, swapped and
 * guard pages, each region attributed to the bucket (mapping or picture
 * cell) that holds it.  Holes produce no regions, so a 64 GiB reservation
 * with a few MiB touched costs what the few MiB cost.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"

/*
 * Addresses at or above this are not user space ([vsyscall] on x86-64);
 * PAGEMAP_SCAN rejects them (access_ok), so they are not listed.
 */
#define USER_TOP (UINT64_C(1) << 63)

static int add_vma(const struct pagescan_vma *v, void *ctx)
{
	struct space *s = ctx;
	struct mapping *m;

	if (v->start >= USER_TOP)
		return 0;
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
	m->start = v->start;
	m->end = v->end;
	m->size = v->end - v->start;
	m->nmaps = 1;
	m->flags = v->flags;
	m->name = strdup(v->name ? v->name : "");
	if (!m->name)
		return -ENOMEM;
	s->n++;
	return 0;
}

int space_load(struct space *s)
{
	int ret;

	s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	s->avail = cats_meaningful();
	ret = pagescan_vmas(s->ps, 0, UINT64_MAX, 0, add_vma, s);
	return ret < 0 ? ret : 0;
}

void space_free(struct space *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->m[i].name);
	free(s->m);
	s->m = NULL;
	s->n = s->cap = 0;
}

const char *mapping_label(const struct mapping *m)
{
	if (m->name[0])
		return m->name;
	return m->flags & PAGESCAN_VMA_SHARED ? "[anon shared]" : "[anon]";
}

void counts_add(struct counts *to, const struct counts *from)
{
	int i;

	to->present += from->present;
	to->swapped += from->swapped;
	to->file += from->file;
	to->zero += from->zero;
	to->huge += from->huge;
	to->sdirty += from->sdirty;
	to->guard += from->guard;
	for (i = 0; i < CLS__COUNT; i++)
		to->cls[i] += from->cls[i];
}

static void account(struct counts *c, uint64_t cats, uint64_t pages)
{
	enum page_class k;

	/*
	 * A guard marker reads SWAPPED|WRITTEN|GUARD (6.16+); it is not a
	 * swapped page.  (6.13-6.15 lack the GUARD bit: guards count as
	 * swapped there, the kernel does not tell them apart.)
	 */
	if (cats & PAGESCAN_CAT_GUARD) {
		c->guard += pages;
		k = CLS_GUARD;
	} else if (cats & PAGESCAN_CAT_SWAPPED) {
		c->swapped += pages;
		k = CLS_SWAP;
	} else if (cats & PAGESCAN_CAT_PRESENT) {
		c->present += pages;
		if (cats & PAGESCAN_CAT_HUGE)
			k = CLS_HUGE;
		else if (cats & PAGESCAN_CAT_PFNZERO)
			k = CLS_ZERO;
		else if (cats & PAGESCAN_CAT_FILE)
			k = CLS_FILE;
		else
			k = CLS_ANON;
	} else {
		k = CLS_EMPTY;
	}
	if (cats & PAGESCAN_CAT_FILE)
		c->file += pages;
	if (cats & PAGESCAN_CAT_PFNZERO)
		c->zero += pages;
	if ((cats & PAGESCAN_CAT_HUGE) &&
	    (cats & (PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED)))
		c->huge += pages;
	if (cats & PAGESCAN_CAT_SOFT_DIRTY)
		c->sdirty += pages;
	c->cls[k] += pages;
}

struct pass {
	struct bucket *b;
	size_t nb, i;
	struct counts *other;
	uint64_t page_size;
};

static int attribute(const struct pagescan_region *r, void *ctx)
{
	struct pass *p = ctx;
	uint64_t a = r->start;

	/* Regions merge across mapping boundaries: split them again. */
	while (a < r->end) {
		struct bucket *b;
		uint64_t e;

		while (p->i < p->nb && p->b[p->i].end <= a)
			p->i++;
		if (p->i == p->nb) {
			account(p->other, r->categories,
				(r->end - a) / p->page_size);
			break;
		}
		b = &p->b[p->i];
		if (b->start > a) {
			/* A mapping created after we read the list. */
			e = b->start < r->end ? b->start : r->end;
			account(p->other, r->categories,
				(e - a) / p->page_size);
			a = e;
			continue;
		}
		e = b->end < r->end ? b->end : r->end;
		account(b->c, r->categories, (e - a) / p->page_size);
		a = e;
	}
	return 0;
}

int count_pass(struct space *s, struct bucket *b, size_t nb,
	       struct counts *other)
{
	uint64_t want = PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED |
			PAGESCAN_CAT_FILE | PAGESCAN_CAT_PFNZERO |
			PAGESCAN_CAT_HUGE | PAGESCAN_CAT_SOFT_DIRTY |
			PAGESCAN_CAT_GUARD;
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.return_mask = want & s->avail,
		/* Guard markers are SWAPPED too, so this keeps them. */
		.category_anyof_mask = (PAGESCAN_CAT_PRESENT |
					PAGESCAN_CAT_SWAPPED) & s->avail);
	struct pass p = {
		.b = b, .nb = nb, .other = other, .page_size = s->page_size,
	};
	int ret;

	if (!nb)
		return 0;
	ret = pagescan_foreach(s->ps, b[0].start, b[nb - 1].end, &o,
			       attribute, &p);
	return ret < 0 ? ret : 0;
}

int space_count(struct space *s)
{
	struct bucket *b;
	size_t i;
	int ret;

	b = calloc(s->n ? s->n : 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		memset(&s->m[i].c, 0, sizeof(s->m[i].c));
		b[i].start = s->m[i].start;
		b[i].end = s->m[i].end;
		b[i].c = &s->m[i].c;
	}
	memset(&s->other, 0, sizeof(s->other));
	ret = count_pass(s, b, s->n, &s->other);
	free(b);
	return ret;
}

const struct col cols[NCOLS] = {
	{ "present", "present", PAGESCAN_CAT_PRESENT,
	  offsetof(struct counts, present) },
	{ "swapped", "swapped", PAGESCAN_CAT_SWAPPED,
	  offsetof(struct counts, swapped) },
	{ "file", "file", PAGESCAN_CAT_FILE, offsetof(struct counts, file) },
	{ "zero", "zero", PAGESCAN_CAT_PFNZERO, offsetof(struct counts, zero) },
	{ "huge", "huge", PAGESCAN_CAT_HUGE, offsetof(struct counts, huge) },
	{ "soft-dirty", "soft_dirty", PAGESCAN_CAT_SOFT_DIRTY,
	  offsetof(struct counts, sdirty) },
	{ "guard", "guard", PAGESCAN_CAT_GUARD,
	  offsetof(struct counts, guard) },
};

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
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, (int)len, f)) {
		snprintf(buf, len, "?");
	} else {
		buf[strcspn(buf, "\n")] = '\0';
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

static int scan_error(struct space *s, int err, const char *what)
{
	if (err == -ESRCH || err == -ENOENT)
		err_msg("pid %d exited during the %s; nothing printed",
			(int)s->pid, what);
	else if (err == -EACCES || err == -EPERM)
		err_msg("may not read pid %d (%s): that needs ptrace read "
			"access; run as its user or as root", (int)s->pid,
			strerror(-err));
	else
		err_msg("%s of pid %d failed: %s", what, (int)s->pid,
			strerror(-err));
	return exit_code(-err);
}

int space_begin(struct space *s, pid_t pid, bool count)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	ret = target_open(pid, &s->ps);
	if (ret)
		return ret;
	ret = space_load(s);
	if (ret) {
		ret = scan_error(s, ret, "reading of the mappings");
		space_end(s);
		return ret;
	}
	/*
	 * For tests only: stop here, so that a test can make the target
	 * exit between the mapping list and the scan (tests/cli-errors.sh).
	 */
	if (getenv("PAGESCAN_CLI_STOP_BEFORE_SCAN"))
		raise(SIGSTOP);
	if (count) {
		ret = space_count(s);
		if (ret) {
			ret = scan_error(s, ret, "scan");
			space_end(s);
			return ret;
		}
	}
	return EX_OK;
}

int space_recount(struct space *s)
{
	int ret;

	space_free(s);
	ret = space_load(s);
	if (!ret)
		ret = space_count(s);
	return ret;
}

void space_end(struct space *s)
{
	space_free(s);
	if (s->ps)
		pagescan_close(s->ps);
	s->ps = NULL;
}
