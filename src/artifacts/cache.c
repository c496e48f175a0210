/* The download cache (see cache.h): lookups, records, locks, mirrors, offline checks, list and clean. */
#include "artifacts/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define RECORD_SUFFIX ".verified"
#define PART_SUFFIX ".part"
#define LOCK_SUFFIX ".lock"

void vk_cache_options_init(struct vk_cache_options *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_timeout_ms = 2L * 3600L * 1000L;
	vk_fetch_options_init(&o->fetch);
}

char *vk_cache_dir(const char *home)
{
	return vk_path_join(home, "cache");
}

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-+~/", c);
}

char *vk_cache_key(const char *url, struct vk_error *err)
{
	const char *rest, *slash;
	_cleanup_free_ char *key = NULL;
	size_t len;

	if (strncmp(url, "https://", 8) == 0)
		rest = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		rest = url + 7;
	else {
		vk_error_set(err, VK_ERR_INVALID, "cannot cache '%s': not an http(s) URL", url);
		return NULL;
	}
	slash = strchr(rest, '/');
	if (!slash || slash == rest) {
		vk_error_set(err, VK_ERR_INVALID, "cannot cache '%s': the URL has no path", url);
		return NULL;
	}
	len = strcspn(rest, "?#");
	key = xstrndup(rest, len);
	/* The host's port (if any) becomes part of the first component. */
	for (char *p = key; *p && *p != '/'; p++)
		if (*p == ':')
			*p = '_';
	for (const char *p = key; *p; p++) {
		if (!key_char_ok(*p)) {
			vk_error_set(err, VK_ERR_INVALID, "cannot cache '%s': unexpected character in the URL", url);
			return NULL;
		}
	}
	if (strstr(key, "//") || strstr(key, "/../") || strstr(key, "/./") || key[strlen(key) - 1] == '/' ||
	    strncmp(key, "../", 3) == 0 || strcmp(key + strlen(key) - 3, "/..") == 0 || key[0] == '.') {
		vk_error_set(err, VK_ERR_INVALID, "cannot cache '%s': the path is not a plain file path", url);
		return NULL;
	}
	return TAKE_PTR(key);
}

/* Percent-encodes what a file:// URL path cannot carry as is. */
static void add_path_escaped(struct vk_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (key_char_ok(*s))
			vk_strbuf_addch(sb, *s);
		else
			vk_strbuf_addf(sb, "%%%02X", (unsigned char)*s);
	}
}

int vk_mirror_check(const char *mirror, struct vk_error *err)
{
	if (!mirror)
		return 0;
	if (!*mirror)
		return vk_error_set(err, VK_ERR_INVALID, "invalid --mirror '': empty");
	if (strncmp(mirror, "https://", 8) == 0 || strncmp(mirror, "http://", 7) == 0) {
		const char *host = mirror + (mirror[4] == 's' ? 8 : 7);

		if (*host == '\0' || *host == '/') {
			vk_error_set(err, VK_ERR_INVALID, "invalid --mirror '%s': no host", mirror);
			return vk_error_hint(err, "give a base URL such as https://mirror.example.com/k8s");
		}
		if (strpbrk(mirror, "?# \t\n"))
			return vk_error_set(err, VK_ERR_INVALID, "invalid --mirror '%s': a base URL has no query, fragment or spaces", mirror);
		return 0;
	}
	const char *dir = strncmp(mirror, "file://", 7) == 0 ? mirror + 7 : mirror;

	if (strstr(mirror, "://") && strncmp(mirror, "file://", 7) != 0) {
		vk_error_set(err, VK_ERR_INVALID, "invalid --mirror '%s': unsupported scheme", mirror);
		return vk_error_hint(err, "use https://, http://, file:// or a local directory");
	}
	if (!vk_is_dir(dir)) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "invalid --mirror '%s': '%s' is not a directory", mirror, dir);
		return vk_error_hint(err, "a directory mirror holds the upstream paths, e.g. DIR/release/v1.36.5/bin/linux/amd64/kubeadm");
	}
	return 0;
}

char *vk_mirror_url(const char *mirror, const char *upstream, bool *is_http, bool *is_file, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf sb = VK_STRBUF_INIT;
	const char *rest, *path;

	if (is_http)
		*is_http = false;
	if (is_file)
		*is_file = false;
	if (!mirror)
		return xstrdup(upstream);
	if (vk_mirror_check(mirror, err) < 0)
		return NULL;
	rest = strstr(upstream, "://");
	path = rest ? strchr(rest + 3, '/') : NULL;
	if (!path) {
		vk_error_set(err, VK_ERR_INVALID, "cannot map '%s' onto the mirror: no path", upstream);
		return NULL;
	}
	if (strncmp(mirror, "https://", 8) == 0 || strncmp(mirror, "http://", 7) == 0) {
		size_t len = strlen(mirror);

		while (len > 0 && mirror[len - 1] == '/')
			len--;
		vk_strbuf_add(&sb, mirror, len);
		vk_strbuf_addstr(&sb, path);
		if (is_http)
			*is_http = strncmp(mirror, "http://", 7) == 0;
		return vk_strbuf_detach(&sb, NULL);
	}
	/* A directory: file://ABSOLUTE-DIR/PATH. */
	const char *dir = strncmp(mirror, "file://", 7) == 0 ? mirror + 7 : mirror;
	char abs[PATH_MAX];

	if (!realpath(dir, abs)) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot resolve --mirror directory '%s'", dir);
		return NULL;
	}
	vk_strbuf_addstr(&sb, "file://");
	add_path_escaped(&sb, strcmp(abs, "/") == 0 ? "" : abs);
	add_path_escaped(&sb, path);
	if (is_file)
		*is_file = true;
	return vk_strbuf_detach(&sb, NULL);
}

/* The running kernel's boot id: a record made under another one may describe
 * a file whose bytes never reached the disk before a crash. */
static const char *boot_id(void)
{
	static char id[64];

	if (!id[0]) {
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

		if (!f || !fgets(id, sizeof(id), f))
			snprintf(id, sizeof(id), "unknown");
		id[strcspn(id, "\n")] = '\0';
		if (f)
			fclose(f);
	}
	return id;
}

static int record_write(const char *file, const char *sha, off_t size, const char *url, const char *checksum_url,
			bool synced, struct vk_error *err)
{
	_cleanup_free_ char *rec = xasprintf("%s" RECORD_SUFFIX, file);
	json_t *j = json_pack("{s:s, s:I, s:s?, s:s?, s:I, s:s, s:b}", "sha256", sha, "size", (json_int_t)size, "url",
			      url, "checksum_url", checksum_url, "verified_at", (json_int_t)time(NULL), "boot_id",
			      boot_id(), "synced", synced);
	char *text = json_dumps(j, JSON_INDENT(2));
	int r;

	json_decref(j);
	if (!text)
		abort();
	r = vk_write_file_atomic(rec, text, strlen(text), 0644, err);
	free(text);
	return r;
}

/* True when FILE exists with the size its record names; fills SHA (65).
 * With SETTLE, a file recorded during an earlier boot and never fsync'd is
 * re-hashed first (a crash may have lost its bytes), then fsync'd and
 * recorded as synced: downloads skip the fsync, this pays it once, later. */
static bool record_ok(const char *file, char *sha, bool settle)
{
	_cleanup_free_ char *rec = xasprintf("%s" RECORD_SUFFIX, file);
	json_error_t jerr;
	json_t *j = json_load_file(rec, 0, &jerr);
	const char *s, *boot;
	char got[VK_SHA256_HEX_LEN + 1];
	struct stat st;
	bool ok = false;

	if (!j)
		return false;
	s = json_string_value(json_object_get(j, "sha256"));
	boot = json_string_value(json_object_get(j, "boot_id"));
	if (s && vk_sha256_hex_valid(s) && stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
	    json_integer_value(json_object_get(j, "size")) == (json_int_t)st.st_size) {
		ok = true;
		if (settle && !json_is_true(json_object_get(j, "synced")) && (!boot || strcmp(boot, boot_id()) != 0)) {
			int fd;

			ok = vk_sha256_file(file, got, NULL) == 0 && strcmp(got, s) == 0;
			fd = ok ? open(file, O_RDONLY | O_CLOEXEC) : -1;
			if (fd >= 0) {
				ok = fsync(fd) == 0;
				close(fd);
			}
			if (ok)
				record_write(file, s, st.st_size, json_string_value(json_object_get(j, "url")),
					     json_string_value(json_object_get(j, "checksum_url")), true, NULL);
			vk_info("'%s' was cached before a reboot: re-hashed, %s", file, ok ? "still good" : "damaged");
		}
		if (ok && sha)
			memcpy(sha, s, VK_SHA256_HEX_LEN + 1);
	}
	json_decref(j);
	return ok;
}

static void forget(const char *file)
{
	_cleanup_free_ char *rec = xasprintf("%s" RECORD_SUFFIX, file);

	unlink(rec);
	unlink(file);
}

/* A shared lock on HOME/cache/.lock while the cache is used; `cache clean` takes it exclusively. */
static int cache_lock(const char *cache, int how, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_path_join(cache, ".lock");
	int fd;

	if (vk_mkdir_p(cache, 0700, err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s'", path);
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			close(fd);
			vk_error_set(err, VK_ERR_BUSY, "the download cache '%s' is in use by another virtkube process", cache);
			return vk_error_hint(err, "wait for the other download to finish, then try again");
		}
		int saved = errno;

		close(fd);
		return vk_error_set_errno(err, VK_ERR_IO, saved, "cannot lock '%s'", path);
	}
	return fd;
}

int vk_cache_hold(const char *home, struct vk_error *err)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);

	return cache_lock(cache, LOCK_SH, err);
}

struct pending {
	size_t idx;
	struct vk_lock lock;
};

static const char *file_name_of(const char *url)
{
	const char *slash = strrchr(url, '/');

	return slash ? slash + 1 : url;
}

/* Downloads the items in MINE (locks held): checksums first, then the files. */
static int download(const struct vk_cache_item *items, char **files, struct pending *mine, size_t nmine,
		    const struct vk_cache_options *o, struct vk_error *err)
{
	struct vk_fetch_options fo = o->fetch;
	_cleanup_free_ struct vk_fetch_item *ck = xcalloc(nmine, sizeof(*ck));
	_cleanup_free_ struct vk_fetch_item *fi = xcalloc(nmine, sizeof(*fi));
	_cleanup_free_ size_t *ck_of = xcalloc(nmine, sizeof(size_t));
	char **urls = xcalloc(nmine, sizeof(char *));
	char **ck_urls = xcalloc(nmine, sizeof(char *));
	char (*sha)[VK_SHA256_HEX_LEN + 1] = xcalloc(nmine, sizeof(*sha));
	size_t nck = 0;
	int rc = -1;

	for (size_t k = 0; k < nmine; k++) {
		const struct vk_cache_item *it = &items[mine[k].idx];
		bool http = false, file = false;

		urls[k] = vk_mirror_url(o->mirror, it->url, &http, &file, err);
		if (!urls[k])
			goto out;
		fo.allow_http |= http;
		fo.allow_file |= file;
		if (it->sha256) {
			if (!vk_sha256_hex_valid(it->sha256)) {
				vk_error_set(err, VK_ERR_INVALID, "the artifact table's sha256 for '%s' is not 64 hex digits",
					     it->name);
				goto out;
			}
			memcpy(sha[k], it->sha256, VK_SHA256_HEX_LEN + 1);
			continue;
		}
		if (!it->checksum_url) {
			vk_error_set(err, VK_ERR_INVALID, "no checksum source for '%s' in the artifact table", it->name);
			goto out;
		}
		ck_urls[k] = vk_mirror_url(o->mirror, it->checksum_url, NULL, NULL, err);
		if (!ck_urls[k])
			goto out;
		ck[nck].url = ck_urls[k];
		ck[nck].name = it->checksum_url;
		ck_of[nck] = k;
		nck++;
	}
	if (nck > 0) {
		struct vk_fetch_options cko = fo;

		cko.progress = NULL; /* checksum files are tiny: no bars for them */
		if (vk_fetch_run(ck, nck, &cko, err) < 0) {
			vk_error_prefix(err, "cannot fetch the published checksums");
			vk_fetch_items_release(ck, nck);
			goto out;
		}
		for (size_t c = 0; c < nck; c++) {
			const struct vk_cache_item *it = &items[mine[ck_of[c]].idx];
			const char *want = it->checksum_name ? it->checksum_name : file_name_of(it->url);

			if (vk_checksum_parse(ck[c].body, want, ck[c].url, sha[ck_of[c]], err) < 0) {
				vk_fetch_items_release(ck, nck);
				goto out;
			}
		}
		vk_fetch_items_release(ck, nck);
	}
	for (size_t k = 0; k < nmine; k++) {
		fi[k].url = urls[k];
		fi[k].dest = files[mine[k].idx];
		fi[k].sha256 = sha[k];
		fi[k].name = items[mine[k].idx].name;
	}
	rc = vk_fetch_run(fi, nmine, &fo, err);
	/* Whatever arrived and matched is recorded, even if another item failed. */
	for (size_t k = 0; k < nmine; k++) {
		const struct vk_cache_item *it = &items[mine[k].idx];
		struct vk_error rerr = { 0 };

		if (fi[k].status != 0)
			continue;
		if (record_write(files[mine[k].idx], sha[k], fi[k].size, it->url, it->sha256 ? NULL : it->checksum_url,
				 false, &rerr) < 0 && rc == 0) {
			*err = rerr;
			rc = -1;
		}
	}
	vk_fetch_items_release(fi, nmine);
out:
	for (size_t k = 0; k < nmine; k++) {
		free(urls[k]);
		free(ck_urls[k]);
	}
	free(urls);
	free(ck_urls);
	free(sha);
	return rc;
}

static int cmp_key(const void *a, const void *b, void *keys)
{
	const size_t *x = a, *y = b;
	char **k = keys;

	return strcmp(k[*x], k[*y]);
}

int vk_cache_ensure(const char *home, const struct vk_cache_item *items, size_t n,
		    const struct vk_cache_options *o_in, char **paths, struct vk_error *err)
{
	struct vk_cache_options defaults;
	const struct vk_cache_options *o = o_in;
	_cleanup_free_ char *cache = vk_cache_dir(home);
	_cleanup_free_ size_t *remaining = xcalloc(n + 1, sizeof(size_t));
	_cleanup_free_ struct pending *mine = xcalloc(n + 1, sizeof(*mine));
	char **keys = xcalloc(n + 1, sizeof(char *));
	char **files = xcalloc(n + 1, sizeof(char *));
	size_t nrem = 0;
	int shared = -1, rc = -1;

	if (!o) {
		vk_cache_options_init(&defaults);
		o = &defaults;
	}
	for (size_t i = 0; i < n; i++)
		paths[i] = NULL;
	for (size_t i = 0; i < n; i++) {
		keys[i] = vk_cache_key(items[i].url, err);
		if (!keys[i])
			goto out;
		files[i] = vk_path_join(cache, keys[i]);
	}
	if (!o->offline && vk_mirror_check(o->mirror, err) < 0)
		goto out;
	shared = cache_lock(cache, LOCK_SH, err);
	if (shared < 0)
		goto out;

	for (size_t i = 0; i < n; i++) {
		char sha[VK_SHA256_HEX_LEN + 1], got[VK_SHA256_HEX_LEN + 1];

		if (!record_ok(files[i], sha, true)) {
			remaining[nrem++] = i;
			continue;
		}
		if (!o->verify)
			continue;
		if (vk_sha256_file(files[i], got, err) < 0)
			goto out;
		if (strcmp(got, sha) != 0) {
			vk_info("cached '%s' no longer matches its sha256 (%s, recorded %s); it is removed", files[i], got, sha);
			forget(files[i]);
			remaining[nrem++] = i;
		}
	}
	if (nrem > 0 && o->offline) {
		_cleanup_strbuf_ struct vk_strbuf list = VK_STRBUF_INIT;

		for (size_t r = 0; r < nrem; r++)
			vk_strbuf_addf(&list, "%s%s (%s)", r ? ", " : "", items[remaining[r]].name, items[remaining[r]].url);
		vk_error_set(err, VK_ERR_NOT_FOUND, "offline, and %zu of %zu artifacts are not in the cache: %s", nrem, n,
			     list.buf);
		vk_error_hint(err, "run the same command without --offline once (or with --mirror), so they are "
				   "downloaded into '%s'", cache);
		goto out;
	}
	qsort_r(remaining, nrem, sizeof(size_t), cmp_key, keys);

	while (nrem > 0) {
		size_t nmine = 0, keep = 0;

		for (size_t r = 0; r < nrem; r++) {
			size_t i = remaining[r];
			_cleanup_free_ char *lockpath = xasprintf("%s" LOCK_SUFFIX, files[i]);
			_cleanup_free_ char *what = xasprintf("the download of '%s'", items[i].name);
			struct vk_lock lock = VK_LOCK_INIT;
			struct vk_error lerr = { 0 };
			_cleanup_free_ char *dir = xstrdup(files[i]);

			*strrchr(dir, '/') = '\0';
			if (vk_mkdir_p(dir, 0700, err) < 0)
				goto out;
			/* Try without waiting; when nothing is free, wait for the first below. */
			if (vk_lock_acquire(&lock, lockpath, what, 0, &lerr) < 0) {
				if (lerr.code != VK_ERR_BUSY) {
					*err = lerr;
					goto out;
				}
				remaining[keep++] = i;
				continue;
			}
			if (record_ok(files[i], NULL, true)) {
				vk_lock_release(&lock);
				continue;
			}
			mine[nmine].idx = i;
			mine[nmine].lock = lock;
			nmine++;
		}
		nrem = keep;
		if (nmine == 0 && nrem > 0) {
			size_t i = remaining[0];
			_cleanup_free_ char *lockpath = xasprintf("%s" LOCK_SUFFIX, files[i]);
			_cleanup_free_ char *what = xasprintf("the download of '%s'", items[i].name);
			struct vk_lock lock = VK_LOCK_INIT;

			vk_info("another virtkube process is downloading '%s'; waiting for it", items[i].name);
			if (vk_lock_acquire(&lock, lockpath, what, o->lock_timeout_ms, err) < 0)
				goto out;
			memmove(remaining, remaining + 1, (nrem - 1) * sizeof(size_t));
			nrem--;
			if (record_ok(files[i], NULL, true)) {
				vk_lock_release(&lock);
				continue;
			}
			mine[0].idx = i;
			mine[0].lock = lock;
			nmine = 1;
		}
		if (nmine == 0)
			continue;
		int d = download(items, files, mine, nmine, o, err);

		for (size_t k = 0; k < nmine; k++)
			vk_lock_release(&mine[k].lock);
		if (d < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		paths[i] = TAKE_PTR(files[i]);
	rc = 0;
out:
	if (shared >= 0)
		close(shared);
	for (size_t i = 0; i < n; i++) {
		free(keys[i]);
		free(files[i]);
	}
	free(keys);
	free(files);
	return rc;
}

/* ---------------------------------------------------------------- listing -- */

static struct {
	const char *root;
	struct vk_cache_entry *v;
	size_t n, alloc;
} walk;

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	const char *rel = path + strlen(walk.root) + 1;
	struct vk_cache_entry e = { 0 };

	if (type != FTW_F || base[0] == '.' || has_suffix(base, LOCK_SUFFIX) || has_suffix(base, RECORD_SUFFIX))
		return 0;
	e.size = st->st_size;
	if (strncmp(rel, VK_CACHE_BUILT_DIR "/", strlen(VK_CACHE_BUILT_DIR) + 1) == 0) {
		/* Only finished ISOs: a build in progress is a temporary file beside one. */
		if (!has_suffix(base, ".iso"))
			return 0;
		e.key = xstrdup(rel);
		e.state = VK_CACHE_BUILT;
	} else if (has_suffix(base, PART_SUFFIX)) {
		e.key = xstrndup(rel, strlen(rel) - strlen(PART_SUFFIX));
		e.state = VK_CACHE_PARTIAL;
	} else {
		e.key = xstrdup(rel);
		e.state = record_ok(path, NULL, false) ? VK_CACHE_VERIFIED : VK_CACHE_UNVERIFIED;
	}
	if (walk.n == walk.alloc) {
		walk.alloc = walk.alloc ? walk.alloc * 2 : 16;
		walk.v = xrealloc(walk.v, walk.alloc * sizeof(*walk.v));
	}
	walk.v[walk.n++] = e;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct vk_cache_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (int)x->state - (int)y->state;
}

struct vk_cache_entry *vk_cache_list(const char *home, size_t *n, struct vk_error *err)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);
	struct vk_cache_entry *v;

	*n = 0;
	if (!vk_is_dir(cache))
		return xcalloc(1, sizeof(struct vk_cache_entry));
	walk.root = cache;
	walk.v = NULL;
	walk.n = walk.alloc = 0;
	if (nftw(cache, walk_one, 16, FTW_PHYS) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot list the cache '%s'", cache);
		vk_cache_entries_free(walk.v, walk.n);
		return NULL;
	}
	v = walk.v ? walk.v : xcalloc(1, sizeof(*v));
	*n = walk.n;
	qsort(v, *n, sizeof(*v), cmp_entry);
	walk.v = NULL;
	return v;
}

void vk_cache_entries_free(struct vk_cache_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].key);
	free(e);
}

int vk_cache_clean(const char *home, off_t *freed, size_t *removed, size_t *busy, struct vk_error *err)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);
	struct vk_cache_entry *v;
	size_t n = 0;
	int fd;

	*freed = 0;
	*removed = 0;
	*busy = 0;
	if (!vk_is_dir(cache))
		return 0;
	fd = cache_lock(cache, LOCK_EX | LOCK_NB, err);
	if (fd < 0) {
		if (err && err->code == VK_ERR_BUSY)
			*busy = 1;
		return -1;
	}
	v = vk_cache_list(home, &n, err);
	if (!v) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		*freed += v[i].size;
		(*removed)++;
	}
	vk_cache_entries_free(v, n);
	/* Everything but the lock we hold goes. */
	DIR *d = opendir(cache);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(fd);
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open the cache '%s'", cache);
	}
	while (rc == 0 && (de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		/* The record of uploaded volumes (uploads.h) names what is on other hosts: it stays. */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, ".lock") == 0 ||
		    strncmp(de->d_name, VK_CACHE_KEEP_PREFIX, strlen(VK_CACHE_KEEP_PREFIX)) == 0)
			continue;
		path = vk_path_join(cache, de->d_name);
		rc = vk_remove_tree(path, err);
	}
	closedir(d);
	close(fd);
	return rc;
}
