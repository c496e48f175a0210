/* Unit tests for src/kube/service: reading Service and ServiceList JSON (odd input included), and the node-port URLs. */
#include <jansson.h>
#include <string.h>

#include "kube/service.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* TEXT read as a Service; NULL (and ERR filled) when it is not one. */
static struct vk_service *parse(const char *text, struct vk_error *err)
{
	json_auto_t *obj = json_loads(text, JSON_DECODE_ANY, NULL);

	if (!obj) {
		printf("Bail out! test JSON does not parse: %s\n", text);
		exit(1);
	}
	return vk_service_from_json(obj, err);
}

static void test_full(void)
{
	struct vk_error err = { 0 };
	_cleanup_service_ struct vk_service *s = parse(
		"{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"web\", \"namespace\": \"shop\"},"
		" \"spec\": {\"type\": \"LoadBalancer\", \"clusterIP\": \"10.96.4.2\", \"ports\": ["
		"  {\"name\": \"http\", \"protocol\": \"TCP\", \"port\": 80, \"targetPort\": \"web\", \"nodePort\": 31080},"
		"  {\"name\": \"dns\", \"protocol\": \"UDP\", \"port\": 53, \"targetPort\": 5353, \"nodePort\": 31053}]},"
		" \"status\": {\"loadBalancer\": {\"ingress\": [{\"ip\": \"192.0.2.7\"}, {\"hostname\": \"lb.example\"},"
		"  {\"ip\": \"192.0.2.8\", \"hostname\": \"both.example\"}]}}}",
		&err);

	if (!ok(s, "a full LoadBalancer Service reads")) {
		printf("#   %s\n", err.message);
		return;
	}
	is_str(s->name, "web", "name");
	is_str(s->ns, "shop", "namespace");
	is_str(s->type, "LoadBalancer", "type");
	is_str(s->cluster_ip, "10.96.4.2", "cluster IP");
	ok(vk_service_has_node_ports(s), "a LoadBalancer has node ports");
	is_int(s->nports, 2, "two ports");
	is_str(s->ports[0].name, "http", "port 0: name");
	is_str(s->ports[0].protocol, "TCP", "port 0: protocol");
	is_int(s->ports[0].port, 80, "port 0: port");
	is_int(s->ports[0].node_port, 31080, "port 0: nodePort");
	is_str(s->ports[0].target_port, "web", "port 0: a named targetPort");
	is_str(s->ports[1].protocol, "UDP", "port 1: protocol");
	is_str(s->ports[1].target_port, "5353", "port 1: a numbered targetPort as text");
	is_int(s->ningress, 3, "three ingress addresses");
	is_str(s->ingress[0].ip, "192.0.2.7", "ingress 0: an IP");
	ok(!s->ingress[0].hostname, "and no hostname");
	ok(!s->ingress[1].ip, "ingress 1: no IP");
	is_str(s->ingress[1].hostname, "lb.example", "but a hostname");
	is_str(s->ingress[2].ip, "192.0.2.8", "ingress 2: both (IP)");
	is_str(s->ingress[2].hostname, "both.example", "ingress 2: both (hostname)");
}

static void test_defaults(void)
{
	struct vk_error err = { 0 };
	_cleanup_service_ struct vk_service *s = parse("{\"spec\": {\"ports\": [{\"port\": 8080}]}}", &err);

	if (!ok(s, "a Service with only a port reads"))
		return;
	is_str(s->name, "", "a missing name is empty");
	is_str(s->ns, "", "a missing namespace is empty");
	is_str(s->type, "ClusterIP", "the type defaults to ClusterIP, as the API's");
	ok(!s->cluster_ip, "no cluster IP");
	ok(!vk_service_has_node_ports(s), "a ClusterIP Service has no node ports");
	is_int(s->nports, 1, "one port");
	is_str(s->ports[0].name, "", "unnamed");
	is_str(s->ports[0].protocol, "TCP", "the protocol defaults to TCP");
	is_int(s->ports[0].node_port, 0, "no nodePort");
	is_str(s->ports[0].target_port, "8080", "the targetPort defaults to the port");
	is_int(s->ningress, 0, "no ingress");
}

static void test_odd(void)
{
	struct vk_error err = { 0 };
	struct vk_service *s;

	s = parse("[]", &err);
	ok(!s && err.code == VK_ERR_PARSE, "an array is not a Service");
	contains(err.message, "a Service is a JSON object, not an array", "saying what it is");
	s = parse("\"Service\"", &err);
	ok(!s, "nor a string");
	ok(!vk_service_from_json(NULL, &err), "nor nothing");

	s = parse("{}", &err);
	ok(s && s->nports == 0 && s->ningress == 0 && !strcmp(s->type, "ClusterIP"), "an empty object: no ports");
	vk_service_free(s);

	s = parse("{\"metadata\": {\"name\": 7, \"namespace\": null}, \"spec\": {\"type\": 3, \"clusterIP\": false,"
		  " \"ports\": {\"port\": 80}}, \"status\": {\"loadBalancer\": {\"ingress\": {\"ip\": \"1.2.3.4\"}}}}",
		  &err);
	if (ok(s, "fields of the wrong type read")) {
		is_str(s->name, "", "a number as name is missing");
		is_str(s->type, "ClusterIP", "a number as type is missing");
		ok(!s->cluster_ip, "false as clusterIP is missing");
		is_int(s->nports, 0, "ports as an object are no ports");
		is_int(s->ningress, 0, "ingress as an object is none");
		vk_service_free(s);
	}

	s = parse("{\"spec\": {\"type\": \"NodePort\", \"ports\": [1, null, \"x\", {\"port\": 70000, \"nodePort\": -5,"
		  " \"targetPort\": 1.5, \"name\": [], \"protocol\": 6}, {\"port\": \"80\", \"nodePort\": 30000.0},"
		  " {\"nodePort\": 65535, \"targetPort\": \"\"}]}, \"status\": {\"loadBalancer\": {\"ingress\": [{}, 3,"
		  " {\"ip\": 4, \"hostname\": \"h\"}]}}}",
		  &err);
	if (ok(s, "ports and ingress of odd entries read")) {
		is_int(s->nports, 3, "entries that are not objects are left out");
		is_int(s->ports[0].port, 0, "a port out of range is none");
		is_int(s->ports[0].node_port, 0, "a negative nodePort is none");
		is_str(s->ports[0].target_port, "0", "a real targetPort falls back to the port (none)");
		is_str(s->ports[0].name, "", "an array as name is none");
		is_str(s->ports[0].protocol, "TCP", "a number as protocol is TCP");
		is_int(s->ports[1].port, 0, "a port as a string is none");
		is_int(s->ports[1].node_port, 0, "a nodePort as a real is none");
		is_int(s->ports[2].node_port, 65535, "nodePort 65535 is a port");
		is_str(s->ports[2].target_port, "", "an empty named targetPort stays empty");
		is_int(s->ningress, 1, "ingress entries without an IP or hostname are left out");
		ok(!s->ingress[0].ip, "a number as ip is none");
		is_str(s->ingress[0].hostname, "h", "the hostname is kept");
		vk_service_free(s);
	}
}

static void test_list(void)
{
	struct vk_error err = { 0 };
	_cleanup_service_list_ struct vk_service_list l = { 0 };
	json_auto_t *list = json_loads("{\"kind\": \"ServiceList\", \"items\": [{\"metadata\": {\"name\": \"a\"}}, 5,"
				       " {\"metadata\": {\"name\": \"b\"}, \"spec\": {\"type\": \"NodePort\"}}]}",
				       0, NULL);
	json_auto_t *empty = json_loads("{\"kind\": \"ServiceList\"}", 0, NULL);
	json_auto_t *wrong = json_loads("[{\"metadata\": {\"name\": \"a\"}}]", 0, NULL);

	ok(vk_service_list_from_json(list, &l, &err) == 0, "a ServiceList reads");
	is_int(l.n, 2, "its Services, an item that is not one left out");
	is_str(l.items[0].name, "a", "in order (first)");
	is_str(l.items[1].name, "b", "in order (second)");
	ok(vk_service_has_node_ports(&l.items[1]) && l.items[1].nports == 0, "a NodePort Service without ports");
	vk_service_list_free(&l);
	ok(vk_service_list_from_json(empty, &l, &err) == 0 && l.n == 0, "a list without items is empty");
	vk_service_list_free(&l);
	ok(vk_service_list_from_json(wrong, &l, &err) < 0 && err.code == VK_ERR_PARSE, "an array is not a ServiceList");
	ok(l.n == 0 && !l.items, "and leaves nothing to free");
}

static void test_urls(void)
{
	struct vk_error err = { 0 };
	_cleanup_service_ struct vk_service *s = parse(
		"{\"metadata\": {\"name\": \"multi\", \"namespace\": \"default\"}, \"spec\": {\"type\": \"NodePort\","
		" \"ports\": [{\"name\": \"http\", \"port\": 80, \"nodePort\": 30080}, {\"name\": \"none\", \"port\": 81},"
		" {\"port\": 443, \"nodePort\": 30443}]}}",
		&err);
	_cleanup_service_ struct vk_service *internal =
		parse("{\"metadata\": {\"name\": \"internal\", \"namespace\": \"default\"}, \"spec\": {\"ports\": [{\"port\": 80}]}}",
		      &err);
	_cleanup_service_ struct vk_service *noports = parse(
		"{\"metadata\": {\"name\": \"np\", \"namespace\": \"x\"}, \"spec\": {\"type\": \"NodePort\", \"ports\": [{\"port\": 80}]}}",
		&err);
	char **u;
	_cleanup_free_ char *v4 = vk_service_node_url("192.168.39.10", 30080);
	_cleanup_free_ char *v6 = vk_service_node_url("fd00::5", 30080);

	is_str(v4, "http://192.168.39.10:30080", "a node URL");
	is_str(v6, "http://[fd00::5]:30080", "an IPv6 node URL has brackets");

	u = vk_service_urls(s, "10.0.0.2", NULL, false, &err);
	ok(u && vk_strv_len((const char *const *)u) == 2, "one URL per port with a node port");
	if (u) {
		is_str(u[0], "http://10.0.0.2:30080", "in spec order (first)");
		is_str(u[1], "http://10.0.0.2:30443", "in spec order (second)");
	}
	vk_strv_free(u);
	u = vk_service_urls(s, "fd00::5", NULL, true, &err);
	is_str(u ? u[0] : NULL, "https://[fd00::5]:30080", "IPv6 in brackets, and --https");
	vk_strv_free(u);
	u = vk_service_urls(s, "10.0.0.2", "{{.Name}}={{ .IP }}:{{.Port}}", true, &err);
	is_str(u ? u[0] : NULL, "http=10.0.0.2:30080", "a format fills .Name, .IP, .Port; https only changes http://");
	is_str(u ? u[1] : NULL, "=10.0.0.2:30443", "an unnamed port's .Name is empty");
	vk_strv_free(u);
	ok(!vk_service_urls(s, "10.0.0.2", "x {{.Host}} y", false, &err) && err.code == VK_ERR_INVALID,
	   "an unknown field is invalid");
	contains(err.message, "unknown or unterminated field '{{.Host}}'", "naming it");
	ok(!vk_service_urls(s, "10.0.0.2", "{{.IP", false, &err) && err.code == VK_ERR_INVALID,
	   "an unterminated field is invalid");
	contains(err.message, "field '{{.IP'", "naming it");
	vk_error_clear(&err);
	ok(!vk_service_urls(internal, "10.0.0.2", "{{.Host}}", false, &err) && err.code == VK_ERR_FAILED,
	   "a ClusterIP Service has no URLs (its type is told before the format)");
	contains(err.message, "service 'default/internal' is of type ClusterIP and has no node port", "saying so");
	contains(err.hint, "kubectl -n default expose service internal --type=NodePort --name=internal-nodeport",
		 "and how to expose it");
	ok(!vk_service_urls(noports, "10.0.0.2", NULL, false, &err) && err.code == VK_ERR_FAILED,
	   "a NodePort Service without node ports has no URLs");
	contains(err.message, "service 'x/np' has no node ports", "saying so");
}

/* A LoadBalancer Service with an address is reached there, on its own ports. */
static void test_lb_urls(void)
{
	struct vk_error err = { 0 };
	_cleanup_service_ struct vk_service *lb = parse(
		"{\"metadata\": {\"name\": \"web\", \"namespace\": \"default\"}, \"spec\": {\"type\": \"LoadBalancer\","
		" \"ports\": [{\"name\": \"http\", \"port\": 80, \"nodePort\": 30080}, {\"port\": 443, \"nodePort\": 30443}]},"
		" \"status\": {\"loadBalancer\": {\"ingress\": [{\"hostname\": \"\"}, {\"ip\": \"192.168.100.230\"}]}}}",
		&err);
	_cleanup_service_ struct vk_service *pending = parse(
		"{\"metadata\": {\"name\": \"p\", \"namespace\": \"default\"}, \"spec\": {\"type\": \"LoadBalancer\","
		" \"ports\": [{\"port\": 80, \"nodePort\": 30081}]}, \"status\": {\"loadBalancer\": {}}}",
		&err);
	_cleanup_service_ struct vk_service *np = parse(
		"{\"spec\": {\"type\": \"NodePort\", \"ports\": [{\"port\": 80, \"nodePort\": 30082}]},"
		" \"status\": {\"loadBalancer\": {\"ingress\": [{\"ip\": \"192.0.2.1\"}]}}}",
		&err);
	_cleanup_free_ char *port_url = NULL, *pending_url = NULL;
	char **u;

	is_str(lb ? vk_service_lb_address(lb) : NULL, "192.168.100.230", "the address is the first ingress entry that has one");
	u = lb ? vk_service_urls(lb, "10.0.0.2", NULL, false, &err) : NULL;
	ok(u && vk_strv_len((const char *const *)u) == 2, "one URL per port");
	is_str(u ? u[0] : NULL, "http://192.168.100.230:80", "on the address and the Service's own port, not the node port");
	is_str(u ? u[1] : NULL, "http://192.168.100.230:443", "for every port");
	vk_strv_free(u);
	u = lb ? vk_service_urls(lb, "10.0.0.2", "{{.IP}}:{{.Port}}", true, &err) : NULL;
	is_str(u ? u[0] : NULL, "192.168.100.230:80", "--format's {{.IP}} is the address");
	vk_strv_free(u);
	port_url = lb ? vk_service_port_url(lb, &lb->ports[0], "10.0.0.2") : NULL;
	is_str(port_url, "http://192.168.100.230:80", "the list's URL of a port is the same");
	ok(pending && !vk_service_lb_address(pending), "a pending LoadBalancer has no address");
	u = pending ? vk_service_urls(pending, "10.0.0.2", NULL, false, &err) : NULL;
	is_str(u ? u[0] : NULL, "http://10.0.0.2:30081", "and is reached on its node port meanwhile");
	vk_strv_free(u);
	pending_url = pending ? vk_service_port_url(pending, &pending->ports[0], "10.0.0.2") : NULL;
	is_str(pending_url, "http://10.0.0.2:30081", "in the list too");
	ok(np && !vk_service_lb_address(np), "a NodePort Service's ingress is not taken as an address");
}

int main(void)
{
	test_full();
	test_defaults();
	test_odd();
	test_list();
	test_urls();
	test_lb_urls();
	return done_testing();
}
