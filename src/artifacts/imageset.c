/* The image set (see imageset.h): kubeadm's list plus the addons', pins, pulls under the store's lock, the OCI archive writer. */
#include "artifacts/imageset.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/cache.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/process.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Bump when what the archive holds, or how, changes: old archives then stop matching. */
#define ARCHIVE_LAYOUT "virtkube-images-oci 1"
#define HASH_HEX 12
#define LOCK_TIMEOUT_MS (30L * 60 * 1000)
#define COPY_CHUNK (1024 * 1024)

VK_DEFINE_CLEANUP(struct archive, archive_write_free)
VK_DEFINE_CLEANUP(struct archive_entry, archive_entry_free)

char *vk_images_store(const char *home)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);

	return vk_path_join(cache, "blobs");
}

static char *images_dir(const char *home)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);

	return vk_path_join(cache, "images");
}

bool vk_images_is_coredns(const char *ref)
{
	struct vk_image_ref r = { 0 };
	const char *last;
	bool is;

	if (vk_image_ref_parse(ref, &r, NULL) < 0)
		return false;
	last = strrchr(r.repository, '/');
	is = strcmp(last ? last + 1 : r.repository, "coredns") == 0;
	vk_image_ref_release(&r);
	return is;
}

int vk_images_rewrite_object(json_t *obj, const char *image_repository, const char *dns_image)
{
	static const char *const lists[] = { "containers", "initContainers", NULL };
	const char *key;
	json_t *value;
	size_t i;
	int changed = 0;

	if (json_is_array(obj)) {
		json_array_foreach(obj, i, value)
			changed += vk_images_rewrite_object(value, image_repository, dns_image);
		return changed;
	}
	if (!json_is_object(obj))
		return 0;
	for (const char *const *l = lists; *l; l++) {
		json_t *c;

		json_array_foreach(json_object_get(obj, *l), i, c) {
			const char *image = json_string_value(json_object_get(c, "image"));
			_cleanup_free_ char *to = NULL;

			if (!image)
				continue;
			to = dns_image && vk_images_is_coredns(image) ? xstrdup(dns_image)
								       : vk_images_rewrite(image, image_repository);
			if (strcmp(to, image) != 0) {
				json_object_set_new(c, "image", json_string(to));
				changed++;
			}
		}
	}
	json_object_foreach(obj, key, value)
		if (strcmp(key, "containers") != 0 && strcmp(key, "initContainers") != 0)
			changed += vk_images_rewrite_object(value, image_repository, dns_image);
	return changed;
}

char *vk_images_rewrite(const char *ref, const char *image_repository)
{
	size_t n = strlen(VK_IMAGES_UPSTREAM);
	_cleanup_free_ char *repo = NULL;

	if (!image_repository || !*image_repository || strncmp(ref, VK_IMAGES_UPSTREAM "/", n + 1) != 0)
		return xstrdup(ref);
	repo = xstrdup(image_repository);
	while (*repo && repo[strlen(repo) - 1] == '/')
		repo[strlen(repo) - 1] = '\0';
	return xasprintf("%s%s", repo, ref + n);
}

static void short_hash(const char *text, char hex[HASH_HEX + 1])
{
	char full[VK_SHA256_HEX_LEN + 1];

	vk_sha256_buffer(text, strlen(text), full);
	memcpy(hex, full, HASH_HEX);
	hex[HASH_HEX] = '\0';
}

/* ------------------------------------------------------ kubeadm's list -- */

/* Runs ARGV[0] with ARGV and returns what it printed on stdout. */
static int run_capture(const char *const *argv, char **out, struct vk_error *err)
{
	_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

	*out = NULL;
	p.argv = argv;
	p.stdout_to = VK_PROCESS_OUT_CAPTURE;
	if (vk_process_run(&p, err) < 0)
		return -1;
	if (!vk_process_succeeded(&p))
		return vk_error_set(err, VK_ERR_FAILED, "'%s %s %s %s' failed with status %d", argv[0], argv[1], argv[2],
				    argv[3],
				    p.status.end == VK_PROCESS_EXITED ? p.status.code : 128 + p.status.signal);
	*out = vk_strbuf_detach(&p.out, NULL);
	return 0;
}

/* The cache keeps kubeadm 0644; a private executable copy runs it. */
static int kubeadm_list(const char *home, const char *kubeadm, const char *version, const char *repo,
			char **out, struct vk_error *err)
{
	_cleanup_free_ char *dir = images_dir(home);
	_cleanup_free_ char *copy = NULL;
	_cleanup_close_ int in = -1;
	const char *argv[9] = { NULL, "config", "images", "list", "--kubernetes-version", version, NULL, NULL, NULL };
	struct stat st;
	off_t done = 0;
	int fd, rc = 0;

	if (vk_mkdir_p(dir, 0755, err) < 0)
		return -1;
	in = open(kubeadm, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s'", kubeadm);
	copy = xasprintf("%s/.kubeadm-XXXXXX", dir);
	fd = mkostemp(copy, O_CLOEXEC);
	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot make a copy of '%s' to run", kubeadm);
	while (rc == 0 && done < st.st_size) {
		ssize_t n = copy_file_range(in, NULL, fd, NULL, (size_t)(st.st_size - done), 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			/* Another filesystem (or an old kernel): plain reads and writes. */
			char buf[64 * 1024];

			n = read(in, buf, sizeof(buf));
			if (n > 0 && write(fd, buf, (size_t)n) != n)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else
			done += n;
	}
	if (rc == 0 && fchmod(fd, 0700) < 0)
		rc = -1;
	if (rc < 0)
		vk_error_set_errno(err, VK_ERR_IO, errno ? errno : EIO, "cannot copy '%s' to '%s'", kubeadm, copy);
	/* Closed before it runs: a file open for writing cannot be executed (ETXTBSY). */
	close(fd);
	argv[0] = copy;
	if (repo && *repo) {
		argv[6] = "--image-repository";
		argv[7] = repo;
	}
	if (rc == 0)
		rc = run_capture(argv, out, err);
	unlink(copy);
	if (rc < 0)
		vk_error_hint(err, "kubeadm from the cache ('%s') lists the images of %s; check that it runs on this host",
			      kubeadm, version);
	return rc;
}

/* kubeadm's list for VERSION and IMAGE_REPOSITORY, from its record in the cache, else from kubeadm (then recorded). */
static json_t *kubeadm_images(const char *home, const char *kubeadm, const char *version, const char *image_repository,
			      struct vk_error *err)
{
	_cleanup_free_ char *dir = images_dir(home);
	_cleanup_free_ char *lists = NULL, *record = NULL, *out = NULL, *dumped = NULL;
	json_t *list;
	char *save = NULL;
	char h[HASH_HEX + 1];

	if (!version || !*version || strchr(version, '/') || version[0] == '.') {
		vk_error_set(err, VK_ERR_INVALID, "bad Kubernetes version '%s' for the image list", version ? version : "");
		return NULL;
	}
	short_hash(image_repository ? image_repository : "", h);
	lists = vk_path_join(dir, "lists");
	record = xasprintf("%s/%s-%s.json", lists, version, h);
	list = json_load_file(record, 0, NULL);
	if (json_is_array(list))
		return list;
	json_decref(list);
	if (kubeadm_list(home, kubeadm, version, image_repository, &out, err) < 0)
		return NULL;
	list = json_array();
	for (char *line = strtok_r(out, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		struct vk_image_ref ref;

		line += strspn(line, " \t");
		if (!*line)
			continue;
		if (vk_image_ref_parse(line, &ref, err) < 0) {
			json_decref(list);
			vk_error_prefix(err, "kubeadm %s listed an image virtkube cannot read", version);
			return NULL;
		}
		vk_image_ref_release(&ref);
		json_array_append_new(list, json_string(line));
	}
	if (json_array_size(list) == 0) {
		json_decref(list);
		vk_error_set(err, VK_ERR_FAILED, "kubeadm %s listed no images", version);
		return NULL;
	}
	dumped = json_dumps(list, JSON_INDENT(2));
	if (vk_mkdir_p(lists, 0755, err) < 0 || vk_write_file_atomic(record, dumped, strlen(dumped), 0644, err) < 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

static const char *coredns_of(json_t *list)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
		if (json_is_string(e) && vk_images_is_coredns(json_string_value(e)))
			return json_string_value(e);
	return NULL;
}

char **vk_images_for_version(const char *home, const char *kubeadm, const char *version,
			     const char *image_repository, const char *const *addon_images, struct vk_error *err)
{
	json_auto_t *list = kubeadm_images(home, kubeadm, version, image_repository, err);
	const char *coredns;
	char **v;
	size_t n = 0, i;
	json_t *e;

	if (!list)
		return NULL;
	coredns = coredns_of(list);
	v = xcalloc(1, sizeof(char *));
	json_array_foreach(list, i, e)
		if (json_is_string(e) && !vk_images_is_coredns(json_string_value(e)))
			vk_strv_add_unique(&v, &n, json_string_value(e));
	for (i = 0; addon_images && addon_images[i]; i++) {
		_cleanup_free_ char *r = coredns && vk_images_is_coredns(addon_images[i])
						 ? xstrdup(coredns)
						 : vk_images_rewrite(addon_images[i], image_repository);

		vk_strv_add_unique(&v, &n, r);
	}
	return v;
}

char *vk_images_kubeadm_coredns(const char *home, const char *kubeadm, const char *version,
				const char *image_repository, struct vk_error *err)
{
	json_auto_t *list = kubeadm_images(home, kubeadm, version, image_repository, err);
	const char *coredns;

	if (!list)
		return NULL;
	coredns = coredns_of(list);
	if (!coredns) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "kubeadm %s names no CoreDNS image", version);
		return NULL;
	}
	return xstrdup(coredns);
}

/* ---------------------------------------------------------------- pulls -- */

static char *pins_path(const char *home)
{
	_cleanup_free_ char *dir = images_dir(home);

	return vk_path_join(dir, "pins.json");
}

static json_t *pins_load(const char *path, struct vk_error *err)
{
	json_error_t jerr;
	json_t *pins;

	if (!vk_path_exists(path))
		return json_object();
	pins = json_load_file(path, 0, &jerr);
	if (!json_is_object(pins)) {
		json_decref(pins);
		vk_error_set(err, VK_ERR_PARSE, "cannot read the image pins '%s': %s", path, jerr.text);
		vk_error_hint(err, "delete the file to resolve every tag again");
		return NULL;
	}
	return pins;
}

int vk_images_pull(const char *home, const char *const *refs, const struct vk_registry_options *o,
		   struct vk_pulled_image **out, size_t *n, struct vk_error *err)
{
	_cleanup_free_ char *store = vk_images_store(home), *pinfile = pins_path(home);
	_cleanup_free_ char *lockpath = NULL, *dir = images_dir(home);
	_cleanup_free_ const char **pins = NULL;
	_cleanup_close_ int hold = -1;
	json_auto_t *pinned = NULL;
	struct vk_lock lock = VK_LOCK_INIT;
	struct vk_pulled_image *v;
	size_t count = 0;
	bool changed = false;
	int rc;

	*out = NULL;
	*n = 0;
	while (refs && refs[count])
		count++;
	hold = vk_cache_hold(home, err);
	if (hold < 0)
		return -1;
	if (vk_mkdir_p(store, 0755, err) < 0 || vk_mkdir_p(dir, 0755, err) < 0)
		return -1;
	lockpath = vk_path_join(store, ".lock");
	if (vk_lock_acquire(&lock, lockpath, "the image store", LOCK_TIMEOUT_MS, err) < 0)
		return -1;
	pinned = pins_load(pinfile, err);
	if (!pinned) {
		vk_lock_release(&lock);
		return -1;
	}
	pins = xcalloc(count + 1, sizeof(*pins));
	for (size_t i = 0; i < count; i++) {
		struct vk_image_ref ref;
		_cleanup_free_ char *name = NULL;

		if (vk_image_ref_parse(refs[i], &ref, err) < 0) {
			vk_lock_release(&lock);
			return -1;
		}
		name = vk_image_ref_name(&ref);
		vk_image_ref_release(&ref);
		pins[i] = json_string_value(json_object_get(pinned, name));
	}
	v = xcalloc(count + 1, sizeof(*v));
	rc = vk_registry_pull(store, refs, pins, count, o, v, err);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		json_t *have = json_object_get(pinned, v[i].name);

		if (!json_is_string(have) || strcmp(json_string_value(have), v[i].digest) != 0) {
			json_object_set_new(pinned, v[i].name, json_string(v[i].digest));
			changed = true;
		}
	}
	if (rc == 0 && changed) {
		_cleanup_free_ char *text = json_dumps(pinned, JSON_INDENT(2) | JSON_SORT_KEYS);

		rc = vk_write_file_atomic(pinfile, text, strlen(text), 0644, err);
	}
	vk_lock_release(&lock);
	if (rc < 0) {
		vk_images_release(v, count);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

void vk_images_release(struct vk_pulled_image *v, size_t n)
{
	vk_pulled_images_release(v, n);
	free(v);
}

/* -------------------------------------------------------------- archive -- */

char *vk_images_archive_path(const char *home, const struct vk_pulled_image *v, size_t n)
{
	_cleanup_strbuf_ struct vk_strbuf in = VK_STRBUF_INIT;
	_cleanup_free_ char *dir = images_dir(home);
	char h[HASH_HEX + 1];

	vk_strbuf_addstr(&in, ARCHIVE_LAYOUT "\n");
	for (size_t i = 0; i < n; i++)
		vk_strbuf_addf(&in, "%s %s\n", v[i].name, v[i].manifest_digest);
	short_hash(in.buf, h);
	return xasprintf("%s/oci-%s.tar", dir, h);
}

static int entry_header(struct archive *a, const char *path, mode_t type, int64_t size, const char *tar,
			struct vk_error *err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	/* Fixed owner and time: the same set gives the same bytes. */
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return vk_error_set(err, VK_ERR_IO, "cannot write '%s' into '%s': %s", path, tar, archive_error_string(a));
	return 0;
}

static int add_bytes(struct archive *a, const char *path, const char *data, size_t len, const char *tar,
		     struct vk_error *err)
{
	if (entry_header(a, path, AE_IFREG, (int64_t)len, tar, err) < 0)
		return -1;
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		return vk_error_set(err, VK_ERR_IO, "cannot write '%s' into '%s': %s", path, tar, archive_error_string(a));
	return 0;
}

static int add_blob(struct archive *a, const char *store, const char *digest, unsigned char *buf, const char *tar,
		    struct vk_error *err)
{
	_cleanup_free_ char *src = vk_blob_path(store, digest);
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest + 7);
	_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int64_t done = 0;

	if (fd < 0) {
		vk_error_set_errno(err, VK_ERR_NOT_FOUND, errno, "blob %s is not in the image store", digest);
		return vk_error_hint(err, "pull the images again (vk_images_pull) before writing the archive");
	}
	if (fstat(fd, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot stat '%s'", src);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (entry_header(a, path, AE_IFREG, st.st_size, tar, err) < 0)
		return -1;
	while (done < st.st_size) {
		ssize_t r = read(fd, buf, COPY_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", src);
		if (r == 0)
			return vk_error_set(err, VK_ERR_IO, "'%s' became shorter while it was archived", src);
		if (archive_write_data(a, buf, (size_t)r) != r)
			return vk_error_set(err, VK_ERR_IO, "cannot write '%s' into '%s': %s", path, tar,
					    archive_error_string(a));
		done += r;
	}
	return 0;
}

static char *index_json(const struct vk_pulled_image *v, size_t n)
{
	json_auto_t *root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", VK_OCI_MT_INDEX, "manifests");
	json_t *list = json_object_get(root, "manifests");

	for (size_t i = 0; i < n; i++) {
		struct vk_image_ref ref;
		json_t *ann = json_pack("{s:s}", "io.containerd.image.name", v[i].name);

		/* v[i].name came from vk_image_ref_name: it parses. */
		if (vk_image_ref_parse(v[i].name, &ref, NULL) == 0 && ref.tag)
			json_object_set_new(ann, "org.opencontainers.image.ref.name", json_string(ref.tag));
		vk_image_ref_release(&ref);
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:o}", "mediaType", v[i].manifest_media_type,
						      "digest", v[i].manifest_digest, "size", (json_int_t)v[i].manifest_size,
						      "annotations", ann));
	}
	return json_dumps(root, JSON_INDENT(2));
}

static int write_archive(const char *home, const struct vk_pulled_image *v, size_t n, const char *tar,
			 struct vk_error *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	_cleanup_free_ char *store = vk_images_store(home), *index = index_json(v, n);
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", tar, (long)getpid());
	_cleanup_free_ unsigned char *buf = xmalloc(COPY_CHUNK);
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	_cleanup_strv_ char **done = xcalloc(1, sizeof(char *));
	size_t ndone = 0;
	int rc = 0;

	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_filename(a, tmp) != ARCHIVE_OK)
		return vk_error_set(err, VK_ERR_IO, "cannot create '%s': %s", tmp, archive_error_string(a));
	rc = add_bytes(a, "oci-layout", layout, strlen(layout), tar, err);
	if (rc == 0)
		rc = add_bytes(a, "index.json", index, strlen(index), tar, err);
	if (rc == 0)
		rc = entry_header(a, "blobs", AE_IFDIR, 0, tar, err);
	if (rc == 0)
		rc = entry_header(a, "blobs/sha256", AE_IFDIR, 0, tar, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *manifest[] = { v[i].manifest_digest, NULL };

		for (int pass = 0; rc == 0 && pass < 2; pass++) {
			const char *const *list = pass == 0 ? manifest : (const char *const *)v[i].blobs;

			for (size_t j = 0; rc == 0 && list[j]; j++) {
				size_t before = ndone;

				vk_strv_add_unique(&done, &ndone, list[j]);
				if (ndone > before)
					rc = add_blob(a, store, list[j], buf, tar, err);
			}
		}
	}
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = vk_error_set(err, VK_ERR_IO, "cannot finish '%s': %s", tmp, archive_error_string(a));
	if (rc == 0 && rename(tmp, tar) < 0)
		rc = vk_error_set_errno(err, VK_ERR_IO, errno, "cannot rename '%s' to '%s'", tmp, tar);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

char *vk_images_archive_ensure(const char *home, const struct vk_pulled_image *v, size_t n, bool *built,
			       struct vk_error *err)
{
	_cleanup_free_ char *tar = vk_images_archive_path(home, v, n);
	_cleanup_free_ char *dir = images_dir(home), *lockpath = NULL;
	_cleanup_close_ int hold = -1;
	struct vk_lock lock = VK_LOCK_INIT;
	int rc;

	if (built)
		*built = false;
	hold = vk_cache_hold(home, err);
	if (hold < 0)
		return NULL;
	/* The archive only ever appears by rename: if it is there, it is whole. */
	if (vk_path_exists(tar))
		return TAKE_PTR(tar);
	if (vk_mkdir_p(dir, 0755, err) < 0)
		return NULL;
	lockpath = xasprintf("%s.lock", tar);
	if (vk_lock_acquire(&lock, lockpath, "the images archive", LOCK_TIMEOUT_MS, err) < 0)
		return NULL;
	if (vk_path_exists(tar)) {
		vk_lock_release(&lock);
		return TAKE_PTR(tar);
	}
	vk_info("writing the images archive (%zu image%s): %s", n, n == 1 ? "" : "s", tar);
	rc = write_archive(home, v, n, tar, err);
	vk_lock_release(&lock);
	if (rc < 0) {
		vk_error_prefix(err, "cannot write the images archive");
		return NULL;
	}
	if (built)
		*built = true;
	return TAKE_PTR(tar);
}

char *vk_images_prepare(const struct vk_images_request *req, bool *built, struct vk_error *err)
{
	_cleanup_strv_ char **refs = NULL;
	struct vk_pulled_image *v = NULL;
	size_t n = 0;
	char *tar;

	if (built)
		*built = false;
	refs = vk_images_for_version(req->home, req->kubeadm, req->kubernetes_version, req->image_repository,
				     req->addon_images, err);
	if (!refs)
		return NULL;
	if (vk_images_pull(req->home, (const char *const *)refs, &req->registry, &v, &n, err) < 0)
		return NULL;
	tar = vk_images_archive_ensure(req->home, v, n, built, err);
	vk_images_release(v, n);
	return tar;
}

/* ------------------------------------------------------------- listing -- */

static int cmp_cached(const void *a, const void *b)
{
	return strcmp(((const struct vk_cached_image *)a)->name, ((const struct vk_cached_image *)b)->name);
}

struct vk_cached_image *vk_images_cached(const char *home, size_t *n, struct vk_error *err)
{
	_cleanup_free_ char *pinfile = pins_path(home), *store = vk_images_store(home);
	json_auto_t *pinned = pins_load(pinfile, err);
	struct vk_cached_image *v;
	struct vk_registry_options o;
	const char *name;
	json_t *digest;
	size_t i = 0;

	*n = 0;
	if (!pinned)
		return NULL;
	vk_registry_options_init(&o);
	o.offline = true;
	v = xcalloc(json_object_size(pinned) + 1, sizeof(*v));
	json_object_foreach(pinned, name, digest) {
		const char *pin = json_string_value(digest);
		struct vk_pulled_image one;
		struct vk_error ignored = { 0 };

		if (!pin || strlen(pin) != VK_DIGEST_LEN)
			continue;
		v[i].name = xstrdup(name);
		memcpy(v[i].digest, pin, VK_DIGEST_LEN + 1);
		/* An offline pull reads only the store: it says whether the image is whole. */
		if (vk_registry_pull(store, (const char *const[]){ name }, (const char *const[]){ pin }, 1, &o, &one,
				     &ignored) == 0) {
			v[i].size = one.size;
			v[i].complete = true;
			vk_pulled_images_release(&one, 1);
		}
		i++;
	}
	*n = i;
	qsort(v, i, sizeof(*v), cmp_cached);
	return v;
}

void vk_cached_images_free(struct vk_cached_image *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}
