/* Fuzz target: releases.json loading (src/artifacts.c); every version it lists resolves to itself and plans downloads with whole URLs. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts/artifacts.h"
#include "fuzz.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char image_json[] =
	"{\"schema\": 1, \"id\": \"image\", \"version\": \"9\", \"url\": \"https://example.org/i.qcow2\", "
	"\"checksum_url\": \"https://example.org/i.qcow2.SHA256SUM\", \"verify\": \"sha256\"}";

/* "vX.Y.Z" with 1-5 digits a part: what resolve can match. */
static bool full_version(const char *v)
{
	int parts = 0;

	if (*v++ != 'v')
		return false;
	for (;;) {
		size_t n = strspn(v, "0123456789");

		if (n == 0 || n > 5)
			return false;
		parts++;
		v += n;
		if (!*v)
			return parts == 3;
		if (*v++ != '.')
			return false;
	}
}

static void check_plan(const char *version)
{
	struct vk_error err = { 0 };
	struct vk_artifact_list *l = vk_artifacts_plan(version, true, &err);

	if (!l) {
		fuzz_assert(err.message[0], "a failed plan for '%s' says nothing", version);
		return;
	}
	fuzz_assert(l->n >= 1 && strcmp(l->items[0].id, "image") == 0, "the plan does not start with the image");
	fuzz_assert(l->kubernetes_version && strcmp(l->kubernetes_version, version) == 0, "the plan is for another version");
	for (size_t i = 0; i < l->n; i++) {
		const struct vk_artifact *a = &l->items[i];

		fuzz_assert(a->id && a->version && a->url && a->checksum_url && a->verify, "artifact %zu lacks a field", i);
		fuzz_assert(!strstr(a->url, "${") && !strstr(a->checksum_url, "${") && !strstr(a->version, "${") &&
				    (!a->checksum_name || !strstr(a->checksum_name, "${")),
			    "artifact %zu keeps a placeholder: %s", i, a->url);
	}
	vk_artifact_list_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *releases;
	struct vk_error err = { 0 };
	char *def = NULL, *resolved;
	char **versions;

	if (!releases) {
		char *dir = fuzz_path("data/vm-images/kubernetes"), *image = fuzz_path("data/vm-images/" VK_ARTIFACTS_IMAGE_DEFAULT);

		if (vk_mkdir_p(dir, 0755, &err) < 0 || vk_mkdir_p(image, 0755, &err) < 0)
			abort();
		free(image);
		image = fuzz_path("data/" VK_ARTIFACTS_IMAGE);
		fuzz_write(image, image_json, strlen(image_json));
		free(image);
		free(dir);
		releases = fuzz_path("data/" VK_ARTIFACTS_RELEASES);
		dir = fuzz_path("data");
		setenv("VIRTKUBE_DATADIR", dir, 1);
		free(dir);
	}
	fuzz_write(releases, data, size);
	versions = vk_kubernetes_versions(&def, &err);
	if (!versions) {
		fuzz_assert(err.message[0], "a table that does not load says nothing");
		fuzz_assert(!vk_kubernetes_version_resolve(NULL, &err), "a table without versions resolves the default");
		return 0;
	}
	fuzz_assert(def && *def, "the default version is empty");
	fuzz_assert(versions[0], "no versions, yet the table loaded");
	resolved = vk_kubernetes_version_resolve(NULL, &err);
	fuzz_assert(resolved && strcmp(resolved, def) == 0, "resolving nothing does not give the default");
	free(resolved);
	for (char **v = versions; *v; v++) {
		fuzz_assert(**v, "an empty version is listed");
		if (!full_version(*v))
			continue;
		resolved = vk_kubernetes_version_resolve(*v, &err);
		fuzz_assert(resolved && strcmp(resolved, *v) == 0, "version '%s' resolves to '%s' (%s)", *v,
			    resolved ? resolved : "nothing", err.message);
		check_plan(resolved);
		free(resolved);
		resolved = vk_kubernetes_version_resolve(*v + 1, &err); /* without its 'v' */
		fuzz_assert(resolved && strcmp(resolved, *v) == 0, "'%s' does not resolve to '%s'", *v + 1, *v);
		free(resolved);
	}
	vk_strv_free(versions);
	free(def);
	return 0;
}
