/* The user's kubeconfig, its public API (see kubeconfig.h): the profile's entry, and merge, remove and check as flows over the parts in kubeconfig-{parse,edit,lock,proof}.c. */
#include "kube/kubeconfig.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

long vk_kubeconfig_lock_timeout_ms = 10000;
const char *vk_kubeconfig_last_path = "";
bool vk_kubeconfig_force_document;
void (*vk_kubeconfig_test_tamper)(const char *way, struct vk_strbuf *text);

/* ---- entries ------------------------------------------------------------ */

static int read_pem(const struct vk_profile *p, const char *file, char **out, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_profile_path(p, file);

	if (vk_read_file(path, out, NULL, err) < 0)
		return vk_error_prefix(err, "cannot build the kubeconfig entry of profile '%s'", p->name);
	return 0;
}

int vk_kubeconfig_entry_load(struct vk_kubeconfig_entry *e, const struct vk_profile *p, struct vk_error *err)
{
	const char *ip = p->cfg.node_ip;
	int port = vk_profile_api_port(p);

	memset(e, 0, sizeof(*e));
	if (!ip || !*ip) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node IP yet", p->name);
		return vk_error_hint(err, "run 'virtkube start -p %s' first", p->name);
	}
	e->name = xstrdup(p->name);
	e->server = xasprintf("https://%s:%d", ip, port);
	if (read_pem(p, VK_FILE_CA_CERT, &e->ca_pem, err) < 0 || read_pem(p, VK_FILE_CLIENT_CERT, &e->cert_pem, err) < 0 ||
	    read_pem(p, VK_FILE_CLIENT_KEY, &e->key_pem, err) < 0) {
		vk_kubeconfig_entry_clear(e);
		return -1;
	}
	return 0;
}

void vk_kubeconfig_entry_clear(struct vk_kubeconfig_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->server);
	free(e->tls_server_name);
	free(e->ca_pem);
	free(e->cert_pem);
	if (e->key_pem) {
		OPENSSL_cleanse(e->key_pem, strlen(e->key_pem));
		free(e->key_pem);
	}
	memset(e, 0, sizeof(*e));
}

char *vk_kubeconfig_path(struct vk_error *err)
{
	const char *env = getenv("KUBECONFIG");
	const char *home;

	if (env && *env) {
		/* kubectl's list separator is ':' on Linux; empty entries are skipped. */
		for (const char *p = env; *p;) {
			size_t len = strcspn(p, ":");

			if (len)
				return xstrndup(p, len);
			p += 1;
		}
	}
	home = getenv("HOME");
	if (!home || !*home) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "cannot find the kubeconfig: neither $KUBECONFIG nor $HOME is set");
		vk_error_hint(err, "set KUBECONFIG to the file virtkube should write");
		return NULL;
	}
	return xasprintf("%s/.kube/config", home);
}

static char *b64(const char *data)
{
	size_t len = strlen(data);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

/* ---- merge ---- */

int vk_kubeconfig_merge(const char *path, const struct vk_kubeconfig_entry *e, bool set_current, struct vk_error *err)
{
	/* tls-server-name last: left out of the list when E sets it */
	static const char *const cluster_conflicts[] = { "certificate-authority", "insecure-skip-tls-verify", "tls-server-name" };
	bool sni = e->tls_server_name != NULL;
	static const char *const user_conflicts[] = { "client-certificate", "client-key", "token", "tokenFile", "username",
						      "password", "exec", "auth-provider", "as", "as-groups", "as-uid",
						      "as-user-extra" };
	_cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL;
	struct wlocks locks = WLOCKS_INIT;
	struct kfile f = { 0 };
	int rc = -1;

	if (vk_profile_name_check(e->name, err) < 0)
		return -1;
	if (vk_kc_lock(path, true, &locks, err) < 0)
		return -1;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	key = b64(e->key_pem);
	if (vk_kc_file_read(&f, path, err) == 0) {
		const struct part parts[L_COUNT] = {
			[L_CLUSTERS] = { "cluster",
					 { { "certificate-authority-data", ca },
					   { "server", e->server },
					   { "tls-server-name", e->tls_server_name } },
					 sni ? 3 : 2, cluster_conflicts, VK_ARRAY_SIZE(cluster_conflicts) - (sni ? 1 : 0) },
			[L_USERS] = { "user", { { "client-certificate-data", cert }, { "client-key-data", key } }, 2,
				      user_conflicts, VK_ARRAY_SIZE(user_conflicts) },
			[L_CONTEXTS] = { "context", { { "cluster", e->name }, { "user", e->name } }, 2, NULL, 0 },
		};

		const struct intent in = { .name = e->name, .parts = parts, .set_current = set_current, .e = e };
		bool changed;

		rc = vk_kc_text_edit(&f, &in, &changed, err);
		if (rc == 0)
			rc = vk_kc_doc_merge(&f, &in, err);
		else if (rc > 0)
			rc = 0;
	}
	OPENSSL_cleanse(key, strlen(key));
	vk_kc_file_free(&f);
	vk_kc_unlock(&locks);
	return rc;
}

/* ---- remove ---- */

int vk_kubeconfig_remove(const char *path, const char *name, bool *removed, struct vk_error *err)
{
	struct wlocks locks = WLOCKS_INIT;
	struct kfile f = { 0 };
	bool changed = false;
	int rc = -1;

	if (removed)
		*removed = false;
	if (!vk_path_exists(path))
		return 0;
	if (vk_kc_lock(path, false, &locks, err) < 0)
		return -1;
	if (vk_kc_file_read(&f, path, err) == 0) {
		const struct intent in = { .name = name };

		rc = vk_kc_text_edit(&f, &in, &changed, err);
		if (rc == 0)
			rc = vk_kc_doc_remove(&f, &in, &changed, err);
		else if (rc > 0)
			rc = 0;
	}
	if (rc == 0 && removed)
		*removed = changed;
	vk_kc_file_free(&f);
	vk_kc_unlock(&locks);
	return rc;
}

/* ---- check ------------------------------------------------------------------- */

static bool same_b64(const char *got, const char *want)
{
	/* kubectl writes one line; other tools may wrap: whitespace is ignored. */
	for (;;) {
		while (*got == ' ' || *got == '\n' || *got == '\r' || *got == '\t')
			got++;
		if (*got != *want)
			return false;
		if (!*got)
			return true;
		got++;
		want++;
	}
}

/* The check's verdict on what FD found for E: *STATE, and *PROBLEM (static) when misconfigured. */
void vk_kc_check_found(const struct found *fd, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			const char **problem)
{
	_cleanup_free_ char *ca = NULL, *cert = NULL;
	const char *const *val = fd->val;

	*state = VK_KUBECONFIG_NONEXISTENT;
	*problem = NULL;
	if (!fd->context)
		return;
	*state = VK_KUBECONFIG_MISCONFIGURED;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	if (!val[V_CTX_CLUSTER] || strcmp(val[V_CTX_CLUSTER], e->name) != 0 || !val[V_CTX_USER] ||
	    strcmp(val[V_CTX_USER], e->name) != 0)
		*problem = "the context does not point at the profile's cluster and user";
	else if (!fd->cluster)
		*problem = "the cluster entry is missing";
	else if (!fd->user)
		*problem = "the user entry is missing";
	else if (!val[V_SERVER] || strcmp(val[V_SERVER], e->server) != 0)
		*problem = "the cluster's server is not the node's address";
	else if (!val[V_CA] || !same_b64(val[V_CA], ca))
		*problem = "the cluster's CA is not the profile's";
	else if (!val[V_CERT] || !same_b64(val[V_CERT], cert))
		*problem = "the user's client certificate is not the profile's";
	if (!*problem)
		*state = VK_KUBECONFIG_CONFIGURED;
}

/* The check of F against E: *STATE, and *PROBLEM (static) when misconfigured. */
static int check_kfile(const struct kfile *f, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
		       const char **problem, struct vk_error *err)
{
	struct kcfg k = { 0 };
	struct tscan sc = { 0 };
	struct found fd = { 0 };
	int rc = 0;

	*state = VK_KUBECONFIG_NONEXISTENT;
	*problem = NULL;
	if (!vk_kc_scan_find(f, e->name, &sc, &fd) && vk_kc_doc_find(&k, f, e->name, &fd, err) < 0)
		rc = -1;
	else
		vk_kc_check_found(&fd, e, state, problem);
	vk_kc_scan_free(&sc);
	vk_kc_doc_free(&k);
	return rc;
}

int vk_kubeconfig_check(const char *path, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			char **why, struct vk_error *err)
{
	struct kfile f = { 0 };
	const char *problem = NULL;
	int rc = -1;

	*state = VK_KUBECONFIG_NONEXISTENT;
	if (why)
		*why = NULL;
	if (!vk_path_exists(path))
		return 0;
	if (vk_kc_file_read(&f, path, err) == 0)
		rc = check_kfile(&f, e, state, &problem, err);
	if (rc == 0 && problem && why)
		*why = xstrdup(problem);
	vk_kc_file_free(&f);
	return rc;
}

const char *vk_kubeconfig_state_name(enum vk_kubeconfig_state s)
{
	switch (s) {
	case VK_KUBECONFIG_CONFIGURED:
		return "Configured";
	case VK_KUBECONFIG_MISCONFIGURED:
		return "Misconfigured";
	case VK_KUBECONFIG_NONEXISTENT:
	default:
		return "Nonexistent";
	}
}
