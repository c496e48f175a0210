/* Step "pki": the cluster CA and the kubeconfig's client certificate in the profile, made once (Kubernetes only). */
#include "pki.h"
#include "start/step.h"
#include "util/fs.h"

int vk_step_pki(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_pki_result pki;

	if (!ctx->kubernetes) {
		vk_start_skip(ctx);
		return 0;
	}
	if (vk_mkdir_p(ctx->p->dir, 0700, err) < 0 || vk_pki_ensure(ctx->p->dir, ctx->p->name, &pki, err) < 0)
		return -1;
	if (pki.ca_created)
		vk_start_info(ctx, "profile '%s': new cluster CA", ctx->p->name);
	else
		vk_start_skip(ctx);
	return 0;
}
