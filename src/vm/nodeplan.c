/* A profile's node plan: addresses, MACs, pod CIDRs, per-node files and pod routes (see nodeplan.h). */
#include "vm/nodeplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/machine.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

uint32_t vk_node_ip(uint32_t subnet, long index)
{
	return (subnet & 0xffffff00u) | (uint32_t)(index + 1);
}

void vk_node_pod_cidr(long index, char buf[24])
{
	/* index is 1..VK_NODES_MAX: one octet */
	snprintf(buf, 24, VK_NODE_POD_PREFIX ".%u.0/24", (unsigned)(unsigned char)(index - 1));
}

int vk_nodes_count_check(const char *profile, long count, struct vk_error *err)
{
	if (count < 1 || count > VK_NODES_MAX) {
		vk_error_set(err, VK_ERR_INVALID, "cannot make profile '%s' with %ld nodes: a profile has 1 to %d", profile,
			     count, VK_NODES_MAX);
		return vk_error_hint(err, "give --nodes a number from 1 to %d", VK_NODES_MAX);
	}
	/* "-m02" must still fit a host name (63 characters). */
	if (count > 1 && strlen(profile) > 59) {
		vk_error_set(err, VK_ERR_INVALID, "profile name '%.20s...' is too long for workers: their names add '-m02'",
			     profile);
		return vk_error_hint(err, "use a profile name of at most 59 characters for more than one node");
	}
	return 0;
}

struct vk_node *vk_nodes_find(const struct vk_profile *p, const char *name, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf names = VK_STRBUF_INIT;
	size_t plen = strlen(p->name);

	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const char *full = p->cfg.nodes[i].name;

		if (strcmp(full, name) == 0 ||
		    (strlen(full) > plen + 1 && strncmp(full, p->name, plen) == 0 && strcmp(full + plen + 1, name) == 0))
			return &p->cfg.nodes[i];
		vk_strbuf_addf(&names, "%s%s", i ? ", " : "", full);
	}
	vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node '%s'", p->name, name);
	vk_error_hint(err, "its nodes: %s ('virtkube -p %s node list')",
		      p->cfg.nnodes ? names.buf : "none yet", p->name);
	return NULL;
}

long vk_nodes_free_index(const struct vk_profile *p)
{
	for (long idx = 2; idx <= VK_NODES_MAX; idx++) {
		bool taken = false;

		for (size_t i = 0; i < p->cfg.nnodes; i++)
			taken |= p->cfg.nodes[i].index == idx;
		if (!taken)
			return idx;
	}
	return 0;
}

struct vk_node *vk_nodes_primary(const struct vk_profile *p)
{
	return p->cfg.nnodes && p->cfg.nodes[0].index == 1 ? &p->cfg.nodes[0] : NULL;
}

static const char *const lan_example = "for example --bridge-ip 192.168.1.50/24 --bridge-gateway 192.168.1.1";

int vk_bridge_lan_parse(const char *ip_cidr, const char *gateway, const char *dns, struct vk_bridge_lan *lan,
			struct vk_error *err)
{
	char addr[16], net[16], gw[16];
	size_t n = ip_cidr ? strcspn(ip_cidr, "/") : 0;
	char *end = NULL;
	long prefix = -1;
	uint32_t mask;

	if (!ip_cidr || !*ip_cidr) {
		vk_error_set(err, VK_ERR_INVALID, "--network-mode bridge needs --bridge-ip: a LAN has no addresses "
			     "virtkube can find free, so you name them");
		return vk_error_hint(err, "give node 1's address and the LAN's prefix length; node N gets the N-1'th "
				     "address after it (%s)", lan_example);
	}
	if (n < sizeof(addr) && ip_cidr[n] == '/' && ip_cidr[n + 1] >= '0' && ip_cidr[n + 1] <= '9')
		prefix = strtol(ip_cidr + n + 1, &end, 10);
	if (n < sizeof(addr)) {
		memcpy(addr, ip_cidr, n);
		addr[n] = '\0';
	}
	if (prefix < 0 || *end || n >= sizeof(addr) || vk_ipv4_parse(addr, &lan->first) < 0 || prefix > 32) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-ip '%s' is not an IPv4 address with a prefix length (A.B.C.D/P)",
			     ip_cidr);
		return vk_error_hint(err, "%s", lan_example);
	}
	if (prefix < 8 || prefix > 30) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-ip '%s': a prefix of /%ld leaves no room for nodes and a gateway",
			     ip_cidr, prefix);
		return vk_error_hint(err, "give the LAN's own prefix length, /8 to /30 (%s)", lan_example);
	}
	lan->prefix = (int)prefix;
	mask = vk_ipv4_mask(lan->prefix);
	vk_ipv4_format(lan->first & mask, net);
	if ((lan->first & ~mask) == 0 || (lan->first & ~mask) == ~mask) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-ip '%s' is the %s address of %s/%d, not one a node can have",
			     ip_cidr, (lan->first & ~mask) == 0 ? "network" : "broadcast", net, lan->prefix);
		return vk_error_hint(err, "give a host address of the LAN for node 1 (%s)", lan_example);
	}
	lan->gateway = (lan->first & mask) + 1;
	if (gateway && vk_ipv4_parse(gateway, &lan->gateway) < 0) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-gateway '%s' is not an IPv4 address", gateway);
		return vk_error_hint(err, "give the LAN's router, A.B.C.D (%s)", lan_example);
	}
	if (gateway && ((lan->gateway & mask) != (lan->first & mask) || (lan->gateway & ~mask) == 0 ||
			(lan->gateway & ~mask) == ~mask)) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-gateway '%s' is not a host address of the LAN %s/%d that "
			     "--bridge-ip '%s' names", gateway, net, lan->prefix, ip_cidr);
		return vk_error_hint(err, "give the router on that LAN, or the LAN's prefix length in --bridge-ip (%s)",
				     lan_example);
	}
	if (lan->gateway == lan->first) {
		vk_ipv4_format(lan->gateway, gw);
		vk_error_set(err, VK_ERR_INVALID, "--bridge-ip '%s': node 1's address is the gateway %s%s", ip_cidr, gw,
			     gateway ? "" : " (the LAN's first address, the default without --bridge-gateway)");
		return vk_error_hint(err, "give node 1 another address, or name the LAN's router with --bridge-gateway (%s)",
				     lan_example);
	}
	lan->dns = lan->gateway;
	if (dns && vk_ipv4_parse(dns, &lan->dns) < 0) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge-dns '%s' is not an IPv4 address", dns);
		return vk_error_hint(err, "give a name server's address, e.g. --bridge-dns 192.168.1.1 (the default is the "
				     "gateway)");
	}
	return 0;
}

int vk_bridge_lan_node_ip(const struct vk_bridge_lan *lan, long index, uint32_t *ip, struct vk_error *err)
{
	uint32_t mask = vk_ipv4_mask(lan->prefix);
	uint64_t addr = (uint64_t)lan->first + (uint64_t)(index - 1);
	char first[16], net[16], gw[16];

	vk_ipv4_format(lan->first, first);
	vk_ipv4_format(lan->first & mask, net);
	if (addr > 0xffffffffu || ((uint32_t)addr & mask) != (lan->first & mask) || ((uint32_t)addr & ~mask) == ~mask) {
		vk_error_set(err, VK_ERR_INVALID, "node %ld has no address on %s/%d: node 1 is %s, node %ld would be past the "
			     "LAN's last host address", index, net, lan->prefix, first, index);
		return vk_error_hint(err, "make the profile with fewer nodes, or with a lower --bridge-ip so that its next "
				     "addresses fit");
	}
	if ((uint32_t)addr == lan->gateway) {
		vk_ipv4_format(lan->gateway, gw);
		vk_error_set(err, VK_ERR_INVALID, "node %ld's address would be the gateway %s (node 1 is %s, node N the "
			     "N-1'th address after it)", index, gw, first);
		return vk_error_hint(err, "give --bridge-ip an address past the gateway, or fewer nodes");
	}
	*ip = (uint32_t)addr;
	return 0;
}

int vk_bridge_lan_check(const struct vk_bridge_lan *lan, long count, struct vk_error *err)
{
	uint32_t ip;

	for (long idx = 1; idx <= count; idx++)
		if (vk_bridge_lan_node_ip(lan, idx, &ip, err) < 0)
			return -1;
	return 0;
}

int vk_profile_bridge_lan(const struct vk_profile *p, struct vk_bridge_lan *lan, struct vk_error *err)
{
	if (vk_bridge_lan_parse(p->cfg.bridge_ip, p->cfg.bridge_gateway, p->cfg.bridge_dns, lan, err) < 0)
		return vk_error_prefix(err, "profile '%s' (%s)", p->name, p->config_path);
	return 0;
}

/* Node INDEX (2..) with its address (on SUBNET, or a bridged profile's LAN) and the MAC its name gives. */
static struct vk_node *add_secondary(struct vk_profile *p, uint32_t subnet, long index, bool kubernetes,
				     struct vk_error *err)
{
	_cleanup_free_ char *name = vk_node_name(p->name, index);
	struct vk_bridge_lan lan;
	uint32_t addr = vk_node_ip(subnet, index);
	char ip[16], mac[18];

	if (vk_profile_bridged(p) &&
	    (vk_profile_bridge_lan(p, &lan, err) < 0 || vk_bridge_lan_node_ip(&lan, index, &addr, err) < 0))
		return NULL;
	vk_ipv4_format(addr, ip);
	vk_machine_mac_for(name, mac);
	return vk_profile_node_add(p, index, ip, mac, kubernetes ? VK_ROLE_WORKER : VK_ROLE_PLAIN);
}

struct vk_node *vk_nodes_add(struct vk_profile *p, uint32_t subnet, long index, struct vk_error *err)
{
	return add_secondary(p, subnet, index, vk_profile_kubernetes(p), err);
}

void vk_nodes_plan(struct vk_profile *p, uint32_t subnet, long count, bool kubernetes)
{
	vk_profile_node_add(p, 1, p->cfg.node_ip, p->cfg.mac, kubernetes ? VK_ROLE_CONTROL_PLANE : VK_ROLE_PLAIN);
	for (long idx = 2; idx <= count; idx++)
		add_secondary(p, subnet, idx, kubernetes, NULL);
}

char *vk_node_path(const struct vk_profile *p, const struct vk_node *n, const char *file)
{
	_cleanup_free_ char *name = NULL;

	if (n->index == 1)
		return vk_profile_path(p, file);
	name = xasprintf("m%02ld-%s", n->index, file);
	return vk_profile_path(p, name);
}

size_t vk_nodes_routes(const struct vk_node *nodes, size_t nnodes, long self, struct vk_pod_route *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nnodes && n < VK_NODES_MAX; i++) {
		if (nodes[i].index == self)
			continue;
		vk_node_pod_cidr(nodes[i].index, out[n].dest);
		snprintf(out[n].via, sizeof(out[n].via), "%s", nodes[i].ip);
		n++;
	}
	return n;
}

char *vk_nodes_routes_text(const struct vk_node *nodes, size_t nnodes, long self)
{
	struct vk_pod_route routes[VK_NODES_MAX];
	struct vk_strbuf sb = VK_STRBUF_INIT;
	size_t n = vk_nodes_routes(nodes, nnodes, self, routes);

	for (size_t i = 0; i < n; i++)
		vk_strbuf_addf(&sb, "%s %s\n", routes[i].dest, routes[i].via);
	return vk_strbuf_detach(&sb, NULL);
}
