/* Unit tests for src/kubeconfig: merge, remove, check, bad files, concurrency, and the real kubectl reading the result. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "shell.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "yamltest.h"

static bool have_kubectl;

static char *slurp(const char *path)
{
	char *data = NULL;

	if (vk_read_file(path, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* A profile NAME with node IP IP and real certificates, as an entry. */
static void make_entry(const char *name, const char *ip, struct vk_kubeconfig_entry *e)
{
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = vk_profile_open(name, true, &err);

	vk_profile_set_str(&p->cfg.node_ip, ip);
	p->cfg.api_port = 8443;
	if (vk_profile_save(p, &err) < 0 || vk_pki_ensure(p->dir, name, NULL, &err) < 0 ||
	    vk_kubeconfig_entry_load(e, p, &err) < 0) {
		printf("Bail out! cannot make profile %s: %s\n", name, err.message);
		exit(1);
	}
}

/* kubectl's own reading of the file: a jsonpath query. */
static char *kubectl_q(const char *path, const char *jsonpath)
{
	int rc;
	char *o = sh(&rc, "KUBECONFIG='%s' kubectl config view --raw -o jsonpath='%s' 2>&1", path, jsonpath);

	return rc == 0 ? o : (free(o), xstrdup("(kubectl failed)"));
}

static void kubectl_accepts(const char *path, const char *ctx, const char *server)
{
	int rc;

	if (!have_kubectl) {
		printf("ok %d - # SKIP kubectl is not installed\n", ++tap_count);
		return;
	}
	{
		_cleanup_free_ char *o = sh(&rc, "KUBECONFIG='%s' kubectl config view --raw >/dev/null 2>&1", path);
		is_int(rc, 0, "kubectl config view --raw reads the file");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "KUBECONFIG='%s' kubectl config get-contexts -o name 2>&1", path);
		is_int(rc, 0, "kubectl config get-contexts works");
		contains(o, ctx, "and lists context '%s'", ctx);
	}
	{
		/* current-context prints the file's setting (kubectl ignores
		 * --context there), so it is only asked when one is set. */
		_cleanup_free_ char *cur = kubectl_q(path, "{.current-context}");
		_cleanup_free_ char *o = sh(&rc, "KUBECONFIG='%s' kubectl --context '%s' config current-context 2>&1", path, ctx);

		if (*cur)
			ok(rc == 0 && strcmp(o, cur) == 0, "kubectl --context %s config current-context prints '%s' (%s)", ctx, cur, o);
		else
			ok(rc != 0 && strstr(o, "not set"), "kubectl config current-context: none is set (--keep-context)");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "KUBECONFIG='%s' kubectl --context '%s' config view --minify -o jsonpath='{.clusters[0].cluster.server} {.users[0].name}' 2>&1", path, ctx);
		_cleanup_free_ char *want = xasprintf("%s %s", server, ctx);
		is_str(o, want, "kubectl --context %s resolves to the profile's server and user", ctx);
	}
	{
		_cleanup_free_ char *q = xasprintf("{.clusters[?(@.name==\"%s\")].cluster.server}", ctx);
		_cleanup_free_ char *o = kubectl_q(path, q);
		is_str(o, server, "kubectl sees the server of cluster '%s'", ctx);
	}
	{
		_cleanup_free_ char *o = sh(&rc,
			"KUBECONFIG='%s' kubectl config view --raw -o jsonpath='{.users[?(@.name==\"%s\")].user.client-certificate-data}' | base64 -d | openssl x509 -noout -subject -nameopt RFC2253 2>&1",
			path, ctx);
		contains(o, "CN=virtkube-admin", "the embedded client certificate decodes to virtkube-admin");
	}
	{
		_cleanup_free_ char *o = sh(&rc,
			"d=$(mktemp -d) && KUBECONFIG='%s' kubectl config view --raw -o jsonpath='{.clusters[?(@.name==\"%s\")].cluster.certificate-authority-data}' | base64 -d > $d/ca && "
			"KUBECONFIG='%s' kubectl config view --raw -o jsonpath='{.users[?(@.name==\"%s\")].user.client-certificate-data}' | base64 -d > $d/c && "
			"openssl verify -CAfile $d/ca $d/c; r=$?; rm -rf $d; exit $r", path, ctx, path, ctx);
		is_int(rc, 0, "the embedded client certificate verifies against the embedded CA (%s)", o);
	}
	{
		_cleanup_free_ char *o = sh(&rc,
			"KUBECONFIG='%s' kubectl config view --raw -o jsonpath='{.users[?(@.name==\"%s\")].user.client-key-data}' | base64 -d | openssl pkey -noout 2>&1",
			path, ctx);
		is_int(rc, 0, "the embedded client key is a valid key");
	}
}

static void test_missing_and_empty(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	_cleanup_free_ char *path = xasprintf("%s/new/.kube/config", tmp);
	_cleanup_free_ char *empty = xasprintf("%s/empty", tmp);
	struct vk_error err = { 0 };
	enum vk_kubeconfig_state st;
	struct yt_docs d;
	_cleanup_free_ char *text = NULL;

	ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_NONEXISTENT,
	   "check: a missing file is Nonexistent");
	ok(vk_kubeconfig_merge(path, dev, true, &err) == 0, "merge into a missing file and directory (%s)", err.message);
	is_int(mode_of(path), 0600, "the new kubeconfig is 0600");
	text = slurp(path);
	ok(text && yt_load(&d, text) == 1, "it is one YAML document");
	is_str(yt_str(&d.doc[0], "apiVersion"), "v1", "apiVersion v1");
	is_str(yt_str(&d.doc[0], "kind"), "Config", "kind Config");
	is_str(yt_str(&d.doc[0], "current-context"), "dev", "current-context is the profile");
	is_str(yt_str(&d.doc[0], "clusters.0.name"), "dev", "cluster named after the profile");
	is_str(yt_str(&d.doc[0], "clusters.0.cluster.server"), "https://192.168.39.10:8443", "server is https://NODE_IP:8443");
	is_str(yt_str(&d.doc[0], "contexts.0.context.cluster"), "dev", "context points at the cluster");
	is_str(yt_str(&d.doc[0], "contexts.0.context.user"), "dev", "context points at the user");
	ok(yt_str(&d.doc[0], "users.0.user.client-key-data") != NULL, "the user has embedded key data");
	yt_free(&d);
	{
		_cleanup_free_ char *backup = xasprintf("%s.virtkube-backup", path);
		ok(!vk_path_exists(backup), "no backup of a file that did not exist");
	}
	ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_CONFIGURED, "check: Configured");
	kubectl_accepts(path, "dev", "https://192.168.39.10:8443");

	spit(empty, "");
	ok(vk_kubeconfig_merge(empty, dev, false, &err) == 0, "merge into an empty file");
	{
		_cleanup_free_ char *t = slurp(empty);
		ok(t && yt_load(&d, t) == 1, "it parses");
		is_str(yt_str(&d.doc[0], "current-context"), "", "--keep-context on an empty file leaves no current context");
		is_str(yt_str(&d.doc[0], "contexts.0.name"), "dev", "but the context is there");
		yt_free(&d);
	}
	kubectl_accepts(empty, "dev", "https://192.168.39.10:8443");
}

static const char busy_text[] =
	"# a comment libyaml drops\n"
	"apiVersion: v1\n"
	"kind: Config\n"
	"preferences:\n"
	"  colors: true\n"
	"clusters:\n"
	"- cluster:\n"
	"    server: https://prod.example.com:6443\n"
	"    certificate-authority-data: UFJPRC1DQQ==\n"
	"    extensions:\n"
	"    - name: vendor\n"
	"      extension:\n"
	"        region: eu-west-1\n"
	"  name: prod\n"
	"- cluster:\n"
	"    server: https://10.0.0.1:8443\n"
	"    certificate-authority: /old/ca.crt\n"
	"  name: dev\n"
	"- cluster:\n"
	"    server: 'https://staging:6443'\n"
	"    insecure-skip-tls-verify: true\n"
	"  name: staging\n"
	"users:\n"
	"- name: prod-admin\n"
	"  user:\n"
	"    token: \"12345\"\n"
	"- name: dev\n"
	"  user:\n"
	"    client-certificate: /old/client.crt\n"
	"    client-key: /old/client.key\n"
	"- name: oidc\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1\n"
	"      command: kubelogin\n"
	"      args: [get-token, --oidc-issuer-url=https://issuer]\n"
	"      interactiveMode: IfAvailable\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: prod\n"
	"    user: prod-admin\n"
	"    namespace: payments\n"
	"  name: prod\n"
	"- context:\n"
	"    cluster: dev\n"
	"    user: dev\n"
	"    namespace: team-a\n"
	"  name: dev\n"
	"current-context: prod\n"
	"extensions:\n"
	"- name: something\n"
	"  extension: {a: 1}\n"
	"x-unknown-key:\n"
	"  nested: [1, 2, 3]\n";

static void top_keys(yaml_document_t *doc, struct vk_strbuf *out)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++)
		vk_strbuf_addf(out, "%s,", yaml_document_get_node(doc, p->key)->data.scalar.value);
}

static void test_busy(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	_cleanup_free_ char *path = xasprintf("%s/busy", tmp);
	_cleanup_free_ char *backup = xasprintf("%s/busy.virtkube-backup", tmp);
	_cleanup_strbuf_ struct vk_strbuf before_keys = VK_STRBUF_INIT;
	_cleanup_strbuf_ struct vk_strbuf after_keys = VK_STRBUF_INIT;
	struct vk_error err = { 0 };
	enum vk_kubeconfig_state st;
	_cleanup_free_ char *why = NULL;
	struct yt_docs d0, d;
	yaml_document_t *a, *b;
	bool removed;

	spit(path, busy_text);
	yt_load(&d0, busy_text);
	top_keys(&d0.doc[0], &before_keys);
	ok(vk_kubeconfig_check(path, dev, &st, &why, &err) == 0 && st == VK_KUBECONFIG_MISCONFIGURED,
	   "check: a stale entry for the profile is Misconfigured");
	ok(why != NULL, "and says why (%s)", why ? why : "");

	ok(vk_kubeconfig_merge(path, dev, false, &err) == 0, "merge into a busy file with --keep-context (%s)", err.message);
	{
		_cleanup_free_ char *b0 = slurp(backup);
		ok(b0 && strcmp(b0, busy_text) == 0, "the first touch leaves a byte-exact backup");
		is_int(mode_of(backup), 0600, "the backup is 0600");
	}
	{
		_cleanup_free_ char *t = slurp(path);

		ok(t && yt_load(&d, t) == 1, "the merged file parses");
	}
	a = &d0.doc[0];
	b = &d.doc[0];
	top_keys(b, &after_keys);
	is_str(after_keys.buf, before_keys.buf, "top-level keys keep their order");
	is_str(yt_str(b, "current-context"), "prod", "--keep-context keeps current-context");
	is_str(yt_str(b, "preferences.colors"), "true", "preferences are kept");
	is_str(yt_str(b, "x-unknown-key.nested.2"), "3", "unknown keys are kept");
	is_str(yt_str(b, "extensions.0.extension.a"), "1", "top-level extensions are kept");
	is_str(yt_str(b, "clusters.0.name"), "prod", "other clusters stay in place");
	is_str(yt_str(b, "clusters.0.cluster.server"), yt_str(a, "clusters.0.cluster.server"), "prod's server is unchanged");
	is_str(yt_str(b, "clusters.0.cluster.extensions.0.extension.region"), "eu-west-1", "prod's extensions are unchanged");
	is_str(yt_str(b, "clusters.2.cluster.server"), "https://staging:6443", "staging is unchanged");
	is_int(yt_style(b, "clusters.2.cluster.server"), YAML_SINGLE_QUOTED_SCALAR_STYLE, "and keeps its quoting style");
	is_str(yt_str(b, "users.0.user.token"), "12345", "a quoted numeric token stays a string");
	is_int(yt_style(b, "users.0.user.token"), YAML_DOUBLE_QUOTED_SCALAR_STYLE, "and stays quoted");
	is_str(yt_str(b, "users.2.user.exec.command"), "kubelogin", "the exec user is unchanged");
	is_str(yt_str(b, "users.2.user.exec.args.1"), "--oidc-issuer-url=https://issuer", "with its args");
	is_str(yt_str(b, "clusters.1.name"), "dev", "the profile's cluster is rewritten in place");
	is_str(yt_str(b, "clusters.1.cluster.server"), "https://192.168.39.10:8443", "with the node's server");
	ok(yt_str(b, "clusters.1.cluster.certificate-authority") == NULL, "the old CA file path is gone (it would conflict)");
	ok(yt_str(b, "users.1.user.client-certificate") == NULL && yt_str(b, "users.1.user.client-key") == NULL,
	   "the old client file paths are gone");
	ok(yt_str(b, "users.1.user.client-certificate-data") != NULL, "client-certificate-data is there");
	is_str(yt_str(b, "contexts.1.context.namespace"), "team-a", "the context's namespace is kept");
	is_str(yt_str(b, "contexts.0.context.namespace"), "payments", "other contexts are unchanged");
	is_int(yt_len(b, "clusters"), 3, "no cluster added or lost");
	is_int(yt_len(b, "users"), 3, "no user added or lost");
	is_int(yt_len(b, "contexts"), 2, "no context added or lost");
	yt_free(&d);
	ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_CONFIGURED, "check: now Configured");
	kubectl_accepts(path, "dev", "https://192.168.39.10:8443");
	if (have_kubectl) {
		_cleanup_free_ char *o = kubectl_q(path, "{.contexts[?(@.name==\"prod\")].context.namespace}");
		is_str(o, "payments", "kubectl still sees prod's namespace");
	}

	/* A second merge sets current-context and does not refresh the backup. */
	ok(vk_kubeconfig_merge(path, dev, true, &err) == 0, "merge again, setting the context");
	{
		_cleanup_free_ char *t = slurp(path), *b0 = slurp(backup);

		ok(b0 && strcmp(b0, busy_text) == 0, "the backup is made once only");
		yt_load(&d, t);
		is_str(yt_str(&d.doc[0], "current-context"), "dev", "current-context is now the profile");
		is_int(yt_len(&d.doc[0], "contexts"), 2, "still two contexts (no duplicate)");
		yt_free(&d);
	}

	ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "remove the profile's entries");
	{
		_cleanup_free_ char *t = slurp(path);

		yt_load(&d, t);
		is_int(yt_len(&d.doc[0], "clusters"), 2, "two clusters left");
		is_int(yt_len(&d.doc[0], "users"), 2, "two users left");
		is_int(yt_len(&d.doc[0], "contexts"), 1, "one context left");
		is_str(yt_str(&d.doc[0], "clusters.1.name"), "staging", "staging moved up, dev is gone");
		is_str(yt_str(&d.doc[0], "current-context"), "", "current-context pointed at dev and is cleared");
		is_str(yt_str(&d.doc[0], "x-unknown-key.nested.0"), "1", "unknown keys survive the removal");
		yt_free(&d);
	}
	ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_NONEXISTENT, "check: Nonexistent after remove");
	if (have_kubectl) {
		int rc;
		_cleanup_free_ char *o = sh(&rc, "KUBECONFIG='%s' kubectl config get-contexts -o name 2>&1", path);
		is_str(o, "prod", "kubectl lists only prod after the removal");
	}
	{
		_cleanup_free_ char *t0 = slurp(path);
		_cleanup_free_ char *t1 = NULL;

		ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && !removed, "removing again removes nothing");
		t1 = slurp(path);
		ok(t0 && t1 && strcmp(t0, t1) == 0, "and leaves the file as it was");
	}
	ok(vk_kubeconfig_merge(path, dev, true, &err) == 0, "re-merge after remove");
	kubectl_accepts(path, "dev", "https://192.168.39.10:8443");
	yt_free(&d0);

	spit(path, busy_text);
	ok(vk_kubeconfig_remove(path, "prod", &removed, &err) == 0 && removed, "removing another name (prod) works too");
	{
		_cleanup_free_ char *t = slurp(path);

		yt_load(&d, t);
		is_str(yt_str(&d.doc[0], "contexts.0.name"), "dev", "only prod's entries went");
		is_int(yt_len(&d.doc[0], "users"), 3, "users without that name are all kept");
		yt_free(&d);
	}
}

/* ---- the text path ---------------------------------------------------------- */

/* An entry with short fake PEM data, so whole files can be spelled out:
 * base64 of "CA\n", "CERT\n", "KEY\n" is Q0EK, Q0VSVAo=, S0VZCg==. */
static struct vk_kubeconfig_entry fake_dev = {
	.name = "dev", .server = "https://192.168.39.10:8443", .ca_pem = "CA\n", .cert_pem = "CERT\n", .key_pem = "KEY\n",
};

static void kubectl_reads(const char *path, const char *what)
{
	int rc;

	if (!have_kubectl) {
		printf("ok %d - # SKIP kubectl is not installed\n", ++tap_count);
		return;
	}
	free(sh(&rc, "KUBECONFIG='%s' kubectl config view --raw >/dev/null 2>&1 && KUBECONFIG='%s' kubectl config get-contexts >/dev/null 2>&1",
		path, path));
	is_int(rc, 0, "kubectl config view --raw and get-contexts read %s", what);
}

/* The user's file: comments, blank lines, keys in an odd order, lists
 * indented two ways, UTF-8, entries of others but none named dev. */
static const char commented_text[] =
	"# ~/.kube/config of a busy person: keep my comments!\n"
	"current-context: prod   # the safe default\n"
	"\n"
	"x-unknown-key:\n"
	"  nested: [1, 2, 3]\n"
	"preferences:\n"
	"  colors: true\n"
	"\n"
	"# --- clusters ---\n"
	"clusters:\n"
	"# production, do not touch\n"
	"- cluster:\n"
	"    server: https://prod.example.com:6443   # behind the VPN\n"
	"    certificate-authority-data: UFJPRC1DQQ==\n"
	"  name: prod\n"
	"\n"
	"- name: staging\n"
	"  cluster:\n"
	"    server: 'https://staging:6443'\n"
	"    insecure-skip-tls-verify: true\n"
	"# end of clusters\n"
	"users:\n"
	"  - name: josé   # UTF-8 in a name and a comment: ü\n"
	"    user:\n"
	"      token: \"12345\"\n"
	"  - name: prod-admin\n"
	"    user:\n"
	"      exec:\n"
	"        command: kubelogin\n"
	"        args: [get-token]\n"
	"contexts:\n"
	"- context: {cluster: prod, user: prod-admin, namespace: payments}\n"
	"  name: prod\n"
	"kind: Config\n"
	"apiVersion: v1\n"
	"# trailing comment\n";

static void test_text_preserves(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/commented", tmp);
	_cleanup_free_ char *merged = NULL, *again = NULL, *removed_text = NULL, *set = NULL;
	struct vk_error err = { 0 };
	struct yt_docs d;
	bool removed;

	spit(path, commented_text);
	ok(vk_kubeconfig_merge(path, &fake_dev, false, &err) == 0, "merge into a commented file (%s)", err.message);
	is_str(vk_kubeconfig_last_path, "text", "it takes the text path");
	merged = slurp(path);
	ok(merged && yt_load(&d, merged) == 1, "the result parses");
	if (d.n == 1) {
		is_str(yt_str(&d.doc[0], "clusters.2.name"), "dev", "the cluster is appended after the others");
		is_str(yt_str(&d.doc[0], "clusters.2.cluster.server"), "https://192.168.39.10:8443", "with the server");
		is_str(yt_str(&d.doc[0], "clusters.2.cluster.certificate-authority-data"), "Q0EK", "and the CA data");
		is_str(yt_str(&d.doc[0], "users.2.user.client-key-data"), "S0VZCg==", "the user is appended");
		is_str(yt_str(&d.doc[0], "users.0.name"), "josé", "the UTF-8 user is intact");
		is_str(yt_str(&d.doc[0], "contexts.1.context.cluster"), "dev", "the context is appended");
		is_str(yt_str(&d.doc[0], "current-context"), "prod", "--keep-context keeps current-context");
		yt_free(&d);
	}
	contains(merged,
		 "# end of clusters\n"
		 "users:\n", "the comment after the last cluster stays where it was");
	contains(merged,
		 "    insecure-skip-tls-verify: true\n"
		 "- name: dev\n"
		 "  cluster:\n"
		 "    certificate-authority-data: Q0EK\n"
		 "    server: https://192.168.39.10:8443\n"
		 "# end of clusters\n", "the cluster follows the last one, at its indentation");
	contains(merged,
		 "        args: [get-token]\n"
		 "  - name: dev\n"
		 "    user:\n"
		 "      client-certificate-data: Q0VSVAo=\n"
		 "      client-key-data: S0VZCg==\n"
		 "contexts:\n", "the user follows the last one, at the users' indentation");
	kubectl_reads(path, "the merged file");
	if (have_kubectl) {
		_cleanup_free_ char *o = kubectl_q(path, "{.contexts[?(@.name==\"dev\")].context.user} {.users[?(@.name==\"josé\")].user.token}");
		is_str(o, "dev 12345", "kubectl sees the new context and the UTF-8 user");
	}

	ok(vk_kubeconfig_merge(path, &fake_dev, false, &err) == 0, "merge the same again");
	again = slurp(path);
	is_str(again, merged, "re-merging changes no byte (no duplicate, nothing moved)");

	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "merge, setting the context");
	set = slurp(path);
	{
		_cleanup_free_ char *want = xstrdup(merged);
		char *at = strstr(want, "current-context: prod");

		if (at)
			memcpy(at, "current-context: dev ", strlen("current-context: dev "));
		/* "prod" -> "dev": one byte shorter; the comment moves left by one */
		ok(at != NULL, "the file had current-context: prod");
		contains(set, "current-context: dev   # the safe default\n", "current-context is replaced, its comment kept");
		is_int((int)strlen(set), (int)strlen(merged) - 1, "and nothing else changed in length");
	}
	ok(vk_kubeconfig_merge(path, &fake_dev, false, &err) == 0 &&
	   vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "remove the entries again");
	is_str(vk_kubeconfig_last_path, "text", "remove takes the text path");
	removed_text = slurp(path);
	{
		/* current-context was dev: remove cleared it */
		_cleanup_free_ char *want = xstrdup(commented_text);
		_cleanup_strbuf_ struct vk_strbuf sb = VK_STRBUF_INIT;
		char *at = strstr(want, "current-context: prod");

		*at = '\0';
		vk_strbuf_addf(&sb, "%scurrent-context: \"\"%s", want, at + strlen("current-context: prod"));
		is_str(removed_text, sb.buf, "after remove the file is the original byte for byte (current-context cleared)");
	}
	spit(path, commented_text);
	ok(vk_kubeconfig_merge(path, &fake_dev, false, &err) == 0 && vk_kubeconfig_remove(path, "dev", &removed, &err) == 0,
	   "merge with --keep-context, then remove");
	{
		_cleanup_free_ char *t = slurp(path);
		is_str(t, commented_text, "the file is the original byte for byte");
	}
}

/* Parts of the file below that a merge leaves as they are. */
#define PROD_CLUSTER                                                                                                   \
	"\n"                                                                                                           \
	"preferences: {}\n"                                                                                            \
	"clusters:\n"                                                                                                  \
	"# the production cluster\n"                                                                                   \
	"- name: prod\n"                                                                                               \
	"  cluster:\n"                                                                                                 \
	"    server: https://prod:6443\n"
#define DEV_CONTEXT                                                                                                    \
	"contexts:\n"                                                                                                  \
	"- context:\n"                                                                                                 \
	"    cluster: dev\n"                                                                                           \
	"    user: dev\n"                                                                                              \
	"    namespace: team-a  # mine\n"                                                                              \
	"  name: dev\n"                                                                                                \
	"apiVersion: v1\n"

/* The profile's own stale entry is edited where it stands. */
static void test_text_edits_entry(const char *tmp)
{
	static const char before[] =
		"# top comment\n"
		"kind: Config\n"
		"current-context: prod   # default\n"
		PROD_CLUSTER
		"- name: dev\n"
		"  cluster:\n"
		"    # where dev lives\n"
		"    server: https://10.0.0.1:8443\n"
		"    certificate-authority: /old/ca.crt   # old path\n"
		"    extensions:\n"
		"    - name: x\n"
		"      extension: {a: 1}\n"
		"  # after dev\n"
		"users:\n"
		"  - name: dev\n"
		"    user:\n"
		"      client-key: /old/client.key\n"
		"      username: bob\n"
		DEV_CONTEXT;
	static const char after[] =
		"# top comment\n"
		"kind: Config\n"
		"current-context: dev   # default\n"
		PROD_CLUSTER
		"- name: dev\n"
		"  cluster:\n"
		"    # where dev lives\n"
		"    server: https://192.168.39.10:8443\n"
		"    extensions:\n"
		"    - name: x\n"
		"      extension: {a: 1}\n"
		"    certificate-authority-data: Q0EK\n"
		"  # after dev\n"
		"users:\n"
		"  - name: dev\n"
		"    user:\n"
		"      client-certificate-data: Q0VSVAo=\n"
		"      client-key-data: S0VZCg==\n"
		DEV_CONTEXT;
	static const char removed_want[] =
		"# top comment\n"
		"kind: Config\n"
		"current-context: \"\"   # default\n"
		PROD_CLUSTER
		"  # after dev\n"
		"users: []\n"
		"contexts: []\n"
		"apiVersion: v1\n";
	_cleanup_free_ char *path = xasprintf("%s/stale-entry", tmp);
	struct vk_error err = { 0 };
	enum vk_kubeconfig_state st;
	struct yt_docs d;
	bool removed;

	spit(path, before);
	ok(vk_kubeconfig_check(path, &fake_dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_MISCONFIGURED,
	   "check: a stale entry is Misconfigured");
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "merge over a stale entry (%s)", err.message);
	is_str(vk_kubeconfig_last_path, "text", "on the text path");
	{
		_cleanup_free_ char *t = slurp(path);
		is_str(t, after, "values replaced in place, conflicting keys dropped, missing ones appended, the rest kept");
	}
	ok(vk_kubeconfig_check(path, &fake_dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_CONFIGURED,
	   "check: Configured (%s path)", vk_kubeconfig_last_path);
	kubectl_reads(path, "the edited file");
	ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "remove");
	{
		_cleanup_free_ char *t = slurp(path);
		is_str(t, removed_want, "lists left empty read [], everything else stays");
	}
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "merge into the emptied lists");
	is_str(vk_kubeconfig_last_path, "text", "on the text path");
	{
		_cleanup_free_ char *t = slurp(path);

		contains(t, "users:\n- name: dev\n  user:\n    client-certificate-data: Q0VSVAo=\n",
			 "an emptied list gets the entry at the indentation of the file's other list (clusters)");
		ok(t && yt_load(&d, t) == 1, "the result parses");
		if (d.n == 1) {
			is_str(yt_str(&d.doc[0], "contexts.0.context.user"), "dev", "the context is there");
			is_str(yt_str(&d.doc[0], "users.0.user.client-key-data"), "S0VZCg==", "the user is there");
			yt_free(&d);
		}
	}
	kubectl_reads(path, "the refilled file");
}

/* Whether node A of DA and node B of DB hold the same data (scalars by
 * value, mappings in order); where not, *WHERE says which path differs. */
static bool same_tree(yaml_document_t *da, yaml_node_t *a, yaml_document_t *db, yaml_node_t *b, struct vk_strbuf *where)
{
	if (!a || !b || a->type != b->type)
		return false;
	switch (a->type) {
	case YAML_SCALAR_NODE:
		return a->data.scalar.length == b->data.scalar.length &&
		       memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
	case YAML_SEQUENCE_NODE: {
		long n = a->data.sequence.items.top - a->data.sequence.items.start;

		if (n != b->data.sequence.items.top - b->data.sequence.items.start)
			return false;
		for (long i = 0; i < n; i++) {
			if (!same_tree(da, yaml_document_get_node(da, a->data.sequence.items.start[i]), db,
				       yaml_document_get_node(db, b->data.sequence.items.start[i]), where)) {
				vk_strbuf_addf(where, "<-[%ld]", i);
				return false;
			}
		}
		return true;
	}
	case YAML_MAPPING_NODE: {
		long n = a->data.mapping.pairs.top - a->data.mapping.pairs.start;

		if (n != b->data.mapping.pairs.top - b->data.mapping.pairs.start)
			return false;
		for (long i = 0; i < n; i++) {
			yaml_node_pair_t *pa = &a->data.mapping.pairs.start[i], *pb = &b->data.mapping.pairs.start[i];

			if (!same_tree(da, yaml_document_get_node(da, pa->key), db, yaml_document_get_node(db, pb->key), where) ||
			    !same_tree(da, yaml_document_get_node(da, pa->value), db, yaml_document_get_node(db, pb->value), where)) {
				yaml_node_t *k = yaml_document_get_node(da, pa->key);

				vk_strbuf_addf(where, "<-%s", k && k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : "?");
				return false;
			}
		}
		return true;
	}
	default:
		return false;
	}
}

/* Merges (SET_CURRENT) and then removes the profile in TEXT on the text path
 * and on the document path; the results must hold the same data. */
static void paths_agree(const char *tmp, const char *what, const char *text, bool set_current)
{
	_cleanup_free_ char *path = xasprintf("%s/agree", tmp);
	struct vk_error err = { 0 };
	bool removed;

	for (int step = 0; step < 2; step++) {
		char *out[2] = { NULL, NULL };
		_cleanup_strbuf_ struct vk_strbuf where = VK_STRBUF_INIT;
		const char *took[2] = { "", "" };
		struct yt_docs d[2];
		bool same = false;

		for (int way = 0; way < 2; way++) {
			int rc;

			spit(path, text);
			vk_kubeconfig_force_document = way == 1;
			rc = vk_kubeconfig_merge(path, &fake_dev, set_current, &err);
			if (rc == 0 && step == 1)
				rc = vk_kubeconfig_remove(path, "dev", &removed, &err);
			vk_kubeconfig_force_document = false;
			took[way] = vk_kubeconfig_last_path;
			out[way] = rc == 0 ? slurp(path) : NULL;
		}
		if (out[0] && out[1] && yt_load(&d[0], out[0]) == 1) {
			if (yt_load(&d[1], out[1]) == 1) {
				same = same_tree(&d[0].doc[0], yaml_document_get_root_node(&d[0].doc[0]), &d[1].doc[0],
						 yaml_document_get_root_node(&d[1].doc[0]), &where);
				yt_free(&d[1]);
			}
			yt_free(&d[0]);
		}
		ok(same && strcmp(took[0], "text") == 0, "%s: %s on the text path holds what the document path writes%s%s", what,
		   step ? "merge+remove" : "merge", where.len ? ": differs at " : "", where.buf);
		free(out[0]);
		free(out[1]);
	}
}

/* What goes to the document path, and what the text path takes on too. */
static void test_text_shapes(const char *tmp)
{
	static const struct {
		const char *name, *text, *path;
	} cases[] = {
		{ "flow list", "apiVersion: v1\nkind: Config\nclusters: [{name: a, cluster: {server: 'https://a:1'}}]\n", "document" },
		{ "anchors", "apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user: &u {token: x}\n- name: b\n  user: *u\n", "document" },
		{ "flow item", "apiVersion: v1\nkind: Config\nclusters:\n- {name: a, cluster: {server: 'https://a:1'}}\n", "document" },
		{ "flow entry", "apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster: {server: 'https://a:1'}\n", "document" },
		{ "tag", "apiVersion: v1\nkind: Config\nclusters: !!seq\n- name: a\n  cluster:\n    server: x\n", "document" },
		{ "explicit end", "apiVersion: v1\nkind: Config\n...\n", "document" },
		{ "empty file", "", "document" },
		{ "comment only", "# nothing yet\n", "document" },
		{ "CRLF", "apiVersion: v1\r\nkind: Config\r\n", "document" },
		{ "null lists", "apiVersion: v1\nkind: Config\nclusters:\nusers: null # none yet\ncontexts: ~\n", "text" },
		{ "empty flow lists", "apiVersion: v1\nkind: Config\nclusters: []\nusers: [ ]   # none\ncontexts: []\n", "text" },
		{ "no lists", "# new\napiVersion: v1\nkind: Config\n", "text" },
		{ "no final newline", "apiVersion: v1\nkind: Config\npreferences: {}", "text" },
		{ "explicit start", "---\napiVersion: v1\nkind: Config\n", "text" },
		{ "indented", "apiVersion: v1\nkind: Config\nclusters:\n    -   name: a\n        cluster:\n            server: x\n", "text" },
	};
	struct vk_error err = { 0 };

	for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = xasprintf("%s/shape-%zu", tmp, i);
		_cleanup_free_ char *t = NULL;
		struct yt_docs d;
		bool removed;

		spit(path, cases[i].text);
		ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "%s: merge works (%s)", cases[i].name, err.message);
		is_str(vk_kubeconfig_last_path, cases[i].path, "%s: on the %s path", cases[i].name, cases[i].path);
		t = slurp(path);
		ok(t && yt_load(&d, t) == 1, "%s: the result parses", cases[i].name);
		if (d.n == 1) {
			long n = yt_len(&d.doc[0], "clusters");
			char key[64];

			snprintf(key, sizeof(key), "clusters.%ld.cluster.server", n - 1);
			is_str(yt_str(&d.doc[0], key), "https://192.168.39.10:8443", "%s: the profile's cluster is last", cases[i].name);
			is_str(yt_str(&d.doc[0], "current-context"), "dev", "%s: current-context is set", cases[i].name);
			yt_free(&d);
		}
		if (strcmp(cases[i].path, "text") == 0 && strncmp(cases[i].text, "#", 1) == 0)
			contains(t, cases[i].text, "%s: the original text is all there", cases[i].name);
		if (strcmp(cases[i].path, "text") == 0)
			paths_agree(tmp, cases[i].name, cases[i].text, true);
		kubectl_reads(path, cases[i].name);
		ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "%s: remove works", cases[i].name);
		free(t);
		t = slurp(path);
		ok(t && yt_load(&d, t) == 1 && yt_len(&d.doc[0], "contexts") <= 0, "%s: and leaves no context", cases[i].name);
		if (d.n == 1)
			yt_free(&d);
	}
}

static void test_paths_agree(const char *tmp)
{
	static const char stale[] = "# top comment\nkind: Config\ncurrent-context: prod   # default\n" PROD_CLUSTER
				    "- name: dev\n  cluster:\n    certificate-authority: /x\n    server: https://x\n"
				    "    extensions:\n    - name: e\n      extension: {a: 1}\n"
				    "users:\n- name: dev\n  user:\n    token: t\n    client-key-data: old\n" DEV_CONTEXT;

	paths_agree(tmp, "busy file, keep context", busy_text, false);
	paths_agree(tmp, "busy file", busy_text, true);
	paths_agree(tmp, "commented file", commented_text, true);
	paths_agree(tmp, "commented file, keep context", commented_text, false);
	paths_agree(tmp, "stale entry", stale, true);
}

/* check gives the same answers on both paths. */
static void test_check_paths(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	static const char *const texts[] = {
		busy_text,
		"apiVersion: v1\nkind: Config\ncontexts:\n- name: dev\n  context: {cluster: dev, user: other}\n",
		"apiVersion: v1\nkind: Config\ncontexts:\n- name: dev\n  context: {cluster: dev, user: dev}\nclusters:\n- name: dev\n",
		"apiVersion: v1\nkind: Config\ncontexts:\n- name: other\n  context: {cluster: dev, user: dev}\n",
	};
	_cleanup_free_ char *path = xasprintf("%s/check-paths", tmp);
	struct vk_error err = { 0 };

	for (size_t i = 0; i < VK_ARRAY_SIZE(texts); i++) {
		enum vk_kubeconfig_state st[2];
		_cleanup_free_ char *why0 = NULL, *why1 = NULL;
		int rc0, rc1;

		spit(path, texts[i]);
		rc0 = vk_kubeconfig_check(path, dev, &st[0], &why0, &err);
		vk_kubeconfig_force_document = true;
		rc1 = vk_kubeconfig_check(path, dev, &st[1], &why1, &err);
		vk_kubeconfig_force_document = false;
		ok(rc0 == 0 && rc1 == 0 && st[0] == st[1] && strcmp(why0 ? why0 : "", why1 ? why1 : "") == 0,
		   "check %zu: text and document paths agree (%s, %s)", i, vk_kubeconfig_state_name(st[0]), why0 ? why0 : "-");
	}
	spit(path, "apiVersion: v1\nkind: Config\n");
	ok(vk_kubeconfig_merge(path, dev, true, &err) == 0, "merge for check");
	{
		enum vk_kubeconfig_state st;

		ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) == 0 && st == VK_KUBECONFIG_CONFIGURED &&
		   strcmp(vk_kubeconfig_last_path, "text") == 0, "check reads a file virtkube wrote on the text path: Configured");
	}
}

/* ---- kubectl's lock ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *hook_kubeconfig;
static int hook_rc = -2;
static char *hook_out;

/* Runs while virtkube writes the kubeconfig, with its locks held. */
static void kubectl_during_write(const char *tmp_path)
{
	(void)tmp_path;
	free(hook_out);
	hook_out = sh(&hook_rc, "KUBECONFIG='%s' kubectl config set-context intruder --cluster=x 2>&1", hook_kubeconfig);
}

static void test_kubectl_lock(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/locked", tmp);
	_cleanup_free_ char *lock = xasprintf("%s/locked.lock", tmp);
	const char *text = "apiVersion: v1\nkind: Config\n";
	long saved = vk_kubeconfig_lock_timeout_ms;
	struct vk_error err = { 0 };
	double t0, waited;
	bool removed;
	pid_t pid;
	int st;

	spit(path, text);
	spit(lock, ""); /* as kubectl leaves it while it writes: empty */
	vk_kubeconfig_lock_timeout_ms = 300;
	t0 = now_s();
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) < 0 && err.code == VK_ERR_BUSY, "a held kubectl lock makes merge fail");
	waited = now_s() - t0;
	ok(waited >= 0.29 && waited < 5, "after waiting for it (%.2f s, timeout 0.3 s)", waited);
	contains(err.message, lock, "the message names the lock file");
	contains(err.hint, "remove", "the hint says a stale one can be removed (%s)", err.hint);
	ok(vk_path_exists(lock), "a lock virtkube did not create is left alone");
	{
		_cleanup_free_ char *t = slurp(path);
		is_str(t, text, "the kubeconfig is untouched");
	}
	ok(vk_kubeconfig_remove(path, "dev", &removed, &err) < 0 && err.code == VK_ERR_BUSY, "remove waits for it too, then fails");
	{
		struct timespec old[2] = { { .tv_sec = time(NULL) - 600 }, { .tv_sec = time(NULL) - 600 } };

		utimensat(AT_FDCWD, lock, old, 0);
		ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) < 0, "a lock ten minutes old is not removed either");
		contains(err.message, "lock file, 60", "the message gives its age (600 s, or 601 on a slow run)");
		contains(err.hint, "likely stale", "and the hint says it is likely stale (%s)", err.hint);
		ok(vk_path_exists(lock), "it is still there");
	}
	unlink(lock);
	vk_error_clear(&err);

	/* kubectl finishes while virtkube waits */
	vk_kubeconfig_lock_timeout_ms = 10000;
	spit(lock, "");
	pid = fork();
	if (pid == 0) {
		usleep(300 * 1000);
		unlink(lock);
		_exit(0);
	}
	t0 = now_s();
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "merge waits for kubectl to drop its lock (%s)", err.message);
	waited = now_s() - t0;
	ok(waited >= 0.25, "and went on after it did (%.2f s)", waited);
	waitpid(pid, &st, 0);
	ok(!vk_path_exists(lock), "merge leaves no lock file behind");

	/* one left by a virtkube that died is provably stale */
	spit(lock, "virtkube pid 999999\n");
	ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "a lock left by a dead virtkube is taken over");
	ok(!vk_path_exists(lock), "and removed");

	/* error paths remove the lock too */
	spit(path, "apiVersion: v1\nclusters: [unclosed\n");
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) < 0, "merge into an unparsable file fails");
	ok(!vk_path_exists(lock), "and leaves no lock file behind");

	/* kubectl itself sees virtkube's lock while virtkube writes */
	if (!have_kubectl) {
		printf("ok %d - # SKIP kubectl is not installed\n", ++tap_count);
	} else {
		spit(path, text);
		hook_kubeconfig = path;
		vk_fs_before_rename_hook = kubectl_during_write;
		ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "merge with kubectl trying to write meanwhile");
		vk_fs_before_rename_hook = NULL;
		ok(hook_rc != 0 && hook_out && strstr(hook_out, ".lock"), "kubectl was kept out by the lock (rc %d: %s)", hook_rc,
		   hook_out ? hook_out : "");
		ok(!vk_path_exists(lock), "the lock is gone afterwards");
		free(sh(&st, "KUBECONFIG='%s' kubectl config set-context intruder --cluster=x >/dev/null 2>&1", path));
		is_int(st, 0, "and kubectl can write again");
		free(hook_out);
		hook_out = NULL;
	}
	vk_kubeconfig_lock_timeout_ms = saved;
}

static void test_aliases(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	_cleanup_free_ char *path = xasprintf("%s/alias", tmp);
	struct vk_error err = { 0 };
	struct yt_docs d;

	spit(path,
	     "apiVersion: v1\nkind: Config\nusers:\n"
	     "- name: other\n  user: &shared\n    client-certificate: /x.crt\n    client-key: /x.key\n"
	     "- name: dev\n  user: *shared\n");
	ok(vk_kubeconfig_merge(path, dev, true, &err) == 0, "merge where the profile's user is an alias of another");
	{
		_cleanup_free_ char *t = slurp(path);

		ok(t && yt_load(&d, t) == 1, "the result parses");
		is_str(yt_str(&d.doc[0], "users.0.user.client-certificate"), "/x.crt", "the aliased user is not changed through the alias");
		ok(yt_str(&d.doc[0], "users.1.user.client-certificate-data") != NULL, "the profile's user got its data");
		yt_free(&d);
	}
}

static void test_bad_files(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	struct {
		const char *name;
		const char *text;
		const char *want;
	} cases[] = {
		{ "unparsable", "apiVersion: v1\nclusters:\n- name: a\n   cluster: [unclosed\nusers: {\n", "line " },
		{ "tab", "apiVersion: v1\n\tkind: Config\n", "cannot parse" },
		{ "toplist", "- a\n- b\n", "the top level is a list" },
		{ "topscalar", "just a string\n", "the top level is a scalar" },
		{ "clustersmap", "apiVersion: v1\nkind: Config\nclusters:\n  dev: {}\n", "'clusters' is a mapping" },
		{ "kindpod", "apiVersion: v1\nkind: Pod\n", "kind is 'Pod'" },
		{ "twodocs", "apiVersion: v1\nkind: Config\n---\napiVersion: v1\nkind: Config\n", "more than one YAML document" },
	};
	struct vk_error err = { 0 };

	for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = xasprintf("%s/bad-%s", tmp, cases[i].name);
		_cleanup_free_ char *backup = xasprintf("%s.virtkube-backup", path);
		_cleanup_free_ char *after = NULL;
		enum vk_kubeconfig_state st;
		bool removed;

		spit(path, cases[i].text);
		ok(vk_kubeconfig_merge(path, dev, true, &err) < 0 && err.code == VK_ERR_PARSE, "%s: merge refuses it", cases[i].name);
		contains(err.message, path, "%s: the message names the file", cases[i].name);
		contains(err.message, cases[i].want, "%s: and says what is wrong", cases[i].name);
		ok(err.hint[0] != '\0', "%s: with a hint (%s)", cases[i].name, err.hint);
		ok(vk_kubeconfig_remove(path, "dev", &removed, &err) < 0, "%s: remove refuses it too", cases[i].name);
		ok(vk_kubeconfig_check(path, dev, &st, NULL, &err) < 0, "%s: check reports an error", cases[i].name);
		after = slurp(path);
		ok(after && strcmp(after, cases[i].text) == 0, "%s: the file is untouched", cases[i].name);
		ok(!vk_path_exists(backup), "%s: no backup is made", cases[i].name);
	}
	{
		_cleanup_free_ char *path = xasprintf("%s/bad-unparsable", tmp);

		vk_kubeconfig_merge(path, dev, true, &err);
		contains(err.message, "line 4", "the parse error points at line 4");
	}
	{
		_cleanup_free_ char *dir = xasprintf("%s/adir", tmp);

		vk_mkdir_p(dir, 0700, NULL);
		ok(vk_kubeconfig_merge(dir, dev, true, &err) < 0, "a directory is refused");
		contains(err.message, "is a directory", "and the message says so");
		contains(err.hint, "KUBECONFIG", "the hint mentions $KUBECONFIG");
	}
	{
		_cleanup_free_ char *ro = xasprintf("%s/readonly", tmp);
		_cleanup_free_ char *after = NULL;
		bool removed;

		spit(ro, "apiVersion: v1\nkind: Config\n");
		chmod(ro, 0400);
		ok(vk_kubeconfig_merge(ro, dev, true, &err) < 0, "a read-only file is refused");
		contains(err.message, "read-only", "and the message says so");
		ok(vk_kubeconfig_remove(ro, "dev", &removed, &err) < 0, "remove refuses a read-only file too");
		after = slurp(ro);
		is_str(after, "apiVersion: v1\nkind: Config\n", "the read-only file is untouched");
		is_int(mode_of(ro), 0400, "and keeps its mode");
	}
}

static void test_symlink(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	_cleanup_free_ char *target = xasprintf("%s/dotfiles-kubeconfig", tmp);
	_cleanup_free_ char *link = xasprintf("%s/linked-config", tmp);
	struct vk_error err = { 0 };
	struct stat st;

	spit(target, "apiVersion: v1\nkind: Config\n");
	if (symlink(target, link) < 0) {
		printf("ok %d - # SKIP cannot make a symlink\n", ++tap_count);
		return;
	}
	ok(vk_kubeconfig_merge(link, dev, true, &err) == 0, "merge through a symlink");
	ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symlink stays a symlink");
	{
		_cleanup_free_ char *t = slurp(target);
		contains(t, "name: dev", "the target got the entries");
	}
}

static void test_paths(const char *tmp)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *saved = getenv("KUBECONFIG") ? xstrdup(getenv("KUBECONFIG")) : NULL;
	_cleanup_free_ char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	char *p;

	setenv("KUBECONFIG", "/a/one:/b/two", 1);
	p = vk_kubeconfig_path(&err);
	is_str(p, "/a/one", "$KUBECONFIG with several files: the first is written");
	free(p);
	setenv("KUBECONFIG", "::/c/three:/d", 1);
	p = vk_kubeconfig_path(&err);
	is_str(p, "/c/three", "empty entries are skipped");
	free(p);
	unsetenv("KUBECONFIG");
	setenv("HOME", tmp, 1);
	p = vk_kubeconfig_path(&err);
	{
		_cleanup_free_ char *want = xasprintf("%s/.kube/config", tmp);
		is_str(p, want, "no $KUBECONFIG: ~/.kube/config");
	}
	free(p);
	if (saved)
		setenv("KUBECONFIG", saved, 1);
	if (home)
		setenv("HOME", home, 1);
}

static void test_several_files(const char *tmp, struct vk_kubeconfig_entry *dev)
{
	_cleanup_free_ char *first = xasprintf("%s/multi-first", tmp);
	_cleanup_free_ char *second = xasprintf("%s/multi-second", tmp);
	_cleanup_free_ char *env = xasprintf("%s:%s", first, second);
	_cleanup_free_ char *second_text = xstrdup(busy_text);
	struct vk_error err = { 0 };
	_cleanup_free_ char *path = NULL;
	int rc;

	spit(second, second_text);
	setenv("KUBECONFIG", env, 1);
	path = vk_kubeconfig_path(&err);
	ok(path && vk_kubeconfig_merge(path, dev, true, &err) == 0, "merge with $KUBECONFIG naming two files");
	{
		_cleanup_free_ char *t = slurp(second);
		is_str(t, second_text, "the second file is not touched");
	}
	ok(vk_path_exists(first), "the first file is created");
	if (have_kubectl) {
		_cleanup_free_ char *o = sh(&rc, "kubectl config get-contexts -o name 2>&1 | sort | tr '\\n' ' '");
		is_str(o, "dev prod ", "kubectl sees the contexts of both files");
		free(sh(&rc, "kubectl config current-context >/dev/null 2>&1"));
		is_int(rc, 0, "and a current context");
	}
	unsetenv("KUBECONFIG");
}

static void test_concurrent(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/concurrent", tmp);
	struct vk_kubeconfig_entry e[2];
	const char *names[2] = { "alpha", "beta" };
	const int rounds = 20;
	pid_t pids[2];
	int st, good = 0;
	struct vk_error err = { 0 };
	struct yt_docs d;

	make_entry("alpha", "10.1.0.2", &e[0]);
	make_entry("beta", "10.2.0.2", &e[1]);
	spit(path, busy_text);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int r = 0; r < rounds; r++) {
				bool removed;

				if (vk_kubeconfig_merge(path, &e[i], true, &err) < 0)
					_exit(1);
				if (r < rounds - 1 && vk_kubeconfig_remove(path, names[i], &removed, &err) < 0)
					_exit(2);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++)
		if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			good++;
	is_int(good, 2, "two processes merging and removing %d times each at once both succeed", rounds);
	{
		_cleanup_free_ char *t = slurp(path);
		bool a = false, b = false;

		ok(t && yt_load(&d, t) == 1, "the result parses");
		for (long i = 0; i < yt_len(&d.doc[0], "contexts"); i++) {
			char p[64];
			const char *n;

			snprintf(p, sizeof(p), "contexts.%ld.name", i);
			n = yt_str(&d.doc[0], p);
			a |= n && strcmp(n, "alpha") == 0;
			b |= n && strcmp(n, "beta") == 0;
		}
		ok(a && b, "both processes' contexts survive");
		is_int(yt_len(&d.doc[0], "contexts"), 4, "and nothing else was lost or doubled (prod, dev, alpha, beta)");
		is_int(yt_len(&d.doc[0], "clusters"), 5, "five clusters");
		yt_free(&d);
	}
	vk_kubeconfig_entry_clear(&e[0]);
	vk_kubeconfig_entry_clear(&e[1]);
}

/* ---- what the fuzzer found (tests/fuzz/corpus/kubeconfig/regress-*) ------------ */

static void spit_n(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

/* Whether the list under KEY has an item named NAME. */
static bool has_named(yaml_document_t *doc, const char *key, const char *name)
{
	for (long i = 0; i < yt_len(doc, key); i++) {
		char p[64];
		const char *n;

		snprintf(p, sizeof(p), "%s.%ld.name", key, i);
		n = yt_str(doc, p);
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/* The oracle of tests/fuzz/fuzz-kubeconfig.c for one input: merge works, the
 * result parses and checks Configured, a second merge changes no byte,
 * remove leaves no entry, and kubectl reads both results. */
static void merge_oracle(const char *tmp, const char *what, const char *data, size_t len, const char *way)
{
	_cleanup_free_ char *path = xasprintf("%s/found", tmp);
	struct vk_error err = { 0 };

	for (int set_current = 0; set_current < 2; set_current++) {
		_cleanup_free_ char *first = NULL, *second = NULL, *after = NULL;
		enum vk_kubeconfig_state state = VK_KUBECONFIG_NONEXISTENT;
		struct yt_docs d = { 0 };
		bool removed = false;
		int rc;

		spit_n(path, data, len);
		ok(vk_kubeconfig_merge(path, &fake_dev, set_current, &err) == 0, "%s%s: merge works (%s)", what,
		   set_current ? "" : ", keep context", err.message);
		is_str(vk_kubeconfig_last_path, way, "%s: on the %s path", what, way);
		first = slurp(path);
		ok(first && yt_load(&d, first) == 1, "%s: the merged file parses (line %d)", what, d.error_line);
		yt_free(&d);
		rc = vk_kubeconfig_check(path, &fake_dev, &state, NULL, &err);
		ok(rc == 0 && state == VK_KUBECONFIG_CONFIGURED, "%s: check says Configured (%s)", what,
		   vk_kubeconfig_state_name(state));
		kubectl_reads(path, what);
		ok(vk_kubeconfig_merge(path, &fake_dev, set_current, &err) == 0, "%s: a second merge works", what);
		second = slurp(path);
		is_str(second, first, "%s: and changes no byte", what);
		ok(vk_kubeconfig_remove(path, "dev", &removed, &err) == 0 && removed, "%s: remove works (%s)", what, err.message);
		after = slurp(path);
		ok(after && yt_load(&d, after) == 1 && !has_named(&d.doc[0], "contexts", "dev") &&
			   !has_named(&d.doc[0], "clusters", "dev") && !has_named(&d.doc[0], "users", "dev"),
		   "%s: and leaves no entry", what);
		yt_free(&d);
		kubectl_reads(path, "the file after remove");
	}
}

static void test_fuzz_findings(const char *tmp)
{
	static const char utf16le[] = "\xff\xfe"
				      "k\0i\0n\0d\0:\0 \0C\0o\0n\0f\0i\0g\0\n\0"
				      "u\0s\0e\0r\0s\0:\0\n\0-\0 \0n\0a\0m\0e\0:\0 \0j\0o\0\xe9\0\n\0";
	static const char utf16be[] = "\xfe\xff"
				      "\0k\0i\0n\0d\0:\0 \0C\0o\0n\0f\0i\0g\0\n";
	_cleanup_free_ char *path = xasprintf("%s/found", tmp);
	struct vk_error err = { 0 };

	/* The last item of a list is a bare "-" with no newline: the merged
	 * entries went in before it, leaving it dangling after current-context. */
	merge_oracle(tmp, "a bare '-' at the end", "::\n-", 4, "text");
	merge_oracle(tmp, "a bare '-' at the end, named key", "a:\n-", 4, "text");
	merge_oracle(tmp, "a bare '-' before a comment", "kind: Config\nx:\n-\n# end\n", 23, "text");
	/* Tabs between a list's key and its ':' hid the ':' from remove's text
	 * path; the document path then wrote {a::1} as {'a::1': ''}, turning a
	 * null into a string, and its proof refused: remove failed. */
	{
		static const char tabbed[] = "kitension: {a::1}\nusers\t\t:\n- name: dev\n  user:\n    token: t\n";

		merge_oracle(tmp, "tabs before a list's ':'", tabbed, sizeof(tabbed) - 1, "text");
	}
	{
		static const char nulls[] = "x: {a: , b: ~}\nclusters: [{name: a}]\n";
		_cleanup_free_ char *t = NULL;
		struct yt_docs d;

		merge_oracle(tmp, "empty values in a flow mapping", nulls, sizeof(nulls) - 1, "document");
		spit(path, nulls);
		vk_kubeconfig_merge(path, &fake_dev, true, &err);
		t = slurp(path);
		ok(t && yt_load(&d, t) == 1 && yt_style(&d.doc[0], "x.a") == YAML_PLAIN_SCALAR_STYLE, "the document path keeps a null a null");
		if (d.n == 1)
			yt_free(&d);
	}
	/* The items of one list indented differently: the new entry's inner
	 * mapping went to the depth of another item's, level with its own keys
	 * (the proof caught it; the document path wrote the file). */
	{
		static const char mixed[] = "kind: Config\nclusters:\n-   name: a\n    x: 1\n- name: b\n  cluster:\n    server: https://b\n";
		_cleanup_free_ char *t = NULL;

		merge_oracle(tmp, "list items indented differently", mixed, sizeof(mixed) - 1, "text");
		spit(path, mixed);
		vk_kubeconfig_merge(path, &fake_dev, true, &err);
		t = slurp(path);
		contains(t, "-   name: dev\n    cluster:\n      certificate-authority-data:", "the new item follows the first one's layout");
	}
	/* libyaml reads UTF-16 after a byte order mark; splices of UTF-8 broke it. */
	merge_oracle(tmp, "UTF-16LE with a byte order mark", utf16le, sizeof(utf16le) - 1, "document");
	merge_oracle(tmp, "UTF-16BE with a byte order mark", utf16be, sizeof(utf16be) - 1, "document");
	spit_n(path, utf16le, sizeof(utf16le) - 1);
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "a UTF-16 file is merged");
	{
		_cleanup_free_ char *t = slurp(path);

		ok(t && (unsigned char)t[0] != 0xff && strstr(t, "- name: jo\xc3\xa9\n"), "and written as UTF-8, its user kept");
	}
}

/* ---- the proof before every write ------------------------------------------------ */

static const char *tamper_way; /* which path's text to break */

static void tamper(const char *way, struct vk_strbuf *text)
{
	char *at;

	if (strcmp(way, tamper_way) != 0 && strcmp(tamper_way, "both") != 0)
		return;
	/* another cluster's server changes: the file would still parse */
	at = strstr(text->buf, "prod.example.com");
	if (at)
		*at = 'P';
}

static void test_proof(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/proof", tmp);
	_cleanup_free_ char *backup = xasprintf("%s/proof.virtkube-backup", tmp);
	struct vk_error err = { 0 };
	bool removed;

	vk_kubeconfig_test_tamper = tamper;
	tamper_way = "text";
	spit(path, commented_text);
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0, "a text edit that fails its proof: merge still works (%s)",
	   err.message);
	is_str(vk_kubeconfig_last_path, "document", "by the document path");
	{
		_cleanup_free_ char *t = slurp(path);

		contains(t, "https://prod.example.com:6443", "whose result keeps the other cluster as it was");
	}

	tamper_way = "both";
	spit(path, commented_text);
	unlink(backup);
	ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) < 0, "when both paths fail their proof, merge fails");
	contains(err.message, "does not read back as intended", "saying the new text does not read back (%s)", err.message);
	contains(err.message, "other than 'dev' changed", "and what differs");
	contains(err.hint, "untouched", "the hint says the file is untouched");
	{
		_cleanup_free_ char *t = slurp(path);

		is_str(t, commented_text, "the file is untouched");
		ok(!vk_path_exists(backup), "and no backup was made");
	}

	tamper_way = "text";
	spit(path, commented_text);
	vk_kubeconfig_test_tamper = NULL;
	vk_kubeconfig_merge(path, &fake_dev, true, &err);
	vk_kubeconfig_test_tamper = tamper;
	tamper_way = "both";
	{
		_cleanup_free_ char *before = slurp(path), *t = NULL;

		ok(vk_kubeconfig_remove(path, "dev", &removed, &err) < 0, "remove gets the same proof: it fails too");
		t = slurp(path);
		is_str(t, before, "and leaves the file untouched");
	}
	vk_kubeconfig_test_tamper = NULL;

	/* a merge that changes nothing writes nothing */
	{
		struct stat a, b;

		vk_kubeconfig_merge(path, &fake_dev, true, &err);
		stat(path, &a);
		ok(vk_kubeconfig_merge(path, &fake_dev, true, &err) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino,
		   "a merge that changes no byte does not replace the file");
	}
}

static void test_entry_load(void)
{
	struct vk_error err = { 0 };
	struct vk_kubeconfig_entry e;
	_cleanup_profile_ struct vk_profile *p = vk_profile_open("noip", true, &err);

	ok(vk_kubeconfig_entry_load(&e, p, &err) < 0 && err.code == VK_ERR_NOT_FOUND, "a profile without a node IP has no entry yet");
	contains(err.hint, "virtkube start -p noip", "the hint says to start it");
	vk_profile_set_str(&p->cfg.node_ip, "10.9.9.9");
	vk_profile_save(p, &err);
	ok(vk_kubeconfig_entry_load(&e, p, &err) < 0, "a profile without certificates has no entry");
	contains(err.message, "ca.crt", "the message names the missing file");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/vkhome", tmp);
	struct vk_kubeconfig_entry dev;
	struct vk_error err = { 0 };
	int rc;

	setenv("VIRTKUBE_HOME", home, 1);
	free(sh(&rc, "command -v kubectl >/dev/null 2>&1"));
	have_kubectl = rc == 0;
	make_entry("dev", "192.168.39.10", &dev);
	test_missing_and_empty(tmp, &dev);
	test_busy(tmp, &dev);
	test_aliases(tmp, &dev);
	test_text_preserves(tmp);
	test_text_edits_entry(tmp);
	test_text_shapes(tmp);
	test_paths_agree(tmp);
	test_check_paths(tmp, &dev);
	test_kubectl_lock(tmp);
	test_bad_files(tmp, &dev);
	test_symlink(tmp, &dev);
	test_paths(tmp);
	test_several_files(tmp, &dev);
	test_concurrent(tmp);
	test_fuzz_findings(tmp);
	test_proof(tmp);
	test_entry_load();
	vk_kubeconfig_entry_clear(&dev);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
