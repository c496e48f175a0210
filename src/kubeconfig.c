/* kubeconfig editing at the node level with libyaml's document API (see kubeconfig.h). */
#include "kubeconfig.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "yamlw.h"

#define LOCK_SUFFIX ".virtkube-lock"
#define BACKUP_SUFFIX ".virtkube-backup"
#define LOCK_TIMEOUT_MS 10000

/* ---- entries ------------------------------------------------------------ */

static int read_pem(const struct vk_profile *p, const char *file, char **out, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_profile_path(p, file);

	if (vk_read_file(path, out, NULL, err) < 0)
		return vk_error_prefix(err, "cannot build the kubeconfig entry of profile '%s'", p->name);
	return 0;
}

int vk_kubeconfig_entry_load(struct vk_kubeconfig_entry *e, const struct vk_profile *p, struct vk_error *err)
{
	const char *ip = vk_profile_get_str(p, "node_ip");
	long long port = vk_profile_get_int(p, "api_port", VK_API_PORT);

	memset(e, 0, sizeof(*e));
	if (!ip || !*ip) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node IP yet", p->name);
		return vk_error_hint(err, "run 'virtkube start -p %s' first", p->name);
	}
	e->name = xstrdup(p->name);
	e->server = xasprintf("https://%s:%lld", ip, port);
	if (read_pem(p, VK_FILE_CA_CERT, &e->ca_pem, err) < 0 || read_pem(p, VK_FILE_CLIENT_CERT, &e->cert_pem, err) < 0 ||
	    read_pem(p, VK_FILE_CLIENT_KEY, &e->key_pem, err) < 0) {
		vk_kubeconfig_entry_clear(e);
		return -1;
	}
	return 0;
}

void vk_kubeconfig_entry_clear(struct vk_kubeconfig_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->server);
	free(e->ca_pem);
	free(e->cert_pem);
	if (e->key_pem) {
		OPENSSL_cleanse(e->key_pem, strlen(e->key_pem));
		free(e->key_pem);
	}
	memset(e, 0, sizeof(*e));
}

char *vk_kubeconfig_path(struct vk_error *err)
{
	const char *env = getenv("KUBECONFIG");
	const char *home;

	if (env && *env) {
		/* kubectl's list separator is ':' on Linux; empty entries are skipped. */
		for (const char *p = env; *p;) {
			size_t len = strcspn(p, ":");

			if (len)
				return xstrndup(p, len);
			p += 1;
		}
	}
	home = getenv("HOME");
	if (!home || !*home) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "cannot find the kubeconfig: neither $KUBECONFIG nor $HOME is set");
		vk_error_hint(err, "set KUBECONFIG to the file virtkube should write");
		return NULL;
	}
	return xasprintf("%s/.kube/config", home);
}

static char *b64(const char *data)
{
	size_t len = strlen(data);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

/* ---- document helpers (indices only: adding nodes moves the node array) -- */

static yaml_node_t *node(yaml_document_t *doc, int id)
{
	return id ? yaml_document_get_node(doc, id) : NULL;
}

static const char *scalar_of(yaml_document_t *doc, int id)
{
	yaml_node_t *n = node(doc, id);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(yaml_document_t *doc, int id)
{
	yaml_node_t *n = node(doc, id);
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int add_str(yaml_document_t *doc, const char *s)
{
	yaml_scalar_style_t style = vk_yaml_plain_is_ambiguous(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
	int id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)s, (int)strlen(s), style);

	if (!id)
		abort(); /* libyaml fails here only when out of memory */
	return id;
}

static int add_map(yaml_document_t *doc)
{
	int id = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);

	if (!id)
		abort();
	return id;
}

static int add_seq(yaml_document_t *doc)
{
	int id = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);

	if (!id)
		abort();
	return id;
}

static void append_pair(yaml_document_t *doc, int map, int key, int value)
{
	if (!yaml_document_append_mapping_pair(doc, map, key, value))
		abort();
}

static void append_item(yaml_document_t *doc, int seq, int item)
{
	if (!yaml_document_append_sequence_item(doc, seq, item))
		abort();
}

/* The pair index of KEY in mapping MAP, or -1. */
static long map_find(yaml_document_t *doc, int map, const char *key)
{
	yaml_node_t *m = node(doc, map);

	if (!m || m->type != YAML_MAPPING_NODE)
		return -1;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar_of(doc, p->key);

		if (k && strcmp(k, key) == 0)
			return p - m->data.mapping.pairs.start;
	}
	return -1;
}

static int map_get(yaml_document_t *doc, int map, const char *key)
{
	long i = map_find(doc, map, key);

	return i < 0 ? 0 : node(doc, map)->data.mapping.pairs.start[i].value;
}

/* Sets KEY to node VALUE: in place if present (order kept), else appended. */
static void map_set(yaml_document_t *doc, int map, const char *key, int value)
{
	long i = map_find(doc, map, key);

	if (i >= 0) {
		node(doc, map)->data.mapping.pairs.start[i].value = value;
		return;
	}
	append_pair(doc, map, add_str(doc, key), value);
}

static void map_set_str(yaml_document_t *doc, int map, const char *key, const char *value)
{
	map_set(doc, map, key, add_str(doc, value));
}

static long seq_len(yaml_document_t *doc, int seq)
{
	yaml_node_t *s = node(doc, seq);

	return s->data.sequence.items.top - s->data.sequence.items.start;
}

static int seq_at(yaml_document_t *doc, int seq, long i)
{
	return node(doc, seq)->data.sequence.items.start[i];
}

static void seq_del(yaml_document_t *doc, int seq, long i)
{
	yaml_node_t *s = node(doc, seq);
	yaml_node_item_t *start = s->data.sequence.items.start;
	long n = s->data.sequence.items.top - start;

	memmove(start + i, start + i + 1, (size_t)(n - i - 1) * sizeof(*start));
	s->data.sequence.items.top--;
}

/* The index in list SEQ of the item whose "name" is NAME, or -1. */
static long seq_find_named(yaml_document_t *doc, int seq, const char *name)
{
	long n = seq_len(doc, seq);

	for (long i = 0; i < n; i++) {
		const char *v = scalar_of(doc, map_get(doc, seq_at(doc, seq, i), "name"));

		if (v && strcmp(v, name) == 0)
			return i;
	}
	return -1;
}

static const char *type_name(yaml_document_t *doc, int id)
{
	yaml_node_t *n = node(doc, id);

	if (!n)
		return "missing";
	return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

/* ---- load and save ---------------------------------------------------------- */

struct kcfg {
	const char *path;   /* as given */
	char *real;         /* the file written: PATH with symlinks resolved */
	bool exists;
	size_t size;        /* bytes read */
	yaml_document_t doc;
	bool have_doc;
	int root;
};

static void kcfg_free(struct kcfg *k)
{
	if (k->have_doc)
		yaml_document_delete(&k->doc);
	free(k->real);
}

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
static char *resolve_path(const char *path)
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

/* Loads PATH into K. A missing or empty file gives an empty document. */
static int kcfg_load(struct kcfg *k, const char *path, struct vk_error *err)
{
	_cleanup_free_ char *data = NULL;
	yaml_parser_t parser;
	yaml_document_t extra;
	size_t len = 0;
	struct stat st;

	memset(k, 0, sizeof(*k));
	k->path = path;
	k->real = resolve_path(path);
	if (stat(k->real, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is a directory, expected a file", path);
			return vk_error_hint(err, "remove or rename it, or point $KUBECONFIG at a file");
		}
		if (vk_read_file(k->real, &data, &len, err) < 0)
			return -1;
		k->exists = true;
		k->size = len;
	} else if (errno != ENOENT) {
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read kubeconfig '%s'", path);
	}

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)(data ? data : ""), len);
	if (!yaml_parser_load(&parser, &k->doc)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot parse kubeconfig '%s': line %zu, column %zu: %s%s%s", path,
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
static int kcfg_list(struct kcfg *k, const char *key, bool create, struct vk_error *err)
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

static int emit_handler(void *data, unsigned char *buffer, size_t size)
{
	vk_strbuf_add(data, buffer, size);
	return 1;
}

/* Writes K's document (consumed) to its file: backup once, then atomically 0600. */
static int kcfg_save(struct kcfg *k, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf out = VK_STRBUF_INIT;
	_cleanup_free_ char *backup = xasprintf("%s" BACKUP_SUFFIX, k->real);
	yaml_emitter_t emitter;
	bool ok;

	/* Sized once: a big kubeconfig is not copied again and again as it grows. */
	vk_strbuf_init(&out, k->size + 16384);
	if (!yaml_emitter_initialize(&emitter))
		abort();
	yaml_emitter_set_output(&emitter, emit_handler, &out);
	yaml_emitter_set_unicode(&emitter, 1);
	yaml_emitter_set_width(&emitter, -1);
	yaml_emitter_set_indent(&emitter, 2);
	/* yaml_emitter_dump deletes the document, whatever it returns. */
	k->have_doc = false;
	ok = yaml_emitter_open(&emitter) && yaml_emitter_dump(&emitter, &k->doc) && yaml_emitter_close(&emitter) &&
	     yaml_emitter_flush(&emitter);
	if (!ok) {
		vk_error_set(err, VK_ERR_FAILED, "cannot write kubeconfig '%s': %s", k->path,
			     emitter.problem ? emitter.problem : "YAML emitter error");
		yaml_emitter_delete(&emitter);
		return -1;
	}
	yaml_emitter_delete(&emitter);

	if (k->exists && !vk_path_exists(backup)) {
		_cleanup_free_ char *old = NULL;
		size_t len;

		if (vk_read_file(k->real, &old, &len, err) < 0 || vk_write_file_atomic(backup, old, len, 0600, err) < 0)
			return vk_error_prefix(err, "cannot back kubeconfig '%s' up before changing it", k->path);
		vk_info("kubeconfig '%s' backed up to '%s'", k->path, backup);
	}
	if (vk_write_file_atomic(k->real, out.buf, out.len, 0600, err) < 0)
		return vk_error_prefix(err, "cannot write kubeconfig '%s'", k->path);
	return 0;
}

/* Checks the file can be replaced, makes its directory, and takes the lock. */
static int prepare_write(const char *path, bool create_dir, struct vk_lock *lock, struct vk_error *err)
{
	_cleanup_free_ char *real = resolve_path(path);
	_cleanup_free_ char *lock_path = xasprintf("%s" LOCK_SUFFIX, real);
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(real, '/');
	struct stat st;

	if (stat(real, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is a directory, expected a file", path);
			return vk_error_hint(err, "remove or rename it, or point $KUBECONFIG at a file");
		}
		/* The mode bits, not access(2): root may write anything, but a
		 * file made read-only says its owner wants it left alone. */
		if (!(st.st_mode & S_IWUSR) || access(real, W_OK) < 0) {
			vk_error_set(err, VK_ERR_IO, "kubeconfig '%s' is read-only", path);
			return vk_error_hint(err, "make it writable (chmod u+w), or point $KUBECONFIG at another file");
		}
	}
	if (slash && slash != real && create_dir) {
		dir = xstrndup(real, (size_t)(slash - real));
		if (vk_mkdir_p(dir, 0700, err) < 0)
			return vk_error_prefix(err, "cannot create the kubeconfig's directory");
	}
	if (vk_lock_acquire(lock, lock_path, "the kubeconfig", LOCK_TIMEOUT_MS, err) < 0)
		return vk_error_prefix(err, "cannot lock kubeconfig '%s'", path);
	return 0;
}

/* ---- merge ------------------------------------------------------------------ */

struct owned {
	const char *key;
	const char *value;
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Finds or appends the item named NAME in list SEQ and gives it a new INNER
 * mapping: the old one's keys in their order, OWN's values in place of
 * theirs, DROP's keys left out, OWN's missing keys appended. A new mapping,
 * not an edit, since the old one may be an alias shared with other entries. */
static void upsert_named(yaml_document_t *doc, int seq, const char *name, const char *inner,
			 const struct owned *own, size_t nown, const char *const *drop, size_t ndrop)
{
	long i = seq_find_named(doc, seq, name);
	int item, old, fresh;
	bool done[8] = { false };

	if (i < 0) {
		item = add_map(doc);
		map_set_str(doc, item, "name", name);
		append_item(doc, seq, item);
	} else {
		item = seq_at(doc, seq, i);
	}
	old = map_get(doc, item, inner);
	fresh = add_map(doc);
	if (old && node(doc, old)->type == YAML_MAPPING_NODE) {
		long n = node(doc, old)->data.mapping.pairs.top - node(doc, old)->data.mapping.pairs.start;

		for (long p = 0; p < n; p++) {
			yaml_node_pair_t pair = node(doc, old)->data.mapping.pairs.start[p];
			const char *key = scalar_of(doc, pair.key);
			size_t o;

			if (key && in_list(key, drop, ndrop))
				continue;
			for (o = 0; key && o < nown; o++)
				if (strcmp(key, own[o].key) == 0)
					break;
			if (key && o < nown) {
				if (!done[o])
					append_pair(doc, fresh, add_str(doc, key), add_str(doc, own[o].value));
				done[o] = true;
				continue;
			}
			append_pair(doc, fresh, pair.key, pair.value);
		}
	}
	for (size_t o = 0; o < nown; o++)
		if (!done[o])
			append_pair(doc, fresh, add_str(doc, own[o].key), add_str(doc, own[o].value));
	map_set(doc, item, inner, fresh);
}

int vk_kubeconfig_merge(const char *path, const struct vk_kubeconfig_entry *e, bool set_current, struct vk_error *err)
{
	static const char *const cluster_conflicts[] = { "certificate-authority", "insecure-skip-tls-verify", "tls-server-name" };
	static const char *const user_conflicts[] = { "client-certificate", "client-key", "token", "tokenFile", "username",
						      "password", "exec", "auth-provider", "as", "as-groups", "as-uid",
						      "as-user-extra" };
	_cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL;
	struct vk_lock lock = VK_LOCK_INIT;
	struct kcfg k;
	int clusters, users, contexts, rc = -1;

	if (vk_profile_name_check(e->name, err) < 0)
		return -1;
	if (prepare_write(path, true, &lock, err) < 0)
		return -1;
	if (kcfg_load(&k, path, err) < 0)
		goto out;
	if ((clusters = kcfg_list(&k, "clusters", true, err)) < 0 || (users = kcfg_list(&k, "users", true, err)) < 0 ||
	    (contexts = kcfg_list(&k, "contexts", true, err)) < 0)
		goto out;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	key = b64(e->key_pem);

	{
		const struct owned cl[] = { { "certificate-authority-data", ca }, { "server", e->server } };
		const struct owned us[] = { { "client-certificate-data", cert }, { "client-key-data", key } };
		const struct owned cx[] = { { "cluster", e->name }, { "user", e->name } };

		upsert_named(&k.doc, clusters, e->name, "cluster", cl, VK_ARRAY_SIZE(cl), cluster_conflicts,
			     VK_ARRAY_SIZE(cluster_conflicts));
		upsert_named(&k.doc, users, e->name, "user", us, VK_ARRAY_SIZE(us), user_conflicts,
			     VK_ARRAY_SIZE(user_conflicts));
		upsert_named(&k.doc, contexts, e->name, "context", cx, VK_ARRAY_SIZE(cx), NULL, 0);
	}

	if (set_current)
		map_set_str(&k.doc, k.root, "current-context", e->name);
	else if (!map_get(&k.doc, k.root, "current-context"))
		map_set_str(&k.doc, k.root, "current-context", "");
	rc = kcfg_save(&k, err);
out:
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	kcfg_free(&k);
	vk_lock_release(&lock);
	return rc;
}

/* ---- remove ------------------------------------------------------------------ */

int vk_kubeconfig_remove(const char *path, const char *name, bool *removed, struct vk_error *err)
{
	static const char *const lists[] = { "clusters", "users", "contexts" };
	struct vk_lock lock = VK_LOCK_INIT;
	struct kcfg k;
	bool changed = false;
	int rc = -1;

	if (removed)
		*removed = false;
	if (!vk_path_exists(path))
		return 0;
	if (prepare_write(path, false, &lock, err) < 0)
		return -1;
	if (kcfg_load(&k, path, err) < 0)
		goto out;
	for (size_t i = 0; i < VK_ARRAY_SIZE(lists); i++) {
		int seq = kcfg_list(&k, lists[i], false, err);
		long at;

		if (seq < 0)
			goto out;
		while (seq > 0 && (at = seq_find_named(&k.doc, seq, name)) >= 0) {
			seq_del(&k.doc, seq, at);
			changed = true;
		}
	}
	{
		const char *cur = scalar_of(&k.doc, map_get(&k.doc, k.root, "current-context"));

		if (cur && strcmp(cur, name) == 0) {
			map_set_str(&k.doc, k.root, "current-context", "");
			changed = true;
		}
	}
	rc = changed ? kcfg_save(&k, err) : 0;
	if (rc == 0 && removed)
		*removed = changed;
out:
	kcfg_free(&k);
	vk_lock_release(&lock);
	return rc;
}

/* ---- check ------------------------------------------------------------------- */

static bool same_b64(const char *got, const char *want)
{
	/* kubectl writes one line; other tools may wrap: whitespace is ignored. */
	for (;;) {
		while (*got == ' ' || *got == '\n' || *got == '\r' || *got == '\t')
			got++;
		if (*got != *want)
			return false;
		if (!*got)
			return true;
		got++;
		want++;
	}
}

int vk_kubeconfig_check(const char *path, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			char **why, struct vk_error *err)
{
	_cleanup_free_ char *ca = NULL, *cert = NULL;
	const char *problem = NULL;
	struct kcfg k;
	int contexts, clusters, users, ctx, cl, us;
	long i;

	*state = VK_KUBECONFIG_NONEXISTENT;
	if (why)
		*why = NULL;
	if (!vk_path_exists(path))
		return 0;
	if (kcfg_load(&k, path, err) < 0) {
		kcfg_free(&k);
		return -1;
	}
	contexts = kcfg_list(&k, "contexts", false, err);
	clusters = kcfg_list(&k, "clusters", false, err);
	users = kcfg_list(&k, "users", false, err);
	if (contexts < 0 || clusters < 0 || users < 0) {
		kcfg_free(&k);
		return -1;
	}
	if (!contexts || (i = seq_find_named(&k.doc, contexts, e->name)) < 0) {
		kcfg_free(&k);
		return 0;
	}
	*state = VK_KUBECONFIG_MISCONFIGURED;
	ctx = map_get(&k.doc, seq_at(&k.doc, contexts, i), "context");
	cl = clusters && (i = seq_find_named(&k.doc, clusters, e->name)) >= 0
		     ? map_get(&k.doc, seq_at(&k.doc, clusters, i), "cluster") : 0;
	us = users && (i = seq_find_named(&k.doc, users, e->name)) >= 0 ? map_get(&k.doc, seq_at(&k.doc, users, i), "user") : 0;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	{
		const char *c_cluster = scalar_of(&k.doc, map_get(&k.doc, ctx, "cluster"));
		const char *c_user = scalar_of(&k.doc, map_get(&k.doc, ctx, "user"));
		const char *server = scalar_of(&k.doc, map_get(&k.doc, cl, "server"));
		const char *ca_data = scalar_of(&k.doc, map_get(&k.doc, cl, "certificate-authority-data"));
		const char *cert_data = scalar_of(&k.doc, map_get(&k.doc, us, "client-certificate-data"));

		if (!c_cluster || strcmp(c_cluster, e->name) != 0 || !c_user || strcmp(c_user, e->name) != 0)
			problem = "the context does not point at the profile's cluster and user";
		else if (!cl)
			problem = "the cluster entry is missing";
		else if (!us)
			problem = "the user entry is missing";
		else if (!server || strcmp(server, e->server) != 0)
			problem = "the cluster's server is not the node's address";
		else if (!ca_data || !same_b64(ca_data, ca))
			problem = "the cluster's CA is not the profile's";
		else if (!cert_data || !same_b64(cert_data, cert))
			problem = "the user's client certificate is not the profile's";
	}
	if (!problem)
		*state = VK_KUBECONFIG_CONFIGURED;
	else if (why)
		*why = xstrdup(problem);
	kcfg_free(&k);
	return 0;
}

const char *vk_kubeconfig_state_name(enum vk_kubeconfig_state s)
{
	switch (s) {
	case VK_KUBECONFIG_CONFIGURED:
		return "Configured";
	case VK_KUBECONFIG_MISCONFIGURED:
		return "Misconfigured";
	case VK_KUBECONFIG_NONEXISTENT:
	default:
		return "Nonexistent";
	}
}
