// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: snapshot take and restore on every write-watch backend
 * this kernel has, with and without verify mode, over private anonymous
 * memory half populated at take: random rounds of writes to populated and
 * never-populated pages, MADV_DONTNEED, MADV_FREE + MADV_PAGEOUT, read(2)
 * into the range; after each restore the range equals the reference the
 * test took itself, byte for byte, pages unpopulated at take are
 * unpopulated again, a restore right after a restore touches nothing,
 * and the counts are those of the pages changed.  Also: update (an
 * incremental checkpoint), the changed-pages query, the snapshot's memory
 * cost, bad arguments, and the calling thread's stack refused.
 */
#include "snapshot-common.h"

#include <fcntl.h>

#define NP 256

static int count_fn(const struct pagescan_region *g, void *ctx)
{
	uint64_t *n = ctx;

	*n += (g->end - g->start) / t_psz;
	return 0;
}

static void rounds(enum pagescan_watch_backend b, unsigned int flags)
{
	const char *name = pagescan_watch_backend_name(b);
	char what[96];
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char *p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ b, n, pages;
	int ret, round, pfd[2];
	size_t i;

	madvise(p, NP * t_psz, MADV_NOHUGEPAGE);
	for (i = 0; i < NP; i += 2)
		memset(p + i * t_psz, (int)(i + 1), t_psz);
	s_ref_take(&ref, p, NP * t_psz, true);
	ret = s_take1(p, NP * t_psz, b, flags, &s);
	snprintf(what, sizeof(what), "%s%s", name, flags ? " verify" : "");
	if (ret) {
		t_fail("%s: take: %s", what, strerror(-ret));
		return;
	}
	t_eq(pagescan_snapshot_backend(s), b);
	t_check(strstr(pagescan_snapshot_reason(s), name) != NULL,
		"%s: reason \"%s\"", what, pagescan_snapshot_reason(s));

	/* Nothing changed: nothing to do. */
	t_eq(s_restore(s, what), 0);
	s_ref_check(&ref, what, NULL);

	for (round = 0; round < 40; round++) {
		unsigned int changed[NP] = { 0 };
		uint64_t nchanged = 0;
		int k;

		for (k = 0; k < 12; k++) {
			size_t pg = s_rand(&x) % NP;
			int op = (int)(s_rand(&x) % 6);

			switch (op) {
			case 0: case 1: case 2:
				p[pg * t_psz + s_rand(&x) % t_psz] =
					(char)(s_rand(&x) | 1);
				break;
			case 3:
				madvise(p + pg * t_psz, t_psz, MADV_DONTNEED);
				break;
			case 4:
				/* Lazily freed, then reclaimed: reads zero. */
				p[pg * t_psz] ^= 0x55;
				madvise(p + pg * t_psz, t_psz, MADV_FREE);
				madvise(p + pg * t_psz, t_psz, MADV_PAGEOUT);
				break;
			case 5:
				/* A kernel-mode write (not under mprotect). */
				if (b == PAGESCAN_WATCH_MPROTECT) {
					p[pg * t_psz] = 7;
					break;
				}
				if (pipe(pfd))
					t_error("pipe");
				if (write(pfd[1], "abc", 3) != 3 ||
				    read(pfd[0], p + pg * t_psz + 100, 3) != 3)
					t_fail("%s: read(2) into the range", what);
				close(pfd[0]);
				close(pfd[1]);
				break;
			}
			if (!changed[pg]++)
				nchanged++;
		}
		n = 0;
		ret = pagescan_snapshot_changed(s, count_fn, &n);
		t_check(ret == 0, "%s: changed: %s", what, strerror(-ret));
		/*
		 * Every page touched may have changed; one that was not
		 * touched cannot be reported (no backend over-reports
		 * private anonymous 4 KiB pages with THP off).
		 */
		t_check(n <= nchanged, "%s round %d: %" PRIu64 " changed, "
			"%" PRIu64 " touched", what, round, n, nchanged);
		pages = s_restore(s, what);
		t_check(pages == n, "%s round %d: restored %" PRIu64
			", changed said %" PRIu64, what, round, pages, n);
		if (s_ref_check(&ref, what, changed))
			break;
		/* The restore's own writes are not reported next time. */
		pages = s_restore(s, what);
		t_check(pages == 0, "%s round %d: restore after restore did "
			"%" PRIu64 " pages", what, round, pages);
	}
	if (flags)
		t_eq(pagescan_snapshot_verify_failure(s, NULL, NULL), 0);

	/* Update: the next restore returns to now, not to take. */
	memset(p + 3 * t_psz, 0xab, t_psz);	/* unpopulated at take */
	memset(p + 4 * t_psz, 0xcd, 10);	/* populated */
	madvise(p + 6 * t_psz, t_psz, MADV_DONTNEED);
	{
		PAGESCAN_OPTS(pagescan_snapshot_stats, st);

		t_eq(pagescan_snapshot_update(s, &st), 0);
		t_eq(st.pages, 3);
		t_eq(st.copied, 2 * t_psz);
		t_eq(st.discarded, t_psz);
		/* Half populated at take, +1 -1 by the update. */
		t_eq(st.saved, NP / 2 * t_psz);
	}
	memcpy(ref.data + 3 * t_psz, p + 3 * t_psz, t_psz);
	memcpy(ref.data + 4 * t_psz, p + 4 * t_psz, t_psz);
	memset(ref.data + 6 * t_psz, 0, t_psz);
	ref.pop[3] = true;
	ref.pop[6] = false;
	memset(p + 3 * t_psz, 1, 2 * t_psz);
	memset(p + 6 * t_psz, 1, t_psz);
	t_eq(s_restore(s, what), 3);
	{
		unsigned int t[NP] = { [3] = 1, [4] = 1, [6] = 1 };

		s_ref_check(&ref, what, t);
	}
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, NP * t_psz);
}

static void bad_input(void)
{
	char *p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pagescan_range r[2] = { { p, 4 * t_psz }, { p + 2 * t_psz,
							   4 * t_psz } };
	struct pagescan_snapshot *s = NULL;
	char local[64];
	uintptr_t sp = (uintptr_t)local & ~(t_psz - 1);
	struct pagescan_range stack = { (void *)sp, t_psz };
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .flags = 1U << 20);
	int ret;

	t_eq(pagescan_snapshot_take(r, 0, NULL, &s), -EINVAL);
	t_eq(pagescan_snapshot_take(NULL, 1, NULL, &s), -EINVAL);
	t_eq(pagescan_snapshot_take(r, 1, NULL, NULL), -EINVAL);
	t_eq(pagescan_snapshot_take(r, 2, NULL, &s), -EINVAL);	/* overlap */
	r[1].addr = p + 1;
	t_eq(pagescan_snapshot_take(&r[1], 1, NULL, &s), -EINVAL);
	r[1].addr = p + 4 * t_psz;
	r[1].len = 0;
	t_eq(pagescan_snapshot_take(&r[1], 1, NULL, &s), -EINVAL);
	t_eq(pagescan_snapshot_take(r, 1, &o, &s), -EINVAL);
	t_eq(errno, EINVAL);
	/* The live stack of the caller. */
	ret = pagescan_snapshot_take(&stack, 1, NULL, &s);
	t_check(ret == -EBUSY, "stack range: %s", strerror(-ret));
	/* A hole, a read-only range. */
	munmap(p + 6 * t_psz, t_psz);
	r[1].len = 4 * t_psz;
	t_eq(pagescan_snapshot_take(&r[1], 1, NULL, &s), -EFAULT);
	mprotect(p, t_psz, PROT_READ);
	t_eq(pagescan_snapshot_take(r, 1, NULL, &s), -EINVAL);
	t_check(s == NULL, "nothing returned on failure");
	t_eq(pagescan_snapshot_restore(NULL, NULL), -EINVAL);
	t_eq(pagescan_snapshot_changed(NULL, count_fn, NULL), -EINVAL);
	pagescan_snapshot_free(NULL);
	t_check(pagescan_snapshot_reason(NULL) == NULL, "reason(NULL)");
	munmap(p, 8 * t_psz);
}

/* Memory cost: the pages populated at take, not the range. */
static void cost(void)
{
	size_t len = 64 << 20, i;
	char *p = t_map(len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	struct pagescan_snapshot *s;
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);

	/* With THP "always" (the VM lane) a write populates 2 MiB. */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < 100; i++)
		p[i * 37 * t_psz] = 1;
	t_eq(s_take1(p, len, PAGESCAN_WATCH_AUTO, 0, &s), 0);
	t_eq(pagescan_snapshot_restore(s, &st), 0);
	t_eq(st.saved, 100 * t_psz);
	pagescan_snapshot_free(s);
	munmap(p, len);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("snapshot-basic");
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	for (i = 0; i < n; i++) {
		rounds(bs[i], 0);
		rounds(bs[i], PAGESCAN_SNAPSHOT_VERIFY);
	}
	bad_input();
	cost();
	t_done();
}
