// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the categories of each kind of memory (contract 5.1):
 * private anonymous untouched / written / read, shared anonymous, private
 * and shared files, memfd, PROT_NONE, MADV_DONTNEED, holes with no page
 * table, [vvar] skipped and [vdso] walked, FILE computed only when asked,
 * SOFT_DIRTY absent without CONFIG_MEM_SOFT_DIRTY.  Raw ioctl,
 * pagescan_ioctl() and pagescan_scan() compared on every request.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2 (2UL << 20)

static struct page_region v[64];

static void anon(void)
{
	char *p = t_map_aligned(MB2, MB2, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
	uintptr_t P = (uintptr_t)p;
	struct sc_res r;
	int zp;

	madvise(p, MB2, MADV_NOHUGEPAGE);
	/* No page table at all: one region of categories 0. */
	r = sc_all(p, 8 * t_psz, v, 64, "anon untouched");
	sc_expect(r, 1, P + 8 * t_psz, "anon untouched");
	sc_region(v, 0, P, P + 8 * t_psz, 0, "anon untouched");
	/* The WRITTEN fast path reports nothing for a hole. */
	{
		struct pm_scan_arg a = t_arg(p, p + 8 * t_psz, v, 64, 0, 0, 0,
					     PAGE_IS_WRITTEN, 0,
					     PAGE_IS_WRITTEN);

		sc_expect(sc_run(&a, true, "fast path hole"), 0,
			  P + 8 * t_psz, "fast path hole");
	}

	/* Page 0 written: the table exists, pte_none pages are WRITTEN. */
	p[0] = 1;
	r = sc_all(p, 8 * t_psz, v, 64, "anon written");
	sc_expect(r, 2, P + 8 * t_psz, "anon written");
	sc_region(v, 0, P, P + t_psz, 0xa, "anon written");
	sc_region(v, 1, P + t_psz, P + 8 * t_psz, NONE_W, "anon pte_none");

	/* Page 2 read: the zero page where the kernel maps it. */
	zp = pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE);
	t_read(p + 2 * t_psz, t_psz);
	r = sc_all(p, 8 * t_psz, v, 64, "anon read");
	if (zp == 1) {
		sc_expect(r, 4, P + 8 * t_psz, "anon read");
		sc_region(v, 2, P + 2 * t_psz, P + 3 * t_psz,
			  PAGE_IS_PRESENT | PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
			  "zero page");
	} else if (zp == 0) {
		sc_expect(r, 4, P + 8 * t_psz, "anon read");
		sc_region(v, 2, P + 2 * t_psz, P + 3 * t_psz, 0xa,
			  "read, no zero page");
	} else {
		printf("note: zero-page probe gave %d, read page unchecked\n",
		       zp);
	}

	/* MADV_DONTNEED zaps the PTEs, keeps the table: WRITTEN only. */
	t_touch(p, 8 * t_psz);
	madvise(p, 8 * t_psz, MADV_DONTNEED);
	r = sc_all(p, 8 * t_psz, v, 64, "DONTNEED");
	sc_expect(r, 1, P + 8 * t_psz, "DONTNEED");
	sc_region(v, 0, P, P + 8 * t_psz, NONE_W, "DONTNEED");
	{
		struct pm_scan_arg a = t_arg(p, p + 8 * t_psz, v, 64, 0, 0, 0,
					     PAGE_IS_WRITTEN, 0,
					     PAGE_IS_WRITTEN);

		sc_expect(sc_run(&a, true, "DONTNEED fast"), 1, P + 8 * t_psz,
			  "DONTNEED fast path");
		sc_region(v, 0, P, P + 8 * t_psz, 0x2, "DONTNEED fast");
		a.category_mask = 0;
		a.category_anyof_mask = PAGE_IS_WRITTEN;
		sc_expect(sc_run(&a, true, "DONTNEED anyof"), NONE_W ? 1 : 0,
			  P + 8 * t_psz, "DONTNEED generic anyof");
	}

	/* PROT_NONE keeps a present (protnone) PTE. */
	t_touch(p + 16 * t_psz, 2 * t_psz);
	mprotect(p + 16 * t_psz, 2 * t_psz, PROT_NONE);
	r = sc_all(p + 16 * t_psz, 2 * t_psz, v, 64, "PROT_NONE");
	sc_expect(r, 1, P + 18 * t_psz, "PROT_NONE");
	sc_region(v, 0, P + 16 * t_psz, P + 18 * t_psz, 0xa, "PROT_NONE");
	munmap(p, MB2);
}

static void shared_anon(void)
{
	char *p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS);
	uintptr_t P = (uintptr_t)p;

	p[0] = 1;
	t_read(p + t_psz, t_psz);
	sc_expect(sc_all(p, 4 * t_psz, v, 64, "shmem"), 2, P + 4 * t_psz,
		  "shmem");
	sc_region(v, 0, P, P + 2 * t_psz, 0xe, "shmem written+read");
	sc_region(v, 1, P + 2 * t_psz, P + 4 * t_psz, NONE_W, "shmem none");
	munmap(p, 4 * t_psz);
}

static void files(void)
{
	int fd = t_tmpfile(4 * t_psz, 'x');
	char *p = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fd, 0);
	char *q = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	uintptr_t P = (uintptr_t)p, Q = (uintptr_t)q;
	struct pm_scan_arg a;

	if (p == MAP_FAILED || q == MAP_FAILED)
		t_error("mmap file");
	t_read(p, t_psz);
	p[t_psz] = 'y';
	sc_all(p, 4 * t_psz, v, 64, "private file");
	/* Untouched pages depend on fault-around: check the touched two. */
	sc_region(v, 0, P, P + t_psz, 0xe, "private file read");
	sc_region(v, 1, P + t_psz, P + 2 * t_psz, 0xa,
		  "private file after COW (anon now)");

	t_read(q, t_psz);
	q[t_psz] = 'z';
	a = t_arg(q, q + 2 * t_psz, v, 64, 0, 0, 0, 0, 0, SC_ALL);
	sc_expect(sc_run(&a, true, "shared file"), 1, Q + 2 * t_psz,
		  "shared file");
	sc_region(v, 0, Q, Q + 2 * t_psz, 0xe, "shared file read+write");

	/* FILE is computed only when one of the masks names it. */
	a = t_arg(q, q + 2 * t_psz, v, 64, 0, 0, 0, PAGE_IS_FILE, 0,
		  PAGE_IS_PRESENT);
	sc_expect(sc_run(&a, true, "mask FILE ret PRESENT"), 1,
		  Q + 2 * t_psz, "mask FILE ret PRESENT");
	sc_region(v, 0, Q, Q + 2 * t_psz, PAGE_IS_PRESENT, "mask=FILE");
	a = t_arg(q, q + 2 * t_psz, v, 64, 0, 0, PAGE_IS_FILE, 0, 0,
		  PAGE_IS_PRESENT);
	sc_expect(sc_run(&a, true, "inverted FILE only"), 1,
		  Q + 2 * t_psz, "inverted FILE only");
	a = t_arg(q, q + 2 * t_psz, v, 64, 0, 0, PAGE_IS_FILE, PAGE_IS_FILE,
		  0, PAGE_IS_PRESENT);
	sc_expect(sc_run(&a, true, "select non-file"), 0, Q + 2 * t_psz,
		  "inverted+mask FILE on file pages");
	munmap(p, 4 * t_psz);
	munmap(q, 4 * t_psz);
	close(fd);
}

static void memfd(void)
{
	int fd = memfd_create("pagescan-kinds", MFD_CLOEXEC);
	char *p, *q;
	uintptr_t P, Q;

	if (fd < 0 || ftruncate(fd, (off_t)(4 * t_psz)))
		t_error("memfd");
	p = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	q = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || q == MAP_FAILED)
		t_error("mmap memfd");
	P = (uintptr_t)p;
	Q = (uintptr_t)q;
	q[2 * t_psz] = 1;	/* a shmem page exists for page 2 */
	t_read(p, t_psz);
	p[t_psz] = 1;
	sc_expect(sc_all(p, 2 * t_psz, v, 64, "memfd private"), 2,
		  P + 2 * t_psz, "memfd private");
	sc_region(v, 0, P, P + t_psz, 0xe, "memfd private read");
	sc_region(v, 1, P + t_psz, P + 2 * t_psz, 0xa,
		  "memfd private COW");
	sc_expect(sc_all(q + 2 * t_psz, t_psz, v, 64, "memfd shared"), 1,
		  Q + 3 * t_psz, "memfd shared");
	sc_region(v, 0, Q + 2 * t_psz, Q + 3 * t_psz, 0xe,
		  "memfd shared written");
	munmap(p, 4 * t_psz);
	munmap(q, 4 * t_psz);
	close(fd);
}

static void special(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int seen = 0;

	if (!f)
		t_error("maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		struct sc_res r;

		if (sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		if (strstr(line, "[vvar]") || strstr(line, "[vvar_vclock]")) {
			struct pm_scan_arg a = t_arg((void *)s, (void *)e, v,
						     64, 0, 0, 0, 0, 0,
						     SC_ALL);

			/* VM_PFNMAP: skipped even with mask 0. */
			r = sc_run(&a, true, "vvar");
			sc_expect(r, 0, e, "[vvar] (VM_PFNMAP) skipped");
			seen |= 1;
		} else if (strstr(line, "[vdso]")) {
			struct pm_scan_arg a = t_arg((void *)s, (void *)e, v,
						     64, 0, 0, 0, 0, 0,
						     SC_ALL);

			/* Walked: its pages are FILE (not anon). */
			r = sc_run(&a, true, "vdso");
			t_check(r.ret >= 1 && v[0].start == s &&
				(v[0].categories & 0xe) == 0xe,
				"[vdso]: ret %d first %s", r.ret,
				t_cats(v[0].categories));
			seen |= 2;
		}
	}
	fclose(f);
	if (!(seen & 2))
		printf("note: no [vdso] mapping, not checked\n");
}

static void soft_dirty(void)
{
	char *p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	uintptr_t P = (uintptr_t)p;
	struct pm_scan_arg a;

	if (pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) != 0 ||
	    pagescan_probe(PAGESCAN_FEAT_CAT_SOFT_DIRTY) != 1) {
		printf("note: soft-dirty configured or bit unknown, "
		       "absence not checked\n");
		return;
	}
	t_touch(p, 4 * t_psz);
	a = t_arg(p, p + 4 * t_psz, v, 64, 0, 0, 0, PAGE_IS_SOFT_DIRTY, 0,
		  SC_ALL);
	sc_expect(sc_run(&a, true, "mask SOFT_DIRTY"), 0, P + 4 * t_psz,
		  "mask=SOFT_DIRTY without CONFIG_MEM_SOFT_DIRTY");
	a.category_inverted = PAGE_IS_SOFT_DIRTY;
	sc_expect(sc_run(&a, true, "inverted SOFT_DIRTY"), 1, P + 4 * t_psz,
		  "inverted+mask=SOFT_DIRTY");
	sc_region(v, 0, P, P + 4 * t_psz, 0xa, "inverted SOFT_DIRTY");
	munmap(p, 4 * t_psz);
}

int main(void)
{
	t_init("scan-kinds");
	sc_need_scan();
	anon();
	shared_anon();
	files();
	memfd();
	special();
	soft_dirty();
	t_done();
}
