// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan_feature_info(): what the kernel has (the probes) and how each
 * scan feature is served under the backend PAGESCAN_BACKEND selects (the
 * backend table).  It sits above both, so that neither asks the other.
 */
#include "backend.h"

static const char *const support_names[] = {
	[PAGESCAN_UNAVAILABLE] = "unavailable",
	[PAGESCAN_NATIVE] = "native",
	[PAGESCAN_EMULATED] = "emulated",
};

const char *pagescan_support_name(enum pagescan_support s)
{
	if ((unsigned int)s >= ARRAY_SIZE(support_names))
		return NULL;
	return support_names[s];
}

/*
 * How the scan, a category or a flag is served under the backend that
 * PAGESCAN_BACKEND selects.  @emu_ok/@emu_why: the emulation's answer.
 */
static enum pagescan_support support_of(int native, int emu_ok,
					const char *emu_why,
					const char **reason,
					const char *native_why)
{
	enum pagescan_backend b = ps_env_backend();

	if ((int)b < 0) {
		*reason = "PAGESCAN_BACKEND is not native, emulate or auto";
		return PAGESCAN_UNAVAILABLE;
	}
	if (b != PAGESCAN_BACKEND_EMULATE && native == 1) {
		*reason = native_why;
		return PAGESCAN_NATIVE;
	}
	if (b == PAGESCAN_BACKEND_NATIVE) {
		*reason = native_why;
		return PAGESCAN_UNAVAILABLE;
	}
	*reason = emu_why;
	return emu_ok ? PAGESCAN_EMULATED : PAGESCAN_UNAVAILABLE;
}

int pagescan_feature_info(enum pagescan_feature feat,
			  struct pagescan_feature_info *info)
{
	const struct ps_backend *emu = NULL;
	struct pagescan_feature_info out = { 0 };
	const char *why = NULL, *name, *desc, *reason;
	int present, err;

	if (!info)
		return ps_err(EINVAL);
	err = OPTS_CHECK(info, pagescan_feature_info);
	if (err)
		return ps_err(-err);
	if ((unsigned int)feat >= PAGESCAN_FEAT__COUNT)
		return ps_err(EINVAL);
	present = pagescan_probe(feat);
	ps_probe_describe(feat, &name, &desc, &reason);
	out.sz = info->sz;
	out.name = name;
	out.desc = desc;
	out.present = present;
	out.reason = reason;
	if (feat <= PAGESCAN_FEAT_CHECK_WPASYNC)
		emu = ps_backend(PAGESCAN_BACKEND_EMULATE);
	if (feat == PAGESCAN_FEAT_SCAN) {
		out.support = support_of(present, 1,
			"computed from /proc/PID/pagemap and smaps", &out.reason,
			reason);
	} else if (feat >= PAGESCAN_FEAT_CAT_WPALLOWED &&
		   feat <= PAGESCAN_FEAT_CAT_GUARD) {
		unsigned int bit = feat - PAGESCAN_FEAT_CAT_WPALLOWED;
		int ok = emu->category_support(bit, &why);

		out.support = support_of(present, ok, why, &out.reason,
					 reason);
		/*
		 * A kernel accepts SOFT_DIRTY without CONFIG_MEM_SOFT_DIRTY
		 * and PFNZERO where read faults never map the zero page; it
		 * serves the bit, which is simply never set.  Say so.
		 */
		if (out.support == PAGESCAN_NATIVE &&
		    bit == 7 && pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY) == 0)
			out.reason = "accepted, never set: kernel without "
				     "CONFIG_MEM_SOFT_DIRTY";
		else if (out.support == PAGESCAN_NATIVE && bit == 5 &&
			 pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) == 0)
			out.reason = "accepted, never set: read faults do not "
				     "map the zero page here";
	} else if (feat == PAGESCAN_FEAT_WP_MATCHING ||
		   feat == PAGESCAN_FEAT_CHECK_WPASYNC) {
		uint64_t flag = feat == PAGESCAN_FEAT_WP_MATCHING ?
				PM_SCAN_WP_MATCHING : PM_SCAN_CHECK_WPASYNC;
		int ok = emu->flag_support(flag, &why);

		out.support = support_of(present, ok, why, &out.reason,
					 reason);
	} else {
		out.support = present == 1 ? PAGESCAN_NATIVE :
					     PAGESCAN_UNAVAILABLE;
	}
	if (!out.reason)
		out.reason = "";
	/* Copy no more than the caller's struct holds. */
	memcpy(info, &out, info->sz < sizeof(out) ? info->sz : sizeof(out));
	return 0;
}
