/* Unit tests for src/kubeapi: the resource path table, profile checks, transport errors, and a lost answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kube/kubeapi.h"
#include "profile/profile.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void test_paths(void)
{
	static const struct {
		const char *api_version, *kind, *ns, *name, *path;
	} cases[] = {
		{ "v1", "Service", "default", "web", "/api/v1/namespaces/default/services/web" },
		{ "v1", "Namespace", "ignored", "kube-system", "/api/v1/namespaces/kube-system" },
		{ "v1", "Node", NULL, "virtkube", "/api/v1/nodes/virtkube" },
		{ "apps/v1", "Deployment", "kube-system", "coredns", "/apis/apps/v1/namespaces/kube-system/deployments/coredns" },
		{ "apps/v1", "DaemonSet", "x", "y", "/apis/apps/v1/namespaces/x/daemonsets/y" },
		{ "batch/v1", "Job", "ingress-nginx", "j", "/apis/batch/v1/namespaces/ingress-nginx/jobs/j" },
		{ "rbac.authorization.k8s.io/v1", "ClusterRole", NULL, "system:coredns",
		  "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acoredns" },
		{ "rbac.authorization.k8s.io/v1", "RoleBinding", "kube-system", "rb",
		  "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/rb" },
		{ "storage.k8s.io/v1", "StorageClass", NULL, "standard", "/apis/storage.k8s.io/v1/storageclasses/standard" },
		{ "networking.k8s.io/v1", "IngressClass", NULL, "nginx", "/apis/networking.k8s.io/v1/ingressclasses/nginx" },
		{ "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", NULL, "w",
		  "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/w" },
		{ "apiextensions.k8s.io/v1", "CustomResourceDefinition", NULL, "a.b.c",
		  "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.b.c" },
		{ "v1", "ConfigMap", "default", NULL, "/api/v1/namespaces/default/configmaps" },
		{ "v1", "Service", NULL, NULL, "/api/v1/services" },
		{ "v1", "Secret", "a b", "x/y", "/api/v1/namespaces/a%20b/secrets/x%2Fy" },
	};

	for (size_t i = 0; i < VK_ARRAY_SIZE(cases); i++) {
		const struct vk_kube_resource *r = vk_kube_builtin_resource(cases[i].api_version, cases[i].kind);
		_cleanup_free_ char *path = NULL;

		if (!ok(r != NULL, "%s %s is in the built-in table", cases[i].api_version, cases[i].kind))
			continue;
		path = vk_kube_resource_path(r, cases[i].ns, cases[i].name);
		is_str(path, cases[i].path, "path of %s %s", cases[i].kind, cases[i].name ? cases[i].name : "(list)");
	}
	ok(vk_kube_builtin_resource("v1", "Deployment") == NULL, "a kind under the wrong apiVersion is not in the table");
	ok(vk_kube_builtin_resource("apps/v1beta1", "Deployment") == NULL, "nor an old version");
	ok(vk_kube_builtin_resource("example.com/v1", "Widget") == NULL, "custom kinds are left to discovery");
	ok(vk_kube_waitable("Deployment") && vk_kube_waitable("Job") && vk_kube_waitable("Service") &&
		   vk_kube_waitable("DaemonSet"),
	   "the waitable kinds");
	ok(!vk_kube_waitable("ConfigMap"), "a ConfigMap cannot be waited for");
}

static struct vk_profile *make_profile(const char *home, const char *json)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *dir = xasprintf("%s/profiles/p", home);
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", dir);
	struct vk_profile *p;

	setenv("VIRTKUBE_HOME", home, 1);
	vk_mkdir_p(dir, 0700, &err);
	vk_write_file_atomic(cfg, json, strlen(json), 0600, &err);
	p = vk_profile_open("p", false, &err);
	if (!p)
		printf("# %s\n", err.message);
	return p;
}

/* A port on 127.0.0.1 nobody listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void test_profile(void)
{
	_cleanup_free_ char *home = tap_tmpdir();
	struct vk_error err = { 0 };
	struct vk_profile *p;
	struct vk_kube *k;
	_cleanup_free_ char *json = NULL, *ca = NULL;
	long status = 0;

	p = make_profile(home, "{\"schema\": 1, \"name\": \"p\", \"state\": \"Stopped\"}");
	ok(p != NULL, "a test profile opens");
	if (!p)
		return;
	ok(vk_kube_from_profile(p, &err) == NULL, "a profile without node_ip has no client");
	contains(err.message, "has no node IP", "the error says what is missing");
	contains(err.hint, "virtkube start -p p", "the hint says how to get one");
	ok(vk_kube_require_running(p, &err) < 0, "a stopped profile is not running");
	contains(err.message, "is not running (state: Stopped)", "and the error names the state");
	vk_profile_free(p);

	p = make_profile(home, "{\"schema\": 1, \"name\": \"p\", \"state\": \"Running\", \"kubernetes\": false}");
	ok(vk_kube_require_running(p, &err) < 0, "a --no-kubernetes profile cannot be talked to");
	contains(err.message, "without Kubernetes", "and says why");
	vk_profile_free(p);

	p = make_profile(home, "{\"schema\": 1, \"name\": \"p\", \"state\": \"Running\", \"node_ip\": \"1.2.3.4/x\"}");
	ok(p == NULL, "an invalid node_ip is refused when the profile loads, before it reaches a URL");
	vk_profile_open("p", false, &err);
	contains(err.message, "\"node_ip\"", "and named");

	json = xasprintf("{\"schema\": 1, \"name\": \"p\", \"state\": \"Running\", \"node_ip\": \"127.0.0.1\", "
			 "\"api_port\": %d}",
			 closed_port());
	p = make_profile(home, json);
	is_int(vk_kube_require_running(p, &err), 0, "a running profile passes the check");
	ok(vk_kube_from_profile(p, &err) == NULL, "a profile without ca.crt has no client");
	contains(err.message, "cannot read the cluster CA certificate of profile 'p'", "the error names the file's role");
	contains(err.message, "ca.crt", "and its path");

	/* Any PEM text will do to reach the connection step. */
	ca = xasprintf("%s/profiles/p/", home);
	for (const char *f = "ca.crt\0client.crt\0client.key\0"; *f; f += strlen(f) + 1) {
		_cleanup_free_ char *path = xasprintf("%s%s", ca, f);

		vk_write_file_atomic(path, "not a pem\n", 10, 0600, &err);
	}
	k = vk_kube_from_profile(p, &err);
	ok(k != NULL, "with its files the profile makes a client (%s)", k ? "" : err.message);
	if (k) {
		ok(strncmp(vk_kube_server(k), "https://127.0.0.1:", 18) == 0, "for https://NODE_IP:API_PORT");
		ok(vk_kube_get_raw(k, "/readyz", &status, NULL, &err) < 0, "a GET to a server that is down fails");
		ok(err.code == VK_ERR_NETWORK || err.code == VK_ERR_TLS, "with a transport error (%s)",
		   vk_error_code_name(err.code));
		vk_kube_free(k);
	}
	vk_profile_free(p);
	vk_remove_tree(home, &err);
}

/* A server on 127.0.0.1 that breaks off its answer to any request with a
 * body (a Content-Length it never fills, then close: libcurl's "Transferred
 * a partial file", what an HTTP/2 GOAWAY leaves it with) and answers GETs
 * with GET_STATUS and a Status body. Request lines go to LOG, one a line. */
static pid_t start_breaking_server(int *port, int get_status, const char *log)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	fflush(stdout);
	pid = fork();
	if (pid != 0) {
		close(fd);
		return pid;
	}
	for (int n = 0; n < 16; n++) {
		char req[8192];
		size_t got = 0;
		long body_len = 0;
		char *end, *cl;
		FILE *lf;
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			_exit(1);
		while (got < sizeof(req) - 1) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);

			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			end = strstr(req, "\r\n\r\n");
			cl = strcasestr(req, "content-length:");
			body_len = cl ? atol(cl + 15) : 0;
			if (end && got >= (size_t)(end + 4 - req) + (size_t)body_len)
				break;
		}
		req[got] = '\0';
		lf = fopen(log, "a");
		if (lf) {
			fprintf(lf, "%.*s\n", (int)strcspn(req, "\r"), req);
			fclose(lf);
		}
		if (body_len > 0) {
			static const char partial[] = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
						      "Content-Length: 400\r\n\r\n{\"kind\":\"Sta";
			if (write(c, partial, sizeof(partial) - 1) < 0)
				_exit(1);
		} else {
			char head[256];
			const char *body = get_status == 401 ? "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
							       "\"status\":\"Failure\",\"message\":\"Unauthorized\","
							       "\"reason\":\"Unauthorized\",\"code\":401}"
							     : "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\"}";
			int hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
					  "Content-Length: %zu\r\nConnection: close\r\n\r\n", get_status,
					  get_status == 401 ? "Unauthorized" : "OK", strlen(body));

			if (write(c, head, (size_t)hl) < 0 || write(c, body, strlen(body)) < 0)
				_exit(1);
		}
		close(c);
	}
	_exit(0);
}

static void test_lost_answer(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *log = xasprintf("%s/requests", tmp);
	json_auto_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
				    "c", "namespace", "default");
	struct vk_error err = { 0 };
	_cleanup_free_ char *requests = NULL;
	struct vk_kube *k;
	json_t *out;
	int port = 0, st;
	pid_t pid;

	/* The GET says 401: that is the error, not the broken-off answer. */
	pid = start_breaking_server(&port, 401, log);
	if (!ok(pid > 0, "a server that breaks off answers to bodies starts"))
		return;
	{
		_cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d", port);

		k = vk_kube_new(url, "unused", "unused", "unused", &err);
	}
	out = vk_kube_apply(k, cm, &err);
	ok(out == NULL, "an apply whose answer is lost fails");
	contains(err.message, "cannot apply ConfigMap 'default/c': Unauthorized", "with the 401 a GET brought back");
	is_int(err.code, VK_ERR_TLS, "as a credentials error");
	contains(err.hint, "did not accept the profile's client certificate", "with the hint for it");
	vk_read_file(log, &requests, NULL, NULL);
	contains(requests, "PATCH /api/v1/namespaces/default/configmaps/c?fieldManager=virtkube&force=true HTTP/1.1\n"
		 "GET /api/v1/namespaces/default/configmaps/c HTTP/1.1", "the PATCH, then one GET of the same path, over HTTP/1.1");
	vk_kube_free(k);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	unlink(log);

	/* The GET succeeds: the first failure stands, said as what it was. */
	pid = start_breaking_server(&port, 200, log);
	{
		_cleanup_free_ char *url = xasprintf("http://127.0.0.1:%d", port);

		k = vk_kube_new(url, "unused", "unused", "unused", &err);
	}
	out = vk_kube_apply(k, cm, &err);
	ok(out == NULL, "the same loss with a server that does not refuse us fails too");
	contains(err.message, "ended the connection before answering PATCH", "saying the server ended the connection");
	contains(err.message, "bytes remaining to read", "with libcurl's own words");
	is_int(err.code, VK_ERR_NETWORK, "as a transport error");
	contains(err.hint, "refuses it before reading its body", "with a hint at why servers do that");
	vk_kube_free(k);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	vk_remove_tree(tmp, &err);
}

int main(void)
{
	test_paths();
	test_profile();
	test_lost_answer();
	return done_testing();
}
