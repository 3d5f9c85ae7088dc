// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: snapshots on a kernel without PROCMAP_QUERY (6.7-6.10, the
 * first kernels with uffd-async: Ubuntu 24.04's 6.8 among them), where
 * the mappings come from the maps text, read once for every range of a
 * take, update or check.  A seccomp filter makes ioctl(PROCMAP_QUERY)
 * fail with ENOTTY as those kernels do (checked), then:
 *  - a snapshot of 160 separate mappings (120 under mprotect and
 *    soft-dirty, whose handler table holds 256; 40 emulated, as the
 *    emulate lanes run it) and a private file mapping,
 *    written, discarded and restored byte for byte, several rounds;
 *  - a mapping made executable since take fails the restore with EFAULT
 *    and nothing is restored; so does a munmapped one;
 *  - a SysV SHM_HUGETLB segment of shmid 0 (inode 0 in the text) keeps
 *    its huge page size, the filter on before take or after it;
 *  - snapshot-rules, snapshot-kinds, snapshot-process and
 *    snapshot-timeout run again under the filter (their EFAULT rules,
 *    page sizes of hugetlb and file mappings, the whole-process snapshot,
 *    and its restore after a timeout out of malloc(): the maps text, its
 *    table and its names were read into the heap being restored, which
 *    aborted at round 62 of 150, or hung at round 2 with a thread).
 * A kernel without the ioctl skips it: the other tests are this there.
 * Read per range, a restore of one page of a whole-process snapshot of
 * 1,000 mappings took 1.8 s (smaps read again for each file mapping).
 */
#include "snapshot-common.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NMAP	160
#define NP	4		/* pages of each mapping */
#define FILE_NP	8
#define HUGE	(2UL << 20)
#ifndef SHM_HUGE_2MB
#define SHM_HUGE_2MB	(21 << 26)
#endif

/* _IOWR('f', 17, struct procmap_query): 104 bytes (6.11 uapi). */
#define T_PROCMAP_QUERY	_IOWR('f', 17, char[104])

#if defined(__x86_64__)
#define T_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_ARCH	AUDIT_ARCH_AARCH64
#endif
#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64	0xc000003eU
#endif
#ifndef AUDIT_ARCH_AARCH64
#define AUDIT_ARCH_AARCH64	0xc00000b7U
#endif

/* 1: the ioctl answers; 0: ENOTTY (no such ioctl); -errno otherwise. */
static int query_works(void)
{
	uint64_t q[13] = { sizeof(q), 0, (uintptr_t)&query_works };
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		t_error("/proc/self/maps");
	r = ioctl(fd, T_PROCMAP_QUERY, q) ? (errno == ENOTTY ? 0 : -errno) : 1;
	close(fd);
	return r;
}

static void no_query(void)
{
#ifdef T_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 (uint32_t)T_PROCMAP_QUERY, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p))
		t_skip("no seccomp filter here: %s", strerror(errno));
	if (query_works() != 0)
		t_error("PROCMAP_QUERY still answers under the filter");
#else
	t_skip("no seccomp filter written for this architecture");
#endif
}

static char *maps[NMAP], *fmap;
static unsigned char *ref;	/* every mapping's content at take */
static int nmap;		/* mappings of this round, fmap is the next */
static bool emulated;		/* PAGESCAN_BACKEND=emulate */

static char *m_at(int i)
{
	return i < nmap ? maps[i] : fmap;
}

static size_t m_len(int i)
{
	return (i < nmap ? NP : FILE_NP) * t_psz;
}

static size_t m_off(int i)
{
	return (size_t)i * NP * t_psz;
}

static void scribble(int round)
{
	int i;

	for (i = round % 7; i < nmap; i += 7)
		maps[i][(size_t)(round % NP) * t_psz + 13] ^= 0x5a;
	for (i = round % 11; i < nmap; i += 11)
		madvise(maps[i], t_psz, MADV_DONTNEED);
	fmap[(size_t)(round % FILE_NP) * t_psz + 7] = (char)round;
	madvise(fmap + t_psz, t_psz, MADV_DONTNEED);
}

static int differs(void)
{
	int i, bad = 0;

	for (i = 0; i <= nmap; i++)
		if (memcmp(m_at(i), ref + m_off(i), m_len(i)))
			bad++;
	return bad;
}

static void ranges_case(enum pagescan_watch_backend b)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o, .backend = b);
	struct pagescan_range r[NMAP + 1];
	struct pagescan_snapshot *s;
	int i, round, ret, fd;
	const char *name = pagescan_watch_backend_name(b);

	/* Those two have a handler table of 256 watches (ENOSPC). */
	nmap = b == PAGESCAN_WATCH_MPROTECT ||
	       b == PAGESCAN_WATCH_SOFT_DIRTY ? 120 : NMAP;
	/* Emulated, each scan of a restore is slow under TCG: fewer. */
	if (emulated && nmap > 40)
		nmap = 40;

	for (i = 0; i < nmap; i++) {
		/* A PROT_NONE page after each: no two merge. */
		maps[i] = t_map((NP + 1) * t_psz, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS);
		mprotect(maps[i] + NP * t_psz, t_psz, PROT_NONE);
		memset(maps[i], i & 0xff, (NP - 1) * t_psz);	/* last unpopulated */
		r[i].addr = maps[i];
		r[i].len = m_len(i);
	}
	fd = memfd_create("noquery", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(FILE_NP * t_psz)))
		t_error("memfd");
	fmap = mmap(NULL, FILE_NP * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    fd, 0);
	if (fmap == MAP_FAILED)
		t_error("mmap memfd");
	close(fd);
	memset(fmap, 0x77, 3 * t_psz);
	r[nmap].addr = fmap;
	r[nmap].len = m_len(nmap);
	ref = malloc(m_off(nmap) + m_len(nmap));
	if (!ref)
		t_error("malloc");
	for (i = 0; i <= nmap; i++)
		memcpy(ref + m_off(i), m_at(i), m_len(i));

	ret = pagescan_snapshot_take(r, nmap + 1, &o, &s);
	if (ret) {
		t_fail("%s: take of %d mappings: %d %s", name, nmap + 1, ret,
		       pagescan_last_error());
		goto out;
	}
	for (round = 1; round <= 4; round++) {
		scribble(round);
		ret = pagescan_snapshot_restore(s, NULL);
		t_check(!ret, "%s: restore round %d: %d %s", name, round, ret,
			pagescan_last_error());
		t_check(!differs(), "%s: round %d: %d mappings differ from take",
			name, round, differs());
	}

	/* Executable since take: EFAULT, and nothing restored. */
	scribble(5);
	mprotect(maps[nmap / 2], NP * t_psz, PROT_READ | PROT_WRITE | PROT_EXEC);
	ret = pagescan_snapshot_restore(s, NULL);
	t_check(ret == -EFAULT && errno == EFAULT, "%s: restore with a "
		"mapping made executable: %d, not -EFAULT", name, ret);
	t_check(maps[5][(size_t)(5 % NP) * t_psz + 13] != (char)(5 & 0xff),
		"%s: a failed restore restored something", name);
	mprotect(maps[nmap / 2], NP * t_psz, PROT_READ | PROT_WRITE);
	ret = pagescan_snapshot_restore(s, NULL);
	t_check(!ret && !differs(), "%s: restore once it is back: %d %s, "
		"%d differ", name, ret, pagescan_last_error(), differs());

	/* A mapping gone: EFAULT. */
	munmap(maps[nmap - 1], NP * t_psz);
	ret = pagescan_snapshot_restore(s, NULL);
	t_check(ret == -EFAULT, "%s: restore with a mapping unmapped: %d",
		name, ret);
	pagescan_snapshot_free(s);
	maps[nmap - 1] = NULL;
	printf("%s: %d mappings and a private file mapping: 4 rounds "
	       "exact, EFAULT for exec and munmap\n", name, nmap);
out:
	for (i = 0; i < nmap; i++)
		if (maps[i])
			munmap(maps[i], (NP + 1) * t_psz);
	munmap(fmap, FILE_NP * t_psz);
	free(ref);
}

/*
 * A SysV SHM_HUGETLB segment of shmid 0 shows inode 0 in the maps text
 * (its hugetlbfs device does not): taken for anonymous memory, its page
 * size was read as 4 KiB there, and a restore checked by the text after
 * a take by PROCMAP_QUERY failed with a false EFAULT.  In a child, in an
 * IPC namespace of its own (for shmid 0); the filter goes on before take
 * (@before) or between take and restore.  Exit 77: no namespace or pool.
 */
static int sysv_huge(bool before)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o);
	struct pagescan_snapshot_stats st = { .sz = sizeof(st) };
	struct pagescan_snapshot *s;
	struct pagescan_range r;
	size_t i, bad = 0;
	char *m;
	int id, ret;

	if (unshare(CLONE_NEWIPC) || t_hugepages(2) < 2)
		return 77;
	id = shmget(IPC_PRIVATE, HUGE, IPC_CREAT | SHM_HUGETLB | SHM_HUGE_2MB |
		    0600);
	if (id != 0)
		return id < 0 ? 77 : 90;
	m = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	if (m == (void *)-1)
		return 91;
	memset(m, 'A', HUGE);
	if (before)
		no_query();
	r.addr = m;
	r.len = HUGE;
	ret = pagescan_snapshot_take(&r, 1, &o, &s);
	if (ret) {
		printf("take: %d %s\n", ret, pagescan_last_error());
		return 2;
	}
	memset(m + 4096, 'B', 100);
	if (!before)
		no_query();
	ret = pagescan_snapshot_restore(s, &st);
	for (i = 0; i < HUGE; i++)
		bad += m[i] != 'A';
	/* st.pages counts tracking units: one huge page here. */
	if (ret || bad || st.pages != 1) {
		printf("restore: %d %s, %zu bytes differ, %llu pages, not "
		       "one huge page\n", ret, ret ? pagescan_last_error() :
		       "", bad, (unsigned long long)st.pages);
		return 3;
	}
	pagescan_snapshot_free(s);
	return 0;
}

static int sysv_huge_before(void)
{
	return sysv_huge(true);
}

static int sysv_huge_between(void)
{
	return sysv_huge(false);
}

/* Another test binary of this build, under the filter this one has. */
static void rerun(const char *self_dir, const char *test)
{
	char path[4096];
	int st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s.t", self_dir, test);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		t_error("waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("%s: skipped under the filter too\n", test);
	else
		t_check(WIFEXITED(st) && !WEXITSTATUS(st), "%s without "
			"PROCMAP_QUERY: status %#x", test, st);
}

int main(int argc, char **argv)
{
	enum pagescan_watch_backend bs[PAGESCAN_WATCH__COUNT];
	char dir[4096], *slash;
	int had, n, i, st;

	(void)argc;
	t_init("snapshot-noquery");
	emulated = getenv("PAGESCAN_BACKEND") &&
		   !strcmp(getenv("PAGESCAN_BACKEND"), "emulate");
	had = query_works();
	if (had != 1)
		t_skip("no PROCMAP_QUERY in this kernel (6.11): every snapshot "
		       "test here reads the maps text already");
	st = t_child(sysv_huge_between, 120);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("SysV hugetlb of shmid 0: no IPC namespace or no huge "
		       "pages here\n");
	} else {
		t_child_ok("SysV hugetlb of shmid 0, filter between take and "
			   "restore", st);
		t_child_ok("SysV hugetlb of shmid 0, filter before take",
			   t_child(sysv_huge_before, 120));
	}
	no_query();
	n = w_backends(bs);
	for (i = 0; i < n; i++)
		ranges_case(bs[i]);
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	slash = strrchr(dir, '/');
	if (!slash)
		t_error("run me by path: %s", argv[0]);
	*slash = '\0';
	/*
	 * Not again on the emulation (the emulate lanes): the snapshots'
	 * mappings are read the same way there, and under TCG the three
	 * cost a minute.
	 */
	if (emulated) {
		printf("the other snapshot tests: not again under "
		       "PAGESCAN_BACKEND=emulate\n");
		t_done();
	}
	rerun(dir, "snapshot-rules");
	rerun(dir, "snapshot-kinds");
	rerun(dir, "snapshot-process");
	rerun(dir, "snapshot-timeout");
	t_done();
}
