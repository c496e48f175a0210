/* Unit tests for src/k8sready, and kubeapi's waits, against the fake API server (tests/fakes) behind the profile's own CA. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/k8sready.h"
#include "kube/kubeapi.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static char *slurp(const char *path)
{
	char *data = NULL;

	if (vk_read_file(path, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

/* A port on 127.0.0.1 with nothing listening (bound, then released). */
static int dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static pid_t start_fake(const char *dir, const char *ca, const char *crt, const char *key, const char *pull_error,
			int *port)
{
	const char *srcdir = getenv("top_srcdir");
	_cleanup_free_ char *script = xasprintf("%s/tests/fakes/kube-apiserver.py", srcdir ? srcdir : VK_BUILD_SRCDIR);
	_cleanup_free_ char *port_file = xasprintf("%s/port", dir);
	long deadline = vk_now_ms() + 60000;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		_cleanup_free_ char *log = xasprintf("%s/fake.log", dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* Never hold the TAP pipe open, and die with the test. */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		_cleanup_free_ char *requests = xasprintf("%s/requests.log", dir);

		execlp("python3", "python3", script, "--port", "0", "--port-file", port_file, "--ca", ca, "--cert", crt,
		       "--key", key, "--node-name", "dev", "--log", requests, "--image-pull-error", pull_error,
		       (char *)NULL);
		_exit(127);
	}
	while (vk_now_ms() < deadline) {
		_cleanup_free_ char *p = slurp(port_file);
		int st;

		if (p && *p) {
			*port = atoi(p);
			return pid;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			return -1;
		usleep(20000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static struct vk_kube *client(int port, const char *ca_path, const char *crt_path, const char *key_path)
{
	_cleanup_free_ char *ca = slurp(ca_path), *crt = slurp(crt_path), *key = slurp(key_path);
	_cleanup_free_ char *url = xasprintf("https://127.0.0.1:%d", port);
	struct vk_error err = { 0 };

	return vk_kube_new(url, ca, crt, key, &err);
}

/* What the kubelet says for an image the registry does not have (containerd's words). */
#define PULL_NOT_FOUND                                                                                          \
	"failed to pull and unpack image \"example.invalid/nope:1\": failed to resolve reference "               \
	"\"example.invalid/nope:1\": example.invalid/nope:1: not found"

/* Collects what a wait reports, one line each. */
static void collect(void *data, const char *what)
{
	vk_strbuf_addf(data, "%s\n", what);
}

static json_t *deployment(const char *name, const char *image, const char *cpu)
{
	json_t *c = json_pack("{s:s, s:s}", "name", "app", "image", image);

	if (cpu)
		json_object_set_new(c, "resources", json_pack("{s:{s:s}}", "requests", "cpu", cpu));
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[o]}}}}", "apiVersion",
			 "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace", "default", "spec",
			 "replicas", 1, "selector", "matchLabels", "app", name, "template", "metadata", "labels", "app",
			 name, "spec", "containers", c);
}

static json_t *service(const char *name, const char *app)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s}, s:[{s:i}]}}", "apiVersion", "v1", "kind", "Service",
			 "metadata", "name", name, "namespace", "default", "spec", "selector", "app", app, "ports",
			 "port", 80);
}

static void apply_all(struct vk_kube *k, json_t *objs[], size_t n)
{
	struct vk_error err = { 0 };

	for (size_t i = 0; i < n; i++) {
		json_t *out = vk_kube_apply(k, objs[i], &err);

		if (!out)
			printf("# apply failed: %s\n", err.message);
		json_decref(out);
		json_decref(objs[i]);
	}
}

/* kubeapi's waits against the fake's pods: the reasons as they happen, a pull that cannot work, EndpointSlices. */
static void test_waits(struct vk_kube *k, const char *dir)
{
	_cleanup_free_ char *log_path = xasprintf("%s/requests.log", dir);
	_cleanup_free_ char *requests = NULL;
	_cleanup_strbuf_ struct vk_strbuf said = VK_STRBUF_INIT;
	struct vk_error err = { 0 };
	char *why = NULL;
	bool ready = false;
	long t0;
	json_t *objs[] = {
		deployment("big", "example.org/app:1", "4"), deployment("nopull", "example.invalid/nope:1", NULL),
		deployment("web", "example.org/app:1", "250m"), service("web", "web"), service("nopull", "nopull"),
	};

	apply_all(k, objs, VK_ARRAY_SIZE(objs));

	ok(vk_kube_wait_ready(k, "Deployment", "default", "big", 1500, collect, &said, &err) < 0 &&
		   err.code == VK_ERR_TIMEOUT,
	   "a Deployment whose pod cannot be scheduled times out (%s)", vk_error_code_name(err.code));
	contains(err.message, "Unschedulable: 0/1 nodes are available: 1 Insufficient cpu", "the error says why");
	contains(said.buf, "pod big-", "the wait told the pod's name as it waited");
	contains(said.buf, "is Pending: Unschedulable", "and that it is Pending as unschedulable");
	contains(err.hint, "describe pod big-", "the hint names the pod to describe");
	vk_strbuf_reset(&said);

	t0 = vk_now_ms();
	ok(vk_kube_wait_ready(k, "Deployment", "default", "nopull", 30000, collect, &said, &err) < 0 &&
		   err.code == VK_ERR_FAILED,
	   "an image that is not found fails the wait (%s)", vk_error_code_name(err.code));
	ok(vk_now_ms() - t0 < 20000, "at once, not after the 30 s timeout (%lld ms)", (long long)(vk_now_ms() - t0));
	contains(err.message, "Deployment 'default/nopull' cannot start: image 'example.invalid/nope:1' cannot be pulled",
		 "naming the Deployment and the image");
	contains(err.message, ": not found", "with the kubelet's message");
	contains(said.buf, "container app (image example.invalid/nope:1): ErrImagePull", "the reason was told while waiting");
	vk_strbuf_reset(&said);

	ok(vk_kube_check_ready(k, "Deployment", "default", "nopull", &ready, &why, &err) == 0 && !ready,
	   "one check of it: not ready, not an error");
	contains(why, "image example.invalid/nope:1", "and *why carries the pod's reason");
	free(why);
	why = NULL;

	ok(vk_kube_wait_ready(k, "Service", "default", "web", 10000, collect, &said, &err) == 0,
	   "a Service whose pods are ready has endpoints (%s)", err.message);
	ok(vk_kube_check_ready(k, "Service", "default", "nopull", &ready, &why, &err) == 0 && !ready,
	   "a Service whose only pod is not ready does not");
	contains(why, "has no ready endpoints yet", "and says so");
	free(why);
	vk_read_file(log_path, &requests, NULL, NULL);
	contains(requests, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb",
		 "Service readiness reads the EndpointSlices labelled with the Service's name");
	ok(requests && !strstr(requests, "/api/v1/namespaces/default/endpoints/"), "and never the deprecated v1 Endpoints");
}

static json_t *kube_proxy(void)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[{s:s, s:s}]}}}}", "apiVersion",
			 "apps/v1", "kind", "DaemonSet", "metadata", "name", "kube-proxy", "namespace", "kube-system",
			 "spec", "selector", "matchLabels", "k8s-app", "kube-proxy", "template", "metadata", "labels",
			 "k8s-app", "kube-proxy", "spec", "containers", "name", "kube-proxy", "image",
			 "registry.k8s.io/kube-proxy:v1.35.4");
}

/* After a restart the kube-proxy DaemonSet's status is the one from before the stop: the wait looks at
 * this boot's pod on each node instead. A pod made again (a new DaemonSet: the fake's way of a new run)
 * is this boot's; the one before it is not. */
static void test_kube_proxy(struct vk_kube *k)
{
	const char *const one[] = { "dev", NULL }, *const two[] = { "dev", "dev-m02", NULL };
	struct vk_wait_opts o = { .profile = "dev", .timeout_ms = 20000, .interval_ms = 100 };
	struct vk_error err = { 0 };
	json_t *objs[] = { kube_proxy() };
	char *why = NULL;
	bool ready = false;
	time_t boot;

	apply_all(k, objs, 1);
	ok(vk_kube_wait_ready(k, "DaemonSet", "kube-system", "kube-proxy", 20000, NULL, NULL, &err) == 0,
	   "kube-proxy's DaemonSet is ready (%s)", err.message);
	ok(vk_kube_proxy_check(k, one, 0, &ready, &why, &err) == 0 && ready, "a first start: any Ready pod counts");
	free(why);
	boot = time(NULL) + 1;
	ok(vk_kube_proxy_check(k, one, boot, &ready, &why, &err) == 0 && !ready,
	   "a restart: the pod that started before this boot does not");
	contains(why, "kube-proxy pod kube-proxy-", "naming the pod");
	contains(why, "on node 'dev' says Ready, but from before this boot (started 20", "the node, and when it started");
	free(why);
	o.timeout_ms = 1000;
	ok(vk_wait_kube_proxy(k, one, boot, &o, &err) < 0 && err.code == VK_ERR_TIMEOUT, "waiting for it times out");
	contains(err.message, "waiting for this boot's kube-proxy on every node (last: kube-proxy pod", "saying what it waited for");
	contains(err.hint, "k8s-app=kube-proxy", "with a hint");
	ok(vk_kube_proxy_check(k, two, 0, &ready, &why, &err) == 0 && !ready, "two nodes, one pod: not ready");
	contains(why, "no kube-proxy pod on node 'dev-m02' yet", "naming the node without one");
	free(why);

	/* this boot: the pod made again after BOOT */
	sleep(2);
	ok(vk_kube_delete(k, "apps/v1", "DaemonSet", "kube-system", "kube-proxy", "Background", NULL, &err) == 0,
	   "the old run's DaemonSet goes");
	objs[0] = kube_proxy();
	apply_all(k, objs, 1);
	o.timeout_ms = 20000;
	ok(vk_wait_kube_proxy(k, one, boot, &o, &err) == 0, "this boot's pod, Ready and started after the boot, ends the wait (%s)",
	   err.message);
}

static int abort_check(void *data, struct vk_error *err)
{
	return vk_error_set(err, VK_ERR_GUEST, "provisioning failed in the guest at stage '%s'", (const char *)data);
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *dir = vk_path_join(tmp, "dev");
	_cleanup_free_ char *other = vk_path_join(tmp, "other");
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *crt = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *key = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	_cleanup_free_ char *other_ca = vk_path_join(other, VK_FILE_CA_CERT);
	_cleanup_free_ char *other_crt = vk_path_join(other, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *other_key = vk_path_join(other, VK_FILE_CLIENT_KEY);
	_cleanup_free_ char *srv_crt = vk_path_join(tmp, "server.crt");
	_cleanup_free_ char *srv_key = vk_path_join(tmp, "server.key");
	_cleanup_strv_ char **sans = vk_pki_apiserver_sans("127.0.0.1");
	struct vk_wait_opts o = { .profile = "dev", .timeout_ms = 20000, .interval_ms = 100 };
	struct vk_error err = { 0 };
	struct vk_kube *k;
	bool ready;
	char *why = NULL;
	int port = 0, st, rc;
	pid_t pid;
	long t0;

	vk_mkdir_p(dir, 0700, NULL);
	vk_mkdir_p(other, 0700, NULL);
	if (vk_pki_ensure(dir, "dev", NULL, &err) < 0 || vk_pki_ensure(other, "other", NULL, &err) < 0 ||
	    vk_pki_issue_server(dir, "kube-apiserver", (const char *const *)sans, 1, srv_crt, srv_key, &err) < 0) {
		printf("Bail out! PKI set-up failed: %s\n", err.message);
		return 1;
	}

	/* Nothing listening: never ready. */
	k = client(dead_port(), ca, crt, key);
	ok(k != NULL, "a client for a port with nothing listening");
	ok(vk_apiserver_check(k, &ready, &why, &err) == 0 && !ready, "one check: not ready, not an error");
	ok(why && *why, "with a reason (%s)", why ? why : "");
	free(why);
	o.timeout_ms = 1500;
	t0 = vk_now_ms();
	ok(vk_wait_apiserver_ready(k, &o, &err) < 0 && err.code == VK_ERR_TIMEOUT, "an API server that never answers times out");
	ok(vk_now_ms() - t0 >= 1500, "after the timeout");
	contains(err.message, "/readyz", "the message names the URL waited for");
	contains(err.message, "timed out after 1 s", "and the time");
	contains(err.message, "last:", "and the last answer");
	contains(err.hint, "virtkube logs -p dev", "the hint points at virtkube logs");
	o.timeout_ms = 20000;
	o.check = abort_check;
	o.data = "containerd";
	ok(vk_wait_apiserver_ready(k, &o, &err) < 0 && err.code == VK_ERR_GUEST, "a guest failure seen by the check ends the wait");
	contains(err.message, "containerd", "with the guest's message");
	o.check = NULL;
	vk_kube_free(k);

	pid = start_fake(tmp, ca, srv_crt, srv_key, "example.invalid/nope:1=" PULL_NOT_FOUND, &port);
	if (pid < 0) {
		printf("ok %d - # SKIP the fake API server (python3 tests/fakes/kube-apiserver.py) did not start\n", ++tap_count);
		vk_remove_tree(tmp, &err);
		return done_testing();
	}
	k = client(port, ca, crt, key);
	ok(vk_apiserver_check(k, &ready, NULL, &err) == 0 && ready, "the fake API server behind the profile CA is ready");
	ok(vk_wait_apiserver_ready(k, &o, &err) == 0, "wait for /readyz returns (%s)", err.message);
	ok(vk_wait_node_ready(k, "dev", &o, &err) == 0, "wait for node 'dev' Ready returns (%s)", err.message);
	ok(vk_node_check(k, "ghost", &ready, &why, &err) == 0 && !ready, "a node that does not exist is not ready");
	contains(why, "not registered", "because it is not registered");
	free(why);
	o.timeout_ms = 1000;
	ok(vk_wait_node_ready(k, "ghost", &o, &err) < 0 && err.code == VK_ERR_TIMEOUT, "waiting for it times out");
	contains(err.message, "node 'ghost' to be Ready", "naming the node");
	contains(err.hint, "virtkube logs -p dev", "pointing at virtkube logs");
	o.timeout_ms = 20000;
	test_waits(k, tmp);
	test_kube_proxy(k);
	vk_kube_free(k);

	/* Trusting another CA: the server's certificate is refused, at once. */
	k = client(port, other_ca, crt, key);
	t0 = vk_now_ms();
	ok(vk_wait_apiserver_ready(k, &o, &err) < 0 && err.code == VK_ERR_TLS, "a server certificate from another CA ends the wait (%s)", err.message);
	ok(vk_now_ms() - t0 < 15000, "without waiting for the timeout");
	ok(err.hint[0], "with a hint (%s)", err.hint);
	vk_kube_free(k);

	/* A client certificate from another CA: the server refuses us. */
	k = client(port, ca, other_crt, other_key);
	rc = vk_apiserver_check(k, &ready, &why, &err);
	ok(rc <= 0 && !ready, "a foreign client certificate is not ready (%s)", why ? why : "");
	free(why);
	vk_kube_free(k);

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
