/* Where virtkube's installed data (addons, vm-images, artifact tables) lives. */
#pragma once

/* Returns REL resolved against the data directory, newly allocated:
 * $VIRTKUBE_DATADIR if set, else the source tree when the binary runs from
 * the directory it was built in, else the installed PKGDATADIR. */
char *vk_data_path(const char *rel);
