/* The boot disk: the --image descriptor (jansson) and the disk format probed from its first bytes. */
#include "vm/bootdisk.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

void vk_image_free(struct vk_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->disk);
	free(img->format);
	free(img->kernel);
	free(img->initrd);
	free(img->cmdline);
	free(img->descriptor);
	free(img);
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Names formats that are disks but not ones virtkube takes, so the error can say what the file is. */
static const char *other_format(const unsigned char *head, size_t n, int fd)
{
	unsigned char iso[5];

	if (n >= 4 && memcmp(head, "KDMV", 4) == 0)
		return "VMDK";
	if (n >= 8 && memcmp(head, "vhdxfile", 8) == 0)
		return "VHDX";
	if (n >= 8 && memcmp(head, "conectix", 8) == 0)
		return "VHD";
	if (n >= 4 && memcmp(head, "QED\0", 4) == 0)
		return "QED";
	if (n >= 64 && memmem(head, 64, "VirtualBox Disk Image", 21))
		return "VDI";
	if (pread(fd, iso, sizeof(iso), 32769) == (ssize_t)sizeof(iso) && memcmp(iso, "CD001", 5) == 0)
		return "an ISO 9660 image";
	return NULL;
}

/* Probes DISK: sets format and virtual size, or fails naming the file. */
static int probe_disk(struct vk_image *img, const char *declared, struct vk_error *err)
{
	_cleanup_close_ int fd = open(img->disk, O_RDONLY | O_CLOEXEC);
	unsigned char head[512];
	const char *other;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno,
					  "cannot open disk image '%s'", img->disk);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return vk_error_set(err, VK_ERR_INVALID, "disk image '%s' is not a regular file", img->disk);
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read disk image '%s'", img->disk);

	if (n >= 32 && memcmp(head, "QFI\xfb", 4) == 0) {
		img->format = xstrdup("qcow2");
		img->virtual_size = be64(head + 24);
	} else if ((other = other_format(head, (size_t)n, fd))) {
		vk_error_set(err, VK_ERR_INVALID, "'%s' is %s%s, not a qcow2 or raw disk image", img->disk,
			     other[0] == 'a' ? "" : "a ", other);
		return vk_error_hint(err, "convert it with 'qemu-img convert -O qcow2 %s OUT.qcow2'", img->disk);
	} else if (st.st_size < 1024 * 1024 || st.st_size % 512 != 0) {
		/* A raw disk is whole sectors and at least big enough for a partition table and a filesystem. */
		vk_error_set(err, VK_ERR_INVALID, "'%s' is not a qcow2 or raw disk image (%lld bytes, %s)", img->disk,
			     (long long)st.st_size, st.st_size % 512 ? "not whole 512-byte sectors" : "smaller than 1 MiB");
		return vk_error_hint(err, "pass a qcow2 or raw disk image, or an image.json from vm-images/");
	} else {
		img->format = xstrdup("raw");
		img->virtual_size = (uint64_t)st.st_size;
	}
	if (declared && strcmp(declared, img->format) != 0)
		return vk_error_set(err, VK_ERR_INVALID, "disk '%s' is %s, but its descriptor says \"format\": \"%s\"",
				    img->disk, img->format, declared);
	return 0;
}

/* Resolves REL against DIR and checks it is a regular file. */
static char *descriptor_path(const char *desc, const char *dir, const char *key, const char *rel,
			     struct vk_error *err)
{
	char *path = rel[0] == '/' ? xstrdup(rel) : vk_path_join(dir, rel);
	struct stat st;

	if (stat(path, &st) < 0) {
		vk_error_set_errno(err, VK_ERR_NOT_FOUND, errno, "image descriptor '%s': %s '%s'", desc, key, path);
		free(path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		vk_error_set(err, VK_ERR_INVALID, "image descriptor '%s': %s '%s' is not a regular file", desc, key, path);
		free(path);
		return NULL;
	}
	return path;
}

static int load_descriptor(struct vk_image *img, const char *path, struct vk_error *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	const char *name = NULL, *disk = NULL, *format = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	json_error_t jerr;
	json_auto_t *root = json_load_file(path, 0, &jerr);

	if (!root)
		return vk_error_set(err, VK_ERR_PARSE, "image descriptor '%s' line %d: %s", path, jerr.line, jerr.text);
	if (json_unpack_ex(root, &jerr, 0, "{s?s, s:s, s?s, s?s, s?s, s?s}", "name", &name, "disk", &disk, "format",
			   &format, "kernel", &kernel, "initrd", &initrd, "cmdline", &cmdline) < 0) {
		return vk_error_set(err, VK_ERR_PARSE, "image descriptor '%s': %s", path, jerr.text);
	}
	if (format && strcmp(format, "qcow2") != 0 && strcmp(format, "raw") != 0) {
		return vk_error_set(err, VK_ERR_INVALID, "image descriptor '%s': format '%s' is not qcow2 or raw", path,
				    format);
	}
	if ((initrd || cmdline) && !kernel) {
		return vk_error_set(err, VK_ERR_INVALID, "image descriptor '%s': initrd or cmdline given without a kernel",
				    path);
	}
	img->descriptor = xstrdup(path);
	img->disk = descriptor_path(path, dir, "disk", disk, err);
	if (!img->disk)
		return -1;
	if (kernel && !(img->kernel = descriptor_path(path, dir, "kernel", kernel, err)))
		return -1;
	if (initrd && !(img->initrd = descriptor_path(path, dir, "initrd", initrd, err)))
		return -1;
	if (cmdline)
		img->cmdline = xstrdup(cmdline);
	img->name = xstrdup(name ? name : disk);
	return probe_disk(img, format, err);
}

static bool looks_like_json(const char *path)
{
	size_t len = strlen(path);
	_cleanup_close_ int fd = -1;
	char c = 0;

	if (len >= 5 && strcmp(path + len - 5, ".json") == 0)
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (read(fd, &c, 1) == 1)
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			return c == '{';
	return false;
}

struct vk_image *vk_image_load(const char *path, struct vk_error *err)
{
	_cleanup_image_ struct vk_image *img = xcalloc(1, sizeof(*img));
	char abs[PATH_MAX];
	struct stat st;

	if (stat(path, &st) < 0) {
		vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno, "image '%s'", path);
		vk_error_hint(err, "pass a qcow2 or raw disk image, or an image.json from vm-images/");
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		vk_error_set(err, VK_ERR_INVALID, "image '%s' is not a regular file", path);
		return NULL;
	}
	if (!realpath(path, abs)) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot resolve image path '%s'", path);
		return NULL;
	}
	if (looks_like_json(abs)) {
		if (load_descriptor(img, abs, err) < 0)
			return NULL;
	} else {
		_cleanup_free_ char *copy = xstrdup(abs);

		img->disk = xstrdup(abs);
		img->name = xstrdup(basename(copy));
		if (probe_disk(img, NULL, err) < 0)
			return NULL;
	}
	return TAKE_PTR(img);
}
