/* Step "seed": a new machine's NoCloud seed ISO (label cidata): user with the SSH key, network, and the guest script's own files. */
#include <string.h>

#include "cloudinit.h"
#include "cluster.h"
#include "provision.h"
#include "seed.h"
#include "sshkey.h"
#include "start/step.h"
#include "util/cleanup.h"
#include "util/fs.h"

int vk_step_seed(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *iso = vk_profile_path(p, VK_FILE_SEED);
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	_cleanup_free_ char *pub = NULL, *user_data = NULL, *meta_data = NULL, *net_config = NULL;
	_cleanup_seed_ struct vk_seed *seed = NULL;
	uint32_t subnet;
	char gw[16];
	struct vk_cloudinit ci = {
		.hostname = p->name,
		.instance_id = p->cfg.instance_id,
		.mac = p->cfg.mac,
		.address = p->cfg.node_ip,
		.prefix = 24,
		.gateway = gw,
		/* Later boots skip cloud-init's stages (~25 s under TCG): all it does is per instance. */
		.disable_after_first_boot = true,
	};

	if (!ctx->creating || vk_path_exists(iso)) {
		vk_start_skip(ctx);
		return 0;
	}
	if (vk_cluster_subnet(p, &subnet, err) < 0)
		return -1;
	vk_ipv4_format(vk_network_gateway(subnet), gw);
	if (vk_sshkey_ensure(key, "virtkube", err) < 0)
		return -1;
	pub = vk_sshkey_read_public(key, err);
	if (!pub)
		return -1;
	ci.ssh_pubkey = pub;
	seed = vk_seed_new();
	if (vk_provision_seed_add(p, ctx->kubernetes, seed, &ci, err) < 0)
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
