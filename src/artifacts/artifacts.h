/* The artifact table: which files a cluster needs per Kubernetes version, where they come from, how they are verified. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "artifacts/cache.h"
#include "artifacts/fetch.h"
#include "util/error.h"

/* The table lives in data files the build installs (vk_data_path):
 *   vm-images/NAME/image.json              a base image (NAME: centos-stream-10, the default, or
 *                                          centos-stream-9; `start --image NAME`)
 *   vm-images/kubernetes/releases.json     Kubernetes versions and their binaries
 * See vm-images/kubernetes/README.md for the format. */

#define VK_ARTIFACTS_RELEASES "vm-images/kubernetes/releases.json"
#define VK_ARTIFACTS_IMAGE_DEFAULT "centos-stream-10"
#define VK_ARTIFACTS_IMAGE "vm-images/" VK_ARTIFACTS_IMAGE_DEFAULT "/image.json"

/* Whether NAME is a base image virtkube downloads: a plain name whose
 * vm-images/NAME/image.json is installed. */
bool vk_artifacts_image_known(const char *name);

/* The base image whose cached file is PATH (a profile's saved image): its
 * NAME, newly allocated, or NULL when no installed image.json downloads to
 * that path (an image of an older table, a local file). */
char *vk_artifacts_image_of_path(const char *home, const char *path);

/* Base image IMAGE (NULL: the default): its name and the x86-64 level its
 * userland needs (its image.json's "cpu_level", e.g. "x86-64-v3"; NULL when
 * it names none), both newly allocated. */
int vk_artifacts_image_info(const char *image, char **name, char **cpu_level, struct vk_error *err);

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

/* ---- choosing the version: the table, or upstream's version files ----
 *
 * What the user typed, resolved with the network when that is allowed:
 *   NULL, "" or "default"   the table's default (never the network)
 *   "vX.Y.Z" / "X.Y.Z"      as given; in the table it is tested; otherwise it
 *                           must exist upstream (its kubeadm.sha256 is
 *                           fetched) and is accepted as untested
 *   "stable", "latest"      upstream's release/stable.txt, latest.txt
 *   "X.Y"                   upstream's release/stable-X.Y.txt (the newest
 *                           released patch: latest-X.Y.txt names release
 *                           candidates too)
 * Upstream is https://dl.k8s.io, or MIRROR with the same paths. OFFLINE, or
 * upstream not answering, falls back to the table ("stable" = its default,
 * "latest" = its newest row, "X.Y" = its newest X.Y patch) with a note. */
#define VK_K8S_RELEASE_BASE "https://dl.k8s.io/release"

struct vk_version_request {
	const char *input;
	const char *mirror;
	bool offline;
	const struct vk_fetch_options *fetch; /* optional: overrides the download defaults (tests) */
};

struct vk_version_choice {
	char *version; /* "vX.Y.Z" (a pre-release suffix only from "latest") */
	bool tested;   /* a row of the table */
	char *note;    /* NULL, or what to tell the user: untested, or upstream not asked/answering */
};

/* Fills OUT (release with vk_version_choice_release). Errors: VK_ERR_INVALID
 * for a version that is neither in the table nor upstream (or cannot be
 * confirmed offline), listing the supported ones. */
int vk_kubernetes_version_choose(const struct vk_version_request *req, struct vk_version_choice *out,
				 struct vk_error *err);
void vk_version_choice_release(struct vk_version_choice *c);

/* What a start needs: the base image (WANT_IMAGE) and, when
 * KUBERNETES_VERSION (already resolved) is not NULL, the seven binaries
 * and tarballs. A version that is not a row of the table (an untested one
 * that vk_kubernetes_version_choose accepted) borrows its companions
 * (containerd, runc, CNI plugins) from the newest row, and crictl from the
 * row of its minor, else "vX.Y.0" of its minor when that is older than the
 * table's newest, else the newest row's. Free with vk_artifact_list_free. */
struct vk_artifact_list *vk_artifacts_plan(const char *kubernetes_version, bool want_image, struct vk_error *err);
/* The same with base image IMAGE_NAME (vm-images/NAME; NULL: no image). */
struct vk_artifact_list *vk_artifacts_plan_image(const char *kubernetes_version, const char *image_name,
						 struct vk_error *err);
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
	const char *kubernetes_version; /* as typed or resolved (vk_kubernetes_version_choose, with MIRROR
					 * and OFFLINE below); NULL: no Kubernetes (image only) */
	bool want_image;                /* false when --image gives a local file */
	const char *image_name;         /* with want_image: vm-images/NAME; NULL: VK_ARTIFACTS_IMAGE_DEFAULT */
	const char *mirror;
	bool offline;
	bool verify;
	vk_fetch_progress_fn progress;
	void *progress_data;
	const struct vk_fetch_options *fetch; /* optional: overrides the download defaults (tests) */
};

struct vk_artifact_paths {
	char *kubernetes_version; /* resolved "vX.Y.Z", NULL without Kubernetes */
	char *version_note;       /* NULL, or vk_version_choice's note (untested version, upstream not asked) */
	char *image;              /* NULL unless want_image */
	char *kubeadm, *kubelet, *kubectl, *runc;
	char *containerd, *cni_plugins, *crictl;
};

/* Makes every needed artifact present and verified in the cache; fills OUT
 * (all strings newly allocated; release with vk_artifact_paths_release). */
int vk_artifacts_ensure(const struct vk_artifacts_request *req, struct vk_artifact_paths *out, struct vk_error *err);
void vk_artifact_paths_release(struct vk_artifact_paths *p);

/* Checks a "vMAJOR.MINOR.PATCH" version (optionally with a -pre/+build suffix of [0-9A-Za-z.-]). */
int vk_kubernetes_version_check(const char *version, struct vk_error *err);
