/* Test helpers: load YAML documents with libyaml and look values up by a dotted path. */
#pragma once

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YT_MAX_DOCS 8

struct yt_docs {
	yaml_document_t doc[YT_MAX_DOCS];
	int n;
	int error_line; /* 1-based line of a parse error, 0 if none */
};

/* Loads every document of TEXT; returns the number loaded, -1 on a parse error. */
static inline int yt_load(struct yt_docs *d, const char *text)
{
	yaml_parser_t parser;

	memset(d, 0, sizeof(*d));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	while (d->n < YT_MAX_DOCS) {
		if (!yaml_parser_load(&parser, &d->doc[d->n])) {
			d->error_line = (int)parser.problem_mark.line + 1;
			yaml_parser_delete(&parser);
			return -1;
		}
		if (!yaml_document_get_root_node(&d->doc[d->n])) {
			yaml_document_delete(&d->doc[d->n]);
			break;
		}
		d->n++;
	}
	yaml_parser_delete(&parser);
	return d->n;
}

static inline void yt_free(struct yt_docs *d)
{
	for (int i = 0; i < d->n; i++)
		yaml_document_delete(&d->doc[i]);
	d->n = 0;
}

/* The node at PATH ("a.b.0.c": mapping keys and sequence indexes) under ROOT. */
static inline yaml_node_t *yt_node(yaml_document_t *doc, yaml_node_t *node, const char *path)
{
	char seg[256];

	while (node && *path) {
		size_t len = strcspn(path, ".");

		if (len >= sizeof(seg))
			return NULL;
		memcpy(seg, path, len);
		seg[len] = '\0';
		path += len + (path[len] == '.');
		if (node->type == YAML_MAPPING_NODE) {
			yaml_node_t *found = NULL;

			for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(doc, p->key);

				if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, seg) == 0)
					found = yaml_document_get_node(doc, p->value);
			}
			node = found;
		} else if (node->type == YAML_SEQUENCE_NODE) {
			long i = strtol(seg, NULL, 10);
			long n = node->data.sequence.items.top - node->data.sequence.items.start;

			node = i >= 0 && i < n ? yaml_document_get_node(doc, node->data.sequence.items.start[i]) : NULL;
		} else {
			return NULL;
		}
	}
	return node;
}

/* The scalar at PATH in document DOC, or NULL. */
static inline const char *yt_str(yaml_document_t *doc, const char *path)
{
	yaml_node_t *n = yt_node(doc, yaml_document_get_root_node(doc), path);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The scalar's style at PATH (to tell "8443" from 8443), or -1. */
static inline int yt_style(yaml_document_t *doc, const char *path)
{
	yaml_node_t *n = yt_node(doc, yaml_document_get_root_node(doc), path);

	return n && n->type == YAML_SCALAR_NODE ? (int)n->data.scalar.style : -1;
}

/* Number of items of the sequence or mapping at PATH, or -1. */
static inline long yt_len(yaml_document_t *doc, const char *path)
{
	yaml_node_t *n = yt_node(doc, yaml_document_get_root_node(doc), path);

	if (!n)
		return -1;
	if (n->type == YAML_SEQUENCE_NODE)
		return n->data.sequence.items.top - n->data.sequence.items.start;
	if (n->type == YAML_MAPPING_NODE)
		return n->data.mapping.pairs.top - n->data.mapping.pairs.start;
	return -1;
}

/* The document of kind KIND, or NULL. */
static inline yaml_document_t *yt_kind(struct yt_docs *d, const char *kind)
{
	for (int i = 0; i < d->n; i++) {
		const char *k = yt_str(&d->doc[i], "kind");

		if (k && strcmp(k, kind) == 0)
			return &d->doc[i];
	}
	return NULL;
}
