/* Unit tests of the registry client's readers: image references, manifests and indexes, challenges, docker config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/registry.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_refs(void)
{
	static const struct {
		const char *in, *registry, *repository, *tag, *digest, *name;
	} cases[] = {
		{ "registry.k8s.io/pause:3.10", "registry.k8s.io", "pause", "3.10", "", "registry.k8s.io/pause:3.10" },
		{ "registry.k8s.io/coredns/coredns:v1.12.0", "registry.k8s.io", "coredns/coredns", "v1.12.0", "",
		  "registry.k8s.io/coredns/coredns:v1.12.0" },
		{ "busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest" },
		{ "kubernetesui/dashboard:v2.7.0", "docker.io", "kubernetesui/dashboard", "v2.7.0", "",
		  "docker.io/kubernetesui/dashboard:v2.7.0" },
		{ "127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000", "test/busybox", "1", "", "127.0.0.1:5000/test/busybox:1" },
		{ "localhost/x", "localhost", "x", "latest", "", "localhost/x:latest" },
		{ "gcr.io/k8s-minikube/storage-provisioner@" D1, "gcr.io", "k8s-minikube/storage-provisioner", NULL, D1,
		  "gcr.io/k8s-minikube/storage-provisioner@" D1 },
		{ "quay.io/a/b:t@" D2, "quay.io", "a/b", "t", D2, "quay.io/a/b:t" },
	};
	static const char *const bad[] = {
		"", "UPPER/case", "registry.k8s.io/pause:", "registry.k8s.io/pause:bad tag", "x@sha256:123",
		"x@md5:d41d8cd98f00b204e9800998ecf8427e", "registry.k8s.io//pause", "a/-b", "x@" D1 "X",
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
		struct vk_image_ref r;
		struct vk_error err = { 0 };
		_cleanup_free_ char *name = NULL;

		if (!ok(vk_image_ref_parse(cases[i].in, &r, &err) == 0, "ref '%s' parses", cases[i].in)) {
			printf("#   %s\n", err.message);
			continue;
		}
		is_str(r.registry, cases[i].registry, "ref '%s': registry", cases[i].in);
		is_str(r.repository, cases[i].repository, "ref '%s': repository", cases[i].in);
		if (cases[i].tag)
			is_str(r.tag, cases[i].tag, "ref '%s': tag", cases[i].in);
		else
			ok(r.tag == NULL, "ref '%s': no tag", cases[i].in);
		is_str(r.digest, cases[i].digest, "ref '%s': digest", cases[i].in);
		name = vk_image_ref_name(&r);
		is_str(name, cases[i].name, "ref '%s': canonical name", cases[i].in);
		vk_image_ref_release(&r);
	}
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		struct vk_image_ref r;
		struct vk_error err = { 0 };

		ok(vk_image_ref_parse(bad[i], &r, &err) < 0 && err.code == VK_ERR_INVALID, "ref '%s' is refused", bad[i]);
		if (bad[i][0])
			contains(err.message, bad[i], "the error names '%s'", bad[i]);
	}
}

static int parse(const char *json, const char *ctype, struct vk_oci_manifest *m, struct vk_error *err)
{
	return vk_oci_parse_manifest(json, strlen(json), ctype, m, err);
}

static void test_manifests(void)
{
	struct vk_oci_manifest m;
	struct vk_error err = { 0 };
	const char *oci = "{\"schemaVersion\":2,\"mediaType\":\"" VK_OCI_MT_MANIFEST "\","
			  "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
			  "\",\"size\":123},"
			  "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
			  "\",\"size\":1000},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D3
			  "\",\"size\":0}]}";

	ok(parse(oci, NULL, &m, &err) == 0, "an OCI manifest parses");
	ok(!m.is_index, "it is a manifest");
	is_str(m.media_type, VK_OCI_MT_MANIFEST, "its media type");
	is_str(m.config.digest, D1, "config digest");
	is_int(m.config.size, 123, "config size");
	is_int(m.n, 2, "two layers");
	is_str(m.entries[0].digest, D2, "layer 0 digest");
	is_int(m.entries[0].size, 1000, "layer 0 size");
	is_str(m.entries[1].digest, D3, "layer 1 digest");
	vk_oci_manifest_release(&m);

	/* Docker v2 manifest without mediaType in the body: the Content-Type says. */
	const char *docker = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":5},\"layers\":[]}";

	ok(parse(docker, VK_DOCKER_MT_MANIFEST "; charset=utf-8", &m, &err) == 0, "a docker manifest parses by Content-Type");
	is_str(m.media_type, VK_DOCKER_MT_MANIFEST, "its media type comes from the header without parameters");
	is_int(m.n, 0, "no layers");
	vk_oci_manifest_release(&m);

	const char *index = "{\"schemaVersion\":2,\"mediaType\":\"" VK_DOCKER_MT_LIST "\",\"manifests\":["
			    "{\"mediaType\":\"" VK_DOCKER_MT_MANIFEST "\",\"digest\":\"" D1
			    "\",\"size\":10,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
			    "{\"mediaType\":\"" VK_OCI_MT_MANIFEST "\",\"digest\":\"" D3
			    "\",\"size\":12,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
			    "{\"mediaType\":\"" VK_DOCKER_MT_MANIFEST "\",\"digest\":\"" D2
			    "\",\"size\":11,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	const struct vk_oci_descriptor *d;

	ok(parse(index, NULL, &m, &err) == 0, "a docker manifest list parses");
	ok(m.is_index, "it is an index");
	is_int(m.n, 3, "three entries");
	is_str(m.entries[0].variant, "v8", "the variant is read");
	d = vk_oci_index_choose(&m, "linux", "amd64", &err);
	ok(d && strcmp(d->digest, D2) == 0, "linux/amd64 is chosen");
	d = vk_oci_index_choose(&m, "linux", "s390x", &err);
	ok(!d && err.code == VK_ERR_NOT_FOUND, "a platform the index lacks is not found");
	contains(err.message, "linux/s390x", "the error names the platform");
	contains(err.message, "linux/arm64, unknown/unknown, linux/amd64", "and lists the ones there are");
	vk_oci_manifest_release(&m);

	/* An OCI index with no mediaType anywhere: told by shape. */
	ok(parse("{\"schemaVersion\":2,\"manifests\":[]}", "application/json", &m, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "a plain application/json document is not taken for an image");
	ok(parse("{\"schemaVersion\":2,\"manifests\":[]}", NULL, &m, &err) == 0 && m.is_index && m.n == 0,
	   "an OCI index without mediaType is an index by shape");
	vk_oci_manifest_release(&m);

	static const struct {
		const char *json, *why;
		enum vk_error_code code;
		const char *says;
	} bad[] = {
		{ "", "empty input", VK_ERR_PARSE, "not JSON" },
		{ "[1]", "an array", VK_ERR_PARSE, "not a JSON object" },
		{ "{\"schemaVersion\":1,\"fsLayers\":[]}", "schema 1", VK_ERR_UNSUPPORTED, "schemaVersion 1" },
		{ "{\"mediaType\":\"" VK_OCI_MT_MANIFEST "\"}", "no schemaVersion", VK_ERR_PARSE, "schemaVersion" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\"}", "a helm artifact",
		  VK_ERR_UNSUPPORTED, "helm" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" VK_OCI_MT_MANIFEST "\",\"layers\":[]}", "no config", VK_ERR_PARSE,
		  "no config" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" VK_OCI_MT_MANIFEST "\",\"config\":{\"digest\":\"" D1
		  "\",\"size\":1}}",
		  "no layers", VK_ERR_PARSE, "'layers'" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:abc\",\"size\":1},\"layers\":[]}", "sha512",
		  VK_ERR_UNSUPPORTED, "only sha256" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:ABC\",\"size\":1},\"layers\":[]}", "short digest",
		  VK_ERR_PARSE, "malformed digest" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", "negative size",
		  VK_ERR_PARSE, "size" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}", "string size",
		  VK_ERR_PARSE, "size" },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[7]}", "a layer that is a number",
		  VK_ERR_PARSE, "layers entry 0" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" VK_OCI_MT_INDEX "\",\"manifests\":[{\"digest\":\"" D1
		  "\",\"size\":1,\"platform\":\"linux\"}]}",
		  "a platform string", VK_ERR_PARSE, "platform" },
		{ "{\"schemaVersion\":2,\"schemaVersion\":2}", "duplicate keys", VK_ERR_PARSE, "not JSON" },
		{ "{\"schemaVersion\":2,\"mediaType\":7}", "a numeric mediaType", VK_ERR_PARSE, "mediaType" },
	};
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		vk_error_clear(&err);
		ok(parse(bad[i].json, NULL, &m, &err) < 0 && err.code == bad[i].code, "%s is refused (%s)", bad[i].why,
		   vk_error_code_name(bad[i].code));
		contains(err.message, bad[i].says, "  and the error says so");
		ok(m.entries == NULL && m.media_type == NULL, "  and nothing is left allocated");
	}
	/* Not NUL-terminated input: only LEN bytes are read. */
	char buf[] = "{\"schemaVersion\":2,\"manifests\":[]}XXXX";

	ok(vk_oci_parse_manifest(buf, strlen(buf) - 4, NULL, &m, &err) == 0, "only LEN bytes are read");
	vk_oci_manifest_release(&m);
}

static void test_challenges(void)
{
	struct vk_registry_challenge c;
	struct vk_error err = { 0 };

	ok(vk_registry_parse_challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				       "scope=\"repository:library/busybox:pull,push\"",
				       &c, &err) == 0,
	   "a Docker Hub challenge parses");
	is_str(c.scheme, "Bearer", "scheme");
	is_str(c.realm, "https://auth.docker.io/token", "realm");
	is_str(c.service, "registry.docker.io", "service");
	is_str(c.scope, "repository:library/busybox:pull,push", "a scope with a comma inside quotes");
	vk_registry_challenge_release(&c);
	ok(vk_registry_parse_challenge("Basic realm=\"basic-realm\"", &c, &err) == 0 && strcmp(c.scheme, "Basic") == 0 &&
		   strcmp(c.realm, "basic-realm") == 0 && !c.service,
	   "a Basic challenge parses");
	vk_registry_challenge_release(&c);
	ok(vk_registry_parse_challenge("bearer realm=http://x/t, service = \"s\"", &c, &err) < 0,
	   "spaces around '=' are refused");
	ok(vk_registry_parse_challenge("bearer realm=http://x/t,service=s\\\"q", &c, &err) == 0 &&
		   strcmp(c.realm, "http://x/t") == 0 && strcmp(c.service, "s\\\"q") == 0,
	   "unquoted values end at a comma");
	vk_registry_challenge_release(&c);
	ok(vk_registry_parse_challenge("Bearer service=\"x\"", &c, &err) < 0 && strstr(err.message, "realm"),
	   "a Bearer challenge needs a realm");
	ok(vk_registry_parse_challenge("Bearer realm=\"unterminated", &c, &err) < 0 && strstr(err.message, "quote"),
	   "an unterminated quote is refused");
	ok(vk_registry_parse_challenge("", &c, &err) < 0, "an empty challenge is refused");
}

static void test_docker_auth(void)
{
	char dir[] = "/tmp/vk-test-registry.XXXXXX";
	_cleanup_free_ char *path = NULL, *auth = NULL;
	struct vk_error err = { 0 };
	const char *cfg = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1Yg==\"},"
			  "\"127.0.0.1:5000\":{\"auth\":\"dTpw\"},\"https://quay.io\":{\"auth\":\"cTpx\"},"
			  "\"ghcr.io\":{\"identitytoken\":\"x\"}}}";

	ok(mkdtemp(dir) != NULL, "temp dir");
	path = vk_path_join(dir, "config.json");
	ok(vk_registry_docker_auth(path, "127.0.0.1:5000", &auth, &err) == 0 && !auth, "a missing file gives no auth");
	ok(vk_write_file_atomic(path, cfg, strlen(cfg), 0600, &err) == 0, "config written");
	ok(vk_registry_docker_auth(path, "127.0.0.1:5000", &auth, &err) == 0 && auth && strcmp(auth, "dTpw") == 0,
	   "host:port entry");
	free(auth);
	ok(vk_registry_docker_auth(path, "docker.io", &auth, &err) == 0 && auth && strcmp(auth, "aHViOmh1Yg==") == 0,
	   "Docker Hub's index.docker.io entry");
	free(auth);
	ok(vk_registry_docker_auth(path, "quay.io", &auth, &err) == 0 && auth && strcmp(auth, "cTpx") == 0,
	   "an entry written as a URL");
	free(auth);
	ok(vk_registry_docker_auth(path, "ghcr.io", &auth, &err) == 0 && !auth, "an entry without auth gives none");
	ok(vk_registry_docker_auth(path, "127.0.0.1:5001", &auth, &err) == 0 && !auth, "another port gives none");
	ok(vk_write_file_atomic(path, "{", 1, 0600, &err) == 0, "broken config written");
	ok(vk_registry_docker_auth(path, "quay.io", &auth, &err) < 0 && strstr(err.message, path),
	   "a config that does not parse is an error naming it");
	vk_remove_tree(dir, &err);
}

int main(void)
{
	test_refs();
	test_manifests();
	test_challenges();
	test_docker_auth();
	return done_testing();
}
