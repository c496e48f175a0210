/* `virtkube ip [-n NODE]`: the IP of the profile's VM or of one of its nodes, fixed before its first boot. */
#include <stdio.h>

#include "cli.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "vm.h"

static const struct cli_option ip_options[] = {
	CLI_NODE_OPTION,
	{ NULL, 0, NULL, NULL, NULL },
};

static int ip_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const struct vk_node *n;
	const char *ip;
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	ip = p->cfg.node_ip;
	if (cli_opt(args, "node")) {
		if (!(n = cli_vm_node(p, cli_opt(args, "node"), &rc)))
			return rc;
		ip = n->ip;
	}
	if (!ip) {
		ui_error_msg("profile '%s' has no IP yet", p->name);
		fprintf(stderr, "hint: run 'virtkube -p %s start'\n", p->name);
		return VK_EXIT_FAILED;
	}
	printf("%s\n", ip);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_ip = {
	.name = "ip",
	.summary = "print the profile's node IP (the control plane's, or -n NODE's)",
	.options = ip_options,
	.max_args = 0,
	.exec = ip_exec,
};
