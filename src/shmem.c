// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which mapped files are shmem/tmpfs, which the scan's categories cannot
 * say (a shmem page reads FILE like page cache): by device number, the
 * kernel's internal shm mount (learnt once from a memfd) and the tmpfs
 * mounts of the target's mount namespace (its mountinfo), else by the
 * names shmem files get.
 */
#include "internal.h"

#include <pthread.h>
#include <sys/stat.h>

static bool devs_has(const struct ps_devs *d, uint32_t maj, uint32_t min)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->d[i][0] == maj && d->d[i][1] == min)
			return true;
	return false;
}

/*
 * The kernel's internal shm mount (shared anonymous memory, memfd, SysV
 * shm) has an anonymous device number of its own (sys_shm_dev()), learnt
 * once.
 */
static pthread_once_t shm_once PS_STATE = PTHREAD_ONCE_INIT;
static bool shm_known PS_STATE;
static uint32_t shm_dev[2] PS_STATE;

static void shm_init(void)
{
	shm_known = !sys_shm_dev(&shm_dev[0], &shm_dev[1]);
}

/*
 * The tmpfs mounts of the target's mount namespace, from its mountinfo
 * ("36 25 0:23 / /dev/shm rw - tmpfs tmpfs rw"), cached for the last
 * namespace seen: a host's processes mostly share one.
 */
static pthread_mutex_t tmpfs_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tmpfs_ns PS_STATE;	/* inode of /proc/PID/ns/mnt, 0: none */
static struct ps_devs tmpfs_cache PS_STATE;

static int parse_mountinfo(const char *buf, size_t len, struct ps_devs *out)
{
	const char *p = buf, *end = buf + len;
	size_t cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *sep, *f = p;
		unsigned long maj, min;
		int i;

		if (!eol)
			eol = end;
		/* The third field is MAJOR:MINOR (decimal). */
		for (i = 0; i < 2 && f < eol; i++) {
			f = memchr(f, ' ', (size_t)(eol - f));
			if (!f)
				break;
			f++;
		}
		sep = memmem(p, (size_t)(eol - p), " - ", 3);
		if (f && f < eol && sep &&
		    sscanf(f, "%lu:%lu", &maj, &min) == 2 &&
		    (size_t)(eol - sep) > 9 && !memcmp(sep + 3, "tmpfs ", 6)) {
			if (out->n == cap) {
				uint32_t (*n)[2];

				cap = cap ? cap * 2 : 16;
				n = realloc(out->d, cap * sizeof(*n));
				if (!n)
					return -ENOMEM;
				out->d = n;
			}
			out->d[out->n][0] = (uint32_t)maj;
			out->d[out->n][1] = (uint32_t)min;
			out->n++;
		}
		p = eol + 1;
	}
	return 0;
}

/* A copy of the tmpfs devices of @pid's namespace; empty if unknown. */
static void tmpfs_devs(pid_t pid, struct ps_devs *out)
{
	char path[64], *buf;
	struct stat st;
	struct ps_devs d = { 0 };
	size_t len;

	out->d = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat(path, &st))
		st.st_ino = 0;
	pthread_mutex_lock(&tmpfs_lock);
	if (!st.st_ino || st.st_ino != tmpfs_ns) {
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
		if (sys_read_file(path, &buf, &len))
			goto out;
		if (parse_mountinfo(buf, len, &d)) {
			free(buf);
			free(d.d);
			goto out;
		}
		free(buf);
		free(tmpfs_cache.d);
		tmpfs_cache = d;
		tmpfs_ns = st.st_ino;
	}
	out->d = malloc((tmpfs_cache.n ? tmpfs_cache.n : 1) *
			sizeof(*out->d));
	if (out->d) {
		memcpy(out->d, tmpfs_cache.d, tmpfs_cache.n * sizeof(*out->d));
		out->n = tmpfs_cache.n;
	}
out:
	pthread_mutex_unlock(&tmpfs_lock);
}

/* Without the device numbers: the names shmem files get. */
static bool shmem_by_name(const char *name)
{
	return !strncmp(name, "/memfd:", 7) || !strncmp(name, "/SYSV", 5) ||
	       !strncmp(name, "/dev/shm/", 9) ||
	       !strcmp(name, "/dev/zero (deleted)");
}

void ps_shmem_devs(pid_t pid, struct ps_devs *out)
{
	pthread_once(&shm_once, shm_init);
	tmpfs_devs(pid, out);
}

bool ps_shmem_file(const struct ps_devs *tmpfs, uint32_t maj, uint32_t min,
		   uint64_t inode, const char *name)
{
	return (shm_known && maj == shm_dev[0] && min == shm_dev[1] &&
		inode) ||
	       (inode && devs_has(tmpfs, maj, min)) ||
	       (!shm_known && inode && shmem_by_name(name));
}
