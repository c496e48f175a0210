/* Manifests: YAML documents to JSON objects with libyaml's event parser (see manifest.h). */
#include "kube/manifest.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube/kubeapi.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct frame {
	json_t *node;   /* borrowed: owned by its parent, or by the builder for the root */
	char *key;      /* a mapping's key awaiting its value */
	bool merge;     /* the pending key is the merge key "<<" */
	int key_line;
	bool deferred;  /* the value of a merge key: owned here, merged when complete */
	int line;
	json_t *merges; /* values of this mapping's merge keys, merged at its end */
	int merge_line;
};

struct anchor {
	char *name;
	json_t *value; /* a reference */
};

struct builder {
	const char *file;
	int doc;
	const struct vk_manifest_var *vars;
	struct vk_error *err;
	struct frame *stack;
	size_t depth, alloc;
	json_t *root;
	struct anchor *anchors;
	size_t nanchors;
};

static int fail_at(struct builder *b, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct builder *b, int line, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	return vk_error_set(b->err, VK_ERR_PARSE, "%s in '%s' document %d (line %d)", msg, b->file, b->doc, line);
}

static void anchors_reset(struct builder *b)
{
	for (size_t i = 0; i < b->nanchors; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].value);
	}
	free(b->anchors);
	b->anchors = NULL;
	b->nanchors = 0;
}

static void builder_reset(struct builder *b)
{
	for (size_t i = 0; i < b->depth; i++) {
		free(b->stack[i].key);
		json_decref(b->stack[i].merges);
		if (b->stack[i].deferred)
			json_decref(b->stack[i].node);
	}
	b->depth = 0;
	json_decref(b->root);
	b->root = NULL;
	anchors_reset(b);
}

static void anchor_add(struct builder *b, const char *name, json_t *value)
{
	/* a later anchor of the same name shadows the earlier one, as in YAML */
	b->anchors = xrealloc(b->anchors, (b->nanchors + 1) * sizeof(*b->anchors));
	b->anchors[b->nanchors++] = (struct anchor){ xstrdup(name), json_incref(value) };
}

static json_t *anchor_find(struct builder *b, const char *name)
{
	for (size_t i = b->nanchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].value;
	return NULL;
}

/* ------------------------------------------------------- placeholders -- */

static const char *var_lookup(const struct vk_manifest_var *vars, const char *name, size_t len)
{
	for (; vars->name; vars++)
		if (strlen(vars->name) == len && memcmp(vars->name, name, len) == 0)
			return vars->value ? vars->value : "";
	return NULL;
}

/* Replaces ${NAME} in IN; *OUT is newly allocated (length in *OUTLEN). */
static int substitute(struct builder *b, const char *in, size_t len, int line, char **out, size_t *outlen)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	size_t i = 0;

	if (!b->vars || !memmem(in, len, "${", 2)) {
		*out = xmalloc(len + 1);
		memcpy(*out, in, len);
		(*out)[len] = '\0';
		*outlen = len;
		return 0;
	}
	while (i < len) {
		const char *open = memmem(in + i, len - i, "${", 2);
		const char *close, *value;
		size_t nlen;

		if (!open) {
			vk_strbuf_add(&sb, in + i, len - i);
			break;
		}
		vk_strbuf_add(&sb, in + i, (size_t)(open - (in + i)));
		close = memchr(open + 2, '}', len - (size_t)(open + 2 - in));
		if (!close) {
			int shown = (int)(len - (size_t)(open - in));

			vk_strbuf_release(&sb);
			return fail_at(b, line, "unterminated placeholder '%.*s'", shown > 40 ? 40 : shown, open);
		}
		nlen = (size_t)(close - open - 2);
		value = var_lookup(b->vars, open + 2, nlen);
		if (!value) {
			struct vk_strbuf known = VK_STRBUF_INIT;

			for (const struct vk_manifest_var *v = b->vars; v->name; v++)
				vk_strbuf_addf(&known, "%s${%s}", v == b->vars ? "" : ", ", v->name);
			fail_at(b, line, "unknown placeholder '${%.*s}'", (int)nlen, open + 2);
			vk_error_hint(b->err, "known placeholders: %s", known.len ? known.buf : "none");
			vk_strbuf_release(&known);
			vk_strbuf_release(&sb);
			return -1;
		}
		vk_strbuf_addstr(&sb, value);
		i = (size_t)(close + 1 - in);
	}
	*out = vk_strbuf_detach(&sb, outlen);
	return 0;
}

/* ------------------------------------------------------------ scalars -- */

static bool is_tag(const char *tag, const char *short_name)
{
	static const char prefix[] = "tag:yaml.org,2002:";

	return tag && strncmp(tag, prefix, sizeof(prefix) - 1) == 0 &&
	       strcmp(tag + sizeof(prefix) - 1, short_name) == 0;
}

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static json_t *number_from_double(double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* An integer per the core schema ([-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+), or NULL. */
static json_t *core_int(const char *s)
{
	const char *digits = s;
	int base = 10;
	long long v;
	char *end;

	if (strncmp(s, "0o", 2) == 0) {
		digits = s + 2;
		base = 8;
		if (!all_digits(digits, "01234567"))
			return NULL;
	} else if (strncmp(s, "0x", 2) == 0) {
		digits = s + 2;
		base = 16;
		if (!all_digits(digits, "0123456789abcdefABCDEF"))
			return NULL;
	} else {
		if (*digits == '-' || *digits == '+')
			digits++;
		if (!all_digits(digits, "0123456789"))
			return NULL;
	}
	errno = 0;
	v = strtoll(base == 10 ? s : digits, &end, base);
	if (errno == ERANGE) /* too big for an integer: a number all the same */
		return json_real(strtod(s, NULL));
	return json_integer(v);
}

/* A float per the core schema, or NULL. .inf and .nan have no JSON form. */
static json_t *core_float(const char *s, bool *unrepresentable)
{
	const char *p = s;
	bool mant = false;

	if (*p == '-' || *p == '+')
		p++;
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 || strcmp(p, ".INF") == 0 || strcmp(s, ".nan") == 0 ||
	    strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
		*unrepresentable = true;
		return NULL;
	}
	while (*p >= '0' && *p <= '9')
		p++, mant = true;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, mant = true;
	}
	if (!mant)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return NULL;
	return number_from_double(strtod(s, NULL));
}

static bool core_null(const char *s)
{
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

static int core_bool(const char *s)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return 1;
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return 0;
	return -1;
}

/* Types scalar S. PLAIN: written without quotes or block style. TAG: an
 * explicit tag or NULL. Returns a new value or NULL with ERR set. */
static json_t *scalar_value(struct builder *b, const char *s, size_t len, bool plain, const char *tag, int line)
{
	bool untyped = tag && strcmp(tag, "!") == 0;
	bool inf = false;
	json_t *v;
	int bv;

	if (is_tag(tag, "str") || (!plain && !tag) || untyped) {
		v = json_stringn(s, len);
		if (!v)
			fail_at(b, line, "a string is not valid UTF-8");
		return v;
	}
	if (tag && !is_tag(tag, "int") && !is_tag(tag, "float") && !is_tag(tag, "bool") && !is_tag(tag, "null")) {
		/* custom tags carry no meaning for Kubernetes objects: keep the text */
		return json_stringn(s, len);
	}
	if ((!tag || is_tag(tag, "null")) && core_null(s))
		return json_null();
	if ((!tag || is_tag(tag, "bool")) && (bv = core_bool(s)) >= 0)
		return json_boolean(bv);
	if ((!tag || is_tag(tag, "int") || is_tag(tag, "float")) && (v = core_int(s)))
		return v;
	if ((!tag || is_tag(tag, "float")) && (v = core_float(s, &inf)))
		return v;
	if (inf) {
		fail_at(b, line, "'%s' has no JSON form", s);
		return NULL;
	}
	if (tag) {
		fail_at(b, line, "'%s' is not a valid !!%s", s, strrchr(tag, ':') + 1);
		return NULL;
	}
	return json_stringn(s, len);
}

/* ---------------------------------------------------------- structure -- */

static void push(struct builder *b, json_t *node)
{
	if (b->depth == b->alloc) {
		b->alloc = b->alloc ? b->alloc * 2 : 16;
		b->stack = xrealloc(b->stack, b->alloc * sizeof(*b->stack));
	}
	b->stack[b->depth++] = (struct frame){ .node = node };
}

static int merge_into(struct builder *b, json_t *target, json_t *src, int line)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(src)) {
		json_array_foreach(src, i, v)
			if (merge_into(b, target, v, line) < 0)
				return -1;
		return 0;
	}
	if (!json_is_object(src))
		return fail_at(b, line, "the merge key '<<' needs a mapping or a list of mappings");
	json_object_foreach(src, k, v)
		if (!json_object_get(target, k))
			json_object_set(target, k, v);
	return 0;
}

/* Puts V (a new reference, stolen) where the parser is: root, list item, or value. */
static int add_value(struct builder *b, json_t *v, int line)
{
	struct frame *top;
	int rc = 0;

	if (b->depth == 0) {
		b->root = v;
		return 0;
	}
	top = &b->stack[b->depth - 1];
	if (json_is_array(top->node))
		return json_array_append_new(top->node, v) == 0 ? 0 : -1;
	if (top->merge) {
		/* explicit keys win over merged ones wherever they are written */
		if (!top->merges)
			top->merges = json_array();
		json_array_append(top->merges, v);
		top->merge_line = line;
	} else if (json_object_get(top->node, top->key))
		rc = fail_at(b, top->key_line, "duplicate key '%s'", top->key);
	else
		json_object_set(top->node, top->key, v);
	json_decref(v);
	free(top->key);
	top->key = NULL;
	top->merge = false;
	return rc;
}

static bool expecting_key(struct builder *b)
{
	return b->depth > 0 && json_is_object(b->stack[b->depth - 1].node) && !b->stack[b->depth - 1].key;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	const char *tag = (const char *)ev->data.scalar.tag;
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_t *v;

	if (substitute(b, (const char *)ev->data.scalar.value, ev->data.scalar.length, line, &text, &len) < 0)
		return -1;
	if (expecting_key(b)) {
		struct frame *top = &b->stack[b->depth - 1];

		if (memchr(text, '\0', len))
			return fail_at(b, line, "a mapping key contains a NUL character");
		top->merge = plain && strcmp(text, "<<") == 0 && !tag;
		top->key = TAKE_PTR(text);
		top->key_line = line;
		return 0;
	}
	v = scalar_value(b, text, len, plain, tag, line);
	if (!v)
		return -1;
	if (ev->data.scalar.anchor)
		anchor_add(b, (const char *)ev->data.scalar.anchor, v);
	return add_value(b, v, line);
}

static int on_start(struct builder *b, yaml_event_t *ev, json_t *node, const char *anchor)
{
	int line = (int)ev->start_mark.line + 1;

	if (expecting_key(b)) {
		json_decref(node);
		return fail_at(b, line, "a mapping key must be a scalar");
	}
	if (anchor)
		anchor_add(b, anchor, node);
	if (b->depth > 0 && b->stack[b->depth - 1].merge) {
		/* merged into the parent once complete, in on_end */
		push(b, node);
		b->stack[b->depth - 1].deferred = true;
		b->stack[b->depth - 1].line = line;
		return 0;
	}
	/* the parent holds the reference from here on; the frame borrows it */
	if (add_value(b, json_incref(node), line) < 0) {
		json_decref(node);
		return -1;
	}
	push(b, node);
	json_decref(node);
	return 0;
}

static int on_end(struct builder *b)
{
	struct frame f = b->stack[--b->depth];
	int rc = 0;

	free(f.key);
	if (f.merges) {
		rc = merge_into(b, f.node, f.merges, f.merge_line);
		json_decref(f.merges);
	}
	if (f.deferred)
		return rc < 0 ? (json_decref(f.node), -1) : add_value(b, f.node, f.line);
	return rc;
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;
	const char *name = (const char *)ev->data.alias.anchor;
	json_t *target = anchor_find(b, name);

	if (!target)
		return fail_at(b, line, "unknown alias '*%s'", name);
	if (expecting_key(b))
		return fail_at(b, line, "an alias cannot be a mapping key");
	for (size_t i = 0; i < b->depth; i++)
		if (b->stack[i].node == target)
			return fail_at(b, line, "alias '*%s' refers to a node that contains it", name);
	return add_value(b, json_deep_copy(target), line);
}

/* ------------------------------------------------------------ objects -- */

static const char *str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int check_object(struct builder *b, json_t *obj, int line, int item)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *what = item >= 0 ? "a List item" : "the document";

	if (!json_is_object(obj))
		return fail_at(b, line, "%s is not a mapping (a Kubernetes object)", what);
	if (!str_at(obj, "apiVersion") || !*str_at(obj, "apiVersion"))
		return fail_at(b, line, "%s has no apiVersion", what);
	if (!str_at(obj, "kind") || !*str_at(obj, "kind"))
		return fail_at(b, line, "%s has no kind", what);
	if (!json_is_object(md) || !str_at(md, "name") || !*str_at(md, "name"))
		return fail_at(b, line, "%s '%s' has no metadata.name", str_at(obj, "kind"),
			       item >= 0 ? "List item" : "object");
	if (json_object_get(md, "namespace") && !str_at(md, "namespace"))
		return fail_at(b, line, "%s '%s' has a metadata.namespace that is not a string", str_at(obj, "kind"),
			       str_at(md, "name"));
	return 0;
}

static void append(struct vk_manifest *m, json_t *obj, const char *file, int doc)
{
	json_t *md = json_object_get(obj, "metadata");
	struct vk_manifest_object *o;

	m->items = xrealloc(m->items, (m->n + 1) * sizeof(*m->items));
	o = &m->items[m->n++];
	o->obj = obj;
	o->api_version = str_at(obj, "apiVersion");
	o->kind = str_at(obj, "kind");
	o->name = str_at(md, "name");
	o->ns = str_at(md, "namespace");
	o->source = xasprintf("%s document %d", file, doc);
}

/* Checks the finished document and appends its object(s) to PENDING. */
static int finish_document(struct builder *b, struct vk_manifest *pending, int line)
{
	json_t *root = b->root;
	json_t *items, *item;
	size_t i;

	if (!root || json_is_null(root))
		return 0;
	items = json_object_get(root, "items");
	if (json_is_object(root) && str_at(root, "kind") && strcmp(str_at(root, "kind"), "List") == 0) {
		/* no API server takes a List itself: its items are the objects */
		if (!json_is_array(items))
			return fail_at(b, line, "the List has no items list");
		json_array_foreach(items, i, item) {
			if (check_object(b, item, line, (int)i) < 0)
				return -1;
			if (strcmp(str_at(item, "kind"), "List") == 0)
				return fail_at(b, line, "List item %zu is a List itself", i + 1);
		}
		json_array_foreach(items, i, item)
			append(pending, json_incref(item), b->file, b->doc);
		return 0;
	}
	if (check_object(b, root, line, -1) < 0)
		return -1;
	append(pending, TAKE_PTR(b->root), b->file, b->doc);
	return 0;
}

static int parse_stream(struct builder *b, yaml_parser_t *parser, struct vk_manifest *pending)
{
	int doc_line = 1;

	for (;;) {
		yaml_event_t ev;
		int rc = 0;
		bool end = false;

		if (!yaml_parser_parse(parser, &ev)) {
			const char *ctx = parser->context;

			return vk_error_set(b->err, VK_ERR_PARSE, "cannot parse '%s' document %d (line %zu, column %zu): %s%s%s",
					    b->file, b->doc ? b->doc : 1, parser->problem_mark.line + 1,
					    parser->problem_mark.column + 1, parser->problem ? parser->problem : "invalid YAML",
					    ctx ? " " : "", ctx ? ctx : "");
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			b->doc++;
			doc_line = (int)ev.start_mark.line + 1;
			break;
		case YAML_DOCUMENT_END_EVENT:
			rc = finish_document(b, pending, doc_line);
			builder_reset(b);
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(b, &ev, json_array(), (const char *)ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_start(b, &ev, json_object(), (const char *)ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = on_end(b);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(b, &ev);
			break;
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
		if (end)
			return 0;
	}
}

int vk_manifest_add_text(struct vk_manifest *m, const char *text, size_t len, const char *file,
			 const struct vk_manifest_var *vars, struct vk_error *err)
{
	struct builder b = { .file = file, .vars = vars, .err = err };
	struct vk_manifest pending = { 0 };
	yaml_parser_t parser;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return vk_error_set(err, VK_ERR_FAILED, "cannot initialize the YAML parser for '%s'", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	rc = parse_stream(&b, &parser, &pending);
	yaml_parser_delete(&parser);
	builder_reset(&b);
	free(b.stack);
	if (rc < 0) {
		vk_manifest_clear(&pending);
		return -1;
	}
	if (pending.n) {
		m->items = xrealloc(m->items, (m->n + pending.n) * sizeof(*m->items));
		memcpy(m->items + m->n, pending.items, pending.n * sizeof(*m->items));
		m->n += pending.n;
	}
	free(pending.items);
	return 0;
}

int vk_manifest_add_file(struct vk_manifest *m, const char *path, const char *display,
			 const struct vk_manifest_var *vars, struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (vk_read_file(path, &text, &len, err) < 0)
		return vk_error_prefix(err, "cannot read manifest '%s'", display ? display : path);
	return vk_manifest_add_text(m, text, len, display ? display : path, vars, err);
}

/* --------------------------------------------------------------- order -- */

int vk_manifest_rank(const char *api_version, const char *kind)
{
	const struct vk_kube_resource *r = vk_kube_builtin_resource(api_version, kind);

	if (strcmp(kind, "Namespace") == 0)
		return 0;
	if (strcmp(kind, "CustomResourceDefinition") == 0)
		return 1;
	if (strcmp(kind, "ValidatingWebhookConfiguration") == 0 || strcmp(kind, "MutatingWebhookConfiguration") == 0 ||
	    strcmp(kind, "APIService") == 0)
		return 4;
	if (r && !r->namespaced)
		return 2;
	return 3;
}

void vk_manifest_sort(struct vk_manifest *m)
{
	/* insertion sort: stable, and manifests are tens of objects */
	for (size_t i = 1; i < m->n; i++) {
		struct vk_manifest_object cur = m->items[i];
		int rank = vk_manifest_rank(cur.api_version, cur.kind);
		size_t j = i;

		while (j > 0 && vk_manifest_rank(m->items[j - 1].api_version, m->items[j - 1].kind) > rank) {
			m->items[j] = m->items[j - 1];
			j--;
		}
		m->items[j] = cur;
	}
}

void vk_manifest_clear(struct vk_manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		json_decref(m->items[i].obj);
		free(m->items[i].source);
	}
	free(m->items);
	m->items = NULL;
	m->n = 0;
}
