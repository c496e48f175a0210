/* Host-side PKI: the per-profile cluster CA (given to kubeadm) and the kubeconfig client certificate. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

#define VK_PKI_CA_DAYS (10 * 365 + 2)
#define VK_PKI_CLIENT_DAYS (3 * 365 + 1)
/* A client certificate closer than this to its end is issued again. */
#define VK_PKI_RENEW_DAYS 30
#define VK_PKI_CLIENT_CN "virtkube-admin"
#define VK_PKI_CLIENT_O "system:masters"
/* The API server's name inside the cluster's own DNS-less world (also in /etc/hosts of the guest). */
#define VK_CONTROL_PLANE_NAME "control-plane.virtkube.internal"

struct vk_pki_result {
	bool ca_created;     /* a new CA was made (first start) */
	bool client_created; /* a client certificate was issued (first start, renewal or repair) */
};

/* Makes sure DIR (a profile directory, which must exist) holds the cluster CA
 * (VK_FILE_CA_CERT/KEY) and a client certificate signed by it
 * (VK_FILE_CLIENT_CERT/KEY); keys are written 0600, certificates 0644, each
 * through a temporary file and a rename. Valid files are kept as they are.
 * A missing or incomplete CA (a key without its certificate: an interrupted
 * first run) is created anew; a CA that exists but is unusable (expired,
 * key and certificate do not match, key missing) is an error and is never
 * replaced, since a cluster may trust it. A client certificate that is
 * missing, broken, not signed by the CA or near its end is issued again.
 * PROFILE goes into the CA's subject. RESULT may be NULL. */
int vk_pki_ensure(const char *dir, const char *profile, struct vk_pki_result *result, struct vk_error *err);

/* Checks the files vk_pki_ensure writes, without changing anything:
 * 0 when the CA and the client certificate are present, match their keys,
 * are in their validity period and the client is signed by the CA. */
int vk_pki_check(const char *dir, struct vk_error *err);

/* The API server certificate's subject alternative names for NODE_IP
 * (IP addresses and DNS names, in the order kubeadm's certSANs gets them).
 * A NULL-terminated array the caller frees with vk_strv_free. */
char **vk_pki_apiserver_sans(const char *node_ip);

/* Issues a TLS server certificate signed by the CA in DIR for SANS (entries
 * that parse as IP addresses become IP SANs, the rest DNS SANs), valid DAYS,
 * written to CERT_PATH and KEY_PATH (0600). Used to stand a test API server
 * up behind the profile's own CA. */
int vk_pki_issue_server(const char *dir, const char *cn, const char *const *sans, int days,
			const char *cert_path, const char *key_path, struct vk_error *err);
