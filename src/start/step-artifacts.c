/* Step "artifacts": the base image (unless --image names one) and the version's Kubernetes binaries, downloaded in parallel into the cache and verified. */
#include <string.h>

#include "artifacts/cache.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void on_download(const struct vk_fetch_progress *progress, void *data)
{
	struct vk_start_ctx *ctx = data;

	if (ctx->on_event)
		ctx->on_event(ctx->event_data,
			      &(struct vk_start_event){ .type = VK_START_DOWNLOAD, .step = "artifacts", .download = progress });
}

/* Whether --image names a base image virtkube downloads (vm-images/NAME)
 * rather than a file: a name of vm-images/ that is no file here. */
bool vk_start_base_image(const char *image)
{
	return image && !vk_path_exists(image) && vk_artifacts_image_known(image);
}

/* Whether the base image comes from the cache: no --image (or the name of
 * a base image), and the profile has no image yet or its saved one is one
 * of our downloads (so the cache is asked for it again: it may have been
 * cleaned or need --verify). */
static bool image_from_cache(const struct vk_start_ctx *ctx)
{
	_cleanup_free_ char *cache = NULL;
	const char *saved;

	if (ctx->opts->image && !vk_start_base_image(ctx->opts->image))
		return false;
	/* --download-only has no profile: the default image */
	if (ctx->opts->download_only || !(saved = ctx->p->cfg.image))
		return true;
	cache = vk_cache_dir(ctx->home);
	return strncmp(saved, cache, strlen(cache)) == 0 && saved[strlen(cache)] == '/';
}

/* Which base image (vm-images/NAME; NULL: the default): the one --image
 * names, else the one the profile was made from (its saved cache path leads
 * back to it), which need not be today's default. Caller frees. */
static char *base_image_name(const struct vk_start_ctx *ctx)
{
	if (vk_start_base_image(ctx->opts->image))
		return xstrdup(ctx->opts->image);
	if (ctx->opts->download_only || !ctx->p->cfg.image)
		return NULL;
	return vk_artifacts_image_of_path(ctx->home, ctx->p->cfg.image);
}

int vk_step_artifacts(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	_cleanup_free_ char *image_name = base_image_name(ctx);
	struct vk_artifacts_request req = {
		.home = ctx->home,
		.kubernetes_version = ctx->kubernetes ? ctx->version : NULL,
		.want_image = image_from_cache(ctx),
		.image_name = image_name,
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
