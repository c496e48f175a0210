/* `virtkube start`: create what is missing, boot the profile's VM and wait until the guest answers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "ui.h"
#include "util/cleanup.h"
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
	{ "wait-timeout", 0, "SECONDS", "how long to wait for the guest's SSH (default 300)", NULL },
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
	struct vk_error err = { 0 };
	int rc;

	if ((rc = cli_opt_long(ctx, args, "cpus", 1, 256, &o.cpus)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "memory", 256, 4 * 1024 * 1024, &o.memory_mib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "disk-size", 1, 64 * 1024, &o.disk_gib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "wait-timeout", 1, 24 * 3600, &o.wait_s)) != 0)
		return rc;
	if (!o.no_kubernetes)
		return cli_usage_error(args->cmd, "this build of virtkube boots only plain VMs: pass --no-kubernetes");

	p = cli_vm_profile(ctx, false, true, &rc);
	if (!p)
		return rc;
	if (vk_cluster_start(p, &o, &res, &err) < 0)
		return cli_fail(&err);
	if (ctx->verbose)
		fprintf(stderr, "virtkube: timing: host-side %.3f s, domain start %.3f s, guest wait %.3f s\n", res.host_s,
			res.boot_s, res.wait_s);
	if (res.was_running)
		ui_info("profile '%s' is already running; nothing to do", p->name);
	printf("profile '%s' is running at %s\n", p->name, res.node_ip);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_start = {
	.name = "start",
	.summary = "create and boot the profile's VM (a no-op when it runs already)",
	.description = "Creates what is missing (SSH key, libvirt network, disk, seed ISO, domain), boots the VM\n"
		       "and waits until its SSH server answers at the profile's fixed IP. On a stopped profile it\n"
		       "only boots. --cpus, --memory, --disk-size, --image, --libvirt-uri, --accel and\n"
		       "--network-mode are fixed when the profile is created.",
	.options = start_options,
	.max_args = 0,
	.exec = start_exec,
};
