/* `virtkube ssh [-- CMD...]`: exec the system ssh into the profile's VM with its key; CMD's exit code comes back. */
#include "cli.h"
#include "util/cleanup.h"
#include "vm.h"

static int ssh_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	int rc;

	if (args->npositional > 0)
		return cli_usage_error(args->cmd, "put the command after '--': virtkube ssh -- %s", args->positional[0]);
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	return cli_vm_exec_ssh(p, (const char *const *)args->rest, args->nrest);
}

const struct cli_command cli_cmd_ssh = {
	.name = "ssh",
	.args_usage = "[-- COMMAND...]",
	.summary = "log into the profile's VM, or run COMMAND there (its exit code is passed back)",
	.max_args = -1,
	.exec = ssh_exec,
};
