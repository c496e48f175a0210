/* Step "addons": the profile's enabled addons (the defaults on a first start) plus --addons, applied with server-side apply and waited for. */
#include "kube/addons.h"
#include "kube/kubeapi.h"
#include "start/start-steps.h"
#include "util/cleanup.h"

#define ADDONS_TIMEOUT_S 600

static void on_addon(void *data, const char *addon, const char *what)
{
	vk_start_info(data, "addon %s: %s", addon, what);
}

int vk_step_addons(struct vk_start_ctx *ctx, struct vk_error *err)
{
	_cleanup_kube_ struct vk_kube *k = NULL;
	int rc;

	if (!ctx->kubernetes || vk_start_test_driver(ctx) || ctx->opts->wait_s < 0) {
		vk_start_skip(ctx);
		return 0;
	}
	k = vk_kube_from_profile(ctx->p, err);
	if (!k)
		return -1;
	rc = vk_addons_apply_enabled(k, ctx->p, ctx->opts->addons, false, vk_start_wait_s(ctx, ADDONS_TIMEOUT_S) * 1000L,
				     on_addon, ctx, err);
	/* the enabled set is kept even when an addon failed, so the next start retries it */
	if (vk_profile_save(ctx->p, rc < 0 ? NULL : err) < 0)
		return -1;
	return rc;
}
