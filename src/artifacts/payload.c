/* The shared payload ISO (see payload.h): its inputs from the version's artifacts, named by a hash of them, built under a lock, reused by every profile of a version. */
#include "artifacts/payload.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/cache.h"
#include "profile/datadir.h"
#include "vm/seed.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Bump when what goes on the ISO, or where, changes: old ISOs then stop matching. */
#define LAYOUT "virtkube-payload 2"
#define MAX_ITEMS 8
#define HASH_HEX 12
#define LOCK_TIMEOUT_MS (30L * 60 * 1000)

VK_DEFINE_CLEANUP(EVP_MD_CTX, EVP_MD_CTX_free)

/* The files in ISO order: where each goes and the input it comes from. */
struct item {
	const char *dest;
	const char *src;
	mode_t mode;
};

static size_t items_of(const struct vk_payload_inputs *in, struct item out[MAX_ITEMS])
{
	const char *images = in->images ? in->images : getenv(VK_PAYLOAD_IMAGES_ENV);
	size_t n;

	const struct item v[] = {
		{ "bin/kubeadm", in->kubeadm, 0755 },	  { "bin/kubelet", in->kubelet, 0755 },
		{ "bin/kubectl", in->kubectl, 0755 },	  { "bin/runc", in->runc, 0755 },
		{ "bin/crictl", in->crictl, 0755 },	  { "containerd.tar.gz", in->containerd, 0644 },
		{ "cni-plugins.tgz", in->cni_plugins, 0644 },
	};

	memcpy(out, v, sizeof(v));
	n = VK_ARRAY_SIZE(v);
	if (images && *images)
		out[n++] = (struct item){ VK_PAYLOAD_IMAGES, images, 0644 };
	return n;
}

static void md_field(EVP_MD_CTX *md, const char *s)
{
	EVP_DigestUpdate(md, s, strlen(s) + 1);
}

static void md_stat(EVP_MD_CTX *md, const struct stat *st)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%jd %jd.%09ld %ju %ju %o", (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (uintmax_t)st->st_ino, (uintmax_t)st->st_dev, (unsigned)(st->st_mode & 07777));
	md_field(md, buf);
}

static int no_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* The units tree by content (it comes from the data directory, which an
 * upgrade rewrites): names in sorted order, modes, bytes. */
static int md_tree(EVP_MD_CTX *md, const char *dir, const char *rel, struct vk_error *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, no_dots, alphasort);
	int rc = 0;

	if (n < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read directory '%s'", dir);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = vk_path_join(dir, names[i]->d_name);
		_cleanup_free_ char *sub = xasprintf("%s/%s", rel, names[i]->d_name);
		_cleanup_free_ char *data = NULL;
		struct stat st;
		size_t len;

		if (rc < 0)
			continue;
		md_field(md, sub);
		if (lstat(path, &st) < 0) {
			rc = vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", path);
		} else if (S_ISDIR(st.st_mode)) {
			md_field(md, "dir");
			rc = md_tree(md, path, sub, err);
		} else if (vk_read_file(path, &data, &len, err) < 0) {
			rc = -1;
		} else {
			char head[32];

			snprintf(head, sizeof(head), "%zu %o", len, (unsigned)(st.st_mode & 07777));
			md_field(md, head);
			EVP_DigestUpdate(md, data, len);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int check_inputs(const struct vk_payload_inputs *in, struct vk_error *err)
{
	const char *v = in->kubernetes_version;
	struct item items[MAX_ITEMS];
	size_t n = items_of(in, items);

	/* The version is part of a file name. */
	if (!v || !*v || *v == '.' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_") != strlen(v))
		return vk_error_set(err, VK_ERR_INVALID, "payload ISO: bad Kubernetes version '%s'", v ? v : "");
	for (size_t i = 0; i < n; i++)
		if (!items[i].src)
			return vk_error_set(err, VK_ERR_INVALID, "payload ISO for %s: no file for %s", v, items[i].dest);
	if (!in->units)
		return vk_error_set(err, VK_ERR_INVALID, "payload ISO for %s: no units directory", v);
	return 0;
}

char *vk_payload_path(const char *home, const struct vk_payload_inputs *in, struct vk_error *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
	_cleanup_free_ char *cache = NULL;
	struct item items[MAX_ITEMS];
	size_t n = items_of(in, items);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	char hex[HASH_HEX + 1];

	if (check_inputs(in, err) < 0)
		return NULL;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	md_field(md, LAYOUT);
	md_field(md, VK_PAYLOAD_LABEL);
	md_field(md, in->kubernetes_version);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(items[i].src, &st) < 0) {
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot use '%s' for the payload ISO", items[i].src);
			return NULL;
		}
		if (!S_ISREG(st.st_mode)) {
			vk_error_set(err, VK_ERR_INVALID, "cannot use '%s' for the payload ISO: not a regular file", items[i].src);
			return NULL;
		}
		md_field(md, items[i].dest);
		md_field(md, items[i].src);
		md_stat(md, &st);
	}
	if (md_tree(md, in->units, "units", err) < 0)
		return NULL;
	EVP_DigestFinal_ex(md, digest, &len);
	for (size_t i = 0; i < HASH_HEX / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	cache = vk_cache_dir(home);
	return xasprintf("%s/" VK_CACHE_BUILT_DIR "/%s-%s.iso", cache, in->kubernetes_version, hex);
}

static int write_iso(const struct vk_payload_inputs *in, const char *iso, struct vk_error *err)
{
	_cleanup_seed_ struct vk_seed *seed = vk_seed_new();
	struct item items[MAX_ITEMS];
	size_t n = items_of(in, items);

	for (size_t i = 0; i < n; i++)
		if (vk_seed_add_host_file(seed, items[i].dest, items[i].src, items[i].mode, err) < 0)
			return -1;
	if (vk_seed_add_host_tree(seed, "units", in->units, err) < 0)
		return -1;
	return vk_seed_write_iso(seed, iso, VK_PAYLOAD_LABEL, 0644, err);
}

char *vk_payload_ensure(const char *home, const struct vk_payload_inputs *in, bool *built, struct vk_error *err)
{
	_cleanup_free_ char *iso = vk_payload_path(home, in, err);
	_cleanup_free_ char *dir = NULL, *lockpath = NULL, *what = NULL;
	_cleanup_close_ int hold = -1;
	struct vk_lock lock = VK_LOCK_INIT;
	struct timespec t0, t1;
	int rc;

	if (built)
		*built = false;
	if (!iso)
		return NULL;
	hold = vk_cache_hold(home, err);
	if (hold < 0)
		return NULL;
	/* The ISO only ever appears by rename: if it is there, it is whole. */
	if (vk_path_exists(iso)) {
		vk_debug("payload ISO '%s' is cached", iso);
		return TAKE_PTR(iso);
	}
	dir = xstrndup(iso, (size_t)(strrchr(iso, '/') - iso));
	if (vk_mkdir_p(dir, 0755, err) < 0)
		return NULL;
	lockpath = xasprintf("%s.lock", iso);
	what = xasprintf("the payload ISO of Kubernetes %s", in->kubernetes_version);
	if (vk_lock_acquire(&lock, lockpath, what, LOCK_TIMEOUT_MS, err) < 0)
		return NULL;
	if (vk_path_exists(iso)) {
		/* Another start built it while we waited. */
		vk_lock_release(&lock);
		vk_debug("payload ISO '%s' was built by another process", iso);
		return TAKE_PTR(iso);
	}
	vk_info("building the payload ISO of Kubernetes %s (once: shared by its profiles): %s", in->kubernetes_version, iso);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = write_iso(in, iso, err);
	vk_lock_release(&lock);
	if (rc < 0) {
		vk_error_prefix(err, "cannot build the payload ISO of Kubernetes %s", in->kubernetes_version);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vk_info("payload ISO built in %.3f s", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (built)
		*built = true;
	return TAKE_PTR(iso);
}

/* ---- crictl out of its tarball ---------------------------------------------- */

static int archive_fail(struct archive *a, const char *what, const char *path, struct vk_error *err)
{
	const char *msg = archive_error_string(a);

	return vk_error_set(err, VK_ERR_IO, "cannot %s '%s': %s", what, path, msg ? msg : "unknown libarchive error");
}

/* Writes the entry named NAME of tarball SRC to DEST (0755), through a temporary file. */
static int extract_one(const char *src, const char *name, const char *dest, struct vk_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	_cleanup_free_ char *tmp = xasprintf("%s.tmpXXXXXX", dest);
	_cleanup_close_ int fd = -1;
	bool found = false;
	int r, rc = -1;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, src, 65536) != ARCHIVE_OK) {
		archive_fail(a, "open", src, err);
		goto out;
	}
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(entry);
		const char *base = strrchr(path, '/');
		const void *buf;
		size_t len;
		la_int64_t off;

		base = base ? base + 1 : path;
		if (strcmp(base, name) != 0 || archive_entry_filetype(entry) != AE_IFREG)
			continue;
		fd = mkstemp(tmp);
		if (fd < 0) {
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create '%s'", tmp);
			goto out;
		}
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				vk_error_set_errno(err, VK_ERR_IO, errno, "cannot write '%s'", tmp);
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			archive_fail(a, "read", src, err);
			goto out;
		}
		if (fchmod(fd, 0755) < 0 || fsync(fd) < 0 || rename(tmp, dest) < 0) {
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot install '%s'", dest);
			goto out;
		}
		found = true;
		break;
	}
	if (!found) {
		if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
			archive_fail(a, "read", src, err);
		else
			vk_error_set(err, VK_ERR_NOT_FOUND, "'%s' holds no file named '%s'", src, name);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && fd >= 0)
		unlink(tmp);
	archive_read_free(a);
	return rc;
}

/* Returns the crictl binary (caller frees), kept next to the verified
 * tarball it came from and made again when older than it. */
static char *ensure_crictl(const char *tarball, struct vk_error *err)
{
	_cleanup_free_ char *dest = xasprintf("%s.crictl", tarball);
	struct stat st_tar, st_bin;

	if (stat(tarball, &st_tar) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot use '%s'", tarball);
		return NULL;
	}
	if ((stat(dest, &st_bin) < 0 || st_bin.st_mtime < st_tar.st_mtime) && extract_one(tarball, "crictl", dest, err) < 0)
		return NULL;
	return TAKE_PTR(dest);
}

/* ---- from the version's artifacts ------------------------------------------------- */

static bool paths_complete(const struct vk_artifact_paths *a)
{
	return a && a->kubernetes_version && a->kubeadm && a->kubelet && a->kubectl && a->runc && a->containerd &&
	       a->cni_plugins && a->crictl;
}

/* The binaries and units go on the version's shared ISO, not on each seed:
 * writing them was nearly all of a start's host-side time. */
char *vk_payload_build(const char *home, const struct vk_artifact_paths *a, const char *images, bool *built,
		       struct vk_error *err)
{
	_cleanup_free_ char *crictl = NULL, *units = NULL;
	struct vk_payload_inputs in;

	if (!paths_complete(a)) {
		vk_error_set(err, VK_ERR_INVALID, "the Kubernetes binaries for the payload ISO are not all known");
		return NULL;
	}
	crictl = ensure_crictl(a->crictl, err);
	if (!crictl)
		return NULL;
	units = vk_data_path_existing("scripts/guest/units", err);
	if (!units)
		return NULL;
	in = (struct vk_payload_inputs){
		.kubernetes_version = a->kubernetes_version,
		.kubeadm = a->kubeadm,
		.kubelet = a->kubelet,
		.kubectl = a->kubectl,
		.runc = a->runc,
		.crictl = crictl,
		.containerd = a->containerd,
		.cni_plugins = a->cni_plugins,
		.units = units,
		.images = images,
	};
	return vk_payload_ensure(home, &in, built, err);
}
