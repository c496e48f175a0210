/* Step "boot": the domain is started (unless it runs) and the guest's SSH answers at the profile's fixed IP; a guest silent under kvm is called out. */
#include <stdlib.h>
#include <string.h>

#include "vm/guestssh.h"
#include "vm/nodeplan.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define SSH_POLL_SLICE_MS 5000

/* Waits for SSH in slices, so a guest that prints nothing on its console
 * under kvm (a kvm that cannot run it) is said at once, not after the wait.
 * Through the libvirt host's ssh when there is a jump (vk_node_wait_ssh):
 * then no route to the node is needed. */
static int wait_for_ssh(struct vk_start_ctx *ctx, const struct vk_node *n, const struct vk_console_mark *mark,
			long long deadline, long wait_s, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);
	bool warned = false;

	for (;;) {
		long long left = deadline - vk_now_ms();

		if (vk_node_wait_ssh(p, n->ip, left < SSH_POLL_SLICE_MS ? left : SSH_POLL_SLICE_MS, err) == 0)
			return 0;
		if (err->code != VK_ERR_TIMEOUT)
			return -1;
		vk_start_tick(ctx);
		if (vk_now_ms() >= deadline) {
			/* through a jump, the last slice's message says what ssh said */
			_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
			_cleanup_free_ char *last = jump ? xstrdup(err->message) : NULL;

			if (jump)
				vk_error_set(err, VK_ERR_TIMEOUT, "the guest '%s' did not answer within %ld s (%s)", n->name,
					     wait_s, last);
			else
				vk_error_set(err, VK_ERR_TIMEOUT, "the guest '%s' did not answer SSH on %s:22 within %ld s",
					     n->name, n->ip, wait_s);
			if (n->index == 1)
				return vk_error_hint(err, "see the guest's console with 'virtkube -p %s logs'", p->name);
			return vk_error_hint(err, "see the guest's console with 'virtkube -p %s logs -n %s'", p->name, n->name);
		}
		if (!warned && ctx->accel == VK_ACCEL_KVM &&
		    vk_console_silent(console, mark, vk_now_ms(), VK_CONSOLE_SILENCE_MS)) {
			_cleanup_free_ char *warning =
				vk_console_silence_warning(n->name, ctx->accel, (long)(vk_now_ms() - mark->at_ms));

			vk_start_warn(ctx, "%s", warning);
			warned = true;
		}
		vk_error_clear(err);
	}
}

/* A domain start that failed (ERR) on a bridged profile whose bridge is
 * gone from the libvirt host (preflight could not tell, or it went since):
 * qemu's driver says "Cannot get interface MTU on 'NAME': No such device";
 * say which bridge and what to do. Returns -1. */
static int bridge_missing(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const char *bridge = ctx->p->cfg.bridge;
	_cleanup_free_ char *quoted = NULL, *said = NULL;

	if (!err || !vk_profile_bridged(ctx->p) || !bridge)
		return -1;
	quoted = xasprintf("'%s'", bridge);
	if (!strstr(err->message, quoted) ||
	    (!strstr(err->message, "No such device") && !strstr(err->message, "does not exist")))
		return -1;
	said = xstrdup(err->message);
	vk_error_set(err, VK_ERR_NOT_FOUND, "there is no bridge '%s' on the libvirt host at '%s' (%s)", bridge, ctx->uri,
		     said);
	return vk_error_hint(err, "make the bridge there (ip link add %s type bridge, with the LAN's port in it), or "
			     "delete profile '%s' and make it with the name of a bridge that is there", bridge, ctx->p->name);
}

int vk_step_boot(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_console_mark marks[VK_NODES_MAX + 1];
	long wait_s = vk_start_wait_s(ctx, VK_DEFAULT_WAIT_S);
	long long deadline;
	size_t booted = 0;

	if (ctx->res->was_running) {
		vk_start_skip(ctx);
		if (p->cfg.state == VK_PROFILE_RUNNING)
			return 0;
		p->cfg.state = VK_PROFILE_RUNNING;
		return vk_profile_save(p, err);
	}
	/* Every node is started before any is waited for: they boot in parallel. */
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);

		if (ctx->node_state[n->index] == VK_HOST_RUNNING) {
			vk_start_remote_console(ctx, n);
			continue;
		}
		vk_start_info(ctx, "booting '%s'", n->name);
		vk_console_mark_take(console, vk_now_ms(), &marks[n->index]);
		if (vk_domain_start(ctx->conn, n->name, err) < 0)
			return bridge_missing(ctx, err);
		ctx->node_booted[n->index] = true;
		vk_start_remote_console(ctx, n);
		booted++;
	}
	p->cfg.state = VK_PROFILE_RUNNING;
	if (vk_profile_save(p, err) < 0)
		return -1;
	/* The test driver has no guest: nothing would ever answer at the node IP. */
	if (ctx->opts->wait_s < 0 || vk_start_test_driver(ctx) || !booted)
		return 0;
	if (p->cfg.nnodes > 1)
		vk_start_info(ctx, "waiting for SSH on %zu node%s (up to %ld s)", booted, booted == 1 ? "" : "s", wait_s);
	else
		vk_start_info(ctx, "waiting for the guest's SSH at %s:22 (up to %ld s)", p->cfg.node_ip, wait_s);
	deadline = vk_now_ms() + wait_s * 1000;
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];

		if (ctx->node_booted[n->index] && wait_for_ssh(ctx, n, &marks[n->index], deadline, wait_s, err) < 0)
			return -1;
	}
	return 0;
}
