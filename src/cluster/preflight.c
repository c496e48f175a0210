/* Preflight checks (see preflight.h): each one a result with a message and a fix, never a print. */
#include "cluster/preflight.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "artifacts/artifacts.h"
#include "artifacts/cache.h"
#include "cluster/cluster.h"
#include "vm/guestssh.h"
#include "vm/machine.h"
#include "vm/volumes.h"
#include "vm/mounts.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define QEMU_CONF "/etc/libvirt/qemu.conf"

static void add(struct vk_preflight_report *r, const char *name, enum vk_preflight_status status, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add(struct vk_preflight_report *r, const char *name, enum vk_preflight_status status, const char *fix,
		const char *fmt, ...)
{
	struct vk_preflight_result *res;
	va_list ap;

	r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
	res = &r->items[r->n++];
	res->name = xstrdup(name);
	res->status = status;
	va_start(ap, fmt);
	res->message = xvasprintf(fmt, ap);
	va_end(ap);
	res->fix = fix && *fix ? xstrdup(fix) : NULL;
	r->failed += status == VK_PREFLIGHT_FAIL;
	r->warned += status == VK_PREFLIGHT_WARN;
}

/* An engine error as a failed check: its message, its hint as the fix. */
static void add_error(struct vk_preflight_report *r, const char *name, const struct vk_error *e)
{
	add(r, name, VK_PREFLIGHT_FAIL, e->hint, "%s", e->message);
}

const char *vk_preflight_status_name(enum vk_preflight_status s)
{
	return s == VK_PREFLIGHT_OK ? "ok" : s == VK_PREFLIGHT_WARN ? "warn" : "fail";
}

void vk_preflight_report_release(struct vk_preflight_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].message);
		free(r->items[i].fix);
	}
	free(r->items);
	free(r->accel);
	memset(r, 0, sizeof(*r));
}

int vk_preflight_error(const struct vk_preflight_report *r, struct vk_error *err)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->items[i].status != VK_PREFLIGHT_FAIL)
			continue;
		vk_error_set(err, VK_ERR_FAILED, "preflight check '%s' failed: %s", r->items[i].name, r->items[i].message);
		if (r->items[i].fix)
			vk_error_hint(err, "%s", r->items[i].fix);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ libvirt -- */

/* The unix socket a local URI talks to: its ?socket= parameter, else for
 * qemu:///system the modular daemon's or libvirtd's socket, whichever exists.
 * NULL when the URI uses no local socket we know of. */
static char *uri_socket(const char *uri)
{
	static const char *const system_sockets[] = { "/run/libvirt/virtqemud-sock", "/run/libvirt/libvirt-sock" };
	const char *q = strstr(uri, "socket=");

	if (q && (q[-1] == '?' || q[-1] == '&'))
		return xstrndup(q + 7, strcspn(q + 7, "&"));
	if (strncmp(uri, "qemu:///system", 14) != 0 && strncmp(uri, "qemu+unix:///system", 19) != 0)
		return NULL;
	for (size_t i = 0; i < VK_ARRAY_SIZE(system_sockets); i++)
		if (vk_path_exists(system_sockets[i]))
			return xstrdup(system_sockets[i]);
	return NULL;
}

/* Permission on the socket, before libvirt's own (less specific) error. */
static void check_socket(struct vk_preflight_report *r, const char *uri)
{
	_cleanup_free_ char *sock = uri_socket(uri);
	struct stat st;
	struct group *g;

	if (!sock || stat(sock, &st) < 0)
		return;
	if (access(sock, R_OK | W_OK) == 0) {
		add(r, "libvirt-socket", VK_PREFLIGHT_OK, NULL, "'%s' is usable by this user", sock);
		return;
	}
	g = getgrgid(st.st_gid);
	{
		/* a root-group socket is not opened by joining a group: libvirtd.conf decides */
		_cleanup_free_ char *fix =
			st.st_gid == 0 || !g ? xstrdup("set unix_sock_group = \"libvirt\" and unix_sock_rw_perms = \"0770\" in "
						       "libvirtd.conf (or virtqemud.conf), restart it and join that group, or use "
						       "--libvirt-uri qemu:///session")
					      : xasprintf("add your user to the '%s' group (sudo usermod -aG %s $USER) and "
							  "log in again, or use --libvirt-uri qemu:///session",
							  g->gr_name, g->gr_name);

		add(r, "libvirt-socket", VK_PREFLIGHT_FAIL, fix, "no permission on libvirt's socket '%s' (mode %04o, group '%s')",
		    sock, (unsigned)(st.st_mode & 07777), g ? g->gr_name : "?");
	}
}

/* The image's requirement in words: "centos-stream-10 needs x86-64-v3". A
 * base image of vm-images/ (or none: the default) says its own level. */
static char *image_needs(const char *image, const char *cpu_level)
{
	_cleanup_free_ char *name = NULL, *level = NULL;

	if (!cpu_level && (!image || vk_artifacts_image_known(image)) &&
	    vk_artifacts_image_info(image, &name, &level, NULL) == 0)
		return level ? xasprintf("%s needs %s", name, level) : xasprintf("%s needs x86-64-v2 or later", name);
	if (!image)
		return xstrdup("CentOS Stream 9 needs x86-64-v2, Stream 10 x86-64-v3");
	return cpu_level ? xasprintf("%s needs %s", image, cpu_level)
			 : xasprintf("%s may need x86-64-v2 (CentOS Stream 9) or v3 (Stream 10)", image);
}

int vk_preflight_tcg_cpu(virConnectPtr conn, const char *image, const char *cpu_level, const char *domcaps_file,
			 char **note, struct vk_error *err)
{
	_cleanup_free_ char *why = NULL, *needs = NULL, *caps = NULL;
	enum vk_tcg_cpu_verdict v;

	*note = NULL;
	if (!domcaps_file)
		domcaps_file = getenv("VIRTKUBE_TEST_TCG_DOMCAPS");
	if (domcaps_file) {
		if (*domcaps_file && vk_read_file(domcaps_file, &caps, NULL, NULL) < 0)
			caps = NULL;
		v = vk_tcg_cpu_judge(caps, "the test's capabilities file is empty", &why);
	} else {
		v = vk_machine_tcg_cpu(conn, &why);
	}
	if (v == VK_TCG_CPU_OK)
		return 0;
	if (v == VK_TCG_CPU_UNKNOWN) {
		*note = xasprintf("whether the guest gets a CPU above qemu64 cannot be told: %s", why);
		return 0;
	}
	needs = image_needs(image, cpu_level);
	vk_error_set(err, VK_ERR_UNSUPPORTED, "%s; %s", why, needs);
	return vk_error_hint(err, "upgrade libvirt (7.1 or later) and qemu (4.2 or later), or run where kvm works "
			     "(--accel kvm), or boot an image that runs on qemu64 (--image)");
}

/* kvm or tcg, asking machine.c. The seam: machine.c decides whether qemu can
 * really use kvm; asking it for "kvm" first gives the reason when it cannot.
 * Under tcg, whether qemu can give the guest the CPU the image needs too. */
static void check_accel(struct vk_preflight_report *r, virConnectPtr conn, const char *uri,
			const struct vk_preflight_opts *o)
{
	struct vk_error e = { 0 }, cpu_err = { 0 };
	enum vk_accel accel = VK_ACCEL_TCG;
	const char *want = o->accel;
	bool want_tcg = want && strcmp(want, "tcg") == 0;
	_cleanup_free_ char *note = NULL, *tail = NULL;
	const char *why;

	if (want && !want_tcg && strcmp(want, "kvm") != 0 && strcmp(want, "auto") != 0) {
		add(r, "accelerator", VK_PREFLIGHT_FAIL, "use --accel auto, kvm or tcg", "unknown accelerator '%s'", want);
		return;
	}
	if (vk_machine_choose_accel(conn, uri, "kvm", &accel, &e) == 0 && !want_tcg) {
		r->accel = xstrdup("kvm");
		add(r, "accelerator", VK_PREFLIGHT_OK, NULL, "kvm: hardware virtualization is usable");
		return;
	}
	r->accel = xstrdup("tcg");
	if (want && strcmp(want, "kvm") == 0) {
		add_error(r, "accelerator", &e);
		return;
	}
	if (vk_preflight_tcg_cpu(conn, o->image, o->cpu_level, o->tcg_domcaps, &note, &cpu_err) < 0) {
		add(r, "accelerator", VK_PREFLIGHT_FAIL, cpu_err.hint, "tcg: %s", cpu_err.message);
		return;
	}
	tail = note ? xasprintf("; %s", note) : xstrdup("; the guest's CPU: mode '" VK_DOMXML_TCG_CPU_MODE "'");
	if (want_tcg) {
		add(r, "accelerator", VK_PREFLIGHT_WARN, "leave --accel at auto where kvm works",
		    "tcg emulation (--accel tcg): expect minutes, not seconds%s", tail);
		return;
	}
	/* machine.c words its reason for an explicit --accel kvm */
	why = strncmp(e.message, "--accel kvm: ", 13) == 0 ? e.message + 13 : e.message;
	add(r, "accelerator", VK_PREFLIGHT_WARN,
	    "enable virtualization in the firmware, load kvm_intel or kvm_amd, and make /dev/kvm usable "
	    "(sudo usermod -aG kvm $USER)",
	    "kvm is not usable: %s; tcg emulation: expect minutes, not seconds%s", *why ? why : "no reason given", tail);
}

static void check_subnet(struct vk_preflight_report *r, virConnectPtr conn, const char *uri, uint32_t own)
{
	_cleanup_free_ struct vk_cidr *used = NULL;
	size_t nused = 0, kept = 0;
	struct vk_error e = { 0 };
	uint32_t chosen;
	char a[16], b[16], first[16];

	if (vk_subnets_in_use(conn, vk_machine_uri_is_local(uri), &used, &nused, &e) < 0) {
		add_error(r, "subnet", &e);
		return;
	}
	if (own) {
		/* The profile's own network (and its bridge's route) is that very
		 * /24, and the route of its LoadBalancer pool lies inside it. */
		for (size_t i = 0; i < nused; i++)
			if (!(used[i].prefix == 24 && used[i].addr == own) &&
			    !(used[i].prefix == VK_LB_POOL_PREFIX && used[i].addr == vk_network_lb_pool(own)))
				used[kept++] = used[i];
		if (vk_subnet_choose(used, kept, own, 1, &chosen, &e) < 0) {
			vk_ipv4_format(own, a);
			add(r, "subnet", VK_PREFLIGHT_FAIL,
			    "remove the route or network that overlaps it, or delete the profile to choose another",
			    "the profile's subnet %s/24 overlaps a route or libvirt network in use", a);
			return;
		}
		vk_ipv4_format(own, a);
		add(r, "subnet", VK_PREFLIGHT_OK, NULL, "the profile's subnet %s/24 is free", a);
		return;
	}
	if (vk_subnet_choose(used, nused, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &chosen, &e) < 0) {
		add_error(r, "subnet", &e);
		return;
	}
	vk_ipv4_format(chosen, a);
	vk_ipv4_format(VK_SUBNET_FIRST, first);
	vk_ipv4_format(VK_SUBNET_FIRST + (VK_SUBNET_COUNT - 1) * 256u, b);
	add(r, "subnet", VK_PREFLIGHT_OK, NULL, "%s/24 is free (range %s/24 to %s/24; %zu routes and networks in use)",
	    a, first, b, nused);
}

/* A bridged profile's bridge. Its LAN's addresses are not checked against
 * routes and libvirt networks: that LAN is routed by design (the host's own
 * address on the bridge), and may be a libvirt network's bridge too. */
static void check_bridge(struct vk_preflight_report *r, virConnectPtr conn, const char *uri, const char *bridge)
{
	_cleanup_free_ char *why = NULL;

	switch (vk_bridge_find(conn, vk_machine_uri_is_local(uri), bridge, &why)) {
	case VK_BRIDGE_FOUND:
		add(r, "bridge", VK_PREFLIGHT_OK, NULL, "bridge '%s' is on the libvirt host", bridge);
		return;
	case VK_BRIDGE_MISSING:
		add(r, "bridge", VK_PREFLIGHT_FAIL,
		    "make it there first (ip link add NAME type bridge, with the LAN's port in it), or name one of its "
		    "bridges with --bridge ('ip link show type bridge' on that host lists them)",
		    "there is no bridge '%s' on the libvirt host at '%s'", bridge, uri);
		return;
	case VK_BRIDGE_UNKNOWN:
		add(r, "bridge", VK_PREFLIGHT_WARN, "if it is missing there, the domain's start says so",
		    "cannot tell whether bridge '%s' is on the libvirt host (%s)", bridge, why);
		return;
	}
}

/* --------------------------------------------------------------- home -- */

/* The deepest existing directory at or above PATH (newly allocated). */
static char *existing_ancestor(const char *path)
{
	char *p = xstrdup(path);
	char *slash;

	while (!vk_path_exists(p) && (slash = strrchr(p, '/'))) {
		if (slash == p) {
			p[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	return p;
}

static void check_home(struct vk_preflight_report *r, const char *home)
{
	_cleanup_free_ char *base = NULL;
	struct stat st;

	if (stat(home, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			add(r, "home", VK_PREFLIGHT_FAIL, "set VIRTKUBE_HOME to a directory of yours",
			    "VIRTKUBE_HOME '%s' is not a directory", home);
			return;
		}
		if (access(home, R_OK | W_OK | X_OK) < 0) {
			_cleanup_free_ char *fix = xasprintf("give your user access (sudo chown -R $USER '%s'), or set "
							     "VIRTKUBE_HOME to a directory of yours",
							     home);

			add(r, "home", VK_PREFLIGHT_FAIL, fix, "cannot use VIRTKUBE_HOME '%s': %s", home, strerror(errno));
			return;
		}
		add(r, "home", VK_PREFLIGHT_OK, NULL, "'%s' is readable and writable", home);
		return;
	}
	if (errno != ENOENT) {
		add(r, "home", VK_PREFLIGHT_FAIL, "set VIRTKUBE_HOME to a directory of yours", "cannot use VIRTKUBE_HOME '%s': %s",
		    home, strerror(errno));
		return;
	}
	base = existing_ancestor(home);
	if (!vk_is_dir(base) || access(base, W_OK | X_OK) < 0) {
		_cleanup_free_ char *fix = xasprintf("create it yourself (mkdir -p '%s'), or set VIRTKUBE_HOME to a "
						     "directory of yours",
						     home);

		add(r, "home", VK_PREFLIGHT_FAIL, fix, "cannot create VIRTKUBE_HOME '%s': '%s' is not writable", home, base);
		return;
	}
	add(r, "home", VK_PREFLIGHT_OK, NULL, "'%s' will be created", home);
}

/* qemu.conf's `user = "NAME"`, if set (newly allocated). */
static char *qemu_conf_user(void)
{
	_cleanup_fclose_ FILE *f = fopen(QEMU_CONF, "re");
	char line[512], name[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " user = \"%127[^\"]\"", name) == 1)
			return xstrdup(name);
	return NULL;
}

/* Whether UID/GID (with GROUPS) may search directory ST. */
static bool may_search(const struct stat *st, uid_t uid, const gid_t *groups, int ngroups)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IXUSR;
	for (int i = 0; i < ngroups; i++)
		if (st->st_gid == groups[i])
			return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Under qemu:///system, qemu runs as its own user and opens the disk and seed
 * under HOME: every directory above HOME must let it pass. HOME and below are
 * virtkube's, opened up (0711) when the VM is created. */
static void check_qemu_access(struct vk_preflight_report *r, const char *uri, const char *home, const char *want_user)
{
	_cleanup_free_ char *conf_user = want_user ? NULL : qemu_conf_user();
	_cleanup_free_ char *path = NULL;
	const char *candidates[] = { want_user ? want_user : conf_user, "libvirt-qemu", "qemu" };
	struct passwd *pw = NULL;
	gid_t groups[64];
	int ngroups = (int)VK_ARRAY_SIZE(groups);
	char *slash;
	struct stat st;

	if (strncmp(uri, "qemu:///system", 14) != 0)
		return;
	for (size_t i = 0; i < VK_ARRAY_SIZE(candidates) && !pw; i++)
		if (candidates[i])
			pw = getpwnam(candidates[i]);
	if (!pw) {
		add(r, "qemu-access", VK_PREFLIGHT_WARN, "install libvirt's qemu driver (libvirt-daemon-system / libvirt-daemon-kvm)",
		    "no qemu user found (qemu.conf's user, libvirt-qemu or qemu): cannot check that qemu reaches '%s'", home);
		return;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		ngroups = (int)VK_ARRAY_SIZE(groups);
	path = existing_ancestor(home);
	/* HOME itself is ours to open up; start from its parent. */
	if (strcmp(path, home) == 0 && (slash = strrchr(path, '/')) && slash != path)
		*slash = '\0';
	for (;;) {
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && !may_search(&st, pw->pw_uid, groups, ngroups)) {
			_cleanup_free_ char *fix = xasprintf("run 'chmod o+x %s', or set VIRTKUBE_HOME to a directory qemu "
							     "can reach (e.g. under /var/lib)",
							     path);

			add(r, "qemu-access", VK_PREFLIGHT_FAIL, fix,
			    "qemu (user '%s' under %s) cannot reach '%s': '%s' (mode %04o) does not let it pass", pw->pw_name,
			    uri, home, path, (unsigned)(st.st_mode & 07777));
			return;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	add(r, "qemu-access", VK_PREFLIGHT_OK, NULL, "qemu (user '%s') can reach '%s'", pw->pw_name, home);
}

/* ------------------------------------------------------ memory, disk -- */

/* MemTotal and MemAvailable in MiB from a /proc/meminfo-format file. */
static int read_meminfo(const char *path, long *total_mib, long *avail_mib, struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
	const char *t, *a;

	if (vk_read_file(path, &text, NULL, err) < 0)
		return -1;
	t = strstr(text, "MemTotal:");
	a = strstr(text, "MemAvailable:");
	if (!t || !a)
		return vk_error_set(err, VK_ERR_PARSE, "'%s' has no MemTotal or MemAvailable line", path);
	*total_mib = strtol(t + 9, NULL, 10) / 1024;
	*avail_mib = strtol(a + 13, NULL, 10) / 1024;
	return 0;
}

static void check_memory(struct vk_preflight_report *r, const char *meminfo, long want_mib, long vms)
{
	/* "the VM" or "the 3 VMs": what wants the memory */
	_cleanup_free_ char *vm = vms > 1 ? xasprintf("the %ld VMs", vms) : xstrdup("the VM");
	const char *want = vms > 1 ? "want" : "wants";
	const char *env = getenv("VIRTKUBE_MEMINFO");
	const char *path = meminfo ? meminfo : env && *env ? env : "/proc/meminfo";
	struct vk_error e = { 0 };
	long total = 0, avail = 0;

	if (read_meminfo(path, &total, &avail, &e) < 0) {
		add(r, "memory", VK_PREFLIGHT_WARN, NULL, "cannot tell free memory: %s", e.message);
		return;
	}
	if (total < want_mib) {
		_cleanup_free_ char *fix = xasprintf("use --memory %ld or less", total - VK_PREFLIGHT_MEMORY_HEADROOM_MIB);

		add(r, "memory", VK_PREFLIGHT_FAIL, fix, "%s %s %ld MiB but this host has %ld MiB in all", vm, want,
		    want_mib, total);
	} else if (avail < want_mib) {
		add(r, "memory", VK_PREFLIGHT_FAIL, "stop other VMs or programs, or use a smaller --memory (at least 2048 for Kubernetes)",
		    "%s %s %ld MiB but only %ld MiB are available (of %ld MiB)", vm, want, want_mib, avail, total);
	} else if (avail < want_mib + VK_PREFLIGHT_MEMORY_HEADROOM_MIB) {
		add(r, "memory", VK_PREFLIGHT_WARN, "free some memory, or use a smaller --memory",
		    "%ld MiB available for a %ld MiB VM: little left for qemu itself and the host", avail, want_mib);
	} else if (vms > 1) {
		add(r, "memory", VK_PREFLIGHT_OK, NULL, "%ld MiB available for %s (%ld MiB)", avail, vm, want_mib);
	} else {
		add(r, "memory", VK_PREFLIGHT_OK, NULL, "%ld MiB available for a %ld MiB VM", avail, want_mib);
	}
}

static void check_disk(struct vk_preflight_report *r, const char *home, long disk_gib, bool kubernetes)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);
	_cleanup_free_ char *base = existing_ancestor(cache);
	long need_mib = kubernetes ? VK_PREFLIGHT_CACHE_NEED_MIB : VK_PREFLIGHT_CACHE_NEED_NOKUBE_MIB;
	struct statvfs sv;
	long free_mib;

	if (statvfs(base, &sv) < 0) {
		add(r, "disk", VK_PREFLIGHT_WARN, NULL, "cannot tell free space at '%s': %s", base, strerror(errno));
		return;
	}
	free_mib = (long)((unsigned long long)sv.f_bavail * sv.f_frsize / (1024 * 1024));
	if (free_mib < need_mib) {
		_cleanup_free_ char *fix = xasprintf("free space there (virtkube cache clean removes old downloads), "
						     "or set VIRTKUBE_HOME on a larger filesystem");

		add(r, "disk", VK_PREFLIGHT_FAIL, fix, "%ld MiB free at '%s'; a first start downloads and builds about %ld MiB",
		    free_mib, base, need_mib);
	} else if (free_mib < need_mib + disk_gib * 1024) {
		add(r, "disk", VK_PREFLIGHT_WARN, "free space, or use a smaller --disk-size",
		    "%ld MiB free at '%s': the VM's %ld GiB disk (copy-on-write, grows as it fills) may not fit", free_mib,
		    base, disk_gib);
	} else {
		add(r, "disk", VK_PREFLIGHT_OK, NULL, "%ld MiB free at '%s'", free_mib, base);
	}
}

/* ------------------------------------------------------ remote host -- */

/* Whether qemu there can pass the pool's directory (what start will create
 * when there is no pool yet). Its parents are not in the API: not checked. */
static void check_remote_pool_access(struct vk_preflight_report *r, virConnectPtr conn)
{
	static const enum vk_preflight_status status[] = {
		[VK_POOL_ACCESS_OK] = VK_PREFLIGHT_OK,
		[VK_POOL_ACCESS_UNKNOWN] = VK_PREFLIGHT_WARN,
		[VK_POOL_ACCESS_DENIED] = VK_PREFLIGHT_FAIL,
	};
	_cleanup_free_ char *why = NULL, *fix = NULL;
	struct vk_pool_access a;
	struct vk_error e = { 0 };
	enum vk_pool_access_verdict v;

	if (vk_volume_pool_access(conn, VK_VOLUME_POOL, VK_VOLUME_POOL_DIR, &a, &e) < 0) {
		add(r, "remote-pool-access", VK_PREFLIGHT_WARN, NULL, "cannot tell whether qemu there can read the pool: %s",
		    e.message);
		vk_pool_target_release(&a.target);
		return;
	}
	v = vk_pool_access_judge(&a, &why, &fix);
	add(r, "remote-pool-access", status[v], fix, "%s", why);
	vk_pool_target_release(&a.target);
}

/* A libvirt host that is not this one: its memory and the pool virtkube
 * keeps there (created at the first start), in place of this host's memory. */
static void check_remote(struct vk_preflight_report *r, virConnectPtr conn, long want_mib, long disk_gib, long vms)
{
	_cleanup_free_ char *vm = vms > 1 ? xasprintf("the %ld VMs", vms) : xstrdup("the VM");
	uint64_t free_mem = 0, avail = 0;
	struct vk_error e = { 0 };
	long free_mib, avail_mib;
	bool found;

	if (vk_volume_host_free(conn, VK_VOLUME_POOL, &free_mem, &avail, &found, &e) < 0) {
		add(r, "remote-host", VK_PREFLIGHT_WARN, NULL, "cannot tell the libvirt host's free memory and disk: %s",
		    e.message);
		return;
	}
	free_mib = (long)(free_mem >> 20);
	if (free_mib < want_mib)
		add(r, "remote-memory", VK_PREFLIGHT_FAIL, "stop VMs on the libvirt host, or use a smaller --memory",
		    "%s %s %ld MiB but the libvirt host has %ld MiB free", vm, vms > 1 ? "want" : "wants", want_mib,
		    free_mib);
	else
		add(r, "remote-memory", VK_PREFLIGHT_OK, NULL, "%ld MiB free on the libvirt host for %s (%ld MiB)", free_mib,
		    vm, want_mib);
	avail_mib = (long)(avail >> 20);
	if (!found)
		add(r, "remote-pool", VK_PREFLIGHT_OK, NULL, "no storage pool '%s' there yet: start creates it at %s",
		    VK_VOLUME_POOL, VK_VOLUME_POOL_DIR);
	else if (avail_mib < 2048)
		add(r, "remote-pool", VK_PREFLIGHT_FAIL, "free space in the pool's directory on the libvirt host",
		    "storage pool '%s' has %ld MiB free: the base image and the disks need more", VK_VOLUME_POOL, avail_mib);
	else if (avail_mib < disk_gib * 1024)
		add(r, "remote-pool", VK_PREFLIGHT_WARN, "free space there, or use a smaller --disk-size",
		    "storage pool '%s' has %ld MiB free: %s's %ld GiB of disk (copy-on-write) may not fit", VK_VOLUME_POOL,
		    avail_mib, vm, disk_gib);
	else
		add(r, "remote-pool", VK_PREFLIGHT_OK, NULL, "storage pool '%s': %ld MiB free", VK_VOLUME_POOL, avail_mib);
	check_remote_pool_access(r, conn);
}

/* ---------------------------------------------------------------- ssh -- */

static void check_ssh(struct vk_preflight_report *r)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *dirs = xstrdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = vk_path_join(*d ? d : ".", "ssh");

		if (access(cand, X_OK) == 0) {
			add(r, "ssh", VK_PREFLIGHT_OK, NULL, "'%s'", cand);
			return;
		}
	}
	add(r, "ssh", VK_PREFLIGHT_WARN, VK_SSH_INSTALL_HINT,
	    "no 'ssh' in PATH: start works, but 'virtkube ssh', 'logs' and the kubelet part of 'status' need it");
}

/* Host folders (--mount, `virtkube mount`) are served by virtiofsd, which
 * libvirt starts beside qemu on a local qemu host: only there can we look. */
static void check_virtiofsd(struct vk_preflight_report *r, const char *uri, bool mounts)
{
	const char *bin;

	if (strncmp(uri, "qemu:", 5) != 0 || !vk_machine_uri_is_local(uri))
		return;
	bin = vk_virtiofsd_find();
	if (bin)
		add(r, "virtiofsd", VK_PREFLIGHT_OK, NULL, "'%s' (host folders: --mount)", bin);
	else if (mounts)
		add(r, "virtiofsd", VK_PREFLIGHT_FAIL, VK_VIRTIOFSD_HINT,
		    "no virtiofsd on this host: the profile's host folders (--mount) cannot be served");
	else
		add(r, "virtiofsd", VK_PREFLIGHT_WARN, VK_VIRTIOFSD_HINT,
		    "no virtiofsd: start works, but host folders (--mount, 'virtkube mount') need it");
}

/* -------------------------------------------------------------- run it -- */

int vk_preflight_run(const struct vk_preflight_opts *o, struct vk_preflight_report *out, struct vk_error *err)
{
	const char *uri = vk_machine_uri(o->libvirt_uri);
	long memory = o->memory_mib > 0 ? o->memory_mib : VK_DEFAULT_MEMORY_MIB;
	long disk = o->disk_gib > 0 ? o->disk_gib : VK_DEFAULT_DISK_GIB;
	long vms = o->vms > 0 ? o->vms : 1;
	_cleanup_conn_ virConnectPtr conn = NULL;
	struct vk_error e = { 0 };
	size_t before;

	memset(out, 0, sizeof(*out));
	if (!o->home || !*o->home)
		return vk_error_set(err, VK_ERR_INVALID, "preflight: no VIRTKUBE_HOME given");
	check_socket(out, uri);
	before = out->failed;
	conn = vk_machine_connect(uri, &e);
	if (conn) {
		add(out, "libvirt", VK_PREFLIGHT_OK, NULL, "connected to '%s'", uri);
		if (!o->skip_accelerator)
			check_accel(out, conn, uri, o);
	} else if (out->failed > before) {
		/* the socket check said why already */
		add(out, "libvirt", VK_PREFLIGHT_FAIL, NULL, "%s", e.message);
	} else {
		add_error(out, "libvirt", &e);
	}
	check_home(out, o->home);
	check_qemu_access(out, uri, o->home, o->qemu_user);
	if (conn && vk_volumes_wanted(uri))
		check_remote(out, conn, memory * vms, disk * vms, vms);
	else
		check_memory(out, o->meminfo_path, memory * vms, vms);
	/* every node's overlay may grow to its full size */
	check_disk(out, o->home, disk * vms, !o->no_kubernetes);
	if (conn && o->bridge)
		check_bridge(out, conn, uri, o->bridge);
	else if (conn)
		check_subnet(out, conn, uri, o->subnet);
	check_ssh(out);
	check_virtiofsd(out, uri, o->mounts);
	return 0;
}
