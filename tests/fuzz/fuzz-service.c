/* Fuzz target: Service and ServiceList JSON (vk_service_from_json, vk_service_list_from_json, vk_service_urls); what reads is what the JSON says. */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "kube/service.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define NODE_IP "192.0.2.1"

/* Whether S is KEY of OBJ when that is a string, else DEF (NULL: S must be NULL). */
static bool same_string(const char *s, const json_t *obj, const char *key, const char *def)
{
	const char *want = json_string_value(json_object_get(obj, key));

	want = want ? want : def;
	return want ? s && strcmp(s, want) == 0 : !s;
}

/* KEY of OBJ as the reader must see it: a port number, or 0. */
static int want_port(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 65535
		       ? (int)json_integer_value(v)
		       : 0;
}

static size_t count_objects(const json_t *a)
{
	size_t n = 0, i;
	const json_t *v;

	json_array_foreach(a, i, v)
		n += json_is_object(v);
	return n;
}

/* SVC against OBJ, the JSON it was read from. */
static void check_service(const struct vk_service *svc, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	const json_t *ports = json_object_get(spec, "ports"), *v;
	const json_t *ingress = json_object_get(json_object_get(json_object_get(obj, "status"), "loadBalancer"),
						"ingress");
	struct vk_error err = { 0 };
	_cleanup_strv_ char **urls = NULL;
	size_t i, k = 0, with_node_port = 0, with_port = 0, lines = 0;
	const char *lb;

	fuzz_assert(same_string(svc->name, md, "name", ""), "the name is not the JSON's");
	fuzz_assert(same_string(svc->ns, md, "namespace", ""), "the namespace is not the JSON's");
	fuzz_assert(same_string(svc->type, spec, "type", "ClusterIP"), "the type is not the JSON's");
	fuzz_assert(same_string(svc->cluster_ip, spec, "clusterIP", NULL), "the cluster IP is not the JSON's");
	fuzz_assert(svc->nports == count_objects(ports), "%zu ports read, the JSON has %zu", svc->nports,
		    count_objects(ports));
	json_array_foreach(ports, i, v) {
		const struct vk_service_port *p = &svc->ports[k];
		const json_t *tp = json_object_get(v, "targetPort");

		if (!json_is_object(v))
			continue;
		k++;
		fuzz_assert(same_string(p->name, v, "name", ""), "port %zu: the name is not the JSON's", i);
		fuzz_assert(same_string(p->protocol, v, "protocol", "TCP"), "port %zu: the protocol is not the JSON's", i);
		fuzz_assert(p->port == want_port(v, "port"), "port %zu: port %d is not the JSON's", i, p->port);
		fuzz_assert(p->node_port == want_port(v, "nodePort"), "port %zu: nodePort %d is not the JSON's", i,
			    p->node_port);
		fuzz_assert(p->target_port, "port %zu: no targetPort text", i);
		if (json_is_string(tp))
			fuzz_assert(!strcmp(p->target_port, json_string_value(tp)), "port %zu: the named targetPort differs", i);
		else if (json_is_integer(tp))
			fuzz_assert(atoll(p->target_port) == json_integer_value(tp), "port %zu: targetPort '%s' is not the JSON's",
				    i, p->target_port);
		else
			fuzz_assert(atoi(p->target_port) == p->port, "port %zu: targetPort '%s' is not the port", i,
				    p->target_port);
		with_node_port += p->node_port != 0;
		with_port += p->port != 0;
	}
	fuzz_assert(svc->ningress <= json_array_size(ingress), "more ingress addresses than the JSON has");
	for (i = 0; i < svc->ningress; i++)
		fuzz_assert(svc->ingress[i].ip || svc->ingress[i].hostname, "ingress %zu has neither IP nor hostname", i);

	/* the URLs: one per node port, each the format filled with that port's fields; a LoadBalancer
	 * with an address: one per port, on that address and the Service's own port */
	lb = vk_service_lb_address(svc);
	fuzz_assert(!lb || (!strcmp(svc->type, "LoadBalancer") && *lb), "an address for a %s Service", svc->type);
	urls = vk_service_urls(svc, NODE_IP, "{{.Name}}|{{.IP}}|{{ .Port }}", false, &err);
	if (!vk_service_has_node_ports(svc) || !(lb ? with_port : with_node_port)) {
		fuzz_assert(!urls && err.code == VK_ERR_FAILED && err.hint[0], "URLs for a Service without node ports");
		return;
	}
	fuzz_assert(urls, "no URLs for %zu ports: %s", lb ? with_port : with_node_port, err.message);
	for (i = 0; i < svc->nports; i++) {
		_cleanup_free_ char *want = NULL;
		int port = lb ? svc->ports[i].port : svc->ports[i].node_port;

		if (!port)
			continue;
		want = xasprintf("%s|%s|%d", svc->ports[i].name, lb ? lb : NODE_IP, port);
		fuzz_assert(urls[lines] && !strcmp(urls[lines], want), "URL %zu is '%s', not '%s'", lines,
			    urls[lines] ?: "(none)", want);
		lines++;
	}
	fuzz_assert(!urls[lines], "more URLs than ports");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_auto_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct vk_error err = { 0 };
	struct vk_service *svc;
	struct vk_service_list list = { 0 };
	const json_t *items, *v;
	size_t i, k = 0;

	if (!doc)
		return 0;
	svc = vk_service_from_json(doc, &err);
	fuzz_assert(!svc == !json_is_object(doc), "an object must read as a Service, anything else not");
	if (!svc) {
		fuzz_assert(err.code == VK_ERR_PARSE && err.message[0], "a refused Service says nothing");
		return 0;
	}
	check_service(svc, doc);
	vk_service_free(svc);

	/* the same bytes as a ServiceList: every item that is an object, in order */
	fuzz_assert(vk_service_list_from_json(doc, &list, &err) == 0, "an object did not read as a ServiceList");
	items = json_object_get(doc, "items");
	fuzz_assert(list.n == count_objects(items), "%zu Services read, the list has %zu", list.n, count_objects(items));
	json_array_foreach(items, i, v)
		if (json_is_object(v))
			check_service(&list.items[k++], v);
	vk_service_list_free(&list);
	return 0;
}
