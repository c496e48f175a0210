/* The Kubernetes part of `status` (see status.h): the kubelet asked over ssh, the API server and the Node over the API, the kubeconfig through kube/context. */
#include "cluster/status.h"

#include <string.h>

#include "kube/context.h"
#include "kube/k8sready.h"
#include "kube/kubeapi.h"
#include "vm/guestssh.h"
#include "util/cleanup.h"
#include "util/log.h"

/* The kubelet service's state in the guest (systemctl, over ssh): "Running",
 * "Starting" or "Stopped"; NULL when the guest cannot be asked. */
static const char *kubelet_service_state(const struct vk_profile *p, const char *ip)
{
	_cleanup_free_ char *out = NULL;
	struct vk_error err = { 0 };
	int status = 0;

	if (vk_guest_run_at(p, ip, "systemctl is-active kubelet.service", 5000, &out, &status, &err) < 0) {
		vk_debug("kubelet: %s", err.message);
		return NULL;
	}
	if (status == 255) {
		vk_debug("kubelet: ssh into profile '%s' failed", p->name);
		return NULL;
	}
	out[strcspn(out, "\n")] = '\0';
	if (strcmp(out, "active") == 0 || strcmp(out, "reloading") == 0)
		return "Running";
	if (strcmp(out, "activating") == 0)
		return "Starting";
	return "Stopped";
}

/* Whether the guest is asked at all: its host runs, and not on libvirt's test driver (which runs no guest). */
static bool guest_asked(const struct vk_profile *p, bool host_running)
{
	const char *uri = p->cfg.libvirt_uri;

	return host_running && !(uri && strncmp(uri, "test:", 5) == 0);
}

/* The kubelet as Node NAME's Ready condition tells: "Running", "NotReady",
 * "Stopped" (not registered) or "Unknown" (the API cannot say). */
static const char *node_kubelet(struct vk_kube *k, const char *name, struct vk_error *err)
{
	_cleanup_free_ char *why = NULL;
	bool ready = false;

	if (vk_node_check(k, name, &ready, &why, err) < 0)
		return "Unknown";
	return ready ? "Running" : why && strstr(why, "not registered") ? "Stopped" : "NotReady";
}

int vk_status_kubernetes(const struct vk_profile *p, bool host_running, json_t *fields, int *bits,
			 struct vk_error *err)
{
	enum vk_kubeconfig_state kstate = vk_context_state(p);
	const char *apiserver = "Stopped", *kubelet = "Stopped";
	struct vk_error local = { 0 };

	(void)err;
	if (guest_asked(p, host_running)) {
		struct vk_kube *k = vk_kube_from_profile(p, &local);

		if (k) {
			_cleanup_free_ char *why = NULL;
			bool ready = false;

			vk_kube_set_timeout(k, 3000);
			if (vk_apiserver_check(k, &ready, &why, &local) == 0 && ready) {
				apiserver = "Running";
				kubelet = node_kubelet(k, p->name, &local);
			} else {
				vk_debug("API server: %s", why ? why : local.message);
				kubelet = "Unknown";
			}
			vk_kube_free(k);
		}
		/* What the node reports stands in only when the guest cannot be asked. */
		kubelet = kubelet_service_state(p, p->cfg.node_ip) ?: kubelet;
	}
	json_object_set_new(fields, "Kubelet", json_string(kubelet));
	json_object_set_new(fields, "APIServer", json_string(apiserver));
	json_object_set_new(fields, "Kubeconfig", json_string(vk_kubeconfig_state_name(kstate)));
	if (strcmp(apiserver, "Running") != 0 || strcmp(kubelet, "Running") != 0)
		*bits |= 2;
	if (kstate != VK_KUBECONFIG_CONFIGURED)
		*bits |= 4;
	return 0;
}

int vk_status_kubernetes_node(const struct vk_profile *p, const struct vk_node *n, bool host_running, json_t *fields,
			      int *bits)
{
	const char *kubelet = "Stopped";

	if (guest_asked(p, host_running)) {
		struct vk_error local = { 0 };
		struct vk_kube *k = vk_kube_from_profile(p, &local);

		kubelet = "Unknown";
		if (k) {
			vk_kube_set_timeout(k, 3000);
			kubelet = node_kubelet(k, n->name, &local);
			vk_kube_free(k);
		}
		kubelet = kubelet_service_state(p, n->ip) ?: kubelet;
	}
	json_object_set_new(fields, "Kubelet", json_string(kubelet));
	if (strcmp(kubelet, "Running") != 0)
		*bits |= 2;
	return 0;
}
