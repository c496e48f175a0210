/* Turning a node's VM into a cluster node: the provisioning files for scripts/guest/provision on its seed, and the runcmd that starts them. */
#pragma once

#include <stdbool.h>

#include "profile/profile.h"
#include "vm/cloudinit.h"
#include "vm/seed.h"
#include "util/error.h"

/* Puts virtkube/ on node N's SEED as scripts/guest/README.md describes
 * (mode, routes, provision, and with KUBERNETES env, kubeadm.yaml,
 * pki/ca.*: what is the profile's own; the binaries and units are on the
 * payload ISO) and the runcmd that mounts the seed and runs the script from
 * it into CI. N gives the host name, address, role, pod CIDR and the routes
 * to the other nodes' pods; a worker gets join.yaml, and no CA key. P's
 * node IP must be fixed. */
int vk_provision_seed_add_node(const struct vk_profile *p, const struct vk_node *n, bool kubernetes,
			       struct vk_seed *seed, struct vk_cloudinit *ci, struct vk_error *err);
