/* A profile's node plan: each node's fixed IP and MAC, its pod CIDR, per-node files, and the pod routes between nodes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/error.h"

/* Every node's pod CIDR is a /24 of this /16: node I has 10.244.(I-1).0/24. */
#define VK_NODE_POD_PREFIX "10.244"

/* The label every worker gets (kubectl get nodes shows its ROLES). */
#define VK_WORKER_LABEL "node-role.kubernetes.io/worker"

/* Node INDEX's address on SUBNET (host order): .INDEX+1, so node 1 keeps the
 * address a one-node profile has always had (vk_network_node_ip). */
uint32_t vk_node_ip(uint32_t subnet, long index);
/* Node INDEX's pod CIDR, "10.244.(INDEX-1).0/24". */
void vk_node_pod_cidr(long index, char buf[24]);

/* Checks a node count (--nodes): 1..VK_NODES_MAX, and a profile name short
 * enough that PROFILE-m0N is still a host name when there are workers. */
int vk_nodes_count_check(const char *profile, long count, struct vk_error *err);

/* The node of P named NAME: its full name (PROFILE-m02) or the suffix alone
 * (m02), as minikube's -n takes it. A name that is not one of P's nodes is
 * VK_ERR_NOT_FOUND naming the nodes it has. */
struct vk_node *vk_nodes_find(const struct vk_profile *p, const char *name, struct vk_error *err);
/* The lowest free node index of P (2..VK_NODES_MAX), or 0 when all are taken. */
long vk_nodes_free_index(const struct vk_profile *p);
/* The profile's own VM (node 1), or NULL when its network is not planned yet. */
struct vk_node *vk_nodes_primary(const struct vk_profile *p);

/* Makes the records of nodes 1..COUNT of P on SUBNET (node 1 from
 * p->cfg.node_ip and mac): names, IPs, MACs from the names, roles
 * (control-plane and workers, or plain VMs without KUBERNETES). A bridged
 * profile's addresses come from its LAN (vk_bridge_lan_node_ip; SUBNET is
 * unused), checked before with vk_bridge_lan_check. Not saved. */
void vk_nodes_plan(struct vk_profile *p, uint32_t subnet, long count, bool kubernetes);
/* Adds node INDEX of P on SUBNET (a bridged profile: on its LAN) as a
 * worker (a plain VM without Kubernetes); returns it, or NULL with ERR when
 * a bridged profile's LAN has no address for it. Not saved. */
struct vk_node *vk_nodes_add(struct vk_profile *p, uint32_t subnet, long index, struct vk_error *err);

/* A bridged profile's LAN (--network-mode bridge): the addresses the user
 * gave, host order. Node I has FIRST + I - 1. */
struct vk_bridge_lan {
	uint32_t first;    /* node 1's address (--bridge-ip A.B.C.D/P) */
	int prefix;        /* P: 8..30 */
	uint32_t gateway;  /* --bridge-gateway, else the prefix's first host address */
	uint32_t dns;      /* --bridge-dns, else the gateway */
};
/* Parses and checks IP_CIDR ("A.B.C.D/P"), GATEWAY and DNS (NULL: the
 * defaults above): a prefix of 8 to 30, node 1 neither the LAN's network nor
 * its broadcast address nor the gateway, the gateway inside the LAN. Each
 * error names the value, the flag and a fix. Pure. */
int vk_bridge_lan_parse(const char *ip_cidr, const char *gateway, const char *dns, struct vk_bridge_lan *lan,
			struct vk_error *err);
/* Node INDEX's address on LAN into *IP; -1 with ERR when it falls outside
 * the LAN, on its broadcast address or on the gateway. Pure. */
int vk_bridge_lan_node_ip(const struct vk_bridge_lan *lan, long index, uint32_t *ip, struct vk_error *err);
/* Whether nodes 1..COUNT all have an address on LAN (the first that has none is the error). Pure. */
int vk_bridge_lan_check(const struct vk_bridge_lan *lan, long count, struct vk_error *err);
/* The LAN a bridged profile P saved (its config.json). */
int vk_profile_bridge_lan(const struct vk_profile *p, struct vk_bridge_lan *lan, struct vk_error *err);

/* The file FILE (VK_FILE_DISK, VK_FILE_SEED, VK_FILE_CONSOLE_LOG) of node N
 * in P's directory (newly allocated): node 1 keeps the plain names, node I
 * has "mNN-FILE". */
char *vk_node_path(const struct vk_profile *p, const struct vk_node *n, const char *file);

/* One static route of a node: the pod CIDR of another node via its IP. */
struct vk_pod_route {
	char dest[24];   /* "10.244.J.0/24" */
	char via[16];
};

/* The routes node SELF needs (host-gw on one L2 network): every other node's
 * pod CIDR via that node's IP, in index order. Returns how many were written
 * to OUT (room for VK_NODES_MAX). */
size_t vk_nodes_routes(const struct vk_node *nodes, size_t nnodes, long self, struct vk_pod_route *out);
/* The routes as the guest's routes file: "DEST VIA" lines (caller frees). */
char *vk_nodes_routes_text(const struct vk_node *nodes, size_t nnodes, long self);
