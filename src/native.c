// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The native backend: the kernel's PAGEMAP_SCAN ioctl (Linux 6.7), passed
 * through unchanged.  The argument is the caller's pointer, at whatever
 * alignment the caller has it: the kernel copies it in and out itself.
 */
#include "backend.h"

static uint64_t native_cats PS_STATE;

static int native_scan(const struct ps_target *t, struct pm_scan_arg *uarg)
{
	return sys_pagemap_scan(t->pagemap_fd, uarg);
}

static uint64_t native_categories(void)
{
	return native_cats;
}

static uint64_t native_flags(void)
{
	return native_cats ? PS_SCAN_FLAGS : 0;
}

static const struct ps_backend native = {
	.name = "native",
	.scan = native_scan,
	.categories = native_categories,
	.flags = native_flags,
};

const struct ps_backend *native_backend(const struct ps_facts *f)
{
	native_cats = f->native_scan == 1 ? f->native_cats : 0;
	return &native;
}
