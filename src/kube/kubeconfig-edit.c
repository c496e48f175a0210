/* kubeconfig editing, two ways: splicing the file's own text (comments and layout kept), else libyaml's document tree re-emitted (for shapes the splices cannot edit provably right); each result is proved before it is written. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BACKUP_SUFFIX ".virtkube-backup"

/* ---- writing the file ---------------------------------------------------------- */

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
	if (!vk_kc_prove(k->f, in, out.buf, out.len, why, sizeof(why))) {
		vk_error_set(err, VK_ERR_FAILED, "cannot %s kubeconfig '%s' safely: the new text does not read back as intended (%s)",
			     in->parts ? "merge into" : "remove from", k->path, why);
		return vk_error_hint(err, "virtkube left the file untouched; please report this with the file's layout (not its secrets), and use 'kubectl config' meanwhile");
	}
	return kfile_write(k->f, out.buf, out.len, err);
}
/* ---- the text path: splices of the file's own bytes ------------------------------ */

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
	for (size_t o = 0; o < p->nown; o++)
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

		for (o = 0; o < p->nown; o++)
			if (strcmp(key->name, p->own[o].key) == 0)
				break;
		if (o < p->nown && !done[o]) {
			struct vk_strbuf sb = VK_STRBUF_INIT;

			put_pair(&sb, it->inner_col, key->name, p->own[o].value);
			tedit(ed, key->line, key->end, &sb);
			done[o] = true;
		} else if (o < p->nown || in_list(key->name, p->drop, p->ndrop)) {
			tedit_str(ed, key->line, key->end, "");
		}
	}
	for (size_t o = 0; o < p->nown; o++)
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
			vk_kc_scan_fail(s, "a list that is not a block list of mappings");
			return false;
		case T_ABSENT:
			put_pad(&at_end, s->root_col);
			vk_strbuf_addf(&at_end, "%s:\n", list_keys[i]);
			put_item(&at_end, new_list_layout(s), name, &parts[i]);
			break;
		case T_EMPTY:
			if (memchr(s->data + l->colon, '\n', l->empty_end - l->colon)) {
				vk_kc_scan_fail(s, "an empty list's value is not on its key's line");
				return false;
			}
			if (l->empty_end > l->colon)
				tedit_str(ed, l->colon, l->empty_end, "");
			put_item(&sb, new_list_layout(s), name, &parts[i]);
			tedit(ed, vk_kc_line_end(s, l->empty_end), vk_kc_line_end(s, l->empty_end), &sb);
			break;
		case T_BLOCK:
			if (l->first.named) {
				if (!tedit_entry(l, &parts[i], ed)) {
					vk_kc_scan_fail(s, "the profile's entry is not a block mapping under its key");
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
			vk_kc_scan_fail(s, "a list that is not a block list of mappings");
			return false;
		}
		if (l->state != T_BLOCK || !l->nnamed)
			continue;
		if (l->nnamed == l->nitems) {
			/* "clusters:" alone would read as null: say it is an empty list */
			if (!l->colon) {
				vk_kc_scan_fail(s, "no ':' after a list's key");
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
	if (!vk_kc_prove(f, in, out.buf, out.len, why, sizeof(why))) {
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
int vk_kc_text_edit(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err)
{
	struct tscan sc;
	struct tedits ed = { 0 };
	int rc = 0;

	if (vk_kubeconfig_force_document)
		return 0;
	vk_kc_scan(&sc, f->data, f->len, in->name);
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
	vk_kc_scan_free(&sc);
	return rc;
}
/* ---- the document path: merge ------------------------------------------------------ */

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

int vk_kc_doc_merge(const struct kfile *f, const struct intent *in, struct vk_error *err)
{
	const char *name = in->name;
	const struct part *parts = in->parts;
	struct kcfg k;
	int rc = -1;

	if (vk_kc_doc_load(&k, f, err) == 0) {
		int seq[L_COUNT];
		int i;

		for (i = 0; i < L_COUNT; i++)
			if ((seq[i] = vk_kc_doc_list(&k, list_keys[i], true, err)) < 0)
				break;
		if (i == L_COUNT) {
			for (i = 0; i < L_COUNT; i++)
				upsert_named(&k.doc, seq[i], name, parts[i].inner, parts[i].own, parts[i].nown,
					     parts[i].drop, parts[i].ndrop);
			if (in->set_current)
				map_set_str(&k.doc, k.root, "current-context", name);
			else if (!map_get(&k.doc, k.root, "current-context"))
				map_set_str(&k.doc, k.root, "current-context", "");
			rc = kcfg_save(&k, in, err);
		}
	}
	vk_kc_doc_free(&k);
	return rc;
}
/* ---- the document path: remove ----------------------------------------------------- */

int vk_kc_doc_remove(const struct kfile *f, const struct intent *in, bool *changed, struct vk_error *err)
{
	const char *name = in->name;
	struct kcfg k;
	int rc = -1;

	if (vk_kc_doc_load(&k, f, err) < 0)
		goto out;
	for (size_t i = 0; i < L_COUNT; i++) {
		int seq = vk_kc_doc_list(&k, list_keys[i], false, err);
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
	vk_kc_doc_free(&k);
	return rc;
}
