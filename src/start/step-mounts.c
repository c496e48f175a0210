/* Step "mounts": the host folders that changed while the guests could not be told (a stopped profile, start --mount) are mounted in every running node. */
#include "vm/mountops.h"
#include "start/start-steps.h"

int vk_step_mounts(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_mounts_applied a = { 0 };
	int rc;

	/* A new node's seed carries them, and its provisioning mounts them before the kubelet. */
	if (!p->cfg.mounts_pending || ctx->opts->wait_s < 0) {
		vk_start_skip(ctx);
		return 0;
	}
	rc = vk_mounts_apply(p, ctx->conn, &a, err);
	if (rc == 0 && a.now)
		vk_start_info(ctx, "host folders: %zu mounted in %zu node%s", p->cfg.nmounts, a.now, a.now == 1 ? "" : "s");
	if (rc == 0 && a.later)
		vk_start_warn(ctx, "host folders: %zu node%s get them at their next start%s%s", a.later,
			      a.later == 1 ? "" : "s", a.why ? ": " : "", a.why ? a.why : "");
	vk_mounts_applied_release(&a);
	if (rc < 0)
		return -1;
	return vk_profile_save(p, err);
}
