/* Fuzz target: the manifest reader (vk_manifest_add_text); every object found names itself as its JSON says, and its JSON read back as YAML gives the same objects. */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "kube/manifest.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static const struct vk_manifest_var vars[] = {
	{ "NODE_IP", "192.168.39.10" },
	{ "PROFILE", "dev" },
	{ NULL, NULL },
};

static const char *str_at(json_t *obj, const char *key, const char *sub)
{
	json_t *v = json_object_get(obj, key);

	if (sub)
		v = json_object_get(v, sub);
	return json_string_value(v);
}

static bool same_str(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Every object must be a mapping whose identity fields are what the struct says. */
static void check_objects(const struct vk_manifest *m, size_t from)
{
	for (size_t i = from; i < m->n; i++) {
		const struct vk_manifest_object *o = &m->items[i];

		fuzz_assert(json_is_object(o->obj), "object %zu is not a JSON object", i);
		fuzz_assert(same_str(o->api_version, str_at(o->obj, "apiVersion", NULL)) && *o->api_version,
			    "object %zu: api_version is not its apiVersion", i);
		fuzz_assert(same_str(o->kind, str_at(o->obj, "kind", NULL)) && *o->kind, "object %zu: kind is not its kind", i);
		fuzz_assert(same_str(o->name, str_at(o->obj, "metadata", "name")) && *o->name,
			    "object %zu: name is not its metadata.name", i);
		fuzz_assert(o->ns ? same_str(o->ns, str_at(o->obj, "metadata", "namespace"))
				  : !json_is_string(json_object_get(json_object_get(o->obj, "metadata"), "namespace")),
			    "object %zu: ns is not its metadata.namespace", i);
		fuzz_assert(strcmp(o->kind, "List") != 0, "object %zu is a List, which should have been unpacked", i);
		fuzz_assert(o->source && *o->source, "object %zu has no source", i);
	}
}

/* Whether any string (key or value) under J holds "${". */
static bool has_placeholder(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		return strstr(json_string_value(j), "${NODE_IP}") != NULL;
	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			if (strstr(key, "${NODE_IP}") || has_placeholder(v))
				return true;
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (has_placeholder(v))
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vk_manifest m = { 0 }, again = { 0 }, substituted = { 0 };
	struct vk_error err = { 0 };
	struct vk_strbuf json = VK_STRBUF_INIT;

	if (vk_manifest_add_text(&m, (const char *)data, size, "fuzz.yaml", NULL, &err) < 0) {
		fuzz_assert(m.n == 0 && !m.items, "a failed read appended objects");
		fuzz_assert(err.code != VK_ERR_NONE && err.message[0], "a failed read says nothing");
		fuzz_assert(strstr(err.message, "fuzz.yaml"), "the error does not name the file: %s", err.message);
		return 0;
	}
	check_objects(&m, 0);

	/* JSON is YAML: the objects written as JSON documents read back the same. */
	for (size_t i = 0; i < m.n; i++) {
		char *text = json_dumps(m.items[i].obj, JSON_COMPACT | JSON_ENCODE_ANY);

		fuzz_assert(text, "object %zu does not serialise", i);
		vk_strbuf_addf(&json, "---\n%s\n", text);
		free(text);
	}
	if (vk_manifest_add_text(&again, json.buf, json.len, "again.json", NULL, &err) < 0)
		fuzz_fail("the objects written as JSON do not read back: %s", err.message);
	fuzz_assert(again.n == m.n, "%zu objects read back as %zu", m.n, again.n);
	for (size_t i = 0; i < m.n; i++)
		fuzz_assert(json_equal(m.items[i].obj, again.items[i].obj), "object %zu reads back different", i);

	/* With variables: a read that works leaves no known placeholder behind. */
	if (vk_manifest_add_text(&substituted, (const char *)data, size, "fuzz.yaml", vars, &err) == 0) {
		check_objects(&substituted, 0);
		for (size_t i = 0; i < substituted.n; i++)
			fuzz_assert(!has_placeholder(substituted.items[i].obj), "object %zu still holds ${NODE_IP}", i);
	}
	vk_manifest_sort(&m);
	for (size_t i = 1; i < m.n; i++)
		fuzz_assert(vk_manifest_rank(m.items[i - 1].api_version, m.items[i - 1].kind) <=
				    vk_manifest_rank(m.items[i].api_version, m.items[i].kind),
			    "sorted objects are out of rank order at %zu", i);
	vk_strbuf_release(&json);
	vk_manifest_clear(&m);
	vk_manifest_clear(&again);
	vk_manifest_clear(&substituted);
	return 0;
}
