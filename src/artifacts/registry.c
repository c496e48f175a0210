/* The OCI distribution client (see registry.h): references, manifests, the auth dance, and blob pulls through fetch.c. */
#include "artifacts/registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define DOCKER_HUB_AUTH_KEY "https://index.docker.io/v1/"
#define ACCEPT_MANIFESTS                                                                                               \
	"Accept: " VK_OCI_MT_INDEX ", " VK_DOCKER_MT_LIST ", " VK_OCI_MT_MANIFEST ", " VK_DOCKER_MT_MANIFEST

/* ---------------------------------------------------------- references -- */

static bool component_ok(const char *s, size_t len)
{
	/* Lowercase alphanumerics separated by '.', '_', "__" or '-' runs. */
	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || strchr("._-", s[i])))
			return false;
	return true;
}

static bool tag_ok(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)t[i]) || strchr("._-", t[i])))
			return false;
	return true;
}

static bool digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || !vk_sha256_hex_valid(d + 7))
		return false;
	for (const char *p = d + 7; *p; p++)
		if (isupper((unsigned char)*p))
			return false;
	return true;
}

void vk_image_ref_release(struct vk_image_ref *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->repository);
	free(ref->tag);
	memset(ref, 0, sizeof(*ref));
}

static int ref_invalid(struct vk_image_ref *ref, const char *text, struct vk_error *err)
{
	vk_image_ref_release(ref);
	vk_error_set(err, VK_ERR_INVALID, "invalid image reference '%s'", text ? text : "");
	return vk_error_hint(err, "write it as [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. registry.k8s.io/pause:3.10");
}

int vk_image_ref_parse(const char *text, struct vk_image_ref *ref, struct vk_error *err)
{
	_cleanup_free_ char *s = xstrdup(text ? text : "");
	char *at, *slash, *colon, *name;

	memset(ref, 0, sizeof(*ref));
	at = strchr(s, '@');
	if (at) {
		*at = '\0';
		if (!digest_ok(at + 1))
			return ref_invalid(ref, text, err);
		memcpy(ref->digest, at + 1, VK_DIGEST_LEN + 1);
	}
	slash = strchr(s, '/');
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      strncmp(s, "localhost/", 10) == 0)) {
		ref->registry = xstrndup(s, (size_t)(slash - s));
		name = slash + 1;
	} else {
		ref->registry = xstrdup(DOCKER_HUB);
		name = s;
	}
	colon = strrchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return ref_invalid(ref, text, err);
		ref->tag = xstrdup(colon + 1);
	} else if (!at) {
		ref->tag = xstrdup("latest");
	}
	for (const char *c = name;;) {
		const char *end = strchrnul(c, '/');

		if (!component_ok(c, (size_t)(end - c)))
			return ref_invalid(ref, text, err);
		if (!*end)
			break;
		c = end + 1;
	}
	if (strcmp(ref->registry, DOCKER_HUB) == 0 && !strchr(name, '/'))
		ref->repository = xasprintf("library/%s", name);
	else
		ref->repository = xstrdup(name);
	if (strlen(ref->registry) == 0 || strlen(ref->repository) > 255)
		return ref_invalid(ref, text, err);
	return 0;
}

char *vk_image_ref_name(const struct vk_image_ref *ref)
{
	if (ref->tag)
		return xasprintf("%s/%s:%s", ref->registry, ref->repository, ref->tag);
	return xasprintf("%s/%s@%s", ref->registry, ref->repository, ref->digest);
}

/* ------------------------------------------------------------ manifests -- */

static void descriptor_release(struct vk_oci_descriptor *d)
{
	free(d->media_type);
	free(d->os);
	free(d->architecture);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

void vk_oci_manifest_release(struct vk_oci_manifest *m)
{
	if (!m)
		return;
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n; i++)
		descriptor_release(&m->entries[i]);
	free(m->entries);
	free(m->media_type);
	memset(m, 0, sizeof(*m));
}

static char *opt_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int read_descriptor(json_t *j, const char *what, struct vk_oci_descriptor *d, struct vk_error *err)
{
	json_t *mt = json_object_get(j, "mediaType"), *dg = json_object_get(j, "digest"),
	       *size = json_object_get(j, "size"), *platform = json_object_get(j, "platform");

	if (!json_is_object(j))
		return vk_error_set(err, VK_ERR_PARSE, "%s is not an object", what);
	if (!json_is_string(dg))
		return vk_error_set(err, VK_ERR_PARSE, "%s has no digest", what);
	if (!digest_ok(json_string_value(dg))) {
		if (strncmp(json_string_value(dg), "sha256:", 7) != 0)
			return vk_error_set(err, VK_ERR_UNSUPPORTED, "%s has digest '%.80s': only sha256 is supported", what,
					    json_string_value(dg));
		return vk_error_set(err, VK_ERR_PARSE, "%s has a malformed digest '%.80s'", what, json_string_value(dg));
	}
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return vk_error_set(err, VK_ERR_PARSE, "%s has no valid size", what);
	if (mt && !json_is_string(mt))
		return vk_error_set(err, VK_ERR_PARSE, "%s has a mediaType that is not a string", what);
	if (platform && !json_is_object(platform))
		return vk_error_set(err, VK_ERR_PARSE, "%s has a platform that is not an object", what);
	d->media_type = opt_string(j, "mediaType");
	memcpy(d->digest, json_string_value(dg), VK_DIGEST_LEN + 1);
	d->size = json_integer_value(size);
	if (platform) {
		d->os = opt_string(platform, "os");
		d->architecture = opt_string(platform, "architecture");
		d->variant = opt_string(platform, "variant");
	}
	return 0;
}

/* The media type without parameters ("; charset=..."), trimmed. */
static char *bare_type(const char *ct)
{
	size_t len;

	if (!ct)
		return NULL;
	ct += strspn(ct, " \t");
	len = strcspn(ct, ";");
	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	return len ? xstrndup(ct, len) : NULL;
}

/* Fills OUT from ROOT; on error OUT may hold part of it (the caller releases). */
static int read_manifest(json_t *root, const char *content_type, struct vk_oci_manifest *out, struct vk_error *err)
{
	json_t *schema, *list, *mt;
	_cleanup_free_ char *type = NULL;
	const char *list_key;

	if (!json_is_object(root))
		return vk_error_set(err, VK_ERR_PARSE, "manifest is not a JSON object");
	schema = json_object_get(root, "schemaVersion");
	if (!json_is_integer(schema))
		return vk_error_set(err, VK_ERR_PARSE, "manifest has no schemaVersion");
	if (json_integer_value(schema) != 2) {
		vk_error_set(err, VK_ERR_UNSUPPORTED, "manifest has schemaVersion %" JSON_INTEGER_FORMAT ": only 2 is supported",
			     json_integer_value(schema));
		return vk_error_hint(err, "Docker schema 1 images are obsolete: push the image again with a current tool");
	}
	mt = json_object_get(root, "mediaType");
	if (mt && !json_is_string(mt))
		return vk_error_set(err, VK_ERR_PARSE, "manifest has a mediaType that is not a string");
	type = mt ? xstrdup(json_string_value(mt)) : bare_type(content_type);
	if (!type) {
		/* An OCI document may leave mediaType out: tell by shape. */
		type = xstrdup(json_object_get(root, "manifests") ? VK_OCI_MT_INDEX : VK_OCI_MT_MANIFEST);
	}
	if (strcmp(type, VK_OCI_MT_INDEX) == 0 || strcmp(type, VK_DOCKER_MT_LIST) == 0) {
		out->is_index = true;
		list_key = "manifests";
	} else if (strcmp(type, VK_OCI_MT_MANIFEST) == 0 || strcmp(type, VK_DOCKER_MT_MANIFEST) == 0) {
		list_key = "layers";
	} else {
		return vk_error_set(err, VK_ERR_UNSUPPORTED, "manifest has media type '%.120s', which is not an image", type);
	}
	out->media_type = TAKE_PTR(type);
	if (!out->is_index && !json_object_get(root, "config"))
		return vk_error_set(err, VK_ERR_PARSE, "manifest has no config");
	if (!out->is_index && read_descriptor(json_object_get(root, "config"), "the manifest's config", &out->config, err) < 0)
		return -1;
	list = json_object_get(root, list_key);
	if (!json_is_array(list))
		return vk_error_set(err, VK_ERR_PARSE, "manifest has no '%s' array", list_key);
	out->n = json_array_size(list);
	out->entries = xcalloc(out->n ? out->n : 1, sizeof(*out->entries));
	for (size_t i = 0; i < out->n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s entry %zu", list_key, i);
		if (read_descriptor(json_array_get(list, i), what, &out->entries[i], err) < 0)
			return -1;
	}
	return 0;
}

int vk_oci_parse_manifest(const char *buf, size_t len, const char *content_type, struct vk_oci_manifest *out,
			  struct vk_error *err)
{
	json_error_t jerr;
	json_auto_t *root = NULL;

	memset(out, 0, sizeof(*out));
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vk_error_set(err, VK_ERR_PARSE, "manifest is not JSON: %s at line %d", jerr.text, jerr.line);
	if (read_manifest(root, content_type, out, err) < 0) {
		vk_oci_manifest_release(out);
		return -1;
	}
	return 0;
}

const struct vk_oci_descriptor *vk_oci_index_choose(const struct vk_oci_manifest *index, const char *os,
						    const char *arch, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf have = VK_STRBUF_INIT;

	for (size_t i = 0; i < index->n; i++) {
		const struct vk_oci_descriptor *d = &index->entries[i];

		if (d->os && d->architecture && strcmp(d->os, os) == 0 && strcmp(d->architecture, arch) == 0)
			return d;
	}
	for (size_t i = 0; i < index->n; i++) {
		const struct vk_oci_descriptor *d = &index->entries[i];

		/* Attestations and other artifacts carry "unknown/unknown" or no platform. */
		if (d->os && d->architecture)
			vk_strbuf_addf(&have, "%s%s/%s", have.len ? ", " : "", d->os, d->architecture);
	}
	vk_error_set(err, VK_ERR_NOT_FOUND, "the image index has no %s/%s image (it has: %s)", os, arch,
		     have.len ? have.buf : "no platforms");
	return NULL;
}

/* ----------------------------------------------------------------- auth -- */

void vk_registry_challenge_release(struct vk_registry_challenge *c)
{
	if (!c)
		return;
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

int vk_registry_parse_challenge(const char *header, struct vk_registry_challenge *c, struct vk_error *err)
{
	const char *p = header ? header : "";
	size_t n;

	memset(c, 0, sizeof(*c));
	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n == 0)
		return vk_error_set(err, VK_ERR_PARSE, "empty WWW-Authenticate challenge");
	c->scheme = xstrndup(p, n);
	p += n;
	while (*p) {
		_cleanup_strbuf_ struct vk_strbuf value = VK_STRBUF_INIT;
		const char *key;
		size_t klen;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		key = p;
		klen = strcspn(p, "= \t,");
		p += klen;
		if (*p != '=') {
			vk_registry_challenge_release(c);
			return vk_error_set(err, VK_ERR_PARSE, "malformed WWW-Authenticate challenge '%.200s'", header);
		}
		p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				vk_strbuf_addch(&value, *p);
			}
			if (*p != '"') {
				vk_registry_challenge_release(c);
				return vk_error_set(err, VK_ERR_PARSE, "unterminated quote in WWW-Authenticate '%.200s'", header);
			}
			p++;
		} else {
			n = strcspn(p, ", \t");
			vk_strbuf_add(&value, p, n);
			p += n;
		}
		if (klen == 5 && strncasecmp(key, "realm", 5) == 0 && !c->realm)
			c->realm = vk_strbuf_detach(&value, NULL);
		else if (klen == 7 && strncasecmp(key, "service", 7) == 0 && !c->service)
			c->service = vk_strbuf_detach(&value, NULL);
		else if (klen == 5 && strncasecmp(key, "scope", 5) == 0 && !c->scope)
			c->scope = vk_strbuf_detach(&value, NULL);
	}
	if (strcasecmp(c->scheme, "Bearer") == 0 && (!c->realm || !*c->realm)) {
		vk_registry_challenge_release(c);
		return vk_error_set(err, VK_ERR_PARSE, "Bearer challenge without a realm: '%.200s'", header);
	}
	return 0;
}

/* The HOST[:PORT] of "https://host/x" or "host": where it starts, and its length. */
static const char *url_host(const char *url, size_t *len)
{
	if (strncmp(url, "https://", 8) == 0)
		url += 8;
	else if (strncmp(url, "http://", 7) == 0)
		url += 7;
	*len = strcspn(url, "/");
	return url;
}

static bool auth_key_matches(const char *key, const char *registry)
{
	size_t len;
	const char *host = url_host(key, &len);

	return strlen(registry) == len && strncmp(host, registry, len) == 0;
}

int vk_registry_docker_auth(const char *path, const char *registry, char **auth, struct vk_error *err)
{
	json_error_t jerr;
	json_auto_t *root = NULL;
	json_t *auths, *entry, *v;
	const char *key;

	*auth = NULL;
	if (!vk_path_exists(path))
		return 0;
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		vk_error_set(err, VK_ERR_PARSE, "cannot read the docker config '%s': %s at line %d", path, jerr.text,
			     jerr.line);
		return vk_error_hint(err, "fix the file, or point DOCKER_CONFIG at another directory");
	}
	auths = json_object_get(root, "auths");
	if (!json_is_object(auths))
		return 0;
	json_object_foreach(auths, key, entry) {
		bool hub = strcmp(registry, DOCKER_HUB) == 0 &&
			   (strcmp(key, DOCKER_HUB_AUTH_KEY) == 0 || auth_key_matches(key, "index.docker.io"));

		if (!hub && !auth_key_matches(key, registry))
			continue;
		v = json_object_get(entry, "auth");
		if (json_is_string(v) && *json_string_value(v)) {
			*auth = xstrdup(json_string_value(v));
			return 0;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- pulls -- */

void vk_registry_options_init(struct vk_registry_options *o)
{
	memset(o, 0, sizeof(*o));
	vk_fetch_options_init(&o->fetch);
	o->os = "linux";
	o->architecture = "amd64";
}

void vk_pulled_images_release(struct vk_pulled_image *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].manifest_media_type);
		vk_strv_free(v[i].blobs);
		memset(&v[i], 0, sizeof(v[i]));
	}
}

char *vk_blob_path(const char *store, const char *digest)
{
	return xasprintf("%s/sha256/%s", store, strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest);
}

/* One repository on one registry: where to ask and what to say. */
struct session {
	char *registry;      /* as in the reference */
	char *repository;
	char *base;          /* "https://host[:port]" */
	char *basic;         /* base64 user:password from the docker config, or NULL */
	char *authorization; /* what the last challenge led to, or NULL (anonymous) */
	struct session *next;
};

struct puller {
	const char *store;
	const struct vk_registry_options *o;
	struct vk_fetch_options fetch; /* o->fetch with http allowed where it must be */
	struct vk_fetch_options quiet; /* the same without progress: tokens and manifests are not downloads to show */
	char *docker_config;
	struct session *sessions;
};

static bool insecure(const struct vk_registry_options *o, const char *host)
{
	for (size_t i = 0; o->insecure && o->insecure[i]; i++)
		if (strcmp(o->insecure[i], host) == 0)
			return true;
	return false;
}

static struct session *session_get(struct puller *p, const struct vk_image_ref *ref, struct vk_error *err)
{
	_cleanup_free_ char *mirror_host = NULL;
	const char *login = ref->registry; /* whose docker-config entry applies */
	struct session *s;

	for (s = p->sessions; s; s = s->next)
		if (strcmp(s->registry, ref->registry) == 0 && strcmp(s->repository, ref->repository) == 0)
			return s;
	s = xcalloc(1, sizeof(*s));
	s->registry = xstrdup(ref->registry);
	s->repository = xstrdup(ref->repository);
	if (p->o->mirror) {
		s->base = xstrdup(p->o->mirror);
		while (strlen(s->base) > 0 && s->base[strlen(s->base) - 1] == '/')
			s->base[strlen(s->base) - 1] = '\0';
		/* The mirror gets its own credentials, never the upstream registry's. */
		size_t len;
		const char *host = url_host(p->o->mirror, &len);

		mirror_host = xstrndup(host, len);
		login = mirror_host;
	} else {
		const char *host = strcmp(ref->registry, DOCKER_HUB) == 0 ? DOCKER_HUB_API : ref->registry;

		s->base = xasprintf("%s://%s", insecure(p->o, ref->registry) ? "http" : "https", host);
	}
	s->next = p->sessions;
	p->sessions = s;
	if (p->docker_config && vk_registry_docker_auth(p->docker_config, login, &s->basic, err) < 0)
		return NULL;
	return s;
}

static void sessions_free(struct session *s)
{
	while (s) {
		struct session *next = s->next;

		free(s->registry);
		free(s->repository);
		free(s->base);
		free(s->basic);
		free(s->authorization);
		free(s);
		s = next;
	}
}

static char *docker_config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

	if (dir && *dir)
		return xasprintf("%s/config.json", dir);
	if (home && *home)
		return xasprintf("%s/.docker/config.json", home);
	return NULL;
}

/* Answers a 401's challenge: a token from the realm (with the basic
 * credentials when we have them), or the basic credentials themselves. */
static int authenticate(struct puller *p, struct session *s, const char *challenge, struct vk_error *err)
{
	struct vk_registry_challenge c;
	_cleanup_free_ char *url = NULL, *basic = NULL;
	json_auto_t *root = NULL;
	json_error_t jerr;
	json_t *tok;
	struct vk_fetch_item item = { 0 };
	int rc;

	if (!challenge) {
		vk_error_set(err, VK_ERR_NETWORK, "registry '%s' answered 401 without a WWW-Authenticate challenge",
			     s->registry);
		return -1;
	}
	if (vk_registry_parse_challenge(challenge, &c, err) < 0)
		return vk_error_prefix(err, "registry '%s'", s->registry);
	if (s->basic)
		basic = xasprintf("Basic %s", s->basic);
	if (strcasecmp(c.scheme, "Basic") == 0) {
		vk_registry_challenge_release(&c);
		if (!basic || (s->authorization && strcmp(s->authorization, basic) == 0)) {
			vk_error_set(err, VK_ERR_NETWORK, "registry '%s' refused %s credentials for '%s'", s->registry,
				     basic ? "the" : "anonymous access without", s->repository);
			return vk_error_hint(err, "put the registry's credentials in ~/.docker/config.json (docker login %s)",
					     s->registry);
		}
		free(s->authorization);
		s->authorization = TAKE_PTR(basic);
		return 0;
	}
	if (strcasecmp(c.scheme, "Bearer") != 0) {
		vk_error_set(err, VK_ERR_UNSUPPORTED, "registry '%s' asks for '%s' authentication", s->registry, c.scheme);
		vk_registry_challenge_release(&c);
		return -1;
	}
	if (vk_libcurl_load(err) < 0) {
		vk_registry_challenge_release(&c);
		return -1;
	}
	{
		CURL *e = curl_easy_init();
		_cleanup_free_ char *scope = c.scope ? xstrdup(c.scope) : xasprintf("repository:%s:pull", s->repository);
		char *svc = e && c.service ? curl_easy_escape(e, c.service, 0) : NULL;
		char *sc = e ? curl_easy_escape(e, scope, 0) : NULL;

		if (!e || !sc)
			abort();
		url = xasprintf("%s%s%s%s%sscope=%s", c.realm, strchr(c.realm, '?') ? "&" : "?", svc ? "service=" : "",
				svc ? svc : "", svc ? "&" : "", sc);
		curl_free(svc);
		curl_free(sc);
		curl_easy_cleanup(e);
	}
	vk_registry_challenge_release(&c);
	item.url = url;
	item.name = url;
	item.authorization = basic;
	item.keep_http_errors = true;
	rc = vk_fetch_run(&item, 1, &p->quiet, err);
	if (rc == 0 && item.http_code != 200) {
		vk_error_set(err, VK_ERR_NETWORK, "the token service of registry '%s' answered HTTP %ld for '%s'",
			     s->registry, item.http_code, s->repository);
		if (item.http_code == 401 || item.http_code == 403)
			vk_error_hint(err, "%s", basic ? "check the credentials in ~/.docker/config.json"
						       : "the repository needs a login: docker login writes ~/.docker/config.json");
		rc = -1;
	}
	if (rc == 0) {
		root = json_loadb(item.body, item.body_len, 0, &jerr);
		tok = json_object_get(root, "token");
		if (!json_is_string(tok) || !*json_string_value(tok))
			tok = json_object_get(root, "access_token");
		if (!json_is_string(tok) || !*json_string_value(tok)) {
			rc = vk_error_set(err, VK_ERR_PARSE, "the token service of registry '%s' sent no token", s->registry);
		} else {
			free(s->authorization);
			s->authorization = xasprintf("Bearer %s", json_string_value(tok));
		}
	}
	vk_fetch_items_release(&item, 1);
	return rc;
}

/* GETs PATH (under the session's /v2/<repository>/) into ITEM, answering
 * one auth challenge. ITEM is released by the caller. */
static int registry_get(struct puller *p, struct session *s, const char *path, struct vk_fetch_item *item,
			struct vk_error *err)
{
	static const char *const accept[] = { ACCEPT_MANIFESTS, NULL };
	_cleanup_free_ char *url = xasprintf("%s/v2/%s/%s", s->base, s->repository, path);

	for (int round = 0; round < 2; round++) {
		vk_fetch_items_release(item, 1);
		memset(item, 0, sizeof(*item));
		item->url = url;
		item->headers = accept;
		item->authorization = s->authorization;
		item->keep_http_errors = true;
		if (vk_fetch_run(item, 1, &p->quiet, err) < 0)
			return -1;
		if (item->http_code == 401 && round == 0) {
			_cleanup_free_ char *challenge = vk_fetch_header(item, "WWW-Authenticate");

			if (authenticate(p, s, challenge, err) < 0)
				return -1;
			continue;
		}
		break;
	}
	item->url = NULL;
	if (item->http_code == 200)
		return 0;
	if (item->http_code == 404) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "registry '%s' has no manifest '%s' in '%s'", s->registry, path,
			     s->repository);
		return vk_error_hint(err, "check the image name and tag (or --image-repository)");
	}
	if ((item->http_code == 401 || item->http_code == 403) && s->authorization) {
		vk_error_set(err, VK_ERR_NETWORK, "registry '%s' refused the credentials for '%s' (HTTP %ld)", s->registry,
			     s->repository, item->http_code);
		return vk_error_hint(err, "check the registry's entry in ~/.docker/config.json (docker login %s)",
				     s->registry);
	}
	vk_error_set(err, VK_ERR_NETWORK, "registry '%s' answered HTTP %ld for '%s' of '%s'", s->registry,
		     item->http_code, path, s->repository);
	if (item->http_code == 401 || item->http_code == 403)
		vk_error_hint(err, "put the registry's credentials in ~/.docker/config.json (docker login %s)", s->registry);
	return -1;
}

/* Reads a manifest or index with DIGEST from the store, if there. */
static int store_read(struct puller *p, const char *digest, char **data, size_t *len, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_blob_path(p->store, digest);

	*data = NULL;
	if (!vk_path_exists(path))
		return 0;
	return vk_read_file(path, data, len, err);
}

static int store_write(struct puller *p, const char *digest, const char *data, size_t len, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_blob_path(p->store, digest);

	if (vk_path_exists(path))
		return 0;
	return vk_write_file_atomic(path, data, len, 0644, err);
}

/* Gets the manifest or index REFERENCE (a tag or a digest) of S, from the
 * store when it is a digest we hold. Verifies it against the digest asked
 * for, or against the registry's Docker-Content-Digest for a tag, and keeps
 * it in the store. *DIGEST gets its sha256; *FETCHED says it came from the
 * network. MISSING (offline) is set instead of an error when it is not held. */
static int get_manifest(struct puller *p, struct session *s, const char *reference, char **body, size_t *len,
			char **content_type, char digest[VK_DIGEST_LEN + 1], bool *fetched, bool *missing,
			struct vk_error *err)
{
	struct vk_fetch_item item = { 0 };
	_cleanup_free_ char *path = NULL, *header_digest = NULL;
	char hex[VK_SHA256_HEX_LEN + 1];
	bool by_digest = strncmp(reference, "sha256:", 7) == 0;

	*content_type = NULL;
	if (by_digest) {
		if (store_read(p, reference, body, len, err) < 0)
			return -1;
		if (*body) {
			memcpy(digest, reference, VK_DIGEST_LEN + 1);
			return 0;
		}
	}
	if (p->o->offline) {
		*missing = true;
		return 0;
	}
	path = xasprintf("manifests/%s", reference);
	if (registry_get(p, s, path, &item, err) < 0) {
		vk_fetch_items_release(&item, 1);
		return -1;
	}
	*fetched = true;
	vk_sha256_buffer(item.body, item.body_len, hex);
	snprintf(digest, VK_DIGEST_LEN + 1, "sha256:%s", hex);
	header_digest = vk_fetch_header(&item, "Docker-Content-Digest");
	if ((by_digest && strcmp(digest, reference) != 0) ||
	    (!by_digest && header_digest && digest_ok(header_digest) && strcmp(header_digest, digest) != 0)) {
		vk_error_set(err, VK_ERR_CHECKSUM, "manifest '%s' of '%s/%s' does not match its digest: expected %s, got %s",
			     reference, s->registry, s->repository, by_digest ? reference : header_digest, digest);
		vk_error_hint(err, "nothing was kept; the registry or a proxy serves different bytes than it names");
		vk_fetch_items_release(&item, 1);
		return -1;
	}
	*content_type = vk_fetch_header(&item, "Content-Type");
	*body = TAKE_PTR(item.body);
	*len = item.body_len;
	vk_fetch_items_release(&item, 1);
	return 0;
}

/* A blob to download, shared by every image that has it. */
struct want {
	char digest[VK_DIGEST_LEN + 1];
	char *url, *dest, *name;
	struct session *session;
};

static bool blob_present(struct puller *p, const char *digest)
{
	_cleanup_free_ char *path = vk_blob_path(p->store, digest);

	/* Only ever appears by rename after its sha256 matched. */
	return vk_path_exists(path);
}

/* A partial blob as long as the whole one (or longer) cannot be resumed: the
 * server would answer 416 to its Range. It goes, and the blob comes again. */
static void drop_full_part(struct puller *p, const char *digest, int64_t size)
{
	_cleanup_free_ char *path = vk_blob_path(p->store, digest);
	_cleanup_free_ char *part = xasprintf("%s.part", path);
	struct stat st;

	if (stat(part, &st) == 0 && (int64_t)st.st_size >= size) {
		vk_debug("registry: dropping '%s' (%jd bytes of a %jd-byte blob)", part, (intmax_t)st.st_size,
			 (intmax_t)size);
		unlink(part);
	}
}

static void ref_releasep(struct vk_image_ref *r)
{
	vk_image_ref_release(r);
}

static void manifest_releasep(struct vk_oci_manifest *m)
{
	vk_oci_manifest_release(m);
}

/* Queues the blobs of IMAGE (OUT's platform manifest) that the store lacks,
 * once across all images; offline, a lacking blob makes the image MISSING. */
static void queue_blobs(struct puller *p, struct session *s, const struct vk_oci_manifest *image,
			struct vk_pulled_image *out, struct want **wants, size_t *nwants, bool *missing)
{
	out->size = out->manifest_size + image->config.size;
	out->blobs = xcalloc(image->n + 2, sizeof(char *));
	out->blobs[0] = xstrdup(image->config.digest);
	for (size_t i = 0; i < image->n; i++) {
		out->blobs[i + 1] = xstrdup(image->entries[i].digest);
		out->size += image->entries[i].size;
	}
	for (size_t i = 0; out->blobs[i]; i++) {
		int64_t size = i == 0 ? image->config.size : image->entries[i - 1].size;
		bool queued = false;
		struct want *w;

		for (size_t j = 0; j < *nwants && !queued; j++)
			queued = strcmp((*wants)[j].digest, out->blobs[i]) == 0;
		if (queued || blob_present(p, out->blobs[i]))
			continue;
		if (p->o->offline) {
			*missing = true;
			return;
		}
		drop_full_part(p, out->blobs[i], size);
		*wants = xrealloc(*wants, (*nwants + 1) * sizeof(**wants));
		w = &(*wants)[(*nwants)++];
		memcpy(w->digest, out->blobs[i], VK_DIGEST_LEN + 1);
		w->url = xasprintf("%s/v2/%s/blobs/%s", s->base, s->repository, w->digest);
		w->dest = vk_blob_path(p->store, w->digest);
		w->name = xasprintf("%s %s %.19s", out->name, i == 0 ? "config" : "layer", w->digest);
		w->session = s;
		out->fetched = true;
	}
}

/* Resolves one image down to its platform manifest and queues its missing
 * blobs. Offline, what the store lacks sets *MISSING instead of failing. */
static int resolve_image(struct puller *p, const char *text, const char *pin, struct vk_pulled_image *out,
			 struct want **wants, size_t *nwants, bool *missing, struct vk_error *err)
{
	_cleanup_(ref_releasep) struct vk_image_ref ref = { 0 };
	_cleanup_(manifest_releasep) struct vk_oci_manifest m = { 0 };
	_cleanup_(manifest_releasep) struct vk_oci_manifest mm = { 0 };
	_cleanup_free_ char *body = NULL, *ctype = NULL, *body2 = NULL, *ctype2 = NULL;
	size_t len = 0, len2 = 0;
	const struct vk_oci_manifest *image = &m;
	const char *reference;
	char digest[VK_DIGEST_LEN + 1];
	struct session *s;

	if (vk_image_ref_parse(text, &ref, err) < 0)
		return -1;
	out->name = vk_image_ref_name(&ref);
	if (pin && *pin && !digest_ok(pin))
		return vk_error_set(err, VK_ERR_INVALID, "the recorded digest '%s' is not a sha256 digest", pin);
	reference = ref.digest[0] ? ref.digest : pin && *pin ? pin : ref.tag;
	s = session_get(p, &ref, err);
	if (!s)
		return -1;
	if (get_manifest(p, s, reference, &body, &len, &ctype, digest, &out->fetched, missing, err) < 0)
		return -1;
	if (*missing)
		return 0;
	if (vk_oci_parse_manifest(body, len, ctype, &m, err) < 0)
		return -1;
	memcpy(out->digest, digest, sizeof(digest));
	out->manifest_size = (int64_t)len;
	if (m.is_index) {
		const struct vk_oci_descriptor *d = vk_oci_index_choose(&m, p->o->os, p->o->architecture, err);

		if (!d)
			return -1;
		if (get_manifest(p, s, d->digest, &body2, &len2, &ctype2, digest, &out->fetched, missing, err) < 0)
			return -1;
		if (*missing)
			return 0;
		if (vk_oci_parse_manifest(body2, len2, d->media_type ? d->media_type : ctype2, &mm, err) < 0)
			return -1;
		if (mm.is_index)
			return vk_error_set(err, VK_ERR_UNSUPPORTED, "the %s/%s entry of the index is another index",
					    p->o->os, p->o->architecture);
		image = &mm;
		out->manifest_size = (int64_t)len2;
	}
	memcpy(out->manifest_digest, digest, sizeof(digest));
	out->manifest_media_type = xstrdup(image->media_type);
	queue_blobs(p, s, image, out, wants, nwants, missing);
	if (*missing)
		return 0;
	/* Kept only now that they parsed and their digests matched. */
	if (store_write(p, out->digest, body, len, err) < 0 ||
	    (m.is_index && store_write(p, out->manifest_digest, body2, len2, err) < 0))
		return -1;
	return 0;
}

static int resolve_one(struct puller *p, const char *text, const char *pin, struct vk_pulled_image *out,
		       struct want **wants, size_t *nwants, bool *missing, struct vk_error *err)
{
	if (resolve_image(p, text, pin, out, wants, nwants, missing, err) == 0)
		return 0;
	if (out->name)
		vk_error_prefix(err, "cannot pull '%s'", out->name);
	return -1;
}

/* Asks the registry of S for a fresh challenge and answers it (a token that
 * expired during a long pull). */
static int reauthenticate(struct puller *p, struct session *s, struct vk_error *err)
{
	struct vk_fetch_item probe = { 0 };
	_cleanup_free_ char *url = xasprintf("%s/v2/", s->base);
	_cleanup_free_ char *challenge = NULL;

	probe.url = url;
	probe.keep_http_errors = true;
	if (vk_fetch_run(&probe, 1, &p->quiet, err) < 0)
		return -1;
	challenge = vk_fetch_header(&probe, "WWW-Authenticate");
	vk_fetch_items_release(&probe, 1);
	return authenticate(p, s, challenge, err);
}

/* Downloads WANTS in parallel; blobs refused with 401 (an expired token) get
 * one more round after a new token. */
static int fetch_blobs(struct puller *p, struct want *wants, size_t n, struct vk_error *err)
{
	_cleanup_free_ size_t *idx = xcalloc(n, sizeof(*idx));
	_cleanup_free_ struct vk_fetch_item *batch = xcalloc(n, sizeof(*batch));
	size_t m = n;
	int rc;

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (int round = 0;; round++) {
		size_t failed = 0;
		bool only_401 = true;

		memset(batch, 0, m * sizeof(*batch));
		for (size_t k = 0; k < m; k++) {
			const struct want *w = &wants[idx[k]];

			batch[k].url = w->url;
			batch[k].dest = w->dest;
			batch[k].sha256 = w->digest + 7;
			batch[k].name = w->name;
			batch[k].authorization = w->session->authorization;
		}
		rc = vk_fetch_run(batch, m, &p->fetch, err);
		for (size_t k = 0; k < m; k++)
			if (batch[k].status != 0) {
				only_401 = only_401 && batch[k].http_code == 401;
				idx[failed++] = idx[k];
			}
		vk_fetch_items_release(batch, m);
		if (rc == 0 || round == 1 || !only_401)
			return rc;
		for (size_t k = 0; k < failed; k++) {
			struct session *s = wants[idx[k]].session;
			bool done = false;

			for (size_t j = 0; j < k && !done; j++)
				done = wants[idx[j]].session == s;
			if (!done && reauthenticate(p, s, err) < 0)
				return -1;
		}
		m = failed;
	}
}

int vk_registry_pull(const char *store, const char *const *refs, const char *const *pins, size_t n,
		     const struct vk_registry_options *o, struct vk_pulled_image *out, struct vk_error *err)
{
	struct puller p = { .store = store, .o = o };
	_cleanup_strbuf_ struct vk_strbuf missing = VK_STRBUF_INIT;
	_cleanup_free_ char *shadir = NULL;
	struct want *wants = NULL;
	size_t nwants = 0, nmissing = 0;
	int rc = 0;

	memset(out, 0, n * sizeof(*out));
	p.fetch = o->fetch;
	p.fetch.allow_file = false;
	for (size_t i = 0; o->insecure && o->insecure[i]; i++)
		p.fetch.allow_http = true;
	if (o->mirror && strncmp(o->mirror, "http://", 7) == 0)
		p.fetch.allow_http = true;
	p.quiet = p.fetch;
	p.quiet.progress = NULL;
	p.docker_config = o->docker_config ? xstrdup(o->docker_config) : docker_config_path();
	shadir = xasprintf("%s/sha256", store);
	if (vk_mkdir_p(shadir, 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool miss = false;

		rc = resolve_one(&p, refs[i], pins ? pins[i] : NULL, &out[i], &wants, &nwants, &miss, err);
		if (rc == 0 && miss) {
			vk_strbuf_addf(&missing, "%s%s", nmissing ? ", " : "", out[i].name);
			nmissing++;
		}
	}
	if (rc == 0 && nmissing) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "offline: %zu image%s not in the cache: %s", nmissing,
			     nmissing == 1 ? " is" : "s are", missing.buf);
		rc = vk_error_hint(err, "run once without --offline to pull %s", nmissing == 1 ? "it" : "them");
	}
	if (rc == 0 && nwants) {
		vk_debug("registry: %zu blob%s to fetch", nwants, nwants == 1 ? "" : "s");
		rc = fetch_blobs(&p, wants, nwants, err);
	}
	for (size_t i = 0; i < nwants; i++) {
		free(wants[i].url);
		free(wants[i].dest);
		free(wants[i].name);
	}
	free(wants);
	sessions_free(p.sessions);
	free(p.docker_config);
	if (rc < 0)
		vk_pulled_images_release(out, n);
	return rc;
}
