// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The emulation's side of the write-protect provider seam (emu_wp.h): the
 * provider is set once, for the life of the process, and asked lock-free.
 * The emulation takes no lock around its callbacks.
 */
#include "internal.h"
#include "emu_wp.h"

#include <stdatomic.h>

struct wp_provider {
	const struct emu_wp_ops *ops;
	void *ctx;
};

static struct wp_provider *_Atomic wp_provider PS_STATE;

void emu_wp_set(const struct emu_wp_ops *ops, void *ctx)
{
	static struct wp_provider p PS_STATE;
	struct wp_provider *none = NULL;
	static _Atomic int claimed PS_STATE;

	if (!ops || !ops->active || !ops->covers || !ops->written ||
	    !ops->arm || atomic_exchange(&claimed, 1))
		return;
	p.ops = ops;
	p.ctx = ctx;
	atomic_compare_exchange_strong(&wp_provider, &none, &p);
}

const struct emu_wp_ops *emu_wp_get(void **ctx)
{
	struct wp_provider *p = atomic_load(&wp_provider);

	if (!p || !p->ops->active(p->ctx))
		return NULL;
	*ctx = p->ctx;
	return p->ops;
}

int emu_wp_installed(void)
{
	void *ctx;

	return emu_wp_get(&ctx) != NULL;
}
