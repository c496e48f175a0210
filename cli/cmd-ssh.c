/* `virtkube ssh [-- CMD...]`: exec the system ssh into the profile's VM with its key; CMD's exit code comes back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm.h"

static int ssh_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *key = NULL, *dest = NULL;
	_cleanup_free_ const char **argv = NULL;
	const char *ip, *state;
	int rc, n = 0;

	if (args->npositional > 0)
		return cli_usage_error(args->cmd, "put the command after '--': virtkube ssh -- %s", args->positional[0]);
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	ip = vk_profile_get_str(p, "node_ip");
	state = vk_profile_get_str(p, "state");
	key = vk_profile_path(p, VK_FILE_SSH_KEY);
	if (!ip || !state || strcmp(state, "Running") != 0) {
		ui_error_msg("profile '%s' is not running", p->name);
		fprintf(stderr, "hint: start it with 'virtkube -p %s start'\n", p->name);
		return VK_EXIT_FAILED;
	}
	if (!vk_path_exists(key)) {
		ui_error_msg("profile '%s' has no SSH key '%s'", p->name, key);
		fprintf(stderr, "hint: delete and re-create the profile\n");
		return VK_EXIT_FAILED;
	}
	dest = xasprintf("%s@%s", VK_SSH_USER, ip);
	argv = xcalloc((size_t)args->nrest + 24, sizeof(char *));
	argv[n++] = "ssh";
	argv[n++] = "-i";
	argv[n++] = key;
	/* The host key changes with every re-created VM: no prompts, no known_hosts entries. */
	argv[n++] = "-o";
	argv[n++] = "IdentitiesOnly=yes";
	argv[n++] = "-o";
	argv[n++] = "UserKnownHostsFile=/dev/null";
	argv[n++] = "-o";
	argv[n++] = "StrictHostKeyChecking=no";
	argv[n++] = "-o";
	argv[n++] = "LogLevel=ERROR";
	argv[n++] = "-o";
	argv[n++] = "PasswordAuthentication=no";
	argv[n++] = "-o";
	argv[n++] = "ConnectTimeout=10";
	argv[n++] = dest;
	if (args->nrest > 0) {
		argv[n++] = "--";
		for (int i = 0; i < args->nrest; i++)
			argv[n++] = args->rest[i];
	}
	argv[n] = NULL;
	fflush(NULL);
	execvp("ssh", (char *const *)argv);
	ui_error_msg("cannot run ssh: %s", strerror(errno));
	fprintf(stderr, "hint: install the OpenSSH client (apt-get install openssh-client / dnf install openssh-clients)\n");
	return VK_EXIT_FAILED;
}

const struct cli_command cli_cmd_ssh = {
	.name = "ssh",
	.args_usage = "[-- COMMAND...]",
	.summary = "log into the profile's VM, or run COMMAND there (its exit code is passed back)",
	.max_args = -1,
	.exec = ssh_exec,
};
