// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Handle lifecycle, backend selection and the drop-in pagescan_ioctl().
 */
#include "backend.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

unsigned long ps_page_size;
unsigned int ps_page_shift;

void ps_init_page_size(void)
{
	unsigned long sz = (unsigned long)sysconf(_SC_PAGESIZE);

	__atomic_store_n(&ps_page_shift, (unsigned int)__builtin_ctzl(sz),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ps_page_size, sz, __ATOMIC_RELEASE);
}

/*
 * At load, before any thread of the program can call us: the plain reads
 * of ps_page_size and ps_page_shift then never race with the lazy store
 * (ThreadSanitizer saw one between two scanning threads).
 */
__attribute__((constructor)) static void ps_page_size_at_load(void)
{
	ps_init_page_size();
}

bool ps_opts_valid(const void *opts, size_t known, size_t user_sz)
{
	const unsigned char *p = opts;
	size_t i;

	if (user_sz < sizeof(size_t))
		return false;
	for (i = known; i < user_sz; i++)
		if (p[i])
			return false;
	return true;
}

static const char *const cat_names[PAGESCAN_CAT_COUNT] = {
	"wpallowed", "written", "file", "present", "swapped",
	"pfnzero", "huge", "soft-dirty", "guard",
};

const char *pagescan_category_name(unsigned int bit)
{
	return bit < PAGESCAN_CAT_COUNT ? cat_names[bit] : NULL;
}

int64_t pagescan_category_parse(const char *name)
{
	unsigned int i;

	if (!name)
		return ps_err(EINVAL);
	for (i = 0; i < PAGESCAN_CAT_COUNT; i++)
		if (!strcasecmp(name, cat_names[i]))
			return (int64_t)1 << i;
	if (!strcasecmp(name, "softdirty") || !strcasecmp(name, "soft_dirty"))
		return (int64_t)PAGESCAN_CAT_SOFT_DIRTY;
	return ps_err(EINVAL);
}

static const char *const backend_names[] = {
	[PAGESCAN_BACKEND_AUTO] = "auto",
	[PAGESCAN_BACKEND_NATIVE] = "native",
	[PAGESCAN_BACKEND_EMULATE] = "emulate",
};

const char *pagescan_backend_name(enum pagescan_backend b)
{
	if ((unsigned int)b >= ARRAY_SIZE(backend_names))
		return NULL;
	return backend_names[b];
}

/* -1: PAGESCAN_BACKEND holds something we do not know. */
static int env_backend PS_STATE = -2;

enum pagescan_backend ps_env_backend(void)
{
	int b = __atomic_load_n(&env_backend, __ATOMIC_ACQUIRE);
	const char *s;

	if (b != -2)
		return (enum pagescan_backend)b;
	s = getenv("PAGESCAN_BACKEND");
	if (!s || !*s || !strcmp(s, "auto"))
		b = PAGESCAN_BACKEND_AUTO;
	else if (!strcmp(s, "native"))
		b = PAGESCAN_BACKEND_NATIVE;
	else if (!strcmp(s, "emulate"))
		b = PAGESCAN_BACKEND_EMULATE;
	else
		b = -1;
	__atomic_store_n(&env_backend, b, __ATOMIC_RELEASE);
	return (enum pagescan_backend)b;
}

/* -EINVAL, with the variable, its value and the valid ones as detail. */
int ps_env_backend_error(void)
{
	const char *e = getenv("PAGESCAN_BACKEND");
	char v[33];
	size_t i;

	/* The value is the user's: quote it shortened and printable. */
	for (i = 0; e && e[i] && i < sizeof(v) - 1; i++)
		v[i] = e[i] > ' ' && e[i] < 0x7f ? e[i] : '?';
	v[i] = '\0';
	return ps_errf(EINVAL, "PAGESCAN_BACKEND=%s%s: not one of auto, "
		       "native, emulate", v, e && e[i] ? "..." : "");
}

/* AUTO resolved: the kernel where it has the ioctl, else the emulation. */
enum pagescan_backend ps_resolve_backend(enum pagescan_backend b)
{
	if (b == PAGESCAN_BACKEND_AUTO)
		b = ps_env_backend();
	if (b == PAGESCAN_BACKEND_AUTO)
		b = ps_native_scan() == 1 ? PAGESCAN_BACKEND_NATIVE :
					    PAGESCAN_BACKEND_EMULATE;
	return b;
}

/*
 * The backend table, each backend set up on first use with the facts it
 * needs: the native one with the two it uses, so that a program that only
 * ever passes calls through does not run the emulation's probes.
 */
static const struct ps_backend *native_b PS_STATE, *emu_b PS_STATE;
static pthread_once_t native_once PS_STATE = PTHREAD_ONCE_INIT;
static pthread_once_t emu_once PS_STATE = PTHREAD_ONCE_INIT;

static void native_init(void)
{
	struct ps_facts f = {
		.native_scan = ps_native_scan(),
		.native_cats = ps_native_categories(),
	};

	native_b = native_backend(&f);
}

static void emu_init(void)
{
	emu_b = emu_backend(ps_facts());
}

const struct ps_backend *ps_backend(enum pagescan_backend b)
{
	if (b == PAGESCAN_BACKEND_NATIVE) {
		pthread_once(&native_once, native_init);
		return native_b;
	}
	pthread_once(&emu_once, emu_init);
	return emu_b;
}

/*
 * Under auto on a kernel that has the ioctl but lacks a category bit the
 * emulation can compute (6.7 has no SOFT_DIRTY), requests using that bit
 * go to the emulation instead of failing.  @arg is the caller's pointer
 * unless @own (then it is read directly, not copied in).
 */
static bool wants_emulation(const struct pm_scan_arg *arg, bool own)
{
	uint64_t native = ps_native_categories(), extra;
	struct pm_scan_arg a;

	if (!(~native & PAGESCAN_CAT_ALL))
		return false;
	extra = ps_backend(PAGESCAN_BACKEND_EMULATE)->categories() & ~native;
	if (!extra)
		return false;
	if (own)
		a = *arg;
	else if (sys_copy_from_self(&a, arg, sizeof(a)))
		return false;
	return (a.category_inverted | a.category_mask |
		a.category_anyof_mask | a.return_mask) & extra;
}

/*
 * Where AUTO sends every request without looking at it: NATIVE when the
 * environment asks for native, or for auto on a kernel whose ioctl takes
 * every category bit (wants_emulation() is then always false); -1 where
 * each request must be looked at.  It rests only on what is itself read
 * once (the environment, the probes), so it is worked out once: the
 * drop-in then costs a load and a compare on top of the ioctl, not the
 * whole choice on every call (issue 11: under 1 us of fixed overhead).
 */
static int auto_route PS_STATE = -2;

static int auto_fixed(void)
{
	int r = __atomic_load_n(&auto_route, __ATOMIC_ACQUIRE);
	enum pagescan_backend env;

	if (likely(r != -2))
		return r;
	env = ps_env_backend();
	r = -1;
	if (env == PAGESCAN_BACKEND_NATIVE ||
	    (env == PAGESCAN_BACKEND_AUTO && ps_native_scan() == 1 &&
	     !(~ps_native_categories() & PAGESCAN_CAT_ALL)))
		r = PAGESCAN_BACKEND_NATIVE;
	__atomic_store_n(&auto_route, r, __ATOMIC_RELEASE);
	return r;
}

/* The backend one request goes to: NATIVE, EMULATE, or -errno. */
static int choose(enum pagescan_backend backend, const struct pm_scan_arg *arg,
		  bool own)
{
	bool in_auto;
	int fixed;

	/* NATIVE asked for is NATIVE, whatever the environment says. */
	if (backend == PAGESCAN_BACKEND_NATIVE)
		return PAGESCAN_BACKEND_NATIVE;
	if (backend == PAGESCAN_BACKEND_AUTO) {
		fixed = auto_fixed();
		if (likely(fixed >= 0))
			return fixed;
	}
	in_auto = backend == PAGESCAN_BACKEND_AUTO &&
		  ps_env_backend() == PAGESCAN_BACKEND_AUTO;
	if ((int)ps_env_backend() < 0 && backend == PAGESCAN_BACKEND_AUTO)
		return ps_env_backend_error();
	backend = ps_resolve_backend(backend);
	if (in_auto && backend == PAGESCAN_BACKEND_NATIVE &&
	    wants_emulation(arg, own))
		backend = PAGESCAN_BACKEND_EMULATE;
	return (int)backend;
}

int ps_route(enum pagescan_backend backend, const struct pm_scan_arg *arg)
{
	return choose(backend, arg, true);
}

int ps_dispatch(enum pagescan_backend backend, const struct ps_target *t,
		struct pm_scan_arg *arg)
{
	int b = choose(backend, arg, false);

	return b < 0 ? b : ps_backend((enum pagescan_backend)b)->scan(t, arg);
}

/*
 * The drop-in: a bare descriptor, whose process is known by number only.
 * The emulation reads its maps next to it, in the procfs it was opened
 * in, and reads the entries through it (or, opened write-only, which
 * the kernel's ioctl does not mind, through the same file opened again
 * for reading).
 */
static int bare_scan(int fd, struct pm_scan_arg *arg)
{
	struct ps_target t = {
		.pagemap_fd = fd, .maps_fd = -1, .smaps_fd = -1, .pidfd = -1,
	};
	int b = choose(PAGESCAN_BACKEND_AUTO, arg, false);
	char dir[PATH_MAX], link[64];
	int fl, rfd = -1, ret;
	bool self;
	pid_t pid;

	if (b < 0)
		return b;
	if (b != PAGESCAN_BACKEND_EMULATE)
		return ps_backend((enum pagescan_backend)b)->scan(&t, arg);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		return -EBADF;		/* as ioctl(2) on such a descriptor */
	ret = sys_procfd_dir(fd, dir, sizeof(dir), &pid, &self);
	if (ret == -ENOENT)
		return -EBADF;
	if (ret == -EBADF)
		return -ENOTTY;		/* not a pagemap file */
	if (ret)
		return ret;
	if ((fl & O_ACCMODE) == O_WRONLY) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		rfd = open(link, O_RDONLY | O_CLOEXEC);
		if (rfd < 0)
			return errno == ENOENT ? -ESRCH : -errno;
		t.pagemap_fd = rfd;
	}
	t.pid = pid;
	t.self = self;
	t.proc_dir = dir;
	ret = ps_backend((enum pagescan_backend)b)->scan(&t, arg);
	if (rfd >= 0)
		close(rfd);
	return ret;
}

int pagescan_ioctl(int pagemap_fd, struct pm_scan_arg *arg)
{
	int ret = bare_scan(pagemap_fd, arg);

	if (ret < 0) {
		ps_err(-ret);
		return -1;
	}
	return ret;
}
