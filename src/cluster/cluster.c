/* The lifecycle steps. Each step looks at what exists (config.json, libvirt, files) before it acts. */
#include "cluster/cluster.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/context.h"
#include "vm/bootdisk.h"
#include "vm/nodeplan.h"
#include "vm/sshkey.h"
#include "vm/volumes.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

char *vk_cluster_domain_name(const char *profile)
{
	return xstrdup(profile);
}

char *vk_cluster_network_name(const char *profile)
{
	return xasprintf("virtkube-%s", profile);
}

int vk_cluster_subnet(const struct vk_profile *p, uint32_t *subnet, struct vk_error *err)
{
	const char *cidr = p->cfg.subnet;
	char buf[16] = "";

	if (cidr)
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(cidr, "/"), cidr);
	if (!cidr || vk_ipv4_parse(buf, subnet) < 0)
		return vk_error_set(err, VK_ERR_PARSE, "profile '%s' has no valid subnet in %s", p->name, p->config_path);
	return 0;
}

static int save(struct vk_profile *p, struct vk_error *err)
{
	return vk_profile_save(p, err);
}

/* -------------------------------------------------------------------- stop -- */

static const char *saved_uri(const struct vk_profile *p)
{
	return p->cfg.libvirt_uri ? p->cfg.libvirt_uri : vk_machine_uri(NULL);
}

/* The profile's domains: one per node (node 1's is the profile's name). A
 * profile whose network was never planned has its one domain only. */
static size_t node_domains(const struct vk_profile *p, const char **names, char **own)
{
	size_t n = 0;

	*own = vk_cluster_domain_name(p->name);
	names[n++] = *own;
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		if (p->cfg.nodes[i].index != 1)
			names[n++] = p->cfg.nodes[i].name;
	return n;
}

int vk_cluster_stop(struct vk_profile *p, int timeout_s, struct vk_stop_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *own = NULL;
	const char *all[VK_NODES_MAX + 1], *running[VK_NODES_MAX + 1];
	bool forced[VK_NODES_MAX + 1];
	size_t n, nrunning = 0;
	bool any = false;

	memset(res, 0, sizeof(*res));
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	n = node_domains(p, all, &own);
	for (size_t i = 0; i < n; i++) {
		enum vk_host_state state;

		if (vk_domain_state(conn, all[i], p->name, &state, err) < 0)
			return -1;
		any |= state != VK_HOST_NONEXISTENT;
		if (state != VK_HOST_NONEXISTENT && state != VK_HOST_STOPPED)
			running[nrunning++] = all[i];
	}
	if (nrunning) {
		res->was_running = true;
		if (vk_domains_shutdown(conn, running, nrunning, timeout_s, forced, err) < 0)
			return -1;
		for (size_t i = 0; i < nrunning; i++)
			res->forced |= forced[i];
	}
	if ((any || p->cfg.state != VK_PROFILE_NEW) && p->cfg.state != VK_PROFILE_STOPPED) {
		p->cfg.state = !any ? VK_PROFILE_CREATED : VK_PROFILE_STOPPED;
		return save(p, err);
	}
	return 0;
}

/* ------------------------------------------------------------------ delete -- */

int vk_cluster_delete(struct vk_profile *p, struct vk_delete_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *domain = NULL;
	_cleanup_free_ char *network = vk_cluster_network_name(p->name);
	_cleanup_free_ char *lock = NULL;
	const char *domains[VK_NODES_MAX + 1];
	enum vk_host_state state;
	const char *uri = saved_uri(p);
	bool kubernetes = vk_profile_kubernetes(p);
	size_t ndomains = node_domains(p, domains, &domain);

	memset(res, 0, sizeof(*res));
	conn = vk_machine_connect(uri, err);
	if (!conn)
		return vk_error_hint(err, "the profile's files are kept until libvirt at '%s' can be reached, so its VM is "
					  "not orphaned; once that VM is gone, 'rm -r %s' removes them",
				     uri, p->dir);
	/* The workers first, the profile's own domain last. */
	for (size_t i = ndomains; i-- > 0;) {
		if (vk_domain_state(conn, domains[i], p->name, &state, err) < 0) {
			if (err->code != VK_ERR_EXISTS)
				return -1;
			/* Someone else's domain of that name: left alone, ours is not there. */
			vk_info("%s", err->message);
			vk_error_clear(err);
			state = VK_HOST_NONEXISTENT;
		}
		if (state != VK_HOST_NONEXISTENT) {
			if (vk_domain_remove(conn, domains[i], err) < 0)
				return -1;
			res->domain_removed = true;
		}
	}
	/* A remote host: the domains' own volumes; the shared ones stay for the next profile. */
	if (vk_volumes_wanted(uri) &&
	    vk_volumes_remove_nodes(conn, VK_VOLUME_POOL, domains, ndomains, &res->volumes_removed, err) < 0)
		return -1;
	if (vk_network_remove_if_unused(conn, network, domain, &res->network_removed, err) < 0)
		return -1;
	res->network_kept = !res->network_removed && vk_network_exists(conn, network);
	vk_disk_pool_cleanup(conn, network);
	if (vk_remove_tree(p->dir, err) < 0)
		return -1;
	lock = p->lock.path ? xstrdup(p->lock.path) : NULL;
	if (lock)
		unlink(lock);
	if (kubernetes) {
		struct vk_error kerr = { 0 };

		/* The VM is gone either way: a kubeconfig we cannot edit is reported, not fatal. */
		if (vk_context_remove(p, &res->kubeconfig_removed, &res->kubeconfig, &kerr) < 0)
			res->kubeconfig_kept = xstrdup(kerr.message);
	}
	return 0;
}

void vk_delete_result_release(struct vk_delete_result *res)
{
	free(res->kubeconfig);
	free(res->kubeconfig_kept);
	memset(res, 0, sizeof(*res));
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

struct vk_cluster_watch *vk_cluster_watch_new_node(const struct vk_profile *p, const char *domain,
						   struct vk_error *err)
{
	struct vk_cluster_watch *w;
	virConnectPtr conn = vk_machine_connect(saved_uri(p), err);

	if (!conn)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->conn = conn;
	w->domain = xstrdup(domain);
	w->profile = xstrdup(p->name);
	return w;
}

struct vk_cluster_watch *vk_cluster_watch_new(const struct vk_profile *p, struct vk_error *err)
{
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);

	return vk_cluster_watch_new_node(p, domain, err);
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

static const char *node_type(enum vk_node_role role)
{
	return role == VK_ROLE_CONTROL_PLANE ? "Control Plane" : role == VK_ROLE_WORKER ? "Worker" : "Plain";
}

int vk_cluster_node_status(struct vk_profile *p, const struct vk_node *n, struct vk_status *st, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;

	memset(st, 0, sizeof(*st));
	st->kubernetes = vk_profile_kubernetes(p);
	snprintf(st->node_ip, sizeof(st->node_ip), "%s", n->ip);
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, n->name, p->name, &st->host, err) < 0)
		return -1;
	st->fields = json_object();
	json_object_set_new(st->fields, "Name", json_string(n->name));
	json_object_set_new(st->fields, "Type", json_string(node_type(n->role)));
	json_object_set_new(st->fields, "Host", json_string(vk_host_state_name(st->host)));
	json_object_set_new(st->fields, "IP", json_string(st->node_ip));
	if (st->host != VK_HOST_RUNNING)
		st->exit_bits |= 1 | (st->kubernetes ? 2 : 0);
	return 0;
}

int vk_cluster_status(struct vk_profile *p, struct vk_status *st, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);

	memset(st, 0, sizeof(*st));
	st->kubernetes = vk_profile_kubernetes(p);
	snprintf(st->node_ip, sizeof(st->node_ip), "%s", p->cfg.node_ip ?: "");
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	if (vk_domain_state(conn, domain, p->name, &st->host, err) < 0)
		return -1;
	st->fields = json_object();
	json_object_set_new(st->fields, "Name", json_string(p->name));
	/* minikube's "type" line, where there is more than one node */
	if (p->cfg.nnodes > 1)
		json_object_set_new(st->fields, "Type", json_string(node_type(p->cfg.nodes[0].role)));
	json_object_set_new(st->fields, "Host", json_string(vk_host_state_name(st->host)));
	json_object_set_new(st->fields, "IP", json_string(st->node_ip));
	json_object_set_new(st->fields, "Kubernetes", json_boolean(st->kubernetes));
	if (st->host != VK_HOST_RUNNING)
		st->exit_bits |= 1 | (st->kubernetes ? 2 | 4 : 0);
	return 0;
}
