/* Step "images": the container images the version's kubeadm and the enabled addons need, pulled by the host, pinned by digest and written as one OCI archive for the payload ISO, so the guest needs no registry. */
#include <stdio.h>
#include <string.h>

#include "kube/addons.h"
#include "artifacts/imageset.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void on_download(const struct vk_fetch_progress *progress, void *data)
{
	struct vk_start_ctx *ctx = data;

	if (ctx->on_event)
		ctx->on_event(ctx->event_data,
			      &(struct vk_start_event){ .type = VK_START_DOWNLOAD, .step = "images", .download = progress });
}

/* The images of the addons this start applies: the profile's enabled set (the defaults on a first start) and --addons. */
static char **addon_images(struct vk_start_ctx *ctx, struct vk_error *err)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_strv_ char **enabled = NULL;
	char **images = xcalloc(1, sizeof(char *));
	size_t n = 0;

	if (vk_addons_load(&reg, NULL, err) < 0) {
		free(images);
		return NULL;
	}
	/* --download-only has no profile: the defaults */
	enabled = ctx->p ? vk_addons_enabled(ctx->p, &reg) : NULL;
	for (size_t i = 0; i < reg.n; i++) {
		const struct vk_addon *a = &reg.items[i];
		bool on = !ctx->p && a->default_on;

		for (char **e = enabled; e && *e && !on; e++)
			on = strcmp(*e, a->name) == 0;
		for (const char *const *x = ctx->opts->addons; x && *x && !on; x++)
			on = strcmp(*x, a->name) == 0;
		for (char **img = on ? a->images : NULL; img && *img; img++) {
			images = xrealloc(images, (n + 2) * sizeof(char *));
			images[n++] = xstrdup(*img);
			images[n] = NULL;
		}
	}
	return images;
}

/* The CoreDNS image the version's kubeadm names, for the dns addon (the profile keeps it). */
static void remember_dns_image(struct vk_start_ctx *ctx, const char *image_repository)
{
	_cleanup_free_ char *dns = NULL;

	if (!ctx->p)
		return;
	dns = vk_images_kubeadm_coredns(ctx->home, ctx->paths.kubeadm, ctx->version, image_repository, NULL);
	if (dns)
		vk_profile_set_str(&ctx->p->cfg.dns_image, dns);
}

int vk_step_images(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	_cleanup_strv_ char **addons = NULL;
	struct vk_images_request req = {
		.home = ctx->home,
		.kubeadm = ctx->paths.kubeadm,
		.kubernetes_version = ctx->version,
		.image_repository = o->image_repository ? o->image_repository
				    : ctx->p			   ? ctx->p->cfg.image_repository
								   : NULL,
	};
	bool built = false;

	if (!ctx->kubernetes) {
		vk_start_skip(ctx);
		return 0;
	}
	if (o->no_preload_images) {
		/* The guest pulls: the dns addon runs kubeadm's CoreDNS when kubeadm can say which, else its own. */
		remember_dns_image(ctx, req.image_repository);
		vk_start_skip(ctx);
		return 0;
	}
	if (!(addons = addon_images(ctx, err)))
		return -1;
	req.addon_images = (const char *const *)addons;
	vk_registry_options_init(&req.registry);
	req.registry.mirror = o->registry_mirror;
	req.registry.insecure = o->insecure_registries;
	req.registry.offline = o->offline;
	req.registry.fetch.progress = on_download;
	req.registry.fetch.progress_data = ctx;
	free(ctx->images_archive);
	ctx->images_archive = vk_images_prepare(&req, &built, err);
	if (!ctx->images_archive) {
		char hint[sizeof(err->hint) + 2];

		snprintf(hint, sizeof(hint), "%s%s", err->hint, err->hint[0] ? "; " : "");
		vk_error_prefix(err, "cannot preload the container images of Kubernetes %s", ctx->version);
		return vk_error_hint(err, "%s'--no-preload-images' lets the guest pull them itself instead", hint);
	}
	remember_dns_image(ctx, req.image_repository);
	if (!built)
		vk_start_skip(ctx);
	return 0;
}
