/* The provisioning files on each node's seed and the runcmd that starts them (see provision.h). */
#include "cluster/provision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/datadir.h"
#include "kube/join.h"
#include "kube/kubeadm.h"
#include "vm/nodeplan.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* scripts/guest/README.md: mount the seed (read-only) and run the script from it. */
static const char *const runcmd[] = {
	"d=/run/virtkube/seed; mkdir -p $d && { mountpoint -q $d || mount -o ro LABEL=cidata $d; } && bash $d/virtkube/provision",
	NULL,
};

static int add_data_file(struct vk_seed *seed, const char *path, const char *rel, mode_t mode, struct vk_error *err)
{
	_cleanup_free_ char *src = vk_data_path_existing(rel, err);

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
	ci->runcmd = runcmd;
	if (!kubernetes)
		return 0;
	return seed_add_kubernetes(p, n, seed, err);
}
