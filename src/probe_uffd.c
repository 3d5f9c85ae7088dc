// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The userfaultfd probes: whether this caller may have a userfaultfd at
 * all (vm.unprivileged_userfaultfd, UFFD_USER_MODE_ONLY), write-protect
 * mode (5.7), the WP_UNPOPULATED (6.4) and WP_ASYNC (6.7) features, and
 * whether pagemap shows the uffd-wp bit (5.13).  Each asks by doing it,
 * on a descriptor and a page of its own.
 */
#include "probe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * A userfaultfd the way an unprivileged caller gets one: user-mode-only
 * first (5.11+; works with vm.unprivileged_userfaultfd=0), then plain.
 */
static int open_uffd(void)
{
	int fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd == -EINVAL)
		fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	return fd;
}

/* UFFDIO_API with @features on a fresh descriptor: 1, 0 or -errno. */
static int uffd_api(uint64_t features, uint64_t *got)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = open_uffd(), ret = 1;

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api))
		ret = errno == EINVAL ? 0 : -errno;
	else if (got)
		*got = api.features;
	close(fd);
	return ret;
}

int ps_probe_uffd(char *reason, size_t len)
{
	int ret = uffd_api(0, NULL);

	if (ret == 1) {
		REASON("userfaultfd(2) and UFFDIO_API work for this caller");
		return 1;
	}
	if (ret == -ENOSYS) {
		REASON("kernel built without CONFIG_USERFAULTFD");
		return 0;
	}
	if (ret == -EPERM) {
		REASON("userfaultfd denied (vm.unprivileged_userfaultfd=0 "
		       "and no UFFD_USER_MODE_ONLY before 5.11)");
		return 0;
	}
	return ps_probe_absent_or_error(ret, reason, len, "UFFDIO_API");
}

/* Register one anonymous page for write-protect tracking. */
static int uffd_wp_register(uint64_t features, char *reason, size_t len,
			    bool check_pagemap)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	long psz = (long)ps_pagesz();
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	int fd, ret = 1;
	char *p;

	fd = open_uffd();
	if (fd < 0)
		return ps_probe_absent_or_error(fd, reason, len, "userfaultfd");
	p = mmap(NULL, (size_t)psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p[0] = 1;
	reg.range.start = (uintptr_t)p;
	reg.range.len = (uint64_t)psz;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(fd, UFFDIO_API, &api)) {
		ret = ps_probe_absent_or_error(-errno, reason, len,
					       "UFFDIO_API feature");
		goto out;
	}
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		ret = ps_probe_absent_or_error(-errno, reason, len,
					       "UFFDIO_REGISTER_MODE_WP");
		goto out;
	}
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		ret = ps_probe_absent_or_error(-errno, reason, len,
					       "UFFDIO_WRITEPROTECT");
		goto out;
	}
	REASON("registered and write-protected an anonymous page");
	if (check_pagemap) {
		uint64_t e;
		int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

		if (pm < 0 || sys_pread_full(pm, &e, 8, (off_t)((uintptr_t)p /
				(uint64_t)psz * 8)) != 8) {
			ret = -EIO;
		} else {
			ret = !!(e & PM_ENTRY_UFFD_WP);
			REASON(ret ? "pagemap shows the uffd-wp bit (57)" :
			       "pagemap does not show bit 57 (needs 5.13)");
		}
		if (pm >= 0)
			close(pm);
	}
out:
	munmap(p, (size_t)psz);
	close(fd);
	return ret;
}

int ps_probe_uffd_wp(char *reason, size_t len)
{
	if (pagescan_probe(PAGESCAN_FEAT_UFFD) != 1) {
		REASON("userfaultfd unavailable");
		return 0;
	}
	return uffd_wp_register(0, reason, len, false);
}

static int probe_uffd_feature(uint64_t f, const char *name, char *reason,
			      size_t len)
{
	int ret;

	if (pagescan_probe(PAGESCAN_FEAT_UFFD) != 1) {
		REASON("userfaultfd unavailable");
		return 0;
	}
	ret = uffd_api(f, NULL);
	if (ret == 1)
		REASON("UFFDIO_API accepts %s", name);
	else if (ret == 0)
		REASON("UFFDIO_API rejects %s", name);
	else
		REASON("probe failed: %s", strerror(-ret));
	return ret;
}

int ps_probe_uffd_wp_unpopulated(char *reason, size_t len)
{
	return probe_uffd_feature(UFFD_FEATURE_WP_UNPOPULATED,
				  "WP_UNPOPULATED (6.4)", reason, len);
}

int ps_probe_uffd_wp_async(char *reason, size_t len)
{
	return probe_uffd_feature(UFFD_FEATURE_WP_ASYNC, "WP_ASYNC (6.7)",
				  reason, len);
}

int ps_probe_pagemap_wp_bit(char *reason, size_t len)
{
	if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP) != 1) {
		REASON("no userfaultfd write-protect");
		return 0;
	}
	return uffd_wp_register(0, reason, len, true);
}
