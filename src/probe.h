/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * What the feature probes share: the table and the probes of PAGEMAP_SCAN
 * and pagemap (probe.c) and those of userfaultfd (probe_uffd.c).  A probe
 * writes why it answered as it did into @reason (@len bytes) and returns
 * 1 yes, 0 no, or -errno when the probe itself failed.
 */
#ifndef PAGESCAN_PROBE_H
#define PAGESCAN_PROBE_H

#include "internal.h"

#define REASON(...) snprintf(reason, len, __VA_ARGS__)

/*
 * EINVAL and ENOTTY from a probe's call mean the kernel does not know the
 * request (0, absent); any other error is the probe's own failure (@err).
 */
int ps_probe_absent_or_error(int err, char *reason, size_t len,
			     const char *what);

/* ---- probe_uffd.c ---- */
int ps_probe_uffd(char *reason, size_t len);
int ps_probe_uffd_wp(char *reason, size_t len);
int ps_probe_uffd_wp_unpopulated(char *reason, size_t len);
int ps_probe_uffd_wp_async(char *reason, size_t len);
int ps_probe_pagemap_wp_bit(char *reason, size_t len);

#endif
