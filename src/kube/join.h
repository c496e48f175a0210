/* What `kubeadm join` needs, made on the host: a bootstrap token, the CA's public-key hash, and each worker's JoinConfiguration (v1beta4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/error.h"

/* The discovery-token-ca-cert-hash of the CA certificate at CA_PATH (PEM):
 * "sha256:" and the hex SHA-256 of its DER SubjectPublicKeyInfo. */
int vk_join_ca_hash(const char *ca_path, char out[7 + 64 + 1], struct vk_error *err);

struct vk_join_params {
	const char *node_name;          /* the worker: PROFILE-m02 */
	const char *node_ip;
	const char *api_endpoint;       /* the control plane: "IP:PORT" */
	const char *token;
	const char *ca_hash;            /* from vk_join_ca_hash */
	bool hardware_accel;            /* false: TCG's generous timeouts */
};

/* Renders a JoinConfiguration (kubeadm.k8s.io/v1beta4) with token discovery
 * pinned to CA_HASH; every value checked first. Returns the text (caller
 * frees; length in *LEN if LEN) or NULL with ERR set. */
char *vk_join_config(const struct vk_join_params *p, size_t *len, struct vk_error *err);
