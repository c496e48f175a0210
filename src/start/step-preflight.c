/* Step "preflight": before any download, libvirt answers at the profile's URI, the domain is in a state start can work with, and the accelerator is chosen. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"
#include "start/step.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int vk_step_preflight(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);
	struct stat st;

	ctx->conn = vk_machine_connect(ctx->uri, err);
	if (!ctx->conn)
		return -1;
	ctx->domain = vk_cluster_domain_name(p->name);
	if (vk_domain_state(ctx->conn, ctx->domain, p->name, &ctx->initial_state, err) < 0)
		return -1;
	if (ctx->initial_state == VK_HOST_PAUSED) {
		vk_error_set(err, VK_ERR_FAILED, "domain '%s' of profile '%s' is paused", ctx->domain, p->name);
		return vk_error_hint(err, "resume it with 'virsh -c %s resume %s', or stop it with 'virtkube stop'", ctx->uri,
				     ctx->domain);
	}
	ctx->res->was_running = ctx->initial_state == VK_HOST_RUNNING;
	ctx->creating = ctx->initial_state == VK_HOST_NONEXISTENT;
	/* What the follower skips: earlier boots' lines. */
	ctx->console_offset = stat(console, &st) == 0 ? st.st_size : 0;
	if (ctx->creating) {
		if (vk_machine_choose_accel(ctx->conn, ctx->uri, ctx->accel_wanted, &ctx->accel, err) < 0)
			return -1;
	} else {
		ctx->accel = p->cfg.accel && strcmp(p->cfg.accel, "kvm") == 0 ? VK_ACCEL_KVM : VK_ACCEL_TCG;
	}
	if (ctx->accel == VK_ACCEL_TCG && !ctx->res->was_running)
		vk_start_warn(ctx, "no KVM here: the VM runs under TCG emulation and will be slow (--accel tcg)");
	return 0;
}
