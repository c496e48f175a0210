/* Kubernetes manifests: multi-document YAML to JSON objects, ${VAR} substitution, apply order. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* A placeholder's value; arrays of these end with an entry whose name is NULL. */
struct vk_manifest_var {
	const char *name;  /* "NODE_IP" for ${NODE_IP} */
	const char *value;
};

struct vk_manifest_object {
	json_t *obj;             /* owned; a mapping with apiVersion, kind, metadata.name */
	const char *api_version; /* these point into obj */
	const char *kind;
	const char *name;
	const char *ns;          /* NULL when the document gives none */
	char *source;            /* "FILE document N", owned */
};

/* Objects in the order they were read (or sorted, see vk_manifest_sort). */
struct vk_manifest {
	struct vk_manifest_object *items;
	size_t n;
};

/* Parses TEXT (LEN bytes) as a stream of YAML documents and appends one
 * object per non-empty document (a `kind: List`'s items one by one). FILE
 * names the text in errors. Scalars are typed by the YAML 1.2 core schema:
 * quoted scalars are strings, plain true/false, null/~/empty, integers
 * (decimal, 0o, 0x) and floats become JSON booleans, null and numbers (a
 * float with an integral value becomes an integer, as Kubernetes' YAML
 * reader emits it); unlike kubectl's YAML 1.1 reader, yes/no/on/off stay
 * strings. With VARS non-NULL every ${NAME} inside a scalar is replaced
 * before typing, and a NAME not in VARS is an error naming it, the file, the
 * document and the line. Documents that are not mappings, lack apiVersion,
 * kind or metadata.name, or repeat a key are errors. On error nothing is
 * appended. */
int vk_manifest_add_text(struct vk_manifest *m, const char *text, size_t len, const char *file,
			 const struct vk_manifest_var *vars, struct vk_error *err);
/* Reads PATH and calls vk_manifest_add_text with DISPLAY (or PATH) as its name. */
int vk_manifest_add_file(struct vk_manifest *m, const char *path, const char *display,
			 const struct vk_manifest_var *vars, struct vk_error *err);

/* The apply rank of a kind: 0 Namespace, 1 CustomResourceDefinition,
 * 2 other cluster-scoped kinds, 3 namespaced and unknown kinds, 4 admission
 * webhook configurations and APIServices (last: they point at Services that
 * must exist first, or they would block the rest of the apply). */
int vk_manifest_rank(const char *api_version, const char *kind);
/* Stable sort by rank: the order to apply in (deleting goes in reverse). */
void vk_manifest_sort(struct vk_manifest *m);

/* Frees every object; M itself stays usable (empty). */
void vk_manifest_clear(struct vk_manifest *m);

static inline void vk_manifest_clearp(struct vk_manifest *m)
{
	vk_manifest_clear(m);
}
#define _cleanup_manifest_ __attribute__((cleanup(vk_manifest_clearp)))
