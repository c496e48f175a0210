/* Step "api-ready": the API server's /readyz answers with the profile's client certificate, then every node is Ready (workers labelled as such) and kube-proxy runs. */
#include "cluster/cluster.h"
#include "kube/k8sready.h"
#include "kube/kubeapi.h"
#include "vm/nodeplan.h"
#include "start/start-steps.h"

/* A worker: Ready, and labelled as one (a kubelet may not give itself a
 * node-role label: the NodeRestriction admission refuses it). */
static int worker_ready(struct vk_start_ctx *ctx, struct vk_kube *k, const struct vk_node *n,
			const struct vk_wait_opts *o, struct vk_error *err)
{
	json_auto_t *label = NULL, *stored = NULL;

	vk_start_info(ctx, "waiting for node '%s' to be Ready (up to %ld s)", n->name, o->timeout_ms / 1000);
	if (vk_wait_node_ready(k, n->name, o, err) < 0)
		return -1;
	label = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
			  n->name, "labels", VK_WORKER_LABEL, "");
	stored = vk_kube_apply(k, label, err);
	if (!stored)
		return vk_error_prefix(err, "cannot label node '%s' as a worker", n->name);
	return 0;
}

/* kube-proxy on every node of the profile, started by this boot (after SINCE). */
static int this_boots_kube_proxy(const struct vk_profile *p, struct vk_kube *k, time_t since,
				 const struct vk_wait_opts *o, struct vk_error *err)
{
	const char *nodes[VK_NODES_MAX + 1] = { NULL };

	for (size_t i = 0; i < p->cfg.nnodes && i < VK_NODES_MAX; i++)
		nodes[i] = p->cfg.nodes[i].name;
	return vk_wait_kube_proxy(k, nodes, since, o, err);
}

int vk_step_api_ready(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_start_watch watch = { .ctx = ctx };
	struct vk_kube *k;
	struct vk_wait_opts o = { .profile = p->name, .check = vk_start_watch_check, .data = &watch };
	int rc;

	if (!ctx->kubernetes || vk_start_test_driver(ctx) || ctx->opts->wait_s < 0) {
		vk_start_skip(ctx);
		return 0;
	}
	k = vk_kube_from_profile(p, err);
	if (!k)
		return -1;
	watch.domain = vk_cluster_watch_new(p, err);
	if (!watch.domain) {
		vk_kube_free(k);
		return -1;
	}
	o.timeout_ms = vk_start_wait_s(ctx, VK_DEFAULT_WAIT_S) * 1000;
	vk_start_info(ctx, "waiting for the API server at %s/readyz (up to %ld s)", vk_kube_server(k), o.timeout_ms / 1000);
	rc = vk_wait_apiserver_ready(k, &o, err);
	if (rc == 0) {
		vk_start_info(ctx, "waiting for node '%s' to be Ready (up to %ld s)", p->name, o.timeout_ms / 1000);
		rc = vk_wait_node_ready(k, p->name, &o, err);
	}
	for (size_t i = 0; rc == 0 && i < p->cfg.nnodes; i++)
		if (p->cfg.nodes[i].role == VK_ROLE_WORKER)
			rc = worker_ready(ctx, k, &p->cfg.nodes[i], &o, err);
	/* A NodePort answers only once kube-proxy runs: its DaemonSet comes from
	 * the controller manager after the node registers, often after Ready. */
	if (rc == 0) {
		vk_start_info(ctx, "waiting for kube-proxy, which serves Services and NodePorts (up to %ld s)",
			      o.timeout_ms / 1000);
		rc = vk_kube_wait_ready(k, "DaemonSet", "kube-system", "kube-proxy", o.timeout_ms, NULL, NULL, err);
		/* after a restart the DaemonSet's status is still the one from
		 * before the stop: this boot's pods tell */
		if (rc == 0 && !ctx->res->created && !ctx->res->was_running)
			rc = this_boots_kube_proxy(p, k, ctx->started_at, &o, err);
		if (rc < 0)
			vk_error_prefix(err, "the node of profile '%s' is Ready, but kube-proxy is not", p->name);
	}
	vk_cluster_watch_free(watch.domain);
	vk_kube_free(k);
	return rc;
}
