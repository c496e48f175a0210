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

/* Node INDEX (2..) with its address on SUBNET and the MAC its name gives. */
static struct vk_node *add_secondary(struct vk_profile *p, uint32_t subnet, long index, bool kubernetes)
{
	_cleanup_free_ char *name = vk_node_name(p->name, index);
	char ip[16], mac[18];

	vk_ipv4_format(vk_node_ip(subnet, index), ip);
	vk_machine_mac_for(name, mac);
	return vk_profile_node_add(p, index, ip, mac, kubernetes ? VK_ROLE_WORKER : VK_ROLE_PLAIN);
}

struct vk_node *vk_nodes_add(struct vk_profile *p, uint32_t subnet, long index)
{
	return add_secondary(p, subnet, index, vk_profile_kubernetes(p));
}

void vk_nodes_plan(struct vk_profile *p, uint32_t subnet, long count, bool kubernetes)
{
	vk_profile_node_add(p, 1, p->cfg.node_ip, p->cfg.mac, kubernetes ? VK_ROLE_CONTROL_PLANE : VK_ROLE_PLAIN);
	for (long idx = 2; idx <= count; idx++)
		add_secondary(p, subnet, idx, kubernetes);
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
