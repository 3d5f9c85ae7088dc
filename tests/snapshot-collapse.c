// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: transparent huge pages collapsed (MADV_COLLAPSE, Linux
 * 6.1, standing in for khugepaged, which does the same collapse when it
 * pleases) and split since take, under every write-watch backend this
 * kernel has, forced, with and without verify mode: after each restore
 * the range equals the test's reference byte for byte.  The cases that
 * hurt a backend that does not see discards (mprotect, uffd-sync): a
 * collapse fills the holes of a 2 MiB block with zeroes, so a page
 * populated at take and discarded since is present again, reading zero;
 * the same in a block written whole (the mprotect backend then gives the
 * block back its write bit, one VMA again, which a collapse needed before
 * 6.18; since, a read-only block collapses too).  An
 * over-report (more pages restored) is fine; a wrong byte is not.
 *
 * Once a known miss (6.18, which collapses read-only anonymous blocks,
 * armed mprotect ones too): a discard of a page never written since the
 * last restore, then a collapse of its block, left the page reading zero
 * after the next restore.  The watch's audit now looks for collapses
 * (watch_audit.c: PFNs where pagemap shows them, the collapse counter of
 * /proc/vmstat elsewhere), so every backend must be exact here, also as
 * nobody.  A page unpopulated at take that a collapse fills must be
 * discarded again by the restore (it reads zeros, but costs memory).
 */
#include "snapshot-common.h"

#define MIB (1UL << 20)
#define BLK (2 * MIB)
#define LEN (8 * MIB)

static uint64_t seed = 0x9e3779b97f4a7c15ULL;
static int collapsed, tried;

static void collapse(char *p, size_t len)
{
	tried++;
	if (!madvise(p, len, MADV_COLLAPSE))
		collapsed++;
}

static void fill(char *p, size_t len, unsigned char v)
{
	size_t i;

	for (i = 0; i < len; i += t_psz)
		memset(p + i, (int)(v + i / t_psz), t_psz);
}

/*
 * Block 0 and 1 populated at take, 2 half, 3 not; each round changes the
 * range one way, then collapses or splits.
 */
static void change(char *p, int round)
{
	size_t i;

	switch (round % 6) {
	case 0:
		/* A block written whole, a few pages discarded, collapsed. */
		fill(p, BLK, (unsigned char)(round + 1));
		for (i = 0; i < 3; i++)
			madvise(p + (s_rand(&seed) % 512) * t_psz, t_psz,
				MADV_DONTNEED);
		collapse(p, BLK);
		break;
	case 1:
		/* Populated at take, discarded (never written), collapsed. */
		for (i = 0; i < 5; i++)
			madvise(p + BLK + (s_rand(&seed) % 512) * t_psz, t_psz,
				MADV_DONTNEED);
		collapse(p + BLK, BLK);
		p[BLK + (s_rand(&seed) % BLK)] ^= 0x5a;
		collapse(p + BLK, BLK);
		break;
	case 2:
		/* Half populated at take: the rest first-touched, collapsed. */
		fill(p + 2 * BLK, BLK, (unsigned char)(round + 7));
		madvise(p + 2 * BLK + 17 * t_psz, t_psz, MADV_DONTNEED);
		collapse(p + 2 * BLK, BLK);
		break;
	case 3:
		/* Unpopulated at take: written whole, collapsed. */
		fill(p + 3 * BLK, BLK, (unsigned char)(round + 3));
		collapse(p + 3 * BLK, BLK);
		break;
	case 4:
		/* Split: 4 KiB out of huge pages, a write into another. */
		madvise(p + 5 * t_psz, t_psz, MADV_DONTNEED);
		madvise(p + BLK + BLK / 2, t_psz, MADV_DONTNEED);
		p[3 * BLK + 99 * t_psz] ^= 1;
		break;
	case 5:
		/* Everything, then one collapse of the whole range. */
		for (i = 0; i < 40; i++)
			p[s_rand(&seed) % LEN] = (char)(s_rand(&seed) | 1);
		madvise(p + 2 * BLK + BLK / 4, 8 * t_psz, MADV_DONTNEED);
		collapse(p, LEN);
		break;
	}
}

/* Restore and compare; false to stop the run. */
static bool restore_check(struct pagescan_snapshot *s, struct s_ref *ref,
			  const char *what, int round)
{
	PAGESCAN_OPTS(pagescan_snapshot_stats, st);
	int ret = pagescan_snapshot_restore(s, &st);

	t_check(ret == 0, "%s: round %d: restore: %s (%s)", what, round,
		strerror(-ret), pagescan_last_error() ? pagescan_last_error() :
		"");
	if (ret)
		return false;
	return !s_ref_check(ref, what, NULL);
}

/*
 * 24: each of change()'s six cases four times.  COLLAPSE_ROUNDS if set
 * (tests/vm/init, under TCG: 12, each case twice).
 */
static int rounds = 24;

static void run(enum pagescan_watch_backend b, unsigned int flags)
{
	char *p = t_map_aligned(LEN, BLK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
	bool verify = flags & PAGESCAN_SNAPSHOT_VERIFY;
	struct pagescan_snapshot *s;
	struct s_ref ref;
	char what[96];
	int ret, i;

	snprintf(what, sizeof(what), "%s%s", pagescan_watch_backend_name(b),
		 verify ? "/verify" : "");
	madvise(p, LEN, MADV_HUGEPAGE);
	fill(p, 2 * BLK, 0x21);
	fill(p + 2 * BLK, BLK / 2, 0x61);
	collapse(p, 2 * BLK);		/* huge at take, where it can be */
	s_ref_take(&ref, p, LEN, true);
	ret = s_take1(p, LEN, b, flags, &s);
	if (ret) {
		t_fail("%s: take: %s (%s)", what, strerror(-ret),
		       pagescan_last_error() ? pagescan_last_error() : "");
		s_ref_free(&ref);
		munmap(p, LEN);
		return;
	}
	collapsed = tried = 0;
	for (i = 0; i < rounds; i++) {
		change(p, i);
		if (!restore_check(s, &ref, what, i))
			break;
		/* After a restore too: its discards leave holes to fill. */
		if (i % 3 == 2) {
			collapse(p, LEN);
			if (!restore_check(s, &ref, what, i))
				break;
		}
	}
	printf("%s: %d rounds, %d of %d collapses done\n", what, i, collapsed,
	       tried);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, LEN);
}

/*
 * A collapse, a discard, a collapse again, then a restore, round after
 * round, in one block populated at take.  The second collapse of a round
 * can get the huge page the first one gave back, which the block had at
 * the last restore: every PFN as then, the holes zero (6.18, mprotect as
 * root: the restore of round 1 restored nothing, 3 pages read zero).
 */
static void run_pfn_reuse(enum pagescan_watch_backend b)
{
	char *p = t_map_aligned(BLK, BLK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
	const char *what = pagescan_watch_backend_name(b);
	struct pagescan_snapshot *s;
	struct s_ref ref;
	int ret, i;

	madvise(p, BLK, MADV_HUGEPAGE);
	fill(p, BLK, 0x33);
	s_ref_take(&ref, p, BLK, true);
	ret = s_take1(p, BLK, b, 0, &s);
	if (ret) {
		t_fail("%s: pfn reuse: take: %s", what, strerror(-ret));
		s_ref_free(&ref);
		munmap(p, BLK);
		return;
	}
	collapsed = tried = 0;
	for (i = 0; i < rounds; i++) {
		collapse(p, BLK);
		madvise(p + (size_t)(i % 500) * t_psz, 3 * t_psz,
			MADV_DONTNEED);
		collapse(p, BLK);
		if (!restore_check(s, &ref, "pfn reuse", i))
			break;
	}
	printf("%s: pfn reuse: %d rounds, %d of %d collapses done\n", what, i,
	       collapsed, tried);
	pagescan_snapshot_free(s);
	s_ref_free(&ref);
	munmap(p, BLK);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int n, i;

	t_init("snapshot-collapse");
	if (getenv("COLLAPSE_ROUNDS") && atoi(getenv("COLLAPSE_ROUNDS")) > 0)
		rounds = atoi(getenv("COLLAPSE_ROUNDS"));
	if (madvise(NULL, 0, MADV_COLLAPSE) && errno == EINVAL)
		printf("MADV_COLLAPSE: %s (before 6.1, or no THP): splits "
		       "only\n", strerror(errno));
	n = w_backends(bs);
	if (!n)
		t_skip("no write-watch backend here");
	for (i = 0; i < n; i++) {
		run(bs[i], 0);
		run(bs[i], PAGESCAN_SNAPSHOT_VERIFY);
		run_pfn_reuse(bs[i]);
	}
	t_done();
}
