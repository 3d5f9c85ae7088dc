// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * PAGEMAP_SCAN emulated in userspace.  Not written yet: every request
 * fails with ENOSYS, and the probe table says why.
 */
#include "internal.h"

static const char why[] = "emulation not built yet";

int emu_scan(int fd, pid_t pid, struct pm_scan_arg *arg)
{
	return -ENOSYS;
}

int emu_category_support(unsigned int bit, const char **reason)
{
	if (reason)
		*reason = why;
	return 0;
}

int emu_flag_support(uint64_t flag, const char **reason)
{
	if (reason)
		*reason = why;
	return 0;
}

uint64_t emu_categories(void)
{
	return 0;
}

uint64_t emu_flags(void)
{
	return 0;
}
