/* `virtkube ip`: the profile's node IP, fixed when the profile was created. */
#include <stdio.h>

#include "cli.h"
#include "profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "vm.h"

static int ip_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *ip;
	int rc;

	(void)args;
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	ip = p->cfg.node_ip;
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
	.summary = "print the profile's node IP",
	.max_args = 0,
	.exec = ip_exec,
};
