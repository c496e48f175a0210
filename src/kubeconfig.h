/* The user's kubeconfig: merge, check and remove a profile's cluster, user and context, keeping everything else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"
#include "util/error.h"

/* What virtkube puts into a kubeconfig for one profile. The cluster, the
 * user and the context are all named NAME. PEM data is embedded (base64). */
struct vk_kubeconfig_entry {
	char *name;
	char *server;   /* https://NODE_IP:PORT */
	char *ca_pem;   /* the cluster CA certificate */
	char *cert_pem; /* the client certificate */
	char *key_pem;  /* the client key */
};

/* Fills E from profile P: its node_ip and api_port, and its CA and client
 * certificate files (vk_pki_ensure must have run). Free with vk_kubeconfig_entry_clear. */
int vk_kubeconfig_entry_load(struct vk_kubeconfig_entry *e, const struct vk_profile *p, struct vk_error *err);
void vk_kubeconfig_entry_clear(struct vk_kubeconfig_entry *e);

/* The file virtkube writes: $KUBECONFIG's first non-empty entry, else
 * ~/.kube/config ($HOME). Newly allocated. */
char *vk_kubeconfig_path(struct vk_error *err);

/* Adds or rewrites E's cluster, user and context in the kubeconfig at PATH
 * (created with its directory if missing) and, with SET_CURRENT, makes the
 * context current. Everything else in the file is kept (other entries,
 * preferences, extensions, unknown keys, key order and scalar styles;
 * comments are lost, as libyaml does not keep them). Inside E's own entries
 * keys that do not conflict with what is written (a context's namespace,
 * extensions) are kept too. The file is written atomically with mode 0600
 * under a lock (PATH.virtkube-lock), after a one-time copy to
 * PATH.virtkube-backup the first time an existing file is changed. A file
 * that does not parse or has the wrong shape is never written: the error
 * names the file (and line). A symlink is followed and its target written. */
int vk_kubeconfig_merge(const char *path, const struct vk_kubeconfig_entry *e, bool set_current, struct vk_error *err);

/* Removes exactly the cluster, user and context named NAME (and clears
 * current-context if it was NAME). A missing file or entries are not an
 * error; *REMOVED (may be NULL) says whether anything was removed. */
int vk_kubeconfig_remove(const char *path, const char *name, bool *removed, struct vk_error *err);

enum vk_kubeconfig_state {
	VK_KUBECONFIG_NONEXISTENT,   /* no file, or no context of that name */
	VK_KUBECONFIG_CONFIGURED,    /* context, cluster and user are what E says */
	VK_KUBECONFIG_MISCONFIGURED, /* something is there but differs */
};

/* Compares the kubeconfig at PATH with E without changing it; *WHY (may be
 * NULL; caller frees) says what differs when misconfigured. An unreadable
 * file is an error. */
int vk_kubeconfig_check(const char *path, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			char **why, struct vk_error *err);
const char *vk_kubeconfig_state_name(enum vk_kubeconfig_state s);
