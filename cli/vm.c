/* Shared by the VM lifecycle commands: profile opening (validation, the lock, "does not exist" hints) and ssh into the VM. */
#include "vm.h"

#include "util/process.h"
#include "vm/guestssh.h"
#include "vm/nodeplan.h"
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

const struct vk_node *cli_vm_node(const struct vk_profile *p, const char *name, int *rc)
{
	struct vk_error err = { 0 };
	const struct vk_node *n;

	if (!name) {
		n = vk_nodes_primary(p);
		if (n)
			return n;
		vk_error_set(&err, VK_ERR_FAILED, "profile '%s' has no node yet", p->name);
		vk_error_hint(&err, "run 'virtkube -p %s start'", p->name);
		*rc = cli_fail(&err);
		return NULL;
	}
	n = vk_nodes_find(p, name, &err);
	if (!n)
		*rc = cli_fail(&err);
	return n;
}

int cli_vm_exec_ssh(const struct vk_profile *p, const char *const *cmd, int ncmd)
{
	const struct vk_node *n = vk_nodes_primary(p);

	if (!n) {
		struct vk_node one = { .index = 1, .name = p->name, .ip = p->cfg.node_ip };

		return cli_vm_exec_ssh_node(p, &one, cmd, ncmd);
	}
	return cli_vm_exec_ssh_node(p, n, cmd, ncmd);
}

int cli_vm_exec_ssh_node(const struct vk_profile *p, const struct vk_node *n, const char *const *cmd, int ncmd)
{
	struct vk_error err = { 0 };
	char **argv = vk_guest_ssh_argv_at(p, n->ip, cmd, ncmd, false, &err);

	if (!argv)
		return cli_fail(&err);
	/* Replaces virtkube: ssh owns the terminal, and its exit status is ours. */
	vk_process_exec((const char *const *)argv, NULL, &err);
	vk_guest_ssh_argv_free(argv);
	vk_error_hint(&err, VK_SSH_INSTALL_HINT);
	return cli_fail(&err);
}
