/* The NoCloud seed ISO (volume label "cidata", Rock Ridge + Joliet) written with libarchive. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

#define VK_SEED_LABEL "cidata"

/* A list of entries to put on the ISO, written in the order added.
 * Paths are relative ("user-data", "virtkube/bin/kubeadm"), '/'-separated,
 * without "." or ".." parts; parent directories are added as needed. */
struct vk_seed;

struct vk_seed *vk_seed_new(void);
/* NULL-safe. */
void vk_seed_free(struct vk_seed *seed);

/* Adds a file holding a copy of DATA. */
int vk_seed_add_file(struct vk_seed *seed, const char *path, const void *data, size_t len, mode_t mode,
		     struct vk_error *err);
/* Adds an (empty) directory. Adding one that is there already is fine. */
int vk_seed_add_dir(struct vk_seed *seed, const char *path, mode_t mode, struct vk_error *err);
/* Adds the host file SRC as PATH; its bytes are streamed when the ISO is
 * written (so large payloads are never held in memory). MODE 0 keeps SRC's
 * permission bits. SRC must be a regular file now. */
int vk_seed_add_host_file(struct vk_seed *seed, const char *path, const char *src, mode_t mode,
			  struct vk_error *err);
/* Adds every directory and regular file below the host directory SRC under
 * PATH, keeping permission bits; symlinks and special files are refused. */
int vk_seed_add_host_tree(struct vk_seed *seed, const char *path, const char *src, struct vk_error *err);

/* Writes the ISO to ISO_PATH atomically (temporary file, then rename), mode 0600
 * (a seed may carry keys). */
int vk_seed_write(const struct vk_seed *seed, const char *iso_path, struct vk_error *err);
/* The same with another volume LABEL (the ISO9660 volume id the guest finds it by)
 * and file MODE: what the shared payload ISO is written with (payload.h). */
int vk_seed_write_iso(const struct vk_seed *seed, const char *iso_path, const char *label, mode_t mode,
		      struct vk_error *err);

static inline void vk_seed_freep(struct vk_seed **s)
{
	vk_seed_free(*s);
}
#define _cleanup_seed_ __attribute__((cleanup(vk_seed_freep)))
