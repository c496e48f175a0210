/* Step "artifacts": the base image (unless --image names one) and the version's Kubernetes binaries, downloaded in parallel into the cache and verified. */
#include <string.h>

#include "artifacts/cache.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void on_download(const struct vk_fetch_progress *progress, void *data)
{
	struct vk_start_ctx *ctx = data;

	if (ctx->on_event)
		ctx->on_event(ctx->event_data,
			      &(struct vk_start_event){ .type = VK_START_DOWNLOAD, .step = "artifacts", .download = progress });
}

/* Whether the base image comes from the cache: no --image, and the profile
 * has no image yet or its saved one is one of our downloads (so the cache is
 * asked for it again: it may have been cleaned or need --verify). */
static bool image_from_cache(const struct vk_start_ctx *ctx)
{
	_cleanup_free_ char *cache = NULL;
	const char *saved;

	if (ctx->opts->image)
		return false;
	/* --download-only has no profile: the default image */
	if (ctx->opts->download_only || !(saved = ctx->p->cfg.image))
		return true;
	cache = vk_cache_dir(ctx->home);
	return strncmp(saved, cache, strlen(cache)) == 0 && saved[strlen(cache)] == '/';
}

int vk_step_artifacts(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	struct vk_artifacts_request req = {
		.home = ctx->home,
		.kubernetes_version = ctx->kubernetes ? ctx->version : NULL,
		.want_image = image_from_cache(ctx),
		.mirror = o->mirror,
		.offline = o->offline,
		.verify = o->verify,
		.progress = on_download,
		.progress_data = ctx,
	};

	if (!req.kubernetes_version && !req.want_image) {
		vk_start_skip(ctx);
		return 0;
	}
	if (vk_artifacts_ensure(&req, &ctx->paths, err) < 0)
		return -1;
	if (ctx->paths.image) {
		ctx->res->image = xstrdup(ctx->paths.image);
		if (!ctx->image)
			ctx->image = xstrdup(ctx->paths.image);
	}
	return 0;
}
