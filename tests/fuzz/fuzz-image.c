/* Fuzz target: the image descriptor (vk_image_load), and the same bytes probed as a bare disk; what loads is consistent with the file. */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "vm/bootdisk.h"
#include "util/xalloc.h"

static bool regular_file(const char *path)
{
	struct stat st;

	return path && path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The files a descriptor in the scratch directory can name. */
static void make_files(void)
{
	static const unsigned char qcow2[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3, [24] = 0, 0, 0, 1, 0, 0, 0, 0 };
	char *raw = xcalloc(1, 1024 * 1024);
	char *p;

	fuzz_write(p = fuzz_path("disk.qcow2"), qcow2, sizeof(qcow2));
	free(p);
	fuzz_write(p = fuzz_path("disk.raw"), raw, 1024 * 1024);
	free(p);
	fuzz_write(p = fuzz_path("vmlinuz"), "kernel", 6);
	free(p);
	fuzz_write(p = fuzz_path("initrd.img"), "initrd", 6);
	free(p);
	free(raw);
}

static void check_descriptor(const uint8_t *data, size_t size, const char *path)
{
	struct vk_error err = { 0 };
	struct vk_image *img = vk_image_load(path, &err);
	json_error_t jerr;
	json_t *doc;
	const char *format, *cmdline;

	if (!img) {
		fuzz_assert(err.code != VK_ERR_NONE && err.message[0], "a failed load says nothing");
		return;
	}
	doc = json_loadb((const char *)data, size, 0, &jerr);
	fuzz_assert(doc, "a descriptor jansson rejects loaded: %s", jerr.text);
	fuzz_assert(regular_file(img->disk), "the disk '%s' is not an absolute path to a file", img->disk);
	fuzz_assert(img->format && (strcmp(img->format, "qcow2") == 0 || strcmp(img->format, "raw") == 0),
		    "format '%s'", img->format ? img->format : "(null)");
	format = json_string_value(json_object_get(doc, "format"));
	fuzz_assert(!format || strcmp(format, img->format) == 0, "declared format %s, probed %s", format, img->format);
	fuzz_assert(strcmp(img->format, "raw") != 0 || img->virtual_size >= 1024 * 1024, "a raw disk of %llu bytes",
		    (unsigned long long)img->virtual_size);
	fuzz_assert(img->name, "no name");
	fuzz_assert(!img->kernel || regular_file(img->kernel), "the kernel is not an absolute path to a file");
	fuzz_assert(!img->initrd || (img->kernel && regular_file(img->initrd)), "an initrd without a kernel, or not a file");
	cmdline = json_string_value(json_object_get(doc, "cmdline"));
	fuzz_assert(cmdline ? img->cmdline && strcmp(cmdline, img->cmdline) == 0 : !img->cmdline, "cmdline is not the file's");
	fuzz_assert(img->descriptor && strcmp(img->descriptor, path) == 0, "descriptor is not the file loaded");
	json_decref(doc);
	vk_image_free(img);
}

static void check_bare_disk(const uint8_t *data, size_t size, const char *path)
{
	struct vk_error err = { 0 };
	struct vk_image *img = vk_image_load(path, &err);

	if (!img) {
		fuzz_assert(err.message[0], "a failed load says nothing");
		return;
	}
	if (img->descriptor) {
		vk_image_free(img); /* it started with '{': read as a descriptor */
		return;
	}
	fuzz_assert(size >= 32 && memcmp(data, "QFI\xfb", 4) == 0 && strcmp(img->format, "qcow2") == 0,
		    "%zu bytes without qcow2's magic loaded as %s", size, img->format);
	{
		uint64_t want = 0;

		for (int i = 24; i < 32; i++)
			want = want << 8 | data[i];
		fuzz_assert(img->virtual_size == want, "virtual size %llu, the header says %llu",
			    (unsigned long long)img->virtual_size, (unsigned long long)want);
	}
	vk_image_free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *descriptor, *bare;

	if (!descriptor) {
		make_files();
		descriptor = fuzz_path("image.json");
		bare = fuzz_path("bare.img");
	}
	fuzz_write(descriptor, data, size);
	check_descriptor(data, size, descriptor);
	fuzz_write(bare, data, size);
	check_bare_disk(data, size, bare);
	return 0;
}
