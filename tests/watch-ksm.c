// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: KSM does not make a watch lose writes.  A merge replaced
 * an armed page's entry and dropped its uffd-wp bit, so under uffd-sync
 * the next write was a plain copy-on-write fault that no one heard of
 * (measured on 6.18: the written page missing from the answer).  Memory
 * marked MADV_MERGEABLE before register, KSM run until it has scanned
 * everything a few times, then a write: every backend reports it.  KSM
 * is started only as root (/sys/kernel/mm/ksm; its settings are put back
 * at exit); unregister leaves MADV_MERGEABLE as register found it.
 * Also MADV_MERGEABLE set by the application after register (run_late()).
 */
#include "watch-common.h"

#include <fcntl.h>

#define NP 32
#define KSM "/sys/kernel/mm/ksm/"

static char saved[3][32];
static const char *const knobs[3] = { "run", "pages_to_scan",
				      "sleep_millisecs" };

static long ksm_read(const char *knob)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", knob);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	return buf[0] ? atol(buf) : -1;
}

static void ksm_restore(void)
{
	char path[128];
	int i;

	for (i = 2; i >= 0; i--) {
		snprintf(path, sizeof(path), KSM "%s", knobs[i]);
		if (saved[i][0])
			t_write_file(path, saved[i]);
	}
}

static void ksm_start(void)
{
	int i;

	for (i = 0; i < 3; i++)
		snprintf(saved[i], sizeof(saved[i]), "%ld", ksm_read(knobs[i]));
	atexit(ksm_restore);
	if (t_write_file(KSM "pages_to_scan", "10000") ||
	    t_write_file(KSM "sleep_millisecs", "0") ||
	    t_write_file(KSM "run", "1"))
		t_skip("cannot start KSM");
}

/* Until KSM has walked every mergeable page three times more. */
static void ksm_settle(void)
{
	long fs = ksm_read("full_scans");
	int i;

	if (!saved[0][0])
		return;		/* not started */
	for (i = 0; i < 2000 && ksm_read("full_scans") < fs + 3; i++)
		usleep(5000);
}

/*
 * Two identical halves of NP pages each, filled with @fill: KSM merges
 * them if it may.  The watch covers the first half.
 */
static char *ksm_map(int fill)
{
	char *p = t_map(2 * NP * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);

	memset(p, fill, 2 * NP * t_psz);
	return p;
}

/* Register on the first half, armed (a first get with RESET). */
static struct pagescan_watch *arm(enum pagescan_watch_backend b, char *p)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = b);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	void *pg[NP];
	int n;

	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("%s: register", name);
	n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(n >= 0, "%s: get: %s", name, strerror(-n));
	return w;
}

/*
 * KSM run over everything a few times, then a write to page 5: is it in
 * the next get?  *@n: how many pages that get reported.
 */
static bool write_seen(struct pagescan_watch *w, char *p, const char *name,
		       int *n)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	void *pg[NP];
	bool seen = false;
	int i;

	ksm_settle();
	p[5 * t_psz + 1] = 1;
	*n = pagescan_watch_get_pages(w, p, NP * t_psz, pg, NP, &reset);
	t_check(*n >= 0, "%s: get: %s", name, strerror(-*n));
	for (i = 0; i < *n; i++)
		if (pg[i] == p + 5 * t_psz)
			seen = true;
	return seen;
}

static void run(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	struct w_state before;
	char *p = ksm_map(0x5a);
	int n;

	if (madvise(p, 2 * NP * t_psz, MADV_MERGEABLE))
		t_skip("MADV_MERGEABLE: %s", strerror(errno));
	w_state_get(&before, p, 2 * NP * t_psz);
	w = arm(b, p);
	t_check(write_seen(w, p, name, &n), "%s: the write after a KSM scan "
		"was lost (%d pages reported)", name, n);
	t_eq(pagescan_watch_unregister(w), 0);
	/* MADV_MERGEABLE is back where it was. */
	w_state_check(&before, p, 2 * NP * t_psz, name);
	free(before.maps);
	munmap(p, 2 * NP * t_psz);
}

/*
 * The application marks the range MADV_MERGEABLE after register (uffd-sync
 * took it off at register; nothing stops it from putting it back).  KSM
 * merges the armed pages, dropping their uffd-wp bits, and the next write
 * is a plain copy-on-write fault: under uffd-sync it was lost (measured on
 * 6.18 before the fix).  Now each get sees, in pagemap, an armed present
 * page whose protection is gone, and reports it; before pagemap bit 57
 * (5.13; the 5.10 VM lane) the miss is documented and accepted.
 */
static void run_late(enum pagescan_watch_backend b)
{
	const char *name = pagescan_watch_backend_name(b);
	struct pagescan_watch *w;
	char *p = ksm_map(0x5b);
	bool seen;
	int n;

	w = arm(b, p);
	if (madvise(p, 2 * NP * t_psz, MADV_MERGEABLE))
		t_error("MADV_MERGEABLE: %s", strerror(errno));
	seen = write_seen(w, p, name, &n);
	/* Before pagemap bit 57 (5.13) the manual says it is lost. */
	if (!seen && b == PAGESCAN_WATCH_UFFD_SYNC &&
	    pagescan_probe(PAGESCAN_FEAT_PAGEMAP_WP_BIT) != 1)
		printf("%s: MADV_MERGEABLE after register: the write was lost, "
		       "as documented without pagemap bit 57\n", name);
	else
		t_check(seen, "%s: MADV_MERGEABLE after register: the write "
			"after a KSM scan was lost (%d pages reported)", name,
			n);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, 2 * NP * t_psz);
}

int main(void)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	int i, nb;

	t_init("watch-ksm");
	nb = w_backends(bs);
	if (!nb)
		t_skip("no write-watch backend available");
	/*
	 * Unprivileged, KSM cannot be started: what is left to check is
	 * that register and unregister leave MADV_MERGEABLE as it was.
	 */
	if (t_root() && ksm_read("run") >= 0)
		ksm_start();
	else
		printf("KSM not started (needs root and KSM): no merges\n");
	for (i = 0; i < nb; i++) {
		printf("backend %s\n", pagescan_watch_backend_name(bs[i]));
		run(bs[i]);
		if (saved[0][0])
			run_late(bs[i]);
	}
	t_done();
}
