/* Step "pki": the cluster CA, the kubeconfig's client certificate and the workers' join token in the profile, made once (Kubernetes only). */
#include <time.h>

#include "kube/join.h"
#include "kube/token.h"
#include "kube/pki.h"
#include "start/start-steps.h"
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
	/* Workers join with a token the host made: it goes into the control
	 * plane's kubeadm config (bootstrapTokens) before any boot. */
	if (vk_start_creating(ctx) && ctx->nodes > 1 && !ctx->p->cfg.join_token) {
		char token[VK_TOKEN_LEN + 1];

		if (vk_token_new(token, err) < 0)
			return -1;
		vk_profile_set_str(&ctx->p->cfg.join_token, token);
		ctx->p->cfg.join_token_expires = (long)time(NULL) + VK_TOKEN_TTL_S;
		if (vk_profile_save(ctx->p, err) < 0)
			return -1;
	}
	if (pki.ca_created)
		vk_start_info(ctx, "profile '%s': new cluster CA", ctx->p->name);
	else
		vk_start_skip(ctx);
	return 0;
}
