/* Unit tests for src/manifest: document splitting, scalar typing, ${VAR} substitution, apply order. */
#include <jansson.h>
#include <string.h>

#include "kube/manifest.h"
#include "tap.h"
#include "util/cleanup.h"

static const struct vk_manifest_var vars[] = {
	{ "NODE_IP", "192.168.39.10" },
	{ "PROFILE", "dev" },
	{ "REPLICAS", "3" },
	{ NULL, NULL },
};

static int parse(struct vk_manifest *m, const char *text, struct vk_error *err)
{
	return vk_manifest_add_text(m, text, strlen(text), "test.yaml", vars, err);
}

/* The JSON text of VALUE at data.KEY of the first object (caller frees). */
static char *data_json(struct vk_manifest *m, const char *key)
{
	json_t *v = json_object_get(json_object_get(m->items[0].obj, "data"), key);

	return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(missing)");
}

static void test_split(void)
{
	struct vk_manifest m = { 0 };
	struct vk_error err = { 0 };
	const char *text = "# only a comment\n"
			   "---\n"
			   "---\n"
			   "# another comment\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: ConfigMap\n"
			   "metadata: {name: a, namespace: kube-system}\n"
			   "---\n"
			   "~\n"
			   "---\n"
			   "apiVersion: apps/v1\n"
			   "kind: Deployment\n"
			   "metadata:\n"
			   "  name: b\n"
			   "...\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: List\n"
			   "items:\n"
			   "- {apiVersion: v1, kind: Secret, metadata: {name: c}}\n"
			   "- {apiVersion: v1, kind: Secret, metadata: {name: d}}\n";

	is_int(parse(&m, text, &err), 0, "a stream with empty and comment-only documents parses (%s)", err.message);
	is_int(m.n, 4, "empty documents are skipped and a List gives its items");
	if (m.n == 4) {
		is_str(m.items[0].kind, "ConfigMap", "first object's kind");
		is_str(m.items[0].ns, "kube-system", "first object's namespace");
		is_str(m.items[0].name, "a", "first object's name");
		is_str(m.items[1].api_version, "apps/v1", "second object's apiVersion");
		ok(m.items[1].ns == NULL, "an object without namespace has ns NULL");
		is_str(m.items[2].name, "c", "List items come one by one");
		is_str(m.items[3].name, "d", "in order");
		contains(m.items[1].source, "test.yaml document", "the source names the file");
	}
	vk_manifest_clear(&m);

	is_int(parse(&m, "", &err), 0, "an empty text is no objects");
	is_int(m.n, 0, "and adds none");
	is_int(parse(&m, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n", &err), 0,
	       "a single document without '---' parses");
	is_int(m.n, 1, "into one object");
	is_int(parse(&m, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n", &err), 0, "a second text appends");
	is_int(m.n, 2, "to the same manifest");
	vk_manifest_clear(&m);
}

static void test_typing(void)
{
	struct vk_manifest m = { 0 };
	struct vk_error err = { 0 };
	const char *text = "apiVersion: v1\n"
			   "kind: ConfigMap\n"
			   "metadata: {name: t}\n"
			   "data:\n"
			   "  qint: \"80\"\n"
			   "  sqint: '80'\n"
			   "  int: 80\n"
			   "  neg: -5\n"
			   "  plus: +12\n"
			   "  hex: 0x1F\n"
			   "  oct: 0o17\n"
			   "  lead0: 017\n"
			   "  float: 1.5\n"
			   "  exp: 1e3\n"
			   "  dot: .5\n"
			   "  t: true\n"
			   "  T: True\n"
			   "  f: FALSE\n"
			   "  qt: \"true\"\n"
			   "  yes: yes\n"
			   "  on: on\n"
			   "  nul: null\n"
			   "  tilde: ~\n"
			   "  empty:\n"
			   "  qnull: 'null'\n"
			   "  str: !!str 12\n"
			   "  tint: !!int \"42\"\n"
			   "  date: 2024-01-01\n"
			   "  ver: 1.2.3\n"
			   "  ip: 10.96.0.10\n"
			   "  block: |\n"
			   "    line1\n"
			   "    line2\n"
			   "  folded: >-\n"
			   "    a\n"
			   "    b\n"
			   "  80: portkey\n"
			   "  big: 123456789012345678901234567890\n";
	static const struct {
		const char *key, *json;
	} want[] = {
		{ "qint", "\"80\"" },  { "sqint", "\"80\"" },   { "int", "80" },	  { "neg", "-5" },
		{ "plus", "12" },      { "hex", "31" },		{ "oct", "15" },	  { "lead0", "17" },
		{ "float", "1.5" },    { "exp", "1000" },	{ "dot", "0.5" },	  { "t", "true" },
		{ "T", "true" },       { "f", "false" },	{ "qt", "\"true\"" },	  { "yes", "\"yes\"" },
		{ "on", "\"on\"" },    { "nul", "null" },	{ "tilde", "null" },	  { "empty", "null" },
		{ "qnull", "\"null\"" }, { "str", "\"12\"" },	{ "tint", "42" },	  { "date", "\"2024-01-01\"" },
		{ "ver", "\"1.2.3\"" }, { "ip", "\"10.96.0.10\"" }, { "block", "\"line1\\nline2\\n\"" },
		{ "folded", "\"a b\"" }, { "80", "\"portkey\"" },
	};

	is_int(parse(&m, text, &err), 0, "a document with every scalar form parses (%s)", err.message);
	if (m.n != 1)
		return;
	for (size_t i = 0; i < VK_ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *got = data_json(&m, want[i].key);

		is_str(got, want[i].json, "scalar '%s' is %s", want[i].key, want[i].json);
	}
	{
		json_t *big = json_object_get(json_object_get(m.items[0].obj, "data"), "big");

		ok(json_is_real(big) && json_real_value(big) > 1e29, "an integer too big for 64 bits is a number");
	}
	vk_manifest_clear(&m);

	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: .inf}\n", &err) < 0,
	   ".inf is refused (JSON has no infinity)");
	contains(err.message, "document 1", "the error names the document");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: !!int abc}\n", &err) < 0,
	   "a !!int that is not an integer is refused");
	contains(err.message, "line 4", "the error names the line");
	is_int(m.n, 0, "failed parses add nothing");
}

static void test_structure(void)
{
	struct vk_manifest m = { 0 };
	struct vk_error err = { 0 };
	const char *anchors = "apiVersion: v1\n"
			      "kind: ConfigMap\n"
			      "metadata:\n"
			      "  name: anchors\n"
			      "  labels: &l {app: web, tier: front}\n"
			      "data:\n"
			      "  copy: *l\n"
			      "  merged:\n"
			      "    <<: *l\n"
			      "    tier: back\n"
			      "  inline:\n"
			      "    <<: {x: 1, y: 2}\n"
			      "    y: 3\n";

	is_int(parse(&m, anchors, &err), 0, "anchors, aliases and merge keys parse (%s)", err.message);
	if (m.n == 1) {
		json_t *data = json_object_get(m.items[0].obj, "data");
		_cleanup_free_ char *copy = json_dumps(json_object_get(data, "copy"), JSON_COMPACT | JSON_SORT_KEYS);
		_cleanup_free_ char *merged = json_dumps(json_object_get(data, "merged"), JSON_COMPACT | JSON_SORT_KEYS);
		_cleanup_free_ char *inl = json_dumps(json_object_get(data, "inline"), JSON_COMPACT | JSON_SORT_KEYS);

		is_str(copy, "{\"app\":\"web\",\"tier\":\"front\"}", "an alias copies the anchored mapping");
		is_str(merged, "{\"app\":\"web\",\"tier\":\"back\"}", "a merge key keeps the explicit keys");
		is_str(inl, "{\"x\":1,\"y\":3}", "an inline merge mapping merges once complete");
	}
	vk_manifest_clear(&m);

	ok(parse(&m, "- a\n- b\n", &err) < 0, "a document that is a list is refused");
	contains(err.message, "not a mapping", "the error says why");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n", &err) < 0,
	   "an object without a name is refused");
	contains(err.message, "has no metadata.name", "the error says what is missing");
	ok(parse(&m, "kind: ConfigMap\nmetadata: {name: x}\n", &err) < 0, "an object without apiVersion is refused");
	contains(err.message, "no apiVersion", "the error says so");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1}\ndata: {b: 2}\n", &err) < 0,
	   "a repeated key is refused");
	contains(err.message, "duplicate key 'data'", "the error names the key");
	contains(err.message, "line 5", "and its line");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\nfoo: [unclosed\n", &err) < 0,
	   "broken YAML is refused");
	contains(err.message, "cannot parse 'test.yaml'", "the error names the file");
	contains(err.message, "document 2", "and the document");
	is_int(m.n, 0, "a good document before a broken one is not kept");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {? [a]: b}\n", &err) < 0,
	   "a complex mapping key is refused");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: *nope}\n", &err) < 0,
	   "an unknown alias is refused");
	contains(err.message, "unknown alias '*nope'", "the error names it");
	/* found by tests/fuzz/fuzz-manifest.c (corpus/manifest/regress-list-without-items):
	 * a List without items was taken for an object of kind List */
	ok(parse(&m, "apiVersion: v1\nkind: List\nmetadata: {name: web}\n", &err) < 0, "a List without items is refused");
	contains(err.message, "no items list", "the error says so");
	ok(parse(&m, "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, metadata: {name: x}, items: []}\n", &err) < 0,
	   "a List inside a List is refused");
	contains(err.message, "List item 1 is a List", "the error says which item");
	is_int(parse(&m, "apiVersion: v1\nkind: List\nitems: []\n", &err), 0, "an empty List is no object (%s)", err.message);
	is_int(m.n, 0, "and adds none");
	vk_manifest_clear(&m);
}

static void test_substitution(void)
{
	struct vk_manifest m = { 0 };
	struct vk_error err = { 0 };
	const char *text = "apiVersion: apps/v1\n"
			   "kind: Deployment\n"
			   "metadata:\n"
			   "  name: web-${PROFILE}\n"
			   "spec:\n"
			   "  replicas: ${REPLICAS}\n"
			   "  template:\n"
			   "    metadata:\n"
			   "      annotations: {count: \"${REPLICAS}\", env: $(POD_NAMESPACE)}\n"
			   "    spec:\n"
			   "      containers:\n"
			   "      - args: [\"--ip=${NODE_IP}\", \"${NODE_IP}:${REPLICAS}\"]\n";

	is_int(parse(&m, text, &err), 0, "placeholders are substituted (%s)", err.message);
	if (m.n == 1) {
		json_t *spec = json_object_get(m.items[0].obj, "spec");
		json_t *tpl = json_object_get(spec, "template");
		json_t *ann = json_object_get(json_object_get(tpl, "metadata"), "annotations");
		json_t *c = json_array_get(json_object_get(json_object_get(tpl, "spec"), "containers"), 0);
		json_t *args = json_object_get(c, "args");

		is_str(m.items[0].name, "web-dev", "in the name, which the object then reports");
		ok(json_is_integer(json_object_get(spec, "replicas")) &&
			   json_integer_value(json_object_get(spec, "replicas")) == 3,
		   "a plain scalar is typed after substitution (replicas is the integer 3)");
		is_str(json_string_value(json_object_get(ann, "count")), "3", "a quoted one stays a string");
		is_str(json_string_value(json_object_get(ann, "env")), "$(POD_NAMESPACE)",
		       "$(VAR), Kubernetes' own syntax, is left alone");
		is_str(json_string_value(json_array_get(args, 0)), "--ip=192.168.39.10", "inside a string");
		is_str(json_string_value(json_array_get(args, 1)), "192.168.39.10:3", "several in one scalar");
	}
	vk_manifest_clear(&m);

	ok(parse(&m, "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
		     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  x: ${NOPE}\n",
		 &err) < 0,
	   "an unknown placeholder is an error");
	contains(err.message, "unknown placeholder '${NOPE}'", "naming the placeholder");
	contains(err.message, "'test.yaml'", "the file");
	contains(err.message, "document 2", "the document");
	contains(err.message, "line 9", "and the line");
	contains(err.hint, "${NODE_IP}", "the hint lists the known ones");
	is_int(m.n, 0, "and nothing is added");
	ok(parse(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  x: \"${NODE_IP\"\n", &err) < 0,
	   "an unterminated placeholder is an error");
	contains(err.message, "unterminated placeholder", "and says so");

	is_int(vk_manifest_add_text(&m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: \"${ANY}\"}\n",
				    strlen("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: \"${ANY}\"}\n"),
				    "raw.yaml", NULL, &err),
	       0, "without variables, text is taken as it is");
	if (m.n == 1) {
		_cleanup_free_ char *x = data_json(&m, "x");

		is_str(x, "\"${ANY}\"", "and ${...} stays");
	}
	vk_manifest_clear(&m);
}

static void test_order(void)
{
	struct vk_manifest m = { 0 };
	struct vk_error err = { 0 };
	const char *text = "{apiVersion: apps/v1, kind: Deployment, metadata: {name: d1, namespace: ns}}\n---\n"
			   "{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: w}}\n---\n"
			   "{apiVersion: v1, kind: Service, metadata: {name: s1, namespace: ns}}\n---\n"
			   "{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: cr}}\n---\n"
			   "{apiVersion: example.com/v1, kind: Widget, metadata: {name: w1, namespace: ns}}\n---\n"
			   "{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.com}}\n---\n"
			   "{apiVersion: v1, kind: Namespace, metadata: {name: ns}}\n---\n"
			   "{apiVersion: v1, kind: ConfigMap, metadata: {name: c1, namespace: ns}}\n---\n"
			   "{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: sc}}\n";
	const char *want[] = { "ns", "widgets.example.com", "cr", "sc", "d1", "s1", "w1", "c1", "w" };

	is_int(vk_manifest_rank("v1", "Namespace"), 0, "Namespaces rank first");
	is_int(vk_manifest_rank("apiextensions.k8s.io/v1", "CustomResourceDefinition"), 1, "CRDs next");
	is_int(vk_manifest_rank("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), 2, "cluster-scoped next");
	is_int(vk_manifest_rank("apps/v1", "Deployment"), 3, "namespaced after");
	is_int(vk_manifest_rank("example.com/v1", "Widget"), 3, "unknown kinds with the namespaced ones");
	is_int(vk_manifest_rank("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"), 4,
	       "webhook configurations last");

	is_int(parse(&m, text, &err), 0, "a mixed manifest parses (%s)", err.message);
	vk_manifest_sort(&m);
	is_int(m.n, VK_ARRAY_SIZE(want), "every object is kept by the sort");
	for (size_t i = 0; i < m.n && i < VK_ARRAY_SIZE(want); i++)
		is_str(m.items[i].name, want[i], "position %zu after sorting", i);
	vk_manifest_clear(&m);
}

int main(void)
{
	test_split();
	test_typing();
	test_structure();
	test_substitution();
	test_order();
	return done_testing();
}
