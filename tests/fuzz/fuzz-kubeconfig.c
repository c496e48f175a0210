/* Fuzz target: vk_kubeconfig_merge, check and remove on an arbitrary file, with the oracle that what merge writes reads back as what it meant. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "fuzz.h"
#include "kube/kubeconfig.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Short fake PEM data: the target is the file's text, not the certificates. */
static const struct vk_kubeconfig_entry entry = {
	.name = "dev", .server = "https://192.168.39.10:8443", .ca_pem = "CA\n", .cert_pem = "CERT\n", .key_pem = "KEY\n",
};
/* the same pointed at a tunnel (virtkube tunnel) */
static const struct vk_kubeconfig_entry tunnel_entry = {
	.name = "dev", .server = "https://127.0.0.1:40000", .tls_server_name = "kubernetes", .ca_pem = "CA\n",
	.cert_pem = "CERT\n", .key_pem = "KEY\n",
};

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;

	if (vk_read_file(path, &data, len, NULL) < 0)
		fuzz_fail("cannot read back '%s'", path);
	return data;
}

static yaml_node_t *get(yaml_document_t *doc, int id)
{
	return id ? yaml_document_get_node(doc, id) : NULL;
}

static yaml_node_t *map_value(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return get(doc, p->value);
	}
	return NULL;
}

/* How many items of the list under KEY are named NAME (-1: no such list). */
static long named_items(yaml_document_t *doc, const char *key, const char *name)
{
	yaml_node_t *list = map_value(doc, yaml_document_get_root_node(doc), key);
	long n = 0;

	if (!list || list->type != YAML_SEQUENCE_NODE)
		return -1;
	for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
		yaml_node_t *v = map_value(doc, get(doc, *i), "name");

		n += v && v->type == YAML_SCALAR_NODE && strcmp((char *)v->data.scalar.value, name) == 0;
	}
	return n;
}

/* TEXT must be one YAML document; loads it into DOC. */
static void must_parse(const char *what, const char *text, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_document_t extra;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc))
		fuzz_fail("%s does not parse: line %zu: %s", what, parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "?");
	if (!yaml_document_get_root_node(doc))
		fuzz_fail("%s is empty", what);
	if (!yaml_parser_load(&parser, &extra))
		fuzz_fail("%s has text after its document that does not parse", what);
	if (yaml_document_get_root_node(&extra))
		fuzz_fail("%s holds more than one document", what);
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);
}

static enum vk_kubeconfig_state check(const char *path)
{
	enum vk_kubeconfig_state state;
	struct vk_error err = { 0 };
	_cleanup_free_ char *why = NULL;

	if (vk_kubeconfig_check(path, &entry, &state, &why, &err) < 0)
		fuzz_fail("check cannot read the file merge wrote: %s", err.message);
	return state;
}

#ifdef FUZZ_CORPUS
/* The replay runner (make check) also asks the real kubectl, where there is
 * one: a file kubectl reads must still be read by it once merged. Too slow
 * for libFuzzer's thousands of runs a second. */
static bool kubectl_reads(const char *path)
{
	char *cmd = xasprintf("kubectl config view --kubeconfig '%s' >/dev/null 2>&1", path);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

static bool have_kubectl(void)
{
	static int have = -1;

	if (have < 0)
		have = system("command -v kubectl >/dev/null 2>&1") == 0;
	return have;
}
#endif

static const char *current_context(yaml_document_t *doc)
{
	yaml_node_t *v = map_value(doc, yaml_document_get_root_node(doc), "current-context");

	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *path, *backup;
	/* Both ways of calling merge, chosen by the input so a corpus file replays the same way. */
	bool set_current = size % 2 == 0;
	struct vk_error err = { 0 };
	_cleanup_free_ char *first = NULL, *second = NULL, *after_remove = NULL;
	size_t first_len, second_len, after_len;
	yaml_document_t doc;
	bool removed;

	if (!path) {
		path = fuzz_path("config");
		backup = xasprintf("%s.virtkube-backup", path);
		vk_kubeconfig_lock_timeout_ms = 0;
	}
	unlink(backup);
	fuzz_write(path, data, size);
#ifdef FUZZ_CORPUS
	bool kubectl_read_it = have_kubectl() && kubectl_reads(path);
#endif

	if (vk_kubeconfig_merge(path, &entry, set_current, &err) < 0) {
		_cleanup_free_ char *now = slurp(path, &first_len);

		fuzz_assert(first_len == size && memcmp(now, data, size) == 0, "merge failed (%s) but changed the file",
			    err.message);
		return 0;
	}
	first = slurp(path, &first_len);
	must_parse("the merged file", first, first_len, &doc);
	for (const char *const *key = (const char *const[]){ "clusters", "users", "contexts", NULL }; *key; key++)
		fuzz_assert(named_items(&doc, *key, entry.name) >= 1, "the merged file has no '%s' named %s", *key,
			    entry.name);
	if (set_current) {
		const char *cur = current_context(&doc);

		fuzz_assert(cur && strcmp(cur, entry.name) == 0, "merge did not set current-context");
	}
	yaml_document_delete(&doc);
	fuzz_assert(check(path) == VK_KUBECONFIG_CONFIGURED, "check of the merged file says %s",
		    vk_kubeconfig_state_name(check(path)));
#ifdef FUZZ_CORPUS
	fuzz_assert(!kubectl_read_it || kubectl_reads(path), "kubectl read the file but not what merge made of it");
#endif

	if (vk_kubeconfig_merge(path, &entry, set_current, &err) < 0)
		fuzz_fail("a second merge fails: %s", err.message);
	second = slurp(path, &second_len);
	fuzz_assert(second_len == first_len && memcmp(first, second, first_len) == 0,
		    "a second merge changed the file (%s path)", vk_kubeconfig_last_path);

	/* virtkube tunnel: the entry pointed at 127.0.0.1 with tls-server-name, then back */
	if (vk_kubeconfig_merge(path, &tunnel_entry, false, &err) < 0)
		fuzz_fail("the merge of the tunnel's entry fails: %s", err.message);
	fuzz_assert(check(path) == VK_KUBECONFIG_MISCONFIGURED, "check of the tunnel's entry says %s",
		    vk_kubeconfig_state_name(check(path)));
	if (vk_kubeconfig_merge(path, &entry, set_current, &err) < 0)
		fuzz_fail("the merge back from the tunnel's entry fails: %s", err.message);
	fuzz_assert(check(path) == VK_KUBECONFIG_CONFIGURED, "check after the tunnel's entry went back says %s",
		    vk_kubeconfig_state_name(check(path)));
	{
		_cleanup_free_ char *back = slurp(path, &second_len);

		fuzz_assert(memmem(data, size, "tls-server-name", 15) || !strstr(back, "tls-server-name"),
			    "the tunnel's tls-server-name is left");
	}

	if (vk_kubeconfig_remove(path, entry.name, &removed, &err) < 0)
		fuzz_fail("remove fails on the merged file: %s", err.message);
	fuzz_assert(removed, "remove found nothing to remove");
	after_remove = slurp(path, &after_len);
	must_parse("the file after remove", after_remove, after_len, &doc);
	for (const char *const *key = (const char *const[]){ "clusters", "users", "contexts", NULL }; *key; key++)
		fuzz_assert(named_items(&doc, *key, entry.name) <= 0, "remove left a '%s' named %s", *key, entry.name);
	{
		const char *cur = current_context(&doc);

		fuzz_assert(!cur || strcmp(cur, entry.name) != 0, "remove left current-context at the removed context");
	}
	yaml_document_delete(&doc);
	fuzz_assert(check(path) == VK_KUBECONFIG_NONEXISTENT, "check after remove says %s",
		    vk_kubeconfig_state_name(check(path)));
	if (vk_kubeconfig_remove(path, entry.name, &removed, &err) < 0)
		fuzz_fail("a second remove fails: %s", err.message);
	{
		_cleanup_free_ char *again = slurp(path, &second_len);

		fuzz_assert(!removed && second_len == after_len && memcmp(again, after_remove, after_len) == 0,
			    "a second remove changed the file");
	}
#ifdef FUZZ_CORPUS
	fuzz_assert(!kubectl_read_it || kubectl_reads(path), "kubectl read the file but not what remove made of it");
#endif
	return 0;
}
