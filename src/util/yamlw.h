/* Writing YAML with libyaml's emitter into a string buffer: small helpers that keep event code readable. */
#pragma once

#include <stdbool.h>
#include <yaml.h>

#include "util/error.h"
#include "util/strbuf.h"

struct vk_yamlw {
	yaml_emitter_t emitter;
	struct vk_strbuf out; /* what was emitted so far */
	bool failed;          /* the first failure is kept in error */
	char error[256];
};

/* Starts a stream; every helper below is a no-op once one has failed, so
 * callers check once, in vk_yamlw_finish. */
void vk_yamlw_init(struct vk_yamlw *w);
/* Ends the stream; returns the YAML (caller frees) or NULL with ERR set,
 * naming WHAT was being written. Releases the emitter either way. */
char *vk_yamlw_finish(struct vk_yamlw *w, const char *what, size_t *len, struct vk_error *err);

void vk_yamlw_doc_start(struct vk_yamlw *w);
/* A document with no "---" line: for a file that holds one document and must
 * begin with something else (cloud-init's "#cloud-config"). */
void vk_yamlw_doc_start_implicit(struct vk_yamlw *w);
void vk_yamlw_doc_end(struct vk_yamlw *w);
void vk_yamlw_map_start(struct vk_yamlw *w);
void vk_yamlw_map_end(struct vk_yamlw *w);
void vk_yamlw_seq_start(struct vk_yamlw *w);
void vk_yamlw_seq_end(struct vk_yamlw *w);
/* A string scalar: quoted when plain style would read back as another type
 * (numbers, booleans, null, empty), so it always parses back as a string. */
void vk_yamlw_str(struct vk_yamlw *w, const char *s);
/* A string scalar, always double-quoted: for documents that quote every value
 * whatever it holds (cloud-init's, kept as they always were). */
void vk_yamlw_quoted(struct vk_yamlw *w, const char *s);
/* A plain scalar meant to be read as a number or boolean. */
void vk_yamlw_plain(struct vk_yamlw *w, const char *s);
void vk_yamlw_int(struct vk_yamlw *w, long long v);
/* KEY: "VALUE" in the current mapping. */
void vk_yamlw_kv(struct vk_yamlw *w, const char *key, const char *value);
/* KEY: "VALUE" with VALUE always double-quoted. */
void vk_yamlw_kv_quoted(struct vk_yamlw *w, const char *key, const char *value);
void vk_yamlw_kv_int(struct vk_yamlw *w, const char *key, long long v);
void vk_yamlw_kv_bool(struct vk_yamlw *w, const char *key, bool v);

/* True when S, written plain, would resolve to something other than a string
 * under YAML 1.1 or 1.2 core rules (as Go's and Python's parsers read it). */
bool vk_yaml_plain_is_ambiguous(const char *s);
