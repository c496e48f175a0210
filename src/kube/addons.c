/* Addons: registry, enabled set in the profile, apply/wait/delete/state (see addons.h). */
#include "kube/addons.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/datadir.h"
#include "artifacts/imageset.h"
#include "vm/machine.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define ADDON_FILE "addon.json"

/* ------------------------------------------------------------ registry -- */

static void addon_clear(struct vk_addon *a)
{
	free(a->name);
	free(a->description);
	free(a->dir);
	vk_strv_free(a->manifests);
	vk_strv_free(a->images);
	for (size_t i = 0; i < a->nwaits; i++) {
		free(a->waits[i].kind);
		free(a->waits[i].ns);
		free(a->waits[i].name);
	}
	free(a->waits);
	for (size_t i = 0; i < a->nremoves; i++) {
		free(a->removes[i].api_version);
		free(a->removes[i].kind);
		free(a->removes[i].ns);
		free(a->removes[i].name);
	}
	free(a->removes);
}

void vk_addons_free(struct vk_addon_registry *reg)
{
	for (size_t i = 0; i < reg->n; i++)
		addon_clear(&reg->items[i]);
	free(reg->items);
	reg->items = NULL;
	reg->n = 0;
}

static char **string_list(json_t *arr, bool *bad)
{
	char **v = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_t *s;
	size_t i;

	*bad = !json_is_array(arr);
	json_array_foreach(arr, i, s) {
		if (!json_is_string(s) || !*json_string_value(s))
			*bad = true;
		v[i] = xstrdup(json_is_string(s) ? json_string_value(s) : "");
	}
	return v;
}

static bool safe_file_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int addon_read(struct vk_addon *a, const char *dir, const char *folder, struct vk_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/" ADDON_FILE, dir, folder);
	json_auto_t *doc = NULL;
	json_error_t jerr;
	json_t *waits, *w, *removes;
	const char *name, *desc;
	bool bad = false;
	size_t i;

	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return vk_error_set(err, VK_ERR_PARSE, "cannot read addon metadata '%s': line %d: %s", path, jerr.line,
				    jerr.text);
	name = json_string_value(json_object_get(doc, "name"));
	desc = json_string_value(json_object_get(doc, "description"));
	waits = json_object_get(doc, "wait");
	if (!name || strcmp(name, folder) != 0)
		return vk_error_set(err, VK_ERR_PARSE, "addon metadata '%s': \"name\" must be \"%s\", the folder's name",
				    path, folder);
	if (!desc || !json_is_boolean(json_object_get(doc, "default")) || !json_is_array(waits))
		return vk_error_set(err, VK_ERR_PARSE,
				    "addon metadata '%s': needs \"description\" (string), \"default\" (bool) and "
				    "\"wait\" (list)",
				    path);
	a->name = xstrdup(name);
	a->description = xstrdup(desc);
	a->default_on = json_is_true(json_object_get(doc, "default"));
	a->dir = xasprintf("%s/%s", dir, folder);
	a->manifests = string_list(json_object_get(doc, "manifests"), &bad);
	for (char **m = a->manifests; *m; m++)
		bad |= !safe_file_name(*m);
	if (bad || !a->manifests[0])
		return vk_error_set(err, VK_ERR_PARSE, "addon metadata '%s': \"manifests\" must list file names in its "
				    "folder", path);
	a->images = string_list(json_object_get(doc, "images"), &bad);
	if (bad)
		return vk_error_set(err, VK_ERR_PARSE, "addon metadata '%s': \"images\" must be a list of strings", path);
	a->waits = xcalloc(json_array_size(waits) + 1, sizeof(*a->waits));
	json_array_foreach(waits, i, w) {
		const char *kind = json_string_value(json_object_get(w, "kind"));
		const char *ns = json_string_value(json_object_get(w, "namespace"));
		const char *n = json_string_value(json_object_get(w, "name"));

		if (!kind || !ns || !n || !vk_kube_waitable(kind))
			return vk_error_set(err, VK_ERR_PARSE,
					    "addon metadata '%s': wait entry %zu needs a kind virtkube can wait for "
					    "(Deployment, DaemonSet, StatefulSet, Job, Service), namespace and name",
					    path, i + 1);
		a->waits[a->nwaits++] = (struct vk_addon_wait){ xstrdup(kind), xstrdup(ns), xstrdup(n) };
	}
	removes = json_object_get(doc, "removes");
	if (removes && !json_is_array(removes))
		return vk_error_set(err, VK_ERR_PARSE, "addon metadata '%s': \"removes\" must be a list", path);
	a->removes = xcalloc(json_array_size(removes) + 1, sizeof(*a->removes));
	json_array_foreach(removes, i, w) {
		const char *av = json_string_value(json_object_get(w, "apiVersion"));
		const char *kind = json_string_value(json_object_get(w, "kind"));
		const char *n = json_string_value(json_object_get(w, "name"));
		json_t *ns = json_object_get(w, "namespace");

		if (!av || !kind || !n || (ns && !json_is_string(ns)))
			return vk_error_set(err, VK_ERR_PARSE,
					    "addon metadata '%s': removes entry %zu needs apiVersion, kind and name "
					    "(strings) and may have namespace",
					    path, i + 1);
		a->removes[a->nremoves++] = (struct vk_addon_object){ xstrdup(av), xstrdup(kind),
								       ns ? xstrdup(json_string_value(ns)) : NULL,
								       xstrdup(n) };
	}
	return 0;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct vk_addon *)x)->name, ((const struct vk_addon *)y)->name);
}

int vk_addons_load(struct vk_addon_registry *reg, const char *dir, struct vk_error *err)
{
	_cleanup_free_ char *owned = dir ? NULL : vk_data_path("addons");
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (!dir)
		dir = owned;
	reg->items = NULL;
	reg->n = 0;
	d = opendir(dir);
	if (!d) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read the addons directory '%s'", dir);
		return vk_error_hint(err, "set $VIRTKUBE_DATADIR to where virtkube's data is installed");
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *meta = NULL;

		if (de->d_name[0] == '.')
			continue;
		meta = xasprintf("%s/%s/" ADDON_FILE, dir, de->d_name);
		if (!vk_path_exists(meta))
			continue;
		reg->items = xrealloc(reg->items, (reg->n + 1) * sizeof(*reg->items));
		memset(&reg->items[reg->n], 0, sizeof(reg->items[0]));
		reg->n++;
		if (addon_read(&reg->items[reg->n - 1], dir, de->d_name, err) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (rc < 0) {
		vk_addons_free(reg);
		return -1;
	}
	qsort(reg->items, reg->n, sizeof(*reg->items), by_name);
	return 0;
}

static char *names_list(const struct vk_addon_registry *reg)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	for (size_t i = 0; i < reg->n; i++)
		vk_strbuf_addf(&sb, "%s%s", i ? ", " : "", reg->items[i].name);
	return vk_strbuf_detach(&sb, NULL);
}

const struct vk_addon *vk_addons_find(const struct vk_addon_registry *reg, const char *name, struct vk_error *err)
{
	_cleanup_free_ char *list = NULL;

	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->items[i].name, name) == 0)
			return &reg->items[i];
	list = names_list(reg);
	vk_error_set(err, VK_ERR_NOT_FOUND, "unknown addon '%s'", name);
	vk_error_hint(err, "the addons are: %s ('virtkube addons list')", list);
	return NULL;
}

/* ------------------------------------------------------- enabled set -- */

char **vk_addons_enabled(const struct vk_profile *p, const struct vk_addon_registry *reg)
{
	char **v;
	size_t n = 0;

	if (p->cfg.addons)
		return vk_strv_copy((const char *const *)p->cfg.addons);
	v = xcalloc(reg->n + 1, sizeof(char *));
	for (size_t i = 0; i < reg->n; i++)
		if (reg->items[i].default_on)
			v[n++] = xstrdup(reg->items[i].name);
	return v;
}

bool vk_addons_is_enabled(const struct vk_profile *p, const struct vk_addon_registry *reg, const char *name)
{
	_cleanup_strv_ char **on = vk_addons_enabled(p, reg);

	for (char **s = on; *s; s++)
		if (strcmp(*s, name) == 0)
			return true;
	return false;
}

void vk_addons_set_enabled(struct vk_profile *p, const struct vk_addon_registry *reg, const char *name, bool on)
{
	_cleanup_strv_ char **cur = vk_addons_enabled(p, reg);
	_cleanup_free_ const char **next = NULL;
	size_t n = 0, kept = 0;
	bool have = false;

	while (cur[n])
		n++;
	next = xcalloc(n + 2, sizeof(char *));
	for (char **s = cur; *s; s++) {
		if (strcmp(*s, name) == 0) {
			have = true;
			if (!on)
				continue;
		}
		next[kept++] = *s;
	}
	if (on && !have)
		next[kept++] = name;
	vk_profile_set_addons(p, next);
}

/* ------------------------------------------------------------ applying -- */

int vk_addon_network_check(const char *name, const char *profile, bool bridged, struct vk_error *err)
{
	if (!bridged || strcmp(name, "loadbalancer") != 0)
		return 0;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "addon 'loadbalancer' cannot run on profile '%s': its nodes are on a host "
		     "bridge (--network-mode bridge), and the LoadBalancer pool is a route of virtkube's libvirt network, "
		     "which a bridged profile has not", profile);
	return vk_error_hint(err, "reach Services at a node's LAN address instead: 'virtkube -p %s service NAME --url' "
			     "(a NodePort)", profile);
}

/* The profile's LoadBalancer pool: as recorded, else the one its subnet
 * will get at its next start (a profile made before the pool), else "". */
static char *lb_pool_of(const struct vk_profile *p)
{
	char ip[16];
	uint32_t subnet;
	const char *cidr = p->cfg.subnet;

	if (p->cfg.lb_pool)
		return xstrdup(p->cfg.lb_pool);
	if (!cidr || strlen(cidr) < 9 || strlen(cidr) >= sizeof(ip) + 3)
		return xstrdup("");
	snprintf(ip, sizeof(ip), "%.*s", (int)(strlen(cidr) - 3), cidr);
	if (vk_ipv4_parse(ip, &subnet) < 0)
		return xstrdup("");
	vk_ipv4_format(vk_network_lb_pool(subnet), ip);
	return xasprintf("%s/%u", ip, VK_LB_POOL_PREFIX);
}

int vk_addon_manifest(const struct vk_addon *a, const struct vk_profile *p, struct vk_manifest *m,
		      struct vk_error *err)
{
	const char *ip = p->cfg.node_ip;
	const char *ver = p->cfg.kubernetes_version;
	_cleanup_free_ char *lb_pool = lb_pool_of(p);
	const struct vk_manifest_var vars[] = {
		{ "NODE_IP", ip ? ip : "" },
		{ "PROFILE", p->name },
		{ "DNS_DOMAIN", "cluster.local" },
		{ "DNS_SERVICE_IP", "10.96.0.10" },
		{ "KUBERNETES_VERSION", ver ? ver : "" },
		{ "LB_POOL", lb_pool },
		{ NULL, NULL },
	};

	for (char **f = a->manifests; *f; f++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", a->dir, *f);
		_cleanup_free_ char *display = xasprintf("addons/%s/%s", a->name, *f);

		if (vk_manifest_add_file(m, path, display, vars, err) < 0) {
			vk_manifest_clear(m);
			return vk_error_prefix(err, "addon '%s'", a->name);
		}
	}
	/* The images the cluster was given: --image-repository's, and the version's own CoreDNS. */
	for (size_t i = 0; i < m->n; i++)
		vk_images_rewrite_object(m->items[i].obj, p->cfg.image_repository, p->cfg.dns_image);
	vk_manifest_sort(m);
	return 0;
}

static void report(vk_addon_progress progress, void *data, const char *addon, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(vk_addon_progress progress, void *data, const char *addon, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (!progress)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	progress(data, addon, msg);
}

/* Waits until the cluster-scoped object KIND NAME (a Namespace or a
 * CustomResourceDefinition: both are deleted in the background, and refuse
 * new content meanwhile) is gone; with TERMINATING_ONLY one that is not
 * being deleted ends the wait at once. */
static int wait_gone(struct vk_kube *k, const struct vk_addon *a, const char *api_version, const char *kind,
		     const char *name, bool terminating_only, long timeout_ms, vk_addon_progress progress, void *data,
		     struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;
	bool told = false;
	long delay = 100;

	for (;;) {
		json_auto_t *obj = vk_kube_get(k, api_version, kind, NULL, name, err);

		if (!obj) {
			if (err && err->code == VK_ERR_NOT_FOUND) {
				vk_error_clear(err);
				return 0;
			}
			return vk_error_prefix(err, "addon '%s'", a->name);
		}
		if (terminating_only && !json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
			return 0;
		if (!told && terminating_only) {
			report(progress, data, a->name, "waiting for %s %s to finish terminating", kind, name);
			told = true;
		}
		if (vk_now_ms() >= deadline) {
			_cleanup_free_ char *lower = xstrdup(kind);

			for (char *c = lower; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			vk_error_set(err, VK_ERR_TIMEOUT, "addon '%s': timed out after %lds waiting for %s '%s' to be "
				     "deleted", a->name, (timeout_ms + 999) / 1000, kind, name);
			return vk_error_hint(err, "a %s goes once everything in it is deleted; 'kubectl get %s %s -o yaml' "
					     "shows what holds it", kind, lower, name);
		}
		nanosleep(&(struct timespec){ .tv_sec = delay / 1000, .tv_nsec = (delay % 1000) * 1000000L }, NULL);
		if (delay < 1000)
			delay *= 2;
	}
}

static int wait_namespace_gone(struct vk_kube *k, const struct vk_addon *a, const char *name, bool terminating_only,
			       long timeout_ms, vk_addon_progress progress, void *data, struct vk_error *err)
{
	return wait_gone(k, a, "v1", "Namespace", name, terminating_only, timeout_ms, progress, data, err);
}

static bool is_namespace(const struct vk_manifest_object *o)
{
	return strcmp(o->kind, "Namespace") == 0 && strcmp(o->api_version, "v1") == 0;
}

static bool is_crd(const struct vk_manifest_object *o)
{
	return strcmp(o->kind, "CustomResourceDefinition") == 0 &&
	       strcmp(o->api_version, "apiextensions.k8s.io/v1") == 0;
}

static bool crd_established(json_t *crd)
{
	json_t *conds = json_object_get(json_object_get(crd, "status"), "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Established") == 0)
			return strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True") == 0;
	return false;
}

/* Until a new CustomResourceDefinition is Established, the server does not
 * serve its kind: applying one of its objects then would fail. */
static int wait_crd_established(struct vk_kube *k, const struct vk_addon *a, const char *name, long timeout_ms,
				vk_addon_progress progress, void *data, struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;
	bool told = false;
	long delay = 50;

	for (;;) {
		json_auto_t *crd = vk_kube_get(k, "apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL, name, err);

		if (!crd)
			return vk_error_prefix(err, "addon '%s'", a->name);
		if (crd_established(crd))
			return 0;
		if (!told) {
			report(progress, data, a->name, "waiting for CustomResourceDefinition %s to be established", name);
			told = true;
		}
		if (vk_now_ms() >= deadline) {
			vk_error_set(err, VK_ERR_TIMEOUT, "addon '%s': timed out after %lds waiting for "
				     "CustomResourceDefinition '%s' to be established", a->name, (timeout_ms + 999) / 1000,
				     name);
			return vk_error_hint(err, "'kubectl get crd %s -o yaml' shows its conditions", name);
		}
		nanosleep(&(struct timespec){ .tv_sec = delay / 1000, .tv_nsec = (delay % 1000) * 1000000L }, NULL);
		if (delay < 1000)
			delay *= 2;
	}
}

/* Deletes what the addon's "removes" names (a retired addon's objects), then
 * waits until its Namespaces are gone: nothing of it is left running. */
static int remove_retired(struct vk_kube *k, const struct vk_addon *a, long timeout_ms, vk_addon_progress progress,
			  void *data, struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;
	bool *existed = xcalloc(a->nremoves + 1, sizeof(bool));
	size_t count = 0;
	int rc = 0;

	for (size_t i = 0; i < a->nremoves && rc == 0; i++) {
		const struct vk_addon_object *o = &a->removes[i];

		if (vk_kube_delete(k, o->api_version, o->kind, o->ns, o->name, "Background", &existed[i], err) < 0) {
			if (err && err->code == VK_ERR_NOT_FOUND) { /* a kind this server does not have: nothing to remove */
				vk_error_clear(err);
				continue;
			}
			rc = vk_error_prefix(err, "addon '%s': cannot remove what it replaces", a->name);
		}
		count += existed[i];
	}
	if (rc == 0 && count)
		report(progress, data, a->name, "removed %zu object%s of the addon it replaces", count, count == 1 ? "" : "s");
	for (size_t i = 0; i < a->nremoves && rc == 0; i++) {
		const struct vk_addon_object *o = &a->removes[i];
		long long left = deadline - vk_now_ms();

		if (existed[i] && strcmp(o->kind, "Namespace") == 0 && strcmp(o->api_version, "v1") == 0) {
			report(progress, data, a->name, "waiting for Namespace %s to be deleted", o->name);
			rc = wait_namespace_gone(k, a, o->name, false, left > 0 ? (long)left : 1, NULL, NULL, err);
		}
	}
	free(existed);
	return rc;
}

/* Whether the apply of O was refused for a field the server never lets
 * change, on a kind that holds no data and is safe to delete and make again:
 * a StorageClass (its provisioner, parameters, reclaim policy and binding
 * mode are fixed at creation; volumes keep working, they name it only). */
static bool replaceable(const struct vk_manifest_object *o, const struct vk_error *err)
{
	return err && err->code != VK_ERR_TLS && strcmp(o->kind, "StorageClass") == 0 &&
	       strstr(err->message, "Forbidden: updates to ") && strstr(err->message, " are forbidden");
}

int vk_addon_apply(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a, long timeout_ms,
		   vk_addon_progress progress, void *data, struct vk_error *err)
{
	_cleanup_manifest_ struct vk_manifest m = { 0 };
	bool *established;
	int rc = 0;

	if (vk_addon_manifest(a, p, &m, err) < 0)
		return -1;
	if (a->nremoves && remove_retired(k, a, timeout_ms, progress, data, err) < 0)
		return -1;
	/* A Namespace still terminating (a disable without waiting, just before)
	 * refuses new objects: applying now would leave half of the addon. */
	for (size_t i = 0; i < m.n; i++)
		if (is_namespace(&m.items[i]) &&
		    wait_namespace_gone(k, a, m.items[i].name, true, timeout_ms, progress, data, err) < 0)
			return -1;
	report(progress, data, a->name, "applying %zu objects", m.n);
	established = xcalloc(m.n + 1, sizeof(bool));
	for (size_t i = 0; i < m.n && rc == 0; i++) {
		json_t *out;

		/* The CRDs come first (vk_manifest_sort): before the first object
		 * after them, every one must be served. The apply's answer says
		 * whether it already is (an unchanged re-apply), else it is asked. */
		if (i > 0 && is_crd(&m.items[i - 1]) && !is_crd(&m.items[i]))
			for (size_t j = 0; j < i && rc == 0; j++)
				if (is_crd(&m.items[j]) && !established[j])
					rc = wait_crd_established(k, a, m.items[j].name, timeout_ms, progress, data, err);
		if (rc < 0)
			break;
		out = vk_kube_apply(k, m.items[i].obj, err);
		if (!out && replaceable(&m.items[i], err)) {
			/* what an earlier version of the addon made, with fields that
			 * cannot change (a StorageClass's provisioner): made again */
			report(progress, data, a->name, "replacing %s %s: %s", m.items[i].kind, m.items[i].name, err->message);
			if (vk_kube_delete(k, m.items[i].api_version, m.items[i].kind, m.items[i].ns, m.items[i].name, NULL, NULL,
					   err) == 0)
				out = vk_kube_apply(k, m.items[i].obj, err);
		}
		if (!out) {
			rc = vk_error_prefix(err, "addon '%s' (%s)", a->name, m.items[i].source);
			break;
		}
		established[i] = is_crd(&m.items[i]) && crd_established(out);
		json_decref(out);
	}
	free(established);
	return rc;
}

struct pods_progress {
	vk_addon_progress progress;
	void *data;
	const char *addon;
};

static void tell_pods(void *data, const char *what)
{
	struct pods_progress *pr = data;

	pr->progress(pr->data, pr->addon, what);
}

int vk_addon_wait(struct vk_kube *k, const struct vk_addon *a, long timeout_ms, vk_addon_progress progress,
		  void *data, struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;
	struct pods_progress pr = { progress, data, a->name };

	for (size_t i = 0; i < a->nwaits; i++) {
		const struct vk_addon_wait *w = &a->waits[i];
		long long left = deadline - vk_now_ms();

		report(progress, data, a->name, "waiting for %s %s/%s", w->kind, w->ns, w->name);
		if (vk_kube_wait_ready(k, w->kind, w->ns, w->name, left > 0 ? (long)left : 1, progress ? tell_pods : NULL,
				       &pr, err) < 0) {
			/* The cluster answered, the addon is what is not ready; a
			 * cluster that stops answering keeps its own error. */
			if (err && (err->code == VK_ERR_TIMEOUT || err->code == VK_ERR_FAILED))
				err->code = VK_ERR_ADDON_NOT_READY;
			return vk_error_prefix(err, "addon '%s' is not ready", a->name);
		}
	}
	return 0;
}

int vk_addon_delete(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a, bool wait,
		    long timeout_ms, size_t *deleted, struct vk_error *err)
{
	_cleanup_manifest_ struct vk_manifest m = { 0 };
	long long deadline = vk_now_ms() + timeout_ms;

	*deleted = 0;
	if (vk_addon_manifest(a, p, &m, err) < 0)
		return -1;
	for (size_t i = m.n; i-- > 0;) {
		struct vk_manifest_object *o = &m.items[i];
		bool gone = false;

		if (vk_kube_delete(k, o->api_version, o->kind, o->ns, o->name, "Background", &gone, err) < 0) {
			if (err && err->code == VK_ERR_NOT_FOUND) { /* its kind is not served (CRD gone): so is it */
				vk_error_clear(err);
				continue;
			}
			return vk_error_prefix(err, "addon '%s'", a->name);
		}
		*deleted += gone;
	}
	if (!wait)
		return 0;
	/* Namespaces and CRDs are deleted in the background; until they are
	 * gone, applying them (or into them) again is refused, so a disable
	 * waits for them. */
	for (size_t i = 0; i < m.n; i++) {
		long long left = deadline - vk_now_ms();

		if ((is_namespace(&m.items[i]) || is_crd(&m.items[i])) &&
		    wait_gone(k, a, m.items[i].api_version, m.items[i].kind, m.items[i].name, false,
			      left > 0 ? (long)left : 1, NULL, NULL, err) < 0)
			return -1;
	}
	vk_error_clear(err);
	return 0;
}

const char *vk_addon_state_name(enum vk_addon_state s)
{
	switch (s) {
	case VK_ADDON_NOT_APPLIED:
		return "Not applied";
	case VK_ADDON_PARTIAL:
		return "Partly applied";
	case VK_ADDON_PENDING:
		return "Pending";
	case VK_ADDON_READY:
		return "Ready";
	}
	return "?";
}

int vk_addon_state(struct vk_kube *k, const struct vk_profile *p, const struct vk_addon *a,
		   enum vk_addon_state *state, char **detail, struct vk_error *err)
{
	_cleanup_manifest_ struct vk_manifest m = { 0 };
	size_t present = 0;

	*detail = NULL;
	if (vk_addon_manifest(a, p, &m, err) < 0)
		return -1;
	/* Presence of every object is the truth (a wait entry alone would miss
	 * a deleted ConfigMap); with a handful of objects per addon over one
	 * kept-alive connection, this is quick. */
	for (size_t i = 0; i < m.n; i++) {
		struct vk_manifest_object *o = &m.items[i];
		json_t *obj = vk_kube_get(k, o->api_version, o->kind, o->ns, o->name, err);

		if (obj) {
			present++;
			json_decref(obj);
		} else if (err && err->code != VK_ERR_NOT_FOUND) {
			return -1;
		} else if (!*detail) {
			*detail = o->ns ? xasprintf("%s %s/%s is missing", o->kind, o->ns, o->name)
					: xasprintf("%s %s is missing", o->kind, o->name);
		}
	}
	if (present == 0) {
		free(*detail);
		*detail = NULL;
		*state = VK_ADDON_NOT_APPLIED;
		return 0;
	}
	if (present < m.n) {
		*state = VK_ADDON_PARTIAL;
		return 0;
	}
	for (size_t i = 0; i < a->nwaits; i++) {
		const struct vk_addon_wait *w = &a->waits[i];
		_cleanup_free_ char *why = NULL;
		bool ready = false;

		if (vk_kube_check_ready(k, w->kind, w->ns, w->name, &ready, &why, err) < 0) {
			if (err && err->code == VK_ERR_FAILED) { /* a failed Job */
				*state = VK_ADDON_PENDING;
				*detail = xstrdup(err->message);
				vk_error_clear(err);
				return 0;
			}
			return -1;
		}
		if (!ready) {
			*state = VK_ADDON_PENDING;
			*detail = xasprintf("%s %s/%s: %s", w->kind, w->ns, w->name, why ? why : "not ready");
			return 0;
		}
	}
	*state = VK_ADDON_READY;
	return 0;
}

int vk_addons_apply_enabled(struct vk_kube *k, struct vk_profile *p, const char *const *extra, bool no_wait,
			    long timeout_ms, vk_addon_progress progress, void *data, struct vk_error *err)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_strv_ char **names = NULL;
	_cleanup_strbuf_ struct vk_strbuf not_ready = VK_STRBUF_INIT;
	struct vk_error first = { 0 }; /* the first addon not ready: its hint is the one shown */
	long long deadline = vk_now_ms() + timeout_ms;

	if (vk_addons_load(&reg, NULL, err) < 0)
		return -1;
	for (const char *const *e = extra; e && *e; e++)
		if (!vk_addons_find(&reg, *e, err) || vk_addon_network_check(*e, p->name, vk_profile_bridged(p), err) < 0)
			return -1;
	for (const char *const *e = extra; e && *e; e++)
		vk_addons_set_enabled(p, &reg, *e, true);
	if (!p->cfg.addons) {
		/* record the defaults, so later default changes do not alter this profile */
		_cleanup_strv_ char **defaults = vk_addons_enabled(p, &reg);

		vk_profile_set_addons(p, (const char *const *)defaults);
	}
	names = vk_addons_enabled(p, &reg);
	for (char **n = names; *n; n++) {
		const struct vk_addon *a = vk_addons_find(&reg, *n, err);

		if (!a) {
			vk_error_prefix(err, "profile '%s' enables an addon this virtkube does not have", p->name);
			return -1;
		}
		if (vk_addon_apply(k, p, a, timeout_ms, progress, data, err) < 0)
			return -1;
	}
	if (no_wait)
		return 0;
	/* Every addon gets its wait: one that is not ready does not hide how
	 * the others are. */
	for (char **n = names; *n; n++) {
		const struct vk_addon *a = vk_addons_find(&reg, *n, err);
		long long left = deadline - vk_now_ms();
		struct vk_error one = { 0 };

		if (vk_addon_wait(k, a, left > 0 ? (long)left : 1, progress, data, &one) == 0)
			continue;
		if (one.code != VK_ERR_ADDON_NOT_READY) {
			if (err)
				*err = one;
			return -1;
		}
		if (!not_ready.len)
			first = one;
		vk_strbuf_addf(&not_ready, "%s%s", not_ready.len ? "; " : "", one.message);
	}
	if (!not_ready.len)
		return 0;
	vk_error_set(err, VK_ERR_ADDON_NOT_READY, "%s", not_ready.buf);
	if (first.hint[0])
		vk_error_hint(err, "%s", first.hint);
	return -1;
}

char **vk_addons_parse_list(const char *csv, struct vk_error *err)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	char **v = xcalloc(strlen(csv) / 2 + 2, sizeof(char *));
	size_t n = 0;
	const char *s = csv;

	if (vk_addons_load(&reg, NULL, err) < 0) {
		free(v);
		return NULL;
	}
	for (;;) {
		size_t len = strcspn(s, ",");
		_cleanup_free_ char *name = xstrndup(s, len);

		if (!*name || !vk_addons_find(&reg, name, err)) {
			if (!*name)
				vk_error_set(err, VK_ERR_INVALID, "empty addon name in '%s'", csv);
			else if (err)
				err->code = VK_ERR_INVALID; /* the user's input, not a missing thing */
			vk_strv_free(v);
			return NULL;
		}
		v[n++] = TAKE_PTR(name);
		if (!s[len])
			break;
		s += len + 1;
	}
	return v;
}

/* ------------------------------------------------------- login tokens -- */

char *vk_serviceaccount_token(struct vk_kube *k, const char *ns, const char *name, long duration_s, char **expires,
			      struct vk_error *err)
{
	static const struct vk_kube_resource sa = { "v1", "ServiceAccount", "serviceaccounts", true };
	_cleanup_free_ char *base = vk_kube_resource_path(&sa, ns, name);
	_cleanup_free_ char *path = xasprintf("%s/token", base);
	_cleanup_free_ char *body = NULL, *resp = NULL;
	json_auto_t *req = json_pack("{s:s, s:s, s:{s:I}}", "apiVersion", "authentication.k8s.io/v1", "kind",
				     "TokenRequest", "spec", "expirationSeconds", (json_int_t)duration_s);
	json_auto_t *doc = NULL;
	const char *token, *message;
	long status = 0;

	if (expires)
		*expires = NULL;
	body = json_dumps(req, JSON_COMPACT);
	if (vk_kube_request(k, "POST", path, "application/json", body, strlen(body), &status, &resp, err) < 0)
		return NULL;
	doc = json_loads(resp ? resp : "", 0, NULL);
	message = json_string_value(json_object_get(doc, "message"));
	if (status == 404) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "cannot make a token for ServiceAccount '%s/%s': it does not exist", ns,
			     name);
		return NULL;
	}
	if (status != 200 && status != 201) {
		vk_error_set(err, VK_ERR_API, "cannot make a token for ServiceAccount '%s/%s': %s", ns, name,
			     message ? message : resp && *resp ? resp : "no answer");
		return NULL;
	}
	token = json_string_value(json_object_get(json_object_get(doc, "status"), "token"));
	if (!token || !*token) {
		vk_error_set(err, VK_ERR_API, "the API server's TokenRequest answer for ServiceAccount '%s/%s' has no token",
			     ns, name);
		return NULL;
	}
	if (expires && json_is_string(json_object_get(json_object_get(doc, "status"), "expirationTimestamp")))
		*expires = xstrdup(
			json_string_value(json_object_get(json_object_get(doc, "status"), "expirationTimestamp")));
	return xstrdup(token);
}
