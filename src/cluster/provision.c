/* The payload, the guest follower and the readiness waits that make a VM a cluster (see provision.h). */
#include "cluster/provision.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/datadir.h"
#include "vm/guestssh.h"
#include "kube/join.h"
#include "kube/k8sready.h"
#include "kube/kubeadm.h"
#include "kube/kubeapi.h"
#include "kube/kubeconfig.h"
#include "vm/nodeplan.h"
#include "artifacts/payload.h"
#include "kube/pki.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

/* scripts/guest/README.md: mount the seed (read-only) and run the script from it. */
const char *const vk_provision_runcmd[] = {
	"d=/run/virtkube/seed; mkdir -p $d && { mountpoint -q $d || mount -o ro LABEL=cidata $d; } && bash $d/virtkube/provision",
	NULL,
};


/* ---- crictl out of its tarball ---------------------------------------------- */

static int archive_fail(struct archive *a, const char *what, const char *path, struct vk_error *err)
{
	const char *msg = archive_error_string(a);

	return vk_error_set(err, VK_ERR_IO, "cannot %s '%s': %s", what, path, msg ? msg : "unknown libarchive error");
}

/* Writes the entry named NAME of tarball SRC to DEST (0755), through a temporary file. */
static int extract_one(const char *src, const char *name, const char *dest, struct vk_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	_cleanup_free_ char *tmp = xasprintf("%s.tmpXXXXXX", dest);
	_cleanup_close_ int fd = -1;
	bool found = false;
	int r, rc = -1;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, src, 65536) != ARCHIVE_OK) {
		archive_fail(a, "open", src, err);
		goto out;
	}
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(entry);
		const char *base = strrchr(path, '/');
		const void *buf;
		size_t len;
		la_int64_t off;

		base = base ? base + 1 : path;
		if (strcmp(base, name) != 0 || archive_entry_filetype(entry) != AE_IFREG)
			continue;
		fd = mkstemp(tmp);
		if (fd < 0) {
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create '%s'", tmp);
			goto out;
		}
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				vk_error_set_errno(err, VK_ERR_IO, errno, "cannot write '%s'", tmp);
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			archive_fail(a, "read", src, err);
			goto out;
		}
		if (fchmod(fd, 0755) < 0 || fsync(fd) < 0 || rename(tmp, dest) < 0) {
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot install '%s'", dest);
			goto out;
		}
		found = true;
		break;
	}
	if (!found) {
		if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
			archive_fail(a, "read", src, err);
		else
			vk_error_set(err, VK_ERR_NOT_FOUND, "'%s' holds no file named '%s'", src, name);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && fd >= 0)
		unlink(tmp);
	archive_read_free(a);
	return rc;
}

/* Returns the crictl binary (caller frees), kept next to the verified
 * tarball it came from and made again when older than it. */
static char *ensure_crictl(const char *tarball, struct vk_error *err)
{
	_cleanup_free_ char *dest = xasprintf("%s.crictl", tarball);
	struct stat st_tar, st_bin;

	if (stat(tarball, &st_tar) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot use '%s'", tarball);
		return NULL;
	}
	if ((stat(dest, &st_bin) < 0 || st_bin.st_mtime < st_tar.st_mtime) && extract_one(tarball, "crictl", dest, err) < 0)
		return NULL;
	return TAKE_PTR(dest);
}

/* ---- prepare -------------------------------------------------------------------- */

/* vk_data_path(REL) (caller frees), or NULL when it is not there. */
static char *data_path(const char *rel, struct vk_error *err)
{
	char *src = vk_data_path(rel);

	if (vk_path_exists(src))
		return src;
	vk_error_set(err, VK_ERR_NOT_FOUND, "cannot find '%s' (looked at '%s')", rel, src);
	vk_error_hint(err, "set VIRTKUBE_DATADIR to virtkube's data directory (or source tree)");
	free(src);
	return NULL;
}

static bool paths_complete(const struct vk_artifact_paths *a)
{
	return a && a->kubernetes_version && a->kubeadm && a->kubelet && a->kubectl && a->runc && a->containerd &&
	       a->cni_plugins && a->crictl;
}

/* The binaries and units go on the version's shared ISO, not on each seed:
 * writing them was nearly all of a start's host-side time. */
int vk_provision_payload(const char *home, const struct vk_artifact_paths *a, const char *images, char **iso,
			 bool *built, struct vk_error *err)
{
	_cleanup_free_ char *crictl = NULL, *units = NULL;
	struct vk_payload_inputs in;

	*iso = NULL;
	if (!paths_complete(a))
		return vk_error_set(err, VK_ERR_INVALID, "the Kubernetes binaries for the payload ISO are not all known");
	crictl = ensure_crictl(a->crictl, err);
	if (!crictl)
		return -1;
	units = data_path("scripts/guest/units", err);
	if (!units)
		return -1;
	in = (struct vk_payload_inputs){
		.kubernetes_version = a->kubernetes_version,
		.kubeadm = a->kubeadm,
		.kubelet = a->kubelet,
		.kubectl = a->kubectl,
		.runc = a->runc,
		.crictl = crictl,
		.containerd = a->containerd,
		.cni_plugins = a->cni_plugins,
		.units = units,
		.images = images,
	};
	*iso = vk_payload_ensure(home, &in, built, err);
	return *iso ? 0 : -1;
}

/* ---- the payload ---------------------------------------------------------------- */

static int add_data_file(struct vk_seed *seed, const char *path, const char *rel, mode_t mode, struct vk_error *err)
{
	_cleanup_free_ char *src = data_path(rel, err);

	return src ? vk_seed_add_host_file(seed, path, src, mode, err) : -1;
}

/* For the e2e's interrupted-provisioning case only: VIRTKUBE_TEST_GUEST_PAUSE
 * "STAGE SECONDS" becomes virtkube/test-pause, which makes the guest hold that
 * stage back once (scripts/guest/provision, pause_for_test). */
static int add_test_pause(struct vk_seed *seed, struct vk_error *err)
{
	const char *spec = getenv("VIRTKUBE_TEST_GUEST_PAUSE");
	_cleanup_free_ char *line = NULL;
	char stage[32];
	unsigned secs;
	int end = 0;

	if (!spec || !*spec)
		return 0;
	if (sscanf(spec, "%31[a-z] %u%n", stage, &secs, &end) != 2 || spec[end] != '\0') {
		vk_error_set(err, VK_ERR_INVALID, "VIRTKUBE_TEST_GUEST_PAUSE='%s' is not 'STAGE SECONDS'", spec);
		return vk_error_hint(err, "it is a test hook: unset it, or give e.g. 'system 600'");
	}
	line = xasprintf("%s %u\n", stage, secs);
	return vk_seed_add_file(seed, "virtkube/test-pause", line, strlen(line), 0644, err);
}

/* The Kubernetes part of node N's seed: env, kubeadm.yaml (the control
 * plane's: a worker's guest reads its image list), the CA certificate, and
 * the CA key (control plane) or join.yaml (worker). */
static int seed_add_kubernetes(const struct vk_profile *p, const struct vk_node *n, struct vk_seed *seed,
			       struct vk_error *err)
{
	bool worker = n->role == VK_ROLE_WORKER;
	char pod_cidr[24];
	struct vk_kubeadm_params kp = {
		.node_name = p->name,
		.node_ip = p->cfg.node_ip,
		.kubernetes_version = p->cfg.kubernetes_version,
		.api_port = vk_profile_api_port(p),
		.hardware_accel = p->cfg.accel && strcmp(p->cfg.accel, "kvm") == 0,
		.image_repository = p->cfg.image_repository,
		.registry_mirror = p->cfg.registry_mirror,
		.insecure_registries = (const char *const *)p->cfg.insecure_registries,
		.bootstrap_token = p->cfg.join_token,
		.keep_control_plane_taint = p->cfg.nnodes > 1 && !p->cfg.schedule_on_control_plane,
		.node_pod_cidr = pod_cidr,
	};
	_cleanup_free_ char *config = NULL, *env = NULL, *node_env = NULL, *join = NULL;
	_cleanup_free_ char *ca_crt = vk_profile_path(p, VK_FILE_CA_CERT);
	_cleanup_free_ char *ca_key = vk_profile_path(p, VK_FILE_CA_KEY);
	size_t len, join_len = 0;

	vk_node_pod_cidr(n->index, pod_cidr);
	config = vk_kubeadm_config(&kp, &len, err);
	if (!config)
		return vk_error_prefix(err, "cannot make the kubeadm configuration of profile '%s'", p->name);
	/* The env file is the node's own: its address and role. */
	kp.node_name = n->name;
	kp.node_ip = n->ip;
	kp.role = worker ? "worker" : "control-plane";
	env = vk_kubeadm_env(&kp, err);
	if (!env)
		return -1;
	if (worker) {
		char hash[7 + 64 + 1];
		_cleanup_free_ char *endpoint = xasprintf("%s:%d", p->cfg.node_ip, vk_profile_api_port(p));
		struct vk_join_params jp = {
			.node_name = n->name,
			.node_ip = n->ip,
			.api_endpoint = endpoint,
			.token = p->cfg.join_token,
			.ca_hash = hash,
			.hardware_accel = kp.hardware_accel,
		};

		if (vk_join_ca_hash(ca_crt, hash, err) < 0 || !(join = vk_join_config(&jp, &join_len, err)))
			return vk_error_prefix(err, "cannot make the join configuration of node '%s'", n->name);
		node_env = xasprintf("%sCONTROL_PLANE_ENDPOINT=%s\n", env, endpoint);
	}
	if (vk_seed_add_file(seed, "virtkube/env", node_env ?: env, strlen(node_env ?: env), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "virtkube/kubeadm.yaml", config, len, 0600, err) < 0 ||
	    vk_seed_add_host_file(seed, "virtkube/pki/ca.crt", ca_crt, 0644, err) < 0)
		return -1;
	if (worker)
		return vk_seed_add_file(seed, "virtkube/join.yaml", join, join_len, 0600, err);
	return vk_seed_add_host_file(seed, "virtkube/pki/ca.key", ca_key, 0600, err);
}

int vk_provision_seed_add_node(const struct vk_profile *p, const struct vk_node *n, bool kubernetes,
			       struct vk_seed *seed, struct vk_cloudinit *ci, struct vk_error *err)
{
	const char *mode = kubernetes ? "kubernetes\n" : "none\n";
	_cleanup_free_ char *routes = vk_nodes_routes_text(p->cfg.nodes, p->cfg.nnodes, n->index);

	if (vk_seed_add_dir(seed, "virtkube", 0755, err) < 0 ||
	    vk_seed_add_file(seed, "virtkube/mode", mode, strlen(mode), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "virtkube/routes", routes, strlen(routes), 0644, err) < 0 ||
	    add_data_file(seed, "virtkube/provision", "scripts/guest/provision", 0755, err) < 0)
		return -1;
	if (add_test_pause(seed, err) < 0)
		return -1;
	ci->runcmd = vk_provision_runcmd;
	if (!kubernetes)
		return 0;
	return seed_add_kubernetes(p, n, seed, err);
}

int vk_provision_seed_add(const struct vk_profile *p, bool kubernetes, struct vk_seed *seed, struct vk_cloudinit *ci,
			  struct vk_error *err)
{
	struct vk_node one = { .index = 1, .name = p->name, .ip = p->cfg.node_ip, .mac = p->cfg.mac,
			       .role = kubernetes ? VK_ROLE_CONTROL_PLANE : VK_ROLE_PLAIN };
	const struct vk_node *n = vk_nodes_primary(p);

	return vk_provision_seed_add_node(p, n ? n : &one, kubernetes, seed, ci, err);
}

/* ---- following ------------------------------------------------------------------ */

/* One DATA for vk_guestlog_wait's event and check callbacks. */
struct follow_ctx {
	vk_guest_event_fn on_event;
	void *event_data;
	vk_guest_check_fn check;
	void *check_data;
};

static int check_adapter(void *data, struct vk_error *err)
{
	struct follow_ctx *c = data;

	return c->check ? c->check(c->check_data, err) : 0;
}

static void event_adapter(const struct vk_guest_event *ev, void *data)
{
	struct follow_ctx *c = data;

	if (c->on_event)
		c->on_event(ev, c->event_data);
}

bool vk_provision_pending(const struct vk_profile *p)
{
	return !p->cfg.provisioned;
}

/* Follows CONSOLE from OFFSET to VIRTKUBE-READY (see vk_provision_follow_guest). */
static int follow_console(const char *console, const char *name, off_t offset, long timeout_s,
			  vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
			  struct vk_error *err)
{
	struct vk_guestlog *g = vk_guestlog_new(console, offset);
	struct follow_ctx ctx = { on_event, event_data, check, check_data };
	int rc;

	rc = vk_guestlog_wait(g, name, timeout_s * 1000, 500, event_adapter, check_adapter, &ctx, err);
	vk_guestlog_free(g);
	return rc;
}

int vk_provision_follow_guest(struct vk_profile *p, off_t offset, long timeout_s, vk_guest_event_fn on_event,
			      void *event_data, vk_guest_check_fn check, void *check_data, struct vk_error *err)
{
	_cleanup_free_ char *console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);

	if (follow_console(console, p->name, offset, timeout_s, on_event, event_data, check, check_data, err) < 0)
		return -1;
	p->cfg.provisioned = true;
	return vk_profile_save(p, err);
}

int vk_provision_follow_node(const struct vk_profile *p, const struct vk_node *n, off_t offset, long timeout_s,
			     vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
			     struct vk_error *err)
{
	_cleanup_free_ char *console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);

	return follow_console(console, n->name, offset, timeout_s, on_event, event_data, check, check_data, err);
}

int vk_provision_kubeconfig(const struct vk_profile *p, bool set_current, char **path_out, struct vk_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct vk_kubeconfig_entry e;
	int rc;

	if (path_out)
		*path_out = NULL;
	if (vk_kubeconfig_entry_load(&e, p, err) < 0)
		return -1;
	path = vk_kubeconfig_path(err);
	rc = path ? vk_kubeconfig_merge(path, &e, set_current, err) : -1;
	vk_kubeconfig_entry_clear(&e);
	if (rc == 0 && path_out)
		*path_out = TAKE_PTR(path);
	return rc;
}

/* ---- status and delete ------------------------------------------------------------ */

/* The kubelet service's state in the guest (systemctl, over ssh): "Running",
 * "Starting" or "Stopped"; NULL when the guest cannot be asked. */
static const char *kubelet_service_state(const struct vk_profile *p, const char *ip)
{
	_cleanup_free_ char *out = NULL;
	struct vk_error err = { 0 };
	int status = 0;

	if (vk_guest_run_at(p, ip, "systemctl is-active kubelet.service", 5000, &out, &status, &err) < 0) {
		vk_debug("kubelet: %s", err.message);
		return NULL;
	}
	if (status == 255) {
		vk_debug("kubelet: ssh into profile '%s' failed", p->name);
		return NULL;
	}
	out[strcspn(out, "\n")] = '\0';
	if (strcmp(out, "active") == 0 || strcmp(out, "reloading") == 0)
		return "Running";
	if (strcmp(out, "activating") == 0)
		return "Starting";
	return "Stopped";
}

int vk_provision_status(const struct vk_profile *p, bool host_running, json_t *fields, int *bits,
			struct vk_error *err)
{
	enum vk_kubeconfig_state kstate = VK_KUBECONFIG_NONEXISTENT;
	const char *uri = p->cfg.libvirt_uri;
	const char *apiserver = "Stopped", *kubelet = "Stopped";
	struct vk_kubeconfig_entry e;
	struct vk_error local = { 0 };

	(void)err;
	if (vk_kubeconfig_entry_load(&e, p, &local) == 0) {
		_cleanup_free_ char *path = vk_kubeconfig_path(&local);
		_cleanup_free_ char *why = NULL;

		if (!path || vk_kubeconfig_check(path, &e, &kstate, &why, &local) < 0) {
			/* A kubeconfig we cannot read is not configured for us. */
			vk_debug("kubeconfig: %s", local.message);
			kstate = VK_KUBECONFIG_MISCONFIGURED;
		} else if (why) {
			vk_debug("kubeconfig '%s': %s", path, why);
		}
		vk_kubeconfig_entry_clear(&e);
	}
	if (host_running && !(uri && strncmp(uri, "test:", 5) == 0)) {
		struct vk_kube *k = vk_kube_from_profile(p, &local);

		if (k) {
			_cleanup_free_ char *why = NULL, *node_why = NULL;
			bool ready = false;

			vk_kube_set_timeout(k, 3000);
			if (vk_apiserver_check(k, &ready, &why, &local) == 0 && ready) {
				apiserver = "Running";
				if (vk_node_check(k, p->name, &ready, &node_why, &local) == 0)
					kubelet = ready ? "Running" : node_why && strstr(node_why, "not registered") ? "Stopped" : "NotReady";
				else
					kubelet = "Unknown";
			} else {
				vk_debug("API server: %s", why ? why : local.message);
				kubelet = "Unknown";
			}
			vk_kube_free(k);
		}
		/* What the node reports stands in only when the guest cannot be asked. */
		kubelet = kubelet_service_state(p, p->cfg.node_ip) ?: kubelet;
	}
	json_object_set_new(fields, "Kubelet", json_string(kubelet));
	json_object_set_new(fields, "APIServer", json_string(apiserver));
	json_object_set_new(fields, "Kubeconfig", json_string(vk_kubeconfig_state_name(kstate)));
	if (strcmp(apiserver, "Running") != 0 || strcmp(kubelet, "Running") != 0)
		*bits |= 2;
	if (kstate != VK_KUBECONFIG_CONFIGURED)
		*bits |= 4;
	return 0;
}

int vk_provision_node_status(const struct vk_profile *p, const struct vk_node *n, bool host_running, json_t *fields,
			     int *bits)
{
	const char *uri = p->cfg.libvirt_uri;
	const char *kubelet = "Stopped";

	if (host_running && !(uri && strncmp(uri, "test:", 5) == 0)) {
		struct vk_error local = { 0 };
		struct vk_kube *k = vk_kube_from_profile(p, &local);

		kubelet = "Unknown";
		if (k) {
			_cleanup_free_ char *why = NULL;
			bool ready = false;

			vk_kube_set_timeout(k, 3000);
			if (vk_node_check(k, n->name, &ready, &why, &local) == 0)
				kubelet = ready ? "Running" : why && strstr(why, "not registered") ? "Stopped" : "NotReady";
			vk_kube_free(k);
		}
		kubelet = kubelet_service_state(p, n->ip) ?: kubelet;
	}
	json_object_set_new(fields, "Kubelet", json_string(kubelet));
	if (strcmp(kubelet, "Running") != 0)
		*bits |= 2;
	return 0;
}

int vk_provision_forget(const struct vk_profile *p, bool *removed, char **path_out, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_kubeconfig_path(err);

	if (path_out)
		*path_out = NULL;
	if (!path)
		return -1;
	if (vk_kubeconfig_remove(path, p->name, removed, err) < 0)
		return -1;
	if (path_out)
		*path_out = TAKE_PTR(path);
	return 0;
}
