/* Giving a profile's domains and guests its host folders: the domain definitions, hot-plug into running nodes, the guests' mount units. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vm/machine.h"
#include "profile/profile.h"
#include "util/error.h"

/* Makes domain NAME's persistent definition carry P's mounts: virtkube's
 * <filesystem> elements (tags "vk-...") added, replaced or removed, and the
 * shared memory backing added when P has mounts (a domain made before
 * virtkube had mounts lacks it). Redefines the domain only when something
 * differs; *CHANGED (may be NULL) says whether it did. A running domain's
 * definition changes for its next boot. */
int vk_mounts_sync_config(virConnectPtr conn, const struct vk_profile *p, const char *name, bool *changed,
			  struct vk_error *err);

/* What vk_mounts_apply did, node by node. */
struct vk_mounts_applied {
	size_t now;     /* running nodes whose guest has P's mounts now */
	size_t later;   /* nodes that get them at their next start */
	char *why;      /* why a running node has to wait for its next start (owned; NULL when none) */
};

/* Gives every node of P its mounts: each domain's definition
 * (vk_mounts_sync_config), and on a running node the guest's mount units
 * made to match over ssh (a removed folder is unmounted at once). New
 * devices are hot-plugged only with VIRTKUBE_VIRTIOFS_HOTPLUG=1 (libvirt
 * 9.0's daemon died on it): otherwise, or when libvirt refuses, or the
 * node's memory is not shared, a running node with a new folder counts as
 * later, and why is said; a removed folder's device goes at its next boot. Sets
 * p->cfg.mounts_pending when any node is later (not saved). Release OUT
 * with vk_mounts_applied_release. */
int vk_mounts_apply(struct vk_profile *p, virConnectPtr conn, struct vk_mounts_applied *out, struct vk_error *err);
void vk_mounts_applied_release(struct vk_mounts_applied *a);

/* After `mount` or `unmount` changed p->cfg.mounts (locked P): connects to
 * P's libvirt, vk_mounts_apply when P has nodes, and saves P. A failure to
 * apply still saves P, with the change pending for the next start. */
int vk_mounts_update(struct vk_profile *p, struct vk_mounts_applied *out, struct vk_error *err);
