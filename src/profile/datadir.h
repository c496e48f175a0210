/* Where virtkube's installed data (addons, vm-images, artifact tables) lives. */
#pragma once

#include "util/error.h"

/* Returns REL resolved against the data directory, newly allocated:
 * $VIRTKUBE_DATADIR if set, else the source tree when the binary runs from
 * the directory it was built in, else the installed PKGDATADIR. */
char *vk_data_path(const char *rel);

/* vk_data_path(REL) when something is there (caller frees); else NULL and
 * ERR names REL and where it was looked for, with a hint at VIRTKUBE_DATADIR. */
char *vk_data_path_existing(const char *rel, struct vk_error *err);
