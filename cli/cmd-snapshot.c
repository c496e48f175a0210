/* `virtkube snapshot save|restore|list|delete`: snapshots of every node of a profile together. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cluster/snapshot.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "vm.h"

static const char *const output_choices[] = { "text", "json", NULL };

/* The clock line of RES, when a clock was set or could not be. */
static void report_clock(const struct vk_snapshot_result *res)
{
	if (res->clock_method)
		ui_info("clocks set to the host's through the %s (largest offset after: %lld ms)", res->clock_method,
			res->clock_offset_ms);
	if (res->clock_failed)
		ui_warn("the clock of %s", res->clock_failed);
}

static const struct cli_option save_options[] = {
	{ "stopped", 0, NULL, "disk only, of the stopped profile: a running profile is stopped first (ACPI, as 'stop') and left stopped", NULL },
	{ "force", 0, NULL, "replace a snapshot of that name", NULL },
	{ "timeout", 0, "SECONDS", "with --stopped: as 'stop --timeout' (default 90)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int save_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_snapshot_result_release) struct vk_snapshot_result res = { 0 };
	struct vk_snapshot_opts o = { .stopped = cli_flag(args, "stopped"), .force = cli_flag(args, "force") };
	struct vk_error err = { 0 };
	const char *name = args->positional[0];
	long timeout = 0;
	long long t0 = vk_now_ms();
	char size[32];
	int rc;

	if ((rc = cli_opt_long(ctx, args, "timeout", 1, 24 * 3600, &timeout)) != 0)
		return rc;
	o.stop_timeout_s = (int)timeout;
	if (vk_snapshot_name_check(name, &err) < 0)
		return cli_fail(&err);
	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	if (vk_snapshot_save(p, name, &o, &res, &err) < 0)
		return cli_fail(&err);
	ui_format_bytes(size, sizeof(size), (double)res.size);
	if (res.stopped_first)
		ui_info("stopped profile '%s' for the snapshot: 'virtkube -p %s start' boots it again", p->name, p->name);
	ui_info("saved snapshot '%s' of profile '%s': %zu node%s, %s, %s, in %.1f s", name, p->name, res.nnodes,
		res.nnodes == 1 ? "" : "s", res.memory ? "running (memory and disk)" : "stopped (disk only)", size,
		(double)(vk_now_ms() - t0) / 1000.0);
	if (res.memory)
		ui_info("the nodes were paused for %.1f s", (double)res.paused_ms / 1000.0);
	report_clock(&res);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_snapshot_save = {
	.name = "snapshot save",
	.args_usage = "NAME",
	.summary = "save every node of the profile at one instant: memory and disk when running, disk only when stopped",
	.description = "Running nodes are paused together, each saved with its memory (an internal qcow2 snapshot in\n"
		       "its disk), resumed, and their clocks set to the host's. Stopped nodes are saved disk-only.\n"
		       "A name in use is refused unless --force. Nodes with virtiofs mounts cannot have their memory\n"
		       "saved: use --stopped there.",
	.options = save_options,
	.min_args = 1,
	.max_args = 1,
	.exec = save_exec,
};

static const struct cli_option restore_options[] = {
	{ "wait-timeout", 0, "SECONDS", "how long each wait (SSH, the API server, the nodes) may take (default 300)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int restore_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_snapshot_result_release) struct vk_snapshot_result res = { 0 };
	struct vk_snapshot_opts o = { 0 };
	struct vk_error err = { 0 };
	const char *name = args->positional[0];
	long long t0 = vk_now_ms();
	int rc;

	if ((rc = cli_opt_long(ctx, args, "wait-timeout", 1, 24 * 3600, &o.wait_s)) != 0)
		return rc;
	if (vk_snapshot_name_check(name, &err) < 0)
		return cli_fail(&err);
	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	rc = vk_snapshot_restore(p, name, &o, &res, &err);
	report_clock(&res);
	if (rc < 0)
		return cli_fail(&err);
	ui_info("restored snapshot '%s' of profile '%s': %zu node%s, %s, in %.1f s", name, p->name, res.nnodes,
		res.nnodes == 1 ? "" : "s", res.memory ? "running" : "stopped ('virtkube start' boots it)",
		(double)(vk_now_ms() - t0) / 1000.0);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_snapshot_restore = {
	.name = "snapshot restore",
	.args_usage = "NAME",
	.summary = "bring every node back to snapshot NAME, resume the ones saved running, set their clocks, wait for them",
	.description = "A node added or deleted since the save makes the snapshot unrestorable: that is refused,\n"
		       "naming the node, and nothing is changed. The host's kubeconfig entry stays as it is.",
	.options = restore_options,
	.min_args = 1,
	.max_args = 1,
	.exec = restore_exec,
};

static const struct cli_option list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_snapshot_info *s = NULL;
	const char *output = cli_opt(args, "output");
	struct vk_error err = { 0 };
	size_t n = 0;
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (vk_snapshot_list(p, &s, &n, &err) < 0) {
		free(s);
		return cli_fail(&err);
	}
	if (output && strcmp(output, "json") == 0) {
		json_auto_t *arr = vk_snapshot_list_json(s, n);
		char *text = json_dumps(arr, JSON_INDENT(2));

		puts(text);
		free(text);
	} else if (!n) {
		ui_info("profile '%s' has no snapshots: 'virtkube -p %s snapshot save NAME' takes one", p->name, p->name);
	} else {
		printf("%-24s %-20s %-8s %-6s %s\n", "NAME", "TIME", "STATE", "NODES", "SIZE");
		for (size_t i = 0; i < n; i++) {
			char when[32], size[32];

			vk_snapshot_time(s[i].created, when);
			ui_format_bytes(size, sizeof(size), (double)s[i].size);
			printf("%-24s %-20s %-8s %-6zu %s\n", s[i].name, when, s[i].running ? "running" : "stopped",
			       s[i].nnodes, size);
		}
	}
	for (size_t i = 0; i < n; i++)
		vk_snapshot_info_release(&s[i]);
	free(s);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_snapshot_list = {
	.name = "snapshot list",
	.summary = "list the profile's snapshots: name, time, state (running or stopped), nodes, size on disk",
	.options = list_options,
	.max_args = 0,
	.exec = list_exec,
};

static int delete_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_error err = { 0 };
	const char *name = args->positional[0];
	int rc;

	if (vk_snapshot_name_check(name, &err) < 0)
		return cli_fail(&err);
	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	if (vk_snapshot_delete(p, name, &err) < 0)
		return cli_fail(&err);
	ui_info("deleted snapshot '%s' of profile '%s'", name, p->name);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_snapshot_delete = {
	.name = "snapshot delete",
	.args_usage = "NAME",
	.summary = "delete snapshot NAME from every node of the profile",
	.min_args = 1,
	.max_args = 1,
	.exec = delete_exec,
};
