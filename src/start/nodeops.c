/* Adding and removing nodes of a made profile, their states, and the pod routes on each (see nodeops.h). */
#include "start/nodeops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "vm/guestssh.h"
#include "kube/join.h"
#include "kube/token.h"
#include "kube/kubeapi.h"
#include "vm/nodeplan.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Where the guest script is installed, and its subcommand for the routes. */
#define GUEST_ROUTES_COMMAND "sudo -n /usr/local/sbin/virtkube-provision routes --set "
#define SSH_TIMEOUT_MS 30000
/* A token with less left than this is replaced before a node joins with it. */
#define TOKEN_MARGIN_S 3600

static const char *saved_uri(const struct vk_profile *p)
{
	return p->cfg.libvirt_uri ? p->cfg.libvirt_uri : vk_machine_uri(NULL);
}

int vk_nodes_states(const struct vk_profile *p, enum vk_host_state *states, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = vk_machine_connect(saved_uri(p), err);

	if (!conn)
		return -1;
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		if (vk_domain_state(conn, p->cfg.nodes[i].name, p->name, &states[i], err) < 0)
			return -1;
	return 0;
}

/* A fresh token made valid through the API: what `kubeadm token create` does. */
static int fresh_token(struct vk_profile *p, struct vk_error *err)
{
	char token[VK_TOKEN_LEN + 1];
	time_t expires = time(NULL) + VK_TOKEN_TTL_S;
	_cleanup_free_ char *text = NULL;
	json_auto_t *secret = NULL, *stored = NULL;
	struct vk_kube *k;

	if (vk_token_new(token, err) < 0)
		return -1;
	text = vk_token_secret(token, expires);
	secret = json_loads(text, 0, NULL);
	k = vk_kube_from_profile(p, err);
	if (!k)
		return vk_error_prefix(err, "cannot make a join token for profile '%s'", p->name);
	stored = vk_kube_apply(k, secret, err);
	vk_kube_free(k);
	if (!stored) {
		vk_error_prefix(err, "cannot make a join token in the cluster of profile '%s'", p->name);
		return vk_error_hint(err, "is its API server up? 'virtkube -p %s status'", p->name);
	}
	vk_profile_set_str(&p->cfg.join_token, token);
	p->cfg.join_token_expires = (long)expires;
	return 0;
}

int vk_node_add_prepare(struct vk_profile *p, bool worker, long *added, struct vk_error *err)
{
	bool kubernetes = vk_profile_kubernetes(p);
	uint32_t subnet = 0;
	long idx;
	struct vk_node *n;

	if (!kubernetes && worker) {
		vk_error_set(err, VK_ERR_INVALID, "cannot add a worker to profile '%s': it runs no Kubernetes (--no-kubernetes)",
			     p->name);
		return vk_error_hint(err, "leave --worker out to add a plain VM on its network, or make a profile with "
					  "Kubernetes");
	}
	if (!vk_profile_running(p) || !vk_nodes_primary(p)) {
		vk_error_set(err, VK_ERR_FAILED, "cannot add a node to profile '%s': it is not running", p->name);
		return vk_error_hint(err, "start it first: 'virtkube -p %s start'", p->name);
	}
	idx = vk_nodes_free_index(p);
	if (!idx) {
		vk_error_set(err, VK_ERR_INVALID, "cannot add a node to profile '%s': it has %d, the most a profile has",
			     p->name, VK_NODES_MAX);
		return vk_error_hint(err, "delete one first ('virtkube -p %s node delete NAME')", p->name);
	}
	/* a bridged profile's nodes are on its LAN: no subnet */
	if (vk_nodes_count_check(p->name, (long)p->cfg.nnodes + 1, err) < 0 ||
	    (!vk_profile_bridged(p) && vk_cluster_subnet(p, &subnet, err) < 0))
		return -1;
	/* first: a bridged profile's LAN may have no address for it */
	n = vk_nodes_add(p, subnet, idx, err);
	if (!n)
		return vk_error_prefix(err, "cannot add a node to profile '%s'", p->name);
	if (kubernetes && (!p->cfg.join_token || p->cfg.nnodes == 2 ||
			   p->cfg.join_token_expires < (long)time(NULL) + TOKEN_MARGIN_S) && fresh_token(p, err) < 0) {
		vk_profile_node_remove(p, idx);
		return -1;
	}
	if (vk_profile_save(p, err) < 0) {
		vk_profile_node_remove(p, idx);
		return -1;
	}
	vk_info("profile '%s': node '%s' at %s", p->name, n->name, n->ip);
	if (added)
		*added = idx;
	return 0;
}

int vk_node_add(struct vk_profile *p, bool worker, const struct vk_start_opts *o, vk_start_event_fn on_event,
		void *event_data, long *added, char **routes_failed, struct vk_error *err)
{
	struct vk_start_result res = { 0 };
	long idx = 0;
	int rc;

	if (routes_failed)
		*routes_failed = NULL;
	if (vk_node_add_prepare(p, worker, &idx, err) < 0)
		return -1;
	if (added)
		*added = idx;
	rc = vk_start(p, o, on_event, event_data, &res, err);
	vk_start_result_release(&res);
	/* An addon that is not ready leaves the new node up: its routes still go out. */
	if (rc < 0 && err && err->code != VK_ERR_ADDON_NOT_READY)
		return -1;
	if (vk_nodes_sync_routes(p, idx, routes_failed, rc < 0 ? NULL : err) < 0)
		return -1;
	return rc;
}

char *vk_nodes_routes_command(const char *routes, struct vk_error *err)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	/* Only digits, dots, slashes and blanks reach the guest's shell. */
	if (routes[strspn(routes, "0123456789./ \n")] != '\0') {
		vk_strbuf_release(&sb);
		vk_error_set(err, VK_ERR_INVALID, "pod routes hold something that is not an address");
		return NULL;
	}
	vk_strbuf_addstr(&sb, GUEST_ROUTES_COMMAND);
	for (const char *c = routes; *c; c++)
		vk_strbuf_addch(&sb, *c == '\n' ? ' ' : *c);
	return vk_strbuf_detach(&sb, NULL);
}

int vk_nodes_sync_routes(const struct vk_profile *p, long skip, char **failed, struct vk_error *err)
{
	enum vk_host_state states[VK_NODES_MAX];
	_cleanup_strbuf_ struct vk_strbuf bad = VK_STRBUF_INIT;

	if (failed)
		*failed = NULL;
	if (vk_nodes_states(p, states, err) < 0)
		return -1;
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *routes = vk_nodes_routes_text(p->cfg.nodes, p->cfg.nnodes, n->index);
		_cleanup_free_ char *cmd = NULL, *out = NULL;
		struct vk_error local = { 0 };
		int status = 0;

		if (n->index == skip || states[i] != VK_HOST_RUNNING)
			continue;
		cmd = vk_nodes_routes_command(routes, err);
		if (!cmd)
			return -1;
		if (vk_guest_run_at(p, n->ip, cmd, SSH_TIMEOUT_MS, &out, &status, &local) < 0 || status != 0) {
			vk_strbuf_addf(&bad, "%s%s (%s)", bad.len ? "; " : "", n->name,
				       status ? "the guest's route command failed" : local.message);
			continue;
		}
		vk_debug("node '%s': pod routes set", n->name);
	}
	if (failed && bad.len)
		*failed = vk_strbuf_detach(&bad, NULL);
	return 0;
}

/* The Kubernetes Node of a deleted VM: gone from the API too (best effort:
 * a cluster that does not answer keeps it, NotReady, and says so in debug). */
static void delete_node_object(const struct vk_profile *p, const char *name, bool *deleted)
{
	struct vk_error local = { 0 };
	struct vk_kube *k;

	*deleted = false;
	if (p->cfg.libvirt_uri && strncmp(p->cfg.libvirt_uri, "test:", 5) == 0)
		return;
	k = vk_kube_from_profile(p, &local);
	if (!k) {
		vk_debug("node '%s': %s", name, local.message);
		return;
	}
	vk_kube_set_timeout(k, 10000);
	if (vk_kube_delete(k, "v1", "Node", NULL, name, NULL, deleted, &local) < 0)
		vk_debug("node '%s': cannot delete its Node: %s", name, local.message);
	vk_kube_free(k);
}

int vk_node_delete(struct vk_profile *p, const char *name, struct vk_node_delete_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *network = vk_cluster_network_name(p->name);
	static const char *const files[] = { VK_FILE_DISK, VK_FILE_SEED, VK_FILE_CONSOLE_LOG };
	struct vk_node *n;
	enum vk_host_state state;
	long idx;

	memset(res, 0, sizeof(*res));
	n = vk_nodes_find(p, name, err);
	if (!n)
		return -1;
	if (n->index == 1) {
		vk_error_set(err, VK_ERR_INVALID, "cannot delete node '%s': it is the %s of profile '%s'", n->name,
			     n->role == VK_ROLE_CONTROL_PLANE ? "control plane" : "first node", p->name);
		return vk_error_hint(err, "delete a worker, or the whole profile with 'virtkube -p %s delete'", p->name);
	}
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, n->name, p->name, &state, err) < 0)
		return -1;
	if (n->role == VK_ROLE_WORKER && vk_profile_running(p))
		delete_node_object(p, n->name, &res->node_object_removed);
	if (state != VK_HOST_NONEXISTENT) {
		if (vk_domain_remove(conn, n->name, err) < 0)
			return -1;
		res->domain_removed = true;
	}
	if (vk_network_host_remove(conn, network,
				   &(struct vk_dhcp_host){ .mac = n->mac, .name = n->name, .ip = n->ip }, err) < 0)
		return -1;
	for (size_t i = 0; i < VK_ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = vk_node_path(p, n, files[i]);

		if (unlink(path) < 0 && errno != ENOENT)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot remove '%s' of node '%s'", path, n->name);
	}
	idx = n->index;
	vk_profile_node_remove(p, idx);
	if (vk_profile_save(p, err) < 0)
		return -1;
	return vk_nodes_sync_routes(p, 0, &res->routes_failed, err);
}

void vk_node_delete_result_release(struct vk_node_delete_result *res)
{
	free(res->routes_failed);
	memset(res, 0, sizeof(*res));
}
