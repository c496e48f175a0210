/* Storage volumes on a remote libvirt host: the pool virtkube owns there, volume XML, uploads that resume volume by volume. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* The pool virtkube creates and owns on a remote host (a dir pool), and
 * where it puts it when it has to create it. */
#define VK_VOLUME_POOL "virtkube"
#define VK_VOLUME_POOL_DIR "/var/lib/libvirt/images/virtkube"

/* An uploaded volume is complete once a marker volume of its name plus this
 * suffix exists: libvirt cannot rename a volume, and a volume cut off
 * mid-upload has the same name and capacity as a whole one. */
#define VK_VOLUME_DONE_SUFFIX ".done"

/* Whether the files a domain uses must be volumes on the libvirt host (the
 * URI names another host) rather than paths on this one. */
bool vk_volumes_wanted(const char *uri);

/* The names of what virtkube keeps in the pool (caller frees each).
 * Shared by every profile on the host, keyed by the file's sha256 (hex):
 * "sha256-SHA.KIND" where KIND is "qcow2", "raw", "kernel", "initrd", "iso". */
char *vk_volume_shared_name(const char *kind, const char *sha256);
/* One domain's own: "DOMAIN-WHAT", WHAT one of these. */
#define VK_VOLUME_NODE_DISK "disk.qcow2"
#define VK_VOLUME_NODE_SEED "seed.iso"
char *vk_volume_node_name(const char *domain, const char *what);

/* The XML of a dir pool NAME at DIR (caller frees). */
char *vk_volume_pool_xml(const char *name, const char *dir);
/* The XML of volume NAME of CAPACITY bytes in FORMAT ("raw", "qcow2"); with
 * BACKING_PATH (its path on the host) and BACKING_FORMAT, a copy-on-write
 * overlay of it (caller frees). */
char *vk_volume_xml(const char *name, const char *format, uint64_t capacity, const char *backing_path,
		    const char *backing_format);

/* Makes pool POOL usable: defined (a dir pool at DIR, built, autostarted)
 * when missing, started when inactive, refreshed. *CREATED says whether it
 * was defined by this call. */
int vk_volume_pool_ensure(virConnectPtr conn, const char *pool, const char *dir, bool *created, struct vk_error *err);

enum vk_volume_state {
	VK_VOLUME_MISSING,
	VK_VOLUME_PARTIAL, /* there, without its done marker: an upload was cut off */
	VK_VOLUME_COMPLETE,
};

/* The state of uploaded volume NAME in POOL. */
int vk_volume_state(virConnectPtr conn, const char *pool, const char *name, enum vk_volume_state *state,
		    struct vk_error *err);

/* Progress of an upload: DONE of TOTAL bytes (about every 200 ms, and at the end). */
typedef void (*vk_volume_progress_fn)(void *data, uint64_t done, uint64_t total);

/* Moves the bytes of FD (SIZE bytes from offset 0) into volume VOL. The
 * default is virStorageVolUpload with a sparse stream when the server takes
 * one; tests put their own in its place. */
typedef int (*vk_volume_uploader_fn)(virStorageVolPtr vol, int fd, uint64_t size, vk_volume_progress_fn progress,
				     void *progress_data, struct vk_error *err);
void vk_volume_set_uploader(vk_volume_uploader_fn fn);

struct vk_volume_upload {
	const char *pool;
	const char *name;
	const char *file;               /* on this host */
	vk_volume_progress_fn progress; /* may be NULL */
	void *progress_data;
};

/* Uploads U->file into volume U->name unless it is complete; a partial one is
 * deleted and uploaded again. *UPLOADED says whether bytes moved; *PATH
 * (caller frees; may be NULL) gets the volume's path on the libvirt host. */
int vk_volume_upload(virConnectPtr conn, const struct vk_volume_upload *u, bool *uploaded, char **path,
		     struct vk_error *err);

/* Creates volume NAME in POOL as a qcow2 overlay of CAPACITY bytes over the
 * volume BACKING (qcow2 or raw: BACKING_FORMAT) of the same pool, unless it
 * exists. *PATH (caller frees; may be NULL) gets its path on the host. */
int vk_volume_overlay(virConnectPtr conn, const char *pool, const char *name, uint64_t capacity, const char *backing,
		      const char *backing_format, char **path, struct vk_error *err);

/* Deletes volume NAME of POOL and its done marker; missing ones are fine.
 * *DELETED (may be NULL) says whether the volume was there. */
int vk_volume_delete(virConnectPtr conn, const char *pool, const char *name, bool *deleted, struct vk_error *err);

/* The volume names in POOL, sorted (NULL-terminated; caller frees with
 * vk_strv_free). A missing pool gives an empty list. */
char **vk_volume_list(virConnectPtr conn, const char *pool, struct vk_error *err);

/* What the libvirt host has free: memory, and the pool's available bytes
 * (0 when the pool is missing; *POOL_FOUND says which). */
int vk_volume_host_free(virConnectPtr conn, const char *pool, uint64_t *free_memory, uint64_t *pool_available,
			bool *pool_found, struct vk_error *err);

/* Deletes the volumes of the N domains DOMAINS (their disks and seeds) from
 * POOL, and nothing else: the shared ones stay for the next profile.
 * *REMOVED counts those that were there. */
int vk_volumes_remove_nodes(virConnectPtr conn, const char *pool, const char *const *domains, size_t n,
			    size_t *removed, struct vk_error *err);

/* Deletes the shared volumes of POOL (sha256-*, with their done markers),
 * but only when no domain's own volume (*-disk.qcow2, *-seed.iso) is left
 * there, as those domains may use them: then nothing is deleted and
 * *IN_USE (caller frees) names one. Other volumes are never touched.
 * *REMOVED counts the volumes deleted (markers not counted). */
int vk_volumes_clean_shared(virConnectPtr conn, const char *pool, size_t *removed, char **in_use,
			    struct vk_error *err);
