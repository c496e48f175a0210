/* kubeconfig reading, of files we did not write: the file's bytes, libyaml's document tree, and the text scan (libyaml events and byte offsets) that the splices and check work from. Fuzzed by tests/fuzz/fuzz-kubeconfig.c. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kube/kubeconfig-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

/* ---- the file, and its document tree ------------------------------------------------ */

static int wrong_shape(struct kcfg *k, struct vk_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int wrong_shape(struct kcfg *k, struct vk_error *err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vk_error_set(err, VK_ERR_PARSE, "'%s' is not a kubeconfig virtkube can edit: %s", k->path, what);
	return vk_error_hint(err, "virtkube left it untouched; fix it, or point $KUBECONFIG at another file");
}

/* Resolves symlinks of PATH (or of its directory when the file is missing). */
char *vk_kc_resolve_path(const char *path)
{
	char buf[PATH_MAX];
	_cleanup_free_ char *dir = NULL;
	const char *slash;

	if (realpath(path, buf))
		return xstrdup(buf);
	slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(path);
	dir = xstrndup(path, (size_t)(slash - path));
	if (*dir && realpath(dir, buf))
		return xasprintf("%s%s", buf, slash);
	return xstrdup(path);
}

/* Reads PATH into F; a missing file reads as empty. */
int vk_kc_file_read(struct kfile *f, const char *path, struct vk_error *err)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = path;
	f->real = vk_kc_resolve_path(path);
	if (stat(f->real, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is a directory, expected a file", path);
			return vk_error_hint(err, "remove or rename it, or point $KUBECONFIG at a file");
		}
		if (vk_read_file(f->real, &f->data, &f->len, err) < 0)
			return -1;
		f->exists = true;
		return 0;
	}
	if (errno != ENOENT)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read kubeconfig '%s'", path);
	f->data = xstrdup("");
	return 0;
}

void vk_kc_file_free(struct kfile *f)
{
	free(f->real);
	free(f->data);
}

void vk_kc_doc_free(struct kcfg *k)
{
	if (k->have_doc)
		yaml_document_delete(&k->doc);
}

/* Loads F into K's document tree. An empty file gives a fresh document. */
int vk_kc_doc_load(struct kcfg *k, const struct kfile *f, struct vk_error *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;

	memset(k, 0, sizeof(*k));
	k->f = f;
	k->path = f->path;
	vk_kubeconfig_last_path = "document";
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)f->data, f->len);
	if (!yaml_parser_load(&parser, &k->doc)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot parse kubeconfig '%s': line %zu, column %zu: %s%s%s", k->path,
			     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
			     parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return vk_error_hint(err, "virtkube does not overwrite a file it cannot read; fix it, or point $KUBECONFIG at another file");
	}
	k->have_doc = true;
	if (yaml_document_get_root_node(&k->doc)) {
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_parser_delete(&parser);
			return wrong_shape(k, err, "the text after the first document does not parse (line %zu)",
					   parser.problem_mark.line + 1);
		}
		if (yaml_document_get_root_node(&extra)) {
			yaml_document_delete(&extra);
			yaml_parser_delete(&parser);
			return wrong_shape(k, err, "it holds more than one YAML document");
		}
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);

	if (!yaml_document_get_root_node(&k->doc) || is_null(&k->doc, 1)) {
		/* Empty: start a fresh document (the null root is dropped). */
		yaml_document_delete(&k->doc);
		if (!yaml_document_initialize(&k->doc, NULL, NULL, NULL, 1, 1))
			abort();
		k->root = add_map(&k->doc);
		map_set_str(&k->doc, k->root, "apiVersion", "v1");
		map_set_str(&k->doc, k->root, "kind", "Config");
		map_set(&k->doc, k->root, "preferences", yaml_document_add_mapping(&k->doc, NULL, YAML_FLOW_MAPPING_STYLE));
		return 0;
	}
	k->root = 1; /* libyaml's loader always adds the root first */
	if (node(&k->doc, k->root)->type != YAML_MAPPING_NODE)
		return wrong_shape(k, err, "the top level is %s, expected a mapping", type_name(&k->doc, k->root));
	{
		const char *kind = scalar_of(&k->doc, map_get(&k->doc, k->root, "kind"));

		if (kind && strcmp(kind, "Config") != 0)
			return wrong_shape(k, err, "its kind is '%s', expected 'Config'", kind);
	}
	return 0;
}

/* The list under KEY, created (or a null replaced) when CREATE; 0 if absent. */
int vk_kc_doc_list(struct kcfg *k, const char *key, bool create, struct vk_error *err)
{
	int id = map_get(&k->doc, k->root, key);

	if (!id || is_null(&k->doc, id)) {
		if (!create)
			return 0;
		id = add_seq(&k->doc);
		map_set(&k->doc, k->root, key, id);
		return id;
	}
	if (node(&k->doc, id)->type != YAML_SEQUENCE_NODE) {
		wrong_shape(k, err, "'%s' is %s, expected a list", key, type_name(&k->doc, id));
		return -1;
	}
	return id;
}

/* ---- the text scan: libyaml events and byte offsets ------------------------------ */

/* The file is read as parser events (no tree), keeping where the parts we
 * edit are; the output is the file's own bytes with a few spans replaced.
 * tscan_event decides whether that is provably right; if not, s->ok turns
 * false and the caller takes the document path, which also reports every
 * parse and shape error (so those messages stay the same). */

static void titem_clear(struct titem *it)
{
	for (size_t i = 0; i < it->nkeys; i++)
		free(it->keys[i].name);
	free(it->keys);
	for (int v = 0; v < V_COUNT; v++)
		free(it->val[v]);
	memset(it, 0, sizeof(*it));
}

void vk_kc_scan_free(struct tscan *s)
{
	for (int l = 0; l < L_COUNT; l++) {
		free(s->list[l].named);
		titem_clear(&s->list[l].first);
	}
	titem_clear(&s->item);
	free(s->stack);
	free(s->cur);
}

void vk_kc_scan_fail(struct tscan *s, const char *why)
{
	if (s->ok)
		s->why = why;
	s->ok = false;
}

/* The byte offset of character CI: marks come nearly in order, so a cursor
 * walks the UTF-8 text from the last answer. */
static size_t byte_at(struct tscan *s, size_t ci)
{
	if (s->ascii)
		return ci;
	while (s->ci < ci && s->bi < s->len) {
		s->bi++;
		while (s->bi < s->len && ((unsigned char)s->data[s->bi] & 0xc0) == 0x80)
			s->bi++;
		s->ci++;
	}
	while (s->ci > ci) {
		s->bi--;
		while (s->bi > 0 && ((unsigned char)s->data[s->bi] & 0xc0) == 0x80)
			s->bi--;
		s->ci--;
	}
	return s->bi;
}

static size_t line_start(const struct tscan *s, size_t b)
{
	while (b > 0 && s->data[b - 1] != '\n')
		b--;
	return b;
}

/* After the line holding byte B (B itself when it starts a line that a
 * block scalar's trailing line breaks led to). */
size_t vk_kc_line_end(const struct tscan *s, size_t b)
{
	const char *nl;

	if (b > 0 && s->data[b - 1] == '\n')
		return b;
	nl = b < s->len ? memchr(s->data + b, '\n', s->len - b) : NULL;
	return nl ? (size_t)(nl - s->data) + 1 : s->len;
}

static bool only_spaces(const struct tscan *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (s->data[i] != ' ')
			return false;
	return true;
}

/* After the ':' that follows a key ending at KEY_END, or 0. */
static size_t colon_after(const struct tscan *s, size_t key_end)
{
	size_t i = key_end;

	while (i < s->len && (s->data[i] == ' ' || s->data[i] == '\t'))
		i++;
	return i < s->len && s->data[i] == ':' ? i + 1 : 0;
}

static bool is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

static int key_id(enum role role, const char *key, int list)
{
	switch (role) {
	case R_ROOT:
		for (int l = 0; l < L_COUNT; l++)
			if (strcmp(key, list_keys[l]) == 0)
				return l;
		return strcmp(key, "current-context") == 0 ? K_CURRENT : strcmp(key, "kind") == 0 ? K_KIND : K_OTHER;
	case R_ITEM:
		return strcmp(key, "name") == 0 ? K_NAME : strcmp(key, inner_keys[list]) == 0 ? K_INNER : K_OTHER;
	case R_INNER:
		for (int v = 0; v < V_COUNT; v++)
			if (check_keys[v].list == list && strcmp(key, check_keys[v].key) == 0)
				return v;
		return K_OTHER;
	default:
		return K_OTHER;
	}
}

/* Closes the inner key being read: its value ended with the last content. */
static void close_inner_key(struct tscan *s)
{
	if (s->item.nkeys && !s->item.keys[s->item.nkeys - 1].end)
		s->item.keys[s->item.nkeys - 1].end = vk_kc_line_end(s, s->last);
}

/* A list's value, at the top level. */
static enum role list_value(struct tscan *s, struct frame *parent, yaml_event_t *ev, size_t end)
{
	struct tlist *l = &s->list[parent->key];

	if (l->state != T_ABSENT) {
		vk_kc_scan_fail(s, "a list key appears twice");
		return R_OTHER;
	}
	l->colon = colon_after(s, parent->key_end);
	l->state = T_OTHER;
	if (ev->type == YAML_SEQUENCE_START_EVENT && ev->data.sequence_start.style == YAML_BLOCK_SEQUENCE_STYLE) {
		l->state = T_BLOCK;
		return R_LIST;
	}
	if (!l->colon)
		return R_OTHER;
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		l->state = T_EMPTY; /* until an item shows up */
		return R_FLOWLIST;
	}
	if (ev->type == YAML_SCALAR_EVENT && is_null_scalar(ev)) {
		l->state = T_EMPTY;
		l->empty_end = ev->data.scalar.length ? end : l->colon;
	}
	return R_OTHER;
}

/* An item of a block list starts: a block mapping whose "- " opens its line. */
static enum role item_start(struct tscan *s, struct frame *parent, yaml_event_t *ev, size_t start)
{
	struct tlist *l = &s->list[parent->key];
	size_t ls = line_start(s, start), dash = ls;

	if (ev->type != YAML_MAPPING_START_EVENT || ev->data.mapping_start.style != YAML_BLOCK_MAPPING_STYLE) {
		vk_kc_scan_fail(s, "a list item is not a block mapping");
		return R_OTHER;
	}
	while (dash < start && s->data[dash] == ' ')
		dash++;
	if (dash >= start || s->data[dash] != '-' || dash + 1 == start || !only_spaces(s, dash + 1, start)) {
		vk_kc_scan_fail(s, "a list item does not start its line with '- '");
		return R_OTHER;
	}
	if (!l->nitems++) {
		l->dash_col = dash - ls;
		l->item_col = start - ls;
	}
	titem_clear(&s->item);
	s->item.line = ls;
	s->item.item_col = start - ls;
	s->cur_list = parent->key;
	return R_ITEM;
}

static void item_end(struct tscan *s)
{
	struct tlist *l = &s->list[s->cur_list];
	struct titem *it = &s->item;

	it->end = vk_kc_line_end(s, s->last);
	/* relative to the item: the items of one list may be indented differently */
	if (!l->inner_off && it->inner_block && it->inner_col > it->item_col)
		l->inner_off = it->inner_col - it->item_col;
	if (!it->named)
		return;
	l->named = xrealloc(l->named, (l->nnamed + 1) * sizeof(*l->named));
	l->named[l->nnamed++] = (struct tspan){ it->line, it->end };
	if (!l->first.named) {
		l->first = *it; /* takes its keys and values */
		memset(it, 0, sizeof(*it));
	}
}

/* A scalar or a collection starts; returns the role of a collection. */
static enum role node_start(struct tscan *s, yaml_event_t *ev)
{
	struct frame *parent = s->depth ? &s->stack[s->depth - 1] : NULL;
	bool scalar = ev->type == YAML_SCALAR_EVENT;
	size_t start = byte_at(s, ev->start_mark.index), end = byte_at(s, ev->end_mark.index);
	const char *value = scalar ? (const char *)ev->data.scalar.value : NULL;
	bool is_key;

	if (!parent) {
		if (ev->type != YAML_MAPPING_START_EVENT || ev->data.mapping_start.style != YAML_BLOCK_MAPPING_STYLE) {
			vk_kc_scan_fail(s, "the top level is not a block mapping");
			return R_OTHER;
		}
		s->root_col = ev->start_mark.column;
		return R_ROOT;
	}
	is_key = parent->is_map && parent->want_key;
	if (parent->is_map)
		parent->want_key = !is_key;
	if (is_key) {
		parent->key = scalar ? key_id(parent->role, value, s->cur_list) : K_OTHER;
		parent->key_end = end;
		if (parent->role == R_INNER) {
			struct titem *it = &s->item;

			close_inner_key(s);
			it->keys = xrealloc(it->keys, (it->nkeys + 1) * sizeof(*it->keys));
			it->keys[it->nkeys++] = (struct tkey){ .name = xstrdup(scalar ? value : ""), .line = line_start(s, start) };
			if (!scalar || !only_spaces(s, line_start(s, start), start))
				it->inner_block = false;
		}
		return R_OTHER;
	}
	switch (parent->role) {
	case R_ROOT:
		if (parent->key >= 0 && parent->key < L_COUNT)
			return list_value(s, parent, ev, end);
		if (parent->key == K_KIND && scalar && strcmp(value, "Config") != 0)
			vk_kc_scan_fail(s, "kind is not Config");
		if (parent->key == K_CURRENT) {
			if (s->have_cur || !scalar || ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			    ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE ||
			    (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.length)) {
				vk_kc_scan_fail(s, "current-context is not a one-piece scalar");
				return R_OTHER;
			}
			s->have_cur = true;
			s->cur_start = start;
			s->cur_end = end;
			s->cur = xstrdup(value);
		}
		return R_OTHER;
	case R_LIST:
		return item_start(s, parent, ev, start);
	case R_FLOWLIST:
		s->list[parent->key].state = T_OTHER;
		return R_OTHER;
	case R_ITEM:
		if ((parent->key == K_NAME && s->item.has_name) || (parent->key == K_INNER && s->item.has_inner)) {
			vk_kc_scan_fail(s, "an item has a key twice");
			return R_OTHER;
		}
		if (parent->key == K_NAME) {
			s->item.has_name = true;
			s->item.named = scalar && strcmp(value, s->name) == 0;
		}
		if (parent->key == K_INNER) {
			s->item.has_inner = true;
			if (ev->type == YAML_MAPPING_START_EVENT) {
				s->item.inner_block = ev->data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE;
				s->item.inner_col = ev->start_mark.column;
				return R_INNER;
			}
		}
		return R_OTHER;
	case R_INNER:
		if (parent->key >= 0 && scalar && !s->item.val[parent->key]) {
			/* taken from the event, which frees a NULL */
			s->item.val[parent->key] = (char *)ev->data.scalar.value;
			ev->data.scalar.value = NULL;
		}
		return R_OTHER;
	default:
		return R_OTHER;
	}
}

static void node_end(struct tscan *s, yaml_event_t *ev)
{
	struct frame f = s->stack[--s->depth];

	switch (f.role) {
	case R_INNER:
		close_inner_key(s);
		s->item.inner_end = vk_kc_line_end(s, s->last);
		break;
	case R_ITEM:
		item_end(s);
		break;
	case R_LIST:
		s->list[f.key].end = vk_kc_line_end(s, s->last);
		break;
	case R_FLOWLIST:
		if (s->list[f.key].state == T_EMPTY)
			s->list[f.key].empty_end = byte_at(s, ev->end_mark.index);
		break;
	case R_ROOT:
		s->root_end = vk_kc_line_end(s, s->last);
		break;
	default:
		break;
	}
}

static void tscan_event(struct tscan *s, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++s->docs > 1 || ev->data.document_start.version_directive ||
		    ev->data.document_start.tag_directives.start != ev->data.document_start.tag_directives.end)
			vk_kc_scan_fail(s, "several documents or directives");
		return;
	case YAML_DOCUMENT_END_EVENT:
		if (!ev->data.document_end.implicit)
			vk_kc_scan_fail(s, "an explicit document end");
		return;
	case YAML_ALIAS_EVENT:
		vk_kc_scan_fail(s, "an alias");
		return;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor || ev->data.scalar.tag) {
			vk_kc_scan_fail(s, "an anchor or a tag");
			return;
		}
		node_start(s, ev);
		if (ev->data.scalar.length || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			s->last = byte_at(s, ev->end_mark.index);
		else if (s->depth && s->stack[s->depth - 1].block_seq)
			s->last = byte_at(s, ev->start_mark.index); /* libyaml puts an empty item right after its "-" */
		return;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		enum role role;

		if (map ? ev->data.mapping_start.anchor || ev->data.mapping_start.tag
			: ev->data.sequence_start.anchor || ev->data.sequence_start.tag) {
			vk_kc_scan_fail(s, "an anchor or a tag");
			return;
		}
		role = node_start(s, ev);
		if (s->depth == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 16;
			s->stack = xrealloc(s->stack, s->cap * sizeof(*s->stack));
		}
		/* a list's frame keeps the list's index (its key in the root's frame) */
		s->stack[s->depth] = (struct frame){ .role = role, .is_map = map, .want_key = true, .key = K_OTHER,
						     .block_seq = !map && ev->data.sequence_start.style == YAML_BLOCK_SEQUENCE_STYLE };
		if (role == R_LIST || role == R_FLOWLIST)
			s->stack[s->depth].key = s->stack[s->depth - 1].key;
		s->depth++;
		return;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		node_end(s, ev);
		if (ev->end_mark.index > ev->start_mark.index)
			s->last = byte_at(s, ev->end_mark.index); /* a flow collection's closing bracket */
		return;
	default:
		return;
	}
}

/* Reads DATA as events; S->ok says whether the text path applies. */
void vk_kc_scan(struct tscan *s, const char *data, size_t len, const char *name)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;

	memset(s, 0, sizeof(*s));
	s->data = data;
	s->len = len;
	s->name = name;
	s->ok = true;
	s->cur_list = L_CLUSTERS;
	s->ascii = true;
	for (size_t i = 0; i < len; i++) {
		const unsigned char *u = (const unsigned char *)data + i;

		if (*u < 0x80 && *u != '\r')
			continue;
		/* libyaml reads UTF-16 after its byte order mark; the splices are
		 * UTF-8: the document path converts the whole file instead. */
		if (i == 0 && len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))) {
			vk_kc_scan_fail(s, "UTF-16 text");
			return;
		}
		/* libyaml also breaks lines at CR, NEL, LS and PS; line_start and
		 * vk_kc_line_end know only LF. A byte order mark shifts the marks. */
		s->ascii = false;
		if (*u == '\r' || (i == 0 && len >= 3 && memcmp(u, "\xef\xbb\xbf", 3) == 0) ||
		    (*u == 0xc2 && i + 1 < len && u[1] == 0x85) ||
		    (*u == 0xe2 && i + 2 < len && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))) {
			vk_kc_scan_fail(s, "CR, NEL, LS or PS line breaks, or a byte order mark");
			return;
		}
	}
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (s->ok && !done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			vk_kc_scan_fail(s, "a parse error");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		tscan_event(s, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (s->ok && !s->docs)
		vk_kc_scan_fail(s, "no document");
}
/* ---- what check compares ---- */

int vk_kc_scan_find(const struct kfile *f, const char *name, struct tscan *sc, struct found *fd)
{
	if (vk_kubeconfig_force_document)
		return 0;
	vk_kc_scan(sc, f->data, f->len, name);
	for (int l = 0; l < L_COUNT; l++)
		if (sc->list[l].state == T_OTHER)
			vk_kc_scan_fail(sc, "a list that is not a block list of mappings");
	if (!sc->ok) {
		vk_debug("kubeconfig '%s': %s; using the document path", f->path, sc->why);
		return 0;
	}
	fd->context = sc->list[L_CONTEXTS].first.named;
	fd->cluster = sc->list[L_CLUSTERS].first.named && sc->list[L_CLUSTERS].first.has_inner;
	fd->user = sc->list[L_USERS].first.named && sc->list[L_USERS].first.has_inner;
	for (int v = 0; v < V_COUNT; v++)
		fd->val[v] = sc->list[check_keys[v].list].first.val[v];
	vk_kubeconfig_last_path = "text";
	return 1;
}

/* The inner mapping of the item named NAME in the list under KEY, and whether there is one. */
static int document_inner(struct kcfg *k, const char *key, const char *name, const char *inner, bool *found,
			  struct vk_error *err)
{
	int seq = vk_kc_doc_list(k, key, false, err);
	long i;

	*found = false;
	if (seq <= 0 || (i = seq_find_named(&k->doc, seq, name)) < 0)
		return seq < 0 ? -1 : 0;
	*found = true;
	return map_get(&k->doc, seq_at(&k->doc, seq, i), inner);
}

/* What check compares, from K's loaded document. */
int vk_kc_doc_found(struct kcfg *k, const char *name, struct found *fd, struct vk_error *err)
{
	int in[L_COUNT];
	bool item[L_COUNT];

	for (int l = 0; l < L_COUNT; l++)
		if ((in[l] = document_inner(k, list_keys[l], name, inner_keys[l], &item[l], err)) < 0)
			return -1;
	fd->context = item[L_CONTEXTS];
	fd->cluster = in[L_CLUSTERS] != 0;
	fd->user = in[L_USERS] != 0;
	for (int v = 0; v < V_COUNT; v++)
		fd->val[v] = scalar_of(&k->doc, map_get(&k->doc, in[check_keys[v].list], check_keys[v].key));
	return 0;
}

int vk_kc_doc_find(struct kcfg *k, const struct kfile *f, const char *name, struct found *fd, struct vk_error *err)
{
	if (vk_kc_doc_load(k, f, err) < 0)
		return -1;
	return vk_kc_doc_found(k, name, fd, err);
}
