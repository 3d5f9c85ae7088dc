// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The detail behind an errno (internal.h: ps_errf(), ps_err()), kept per
 * thread so that concurrent callers never see each other's messages.
 */
#include "internal.h"

#include <stdarg.h>

struct ps_detail {
	int pending_err;	/* recorded by ps_errf(), not yet returned */
	int err;		/* the published message's errno, 0: none */
	char pending[256];
	char msg[256];
};

static __thread struct ps_detail detail;

int ps_errf(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail.pending, sizeof(detail.pending), fmt, ap);
	va_end(ap);
	detail.pending_err = err;
	return -err;
}

void ps_err_publish(int err)
{
	if (detail.pending_err == err) {
		memcpy(detail.msg, detail.pending, sizeof(detail.msg));
		detail.err = err;
	} else {
		detail.err = 0;
	}
	detail.pending_err = 0;
}

int ps_err_keep(int ret)
{
	if (ret < 0 && detail.err == -ret && !detail.pending_err) {
		memcpy(detail.pending, detail.msg, sizeof(detail.pending));
		detail.pending_err = -ret;
	}
	return ret;
}

void ps_err_clear(void)
{
	detail.pending_err = 0;
}

bool ps_err_pending(int err)
{
	return detail.pending_err == err;
}

const char *pagescan_last_error(void)
{
	return detail.err ? detail.msg : NULL;
}
