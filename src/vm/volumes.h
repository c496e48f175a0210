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

/* What a storage pool's XML says of its directory: <target><path> and
 * <permissions> (for an active dir pool libvirt reports the directory's own
 * mode and owner as of its last refresh). */
struct vk_pool_target {
	char *path;       /* NULL when the XML names none */
	int mode;         /* permission bits (07777 at most); -1 when not said */
	long long owner;  /* uid; -1 when not said */
	long long group;  /* gid; -1 when not said */
};

/* Reads T from pool XML (libvirt's, so data we did not write). 0 when the
 * XML has a <target> with a <path>, else -1 (T then holds what was found);
 * either way release T with vk_pool_target_release. */
int vk_pool_target_parse(const char *xml, struct vk_pool_target *t);
void vk_pool_target_release(struct vk_pool_target *t);

/* Whether qemu on the libvirt host can search (x) the pool's directory:
 * libvirt's dynamic ownership chowns each image to qemu's user when a domain
 * starts, but not the directory, and qemu must pass it to open them. */
struct vk_pool_access {
	const char *pool;           /* its name (the caller's) */
	bool dac;                   /* the host's capabilities name qemu's user (DAC base label) */
	unsigned qemu_uid, qemu_gid;
	bool exists;                /* the pool is defined there; else TARGET is what start will define */
	struct vk_pool_target target;
};

enum vk_pool_access_verdict {
	VK_POOL_ACCESS_OK,
	VK_POOL_ACCESS_UNKNOWN, /* cannot be told over the API: a warning */
	VK_POOL_ACCESS_DENIED,
};

/* Decides from A alone (no I/O): qemu as root passes; a directory owned by
 * qemu's uid needs the owner's x bit, one of qemu's gid the group's, any
 * other the others' (a group x bit for another group cannot be judged:
 * qemu's supplementary groups are not in the API). *WHY gets a sentence
 * naming the directory, its mode and owner and qemu's uid:gid; *FIX the
 * command to run on the host when denied, else NULL (caller frees both). */
enum vk_pool_access_verdict vk_pool_access_judge(const struct vk_pool_access *a, char **why, char **fix);

/* Fills A for POOL on CONN: qemu's uid and gid from the capabilities' DAC
 * base label, the pool's directory from its XML after a refresh, or, when
 * the pool is not defined yet, from the XML start would define at DIR.
 * Release A->target with vk_pool_target_release. */
int vk_volume_pool_access(virConnectPtr conn, const char *pool, const char *dir, struct vk_pool_access *a,
			  struct vk_error *err);
