/* `virtkube stop`: ACPI shutdown of the profile's VM, then a hard stop when it does not go in time. */
#include <stdio.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "ui.h"
#include "util/cleanup.h"
#include "vm.h"

static const struct cli_option stop_options[] = {
	{ "timeout", 0, "SECONDS", "how long the guest may take to power off before a hard stop (default 90)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int stop_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_stop_result res;
	struct vk_error err = { 0 };
	long timeout = VK_DEFAULT_STOP_TIMEOUT_S;
	int rc;

	if ((rc = cli_opt_long(ctx, args, "timeout", 0, 24 * 3600, &timeout)) != 0)
		return rc;
	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	if (vk_cluster_stop(p, (int)timeout, &res, &err) < 0)
		return cli_fail(&err);
	if (!res.was_running)
		return VK_EXIT_OK;
	if (res.forced)
		ui_info("stopped '%s' hard: the guest did not power off within %ld s of the ACPI shutdown", p->name, timeout);
	else
		ui_info("stopped '%s' (ACPI shutdown)", p->name);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_stop = {
	.name = "stop",
	.summary = "shut the profile's VM down (ACPI, then a hard stop after --timeout)",
	.options = stop_options,
	.max_args = 0,
	.exec = stop_exec,
};
