/* Step "follow-guest": the guest's provisioning followed on its console to VIRTKUBE-READY, while it is pending; every stage is reported as it happens. */
#include "cluster/cluster.h"
#include "cluster/follow.h"
#include "vm/guestlog.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/clock.h"

#define GUEST_TIMEOUT_KUBERNETES_S 1800

static void on_guest_event(const struct vk_guest_event *ev, void *data)
{
	struct vk_start_ctx *ctx = data;

	if (ev->type == VK_GUEST_STAGE && ctx->on_event)
		ctx->on_event(ctx->event_data, &(struct vk_start_event){ .type = VK_START_GUEST_STAGE, .step = "follow-guest",
									 .stage = ev->stage, .ok = ev->ok,
									 .message = ev->text });
}

/* The control plane's events: reported, and timed into the result. */
static void on_timed_guest_event(const struct vk_guest_event *ev, void *data)
{
	struct vk_start_ctx *ctx = data;

	vk_guest_timing_add(&ctx->res->guest, ev, vk_now_ms());
	on_guest_event(ev, data);
}

/* The other nodes this start booted, one after the other (they provision in
 * parallel; a worker's guest waits for the control plane's API, then joins). */
static int follow_workers(struct vk_start_ctx *ctx, long wait_s, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	bool followed = false;

	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		struct vk_start_watch watch = { .ctx = ctx };
		int rc;

		if (n->index == 1 || !ctx->node_booted[n->index])
			continue;
		watch.domain = vk_cluster_watch_new_node(p, n->name, err);
		if (!watch.domain)
			return -1;
		vk_start_info(ctx, "following node '%s' on its console (up to %ld s)", n->name, wait_s);
		rc = vk_follow_node(p, n, ctx->node_console_offset[n->index], wait_s, on_guest_event, ctx,
				    vk_start_watch_check, &watch, err);
		vk_cluster_watch_free(watch.domain);
		if (rc < 0)
			return vk_error_prefix(err, "node '%s'", n->name);
		followed = true;
	}
	if (!followed && !ctx->res->created && !vk_follow_pending(p))
		vk_start_skip(ctx);
	return 0;
}

int vk_step_follow_guest(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	bool follow = ctx->res->created || vk_follow_pending(p);
	/* A plain VM is provisioned in seconds after SSH answers; Kubernetes takes longer. */
	long wait_s = vk_start_wait_s(ctx, ctx->kubernetes ? GUEST_TIMEOUT_KUBERNETES_S : VK_DEFAULT_WAIT_S);
	off_t offset = ctx->node_console_offset[1];
	struct vk_start_watch watch = { .ctx = ctx };
	int rc;

	if (vk_start_test_driver(ctx)) {
		/* libvirt's test driver runs no guest: nothing will report. */
		vk_start_info(ctx, "libvirt test driver: no guest to follow");
		vk_start_skip(ctx);
		return 0;
	}
	if (ctx->opts->wait_s < 0) {
		vk_start_skip(ctx);
		return 0;
	}
	if (!follow)
		return follow_workers(ctx, wait_s, err);
	if (!ctx->res->created)
		vk_start_info(ctx, "the guest's provisioning has not finished yet: following it again");
	/* Already running with provisioning pending (an earlier start was
	 * interrupted): this boot's report may be in the log already, so read it
	 * all; the follower starts over at each boot's first line. */
	if (ctx->res->was_running)
		offset = 0;
	watch.domain = vk_cluster_watch_new(p, err);
	if (!watch.domain)
		return -1;
	vk_start_info(ctx, "following the guest's provisioning on its console (up to %ld s)", wait_s);
	/* timed only when followed live: a log read after the fact times nothing */
	vk_guest_timing_start(&ctx->res->guest, vk_now_ms());
	rc = vk_follow_guest(p, offset, wait_s, ctx->res->was_running ? on_guest_event : on_timed_guest_event, ctx,
			     vk_start_watch_check, &watch, err);
	vk_cluster_watch_free(watch.domain);
	return rc < 0 ? -1 : follow_workers(ctx, wait_s, err);
}
