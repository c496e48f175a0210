/* `virtkube start`: parses the flags into vk_start's options, runs the pipeline, renders its events and the outcome. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kube/addons.h"
#include "cli.h"
#include "vm/nodeplan.h"
#include "start/start.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm.h"

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const network_mode_choices[] = { "nat", "isolated", "bridge", NULL };

/* Add new flags as rows here; start_exec reads them by name into struct vk_start_opts. */
static const struct cli_option start_options[] = {
	{ "no-kubernetes", 0, NULL, "boot a plain development VM without Kubernetes", NULL },
	{ "image", 0, "PATH", "qcow2/raw disk image, an image.json naming disk, kernel, initrd and cmdline, or a base image "
			      "to download: centos-stream-10 (the default) or centos-stream-9", NULL },
	{ "cpus", 0, "N", "virtual CPUs (default 2; fixed when the profile is created)", NULL },
	{ "memory", 0, "MiB", "memory in MiB (default 2048; fixed when the profile is created)", NULL },
	{ "disk-size", 0, "GiB", "size of the VM's disk in GiB (default 20; fixed when the profile is created)", NULL },
	{ "nodes", 0, "N", "1 to 9 VMs: the control plane and N-1 workers, booted in parallel (default 1; later: 'node add', 'node delete')", NULL },
	{ "schedule-on-control-plane", 0, NULL, "with workers, let pods run on the control plane too (it keeps its NoSchedule taint otherwise)", NULL },
	{ "libvirt-uri", 0, "URI", "libvirt connection (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)", NULL },
	{ "accel", 0, "MODE", "accelerator: kvm when usable, else tcg emulation (default auto)", accel_choices },
	{ "network-mode", 0, "MODE", "nat: the VM reaches out through the host; isolated: host and VM only; bridge: the "
				     "nodes on a host bridge's LAN (--bridge, --bridge-ip) (default nat; bridge with --bridge)",
	  network_mode_choices },
	{ "bridge", 0, "NAME", "bridge mode: the bridge on the libvirt host whose LAN the nodes join (fixed when the profile is created)", NULL },
	{ "bridge-ip", 0, "A.B.C.D/P", "bridge mode: node 1's address and the LAN's prefix length; node N gets the N-1'th address after it", NULL },
	{ "bridge-gateway", 0, "A.B.C.D", "bridge mode: the nodes' default gateway (default: the LAN's first address)", NULL },
	{ "bridge-dns", 0, "A.B.C.D", "bridge mode: the nodes' name server (default: the gateway)", NULL },
	{ "wait-timeout", 0, "SECONDS", "how long each wait may take: the guest's SSH, its provisioning, the API server, the node, the addons (default 300; provisioning 1800, addons 600)", NULL },
	{ "kubernetes-version", 0, "VERSION", "Kubernetes to install: vX.Y.Z, X.Y.Z, X.Y or stable (default: stable)", NULL },
	{ "mirror", 0, "URL", "fetch artifacts from this base (https://, http://, file:// or a directory) instead of upstream, keeping paths", NULL },
	{ "offline", 0, NULL, "never use the network: everything must already be in the download cache", NULL },
	{ "image-repository", 0, "URL", "take kubeadm's and the addons' images from this repository instead of registry.k8s.io", NULL },
	{ "registry-mirror", 0, "URL", "pull container images from this registry mirror (https://HOST[:PORT]) instead of their own registries", NULL },
	{ "insecure-registry", 0, "HOST", "speak plain http to this registry (HOST[:PORT]; a lab registry)", NULL },
	{ "no-preload-images", 0, NULL, "let the guest pull the container images itself, instead of the host pulling them onto the payload ISO", NULL },
	{ "download-only", 0, NULL, "download and verify everything the start needs, build the version's payload ISO, then stop", NULL },
	{ "verify", 0, NULL, "re-hash cached artifacts against their recorded sha256 before using them", NULL },
	{ "no-progress", 0, NULL, "plain progress lines instead of progress bars", NULL },
	{ "addons", 0, "A,B", "enable these addons too (kept for later starts; see 'virtkube addons list')", NULL },
	{ "no-default-addons", 0, NULL, "a new profile gets only the addons --addons names, none of the default ones (see 'virtkube addons list')", NULL },
	{ "keep-context", 0, NULL, "do not make the profile's kubeconfig context the current one", NULL },
	{ "mount", 0, "HOST_DIR[:GUEST_DIR][,ro]", "share a host directory with every node over virtiofs, at GUEST_DIR (default: the same path); may be repeated; kept in the profile (see 'virtkube mount')", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* What the pipeline says, rendered. */
struct start_view {
	struct ui_progress *bars;
	struct ui_status *status; /* the one-line status with elapsed time, during a wait on a terminal */
	bool tty;                 /* stderr is a terminal and progress is not plain */
	int verbose;
};

/* The waits that get a status line on a terminal. */
static const char *wait_label(const char *step)
{
	static const struct {
		const char *step, *label;
	} labels[] = {
		{ "boot", "booting; waiting for the guest's SSH" },
		{ "follow-guest", "the guest is provisioning" },
		{ "api-ready", "waiting for the API server and the node" },
		{ "addons", "applying the addons and waiting for them" },
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(labels); i++)
		if (strcmp(labels[i].step, step) == 0)
			return labels[i].label;
	return NULL;
}

/* A line that stays: above the status line while there is one. */
static void say(struct start_view *v, const char *prefix, const char *text)
{
	if (v->status)
		ui_status_line(v->status, "%s%s", prefix, text);
	else
		ui_info("%s%s", prefix, text);
}

static void on_event(void *data, const struct vk_start_event *ev)
{
	struct start_view *v = data;
	_cleanup_free_ char *stage = NULL;

	switch (ev->type) {
	case VK_START_STEP_BEGIN:
		if (v->tty && wait_label(ev->step)) {
			v->status = ui_status_new(false);
			ui_status_set(v->status, "%s", wait_label(ev->step));
		}
		break;
	case VK_START_STEP_DONE:
		ui_status_free(v->status);
		v->status = NULL;
		if (v->verbose >= 2)
			ui_info("step %s: %s in %.3f s", ev->step, ev->skipped ? "nothing to do" : "done", ev->seconds);
		break;
	case VK_START_INFO:
		say(v, "", ev->message);
		break;
	case VK_START_WARN:
		if (v->status)
			ui_status_line(v->status, "virtkube: warning: %s", ev->message);
		else
			ui_warn("%s", ev->message);
		break;
	case VK_START_GUEST_STAGE:
		stage = xasprintf("%s %s%s%s", ev->stage, ev->ok ? "ok" : "FAILED", *ev->message ? ": " : "", ev->message);
		say(v, "guest: ", stage);
		break;
	case VK_START_DOWNLOAD:
		ui_progress_report(ev->download, v->bars);
		break;
	case VK_START_TICK:
		ui_status_tick(v->status);
		break;
	}
}

/* -v, after the steps: the guest's stages inside "follow-guest", so the
 * step's time is split where it goes (as read on the console; the time
 * before the first stage is the guest's boot up to the provisioning). */
static void print_guest_timing(const struct vk_guest_timing *g)
{
	_cleanup_strbuf_ struct vk_strbuf line = VK_STRBUF_INIT;

	for (size_t i = 0; i < g->n; i++)
		vk_strbuf_addf(&line, "%s%s %.1f%s", i ? ", " : "", g->stages[i].stage, g->stages[i].seconds,
			       g->stages[i].ok ? "" : " (failed)");
	fprintf(stderr, "virtkube: timing: guest stages %.1f s (s, as read on the console): %s\n",
		vk_guest_timing_total(g), line.buf);
}

/* -v: every step's time, and our own host-side share (the steps before the
 * boot, downloads and the shared payload ISO left out). */
static void print_timing(const struct vk_start_result *res)
{
	_cleanup_strbuf_ struct vk_strbuf line = VK_STRBUF_INIT;
	double host = 0;
	bool before_boot = true;

	for (size_t i = 0; i < res->nsteps; i++) {
		const struct vk_start_step_time *t = &res->steps[i];

		if (strcmp(t->name, "boot") == 0)
			before_boot = false;
		if (before_boot && strcmp(t->name, "artifacts") != 0 && strcmp(t->name, "payload") != 0)
			host += t->seconds;
		vk_strbuf_addf(&line, "%s%s %.3f", i ? ", " : "", t->name, t->seconds);
	}
	fprintf(stderr, "virtkube: timing: host-side %.3f s; steps (s): %s\n", host, line.buf);
	if (res->guest.n > 0)
		print_guest_timing(&res->guest);
}

/* The outcome, and what to try next. */
static void print_summary(const struct vk_profile *p, const struct vk_start_result *res)
{
	_cleanup_free_ char *addons = res->addons ? vk_strv_join((const char *const *)res->addons, ", ") : NULL;

	if (p->cfg.nnodes > 1) {
		printf("profile '%s' has %zu nodes:", p->name, p->cfg.nnodes);
		for (size_t i = 0; i < p->cfg.nnodes; i++)
			printf(" %s %s (%s)%s", p->cfg.nodes[i].name, p->cfg.nodes[i].ip, vk_node_role_name(p->cfg.nodes[i].role),
			       i + 1 < p->cfg.nnodes ? "," : "\n");
	}
	if (!res->kubernetes) {
		printf("profile '%s' is running at %s\n", p->name, res->node_ip);
		printf("  next:        virtkube -p %s ssh\n", p->name);
		return;
	}
	printf("profile '%s' is running Kubernetes %s at https://%s:%d (kubectl --context %s)\n", p->name,
	       res->kubernetes_version, res->node_ip, vk_profile_api_port(p), p->name);
	printf("  node IP:     %s\n", res->node_ip);
	if (res->kubeconfig)
		printf("  kubeconfig:  %s (context '%s'%s)\n", res->kubeconfig, p->name,
		       res->context_current ? ", the current one" : "");
	printf("  addons:      %s\n", addons && *addons ? addons : "none");
	printf("  next:        kubectl%s%s get nodes; virtkube -p %s addons list; virtkube -p %s service NAME --url\n",
	       res->context_current ? "" : " --context ", res->context_current ? "" : p->name, p->name, p->name);
}

static void print_download_only(const struct vk_start_opts *o, const struct vk_start_result *res)
{
	if (res->kubernetes_version) {
		printf("downloaded and verified what Kubernetes %s needs%s\n", res->kubernetes_version,
		       o->image ? "" : ", and the base image");
		printf("payload ISO: %s\n", res->payload_iso);
	} else {
		printf("downloaded and verified the base image%s\n", o->image ? " (none needed: --image)" : "");
	}
	if (res->image)
		printf("image: %s\n", res->image);
}

static int start_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_strv_ char **extra = NULL;
	struct vk_start_opts o = {
		.image = cli_opt(args, "image"),
		.libvirt_uri = cli_opt(args, "libvirt-uri"),
		.accel = cli_opt(args, "accel"),
		.network_mode = cli_opt(args, "network-mode"),
		.bridge = cli_opt(args, "bridge"),
		.bridge_ip = cli_opt(args, "bridge-ip"),
		.bridge_gateway = cli_opt(args, "bridge-gateway"),
		.bridge_dns = cli_opt(args, "bridge-dns"),
		.no_kubernetes = cli_flag(args, "no-kubernetes"),
		.schedule_on_control_plane = cli_flag(args, "schedule-on-control-plane"),
		.kubernetes_version = cli_opt(args, "kubernetes-version"),
		.keep_context = cli_flag(args, "keep-context"),
		.mirror = cli_opt(args, "mirror"),
		.image_repository = cli_opt(args, "image-repository"),
		.registry_mirror = cli_opt(args, "registry-mirror"),
		.no_preload_images = cli_flag(args, "no-preload-images"),
		.offline = cli_flag(args, "offline"),
		.no_default_addons = cli_flag(args, "no-default-addons"),
		.verify = cli_flag(args, "verify"),
		.download_only = cli_flag(args, "download-only"),
	};
	struct start_view view = { .verbose = ctx->verbose };
	bool plain = cli_flag(args, "no-progress");
	struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };
	const char *insecure[2] = { cli_opt(args, "insecure-registry"), NULL };
	const char *mounts[CLI_MAX_GIVEN + 1];
	int rc;

	if ((rc = cli_opt_long(ctx, args, "cpus", 1, 256, &o.cpus)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "memory", 256, 4 * 1024 * 1024, &o.memory_mib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "disk-size", 1, 64 * 1024, &o.disk_gib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "nodes", 1, VK_NODES_MAX, &o.nodes)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "wait-timeout", 1, 24 * 3600, &o.wait_s)) != 0)
		return rc;
	if (insecure[0])
		o.insecure_registries = insecure;
	if (cli_opt_all(args, "mount", mounts, (int)VK_ARRAY_SIZE(mounts)) > 0) {
		if (o.download_only)
			return cli_usage_error(args->cmd, "--mount needs a profile: it cannot go with --download-only");
		o.mounts = mounts;
	}
	if (o.no_kubernetes && o.kubernetes_version)
		return cli_usage_error(args->cmd, "--kubernetes-version and --no-kubernetes exclude each other");
	if (o.offline && o.mirror)
		return cli_usage_error(args->cmd, "--offline never uses the network: it cannot take a --mirror");
	if (cli_opt(args, "addons") && !o.download_only) {
		if (o.no_kubernetes)
			return cli_usage_error(args->cmd, "--addons needs Kubernetes: it cannot go with --no-kubernetes");
		extra = vk_addons_parse_list(cli_opt(args, "addons"), &err);
		if (!extra)
			return cli_fail(&err);
		o.addons = (const char *const *)extra;
	}
	if (!o.download_only) {
		/* No profile is touched by --download-only: only the cache fills. */
		p = cli_vm_profile(ctx, false, true, &rc);
		if (!p)
			return rc;
	}
	view.bars = ui_progress_new(plain);
	view.tty = !plain && isatty(STDERR_FILENO);
	rc = vk_start(p, &o, on_event, &view, &res, &err);
	ui_status_free(view.status);
	ui_progress_free(view.bars);
	if (ctx->verbose)
		print_timing(&res);
	if (rc < 0 && err.code != VK_ERR_ADDON_NOT_READY) {
		vk_start_result_release(&res);
		return cli_fail(&err);
	}
	if (o.download_only) {
		print_download_only(&o, &res);
	} else {
		if (res.was_running)
			ui_info("profile '%s' is already running; nothing to do", p->name);
		print_summary(p, &res);
	}
	vk_start_result_release(&res);
	/* the cluster is usable: its summary first, then which addon is not ready and why */
	return rc < 0 ? cli_fail(&err) : VK_EXIT_OK;
}

const struct cli_command cli_cmd_start = {
	.name = "start",
	.summary = "create and boot the profile's VM (a no-op when it runs already)",
	.description = "Creates what is missing (SSH key, libvirt network, disk, seed ISO, domain), boots the VM\n"
		       "and waits until its SSH server answers at the profile's fixed IP. On a stopped profile it\n"
		       "only boots. --cpus, --memory, --disk-size, --image, --libvirt-uri, --accel and\n"
		       "--network-mode are fixed when the profile is created; so is --nodes N (a control plane and\n"
		       "N-1 workers PROFILE-m02...: every node's IP fixed before any boots, all booted in parallel;\n"
		       "later 'node add' and 'node delete' change it).\n"
		       "Artifacts (the CentOS Stream image unless --image is given, and for Kubernetes the\n"
		       "release binaries) are downloaded first into $VIRTKUBE_HOME/cache, in parallel, each\n"
		       "checked against its published sha256; an interrupted download resumes.",
	.options = start_options,
	.max_args = 0,
	.exec = start_exec,
};
