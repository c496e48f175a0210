/* `virtkube mount`, `mount list`, `unmount`: host folders shared with every node of a profile over virtiofs. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ui.h"
#include "vm.h"
#include "vm/mountops.h"
#include "vm/mounts.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *output = cli_opt(args, "output");
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (output && strcmp(output, "json") == 0) {
		json_t *arr = json_array();

		for (size_t i = 0; i < p->cfg.nmounts; i++) {
			const struct vk_mount *m = &p->cfg.mounts[i];
			_cleanup_free_ char *tag = vk_mount_tag(m->guest);

			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b, s:b}", "host", m->host, "guest", m->guest,
							      "tag", tag, "readonly", m->readonly, "pending",
							      p->cfg.mounts_pending));
		}
		ui_print_json(arr);
		return VK_EXIT_OK;
	}
	if (!p->cfg.nmounts) {
		ui_info("profile '%s' has no host folders: 'virtkube -p %s mount DIR' adds one", p->name, p->name);
		return VK_EXIT_OK;
	}
	printf("%-32s %-32s %s\n", "HOST", "GUEST", "MODE");
	for (size_t i = 0; i < p->cfg.nmounts; i++)
		printf("%-32s %-32s %s\n", p->cfg.mounts[i].host, p->cfg.mounts[i].guest,
		       p->cfg.mounts[i].readonly ? "ro" : "rw");
	if (p->cfg.mounts_pending)
		ui_info("a change is pending: the nodes get it at the next 'virtkube -p %s start'", p->name);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_mount_list = {
	.name = "mount list",
	.summary = "list the profile's host folders: host directory, guest path, mode",
	.options = list_options,
	.max_args = 0,
	.exec = list_exec,
};

/* What vk_mounts_update did, said once. */
static int report(const struct vk_profile *p, const char *what, int rc, const struct vk_mounts_applied *a,
		  const struct vk_error *err)
{
	if (rc < 0) {
		rc = cli_fail(err);
		fprintf(stderr, "hint: the change is kept; 'virtkube -p %s start' applies it\n", p->name);
		return rc;
	}
	if (a->now && !a->later)
		ui_info("%s: done in %zu running node%s", what, a->now, a->now == 1 ? "" : "s");
	else if (a->now)
		ui_info("%s: done in %zu running node%s; %zu other%s get%s it at the next start%s%s%s", what, a->now,
			a->now == 1 ? "" : "s", a->later, a->later == 1 ? "" : "s", a->later == 1 ? "s" : "",
			a->why ? " (" : "", a->why ? a->why : "", a->why ? ")" : "");
	else
		ui_info("%s: applied at the next 'virtkube -p %s start'%s%s%s", what, p->name, a->why ? " (" : "",
			a->why ? a->why : "", a->why ? ")" : "");
	return VK_EXIT_OK;
}

static int mount_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_mounts_applied_release) struct vk_mounts_applied a = { 0 };
	const char *specs[2] = { args->positional[0], NULL };
	_cleanup_free_ char *what = NULL;
	struct vk_error err = { 0 };
	size_t added = 0;
	int rc;

	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	if (vk_mounts_merge(p, specs, vk_machine_uri(p->cfg.libvirt_uri), &added, &err) < 0)
		return cli_fail(&err);
	if (!added) {
		ui_info("'%s' is mounted already", specs[0]);
		return VK_EXIT_OK;
	}
	what = xasprintf("mounted '%s' at '%s'%s", p->cfg.mounts[p->cfg.nmounts - 1].host,
			 p->cfg.mounts[p->cfg.nmounts - 1].guest, p->cfg.mounts[p->cfg.nmounts - 1].readonly ? " (ro)" : "");
	rc = vk_mounts_update(p, &a, &err);
	return report(p, what, rc, &a, &err);
}

const struct cli_command cli_cmd_mount = {
	.name = "mount",
	.args_usage = VK_MOUNT_SYNTAX,
	.summary = "share a host directory with every node of the profile over virtiofs (kept in the profile)",
	.description = "GUEST_DIR defaults to HOST_DIR's own path; ',ro' mounts it read-only in the guests. A running\n"
		       "node gets it at its next start (virtiofs hot-plug brought libvirtd 9.0 down; with\n"
		       "VIRTKUBE_VIRTIOFS_HOTPLUG=1 it is tried at once), and the command says which. Each node mounts\n"
		       "it with a systemd mount unit ordered before the kubelet, so a hostPath volume on GUEST_DIR\n"
		       "sees the host's files. The same as 'start --mount'; 'unmount' takes effect in the guests at once.",
	.min_args = 1,
	.max_args = 1,
	.exec = mount_exec,
};

static int unmount_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_mounts_applied_release) struct vk_mounts_applied a = { 0 };
	_cleanup_free_ char *what = NULL;
	const char *guest = args->positional[0];
	struct vk_error err = { 0 };
	int rc;

	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	if (!vk_profile_mount_remove(p, guest)) {
		vk_error_set(&err, VK_ERR_NOT_FOUND, "nothing is mounted on '%s' in profile '%s'", guest, p->name);
		vk_error_hint(&err, "'virtkube -p %s mount list' shows the guest paths", p->name);
		return cli_fail(&err);
	}
	what = xasprintf("unmounted '%s'", guest);
	rc = vk_mounts_update(p, &a, &err);
	return report(p, what, rc, &a, &err);
}

const struct cli_command cli_cmd_unmount = {
	.name = "unmount",
	.args_usage = "GUEST_DIR",
	.summary = "stop sharing the host folder mounted on GUEST_DIR (see 'mount list')",
	.min_args = 1,
	.max_args = 1,
	.exec = unmount_exec,
};
