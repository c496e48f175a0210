/* Kubernetes Services as typed data: read from the API (or from a Service's JSON), and their node-port URLs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/kubeapi.h"
#include "util/error.h"

/* One entry of spec.ports. Its strings are owned by the Service and never NULL. */
struct vk_service_port {
	char *name;        /* "" when unnamed */
	char *protocol;    /* "TCP" when not given (the API's default) */
	int port;          /* 1-65535; 0 when missing or not a port number */
	int node_port;     /* 1-65535; 0 when it has none */
	char *target_port; /* a number ("8080") or a port's name ("web"); the port's number when not given */
};

/* One entry of status.loadBalancer.ingress: an address a load balancer
 * answers on. At least one of the two is set; the other is NULL. */
struct vk_service_ingress {
	char *ip;
	char *hostname;
};

/* A Service as virtkube uses it. Every string is owned by the struct. */
struct vk_service {
	char *name;       /* metadata.name; "" when missing */
	char *ns;         /* metadata.namespace; "" when missing */
	char *type;       /* spec.type; "ClusterIP" when not given (the API's default) */
	char *cluster_ip; /* spec.clusterIP ("None" for a headless Service); NULL when not given */
	struct vk_service_port *ports; /* spec.ports, in their order */
	size_t nports;
	struct vk_service_ingress *ingress; /* status.loadBalancer.ingress, in their order */
	size_t ningress;
};

/* Services of a list, in the API's order. */
struct vk_service_list {
	struct vk_service *items;
	size_t n;
};

/* Reads a Service object. Fields of the wrong type count as missing, and
 * entries of spec.ports or of the ingress that are not objects are left out.
 * NULL with VK_ERR_PARSE when OBJ is not an object. Free with vk_service_free. */
struct vk_service *vk_service_from_json(const json_t *obj, struct vk_error *err);
/* Reads a ServiceList (its "items"; a missing one is empty) into OUT (zeroed
 * first; free with vk_service_list_free). Items that are not objects are left
 * out. -1 with VK_ERR_PARSE when LIST is not an object. */
int vk_service_list_from_json(const json_t *list, struct vk_service_list *out, struct vk_error *err);

void vk_service_free(struct vk_service *svc);
static inline void vk_service_freep(struct vk_service **svc)
{
	vk_service_free(*svc);
}
#define _cleanup_service_ __attribute__((cleanup(vk_service_freep)))
/* Frees the items and zeroes L (which may be NULL). */
void vk_service_list_free(struct vk_service_list *l);
#define _cleanup_service_list_ __attribute__((cleanup(vk_service_list_free)))

/* GETs Service NS/NAME. NULL with VK_ERR_NOT_FOUND (as vk_kube_get says it)
 * when it or its namespace does not exist. Free with vk_service_free. */
struct vk_service *vk_service_get(struct vk_kube *k, const char *ns, const char *name, struct vk_error *err);
/* The same, waiting up to WAIT_S seconds for the Service to appear. A missing
 * Service is then told apart from a missing namespace (VK_ERR_NOT_FOUND
 * naming the one that is missing, with a hint). */
struct vk_service *vk_service_wait(struct vk_kube *k, const char *ns, const char *name, long wait_s,
				   struct vk_error *err);
/* LISTs the Services of NS (NULL: of every namespace) into OUT (free with
 * vk_service_list_free). A namespace NS that does not exist is VK_ERR_NOT_FOUND
 * (the API lists nothing for it, not an error). */
int vk_service_list(struct vk_kube *k, const char *ns, struct vk_service_list *out, struct vk_error *err);

/* Whether SVC's type gives its ports node ports (NodePort, LoadBalancer). */
bool vk_service_has_node_ports(const struct vk_service *svc);
/* "http://NODE_IP:NODE_PORT" ("http://[NODE_IP]:NODE_PORT" for IPv6). Caller frees. */
char *vk_service_node_url(const char *node_ip, int node_port);

/* The address of a LoadBalancer Service that has one (the first entry of
 * status.loadBalancer.ingress with a non-empty IP or, failing that, host
 * name), else NULL. Owned by SVC. */
const char *vk_service_lb_address(const struct vk_service *svc);
/* The URL of port P of SVC: "http://LB_ADDRESS:PORT" when SVC has a
 * LoadBalancer address (the port as the Service gives it), else the node
 * port's URL on NODE_IP, else NULL (no node port). Caller frees. */
char *vk_service_port_url(const struct vk_service *svc, const struct vk_service_port *p, const char *node_ip);

/* The default of vk_service_urls' FORMAT (an IPv6 IP is put in brackets). */
#define VK_SERVICE_URL_FORMAT "http://{{.IP}}:{{.Port}}"
/* One line per port of SVC that has a node port, in spec order: FORMAT (NULL:
 * the default above) with {{.IP}} as NODE_IP, {{.Port}} as the node port and
 * {{.Name}} as the port's name; with HTTPS a leading "http://" becomes
 * "https://". A LoadBalancer Service with an address (vk_service_lb_address)
 * gives one line per port instead, with {{.IP}} as that address and {{.Port}}
 * as the Service's own port: the host reaches it with no node port. Returns a NULL-terminated list (caller frees with vk_strv_free),
 * or NULL with VK_ERR_FAILED (and a hint) for a Service whose type has no node
 * ports or whose ports have none, or VK_ERR_INVALID naming a field of FORMAT
 * that is unknown or unterminated. */
char **vk_service_urls(const struct vk_service *svc, const char *node_ip, const char *format, bool https,
		       struct vk_error *err);
