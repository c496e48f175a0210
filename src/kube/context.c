/* The profile's entries in the user's kubeconfig (see context.h), through kubeconfig.h's merge, check and remove. */
#include "kube/context.h"

#include "util/cleanup.h"
#include "util/log.h"

int vk_context_write(const struct vk_profile *p, bool set_current, char **path_out, struct vk_error *err)
{
	_cleanup_free_ char *path = NULL;
	struct vk_kubeconfig_entry e;
	int rc;

	if (path_out)
		*path_out = NULL;
	if (vk_kubeconfig_entry_load(&e, p, err) < 0)
		return -1;
	path = vk_kubeconfig_path(err);
	rc = path ? vk_kubeconfig_merge(path, &e, set_current, err) : -1;
	vk_kubeconfig_entry_clear(&e);
	if (rc == 0 && path_out)
		*path_out = TAKE_PTR(path);
	return rc;
}

enum vk_kubeconfig_state vk_context_state(const struct vk_profile *p)
{
	enum vk_kubeconfig_state state = VK_KUBECONFIG_NONEXISTENT;
	struct vk_kubeconfig_entry e;
	struct vk_error local = { 0 };
	_cleanup_free_ char *path = NULL, *why = NULL;

	if (vk_kubeconfig_entry_load(&e, p, &local) < 0)
		return state;
	path = vk_kubeconfig_path(&local);
	if (!path || vk_kubeconfig_check(path, &e, &state, &why, &local) < 0) {
		/* A kubeconfig we cannot read is not configured for us. */
		vk_debug("kubeconfig: %s", local.message);
		state = VK_KUBECONFIG_MISCONFIGURED;
	} else if (why) {
		vk_debug("kubeconfig '%s': %s", path, why);
	}
	vk_kubeconfig_entry_clear(&e);
	return state;
}

int vk_context_remove(const struct vk_profile *p, bool *removed, char **path_out, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_kubeconfig_path(err);

	if (path_out)
		*path_out = NULL;
	if (!path)
		return -1;
	if (vk_kubeconfig_remove(path, p->name, removed, err) < 0)
		return -1;
	if (path_out)
		*path_out = TAKE_PTR(path);
	return 0;
}
