/* Filesystem helpers (see fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

void (*vk_fs_before_rename_hook)(const char *tmp_path);

void vk_prefault(void *buf, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)buf + page - 1) & ~(page - 1), end = ((uintptr_t)buf + len) & ~(page - 1);

	/* Linux >= 5.14; where it is missing, the pages fault in one by one as before */
	if (len >= 256 * 1024 && end > start)
		(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

char *vk_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

bool vk_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool vk_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vk_mkdir_p(const char *path, mode_t mode, struct vk_error *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	struct stat st;

	for (char *p = copy + 1; ; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0) {
			if (errno != EEXIST)
				return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create directory '%s'", copy);
			if (stat(copy, &st) < 0)
				return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot use directory '%s'", copy);
			if (!S_ISDIR(st.st_mode))
				return vk_error_set(err, VK_ERR_IO, "cannot create directory '%s': a file of that name exists", copy);
		}
		if (end)
			break;
		*p = '/';
	}
	return 0;
}

int vk_read_file(const char *path, char **data, size_t *len, struct vk_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno,
					  "cannot read '%s'", path);
	if (fstat(fd, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return vk_error_set(err, VK_ERR_IO, "cannot read '%s': it is a directory, expected a file", path);
	if (!S_ISREG(st.st_mode))
		return vk_error_set(err, VK_ERR_IO, "cannot read '%s': not a regular file", path);

	/* room for the NUL and for the read that finds the end: no regrowth */
	alloc = (size_t)st.st_size + 2;
	buf = xmalloc(alloc);
	vk_prefault(buf, alloc);
	for (;;) {
		ssize_t n;

		if (size + 1 >= alloc) {
			alloc *= 2;
			buf = xrealloc(buf, alloc);
		}
		n = read(fd, buf + size, alloc - size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = '\0';
	if (len)
		*len = size;
	*data = TAKE_PTR(buf);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct vk_error *err)
{
	_cleanup_free_ char *dir_copy = xstrdup(path);
	_cleanup_free_ char *base_copy = xstrdup(path);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int dfd = -1;
	const char *dir = dirname(dir_copy);
	const char *base = basename(base_copy);

	tmp = xasprintf("%s/.%s.tmpXXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot write '%s'", path);
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;

		unlink(tmp);
		return vk_error_set_errno(err, VK_ERR_IO, saved, "cannot write '%s'", path);
	}
	if (close(TAKE_FD(fd)) < 0) {
		int saved = errno;

		unlink(tmp);
		return vk_error_set_errno(err, VK_ERR_IO, saved, "cannot write '%s'", path);
	}
	if (vk_fs_before_rename_hook)
		vk_fs_before_rename_hook(tmp);
	if (rename(tmp, path) < 0) {
		int saved = errno;

		unlink(tmp);
		return vk_error_set_errno(err, VK_ERR_IO, saved, "cannot replace '%s'", path);
	}
	/* The rename is durable only once the directory entry is on disk. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

static int remove_entry(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	(void)sb;
	(void)ftwbuf;
	if (typeflag == FTW_DP)
		return rmdir(fpath) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(fpath) < 0 && errno != ENOENT ? -1 : 0;
}

int vk_remove_tree(const char *path, struct vk_error *err)
{
	if (!vk_path_exists(path))
		return 0;
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot remove '%s'", path);
	return 0;
}
