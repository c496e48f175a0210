/* The lifecycle steps. Each step looks at what exists (config.json, libvirt, files) before it acts. */
#include "cluster.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "sshkey.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ui_step(const struct vk_cluster_ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ui_step(const struct vk_cluster_ui *ui, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (ui && ui->step)
		ui->step(ui->ud, msg);
}

static void ui_warn(const struct vk_cluster_ui *ui, const char *msg)
{
	if (ui && ui->warn)
		ui->warn(ui->ud, msg);
}

char *vk_cluster_domain_name(const char *profile)
{
	return xstrdup(profile);
}

char *vk_cluster_network_name(const char *profile)
{
	return xasprintf("virtkube-%s", profile);
}

/* --------------------------------------------------------------- settings -- */

/* Owns its strings: config.json values they may come from are replaced while start runs. */
struct settings {
	char *uri;
	char *image;   /* absolute */
	long cpus, memory_mib, disk_gib;
	const char *accel;   /* requested: auto | kvm | tcg (a literal or the caller's flag) */
	char *network_mode;
	bool kubernetes;
};

static void settings_release(struct settings *s)
{
	free(s->uri);
	free(s->image);
	free(s->network_mode);
}

static int refuse_change(const struct vk_profile *p, const char *flag, const char *given, const char *saved,
			 struct vk_error *err)
{
	vk_error_set(err, VK_ERR_INVALID, "profile '%s' was created with --%s %s; it cannot change to %s", p->name, flag,
		     saved, given);
	return vk_error_hint(err, "delete the profile first ('virtkube delete -p %s'), or leave --%s out", p->name, flag);
}

static int merge_long(struct vk_profile *p, const char *key, const char *flag, long given, long def, long *out,
		      struct vk_error *err)
{
	long long saved = vk_profile_get_int(p, key, -1);

	if (p->exists && saved >= 0) {
		if (given > 0 && given != saved) {
			char a[32], b[32];

			snprintf(a, sizeof(a), "%ld", given);
			snprintf(b, sizeof(b), "%lld", saved);
			return refuse_change(p, flag, a, b, err);
		}
		*out = (long)saved;
		return 0;
	}
	*out = given > 0 ? given : def;
	return 0;
}

static int merge_str(struct vk_profile *p, const char *key, const char *flag, const char *given, const char *def,
		     char **out, struct vk_error *err)
{
	const char *saved = vk_profile_get_str(p, key);

	if (p->exists && saved) {
		if (given && strcmp(given, saved) != 0)
			return refuse_change(p, flag, given, saved, err);
		*out = xstrdup(saved);
		return 0;
	}
	*out = given ? xstrdup(given) : def ? xstrdup(def) : NULL;
	return 0;
}

static int resolve_settings(struct vk_profile *p, const struct vk_start_opts *o, struct settings *s,
			    char abs_image[PATH_MAX], struct vk_error *err)
{
	const char *image = NULL;
	bool saved_kube;

	if (merge_str(p, "libvirt_uri", "libvirt-uri", o->libvirt_uri, vk_machine_uri(NULL), &s->uri, err) < 0 ||
	    merge_long(p, "cpus", "cpus", o->cpus, VK_DEFAULT_CPUS, &s->cpus, err) < 0 ||
	    merge_long(p, "memory_mib", "memory", o->memory_mib, VK_DEFAULT_MEMORY_MIB, &s->memory_mib, err) < 0 ||
	    merge_long(p, "disk_gib", "disk-size", o->disk_gib, VK_DEFAULT_DISK_GIB, &s->disk_gib, err) < 0 ||
	    merge_str(p, "network_mode", "network-mode", o->network_mode, "nat", &s->network_mode, err) < 0)
		return -1;
	/* The accelerator saved is the one chosen; "auto" matches whatever it was. */
	s->accel = o->accel ? o->accel : "auto";
	if (p->exists && vk_profile_get_str(p, "accel") && strcmp(s->accel, "auto") != 0 &&
	    strcmp(s->accel, vk_profile_get_str(p, "accel")) != 0)
		return refuse_change(p, "accel", s->accel, vk_profile_get_str(p, "accel"), err);
	if (o->image) {
		if (!realpath(o->image, abs_image)) {
			vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno, "image '%s'", o->image);
			return vk_error_hint(err, "pass a qcow2 or raw disk image, or an image.json from vm-images/");
		}
		image = abs_image;
	}
	if (merge_str(p, "image", "image", image, NULL, &s->image, err) < 0)
		return -1;
	if (!s->image) {
		vk_error_set(err, VK_ERR_INVALID, "no image to boot for profile '%s'", p->name);
		return vk_error_hint(err, "pass --image with a qcow2/raw disk or an image.json (vm-images/debian-test/build "
					  "makes a small one)");
	}
	saved_kube = vk_profile_get_bool(p, "kubernetes", true);
	if (p->exists && json_object_get(p->config, "kubernetes") && saved_kube == o->no_kubernetes && o->no_kubernetes) {
		vk_error_set(err, VK_ERR_INVALID, "profile '%s' was created with Kubernetes; --no-kubernetes cannot change that",
			     p->name);
		return vk_error_hint(err, "delete the profile first ('virtkube delete -p %s')", p->name);
	}
	s->kubernetes = p->exists && json_object_get(p->config, "kubernetes") ? saved_kube : !o->no_kubernetes;
	return 0;
}

/* ---------------------------------------------------------------- preflight -- */

/* qemu:///system runs qemu as another user (libvirt-qemu): it must be able to
 * reach the profile directory. We open up the directories we created (0711:
 * others may pass, not list; the secrets inside stay 0600) and check the rest. */
static int make_reachable_by_qemu(const struct vk_profile *p, const char *uri, const char *payload,
				  struct vk_error *err)
{
	_cleanup_free_ char *profiles = vk_path_join(p->home, "profiles");
	_cleanup_free_ char *cache = vk_path_join(p->home, "cache");
	_cleanup_free_ char *built = payload ? xstrndup(payload, (size_t)(strrchr(payload, '/') - payload)) : NULL;
	_cleanup_free_ char *path = NULL;
	/* The payload ISO (0644) is in HOME/cache/payload: passable too. */
	const char *mine[] = { p->home, profiles, p->dir, payload ? cache : NULL, built };
	struct stat st;
	char *slash;

	if (strncmp(uri, "qemu:///system", 14) != 0)
		return 0;
	for (size_t i = 0; i < VK_ARRAY_SIZE(mine); i++)
		if (mine[i] && stat(mine[i], &st) == 0 && (st.st_mode & 0111) != 0111 && chmod(mine[i], (st.st_mode & 07777) | 0111) < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s' to qemu", mine[i]);
	path = xstrdup(p->home);
	while ((slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		if (stat(path, &st) == 0 && !(st.st_mode & S_IXOTH)) {
			vk_error_set(err, VK_ERR_INVALID,
				     "qemu (run by libvirt as its own user under %s) cannot reach '%s': '%s' is not searchable "
				     "by other users",
				     uri, p->dir, path);
			return vk_error_hint(err, "run 'chmod o+x %s', or set VIRTKUBE_HOME to a directory qemu can reach",
					     path);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------- start -- */

static int save(struct vk_profile *p, struct vk_error *err)
{
	return vk_profile_save(p, err);
}

/* Fixes the network settings of a new profile: subnet, MAC, node IP. */
static int plan_network(struct vk_profile *p, virConnectPtr conn, const struct settings *s, struct vk_error *err)
{
	_cleanup_free_ struct vk_cidr *used = NULL;
	_cleanup_free_ char *netname = vk_cluster_network_name(p->name);
	size_t nused = 0;
	uint32_t subnet;
	char mac[18], buf[16], cidr[24];

	if (vk_profile_get_str(p, "subnet") && vk_profile_get_str(p, "node_ip") && vk_profile_get_str(p, "mac"))
		return 0;
	if (vk_subnets_in_use(conn, vk_machine_uri_is_local(s->uri), &used, &nused, err) < 0 ||
	    vk_subnet_choose(used, nused, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &subnet, err) < 0)
		return -1;
	vk_machine_mac_for(p->name, mac);
	vk_ipv4_format(subnet, buf);
	snprintf(cidr, sizeof(cidr), "%s/24", buf);
	vk_profile_set_str(p, "subnet", cidr);
	vk_ipv4_format(vk_network_node_ip(subnet), buf);
	vk_profile_set_str(p, "node_ip", buf);
	vk_profile_set_str(p, "mac", mac);
	vk_profile_set_str(p, "network", netname);
	return save(p, err);
}

static int saved_subnet(const struct vk_profile *p, uint32_t *subnet, struct vk_error *err)
{
	const char *cidr = vk_profile_get_str(p, "subnet");
	char buf[16] = "";

	if (cidr)
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(cidr, "/"), cidr);
	if (!cidr || vk_ipv4_parse(buf, subnet) < 0)
		return vk_error_set(err, VK_ERR_PARSE, "profile '%s' has a bad \"subnet\" in %s", p->name, p->config_path);
	return 0;
}

static int ensure_network(struct vk_profile *p, virConnectPtr conn, const struct settings *s, struct vk_error *err)
{
	struct vk_network_spec spec = {
		.name = vk_profile_get_str(p, "network"),
		.mode = strcmp(s->network_mode, "isolated") == 0 ? VK_NET_ISOLATED : VK_NET_NAT,
		.mac = vk_profile_get_str(p, "mac"),
		.host_name = p->name,
	};

	if (saved_subnet(p, &spec.subnet, err) < 0)
		return -1;
	return vk_network_ensure(conn, &spec, err);
}

static int ensure_disk(struct vk_profile *p, virConnectPtr conn, const struct vk_image *img, const struct settings *s,
		       struct vk_error *err)
{
	_cleanup_free_ char *disk = vk_profile_path(p, VK_FILE_DISK);
	_cleanup_free_ char *pool = vk_cluster_network_name(p->name);
	uint64_t capacity = (uint64_t)s->disk_gib << 30;

	if (vk_path_exists(disk))
		return 0;
	if (capacity < img->virtual_size) {
		vk_error_set(err, VK_ERR_INVALID, "--disk-size %ld GiB is smaller than image '%s' (%.1f GiB)", s->disk_gib,
			     img->disk, (double)img->virtual_size / (1 << 30));
		return vk_error_hint(err, "delete the profile and start again with a larger --disk-size");
	}
	return vk_disk_create_overlay(conn, pool, p->dir, VK_FILE_DISK, img->disk, img->format, capacity, err);
}

static int ensure_seed(struct vk_profile *p, const struct vk_start_opts *o, struct vk_error *err)
{
	_cleanup_free_ char *iso = vk_profile_path(p, VK_FILE_SEED);
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	_cleanup_free_ char *pub = NULL, *user_data = NULL, *meta_data = NULL, *net_config = NULL;
	_cleanup_seed_ struct vk_seed *seed = vk_seed_new();
	uint32_t subnet;
	char gw[16];
	struct vk_cloudinit ci = {
		.hostname = p->name,
		.instance_id = vk_profile_get_str(p, "instance_id"),
		.mac = vk_profile_get_str(p, "mac"),
		.address = vk_profile_get_str(p, "node_ip"),
		.prefix = 24,
		.gateway = gw,
		/* Later boots skip cloud-init's stages (~25 s under TCG): all it does is per instance. */
		.disable_after_first_boot = true,
	};

	if (vk_path_exists(iso))
		return 0;
	if (saved_subnet(p, &subnet, err) < 0)
		return -1;
	vk_ipv4_format(vk_network_gateway(subnet), gw);
	if (vk_sshkey_ensure(key, "virtkube", err) < 0)
		return -1;
	pub = vk_sshkey_read_public(key, err);
	if (!pub)
		return -1;
	ci.ssh_pubkey = pub;
	if (o->seed_hook && o->seed_hook(o->seed_hook_ud, p, seed, &ci, err) < 0)
		return -1;
	if (!(user_data = vk_cloudinit_user_data(&ci, err)) || !(meta_data = vk_cloudinit_meta_data(&ci, err)) ||
	    !(net_config = vk_cloudinit_network_config(&ci, err)))
		return -1;
	if (vk_seed_add_file(seed, "user-data", user_data, strlen(user_data), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "meta-data", meta_data, strlen(meta_data), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "network-config", net_config, strlen(net_config), 0644, err) < 0)
		return -1;
	return vk_seed_write(seed, iso, err);
}

static int define_domain(struct vk_profile *p, virConnectPtr conn, const struct vk_image *img,
			 const struct settings *s, enum vk_accel accel, const char *payload, struct vk_error *err)
{
	_cleanup_free_ char *name = vk_cluster_domain_name(p->name);
	_cleanup_free_ char *disk = vk_profile_path(p, VK_FILE_DISK);
	_cleanup_free_ char *seed = vk_profile_path(p, VK_FILE_SEED);
	_cleanup_free_ char *console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);
	_cleanup_free_ char *xml = NULL;
	struct vk_domain_spec spec = {
		.name = name,
		.profile = p->name,
		.accel = accel,
		.vcpus = (unsigned)s->cpus,
		.memory_mib = (unsigned long)s->memory_mib,
		.disk_path = disk,
		.disk_format = "qcow2",
		.seed_path = seed,
		.payload_path = payload,
		.network = vk_profile_get_str(p, "network"),
		.mac = vk_profile_get_str(p, "mac"),
		.console_log = console,
		.kernel = img->kernel,
		.initrd = img->initrd,
		.cmdline = img->cmdline,
	};

	xml = vk_domxml_build(&spec, err);
	if (!xml)
		return -1;
	vk_debug("defining domain:\n%s", xml);
	return vk_domain_define(conn, xml, err);
}

/* A stopped domain keeps the payload ISO path it was defined with; after a
 * cache clean or a changed input the version's ISO has another name, and a
 * guest that still has provisioning to do would find no payload. */
static int repoint_payload(struct vk_profile *p, virConnectPtr conn, const char *domain, const char *path,
			   struct vk_error *err)
{
	_cleanup_free_ char *disk = vk_domxml_payload_cdrom(path);
	bool changed = false;

	if (vk_domain_set_cdrom(conn, domain, VK_DOMXML_PAYLOAD_TARGET, path, disk, &changed, err) < 0) {
		if (err && err->code == VK_ERR_UNSUPPORTED) {
			/* libvirt's test driver: no guest reads the cdrom there anyway */
			vk_debug("profile '%s': %s", p->name, err->message);
			vk_error_clear(err);
			return 0;
		}
		return -1;
	}
	if (changed)
		vk_info("profile '%s': the payload cdrom now reads '%s'", p->name, path);
	return 0;
}

int vk_cluster_start(struct vk_profile *p, const struct vk_start_opts *o, struct vk_start_result *res,
		     struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_image_ struct vk_image *img = NULL;
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);
	char abs_image[PATH_MAX];
	_cleanup_(settings_release) struct settings s = { 0 };
	enum vk_host_state state;
	enum vk_accel accel;
	double t0 = now_s(), t1;
	long wait_s = o->wait_s ? o->wait_s : VK_DEFAULT_WAIT_S;

	memset(res, 0, sizeof(*res));
	if (resolve_settings(p, o, &s, abs_image, err) < 0)
		return -1;
	conn = vk_machine_connect(s.uri, err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, domain, p->name, &state, err) < 0)
		return -1;
	if (state == VK_HOST_RUNNING) {
		res->was_running = true;
		snprintf(res->node_ip, sizeof(res->node_ip), "%s", vk_profile_get_str(p, "node_ip") ?: "");
		if (!vk_profile_get_str(p, "state") || strcmp(vk_profile_get_str(p, "state"), "Running") != 0) {
			vk_profile_set_str(p, "state", "Running");
			return save(p, err);
		}
		return 0;
	}
	if (state == VK_HOST_PAUSED) {
		vk_error_set(err, VK_ERR_FAILED, "domain '%s' of profile '%s' is paused", domain, p->name);
		return vk_error_hint(err, "resume it with 'virsh -c %s resume %s', or stop it with 'virtkube stop'", s.uri,
				     domain);
	}

	if (state == VK_HOST_NONEXISTENT) {
		/* The image is read only when the machine is (re)created. */
		img = vk_image_load(s.image, err);
		if (!img)
			return -1;
		if (vk_machine_choose_accel(conn, s.uri, s.accel, &accel, err) < 0)
			return -1;
		/* Everything fixed at creation goes to config.json before anything is made. */
		vk_profile_set_str(p, "libvirt_uri", s.uri);
		vk_profile_set_str(p, "image", s.image);
		vk_profile_set_int(p, "cpus", s.cpus);
		vk_profile_set_int(p, "memory_mib", s.memory_mib);
		vk_profile_set_int(p, "disk_gib", s.disk_gib);
		vk_profile_set_str(p, "network_mode", s.network_mode);
		vk_profile_set_str(p, "accel", vk_accel_name(accel));
		vk_profile_set_bool(p, "kubernetes", s.kubernetes);
		vk_profile_set_str(p, "domain", domain);
		if (!vk_profile_get_str(p, "instance_id")) {
			_cleanup_free_ char *iid = xasprintf("virtkube-%s-%lx", p->name, (unsigned long)time(NULL));

			vk_profile_set_str(p, "instance_id", iid);
		}
		if (!vk_profile_get_str(p, "state"))
			vk_profile_set_str(p, "state", "Created");
		if (save(p, err) < 0 || make_reachable_by_qemu(p, s.uri, o->payload_path, err) < 0)
			return -1;
		if (plan_network(p, conn, &s, err) < 0)
			return -1;
		ui_step(&o->ui, "creating the machine for profile '%s' (%ld CPUs, %ld MiB, %ld GiB disk, %s, %s network %s)",
			p->name, s.cpus, s.memory_mib, s.disk_gib, vk_accel_name(accel), s.network_mode,
			vk_profile_get_str(p, "subnet"));
		t1 = now_s();
		if (ensure_network(p, conn, &s, err) < 0)
			return -1;
		res->network_s = now_s() - t1;
		t1 = now_s();
		if (ensure_disk(p, conn, img, &s, err) < 0)
			return -1;
		res->disk_s = now_s() - t1;
		t1 = now_s();
		if (ensure_seed(p, o, err) < 0)
			return -1;
		res->seed_s = now_s() - t1;
		t1 = now_s();
		if (define_domain(p, conn, img, &s, accel, o->payload_path, err) < 0)
			return -1;
		res->define_s = now_s() - t1;
		res->created = true;
	} else {
		const char *saved = vk_profile_get_str(p, "accel");

		accel = saved && strcmp(saved, "kvm") == 0 ? VK_ACCEL_KVM : VK_ACCEL_TCG;
		if (o->payload_path && repoint_payload(p, conn, domain, o->payload_path, err) < 0)
			return -1;
		t1 = now_s();
		if (ensure_network(p, conn, &s, err) < 0)
			return -1;
		res->network_s = now_s() - t1;
	}
	res->accel = accel;
	if (accel == VK_ACCEL_TCG)
		ui_warn(&o->ui, "no KVM here: the VM runs under TCG emulation and will be slow (--accel tcg)");
	snprintf(res->node_ip, sizeof(res->node_ip), "%s", vk_profile_get_str(p, "node_ip") ?: "");

	ui_step(&o->ui, "booting '%s'", domain);
	t1 = now_s();
	res->host_s = t1 - t0;
	if (vk_domain_start(conn, domain, err) < 0)
		return -1;
	res->boot_s = now_s() - t1;
	vk_profile_set_str(p, "state", "Running");
	if (save(p, err) < 0)
		return -1;
	/* The test driver has no guest: nothing would ever answer at the node IP. */
	if (wait_s < 0 || strncmp(s.uri, "test:", 5) == 0)
		return 0;

	ui_step(&o->ui, "waiting for the guest's SSH at %s:22 (up to %ld s)", res->node_ip, wait_s);
	t1 = now_s();
	if (vk_wait_ssh(res->node_ip, 22, wait_s * 1000, err) < 0) {
		res->wait_s = now_s() - t1;
		return vk_error_hint(err, "see the guest's console with 'virtkube -p %s logs'", p->name);
	}
	res->wait_s = now_s() - t1;
	return 0;
}

/* -------------------------------------------------------------------- stop -- */

static const char *saved_uri(const struct vk_profile *p)
{
	const char *uri = vk_profile_get_str(p, "libvirt_uri");

	return uri ? uri : vk_machine_uri(NULL);
}

int vk_cluster_stop(struct vk_profile *p, int timeout_s, struct vk_stop_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);
	enum vk_host_state state;

	memset(res, 0, sizeof(*res));
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, domain, p->name, &state, err) < 0)
		return -1;
	if (state != VK_HOST_NONEXISTENT && state != VK_HOST_STOPPED) {
		res->was_running = true;
		if (vk_domain_shutdown(conn, domain, timeout_s, &res->forced, err) < 0)
			return -1;
	}
	if (state != VK_HOST_NONEXISTENT || vk_profile_get_str(p, "state")) {
		const char *cur = vk_profile_get_str(p, "state");

		if (!cur || strcmp(cur, "Stopped") != 0) {
			vk_profile_set_str(p, "state", state == VK_HOST_NONEXISTENT ? "Created" : "Stopped");
			return save(p, err);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ delete -- */

int vk_cluster_delete(struct vk_profile *p, struct vk_delete_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);
	_cleanup_free_ char *network = vk_cluster_network_name(p->name);
	_cleanup_free_ char *lock = NULL;
	enum vk_host_state state;
	const char *uri = saved_uri(p);

	memset(res, 0, sizeof(*res));
	conn = vk_machine_connect(uri, err);
	if (!conn)
		return vk_error_hint(err, "the profile's files are kept until libvirt at '%s' can be reached, so its VM is "
					  "not orphaned; once that VM is gone, 'rm -r %s' removes them",
				     uri, p->dir);
	if (vk_domain_state(conn, domain, p->name, &state, err) < 0) {
		if (err->code != VK_ERR_EXISTS)
			return -1;
		/* Someone else's domain of that name: left alone, ours is not there. */
		vk_info("%s", err->message);
		vk_error_clear(err);
		state = VK_HOST_NONEXISTENT;
	}
	if (state != VK_HOST_NONEXISTENT) {
		if (vk_domain_remove(conn, domain, err) < 0)
			return -1;
		res->domain_removed = true;
	}
	if (vk_network_remove_if_unused(conn, network, domain, &res->network_removed, err) < 0)
		return -1;
	res->network_kept = !res->network_removed && vk_network_exists(conn, network);
	vk_disk_pool_cleanup(conn, network);
	if (vk_remove_tree(p->dir, err) < 0)
		return -1;
	lock = p->lock.path ? xstrdup(p->lock.path) : NULL;
	if (lock)
		unlink(lock);
	return 0;
}

/* ------------------------------------------------------------------ status -- */

void vk_status_release(struct vk_status *st)
{
	json_decref(st->fields);
	st->fields = NULL;
}

/* ---- watching the domain while waiting ------------------------------------------ */

struct vk_cluster_watch {
	virConnectPtr conn;
	char *domain;
	char *profile;
	long long last_ms;  /* when libvirt was last asked (0: never) */
};

struct vk_cluster_watch *vk_cluster_watch_new(const struct vk_profile *p, struct vk_error *err)
{
	struct vk_cluster_watch *w;
	virConnectPtr conn = vk_machine_connect(saved_uri(p), err);

	if (!conn)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->conn = conn;
	w->domain = vk_cluster_domain_name(p->name);
	w->profile = xstrdup(p->name);
	return w;
}

int vk_cluster_watch_check(void *data, struct vk_error *err)
{
	struct vk_cluster_watch *w = data;
	enum vk_host_state state;
	long long now = vk_now_ms();

	/* Callers poll every half second or so; libvirt is asked once a second. */
	if (w->last_ms && now - w->last_ms < 1000)
		return 0;
	w->last_ms = now;
	if (vk_domain_state(w->conn, w->domain, w->profile, &state, err) < 0)
		return vk_error_prefix(err, "cannot tell whether the VM of profile '%s' still runs", w->profile);
	if (state == VK_HOST_RUNNING)
		return 0;
	vk_error_set(err, VK_ERR_FAILED, "the VM of profile '%s' stopped before it was ready: its domain is %s", w->profile,
		     state == VK_HOST_PAUSED ? "paused" : state == VK_HOST_STOPPED ? "shut off" : "gone");
	return vk_error_hint(err, "'virtkube logs -p %s' shows its console; 'virtkube start -p %s' boots it again and "
			     "carries on", w->profile, w->profile);
}

void vk_cluster_watch_free(struct vk_cluster_watch *w)
{
	if (!w)
		return;
	vk_machine_disconnect(w->conn);
	free(w->domain);
	free(w->profile);
	free(w);
}

int vk_cluster_status(struct vk_profile *p, struct vk_status *st, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);

	memset(st, 0, sizeof(*st));
	st->kubernetes = vk_profile_get_bool(p, "kubernetes", true);
	snprintf(st->node_ip, sizeof(st->node_ip), "%s", vk_profile_get_str(p, "node_ip") ?: "");
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, domain, p->name, &st->host, err) < 0)
		return -1;
	st->fields = json_object();
	json_object_set_new(st->fields, "Name", json_string(p->name));
	json_object_set_new(st->fields, "Host", json_string(vk_host_state_name(st->host)));
	json_object_set_new(st->fields, "IP", json_string(st->node_ip));
	json_object_set_new(st->fields, "Kubernetes", json_boolean(st->kubernetes));
	if (st->host != VK_HOST_RUNNING)
		st->exit_bits |= 1 | (st->kubernetes ? 2 | 4 : 0);
	return 0;
}
