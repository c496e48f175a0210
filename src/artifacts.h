/* The artifact table: which files a cluster needs per Kubernetes version, where they come from, how they are verified. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "fetch.h"
#include "util/error.h"

/* The table lives in data files the build installs (vk_data_path):
 *   vm-images/centos-stream-9/image.json   the base image
 *   vm-images/kubernetes/releases.json     Kubernetes versions and their binaries
 * See vm-images/kubernetes/README.md for the format. */

#define VK_ARTIFACTS_RELEASES "vm-images/kubernetes/releases.json"
#define VK_ARTIFACTS_IMAGE "vm-images/centos-stream-9/image.json"

struct vk_artifact {
	char *id;            /* "image", "kubeadm", "kubelet", "kubectl", "containerd", "runc", "cni-plugins", "crictl" */
	char *version;
	char *url;           /* upstream */
	char *checksum_url;  /* the published checksum file */
	char *checksum_name; /* its entry for this file; NULL: the URL's file name */
	char *verify;        /* how it is verified, in words */
};

struct vk_artifact_list {
	char *kubernetes_version; /* NULL when the list has no Kubernetes binaries */
	size_t n;
	struct vk_artifact *items;
};

/* Supported Kubernetes versions, newest first (NULL-terminated; free with
 * vk_strv_free). *DEFAULT_VERSION (may be NULL) gets the default, newly allocated. */
char **vk_kubernetes_versions(char **default_version, struct vk_error *err);

/* Resolves what the user typed: "v1.35.4", "1.35.4", "stable" (the table's
 * default) or NULL/"" (also the default). Returns "vX.Y.Z" newly allocated,
 * or NULL with VK_ERR_INVALID listing the supported versions. */
char *vk_kubernetes_version_resolve(const char *input, struct vk_error *err);

/* What a start needs: the base image (WANT_IMAGE) and, when
 * KUBERNETES_VERSION (already resolved) is not NULL, the seven binaries
 * and tarballs. Free with vk_artifact_list_free. */
struct vk_artifact_list *vk_artifacts_plan(const char *kubernetes_version, bool want_image, struct vk_error *err);
void vk_artifact_list_free(struct vk_artifact_list *l);

/* ---- the API `start` and provisioning use ----
 *
 *   struct vk_artifacts_request req = { .home = home, .kubernetes_version = "1.36", ... };
 *   struct vk_artifact_paths paths = { 0 };
 *   if (vk_artifacts_ensure(&req, &paths, &err) < 0) return cli_fail(&err);
 *   ... paths.kubeadm, paths.containerd, ... (absolute paths of verified files)
 *   vk_artifact_paths_release(&paths);
 *
 * With .offline set it never touches the network: it fails (VK_ERR_NOT_FOUND,
 * listing what is missing) unless everything is cached and verified, so the
 * seed builder can call it again later just to learn the paths. The files are
 * the upstream artifacts as published: kubeadm, kubelet, kubectl and runc are
 * executables (mode 0644 in the cache: set +x when copying into the payload);
 * containerd, cni_plugins and crictl are .tar.gz archives (crictl's holds one
 * file, "crictl"). */
struct vk_artifacts_request {
	const char *home;               /* $VIRTKUBE_HOME */
	const char *kubernetes_version; /* as typed or resolved; NULL: no Kubernetes (image only) */
	bool want_image;                /* false when --image gives a local file */
	const char *mirror;
	bool offline;
	bool verify;
	vk_fetch_progress_fn progress;
	void *progress_data;
	const struct vk_fetch_options *fetch; /* optional: overrides the download defaults (tests) */
};

struct vk_artifact_paths {
	char *kubernetes_version; /* resolved "vX.Y.Z", NULL without Kubernetes */
	char *image;              /* NULL unless want_image */
	char *kubeadm, *kubelet, *kubectl, *runc;
	char *containerd, *cni_plugins, *crictl;
};

/* Makes every needed artifact present and verified in the cache; fills OUT
 * (all strings newly allocated; release with vk_artifact_paths_release). */
int vk_artifacts_ensure(const struct vk_artifacts_request *req, struct vk_artifact_paths *out, struct vk_error *err);
void vk_artifact_paths_release(struct vk_artifact_paths *p);
