/* Shared by the API-facing commands: open the profile and a client for its cluster. */
#pragma once

#include "cli.h"
#include "kube/kubeapi.h"
#include "profile/profile.h"

/* Opens the context's profile, checks it is Running with Kubernetes, and makes
 * a client from the profile's own credentials. On success the caller owns *P
 * and *K; on failure both are NULL and ERR says why. */
int cli_kube_open(const struct cli_context *ctx, struct vk_profile **p, struct vk_kube **k, struct vk_error *err);
