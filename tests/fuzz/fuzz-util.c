/* The fuzz targets' scratch directory and file helpers (see fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *tmpdir;

static void remove_tmpdir(void)
{
	vk_remove_tree(tmpdir, NULL);
	free(tmpdir);
	tmpdir = NULL;
}

const char *fuzz_tmpdir(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	if (tmpdir)
		return tmpdir;
	tmpdir = xasprintf("%s/virtkube-fuzz-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(remove_tmpdir);
	return tmpdir;
}

char *fuzz_path(const char *name)
{
	return xasprintf("%s/%s", fuzz_tmpdir(), name);
}

void fuzz_write(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}
