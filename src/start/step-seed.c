/* Step "seed": a new machine's NoCloud seed ISO (label cidata): user with the SSH key, network, and the guest script's own files. */
#include <string.h>

#include "vm/cloudinit.h"
#include "cluster/cluster.h"
#include "vm/mounts.h"
#include "vm/nodeplan.h"
#include "cluster/provision.h"
#include "vm/seed.h"
#include "vm/sshkey.h"
#include "vm/volumes.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Node N's seed ISO: its host name, address and instance, the profile's key. */
/* The network every node of a profile gets: the gateway (also the DNS) and
 * the prefix of its libvirt network's /24, or a bridged profile's LAN. */
struct seed_net {
	char gw[16], dns[16];
	int prefix;
};

static int seed_net(const struct vk_profile *p, struct seed_net *net, struct vk_error *err)
{
	struct vk_bridge_lan lan;
	uint32_t subnet;

	if (vk_profile_bridged(p)) {
		if (vk_profile_bridge_lan(p, &lan, err) < 0)
			return -1;
		vk_ipv4_format(lan.gateway, net->gw);
		vk_ipv4_format(lan.dns, net->dns);
		net->prefix = lan.prefix;
		return 0;
	}
	if (vk_cluster_subnet(p, &subnet, err) < 0)
		return -1;
	vk_ipv4_format(vk_network_gateway(subnet), net->gw);
	vk_ipv4_format(vk_network_gateway(subnet), net->dns);
	net->prefix = 24;
	return 0;
}

static int make_seed(struct vk_start_ctx *ctx, const struct vk_node *n, const char *pub, const struct seed_net *net,
		     struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *iso = vk_node_path(p, n, VK_FILE_SEED);
	_cleanup_free_ char *user_data = NULL, *meta_data = NULL, *net_config = NULL;
	_cleanup_free_ char *iid = n->index == 1 ? xstrdup(p->cfg.instance_id)
						 : xasprintf("%s-m%02ld", p->cfg.instance_id, n->index);
	_cleanup_seed_ struct vk_seed *seed = vk_seed_new();
	struct vk_cloudinit ci = {
		.hostname = n->name,
		.instance_id = iid,
		.ssh_pubkey = pub,
		.mac = n->mac,
		.address = n->ip,
		.prefix = net->prefix,
		.gateway = net->gw,
		.dns = net->dns,
		/* Later boots skip cloud-init's stages (~25 s under TCG): all it does is per instance. */
		.disable_after_first_boot = true,
	};

	if (vk_provision_seed_add_node(p, n, ctx->kubernetes, seed, &ci, err) < 0 || vk_mounts_seed_add(p, seed, err) < 0)
		return -1;
	if (!(user_data = vk_cloudinit_user_data(&ci, err)) || !(meta_data = vk_cloudinit_meta_data(&ci, err)) ||
	    !(net_config = vk_cloudinit_network_config(&ci, err)))
		return -1;
	if (vk_seed_add_file(seed, "user-data", user_data, strlen(user_data), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "meta-data", meta_data, strlen(meta_data), 0644, err) < 0 ||
	    vk_seed_add_file(seed, "network-config", net_config, strlen(net_config), 0644, err) < 0)
		return -1;
	return vk_seed_write(seed, iso, err);
}

int vk_step_seed(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	_cleanup_free_ char *pub = NULL;
	struct seed_net net;
	bool made = false;

	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *iso = vk_node_path(p, n, VK_FILE_SEED);

		if (!vk_start_node_creating(ctx, n))
			continue;
		/* A remote libvirt host: uploaded, unless there already (made by an earlier start). */
		if (vk_path_exists(iso)) {
			if (vk_volumes_wanted(ctx->uri) && vk_start_remote_seed(ctx, n, err) < 0)
				return -1;
			continue;
		}
		if (!pub) {
			if (seed_net(p, &net, err) < 0 || vk_sshkey_ensure(key, "virtkube", err) < 0 ||
			    !(pub = vk_sshkey_read_public(key, err)))
				return -1;
		}
		if (make_seed(ctx, n, pub, &net, err) < 0 ||
		    (vk_volumes_wanted(ctx->uri) && vk_start_remote_seed(ctx, n, err) < 0))
			return -1;
		made = true;
	}
	if (!made)
		vk_start_skip(ctx);
	return 0;
}
