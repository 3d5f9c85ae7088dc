// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The library's version.  Makefile.common is the one place it is kept:
 * the Makefile passes it here as PAGESCAN_MK_VERSION*, names the shared
 * library and its soname after it and writes it into libpagescan.pc, and
 * the header's macros, which programs see at build time, must agree.
 */
#include "internal.h"

#if !defined(PAGESCAN_MK_VERSION) || !defined(PAGESCAN_MK_VERSION_MAJOR) || \
	!defined(PAGESCAN_MK_VERSION_MINOR)
#error "built without the version of Makefile.common (use the Makefile)"
#endif
_Static_assert(PAGESCAN_VERSION_MAJOR == PAGESCAN_MK_VERSION_MAJOR &&
	       PAGESCAN_VERSION_MINOR == PAGESCAN_MK_VERSION_MINOR,
	       "PAGESCAN_VERSION_MAJOR/MINOR in include/pagescan.h differ "
	       "from VERSION_MAJOR/MINOR in Makefile.common");

const char *pagescan_version_string(void)
{
	return PAGESCAN_MK_VERSION;
}

int pagescan_version_major(void)
{
	return PAGESCAN_VERSION_MAJOR;
}

int pagescan_version_minor(void)
{
	return PAGESCAN_VERSION_MINOR;
}
