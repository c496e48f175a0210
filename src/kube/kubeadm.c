/* kubeadm v1beta4 configuration and the guest env file (see kubeadm.h). */
#include "kube/kubeadm.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/token.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "artifacts/artifacts.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/yamlw.h"

static int check_ipv4(const char *what, const char *ip, struct vk_error *err)
{
	struct in_addr a;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return vk_error_set(err, VK_ERR_INVALID, "%s '%s' is not an IPv4 address", what, ip ? ip : "");
	return 0;
}

static int check_cidr(const char *what, const char *cidr, struct vk_error *err)
{
	_cleanup_free_ char *addr = NULL;
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	char *end;
	long bits;
	struct in_addr a;

	if (!slash)
		goto bad;
	addr = xstrndup(cidr, (size_t)(slash - cidr));
	bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || end == slash + 1 || *end || bits < 1 || bits > 30)
		goto bad;
	return 0;
bad:
	return vk_error_set(err, VK_ERR_INVALID, "%s '%s' is not an IPv4 CIDR (a.b.c.d/n)", what, cidr ? cidr : "");
}

/* kubeadm's defaults with KVM. Under TCG a loaded guest took 2 min 16 s of
 * the 4 min control-plane check in one run, and 3 min+ under more load. */
static const struct vk_kubeadm_timeout timeouts[] = {
	{ "controlPlaneComponentHealthCheck", "4m0s", "12m0s" },
	{ "kubeletHealthCheck", "4m0s", "8m0s" },
	{ "kubernetesAPICall", "1m0s", "3m0s" },
	{ "etcdAPICall", "2m0s", "6m0s" },
	{ "tlsBootstrap", "5m0s", "10m0s" },
	{ NULL, NULL, NULL },
};

const struct vk_kubeadm_timeout *vk_kubeadm_timeouts(void)
{
	return timeouts;
}

struct resolved {
	const char *node_name, *node_ip, *version, *cluster_name;
	const char *pod_cidr, *service_cidr, *cluster_dns, *dns_domain;
	const char *image_repository;
	const char *bootstrap_token, *node_pod_cidr, *role;
	bool keep_taint;
	int port;
	bool kvm;
};

static int resolve(const struct vk_kubeadm_params *p, struct resolved *r, struct vk_error *err)
{
	r->node_name = p->node_name;
	r->node_ip = p->node_ip;
	r->version = p->kubernetes_version;
	r->cluster_name = p->cluster_name ? p->cluster_name : p->node_name;
	r->pod_cidr = p->pod_cidr ? p->pod_cidr : VK_POD_CIDR;
	r->service_cidr = p->service_cidr ? p->service_cidr : VK_SERVICE_CIDR;
	r->cluster_dns = p->cluster_dns ? p->cluster_dns : VK_CLUSTER_DNS_IP;
	r->dns_domain = p->dns_domain ? p->dns_domain : VK_DNS_DOMAIN;
	r->port = p->api_port ? p->api_port : VK_API_PORT;
	r->kvm = p->hardware_accel;
	r->image_repository = p->image_repository;
	r->bootstrap_token = p->bootstrap_token;
	r->node_pod_cidr = p->node_pod_cidr;
	r->role = p->role ? p->role : "control-plane";
	r->keep_taint = p->keep_control_plane_taint;

	if (!r->node_name || vk_profile_name_check(r->node_name, err) < 0)
		return vk_error_prefix(err, "invalid node name");
	if (vk_profile_name_check(r->cluster_name, err) < 0)
		return vk_error_prefix(err, "invalid cluster name");
	if (check_ipv4("node IP", r->node_ip, err) < 0 || check_ipv4("cluster DNS IP", r->cluster_dns, err) < 0 ||
	    check_cidr("pod CIDR", r->pod_cidr, err) < 0 || check_cidr("service CIDR", r->service_cidr, err) < 0)
		return -1;
	if (vk_kubernetes_version_check(r->version, err) < 0)
		return -1;
	if (r->node_pod_cidr && check_cidr("node pod CIDR", r->node_pod_cidr, err) < 0)
		return -1;
	if (strcmp(r->role, "control-plane") != 0 && strcmp(r->role, "worker") != 0)
		return vk_error_set(err, VK_ERR_INVALID, "node role '%s' is neither control-plane nor worker", r->role);
	if (r->bootstrap_token && !vk_token_valid(r->bootstrap_token))
		return vk_error_set(err, VK_ERR_INVALID, "the bootstrap token is not [a-z0-9]{6}.[a-z0-9]{16}");
	if (r->port < 1 || r->port > 65535)
		return vk_error_set(err, VK_ERR_INVALID, "API server port %d is out of range", r->port);
	for (const char *c = r->dns_domain; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '.' && *c != '-')
			return vk_error_set(err, VK_ERR_INVALID, "'%s' is not a DNS domain", r->dns_domain);
	if (!*r->dns_domain)
		return vk_error_set(err, VK_ERR_INVALID, "the cluster DNS domain is empty");
	return 0;
}

/* bootstrapTokens: the host's token, so workers can join with a JoinConfiguration made before any boot. */
static void bootstrap_tokens(struct vk_yamlw *w, const char *token)
{
	vk_yamlw_str(w, "bootstrapTokens");
	vk_yamlw_seq_start(w);
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "token", token);
	vk_yamlw_kv(w, "description", "made by virtkube on the host for the workers' kubeadm join");
	vk_yamlw_kv(w, "ttl", VK_TOKEN_TTL);
	vk_yamlw_str(w, "usages");
	vk_yamlw_seq_start(w);
	vk_yamlw_str(w, "signing");
	vk_yamlw_str(w, "authentication");
	vk_yamlw_seq_end(w);
	vk_yamlw_str(w, "groups");
	vk_yamlw_seq_start(w);
	vk_yamlw_str(w, VK_TOKEN_GROUP);
	vk_yamlw_seq_end(w);
	vk_yamlw_map_end(w);
	vk_yamlw_seq_end(w);
}

static void init_configuration(struct vk_yamlw *w, const struct resolved *r)
{
	vk_yamlw_doc_start(w);
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "apiVersion", VK_KUBEADM_API_VERSION);
	vk_yamlw_kv(w, "kind", "InitConfiguration");
	if (r->bootstrap_token)
		bootstrap_tokens(w, r->bootstrap_token);
	vk_yamlw_str(w, "localAPIEndpoint");
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "advertiseAddress", r->node_ip);
	vk_yamlw_kv_int(w, "bindPort", r->port);
	vk_yamlw_map_end(w);
	vk_yamlw_str(w, "nodeRegistration");
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "name", r->node_name);
	vk_yamlw_kv(w, "criSocket", VK_CRI_SOCKET);
	/* The guest imports the images from the payload before kubeadm runs:
	 * no registry is needed for what is already there. */
	vk_yamlw_kv(w, "imagePullPolicy", "IfNotPresent");
	/* v1beta4: extra arguments are a list of name/value pairs, not a map. */
	vk_yamlw_str(w, "kubeletExtraArgs");
	vk_yamlw_seq_start(w);
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "name", "node-ip");
	vk_yamlw_kv(w, "value", r->node_ip);
	vk_yamlw_map_end(w);
	vk_yamlw_seq_end(w);
	/* No control-plane taint where the control plane is also the worker;
	 * with workers (unless --schedule-on-control-plane) kubeadm's own. */
	if (!r->keep_taint) {
		vk_yamlw_str(w, "taints");
		vk_yamlw_seq_start(w);
		vk_yamlw_seq_end(w);
	}
	vk_yamlw_map_end(w);
	vk_yamlw_str(w, "timeouts");
	vk_yamlw_map_start(w);
	for (const struct vk_kubeadm_timeout *t = timeouts; t->name; t++)
		vk_yamlw_kv(w, t->name, r->kvm ? t->kvm : t->tcg);
	vk_yamlw_map_end(w);
	vk_yamlw_map_end(w);
	vk_yamlw_doc_end(w);
}

/* COMPONENT: { extraArgs: [ { name: leader-elect, value: "false" } ] }. One
 * control plane has nobody to elect, and on a slow guest (TCG, load 13-14)
 * missed lease renewals made the controller-manager and the scheduler exit
 * with "leaderelection lost" after every restart. */
static void extra_arg(struct vk_yamlw *w, const char *name, const char *value)
{
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "name", name);
	vk_yamlw_kv(w, "value", value);
	vk_yamlw_map_end(w);
}

/* The controller-manager also gets allocate-node-cidrs=false: the host gives
 * node I the pod CIDR 10.244.(I-1).0/24 (its bridge CNI and the other nodes'
 * routes use it); the allocator would hand out CIDRs in registration order. */
static void no_leader_election(struct vk_yamlw *w, const char *component)
{
	vk_yamlw_str(w, component);
	vk_yamlw_map_start(w);
	vk_yamlw_str(w, "extraArgs");
	vk_yamlw_seq_start(w);
	extra_arg(w, "leader-elect", "false");
	if (strcmp(component, "controllerManager") == 0)
		extra_arg(w, "allocate-node-cidrs", "false");
	vk_yamlw_seq_end(w);
	vk_yamlw_map_end(w);
}

static void cluster_configuration(struct vk_yamlw *w, const struct resolved *r)
{
	_cleanup_free_ char *endpoint = xasprintf("%s:%d", r->node_ip, r->port);
	_cleanup_strv_ char **sans = vk_pki_apiserver_sans(r->node_ip);

	vk_yamlw_doc_start(w);
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "apiVersion", VK_KUBEADM_API_VERSION);
	vk_yamlw_kv(w, "kind", "ClusterConfiguration");
	vk_yamlw_kv(w, "clusterName", r->cluster_name);
	vk_yamlw_kv(w, "kubernetesVersion", r->version);
	/* where the host pulled the images from, so the imported names are the ones kubeadm asks for */
	if (r->image_repository)
		vk_yamlw_kv(w, "imageRepository", r->image_repository);
	/* The IP, not control-plane.virtkube.internal: nothing in the guest
	 * resolves that name, and the IP never changes for a profile. */
	vk_yamlw_kv(w, "controlPlaneEndpoint", endpoint);
	vk_yamlw_kv(w, "certificatesDir", VK_CERTIFICATES_DIR);
	/* Matches the host-made CA (EC P-256) and is quick on a slow guest. */
	vk_yamlw_kv(w, "encryptionAlgorithm", "ECDSA-P256");
	vk_yamlw_str(w, "networking");
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "podSubnet", r->pod_cidr);
	vk_yamlw_kv(w, "serviceSubnet", r->service_cidr);
	vk_yamlw_kv(w, "dnsDomain", r->dns_domain);
	vk_yamlw_map_end(w);
	vk_yamlw_str(w, "apiServer");
	vk_yamlw_map_start(w);
	vk_yamlw_str(w, "certSANs");
	vk_yamlw_seq_start(w);
	for (char **s = sans; *s; s++)
		vk_yamlw_str(w, *s);
	vk_yamlw_seq_end(w);
	vk_yamlw_map_end(w);
	no_leader_election(w, "controllerManager");
	no_leader_election(w, "scheduler");
	vk_yamlw_map_end(w);
	vk_yamlw_doc_end(w);
}

static void kubelet_configuration(struct vk_yamlw *w, const struct resolved *r)
{
	vk_yamlw_doc_start(w);
	vk_yamlw_map_start(w);
	vk_yamlw_kv(w, "apiVersion", VK_KUBELET_API_VERSION);
	vk_yamlw_kv(w, "kind", "KubeletConfiguration");
	vk_yamlw_kv(w, "cgroupDriver", "systemd");
	vk_yamlw_str(w, "clusterDNS");
	vk_yamlw_seq_start(w);
	vk_yamlw_str(w, r->cluster_dns);
	vk_yamlw_seq_end(w);
	vk_yamlw_kv(w, "clusterDomain", r->dns_domain);
	vk_yamlw_kv(w, "resolvConf", VK_KUBELET_RESOLV_CONF);
	vk_yamlw_map_end(w);
	vk_yamlw_doc_end(w);
}

char *vk_kubeadm_config(const struct vk_kubeadm_params *p, size_t *len, struct vk_error *err)
{
	struct resolved r;
	struct vk_yamlw w;

	if (resolve(p, &r, err) < 0)
		return NULL;
	vk_yamlw_init(&w);
	init_configuration(&w, &r);
	cluster_configuration(&w, &r);
	kubelet_configuration(&w, &r);
	return vk_yamlw_finish(&w, "the kubeadm configuration", len, err);
}

/* The test hook's flags, checked: they reach a root shell in the guest. */
static int test_init_flags(const char **out, struct vk_error *err)
{
	const char *flags = getenv(VK_KUBEADM_FLAGS_ENV);
	bool word_start = true;

	*out = NULL;
	if (!flags || !flags[strspn(flags, " ")])
		return 0;
	for (const char *c = flags; *c; c++) {
		if (*c == ' ') {
			word_start = true;
			continue;
		}
		if ((word_start && *c != '-') ||
		    (!isalnum((unsigned char)*c) && !strchr("=,._/:-", *c))) {
			vk_error_set(err, VK_ERR_INVALID, "%s='%s' is not a list of kubeadm flags", VK_KUBEADM_FLAGS_ENV,
				     flags);
			return vk_error_hint(err, "it is a test hook: unset it, or give flags such as "
						  "--ignore-preflight-errors=HTTPProxyCIDR separated by spaces");
		}
		word_start = false;
	}
	*out = flags;
	return 0;
}

/* True when S[0..LEN) is made of CHARS and alphanumerics, and is not empty. */
static bool only_chars(const char *s, size_t len, const char *chars)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(chars, s[i]))
			return false;
	return true;
}

/* A registry value for the guest's env: a URL "http(s)://HOST[:PORT][/PATH]" (URL), else a HOST[:PORT]. */
static int check_registry(const char *what, const char *value, bool url, struct vk_error *err)
{
	const char *host = value, *path;
	bool good;

	if (!value || !*value)
		return vk_error_set(err, VK_ERR_INVALID, "the %s is empty", what);
	if (url)
		host = strncmp(value, "https://", 8) == 0 ? value + 8 : strncmp(value, "http://", 7) == 0 ? value + 7 : NULL;
	path = host ? strchr(host, '/') : NULL;
	good = host && only_chars(host, path ? (size_t)(path - host) : strlen(host), ".-:[]") &&
	       (!path || (url && only_chars(path, strlen(path), "/._-")));
	if (!good) {
		vk_error_set(err, VK_ERR_INVALID, "%s '%s' is not %s", what, value,
			     url ? "an http(s)://HOST[:PORT] URL" : "a HOST[:PORT]");
		return vk_error_hint(err, url ? "for example --registry-mirror https://mirror.example:5000"
					      : "for example --insecure-registry 192.168.1.10:5000");
	}
	return 0;
}

char *vk_kubeadm_env(const struct vk_kubeadm_params *p, struct vk_error *err)
{
	struct resolved r;
	const char *flags;
	_cleanup_free_ char *extra = NULL, *insecure = NULL;
	struct vk_strbuf sb = VK_STRBUF_INIT;

	if (resolve(p, &r, err) < 0 || test_init_flags(&flags, err) < 0)
		return NULL;
	if (p->registry_mirror && check_registry("registry mirror", p->registry_mirror, true, err) < 0)
		return NULL;
	for (const char *const *h = p->insecure_registries; h && *h; h++)
		if (check_registry("insecure registry", *h, false, err) < 0)
			return NULL;
	extra = flags ? xasprintf("KUBEADM_INIT_FLAGS=%s\n", flags) : xstrdup("");
	insecure = p->insecure_registries && p->insecure_registries[0] ? vk_strv_join(p->insecure_registries, ",")
								     : NULL;
	/* Every value was checked above: none holds quotes or '$'. */
	vk_strbuf_addf(&sb, "NODE_IP=%s\nPOD_CIDR=%s\nSERVICE_CIDR=%s\nKUBERNETES_VERSION=%s\nAPI_PORT=%d\nNODE_ROLE=%s\n"
		       "CONTROL_PLANE_TAINT=%s\n%s",
		       r.node_ip, r.pod_cidr, r.service_cidr, r.version, r.port, r.role, r.keep_taint ? "keep" : "remove",
		       extra);
	if (r.node_pod_cidr)
		vk_strbuf_addf(&sb, "NODE_POD_CIDR=%s\n", r.node_pod_cidr);
	if (p->registry_mirror)
		vk_strbuf_addf(&sb, "REGISTRY_MIRROR=%s\n", p->registry_mirror);
	if (insecure)
		vk_strbuf_addf(&sb, "INSECURE_REGISTRIES=%s\n", insecure);
	return vk_strbuf_detach(&sb, NULL);
}
