/* Seed ISO builder: a list of entries, written by libarchive's iso9660 writer into a temp file, then renamed. */
#include "vm/seed.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static inline void closedirp_(DIR **d)
{
	if (*d)
		closedir(*d);
}

struct seed_entry {
	char *path;
	bool is_dir;
	mode_t mode;
	void *data;    /* in-memory file */
	size_t len;
	char *src;     /* or a host file read at write time */
};

struct vk_seed {
	struct seed_entry *entries;
	size_t n, alloc;
};

struct vk_seed *vk_seed_new(void)
{
	return xcalloc(1, sizeof(struct vk_seed));
}

void vk_seed_free(struct vk_seed *seed)
{
	if (!seed)
		return;
	for (size_t i = 0; i < seed->n; i++) {
		free(seed->entries[i].path);
		free(seed->entries[i].data);
		free(seed->entries[i].src);
	}
	free(seed->entries);
	free(seed);
}

static int check_path(const char *path, struct vk_error *err)
{
	const char *p = path;

	if (!*path || *path == '/')
		return vk_error_set(err, VK_ERR_INVALID, "seed path '%s' must be relative and not empty", path);
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return vk_error_set(err, VK_ERR_INVALID, "seed path '%s' has an empty, '.' or '..' part", path);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return vk_error_set(err, VK_ERR_INVALID, "seed path '%s' has control characters", path);
		p += len;
		if (*p == '/')
			p++;
	}
	if (path[strlen(path) - 1] == '/')
		return vk_error_set(err, VK_ERR_INVALID, "seed path '%s' ends with '/'", path);
	return 0;
}

static struct seed_entry *find(struct vk_seed *seed, const char *path)
{
	for (size_t i = 0; i < seed->n; i++)
		if (strcmp(seed->entries[i].path, path) == 0)
			return &seed->entries[i];
	return NULL;
}

static struct seed_entry *append(struct vk_seed *seed, const char *path)
{
	struct seed_entry *e;

	if (seed->n == seed->alloc) {
		seed->alloc = seed->alloc ? 2 * seed->alloc : 16;
		seed->entries = xrealloc(seed->entries, seed->alloc * sizeof(*seed->entries));
	}
	e = &seed->entries[seed->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	return e;
}

/* Adds the directories above PATH that are not there yet. */
static int add_parents(struct vk_seed *seed, const char *path, struct vk_error *err)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct seed_entry *e;

		*slash = '\0';
		e = find(seed, copy);
		if (e && !e->is_dir)
			return vk_error_set(err, VK_ERR_EXISTS, "seed path '%s' is a file, cannot hold '%s'", copy, path);
		if (!e) {
			e = append(seed, copy);
			e->is_dir = true;
			e->mode = 0755;
		}
		*slash = '/';
	}
	return 0;
}

static struct seed_entry *new_file(struct vk_seed *seed, const char *path, struct vk_error *err)
{
	if (check_path(path, err) < 0)
		return NULL;
	if (find(seed, path)) {
		vk_error_set(err, VK_ERR_EXISTS, "seed path '%s' was added twice", path);
		return NULL;
	}
	if (add_parents(seed, path, err) < 0)
		return NULL;
	return append(seed, path);
}

int vk_seed_add_file(struct vk_seed *seed, const char *path, const void *data, size_t len, mode_t mode,
		     struct vk_error *err)
{
	struct seed_entry *e = new_file(seed, path, err);

	if (!e)
		return -1;
	e->mode = mode & 07777;
	e->data = xmalloc(len ? len : 1);
	if (len)
		memcpy(e->data, data, len);
	e->len = len;
	return 0;
}

int vk_seed_add_dir(struct vk_seed *seed, const char *path, mode_t mode, struct vk_error *err)
{
	struct seed_entry *e;

	if (check_path(path, err) < 0)
		return -1;
	e = find(seed, path);
	if (e) {
		if (!e->is_dir)
			return vk_error_set(err, VK_ERR_EXISTS, "seed path '%s' is a file, not a directory", path);
		e->mode = mode & 07777;
		return 0;
	}
	if (add_parents(seed, path, err) < 0)
		return -1;
	e = append(seed, path);
	e->is_dir = true;
	e->mode = mode & 07777;
	return 0;
}

int vk_seed_add_host_file(struct vk_seed *seed, const char *path, const char *src, mode_t mode,
			  struct vk_error *err)
{
	struct seed_entry *e;
	struct stat st;

	if (stat(src, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot add '%s' to the seed", src);
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, VK_ERR_INVALID, "cannot add '%s' to the seed: not a regular file", src);
	e = new_file(seed, path, err);
	if (!e)
		return -1;
	e->src = xstrdup(src);
	e->len = (size_t)st.st_size;
	e->mode = mode ? (mode & 07777) : (st.st_mode & 07777);
	return 0;
}

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vk_seed_add_host_tree(struct vk_seed *seed, const char *path, const char *src, struct vk_error *err)
{
	_cleanup_(closedirp_) DIR *dir = NULL;
	_cleanup_strv_ char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	struct stat st;

	if (stat(src, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot add '%s' to the seed", src);
	if (vk_seed_add_dir(seed, path, st.st_mode, err) < 0)
		return -1;
	dir = opendir(src);
	if (!dir)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read directory '%s'", src);
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n + 2 > alloc) {
			alloc = alloc ? 2 * alloc : 16;
			names = xrealloc(names, alloc * sizeof(char *));
		}
		names[n++] = xstrdup(de->d_name);
		names[n] = NULL;
	}
	if (n)
		qsort(names, n, sizeof(char *), compare_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *child_src = vk_path_join(src, names[i]);
		_cleanup_free_ char *child = xasprintf("%s/%s", path, names[i]);
		int r;

		if (lstat(child_src, &st) < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot add '%s' to the seed", child_src);
		if (S_ISDIR(st.st_mode))
			r = vk_seed_add_host_tree(seed, child, child_src, err);
		else if (S_ISREG(st.st_mode))
			r = vk_seed_add_host_file(seed, child, child_src, 0, err);
		else
			r = vk_error_set(err, VK_ERR_INVALID, "cannot add '%s' to the seed: not a file or directory",
					 child_src);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int archive_fail(struct archive *a, const char *iso_path, struct vk_error *err)
{
	const char *msg = archive_error_string(a);

	return vk_error_set(err, VK_ERR_IO, "cannot write seed ISO '%s': %s", iso_path, msg ? msg : "libarchive error");
}

static int write_host_data(struct archive *a, const struct seed_entry *e, const char *iso_path,
			   struct vk_error *err)
{
	_cleanup_close_ int fd = open(e->src, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s' for the seed", e->src);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (total + (size_t)n > e->len)
			return vk_error_set(err, VK_ERR_IO, "'%s' grew while the seed ISO was written", e->src);
		if (archive_write_data(a, buf, (size_t)n) < 0)
			return archive_fail(a, iso_path, err);
		total += (size_t)n;
	}
	if (n < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s' for the seed", e->src);
	if (total != e->len)
		return vk_error_set(err, VK_ERR_IO, "'%s' shrank while the seed ISO was written", e->src);
	return 0;
}

static int write_entries(struct archive *a, const struct vk_seed *seed, const char *iso_path, struct vk_error *err)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < seed->n; i++) {
		const struct seed_entry *e = &seed->entries[i];
		struct archive_entry *ae = archive_entry_new();
		int r;

		archive_entry_set_pathname(ae, e->path);
		archive_entry_set_filetype(ae, e->is_dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(ae, e->mode);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_mtime(ae, now, 0);
		archive_entry_set_size(ae, e->is_dir ? 0 : (la_int64_t)e->len);
		r = archive_write_header(a, ae);
		archive_entry_free(ae);
		if (r < ARCHIVE_OK)
			return archive_fail(a, iso_path, err);
		if (e->is_dir)
			continue;
		if (e->src) {
			if (write_host_data(a, e, iso_path, err) < 0)
				return -1;
		} else if (e->len && archive_write_data(a, e->data, e->len) < 0) {
			return archive_fail(a, iso_path, err);
		}
	}
	return 0;
}

int vk_seed_write(const struct vk_seed *seed, const char *iso_path, struct vk_error *err)
{
	return vk_seed_write_iso(seed, iso_path, VK_SEED_LABEL, 0600, err);
}

int vk_seed_write_iso(const struct vk_seed *seed, const char *iso_path, const char *label, mode_t mode,
		      struct vk_error *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", iso_path);
	struct archive *a;
	int fd, r = 0;

	fd = mkstemp(tmp);
	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create a temporary file beside '%s'", iso_path);
	if (fchmod(fd, mode & 07777) < 0) {
		r = vk_error_set_errno(err, VK_ERR_IO, errno, "cannot chmod '%s'", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}

	a = archive_write_new();
	if (archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "iso9660", "volume-id", label) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "iso9660", "rockridge", "useful") != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "iso9660", "joliet", "1") != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		r = archive_fail(a, iso_path, err);
		archive_write_free(a);
		close(fd);
		unlink(tmp);
		return r;
	}
	r = write_entries(a, seed, iso_path, err);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = archive_fail(a, iso_path, err);
	archive_write_free(a);
	if (r == 0 && fsync(fd) < 0)
		r = vk_error_set_errno(err, VK_ERR_IO, errno, "cannot sync '%s'", tmp);
	close(fd);
	if (r == 0 && rename(tmp, iso_path) < 0)
		r = vk_error_set_errno(err, VK_ERR_IO, errno, "cannot rename '%s' to '%s'", tmp, iso_path);
	if (r < 0)
		unlink(tmp);
	return r;
}
