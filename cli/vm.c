/* Shared by the VM lifecycle commands: profile opening (validation, the lock, "does not exist" hints) and ssh into the VM. */
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

struct vk_profile *cli_vm_profile(const struct cli_context *ctx, bool must_exist, bool lock, int *rc)
{
	struct vk_error err = { 0 };
	struct vk_profile *p, *fresh;

	p = vk_profile_open(ctx->profile, true, &err);
	if (!p)
		goto fail;
	if (lock) {
		if (vk_profile_lock(p, CLI_LOCK_TIMEOUT_MS, &err) < 0) {
			vk_profile_free(p);
			goto fail;
		}
		/* Re-read under the lock: another virtkube may have changed it meanwhile. */
		fresh = vk_profile_open(ctx->profile, true, &err);
		if (!fresh) {
			vk_profile_free(p);
			goto fail;
		}
		fresh->lock = p->lock;
		p->lock = (struct vk_lock)VK_LOCK_INIT;
		vk_profile_free(p);
		p = fresh;
	}
	if (must_exist && !p->exists) {
		vk_profile_free(p);
		vk_error_set(&err, VK_ERR_NOT_FOUND, "profile '%s' does not exist", ctx->profile);
		vk_error_hint(&err, "'virtkube profile list' shows the profiles; 'virtkube -p %s start' creates this one",
			      ctx->profile);
		goto fail;
	}
	return p;
fail:
	*rc = cli_fail(&err);
	return NULL;
}

int cli_vm_exec_ssh(const struct vk_profile *p, const char *const *cmd, int ncmd)
{
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY), *dest = NULL;
	_cleanup_free_ const char **argv = NULL;
	const char *ip = vk_profile_get_str(p, "node_ip");
	const char *state = vk_profile_get_str(p, "state");
	int n = 0;

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
	argv = xcalloc((size_t)ncmd + 24, sizeof(char *));
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
	if (ncmd > 0) {
		argv[n++] = "--";
		for (int i = 0; i < ncmd; i++)
			argv[n++] = cmd[i];
	}
	argv[n] = NULL;
	fflush(NULL);
	execvp("ssh", (char *const *)argv);
	ui_error_msg("cannot run ssh: %s", strerror(errno));
	fprintf(stderr, "hint: install the OpenSSH client (apt-get install openssh-client / dnf install openssh-clients)\n");
	return VK_EXIT_FAILED;
}
