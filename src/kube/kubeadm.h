/* The kubeadm configuration (v1beta4) and the payload's env file for the guest, rendered with libyaml. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define VK_KUBEADM_API_VERSION "kubeadm.k8s.io/v1beta4"
#define VK_KUBELET_API_VERSION "kubelet.config.k8s.io/v1beta1"
#define VK_POD_CIDR "10.244.0.0/16"
#define VK_SERVICE_CIDR "10.96.0.0/12"
#define VK_CLUSTER_DNS_IP "10.96.0.10"
#define VK_DNS_DOMAIN "cluster.local"
#define VK_CERTIFICATES_DIR "/etc/kubernetes/pki"
#define VK_CRI_SOCKET "unix:///run/containerd/containerd.sock"
/* What the kubelet gives pods as resolv.conf; the guest replaces it with
 * systemd-resolved's file where resolved runs (scripts/guest/provision). */
#define VK_KUBELET_RESOLV_CONF "/etc/resolv.conf"
/* Test hook: extra `kubeadm init` flags for the guest (e.g.
 * "--ignore-preflight-errors=HTTPProxyCIDR" for a locally built release).
 * Never set by virtkube itself. */
#define VK_KUBEADM_FLAGS_ENV "VIRTKUBE_E2E_KUBEADM_FLAGS"

struct vk_kubeadm_params {
	const char *node_name;          /* the Node's name: the profile name (a DNS label) */
	const char *node_ip;            /* IPv4, fixed before boot */
	const char *kubernetes_version; /* "v1.35.1" */
	int api_port;                   /* 0: VK_API_PORT */
	const char *cluster_name;       /* NULL: node_name */
	/* true: the VM runs with KVM and kubeadm gets its usual timeouts; false
	 * (TCG, or not known): generous ones (vk_kubeadm_timeouts). */
	bool hardware_accel;
	/* NULL: the defaults above */
	const char *pod_cidr;
	const char *service_cidr;
	const char *cluster_dns;
	const char *dns_domain;
	const char *image_repository;   /* NULL: kubeadm's own (registry.k8s.io) */
	/* multi-node (NULL/false: one node, as before) */
	const char *bootstrap_token;    /* an InitConfiguration.bootstrapTokens entry (TTL VK_TOKEN_TTL) */
	bool keep_control_plane_taint;  /* workers take the pods: the control plane keeps NoSchedule */
	const char *node_pod_cidr;      /* this node's /24 of pod_cidr (its bridge CNI); NULL: all of pod_cidr */
	const char *role;               /* "control-plane" (NULL) or "worker": the env file's NODE_ROLE */
	/* the guest containerd's registry hosts (env only): a mirror URL and plain-http registries */
	const char *registry_mirror;
	const char *const *insecure_registries; /* NULL-terminated, may be NULL */
};

/* Renders InitConfiguration + ClusterConfiguration (kubeadm.k8s.io/v1beta4)
 * + KubeletConfiguration as one multi-document YAML. Every value is checked
 * (IP, CIDRs, version, names) before it is written. Returns the text (caller
 * frees; length in *LEN if LEN) or NULL with ERR set. */
char *vk_kubeadm_config(const struct vk_kubeadm_params *p, size_t *len, struct vk_error *err);

/* Renders the payload's "env" file (KEY=VALUE lines, see scripts/guest/README.md):
 * NODE_IP, POD_CIDR, SERVICE_CIDR, KUBERNETES_VERSION, API_PORT, NODE_ROLE,
 * CONTROL_PLANE_TAINT (keep|remove), NODE_POD_CIDR when given, and
 * KUBEADM_INIT_FLAGS when the test hook VK_KUBEADM_FLAGS_ENV is set (refused
 * unless it is blank-separated "-..." words of [A-Za-z0-9=,._/:-]). Caller frees. */
char *vk_kubeadm_env(const struct vk_kubeadm_params *p, struct vk_error *err);

/* One of InitConfiguration.timeouts (kubeadm v1beta4): its name and value
 * (a Go duration) on a VM with and without hardware acceleration. */
struct vk_kubeadm_timeout {
	const char *name;
	const char *kvm;
	const char *tcg;
};

/* The timeouts written, in order, NULL-terminated (static). */
const struct vk_kubeadm_timeout *vk_kubeadm_timeouts(void);

