/* Kubernetes API client: mutual TLS from memory, get/list/apply/delete, readiness waits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"
#include "util/error.h"

/* One client: a server URL, the CA and client credentials (copied into
 * libcurl, never written to disk), one curl handle kept across calls so the
 * TLS connection is reused, and a cache of discovered resource paths.
 * Not thread-safe: one client per thread. */
struct vk_kube;

/* What identifies a kind's REST path. Strings are static or owned by the
 * client that returned the entry. */
struct vk_kube_resource {
	const char *api_version; /* "v1", "apps/v1" */
	const char *kind;        /* "Deployment" */
	const char *plural;      /* "deployments" */
	bool namespaced;
};

/* Makes a client for SERVER ("https://HOST:PORT") from PEM buffers (each
 * NUL-terminated; copied). Connects lazily. Free with vk_kube_free. */
struct vk_kube *vk_kube_new(const char *server, const char *ca_pem, const char *cert_pem,
			    const char *key_pem, struct vk_error *err);

/* Makes a client from a profile's own files (ca.crt, client.crt, client.key)
 * and its config.json (node_ip, api_port), not from the user's kubeconfig.
 * A missing file or field is named with a hint. */
struct vk_kube *vk_kube_from_profile(const struct vk_profile *p, struct vk_error *err);

/* Fails with a hint unless the profile is Running with Kubernetes. */
int vk_kube_require_running(const struct vk_profile *p, struct vk_error *err);

void vk_kube_free(struct vk_kube *k);
static inline void vk_kube_freep(struct vk_kube **k)
{
	vk_kube_free(*k);
}
#define _cleanup_kube_ __attribute__((cleanup(vk_kube_freep)))
/* The server URL (owned by the client). */
const char *vk_kube_server(const struct vk_kube *k);

/* Per-request timeout in milliseconds (default 30000). */
void vk_kube_set_timeout(struct vk_kube *k, long timeout_ms);

/* One HTTP/1.1 request. PATH starts with "/" and may carry a query. BODY
 * may be NULL. On a transport success returns 0 with *STATUS the HTTP code
 * and *RESP the body (NUL-terminated; caller frees; RESP may be NULL to drop
 * it) whatever the code is; transport and TLS failures return -1 and say
 * what failed (connection refused at URL, server certificate not trusted,
 * client certificate rejected, answer broken off). When the answer to a
 * request with a body is lost (a server that refuses a request closes
 * without reading its body), a GET of the same object is asked once: a 401
 * or 403 to it is returned as this request's answer. */
int vk_kube_request(struct vk_kube *k, const char *method, const char *path, const char *content_type,
		    const char *body, size_t body_len, long *status, char **resp, struct vk_error *err);

/* A simple GET (for /readyz and friends): same contract as vk_kube_request. */
int vk_kube_get_raw(struct vk_kube *k, const char *path, long *status, char **body, struct vk_error *err);

/* The built-in table of kinds (what the addons use and a few more), or NULL. */
const struct vk_kube_resource *vk_kube_builtin_resource(const char *api_version, const char *kind);
/* Finds a kind's resource: the built-in table, else API discovery
 * (/api/v1 or /apis/GROUP/VERSION), cached in the client. *OUT's strings are
 * static or owned by the client. VK_ERR_NOT_FOUND names an unknown kind. */
int vk_kube_resource_find(struct vk_kube *k, const char *api_version, const char *kind,
			  struct vk_kube_resource *out, struct vk_error *err);
/* The path of an object (NAME given) or a collection (NAME NULL); NS is
 * ignored for cluster-scoped kinds, NULL for a namespaced one lists all
 * namespaces. Names are percent-escaped. Caller frees. */
char *vk_kube_resource_path(const struct vk_kube_resource *r, const char *ns, const char *name);

/* GET one object. Returns a new reference, or NULL with VK_ERR_NOT_FOUND when
 * the object (or its namespace) does not exist, or another error. */
json_t *vk_kube_get(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		    const char *name, struct vk_error *err);
/* LIST objects (NS NULL: all namespaces; SELECTOR NULL: all). Returns the
 * List object (a new reference; its "items" array). */
json_t *vk_kube_list(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		     const char *label_selector, struct vk_error *err);
/* Server-side apply of OBJ (PATCH application/apply-patch+yaml with a JSON
 * body, fieldManager=virtkube, force=true). A namespaced object without a
 * namespace goes to "default". Returns the object as stored (new reference). */
json_t *vk_kube_apply(struct vk_kube *k, json_t *obj, struct vk_error *err);
/* DELETE with PROPAGATION ("Background", "Foreground", "Orphan" or NULL).
 * An object already gone is success with *DELETED false (DELETED may be NULL). */
int vk_kube_delete(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		   const char *name, const char *propagation, bool *deleted, struct vk_error *err);

/* Kinds that can be waited for: Deployment (available), DaemonSet (ready),
 * StatefulSet (ready), Job (complete), Service (a ready endpoint in one of
 * its discovery.k8s.io/v1 EndpointSlices). */
bool vk_kube_waitable(const char *kind);
/* Checks once whether the object is ready; *WHY (caller frees; may be NULL)
 * says what is missing, and for a workload what its pods wait for (the
 * first pod in ImagePullBackOff, CrashLoopBackOff, Pending as unschedulable,
 * ... with the pod's name and the image). A missing object is not ready
 * (not an error). */
int vk_kube_check_ready(struct vk_kube *k, const char *kind, const char *ns, const char *name, bool *ready,
			char **why, struct vk_error *err);

/* Told what a workload's pods wait for, each time that changes. */
typedef void (*vk_kube_wait_progress)(void *data, const char *what);

/* The longest an image pull may keep failing before a wait gives up on it
 * (a quarter of the wait when that is shorter). */
#define VK_KUBE_PULL_GRACE_MAX_MS 60000L

/* How many lines of a pod's log a wait that timed out quotes. */
#define VK_KUBE_LOG_TAIL_LINES 10

/* Polls until ready or TIMEOUT_MS passes; VK_ERR_TIMEOUT names what was
 * awaited and its last state (with its pods' reasons: a container waiting,
 * with how its last run ended, or running but not ready), then the last
 * VK_KUBE_LOG_TAIL_LINES lines of that pod's log (the pod log API; the run
 * before, for a container that restarted). PROGRESS (may be
 * NULL) hears the pods' reasons as they change. Fails at once, with
 * VK_ERR_FAILED, for a failed Job and for an image its pods cannot pull: one
 * the registry does not have or cannot be reached for, or a pull still
 * failing after the grace above; the message names the image and the pod. */
int vk_kube_wait_ready(struct vk_kube *k, const char *kind, const char *ns, const char *name, long timeout_ms,
		       vk_kube_wait_progress progress, void *data, struct vk_error *err);
