/* The container images a cluster needs: the list per version, pulls pinned by digest into the cache, the one OCI archive for the payload. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "artifacts/registry.h"
#include "util/error.h"

/* Layout under HOME/cache:
 *   blobs/sha256/<hex>          manifests, indexes, configs and layers by digest (registry.h's store)
 *   blobs/.lock                 held while a process pulls into the store
 *   images/pins.json            {"REF": "sha256:..."}: what each tag resolved to the first time
 *   images/lists/<V>-<h>.json   kubeadm's image list for version V and image repository (hash h)
 *   images/oci-<hash>.tar       an image set as one OCI image-layout archive */

#define VK_IMAGES_UPSTREAM "registry.k8s.io"

/* Returns HOME/cache/blobs (newly allocated): the store vk_registry_pull fills. */
char *vk_images_store(const char *home);

/* Rewrites a reference on registry.k8s.io to IMAGE_REPOSITORY ("HOST[/PATH]")
 * the way kubeadm's --image-repository does; others (and a NULL
 * IMAGE_REPOSITORY) come back unchanged. Newly allocated. */
char *vk_images_rewrite(const char *ref, const char *image_repository);

/* True when REF is a CoreDNS image (its repository's last component is "coredns"). */
bool vk_images_is_coredns(const char *ref);

/* The images of Kubernetes VERSION ("vX.Y.Z"): what `KUBEADM config images
 * list --kubernetes-version VERSION [--image-repository R]` prints, run on
 * the host from the cached binary (KUBEADM may be mode 0644: it is run from
 * a private copy), then ADDON_IMAGES (NULL-terminated, may be NULL) with
 * registry.k8s.io rewritten to IMAGE_REPOSITORY; duplicates dropped, order
 * kept. kubeadm's CoreDNS is not on the list (kubeadm init skips its CoreDNS
 * phase: the dns addon deploys it) unless an addon asks for CoreDNS: then
 * kubeadm's image stands for the addon's, so the cluster's DNS is the one
 * the version was released with. kubeadm's list is recorded in the cache
 * and reused, so it runs once per version and repository. Returns a
 * NULL-terminated list (vk_strv_free). */
char **vk_images_for_version(const char *home, const char *kubeadm, const char *version,
			     const char *image_repository, const char *const *addon_images, struct vk_error *err);

/* The CoreDNS image kubeadm of VERSION names (from the same recorded list),
 * for the dns addon; NULL with ERR set when kubeadm names none. */
char *vk_images_kubeadm_coredns(const char *home, const char *kubeadm, const char *version,
				const char *image_repository, struct vk_error *err);

/* Rewrites the image of every container and init container in OBJ (a
 * manifest object: a Pod, or a workload with a pod template, at any depth)
 * for a cluster whose images come from IMAGE_REPOSITORY (vk_images_rewrite),
 * a CoreDNS image becoming DNS_IMAGE when that is not NULL. Returns how many
 * images changed. */
int vk_images_rewrite_object(json_t *obj, const char *image_repository, const char *dns_image);

/* Pulls REFS (NULL-terminated) into the store under HOME. A reference pulled
 * before is asked by the digest recorded in images/pins.json, so a tag that
 * moved upstream does not change a cluster; a new one is recorded after its
 * pull succeeded. O->offline uses only the cache and names what is missing.
 * Holds the store's lock (another pull waits, up to 30 min) and the cache's
 * shared lock. *OUT gets *N pulled images (vk_images_release). */
int vk_images_pull(const char *home, const char *const *refs, const struct vk_registry_options *o,
		   struct vk_pulled_image **out, size_t *n, struct vk_error *err);
void vk_images_release(struct vk_pulled_image *v, size_t n);

/* Returns HOME/cache/images/oci-<hash>.tar (newly allocated), <hash> a short
 * sha256 over the archive layout's version and each image's name and
 * manifest digest, in order: the same set always has the same name. */
char *vk_images_archive_path(const char *home, const struct vk_pulled_image *v, size_t n);

/* Returns the archive's path as vk_images_archive_path does, writing it first
 * when it is not there: one OCI image layout (oci-layout, index.json with an
 * entry per image naming it in org.opencontainers.image.ref.name (the tag)
 * and io.containerd.image.name (the full reference), blobs/sha256/...) as a
 * tar, the form `ctr images import` reads. Written under a lock to a
 * temporary file and renamed. *BUILT (may be NULL) says whether this call
 * wrote it. Every blob must be in the store (vk_images_pull put them there). */
char *vk_images_archive_ensure(const char *home, const struct vk_pulled_image *v, size_t n, bool *built,
			       struct vk_error *err);

/* ---- the one call a start makes ---- */

struct vk_images_request {
	const char *home;
	const char *kubeadm;            /* the cached kubeadm of the version */
	const char *kubernetes_version; /* "vX.Y.Z" */
	const char *image_repository;   /* NULL: registry.k8s.io */
	const char *const *addon_images; /* the enabled addons' images (NULL-terminated, may be NULL) */
	struct vk_registry_options registry; /* mirror, insecure registries, offline, progress */
};

/* The image list of the version (vk_images_for_version), pulled
 * (vk_images_pull) and written as one archive (vk_images_archive_ensure):
 * returns the archive's path for the payload ISO (newly allocated). *BUILT
 * (may be NULL) says whether the archive was written by this call. */
char *vk_images_prepare(const struct vk_images_request *req, bool *built, struct vk_error *err);

/* A pinned image, for `cache list`. */
struct vk_cached_image {
	char *name;
	char digest[VK_DIGEST_LEN + 1];
	int64_t size;   /* bytes of manifest, config and layers */
	bool complete;  /* every blob is in the store */
};

/* Lists the pinned images (sorted by name) with their sizes; a cache without
 * images gives *N 0. Free with vk_cached_images_free. */
struct vk_cached_image *vk_images_cached(const char *home, size_t *n, struct vk_error *err);
void vk_cached_images_free(struct vk_cached_image *v, size_t n);
