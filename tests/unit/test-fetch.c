/* Unit tests for src/fetch, src/cache and src/artifacts against the fake HTTP server on 127.0.0.1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/artifacts.h"
#include "artifacts/cache.h"
#include "artifacts/fetch.h"
#include "httpd-helper.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* ok() that also prints the engine's error when it fails. */
#define ok_err(cond, ...)                                                        \
	do {                                                                     \
		if (!ok(cond, __VA_ARGS__))                                      \
			printf("#   error: %s\n", err.message);                      \
	} while (0)

static char *tmp;
static char *www;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes SIZE pseudo-random bytes to WWW/REL (creating directories); fills HEX. */
static void make_file(const char *rel, size_t size, unsigned seed, char hex[VK_SHA256_HEX_LEN + 1])
{
	_cleanup_free_ char *path = vk_path_join(www, rel);
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_free_ unsigned char *buf = xmalloc(size ? size : 1);
	unsigned x = seed * 2654435761u + 1;

	*strrchr(dir, '/') = '\0';
	vk_mkdir_p(dir, 0755, NULL);
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	vk_write_file_atomic(path, buf, size, 0644, NULL);
	if (hex)
		vk_sha256_file(path, hex, NULL);
}

static void write_text(const char *rel, const char *text)
{
	_cleanup_free_ char *path = vk_path_join(www, rel);
	_cleanup_free_ char *dir = xstrdup(path);

	*strrchr(dir, '/') = '\0';
	vk_mkdir_p(dir, 0755, NULL);
	vk_write_file_atomic(path, text, strlen(text), 0644, NULL);
}

static bool same_file(const char *a, const char *b)
{
	char ha[VK_SHA256_HEX_LEN + 1] = "", hb[VK_SHA256_HEX_LEN + 1] = "x";

	if (vk_sha256_file(a, ha, NULL) < 0 || vk_sha256_file(b, hb, NULL) < 0)
		return false;
	return strcmp(ha, hb) == 0;
}

static void fast_options(struct vk_fetch_options *o)
{
	vk_fetch_options_init(o);
	o->allow_http = true;
	o->backoff_ms = 50;
	o->low_speed_time_s = 1;
	o->low_speed_limit = 1000;
	o->max_attempts = 3;
}

static void test_checksum_parse(void)
{
	const char *h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	const char *h2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
	char out[VK_SHA256_HEX_LEN + 1];
	struct vk_error err = { 0 };
	_cleanup_free_ char *bsd = NULL, *multi = NULL, *upper = NULL, *bare = NULL, *gnu = NULL, *star = NULL;

	bare = xasprintf("%s\n", h);
	ok(vk_checksum_parse(bare, "kubeadm", "x", out, &err) == 0 && strcmp(out, h) == 0,
	   "a bare digest (dl.k8s.io .sha256) is read");
	gnu = xasprintf("%s  containerd-static-2.2.4-linux-amd64.tar.gz\n", h);
	ok(vk_checksum_parse(gnu, "containerd-static-2.2.4-linux-amd64.tar.gz", "x", out, &err) == 0 && strcmp(out, h) == 0,
	   "sha256sum format is read");
	star = xasprintf("%s *release/crictl.tar.gz\n", h);
	ok(vk_checksum_parse(star, "crictl.tar.gz", "x", out, &err) == 0 && strcmp(out, h) == 0,
	   "binary-mode marker and a directory in the name are accepted");
	multi = xasprintf("%s  runc.arm64\n%s  runc.amd64\n%s  runc.tar.xz\n", h, h2, h);
	ok(vk_checksum_parse(multi, "runc.amd64", "x", out, &err) == 0 && strcmp(out, h2) == 0,
	   "the right line of a multi-entry file (runc.sha256sum) is picked");
	bsd = xasprintf("# CentOS-Stream-GenericCloud-9.x86_64.qcow2: 1 bytes\nSHA256 (CentOS-Stream-GenericCloud-9.x86_64.qcow2) = %s\n", h2);
	ok(vk_checksum_parse(bsd, "CentOS-Stream-GenericCloud-9.x86_64.qcow2", "x", out, &err) == 0 && strcmp(out, h2) == 0,
	   "BSD format (cloud.centos.org CHECKSUM) is read");
	upper = xasprintf("%s  a.bin\n", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08");
	ok(vk_checksum_parse(upper, "a.bin", "x", out, &err) == 0 && strcmp(out, h) == 0, "upper-case hex is lowered");
	ok(vk_checksum_parse(multi, "runc.s390x", "https://e/runc.sha256sum", out, &err) < 0 && err.code == VK_ERR_PARSE,
	   "a missing entry is an error");
	contains(err.message, "'https://e/runc.sha256sum' has no sha256 for 'runc.s390x'", "naming file and entry");
	ok(vk_checksum_parse("not a checksum\n", "a", "x", out, &err) < 0, "garbage is refused");
	ok(vk_checksum_parse("abc123  a\n", "a", "x", out, &err) < 0, "a short digest is refused");
}

static void test_keys_and_mirrors(void)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *k1 = vk_cache_key("https://dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm", &err);
	_cleanup_free_ char *k2 = vk_cache_key("https://dl.k8s.io/release/v1.35.9/bin/linux/amd64/kubeadm", &err);
	_cleanup_free_ char *bad = vk_cache_key("https://x.org/a/../../etc/passwd", &err);
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	bool http = false, file = false;

	is_str(k1, "dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm", "the cache key is host and path");
	ok(k1 && k2 && strcmp(k1, k2) != 0, "two versions of one binary get different keys");
	ok(!bad, "a path with '..' cannot become a cache key");
	m1 = vk_mirror_url("http://127.0.0.1:8080/base/", "https://dl.k8s.io/release/v1/kubeadm", &http, &file, &err);
	is_str(m1, "http://127.0.0.1:8080/base/release/v1/kubeadm", "an http mirror replaces the host, keeping the path");
	ok(http && !file, "and asks for plain http to be allowed");
	m2 = vk_mirror_url("https://m.example/", "https://github.com/a/b/c.tgz", &http, &file, &err);
	is_str(m2, "https://m.example/a/b/c.tgz", "an https mirror keeps https");
	ok(!http, "without plain http");
	m3 = vk_mirror_url(tmp, "https://dl.k8s.io/release/v1/kubeadm", &http, &file, &err);
	ok(m3 && strncmp(m3, "file:///", 8) == 0 && strstr(m3, "/release/v1/kubeadm") && file,
	   "a directory mirror becomes a file:// URL (%s)", m3 ? m3 : "NULL");
	m4 = vk_mirror_url("/nonexistent/mirror", "https://dl.k8s.io/x", NULL, NULL, &err);
	ok(!m4 && err.code == VK_ERR_NOT_FOUND, "a missing mirror directory is refused");
	contains(err.message, "'/nonexistent/mirror' is not a directory", "naming it");
	ok(vk_mirror_check("ftp://x/", &err) < 0, "an ftp mirror is refused");
	contains(err.hint, "https://, http://, file://", "with the accepted forms");
}

static void test_versions(void)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *def = NULL;
	_cleanup_strv_ char **v = vk_kubernetes_versions(&def, &err);
	_cleanup_free_ char *a = vk_kubernetes_version_resolve("v1.35.4", &err);
	_cleanup_free_ char *b = vk_kubernetes_version_resolve("1.35.4", &err);
	_cleanup_free_ char *c = vk_kubernetes_version_resolve("stable", &err);
	_cleanup_free_ char *d = vk_kubernetes_version_resolve(NULL, &err);
	_cleanup_free_ char *e = vk_kubernetes_version_resolve("1.35", &err);
	_cleanup_free_ char *bad = NULL;
	int minors = 0;
	struct vk_artifact_list *plan;

	ok_err(v && def, "the release table loads");
	ok(def && strncmp(def, "v1.37.", 6) == 0, "the default is a v1.37 patch (%s)", def ? def : "NULL");
	for (int m = 35; m <= 37; m++) {
		char prefix[16];

		snprintf(prefix, sizeof(prefix), "v1.%d.", m);
		for (char **p = v; p && *p; p++)
			if (strncmp(*p, prefix, strlen(prefix)) == 0) {
				minors++;
				break;
			}
	}
	is_int(minors, 3, "v1.37 and the two previous minors are supported");
	ok(!vk_kubernetes_version_resolve("1.34", &err), "v1.34 (end of life) is no longer in the table");
	is_str(a, "v1.35.4", "v1.35.4 resolves");
	is_str(b, "v1.35.4", "1.35.4 resolves to v1.35.4");
	is_str(c, def, "stable is the default");
	is_str(d, def, "no version is the default");
	ok(e && strncmp(e, "v1.35.", 6) == 0, "1.35 picks the newest 1.35 patch (%s)", e ? e : "NULL");
	bad = vk_kubernetes_version_resolve("v1.20.0", &err);
	ok(!bad && err.code == VK_ERR_INVALID, "an unknown version is refused");
	contains(err.message, "'v1.20.0'", "naming it");
	contains(err.hint, "v1.35.4", "and listing the supported ones");
	ok(!vk_kubernetes_version_resolve("1.36.5; rm -rf /", &err), "junk is refused");

	plan = vk_artifacts_plan(def, true, &err);
	ok(plan && plan->n == 8, "a Kubernetes start needs 8 artifacts (%zu)", plan ? plan->n : 0);
	for (size_t i = 0; plan && i < plan->n; i++) {
		ok(strncmp(plan->items[i].url, "https://", 8) == 0 && !strstr(plan->items[i].url, "${") &&
			   plan->items[i].checksum_url && !strstr(plan->items[i].checksum_url, "${") && plan->items[i].verify,
		   "%s: https URL, checksum source and a verification note (%s)", plan->items[i].id, plan->items[i].url);
	}
	if (plan && plan->n == 8) {
		_cleanup_free_ char *want = xasprintf("https://dl.k8s.io/release/%s/bin/linux/amd64/kubeadm", def);

		is_str(plan->items[1].url, want, "kubeadm comes from dl.k8s.io for the chosen version");
		is_str(plan->items[0].id, "image", "the base image is first");
	}
	vk_artifact_list_free(plan);
	plan = vk_artifacts_plan(NULL, true, &err);
	ok(plan && plan->n == 1, "a --no-kubernetes start needs only the image");
	vk_artifact_list_free(plan);
}

/* Points VIRTKUBE_DATADIR at a data directory whose releases.json is RELEASES. */
static void use_table(const char *releases)
{
	_cleanup_free_ char *data = vk_path_join(tmp, "table");
	_cleanup_free_ char *rel = vk_path_join(data, "vm-images/kubernetes");
	_cleanup_free_ char *img = vk_path_join(data, "vm-images/" VK_ARTIFACTS_IMAGE_DEFAULT);
	FILE *f;

	vk_mkdir_p(rel, 0755, NULL);
	vk_mkdir_p(img, 0755, NULL);
	free(rel);
	free(img);
	rel = vk_path_join(data, VK_ARTIFACTS_RELEASES);
	img = vk_path_join(data, VK_ARTIFACTS_IMAGE);
	if ((f = fopen(rel, "w"))) {
		fputs(releases, f);
		fclose(f);
	}
	if ((f = fopen(img, "w"))) {
		fputs("{\"schema\": 1, \"id\": \"image\", \"version\": \"9\", \"url\": \"https://h/i\", \"checksum_url\": \"https://h/i.sum\", "
		      "\"verify\": \"v\"}\n",
		      f);
		fclose(f);
	}
	setenv("VIRTKUBE_DATADIR", data, 1);
}

/* Found by tests/fuzz/fuzz-releases.c (corpus/releases/regress-*). */
static void test_table_findings(void)
{
	_cleanup_free_ char *old = getenv("VIRTKUBE_DATADIR") ? xstrdup(getenv("VIRTKUBE_DATADIR")) : NULL;
	struct vk_error err = { 0 };
	struct vk_artifact_list *plan;
	char *v;

	/* a release's value holding "${...}" stayed in the planned URL, unexpanded */
	use_table("{\"schema\": 1, \"default\": \"v1.2.3\", \"releases\": [{\"kubernetes\": \"v1.2.3\", \"x\": \"${kubernetes}\"}], "
		  "\"artifacts\": [{\"id\": \"a\", \"version\": \"${x}\", \"url\": \"https://h/${x}/a\", \"checksum_url\": \"https://h/s\", "
		  "\"verify\": \"v\"}]}\n");
	plan = vk_artifacts_plan("v1.2.3", false, &err);
	ok(!plan, "a table whose value holds a placeholder plans nothing");
	contains(err.message, "'x' holds a placeholder", "the error names the value (%s)", err.message);
	vk_artifact_list_free(plan);

	/* an empty default resolved to "" */
	use_table("{\"schema\": 1, \"default\": \"\", \"releases\": [{\"kubernetes\": \"v1.2.3\"}], \"artifacts\": []}\n");
	v = vk_kubernetes_version_resolve(NULL, &err);
	ok(!v, "a table whose default is not one of its releases resolves nothing");
	contains(err.message, "default is not one of them", "the error says so (%s)", err.message);
	free(v);

	/* a release listed as ":1.35.4" answered for v1.35.4 (its first character was skipped unseen) */
	use_table("{\"schema\": 1, \"default\": \"v1.35.4\", \"releases\": [{\"kubernetes\": \":1.35.4\"}, {\"kubernetes\": \"v1.35.4\"}], "
		  "\"artifacts\": []}\n");
	v = vk_kubernetes_version_resolve("v1.35.4", &err);
	ok(!v, "a table listing a release that is not vX.Y.Z resolves nothing");
	contains(err.message, "release ':1.35.4', which is not vX.Y.Z", "the error names it (%s)", err.message);
	free(v);
	/* and one listed as v1.036.4 answered for v1.36.4 */
	use_table("{\"schema\": 1, \"default\": \"v1.36.4\", \"releases\": [{\"kubernetes\": \"v1.036.4\"}, {\"kubernetes\": \"v1.36.4\"}], "
		  "\"artifacts\": []}\n");
	v = vk_kubernetes_version_resolve("v1.36.4", &err);
	ok(!v, "a table listing a version with a leading zero resolves nothing");
	contains(err.message, "release 'v1.036.4'", "the error names it (%s)", err.message);
	free(v);

	if (old)
		setenv("VIRTKUBE_DATADIR", old, 1);
	else
		unsetenv("VIRTKUBE_DATADIR");
}

static struct vk_fetch_item item(const char *url, const char *dest, const char *sha)
{
	struct vk_fetch_item it;

	memset(&it, 0, sizeof(it));
	it.url = url;
	it.dest = dest;
	it.sha256 = sha;
	return it;
}

static void test_engine(void)
{
	char h1[65], h2[65], hs[4][65];
	struct vk_fetch_options o;
	struct vk_error err = { 0 };
	struct httpd srv;
	_cleanup_free_ char *dl = vk_path_join(tmp, "dl");
	_cleanup_free_ char *dest = vk_path_join(dl, "a.bin");
	_cleanup_free_ char *part = vk_path_join(dl, "a.bin.part");
	_cleanup_free_ char *src = vk_path_join(www, "files/a.bin");
	_cleanup_free_ char *url = NULL, *url404 = NULL, *urlr = NULL, *url_b = NULL;
	struct vk_fetch_item it;
	const char *rules_drop[] = { "/files/a.bin:drop:300000:1", NULL };
	const char *rules_corrupt[] = { "/files/a.bin:corrupt:12345", NULL };
	const char *rules_stall[] = { "/files/a.bin:stall:200000:1", NULL };
	const char *rules_500[] = { "/files/a.bin:500::2", NULL };
	const char *rules_500_always[] = { "/files/a.bin:500", NULL };
	const char *rules_ignore[] = { "/files/a.bin:ignore-range", NULL };
	const char *rules_redirect[] = { "/old/a.bin:redirect:/files/a.bin", NULL };
	const char *rules_trickle[] = { "/par/*:trickle:100000", NULL };
	double t0;

	vk_mkdir_p(dl, 0700, NULL);
	make_file("files/a.bin", 1000000, 1, h1);
	make_file("files/b.bin", 5000, 2, h2);
	fast_options(&o);

	/* fresh download */
	ok(httpd_start(&srv, www, tmp, "fresh", NULL) == 0, "the fake server starts");
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "a fresh download succeeds");
	ok(same_file(dest, src), "the file arrived intact");
	ok(!vk_path_exists(part), "no .part is left");
	is_int(httpd_count(&srv, "\"/files/a.bin\"", "\"range\": null"), 1, "one GET without a Range");
	is_int(httpd_count(&srv, "virtkube/" PACKAGE_VERSION, NULL), 1, "the User-Agent is virtkube/VERSION");
	is_int(it.attempts, 1, "in one attempt");

	/* 404 */
	url404 = xasprintf("%s/files/missing.bin", srv.base);
	unlink(dest);
	it = item(url404, dest, h1);
	ok(vk_fetch_run(&it, 1, &o, &err) < 0 && err.code == VK_ERR_NOT_FOUND, "a 404 fails");
	contains(err.message, url404, "the error names the URL");
	contains(err.message, "HTTP 404", "and the cause");
	is_int(it.attempts, 1, "a 404 is not retried");
	ok(!vk_path_exists(dest), "nothing is written for a 404");

	/* plain http without permission */
	o.allow_http = false;
	it = item(url, dest, h1);
	ok(vk_fetch_run(&it, 1, &o, &err) < 0 && err.code == VK_ERR_INVALID, "plain http is refused unless allowed");
	contains(err.message, "plain http", "saying why");
	o.allow_http = true;
	is_int(httpd_count(&srv, NULL, NULL), 2, "and no request was sent for it");
	httpd_stop(&srv);

	/* drop after N bytes: the retry resumes with a Range */
	unlink(dest);
	httpd_start(&srv, www, tmp, "drop", rules_drop);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "a dropped connection is retried");
	ok(same_file(dest, src), "the resumed file is intact");
	is_int(it.attempts, 2, "in two attempts");
	is_int(httpd_count(&srv, "\"range\": \"bytes=300000-\"", NULL), 1,
	       "the retry asked only for the rest (Range: bytes=300000-)");
	is_int(it.resumed_from, 300000, "resuming from the 300000 bytes kept");
	httpd_stop(&srv);

	/* corrupt bytes: mismatch, nothing kept */
	unlink(dest);
	httpd_start(&srv, www, tmp, "corrupt", rules_corrupt);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok(vk_fetch_run(&it, 1, &o, &err) < 0 && err.code == VK_ERR_CHECKSUM, "corrupted bytes fail the checksum");
	contains(err.message, h1, "the error says what was expected");
	contains(err.message, "got ", "and what was got");
	contains(err.message, url, "and names the URL");
	ok(!vk_path_exists(dest) && !vk_path_exists(part), "neither the file nor a .part is kept");
	httpd_stop(&srv);

	/* stall → low-speed limit → retry → success */
	httpd_start(&srv, www, tmp, "stall", rules_stall);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	t0 = now_s();
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "a stalled transfer is detected and retried");
	/* The fake holds a stalled connection for 120 s; only the low-speed limit
	 * (about 6 s here) ends it sooner. 60 s leaves room for a loaded machine. */
	ok(now_s() - t0 < 60, "by the low-speed limit, not by the server giving up after 120 s (%.1f s)",
	   now_s() - t0);
	is_int(it.attempts, 2, "in two attempts");
	is_int(httpd_count(&srv, "\"range\": \"bytes=200000-\"", NULL), 1, "resuming after the stalled bytes");
	ok(same_file(dest, src), "the file is intact");
	httpd_stop(&srv);

	/* 500 twice then OK */
	unlink(dest);
	httpd_start(&srv, www, tmp, "e500", rules_500);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "500, 500, then OK succeeds");
	is_int(it.attempts, 3, "in three attempts");
	httpd_stop(&srv);

	/* 500 forever: gives up naming URL and cause */
	unlink(dest);
	httpd_start(&srv, www, tmp, "e500all", rules_500_always);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok(vk_fetch_run(&it, 1, &o, &err) < 0 && err.code == VK_ERR_NETWORK, "a persistent 500 fails");
	contains(err.message, "after 3 attempts: HTTP 500", "after the allowed attempts, with the cause");
	contains(err.message, url, "naming the URL");
	httpd_stop(&srv);

	/* server ignores Range: an existing .part is thrown away and the download restarts */
	unlink(dest);
	{
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		vk_read_file(src, &data, &len, NULL);
		vk_write_file_atomic(part, data, 400000, 0644, NULL);
	}
	httpd_start(&srv, www, tmp, "ignore", rules_ignore);
	free(url);
	url = xasprintf("%s/files/a.bin", srv.base);
	it = item(url, dest, h1);
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "a server that ignores Range still gives a good file");
	ok(same_file(dest, src), "the file is intact, not doubled");
	is_int(httpd_count(&srv, "\"range\": \"bytes=400000-\"", NULL), 1, "a Range was asked for");
	is_int(httpd_count(&srv, "\"range\": null", NULL), 1, "then the whole file was fetched again");
	httpd_stop(&srv);

	/* redirect */
	unlink(dest);
	httpd_start(&srv, www, tmp, "redirect", rules_redirect);
	urlr = xasprintf("%s/old/a.bin", srv.base);
	it = item(urlr, dest, h1);
	ok_err(vk_fetch_run(&it, 1, &o, &err) == 0, "a redirect is followed");
	is_int(httpd_count(&srv, "\"/files/a.bin\"", NULL), 1, "to its target");
	ok(same_file(dest, src), "the file is intact");
	httpd_stop(&srv);

	/* parallel: four trickled files at once take about as long as one */
	{
		struct vk_fetch_item its[4];
		char *urls[4], *dests[4];
		int ok_all = 1;

		httpd_start(&srv, www, tmp, "parallel", rules_trickle);
		for (int i = 0; i < 4; i++) {
			char rel[64];

			snprintf(rel, sizeof(rel), "par/f%d.bin", i);
			make_file(rel, 100000, 10 + (unsigned)i, hs[i]);
			urls[i] = xasprintf("%s/%s", srv.base, rel);
			dests[i] = xasprintf("%s/f%d.bin", dl, i);
			its[i] = item(urls[i], dests[i], hs[i]);
		}
		ok_err(vk_fetch_run(its, 4, &o, &err) == 0, "four downloads in parallel succeed");
		/* Each trickled transfer lasts about a second, so a parallel client has
		 * all four in flight at once; a serial one never more than one. */
		ok(httpd_count(&srv, "\"in_flight\": 4", NULL) == 1,
		   "the server had all four requests in flight at once");
		for (int i = 0; i < 4; i++) {
			char rel[64];
			_cleanup_free_ char *s = NULL;

			snprintf(rel, sizeof(rel), "par/f%d.bin", i);
			s = vk_path_join(www, rel);
			ok_all &= same_file(dests[i], s);
			free(urls[i]);
			free(dests[i]);
		}
		ok(ok_all, "all four are intact");
		httpd_stop(&srv);
	}

	/* a memory body (checksum files) */
	write_text("sums/b.sha256", "deadbeef\n");
	httpd_start(&srv, www, tmp, "body", NULL);
	url_b = xasprintf("%s/sums/b.sha256", srv.base);
	it = item(url_b, NULL, NULL);
	ok(vk_fetch_run(&it, 1, &o, &err) == 0 && it.body && strcmp(it.body, "deadbeef\n") == 0,
	   "a small file can be fetched into memory");
	vk_fetch_items_release(&it, 1);
	httpd_stop(&srv);
}

/* Serves WWW/up/<path> as the mirror of https://up.example/<path>; returns the sha. */
static void publish(const char *path, size_t size, unsigned seed, char hex[65])
{
	_cleanup_free_ char *rel = xasprintf("up/%s", path);
	_cleanup_free_ char *sum_rel = xasprintf("up/%s.sha256", path);
	_cleanup_free_ char *sum = NULL;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	make_file(rel, size, seed, hex);
	sum = xasprintf("%s  %s\n", hex, base);
	write_text(sum_rel, sum);
}

static struct vk_cache_item citem(const char *name, const char *path, char *url_buf, char *sum_buf)
{
	struct vk_cache_item c = { 0 };

	sprintf(url_buf, "https://up.example/%s", path);
	sprintf(sum_buf, "https://up.example/%s.sha256", path);
	c.name = name;
	c.url = url_buf;
	c.checksum_url = sum_buf;
	return c;
}

static int count_requests_for(const struct httpd *s, const char *path)
{
	_cleanup_free_ char *needle = xasprintf("\"path\": \"/%s\"", path);

	return httpd_count(s, needle, NULL);
}

/* Whether anything of cache key KEY is in HOME's cache: the file, its partial download or its record. */
static bool in_cache(const char *home, const char *key)
{
	_cleanup_free_ char *f = xasprintf("%s/cache/%s", home, key);
	_cleanup_free_ char *fp = xasprintf("%s.part", f);
	_cleanup_free_ char *fr = xasprintf("%s.verified", f);

	return vk_path_exists(f) || vk_path_exists(fp) || vk_path_exists(fr);
}

static void test_cache(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *mirror = NULL;
	char hx[65], hy[65], hz[65];
	char u[3][256], s[3][256];
	struct vk_cache_item items[3];
	char *paths[3] = { NULL, NULL, NULL };
	struct vk_cache_options co;
	struct vk_error err = { 0 };
	struct httpd srv;
	struct vk_cache_entry *list;
	size_t n = 0;
	off_t freed = 0;
	size_t removed = 0, busy = 0;

	publish("x/1.0/tool", 200000, 21, hx);
	publish("y/2.0/lib.tgz", 300000, 22, hy);
	publish("z/3.0/image.qcow2", 400000, 23, hz);
	items[0] = citem("tool", "x/1.0/tool", u[0], s[0]);
	items[1] = citem("lib", "y/2.0/lib.tgz", u[1], s[1]);
	items[2] = citem("image", "z/3.0/image.qcow2", u[2], s[2]);

	/* --offline with an empty cache: fails up front, naming everything missing */
	vk_cache_options_init(&co);
	fast_options(&co.fetch);
	co.offline = true;
	ok(vk_cache_ensure(home, items, 3, &co, paths, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "--offline with an empty cache fails");
	contains(err.message, "3 of 3 artifacts are not in the cache", "saying how many are missing");
	contains(err.message, "tool (https://up.example/x/1.0/tool)", "listing each");
	contains(err.message, "image (https://up.example/z/3.0/image.qcow2)", "every one");
	co.offline = false;

	/* through an http mirror */
	ok(httpd_start(&srv, www, tmp, "cache", NULL) == 0, "the mirror server starts");
	mirror = xasprintf("%s/up", srv.base);
	co.mirror = mirror;
	ok_err(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "three artifacts arrive through an http mirror");
	{
		_cleanup_free_ char *want = xasprintf("%s/cache/up.example/x/1.0/tool", home);
		_cleanup_free_ char *rec = xasprintf("%s.verified", want);
		_cleanup_free_ char *src = vk_path_join(www, "up/x/1.0/tool");

		is_str(paths[0], want, "the path is HOME/cache/<host>/<path>");
		ok(vk_path_exists(rec), "a verification record is written");
		ok(paths[0] && same_file(paths[0], src), "the cached file is intact");
	}
	is_int(count_requests_for(&srv, "up/x/1.0/tool.sha256"), 1, "the published checksum was fetched");
	for (int i = 0; i < 3; i++) {
		free(paths[i]);
		paths[i] = NULL;
	}
	ok(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "a second ensure succeeds");
	is_int(httpd_count(&srv, NULL, NULL), 6, "without any new request");
	for (int i = 0; i < 3; i++) {
		free(paths[i]);
		paths[i] = NULL;
	}

	/* --offline with a full cache: no network, all paths */
	co.offline = true;
	co.mirror = NULL;
	ok(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0 && paths[2], "--offline with a full cache succeeds");
	is_int(httpd_count(&srv, NULL, NULL), 6, "and sends nothing");
	for (int i = 0; i < 3; i++) {
		free(paths[i]);
		paths[i] = NULL;
	}
	co.offline = false;
	co.mirror = mirror;

	/* --verify finds a cached file changed behind our back and fetches it again */
	{
		_cleanup_free_ char *f = xasprintf("%s/cache/up.example/y/2.0/lib.tgz", home);
		int fd = open(f, O_WRONLY);

		if (fd >= 0) {
			ssize_t w = pwrite(fd, "X", 1, 1000);

			(void)w;
			close(fd);
		}
		ok(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "without --verify the record is trusted");
		is_int(count_requests_for(&srv, "up/y/2.0/lib.tgz"), 1, "and nothing is fetched");
		for (int i = 0; i < 3; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
		co.verify = true;
		ok_err(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "--verify re-hashes and repairs");
		is_int(count_requests_for(&srv, "up/y/2.0/lib.tgz"), 2, "fetching the damaged file again");
		is_int(count_requests_for(&srv, "up/x/1.0/tool"), 1, "and only that one");
		co.verify = false;
		for (int i = 0; i < 3; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
	}

	/* a record from an earlier boot (no fsync then): re-hashed once before it is trusted */
	{
		_cleanup_free_ char *f = xasprintf("%s/cache/up.example/x/1.0/tool", home);
		_cleanup_free_ char *rec = xasprintf("%s.verified", f);
		_cleanup_free_ char *text = xasprintf("{\"sha256\": \"%s\", \"size\": 200000, \"boot_id\": \"an-earlier-boot\", "
						      "\"synced\": false}", hx);
		_cleanup_free_ char *after = NULL;
		int before = count_requests_for(&srv, "up/x/1.0/tool");

		vk_write_file_atomic(rec, text, strlen(text), 0644, NULL);
		ok_err(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "an intact file from an earlier boot is accepted");
		is_int(count_requests_for(&srv, "up/x/1.0/tool"), before, "without fetching it again");
		vk_read_file(rec, &after, NULL, NULL);
		contains(after, "\"synced\": true", "and its record now says it is on disk");
		for (int i = 0; i < 3; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
		vk_write_file_atomic(rec, text, strlen(text), 0644, NULL);
		{
			int fd = open(f, O_WRONLY);
			ssize_t w = fd >= 0 ? pwrite(fd, "\0\0\0\0", 4, 4096) : -1;

			(void)w;
			if (fd >= 0)
				close(fd);
		}
		ok_err(vk_cache_ensure(home, items, 3, &co, paths, &err) == 0, "a file damaged by a crash is fetched again");
		is_int(count_requests_for(&srv, "up/x/1.0/tool"), before + 1, "once");
		for (int i = 0; i < 3; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
	}

	/* a published checksum that does not match: nothing enters the cache */
	{
		char uu[256], ss[256], hq[65];
		struct vk_cache_item bad;
		char *p = NULL;

		publish("q/bad.bin", 50000, 31, hq);
		write_text("up/q/bad.bin.sha256",
			   "0000000000000000000000000000000000000000000000000000000000000000  bad.bin\n");
		bad = citem("bad", "q/bad.bin", uu, ss);
		ok(vk_cache_ensure(home, &bad, 1, &co, &p, &err) < 0 && err.code == VK_ERR_CHECKSUM,
		   "a checksum mismatch fails the ensure");
		contains(err.message, "expected sha256 0000000000", "saying what was expected");
		contains(err.message, hq, "and what was got");
		ok(!in_cache(home, "up.example/q/bad.bin"), "nothing of it is in the cache");
		ok(p == NULL, "and no path is returned");
	}

	/* a published checksum file that is empty, or that lacks the file's line: a clear error, nothing cached */
	{
		char uu[256], ss[256], he[65];
		struct vk_cache_item item;
		char *p = NULL;
		_cleanup_free_ char *sum_url = xasprintf("%s/e/disk.qcow2.sha256", mirror);

		publish("e/disk.qcow2", 60000, 41, he);
		item = citem("image", "e/disk.qcow2", uu, ss);
		write_text("up/e/disk.qcow2.sha256", "");
		ok(vk_cache_ensure(home, &item, 1, &co, &p, &err) < 0 && err.code == VK_ERR_PARSE,
		   "an empty checksum file fails the ensure");
		contains(err.message, "checksum file '", "saying it is the checksum file");
		contains(err.message, sum_url, "naming its URL");
		contains(err.message, "' is empty: no sha256 for 'disk.qcow2'", "that it is empty, and the file looked for");
		ok(err.hint[0] != '\0', "with a hint");
		ok(!in_cache(home, "up.example/e/disk.qcow2"), "nothing of it is in the cache");
		is_int(count_requests_for(&srv, "up/e/disk.qcow2"), 0, "the image itself was never requested");
		ok(p == NULL, "and no path is returned");

		write_text("up/e/disk.qcow2.sha256", "# only other files here\n"
			   "1111111111111111111111111111111111111111111111111111111111111111  other.qcow2\n"
			   "SHA256 (other-2.qcow2) = 2222222222222222222222222222222222222222222222222222222222222222\n");
		ok(vk_cache_ensure(home, &item, 1, &co, &p, &err) < 0 && err.code == VK_ERR_PARSE,
		   "a checksum file without the file's line fails the ensure");
		contains(err.message, sum_url, "naming its URL");
		contains(err.message, "' has no sha256 for 'disk.qcow2'", "and the file looked for");
		ok(!in_cache(home, "up.example/e/disk.qcow2"), "nothing of it is in the cache");
		is_int(count_requests_for(&srv, "up/e/disk.qcow2"), 0, "the image was never requested");

		write_text("up/e/disk.qcow2.sha256", "\n  \n# comments only\n");
		ok(vk_cache_ensure(home, &item, 1, &co, &p, &err) < 0 && strstr(err.message, "is empty"),
		   "blank lines and comments only: empty too");
	}

	/* proxies come from the environment, as libcurl reads them: the fake server is the proxy here */
	{
		_cleanup_free_ char *home3 = vk_path_join(tmp, "home-proxy");
		char *p = NULL;

		setenv("http_proxy", srv.base, 1);
		co.mirror = "http://mirror.localhost:9/up"; /* unproxied, this would be a closed local port */
		ok_err(vk_cache_ensure(home3, items, 1, &co, &p, &err) == 0, "http_proxy from the environment is used");
		ok(httpd_count(&srv, "\"path\": \"http://mirror.localhost:9/up/x/1.0/tool\"", NULL) == 1,
		   "the request went to the proxy with the absolute URL (mirror.localhost:9 was never contacted)");
		unsetenv("http_proxy");
		co.mirror = mirror;
		free(p);
	}

	/* cache list */
	list = vk_cache_list(home, &n, &err);
	is_int(n, 3, "cache list shows the three files");
	ok(list && n == 3 && list[0].state == VK_CACHE_VERIFIED && list[0].size == 200000 &&
		   strcmp(list[0].key, "up.example/x/1.0/tool") == 0,
	   "with key, size and verified state");
	vk_cache_entries_free(list, n);
	httpd_stop(&srv);

	/* a directory mirror */
	{
		_cleanup_free_ char *home2 = vk_path_join(tmp, "home-dir");
		_cleanup_free_ char *dir = vk_path_join(www, "up");

		co.mirror = dir;
		ok_err(vk_cache_ensure(home2, items, 3, &co, paths, &err) == 0, "a directory mirror works");
		_cleanup_free_ char *src = vk_path_join(www, "up/y/2.0/lib.tgz");

		ok(paths[1] && same_file(paths[1], src), "and gives paths of intact files");
		for (int i = 0; i < 3; i++) {
			free(paths[i]);
			paths[i] = NULL;
		}
		co.mirror = mirror;
	}

	/* cache clean */
	ok(vk_cache_clean(home, &freed, &removed, &busy, &err) == 0, "cache clean succeeds");
	is_int(removed, 3, "removing three files");
	is_int(freed, 900000, "freeing their bytes");
	list = vk_cache_list(home, &n, &err);
	is_int(n, 0, "the cache is then empty");
	vk_cache_entries_free(list, n);
}

/* Runs vk_cache_ensure in a child; returns its pid. */
static pid_t ensure_in_child(const char *home, const struct vk_cache_item *it, const char *mirror)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct vk_cache_options co;
		struct vk_error err = { 0 };
		char *p = NULL;

		vk_cache_options_init(&co);
		fast_options(&co.fetch);
		co.fetch.low_speed_time_s = 5;
		co.mirror = mirror;
		_exit(vk_cache_ensure(home, it, 1, &co, &p, &err) == 0 ? 0 : 1);
	}
	return pid;
}

static void test_processes(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home-race");
	_cleanup_free_ char *mirror = NULL;
	const char *rules[] = { "/up/r/*:trickle:400000", NULL };
	char u[256], s[256], h[65];
	struct vk_cache_item it;
	struct httpd srv;
	pid_t a, b;
	int sa = -1, sb = -1;

	publish("r/race.bin", 400000, 41, h);
	it = citem("race", "r/race.bin", u, s);
	httpd_start(&srv, www, tmp, "race", rules);
	mirror = xasprintf("%s/up", srv.base);
	a = ensure_in_child(home, &it, mirror);
	usleep(100 * 1000);
	b = ensure_in_child(home, &it, mirror);
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	ok(WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0,
	   "two processes racing for one file both succeed");
	is_int(count_requests_for(&srv, "up/r/race.bin"), 1, "and the file was downloaded once");
	httpd_stop(&srv);

	/* an interrupted run leaves a .part that the next run resumes */
	{
		_cleanup_free_ char *home2 = vk_path_join(tmp, "home-interrupt");
		_cleanup_free_ char *part = xasprintf("%s/cache/up.example/r/slow.bin.part", home2);
		_cleanup_free_ char *file = xasprintf("%s/cache/up.example/r/slow.bin", home2);
		_cleanup_free_ char *src = vk_path_join(www, "up/r/slow.bin");
		const char *slow[] = { "/up/r/slow.bin:trickle:200000:1", NULL };
		char u2[256], s2[256], h2[65];
		struct vk_cache_item it2;
		struct stat st = { 0 };
		char *p = NULL;
		struct vk_cache_options co;
		struct vk_error err = { 0 };
		_cleanup_free_ char *needle = NULL;
		pid_t c;

		publish("r/slow.bin", 1000000, 42, h2);
		it2 = citem("slow", "r/slow.bin", u2, s2);
		httpd_start(&srv, www, tmp, "interrupt", slow);
		free(mirror);
		mirror = xasprintf("%s/up", srv.base);
		c = ensure_in_child(home2, &it2, mirror);
		for (int i = 0; i < 100 && (stat(part, &st) < 0 || st.st_size < 100000); i++)
			usleep(50 * 1000);
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		stat(part, &st);
		ok(st.st_size >= 100000 && st.st_size < 1000000, "a killed download leaves a .part (%lld bytes)",
		   (long long)st.st_size);
		ok(!vk_path_exists(file), "and no cached file");
		vk_cache_options_init(&co);
		fast_options(&co.fetch);
		co.mirror = mirror;
		ok_err(vk_cache_ensure(home2, &it2, 1, &co, &p, &err) == 0, "the next run finishes it");
		ok(p && same_file(p, src), "intact");
		needle = xasprintf("\"range\": \"bytes=%lld-\"", (long long)st.st_size);
		ok(httpd_count(&srv, "/up/r/slow.bin\"", needle) >= 1, "by resuming from the .part (%s)", needle);
		free(p);
		httpd_stop(&srv);
	}
}

/* The base images of vm-images/: known by name, and found again from a profile's saved cache path. */
static void test_base_images(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home-images");
	_cleanup_free_ char *name = NULL, *level = NULL, *of = NULL, *nine = NULL;
	struct vk_artifact_list *plan = vk_artifacts_plan_image(NULL, "centos-stream-9", NULL);

	ok(vk_artifacts_image_known("centos-stream-10") && vk_artifacts_image_known("centos-stream-9"),
	   "centos-stream-10 and centos-stream-9 are base images");
	ok(!vk_artifacts_image_known("kubernetes") && !vk_artifacts_image_known("../vm-images/centos-stream-9") &&
	   !vk_artifacts_image_known("") && !vk_artifacts_image_known("debian-test"),
	   "other folders, paths and the empty name are not");
	ok(vk_artifacts_image_info(NULL, &name, &level, NULL) == 0, "the default image's info");
	is_str(name, "centos-stream-10", "the default is CentOS Stream 10");
	is_str(level, "x86-64-v3", "which needs x86-64-v3");
	free(name);
	free(level);
	ok(vk_artifacts_image_info("centos-stream-9", &name, &level, NULL) == 0 && strcmp(level, "x86-64-v2") == 0,
	   "CentOS Stream 9 needs x86-64-v2");
	ok(plan && plan->n == 1 && strstr(plan->items[0].url, "/9-stream/") &&
	   strstr(plan->items[0].checksum_url, "/9-stream/") && strstr(plan->items[0].checksum_url, ".SHA256SUM"),
	   "a plan with centos-stream-9 downloads its image and dated checksum file");
	if (plan) {
		_cleanup_free_ char *key = vk_cache_key(plan->items[0].url, NULL), *cache = vk_cache_dir(home);

		nine = vk_path_join(cache, key);
	}
	of = vk_artifacts_image_of_path(home, nine);
	is_str(of, "centos-stream-9", "a profile's saved cache path leads back to centos-stream-9");
	free(of);
	of = vk_artifacts_image_of_path(home, "/elsewhere/disk.qcow2");
	ok(of == NULL, "a local disk is no base image");
	vk_artifact_list_free(plan);
}

/* The real table through a directory mirror laid out like the upstream hosts. */
static void test_real_table(void)
{
	_cleanup_free_ char *mdir = vk_path_join(tmp, "mirror");
	_cleanup_free_ char *home = vk_path_join(tmp, "home-real");
	_cleanup_free_ char *def = NULL;
	_cleanup_strv_ char **v = vk_kubernetes_versions(&def, NULL);
	struct vk_artifact_list *plan = vk_artifacts_plan(def, true, NULL);
	struct vk_artifacts_request req = { 0 };
	struct vk_artifact_paths paths = { 0 };
	struct vk_fetch_options fo;
	struct vk_error err = { 0 };
	_cleanup_free_ char *saved_www = www;

	www = mdir;
	for (size_t i = 0; plan && i < plan->n; i++) {
		const struct vk_artifact *a = &plan->items[i];
		const char *path = strchr(a->url + 8, '/') + 1;
		const char *sum_path = strchr(a->checksum_url + 8, '/') + 1;
		const char *fname = strrchr(a->url, '/') + 1;
		char hex[65];
		_cleanup_free_ char *sum = NULL;

		make_file(path, 1000 + i * 100, 50 + (unsigned)i, hex);
		/* each upstream's own checksum format */
		if (strstr(a->checksum_url, "SHA256SUM"))
			sum = xasprintf("# %s: 1 bytes\nSHA256 (%s) = %s\n", fname, fname, hex);
		else if (strcmp(a->id, "runc") == 0)
			sum = xasprintf("%s  runc.arm64\n%s  runc.amd64\n", "1111111111111111111111111111111111111111111111111111111111111111", hex);
		else if (strstr(a->checksum_url, "dl.k8s.io"))
			sum = xasprintf("%s", hex);
		else
			sum = xasprintf("%s  %s\n", hex, fname);
		write_text(sum_path, sum);
	}
	www = TAKE_PTR(saved_www);
	vk_fetch_options_init(&fo);
	fo.backoff_ms = 10;
	req.home = home;
	req.kubernetes_version = "stable";
	req.want_image = true;
	req.offline = true;
	req.fetch = &fo;
	ok(vk_artifacts_ensure(&req, &paths, &err) < 0, "an offline start with nothing cached fails up front");
	contains(err.message, "8 of 8 artifacts are not in the cache", "listing all eight");
	contains(err.message, "kubeadm (https://dl.k8s.io/release/", "by name and URL");
	req.offline = false;
	req.mirror = mdir;
	ok_err(vk_artifacts_ensure(&req, &paths, &err) == 0, "every artifact of the default version comes from a directory mirror");
	is_str(paths.kubernetes_version, def, "for the default version");
	ok(paths.image && paths.kubeadm && paths.kubelet && paths.kubectl && paths.runc && paths.containerd &&
		   paths.cni_plugins && paths.crictl,
	   "with a path for each of the eight");
	ok(paths.kubeadm && strstr(paths.kubeadm, "/cache/dl.k8s.io/release/") && vk_path_exists(paths.kubeadm),
	   "kubeadm is in the cache under its upstream path");
	vk_artifact_paths_release(&paths);
	req.offline = true;
	req.mirror = NULL;
	ok(vk_artifacts_ensure(&req, &paths, &err) == 0 && paths.crictl, "then --offline finds them all");
	vk_artifact_paths_release(&paths);
	req.kubernetes_version = "v1.0.0";
	ok(vk_artifacts_ensure(&req, &paths, &err) < 0 && err.code == VK_ERR_INVALID, "an unsupported version is refused");
	vk_artifact_list_free(plan);
}

int main(void)
{
	_cleanup_free_ char *cmd = NULL;

	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	tmp = tap_tmpdir();
	www = vk_path_join(tmp, "www");
	vk_mkdir_p(www, 0755, NULL);

	test_checksum_parse();
	test_keys_and_mirrors();
	test_versions();
	test_table_findings();
	test_engine();
	test_cache();
	test_processes();
	test_real_table();
	test_base_images();

	vk_remove_tree(tmp, NULL);
	free(www);
	free(tmp);
	return done_testing();
}
