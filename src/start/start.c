/* The start pipeline: the step table, the runner that times each step and reports it, and the result. */
#include "start/start.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* The order is the flow: nothing is downloaded before libvirt answered, and
 * nothing is made in libvirt before the artifacts are in the cache. */
static const struct vk_start_step steps[] = {
	{ "profile", vk_step_profile, true },     /* the settings: saved, else flags, else defaults */
	{ "preflight", vk_step_preflight, false }, /* libvirt, the domain's state, the accelerator */
	{ "artifacts", vk_step_artifacts, true }, /* base image and Kubernetes binaries into the cache */
	{ "images", vk_step_images, true },       /* container images pulled by the host, one OCI archive */
	{ "config", vk_step_config, false },      /* what is fixed at creation, into config.json */
	{ "pki", vk_step_pki, false },            /* cluster CA and client certificate */
	{ "payload", vk_step_payload, true },     /* the version's shared payload ISO */
	{ "network", vk_step_network, false },    /* subnet, MAC and node IP; the libvirt network */
	{ "disk", vk_step_disk, false },          /* copy-on-write overlay of the base image */
	{ "seed", vk_step_seed, false },          /* the cloud-init seed ISO */
	{ "domain", vk_step_domain, false },      /* define it, or point it at the current payload */
	{ "boot", vk_step_boot, false },          /* start the domain, wait for SSH */
	{ "kubeconfig", vk_step_kubeconfig, false }, /* the context in the user's kubeconfig */
	{ "follow-guest", vk_step_follow_guest, false }, /* the guest's provisioning to VIRTKUBE-READY */
	{ "mounts", vk_step_mounts, false },      /* host folders changed since the guests last heard */
	{ "api-ready", vk_step_api_ready, false }, /* /readyz, then the node Ready */
	{ "addons", vk_step_addons, false },      /* apply the enabled addons and wait */
};

const char *const *vk_start_step_names(void)
{
	static const char *names[VK_ARRAY_SIZE(steps) + 1];

	for (size_t i = 0; i < VK_ARRAY_SIZE(steps); i++)
		names[i] = steps[i].name;
	return names;
}

static const char *inject_after;

void vk_start_inject_failure_after(const char *name)
{
	inject_after = name;
}

static void emit(struct vk_start_ctx *ctx, const struct vk_start_event *ev)
{
	if (ctx->on_event)
		ctx->on_event(ctx->event_data, ev);
}

static void emit_message(struct vk_start_ctx *ctx, enum vk_start_event_type type, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);

	emit(ctx, &(struct vk_start_event){ .type = type, .step = ctx->res->failed_step, .message = msg });
}

void vk_start_info(struct vk_start_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_message(ctx, VK_START_INFO, fmt, ap);
	va_end(ap);
}

void vk_start_warn(struct vk_start_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_message(ctx, VK_START_WARN, fmt, ap);
	va_end(ap);
}

void vk_start_tick(struct vk_start_ctx *ctx)
{
	emit(ctx, &(struct vk_start_event){ .type = VK_START_TICK, .step = ctx->res->failed_step });
}

int vk_start_watch_check(void *data, struct vk_error *err)
{
	struct vk_start_watch *w = data;

	vk_start_tick(w->ctx);
	return vk_cluster_watch_check(w->domain, err);
}

void vk_start_skip(struct vk_start_ctx *ctx)
{
	ctx->skipped = true;
}

bool vk_start_test_driver(const struct vk_start_ctx *ctx)
{
	return ctx->uri && strncmp(ctx->uri, "test:", 5) == 0;
}

long vk_start_wait_s(const struct vk_start_ctx *ctx, long default_s)
{
	return ctx->opts->wait_s > 0 ? ctx->opts->wait_s : default_s;
}

bool vk_start_creating(const struct vk_start_ctx *ctx)
{
	return ctx->node_state[1] == VK_HOST_NONEXISTENT;
}

bool vk_start_node_creating(const struct vk_start_ctx *ctx, const struct vk_node *n)
{
	return n->index >= 1 && n->index <= VK_NODES_MAX && ctx->node_state[n->index] == VK_HOST_NONEXISTENT;
}

bool vk_start_any_creating(const struct vk_start_ctx *ctx)
{
	if (vk_start_creating(ctx))
		return true;
	for (size_t i = 0; ctx->p && i < ctx->p->cfg.nnodes; i++)
		if (vk_start_node_creating(ctx, &ctx->p->cfg.nodes[i]))
			return true;
	return false;
}

static void ctx_release(struct vk_start_ctx *ctx)
{
	vk_start_remote_release(ctx);
	free(ctx->home);
	free(ctx->version);
	free(ctx->uri);
	free(ctx->image);
	free(ctx->network_mode);
	vk_machine_disconnect(ctx->conn);
	vk_artifact_paths_release(&ctx->paths);
	vk_image_free(ctx->img);
	free(ctx->images_archive);
}

/* For the e2e's kill points only (tests/e2e/test-kill-anywhere.sh): with
 * VIRTKUBE_TEST_STOP_AFTER=STEP the process stops itself (SIGSTOP) once STEP
 * is done, so the test's SIGKILL lands exactly there. The host side takes
 * milliseconds: a kill sent on seeing the step's line in the log lands steps
 * later. */
static void stop_for_test(const char *step)
{
	const char *after = getenv("VIRTKUBE_TEST_STOP_AFTER");

	if (after && strcmp(after, step) == 0)
		raise(SIGSTOP);
}

int vk_start(struct vk_profile *p, const struct vk_start_opts *o, vk_start_event_fn on_event, void *data,
	     struct vk_start_result *res, struct vk_error *err)
{
	struct vk_start_ctx ctx = {
		.opts = o,
		.res = res,
		.on_event = on_event,
		.event_data = data,
		.p = p,
		.started_at = time(NULL),
	};
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < VK_ARRAY_SIZE(steps) && rc == 0; i++) {
		const struct vk_start_step *s = &steps[i];
		struct vk_start_step_time *t = &res->steps[res->nsteps];
		long long t0;

		if (o->download_only && !s->download_only)
			continue;
		ctx.skipped = false;
		/* messages from inside a step carry its name */
		res->failed_step = s->name;
		emit(&ctx, &(struct vk_start_event){ .type = VK_START_STEP_BEGIN, .step = s->name });
		t0 = vk_now_ms();
		rc = s->run(&ctx, err);
		t->name = s->name;
		t->seconds = (double)(vk_now_ms() - t0) / 1000.0;
		t->skipped = ctx.skipped;
		res->nsteps++;
		if (rc == 0 && inject_after && strcmp(inject_after, s->name) == 0)
			rc = vk_error_set(err, VK_ERR_FAILED, "failure injected after step '%s'", s->name);
		if (rc < 0) {
			/* An addon that is not ready leaves a cluster that is up and usable. */
			if (err && err->code == VK_ERR_ADDON_NOT_READY)
				vk_error_prefix(err, "the cluster of profile '%s' is up, but", p->name);
			else
				vk_error_prefix(err, "start failed at step '%s'", s->name);
			break;
		}
		emit(&ctx, &(struct vk_start_event){ .type = VK_START_STEP_DONE, .step = s->name, .seconds = t->seconds,
						     .skipped = t->skipped });
		stop_for_test(s->name);
	}
	if (rc == 0)
		res->failed_step = NULL;
	res->kubernetes = ctx.kubernetes;
	res->accel = ctx.accel;
	if (ctx.version)
		res->kubernetes_version = xstrdup(ctx.version);
	if (p && p->cfg.node_ip)
		res->node_ip = xstrdup(p->cfg.node_ip);
	if (p && p->cfg.addons)
		res->addons = vk_strv_copy((const char *const *)p->cfg.addons);
	ctx_release(&ctx);
	return rc;
}

void vk_start_result_release(struct vk_start_result *res)
{
	free(res->node_ip);
	free(res->kubernetes_version);
	free(res->kubeconfig);
	free(res->payload_iso);
	free(res->image);
	vk_strv_free(res->addons);
	memset(res, 0, sizeof(*res));
}
