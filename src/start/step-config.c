/* Step "config": what a new machine is made with goes to config.json before anything is made, so an interrupted start is finished, or deleted, from it. */
#include <stdio.h>
#include <time.h>

#include "cluster/cluster.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int vk_step_config(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_profile_config *c = &p->cfg;
	_cleanup_free_ char *domain = NULL;

	if (ctx->kubernetes) {
		vk_profile_set_str(&c->kubernetes_version, ctx->version);
		if (ctx->opts->image_repository)
			vk_profile_set_str(&c->image_repository, ctx->opts->image_repository);
		if (ctx->opts->registry_mirror)
			vk_profile_set_str(&c->registry_mirror, ctx->opts->registry_mirror);
		if (ctx->opts->insecure_registries) {
			vk_strv_free(c->insecure_registries);
			c->insecure_registries = vk_strv_copy(ctx->opts->insecure_registries);
		}
		c->api_port = vk_profile_api_port(p);
	}
	if (!vk_start_creating(ctx)) {
		vk_start_skip(ctx);
		/* A node added to a made profile boots the image the profile has. */
		if (vk_start_any_creating(ctx) && ctx->image && !(ctx->img = vk_image_load(ctx->image, err)))
			return -1;
		return ctx->kubernetes ? vk_profile_save(p, err) : 0;
	}
	if (!ctx->image) {
		vk_error_set(err, VK_ERR_INVALID, "no image to boot for profile '%s'", p->name);
		return vk_error_hint(err, "pass --image with a qcow2/raw disk or an image.json (vm-images/debian-test/build "
					  "makes a small one)");
	}
	/* The image is read only when the machine is (re)created. */
	ctx->img = vk_image_load(ctx->image, err);
	if (!ctx->img)
		return -1;
	vk_profile_set_str(&c->libvirt_uri, ctx->uri);
	vk_profile_set_str(&c->image, ctx->image);
	c->cpus = ctx->cpus;
	c->memory_mib = ctx->memory_mib;
	c->disk_gib = ctx->disk_gib;
	vk_profile_set_str(&c->network_mode, ctx->network_mode);
	vk_profile_set_str(&c->accel, vk_accel_name(ctx->accel));
	c->kind = ctx->kubernetes ? VK_KIND_KUBERNETES : VK_KIND_PLAIN;
	c->schedule_on_control_plane = ctx->opts->schedule_on_control_plane;
	domain = vk_cluster_domain_name(p->name);
	vk_profile_set_str(&c->domain, domain);
	if (!c->instance_id) {
		_cleanup_free_ char *iid = xasprintf("virtkube-%s-%lx", p->name, (unsigned long)time(NULL));

		vk_profile_set_str(&c->instance_id, iid);
	}
	if (c->state == VK_PROFILE_NEW)
		c->state = VK_PROFILE_CREATED;
	return vk_profile_save(p, err);
}
