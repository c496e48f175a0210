/* Filesystem helpers: mkdir -p with modes, whole-file reads, atomic writes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Creates PATH and missing parents with MODE (existing ones are left as they are). */
int vk_mkdir_p(const char *path, mode_t mode, struct vk_error *err);

/* Maps the pages of a freshly allocated buffer of 256 KiB or more in one
 * call (MADV_POPULATE_WRITE), so filling it does not take a page fault per
 * 4 KiB (costly in a VM); smaller buffers are left alone. */
void vk_prefault(void *buf, size_t len);

/* Reads a whole regular file into a NUL-terminated buffer the caller frees.
 * A directory or a special file is refused with a message naming the path. */
int vk_read_file(const char *path, char **data, size_t *len, struct vk_error *err);

/* Writes DATA to PATH atomically: a temporary file in the same directory,
 * written, fchmod to MODE, fsync'd, renamed over PATH, directory fsync'd.
 * A crash at any point leaves either the old or the new file, never a mix. */
int vk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct vk_error *err);

/* Test hook: when set, called after the temporary file is complete and just
 * before rename (lets tests kill a writer at the worst moment). */
extern void (*vk_fs_before_rename_hook)(const char *tmp_path);

/* Removes PATH and everything under it; a missing PATH is not an error. */
int vk_remove_tree(const char *path, struct vk_error *err);

bool vk_path_exists(const char *path);
bool vk_is_dir(const char *path);

/* Returns "A/B" newly allocated. */
char *vk_path_join(const char *a, const char *b);
