// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the VMA reader (src/maps.c) and pagescan_vmas(): every
 * line of /proc/self/maps parsed (addresses, permissions, offset, device,
 * inode, name with spaces), smaps-only fields (KernelPageSize, VmFlags
 * hg/nh/uw/ht, THP bytes), ps_maps_find() at and around boundaries, the
 * range filter and stop value of pagescan_vmas(), bad arguments.
 */
#include "scan-common.h"

#include "internal.h"

#include <sys/mman.h>

struct find {
	uint64_t addr;
	uint32_t flags;
	uint64_t page_size;
	char name[128];
	int calls;
	int found;
};

static int cb_find(const struct pagescan_vma *v, void *ctx)
{
	struct find *f = ctx;

	f->calls++;
	if (v->start <= f->addr && f->addr < v->end) {
		f->flags = v->flags;
		f->page_size = v->page_size;
		snprintf(f->name, sizeof(f->name), "%s", v->name);
		f->found++;
	}
	return 0;
}

static int cb_stop(const struct pagescan_vma *v, void *ctx)
{
	return ++*(int *)ctx == 2 ? 77 : 0;
}

static struct find lookup(void *p, unsigned int flags)
{
	struct find f = { .addr = (uintptr_t)p };
	int r = pagescan_vmas(sc_handle(), (uintptr_t)p, (uintptr_t)p + 1,
			      flags, cb_find, &f);

	t_check(r == 0, "pagescan_vmas: %d", r);
	return f;
}

int main(void)
{
	struct ps_maps m;
	char path[] = "/var/tmp/pagescan unit maps.XXXXXX";
	struct find f;
	char *text, *line, *save;
	size_t i = 0, k;
	char *a, *q;
	int fd, r, n;

	t_init("unit-maps");
	a = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	mprotect(a + t_psz, t_psz, PROT_READ | PROT_EXEC);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 8 * (off_t)t_psz))
		t_error("mkstemp");
	q = mmap(NULL, 2 * t_psz, PROT_READ, MAP_SHARED, fd,
		 2 * (off_t)t_psz);
	if (q == MAP_FAILED)
		t_error("mmap file");

	/*
	 * Parsed like the file says, line by line.  The allocator (ASan's
	 * above all) may map memory at any time: take a text snapshot that
	 * is the same before and after ps_maps_read().
	 */
	for (k = 0;; k++) {
		char *t2;
		size_t l1, l2;

		if (sys_read_file("/proc/self/maps", &text, &l1))
			t_error("read maps");
		r = ps_maps_read(getpid(), 0, &m);
		if (r)
			t_error("ps_maps_read %d", r);
		if (sys_read_file("/proc/self/maps", &t2, &l2))
			t_error("read maps");
		if (l1 == l2 && !memcmp(text, t2, l1)) {
			free(t2);
			break;
		}
		free(t2);
		free(text);
		ps_maps_free(&m);
		if (k == 50)
			t_error("/proc/self/maps never stable");
	}
	for (line = strtok_r(text, "\n", &save); line && i < m.n;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e, off, ino;
		unsigned int maj, min;
		char perm[5];
		int pos = 0;

		if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &s, &e, perm,
			   &off, &maj, &min, &ino, &pos) < 7)
			continue;
		if (m.v[i].start != s || m.v[i].end != e ||
		    m.v[i].offset != off || m.v[i].dev_major != maj ||
		    m.v[i].dev_minor != min || m.v[i].inode != ino ||
		    !!(m.v[i].flags & PAGESCAN_VMA_READ) != (perm[0] == 'r') ||
		    !!(m.v[i].flags & PAGESCAN_VMA_WRITE) != (perm[1] == 'w') ||
		    !!(m.v[i].flags & PAGESCAN_VMA_EXEC) != (perm[2] == 'x') ||
		    !!(m.v[i].flags & PAGESCAN_VMA_SHARED) != (perm[3] == 's'))
			t_fail("vma %zu differs from '%s'", i, line);
		/* The name: the rest of the line (maps pads with spaces). */
		if (strcmp(ps_vma_name(&m, &m.v[i]), line + pos))
			t_fail("vma %zu name '%s' vs '%s'", i,
			       ps_vma_name(&m, &m.v[i]), line + pos);
		i++;
	}
	free(text);
	t_check(i == m.n && m.n > 5, "parsed %zu of %zu", i, m.n);
	/* ps_maps_find: the first VMA whose end is > addr. */
	for (k = 0; k < m.n; k++) {
		t_eq(ps_maps_find(&m, m.v[k].start), k);
		t_eq(ps_maps_find(&m, m.v[k].end - 1), k);
		if (k + 1 < m.n)
			t_eq(ps_maps_find(&m, m.v[k].end), k + 1);
	}
	t_eq(ps_maps_find(&m, 0), 0);
	t_eq(ps_maps_find(&m, UINT64_MAX), m.n);
	ps_maps_free(&m);

	/* Through the public API. */
	f = lookup(a + t_psz, 0);
	t_eq(f.found, 1);
	t_eq(f.calls, 1);
	t_eq(f.flags, PAGESCAN_VMA_READ | PAGESCAN_VMA_EXEC);
	t_eq(f.page_size, 0);
	f = lookup(q, 0);
	t_check(f.found == 1 && strstr(f.name, "pagescan unit maps") &&
		f.flags == (PAGESCAN_VMA_READ | PAGESCAN_VMA_SHARED),
		"file mapping: '%s' %#x", f.name, f.flags);
	unlink(path);
	f = lookup(q, 0);
	t_check(strstr(f.name, "(deleted)") != NULL, "deleted name '%s'",
		f.name);
	madvise(a, 4 * t_psz, MADV_HUGEPAGE);
	f = lookup(a, PAGESCAN_VMAS_SMAPS);
	t_eq(f.page_size, t_psz);
	if (pagescan_probe(PAGESCAN_FEAT_THP) == 1)
		t_check(f.flags & PAGESCAN_VMA_HUGEPAGE, "no hg flag: %#x",
			f.flags);
	madvise(a, 4 * t_psz, MADV_NOHUGEPAGE);
	f = lookup(a, PAGESCAN_VMAS_SMAPS);
	if (pagescan_probe(PAGESCAN_FEAT_THP) == 1)
		t_check(f.flags & PAGESCAN_VMA_NOHUGEPAGE, "no nh flag: %#x",
			f.flags);
	if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) == 1) {
		int u = sc_uffd_register(a, 4 * t_psz, true);

		f = lookup(a, PAGESCAN_VMAS_SMAPS);
		t_check(u >= 0 && (f.flags & PAGESCAN_VMA_UFFD_WP),
			"no uw flag: %#x", f.flags);
		if (u >= 0)
			close(u);
	}
	/* Range filter, stop value, bad arguments. */
	n = 0;
	r = pagescan_vmas(sc_handle(), 0, UINT64_MAX, 0, cb_stop, &n);
	t_eq(r, 77);
	t_eq(n, 2);
	f = (struct find){ .addr = 0 };
	r = pagescan_vmas(sc_handle(), (uintptr_t)a, (uintptr_t)a + 4 * t_psz,
			  0, cb_find, &f);
	t_eq(r, 0);
	t_eq(f.calls, 3);	/* rw, r-x, rw */
	f.calls = 0;
	r = pagescan_vmas(sc_handle(), (uintptr_t)a, (uintptr_t)a, 0, cb_find,
			  &f);
	t_check(r == 0 && f.calls == 0, "empty range: %d, %d calls", r,
		f.calls);
	r = pagescan_vmas(sc_handle(), (uintptr_t)a + 8, (uintptr_t)a + 8, 0,
			  cb_find, &f);
	t_check(r == 0 && f.calls == 0,
		"empty range inside a VMA: %d, %d calls", r, f.calls);
	t_check(pagescan_vmas(NULL, 0, 1, 0, cb_find, &f) == -EINVAL,
		"NULL handle");
	t_check(pagescan_vmas(sc_handle(), 0, 1, 0, NULL, &f) == -EINVAL,
		"NULL fn");
	t_check(pagescan_vmas(sc_handle(), 0, 1, 2, cb_find, &f) == -EINVAL,
		"unknown flag");
	t_check(pagescan_vmas(sc_handle(), 2, 1, 0, cb_find, &f) == -EINVAL,
		"end < start");
	t_done();
}
