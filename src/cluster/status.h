/* The Kubernetes part of `status`: kubelet, API server and kubeconfig, beside the host part (vk_cluster_status, cluster.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "profile/profile.h"
#include "util/error.h"

/* Adds "Kubelet" (the kubelet service in the guest, asked over ssh:
 * Running, Starting, Stopped; when ssh fails, from the node's Ready
 * condition: Running, NotReady, Stopped, Unknown), "APIServer" (Running,
 * Stopped) and "Kubeconfig" (Configured, Misconfigured, Nonexistent) to
 * FIELDS and minikube's bits to *BITS (2: API server or kubelet not running;
 * 4: kubeconfig not Configured). The API is asked only when HOST_RUNNING (and
 * never on libvirt's test driver, which runs no guest). */
int vk_status_kubernetes(const struct vk_profile *p, bool host_running, json_t *fields, int *bits,
			 struct vk_error *err);

/* The same for worker N of P: "Kubelet" only (the service, over ssh; else
 * its Node's Ready condition); bit 2 when it is not running. */
int vk_status_kubernetes_node(const struct vk_profile *p, const struct vk_node *n, bool host_running, json_t *fields,
			      int *bits);
