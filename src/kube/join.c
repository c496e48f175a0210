/* Bootstrap token, CA public-key hash and JoinConfiguration, made on the host (see join.h). */
#include "kube/join.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeadm.h"
#include "kube/token.h"
#include "profile/profile.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "util/yamlw.h"

int vk_join_ca_hash(const char *ca_path, char out[7 + 64 + 1], struct vk_error *err)
{
	FILE *f = fopen(ca_path, "r");
	X509 *cert;
	unsigned char *der = NULL, digest[32];
	unsigned int dlen = 0;
	int len;

	if (!f)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read the cluster CA '%s'", ca_path);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		return vk_error_set(err, VK_ERR_PARSE, "cannot read the cluster CA '%s': not a PEM certificate", ca_path);
	/* The SubjectPublicKeyInfo, DER: what kubeadm pins (pubkeypin). */
	len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	X509_free(cert);
	if (len <= 0)
		return vk_error_set(err, VK_ERR_PARSE, "cannot read the public key of the cluster CA '%s'", ca_path);
	if (EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != sizeof(digest)) {
		OPENSSL_free(der);
		return vk_error_set(err, VK_ERR_FAILED, "cannot hash the public key of the cluster CA '%s'", ca_path);
	}
	OPENSSL_free(der);
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

static int check_params(const struct vk_join_params *p, struct vk_error *err)
{
	struct in_addr a;
	const char *colon = p->api_endpoint ? strrchr(p->api_endpoint, ':') : NULL;
	_cleanup_free_ char *host = colon ? xstrndup(p->api_endpoint, (size_t)(colon - p->api_endpoint)) : NULL;
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;

	if (!p->node_name || vk_profile_name_check(p->node_name, err) < 0)
		return vk_error_prefix(err, "invalid node name");
	if (!p->node_ip || inet_pton(AF_INET, p->node_ip, &a) != 1)
		return vk_error_set(err, VK_ERR_INVALID, "node IP '%s' is not an IPv4 address", p->node_ip ?: "");
	if (!host || inet_pton(AF_INET, host, &a) != 1 || end == colon + 1 || *end || port < 1 || port > 65535)
		return vk_error_set(err, VK_ERR_INVALID, "API endpoint '%s' is not IPv4:PORT", p->api_endpoint ?: "");
	if (!vk_token_valid(p->token))
		return vk_error_set(err, VK_ERR_INVALID, "the join token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})");
	if (!p->ca_hash || strncmp(p->ca_hash, "sha256:", 7) != 0 || strlen(p->ca_hash) != 7 + 64 ||
	    strspn(p->ca_hash + 7, "0123456789abcdef") != 64)
		return vk_error_set(err, VK_ERR_INVALID, "CA hash '%s' is not sha256:<64 hex digits>", p->ca_hash ?: "");
	return 0;
}

char *vk_join_config(const struct vk_join_params *p, size_t *len, struct vk_error *err)
{
	struct vk_yamlw w;

	if (check_params(p, err) < 0)
		return NULL;
	vk_yamlw_init(&w);
	vk_yamlw_doc_start(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv(&w, "apiVersion", VK_KUBEADM_API_VERSION);
	vk_yamlw_kv(&w, "kind", "JoinConfiguration");
	vk_yamlw_str(&w, "discovery");
	vk_yamlw_map_start(&w);
	vk_yamlw_str(&w, "bootstrapToken");
	vk_yamlw_map_start(&w);
	vk_yamlw_kv(&w, "apiServerEndpoint", p->api_endpoint);
	vk_yamlw_kv(&w, "token", p->token);
	vk_yamlw_str(&w, "caCertHashes");
	vk_yamlw_seq_start(&w);
	vk_yamlw_str(&w, p->ca_hash);
	vk_yamlw_seq_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_kv(&w, "tlsBootstrapToken", p->token);
	vk_yamlw_map_end(&w);
	vk_yamlw_str(&w, "nodeRegistration");
	vk_yamlw_map_start(&w);
	vk_yamlw_kv(&w, "name", p->node_name);
	vk_yamlw_kv(&w, "criSocket", VK_CRI_SOCKET);
	vk_yamlw_kv(&w, "imagePullPolicy", "IfNotPresent");
	vk_yamlw_str(&w, "kubeletExtraArgs");
	vk_yamlw_seq_start(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv(&w, "name", "node-ip");
	vk_yamlw_kv(&w, "value", p->node_ip);
	vk_yamlw_map_end(&w);
	vk_yamlw_seq_end(&w);
	vk_yamlw_map_end(&w);
	/* The worker waits for the API itself before it joins; these bound the
	 * join's own steps on a slow (TCG) guest. */
	vk_yamlw_str(&w, "timeouts");
	vk_yamlw_map_start(&w);
	vk_yamlw_kv(&w, "discovery", p->hardware_accel ? "5m0s" : "15m0s");
	vk_yamlw_kv(&w, "tlsBootstrap", p->hardware_accel ? "5m0s" : "10m0s");
	vk_yamlw_kv(&w, "kubeletHealthCheck", p->hardware_accel ? "4m0s" : "8m0s");
	vk_yamlw_kv(&w, "kubernetesAPICall", p->hardware_accel ? "1m0s" : "3m0s");
	vk_yamlw_map_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_doc_end(&w);
	return vk_yamlw_finish(&w, "the kubeadm join configuration", len, err);
}
