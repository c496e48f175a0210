/* Step "kubeconfig": the profile's cluster, user and context merged into the user's kubeconfig; the node IP and certificates are fixed before boot, so it is written before the cluster answers and never goes stale. */
#include "kube/context.h"
#include "start/start-steps.h"

int vk_step_kubeconfig(struct vk_start_ctx *ctx, struct vk_error *err)
{
	bool set_current = !ctx->opts->keep_context;

	if (!ctx->kubernetes) {
		vk_start_skip(ctx);
		return 0;
	}
	if (vk_context_write(ctx->p, set_current, &ctx->res->kubeconfig, err) < 0)
		return -1;
	ctx->res->context_current = set_current;
	vk_start_info(ctx, "kubeconfig '%s': context '%s'%s", ctx->res->kubeconfig, ctx->p->name,
		      set_current ? " (current)" : "");
	return 0;
}
