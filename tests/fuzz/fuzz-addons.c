/* Fuzz target: addon.json loading (vk_addons_load); what loads is what the file says, and a bad file fails naming it. */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "kube/addons.h"
#include "fuzz.h"
#include "util/xalloc.h"

/* Whether NULL-terminated V holds exactly the strings of JSON array A. */
static bool same_list(char **v, json_t *a)
{
	size_t n = 0;

	for (; v && v[n]; n++)
		if (n >= json_array_size(a) || strcmp(v[n], json_string_value(json_array_get(a, n)) ?: "\x01") != 0)
			return false;
	return n == json_array_size(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *dir, *meta;
	struct vk_addon_registry reg = { 0 };
	struct vk_error err = { 0 };
	json_error_t jerr;
	json_t *doc;
	const struct vk_addon *a;

	if (!dir) {
		char *folder;

		dir = fuzz_path("addons");
		folder = xasprintf("%s/dns", dir);
		if (mkdir(dir, 0755) < 0 || mkdir(folder, 0755) < 0)
			abort();
		meta = xasprintf("%s/addon.json", folder);
		free(folder);
	}
	fuzz_write(meta, data, size);
	if (vk_addons_load(&reg, dir, &err) < 0) {
		fuzz_assert(reg.n == 0 && !reg.items, "a failed load left addons behind");
		fuzz_assert(strstr(err.message, "addon.json") || strstr(err.message, dir), "the error does not name the file: %s",
			    err.message);
		return 0;
	}
	fuzz_assert(reg.n == 1, "one addon.json loads as %zu addons", reg.n);
	a = &reg.items[0];
	/* an independent reading of the same bytes */
	doc = json_loadb((const char *)data, size, 0, &jerr);
	fuzz_assert(doc, "the loader took a file jansson rejects: %s", jerr.text);
	fuzz_assert(strcmp(a->name, "dns") == 0, "the addon is named '%s', not after its folder", a->name);
	fuzz_assert(json_string_value(json_object_get(doc, "description")) &&
			    strcmp(a->description, json_string_value(json_object_get(doc, "description"))) == 0,
		    "the description is not the file's");
	fuzz_assert(a->default_on == json_is_true(json_object_get(doc, "default")), "default is not the file's");
	fuzz_assert(a->manifests && a->manifests[0], "an addon without manifests loaded");
	for (char **m = a->manifests; *m; m++)
		fuzz_assert(**m && !strchr(*m, '/') && strcmp(*m, "..") != 0 && strcmp(*m, ".") != 0,
			    "manifest '%s' is not a file name in the addon's folder", *m);
	fuzz_assert(same_list(a->manifests, json_object_get(doc, "manifests")), "the manifests are not the file's");
	fuzz_assert(json_object_get(doc, "images") ? same_list(a->images, json_object_get(doc, "images")) : !a->images[0],
		    "the images are not the file's");
	for (char **i = a->images; *i; i++)
		fuzz_assert(**i, "an empty image name loaded");
	fuzz_assert(a->nwaits == json_array_size(json_object_get(doc, "wait")), "%zu waits loaded, the file has %zu",
		    a->nwaits, json_array_size(json_object_get(doc, "wait")));
	for (size_t w = 0; w < a->nwaits; w++) {
		fuzz_assert(vk_kube_waitable(a->waits[w].kind), "wait %zu has kind '%s', which cannot be waited for", w,
			    a->waits[w].kind);
		fuzz_assert(a->waits[w].ns && a->waits[w].name, "wait %zu lacks a namespace or name", w);
	}
	fuzz_assert(a->nremoves == json_array_size(json_object_get(doc, "removes")),
		    "%zu removes loaded, the file has %zu", a->nremoves, json_array_size(json_object_get(doc, "removes")));
	for (size_t r = 0; r < a->nremoves; r++) {
		json_t *e = json_array_get(json_object_get(doc, "removes"), r);
		const char *ns = json_string_value(json_object_get(e, "namespace"));

		fuzz_assert(!strcmp(a->removes[r].api_version, json_string_value(json_object_get(e, "apiVersion")) ?: "") &&
				    !strcmp(a->removes[r].kind, json_string_value(json_object_get(e, "kind")) ?: "") &&
				    !strcmp(a->removes[r].name, json_string_value(json_object_get(e, "name")) ?: ""),
			    "removes entry %zu is not the file's", r);
		fuzz_assert(ns ? a->removes[r].ns && !strcmp(a->removes[r].ns, ns) : !a->removes[r].ns,
			    "removes entry %zu has another namespace than the file's", r);
	}
	fuzz_assert(vk_addons_find(&reg, "dns", &err) == a, "the loaded addon cannot be found by its name");
	json_decref(doc);
	vk_addons_free(&reg);
	return 0;
}
