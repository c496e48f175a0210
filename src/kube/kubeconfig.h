/* The user's kubeconfig: merge, check and remove a profile's cluster, user and context, keeping everything else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"
#include "util/error.h"

/* What virtkube puts into a kubeconfig for one profile. The cluster, the
 * user and the context are all named NAME. PEM data is embedded (base64). */
struct vk_kubeconfig_entry {
	char *name;
	char *server;   /* https://NODE_IP:PORT */
	char *tls_server_name; /* NULL: none (and one there is removed); else written (virtkube tunnel) */
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
 * preferences, extensions, unknown keys, key order and scalar styles).
 * Inside E's own entries keys that do not conflict with what is written (a
 * context's namespace, extensions) are kept too.
 *
 * Two ways to get there, with the same result in content:
 * - the text path (the usual case): the file is read as libyaml events and
 *   written back as its own bytes with E's lines spliced in, so comments,
 *   blank lines and formatting survive byte for byte; an entry of E already
 *   there is edited where it stands, a new one goes after the list's last
 *   item at that list's indentation;
 * - the document path, for files the text path cannot edit provably right
 *   (anchors or aliases, tags, flow-style lists with items, more than one
 *   document, ...): libyaml's document tree, re-emitted; comments are lost.
 *
 * Before anything is written, the new text is proved: it must parse as one
 * document, hold exactly E's entries (vk_kubeconfig_check says Configured)
 * and every other cluster, user, context and top-level key as before,
 * compared as data. A text-path result that fails goes to the document
 * path; a document-path result that fails is an error and the file stays
 * untouched. A result equal to the file's bytes is not written. UTF-16
 * files (libyaml reads them after a byte order mark) are rewritten as UTF-8
 * by the document path.
 *
 * The file is written atomically with mode 0600 under two locks:
 * virtkube's (flock on REAL.virtkube-lock, REAL being PATH with symlinks
 * resolved) and kubectl's (PATH.lock created with O_EXCL, as client-go's
 * clientcmd does; waited for up to vk_kubeconfig_lock_timeout_ms, always
 * removed again; one left by a virtkube that died is removed, since every
 * virtkube holds the flock while its PATH.lock exists). The first time an
 * existing file is changed it is copied to REAL.virtkube-backup. A file that
 * does not parse or has the wrong shape is never written: the error names
 * the file (and line). A symlink is followed and its target written. */
int vk_kubeconfig_merge(const char *path, const struct vk_kubeconfig_entry *e, bool set_current, struct vk_error *err);

/* Removes exactly the cluster, user and context named NAME (and clears
 * current-context if it was NAME), by the same two paths and under the same
 * locks as vk_kubeconfig_merge; on the text path every other byte of the
 * file stays as it was (a list left empty reads "[]"). A missing file or
 * entries are not an error; *REMOVED (may be NULL) says whether anything
 * was removed. The new text gets the same proof (no entry of NAME left,
 * everything else unchanged). */
int vk_kubeconfig_remove(const char *path, const char *name, bool *removed, struct vk_error *err);

enum vk_kubeconfig_state {
	VK_KUBECONFIG_NONEXISTENT,   /* no file, or no context of that name */
	VK_KUBECONFIG_CONFIGURED,    /* context, cluster and user are what E says */
	VK_KUBECONFIG_MISCONFIGURED, /* something is there but differs */
};

/* Compares the kubeconfig at PATH with E without changing it (reading it
 * with the text path's event scan where that applies, else as a document
 * tree: the answers are the same); *WHY (may be NULL; caller frees) says
 * what differs when misconfigured. An unreadable file is an error. */
int vk_kubeconfig_check(const char *path, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			char **why, struct vk_error *err);
const char *vk_kubeconfig_state_name(enum vk_kubeconfig_state s);

/* How long merge and remove wait for kubectl's PATH.lock (default 10000 ms). */
extern long vk_kubeconfig_lock_timeout_ms;
/* Test and benchmark hooks: the path the last merge, remove or check took
 * ("text" or "document"), and a switch that forces the document path. */
extern const char *vk_kubeconfig_last_path;
extern bool vk_kubeconfig_force_document;
/* Test hook: when set, called with the new text of either path ("text" or
 * "document") just before its proof, so a test can break it. */
struct vk_strbuf;
extern void (*vk_kubeconfig_test_tamper)(const char *way, struct vk_strbuf *text);
