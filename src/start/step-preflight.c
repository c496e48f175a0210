/* Step "preflight": before any download, libvirt answers at the profile's URI, the domain is in a state start can work with, and the accelerator is chosen. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "vm/nodeplan.h"
#include "cluster/preflight.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* How long a paused domain is given to run: libvirt starts qemu paused and
 * resumes it at the end of its start, which a start killed during its boot
 * step leaves to finish after it is gone. */
#define PAUSED_SETTLE_MS 20000

/* How many VMs this start boots: every node of a new profile, else those not running. */
static long nodes_to_boot(const struct vk_start_ctx *ctx)
{
	long n = 0;

	if (vk_start_creating(ctx))
		return ctx->nodes;
	for (size_t i = 0; i < ctx->p->cfg.nnodes; i++)
		n += ctx->node_state[ctx->p->cfg.nodes[i].index] != VK_HOST_RUNNING;
	return n > 0 ? n : 1;
}

/* The checks `virtkube doctor` prints: warnings are shown, the first failure
 * stops the start before a byte is downloaded. The accelerator is decided
 * below, with its own warning. */
/* --accel, else "auto" (the profile step refused one that differs from a made profile's). */
static const char *accel_wanted(const struct vk_start_ctx *ctx)
{
	return ctx->opts->accel ? ctx->opts->accel : "auto";
}

static int run_checks(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_preflight_opts o = {
		.libvirt_uri = ctx->uri,
		.home = ctx->home,
		.memory_mib = ctx->memory_mib,
		.disk_gib = ctx->disk_gib,
		.vms = nodes_to_boot(ctx),
		.accel = accel_wanted(ctx),
		.no_kubernetes = !ctx->kubernetes,
		/* decided below, once, and only for a new machine: libvirt's domain
		 * capabilities take seconds to read on a loaded host */
		.skip_accelerator = true,
		.mounts = ctx->p->cfg.nmounts > 0,
		/* step "profile" put a new profile's bridge in p->cfg */
		.bridge = strcmp(ctx->network_mode, "bridge") == 0 ? ctx->p->cfg.bridge : NULL,
	};
	struct vk_preflight_report r = { 0 };
	int rc;

	if (p->cfg.subnet && vk_cluster_subnet(p, &o.subnet, NULL) < 0)
		o.subnet = 0;
	if (vk_preflight_run(&o, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.n; i++)
		if (r.items[i].status == VK_PREFLIGHT_WARN)
			vk_start_warn(ctx, "%s%s%s", r.items[i].message, r.items[i].fix ? " (" : "",
				      r.items[i].fix ? r.items[i].fix : "");
	rc = vk_preflight_error(&r, err);
	vk_preflight_report_release(&r);
	if (rc < 0 && err) {
		char fix[sizeof(err->hint)];

		snprintf(fix, sizeof(fix), "%s", err->hint[0] ? err->hint : "fix it and start again");
		vk_error_hint(err, "%s; 'virtkube doctor' runs every check", fix);
	}
	return rc;
}

/* The other nodes' domains: a worker whose domain is missing is made, one
 * that is stopped is booted. A start that finds every node running is
 * "was_running". */
static int nodes_state(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct stat st;

	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *console = NULL;

		if (n->index == 1)
			continue;
		console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);
		ctx->node_console_offset[n->index] = stat(console, &st) == 0 ? st.st_size : 0;
		if (vk_domain_state(ctx->conn, n->name, p->name, &ctx->node_state[n->index], err) < 0)
			return -1;
		if (ctx->node_state[n->index] != VK_HOST_RUNNING)
			ctx->res->was_running = false;
	}
	return 0;
}

/* A new TCG machine gets CPU mode 'maximum': without it qemu64, on which
 * the default image's glibc does not run. The image named is the one
 * --image gives (by its file name), else the default base image. */
static int tcg_cpu(struct vk_start_ctx *ctx, struct vk_error *err)
{
	_cleanup_free_ char *note = NULL;
	const char *given = ctx->opts->image;
	const char *slash = given ? strrchr(given, '/') : NULL;

	if (vk_preflight_tcg_cpu(ctx->conn, slash ? slash + 1 : given, NULL, NULL, &note, err) < 0)
		return vk_error_prefix(err, "the VM cannot run under TCG");
	if (note)
		vk_start_info(ctx, "%s", note);
	return 0;
}

int vk_step_preflight(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);
	_cleanup_free_ char *domain = vk_cluster_domain_name(p->name);
	/* node 1's: the profile's own domain */
	enum vk_host_state *own = &ctx->node_state[1];
	struct stat st;

	/* a node not planned yet has no domain */
	for (long i = 0; i <= VK_NODES_MAX; i++)
		ctx->node_state[i] = VK_HOST_NONEXISTENT;
	ctx->conn = vk_machine_connect(ctx->uri, err);
	if (!ctx->conn)
		return -1;
	if (vk_domain_state(ctx->conn, domain, p->name, own, err) < 0)
		return -1;
	for (long long until = vk_now_ms() + PAUSED_SETTLE_MS; *own == VK_HOST_PAUSED && vk_now_ms() < until;) {
		usleep(250 * 1000);
		if (vk_domain_state(ctx->conn, domain, p->name, own, err) < 0)
			return -1;
	}
	if (*own == VK_HOST_PAUSED) {
		vk_error_set(err, VK_ERR_FAILED, "domain '%s' of profile '%s' is paused", domain, p->name);
		return vk_error_hint(err, "resume it with 'virsh -c %s resume %s', or stop it with 'virtkube stop'", ctx->uri,
				     domain);
	}
	ctx->res->was_running = *own == VK_HOST_RUNNING;
	if (nodes_state(ctx, err) < 0)
		return -1;
	if (!ctx->res->was_running && run_checks(ctx, err) < 0)
		return -1;
	/* What the follower skips: earlier boots' lines. */
	ctx->node_console_offset[1] = stat(console, &st) == 0 ? st.st_size : 0;
	if (vk_start_creating(ctx)) {
		struct vk_accel_choice choice;

		if (vk_machine_decide_accel(ctx->conn, ctx->uri, accel_wanted(ctx), &choice, err) < 0)
			return -1;
		ctx->accel = choice.accel;
		if (choice.reason[0]) {
			vk_start_warn(ctx, "kvm is not usable here: %s; the VM runs under TCG emulation and will be slow",
				      choice.reason);
			return tcg_cpu(ctx, err);
		}
	} else {
		ctx->accel = p->cfg.accel && strcmp(p->cfg.accel, "kvm") == 0 ? VK_ACCEL_KVM : VK_ACCEL_TCG;
	}
	if (ctx->accel == VK_ACCEL_TCG && !ctx->res->was_running)
		vk_start_warn(ctx, "no KVM here: the VM runs under TCG emulation and will be slow (--accel tcg)");
	return vk_start_creating(ctx) && ctx->accel == VK_ACCEL_TCG ? tcg_cpu(ctx, err) : 0;
}
