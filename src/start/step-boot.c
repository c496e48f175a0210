/* Step "boot": the domain is started (unless it runs) and the guest's SSH answers at the profile's fixed IP. */
#include "start/step.h"

int vk_step_boot(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	long wait_s = vk_start_wait_s(ctx, VK_DEFAULT_WAIT_S);

	if (ctx->res->was_running) {
		vk_start_skip(ctx);
		if (p->cfg.state == VK_PROFILE_RUNNING)
			return 0;
		p->cfg.state = VK_PROFILE_RUNNING;
		return vk_profile_save(p, err);
	}
	vk_start_info(ctx, "booting '%s'", ctx->domain);
	if (vk_domain_start(ctx->conn, ctx->domain, err) < 0)
		return -1;
	p->cfg.state = VK_PROFILE_RUNNING;
	if (vk_profile_save(p, err) < 0)
		return -1;
	/* The test driver has no guest: nothing would ever answer at the node IP. */
	if (ctx->opts->wait_s < 0 || vk_start_test_driver(ctx))
		return 0;
	vk_start_info(ctx, "waiting for the guest's SSH at %s:22 (up to %ld s)", p->cfg.node_ip, wait_s);
	if (vk_wait_ssh(p->cfg.node_ip, 22, wait_s * 1000, err) < 0)
		return vk_error_hint(err, "see the guest's console with 'virtkube -p %s logs'", p->name);
	return 0;
}
