/* What the kubeconfig module's files share (kubeconfig.c and kubeconfig-*.c only): the document tree helpers, the file as read, what a write means, the text scan's findings, and each part's entry points. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kube/kubeconfig.h"
#include "util/error.h"
#include "util/lock.h"
#include "util/strbuf.h"
#include "util/yamlw.h"

/* libyaml's document tree, by node index. The helpers are small and used by
 * the loader, both editors and the proof alike. */
static inline yaml_node_t *node(yaml_document_t *doc, int id)
{
	return id ? yaml_document_get_node(doc, id) : NULL;
}

static inline const char *scalar_of(yaml_document_t *doc, int id)
{
	yaml_node_t *n = node(doc, id);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain "", "~" or "null": YAML's null, however spelled. */
static inline bool node_is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static inline bool is_null(yaml_document_t *doc, int id)
{
	return node_is_null(node(doc, id));
}

static inline int add_str(yaml_document_t *doc, const char *s)
{
	yaml_scalar_style_t style = vk_yaml_plain_is_ambiguous(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
	int id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)s, (int)strlen(s), style);

	if (!id)
		abort(); /* libyaml fails here only when out of memory */
	return id;
}

static inline int add_map(yaml_document_t *doc)
{
	int id = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);

	if (!id)
		abort();
	return id;
}

static inline int add_seq(yaml_document_t *doc)
{
	int id = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);

	if (!id)
		abort();
	return id;
}

static inline void append_pair(yaml_document_t *doc, int map, int key, int value)
{
	if (!yaml_document_append_mapping_pair(doc, map, key, value))
		abort();
}

static inline void append_item(yaml_document_t *doc, int seq, int item)
{
	if (!yaml_document_append_sequence_item(doc, seq, item))
		abort();
}

/* The pair index of KEY in mapping MAP, or -1. */
static inline long map_find(yaml_document_t *doc, int map, const char *key)
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

static inline int map_get(yaml_document_t *doc, int map, const char *key)
{
	long i = map_find(doc, map, key);

	return i < 0 ? 0 : node(doc, map)->data.mapping.pairs.start[i].value;
}

/* Sets KEY to node VALUE: in place if present (order kept), else appended. */
static inline void map_set(yaml_document_t *doc, int map, const char *key, int value)
{
	long i = map_find(doc, map, key);

	if (i >= 0) {
		node(doc, map)->data.mapping.pairs.start[i].value = value;
		return;
	}
	append_pair(doc, map, add_str(doc, key), value);
}

static inline void map_set_str(yaml_document_t *doc, int map, const char *key, const char *value)
{
	map_set(doc, map, key, add_str(doc, value));
}

static inline long seq_len(yaml_document_t *doc, int seq)
{
	yaml_node_t *s = node(doc, seq);

	return s->data.sequence.items.top - s->data.sequence.items.start;
}

static inline int seq_at(yaml_document_t *doc, int seq, long i)
{
	return node(doc, seq)->data.sequence.items.start[i];
}

static inline void seq_del(yaml_document_t *doc, int seq, long i)
{
	yaml_node_t *s = node(doc, seq);
	yaml_node_item_t *start = s->data.sequence.items.start;
	long n = s->data.sequence.items.top - start;

	memmove(start + i, start + i + 1, (size_t)(n - i - 1) * sizeof(*start));
	s->data.sequence.items.top--;
}

/* The index in list SEQ of the item whose "name" is NAME, or -1. */
static inline long seq_find_named(yaml_document_t *doc, int seq, const char *name)
{
	long n = seq_len(doc, seq);

	for (long i = 0; i < n; i++) {
		const char *v = scalar_of(doc, map_get(doc, seq_at(doc, seq, i), "name"));

		if (v && strcmp(v, name) == 0)
			return i;
	}
	return -1;
}

static inline const char *type_name(yaml_document_t *doc, int id)
{
	yaml_node_t *n = node(doc, id);

	if (!n)
		return "missing";
	return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static inline bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}
/* ---- the file as read, and what a write means ------------------------------------ */

/* The kubeconfig as read once, for both paths. */
struct kfile {
	const char *path; /* as given */
	char *real;       /* the file written: PATH with symlinks resolved */
	bool exists;
	char *data;       /* its bytes ("" when missing) */
	size_t len;
};

struct kcfg {
	const struct kfile *f;
	const char *path;
	yaml_document_t doc;
	bool have_doc;
	int root;
};

/* What is written into an entry: a key and its value. */
struct owned {
	const char *key;
	const char *value;
};

/* What one list gets: the inner key, the values written, the keys dropped. */
struct part {
	const char *inner;
	struct owned own[3];
	size_t nown; /* how many of own are used */
	const char *const *drop;
	size_t ndrop;
};

/* What a write is meant to do, for the proof (see vk_kc_prove). */
struct intent {
	const char *name;
	const struct part *parts; /* merge: what goes into each list; NULL: remove */
	bool set_current;         /* merge */
	const struct vk_kubeconfig_entry *e; /* merge */
};

/* ---- the text scan (kubeconfig-parse.c) and its splices (kubeconfig-edit.c) ------- */

/* The three lists, and the inner key of their items. */
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

/* What vk_kc_scan found where: byte offsets into the file's text. */
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
/* What check compares, from either path. */
struct found {
	bool context, cluster, user; /* the entries (with their inner key) exist */
	const char *val[V_COUNT];
};
/* ---- locks ---------------------------------------------------------------------- */

struct wlocks {
	struct vk_lock flock; /* REAL.virtkube-lock: virtkube against virtkube */
	char *kubectl;        /* PATH.lock while we hold it: kubectl's own lock */
};

#define WLOCKS_INIT { .flock = VK_LOCK_INIT, .kubectl = NULL }

/* ---- kubeconfig-parse.c: reading the file (data we did not write) ---------------- */

/* Resolves symlinks of PATH (or of its directory when the file is missing). Newly allocated. */
char *vk_kc_resolve_path(const char *path);
/* Reads PATH into F (free with vk_kc_file_free); a missing file reads as empty. */
int vk_kc_file_read(struct kfile *f, const char *path, struct vk_error *err);
void vk_kc_file_free(struct kfile *f);
/* Loads F into K's document tree (free with vk_kc_doc_free, also after an
 * error). An empty file gives a fresh document. Sets vk_kubeconfig_last_path
 * to "document". */
int vk_kc_doc_load(struct kcfg *k, const struct kfile *f, struct vk_error *err);
void vk_kc_doc_free(struct kcfg *k);
/* The list under KEY, created (or a null replaced) when CREATE; 0 if absent, -1 if not a list. */
int vk_kc_doc_list(struct kcfg *k, const char *key, bool create, struct vk_error *err);
/* Reads DATA as events (free S with vk_kc_scan_free); S->ok says whether the text path applies. */
void vk_kc_scan(struct tscan *s, const char *data, size_t len, const char *name);
void vk_kc_scan_free(struct tscan *s);
/* The text path does not apply: WHY (static) goes to the debug log. */
void vk_kc_scan_fail(struct tscan *s, const char *why);
/* After the line holding byte B of the scanned text. */
size_t vk_kc_line_end(const struct tscan *s, size_t b);
/* What check compares: from a scan of F into SC (0 when the text path does
 * not apply), from K's loaded document, or from F loaded into K. */
int vk_kc_scan_find(const struct kfile *f, const char *name, struct tscan *sc, struct found *fd);
int vk_kc_doc_found(struct kcfg *k, const char *name, struct found *fd, struct vk_error *err);
int vk_kc_doc_find(struct kcfg *k, const struct kfile *f, const char *name, struct found *fd, struct vk_error *err);

/* ---- kubeconfig-edit.c: the two ways of editing ------------------------------------ */

/* The text path: merges (IN->parts) or removes IN's entries by splicing F's
 * own text. 1 when done (or nothing to do; *CHANGED says which), 0 when it
 * does not apply or its result fails the proof (nothing written), -1 on a
 * write error. */
int vk_kc_text_edit(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err);
/* The document path: the same through libyaml's document tree, re-emitted. */
int vk_kc_doc_merge(const struct kfile *f, const struct intent *in, struct vk_error *err);
int vk_kc_doc_remove(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err);

/* ---- kubeconfig-lock.c: virtkube's flock and kubectl's PATH.lock ------------------ */

/* Checks the file can be replaced, makes its directory (CREATE_DIR), and
 * takes both locks into W (release with vk_kc_unlock; nothing held on error). */
int vk_kc_lock(const char *path, bool create_dir, struct wlocks *w, struct vk_error *err);
void vk_kc_unlock(struct wlocks *w);

/* ---- kubeconfig-proof.c: every write is read back first ---------------------------- */

/* Whether OUT, the new text for F, is what IN means; else WHY says what is wrong. */
bool vk_kc_prove(const struct kfile *f, const struct intent *in, const char *out, size_t len, char *why, size_t whylen);

/* ---- kubeconfig.c --------------------------------------------------------------------- */

/* The check's verdict on what FD found for E: *STATE, and *PROBLEM (static) when misconfigured. */
void vk_kc_check_found(const struct found *fd, const struct vk_kubeconfig_entry *e, enum vk_kubeconfig_state *state,
		       const char **problem);
