/* The record of what this host uploaded to which libvirt host: HOME/cache/.remote.json, read by `cache list` without touching the network. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "artifacts/cache.h"
#include "util/error.h"

/* The record's file in HOME/cache (a dot file: the cache's listing and
 * `cache clean` leave it alone, as the volumes it names are not here), and
 * the lock its writers take beside it. A corrupt one is kept as FILE.bad
 * when the next writer replaces it. */
#define VK_UPLOADS_FILE VK_CACHE_KEEP_PREFIX "json"
#define VK_UPLOADS_LOCK VK_CACHE_KEEP_PREFIX "lock"

/* One shared volume (vm/volumes.h: "sha256-HEX.KIND") and the libvirt hosts that hold it. */
struct vk_upload {
	char *volume;
	char *file;  /* the file on this host it was uploaded from; NULL when not known (seen on a host only) */
	char **uris; /* NULL-terminated, sorted, never empty */
};

/* The whole record, sorted by volume. */
struct vk_uploads {
	struct vk_upload *v;
	size_t n;
};

/* Parses the record's JSON text (LEN bytes). Entries that are not as
 * written (a volume name that is not sha256-*, no URI) are left out; -1
 * with ERR (VK_ERR_PARSE) and an empty OUT when the text is not a record.
 * Release OUT with vk_uploads_release. */
int vk_uploads_parse(const char *text, size_t len, struct vk_uploads *out, struct vk_error *err);
/* The record as JSON text (caller frees); parses back to U. */
char *vk_uploads_format(const struct vk_uploads *u);
void vk_uploads_release(struct vk_uploads *u);

/* Notes that URI holds VOLUME, uploaded from FILE (NULL: keeps what is known). */
void vk_uploads_add(struct vk_uploads *u, const char *uri, const char *volume, const char *file);
/* Notes that URI's host holds exactly VOLUMES (NULL-terminated): every URI
 * naming the same host (whatever its transport, user and port: one libvirtd,
 * one pool) leaves every entry, URI is added to VOLUMES' entries, and an
 * entry no host holds any more goes. */
void vk_uploads_set_host(struct vk_uploads *u, const char *uri, const char *const *volumes);
/* The entry of VOLUME, or of the one uploaded from FILE; NULL when none. */
const struct vk_upload *vk_uploads_find(const struct vk_uploads *u, const char *volume);
const struct vk_upload *vk_uploads_find_file(const struct vk_uploads *u, const char *file);

/* The hosts of E's URIs, comma-separated, each once, without user and port
 * (a port is the transport's: ssh's or libvirtd's) ("bigbox,10.0.0.5";
 * caller frees); "-" for a NULL E. */
char *vk_uploads_hosts(const struct vk_upload *e);
/* The host of URI with its port, without the user ("qemu+ssh://me@box:22/system":
 * "box:22"; caller frees); the URI itself when it names none. */
char *vk_uri_host(const char *uri);

/* From the volume names of a pool (vm/volumes.h's vk_volume_list), the
 * shared volumes that are complete (sha256-*, with their done marker),
 * sorted (NULL-terminated; caller frees with vk_strv_free). */
char **vk_uploads_held(const char *const *pool_volumes);

/* Reads HOME's record into OUT. A missing record is empty; an unreadable
 * or corrupt one is empty too and *WARNING (caller frees; else NULL) says
 * so: the record never stops a command. */
void vk_uploads_load(const char *home, struct vk_uploads *out, char **warning);

/* Changes HOME's record under its lock: reads it (as vk_uploads_load, with
 * *WARNING), lets FN edit it, writes it atomically. -1 with ERR when it
 * cannot be locked or written. */
typedef void (*vk_uploads_edit_fn)(struct vk_uploads *u, void *data);
int vk_uploads_update(const char *home, vk_uploads_edit_fn fn, void *data, char **warning, struct vk_error *err);
