/* `virtkube delete`: remove a profile's VM, disk, seed, network and files; --all for every profile, --purge the home. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm.h"

static const struct cli_option delete_options[] = {
	{ "all", 0, NULL, "delete every profile", NULL },
	{ "purge", 0, NULL, "also remove the whole virtkube home ($VIRTKUBE_HOME or ~/.virtkube)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* A config.json that does not parse is moved aside so the profile can still be deleted. */
static struct vk_profile *open_for_delete(struct cli_context *ctx, const char *name, int *rc)
{
	struct cli_context one = *ctx;
	struct vk_error err = { 0 };
	struct vk_profile *probe = vk_profile_open(name, false, &err);

	vk_profile_free(probe);
	if (!probe && err.code == VK_ERR_PARSE) {
		_cleanup_free_ char *home = vk_home_dir(&err);
		_cleanup_free_ char *path = home ? xasprintf("%s/profiles/%s/%s", home, name, VK_FILE_CONFIG) : NULL;
		_cleanup_free_ char *aside = path ? xasprintf("%s.unreadable", path) : NULL;

		ui_warn("profile '%s' has an unreadable config.json: deleting with the default libvirt URI", name);
		if (path && rename(path, aside) < 0) {
			ui_error_msg("cannot move '%s' aside", path);
			*rc = VK_EXIT_FAILED;
			return NULL;
		}
	}
	one.profile = name;
	return cli_vm_profile(&one, false, true, rc);
}

static int delete_one(struct cli_context *ctx, const char *name)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_delete_result_release) struct vk_delete_result res = { 0 };
	struct vk_error err = { 0 };
	int rc = 0;

	p = open_for_delete(ctx, name, &rc);
	if (!p)
		return rc;
	if (!p->exists && !vk_is_dir(p->dir)) {
		/* The lock file we just took, or one a delete killed before its end left. */
		if (p->lock.path)
			unlink(p->lock.path);
		ui_info("profile '%s' does not exist: nothing to delete", name);
		return VK_EXIT_OK;
	}
	if (vk_cluster_delete(p, &res, &err) < 0)
		return cli_fail(&err);
	if (res.kubeconfig_kept)
		ui_warn("kept the kubeconfig entries of profile '%s': %s", name, res.kubeconfig_kept);
	else if (res.kubeconfig_removed)
		ui_info("removed context '%s' from '%s'", name, res.kubeconfig);
	if (res.network_kept)
		ui_info("kept network 'virtkube-%s': another domain still uses it", name);
	ui_info("deleted profile '%s'", name);
	return VK_EXIT_OK;
}

static int delete_exec(struct cli_context *ctx, struct cli_args *args)
{
	bool all = cli_flag(args, "all"), purge = cli_flag(args, "purge");
	_cleanup_free_ char *home = NULL;
	_cleanup_strv_ char **names = NULL;
	struct vk_error err = { 0 };
	int rc = VK_EXIT_OK;

	if (all && ctx->profile_given)
		return cli_usage_error(args->cmd, "--all and -p cannot be used together");
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	names = vk_profile_list(home, &err);
	if (!names)
		return cli_fail(&err);
	if (purge && !all) {
		for (char **n = names; *n; n++) {
			if (strcmp(*n, ctx->profile) != 0) {
				ui_error_msg("--purge removes all of '%s', but profile '%s' is still there", home, *n);
				fprintf(stderr, "hint: use 'virtkube delete --all --purge' to delete every profile too\n");
				return VK_EXIT_USAGE;
			}
		}
	}
	if (all) {
		for (char **n = names; *n; n++) {
			int r = delete_one(ctx, *n);

			if (r != VK_EXIT_OK)
				rc = r;
		}
		if (!names[0])
			ui_info("no profiles to delete");
	} else {
		rc = delete_one(ctx, ctx->profile);
	}
	if (rc != VK_EXIT_OK || !purge)
		return rc;
	if (vk_remove_tree(home, &err) < 0)
		return cli_fail(&err);
	ui_info("removed '%s'", home);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_delete = {
	.name = "delete",
	.summary = "delete the profile's VM and everything virtkube made for it",
	.description = "Removes the domain, its disk and seed, the profile's libvirt network (unless another\n"
		       "domain uses it) and the profile's directory. Works on half-created profiles.",
	.options = delete_options,
	.max_args = 0,
	.exec = delete_exec,
};
