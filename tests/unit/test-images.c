/* Pulls against real registries on 127.0.0.1 (tests/fakes/registry-stack.sh) and a fault-injecting one; the OCI archive through containerd's importer. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifacts/imageset.h"
#include "artifacts/registry.h"
#include "shell.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static char tmp[] = "/tmp/vk-test-images.XXXXXX";
static char stackdir[600], ca[700], anon[64], basic[64], bearer[64], plain[64], user[64], password[64], layout[700];
static const char *src;

/* ---- helpers ---- */

static size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void env_value(const char *env, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *l = env; l && *l;) {
		const char *end = strchrnul(l, '\n');

		if (strncmp(l, key, kl) == 0 && l[kl] == '=')
			snprintf(out, size, "%.*s", (int)(end - l - (int)kl - 1), l + kl + 1);
		l = *end ? end + 1 : end;
	}
}

/* The layout's descriptor digest for ref NAME (from index.json). */
static char *layout_digest(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/index.json", layout);
	json_auto_t *root = json_load_file(path, 0, NULL);
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(root, "manifests"), i, e) {
		const char *ref = json_string_value(json_object_get(json_object_get(e, "annotations"),
								    "org.opencontainers.image.ref.name"));

		if (ref && strcmp(ref, name) == 0)
			return xstrdup(json_string_value(json_object_get(e, "digest")));
	}
	return NULL;
}

/* A blob of the layout as JSON. */
static json_t *layout_json(const char *digest)
{
	_cleanup_free_ char *path = xasprintf("%s/blobs/sha256/%s", layout, digest + 7);

	return json_load_file(path, 0, NULL);
}

/* Digest of entry I of array KEY in the layout blob DIGEST ("layers", "manifests"). */
static char *layout_entry(const char *digest, const char *key, size_t i)
{
	json_auto_t *j = layout_json(digest);

	return xstrdup(json_string_value(json_object_get(json_array_get(json_object_get(j, key), i), "digest")));
}

static char *new_home(const char *name)
{
	return xasprintf("%s/%s", tmp, name);
}

static void options(struct vk_registry_options *o)
{
	vk_registry_options_init(o);
	o->fetch.cainfo = ca;
	o->fetch.backoff_ms = 50;
	o->docker_config = "/nonexistent/config.json";
}

static int pull(const char *home, const char *const *refs, const struct vk_registry_options *o,
		struct vk_pulled_image **v, size_t *n, struct vk_error *err)
{
	vk_error_clear(err);
	return vk_images_pull(home, refs, o, v, n, err);
}

static bool blob_in(const char *home, const char *digest)
{
	_cleanup_free_ char *store = vk_images_store(home);
	_cleanup_free_ char *p = vk_blob_path(store, digest);

	return vk_path_exists(p);
}

static bool part_in(const char *home, const char *digest)
{
	_cleanup_free_ char *store = vk_images_store(home);
	_cleanup_free_ char *p = vk_blob_path(store, digest);
	_cleanup_free_ char *part = xasprintf("%s.part", p);

	return vk_path_exists(part);
}

static off_t part_size(const char *home, const char *digest)
{
	_cleanup_free_ char *store = vk_images_store(home);
	_cleanup_free_ char *p = vk_blob_path(store, digest);
	_cleanup_free_ char *part = xasprintf("%s.part", p);
	struct stat st;

	return stat(part, &st) == 0 ? st.st_size : -1;
}

/* A fault registry (tests/fakes/registry-faults.py) running in the background. */
struct faults {
	pid_t pid;
	char hostport[64];
	char log[700];
};

static int faults_start(struct faults *f, const char *name, const char *host, const char *extra)
{
	_cleanup_free_ char *pidtext = NULL;
	char portfile[700];
	int rc;

	memset(f, 0, sizeof(*f));
	snprintf(portfile, sizeof(portfile), "%s/%s.port", tmp, name);
	snprintf(f->log, sizeof(f->log), "%s/%s.log", tmp, name);
	unlink(portfile);
	unlink(f->log);
	pidtext = sh(&rc,
		     "/usr/bin/python3 %s/tests/fakes/registry-faults.py --layout %s --cert %s/server.crt --key %s/server.key "
		     "--host %s --port-file %s --log %s %s </dev/null >/dev/null 2>%s/%s.err & echo $!",
		     src, layout, stackdir, stackdir, host, portfile, f->log, extra, tmp, name);
	f->pid = (pid_t)atoi(pidtext);
	for (int i = 0; i < 200; i++) {
		FILE *p = fopen(portfile, "r");
		int port = 0;

		if (p) {
			int got = fscanf(p, "%d", &port);

			fclose(p);
			if (got == 1) {
				snprintf(f->hostport, sizeof(f->hostport), "%s:%d", host, port);
				return 0;
			}
		}
		usleep(50 * 1000);
	}
	return -1;
}

static void faults_stop(struct faults *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		/* Not our child (the shell's): wait until it is gone. */
		for (int i = 0; i < 100 && kill(f->pid, 0) == 0; i++)
			usleep(20 * 1000);
	}
	f->pid = 0;
}

/* Counts log lines holding every non-NULL needle. */
static int log_count(const char *log, const char *n1, const char *n2)
{
	FILE *f = fopen(log, "r");
	char line[8192];
	int count = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((!n1 || strstr(line, n1)) && (!n2 || strstr(line, n2)))
			count++;
	fclose(f);
	return count;
}

static char *ref(const char *hostport, const char *name)
{
	return xasprintf("%s/test/%s:1", hostport, name);
}

/* ---- the real registry ---- */

static void test_anonymous(void)
{
	_cleanup_free_ char *home = new_home("anon"), *r = ref(anon, "busybox"), *want = layout_digest("busybox");
	_cleanup_free_ char *pins = NULL, *layer = NULL;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0, len;

	options(&o);
	if (!ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) == 0, "anonymous pull of '%s'", r)) {
		printf("#   %s\n", err.message);
		return;
	}
	is_int(n, 1, "one image");
	is_str(v[0].manifest_digest, want, "the manifest digest is the pushed one");
	is_str(v[0].digest, want, "a plain manifest pins to itself");
	is_str(v[0].manifest_media_type, VK_OCI_MT_MANIFEST, "media type");
	layer = layout_entry(want, "layers", 0);
	ok(blob_in(home, want) && blob_in(home, layer) && blob_in(home, v[0].blobs[0]),
	   "manifest, config and layer are in the store");
	ok(v[0].size > 1000000, "size counts the busybox layer (%lld bytes)", (long long)v[0].size);
	{
		_cleanup_free_ char *path = xasprintf("%s/cache/images/pins.json", home);

		ok(vk_read_file(path, &pins, &len, &err) == 0, "pins.json written");
		contains(pins, want, "it pins the tag to the digest");
	}
	vk_images_release(v, n);
}

static void write_docker_config(const char *path, const char *host, const char *userpass)
{
	_cleanup_free_ char *b64 = NULL, *text = NULL, *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int rc;

	b64 = sh(&rc, "printf %%s '%s' | base64 -w0", userpass);
	text = xasprintf("{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}", host, b64);
	vk_mkdir_p(dir, 0700, NULL);
	vk_write_file_atomic(path, text, strlen(text), 0600, NULL);
}

static void test_basic(void)
{
	_cleanup_free_ char *home = new_home("basic"), *r = ref(basic, "multi"), *want = layout_digest("multi");
	_cleanup_free_ char *cfg = xasprintf("%s/docker-basic/config.json", tmp);
	_cleanup_free_ char *badcfg = xasprintf("%s/docker-basic-bad/config.json", tmp);
	_cleanup_free_ char *userpass = xasprintf("%s:%s", user, password);
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	options(&o);
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0, "basic-auth registry without credentials fails");
	contains(err.message, basic, "the error names the registry");
	contains(err.hint, "docker login", "the hint says how to log in");
	write_docker_config(badcfg, basic, "tester:wrong");
	o.docker_config = badcfg;
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0, "wrong credentials fail");
	contains(err.message, "refused the credentials", "and say they were refused");
	write_docker_config(cfg, basic, userpass);
	o.docker_config = cfg;
	if (!ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) == 0, "basic auth from the docker config")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_str(v[0].manifest_digest, want, "multi's manifest");
	is_int(strv_length(v[0].blobs), 5, "config and four layers");
	for (size_t i = 0; v[0].blobs[i]; i++)
		ok(blob_in(home, v[0].blobs[i]), "blob %zu in the store", i);
	vk_images_release(v, n);
}

static void test_bearer(void)
{
	_cleanup_free_ char *home = new_home("bearer"), *r = ref(bearer, "shared"), *r2 = ref(bearer, "busybox");
	_cleanup_free_ char *cfg = xasprintf("%s/docker-bearer/config.json", tmp);
	_cleanup_free_ char *userpass = xasprintf("%s:%s", user, password), *tokenlog = xasprintf("%s/token.log", stackdir);
	_cleanup_free_ char *want = layout_digest("shared");
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;
	int before = log_count(tokenlog, "\"status\": 200", NULL);

	options(&o);
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0, "bearer registry without credentials fails");
	contains(err.message, "token service", "at the token service");
	contains(err.message, "401", "which answered 401");
	write_docker_config(cfg, bearer, userpass);
	o.docker_config = cfg;
	if (!ok(pull(home, (const char *[]){ r, r2, NULL }, &o, &v, &n, &err) == 0, "bearer flow with credentials")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_str(v[0].manifest_digest, want, "shared's manifest");
	is_int(log_count(tokenlog, "\"status\": 200", "\"user\": \"tester\"") - before, 2,
	       "one token per repository, asked with the credentials");
	ok(log_count(tokenlog, "scope=repository%3Atest%2Fshared%3Apull", NULL) >= 1, "the scope came from the challenge");
	for (size_t i = 0; v[1].blobs[i]; i++)
		ok(blob_in(home, v[1].blobs[i]), "busybox blob %zu in the store", i);
	vk_images_release(v, n);
}

static void test_index(void)
{
	_cleanup_free_ char *home = new_home("index"), *r = ref(anon, "multiarch"), *idx = layout_digest("multiarch");
	_cleanup_free_ char *home2 = new_home("index-s390x");
	_cleanup_free_ char *amd64 = layout_entry(idx, "manifests", 0), *arm64 = layout_entry(idx, "manifests", 1);
	_cleanup_free_ char *arm_layer = layout_entry(arm64, "layers", 0), *amd_layer = layout_entry(amd64, "layers", 0);
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	options(&o);
	if (!ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) == 0, "pull of a multi-arch index")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_str(v[0].digest, idx, "the tag pins to the index");
	is_str(v[0].manifest_digest, amd64, "linux/amd64 is chosen");
	ok(blob_in(home, idx) && blob_in(home, amd64) && blob_in(home, amd_layer), "index, manifest and layer stored");
	ok(!blob_in(home, arm64) && !blob_in(home, arm_layer), "nothing of linux/arm64 is fetched");
	vk_images_release(v, n);
	o.architecture = "s390x";
	ok(pull(home2, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0 &&
		   err.code == VK_ERR_NOT_FOUND,
	   "a platform the index lacks fails");
	contains(err.message, "linux/s390x", "naming the platform");
	contains(err.message, r, "and the image");
}

static void test_docker_format(void)
{
	_cleanup_free_ char *home = new_home("docker"), *r = ref(anon, "busybox-docker");
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	options(&o);
	if (!ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) == 0, "pull of a Docker v2 schema 2 image")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_str(v[0].manifest_media_type, VK_DOCKER_MT_MANIFEST, "its manifest has the Docker media type");
	for (size_t i = 0; v[0].blobs[i]; i++)
		ok(blob_in(home, v[0].blobs[i]), "blob %zu stored", i);
	vk_images_release(v, n);
}

static void test_insecure(void)
{
	_cleanup_free_ char *home = new_home("plain"), *r = ref(plain, "busybox");
	const char *insecure[] = { plain, NULL };
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	options(&o);
	o.fetch.max_attempts = 1;
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0, "a plain-http registry is not spoken to over http unasked");
	contains(err.message, plain, "the error names it");
	o.insecure = insecure;
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) == 0, "named as insecure, it is pulled over http");
	vk_images_release(v, n);
}

static void test_not_found(void)
{
	_cleanup_free_ char *r = xasprintf("%s/test/nothere:1", anon), *home = new_home("notfound");
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	options(&o);
	ok(pull(home, (const char *[]){ r, NULL }, &o, &v, &n, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "a missing repository is not found");
	contains(err.message, "test/nothere", "and named");
}

/* ---- faults ---- */

static void test_shared_once_and_offline(void)
{
	_cleanup_free_ char *home = new_home("shared"), *multi = layout_digest("multi");
	_cleanup_free_ char *base = layout_entry(multi, "layers", 0), *top = layout_entry(multi, "layers", 3);
	struct faults f;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	if (!ok(faults_start(&f, "faults-shared", "127.0.0.1", "") == 0, "fault registry started"))
		return;
	_cleanup_free_ char *rm = xasprintf("%s/multi:1", f.hostport), *rs = xasprintf("%s/shared:1", f.hostport);
	_cleanup_free_ char *rb = xasprintf("%s/busybox:1", f.hostport);

	options(&o);
	o.offline = true;
	ok(pull(home, (const char *[]){ rm, rs, NULL }, &o, &v, &n, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "offline with an empty cache fails");
	contains(err.message, "2 images are not in the cache", "counting the images");
	contains(err.message, rm, "naming the first");
	contains(err.message, rs, "and the second");
	is_int(log_count(f.log, "\"path\"", NULL), 0, "offline made no request");

	o.offline = false;
	if (!ok(pull(home, (const char *[]){ rm, rs, NULL }, &o, &v, &n, &err) == 0, "multi and shared pulled together")) {
		printf("#   %s\n", err.message);
		faults_stop(&f);
		return;
	}
	vk_images_release(v, n);
	is_int(log_count(f.log, base + 7, "\"GET\""), 1, "the layer both share was fetched once");
	is_int(log_count(f.log, top + 7, "\"GET\""), 1, "multi's own layer once");

	int before = log_count(f.log, "\"path\"", NULL);

	ok(pull(home, (const char *[]){ rm, rs, NULL }, &o, &v, &n, &err) == 0, "a second pull succeeds");
	vk_images_release(v, n);
	is_int(log_count(f.log, "\"path\"", NULL) - before, 0, "and asks nothing: pinned manifests and blobs are cached");

	o.offline = true;
	ok(pull(home, (const char *[]){ rm, rs, rb, NULL }, &o, &v, &n, &err) < 0, "offline with one image missing fails");
	contains(err.message, "1 image is not in the cache", "saying one");
	contains(err.message, rb, "naming busybox");
	ok(!strstr(err.message, rm), "not naming what is cached");
	ok(pull(home, (const char *[]){ rm, rs, NULL }, &o, &v, &n, &err) == 0, "offline with everything cached works");
	is_str(v[0].manifest_digest, multi, "from the cache, the same digest");
	vk_images_release(v, n);
	is_int(log_count(f.log, "\"path\"", NULL) - before, 0, "and offline made no request");

	/* cache list's view */
	struct vk_cached_image *c = vk_images_cached(home, &n, &err);

	ok(c && n == 2, "two cached images listed");
	if (c && n == 2) {
		is_str(c[0].name, rm, "sorted by name");
		ok(c[0].complete && c[0].size > 4 * 200 * 1024, "multi complete with its size (%lld)", (long long)c[0].size);
	}
	vk_cached_images_free(c, n);
	faults_stop(&f);
}

static void test_mismatch(void)
{
	_cleanup_free_ char *home = new_home("mismatch"), *multi = layout_digest("multi");
	_cleanup_free_ char *layer = layout_entry(multi, "layers", 2), *extra = xasprintf("--corrupt %s --corrupt %s", layer, multi);
	_cleanup_free_ char *pinfile = xasprintf("%s/cache/images/pins.json", home);
	struct faults f;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	if (!ok(faults_start(&f, "faults-corrupt", "127.0.0.1", extra) == 0, "fault registry serving wrong bytes"))
		return;
	_cleanup_free_ char *rm = xasprintf("%s/multi:1", f.hostport), *byd = xasprintf("%s/multi@%s", f.hostport, multi);
	_cleanup_free_ char *good = layout_digest("shared");
	_cleanup_free_ char *rs = xasprintf("%s/shared@%s", f.hostport, good);

	options(&o);
	o.fetch.max_attempts = 2;
	ok(pull(home, (const char *[]){ byd, NULL }, &o, &v, &n, &err) < 0 && err.code == VK_ERR_CHECKSUM,
	   "a manifest asked by digest with other bytes is refused");
	contains(err.message, multi, "naming the digest asked for");
	ok(!blob_in(home, multi), "and it is not kept");

	/* By tag the fake sends Docker-Content-Digest = the true digest: the corrupted body disagrees. */
	ok(pull(home, (const char *[]){ rm, NULL }, &o, &v, &n, &err) < 0 && err.code == VK_ERR_CHECKSUM,
	   "a manifest that does not match Docker-Content-Digest is refused");
	faults_stop(&f);

	/* Only the layer is bad now. */
	_cleanup_free_ char *extra2 = xasprintf("--corrupt %s", layer);

	if (!ok(faults_start(&f, "faults-corrupt2", "127.0.0.1", extra2) == 0, "fault registry with one bad layer"))
		return;
	free(rm);
	rm = xasprintf("%s/multi:1", f.hostport);
	free(rs);
	rs = xasprintf("%s/shared:1", f.hostport);
	ok(pull(home, (const char *[]){ rm, rs, NULL }, &o, &v, &n, &err) < 0 && err.code == VK_ERR_CHECKSUM,
	   "a layer with wrong bytes fails the pull");
	contains(err.message, layer + 7, "the error names the layer's digest");
	contains(err.message, "expected sha256", "and what was expected");
	ok(!blob_in(home, layer) && !part_in(home, layer), "nothing of the bad layer is kept");
	ok(!vk_path_exists(pinfile), "no pin is recorded for a failed pull");
	faults_stop(&f);
}

static void test_resume(void)
{
	_cleanup_free_ char *home = new_home("resume"), *multi = layout_digest("multi");
	_cleanup_free_ char *layer = layout_entry(multi, "layers", 1), *extra = xasprintf("--drop %s:70000", layer);
	_cleanup_free_ char *range = NULL;
	struct faults f;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	if (!ok(faults_start(&f, "faults-drop", "127.0.0.1", extra) == 0, "fault registry dropping a blob"))
		return;
	_cleanup_free_ char *rm = xasprintf("%s/multi:1", f.hostport);

	options(&o);
	o.fetch.max_attempts = 1;
	ok(pull(home, (const char *[]){ rm, NULL }, &o, &v, &n, &err) < 0, "a pull whose blob is cut off fails with one attempt");
	ok(part_size(home, layer) > 0, "the partial blob is kept (%lld bytes)", (long long)part_size(home, layer));
	range = xasprintf("bytes=%lld-", (long long)part_size(home, layer));
	ok(pull(home, (const char *[]){ rm, NULL }, &o, &v, &n, &err) == 0, "the next pull succeeds");
	vk_images_release(v, n);
	is_int(log_count(f.log, layer + 7, range), 1, "resuming with %s", range);
	ok(blob_in(home, layer) && !part_in(home, layer), "the blob is whole and the .part gone");

	/* A .part as long as the blob (a crash before the rename): it cannot be resumed, so it is fetched again. */
	{
		_cleanup_free_ char *store = vk_images_store(home), *path = vk_blob_path(store, layer);
		_cleanup_free_ char *part = xasprintf("%s.part", path), *mv = NULL;
		int before = log_count(f.log, layer + 7, "\"range\": null"), rc;

		mv = sh(&rc, "mv %s %s", path, part);
		ok(pull(home, (const char *[]){ rm, NULL }, &o, &v, &n, &err) == 0, "a whole-length .part is pulled again");
		vk_images_release(v, n);
		is_int(log_count(f.log, layer + 7, "\"range\": null") - before, 1, "from the start");
	}
	faults_stop(&f);
}

static void test_redirect(void)
{
	_cleanup_free_ char *home = new_home("redirect"), *multi = layout_digest("multi"), *extra = NULL;
	struct faults storage, reg;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	if (!ok(faults_start(&storage, "faults-storage", "127.0.0.2", "--blobs-only") == 0,
		"blob storage on 127.0.0.2 started"))
		return;
	extra = xasprintf("--bearer --redirect https://%s", storage.hostport);
	if (!ok(faults_start(&reg, "faults-redirect", "127.0.0.1", extra) == 0, "bearer registry redirecting blobs")) {
		faults_stop(&storage);
		return;
	}
	_cleanup_free_ char *rm = xasprintf("%s/multi:1", reg.hostport);

	options(&o);
	if (ok(pull(home, (const char *[]){ rm, NULL }, &o, &v, &n, &err) == 0, "pull through redirects to another host")) {
		for (size_t i = 0; v[0].blobs[i]; i++)
			ok(blob_in(home, v[0].blobs[i]), "blob %zu stored", i);
		vk_images_release(v, n);
	} else {
		printf("#   %s\n", err.message);
	}
	is_int(log_count(reg.log, "\"status\": 307", "Bearer faults-token-1"), 5, "the registry got the token with each blob request");
	is_int(log_count(storage.log, "\"status\": 200", NULL), 5, "storage served the five blobs");
	is_int(log_count(storage.log, "\"authorization\": null", NULL), 5, "and never saw the token");
	(void)multi;
	faults_stop(&reg);
	faults_stop(&storage);
}

struct progress_seen {
	int started, done, other;
	bool names_ok;
};

static void on_progress(const struct vk_fetch_progress *pr, void *data)
{
	struct progress_seen *seen = data;

	if (pr->state == VK_FETCH_STARTED)
		seen->started++;
	else if (pr->state == VK_FETCH_DONE)
		seen->done++;
	else
		seen->other++;
	if (!strstr(pr->name, "upstream.example/multi:1 ") || !strstr(pr->name, " sha256:"))
		seen->names_ok = false;
}

static void test_mirror_progress(void)
{
	_cleanup_free_ char *home = new_home("mirror"), *multi = layout_digest("multi"), *mirror = NULL;
	struct progress_seen seen = { .names_ok = true };
	struct faults f;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;

	if (!ok(faults_start(&f, "faults-mirror", "127.0.0.1", "--bearer") == 0, "a mirror registry started"))
		return;
	mirror = xasprintf("https://%s/", f.hostport);
	options(&o);
	o.mirror = mirror;
	o.fetch.progress = on_progress;
	o.fetch.progress_data = &seen;
	ok(pull(home, (const char *[]){ "upstream.example/multi:1", NULL }, &o, &v, &n, &err) == 0,
	   "an image of another registry pulled through the mirror");
	if (n == 1) {
		is_str(v[0].name, "upstream.example/multi:1", "it keeps its own name");
		is_str(v[0].manifest_digest, multi, "with the mirror's content");
	}
	vk_images_release(v, n);
	ok(log_count(f.log, "/v2/multi/manifests/1", NULL) >= 1, "the mirror was asked for the repository");
	is_int(seen.started, 5, "progress: five blob downloads started");
	is_int(seen.done, 5, "and finished");
	ok(seen.names_ok, "each named by image, kind and digest (tokens and manifests are not shown)");
	faults_stop(&f);
}

/* ---- the image list ---- */

static void test_list(void)
{
	_cleanup_free_ char *home = new_home("list"), *kubeadm = xasprintf("%s/kubeadm", tmp);
	_cleanup_free_ char *calls = xasprintf("%s/kubeadm.calls", tmp), *script = NULL, *record = NULL;
	_cleanup_strv_ char **v = NULL, **v2 = NULL;
	const char *addons[] = { "registry.k8s.io/coredns/coredns:v1.12.0", "docker.io/kubernetesui/dashboard:v2.7.0",
				 "registry.k8s.io/pause:3.10.1", NULL };
	struct vk_error err = { 0 };
	int rc;

	/* A stand-in kubeadm: prints the list kubeadm 1.35 prints for the repository it is given. */
	script = xasprintf("#!/bin/sh\necho \"$*\" >> %s\nrepo=registry.k8s.io\n"
			   "[ \"$6\" = --image-repository ] && repo=$7\n"
			   "for i in kube-apiserver:v1.35.0 kube-proxy:v1.35.0 coredns/coredns:v1.12.3 pause:3.10.1 etcd:3.6.5-0; do\n"
			   "  echo \"$repo/$i\"\ndone\n",
			   calls);
	vk_write_file_atomic(kubeadm, script, strlen(script), 0644, &err);
	v = vk_images_for_version(home, kubeadm, "v1.35.0", NULL, addons, &err);
	if (!ok(v != NULL, "image list from kubeadm (a 0644 file)")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_int(strv_length(v), 6, "four from kubeadm (not its CoreDNS), two more from the addons, duplicates dropped");
	is_str(v[0], "registry.k8s.io/kube-apiserver:v1.35.0", "kubeadm's order first");
	is_str(v[4], "registry.k8s.io/coredns/coredns:v1.12.3", "the dns addon's CoreDNS is kubeadm's tag, not its own v1.12.0");
	is_str(v[5], "docker.io/kubernetesui/dashboard:v2.7.0", "addon images after");
	record = sh(&rc, "cat %s", calls);
	is_str(record, "config images list --kubernetes-version v1.35.0", "kubeadm was asked for that version");
	v2 = vk_images_for_version(home, kubeadm, "v1.35.0", NULL, NULL, &err);
	ok(v2 && strv_length(v2) == 4, "asked again: kubeadm's list alone, without its CoreDNS (kubeadm init skips it)");
	free(record);
	record = sh(&rc, "wc -l < %s", calls);
	is_str(record, "1", "kubeadm ran once: its list is recorded in the cache");
	vk_strv_free(v);
	v = vk_images_for_version(home, kubeadm, "v1.35.0", "127.0.0.1:5000/k8s", addons, &err);
	ok(v && strv_length(v) == 6, "with --image-repository");
	if (v) {
		is_str(v[0], "127.0.0.1:5000/k8s/kube-apiserver:v1.35.0", "kubeadm's images from the repository");
		is_str(v[4], "127.0.0.1:5000/k8s/coredns/coredns:v1.12.3", "coredns too");
		is_str(v[5], "docker.io/kubernetesui/dashboard:v2.7.0", "other registries are left alone");
	}
	{
		_cleanup_free_ char *dns = vk_images_kubeadm_coredns(home, kubeadm, "v1.35.0", "127.0.0.1:5000/k8s", &err);
		json_t *obj = json_loads("{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"spec\":{"
					 "\"initContainers\":[{\"name\":\"i\",\"image\":\"registry.k8s.io/busybox:1\"}],"
					 "\"containers\":[{\"name\":\"a\",\"image\":\"registry.k8s.io/coredns/coredns:v1.12.0\"},"
					 "{\"name\":\"b\",\"image\":\"docker.io/library/nginx:1\"},{\"name\":\"c\"}]}}}}",
					 0, NULL);
		json_t *c = json_object_get(json_object_get(json_object_get(json_object_get(obj, "spec"), "template"),
							    "spec"),
					    "containers");
		json_t *ic = json_object_get(json_object_get(json_object_get(json_object_get(obj, "spec"), "template"),
							     "spec"),
					     "initContainers");

		is_str(dns, "127.0.0.1:5000/k8s/coredns/coredns:v1.12.3", "kubeadm's CoreDNS, for the dns addon");
		is_int(vk_images_rewrite_object(obj, "127.0.0.1:5000/k8s", dns), 2, "a pod template: two images rewritten");
		is_str(json_string_value(json_object_get(json_array_get(c, 0), "image")), dns,
		       "the addon's CoreDNS becomes kubeadm's");
		is_str(json_string_value(json_object_get(json_array_get(ic, 0), "image")), "127.0.0.1:5000/k8s/busybox:1",
		       "an init container's registry.k8s.io image comes from the repository");
		is_str(json_string_value(json_object_get(json_array_get(c, 1), "image")), "docker.io/library/nginx:1",
		       "another registry's image is left alone");
		is_int(vk_images_rewrite_object(obj, "127.0.0.1:5000/k8s", dns), 0, "rewriting again changes nothing");
		json_decref(obj);
	}
	free(record);
	record = sh(&rc, "tail -1 %s", calls);
	is_str(record, "config images list --kubernetes-version v1.35.0 --image-repository 127.0.0.1:5000/k8s",
	       "kubeadm got --image-repository");
	ok(vk_images_for_version(home, kubeadm, "../x", NULL, NULL, &err) == NULL && err.code == VK_ERR_INVALID,
	   "a version that could leave the cache is refused");
	ok(vk_images_for_version(home, "/nonexistent/kubeadm", "v1.34.0", NULL, NULL, &err) == NULL,
	   "a missing kubeadm fails");
	contains(err.message, "/nonexistent/kubeadm", "naming it");
	unlink(kubeadm);
	vk_write_file_atomic(kubeadm, "#!/bin/sh\nexit 3\n", 17, 0644, &err);
	ok(vk_images_for_version(home, kubeadm, "v1.33.0", NULL, NULL, &err) == NULL && strstr(err.message, "status 3"),
	   "a kubeadm that fails is an error with its status");
}

static void test_prepare(void)
{
	_cleanup_free_ char *home = new_home("prepare"), *kubeadm = xasprintf("%s/kubeadm-prepare", tmp);
	_cleanup_free_ char *repo = xasprintf("%s/test", anon), *script = NULL, *index = NULL, *tar = NULL;
	_cleanup_free_ char *want_shared = xasprintf("\"%s/test/shared:1\"", anon);
	struct vk_images_request req = { 0 };
	struct vk_error err = { 0 };
	bool built = false;
	int rc;

	/* kubeadm lists its images under the repository it is given. */
	script = xstrdup("#!/bin/sh\nrepo=registry.k8s.io\n[ \"$6\" = --image-repository ] && repo=$7\n"
			 "echo \"$repo/busybox:1\"\necho \"$repo/multi:1\"\n");
	vk_write_file_atomic(kubeadm, script, strlen(script), 0644, &err);
	req.home = home;
	req.kubeadm = kubeadm;
	req.kubernetes_version = "v1.35.0";
	req.image_repository = repo;
	req.addon_images = (const char *const[]){ "registry.k8s.io/shared:1", NULL };
	options(&req.registry);
	tar = vk_images_prepare(&req, &built, &err);
	if (!ok(tar && built, "list, pull and archive in one call")) {
		printf("#   %s\n", err.message);
		return;
	}
	index = sh(&rc, "tar xOf %s index.json", tar);
	contains(index, want_shared, "the addon's registry.k8s.io image came from --image-repository");
	{
		_cleanup_free_ char *count = sh(&rc, "tar xOf %s index.json | grep -c io.containerd.image.name", tar);

		is_str(count, "3", "three images in the archive");
	}
	free(tar);
	req.registry.offline = true;
	tar = vk_images_prepare(&req, &built, &err);
	ok(tar && !built, "offline, the same archive is found again");
	free(tar);
	tar = NULL;

	/* An addon image as addon.json lists it, by tag and digest: pulled by that digest, named by the tag
	 * (the name the addon's manifests use). */
	{
		_cleanup_free_ char *pins = xasprintf("%s/cache/images/pins.json", home);
		_cleanup_free_ char *key = xasprintf("%s/test/shared:1", anon), *pinned_ref = NULL, *fresh = NULL;
		_cleanup_free_ char *wrong_ref = NULL, *other = NULL, *idx = NULL;
		json_auto_t *pj = json_load_file(pins, 0, NULL);
		const char *digest = json_string_value(json_object_get(pj, key));

		if (!ok(digest != NULL, "the shared image's digest is recorded"))
			return;
		pinned_ref = xasprintf("registry.k8s.io/shared:1@%s", digest);
		fresh = new_home("prepare-pinned");
		req.home = fresh;
		req.registry.offline = false;
		req.addon_images = (const char *const[]){ pinned_ref, NULL };
		tar = vk_images_prepare(&req, &built, &err);
		if (ok(tar && built, "an addon image given as NAME:TAG@sha256:... is pulled and archived (%s)",
		       tar ? "" : err.message)) {
			idx = sh(&rc, "tar xOf %s index.json", tar);
			contains(idx, want_shared, "under NAME:TAG, as the manifests name it");
		}
		free(tar);
		wrong_ref = xasprintf("registry.k8s.io/shared:1@sha256:%064d", 0);
		other = new_home("prepare-wrong-digest");
		req.home = other;
		req.addon_images = (const char *const[]){ wrong_ref, NULL };
		tar = vk_images_prepare(&req, &built, &err);
		ok(tar == NULL, "a digest the registry does not have fails, though the tag exists");
		contains(err.message, "shared", "naming the image");
	}
}

/* ---- the archive ---- */

static void test_archive(void)
{
	_cleanup_free_ char *home = new_home("archive");
	_cleanup_free_ char *rb = ref(anon, "busybox"), *rm = ref(anon, "multi"), *ri = ref(anon, "multiarch");
	_cleanup_free_ char *rs = ref(anon, "shared"), *tar = NULL, *tar2 = NULL, *listing = NULL, *index = NULL;
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	size_t n = 0;
	bool built = false;
	int rc;

	options(&o);
	if (!ok(pull(home, (const char *[]){ rb, rm, ri, rs, NULL }, &o, &v, &n, &err) == 0, "four images pulled")) {
		printf("#   %s\n", err.message);
		return;
	}
	tar = vk_images_archive_ensure(home, v, n, &built, &err);
	ok(tar && built, "the archive is written");
	if (!tar) {
		printf("#   %s\n", err.message);
		vk_images_release(v, n);
		return;
	}
	tar2 = vk_images_archive_ensure(home, v, n, &built, &err);
	ok(tar2 && strcmp(tar, tar2) == 0 && !built, "asked again, the same file is reused");
	listing = sh(&rc, "tar tf %s | head -4 | tr '\\n' ' '", tar);
	is_str(listing, "oci-layout index.json blobs/ blobs/sha256/ ", "layout files first");
	free(listing);
	/* 4 manifests + 4 configs + busybox 1 + multi 4 + shared 1 (its base is multi's) + amd64 1 = 15 */
	listing = sh(&rc, "tar tf %s | grep -c '^blobs/sha256/.'", tar);
	is_str(listing, "15", "every blob once (shared layers too)");
	index = sh(&rc, "tar xOf %s index.json", tar);
	contains(index, "\"io.containerd.image.name\": \"", "annotations for containerd");
	contains(index, rm, "naming the full reference");
	contains(index, "\"org.opencontainers.image.ref.name\": \"1\"", "and the tag");
	{
		/* Same content, same bytes: a second store gives the same archive. */
		_cleanup_free_ char *sum = sh(&rc, "sha256sum < %s", tar);
		_cleanup_free_ char *copy = xasprintf("%s.copy", tar);
		_cleanup_free_ char *sum2 = NULL;

		free(sh(&rc, "mv %s %s", tar, copy));
		free(tar2);
		tar2 = vk_images_archive_ensure(home, v, n, &built, &err);
		sum2 = sh(&rc, "sha256sum < %s", tar2);
		is_str(sum2, sum, "the archive is reproducible byte for byte");
	}
	{
		struct vk_pulled_image *sub = v + 1;
		_cleanup_free_ char *p1 = vk_images_archive_path(home, v, n), *p2 = vk_images_archive_path(home, sub, 1);

		ok(strcmp(p1, p2) != 0, "another image set has another name");
	}

	/* containerd's importer, on a containerd of our own in a temporary root. */
	if (access("/usr/bin/containerd", X_OK) != 0 || access("/usr/bin/ctr", X_OK) != 0 || geteuid() != 0) {
		printf("# skipping the containerd import: %s\n",
		       geteuid() != 0 ? "containerd needs root" : "containerd is not installed (apt-get install containerd)");
	} else {
		_cleanup_free_ char *sock = xasprintf("%s/containerd.sock", tmp), *pid = NULL, *ls = NULL, *want = NULL;
		_cleanup_free_ char *imp = NULL;
		_cleanup_strbuf_ struct vk_strbuf expect = VK_STRBUF_INIT;

		pid = sh(&rc,
			 "containerd --root %s/ctd-root --state %s/ctd-state --address %s --config /dev/null "
			 "</dev/null >%s/containerd.log 2>&1 & echo $!",
			 tmp, tmp, sock, tmp);
		for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
			usleep(50 * 1000);
		imp = sh(&rc, "ctr -a %s -n k8s.io images import --no-unpack %s 2>&1", sock, tar);
		ok(rc == 0, "ctr images import accepts the archive");
		if (rc)
			printf("#   %s\n", imp);
		/* In k8s.io the CRI plugin also adds "sha256:<config digest>" records (image IDs), in the
		 * background: the named references must be exactly ours, the IDs only consistent. */
		ls = sh(&rc, "ctr -a %s -n k8s.io images ls | awk 'NR > 1 && $1 !~ /^sha256:/ { print $1, $3 }' | sort",
			sock);
		for (size_t i = 0; i < n; i++)
			vk_strbuf_addf(&expect, "%s %s\n", v[i].name, v[i].manifest_digest);
		want = sh(&rc, "printf '%s' | sort", expect.buf);
		is_str(ls, want, "ctr images ls lists exactly the references and digests");
		{
			_cleanup_free_ char *ids = sh(&rc, "ctr -a %s -n k8s.io images ls | awk 'NR > 1 && $1 ~ /^sha256:/ { print $1, $3 }'",
						      sock);
			_cleanup_strbuf_ struct vk_strbuf allowed = VK_STRBUF_INIT;
			bool consistent = true;
			char *save = NULL;

			for (size_t i = 0; i < n; i++)
				vk_strbuf_addf(&allowed, "%s %s\n", v[i].blobs[0], v[i].manifest_digest);
			for (char *l = strtok_r(ids, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				consistent = consistent && strstr(allowed.buf, l);
			ok(consistent, "CRI's image IDs name each image's config");
		}
		free(sh(&rc, "kill %s; while kill -0 %s 2>/dev/null; do sleep 0.05; done", pid, pid));
	}
	vk_images_release(v, n);
}

int main(void)
{
	_cleanup_free_ char *out = NULL, *env = NULL, *envfile = NULL;
	struct vk_error err = { 0 };
	size_t len;
	int rc;

	src = getenv("top_srcdir") ? getenv("top_srcdir") : "..";
	if (!mkdtemp(tmp))
		return 1;
	setenv("VIRTKUBE_FETCH_BACKOFF_MS", "50", 1);
	snprintf(stackdir, sizeof(stackdir), "%s/stack", tmp);
	out = sh(&rc, "%s/tests/fakes/registry-stack.sh start %s 2>&1", src, stackdir);
	if (rc == 77) {
		printf("1..0 # SKIP %s\n", out);
		vk_remove_tree(tmp, NULL);
		return 77;
	}
	if (!ok(rc == 0, "the registry stack starts")) {
		printf("#   %s\n", out);
		free(sh(&rc, "%s/tests/fakes/registry-stack.sh stop %s", src, stackdir));
		return done_testing();
	}
	envfile = xasprintf("%s/env", stackdir);
	vk_read_file(envfile, &env, &len, &err);
	env_value(env, "CA", ca, sizeof(ca));
	env_value(env, "ANON", anon, sizeof(anon));
	env_value(env, "BASIC", basic, sizeof(basic));
	env_value(env, "BEARER", bearer, sizeof(bearer));
	env_value(env, "PLAIN", plain, sizeof(plain));
	env_value(env, "USER", user, sizeof(user));
	env_value(env, "PASSWORD", password, sizeof(password));
	env_value(env, "LAYOUT", layout, sizeof(layout));

	test_anonymous();
	test_basic();
	test_bearer();
	test_index();
	test_not_found();
	test_docker_format();
	test_insecure();
	test_shared_once_and_offline();
	test_mismatch();
	test_resume();
	test_redirect();
	test_mirror_progress();
	test_list();
	test_archive();
	test_prepare();

	free(sh(&rc, "%s/tests/fakes/registry-stack.sh stop %s", src, stackdir));
	rc = done_testing();
	if (rc == 0)
		vk_remove_tree(tmp, &err);
	else
		printf("# kept %s\n", tmp);
	return rc;
}
