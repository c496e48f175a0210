/* The container images in a running node's containerd: loading an image archive or a reference pulled by the host into it (`virtkube image load`), and listing them (`virtkube image ls`). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "artifacts/registry.h"
#include "util/error.h"

/* The containerd namespace the CRI (and so the kubelet) uses. */
#define VK_NODE_IMAGES_NAMESPACE "k8s.io"

/* The image names an archive carries, as containerd will name them:
 * a `docker save` archive's manifest.json RepoTags, or an OCI image layout's
 * index.json entries (io.containerd.image.name, else a full reference in
 * org.opencontainers.image.ref.name), each normalized ("myapp:dev" is
 * "docker.io/library/myapp:dev"). Fails, naming PATH, when PATH is not a tar
 * holding either layout, or names no image (ctr would import nothing under a
 * name the kubelet finds). Returns a NULL-terminated list (vk_strv_free). */
char **vk_image_archive_names(const char *path, struct vk_error *err);

/* The names in MANIFEST_JSON (a docker archive's manifest.json) or, when it is
 * NULL, INDEX_JSON (an OCI layout's index.json): the parser under
 * vk_image_archive_names, for tests and the fuzzer. */
char **vk_image_archive_names_parse(const char *manifest_json, const char *index_json, struct vk_error *err);

/* One image in the node's containerd. */
struct vk_node_image {
	char *name;   /* "docker.io/library/busybox:1.36" */
	char *digest; /* the manifest or index digest */
	int64_t size; /* bytes as ctr reports them (rounded), -1 when unknown */
};

/* Parses `ctr images ls` output (a header, then NAME TYPE DIGEST SIZE
 * PLATFORMS LABELS per line, SIZE as "12.5 MiB"). The CRI's own
 * "sha256:..." id entries are left out. Sorted by name. */
struct vk_node_image *vk_node_images_parse(const char *ctr_ls, size_t *n, struct vk_error *err);
void vk_node_images_free(struct vk_node_image *v, size_t n);

/* The images in P's containerd (P must be a running Kubernetes profile). */
struct vk_node_image *vk_node_images_list(const struct vk_profile *p, size_t *n, struct vk_error *err);

struct vk_node_image_load_request {
	const struct vk_profile *profile;
	const char *home;   /* VIRTKUBE_HOME: the image store for a reference */
	const char *source; /* a file (docker or OCI archive) or an image reference */
	struct vk_registry_options registry; /* for a reference: mirror, insecure registries, offline, progress */
};

struct vk_node_image_load_result {
	char **names;      /* the images now in the node, NULL-terminated */
	bool pulled;       /* the source was a reference the host pulled */
	int64_t bytes;     /* the archive's size sent to the node */
	double seconds;    /* the whole load */
};

/* Puts an image into P's containerd so a pod with imagePullPolicy
 * IfNotPresent (or Never) runs it without a registry: SOURCE is an
 * archive file, else a reference the host pulls (pinned, into the image
 * store) and writes as an archive. The archive is streamed over ssh and
 * imported with `ctr -n k8s.io images import`; afterwards every name must
 * be listed by the node, or the load fails naming the missing one. */
int vk_node_image_load(const struct vk_node_image_load_request *req, struct vk_node_image_load_result *res,
		       struct vk_error *err);
void vk_node_image_load_result_release(struct vk_node_image_load_result *res);
