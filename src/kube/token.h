/* Bootstrap tokens: making one, checking its form, and the Secret that makes one valid (kubeadm's bootstrap-token format). */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "util/error.h"

/* A bootstrap token is "[a-z0-9]{6}.[a-z0-9]{16}": its id, a dot, its secret. */
#define VK_TOKEN_LEN 23
#define VK_TOKEN_ID_LEN 6
/* How long a token made on the host is valid (InitConfiguration
 * bootstrapTokens[].ttl; the Secret's expiration): as kubeadm's default. */
#define VK_TOKEN_TTL_S (24 * 3600)
#define VK_TOKEN_TTL "24h0m0s"
/* The group kubeadm's join RBAC is bound to. */
#define VK_TOKEN_GROUP "system:bootstrappers:kubeadm:default-node-token"

/* A fresh random bootstrap token (OpenSSL's RAND_bytes) into OUT. */
int vk_token_new(char out[VK_TOKEN_LEN + 1], struct vk_error *err);
/* Whether TOKEN has the bootstrap token's form. */
bool vk_token_valid(const char *token);

/* The kube-system Secret "bootstrap-token-ID" that makes TOKEN valid until
 * EXPIRES (what `kubeadm token create` writes), as JSON text for server-side
 * apply (caller frees). */
char *vk_token_secret(const char *token, time_t expires);
