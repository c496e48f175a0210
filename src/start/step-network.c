/* Step "network": a new profile's subnet, MAC and node IP are fixed before any boot; the profile's libvirt network is made or started. */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "start/step.h"
#include "util/cleanup.h"

/* Fixes the network settings of a new profile: subnet, MAC, node IP. */
static int plan_network(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile_config *c = &ctx->p->cfg;
	_cleanup_free_ struct vk_cidr *used = NULL;
	_cleanup_free_ char *netname = vk_cluster_network_name(ctx->p->name);
	size_t nused = 0;
	uint32_t subnet;
	char mac[18], buf[16], cidr[24];

	if (c->subnet && c->node_ip && c->mac)
		return 0;
	if (vk_subnets_in_use(ctx->conn, vk_machine_uri_is_local(ctx->uri), &used, &nused, err) < 0 ||
	    vk_subnet_choose(used, nused, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &subnet, err) < 0)
		return -1;
	vk_machine_mac_for(ctx->p->name, mac);
	vk_ipv4_format(subnet, buf);
	snprintf(cidr, sizeof(cidr), "%s/24", buf);
	vk_profile_set_str(&c->subnet, cidr);
	vk_ipv4_format(vk_network_node_ip(subnet), buf);
	vk_profile_set_str(&c->node_ip, buf);
	vk_profile_set_str(&c->mac, mac);
	vk_profile_set_str(&c->network, netname);
	return vk_profile_save(ctx->p, err);
}

int vk_step_network(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile_config *c = &ctx->p->cfg;
	struct vk_network_spec spec = { .host_name = ctx->p->name };

	if (ctx->res->was_running) {
		vk_start_skip(ctx);
		return 0;
	}
	if (ctx->creating && plan_network(ctx, err) < 0)
		return -1;
	if (ctx->creating)
		vk_start_info(ctx, "creating the machine for profile '%s' (%ld CPUs, %ld MiB, %ld GiB disk, %s, %s network %s)",
			      ctx->p->name, ctx->cpus, ctx->memory_mib, ctx->disk_gib, vk_accel_name(ctx->accel),
			      ctx->network_mode, c->subnet);
	if (vk_cluster_subnet(ctx->p, &spec.subnet, err) < 0)
		return -1;
	spec.name = c->network;
	spec.mac = c->mac;
	spec.mode = strcmp(ctx->network_mode, "isolated") == 0 ? VK_NET_ISOLATED : VK_NET_NAT;
	return vk_network_ensure(ctx->conn, &spec, err);
}
