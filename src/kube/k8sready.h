/* Waiting for Kubernetes in the guest: the API server's /readyz and the node's Ready condition (over src/kubeapi). */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "vm/guestlog.h"
#include "kube/kubeapi.h"
#include "util/error.h"

struct vk_wait_opts {
	const char *profile;      /* for hints ('virtkube logs -p PROFILE') */
	long timeout_ms;
	long interval_ms;         /* between polls; 0: 1000 */
	vk_guest_check_fn check;  /* optional: called between polls, -1 stops the wait */
	void *data;               /* for CHECK */
};

/* One look at GET /readyz with the client certificate: *READY when it
 * answers 200 "ok". *WHY (caller frees; may be NULL) says what it answered
 * or why it could not be asked. Returns -1 only for errors that waiting
 * will not cure (the server's certificate is not trusted, ours refused). */
int vk_apiserver_check(struct vk_kube *k, bool *ready, char **why, struct vk_error *err);

/* Polls /readyz until it is ready; VK_ERR_TIMEOUT names the URL, the time
 * waited and the last answer, with a hint at 'virtkube logs'. */
int vk_wait_apiserver_ready(struct vk_kube *k, const struct vk_wait_opts *o, struct vk_error *err);

/* One look at node NODE's Ready condition; a node not registered yet is not
 * ready. *WHY as above. */
int vk_node_check(struct vk_kube *k, const char *node, bool *ready, char **why, struct vk_error *err);

/* Polls until node NODE is Ready; VK_ERR_TIMEOUT names the node and its last
 * condition. */
int vk_wait_node_ready(struct vk_kube *k, const char *node, const struct vk_wait_opts *o, struct vk_error *err);

/* One look at kube-proxy's pods (kube-system, k8s-app=kube-proxy): *READY
 * when every node of NODES (NULL-terminated) has one that is Ready and whose
 * containers all (re)started at SINCE or later (Unix time, as the cluster's
 * clock says it; 0: any start counts). After a restart the pods' status
 * from before the stop still says Ready until the kubelet updates it:
 * SINCE, taken before this boot, tells this boot's pods from those. *WHY
 * (caller frees; may be NULL) names a node whose pod is not there yet and
 * why. Returns -1 only when the API server refuses our certificate. */
int vk_kube_proxy_check(struct vk_kube *k, const char *const *nodes, time_t since, bool *ready, char **why,
			struct vk_error *err);

/* Polls it; VK_ERR_TIMEOUT names the node and its pod's last state. */
int vk_wait_kube_proxy(struct vk_kube *k, const char *const *nodes, time_t since, const struct vk_wait_opts *o,
		       struct vk_error *err);
