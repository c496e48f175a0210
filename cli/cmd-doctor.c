/* `virtkube doctor`: start's preflight checks as a table (check, result, fix); exit 0 when start would go ahead. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "cluster/preflight.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *const output_choices[] = { "table", "json", NULL };
static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };

static const struct cli_option doctor_options[] = {
	{ "libvirt-uri", 0, "URI", "libvirt connection to check (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)", NULL },
	{ "memory", 0, "MiB", "the VM memory to check for (default 2048)", NULL },
	{ "disk-size", 0, "GiB", "the VM disk size to check for (default 20)", NULL },
	{ "accel", 0, "MODE", "the accelerator start would be given (default auto)", accel_choices },
	{ "no-kubernetes", 0, NULL, "check for a plain VM (less to download)", NULL },
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static json_t *report_json(const struct vk_preflight_report *r)
{
	json_t *checks = json_array();

	for (size_t i = 0; i < r->n; i++) {
		const struct vk_preflight_result *c = &r->items[i];

		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s?}", "check", c->name, "result",
							vk_preflight_status_name(c->status), "message", c->message,
							"fix", c->fix));
	}
	return json_pack("{s:b, s:I, s:I, s:s?, s:o}", "ok", r->failed == 0, "failed", (json_int_t)r->failed,
			 "warnings", (json_int_t)r->warned, "accelerator", r->accel, "checks", checks);
}

/* One row per check; a failed or warned check gets its fix on a row of its own below. */
static void print_table(const struct vk_preflight_report *r)
{
	const char *headers[] = { "CHECK", "RESULT", "DETAIL" };
	struct ui_table *t = ui_table_new(3, headers);

	for (size_t i = 0; i < r->n; i++) {
		const struct vk_preflight_result *c = &r->items[i];

		ui_table_add(t, (const char *[]){ c->name, c->status == VK_PREFLIGHT_FAIL ? "FAIL" : vk_preflight_status_name(c->status),
						  c->message });
		if (c->fix && c->status != VK_PREFLIGHT_OK)
			ui_table_add(t, (const char *[]){ "", "fix:", c->fix });
	}
	ui_table_print(t);
	ui_table_free(t);
}

static int doctor_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	_cleanup_free_ char *home = NULL;
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_error err = { 0 };
	struct vk_preflight_opts o = {
		.libvirt_uri = cli_opt(args, "libvirt-uri"),
		.accel = cli_opt(args, "accel"),
		.no_kubernetes = cli_flag(args, "no-kubernetes"),
	};
	struct vk_preflight_report r = { 0 };
	int rc;

	if ((rc = cli_opt_long(ctx, args, "memory", 256, 4 * 1024 * 1024, &o.memory_mib)) != 0 ||
	    (rc = cli_opt_long(ctx, args, "disk-size", 1, 64 * 1024, &o.disk_gib)) != 0)
		return rc;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	o.home = home;
	/* An existing profile (-p) is checked with what it was created with, where no flag says otherwise. */
	p = vk_profile_open(ctx->profile, false, NULL);
	if (p) {
		o.libvirt_uri = o.libvirt_uri ? o.libvirt_uri : p->cfg.libvirt_uri;
		o.memory_mib = o.memory_mib ? o.memory_mib : p->cfg.memory_mib;
		o.disk_gib = o.disk_gib ? o.disk_gib : p->cfg.disk_gib;
		o.no_kubernetes = o.no_kubernetes || p->cfg.kind == VK_KIND_PLAIN;
		o.mounts = p->cfg.nmounts > 0;
		if (p->cfg.subnet)
			vk_cluster_subnet(p, &o.subnet, NULL);
		if (vk_profile_bridged(p))
			o.bridge = p->cfg.bridge;
	}
	if (vk_preflight_run(&o, &r, &err) < 0)
		return cli_fail(&err);
	if (output && strcmp(output, "json") == 0) {
		ui_print_json(report_json(&r));
	} else {
		print_table(&r);
		/* the verdict (stderr) after the table (stdout), also when both go to one pipe */
		fflush(stdout);
		if (r.failed)
			ui_info("%zu check%s failed: 'virtkube start' would stop before downloading anything", r.failed,
				r.failed == 1 ? "" : "s");
		else
			ui_info("'virtkube start' can go ahead%s", r.warned ? " (see the warnings)" : "");
	}
	rc = r.failed ? VK_EXIT_FAILED : VK_EXIT_OK;
	vk_preflight_report_release(&r);
	return rc;
}

const struct cli_command cli_cmd_doctor = {
	.name = "doctor",
	.summary = "check this host for what 'start' needs: libvirt, kvm, memory, disk, subnet, ssh",
	.description = "Runs the checks 'start' makes before it downloads anything and prints each with its\n"
		       "result and the fix. Exits 0 when 'start' would go ahead (warnings such as tcg\n"
		       "emulation do not stop it), 1 when a check failed.",
	.options = doctor_options,
	.max_args = 0,
	.exec = doctor_exec,
};
