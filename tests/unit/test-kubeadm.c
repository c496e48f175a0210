/* Unit tests for src/kubeadm and src/yamlw: the config is parsed back with libyaml and checked field by field. */
#include <stdio.h>
#include <stdlib.h>

#include "artifacts/artifacts.h"
#include "kube/kubeadm.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "util/yamlw.h"
#include "yamltest.h"

static bool seq_has(yaml_document_t *doc, const char *path, const char *want)
{
	long n = yt_len(doc, path);

	for (long i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s.%ld", path, i);
		const char *v = yt_str(doc, p);

		if (v && strcmp(v, want) == 0)
			return true;
	}
	return false;
}

static void check_config(const char *name, const char *ip, const char *version, int port)
{
	struct vk_kubeadm_params p = { .node_name = name, .node_ip = ip, .kubernetes_version = version, .api_port = port };
	struct vk_error err = { 0 };
	_cleanup_free_ char *yaml = vk_kubeadm_config(&p, NULL, &err);
	_cleanup_free_ char *endpoint = xasprintf("%s:%d", ip, port ? port : 8443);
	_cleanup_free_ char *portstr = xasprintf("%d", port ? port : 8443);
	struct yt_docs d;
	yaml_document_t *init, *cluster, *kubelet;

	ok(yaml != NULL, "config renders for %s %s %s (%s)", name, ip, version, err.message);
	if (!yaml)
		return;
	is_int(yt_load(&d, yaml), 3, "it parses back as three documents");
	init = yt_kind(&d, "InitConfiguration");
	cluster = yt_kind(&d, "ClusterConfiguration");
	kubelet = yt_kind(&d, "KubeletConfiguration");
	ok(init && cluster && kubelet, "InitConfiguration, ClusterConfiguration and KubeletConfiguration are there");
	if (!init || !cluster || !kubelet) {
		yt_free(&d);
		return;
	}
	is_str(yt_str(init, "apiVersion"), "kubeadm.k8s.io/v1beta4", "InitConfiguration is v1beta4");
	is_str(yt_str(cluster, "apiVersion"), "kubeadm.k8s.io/v1beta4", "ClusterConfiguration is v1beta4");
	is_str(yt_str(kubelet, "apiVersion"), "kubelet.config.k8s.io/v1beta1", "KubeletConfiguration is kubelet.config.k8s.io/v1beta1");
	is_str(yt_str(init, "localAPIEndpoint.advertiseAddress"), ip, "advertiseAddress is the node IP");
	is_str(yt_str(init, "localAPIEndpoint.bindPort"), portstr, "bindPort is the API port");
	is_int(yt_style(init, "localAPIEndpoint.bindPort"), YAML_PLAIN_SCALAR_STYLE, "bindPort is a plain number");
	is_str(yt_str(init, "nodeRegistration.name"), name, "the node is named after the profile");
	is_str(yt_str(init, "nodeRegistration.criSocket"), "unix:///run/containerd/containerd.sock", "criSocket is containerd's");
	is_str(yt_str(init, "nodeRegistration.kubeletExtraArgs.0.name"), "node-ip", "kubeletExtraArgs is a name/value list: node-ip");
	is_str(yt_str(init, "nodeRegistration.kubeletExtraArgs.0.value"), ip, "node-ip's value is the node IP");
	is_int(yt_len(init, "nodeRegistration.taints"), 0, "no taints: the single node takes workloads");
	is_str(yt_str(cluster, "kubernetesVersion"), version, "kubernetesVersion");
	is_str(yt_str(cluster, "controlPlaneEndpoint"), endpoint, "controlPlaneEndpoint is IP:port");
	is_str(yt_str(cluster, "clusterName"), name, "clusterName is the profile");
	is_str(yt_str(cluster, "certificatesDir"), "/etc/kubernetes/pki", "certificatesDir");
	is_str(yt_str(cluster, "encryptionAlgorithm"), "ECDSA-P256", "encryptionAlgorithm is ECDSA-P256");
	is_str(yt_str(cluster, "networking.podSubnet"), "10.244.0.0/16", "podSubnet");
	is_str(yt_str(cluster, "networking.serviceSubnet"), "10.96.0.0/12", "serviceSubnet");
	is_str(yt_str(cluster, "networking.dnsDomain"), "cluster.local", "dnsDomain");
	ok(seq_has(cluster, "apiServer.certSANs", ip), "certSANs has the node IP");
	ok(seq_has(cluster, "apiServer.certSANs", "127.0.0.1"), "certSANs has 127.0.0.1");
	ok(seq_has(cluster, "apiServer.certSANs", "10.96.0.1"), "certSANs has 10.96.0.1");
	ok(seq_has(cluster, "apiServer.certSANs", "localhost"), "certSANs has localhost");
	ok(seq_has(cluster, "apiServer.certSANs", "kubernetes.default.svc.cluster.local"), "certSANs has kubernetes.default.svc.cluster.local");
	ok(seq_has(cluster, "apiServer.certSANs", "control-plane.virtkube.internal"), "certSANs has control-plane.virtkube.internal");
	is_int(yt_len(cluster, "apiServer.certSANs"), 9, "certSANs has 9 entries");
	is_str(yt_str(kubelet, "cgroupDriver"), "systemd", "kubelet cgroupDriver systemd");
	is_str(yt_str(kubelet, "clusterDNS.0"), "10.96.0.10", "kubelet clusterDNS");
	is_str(yt_str(kubelet, "clusterDomain"), "cluster.local", "kubelet clusterDomain");
	is_str(yt_str(kubelet, "resolvConf"), "/etc/resolv.conf", "kubelet resolvConf (the guest may swap in resolved's)");
	is_str(yt_str(init, "nodeRegistration.imagePullPolicy"), "IfNotPresent",
	       "imagePullPolicy IfNotPresent: the payload's images are used");
	is_str(yt_str(cluster, "controllerManager.extraArgs.0.name"), "leader-elect", "controller-manager: leader-elect");
	is_str(yt_str(cluster, "controllerManager.extraArgs.0.value"), "false", "set to \"false\"");
	ok(yt_style(cluster, "controllerManager.extraArgs.0.value") != YAML_PLAIN_SCALAR_STYLE,
	   "quoted, so kubeadm reads a string, not a boolean");
	is_str(yt_str(cluster, "scheduler.extraArgs.0.name"), "leader-elect", "scheduler: leader-elect");
	is_str(yt_str(cluster, "scheduler.extraArgs.0.value"), "false", "set to \"false\"");
	yt_free(&d);
}

/* Timeouts follow the accelerator; unknown counts as slow. */
static void test_timeouts(void)
{
	const struct vk_kubeadm_timeout *t = vk_kubeadm_timeouts();
	struct vk_kubeadm_params p = { .node_name = "dev", .node_ip = "10.0.0.2", .kubernetes_version = "v1.35.0" };
	struct vk_error err = { 0 };
	_cleanup_free_ char *tcg = vk_kubeadm_config(&p, NULL, &err);
	_cleanup_free_ char *kvm = NULL;
	struct yt_docs dt, dk;
	yaml_document_t *it, *ik;
	size_t n = 0;

	p.hardware_accel = true;
	kvm = vk_kubeadm_config(&p, NULL, &err);
	ok(tcg && kvm, "both configs render");
	if (!tcg || !kvm)
		return;
	yt_load(&dt, tcg);
	yt_load(&dk, kvm);
	it = yt_kind(&dt, "InitConfiguration");
	ik = yt_kind(&dk, "InitConfiguration");
	is_str(yt_str(ik, "timeouts.controlPlaneComponentHealthCheck"), "4m0s", "KVM: kubeadm's 4 min control-plane check");
	is_str(yt_str(it, "timeouts.controlPlaneComponentHealthCheck"), "12m0s", "TCG (the default): 12 min");
	is_str(yt_str(it, "timeouts.kubeletHealthCheck"), "8m0s", "TCG: 8 min for the kubelet");
	for (; t->name; t++, n++) {
		_cleanup_free_ char *path = xasprintf("timeouts.%s", t->name);

		is_str(yt_str(ik, path), t->kvm, "KVM: %s %s", t->name, t->kvm);
		is_str(yt_str(it, path), t->tcg, "TCG: %s %s", t->name, t->tcg);
	}
	ok(n >= 4, "at least four timeouts are written (%zu)", n);
	yt_free(&dt);
	yt_free(&dk);
}

static void test_bad_input(void)
{
	struct vk_error err = { 0 };
	struct {
		struct vk_kubeadm_params p;
		const char *want;
	} cases[] = {
		{ { .node_name = "dev", .node_ip = "10.0.0.300", .kubernetes_version = "v1.35.0" }, "not an IPv4 address" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1\nkind: x", .kubernetes_version = "v1.35.0" }, "not an IPv4 address" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "1.35.0" }, "not a Kubernetes version" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35" }, "not a Kubernetes version" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35.0\"" }, "not a Kubernetes version" },
		{ { .node_name = "Dev X", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35.0" }, "invalid node name" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35.0", .pod_cidr = "10.244.0.0" }, "not an IPv4 CIDR" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35.0", .api_port = 70000 }, "out of range" },
		{ { .node_name = "dev", .node_ip = "10.0.0.1", .kubernetes_version = "v1.35.0", .dns_domain = "a b" }, "not a DNS domain" },
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
		char *y = vk_kubeadm_config(&cases[i].p, NULL, &err);

		ok(y == NULL && err.code == VK_ERR_INVALID, "bad input %zu is refused", i);
		contains(err.message, cases[i].want, "with a message that says why");
		free(y);
	}
	ok(vk_kubernetes_version_check("v1.36.0-rc.1", &err) == 0, "a pre-release version is accepted");
}

static void test_env(void)
{
	struct vk_kubeadm_params p = { .node_name = "dev", .node_ip = "192.168.50.2", .kubernetes_version = "v1.34.2" };
	struct vk_error err = { 0 };
	_cleanup_free_ char *env = vk_kubeadm_env(&p, &err);

	ok(env != NULL, "the env file renders");
	contains(env, "NODE_IP=192.168.50.2\n", "NODE_IP");
	contains(env, "POD_CIDR=10.244.0.0/16\n", "POD_CIDR");
	contains(env, "SERVICE_CIDR=10.96.0.0/12\n", "SERVICE_CIDR");
	contains(env, "KUBERNETES_VERSION=v1.34.2\n", "KUBERNETES_VERSION");
	contains(env, "API_PORT=8443\n", "API_PORT");
	ok(!strstr(env, "KUBEADM_INIT_FLAGS"), "no kubeadm flags unless the test hook is set");
	ok(!strstr(env, "REGISTRY_MIRROR") && !strstr(env, "INSECURE_REGISTRIES"), "no registries unless given");
}

static void test_env_registries(void)
{
	const char *insecure[] = { "lab.test:5000", "10.1.2.3", NULL };
	const char *bad_mirrors[] = { "mirror.test", "ftp://x", "https://", "https://a b", "https://x/$(id)", "https://x\"" };
	const char *bad_hosts[] = { "a/b", "x;y", "http://x" };
	struct vk_kubeadm_params p = { .node_name = "dev", .node_ip = "192.168.50.2", .kubernetes_version = "v1.34.2",
				       .registry_mirror = "https://mirror.test:5000", .insecure_registries = insecure };
	struct vk_error err = { 0 };
	char *env = vk_kubeadm_env(&p, &err);

	contains(env, "\nREGISTRY_MIRROR=https://mirror.test:5000\n", "REGISTRY_MIRROR for the guest's hosts.toml");
	contains(env, "\nINSECURE_REGISTRIES=lab.test:5000,10.1.2.3\n", "INSECURE_REGISTRIES, comma-separated");
	free(env);
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad_mirrors); i++) {
		p.registry_mirror = bad_mirrors[i];
		vk_error_clear(&err);
		env = vk_kubeadm_env(&p, &err);
		ok(env == NULL && err.code == VK_ERR_INVALID, "mirror '%s' is refused", bad_mirrors[i]);
		free(env);
	}
	p.registry_mirror = NULL;
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad_hosts); i++) {
		const char *one[] = { bad_hosts[i], NULL };

		p.insecure_registries = one;
		vk_error_clear(&err);
		env = vk_kubeadm_env(&p, &err);
		ok(env == NULL && err.code == VK_ERR_INVALID, "insecure registry '%s' is refused", bad_hosts[i]);
		contains(err.message, "is not a HOST[:PORT]", "saying what it must be");
		free(env);
	}
}

static void test_env_flags(void)
{
	struct vk_kubeadm_params p = { .node_name = "dev", .node_ip = "192.168.50.2", .kubernetes_version = "v1.34.2" };
	const char *bad[] = { "x --a", "--a;reboot", "--a=$(id)", "--a 'b'", "--a\nNODE_IP=1.2.3.4" };
	struct vk_error err = { 0 };
	char *env;

	setenv(VK_KUBEADM_FLAGS_ENV, "--ignore-preflight-errors=HTTPProxyCIDR,NumCPU  --v=5", 1);
	env = vk_kubeadm_env(&p, &err);
	ok(env != NULL, "the env file renders with the test hook's flags");
	contains(env, "\nKUBEADM_INIT_FLAGS=--ignore-preflight-errors=HTTPProxyCIDR,NumCPU  --v=5\n",
		 "KUBEADM_INIT_FLAGS carries them");
	free(env);
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		vk_error_clear(&err);
		setenv(VK_KUBEADM_FLAGS_ENV, bad[i], 1);
		env = vk_kubeadm_env(&p, &err);
		ok(env == NULL && err.code == VK_ERR_INVALID, "flags '%s' are refused", bad[i]);
		contains(err.message, VK_KUBEADM_FLAGS_ENV, "naming the variable");
		free(env);
	}
	setenv(VK_KUBEADM_FLAGS_ENV, "  ", 1);
	vk_error_clear(&err);
	env = vk_kubeadm_env(&p, &err);
	ok(env && !strstr(env, "KUBEADM_INIT_FLAGS"), "blank flags are no flags");
	free(env);
	unsetenv(VK_KUBEADM_FLAGS_ENV);
}

static void test_yamlw(void)
{
	const char *tricky[] = { "8443", "true", "no", "null", "", "1.5", "0x1F", "1e3", "~", "on", "Yes", "a: b", "- x", "#c", "\"q\"", "multi\nline" };
	struct vk_yamlw w;
	struct vk_error err = { 0 };
	_cleanup_free_ char *out = NULL;
	struct yt_docs d;

	vk_yamlw_init(&w);
	vk_yamlw_doc_start(&w);
	vk_yamlw_seq_start(&w);
	for (size_t i = 0; i < VK_ARRAY_SIZE(tricky); i++)
		vk_yamlw_str(&w, tricky[i]);
	vk_yamlw_seq_end(&w);
	vk_yamlw_doc_end(&w);
	out = vk_yamlw_finish(&w, "test", NULL, &err);
	ok(out != NULL, "a sequence of tricky strings is emitted");
	is_int(yt_load(&d, out ? out : ""), 1, "it parses back");
	for (size_t i = 0; i < VK_ARRAY_SIZE(tricky); i++) {
		char path[8];

		snprintf(path, sizeof(path), "%zu", i);
		is_str(yt_str(&d.doc[0], path), tricky[i], "string %zu comes back unchanged", i);
		if (vk_yaml_plain_is_ambiguous(tricky[i]))
			ok(yt_style(&d.doc[0], path) != YAML_PLAIN_SCALAR_STYLE, "'%s' is quoted so it stays a string", tricky[i]);
	}
	ok(!vk_yaml_plain_is_ambiguous("v1.35.0") && !vk_yaml_plain_is_ambiguous("10.96.0.10"),
	   "versions and IPs need no quotes");
	yt_free(&d);
}

int main(void)
{
	check_config("virtkube", "192.168.39.10", "v1.35.0", 0);
	check_config("dev-2", "10.123.4.2", "v1.34.3", 0);
	check_config("x", "172.16.0.254", "v1.36.1", 6443);
	test_bad_input();
	test_env();
	test_env_flags();
	test_env_registries();
	test_timeouts();
	test_yamlw();
	return done_testing();
}
