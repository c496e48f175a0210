/* `virtkube ssh [-n NODE] [-- CMD...]`: exec the system ssh into the profile's VM with its key; CMD's exit code comes back. */
#include "cli.h"
#include "util/cleanup.h"
#include "vm.h"

static const struct cli_option ssh_options[] = {
	CLI_NODE_OPTION,
	{ NULL, 0, NULL, NULL, NULL },
};

static int ssh_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const struct vk_node *n;
	int rc;

	if (args->npositional > 0)
		return cli_usage_error(args->cmd, "put the command after '--': virtkube ssh -- %s", args->positional[0]);
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (!cli_opt(args, "node"))
		return cli_vm_exec_ssh(p, (const char *const *)args->rest, args->nrest);
	n = cli_vm_node(p, cli_opt(args, "node"), &rc);
	if (!n)
		return rc;
	return cli_vm_exec_ssh_node(p, n, (const char *const *)args->rest, args->nrest);
}

const struct cli_command cli_cmd_ssh = {
	.name = "ssh",
	.args_usage = "[-- COMMAND...]",
	.summary = "log into the profile's VM (or -n NODE), or run COMMAND there (its exit code is passed back)",
	.options = ssh_options,
	.max_args = -1,
	.exec = ssh_exec,
};
