/* libarchive loaded on first use: the archive_* functions virtkube calls, each forwarding to libarchive.so.13. */
#include "util/libarchive-lazy.h"

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "util/cleanup.h"
#include "util/dl.h"

#define LA_SYMBOLS(X)                                                                                             \
	X(archive_version_details) X(archive_error_string) X(archive_read_new) X(archive_read_free)                  \
	X(archive_read_support_filter_gzip) X(archive_read_support_format_tar) X(archive_read_open_filename)         \
	X(archive_read_next_header) X(archive_read_data_block) X(archive_write_new) X(archive_write_free)            \
	X(archive_write_set_format_iso9660) X(archive_write_set_format_option) X(archive_write_open_fd)              \
	X(archive_write_header) X(archive_write_data) X(archive_write_close) X(archive_entry_new)                   \
	X(archive_entry_free) X(archive_entry_pathname) X(archive_entry_filetype) X(archive_entry_set_pathname)      \
	X(archive_entry_set_filetype) X(archive_entry_set_perm) X(archive_entry_set_uid) X(archive_entry_set_gid)    \
	X(archive_entry_set_mtime) X(archive_entry_set_size) X(archive_write_open_filename)                         \
	X(archive_write_set_bytes_in_last_block) X(archive_write_set_format_pax_restricted)

#define VK_DL_TABLE_TYPE struct la_table
static struct la_table {
	LA_SYMBOLS(VK_DL_MEMBER)
} la;
static const struct vk_dl_symbol la_symbols[] = { LA_SYMBOLS(VK_DL_ENTRY) };

static pthread_once_t la_once = PTHREAD_ONCE_INIT;
static bool la_loaded;
static char la_failure[VK_ERROR_MSG_MAX];

#define LA_INSTALL_HINT                                                                                            \
	"install libarchive: apt-get install libarchive13 (Debian, Ubuntu), dnf install libarchive (Fedora, CentOS, " \
	"RHEL), zypper install libarchive13 (openSUSE) or pacman -S libarchive (Arch)"

static void la_resolve(void)
{
	la_loaded = vk_dl_open("libarchive", VK_LIBARCHIVE_SONAME, la_symbols, VK_ARRAY_SIZE(la_symbols), &la,
			       sizeof(la), la_failure, sizeof(la_failure));
}

static bool la_ready(void)
{
	pthread_once(&la_once, la_resolve);
	return la_loaded;
}

int vk_libarchive_load(struct vk_error *err)
{
	if (la_ready())
		return 0;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "%s", la_failure);
	return vk_error_hint(err, "%s", LA_INSTALL_HINT);
}

/* Every function below forwards, or fails the way its callers already handle. */

const char *archive_version_details(void)
{
	return la_ready() ? la.archive_version_details() : la_failure;
}

const char *archive_error_string(struct archive *a)
{
	/* The callers' error paths name the archive and add this: the cause and what to install. */
	static char unloaded[sizeof(la_failure) + sizeof(LA_INSTALL_HINT) + 8];

	if (la_ready())
		return a ? la.archive_error_string(a) : NULL;
	snprintf(unloaded, sizeof(unloaded), "%s (%s)", la_failure, LA_INSTALL_HINT);
	return unloaded;
}

struct archive *archive_read_new(void)
{
	return la_ready() ? la.archive_read_new() : NULL;
}

int archive_read_free(struct archive *a)
{
	return la_ready() && a ? la.archive_read_free(a) : ARCHIVE_OK;
}

int archive_read_support_filter_gzip(struct archive *a)
{
	return la_ready() && a ? la.archive_read_support_filter_gzip(a) : ARCHIVE_FATAL;
}

int archive_read_support_format_tar(struct archive *a)
{
	return la_ready() && a ? la.archive_read_support_format_tar(a) : ARCHIVE_FATAL;
}

int archive_read_open_filename(struct archive *a, const char *filename, size_t block_size)
{
	return la_ready() && a ? la.archive_read_open_filename(a, filename, block_size) : ARCHIVE_FATAL;
}

int archive_read_next_header(struct archive *a, struct archive_entry **entry)
{
	return la_ready() && a ? la.archive_read_next_header(a, entry) : ARCHIVE_FATAL;
}

int archive_read_data_block(struct archive *a, const void **buf, size_t *len, la_int64_t *offset)
{
	return la_ready() && a ? la.archive_read_data_block(a, buf, len, offset) : ARCHIVE_FATAL;
}

struct archive *archive_write_new(void)
{
	return la_ready() ? la.archive_write_new() : NULL;
}

int archive_write_free(struct archive *a)
{
	return la_ready() && a ? la.archive_write_free(a) : ARCHIVE_OK;
}

int archive_write_set_format_iso9660(struct archive *a)
{
	return la_ready() && a ? la.archive_write_set_format_iso9660(a) : ARCHIVE_FATAL;
}

int archive_write_set_format_option(struct archive *a, const char *module, const char *option, const char *value)
{
	return la_ready() && a ? la.archive_write_set_format_option(a, module, option, value) : ARCHIVE_FATAL;
}

int archive_write_open_fd(struct archive *a, int fd)
{
	return la_ready() && a ? la.archive_write_open_fd(a, fd) : ARCHIVE_FATAL;
}

int archive_write_open_filename(struct archive *a, const char *file)
{
	return la_ready() && a ? la.archive_write_open_filename(a, file) : ARCHIVE_FATAL;
}

int archive_write_set_bytes_in_last_block(struct archive *a, int bytes)
{
	return la_ready() && a ? la.archive_write_set_bytes_in_last_block(a, bytes) : ARCHIVE_FATAL;
}

int archive_write_set_format_pax_restricted(struct archive *a)
{
	return la_ready() && a ? la.archive_write_set_format_pax_restricted(a) : ARCHIVE_FATAL;
}

int archive_write_header(struct archive *a, struct archive_entry *entry)
{
	return la_ready() && a ? la.archive_write_header(a, entry) : ARCHIVE_FATAL;
}

la_ssize_t archive_write_data(struct archive *a, const void *buf, size_t len)
{
	return la_ready() && a ? la.archive_write_data(a, buf, len) : -1;
}

int archive_write_close(struct archive *a)
{
	return la_ready() && a ? la.archive_write_close(a) : ARCHIVE_FATAL;
}

struct archive_entry *archive_entry_new(void)
{
	return la_ready() ? la.archive_entry_new() : NULL;
}

void archive_entry_free(struct archive_entry *e)
{
	if (la_ready() && e)
		la.archive_entry_free(e);
}

const char *archive_entry_pathname(struct archive_entry *e)
{
	return la_ready() && e ? la.archive_entry_pathname(e) : NULL;
}

__LA_MODE_T archive_entry_filetype(struct archive_entry *e)
{
	return la_ready() && e ? la.archive_entry_filetype(e) : 0;
}

void archive_entry_set_pathname(struct archive_entry *e, const char *name)
{
	if (la_ready() && e)
		la.archive_entry_set_pathname(e, name);
}

void archive_entry_set_filetype(struct archive_entry *e, unsigned int type)
{
	if (la_ready() && e)
		la.archive_entry_set_filetype(e, type);
}

void archive_entry_set_perm(struct archive_entry *e, __LA_MODE_T perm)
{
	if (la_ready() && e)
		la.archive_entry_set_perm(e, perm);
}

void archive_entry_set_uid(struct archive_entry *e, la_int64_t uid)
{
	if (la_ready() && e)
		la.archive_entry_set_uid(e, uid);
}

void archive_entry_set_gid(struct archive_entry *e, la_int64_t gid)
{
	if (la_ready() && e)
		la.archive_entry_set_gid(e, gid);
}

void archive_entry_set_mtime(struct archive_entry *e, time_t sec, long nsec)
{
	if (la_ready() && e)
		la.archive_entry_set_mtime(e, sec, nsec);
}

void archive_entry_set_size(struct archive_entry *e, la_int64_t size)
{
	if (la_ready() && e)
		la.archive_entry_set_size(e, size);
}
