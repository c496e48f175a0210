/* Fuzz target: the parsers of what the node and image archives say (`ctr images ls` output, a docker archive's manifest.json, an OCI layout's index.json); every name they give back is a full, parseable reference. */
#include <string.h>

#include "fuzz.h"
#include "kube/imageload.h"
#include "artifacts/registry.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void check_names(char **names, const struct vk_error *err)
{
	if (!names) {
		fuzz_assert(err->code != VK_ERR_NONE && err->message[0], "a failed parse says nothing");
		return;
	}
	fuzz_assert(names[0], "a parse that succeeds names at least one image");
	for (char **n = names; *n; n++) {
		struct vk_image_ref ref = { 0 };
		struct vk_error e = { 0 };

		fuzz_assert(vk_image_ref_parse(*n, &ref, &e) == 0, "name '%s' does not parse again: %s", *n, e.message);
		vk_image_ref_release(&ref);
		for (char **m = names; m < n; m++)
			fuzz_assert(strcmp(*m, *n) != 0, "name '%s' is listed twice", *n);
	}
	vk_strv_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = xstrndup((const char *)data, size);
	struct vk_error err = { 0 };
	struct vk_node_image *v;
	size_t n = 0;

	v = vk_node_images_parse(text, &n, &err);
	if (v) {
		for (size_t i = 0; i < n; i++) {
			fuzz_assert(v[i].name && v[i].name[0] && strncmp(v[i].name, "sha256:", 7) != 0,
				    "entry %zu has no name, or the CRI's id", i);
			fuzz_assert(strncmp(v[i].digest, "sha256:", 7) == 0, "entry %zu's digest '%s'", i, v[i].digest);
			fuzz_assert(v[i].size >= -1, "entry %zu's size %lld", i, (long long)v[i].size);
			fuzz_assert(i == 0 || strcmp(v[i - 1].name, v[i].name) <= 0, "not sorted at %zu", i);
		}
		vk_node_images_free(v, n);
	} else {
		fuzz_assert(err.code == VK_ERR_PARSE && err.message[0], "a failed parse says nothing");
	}
	memset(&err, 0, sizeof(err));
	check_names(vk_image_archive_names_parse(text, NULL, &err), &err);
	memset(&err, 0, sizeof(err));
	check_names(vk_image_archive_names_parse(NULL, text, &err), &err);
	return 0;
}
