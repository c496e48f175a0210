/* The profile's cluster, user and context in the user's kubeconfig: written by start, checked by status, removed by delete. */
#pragma once

#include <stdbool.h>

#include "kube/kubeconfig.h"
#include "profile/profile.h"
#include "util/error.h"

/* Writes P's cluster, user and context into the kubeconfig ($KUBECONFIG's
 * first file, else ~/.kube/config), the context made current with
 * SET_CURRENT. *PATH_OUT (may be NULL) gets the file written (caller frees). */
int vk_context_write(const struct vk_profile *p, bool set_current, char **path_out, struct vk_error *err);

/* Whether the kubeconfig holds P's entries as vk_context_write writes them:
 * Configured, Misconfigured (also a kubeconfig that cannot be read), or
 * Nonexistent (also a profile without its certificates). Never fails: why
 * goes to the debug log. */
enum vk_kubeconfig_state vk_context_state(const struct vk_profile *p);

/* Removes P's cluster, user and context from the kubeconfig. *REMOVED (may
 * be NULL) says whether there were any; *PATH_OUT (may be NULL) gets the
 * file edited (caller frees). */
int vk_context_remove(const struct vk_profile *p, bool *removed, char **path_out, struct vk_error *err);
