/* kubeconfig proof: before anything is written, the new text is read back and compared as data with the old file and with what the write meant. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kube/kubeconfig-internal.h"
#include "util/cleanup.h"

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
	for (size_t o = 0; o < part->nown; o++)
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
	for (size_t o = 0; o < part->nown; o++) {
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

	if (vk_kc_doc_found(k, in->name, &fd, &err) < 0) {
		snprintf(why, whylen, "check cannot read it: %.300s", err.message);
		return false;
	}
	if (in->parts)
		vk_kc_check_found(&fd, in->e, &state, &problem);
	else if (fd.context)
		state = VK_KUBECONFIG_MISCONFIGURED;
	if (state == (in->parts ? VK_KUBECONFIG_CONFIGURED : VK_KUBECONFIG_NONEXISTENT))
		return true;
	snprintf(why, whylen, "check reads it as %s%s%s", vk_kubeconfig_state_name(state), problem ? ": " : "",
		 problem ? problem : "");
	return false;
}

bool vk_kc_prove(const struct kfile *f, const struct intent *in, const char *out, size_t len, char *why, size_t whylen)
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
	if (!unchanged && vk_kc_doc_load(&old, f, &err) < 0)
		snprintf(why, whylen, "the old file does not load as a document: %.300s", err.message);
	else if (vk_kc_doc_load(&new, &text, &err) < 0)
		snprintf(why, whylen, "%.400s", err.message);
	else if (unchanged)
		ok = prove_docs(&(struct proof){ .a = &new.doc, .b = &new.doc, .why = why, .whylen = whylen }, new.root,
				new.root, in) &&
		     prove_check(&new, in, why, whylen);
	else
		ok = prove_docs(&p, old.root, new.root, in) && prove_check(&new, in, why, whylen);
	vk_kc_doc_free(&old);
	vk_kc_doc_free(&new);
	vk_kubeconfig_last_path = taken;
	return ok;
}
