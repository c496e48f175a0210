/* stop/delete/status of a profile's machine, the watch on its domain, and the names it has in libvirt (start is src/start/). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "vm/domxml.h"
#include "vm/machine.h"
#include "profile/profile.h"
#include "util/error.h"

#define VK_DEFAULT_STOP_TIMEOUT_S 90

struct vk_stop_result {
	bool was_running;     /* any node ran */
	bool forced;          /* an ACPI shutdown ran out of time: hard stop */
};

/* ACPI shutdown of every node at once with TIMEOUT_S, then a hard stop of
 * those still running. Stopped or missing domains are success with
 * was_running false. */
int vk_cluster_stop(struct vk_profile *p, int timeout_s, struct vk_stop_result *res, struct vk_error *err);

struct vk_delete_result {
	bool domain_removed;
	bool network_removed;
	bool network_kept;    /* another domain still uses it */
	bool kubeconfig_removed; /* the profile's cluster, user and context were in the kubeconfig */
	size_t volumes_removed; /* a remote libvirt host: the domains' volumes deleted there */
	char *kubeconfig;     /* the kubeconfig edited (owned; NULL when none was) */
	char *kubeconfig_kept; /* why its entries were kept (owned; NULL unless that failed) */
};

/* Removes, in this order, the domains (workers first), the network (if no other domain uses
 * it), the storage pool, the profile's directory and lock, then its
 * kubeconfig entries. Works on half-created profiles. Nothing is removed
 * when libvirt cannot be reached (the VM would be orphaned); a kubeconfig
 * that cannot be edited once the VM is gone is only reported in
 * RES->kubeconfig_kept. RES is overwritten (release an earlier result
 * first); free it with vk_delete_result_release. */
int vk_cluster_delete(struct vk_profile *p, struct vk_delete_result *res, struct vk_error *err);
void vk_delete_result_release(struct vk_delete_result *res);

/* What `status` shows. FIELDS is an object other modules add keys to
 * (minikube-style names: "Name", "Host", ...); EXIT_BITS is the minikube
 * bitmask (1 host down, 2 cluster down, 4 Kubernetes down). */
struct vk_status {
	enum vk_host_state host;
	char node_ip[16];
	bool kubernetes;
	json_t *fields;       /* owned */
	int exit_bits;
};

/* Fills ST (caller calls vk_status_release): the profile's own VM (node 1);
 * with workers, "Type" says "Control Plane". */
int vk_cluster_status(struct vk_profile *p, struct vk_status *st, struct vk_error *err);
/* The same for another node N of P: Name, Type ("Worker" or "Plain"), Host, IP. */
int vk_cluster_node_status(struct vk_profile *p, const struct vk_node *n, struct vk_status *st, struct vk_error *err);
void vk_status_release(struct vk_status *st);

/* Watches a profile's domain while the host waits for its guest: a
 * vk_guest_check_fn (DATA is the watch) that fails, naming the state and
 * pointing at `virtkube logs`, once the domain no longer runs (shut off,
 * crashed, destroyed, paused or undefined). */
struct vk_cluster_watch;
struct vk_cluster_watch *vk_cluster_watch_new(const struct vk_profile *p, struct vk_error *err);
/* The same for the domain of P's node DOMAIN. */
struct vk_cluster_watch *vk_cluster_watch_new_node(const struct vk_profile *p, const char *domain,
						   struct vk_error *err);
int vk_cluster_watch_check(void *watch, struct vk_error *err);
void vk_cluster_watch_free(struct vk_cluster_watch *w);

/* The profile's saved subnet (host order, as vk_ipv4_parse gives). */
int vk_cluster_subnet(const struct vk_profile *p, uint32_t *subnet, struct vk_error *err);

/* The domain and network names of profile NAME (newly allocated). */
char *vk_cluster_domain_name(const char *profile);
char *vk_cluster_network_name(const char *profile);
