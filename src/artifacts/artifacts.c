/* The artifact table (see artifacts.h): loads the installed JSON, resolves versions, plans and ensures downloads. */
#include "artifacts/artifacts.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/datadir.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

int vk_kubernetes_version_check(const char *version, struct vk_error *err)
{
	const char *p = version;

	if (!version || *p++ != 'v')
		goto bad;
	for (int part = 0; part < 3; part++) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p))
			p++;
		if (part < 2 && *p++ != '.')
			goto bad;
	}
	if (*p == '-' || *p == '+') {
		p++;
		if (!*p)
			goto bad;
		for (; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '+')
				goto bad;
	}
	if (*p)
		goto bad;
	return 0;
bad:
	vk_error_set(err, VK_ERR_INVALID, "'%s' is not a Kubernetes version", version ? version : "");
	return vk_error_hint(err, "give it as vMAJOR.MINOR.PATCH, e.g. v1.35.0");
}

static json_t *load_table(const char *rel, struct vk_error *err)
{
	_cleanup_free_ char *path = vk_data_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load the artifact table '%s': %s (line %d)", path, jerr.text,
			     jerr.line);
		vk_error_hint(err, "the installation looks incomplete; reinstall virtkube or set VIRTKUBE_DATADIR");
		return NULL;
	}
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "schema")) != 1) {
		json_decref(j);
		vk_error_set(err, VK_ERR_PARSE, "the artifact table '%s' is not a schema 1 object", path);
		return NULL;
	}
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool parse_version(const char *s, int parts[3], int *nparts);

/* vm-images/NAME/image.json (newly allocated); NULL: the default. */
static char *image_table(const char *name)
{
	return xasprintf("vm-images/%s/image.json", name ? name : VK_ARTIFACTS_IMAGE_DEFAULT);
}

bool vk_artifacts_image_known(const char *name)
{
	_cleanup_free_ char *rel = NULL, *path = NULL;

	if (!name || !*name || strchr(name, '/') || name[0] == '.')
		return false;
	rel = image_table(name);
	path = vk_data_path(rel);
	return vk_path_exists(path);
}

char *vk_artifacts_image_of_path(const char *home, const char *path)
{
	_cleanup_free_ char *dir = vk_data_path("vm-images"), *cache = vk_cache_dir(home);
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;

	while (d && !found && (e = readdir(d))) {
		_cleanup_free_ char *rel = NULL, *key = NULL, *file = NULL;
		json_auto_t *img = NULL;

		if (!vk_artifacts_image_known(e->d_name))
			continue;
		rel = image_table(e->d_name);
		img = load_table(rel, NULL);
		if (!img || !jstr(img, "url") || !(key = vk_cache_key(jstr(img, "url"), NULL)))
			continue;
		file = vk_path_join(cache, key);
		if (strcmp(file, path) == 0)
			found = xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

int vk_artifacts_image_info(const char *image, char **name, char **cpu_level, struct vk_error *err)
{
	_cleanup_free_ char *rel = image_table(image);
	json_auto_t *img = load_table(rel, err);
	const char *level;

	*name = *cpu_level = NULL;
	if (!img)
		return -1;
	*name = xstrdup(jstr(img, "name") ? jstr(img, "name") : rel);
	level = jstr(img, "cpu_level");
	*cpu_level = level ? xstrdup(level) : NULL;
	return 0;
}

char **vk_kubernetes_versions(char **default_version, struct vk_error *err)
{
	json_t *t = load_table(VK_ARTIFACTS_RELEASES, err);
	json_t *rel, *r;
	size_t i, n = 0;
	bool found_default = false;
	char **v;

	if (!t)
		return NULL;
	rel = json_object_get(t, "releases");
	v = xcalloc(json_array_size(rel) + 1, sizeof(char *));
	json_array_foreach(rel, i, r)
	{
		const char *k = jstr(r, "kubernetes");
		int parts[3], nparts = 0;
		char canonical[32] = "";

		if (!k)
			continue;
		/* resolve and the download URLs take every listed version for vX.Y.Z, as written (no leading zeros) */
		if (k[0] == 'v' && parse_version(k + 1, parts, &nparts) && nparts == 3)
			snprintf(canonical, sizeof(canonical), "v%d.%d.%d", parts[0], parts[1], parts[2]);
		if (strcmp(canonical, k) != 0) {
			vk_error_set(err, VK_ERR_PARSE, "the artifact table '%s' lists release '%s', which is not vX.Y.Z",
				     VK_ARTIFACTS_RELEASES, k);
			json_decref(t);
			vk_strv_free(v);
			return NULL;
		}
		v[n++] = xstrdup(k);
	}
	for (char **p = v; jstr(t, "default") && *p && !found_default; p++)
		found_default = strcmp(*p, jstr(t, "default")) == 0;
	if (n == 0 || !found_default) {
		json_decref(t);
		vk_strv_free(v);
		vk_error_set(err, VK_ERR_PARSE, "the artifact table '%s' lists no Kubernetes releases, or its default is not one of them",
			     VK_ARTIFACTS_RELEASES);
		return NULL;
	}
	if (default_version)
		*default_version = xstrdup(jstr(t, "default"));
	json_decref(t);
	return v;
}

/* Numeric x.y.z, each part 1-5 digits. */
static bool parse_version(const char *s, int parts[3], int *nparts)
{
	int n = 0;

	while (n < 3) {
		int len = 0, val = 0;

		while (s[len] >= '0' && s[len] <= '9' && len < 6)
			val = val * 10 + (s[len++] - '0');
		if (len == 0 || len > 5)
			return false;
		parts[n++] = val;
		s += len;
		if (*s == '\0')
			break;
		if (*s != '.')
			return false;
		s++;
	}
	*nparts = n;
	return *s == '\0' && n >= 2;
}

/* The newest table version matching S ("X.Y.Z" or "X.Y", no 'v'), or NULL. Borrowed from VERSIONS. */
static const char *table_match(char **versions, const char *s)
{
	int want[3], wn = 0;

	if (!parse_version(s, want, &wn))
		return NULL;
	/* versions are listed newest first: "1.35" picks the newest 1.35 patch */
	for (char **v = versions; *v; v++) {
		int have[3], hn = 0;

		if (!parse_version(*v + 1, have, &hn) || hn != 3)
			continue;
		if (have[0] == want[0] && have[1] == want[1] && (wn == 2 || have[2] == want[2]))
			return *v;
	}
	return NULL;
}

static int unsupported(struct vk_error *err, char **versions, const char *def, const char *input, const char *why)
{
	_cleanup_strbuf_ struct vk_strbuf list = VK_STRBUF_INIT;

	for (char **v = versions; *v; v++)
		vk_strbuf_addf(&list, "%s%s", v == versions ? "" : ", ", *v);
	vk_error_set(err, VK_ERR_INVALID, "unsupported Kubernetes version '%s'%s%s", input, why ? ": " : "", why ? why : "");
	return vk_error_hint(err, "supported: %s, or 'stable' (%s)", list.buf, def);
}

char *vk_kubernetes_version_resolve(const char *input, struct vk_error *err)
{
	_cleanup_free_ char *def = NULL;
	_cleanup_strv_ char **versions = vk_kubernetes_versions(&def, err);
	const char *match;

	if (!versions)
		return NULL;
	if (!input || !*input || strcmp(input, "stable") == 0 || strcmp(input, "default") == 0)
		return TAKE_PTR(def);
	match = table_match(versions, input[0] == 'v' ? input + 1 : input);
	if (match)
		return xstrdup(match);
	unsupported(err, versions, def, input, NULL);
	return NULL;
}

/* A version upstream may name: vX.Y.Z, optionally -alpha.N/-beta.N/-rc.N
 * (no '+build': it never appears in dl.k8s.io's paths). */
static bool upstream_version_valid(const char *v)
{
	return vk_kubernetes_version_check(v, NULL) == 0 && !strchr(v, '+');
}

/* GETs the small text file at upstream URL (or its MIRROR copy) into memory, trimmed. */
static char *fetch_text(const struct vk_version_request *req, const char *upstream, struct vk_error *err)
{
	struct vk_fetch_options fo;
	struct vk_fetch_item item = { .name = upstream };
	_cleanup_free_ char *url = NULL;
	bool http = false, file = false;
	char *text;
	size_t len;

	url = vk_mirror_url(req->mirror, upstream, &http, &file, err);
	if (!url)
		return NULL;
	vk_fetch_options_init(&fo);
	if (req->fetch)
		fo = *req->fetch;
	fo.allow_http |= http;
	fo.allow_file |= file;
	fo.progress = NULL;
	/* a version lookup must not hold a start up for minutes */
	if (fo.max_attempts > 2)
		fo.max_attempts = 2;
	if (fo.connect_timeout_s > 10)
		fo.connect_timeout_s = 10;
	item.url = url;
	if (vk_fetch_run(&item, 1, &fo, err) < 0) {
		vk_fetch_items_release(&item, 1);
		return NULL;
	}
	text = TAKE_PTR(item.body);
	vk_fetch_items_release(&item, 1);
	len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	return text;
}

static char *untested_note(const char *version, const char *asked, char **versions)
{
	char **last = versions;

	while (last[1])
		last++;
	return xasprintf("Kubernetes %s%s%s%s is not in virtkube's tested table (%s to %s): it is used as published "
			 "upstream, untested",
			 version, asked ? " (upstream's '" : "", asked ? asked : "", asked ? "')" : "", *last, versions[0]);
}

void vk_version_choice_release(struct vk_version_choice *c)
{
	if (!c)
		return;
	free(c->version);
	free(c->note);
	memset(c, 0, sizeof(*c));
}

int vk_kubernetes_version_choose(const struct vk_version_request *req, struct vk_version_choice *out,
				 struct vk_error *err)
{
	_cleanup_free_ char *def = NULL, *marker = NULL, *answer = NULL;
	_cleanup_strv_ char **versions = vk_kubernetes_versions(&def, err);
	const char *in = req->input, *bare, *fallback = NULL;
	struct vk_error fetch_err = { 0 };
	int want[3], wn = 0;

	memset(out, 0, sizeof(*out));
	if (!versions)
		return -1;
	if (!in || !*in || strcmp(in, "default") == 0) {
		out->version = TAKE_PTR(def);
		out->tested = true;
		return 0;
	}
	bare = in[0] == 'v' ? in + 1 : in;
	if (strcmp(in, "stable") == 0) {
		marker = xstrdup("stable.txt");
		fallback = def;
	} else if (strcmp(in, "latest") == 0) {
		marker = xstrdup("latest.txt");
		fallback = versions[0];
	} else if (!parse_version(bare, want, &wn)) {
		return unsupported(err, versions, def, in, "not a version (vX.Y.Z, X.Y, stable or latest)");
	} else if (wn == 2) {
		marker = xasprintf("stable-%d.%d.txt", want[0], want[1]);
		fallback = table_match(versions, bare);
	} else if (table_match(versions, bare)) {
		out->version = xstrdup(table_match(versions, bare));
		out->tested = true;
		return 0;
	}

	if (!marker) {
		/* an exact version the table lacks: it must exist upstream */
		_cleanup_free_ char *version = xasprintf("v%s", bare);
		_cleanup_free_ char *probe = xasprintf(VK_K8S_RELEASE_BASE "/%s/bin/linux/amd64/kubeadm.sha256", version);
		_cleanup_free_ char *sum = NULL;

		if (req->offline)
			return unsupported(err, versions, def, in, "it is not in the table, and --offline cannot confirm it upstream");
		sum = fetch_text(req, probe, &fetch_err);
		if (!sum && fetch_err.code == VK_ERR_NOT_FOUND)
			return unsupported(err, versions, def, in, "it is not in the table, and upstream has no such release");
		if (!sum) {
			vk_error_set(err, VK_ERR_NETWORK, "cannot confirm Kubernetes '%s' upstream: %s", in, fetch_err.message);
			return vk_error_hint(err, "use a version of the table (virtkube version lists them), or --mirror");
		}
		out->note = untested_note(version, NULL, versions);
		out->version = TAKE_PTR(version);
		return 0;
	}

	if (!req->offline) {
		_cleanup_free_ char *url = xasprintf(VK_K8S_RELEASE_BASE "/%s", marker);

		answer = fetch_text(req, url, &fetch_err);
		if (answer && !upstream_version_valid(answer)) {
			vk_error_set(&fetch_err, VK_ERR_PARSE, "'%s' does not hold a version", url);
			free(answer);
			answer = NULL;
		}
	}
	if (answer) {
		out->tested = table_match(versions, answer + 1) && strcmp(table_match(versions, answer + 1), answer) == 0;
		if (!out->tested)
			out->note = untested_note(answer, in, versions);
		out->version = TAKE_PTR(answer);
		return 0;
	}
	if (!fallback) {
		if (req->offline)
			return unsupported(err, versions, def, in, "the table has no such minor, and --offline cannot ask upstream");
		vk_error_set(err, VK_ERR_NETWORK, "cannot resolve Kubernetes '%s' upstream: %s", in, fetch_err.message);
		return vk_error_hint(err, "use a version of the table (virtkube version lists them), or --mirror");
	}
	out->version = xstrdup(fallback);
	out->tested = true;
	if (req->offline)
		out->note = xasprintf("--offline: '%s' is %s from virtkube's table, not upstream's", in, fallback);
	else
		out->note = xasprintf("cannot ask upstream for '%s' (%s): using %s from virtkube's table", in,
				      fetch_err.message, fallback);
	return 0;
}

/* Replaces ${name} in TEMPLATE with the string NAME from VARS. */
static char *expand(const char *tmpl, json_t *vars, struct vk_error *err)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	for (const char *p = tmpl; *p;) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p, '}');
			_cleanup_free_ char *name = end ? xstrndup(p + 2, (size_t)(end - p - 2)) : NULL;
			const char *val = name ? jstr(vars, name) : NULL;

			if (!val) {
				vk_strbuf_release(&sb);
				vk_error_set(err, VK_ERR_PARSE, "the artifact table uses an unknown variable in '%s'", tmpl);
				return NULL;
			}
			/* values are not expanded again: one holding "${" would stay in a URL */
			if (strstr(val, "${")) {
				vk_strbuf_release(&sb);
				vk_error_set(err, VK_ERR_PARSE, "the artifact table's '%s' holds a placeholder: '%s'", name, val);
				return NULL;
			}
			vk_strbuf_addstr(&sb, val);
			p = end + 1;
			continue;
		}
		vk_strbuf_addch(&sb, *p++);
	}
	return vk_strbuf_detach(&sb, NULL);
}

static struct vk_artifact *list_add(struct vk_artifact_list *l)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	memset(&l->items[l->n], 0, sizeof(*l->items));
	return &l->items[l->n++];
}

static void artifact_clear(struct vk_artifact *a)
{
	free(a->id);
	free(a->version);
	free(a->url);
	free(a->checksum_url);
	free(a->checksum_name);
	free(a->verify);
}

void vk_artifact_list_free(struct vk_artifact_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		artifact_clear(&l->items[i]);
	free(l->items);
	free(l->kubernetes_version);
	free(l);
}

static int fill(struct vk_artifact *a, json_t *spec, json_t *vars, struct vk_error *err)
{
	const char *fields[] = { "id", "version", "url", "checksum_url", "checksum_name", "verify" };
	char **dest[] = { &a->id, &a->version, &a->url, &a->checksum_url, &a->checksum_name, &a->verify };

	for (size_t f = 0; f < VK_ARRAY_SIZE(fields); f++) {
		const char *v = jstr(spec, fields[f]);

		if (!v) {
			if (strcmp(fields[f], "checksum_name") == 0)
				continue;
			return vk_error_set(err, VK_ERR_PARSE, "the artifact table has an entry without '%s'", fields[f]);
		}
		*dest[f] = vars ? expand(v, vars, err) : xstrdup(v);
		if (!*dest[f])
			return -1;
	}
	return 0;
}

/* A release row for VERSION, which the table lacks (see artifacts.h): the
 * newest row's companions, crictl by VERSION's minor. A new reference. */
static json_t *untested_row(json_t *releases, const char *version)
{
	json_t *newest = json_array_get(releases, 0), *row, *r;
	int want[3], have[3], wn = 0, hn = 0;
	_cleanup_free_ char *minor = NULL;
	const char *crictl = NULL;
	size_t i;

	/* VERSION is valid: "vX.Y.Z" with an optional suffix parse_version stops at */
	minor = xstrndup(version + 1, strcspn(version + 1, "-"));
	if (!newest || !parse_version(minor, want, &wn) || !parse_version(jstr(newest, "kubernetes") + 1, have, &hn))
		return NULL;
	json_array_foreach(releases, i, r)
	{
		int rv[3], rn = 0;

		if (!crictl && parse_version(jstr(r, "kubernetes") + 1, rv, &rn) && rv[0] == want[0] && rv[1] == want[1])
			crictl = jstr(r, "crictl");
	}
	row = json_deep_copy(newest);
	json_object_set_new(row, "kubernetes", json_string(version));
	if (crictl)
		json_object_set_new(row, "crictl", json_string(crictl));
	else if (want[0] < have[0] || (want[0] == have[0] && want[1] < have[1]))
		json_object_set_new(row, "crictl", json_sprintf("v%d.%d.0", want[0], want[1]));
	return row;
}

struct vk_artifact_list *vk_artifacts_plan(const char *kubernetes_version, bool want_image, struct vk_error *err)
{
	return vk_artifacts_plan_image(kubernetes_version, want_image ? VK_ARTIFACTS_IMAGE_DEFAULT : NULL, err);
}

struct vk_artifact_list *vk_artifacts_plan_image(const char *kubernetes_version, const char *image_name,
						 struct vk_error *err)
{
	struct vk_artifact_list *l = xcalloc(1, sizeof(*l));

	if (image_name) {
		_cleanup_free_ char *rel = image_table(image_name);
		json_t *img = load_table(rel, err);

		if (!img || fill(list_add(l), img, NULL, err) < 0) {
			json_decref(img);
			vk_artifact_list_free(l);
			return NULL;
		}
		json_decref(img);
	}
	if (kubernetes_version) {
		json_t *t = load_table(VK_ARTIFACTS_RELEASES, err);
		json_t *rel = NULL, *r, *spec;
		size_t i;

		if (!t) {
			vk_artifact_list_free(l);
			return NULL;
		}
		json_array_foreach(json_object_get(t, "releases"), i, r)
		{
			/* the first row of that version (a table may repeat one) */
			if (!rel && jstr(r, "kubernetes") && strcmp(jstr(r, "kubernetes"), kubernetes_version) == 0)
				rel = json_incref(r);
		}
		if (!rel && upstream_version_valid(kubernetes_version))
			rel = untested_row(json_object_get(t, "releases"), kubernetes_version);
		if (!rel) {
			json_decref(t);
			vk_artifact_list_free(l);
			vk_error_set(err, VK_ERR_INVALID, "unsupported Kubernetes version '%s'", kubernetes_version);
			return NULL;
		}
		l->kubernetes_version = xstrdup(kubernetes_version);
		json_array_foreach(json_object_get(t, "artifacts"), i, spec)
		{
			if (fill(list_add(l), spec, rel, err) < 0) {
				json_decref(rel);
				json_decref(t);
				vk_artifact_list_free(l);
				return NULL;
			}
		}
		json_decref(rel);
		json_decref(t);
	}
	return l;
}

void vk_artifact_paths_release(struct vk_artifact_paths *p)
{
	if (!p)
		return;
	free(p->kubernetes_version);
	free(p->version_note);
	free(p->image);
	free(p->kubeadm);
	free(p->kubelet);
	free(p->kubectl);
	free(p->runc);
	free(p->containerd);
	free(p->cni_plugins);
	free(p->crictl);
	memset(p, 0, sizeof(*p));
}

int vk_artifacts_ensure(const struct vk_artifacts_request *req, struct vk_artifact_paths *out, struct vk_error *err)
{
	_cleanup_free_ char *version = NULL, *note = NULL;
	struct vk_artifact_list *plan;
	struct vk_cache_options co;
	struct vk_cache_item *items;
	char **paths;
	int rc;

	memset(out, 0, sizeof(*out));
	if (req->kubernetes_version) {
		struct vk_version_request vr = {
			.input = req->kubernetes_version, .mirror = req->mirror, .offline = req->offline, .fetch = req->fetch,
		};
		struct vk_version_choice choice;

		if (vk_kubernetes_version_choose(&vr, &choice, err) < 0)
			return -1;
		version = TAKE_PTR(choice.version);
		note = TAKE_PTR(choice.note);
		vk_version_choice_release(&choice);
	}
	plan = vk_artifacts_plan_image(version,
				       req->want_image ? (req->image_name ? req->image_name : VK_ARTIFACTS_IMAGE_DEFAULT) : NULL,
				       err);
	if (!plan)
		return -1;
	vk_cache_options_init(&co);
	if (req->fetch)
		co.fetch = *req->fetch;
	co.mirror = req->mirror;
	co.offline = req->offline;
	co.verify = req->verify;
	if (req->progress) {
		co.fetch.progress = req->progress;
		co.fetch.progress_data = req->progress_data;
	}
	items = xcalloc(plan->n + 1, sizeof(*items));
	paths = xcalloc(plan->n + 1, sizeof(char *));
	for (size_t i = 0; i < plan->n; i++) {
		items[i].name = plan->items[i].id;
		items[i].url = plan->items[i].url;
		items[i].checksum_url = plan->items[i].checksum_url;
		items[i].checksum_name = plan->items[i].checksum_name;
	}
	rc = vk_cache_ensure(req->home, items, plan->n, &co, paths, err);
	if (rc == 0) {
		struct {
			const char *id;
			char **dest;
		} map[] = {
			{ "image", &out->image },     { "kubeadm", &out->kubeadm },       { "kubelet", &out->kubelet },
			{ "kubectl", &out->kubectl }, { "runc", &out->runc },             { "containerd", &out->containerd },
			{ "cni-plugins", &out->cni_plugins }, { "crictl", &out->crictl },
		};

		for (size_t i = 0; i < plan->n; i++) {
			for (size_t m = 0; m < VK_ARRAY_SIZE(map); m++) {
				if (strcmp(map[m].id, plan->items[i].id) == 0 && !*map[m].dest) {
					*map[m].dest = TAKE_PTR(paths[i]);
					break;
				}
			}
		}
		out->kubernetes_version = TAKE_PTR(version);
		out->version_note = TAKE_PTR(note);
	}
	for (size_t i = 0; i < plan->n; i++)
		free(paths[i]);
	free(paths);
	free(items);
	vk_artifact_list_free(plan);
	return rc;
}
