/* Step "payload": the version's shared payload ISO (binaries and units), built once into the cache and recorded in the profile (Kubernetes only). */
#include <stdlib.h>

#include "artifacts/payload.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int vk_step_payload(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *iso = NULL, *seed = NULL;
	bool built = false;

	if (!ctx->kubernetes) {
		vk_start_skip(ctx);
		return 0;
	}
	/* Every start does this, so an ISO removed by `cache clean` is back
	 * before the domain that uses it boots. A profile made before payload
	 * ISOs (a seed.iso but no payload ISO recorded) has it all on its seed. */
	if (p) {
		seed = vk_profile_path(p, VK_FILE_SEED);
		if (!p->cfg.payload_iso && vk_path_exists(seed)) {
			vk_start_skip(ctx);
			return 0;
		}
	}
	iso = vk_payload_build(ctx->home, &ctx->paths, ctx->images_archive, &built, err);
	if (!iso)
		return -1;
	if (!built)
		vk_start_skip(ctx);
	ctx->res->payload_iso = xstrdup(iso);
	if (!p)
		return 0;
	vk_profile_set_str(&p->cfg.payload_iso, iso);
	return vk_profile_save(p, err);
}
