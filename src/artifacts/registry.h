/* The OCI distribution client: image references, the manifest/index reader, registry auth, pulls into the blob store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/fetch.h"
#include "util/error.h"

#define VK_OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define VK_OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define VK_DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define VK_DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* "sha256:" and 64 lowercase hex digits. */
#define VK_DIGEST_LEN (7 + VK_SHA256_HEX_LEN)

/* ---- image references ---- */

struct vk_image_ref {
	char *registry;   /* "registry.k8s.io", "127.0.0.1:5000", "docker.io" */
	char *repository; /* "pause", "coredns/coredns", "library/busybox" */
	char *tag;        /* NULL when only a digest was given */
	char digest[VK_DIGEST_LEN + 1]; /* "" unless "@sha256:..." was given */
};

/* Parses TEXT the way docker and containerd do: a first component with a
 * dot, a colon or "localhost" is the registry, otherwise docker.io (and a
 * single name gets "library/"); no tag and no digest means ":latest".
 * Fills REF (release with vk_image_ref_release). */
int vk_image_ref_parse(const char *text, struct vk_image_ref *ref, struct vk_error *err);
void vk_image_ref_release(struct vk_image_ref *ref);

/* "REGISTRY/REPOSITORY:TAG", or "...@DIGEST" when there is no tag; newly allocated. */
char *vk_image_ref_name(const struct vk_image_ref *ref);

/* ---- manifests and indexes ---- */

struct vk_oci_descriptor {
	char *media_type;
	char digest[VK_DIGEST_LEN + 1];
	int64_t size;
	char *os, *architecture, *variant; /* an index entry's platform; NULL when absent */
};

struct vk_oci_manifest {
	bool is_index;    /* an OCI index or a Docker manifest list */
	char *media_type;
	struct vk_oci_descriptor config;  /* a manifest's config blob */
	struct vk_oci_descriptor *entries; /* a manifest's layers, or an index's manifests */
	size_t n;
};

/* Reads an OCI index, Docker manifest list, OCI manifest or Docker v2
 * manifest from BUF[0..LEN) (not NUL-terminated). CONTENT_TYPE (may be NULL)
 * is the registry's Content-Type, used when the document has no mediaType.
 * Every digest must be sha256 and every size non-negative. Schema 1 and other
 * media types are refused with VK_ERR_UNSUPPORTED, malformed input with
 * VK_ERR_PARSE. Fills OUT (release with vk_oci_manifest_release) and returns 0. */
int vk_oci_parse_manifest(const char *buf, size_t len, const char *content_type, struct vk_oci_manifest *out,
			  struct vk_error *err);
void vk_oci_manifest_release(struct vk_oci_manifest *m);

/* The entry of INDEX for OS/ARCH (variant ignored; the first match wins), or
 * NULL with VK_ERR_NOT_FOUND listing the platforms the index has. */
const struct vk_oci_descriptor *vk_oci_index_choose(const struct vk_oci_manifest *index, const char *os,
						    const char *arch, struct vk_error *err);

/* ---- auth ---- */

/* A WWW-Authenticate challenge. */
struct vk_registry_challenge {
	char *scheme;  /* "Bearer" or "Basic" */
	char *realm;
	char *service; /* Bearer only; may be NULL */
	char *scope;   /* Bearer only; may be NULL */
};

/* Parses HEADER ('Bearer realm="...",service="...",scope="..."'). */
int vk_registry_parse_challenge(const char *header, struct vk_registry_challenge *c, struct vk_error *err);
void vk_registry_challenge_release(struct vk_registry_challenge *c);

/* The "auth" value (base64 of user:password) for REGISTRY in the docker
 * config at PATH (auths.<registry>.auth; Docker Hub's key is
 * "https://index.docker.io/v1/"), newly allocated, or NULL when the file or
 * the entry is missing. A file that does not parse is an error (-1). */
int vk_registry_docker_auth(const char *path, const char *registry, char **auth, struct vk_error *err);

/* ---- pulls ---- */

struct vk_registry_options {
	struct vk_fetch_options fetch; /* CA bundle, parallelism, progress of the blob downloads */
	const char *docker_config;     /* NULL: $DOCKER_CONFIG/config.json, else ~/.docker/config.json */
	const char *mirror;            /* optional "https://HOST[:PORT]" asked instead of every image's registry */
	const char *const *insecure;   /* registries (HOST[:PORT]) spoken to over plain http; NULL-terminated */
	const char *os, *architecture; /* the platform chosen from an index (default linux/amd64) */
	bool offline;                  /* use only the store: the references must be pinned */
};

void vk_registry_options_init(struct vk_registry_options *o);

/* What one pull resolved. */
struct vk_pulled_image {
	char *name;                             /* vk_image_ref_name of the reference */
	char digest[VK_DIGEST_LEN + 1];         /* what the reference resolved to (an index or a manifest): the pin */
	char manifest_digest[VK_DIGEST_LEN + 1]; /* the platform's manifest */
	char *manifest_media_type;
	int64_t manifest_size;
	char **blobs;  /* the manifest's config and layer digests, NULL-terminated */
	int64_t size;  /* bytes of manifest, config and layers */
	bool fetched;  /* some of it came from the network in this call */
};

void vk_pulled_images_release(struct vk_pulled_image *v, size_t n);

/* Returns STORE/sha256/<hex> for DIGEST ("sha256:<hex>"), newly allocated. */
char *vk_blob_path(const char *store, const char *digest);

/* Pulls REFS[0..N) into the content-addressed STORE (a directory holding
 * sha256/<hex>; created when missing). PINS (may be NULL, or hold NULL
 * entries) gives the digest a reference was resolved to before: it is asked
 * by digest, so the same references give the same images. A manifest or blob
 * already in the store is not fetched again, and a blob shared by several
 * images is fetched once; the blobs of all images download in parallel with
 * O->fetch's progress callback, each verified by sha256 (a mismatch keeps
 * nothing). Fills OUT[0..N) (release with vk_pulled_images_release). With
 * O->offline nothing is fetched: the error (VK_ERR_NOT_FOUND) names every
 * image that is not complete in the store. */
int vk_registry_pull(const char *store, const char *const *refs, const char *const *pins, size_t n,
		     const struct vk_registry_options *o, struct vk_pulled_image *out, struct vk_error *err);
