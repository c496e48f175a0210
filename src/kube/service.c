/* Kubernetes Services as typed data (see service.h): the API's JSON is read here, so the front end never reads it. */
#include "kube/service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* KEY of OBJ as a new string: DEF (may be NULL) when it is missing or not a string. */
static char *dup_string(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));

	s = s ? s : def;
	return s ? xstrdup(s) : NULL;
}

/* KEY of OBJ as a port number (1-65535), or 0. */
static int port_number(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	return n >= 1 && n <= 65535 ? (int)n : 0;
}

static void read_port(const json_t *p, struct vk_service_port *out)
{
	const json_t *tp = json_object_get(p, "targetPort");

	out->name = dup_string(p, "name", "");
	out->protocol = dup_string(p, "protocol", "TCP");
	out->port = port_number(p, "port");
	out->node_port = port_number(p, "nodePort");
	/* an IntOrString; the API defaults it to the port */
	if (json_is_string(tp))
		out->target_port = xstrdup(json_string_value(tp));
	else if (json_is_integer(tp))
		out->target_port = xasprintf("%lld", (long long)json_integer_value(tp));
	else
		out->target_port = xasprintf("%d", out->port);
}

/* Fills SVC from OBJ (an object). */
static void read_service(const json_t *obj, struct vk_service *svc)
{
	const json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	const json_t *ports = json_object_get(spec, "ports");
	const json_t *ingress = json_object_get(json_object_get(json_object_get(obj, "status"), "loadBalancer"),
						"ingress");
	const json_t *v;
	size_t i;

	svc->name = dup_string(md, "name", "");
	svc->ns = dup_string(md, "namespace", "");
	svc->type = dup_string(spec, "type", "ClusterIP");
	svc->cluster_ip = dup_string(spec, "clusterIP", NULL);
	svc->ports = xcalloc(json_array_size(ports) + 1, sizeof(*svc->ports));
	json_array_foreach(ports, i, v)
		if (json_is_object(v))
			read_port(v, &svc->ports[svc->nports++]);
	svc->ingress = xcalloc(json_array_size(ingress) + 1, sizeof(*svc->ingress));
	json_array_foreach(ingress, i, v) {
		struct vk_service_ingress *in = &svc->ingress[svc->ningress];

		in->ip = dup_string(v, "ip", NULL);
		in->hostname = dup_string(v, "hostname", NULL);
		if (in->ip || in->hostname)
			svc->ningress++;
	}
}

static void clear_service(struct vk_service *svc)
{
	for (size_t i = 0; i < svc->nports; i++) {
		free(svc->ports[i].name);
		free(svc->ports[i].protocol);
		free(svc->ports[i].target_port);
	}
	for (size_t i = 0; i < svc->ningress; i++) {
		free(svc->ingress[i].ip);
		free(svc->ingress[i].hostname);
	}
	free(svc->ports);
	free(svc->ingress);
	free(svc->name);
	free(svc->ns);
	free(svc->type);
	free(svc->cluster_ip);
}

/* What V is, for a message. */
static const char *json_kind(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

struct vk_service *vk_service_from_json(const json_t *obj, struct vk_error *err)
{
	struct vk_service *svc;

	if (!json_is_object(obj)) {
		vk_error_set(err, VK_ERR_PARSE, "a Service is a JSON object, not %s", json_kind(obj));
		return NULL;
	}
	svc = xcalloc(1, sizeof(*svc));
	read_service(obj, svc);
	return svc;
}

int vk_service_list_from_json(const json_t *list, struct vk_service_list *out, struct vk_error *err)
{
	const json_t *items = json_object_get(list, "items"), *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(list))
		return vk_error_set(err, VK_ERR_PARSE, "a ServiceList is a JSON object, not %s", json_kind(list));
	out->items = xcalloc(json_array_size(items) + 1, sizeof(*out->items));
	json_array_foreach(items, i, v)
		if (json_is_object(v))
			read_service(v, &out->items[out->n++]);
	return 0;
}

void vk_service_free(struct vk_service *svc)
{
	if (!svc)
		return;
	clear_service(svc);
	free(svc);
}

void vk_service_list_free(struct vk_service_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		clear_service(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------ the API -- */

/* Whether namespace NS exists; a missing one is VK_ERR_NOT_FOUND saying so
 * (LOOKING_FOR, may be NULL, says what was looked for in it). */
static int require_namespace(struct vk_kube *k, const char *ns, const char *looking_for, struct vk_error *err)
{
	json_t *nsobj = vk_kube_get(k, "v1", "Namespace", NULL, ns, err);

	if (nsobj) {
		json_decref(nsobj);
		return 0;
	}
	if (err->code == VK_ERR_NOT_FOUND) {
		if (looking_for)
			vk_error_set(err, VK_ERR_NOT_FOUND, "namespace '%s' does not exist (looking for %s)", ns,
				     looking_for);
		else
			vk_error_set(err, VK_ERR_NOT_FOUND, "namespace '%s' does not exist", ns);
		vk_error_hint(err, "'kubectl get namespaces' lists them");
	}
	return -1;
}

struct vk_service *vk_service_get(struct vk_kube *k, const char *ns, const char *name, struct vk_error *err)
{
	json_auto_t *obj = vk_kube_get(k, "v1", "Service", ns, name, err);
	struct vk_service *svc;

	if (!obj)
		return NULL;
	svc = vk_service_from_json(obj, err);
	if (!svc) {
		vk_error_prefix(err, "cannot read Service '%s/%s'", ns, name);
		return NULL;
	}
	/* the object at that path is that Service, whatever its metadata says */
	if (!*svc->name) {
		free(svc->name);
		svc->name = xstrdup(name);
	}
	if (!*svc->ns) {
		free(svc->ns);
		svc->ns = xstrdup(ns);
	}
	return svc;
}

struct vk_service *vk_service_wait(struct vk_kube *k, const char *ns, const char *name, long wait_s,
				   struct vk_error *err)
{
	long long deadline = vk_now_ms() + wait_s * 1000;
	_cleanup_free_ char *what = NULL;

	for (;;) {
		struct vk_service *svc = vk_service_get(k, ns, name, err);

		if (svc || err->code != VK_ERR_NOT_FOUND)
			return svc;
		if (vk_now_ms() >= deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000000L }, NULL);
	}
	what = xasprintf("service '%s'", name);
	if (require_namespace(k, ns, what, err) == 0) {
		if (wait_s > 0)
			vk_error_set(err, VK_ERR_NOT_FOUND, "service '%s' was not found in namespace '%s' within %lds",
				     name, ns, wait_s);
		else
			vk_error_set(err, VK_ERR_NOT_FOUND, "service '%s' was not found in namespace '%s'", name, ns);
		vk_error_hint(err, "'virtkube service list' shows the services; -n picks the namespace");
	}
	return NULL;
}

int vk_service_list(struct vk_kube *k, const char *ns, struct vk_service_list *out, struct vk_error *err)
{
	json_auto_t *list = vk_kube_list(k, "v1", "Service", ns, NULL, err);

	memset(out, 0, sizeof(*out));
	if (!list)
		return -1;
	if (vk_service_list_from_json(list, out, err) < 0)
		return vk_error_prefix(err, "cannot read the Services");
	/* The API lists nothing, not an error, for a namespace that does not
	 * exist: tell the two apart, as vk_service_wait does. */
	if (ns && out->n == 0 && require_namespace(k, ns, NULL, err) < 0)
		return -1;
	return 0;
}

/* ----------------------------------------------------------- the URLs -- */

bool vk_service_has_node_ports(const struct vk_service *svc)
{
	return strcmp(svc->type, "NodePort") == 0 || strcmp(svc->type, "LoadBalancer") == 0;
}

/* A host in a URL: an IPv6 address goes in brackets. */
static bool needs_brackets(const char *ip)
{
	return strchr(ip, ':') != NULL;
}

char *vk_service_node_url(const char *node_ip, int node_port)
{
	return xasprintf(needs_brackets(node_ip) ? "http://[%s]:%d" : "http://%s:%d", node_ip, node_port);
}

/* Expands {{.IP}}, {{.Port}} and {{.Name}} in TPL; an unknown field is named in *BAD. */
static char *expand(const char *tpl, const char *ip, int port, const char *name, char **bad)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	const char *s = tpl;

	*bad = NULL;
	while (*s) {
		const char *open = strstr(s, "{{");
		const char *close, *f, *e;

		if (!open) {
			vk_strbuf_addstr(&sb, s);
			break;
		}
		vk_strbuf_add(&sb, s, (size_t)(open - s));
		close = strstr(open + 2, "}}");
		if (!close) {
			*bad = xstrdup(open);
			break;
		}
		for (f = open + 2; *f == ' '; f++)
			;
		for (e = close; e > f && e[-1] == ' '; e--)
			;
		if ((size_t)(e - f) == 3 && strncmp(f, ".IP", 3) == 0)
			vk_strbuf_addstr(&sb, ip);
		else if ((size_t)(e - f) == 5 && strncmp(f, ".Port", 5) == 0)
			vk_strbuf_addf(&sb, "%d", port);
		else if ((size_t)(e - f) == 5 && strncmp(f, ".Name", 5) == 0)
			vk_strbuf_addstr(&sb, name);
		else {
			*bad = xstrndup(open, (size_t)(close + 2 - open));
			break;
		}
		s = close + 2;
	}
	if (*bad) {
		vk_strbuf_release(&sb);
		return NULL;
	}
	return vk_strbuf_detach(&sb, NULL);
}

const char *vk_service_lb_address(const struct vk_service *svc)
{
	if (strcmp(svc->type, "LoadBalancer") != 0)
		return NULL;
	for (size_t i = 0; i < svc->ningress; i++) {
		const char *ip = svc->ingress[i].ip, *host = svc->ingress[i].hostname;

		if (ip && *ip)
			return ip;
		if (host && *host)
			return host;
	}
	return NULL;
}

char *vk_service_port_url(const struct vk_service *svc, const struct vk_service_port *p, const char *node_ip)
{
	const char *lb = vk_service_lb_address(svc);

	if (lb)
		return p->port ? vk_service_node_url(lb, p->port) : NULL;
	return p->node_port && vk_service_has_node_ports(svc) ? vk_service_node_url(node_ip, p->node_port) : NULL;
}

char **vk_service_urls(const struct vk_service *svc, const char *node_ip, const char *format, bool https,
		       struct vk_error *err)
{
	_cleanup_strv_ char **urls = xcalloc(svc->nports + 1, sizeof(*urls));
	const char *lb = vk_service_lb_address(svc);
	size_t n = 0;

	if (!vk_service_has_node_ports(svc)) {
		vk_error_set(err, VK_ERR_FAILED, "service '%s/%s' is of type %s and has no node port", svc->ns, svc->name,
			     svc->type);
		vk_error_hint(err, "expose it on the node with 'kubectl -n %s expose service %s --type=NodePort "
			      "--name=%s-nodeport' (or set its spec.type to NodePort)", svc->ns, svc->name, svc->name);
		return NULL;
	}
	/* A LoadBalancer address answers on the Service's own ports. */
	if (lb)
		node_ip = lb;
	if (!format)
		format = needs_brackets(node_ip) ? "http://[{{.IP}}]:{{.Port}}" : VK_SERVICE_URL_FORMAT;
	for (size_t i = 0; i < svc->nports; i++) {
		const struct vk_service_port *p = &svc->ports[i];
		_cleanup_free_ char *line = NULL, *bad = NULL;
		int port = lb ? p->port : p->node_port;

		if (!port)
			continue;
		line = expand(format, node_ip, port, p->name, &bad);
		if (!line) {
			vk_error_set(err, VK_ERR_INVALID, "unknown or unterminated field '%s' (use {{.IP}}, {{.Port}}, "
				     "{{.Name}})", bad);
			return NULL;
		}
		urls[n++] = https && strncmp(line, "http://", 7) == 0 ? xasprintf("https://%s", line + 7) : TAKE_PTR(line);
	}
	if (n == 0) {
		vk_error_set(err, VK_ERR_FAILED, "service '%s/%s' has no node ports", svc->ns, svc->name);
		vk_error_hint(err, "its ports have no nodePort; 'kubectl -n NS get service NAME -o yaml' shows them");
		return NULL;
	}
	return TAKE_PTR(urls);
}
