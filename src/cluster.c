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
#include "provision.h"
#include "sshkey.h"
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
	if ((state != VK_HOST_NONEXISTENT || p->cfg.state != VK_PROFILE_NEW) && p->cfg.state != VK_PROFILE_STOPPED) {
		p->cfg.state = state == VK_HOST_NONEXISTENT ? VK_PROFILE_CREATED : VK_PROFILE_STOPPED;
		return save(p, err);
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
	bool kubernetes = vk_profile_kubernetes(p);

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
	if (kubernetes) {
		struct vk_error kerr = { 0 };

		/* The VM is gone either way: a kubeconfig we cannot edit is reported, not fatal. */
		if (vk_provision_forget(p, &res->kubeconfig_removed, &res->kubeconfig, &kerr) < 0)
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
	st->kubernetes = vk_profile_kubernetes(p);
	snprintf(st->node_ip, sizeof(st->node_ip), "%s", p->cfg.node_ip ?: "");
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
