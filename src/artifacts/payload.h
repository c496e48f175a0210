/* The payload ISO (label VKPAYLOAD): the Kubernetes binaries and units every profile of a version shares, built once into the cache. */
#pragma once

#include <stdbool.h>

#include "artifacts/artifacts.h"
#include "util/error.h"

#define VK_PAYLOAD_LABEL "VKPAYLOAD"
/* Where the container images go on the ISO: one OCI image-layout archive,
 * imported by the guest's images stage (scripts/guest/provision). */
#define VK_PAYLOAD_IMAGES "images/images.oci.tar"
/* Test hook: an OCI archive to put at VK_PAYLOAD_IMAGES when the inputs name
 * none (the e2e's own small image until the host builds the real archive). */
#define VK_PAYLOAD_IMAGES_ENV "VIRTKUBE_TEST_PAYLOAD_IMAGES"

/* What goes on the ISO, as host paths (borrowed). Layout on the ISO
 * (scripts/guest/README.md): bin/kubeadm, bin/kubelet, bin/kubectl,
 * bin/runc, bin/crictl (0755), containerd.tar.gz, cni-plugins.tgz, units/,
 * and VK_PAYLOAD_IMAGES when there are images. */
struct vk_payload_inputs {
	const char *kubernetes_version; /* "vX.Y.Z": names the ISO */
	const char *kubeadm, *kubelet, *kubectl, *runc, *crictl;
	const char *containerd;         /* the containerd release tarball */
	const char *cni_plugins;        /* the CNI plugins tarball */
	const char *units;              /* a directory of systemd units */
	const char *images;             /* the OCI archive of the version's images; NULL: none
					 * (then $VK_PAYLOAD_IMAGES_ENV, when set) */
};

/* Returns HOME/cache/payload/<version>-<hash>.iso (newly allocated), where
 * <hash> is a short sha256 over the ISO layout's version, each input's path,
 * size, mtime, inode and device, and the units tree's names, modes and
 * bytes: a changed input gives a new name, so a stale ISO is never used.
 * Reads only the units tree. */
char *vk_payload_path(const char *home, const struct vk_payload_inputs *in, struct vk_error *err);

/* Returns the payload ISO's path as vk_payload_path does, building the ISO
 * first when it is not there (mode 0644, its directory 0755, written to a
 * temporary file and renamed). One process builds at a time: another start
 * of the same version waits for its lock (up to 30 min) and then reuses the
 * result. *BUILT (may be NULL) says whether this call built it. Holds the
 * cache's shared lock meanwhile, so `cache clean` cannot remove it midway. */
char *vk_payload_ensure(const char *home, const struct vk_payload_inputs *in, bool *built, struct vk_error *err);

/* The payload ISO of the Kubernetes version in PATHS (vk_artifacts_ensure's
 * result, all of its Kubernetes files known), ensured in HOME's cache as
 * vk_payload_ensure does: crictl is taken out of its release tarball (kept
 * next to it in the cache) to be bin/crictl, the units come from the data
 * directory; IMAGES (may be NULL) is the OCI archive of the container images
 * (imageset.h). Returns the ISO's path (caller frees); *BUILT (may be NULL)
 * says whether this call built it. What `start` and `start --download-only`
 * call, so the first start of a downloaded version finds it ready. */
char *vk_payload_build(const char *home, const struct vk_artifact_paths *paths, const char *images, bool *built,
		       struct vk_error *err);
