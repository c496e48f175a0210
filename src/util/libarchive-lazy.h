/* libarchive loaded on first use: the archive_* functions virtkube calls forward to VK_LIBARCHIVE_SONAME. */
#pragma once

#include "util/error.h"

/* virtkube does not link libarchive (it is linked --as-needed, and
 * src/libarchive-lazy.c defines every archive_* function virtkube calls):
 * it and the libraries it pulls in (libxml2, ICU, libstdc++, the compressors)
 * are loaded only by the commands that write or read an archive (start's seed
 * and payload ISOs). A function called that is not in that file makes the
 * linker link libarchive again: tests/integration/test-lazy-load.sh names it. */
#define VK_LIBARCHIVE_SONAME "libarchive.so.13"

/* Loads libarchive once per process. When it cannot, every forwarded
 * function fails (NULL, ARCHIVE_FATAL or -1) and archive_error_string()
 * says why, so the callers' own error paths report it. A missing library
 * is VK_ERR_UNSUPPORTED with the package to install as the hint. */
int vk_libarchive_load(struct vk_error *err);
