/* Benchmark driver (not installed): pulls images into a fresh cache and writes their OCI archive, as start will. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/imageset.h"

int main(int argc, char **argv)
{
	struct vk_registry_options o;
	struct vk_pulled_image *v = NULL;
	struct vk_error err = { 0 };
	char *tar;
	size_t n = 0;
	long long bytes = 0;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: image-pull HOME CA -- REF...\n");
		return 2;
	}
	vk_registry_options_init(&o);
	o.fetch.cainfo = argv[2];
	if (vk_images_pull(argv[1], (const char *const *)argv + 4, &o, &v, &n, &err) < 0) {
		fprintf(stderr, "image-pull: %s\n", err.message);
		return 1;
	}
	tar = vk_images_archive_ensure(argv[1], v, n, NULL, &err);
	if (!tar) {
		fprintf(stderr, "image-pull: %s\n", err.message);
		vk_images_release(v, n);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		bytes += v[i].size;
	printf("%lld %s\n", bytes, tar);
	free(tar);
	vk_images_release(v, n);
	return 0;
}
