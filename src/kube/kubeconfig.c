/* kubeconfig editing: splicing the file's own text after a libyaml event scan, else libyaml's document tree (see kubeconfig.h). */
#include "kube/kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/yamlw.h"

#define LOCK_SUFFIX ".virtkube-lock"
#define BACKUP_SUFFIX ".virtkube-backup"
#define LOCK_TIMEOUT_MS 10000
/* What a lock file of kubectl's that virtkube created starts with. */
#define KUBECTL_LOCK_MARK "virtkube pid "

long vk_kubeconfig_lock_timeout_ms = 10000;
const char *vk_kubeconfig_last_path = "";
bool vk_kubeconfig_force_document;
void (*vk_kubeconfig_test_tamper)(const char *way, struct vk_strbuf *text);

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
	const char *ip = p->cfg.node_ip;
	int port = vk_profile_api_port(p);

	memset(e, 0, sizeof(*e));
	if (!ip || !*ip) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node IP yet", p->name);
		return vk_error_hint(err, "run 'virtkube start -p %s' first", p->name);
	}
	e->name = xstrdup(p->name);
	e->server = xasprintf("https://%s:%d", ip, port);
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

/* A plain "", "~" or "null": YAML's null, however spelled. */
static bool node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static bool is_null(yaml_document_t *doc, int id)
{
	return node_is_null(node(doc, id));
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

/* The kubeconfig as read once, for both paths. */
struct kfile {
	const char *path; /* as given */
	char *real;       /* the file written: PATH with symlinks resolved */
	bool exists;
	char *data;       /* its bytes ("" when missing) */
	size_t len;
};

static void kfile_free(struct kfile *f)
{
	free(f->real);
	free(f->data);
}

struct kcfg {
	const struct kfile *f;
	const char *path;
	yaml_document_t doc;
	bool have_doc;
	int root;
};

static void kcfg_free(struct kcfg *k)
{
	if (k->have_doc)
		yaml_document_delete(&k->doc);
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

/* Reads PATH into F; a missing file reads as empty. */
static int kfile_read(struct kfile *f, const char *path, struct vk_error *err)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = path;
	f->real = resolve_path(path);
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

/* Loads F into K's document tree. An empty file gives a fresh document. */
static int kcfg_load(struct kcfg *k, const struct kfile *f, struct vk_error *err)
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

/* Writes OUT to F's file: a copy of the old file once, then atomically 0600.
 * Bytes equal to the file's are not written again. */
static int kfile_write(const struct kfile *f, const char *out, size_t len, struct vk_error *err)
{
	_cleanup_free_ char *backup = NULL;

	if (f->exists && len == f->len && memcmp(out, f->data, len) == 0)
		return 0;
	backup = xasprintf("%s" BACKUP_SUFFIX, f->real);
	if (f->exists && !vk_path_exists(backup)) {
		if (vk_write_file_atomic(backup, f->data, f->len, 0600, err) < 0)
			return vk_error_prefix(err, "cannot back kubeconfig '%s' up before changing it", f->path);
		vk_info("kubeconfig '%s' backed up to '%s'", f->path, backup);
	}
	if (vk_write_file_atomic(f->real, out, len, 0600, err) < 0)
		return vk_error_prefix(err, "cannot write kubeconfig '%s'", f->path);
	return 0;
}

/* What is written into an entry: a key and its value. */
struct owned {
	const char *key;
	const char *value;
};

/* What one list gets: the inner key, the values written, the keys dropped. */
struct part {
	const char *inner;
	struct owned own[2];
	const char *const *drop;
	size_t ndrop;
};

/* What a write is meant to do, for the proof (see prove). */
struct intent {
	const char *name;
	const struct part *parts; /* merge: what goes into each list; NULL: remove */
	bool set_current;         /* merge */
	const struct vk_kubeconfig_entry *e; /* merge */
};

static bool prove(const struct kfile *f, const struct intent *in, const char *out, size_t len, char *why, size_t whylen);

/* Writes K's document (consumed) to its file, if it proves to be what IN means. */
static int kcfg_save(struct kcfg *k, const struct intent *in, struct vk_error *err)
{
	char why[512];

	_cleanup_strbuf_ struct vk_strbuf out = VK_STRBUF_INIT;
	yaml_emitter_t emitter;
	bool ok;

	/* libyaml's emitter writes an empty plain scalar inside a flow
	 * collection or as a key as '' (a string): spelled "null" it stays null. */
	for (yaml_node_t *n = k->doc.nodes.start; n < k->doc.nodes.top; n++) {
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !n->data.scalar.length) {
			free(n->data.scalar.value);
			n->data.scalar.value = (yaml_char_t *)xstrdup("null");
			n->data.scalar.length = 4;
		}
	}
	/* Sized once: a big kubeconfig is not copied again and again as it grows. */
	vk_strbuf_init(&out, k->f->len + 16384);
	vk_prefault(out.buf, out.alloc);
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
	if (vk_kubeconfig_test_tamper)
		vk_kubeconfig_test_tamper("document", &out);
	if (!prove(k->f, in, out.buf, out.len, why, sizeof(why))) {
		vk_error_set(err, VK_ERR_FAILED, "cannot %s kubeconfig '%s' safely: the new text does not read back as intended (%s)",
			     in->parts ? "merge into" : "remove from", k->path, why);
		return vk_error_hint(err, "virtkube left the file untouched; please report this with the file's layout (not its secrets), and use 'kubectl config' meanwhile");
	}
	return kfile_write(k->f, out.buf, out.len, err);
}

/* ---- locks ---------------------------------------------------------------------- */

struct wlocks {
	struct vk_lock flock; /* REAL.virtkube-lock: virtkube against virtkube */
	char *kubectl;        /* PATH.lock while we hold it: kubectl's own lock */
};

#define WLOCKS_INIT { .flock = VK_LOCK_INIT, .kubectl = NULL }

static void wlocks_release(struct wlocks *w)
{
	if (w->kubectl) {
		if (unlink(w->kubectl) < 0 && errno != ENOENT)
			vk_debug("cannot remove '%s': %s", w->kubectl, strerror(errno));
		free(w->kubectl);
		w->kubectl = NULL;
	}
	vk_lock_release(&w->flock);
}

/* True when LOCK was created by a virtkube: one that died, since every
 * virtkube holds the flock (which the caller holds now) while it has one. */
static bool lock_left_by_virtkube(const char *lock)
{
	_cleanup_free_ char *text = NULL;

	if (vk_read_file(lock, &text, NULL, NULL) < 0)
		return false;
	return strncmp(text, KUBECTL_LOCK_MARK, strlen(KUBECTL_LOCK_MARK)) == 0;
}

/* Takes kubectl's lock on PATH the way client-go's clientcmd does (create
 * PATH.lock with O_EXCL, remove it when done), waiting for a kubectl that
 * holds it. The caller holds virtkube's flock. */
static int kubectl_lock(const char *path, struct wlocks *w, struct vk_error *err)
{
	_cleanup_free_ char *lock = xasprintf("%s.lock", path);
	long start = vk_now_ms();
	struct stat st;
	long age = -1;

	for (;;) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0) {
			char mark[64];
			int n = snprintf(mark, sizeof(mark), KUBECTL_LOCK_MARK "%ld\n", (long)getpid());

			if (write(fd, mark, (size_t)n) != n)
				vk_debug("cannot write '%s': %s", lock, strerror(errno));
			close(fd);
			w->kubectl = TAKE_PTR(lock);
			return 0;
		}
		if (errno != EEXIST)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot create kubectl's lock file '%s'", lock);
		if (lock_left_by_virtkube(lock)) {
			vk_info("removing '%s', left by a virtkube that did not finish", lock);
			if (unlink(lock) < 0 && errno != ENOENT)
				return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot remove the stale lock file '%s'", lock);
			continue;
		}
		if (vk_now_ms() - start >= vk_kubeconfig_lock_timeout_ms)
			break;
		usleep(20 * 1000);
	}
	if (stat(lock, &st) == 0)
		age = (long)(time(NULL) - st.st_mtime);
	vk_error_set(err, VK_ERR_BUSY, "kubeconfig '%s' is locked: '%s' is there (kubectl's lock file, %ld s old), waited %.1f s",
		     path, lock, age, vk_kubeconfig_lock_timeout_ms / 1000.0);
	if (age >= 60)
		return vk_error_hint(err, "kubectl holds it only while it writes, so one this old is likely stale: if no kubectl is running, remove '%s'",
				     lock);
	return vk_error_hint(err, "kubectl holds it while it changes the file: try again; if no kubectl is running, the lock is stale: remove '%s'",
			     lock);
}

/* Checks the file can be replaced, makes its directory, and takes the locks. */
static int prepare_write(const char *path, bool create_dir, struct wlocks *w, struct vk_error *err)
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
	if (vk_lock_acquire(&w->flock, lock_path, "the kubeconfig", LOCK_TIMEOUT_MS, err) < 0)
		return vk_error_prefix(err, "cannot lock kubeconfig '%s'", path);
	if (kubectl_lock(path, w, err) < 0) {
		wlocks_release(w);
		return -1;
	}
	return 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* ---- the text path: libyaml events, byte offsets, splices --------------------- */

/* The file is read as parser events (no tree), keeping where the parts we
 * edit are; the output is the file's own bytes with a few spans replaced.
 * tscan_event decides whether that is provably right; if not, s->ok turns
 * false and the caller takes the document path, which also reports every
 * parse and shape error (so those messages stay the same). */

enum { L_CLUSTERS, L_USERS, L_CONTEXTS, L_COUNT };
static const char *const list_keys[L_COUNT] = { "clusters", "users", "contexts" };
static const char *const inner_keys[L_COUNT] = { "cluster", "user", "context" };

/* The scalars of the profile's entries that vk_kubeconfig_check compares. */
enum { V_SERVER, V_CA, V_CERT, V_CTX_CLUSTER, V_CTX_USER, V_COUNT };
static const struct {
	int list;
	const char *key;
} check_keys[V_COUNT] = {
	[V_SERVER] = { L_CLUSTERS, "server" },
	[V_CA] = { L_CLUSTERS, "certificate-authority-data" },
	[V_CERT] = { L_USERS, "client-certificate-data" },
	[V_CTX_CLUSTER] = { L_CONTEXTS, "cluster" },
	[V_CTX_USER] = { L_CONTEXTS, "user" },
};

struct tkey {        /* a key of an item's inner mapping (its cluster:, user: or context:) */
	char *name;
	size_t line; /* the first byte of its line */
	size_t end;  /* after the line where its value ends */
};

struct titem {
	size_t line, end;  /* from the line of its "- " to after the line of its last content */
	bool has_name;
	bool named;        /* its name is the profile's */
	bool has_inner;    /* it has the inner key (cluster:, user:, context:) */
	bool inner_block;  /* whose value is a block mapping, every key at the start of a line */
	size_t inner_col;  /* that mapping's indentation */
	size_t item_col;   /* the indentation of the item's own keys */
	size_t inner_end;  /* after the line of its last content */
	struct tkey *keys;
	size_t nkeys;
	char *val[V_COUNT];
};

struct tspan {
	size_t start, end;
};

struct tlist {
	enum { T_ABSENT, T_BLOCK, T_EMPTY, T_OTHER } state;
	size_t colon;      /* after the ':' that follows its key */
	size_t empty_end;  /* T_EMPTY: after the null or "[]" value (colon when the value is empty) */
	size_t dash_col, item_col; /* T_BLOCK: its layout, from its first item */
	size_t inner_off;          /* how much deeper an item's inner mapping is (0: not seen) */
	size_t end;        /* T_BLOCK: after the line of the last item's last content */
	size_t nitems;
	struct tspan *named; /* the items named after the profile */
	size_t nnamed;
	struct titem first;  /* the first of them (first.named) */
};

enum role { R_OTHER, R_ROOT, R_LIST, R_FLOWLIST, R_ITEM, R_INNER };
enum { K_OTHER = -1, K_CURRENT = L_COUNT, K_KIND, K_NAME = 0, K_INNER = 1 };

struct frame {
	enum role role;
	bool is_map, want_key;
	bool block_seq; /* a block list: an empty item's "-" is content */
	int key;        /* the pending value's key (see K_*, list indices, V_*) */
	size_t key_end; /* after that key */
};

struct tscan {
	const char *data;
	size_t len;
	bool ascii;
	size_t ci, bi; /* marks count characters: character ci is at byte bi */
	const char *name;
	bool ok;
	const char *why; /* why the text path does not apply (debug log) */
	struct frame *stack;
	size_t depth, cap;
	size_t last; /* after the last content seen */
	int docs;
	size_t root_col, root_end;
	struct tlist list[L_COUNT];
	int cur_list;      /* the list whose item is being read */
	struct titem item; /* that item */
	bool have_cur;     /* current-context: */
	size_t cur_start, cur_end;
	char *cur;
};

static void titem_clear(struct titem *it)
{
	for (size_t i = 0; i < it->nkeys; i++)
		free(it->keys[i].name);
	free(it->keys);
	for (int v = 0; v < V_COUNT; v++)
		free(it->val[v]);
	memset(it, 0, sizeof(*it));
}

static void tscan_free(struct tscan *s)
{
	for (int l = 0; l < L_COUNT; l++) {
		free(s->list[l].named);
		titem_clear(&s->list[l].first);
	}
	titem_clear(&s->item);
	free(s->stack);
	free(s->cur);
}

static void tfail(struct tscan *s, const char *why)
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
static size_t line_end(const struct tscan *s, size_t b)
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
		s->item.keys[s->item.nkeys - 1].end = line_end(s, s->last);
}

/* A list's value, at the top level. */
static enum role list_value(struct tscan *s, struct frame *parent, yaml_event_t *ev, size_t end)
{
	struct tlist *l = &s->list[parent->key];

	if (l->state != T_ABSENT) {
		tfail(s, "a list key appears twice");
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
		tfail(s, "a list item is not a block mapping");
		return R_OTHER;
	}
	while (dash < start && s->data[dash] == ' ')
		dash++;
	if (dash >= start || s->data[dash] != '-' || dash + 1 == start || !only_spaces(s, dash + 1, start)) {
		tfail(s, "a list item does not start its line with '- '");
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

	it->end = line_end(s, s->last);
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
			tfail(s, "the top level is not a block mapping");
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
			tfail(s, "kind is not Config");
		if (parent->key == K_CURRENT) {
			if (s->have_cur || !scalar || ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			    ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE ||
			    (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.length)) {
				tfail(s, "current-context is not a one-piece scalar");
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
			tfail(s, "an item has a key twice");
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
		s->item.inner_end = line_end(s, s->last);
		break;
	case R_ITEM:
		item_end(s);
		break;
	case R_LIST:
		s->list[f.key].end = line_end(s, s->last);
		break;
	case R_FLOWLIST:
		if (s->list[f.key].state == T_EMPTY)
			s->list[f.key].empty_end = byte_at(s, ev->end_mark.index);
		break;
	case R_ROOT:
		s->root_end = line_end(s, s->last);
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
			tfail(s, "several documents or directives");
		return;
	case YAML_DOCUMENT_END_EVENT:
		if (!ev->data.document_end.implicit)
			tfail(s, "an explicit document end");
		return;
	case YAML_ALIAS_EVENT:
		tfail(s, "an alias");
		return;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor || ev->data.scalar.tag) {
			tfail(s, "an anchor or a tag");
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
			tfail(s, "an anchor or a tag");
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
static void tscan_run(struct tscan *s, const char *data, size_t len, const char *name)
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
			tfail(s, "UTF-16 text");
			return;
		}
		/* libyaml also breaks lines at CR, NEL, LS and PS; line_start and
		 * line_end know only LF. A byte order mark shifts the marks. */
		s->ascii = false;
		if (*u == '\r' || (i == 0 && len >= 3 && memcmp(u, "\xef\xbb\xbf", 3) == 0) ||
		    (*u == 0xc2 && i + 1 < len && u[1] == 0x85) ||
		    (*u == 0xe2 && i + 2 < len && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))) {
			tfail(s, "CR, NEL, LS or PS line breaks, or a byte order mark");
			return;
		}
	}
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (s->ok && !done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			tfail(s, "a parse error");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		tscan_event(s, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (s->ok && !s->docs)
		tfail(s, "no document");
}

/* ---- splices ---- */

struct tedit {
	size_t start, end; /* the bytes replaced (start == end: an insertion) */
	size_t seq;        /* insertions at one place keep their order */
	char *text;
};

struct tedits {
	struct tedit *v;
	size_t n;
};

static void tedits_free(struct tedits *ed)
{
	for (size_t i = 0; i < ed->n; i++)
		free(ed->v[i].text);
	free(ed->v);
}

static void tedit(struct tedits *ed, size_t start, size_t end, struct vk_strbuf *text)
{
	ed->v = xrealloc(ed->v, (ed->n + 1) * sizeof(*ed->v));
	ed->v[ed->n] = (struct tedit){ start, end, ed->n, vk_strbuf_detach(text, NULL) };
	ed->n++;
}

static void tedit_str(struct tedits *ed, size_t start, size_t end, const char *text)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	vk_strbuf_addstr(&sb, text);
	tedit(ed, start, end, &sb);
}

static int tedit_cmp(const void *a, const void *b)
{
	const struct tedit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The file's bytes with ED applied, or false if two edits overlap (a bug:
 * the caller then takes the document path). */
static bool tedits_apply(const struct tscan *s, struct tedits *ed, struct vk_strbuf *out)
{
	size_t pos = 0;

	if (ed->n)
		qsort(ed->v, ed->n, sizeof(*ed->v), tedit_cmp);
	vk_strbuf_init(out, s->len + 16384);
	vk_prefault(out->buf, out->alloc);
	for (size_t i = 0; i < ed->n; i++) {
		const struct tedit *t = &ed->v[i];

		if (t->start < pos || t->end < t->start || t->end > s->len)
			return false;
		vk_strbuf_add(out, s->data + pos, t->start - pos);
		if (t->start == s->len && out->len && out->buf[out->len - 1] != '\n' && *t->text)
			vk_strbuf_addch(out, '\n'); /* the file did not end its last line */
		vk_strbuf_addstr(out, t->text);
		pos = t->end;
	}
	vk_strbuf_add(out, s->data + pos, s->len - pos);
	return true;
}

/* S as a YAML scalar: plain only when it provably reads back as this string
 * (a letter or '/' first, no spaces or indicators, not a YAML 1.1 word such
 * as "yes"), else double-quoted. */
static void put_scalar(struct vk_strbuf *sb, const char *s)
{
	size_t len = strlen(s);
	bool plain = len && (isalpha((unsigned char)s[0]) || s[0] == '/') && s[len - 1] != ':' &&
		     !vk_yaml_plain_is_ambiguous(s);

	for (const char *p = s; plain && *p; p++)
		plain = isalnum((unsigned char)*p) || (*p && strchr("-._/=+:@", *p));
	if (plain) {
		vk_strbuf_add(sb, s, len);
		return;
	}
	vk_strbuf_addch(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			vk_strbuf_addf(sb, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			vk_strbuf_addf(sb, "\\x%02x", *p);
		else
			vk_strbuf_addch(sb, (char)*p);
	}
	vk_strbuf_addch(sb, '"');
}

static void put_pad(struct vk_strbuf *sb, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vk_strbuf_addch(sb, ' ');
}

/* "KEY: VALUE" on a line of its own at column COL. */
static void put_pair(struct vk_strbuf *sb, size_t col, const char *key, const char *value)
{
	put_pad(sb, col);
	vk_strbuf_addstr(sb, key);
	vk_strbuf_addstr(sb, ": ");
	put_scalar(sb, value);
	vk_strbuf_addch(sb, '\n');
}

struct tlayout {
	size_t dash, item, inner; /* columns of "- ", of the item's keys, of the inner mapping's keys */
};

static struct tlayout list_layout(const struct tlist *l)
{
	return (struct tlayout){ l->dash_col, l->item_col, l->item_col + (l->inner_off ? l->inner_off : 2) };
}

/* The layout of a list that gets written whole: as the file's other lists
 * are indented under their keys, else as kubectl writes them. */
static struct tlayout new_list_layout(const struct tscan *s)
{
	for (int l = 0; l < L_COUNT; l++) {
		if (s->list[l].state == T_BLOCK && s->list[l].inner_off)
			return list_layout(&s->list[l]); /* its key is at root_col too */
	}
	return (struct tlayout){ s->root_col, s->root_col + 2, s->root_col + 4 };
}

static void put_item(struct vk_strbuf *sb, struct tlayout lay, const char *name, const struct part *p)
{
	put_pad(sb, lay.dash);
	vk_strbuf_addch(sb, '-');
	put_pad(sb, lay.item - lay.dash - 1);
	vk_strbuf_addstr(sb, "name: ");
	put_scalar(sb, name);
	vk_strbuf_addch(sb, '\n');
	put_pad(sb, lay.item);
	vk_strbuf_addf(sb, "%s:\n", p->inner);
	for (size_t o = 0; o < VK_ARRAY_SIZE(p->own); o++)
		put_pair(sb, lay.inner, p->own[o].key, p->own[o].value);
}

/* Rewrites the profile's entry where it stands, as upsert_named does: the
 * values written in place of theirs, conflicting keys dropped, missing ones
 * appended, every other key and comment kept. */
static bool tedit_entry(const struct tlist *l, const struct part *p, struct tedits *ed)
{
	const struct titem *it = &l->first;
	struct vk_strbuf add = VK_STRBUF_INIT;
	bool done[VK_ARRAY_SIZE(p->own)] = { false };

	if (!it->has_inner || !it->inner_block || !it->nkeys)
		return false;
	for (size_t k = 0; k < it->nkeys; k++) {
		const struct tkey *key = &it->keys[k];
		size_t o;

		for (o = 0; o < VK_ARRAY_SIZE(p->own); o++)
			if (strcmp(key->name, p->own[o].key) == 0)
				break;
		if (o < VK_ARRAY_SIZE(p->own) && !done[o]) {
			struct vk_strbuf sb = VK_STRBUF_INIT;

			put_pair(&sb, it->inner_col, key->name, p->own[o].value);
			tedit(ed, key->line, key->end, &sb);
			done[o] = true;
		} else if (o < VK_ARRAY_SIZE(p->own) || in_list(key->name, p->drop, p->ndrop)) {
			tedit_str(ed, key->line, key->end, "");
		}
	}
	for (size_t o = 0; o < VK_ARRAY_SIZE(p->own); o++)
		if (!done[o])
			put_pair(&add, it->inner_col, p->own[o].key, p->own[o].value);
	if (add.len)
		tedit(ed, it->inner_end, it->inner_end, &add);
	vk_strbuf_release(&add);
	return true;
}

/* The edits that merge the profile's entries (PARTS) into S; false when the
 * text path does not apply (S->why says why). */
static bool tmerge(struct tscan *s, const char *name, const struct part parts[L_COUNT], bool set_current,
		   struct tedits *ed)
{
	_cleanup_strbuf_ struct vk_strbuf at_end = VK_STRBUF_INIT; /* new top-level keys */

	for (int i = 0; i < L_COUNT; i++) {
		const struct tlist *l = &s->list[i];
		struct vk_strbuf sb = VK_STRBUF_INIT;

		switch (l->state) {
		case T_OTHER:
			tfail(s, "a list that is not a block list of mappings");
			return false;
		case T_ABSENT:
			put_pad(&at_end, s->root_col);
			vk_strbuf_addf(&at_end, "%s:\n", list_keys[i]);
			put_item(&at_end, new_list_layout(s), name, &parts[i]);
			break;
		case T_EMPTY:
			if (memchr(s->data + l->colon, '\n', l->empty_end - l->colon)) {
				tfail(s, "an empty list's value is not on its key's line");
				return false;
			}
			if (l->empty_end > l->colon)
				tedit_str(ed, l->colon, l->empty_end, "");
			put_item(&sb, new_list_layout(s), name, &parts[i]);
			tedit(ed, line_end(s, l->empty_end), line_end(s, l->empty_end), &sb);
			break;
		case T_BLOCK:
			if (l->first.named) {
				if (!tedit_entry(l, &parts[i], ed)) {
					tfail(s, "the profile's entry is not a block mapping under its key");
					return false;
				}
				break;
			}
			put_item(&sb, list_layout(l), name, &parts[i]);
			tedit(ed, l->end, l->end, &sb);
			break;
		}
	}
	if (set_current && s->have_cur) {
		struct vk_strbuf sb = VK_STRBUF_INIT;

		put_scalar(&sb, name);
		tedit(ed, s->cur_start, s->cur_end, &sb);
	} else if (!s->have_cur) {
		put_pad(&at_end, s->root_col);
		vk_strbuf_addstr(&at_end, "current-context: ");
		put_scalar(&at_end, set_current ? name : "");
		vk_strbuf_addch(&at_end, '\n');
	}
	if (at_end.len)
		tedit(ed, s->root_end, s->root_end, &at_end);
	return true;
}

/* The edits that remove the profile's entries from S (none: nothing to do);
 * false when the text path does not apply. */
static bool tremove(struct tscan *s, const char *name, struct tedits *ed)
{
	for (int i = 0; i < L_COUNT; i++) {
		const struct tlist *l = &s->list[i];

		if (l->state == T_OTHER) {
			tfail(s, "a list that is not a block list of mappings");
			return false;
		}
		if (l->state != T_BLOCK || !l->nnamed)
			continue;
		if (l->nnamed == l->nitems) {
			/* "clusters:" alone would read as null: say it is an empty list */
			if (!l->colon) {
				tfail(s, "no ':' after a list's key");
				return false;
			}
			tedit_str(ed, l->colon, l->colon, " []");
		}
		for (size_t n = 0; n < l->nnamed; n++)
			tedit_str(ed, l->named[n].start, l->named[n].end, "");
	}
	if (s->have_cur && strcmp(s->cur, name) == 0)
		tedit_str(ed, s->cur_start, s->cur_end, "\"\"");
	return true;
}

/* Writes F with ED applied (none: F as it is): 1 when done, 0 when the text
 * path must give way to the document path (the edits overlap, or the result
 * fails its proof; nothing written), -1 on a write error. */
static int text_write(const struct kfile *f, struct tscan *sc, struct tedits *ed, const struct intent *in,
		      struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf out = VK_STRBUF_INIT;
	char why[512];

	if (!tedits_apply(sc, ed, &out)) {
		vk_debug("kubeconfig '%s': overlapping text edits; using the document path", f->path);
		return 0;
	}
	if (vk_kubeconfig_test_tamper)
		vk_kubeconfig_test_tamper("text", &out);
	if (!prove(f, in, out.buf, out.len, why, sizeof(why))) {
		vk_debug("kubeconfig '%s': the text edit does not read back as intended (%s); using the document path",
			 f->path, why);
		return 0;
	}
	return kfile_write(f, out.buf, out.len, err) < 0 ? -1 : 1;
}

/* The text path: scans F and, if it applies, writes it with the profile's
 * entries merged (IN->parts) or, when that is NULL, removed. 1 when done (or
 * nothing to do; *CHANGED says which), 0 when it does not apply, -1 on a
 * write error. */
static int text_path(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err)
{
	struct tscan sc;
	struct tedits ed = { 0 };
	int rc = 0;

	if (vk_kubeconfig_force_document)
		return 0;
	tscan_run(&sc, f->data, f->len, in->name);
	if (sc.ok &&
	    (in->parts ? tmerge(&sc, in->name, in->parts, in->set_current, &ed) : tremove(&sc, in->name, &ed))) {
		*changed = ed.n > 0;
		rc = text_write(f, &sc, &ed, in, err);
		if (rc > 0)
			vk_kubeconfig_last_path = "text";
	}
	if (!sc.ok)
		vk_debug("kubeconfig '%s': %s; using the document path", f->path, sc.why);
	tedits_free(&ed);
	tscan_free(&sc);
	return rc;
}

/* ---- merge ------------------------------------------------------------------ */

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

static int document_merge(const struct kfile *f, const struct intent *in, struct vk_error *err)
{
	const char *name = in->name;
	const struct part *parts = in->parts;
	struct kcfg k;
	int rc = -1;

	if (kcfg_load(&k, f, err) == 0) {
		int seq[L_COUNT];
		int i;

		for (i = 0; i < L_COUNT; i++)
			if ((seq[i] = kcfg_list(&k, list_keys[i], true, err)) < 0)
				break;
		if (i == L_COUNT) {
			for (i = 0; i < L_COUNT; i++)
				upsert_named(&k.doc, seq[i], name, parts[i].inner, parts[i].own, VK_ARRAY_SIZE(parts[i].own),
					     parts[i].drop, parts[i].ndrop);
			if (in->set_current)
				map_set_str(&k.doc, k.root, "current-context", name);
			else if (!map_get(&k.doc, k.root, "current-context"))
				map_set_str(&k.doc, k.root, "current-context", "");
			rc = kcfg_save(&k, in, err);
		}
	}
	kcfg_free(&k);
	return rc;
}

int vk_kubeconfig_merge(const char *path, const struct vk_kubeconfig_entry *e, bool set_current, struct vk_error *err)
{
	static const char *const cluster_conflicts[] = { "certificate-authority", "insecure-skip-tls-verify", "tls-server-name" };
	static const char *const user_conflicts[] = { "client-certificate", "client-key", "token", "tokenFile", "username",
						      "password", "exec", "auth-provider", "as", "as-groups", "as-uid",
						      "as-user-extra" };
	_cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL;
	struct wlocks locks = WLOCKS_INIT;
	struct kfile f = { 0 };
	int rc = -1;

	if (vk_profile_name_check(e->name, err) < 0)
		return -1;
	if (prepare_write(path, true, &locks, err) < 0)
		return -1;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	key = b64(e->key_pem);
	if (kfile_read(&f, path, err) == 0) {
		const struct part parts[L_COUNT] = {
			[L_CLUSTERS] = { "cluster", { { "certificate-authority-data", ca }, { "server", e->server } },
					 cluster_conflicts, VK_ARRAY_SIZE(cluster_conflicts) },
			[L_USERS] = { "user", { { "client-certificate-data", cert }, { "client-key-data", key } },
				      user_conflicts, VK_ARRAY_SIZE(user_conflicts) },
			[L_CONTEXTS] = { "context", { { "cluster", e->name }, { "user", e->name } }, NULL, 0 },
		};

		const struct intent in = { .name = e->name, .parts = parts, .set_current = set_current, .e = e };
		bool changed;

		rc = text_path(&f, &in, &changed, err);
		if (rc == 0)
			rc = document_merge(&f, &in, err);
		else if (rc > 0)
			rc = 0;
	}
	OPENSSL_cleanse(key, strlen(key));
	kfile_free(&f);
	wlocks_release(&locks);
	return rc;
}

/* ---- remove ------------------------------------------------------------------ */

static int document_remove(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err)
{
	const char *name = in->name;
	struct kcfg k;
	int rc = -1;

	if (kcfg_load(&k, f, err) < 0)
		goto out;
	for (size_t i = 0; i < L_COUNT; i++) {
		int seq = kcfg_list(&k, list_keys[i], false, err);
		long at;

		if (seq < 0)
			goto out;
		while (seq > 0 && (at = seq_find_named(&k.doc, seq, name)) >= 0) {
			seq_del(&k.doc, seq, at);
			*changed = true;
		}
	}
	{
		const char *cur = scalar_of(&k.doc, map_get(&k.doc, k.root, "current-context"));

		if (cur && strcmp(cur, name) == 0) {
			map_set_str(&k.doc, k.root, "current-context", "");
			*changed = true;
		}
	}
	rc = *changed ? kcfg_save(&k, in, err) : 0;
out:
	kcfg_free(&k);
	return rc;
}

int vk_kubeconfig_remove(const char *path, const char *name, bool *removed, struct vk_error *err)
{
	struct wlocks locks = WLOCKS_INIT;
	struct kfile f = { 0 };
	bool changed = false;
	int rc = -1;

	if (removed)
		*removed = false;
	if (!vk_path_exists(path))
		return 0;
	if (prepare_write(path, false, &locks, err) < 0)
		return -1;
	if (kfile_read(&f, path, err) == 0) {
		const struct intent in = { .name = name };

		rc = text_path(&f, &in, &changed, err);
		if (rc == 0)
			rc = document_remove(&f, &in, &changed, err);
		else if (rc > 0)
			rc = 0;
	}
	if (rc == 0 && removed)
		*removed = changed;
	kfile_free(&f);
	wlocks_release(&locks);
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

/* What check compares, from either path. */
struct found {
	bool context, cluster, user; /* the entries (with their inner key) exist */
	const char *val[V_COUNT];
};

static int text_find(const struct kfile *f, const char *name, struct tscan *sc, struct found *fd)
{
	if (vk_kubeconfig_force_document)
		return 0;
	tscan_run(sc, f->data, f->len, name);
	for (int l = 0; l < L_COUNT; l++)
		if (sc->list[l].state == T_OTHER)
			tfail(sc, "a list that is not a block list of mappings");
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
	int seq = kcfg_list(k, key, false, err);
	long i;

	*found = false;
	if (seq <= 0 || (i = seq_find_named(&k->doc, seq, name)) < 0)
		return seq < 0 ? -1 : 0;
	*found = true;
	return map_get(&k->doc, seq_at(&k->doc, seq, i), inner);
}

/* What check compares, from K's loaded document. */
static int document_found(struct kcfg *k, const char *name, struct found *fd, struct vk_error *err)
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

static int document_find(struct kcfg *k, const struct kfile *f, const char *name, struct found *fd, struct vk_error *err)
{
	if (kcfg_load(k, f, err) < 0)
		return -1;
	return document_found(k, name, fd, err);
}

/* The check's verdict on what FD found for E: *STATE, and *PROBLEM (static) when misconfigured. */
static void check_found(const struct found *fd, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			const char **problem)
{
	_cleanup_free_ char *ca = NULL, *cert = NULL;
	const char *const *val = fd->val;

	*state = VK_KUBECONFIG_NONEXISTENT;
	*problem = NULL;
	if (!fd->context)
		return;
	*state = VK_KUBECONFIG_MISCONFIGURED;
	ca = b64(e->ca_pem);
	cert = b64(e->cert_pem);
	if (!val[V_CTX_CLUSTER] || strcmp(val[V_CTX_CLUSTER], e->name) != 0 || !val[V_CTX_USER] ||
	    strcmp(val[V_CTX_USER], e->name) != 0)
		*problem = "the context does not point at the profile's cluster and user";
	else if (!fd->cluster)
		*problem = "the cluster entry is missing";
	else if (!fd->user)
		*problem = "the user entry is missing";
	else if (!val[V_SERVER] || strcmp(val[V_SERVER], e->server) != 0)
		*problem = "the cluster's server is not the node's address";
	else if (!val[V_CA] || !same_b64(val[V_CA], ca))
		*problem = "the cluster's CA is not the profile's";
	else if (!val[V_CERT] || !same_b64(val[V_CERT], cert))
		*problem = "the user's client certificate is not the profile's";
	if (!*problem)
		*state = VK_KUBECONFIG_CONFIGURED;
}

/* The check of F against E: *STATE, and *PROBLEM (static) when misconfigured. */
static int check_kfile(const struct kfile *f, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
		       const char **problem, struct vk_error *err)
{
	struct kcfg k = { 0 };
	struct tscan sc = { 0 };
	struct found fd = { 0 };
	int rc = 0;

	*state = VK_KUBECONFIG_NONEXISTENT;
	*problem = NULL;
	if (!text_find(f, e->name, &sc, &fd) && document_find(&k, f, e->name, &fd, err) < 0)
		rc = -1;
	else
		check_found(&fd, e, state, problem);
	tscan_free(&sc);
	kcfg_free(&k);
	return rc;
}

int vk_kubeconfig_check(const char *path, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
			char **why, struct vk_error *err)
{
	struct kfile f = { 0 };
	const char *problem = NULL;
	int rc = -1;

	*state = VK_KUBECONFIG_NONEXISTENT;
	if (why)
		*why = NULL;
	if (!vk_path_exists(path))
		return 0;
	if (kfile_read(&f, path, err) == 0)
		rc = check_kfile(&f, e, state, &problem, err);
	if (rc == 0 && problem && why)
		*why = xstrdup(problem);
	kfile_free(&f);
	return rc;
}

/* ---- the proof -------------------------------------------------------------- */

/* Before anything is written, the new text is read back: it must be one
 * kubeconfig document that holds exactly the profile's entries (none of
 * them, for remove), that vk_kubeconfig_check reads the same way, and in
 * which every other cluster, user, context and top-level key is what the
 * old file held, compared as data. The text path gives way to the document
 * path when its result fails; the document path's result failing is an
 * error. Either way a file that fails is never written. */

#define PROOF_MAX_VISITS 1000000L /* aliases can make a small file a huge tree */
#define PROOF_MAX_DEPTH 256

struct proof {
	yaml_document_t *a, *b; /* the old file's document, the new text's */
	long visits;
	char *why;
	size_t whylen;
};

static bool proof_fail(struct proof *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool proof_fail(struct proof *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, p->whylen, fmt, ap);
	va_end(ap);
	return false;
}

/* Whether scalar N reads as a string: quoted, or plain and not a word or
 * number that a YAML reader types otherwise. */
static bool scalar_is_string(const yaml_node_t *n)
{
	return n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	       (n->data.scalar.length && !vk_yaml_plain_is_ambiguous((const char *)n->data.scalar.value));
}

/* Whether node IA of the old document and IB of the new hold the same data:
 * scalars by value and type, collections item by item, in order. */
static bool same_node(struct proof *p, int ia, int ib, int depth)
{
	yaml_node_t *x = node(p->a, ia), *y = node(p->b, ib);

	if (!x || !y || x->type != y->type || ++p->visits > PROOF_MAX_VISITS || depth > PROOF_MAX_DEPTH)
		return false;
	if (!x->tag != !y->tag || (x->tag && strcmp((const char *)x->tag, (const char *)y->tag) != 0))
		return false;
	switch (x->type) {
	case YAML_SCALAR_NODE:
		if (node_is_null(x) || node_is_null(y))
			return node_is_null(x) && node_is_null(y);
		/* equal text in the same kind of style types the same */
		return x->data.scalar.length == y->data.scalar.length &&
		       memcmp(x->data.scalar.value, y->data.scalar.value, x->data.scalar.length) == 0 &&
		       ((x->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) == (y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ||
			scalar_is_string(x) == scalar_is_string(y));
	case YAML_SEQUENCE_NODE: {
		long n = x->data.sequence.items.top - x->data.sequence.items.start;

		if (n != y->data.sequence.items.top - y->data.sequence.items.start)
			return false;
		for (long i = 0; i < n; i++)
			if (!same_node(p, x->data.sequence.items.start[i], y->data.sequence.items.start[i], depth + 1))
				return false;
		return true;
	}
	case YAML_MAPPING_NODE: {
		long n = x->data.mapping.pairs.top - x->data.mapping.pairs.start;

		if (n != y->data.mapping.pairs.top - y->data.mapping.pairs.start)
			return false;
		for (long i = 0; i < n; i++) {
			yaml_node_pair_t *px = &x->data.mapping.pairs.start[i], *py = &y->data.mapping.pairs.start[i];

			if (!same_node(p, px->key, py->key, depth + 1) || !same_node(p, px->value, py->value, depth + 1))
				return false;
		}
		return true;
	}
	default:
		return false;
	}
}

/* Keys of a mapping that a change may touch. */
typedef bool (*touched_fn)(const char *key, const struct part *part);

static bool touched_at_top(const char *key, const struct part *part)
{
	return in_list(key, list_keys, L_COUNT) || strcmp(key, "current-context") == 0;
}

static bool touched_in_item(const char *key, const struct part *part)
{
	return strcmp(key, "name") == 0 || strcmp(key, part->inner) == 0;
}

static bool touched_in_inner(const char *key, const struct part *part)
{
	for (size_t o = 0; o < VK_ARRAY_SIZE(part->own); o++)
		if (strcmp(key, part->own[o].key) == 0)
			return true;
	return in_list(key, part->drop, part->ndrop);
}

/* The pairs of MAP not touched (a mapping, else none) and how many. */
static yaml_node_pair_t *next_kept(yaml_document_t *doc, yaml_node_t *map, yaml_node_pair_t *from, touched_fn touched,
				   const struct part *part)
{
	for (yaml_node_pair_t *q = from; q < map->data.mapping.pairs.top; q++) {
		const char *key = scalar_of(doc, q->key);

		if (!key || !touched(key, part))
			return q;
	}
	return NULL;
}

/* Whether the pairs of old mapping MA and new mapping MB that TOUCHED does
 * not claim are the same, in order (a missing mapping has none). */
static bool same_kept_pairs(struct proof *p, int ma, int mb, touched_fn touched, const struct part *part)
{
	yaml_node_t *x = node(p->a, ma), *y = node(p->b, mb);
	yaml_node_pair_t *i = NULL, *j = NULL;

	if (x && x->type == YAML_MAPPING_NODE)
		i = next_kept(p->a, x, x->data.mapping.pairs.start, touched, part);
	if (y && y->type == YAML_MAPPING_NODE)
		j = next_kept(p->b, y, y->data.mapping.pairs.start, touched, part);
	while (i && j) {
		if (!same_node(p, i->key, j->key, 0) || !same_node(p, i->value, j->value, 0))
			return false;
		i = next_kept(p->a, x, i + 1, touched, part);
		j = next_kept(p->b, y, j + 1, touched, part);
	}
	return !i && !j;
}

/* Whether item I of list SEQ is named NAME. */
static bool item_named(yaml_document_t *doc, int seq, long i, const char *name)
{
	const char *v = scalar_of(doc, map_get(doc, seq_at(doc, seq, i), "name"));

	return v && strcmp(v, name) == 0;
}

/* Whether the items of old list SA and new list SB not named NAME are the same, in order. */
static bool same_others(struct proof *p, int sa, int sb, const char *name)
{
	long na = sa ? seq_len(p->a, sa) : 0, nb = sb ? seq_len(p->b, sb) : 0, i = 0, j = 0;

	for (;;) {
		while (i < na && item_named(p->a, sa, i, name))
			i++;
		while (j < nb && item_named(p->b, sb, j, name))
			j++;
		if (i == na || j == nb)
			return i == na && j == nb;
		if (!same_node(p, seq_at(p->a, sa, i), seq_at(p->b, sb, j), 0))
			return false;
		i++;
		j++;
	}
}

/* The list under the top-level KEY: its id, 0 when absent or null, -1 when not a list. */
static int top_list(yaml_document_t *doc, int root, const char *key)
{
	int id = map_get(doc, root, key);

	if (!id || is_null(doc, id))
		return 0;
	return node(doc, id)->type == YAML_SEQUENCE_NODE ? id : -1;
}

/* The first item of SEQ named NAME (0: none) and how many there are. */
static int named_item(yaml_document_t *doc, int seq, const char *name, long *count)
{
	int first = 0;

	*count = 0;
	for (long i = 0; seq && i < seq_len(doc, seq); i++) {
		if (item_named(doc, seq, i, name)) {
			if (!(*count)++)
				first = seq_at(doc, seq, i);
		}
	}
	return first;
}

/* The profile's entry in list L of the new document holds what PART says. */
static bool prove_entry(struct proof *p, int item_a, int item_b, const char *list, const char *name, const struct part *part)
{
	int inner_a = item_a ? map_get(p->a, item_a, part->inner) : 0;
	int inner_b = map_get(p->b, item_b, part->inner);
	yaml_node_t *in_b = node(p->b, inner_b);

	if (!same_kept_pairs(p, item_a, item_b, touched_in_item, part))
		return proof_fail(p, "the other keys of %s entry '%s' changed", list, name);
	if (!in_b || in_b->type != YAML_MAPPING_NODE)
		return proof_fail(p, "%s entry '%s' has no '%s' mapping", list, name, part->inner);
	for (size_t o = 0; o < VK_ARRAY_SIZE(part->own); o++) {
		const char *key = part->own[o].key;
		int times = 0;

		for (yaml_node_pair_t *q = in_b->data.mapping.pairs.start; q < in_b->data.mapping.pairs.top; q++) {
			const char *k = scalar_of(p->b, q->key);
			yaml_node_t *v = node(p->b, q->value);

			if (!k || strcmp(k, key) != 0)
				continue;
			times++;
			if (!v || v->type != YAML_SCALAR_NODE || !scalar_is_string(v) ||
			    v->data.scalar.length != strlen(part->own[o].value) ||
			    memcmp(v->data.scalar.value, part->own[o].value, v->data.scalar.length) != 0)
				return proof_fail(p, "%s entry '%s' has the wrong '%s'", list, name, key);
		}
		if (times != 1)
			return proof_fail(p, "%s entry '%s' has '%s' %d times", list, name, key, times);
	}
	for (size_t d = 0; d < part->ndrop; d++)
		if (map_find(p->b, inner_b, part->drop[d]) >= 0)
			return proof_fail(p, "%s entry '%s' still has '%s'", list, name, part->drop[d]);
	if (!same_kept_pairs(p, inner_a, inner_b, touched_in_inner, part))
		return proof_fail(p, "the other keys of %s entry '%s' changed", list, name);
	return true;
}

static bool scalar_is(yaml_document_t *doc, int id, const char *value)
{
	yaml_node_t *n = node(doc, id);

	return n && n->type == YAML_SCALAR_NODE && scalar_is_string(n) && strcmp((const char *)n->data.scalar.value, value) == 0;
}

/* The new document (B) against the old one (A): see the section's comment. */
static bool prove_docs(struct proof *p, int root_a, int root_b, const struct intent *in)
{
	static const struct part no_part = { .inner = "" };
	int cur_a = map_get(p->a, root_a, "current-context"), cur_b = map_get(p->b, root_b, "current-context");
	const char *old_cur = scalar_of(p->a, cur_a);

	for (int l = 0; l < L_COUNT; l++) {
		int sa = top_list(p->a, root_a, list_keys[l]), sb = top_list(p->b, root_b, list_keys[l]);
		long na, nb;
		int item_a, item_b;

		if (sa < 0 || sb < 0)
			return proof_fail(p, "'%s' is not a list", list_keys[l]);
		if (!same_others(p, sa, sb, in->name))
			return proof_fail(p, "an entry of '%s' other than '%s' changed", list_keys[l], in->name);
		item_a = named_item(p->a, sa, in->name, &na);
		item_b = named_item(p->b, sb, in->name, &nb);
		if (!in->parts) {
			if (nb)
				return proof_fail(p, "'%s' still has an entry named '%s'", list_keys[l], in->name);
			continue;
		}
		if (nb != (na ? na : 1))
			return proof_fail(p, "'%s' has %ld entries named '%s', expected %ld", list_keys[l], nb, in->name,
					  na ? na : 1);
		if (!prove_entry(p, item_a, item_b, list_keys[l], in->name, &in->parts[l]))
			return false;
	}
	if (in->parts && in->set_current) {
		if (!scalar_is(p->b, cur_b, in->name))
			return proof_fail(p, "current-context is not '%s'", in->name);
	} else if (!in->parts && old_cur && strcmp(old_cur, in->name) == 0) {
		if (cur_b && !scalar_is(p->b, cur_b, ""))
			return proof_fail(p, "current-context is still '%s'", in->name);
	} else if (cur_a) {
		if (!same_node(p, cur_a, cur_b, 0))
			return proof_fail(p, "current-context changed");
	} else if (cur_b && !(in->parts && scalar_is(p->b, cur_b, ""))) {
		return proof_fail(p, "a current-context appeared");
	}
	if (!same_kept_pairs(p, root_a, root_b, touched_at_top, &no_part))
		return proof_fail(p, "a top-level key other than the lists and current-context changed");
	return true;
}

/* vk_kubeconfig_check's reading of the new document K agrees: Configured
 * after a merge, Nonexistent after a remove. */
static bool prove_check(struct kcfg *k, const struct intent *in, char *why, size_t whylen)
{
	enum vk_kubeconfig_state state = VK_KUBECONFIG_NONEXISTENT;
	const char *problem = NULL;
	struct vk_error err = { 0 };
	struct found fd = { 0 };

	if (document_found(k, in->name, &fd, &err) < 0) {
		snprintf(why, whylen, "check cannot read it: %.300s", err.message);
		return false;
	}
	if (in->parts)
		check_found(&fd, in->e, &state, &problem);
	else if (fd.context)
		state = VK_KUBECONFIG_MISCONFIGURED;
	if (state == (in->parts ? VK_KUBECONFIG_CONFIGURED : VK_KUBECONFIG_NONEXISTENT))
		return true;
	snprintf(why, whylen, "check reads it as %s%s%s", vk_kubeconfig_state_name(state), problem ? ": " : "",
		 problem ? problem : "");
	return false;
}

static bool prove(const struct kfile *f, const struct intent *in, const char *out, size_t len, char *why, size_t whylen)
{
	const char *taken = vk_kubeconfig_last_path; /* the loads below set it */
	const struct kfile text = { .path = f->path, .exists = true, .data = (char *)out, .len = len };
	struct kcfg old = { 0 }, new = { 0 };
	struct proof p = { .a = &old.doc, .b = &new.doc, .why = why, .whylen = whylen };
	struct vk_error err = { 0 };
	bool ok = false;

	/* the same bytes again (a re-merge of the same entry): one load serves as both */
	bool unchanged = f->exists && len == f->len && memcmp(out, f->data, len) == 0;

	*why = '\0';
	if (!unchanged && kcfg_load(&old, f, &err) < 0)
		snprintf(why, whylen, "the old file does not load as a document: %.300s", err.message);
	else if (kcfg_load(&new, &text, &err) < 0)
		snprintf(why, whylen, "%.400s", err.message);
	else if (unchanged)
		ok = prove_docs(&(struct proof){ .a = &new.doc, .b = &new.doc, .why = why, .whylen = whylen }, new.root,
				new.root, in) &&
		     prove_check(&new, in, why, whylen);
	else
		ok = prove_docs(&p, old.root, new.root, in) && prove_check(&new, in, why, whylen);
	kcfg_free(&old);
	kcfg_free(&new);
	vk_kubeconfig_last_path = taken;
	return ok;
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
