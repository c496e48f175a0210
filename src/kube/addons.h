/* Addons: the registry read from addons/<name>/addon.json, enable/disable, and status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kube/kubeapi.h"
#include "kube/manifest.h"
#include "profile/profile.h"
#include "util/error.h"

struct vk_addon_wait {
	char *kind;
	char *ns;
	char *name;
};

/* An object of a retired addon that enabling this one deletes first. */
struct vk_addon_object {
	char *api_version;
	char *kind;
	char *ns; /* NULL for a cluster-scoped object */
	char *name;
};

struct vk_addon {
	char *name;
	char *description;
	bool default_on;
	char *dir;          /* the addon's folder */
	char **manifests;   /* file names in DIR, NULL-terminated */
	char **images;      /* NULL-terminated */
	struct vk_addon_wait *waits;
	size_t nwaits;
	struct vk_addon_object *removes; /* "removes": what the addon replaces (may be empty) */
	size_t nremoves;
};

/* Every addon, sorted by name. */
struct vk_addon_registry {
	struct vk_addon *items;
	size_t n;
};

/* Loads every DIR/<name>/addon.json (DIR NULL: vk_data_path("addons")).
 * A file that does not parse, lacks a key, or names another folder is an
 * error naming the file. Free with vk_addons_free. */
int vk_addons_load(struct vk_addon_registry *reg, const char *dir, struct vk_error *err);
void vk_addons_free(struct vk_addon_registry *reg);

static inline void vk_addons_freep(struct vk_addon_registry *reg)
{
	vk_addons_free(reg);
}
#define _cleanup_addons_ __attribute__((cleanup(vk_addons_freep)))

/* The addon NAME, or NULL with VK_ERR_NOT_FOUND listing the known names. */
const struct vk_addon *vk_addons_find(const struct vk_addon_registry *reg, const char *name, struct vk_error *err);

/* The names enabled in the profile (config.json "addons"; the registry's
 * defaults when the profile has none yet). NULL-terminated; caller frees
 * with vk_strv_free. */
char **vk_addons_enabled(const struct vk_profile *p, const struct vk_addon_registry *reg);
bool vk_addons_is_enabled(const struct vk_profile *p, const struct vk_addon_registry *reg, const char *name);
/* Records NAME as enabled or not in the profile's config (in memory: the
 * caller saves), making the defaults explicit the first time. */
void vk_addons_set_enabled(struct vk_profile *p, const struct vk_addon_registry *reg, const char *name, bool on);

/* Whether addon NAME can run on profile PROFILE's network: "loadbalancer"
 * hands out the LoadBalancer pool that the profile's libvirt network routes
 * to the control plane, and a BRIDGED profile (--network-mode bridge) has no
 * libvirt network, so no pool; that is VK_ERR_UNSUPPORTED saying so. */
int vk_addon_network_check(const char *name, const char *profile, bool bridged, struct vk_error *err);

/* Reads the addon's manifests with the profile's placeholder values
 * (NODE_IP, PROFILE, DNS_DOMAIN, DNS_SERVICE_IP, KUBERNETES_VERSION) into M,
 * sorted in apply order. */
int vk_addon_manifest(const struct vk_addon *a, const struct vk_profile *p, struct vk_manifest *m,
		      struct vk_error *err);

/* Progress from the engine to whoever shows it (the engine never prints). */
typedef void (*vk_addon_progress)(void *data, const char *addon, const char *what);

/* Server-side applies every object of the addon, in order. First the objects
 * its "removes" names (what a retired addon of the same name left) are
 * deleted, and their Namespaces waited for until gone. A Namespace of the
 * addon that is still terminating is waited for (up to TIMEOUT_MS, said
 * through PROGRESS), since it refuses new objects; so are the addon's
 * CustomResourceDefinitions, until the server says they are Established,
 * before any object of theirs is applied. */
int vk_addon_apply(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a, long timeout_ms,
		   vk_addon_progress progress, void *data, struct vk_error *err);
/* Waits for each of the addon's "wait" objects, TIMEOUT_MS for all of them;
 * PROGRESS hears what their pods wait for as it changes. An addon that does
 * not get ready (the time ran out, an image cannot be pulled, a Job failed)
 * is VK_ERR_ADDON_NOT_READY, "addon 'X' is not ready: why"; a cluster that
 * does not answer keeps its own error. */
int vk_addon_wait(struct vk_kube *k, const struct vk_addon *a, long timeout_ms, vk_addon_progress progress,
		  void *data, struct vk_error *err);
/* Deletes every object the addon applies, in reverse order (an object whose
 * kind is no longer served, its CRD gone first, counts as gone); with WAIT,
 * waits (up to TIMEOUT_MS) until its Namespaces and CRDs are gone, so the
 * addon can be enabled again at once. *DELETED counts the objects that
 * existed. */
int vk_addon_delete(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a, bool wait,
		    long timeout_ms, size_t *deleted, struct vk_error *err);

enum vk_addon_state {
	VK_ADDON_NOT_APPLIED, /* none of its objects exist */
	VK_ADDON_PARTIAL,     /* some objects missing */
	VK_ADDON_PENDING,     /* applied, not ready yet */
	VK_ADDON_READY,
};
const char *vk_addon_state_name(enum vk_addon_state s);
/* Asks the cluster how the addon is; *DETAIL (caller frees) says what is
 * missing or not ready. */
int vk_addon_state(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a,
		   enum vk_addon_state *state, char **detail, struct vk_error *err);

/* Splits "a,b" into addon names, each checked against the registry (an
 * unknown or empty name is VK_ERR_INVALID naming it, with the list). Returns
 * a NULL-terminated array the caller frees with vk_strv_free. */
char **vk_addons_parse_list(const char *csv, struct vk_error *err);

/* For `start`: applies every addon enabled in the profile plus EXTRA (names,
 * NULL-terminated, may be NULL; recorded as enabled), waiting for each
 * unless NO_WAIT, TIMEOUT_MS for all (the caller's --wait-timeout). Unknown
 * names fail before anything is applied. Every addon is waited for even
 * when one is not ready; then VK_ERR_ADDON_NOT_READY names each such addon
 * and why (the cluster itself is up). The profile's config is changed in
 * memory only: the caller saves it. */
int vk_addons_apply_enabled(struct vk_kube *k, struct vk_profile *p, const char *const *extra, bool no_wait,
			    long timeout_ms, vk_addon_progress progress, void *data, struct vk_error *err);

/* A login token for ServiceAccount NS/NAME from the TokenRequest API, valid
 * DURATION_S seconds (the server may shorten it). Returns the token (caller
 * frees) and sets *EXPIRES (may be NULL) to the expiry the server gave, as
 * RFC 3339 text (caller frees). A missing ServiceAccount is VK_ERR_NOT_FOUND
 * naming it. */
char *vk_serviceaccount_token(struct vk_kube *k, const char *ns, const char *name, long duration_s, char **expires,
			      struct vk_error *err);
