/* Shared by the VM lifecycle commands: profile opening (validation, the lock, "does not exist" hints) and ssh into the VM. */
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guestssh.h"
#include "ui.h"

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
	struct vk_error err = { 0 };
	char **argv = vk_guest_ssh_argv(p, cmd, ncmd, false, &err);

	if (!argv)
		return cli_fail(&err);
	fflush(NULL);
	execvp("ssh", argv);
	ui_error_msg("cannot run ssh: %s", strerror(errno));
	fprintf(stderr, "hint: %s\n", VK_SSH_INSTALL_HINT);
	vk_guest_ssh_argv_free(argv);
	return VK_EXIT_FAILED;
}
