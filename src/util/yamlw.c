/* YAML emitter helpers on top of libyaml (see yamlw.h). */
#include "util/yamlw.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct vk_yamlw *w = data;

	vk_strbuf_add(&w->out, buffer, size);
	return 1;
}

static void emit(struct vk_yamlw *w, yaml_event_t *ev, bool made, const char *what)
{
	if (w->failed)
		return;
	if (!made) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "cannot make a YAML %s event", what);
		return;
	}
	if (!yaml_emitter_emit(&w->emitter, ev)) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "%s", w->emitter.problem ? w->emitter.problem : "YAML emitter error");
	}
}

void vk_yamlw_init(struct vk_yamlw *w)
{
	yaml_event_t ev;

	memset(w, 0, sizeof(*w));
	vk_strbuf_init(&w->out, 1024);
	if (!yaml_emitter_initialize(&w->emitter)) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "cannot initialize the YAML emitter");
		return;
	}
	yaml_emitter_set_output(&w->emitter, write_handler, w);
	yaml_emitter_set_unicode(&w->emitter, 1);
	yaml_emitter_set_width(&w->emitter, -1);
	yaml_emitter_set_indent(&w->emitter, 2);
	emit(w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING), "stream start");
}

char *vk_yamlw_finish(struct vk_yamlw *w, const char *what, size_t *len, struct vk_error *err)
{
	yaml_event_t ev;
	char *out;

	emit(w, &ev, yaml_stream_end_event_initialize(&ev), "stream end");
	if (!w->failed && !yaml_emitter_flush(&w->emitter)) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "cannot flush the YAML emitter");
	}
	yaml_emitter_delete(&w->emitter);
	if (w->failed) {
		vk_strbuf_release(&w->out);
		vk_error_set(err, VK_ERR_FAILED, "cannot write %s: %s", what, w->error);
		return NULL;
	}
	out = vk_strbuf_detach(&w->out, len);
	return out;
}

void vk_yamlw_doc_start(struct vk_yamlw *w)
{
	yaml_event_t ev;

	/* Explicit "---": the documents of a multi-document file stay apart. */
	emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0), "document start");
}

void vk_yamlw_doc_start_implicit(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1), "document start");
}

void vk_yamlw_doc_end(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_document_end_event_initialize(&ev, 1), "document end");
}

void vk_yamlw_map_start(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE), "mapping");
}

void vk_yamlw_map_end(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_end_event_initialize(&ev), "mapping end");
}

void vk_yamlw_seq_start(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE), "sequence");
}

void vk_yamlw_seq_end(struct vk_yamlw *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_end_event_initialize(&ev), "sequence end");
}

static void scalar(struct vk_yamlw *w, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(w, &ev,
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style),
	     "scalar");
}

static bool is_number(const char *s)
{
	const char *p = s;
	bool digits = false;

	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
		return p[2] != '\0';
	if (*p == '.' && (strcasecmp(p, ".inf") == 0 || strcasecmp(p, ".nan") == 0))
		return true;
	while (isdigit((unsigned char)*p) || *p == '_') {
		digits = true;
		p++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			digits = true;
			p++;
		}
	}
	if (digits && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (digits && *p == ':') /* YAML 1.1 sexagesimal, e.g. 1:30 */
		return true;
	return digits && *p == '\0';
}

bool vk_yaml_plain_is_ambiguous(const char *s)
{
	static const char *const words[] = { "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~" };

	if (!*s)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return is_number(s);
}

void vk_yamlw_str(struct vk_yamlw *w, const char *s)
{
	scalar(w, s, vk_yaml_plain_is_ambiguous(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
}

void vk_yamlw_quoted(struct vk_yamlw *w, const char *s)
{
	scalar(w, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

void vk_yamlw_plain(struct vk_yamlw *w, const char *s)
{
	scalar(w, s, YAML_PLAIN_SCALAR_STYLE);
}

void vk_yamlw_int(struct vk_yamlw *w, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	vk_yamlw_plain(w, buf);
}

void vk_yamlw_kv(struct vk_yamlw *w, const char *key, const char *value)
{
	vk_yamlw_str(w, key);
	vk_yamlw_str(w, value);
}

void vk_yamlw_kv_quoted(struct vk_yamlw *w, const char *key, const char *value)
{
	vk_yamlw_str(w, key);
	vk_yamlw_quoted(w, value);
}

void vk_yamlw_kv_int(struct vk_yamlw *w, const char *key, long long v)
{
	vk_yamlw_str(w, key);
	vk_yamlw_int(w, v);
}

void vk_yamlw_kv_bool(struct vk_yamlw *w, const char *key, bool v)
{
	vk_yamlw_str(w, key);
	vk_yamlw_plain(w, v ? "true" : "false");
}
