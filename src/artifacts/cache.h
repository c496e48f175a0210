/* The download cache: $VIRTKUBE_HOME/cache/<host>/<path>, per-file locks, verification records, mirrors, offline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "artifacts/fetch.h"
#include "util/error.h"

/* Layout, for one artifact with key K (the upstream URL's host and path,
 * e.g. "dl.k8s.io/release/v1.36.5/bin/linux/amd64/kubeadm", so two versions
 * never share a name):
 *   HOME/cache/K           the verified file (only ever appears by rename)
 *   HOME/cache/K.part      a partial download, resumed by the next run
 *   HOME/cache/K.lock      flock'd by the process downloading K
 *   HOME/cache/K.verified  JSON record {sha256, size, url, checksum_url, verified_at}
 * A file without a matching record is not trusted and is fetched again. */

/* What to fetch. All strings are the caller's. */
struct vk_cache_item {
	const char *name;          /* shown to the user, e.g. "kubeadm" */
	const char *url;           /* upstream https URL */
	const char *checksum_url;  /* published checksum file (ignored when sha256 is set) */
	const char *checksum_name; /* the entry to look up in it; default: the URL's file name */
	const char *sha256;        /* optional: a known digest instead of a checksum file */
};

struct vk_cache_options {
	const char *mirror;        /* NULL, http(s)://BASE, file:///DIR or a directory */
	bool offline;              /* never touch the network */
	bool verify;               /* re-hash cached files against their records */
	long lock_timeout_ms;      /* waiting for another process's download (default 2 h) */
	struct vk_fetch_options fetch; /* parallelism, retries, progress callback */
};

void vk_cache_options_init(struct vk_cache_options *o);

/* Returns HOME/cache (newly allocated). */
char *vk_cache_dir(const char *home);

/* Returns the cache key for URL ("host/path"), or NULL with ERR for a URL
 * that is not http(s) or whose path could escape the cache. */
char *vk_cache_key(const char *url, struct vk_error *err);

/* Returns the URL to fetch UPSTREAM from when MIRROR (as in the options) is
 * given: the mirror's base followed by UPSTREAM's path. A plain directory
 * becomes a file:// URL. NULL MIRROR returns a copy of UPSTREAM. Sets
 * *IS_HTTP / *IS_FILE (may be NULL) when the result needs plain http or file. */
char *vk_mirror_url(const char *mirror, const char *upstream, bool *is_http, bool *is_file, struct vk_error *err);

/* Checks a --mirror value up front (scheme, directory exists). */
int vk_mirror_check(const char *mirror, struct vk_error *err);

/* Makes every item present and verified in the cache under HOME, downloading
 * what is missing in parallel (after fetching the published checksums), and
 * fills PATHS[i] (newly allocated; the caller frees each) with the files'
 * paths. Two processes never download the same file: the second waits for the
 * first's lock and then uses its verified file. OFFLINE fails before any
 * transfer, listing every missing item. On error PATHS is left all NULL. */
int vk_cache_ensure(const char *home, const struct vk_cache_item *items, size_t n,
		    const struct vk_cache_options *o, char **paths, struct vk_error *err);

/* Takes a shared lock on HOME/cache (created 0700 if missing) that keeps
 * `cache clean` out while the caller writes into the cache itself (the
 * payload ISOs of payload.h). Returns the descriptor to close to release it. */
int vk_cache_hold(const char *home, struct vk_error *err);

/* Files virtkube builds from downloads (HOME/cache/payload/, see payload.h)
 * rather than downloads: listed as VK_CACHE_BUILT, removed by clean too. */
#define VK_CACHE_BUILT_DIR "payload"

/* Files of HOME/cache whose names start so are no downloads: `cache clean`
 * keeps them (the record of uploaded volumes, uploads.h, names what is on
 * other hosts), and `cache list` skips them as it skips every dot file. */
#define VK_CACHE_KEEP_PREFIX ".remote."

/* One file in the cache, for `cache list`. */
struct vk_cache_entry {
	char *key;
	off_t size;
	enum { VK_CACHE_VERIFIED, VK_CACHE_UNVERIFIED, VK_CACHE_PARTIAL, VK_CACHE_BUILT } state;
};

/* Lists the cache, sorted by key; *N gets the count. A missing cache is empty.
 * Free with vk_cache_entries_free. */
struct vk_cache_entry *vk_cache_list(const char *home, size_t *n, struct vk_error *err);
void vk_cache_entries_free(struct vk_cache_entry *e, size_t n);

/* Deletes every cached, partial and built file when no other process uses
 * the cache (VK_ERR_BUSY otherwise, *BUSY 1). *FREED gets the bytes removed.
 * A payload ISO that a profile's domain uses goes too: start builds it
 * again before that domain boots. */
int vk_cache_clean(const char *home, off_t *freed, size_t *removed, size_t *busy, struct vk_error *err);
