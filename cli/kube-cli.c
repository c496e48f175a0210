/* Shared by the API-facing commands: open the profile and a client for its cluster. */
#include "kube-cli.h"

#include <stddef.h>

int cli_kube_open(const struct cli_context *ctx, struct vk_profile **p, struct vk_kube **k, struct vk_error *err)
{
	*k = NULL;
	*p = vk_profile_open(ctx->profile, false, err);
	if (!*p) {
		if (err->code == VK_ERR_NOT_FOUND)
			vk_error_hint(err, "create it with 'virtkube start -p %s'", ctx->profile);
		return -1;
	}
	if (vk_kube_require_running(*p, err) < 0 || !(*k = vk_kube_from_profile(*p, err))) {
		vk_profile_free(*p);
		*p = NULL;
		return -1;
	}
	return 0;
}
