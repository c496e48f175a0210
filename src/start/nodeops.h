/* `node add`, `node delete`, `node list`: changing a made profile's nodes (the new node's machine is made by the start pipeline). */
#pragma once

#include <stdbool.h>

#include "vm/machine.h"
#include "profile/profile.h"
#include "start/start.h"
#include "util/error.h"

/* Each node's domain state, in p->cfg.nodes order, into STATES (room for
 * VK_NODES_MAX). */
int vk_nodes_states(const struct vk_profile *p, enum vk_host_state *states, struct vk_error *err);

/* Adds the next node to running profile P (locked by the caller) and saves
 * it: the lowest free index, its fixed IP and MAC. WORKER is `--worker`: a
 * Kubernetes worker, refused on a --no-kubernetes profile (there is no
 * cluster to join; a plain node is added without it). A Kubernetes profile
 * whose join token has expired, or was never in the cluster, gets a fresh
 * one through the API (a bootstrap-token Secret). Nothing is changed when it
 * fails. *ADDED (may be NULL) gets the new node's index. The caller then
 * runs vk_start, which makes and boots it, and vk_nodes_sync_routes. */
int vk_node_add_prepare(struct vk_profile *p, bool worker, long *added, struct vk_error *err);

/* `node add`: vk_node_add_prepare, then the start pipeline O (P's saved
 * settings; events to ON_EVENT) makes and boots the new node and, with
 * Kubernetes, waits for it to join and be Ready; then the other nodes get
 * their routes to its pod CIDR (vk_nodes_sync_routes; *ROUTES_FAILED, may be
 * NULL, names any that could not be reached). *ADDED (may be NULL) gets the
 * new node's index, also when the start fails (a later start finishes it). */
int vk_node_add(struct vk_profile *p, bool worker, const struct vk_start_opts *o, vk_start_event_fn on_event,
		void *event_data, long *added, char **routes_failed, struct vk_error *err);

struct vk_node_delete_result {
	bool domain_removed;
	bool node_object_removed;   /* the Kubernetes Node */
	char *routes_failed;        /* a node whose routes could not be updated, and why (owned; NULL: none) */
};

/* Removes node NAME (PROFILE-m02, or m02) from P (locked by the caller):
 * its Kubernetes Node (when the API answers), its domain, its DHCP entry, its
 * files and its record; then the other running nodes' pod routes. The
 * control plane (node 1) and names that are not P's nodes are refused,
 * with nothing changed. RES is overwritten; free it with
 * vk_node_delete_result_release. */
int vk_node_delete(struct vk_profile *p, const char *name, struct vk_node_delete_result *res, struct vk_error *err);
void vk_node_delete_result_release(struct vk_node_delete_result *res);

/* Writes every running node's pod routes (host-gw: the other nodes' pod
 * CIDRs via their IPs) over ssh and applies them, skipping node SKIP (0:
 * none). Routes of a node that cannot be reached are reported in *FAILED
 * (may be NULL; caller frees) and it goes on; it fails only on what it
 * cannot do at all. */
int vk_nodes_sync_routes(const struct vk_profile *p, long skip, char **failed, struct vk_error *err);

/* The guest command that installs ROUTES ("DEST VIA" lines) as a node's pod
 * routes (caller frees): every value is an address or a CIDR, checked. */
char *vk_nodes_routes_command(const char *routes, struct vk_error *err);
