/* The record of what this host uploaded to which libvirt host (see uploads.h): a small JSON file, merged and written atomically under a lock. */
#include "artifacts/uploads.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/cache.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/xalloc.h"

#define FORMAT_VERSION 1
#define LOCK_TIMEOUT_MS 30000

/* ------------------------------------------------------------ in memory -- */

static bool volume_name_ok(const char *s)
{
	return s && strncmp(s, "sha256-", 7) == 0 && s[7] && !strchr(s, '/');
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_uri(struct vk_upload *e, const char *uri)
{
	size_t n = vk_strv_len((const char *const *)e->uris);

	vk_strv_add_unique(&e->uris, &n, uri);
	qsort(e->uris, n, sizeof(char *), compare_strings);
}

static void upload_release(struct vk_upload *e)
{
	free(e->volume);
	free(e->file);
	vk_strv_free(e->uris);
}

void vk_uploads_release(struct vk_uploads *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		upload_release(&u->v[i]);
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

static int compare_uploads(const void *a, const void *b)
{
	return strcmp(((const struct vk_upload *)a)->volume, ((const struct vk_upload *)b)->volume);
}

const struct vk_upload *vk_uploads_find(const struct vk_uploads *u, const char *volume)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].volume, volume) == 0)
			return &u->v[i];
	return NULL;
}

const struct vk_upload *vk_uploads_find_file(const struct vk_uploads *u, const char *file)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].file && strcmp(u->v[i].file, file) == 0)
			return &u->v[i];
	return NULL;
}

void vk_uploads_add(struct vk_uploads *u, const char *uri, const char *volume, const char *file)
{
	struct vk_upload *e = (struct vk_upload *)vk_uploads_find(u, volume);

	if (!e) {
		u->v = xrealloc(u->v, (u->n + 1) * sizeof(*u->v));
		e = &u->v[u->n++];
		*e = (struct vk_upload){ .volume = xstrdup(volume) };
	}
	if (file) {
		free(e->file);
		e->file = xstrdup(file);
	}
	add_uri(e, uri);
	qsort(u->v, u->n, sizeof(*u->v), compare_uploads);
}

/* The host name of URI without user and port ("qemu+ssh://me@box:22/system":
 * "box"; "[::1]:22": "[::1]"; caller frees). */
static char *uri_host_name(const char *uri)
{
	char *host = vk_uri_host(uri);
	char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');

	if (colon && host[0] == '[')
		colon++;
	if (colon && colon != host)
		*colon = '\0';
	return host;
}

/* Whether URIs A and B reach the same libvirt host: the same host name,
 * whatever the transport, user and port (qemu+ssh and qemu+tcp to one
 * machine reach one libvirtd and one pool). */
static bool same_libvirt_host(const char *a, const char *b)
{
	_cleanup_free_ char *ha = uri_host_name(a);
	_cleanup_free_ char *hb = uri_host_name(b);

	return strcmp(ha, hb) == 0;
}

void vk_uploads_set_host(struct vk_uploads *u, const char *uri, const char *const *volumes)
{
	size_t kept = 0;

	for (size_t i = 0; i < u->n; i++) {
		struct vk_upload *e = &u->v[i];
		size_t k = 0;

		for (size_t j = 0; e->uris && e->uris[j]; j++)
			if (same_libvirt_host(e->uris[j], uri))
				free(e->uris[j]);
			else
				e->uris[k++] = e->uris[j];
		if (e->uris)
			e->uris[k] = NULL;
		if (k == 0)
			upload_release(e);
		else
			u->v[kept++] = *e;
	}
	u->n = kept;
	for (const char *const *v = volumes; v && *v; v++)
		vk_uploads_add(u, uri, *v, NULL);
}

char *vk_uri_host(const char *uri)
{
	const char *p = strstr(uri, "://"), *end, *at;

	if (!p || p[3] == '/' || !p[3])
		return xstrdup(uri);
	p += 3;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	return p < end ? xstrndup(p, (size_t)(end - p)) : xstrdup(uri);
}

char *vk_uploads_hosts(const struct vk_upload *e)
{
	_cleanup_strv_ char **hosts = NULL;
	size_t n = 0;

	if (!e || !e->uris || !e->uris[0])
		return xstrdup("-");
	for (char **u = e->uris; *u; u++) {
		_cleanup_free_ char *host = uri_host_name(*u);

		vk_strv_add_unique(&hosts, &n, host);
	}
	return vk_strv_join((const char *const *)hosts, ",");
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

char **vk_uploads_held(const char *const *pool_volumes)
{
	size_t n = 0, cap = 0;
	char **out = NULL;

	for (const char *const *v = pool_volumes; v && *v; v++) {
		_cleanup_free_ char *marker = xasprintf("%s.done", *v);
		bool done = false;

		if (!volume_name_ok(*v) || has_suffix(*v, ".done"))
			continue;
		for (const char *const *w = pool_volumes; *w && !done; w++)
			done = strcmp(*w, marker) == 0;
		if (!done)
			continue;
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 8;
			out = xrealloc(out, cap * sizeof(char *));
		}
		out[n++] = xstrdup(*v);
	}
	if (!out)
		return xcalloc(1, sizeof(char *));
	out[n] = NULL;
	qsort(out, n, sizeof(char *), compare_strings);
	return out;
}

/* ------------------------------------------------------------------ JSON -- */

int vk_uploads_parse(const char *text, size_t len, struct vk_uploads *out, struct vk_error *err)
{
	json_auto_t *doc = NULL;
	json_error_t jerr;
	const char *volume;
	json_t *volumes, *entry;

	*out = (struct vk_uploads){ 0 };
	doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return vk_error_set(err, VK_ERR_PARSE, "not JSON (line %d: %s)", jerr.line, jerr.text);
	volumes = json_object_get(doc, "volumes");
	if (!json_is_object(volumes))
		return vk_error_set(err, VK_ERR_PARSE, "no \"volumes\" object");
	json_object_foreach(volumes, volume, entry) {
		const char *file = json_string_value(json_object_get(entry, "file"));
		json_t *uris = json_object_get(entry, "uris"), *uri;
		size_t i;

		struct vk_upload *e;

		if (!volume_name_ok(volume))
			continue;
		json_array_foreach(uris, i, uri) {
			const char *s = json_string_value(uri);

			if (s && *s)
				vk_uploads_add(out, s, volume, NULL);
		}
		e = (struct vk_upload *)vk_uploads_find(out, volume);
		if (e && file && *file)
			e->file = xstrdup(file);
	}
	return 0;
}

char *vk_uploads_format(const struct vk_uploads *u)
{
	json_auto_t *doc = json_object(), *volumes = json_object();
	char *text;

	json_object_set_new(doc, "version", json_integer(FORMAT_VERSION));
	for (size_t i = 0; i < u->n; i++) {
		json_t *entry = json_object(), *uris = json_array();

		for (char **p = u->v[i].uris; p && *p; p++)
			json_array_append_new(uris, json_string(*p));
		if (u->v[i].file)
			json_object_set_new(entry, "file", json_string(u->v[i].file));
		json_object_set_new(entry, "uris", uris);
		json_object_set_new(volumes, u->v[i].volume, entry);
	}
	json_object_set(doc, "volumes", volumes);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		abort();
	return text;
}

/* ----------------------------------------------------------------- file -- */

static char *record_path(const char *home, const char *name)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);

	return vk_path_join(cache, name);
}

/* Reads the record at PATH; false when it is there but not a record (*WARNING says why). */
static bool load_path(const char *path, struct vk_uploads *out, char **warning)
{
	_cleanup_free_ char *text = NULL;
	struct vk_error e = { 0 };
	size_t len = 0;

	*out = (struct vk_uploads){ 0 };
	if (!vk_path_exists(path))
		return true;
	if (vk_read_file(path, &text, &len, &e) < 0) {
		*warning = xasprintf("the record of uploaded volumes cannot be read (%s): taken as empty", e.message);
		return false;
	}
	if (vk_uploads_parse(text, len, out, &e) < 0) {
		*warning = xasprintf("the record of uploaded volumes '%s' is corrupt (%s): taken as empty", path, e.message);
		return false;
	}
	return true;
}

void vk_uploads_load(const char *home, struct vk_uploads *out, char **warning)
{
	_cleanup_free_ char *path = record_path(home, VK_UPLOADS_FILE);

	*warning = NULL;
	load_path(path, out, warning);
}

int vk_uploads_update(const char *home, vk_uploads_edit_fn fn, void *data, char **warning, struct vk_error *err)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);
	_cleanup_free_ char *path = record_path(home, VK_UPLOADS_FILE), *lock_path = record_path(home, VK_UPLOADS_LOCK);
	_cleanup_free_ char *text = NULL;
	struct vk_lock lock = VK_LOCK_INIT;
	struct vk_uploads u;
	int rc;

	*warning = NULL;
	if (vk_mkdir_p(cache, 0700, err) < 0 ||
	    vk_lock_acquire(&lock, lock_path, "the record of uploaded volumes", LOCK_TIMEOUT_MS, err) < 0)
		return -1;
	if (!load_path(path, &u, warning) && vk_path_exists(path)) {
		/* the corrupt one stays beside the new one, for whoever wants to look */
		_cleanup_free_ char *bad = xasprintf("%s.bad", path);

		if (rename(path, bad) < 0) {
			vk_lock_release(&lock);
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot move the corrupt record '%s' aside", path);
		}
	}
	fn(&u, data);
	text = vk_uploads_format(&u);
	vk_uploads_release(&u);
	rc = vk_write_file_atomic(path, text, strlen(text), 0644, err);
	vk_lock_release(&lock);
	return rc;
}
