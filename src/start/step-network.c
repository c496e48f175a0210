/* Step "network": a new profile's subnet, MAC and node IP are fixed before any boot; the profile's libvirt network is made or started (none for a bridged profile). */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "vm/nodeplan.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lock.h"
#include "util/xalloc.h"

/* How long a start waits for another one's subnet plan (a plan takes milliseconds). */
#define SUBNET_PLAN_LOCK_MS 60000

/* Adds the subnets other profiles have planned: one whose start was killed
 * between its plan and its libvirt network holds its subnet only in its
 * config.json, and its next start makes that network. */
static void add_planned_subnets(const struct vk_start_ctx *ctx, struct vk_cidr **used, size_t *nused)
{
	_cleanup_strv_ char **names = vk_profile_list(ctx->home, NULL);

	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_profile_ struct vk_profile *other = NULL;
		uint32_t subnet;

		if (strcmp(names[i], ctx->p->name) == 0 || !(other = vk_profile_open(names[i], false, NULL)) ||
		    vk_cluster_subnet(other, &subnet, NULL) < 0)
			continue;
		*used = xrealloc(*used, (*nused + 1) * sizeof(**used));
		(*used)[(*nused)++] = (struct vk_cidr){ .addr = subnet, .prefix = 24 };
	}
}

/* The profile's LoadBalancer pool on SUBNET (machine.h says where it is). */
static void set_lb_pool(struct vk_profile_config *c, uint32_t subnet)
{
	char pool[16], cidr[24];

	vk_ipv4_format(vk_network_lb_pool(subnet), pool);
	snprintf(cidr, sizeof(cidr), "%s/%u", pool, VK_LB_POOL_PREFIX);
	vk_profile_set_str(&c->lb_pool, cidr);
}

/* The plan into config.json: the subnet, the node IP in it, the MAC from the
 * name, and the same for every other node: all fixed before any boot. */
static int save_plan(struct vk_start_ctx *ctx, uint32_t subnet, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_profile_config *c = &p->cfg;
	_cleanup_free_ char *netname = vk_cluster_network_name(p->name);
	char mac[18], buf[16], cidr[24];

	vk_machine_mac_for(p->name, mac);
	vk_ipv4_format(subnet, buf);
	snprintf(cidr, sizeof(cidr), "%s/24", buf);
	vk_profile_set_str(&c->subnet, cidr);
	vk_ipv4_format(vk_network_node_ip(subnet), buf);
	vk_profile_set_str(&c->node_ip, buf);
	vk_profile_set_str(&c->mac, mac);
	vk_profile_set_str(&c->network, netname);
	vk_nodes_plan(p, subnet, ctx->nodes, ctx->kubernetes);
	set_lb_pool(c, subnet);
	return vk_profile_save(p, err);
}

/* Fixes the network settings of a new profile: subnet, MAC, node IP. Two
 * starts of new profiles at once plan one after the other (a lock in
 * $VIRTKUBE_HOME), each seeing the other's saved plan, so they never choose
 * the same subnet. */
static int plan_network(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile_config *c = &ctx->p->cfg;
	_cleanup_free_ struct vk_cidr *used = NULL;
	_cleanup_free_ char *lock_path = vk_path_join(ctx->home, "subnets.lock");
	struct vk_lock lock = VK_LOCK_INIT;
	size_t nused = 0;
	uint32_t subnet;
	int rc;

	if (c->subnet && c->node_ip && c->mac)
		return 0;
	if (vk_lock_acquire(&lock, lock_path, "the subnet plan", SUBNET_PLAN_LOCK_MS, err) < 0)
		return -1;
	rc = vk_subnets_in_use(ctx->conn, vk_machine_uri_is_local(ctx->uri), &used, &nused, err);
	if (rc == 0) {
		add_planned_subnets(ctx, &used, &nused);
		rc = vk_subnet_choose(used, nused, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &subnet, err);
	}
	if (rc == 0)
		rc = save_plan(ctx, subnet, err);
	vk_lock_release(&lock);
	return rc;
}

/* A bridged profile: its nodes' addresses on the LAN the user named (the
 * profile step checked they fit), and no libvirt network. */
static int bridge_network(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_profile_config *c = &p->cfg;
	struct vk_bridge_lan lan;
	char mac[18], ip[16];

	if (!vk_start_creating(ctx)) {
		vk_start_skip(ctx);
		return 0;
	}
	if (!c->node_ip || !c->mac) {
		if (vk_profile_bridge_lan(p, &lan, err) < 0 || vk_bridge_lan_check(&lan, ctx->nodes, err) < 0)
			return -1;
		vk_ipv4_format(lan.first, ip);
		vk_machine_mac_for(p->name, mac);
		vk_profile_set_str(&c->node_ip, ip);
		vk_profile_set_str(&c->mac, mac);
		vk_nodes_plan(p, 0, ctx->nodes, ctx->kubernetes);
		if (vk_profile_save(p, err) < 0)
			return -1;
	}
	vk_start_info(ctx, "creating the machine%s for profile '%s' (%ld CPUs, %ld MiB, %ld GiB disk%s, %s, on bridge '%s' "
		      "at %s%s, gateway %s)", ctx->nodes > 1 ? "s" : "", p->name, ctx->cpus, ctx->memory_mib, ctx->disk_gib,
		      ctx->nodes > 1 ? " each" : "", vk_accel_name(ctx->accel), c->bridge, c->bridge_ip,
		      ctx->nodes > 1 ? " and the next addresses" : "", c->bridge_gateway);
	return 0;
}

int vk_step_network(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile_config *c = &ctx->p->cfg;
	struct vk_network_spec spec = { .host_name = ctx->p->name };
	struct vk_dhcp_host hosts[VK_NODES_MAX];
	bool route_pending = false;

	if (ctx->res->was_running) {
		vk_start_skip(ctx);
		return 0;
	}
	if (vk_profile_bridged(ctx->p))
		return bridge_network(ctx, err);
	if (vk_start_creating(ctx) && plan_network(ctx, err) < 0)
		return -1;
	if (vk_start_creating(ctx))
		vk_start_info(ctx, "creating the machine%s for profile '%s' (%ld CPUs, %ld MiB, %ld GiB disk%s, %s, %s network %s)",
			      ctx->nodes > 1 ? "s" : "", ctx->p->name, ctx->cpus, ctx->memory_mib, ctx->disk_gib,
			      ctx->nodes > 1 ? " each" : "", vk_accel_name(ctx->accel), ctx->network_mode, c->subnet);
	/* Node 1 is the spec's own entry; the others follow it. */
	for (size_t i = 1; i < c->nnodes; i++)
		hosts[spec.nextra_hosts++] = (struct vk_dhcp_host){ .mac = c->nodes[i].mac, .name = c->nodes[i].name,
								    .ip = c->nodes[i].ip };
	spec.extra_hosts = hosts;
	if (vk_cluster_subnet(ctx->p, &spec.subnet, err) < 0)
		return -1;
	spec.name = c->network;
	spec.mac = c->mac;
	spec.mode = strcmp(ctx->network_mode, "isolated") == 0 ? VK_NET_ISOLATED : VK_NET_NAT;
	/* A profile made before the pool gets it now, and its network the route. */
	if (!c->lb_pool) {
		set_lb_pool(c, spec.subnet);
		if (vk_profile_save(ctx->p, err) < 0)
			return -1;
		vk_start_info(ctx, "LoadBalancer addresses for profile '%s': %s (routed to %s)", ctx->p->name, c->lb_pool,
			      c->node_ip);
	}
	spec.lb_pool = true;
	if (vk_network_ensure(ctx->conn, &spec, &route_pending, err) < 0)
		return -1;
	if (route_pending)
		vk_start_warn(ctx, "network '%s' gets its LoadBalancer route (%s) at its next start: run 'virtkube stop' "
				   "and 'virtkube start' to have it now", c->network, c->lb_pool);
	return 0;
}
