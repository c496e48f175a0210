/* The node-images engine's host side: `ctr images ls` parsing, the names an image archive carries (a real OCI layout from tests/fakes/mkoci.py, a docker-save layout), and refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/imageload.h"
#include "shell.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static char tmp[] = "/tmp/vk-test-imageload.XXXXXX";

static void test_ctr_ls(void)
{
	/* What containerd 1.6's ctr prints (tabwriter columns), with the CRI's id entry. */
	const char *out =
		"REF                                   TYPE                                                 DIGEST                                                                  SIZE      PLATFORMS   LABELS\n"
		"virtkube.test/web:1                   application/vnd.oci.image.manifest.v1+json           sha256:1111111111111111111111111111111111111111111111111111111111111111 1.2 MiB   linux/amd64 io.cri-containerd.image=managed\n"
		"127.0.0.1:5000/k8s/pause:3.10.1       application/vnd.oci.image.manifest.v1+json           sha256:2222222222222222222222222222222222222222222222222222222222222222 310.0 KiB linux/amd64 io.cri-containerd.image=managed\n"
		"sha256:3333333333333333333333333333333333333333333333333333333333333333 application/vnd.oci.image.manifest.v1+json sha256:1111111111111111111111111111111111111111111111111111111111111111 1.2 MiB linux/amd64 io.cri-containerd.image=managed\n";
	struct vk_error err = { 0 };
	struct vk_node_image *v;
	size_t n = 0;

	v = vk_node_images_parse(out, &n, &err);
	ok(v != NULL, "ctr images ls parses");
	is_int(n, 2, "two images: the CRI's sha256 id entry is left out");
	if (v && n == 2) {
		is_str(v[0].name, "127.0.0.1:5000/k8s/pause:3.10.1", "sorted by name");
		is_str(v[1].digest, "sha256:1111111111111111111111111111111111111111111111111111111111111111", "with its digest");
		is_int(v[0].size, 310 * 1024, "the size back in bytes (310.0 KiB)");
		is_int(v[1].size, (long long)(1.2 * 1048576), "1.2 MiB");
	}
	vk_node_images_free(v, n);
	v = vk_node_images_parse("REF TYPE DIGEST SIZE PLATFORMS LABELS\n", &n, &err);
	ok(v && n == 0, "only the header: no images");
	vk_node_images_free(v, n);
	v = vk_node_images_parse("REF TYPE DIGEST\nctr: failed to dial \"/run/containerd/containerd.sock\"\n", &n, &err);
	ok(v == NULL && err.code == VK_ERR_PARSE, "an error message is not an image list");
	contains(err.message, "line 2", "naming the line");
}

static void test_archive_names(void)
{
	_cleanup_free_ char *root = xasprintf("%s/root", tmp), *oci = xasprintf("%s/web.oci.tar", tmp);
	_cleanup_free_ char *docker = xasprintf("%s/docker.tar", tmp), *bad = xasprintf("%s/not.tar", tmp);
	_cleanup_free_ char *empty = xasprintf("%s/empty.tar", tmp), *out = NULL;
	struct vk_error err = { 0 };
	char **names;
	int rc;

	out = sh(&rc, "mkdir -p %s/bin && echo hi > %s/bin/hello && python3 %s/tests/fakes/mkoci.py %s "
		 "--image virtkube.test/web:1 --root %s --image busybox:1.36 --root %s 2>&1",
		 root, root, getenv("top_srcdir") ? getenv("top_srcdir") : "..", oci, root, root);
	if (!ok(rc == 0, "mkoci.py made an OCI archive of two images"))
		printf("#   %s\n", out);
	names = vk_image_archive_names(oci, &err);
	ok(names && names[0] && names[1] && !names[2], "its index names two images");
	if (names && names[0] && names[1]) {
		is_str(names[0], "virtkube.test/web:1", "a name with a registry stays as it is");
		is_str(names[1], "docker.io/library/busybox:1.36", "a short name is normalized as containerd does");
	}
	vk_strv_free(names);
	free(out);
	out = sh(&rc, "cd %s && mkdir -p d && printf '%%s' '[{\"Config\":\"c.json\",\"RepoTags\":[\"myapp:dev\"],"
		 "\"Layers\":[]}]' > d/manifest.json && tar -cf %s -C d manifest.json", tmp, docker);
	names = vk_image_archive_names(docker, &err);
	ok(names && names[0] && !names[1], "a docker save archive: one image");
	if (names && names[0])
		is_str(names[0], "docker.io/library/myapp:dev", "its RepoTags, normalized");
	vk_strv_free(names);
	free(out);
	out = sh(&rc, "echo 'not a tar' > %s; cd %s && mkdir -p e && touch e/x && tar -cf %s -C e x", bad, tmp, empty);
	names = vk_image_archive_names(bad, &err);
	ok(names == NULL && err.code == VK_ERR_INVALID, "a file that is not a tar is refused");
	contains(err.message, "is not an image archive", "saying so");
	contains(err.hint, "docker save", "with what to give instead");
	names = vk_image_archive_names(empty, &err);
	ok(names == NULL && err.code == VK_ERR_INVALID, "a tar with neither layout is refused");
	contains(err.message, "neither manifest.json", "naming what is missing");
	names = vk_image_archive_names_parse("[{\"RepoTags\":[]}]", NULL, &err);
	ok(names == NULL && err.code == VK_ERR_INVALID, "an archive of untagged images is refused");
	contains(err.hint, "docker save myapp:dev", "with how to name it");
	names = vk_image_archive_names_parse(NULL, "{\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.36\"}}]}",
					     &err);
	ok(names == NULL, "an OCI index whose ref.name is only a tag names no image");
}

static void test_plain_profile(void)
{
	struct vk_profile p = { .name = (char *)"plain" };
	struct vk_node_image_load_request req = { .profile = &p, .source = "busybox:1.36" };
	struct vk_node_image_load_result res;
	struct vk_error err = { 0 };
	size_t n;

	p.cfg.kind = VK_KIND_PLAIN;
	ok(vk_node_image_load(&req, &res, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "image load on a --no-kubernetes profile is refused");
	contains(err.message, "runs no Kubernetes", "saying why");
	ok(vk_node_images_list(&p, &n, &err) == NULL && err.code == VK_ERR_UNSUPPORTED, "so is image ls");
}

int main(void)
{
	_cleanup_free_ char *out = NULL;
	int rc;

	if (!mkdtemp(tmp))
		return 1;
	test_ctr_ls();
	test_archive_names();
	test_plain_profile();
	out = sh(&rc, "rm -rf %s", tmp);
	return done_testing();
}
