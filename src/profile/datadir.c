/* Locating installed data files (see datadir.h). */
#include "profile/datadir.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/xalloc.h"

char *vk_data_path(const char *rel)
{
	const char *env = getenv("VIRTKUBE_DATADIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return vk_path_join(env, rel);
	/* A binary run from the directory it was built in uses the source tree. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (strcmp(dirname(exe), VK_BUILD_BUILDDIR) == 0)
			return vk_path_join(VK_BUILD_SRCDIR, rel);
	}
	return vk_path_join(PKGDATADIR, rel);
}

char *vk_data_path_existing(const char *rel, struct vk_error *err)
{
	char *src = vk_data_path(rel);

	if (vk_path_exists(src))
		return src;
	vk_error_set(err, VK_ERR_NOT_FOUND, "cannot find '%s' (looked at '%s')", rel, src);
	vk_error_hint(err, "set VIRTKUBE_DATADIR to virtkube's data directory (or source tree)");
	free(src);
	return NULL;
}
