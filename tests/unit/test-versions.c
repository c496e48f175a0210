/* Unit tests for choosing the Kubernetes version (src/artifacts): the table, upstream's version files through a mirror on 127.0.0.1, offline and unreachable fallbacks, untested versions. */
#include <sys/stat.h>

#include "artifacts/artifacts.h"
#include "httpd-helper.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *tmp;
static char *www;
static struct httpd srv;
static struct vk_fetch_options fo;

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *path = vk_path_join(www, rel);
	_cleanup_free_ char *dir = xstrdup(path);

	*strrchr(dir, '/') = '\0';
	vk_mkdir_p(dir, 0755, NULL);
	vk_write_file_atomic(path, text, strlen(text), 0644, NULL);
}

/* Chooses INPUT against MIRROR (NULL: the test server), OFFLINE as given. */
static int choose(const char *input, const char *mirror, bool offline, struct vk_version_choice *c, struct vk_error *err)
{
	struct vk_version_request req = {
		.input = input, .mirror = mirror ? mirror : srv.base, .offline = offline, .fetch = &fo,
	};

	vk_version_choice_release(c);
	vk_error_clear(err);
	return vk_kubernetes_version_choose(&req, c, err);
}

/* The artifact of ID in a plan for VERSION (borrowed from the plan). */
static const struct vk_artifact *artifact(const struct vk_artifact_list *l, const char *id)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return &l->items[i];
	return NULL;
}

static void test_table(void)
{
	struct vk_version_choice c = { 0 };
	struct vk_error err = { 0 };
	_cleanup_free_ char *def = NULL;
	_cleanup_strv_ char **v = vk_kubernetes_versions(&def, &err);

	is_str(def, "v1.37.1", "the default is v1.37.1, the newest 1.37 patch confirmed upstream");
	is_str(v ? v[0] : NULL, "v1.37.1", "and the newest row");
	ok(choose(NULL, NULL, false, &c, &err) == 0 && c.tested && !c.note, "no version: the default, tested, no note");
	is_str(c.version, def, "it is the table's default");
	ok(choose("v1.36.4", NULL, false, &c, &err) == 0 && c.tested, "a version of the table is tested");
	is_str(c.version, "v1.36.4", "as given");
	ok(choose("1.35.9", NULL, false, &c, &err) == 0 && c.tested, "X.Y.Z without the v");
	is_str(c.version, "v1.35.9", "gets the v");
	is_int(httpd_count(&srv, "\"path\"", NULL), 0, "none of these asked upstream");
	ok(choose("junk", NULL, false, &c, &err) < 0 && err.code == VK_ERR_INVALID, "junk is refused");
	contains(err.message, "not a version", "saying why");
	contains(err.hint, "v1.37.1", "listing the supported versions");
	vk_version_choice_release(&c);
}

static void test_upstream(void)
{
	struct vk_version_choice c = { 0 };
	struct vk_error err = { 0 };
	struct vk_artifact_list *plan;

	put("release/stable.txt", "v1.37.1\n");
	ok(choose("stable", NULL, false, &c, &err) == 0, "stable from upstream's stable.txt");
	is_str(c.version, "v1.37.1", "its version");
	ok(c.tested && !c.note, "in the table: tested, no note");
	is_int(httpd_count(&srv, "\"/release/stable.txt\"", NULL), 1, "read through the mirror, path kept");

	put("release/stable.txt", "v1.38.2\n");
	ok(choose("stable", NULL, false, &c, &err) == 0 && !c.tested, "a newer upstream stable is accepted, untested");
	is_str(c.version, "v1.38.2", "upstream's answer");
	contains(c.note, "Kubernetes v1.38.2 (upstream's 'stable') is not in virtkube's tested table (v1.35.4 to v1.37.1)",
		 "with a note saying it is untested");
	plan = vk_artifacts_plan(c.version, false, &err);
	ok(plan && plan->n == 7, "an untested version has a plan of the seven files");
	contains(artifact(plan, "kubeadm") ? artifact(plan, "kubeadm")->url : NULL,
		 "https://dl.k8s.io/release/v1.38.2/bin/linux/amd64/kubeadm", "kubeadm of that version");
	contains(artifact(plan, "kubeadm") ? artifact(plan, "kubeadm")->checksum_url : NULL, "kubeadm.sha256",
		 "checked against its published checksum file");
	is_str(artifact(plan, "crictl") ? artifact(plan, "crictl")->version : NULL, "v1.37.0",
	       "crictl of the newest row for a minor newer than the table");
	is_str(artifact(plan, "containerd") ? artifact(plan, "containerd")->version : NULL, "2.3.4",
	       "containerd of the newest row");
	vk_artifact_list_free(plan);

	put("release/latest.txt", "v1.39.0-rc.1\n");
	ok(choose("latest", NULL, false, &c, &err) == 0 && !c.tested, "latest may be a release candidate");
	is_str(c.version, "v1.39.0-rc.1", "as upstream names it");

	put("release/stable-1.36.txt", "v1.36.7\n");
	ok(choose("1.36", NULL, false, &c, &err) == 0 && !c.tested, "1.36 from stable-1.36.txt, newer than the table's");
	is_str(c.version, "v1.36.7", "its version");
	plan = vk_artifacts_plan(c.version, false, &err);
	is_str(plan && artifact(plan, "crictl") ? artifact(plan, "crictl")->version : NULL, "v1.36.0",
	       "crictl of the table's row of that minor");
	vk_artifact_list_free(plan);
	put("release/stable-1.33.txt", "v1.33.9");
	ok(choose("v1.33", NULL, false, &c, &err) == 0 && !c.tested, "an older minor the table dropped, untested");
	plan = vk_artifacts_plan(c.version, false, &err);
	is_str(plan && artifact(plan, "crictl") ? artifact(plan, "crictl")->version : NULL, "v1.33.0",
	       "crictl of its own minor");
	vk_artifact_list_free(plan);

	put("release/v1.38.0/bin/linux/amd64/kubeadm.sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ok(choose("v1.38.0", NULL, false, &c, &err) == 0 && !c.tested, "an exact version the table lacks but upstream has");
	is_str(c.version, "v1.38.0", "is accepted");
	contains(c.note, "v1.38.0 is not in virtkube's tested table", "as untested");
	is_int(httpd_count(&srv, "\"/release/v1.38.0/bin/linux/amd64/kubeadm.sha256\"", NULL), 1,
	       "after finding its kubeadm.sha256 upstream");
	ok(choose("v9.9.9", NULL, false, &c, &err) < 0 && err.code == VK_ERR_INVALID, "one upstream lacks is refused");
	contains(err.message, "unsupported Kubernetes version 'v9.9.9': it is not in the table, and upstream has no such release",
		 "saying both");

	put("release/stable.txt", "<html>moved</html>\n");
	ok(choose("stable", NULL, false, &c, &err) == 0 && c.tested, "an answer that is not a version: the table");
	is_str(c.version, "v1.37.1", "its default");
	contains(c.note, "cannot ask upstream for 'stable'", "with a note");
	contains(c.note, "does not hold a version", "saying why");
	vk_version_choice_release(&c);
}

static void test_offline_and_unreachable(void)
{
	struct vk_version_choice c = { 0 };
	struct vk_error err = { 0 };
	int before = httpd_count(&srv, "\"path\"", NULL);
	/* nothing listens on the discard port */
	const char *closed = "http://127.0.0.1:9";

	ok(choose("stable", NULL, true, &c, &err) == 0 && c.tested, "--offline: stable is the table's default");
	is_str(c.version, "v1.37.1", "v1.37.1");
	contains(c.note, "--offline: 'stable' is v1.37.1 from virtkube's table", "saying so");
	ok(choose("latest", NULL, true, &c, &err) == 0, "--offline: latest");
	is_str(c.version, "v1.37.1", "is the table's newest row");
	ok(choose("1.36", NULL, true, &c, &err) == 0, "--offline: 1.36");
	is_str(c.version, "v1.36.5", "is the table's newest 1.36 patch");
	ok(choose("1.33", NULL, true, &c, &err) < 0 && err.code == VK_ERR_INVALID, "--offline: a minor the table lacks fails");
	contains(err.message, "--offline cannot ask upstream", "saying why");
	ok(choose("v1.38.0", NULL, true, &c, &err) < 0 && err.code == VK_ERR_INVALID,
	   "--offline: an exact version the table lacks fails");
	contains(err.message, "--offline cannot confirm it upstream", "saying why");
	is_int(httpd_count(&srv, "\"path\"", NULL), before, "--offline asked nothing");

	ok(choose("stable", closed, false, &c, &err) == 0 && c.tested, "upstream unreachable: stable falls back");
	is_str(c.version, "v1.37.1", "to the table's default");
	contains(c.note, "cannot ask upstream for 'stable'", "with a note");
	ok(choose("1.33", closed, false, &c, &err) < 0 && err.code == VK_ERR_NETWORK,
	   "upstream unreachable: a minor the table lacks fails");
	contains(err.message, "cannot resolve Kubernetes '1.33' upstream", "naming it");
	ok(choose("v1.38.0", closed, false, &c, &err) < 0 && err.code == VK_ERR_NETWORK,
	   "upstream unreachable: an exact version the table lacks cannot be confirmed");
	vk_version_choice_release(&c);
}

/* vk_artifacts_ensure resolves what it is given the same way. */
static void test_ensure(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	struct vk_artifacts_request req = { .home = home, .kubernetes_version = "v1.38.0", .offline = true };
	struct vk_artifact_paths paths = { 0 };
	struct vk_error err = { 0 };

	ok(vk_artifacts_ensure(&req, &paths, &err) < 0 && err.code == VK_ERR_INVALID,
	   "ensure: an untested version offline is refused before the cache is asked");
	contains(err.message, "--offline cannot confirm it upstream", "saying why");
	vk_artifact_paths_release(&paths);
}

int main(void)
{
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	tmp = tap_tmpdir();
	www = vk_path_join(tmp, "www");
	vk_mkdir_p(www, 0755, NULL);
	vk_fetch_options_init(&fo);
	fo.max_attempts = 1;
	fo.backoff_ms = 10;
	if (httpd_start(&srv, www, tmp, "versions", NULL) < 0) {
		printf("1..0 # SKIP cannot start tests/fakes/httpd.py (python3 missing?)\n");
		return 77;
	}

	test_table();
	test_upstream();
	test_offline_and_unreachable();
	test_ensure();

	httpd_stop(&srv);
	vk_remove_tree(tmp, NULL);
	free(www);
	free(tmp);
	return done_testing();
}
