/* `virtkube update-context`: rewrites the profile's cluster, user and context in the kubeconfig. */
#include <stdio.h>

#include "cli.h"
#include "kube/kubeconfig.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"

static const struct cli_option update_context_options[] = {
	{ "keep-context", 0, NULL, "do not make the profile's context the current one", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int update_context_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *path = NULL;
	struct vk_kubeconfig_entry e;
	struct vk_error err = { 0 };
	bool keep = cli_flag(args, "keep-context");
	int rc;

	p = vk_profile_open(ctx->profile, false, &err);
	if (!p) {
		if (err.code == VK_ERR_NOT_FOUND)
			vk_error_hint(&err, "create it with 'virtkube start -p %s'", ctx->profile);
		return cli_fail(&err);
	}
	if (!vk_profile_kubernetes(p)) {
		vk_error_set(&err, VK_ERR_UNSUPPORTED, "profile '%s' runs without Kubernetes (--no-kubernetes): it has no kubeconfig entry",
			     p->name);
		vk_error_hint(&err, "use 'virtkube ssh -p %s' to reach it", p->name);
		return cli_fail(&err);
	}
	if (vk_pki_check(p->dir, &err) < 0) {
		vk_error_prefix(&err, "profile '%s' has no usable client certificate", p->name);
		vk_error_hint(&err, "'virtkube start -p %s' creates or repairs it", p->name);
		return cli_fail(&err);
	}
	if (vk_kubeconfig_entry_load(&e, p, &err) < 0)
		return cli_fail(&err);
	path = vk_kubeconfig_path(&err);
	rc = path ? vk_kubeconfig_merge(path, &e, !keep, &err) : -1;
	if (rc == 0)
		printf("context '%s' in '%s' points at %s%s\n", e.name, path, e.server, keep ? "" : " (current context)");
	vk_kubeconfig_entry_clear(&e);
	return rc < 0 ? cli_fail(&err) : VK_EXIT_OK;
}

const struct cli_command cli_cmd_update_context = {
	.name = "update-context",
	.summary = "write the profile's cluster, user and context into the kubeconfig again",
	.description = "Rewrites the cluster, user and context named after the profile in $KUBECONFIG's first "
		       "file (else ~/.kube/config), with the node's address and embedded certificates, and "
		       "makes the context current unless --keep-context is given. Everything else in the file is kept.",
	.options = update_context_options,
	.max_args = 0,
	.exec = update_context_exec,
};
