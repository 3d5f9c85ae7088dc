// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The VMA list of a process, from /proc/PID/maps or /proc/PID/smaps.
 * smaps costs a page-table walk per VMA in the kernel (it counts RSS), so
 * it is read only when the caller needs VmFlags or page sizes.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

void ps_maps_free(struct ps_maps *m)
{
	/* With @mem, both are its buffers, kept for the next read. */
	if (!m->mem) {
		free(m->v);
		free(m->names);
	}
	memset(m, 0, sizeof(*m));
}

/*
 * With m->mem, the names grow in the library's own memory like the rest
 * of the list: a restore of a whole-process snapshot reads the maps text
 * so (before Linux 6.11, no PROCMAP_QUERY), and must not call malloc() in
 * the heap it is about to put back (snapshot_check.c).
 */
static int grow_names(struct ps_maps *m, size_t cap)
{
	char *n;

	if (!m->mem) {
		n = realloc(m->names, cap);
		if (!n)
			return -ENOMEM;
	} else {
		n = ps_own_zalloc(cap);
		if (!n)
			return -ENOMEM;
		if (m->names_len)
			memcpy(n, m->names, m->names_len);
		ps_own_free(m->mem->names);
		m->mem->names = n;
		m->mem->names_cap = cap;
	}
	m->names = n;
	m->names_cap = cap;
	return 0;
}

static int push_name(struct ps_maps *m, const char *s, size_t len,
		     uint32_t *off)
{
	if (m->names_len + len + 1 > m->names_cap) {
		size_t cap = m->names_cap ? m->names_cap * 2 : 4096;
		int ret;

		while (cap < m->names_len + len + 1)
			cap *= 2;
		ret = grow_names(m, cap);
		if (ret)
			return ret;
	}
	memcpy(m->names + m->names_len, s, len);
	m->names[m->names_len + len] = '\0';
	*off = (uint32_t)m->names_len;
	m->names_len += len + 1;
	return 0;
}

static uint64_t hex(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;

	for (;; p++) {
		unsigned int c = (unsigned char)*p;

		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (c - 'a' + 10);
		else
			break;
	}
	*pp = p;
	return v;
}

static uint64_t dec(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;

	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*pp = p;
	return v;
}

static void skip_spaces(const char **pp)
{
	while (**pp == ' ' || **pp == '\t')
		(*pp)++;
}

/* "start-end rwxp offset maj:min inode   name" */
static int parse_header(struct ps_maps *m, const char *p, const char *eol,
			struct ps_vma *v)
{
	memset(v, 0, sizeof(*v));
	v->start = hex(&p);
	if (*p++ != '-')
		return -EIO;
	v->end = hex(&p);
	skip_spaces(&p);
	if (eol - p < 4)
		return -EIO;
	if (p[0] == 'r')
		v->flags |= PAGESCAN_VMA_READ;
	if (p[1] == 'w')
		v->flags |= PAGESCAN_VMA_WRITE;
	if (p[2] == 'x')
		v->flags |= PAGESCAN_VMA_EXEC;
	if (p[3] == 's')
		v->flags |= PAGESCAN_VMA_SHARED;
	p += 4;
	skip_spaces(&p);
	v->offset = hex(&p);
	skip_spaces(&p);
	v->dev_major = (uint32_t)hex(&p);
	if (*p == ':')
		p++;
	v->dev_minor = (uint32_t)hex(&p);
	skip_spaces(&p);
	v->inode = dec(&p);
	skip_spaces(&p);
	return push_name(m, p, (size_t)(eol - p), &v->name_off);
}

static const struct {
	char code[3];
	uint32_t flag;
} vmflags[] = {
	{ "ht", PAGESCAN_VMA_HUGETLB }, { "pf", PAGESCAN_VMA_PFNMAP },
	{ "uw", PAGESCAN_VMA_UFFD_WP }, { "sd", PAGESCAN_VMA_SOFTDIRTY },
	{ "hg", PAGESCAN_VMA_HUGEPAGE }, { "nh", PAGESCAN_VMA_NOHUGEPAGE },
	{ "io", PAGESCAN_VMA_IO }, { "mm", PAGESCAN_VMA_MIXEDMAP },
};

static void parse_key(struct ps_vma *v, const char *p, const char *eol)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	size_t klen;
	size_t i;

	if (!colon)
		return;
	klen = (size_t)(colon - p);
	p = colon + 1;
	skip_spaces(&p);
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(colon - klen, s, klen))
	if (KEY("KernelPageSize")) {
		v->page_size = dec(&p) << 10;
	} else if (KEY("AnonHugePages") || KEY("ShmemPmdMapped") ||
		   KEY("FilePmdMapped")) {
		v->thp_bytes += dec(&p) << 10;
	} else if (KEY("VmFlags")) {
		while (p + 2 <= eol) {
			for (i = 0; i < ARRAY_SIZE(vmflags); i++)
				if (!memcmp(p, vmflags[i].code, 2))
					v->flags |= vmflags[i].flag;
			if (!memcmp(p, "dd", 2))
				v->dontdump = true;
			if (!memcmp(p, "mg", 2))
				v->mergeable = true;
			p += 2;
			skip_spaces(&p);
		}
	}
#undef KEY
}

/*
 * Parse maps or smaps text into @m.  The text is read in several read()
 * calls, between which the kernel lets the target map and unmap (and on
 * 6.17+ reads each VMA under its own lock), so while the target changes
 * it need not be sorted or disjoint.  A record that starts below the end
 * of the previous one gives -EAGAIN (read again), or with @clip is cut to
 * start there (dropped if nothing is left): every VMA kept is then a part
 * of one that existed while the text was read, and the list is sorted and
 * disjoint whatever happened.
 */
static int grow_vmas(struct ps_maps *m, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	struct ps_vma *n;

	if (!m->mem) {
		n = realloc(m->v, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
	} else {
		n = ps_own_zalloc(ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (m->n)
			memcpy(n, m->v, m->n * sizeof(*n));
		ps_own_free(m->mem->v);
		m->mem->v = n;
		m->mem->v_cap = ncap;
	}
	m->v = n;
	*cap = ncap;
	return 0;
}

static int parse(char *buf, size_t len, bool smaps, bool clip,
		 struct ps_maps_mem *mem, struct ps_maps *m)
{
	size_t cap = 0;
	bool skip = false;
	char *p;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	if (mem) {
		m->mem = mem;
		m->v = mem->v;
		cap = mem->v_cap;
		m->names = mem->names;
		m->names_cap = mem->names_cap;
	}
	for (p = buf; p < buf + len;) {
		char *eol = memchr(p, '\n', (size_t)(buf + len - p));

		if (!eol)
			eol = buf + len;
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
			struct ps_vma *v;

			if (m->n == cap) {
				ret = grow_vmas(m, &cap);
				if (ret)
					break;
			}
			v = &m->v[m->n];
			ret = parse_header(m, p, eol, v);
			if (ret)
				break;
			if (v->start >= v->end) {
				ret = -EIO;
				break;
			}
			skip = false;
			if (m->n && v->start < m->v[m->n - 1].end) {
				uint64_t prev = m->v[m->n - 1].end;

				if (!clip) {
					ret = -EAGAIN;
					break;
				}
				if (v->end <= prev) {
					skip = true;
				} else {
					if (v->inode)
						v->offset += prev - v->start;
					v->start = prev;
				}
			}
			if (!skip)
				m->n++;
		} else if (smaps && m->n && !skip) {
			parse_key(&m->v[m->n - 1], p, eol);
		}
		p = eol + 1;
	}
	if (ret)
		ps_maps_free(m);
	return ret;
}

/* Attempts at a consistent text before clipping instead. */
#define MAPS_TRIES 4

/* The whole text through @fd into @mem's buffer (sys_pread_file()). */
static int read_text_kept(int fd, struct ps_maps_mem *mem, size_t *lenp)
{
	size_t len = 0, ncap;
	char *n;

	for (;;) {
		ssize_t got;

		if (mem->text_cap < len + 4096) {
			ncap = mem->text_cap ? mem->text_cap * 2 : 16384;
			n = ps_own_zalloc(ncap);
			if (!n)
				return -ENOMEM;
			if (len)
				memcpy(n, mem->text, len);
			ps_own_free(mem->text);
			mem->text = n;
			mem->text_cap = ncap;
		}
		got = pread(fd, mem->text + len, mem->text_cap - len - 1,
			    (off_t)len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!got)
			break;
		len += (size_t)got;
	}
	mem->text[len] = '\0';
	*lenp = len;
	return 0;
}

static int read_maps(int fd, const char *path, bool smaps,
		     struct ps_maps_mem *mem, struct ps_maps *m)
{
	int tries, ret = 0;

	for (tries = 1; tries <= MAPS_TRIES; tries++) {
		char *buf;
		size_t len;

		if (mem && fd >= 0) {
			ret = read_text_kept(fd, mem, &len);
			buf = mem->text;
		} else {
			ret = fd >= 0 ? sys_pread_file(fd, &buf, &len) :
					sys_read_file(path, &buf, &len);
		}
		if (ret)
			return ret == -ENOENT ? -ESRCH : ret;
		ret = parse(buf, len, smaps, tries == MAPS_TRIES,
			    fd >= 0 ? mem : NULL, m);
		if (buf != (mem ? mem->text : NULL))
			free(buf);
		if (ret != -EAGAIN)
			break;
	}
	return ret;
}

void ps_maps_mem_trim(struct ps_maps_mem *mem, size_t keep)
{
	if (mem->text_cap > keep) {
		ps_own_free(mem->text);
		mem->text = NULL;
		mem->text_cap = 0;
	}
	if (mem->v_cap * sizeof(*mem->v) > keep) {
		ps_own_free(mem->v);
		mem->v = NULL;
		mem->v_cap = 0;
	}
	if (mem->names_cap > keep) {
		ps_own_free(mem->names);
		mem->names = NULL;
		mem->names_cap = 0;
	}
}

int ps_maps_read_dir(const char *dir, unsigned int flags, struct ps_maps *m)
{
	bool smaps = flags & PAGESCAN_VMAS_SMAPS;
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			     smaps ? "smaps" : "maps") >= sizeof(path))
		return -ENAMETOOLONG;
	return read_maps(-1, path, smaps, NULL, m);
}

int ps_maps_read(pid_t pid, unsigned int flags, struct ps_maps *m)
{
	bool smaps = flags & PAGESCAN_VMAS_SMAPS;
	char path[64];

	/*
	 * Our own mappings through /proc/self: in a pid namespace whose
	 * /proc is the parent's, /proc/<getpid()> is another process.
	 */
	if (pid == getpid())
		snprintf(path, sizeof(path), "/proc/self/%s",
			 smaps ? "smaps" : "maps");
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
			 smaps ? "smaps" : "maps");
	return read_maps(-1, path, smaps, NULL, m);
}

/*
 * The calling process's VMAs, with smaps only if one overlapping
 * [start, end) has a file (ps_vma_has_file()): only such a VMA can be
 * hugetlb (MAP_HUGETLB shows "/anon_hugepage"), and smaps walks every
 * page table of the process, so it is read only then.
 */
int ps_maps_read_self_range(uint64_t start, uint64_t end, struct ps_maps *m)
{
	size_t i;
	int ret;

	ret = ps_maps_read(getpid(), 0, m);
	if (ret)
		return ret;
	for (i = ps_maps_find(m, start); i < m->n && m->v[i].start < end; i++)
		if (ps_vma_has_file(&m->v[i])) {
			ps_maps_free(m);
			memset(m, 0, sizeof(*m));
			return ps_maps_read(getpid(), PAGESCAN_VMAS_SMAPS, m);
		}
	return 0;
}

int ps_maps_read_fd(int fd, pthread_mutex_t *lock, bool smaps,
		    struct ps_maps *m)
{
	return ps_maps_read_fd_mem(fd, lock, smaps, NULL, m);
}

int ps_maps_read_fd_mem(int fd, pthread_mutex_t *lock, bool smaps,
			struct ps_maps_mem *mem, struct ps_maps *m)
{
	int ret;

	if (lock)
		pthread_mutex_lock(lock);
	ret = read_maps(fd, NULL, smaps, mem, m);
	if (lock)
		pthread_mutex_unlock(lock);

	/*
	 * The descriptor holds the address space it was opened on; once
	 * that is gone (exit, exec) reads find no VMA, or ESRCH once the
	 * task is reaped.  A live address space always has one.
	 */
	if (!ret && !m->n) {
		ps_maps_free(m);
		ret = -ESRCH;
	}
	return ret;
}

size_t ps_maps_find(const struct ps_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int pagescan_vmas(struct pagescan *ps, uint64_t start, uint64_t end,
		  unsigned int flags, pagescan_vma_fn fn, void *ctx)
{
	struct ps_maps m;
	size_t i;
	int ret;

	if (!ps || !fn || (flags & ~PAGESCAN_VMAS_SMAPS) || end < start)
		return ps_err(EINVAL);
	/* An empty range overlaps no mapping, not the one around it. */
	if (start == end)
		return 0;
	/* The handle's own descriptors: its address space, or -ESRCH. */
	ret = ps_maps_read_fd(flags & PAGESCAN_VMAS_SMAPS ? ps->smaps_fd :
			      ps->maps_fd, &ps->files_lock,
			      flags & PAGESCAN_VMAS_SMAPS, &m);
	if (ret)
		return ps_err(-ret);
	for (i = ps_maps_find(&m, start); !ret && i < m.n; i++) {
		const struct ps_vma *v = &m.v[i];
		struct pagescan_vma pv;

		if (v->start >= end)
			break;
		pv.start = v->start;
		pv.end = v->end;
		pv.offset = v->offset;
		pv.inode = v->inode;
		pv.page_size = v->page_size;
		pv.thp_bytes = v->thp_bytes;
		pv.flags = v->flags;
		pv.dev_major = v->dev_major;
		pv.dev_minor = v->dev_minor;
		pv.name = ps_vma_name(&m, v);
		ret = fn(&pv, ctx);
	}
	ps_maps_free(&m);
	if (ret < 0)
		errno = -ret;
	return ret;
}
