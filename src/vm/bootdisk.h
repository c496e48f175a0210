/* What a machine boots (--image): a qcow2/raw disk, or a descriptor naming a disk plus kernel, initrd, cmdline. */
#pragma once

#include <stdint.h>

#include "util/error.h"

/* Descriptor format (vm-images/NAME/image.json, paths relative to the file):
 *   {"name": "...", "disk": "disk.qcow2", "format": "qcow2",
 *    "kernel": "vmlinuz", "initrd": "initrd.img", "cmdline": "root=/dev/vda ..."}
 * Only "disk" is required. */
struct vk_image {
	char *name;       /* descriptor's name, else the disk's file name */
	char *disk;       /* absolute path */
	char *format;     /* "qcow2" or "raw" (probed from the bytes) */
	uint64_t virtual_size; /* bytes the guest sees */
	char *kernel;     /* absolute paths or NULL */
	char *initrd;
	char *cmdline;
	char *descriptor; /* absolute path of the descriptor, or NULL for a bare disk */
};

/* Loads PATH (a disk image or a descriptor). Fails, naming the path, when it
 * does not exist, is not a regular file, does not parse, or the disk is not
 * qcow2 or raw. The caller frees the result with vk_image_free. */
struct vk_image *vk_image_load(const char *path, struct vk_error *err);
void vk_image_free(struct vk_image *img);

static inline void vk_image_freep(struct vk_image **img)
{
	vk_image_free(*img);
}
#define _cleanup_image_ __attribute__((cleanup(vk_image_freep)))
