/* Step "api-ready": the API server's /readyz answers with the profile's client certificate, then the node is Ready. */
#include "cluster.h"
#include "k8sready.h"
#include "kubeapi.h"
#include "start/step.h"

int vk_step_api_ready(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_cluster_watch *watch;
	struct vk_kube *k;
	struct vk_wait_opts o = { .profile = p->name, .check = vk_cluster_watch_check };
	int rc;

	if (!ctx->kubernetes || vk_start_test_driver(ctx) || ctx->opts->wait_s < 0) {
		vk_start_skip(ctx);
		return 0;
	}
	k = vk_kube_from_profile(p, err);
	if (!k)
		return -1;
	watch = vk_cluster_watch_new(p, err);
	if (!watch) {
		vk_kube_free(k);
		return -1;
	}
	o.data = watch;
	o.timeout_ms = vk_start_wait_s(ctx, VK_DEFAULT_WAIT_S) * 1000;
	vk_start_info(ctx, "waiting for the API server at %s/readyz (up to %ld s)", vk_kube_server(k), o.timeout_ms / 1000);
	rc = vk_wait_apiserver_ready(k, &o, err);
	if (rc == 0) {
		vk_start_info(ctx, "waiting for node '%s' to be Ready (up to %ld s)", p->name, o.timeout_ms / 1000);
		rc = vk_wait_node_ready(k, p->name, &o, err);
	}
	vk_cluster_watch_free(watch);
	vk_kube_free(k);
	return rc;
}
