// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The VMA view: which mappings the target has and what kind they are,
 * from maps (cheap) or smaps (VmFlags, page sizes, THP counts: the kernel
 * walks every page table of the process for it), and whether its
 * userfaultfds are asynchronous (fdinfo).
 */
#include "emu.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

/* Is this VMA's uffd-wp registration async (WP_ASYNC)? */
int emu_vma_wp_allowed(struct emu *s, const struct ps_vma *v)
{
	if (!(v->flags & PAGESCAN_VMA_UFFD_WP))
		return 0;
	if (!s->caps->native_wp)
		return 0;
	if (s->wp_async < 0)
		return -EOPNOTSUPP;	/* EMU_QUIRK_UNDECIDABLE */
	return s->wp_async;
}

/*
 * Do the target's userfaultfds have WP_ASYNC?  /proc/PID/fdinfo of a
 * userfaultfd shows "API:\t<api>:<features>:<ioctls>" (since 4.3).
 * 1: all do, 0: none does, -1: mixed or none found.
 */
int emu_uffd_async_state(const char *pdir)
{
	char path[PATH_MAX + 300], link[64], buf[512];
	int all = 1, none = 1, found = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/fd", pdir);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char *api;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/fd/%s", pdir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[userfaultfd]"))
			continue;
		snprintf(path, sizeof(path), "%s/fdinfo/%s", pdir, d->d_name);
		if (sys_read_small(path, buf, sizeof(buf)))
			continue;
		api = strstr(buf, "API:\t");
		if (!api)
			continue;
		api = strchr(api, ':');
		api = api ? strchr(api + 1, ':') : NULL;
		if (!api)
			continue;
		found = 1;
		if (strtoull(api + 1, NULL, 16) & UFFD_FEATURE_WP_ASYNC)
			none = 0;
		else
			all = 0;
	}
	closedir(dir);
	if (!found)
		return -1;
	return all ? 1 : none ? 0 : -1;
}

/*
 * Shared anonymous memory: "/dev/zero (deleted)" (named ones, 6.2+:
 * "[anon_shmem:NAME]") on the internal shm mount, whose files a process
 * cannot name itself (memfd's are "/memfd:..."), and which hugetlb and
 * VM_PFNMAP mappings never use.
 */
static bool vma_is_shared_anon(const struct emu *s, const struct ps_maps *m,
			       const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);

	if (!s->caps->shm_known || !(v->flags & PAGESCAN_VMA_SHARED) ||
	    v->dev_major != s->caps->shm_major ||
	    v->dev_minor != s->caps->shm_minor)
		return false;
	return !strcmp(name, "/dev/zero (deleted)") ||
	       !strncmp(name, "[anon_shmem:", 12);
}

/* Does this VMA need smaps (VmFlags, page size) to be handled exactly? */
static bool vma_is_plain(const struct ps_maps *m, const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);

	if (v->inode)
		return false;
	return !*name || !strcmp(name, "[heap]") || !strcmp(name, "[stack]") ||
	       !strcmp(name, "[vdso]") || !strncmp(name, "[anon:", 6) ||
	       !strncmp(name, "[stack:", 7);
}

/*
 * A MAP_PRIVATE mapping of /dev/zero: the driver makes it anonymous
 * (vma_set_anonymous(), no vm_ops) but keeps the file, so maps shows the
 * node's inode and name.  Its pages are anonymous ones or the zero pages,
 * exactly as in a MAP_ANONYMOUS mapping.  Recognised by our own node: a
 * target whose /dev is another filesystem is treated as a file mapping.
 */
static bool vma_is_private_devzero(const struct emu *s,
				   const struct ps_maps *m,
				   const struct ps_vma *v)
{
	return s->caps->devzero_known && !(v->flags & PAGESCAN_VMA_SHARED) &&
	       v->inode == s->caps->devzero_ino &&
	       v->dev_major == s->caps->devzero_major &&
	       v->dev_minor == s->caps->devzero_minor &&
	       !strcmp(ps_vma_name(m, v), "/dev/zero");
}

/* Private anonymous memory: only anon pages, the zero page or none. */
bool emu_vma_anon_private(const struct emu *s, const struct ps_maps *m,
			  const struct ps_vma *v)
{
	if (vma_is_private_devzero(s, m, v))
		return true;
	return vma_is_plain(m, v) && !(v->flags & PAGESCAN_VMA_SHARED) &&
	       strcmp(ps_vma_name(m, v), "[vdso]");
}

static bool vma_is_pfnmap_by_name(const struct ps_maps *m,
				  const struct ps_vma *v)
{
	const char *name = ps_vma_name(m, v);

	return !strcmp(name, "[vvar]") || !strcmp(name, "[vvar_vclock]");
}

/*
 * A bare descriptor's address space is still the one its process has
 * now?  The same entries through it and through a fresh open of the
 * process's pagemap, at pages certain to be present in the current image
 * (our own stack for ourselves, the top of [stack] otherwise): a present
 * page that reads as nothing (or, with PFNs, as another frame) through
 * the descriptor shows another address space.  Equal entries prove
 * nothing (EMU_QUIRK_BARE_DESCRIPTOR).  0, -EOPNOTSUPP or -errno.
 */
#define ANCHOR_PAGES 16

static int anchor_differs(struct emu *s, int fresh, uint64_t at, size_t n)
{
	uint64_t a[ANCHOR_PAGES], b[ANCHOR_PAGES];
	off_t off = (off_t)((at >> s->shift) * 8);
	size_t i;

	if (sys_pread_full(fresh, b, n * 8, off) != (ssize_t)(n * 8))
		return 0;
	if (sys_pread_full(s->fd, a, n * 8, off) != (ssize_t)(n * 8))
		return -ESRCH;
	for (i = 0; i < n; i++) {
		if (!(b[i] & PM_ENTRY_PRESENT))
			continue;
		if (!(a[i] & (PM_ENTRY_PRESENT | PM_ENTRY_SWAP)))
			return 1;
		if ((a[i] & PM_ENTRY_PRESENT) && (a[i] & PM_ENTRY_PFN_MASK) &&
		    (a[i] & PM_ENTRY_PFN_MASK) != (b[i] & PM_ENTRY_PFN_MASK))
			return 1;
	}
	return 0;
}

static int bare_same_mm(struct emu *s, const struct ps_maps *m)
{
	char path[PATH_MAX + 16];
	volatile char here = 1;
	uint64_t at = 0;
	size_t n = 1, i;
	int fresh, ret = 0, tries;

	if (s->self) {
		at = (uintptr_t)&here & ~(s->psz - 1);
	} else {
		for (i = 0; i < m->n && !at; i++) {
			const struct ps_vma *v = &m->v[i];

			if (strcmp(ps_vma_name(m, v), "[stack]"))
				continue;
			n = (size_t)((v->end - v->start) >> s->shift);
			if (n > ANCHOR_PAGES)
				n = ANCHOR_PAGES;
			at = v->end - (n << s->shift);
		}
		if (!at)
			return 0;
	}
	snprintf(path, sizeof(path), "%s/pagemap", s->dir);
	fresh = open(path, O_RDONLY | O_CLOEXEC);
	if (fresh < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* A page may move between the two reads: ask twice. */
	for (tries = 0; tries < 2; tries++) {
		ret = anchor_differs(s, fresh, at, n);
		if (ret <= 0)
			break;
	}
	(void)here;
	close(fresh);
	return ret > 0 ? -EOPNOTSUPP : ret;
}

/*
 * A process whose leader has exited (pthread_exit() from main) lists no
 * VMAs in its own directory, but its other threads share the address
 * space the descriptor reads: take the list from one of them, and read
 * by its directory from then on.
 */
static int read_live_thread(struct emu *s, bool smaps, struct ps_maps *m)
{
	char path[PATH_MAX + 8];
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/task", s->dir);
	dir = opendir(path);
	if (!dir)
		return 0;	/* a task's own directory: nothing below it */
	while (!m->n && (d = readdir(dir))) {
		char tdir[PATH_MAX];

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if ((size_t)snprintf(tdir, sizeof(tdir), "%s/task/%s", s->dir,
				     d->d_name) >= sizeof(tdir))
			continue;
		ps_maps_free(m);
		memset(m, 0, sizeof(*m));
		ret = ps_maps_read_dir(tdir, smaps ? PAGESCAN_VMAS_SMAPS : 0, m);
		if (ret == -ENOENT || ret == -ESRCH) {
			ret = 0;	/* exited meanwhile */
			continue;
		}
		if (ret)
			break;
		if (m->n)
			snprintf(s->dir, sizeof(s->dir), "%s", tdir);
	}
	closedir(dir);
	return ret;
}

/*
 * The VMA list.  A handle's comes from its own maps/smaps descriptors,
 * bound to the same address space as its pagemap.  A bare descriptor has
 * only a process number: that process's list as it is now, checked to be
 * of the descriptor's address space as far as can be (a gone one: ESRCH,
 * even where the range is a hole in the new image).
 */
static int read_list(struct emu *s, bool smaps, struct ps_maps *m)
{
	const struct ps_target *t = s->t;
	int ret;

	if (t->maps_fd >= 0 && !smaps) {
		/* A range of few VMAs: those only (6.11+), not the text. */
		ret = ps_maps_query_range(t->maps_fd, s->a.start, s->a.end,
					  VMA_QUERY_MAX, m);
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	if (t->maps_fd >= 0)
		return ps_maps_read_fd_mem(smaps ? t->smaps_fd : t->maps_fd,
					   t->files_lock, smaps, s->maps_mem,
					   m);
	ret = ps_maps_read_dir(s->dir, smaps ? PAGESCAN_VMAS_SMAPS : 0, m);
	if (!ret && !m->n && !ps_mm_gone(s->fd)) {
		ps_maps_free(m);
		ret = read_live_thread(s, smaps, m);
	}
	if (ret)
		return ret;
	if (!m->n || ps_mm_gone(s->fd))
		ret = -ESRCH;	/* a zombie, or not this address space */
	else
		ret = bare_same_mm(s, m);
	if (ret)
		ps_maps_free(m);
	return ret;
}

int emu_read_vmas(struct emu *s, struct ps_maps *m)
{
	bool smaps = s->want_huge || s->want_wpallowed;
	size_t i;
	int ret;

	if (!smaps) {
		ret = read_list(s, false, m);
		if (ret)
			return ret;
		for (i = ps_maps_find(m, s->a.start); i < m->n; i++) {
			const struct ps_vma *v = &m->v[i];

			if (v->start >= s->a.end)
				break;
			if (!vma_is_plain(m, v) &&
			    !vma_is_pfnmap_by_name(m, v) &&
			    !vma_is_shared_anon(s, m, v)) {
				smaps = true;
				break;
			}
		}
		if (!smaps) {
			for (i = 0; i < m->n; i++)
				if (vma_is_pfnmap_by_name(m, &m->v[i]))
					m->v[i].flags |= PAGESCAN_VMA_PFNMAP;
			return 0;
		}
		ps_maps_free(m);
	}
	return read_list(s, true, m);
}
