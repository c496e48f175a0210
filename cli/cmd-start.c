/* `virtkube start`: create what is missing, boot the profile's VM and wait until the guest answers. */
#include <stdio.h>
#include <string.h>

#include "addons.h"
#include "artifacts.h"
#include "cli.h"
#include "cluster.h"
#include "kubeapi.h"
#include "provision.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm.h"

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const network_mode_choices[] = { "nat", "isolated", NULL };

/* Add new flags as rows here; start_exec reads them by name. */
static const struct cli_option start_options[] = {
	{ "no-kubernetes", 0, NULL, "boot a plain development VM without Kubernetes", NULL },
	{ "image", 0, "PATH", "qcow2/raw disk image, or an image.json naming disk, kernel, initrd and cmdline", NULL },
	{ "cpus", 0, "N", "virtual CPUs (default 2; fixed when the profile is created)", NULL },
	{ "memory", 0, "MiB", "memory in MiB (default 2048; fixed when the profile is created)", NULL },
	{ "disk-size", 0, "GiB", "size of the VM's disk in GiB (default 20; fixed when the profile is created)", NULL },
	{ "libvirt-uri", 0, "URI", "libvirt connection (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)", NULL },
	{ "accel", 0, "MODE", "accelerator: kvm when usable, else tcg emulation (default auto)", accel_choices },
	{ "network-mode", 0, "MODE", "nat: the VM reaches out through the host; isolated: host and VM only (default nat)",
	  network_mode_choices },
	{ "wait-timeout", 0, "SECONDS", "how long each wait may take: the guest's SSH, its provisioning, the API server, the node (default 300; provisioning 1800)", NULL },
	{ "kubernetes-version", 0, "VERSION", "Kubernetes to install: vX.Y.Z, X.Y.Z, X.Y or stable (default: stable)", NULL },
	{ "mirror", 0, "URL", "fetch artifacts from this base (https://, http://, file:// or a directory) instead of upstream, keeping paths", NULL },
	{ "offline", 0, NULL, "never use the network: everything must already be in the download cache", NULL },
	{ "download-only", 0, NULL, "download and verify everything the start needs, build the version's payload ISO, then stop", NULL },
	{ "verify", 0, NULL, "re-hash cached artifacts against their recorded sha256 before using them", NULL },
	{ "no-progress", 0, NULL, "plain progress lines instead of progress bars", NULL },
	{ "addons", 0, "A,B", "enable these addons too (kept for later starts; see 'virtkube addons list')", NULL },
	{ "keep-context", 0, NULL, "do not make the profile's kubeconfig context the current one", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static void on_step(void *ud, const char *msg)
{
	(void)ud;
	ui_info("%s", msg);
}

static void on_warn(void *ud, const char *msg)
{
	(void)ud;
	ui_warn("%s", msg);
}

static void on_addon(void *ud, const char *addon, const char *what)
{
	(void)ud;
	ui_info("addon %s: %s", addon, what);
}

/* Once the API server answers: applies the profile's enabled addons (the
 * defaults on a first start) plus --addons, and waits for them. */
static int start_addons(struct vk_profile *p, const char *const *extra, struct vk_error *err)
{
	_cleanup_kube_ struct vk_kube *k = vk_kube_from_profile(p, err);
	int rc;

	if (!k)
		return -1;
	rc = vk_addons_apply_enabled(k, p, extra, false, 600 * 1000L, on_addon, NULL, err);
	/* the enabled set is kept even when an addon failed, so the next start retries it */
	if (vk_profile_save(p, rc < 0 ? NULL : err) < 0)
		return -1;
	return rc;
}

/* Brings the artifacts this start needs into the cache (image unless
 * WANT_IMAGE is false; Kubernetes binaries when VERSION is set). */
static int ensure_artifacts(struct cli_context *ctx, struct cli_args *args, const char *version, bool want_image,
			    struct vk_artifact_paths *paths, struct vk_error *err)
{
	_cleanup_free_ char *home = vk_home_dir(err);
	struct ui_progress *bars;
	struct vk_artifacts_request req = {
		.kubernetes_version = version,
		.want_image = want_image,
		.mirror = cli_opt(args, "mirror"),
		.offline = cli_flag(args, "offline"),
		.verify = cli_flag(args, "verify"),
		.progress = ui_progress_report,
	};
	int rc;

	(void)ctx;
	if (!home)
		return -1;
	if (!version && !want_image)
		return 0;
	req.home = home;
	bars = ui_progress_new(cli_flag(args, "no-progress"));
	req.progress_data = bars;
	rc = vk_artifacts_ensure(&req, paths, err);
	ui_progress_free(bars);
	return rc;
}

/* True when the profile's saved image is one of our downloads (so the cache
 * is asked for it again: it may have been cleaned or need --verify). */
static bool image_from_cache(const struct vk_profile *p)
{
	_cleanup_free_ char *home = vk_home_dir(NULL);
	_cleanup_free_ char *cache = home ? vk_cache_dir(home) : NULL;
	const char *saved = vk_profile_get_str(p, "image");

	return !saved || (cache && strncmp(saved, cache, strlen(cache)) == 0 && saved[strlen(cache)] == '/');
}

static void on_stage(void *ud, const char *name, bool ok, const char *detail)
{
	(void)ud;
	ui_info("guest: %s %s%s%s", name, ok ? "ok" : "FAILED", *detail ? ": " : "", detail);
}

/* After the machine is up: write the kubeconfig context, follow the guest to
 * VIRTKUBE-READY while its provisioning is pending and, with Kubernetes, to a
 * ready API server and node, then apply the enabled addons. Every wait ends
 * early when the domain stops running. */
static int finish_start(struct vk_profile *p, const struct vk_start_result *res, off_t offset, long wait_s,
			bool kubernetes, bool set_current, const char *const *extra, struct vk_error *err)
{
	struct vk_follow_ui ui = { .stage = on_stage, .step = on_step };
	_cleanup_free_ char *kubeconfig = NULL;
	const char *uri = vk_profile_get_str(p, "libvirt_uri");
	struct vk_cluster_watch *watch;
	bool follow_guest = res->created || vk_provision_pending(p);
	int rc;

	/* The node IP and the certificates are fixed before boot: the context
	 * can be written before the cluster answers, and never goes stale. */
	if (kubernetes) {
		if (vk_provision_kubeconfig(p, set_current, &kubeconfig, err) < 0)
			return -1;
		ui_info("kubeconfig '%s': context '%s'%s", kubeconfig, p->name, set_current ? " (current)" : "");
	}
	if (uri && strncmp(uri, "test:", 5) == 0) {
		/* libvirt's test driver runs no guest: nothing will report. */
		ui_info("libvirt test driver: no guest to follow");
		return 0;
	}
	if (follow_guest && !res->created)
		ui_info("the guest's provisioning has not finished yet: following it again");
	/* Already running with provisioning pending (an earlier start was
	 * interrupted): this boot's report may be in the log already, so read it
	 * all; the follower starts over at each boot's first line. */
	if (follow_guest && res->was_running)
		offset = 0;
	watch = vk_cluster_watch_new(p, err);
	if (!watch)
		return -1;
	/* A plain VM is provisioned in seconds after SSH answers; Kubernetes
	 * takes the provisioning module's longer default unless told. */
	rc = vk_provision_follow(p, follow_guest, offset, kubernetes || wait_s ? wait_s : VK_DEFAULT_WAIT_S, &ui,
				 vk_cluster_watch_check, watch, err);
	vk_cluster_watch_free(watch);
	if (rc < 0 || !kubernetes)
		return rc;
	return start_addons(p, extra, err);
}

static int start_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_start_opts o = {
		.image = cli_opt(args, "image"),
		.libvirt_uri = cli_opt(args, "libvirt-uri"),
		.accel = cli_opt(args, "accel"),
		.network_mode = cli_opt(args, "network-mode"),
		.no_kubernetes = cli_flag(args, "no-kubernetes"),
		.ui = { .step = on_step, .warn = on_warn },
	};
	struct vk_start_result res;
	_cleanup_strv_ char **extra = NULL;
	struct vk_error err = { 0 };
	struct vk_artifact_paths paths = { 0 };
	_cleanup_free_ char *version = NULL;
	bool download_only = cli_flag(args, "download-only");
	struct vk_provision pv = { 0 };
	bool kubernetes;
	off_t offset;
	int rc;

	if ((rc = cli_opt_long(ctx, args, "cpus", 1, 256, &o.cpus)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "memory", 256, 4 * 1024 * 1024, &o.memory_mib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "disk-size", 1, 64 * 1024, &o.disk_gib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "wait-timeout", 1, 24 * 3600, &o.wait_s)) != 0)
		return rc;
	if (o.no_kubernetes && cli_opt(args, "kubernetes-version"))
		return cli_usage_error(args->cmd, "--kubernetes-version and --no-kubernetes exclude each other");
	if (cli_flag(args, "offline") && cli_opt(args, "mirror"))
		return cli_usage_error(args->cmd, "--offline never uses the network: it cannot take a --mirror");
	if (!o.no_kubernetes) {
		version = vk_kubernetes_version_resolve(cli_opt(args, "kubernetes-version"), &err);
		if (!version)
			return cli_fail(&err);
	}
	if (download_only) {
		/* No profile is touched: only the cache fills. */
		_cleanup_free_ char *home = NULL, *iso = NULL;

		if (ensure_artifacts(ctx, args, version, !o.image, &paths, &err) < 0)
			return cli_fail(&err);
		/* The version's payload ISO too: the first start then only writes its small seed. */
		if (version && (!(home = vk_home_dir(&err)) || vk_provision_payload(home, &paths, &iso, NULL, &err) < 0)) {
			vk_artifact_paths_release(&paths);
			return cli_fail(&err);
		}
		if (version) {
			printf("downloaded and verified what Kubernetes %s needs%s\n", version, o.image ? "" : ", and the base image");
			printf("payload ISO: %s\n", iso);
		} else {
			printf("downloaded and verified the base image%s\n", o.image ? " (none needed: --image)" : "");
		}
		if (paths.image)
			printf("image: %s\n", paths.image);
		vk_artifact_paths_release(&paths);
		return VK_EXIT_OK;
	}
	if (cli_opt(args, "addons")) {
		if (o.no_kubernetes)
			return cli_usage_error(args->cmd, "--addons needs Kubernetes: it cannot go with --no-kubernetes");
		extra = vk_addons_parse_list(cli_opt(args, "addons"), &err);
		if (!extra)
			return cli_fail(&err);
	}
	p = cli_vm_profile(ctx, false, true, &rc);
	if (!p)
		return rc;
	/* A created profile keeps what it was made with. */
	if (p->exists && json_object_get(p->config, "kubernetes"))
		kubernetes = vk_profile_get_bool(p, "kubernetes", true);
	else
		kubernetes = !o.no_kubernetes;
	if (kubernetes && vk_profile_get_str(p, "kubernetes_version")) {
		const char *saved = vk_profile_get_str(p, "kubernetes_version");

		if (cli_opt(args, "kubernetes-version") && version && strcmp(saved, version) != 0) {
			vk_error_set(&err, VK_ERR_INVALID, "profile '%s' runs Kubernetes %s; --kubernetes-version %s cannot change that",
				     p->name, saved, version);
			vk_error_hint(&err, "delete the profile ('virtkube delete -p %s') to start over with another version", p->name);
			return cli_fail(&err);
		}
		free(version);
		version = xstrdup(saved);
	}
	if (kubernetes && !version) {
		version = vk_kubernetes_version_resolve(NULL, &err);
		if (!version)
			return cli_fail(&err);
	}
	/* Artifacts come before the VM: the base image unless --image names one,
	 * and the Kubernetes binaries. */
	{
		bool want_image = !o.image && image_from_cache(p);

		if ((want_image || kubernetes) &&
		    ensure_artifacts(ctx, args, kubernetes ? version : NULL, want_image, &paths, &err) < 0)
			return cli_fail(&err);
		if (want_image)
			o.image = paths.image;
	}
	if (vk_provision_prepare(&pv, p, kubernetes ? &paths : NULL, kubernetes, &err) < 0) {
		vk_artifact_paths_release(&paths);
		return cli_fail(&err);
	}
	o.seed_hook = vk_provision_seed_hook;
	o.seed_hook_ud = &pv;
	o.payload_path = pv.payload_iso;
	offset = vk_provision_console_offset(p);
	rc = vk_cluster_start(p, &o, &res, &err);
	if (rc == 0) {
		rc = finish_start(p, &res, offset, o.wait_s, kubernetes, !cli_flag(args, "keep-context"),
				  (const char *const *)extra, &err);
	}
	vk_provision_release(&pv);
	vk_artifact_paths_release(&paths);
	if (rc < 0)
		return cli_fail(&err);
	if (ctx->verbose)
		fprintf(stderr,
			"virtkube: timing: host-side %.3f s (network %.3f, disk %.3f, seed %.3f, define %.3f), "
			"domain start %.3f s, guest wait %.3f s\n",
			res.host_s, res.network_s, res.disk_s, res.seed_s, res.define_s, res.boot_s, res.wait_s);
	if (res.was_running)
		ui_info("profile '%s' is already running; nothing to do", p->name);
	if (kubernetes)
		printf("profile '%s' is running Kubernetes %s at https://%s:%d (kubectl --context %s)\n", p->name, version,
		       res.node_ip, VK_API_PORT, p->name);
	else
		printf("profile '%s' is running at %s\n", p->name, res.node_ip);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_start = {
	.name = "start",
	.summary = "create and boot the profile's VM (a no-op when it runs already)",
	.description = "Creates what is missing (SSH key, libvirt network, disk, seed ISO, domain), boots the VM\n"
		       "and waits until its SSH server answers at the profile's fixed IP. On a stopped profile it\n"
		       "only boots. --cpus, --memory, --disk-size, --image, --libvirt-uri, --accel and\n"
		       "--network-mode are fixed when the profile is created.\n"
		       "Artifacts (the CentOS Stream image unless --image is given, and for Kubernetes the\n"
		       "release binaries) are downloaded first into $VIRTKUBE_HOME/cache, in parallel, each\n"
		       "checked against its published sha256; an interrupted download resumes.",
	.options = start_options,
	.max_args = 0,
	.exec = start_exec,
};
