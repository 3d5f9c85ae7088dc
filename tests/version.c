// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: pagescan_version_string() is "MAJOR.MINOR.PATCH" in
 * decimal digits and nothing else, with MAJOR and MINOR those of
 * pagescan_version_major()/minor() and of the header this test was built
 * with, and the same string at every call and from every thread.  (That
 * it is Makefile.common's version, the shared library's file name and
 * libpagescan.pc's Version is scripts/check-abi.sh's to check.)
 */
#include "helpers.h"

#include <pthread.h>

static void *from_thread(void *arg)
{
	return (void *)pagescan_version_string();
}

int main(void)
{
	const char *v = pagescan_version_string();
	unsigned int major, minor, patch;
	char tail, num[64];
	pthread_t th;
	void *tv;

	t_init("version");
	t_check(v != NULL, "pagescan_version_string() is NULL");
	if (!v)
		t_done();
	t_check(strspn(v, "0123456789.") == strlen(v) && v[0] != '.' &&
		!strstr(v, ".."), "'%s' is not digits and dots", v);
	t_check(sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &tail) == 3,
		"'%s' is not MAJOR.MINOR.PATCH", v);
	t_eq((int)major, pagescan_version_major());
	t_eq((int)minor, pagescan_version_minor());
	t_eq(pagescan_version_major(), PAGESCAN_VERSION_MAJOR);
	t_eq(pagescan_version_minor(), PAGESCAN_VERSION_MINOR);
	/* No leading zeros: "0.1.0", never "00.01.0". */
	snprintf(num, sizeof(num), "%u.%u.%u", major, minor, patch);
	t_check(!strcmp(num, v), "'%s' is not written as '%s'", v, num);
	t_check(pagescan_version_string() == v, "a new string at each call");
	t_check(!pthread_create(&th, NULL, from_thread, NULL), "pthread_create");
	t_check(!pthread_join(th, &tv) && tv == v, "another thread sees another string");
	t_done();
}
