/* Kubernetes API client over libcurl with the profile's credentials (see kubeapi.h). */
#include "kube/kubeapi.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define KUBE_DEFAULT_TIMEOUT_MS 30000L
#define KUBE_CONNECT_TIMEOUT_MS 10000L
#define KUBE_FIELD_MANAGER "virtkube"

struct discovered {
	char *api_version;
	char *kind;
	char *plural;
	bool namespaced;
};

struct vk_kube {
	char *server;
	CURL *curl;
	struct curl_slist *headers_json;
	long timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct discovered *disc;
	size_t ndisc;
	/* group/versions already asked for, so a kind the server lacks costs one request */
	char **disc_done;
	size_t ndisc_done;
};

/* Kinds the addons and commands use; anything else goes through discovery. */
static const struct vk_kube_resource builtin[] = {
	{ "v1", "Namespace", "namespaces", false },
	{ "v1", "Service", "services", true },
	{ "v1", "ConfigMap", "configmaps", true },
	{ "v1", "Secret", "secrets", true },
	{ "v1", "ServiceAccount", "serviceaccounts", true },
	{ "v1", "Pod", "pods", true },
	{ "v1", "Endpoints", "endpoints", true },
	{ "v1", "Node", "nodes", false },
	{ "v1", "Event", "events", true },
	{ "v1", "PersistentVolume", "persistentvolumes", false },
	{ "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true },
	{ "v1", "LimitRange", "limitranges", true },
	{ "v1", "ResourceQuota", "resourcequotas", true },
	{ "apps/v1", "Deployment", "deployments", true },
	{ "apps/v1", "DaemonSet", "daemonsets", true },
	{ "apps/v1", "StatefulSet", "statefulsets", true },
	{ "apps/v1", "ReplicaSet", "replicasets", true },
	{ "batch/v1", "Job", "jobs", true },
	{ "batch/v1", "CronJob", "cronjobs", true },
	{ "rbac.authorization.k8s.io/v1", "Role", "roles", true },
	{ "rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false },
	{ "storage.k8s.io/v1", "StorageClass", "storageclasses", false },
	{ "networking.k8s.io/v1", "Ingress", "ingresses", true },
	{ "networking.k8s.io/v1", "IngressClass", "ingressclasses", false },
	{ "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true },
	{ "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
	  false },
	{ "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
	  false },
	{ "apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false },
	{ "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true },
	{ "scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", false },
	{ "coordination.k8s.io/v1", "Lease", "leases", true },
	{ "discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true },
	{ "autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true },
};

const struct vk_kube_resource *vk_kube_builtin_resource(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < VK_ARRAY_SIZE(builtin); i++)
		if (strcmp(builtin[i].kind, kind) == 0 && strcmp(builtin[i].api_version, api_version) == 0)
			return &builtin[i];
	return NULL;
}

static void path_escape(struct vk_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~')
			vk_strbuf_addch(sb, (char)c);
		else
			vk_strbuf_addf(sb, "%%%02X", c);
	}
}

char *vk_kube_resource_path(const struct vk_kube_resource *r, const char *ns, const char *name)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	if (strchr(r->api_version, '/'))
		vk_strbuf_addstr(&sb, "/apis/");
	else
		vk_strbuf_addstr(&sb, "/api/");
	vk_strbuf_addstr(&sb, r->api_version);
	if (r->namespaced && ns) {
		vk_strbuf_addstr(&sb, "/namespaces/");
		path_escape(&sb, ns);
	}
	vk_strbuf_addch(&sb, '/');
	vk_strbuf_addstr(&sb, r->plural);
	if (name) {
		vk_strbuf_addch(&sb, '/');
		path_escape(&sb, name);
	}
	return vk_strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ client -- */

static void curl_global(void)
{
	static bool done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *user)
{
	vk_strbuf_add(user, data, size * nmemb);
	return size * nmemb;
}

static int set_blob(CURL *c, CURLoption opt, const char *pem, const char *what, struct vk_error *err)
{
	struct curl_blob blob = { .data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY };
	CURLcode rc = curl_easy_setopt(c, opt, &blob);

	if (rc != CURLE_OK) {
		vk_error_set(err, VK_ERR_UNSUPPORTED, "cannot load the %s from memory: %s", what, curl_easy_strerror(rc));
		return vk_error_hint(err, "virtkube needs libcurl >= 7.77 built with OpenSSL");
	}
	return 0;
}

struct vk_kube *vk_kube_new(const char *server, const char *ca_pem, const char *cert_pem, const char *key_pem,
			    struct vk_error *err)
{
	struct vk_kube *k;

	if (vk_libcurl_load(err) < 0)
		return NULL;
	curl_global();
	k = xcalloc(1, sizeof(*k));
	k->server = xstrdup(server);
	while (k->server[0] && k->server[strlen(k->server) - 1] == '/')
		k->server[strlen(k->server) - 1] = '\0';
	k->timeout_ms = KUBE_DEFAULT_TIMEOUT_MS;
	k->curl = curl_easy_init();
	if (!k->curl) {
		vk_error_set(err, VK_ERR_FAILED, "cannot create a libcurl handle for '%s'", server);
		vk_kube_free(k);
		return NULL;
	}
	if (set_blob(k->curl, CURLOPT_CAINFO_BLOB, ca_pem, "cluster CA certificate", err) < 0 ||
	    set_blob(k->curl, CURLOPT_SSLCERT_BLOB, cert_pem, "client certificate", err) < 0 ||
	    set_blob(k->curl, CURLOPT_SSLKEY_BLOB, key_pem, "client key", err) < 0) {
		vk_kube_free(k);
		return NULL;
	}
	curl_easy_setopt(k->curl, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(k->curl, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The system CA path must not widen trust beyond the cluster CA. */
	curl_easy_setopt(k->curl, CURLOPT_CAPATH, NULL);
	/* The node is on a private libvirt network: a proxy from the environment
	 * could not reach it, and must not see the client certificate. */
	curl_easy_setopt(k->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(k->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k->curl, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(k->curl, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(k->curl, CURLOPT_USERAGENT, "virtkube/" PACKAGE_VERSION);
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(k->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(k->curl, CURLOPT_ACCEPT_ENCODING, "");
	/* Over HTTP/2, kube-apiserver answers a client it does not authenticate
	 * with 401 and GOAWAY without reading the request's body, and libcurl
	 * 7.88 then often loses the 401 ("Transferred a partial file"). Over
	 * HTTP/1.1 the 401 always arrives, and one request at a time on one
	 * kept-alive connection gains nothing from HTTP/2's streams
	 * (tests/bench/h2-unauthorized.sh measures both). */
	curl_easy_setopt(k->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	return k;
}

void vk_kube_free(struct vk_kube *k)
{
	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	for (size_t i = 0; i < k->ndisc; i++) {
		free(k->disc[i].api_version);
		free(k->disc[i].kind);
		free(k->disc[i].plural);
	}
	free(k->disc);
	for (size_t i = 0; i < k->ndisc_done; i++)
		free(k->disc_done[i]);
	free(k->disc_done);
	free(k->server);
	free(k);
}

const char *vk_kube_server(const struct vk_kube *k)
{
	return k->server;
}

void vk_kube_set_timeout(struct vk_kube *k, long timeout_ms)
{
	k->timeout_ms = timeout_ms > 0 ? timeout_ms : KUBE_DEFAULT_TIMEOUT_MS;
}

static int read_profile_file(const struct vk_profile *p, const char *file, const char *what, char **out,
			     struct vk_error *err)
{
	_cleanup_free_ char *path = vk_profile_path(p, file);
	size_t len;

	if (vk_read_file(path, out, &len, err) < 0) {
		vk_error_prefix(err, "cannot read the %s of profile '%s'", what, p->name);
		if (err && err->hint[0] == '\0')
			vk_error_hint(err, "the profile's credentials are made by 'virtkube start -p %s'", p->name);
		return -1;
	}
	return 0;
}

struct vk_kube *vk_kube_from_profile(const struct vk_profile *p, struct vk_error *err)
{
	_cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL, *server = NULL;
	const char *ip = p->cfg.node_ip;
	int port = vk_profile_api_port(p);
	unsigned char buf[sizeof(struct in6_addr)];
	struct vk_kube *k;

	if (!ip || !*ip) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node IP yet", p->name);
		vk_error_hint(err, "start it with 'virtkube start -p %s'", p->name);
		return NULL;
	}
	if (inet_pton(AF_INET, ip, buf) == 1) {
		server = xasprintf("https://%s:%d", ip, port);
	} else if (inet_pton(AF_INET6, ip, buf) == 1) {
		server = xasprintf("https://[%s]:%d", ip, port);
	} else {
		vk_error_set(err, VK_ERR_INVALID, "profile '%s' has an invalid node_ip '%s' in '%s'", p->name, ip,
			     p->config_path);
		return NULL;
	}
	if (read_profile_file(p, VK_FILE_CA_CERT, "cluster CA certificate", &ca, err) < 0 ||
	    read_profile_file(p, VK_FILE_CLIENT_CERT, "client certificate", &cert, err) < 0 ||
	    read_profile_file(p, VK_FILE_CLIENT_KEY, "client key", &key, err) < 0)
		return NULL;
	k = vk_kube_new(server, ca, cert, key, err);
	/* The key was copied into libcurl; do not leave it in freed heap. */
	explicit_bzero(key, strlen(key));
	return k;
}

int vk_kube_require_running(const struct vk_profile *p, struct vk_error *err)
{
	if (!p->exists) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' does not exist", p->name);
		return vk_error_hint(err, "create it with 'virtkube start -p %s'", p->name);
	}
	if (!vk_profile_kubernetes(p)) {
		vk_error_set(err, VK_ERR_UNSUPPORTED, "profile '%s' runs without Kubernetes", p->name);
		return vk_error_hint(err, "it was started with --no-kubernetes; 'virtkube delete -p %s' and start it "
				     "again without that flag", p->name);
	}
	if (!vk_profile_running(p)) {
		vk_error_set(err, VK_ERR_FAILED, "profile '%s' is not running (state: %s)", p->name,
			     vk_profile_state_name(p->cfg.state));
		return vk_error_hint(err, "start it with 'virtkube start -p %s'", p->name);
	}
	return 0;
}

static bool says_rejected(const char *detail)
{
	return strstr(detail, "unknown ca") || strstr(detail, "bad certificate") ||
	       strstr(detail, "certificate required") || strstr(detail, "certificate unknown") ||
	       strstr(detail, "access denied") || strstr(detail, "certificate expired") ||
	       strstr(detail, "unsupported certificate");
}

/* With TLS 1.3 a server that refuses the client certificate says so after
 * the client's handshake is done, and closes; the client then often fails
 * to send or read without ever seeing the alert. A TLS 1.2 handshake (which
 * every API server accepts) carries the refusal inside the handshake, so a
 * handshake-only probe tells the two apart. Returns the alert text or NULL. */
static char *probe_client_cert(struct vk_kube *k)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_duphandle(k->curl);
	char *alert = NULL;
	CURLcode rc;

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, k->server);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, KUBE_CONNECT_TIMEOUT_MS);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK && says_rejected(errbuf))
		alert = xstrdup(errbuf);
	curl_easy_cleanup(c);
	return alert;
}

/* Turns a libcurl failure into an error that says what failed and where. */
static int transport_error(struct vk_kube *k, CURLcode rc, const char *method, const char *path,
			   struct vk_error *err)
{
	_cleanup_free_ char *probed = NULL;
	const char *detail = k->errbuf[0] ? k->errbuf : curl_easy_strerror(rc);
	bool rejected = says_rejected(detail);

	if (!rejected && (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
			  rc == CURLE_SSL_CONNECT_ERROR)) {
		probed = probe_client_cert(k);
		if (probed) {
			detail = probed;
			rejected = true;
		}
	}

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		vk_error_set(err, VK_ERR_NETWORK, "cannot connect to the API server at %s: %s", k->server, detail);
		return vk_error_hint(err, "is the cluster running? 'virtkube status' shows its state");
	case CURLE_OPERATION_TIMEDOUT:
		vk_error_set(err, VK_ERR_NETWORK, "the API server at %s did not answer %s %s in time: %s", k->server,
			     method, path, detail);
		return vk_error_hint(err, "is the cluster running? 'virtkube status' shows its state");
	case CURLE_PEER_FAILED_VERIFICATION:
		vk_error_set(err, VK_ERR_TLS,
			     "the API server at %s presented a certificate the profile's CA does not trust: %s",
			     k->server, detail);
		return vk_error_hint(err, "another server answers at that address, or the profile's ca.crt is not "
				     "the cluster's");
	case CURLE_SSL_CERTPROBLEM:
		vk_error_set(err, VK_ERR_TLS, "the profile's client certificate or key cannot be used: %s", detail);
		return vk_error_hint(err, "client.crt and client.key in the profile directory must be a PEM pair");
	case CURLE_SSL_CACERT_BADFILE:
		return vk_error_set(err, VK_ERR_TLS, "the profile's CA certificate cannot be loaded: %s", detail);
	default:
		break;
	}
	if (rejected) {
		vk_error_set(err, VK_ERR_TLS, "the API server at %s rejected the client certificate: %s", k->server,
			     detail);
		return vk_error_hint(err, "the profile's client.crt is not signed by the cluster's CA or has "
				     "expired");
	}
	if (rc == CURLE_SSL_CONNECT_ERROR)
		return vk_error_set(err, VK_ERR_TLS, "TLS handshake with the API server at %s failed: %s", k->server,
				    detail);
	if (rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM) {
		vk_error_set(err, VK_ERR_NETWORK, "the API server at %s ended the connection before answering %s %s: %s",
			     k->server, method, path, detail);
		return vk_error_hint(err, "a server ends a request this way when it refuses it before reading its "
				     "body; '-vv' shows the exchange");
	}
	return vk_error_set(err, VK_ERR_NETWORK, "%s %s%s failed: %s", method, k->server, path, detail);
}

/* Whether a failed request with a body may have been refused unread: the
 * server answered and closed, and libcurl lost the answer while sending. */
static bool answer_maybe_lost(CURLcode rc)
{
	return rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
}

int vk_kube_request(struct vk_kube *k, const char *method, const char *path, const char *content_type,
		    const char *body, size_t body_len, long *status, char **resp, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf out = VK_STRBUF_INIT;
	_cleanup_free_ char *url = xasprintf("%s%s", k->server, path);
	_cleanup_free_ char *ctype = NULL;
	struct curl_slist *headers = NULL;
	CURLcode rc;
	long code = 0;

	headers = curl_slist_append(headers, "Accept: application/json");
	if (body) {
		ctype = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
		headers = curl_slist_append(headers, ctype);
	}
	k->errbuf[0] = '\0';
	curl_easy_setopt(k->curl, CURLOPT_URL, url);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	if (body) {
		curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else {
		curl_easy_setopt(k->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(k->curl, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, body ? "POST" : "GET") == 0 ? NULL : method);
	vk_debug("%s %s", method, url);
	rc = curl_easy_perform(k->curl);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK && body && answer_maybe_lost(rc)) {
		/* Ask once again without a body: a refusal (401/403) then arrives
		 * whole, and is what the caller reports. Anything else keeps the
		 * first failure. */
		long probe_status = 0;
		char *probe_resp = NULL;
		CURLcode first = rc;
		_cleanup_free_ char *first_detail = xstrdup(k->errbuf[0] ? k->errbuf : curl_easy_strerror(rc));
		_cleanup_free_ char *object = xstrndup(path, strcspn(path, "?"));

		vk_debug("%s %s failed (%s); asking again with GET", method, url, first_detail);
		if (vk_kube_request(k, "GET", object, NULL, NULL, 0, &probe_status, &probe_resp, NULL) == 0 &&
		    (probe_status == 401 || probe_status == 403)) {
			*status = probe_status;
			if (resp)
				*resp = probe_resp;
			else
				free(probe_resp);
			return 0;
		}
		free(probe_resp);
		snprintf(k->errbuf, sizeof(k->errbuf), "%s", first_detail);
		rc = first;
	}
	if (rc != CURLE_OK)
		return transport_error(k, rc, method, path, err);
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &code);
	if (vk_log_enabled(VK_LOG_DEBUG)) {
		curl_off_t conn = 0, tls = 0, first = 0, total = 0;

		curl_easy_getinfo(k->curl, CURLINFO_CONNECT_TIME_T, &conn);
		curl_easy_getinfo(k->curl, CURLINFO_APPCONNECT_TIME_T, &tls);
		curl_easy_getinfo(k->curl, CURLINFO_STARTTRANSFER_TIME_T, &first);
		curl_easy_getinfo(k->curl, CURLINFO_TOTAL_TIME_T, &total);
		vk_debug("%s %s -> %ld (%zu bytes; connect %.1f ms, tls %.1f ms, first byte %.1f ms, total %.1f ms)",
			 method, path, code, out.len, conn / 1000.0, tls / 1000.0, first / 1000.0, total / 1000.0);
	}
	*status = code;
	if (resp)
		*resp = vk_strbuf_detach(&out, NULL);
	return 0;
}

int vk_kube_get_raw(struct vk_kube *k, const char *path, long *status, char **body, struct vk_error *err)
{
	return vk_kube_request(k, "GET", path, NULL, NULL, 0, status, body, err);
}

/* Fills ERR from a non-2xx answer: the Status message when the body has one. */
static int api_error(long status, const char *body, const char *action, struct vk_error *err)
{
	json_auto_t *doc = body ? json_loads(body, 0, NULL) : NULL;
	const char *msg = doc ? json_string_value(json_object_get(doc, "message")) : NULL;
	const char *reason = doc ? json_string_value(json_object_get(doc, "reason")) : NULL;
	enum vk_error_code code = status == 404 ? VK_ERR_NOT_FOUND : VK_ERR_API;

	if (status == 401 || status == 403)
		code = VK_ERR_TLS;
	if (msg && *msg)
		vk_error_set(err, code, "%s: %s", action, msg);
	else if (body && *body && !doc)
		vk_error_set(err, code, "%s: HTTP %ld: %.300s", action, status, body);
	else
		vk_error_set(err, code, "%s: HTTP %ld%s%s", action, status, reason ? " " : "", reason ? reason : "");
	if (status == 401)
		vk_error_hint(err, "the API server did not accept the profile's client certificate");
	return -1;
}

/* A request whose answer must be 2xx JSON; returns the parsed body or NULL. */
static json_t *request_json(struct vk_kube *k, const char *method, const char *path, const char *ctype,
			    const char *body, const char *action, long *status_out, struct vk_error *err)
{
	_cleanup_free_ char *resp = NULL;
	json_error_t jerr;
	long status = 0;
	json_t *doc;

	if (vk_kube_request(k, method, path, ctype, body, body ? strlen(body) : 0, &status, &resp, err) < 0) {
		vk_error_prefix(err, "%s", action);
		return NULL;
	}
	if (status_out)
		*status_out = status;
	if (status < 200 || status > 299) {
		api_error(status, resp, action, err);
		return NULL;
	}
	doc = json_loads(resp, 0, &jerr);
	if (!doc)
		vk_error_set(err, VK_ERR_PARSE, "%s: the API server answered with invalid JSON (line %d: %s)", action,
			     jerr.line, jerr.text);
	return doc;
}

/* ---------------------------------------------------------- discovery -- */

static bool disc_asked(struct vk_kube *k, const char *gv)
{
	for (size_t i = 0; i < k->ndisc_done; i++)
		if (strcmp(k->disc_done[i], gv) == 0)
			return true;
	return false;
}

static int discover(struct vk_kube *k, const char *api_version, struct vk_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s%s", strchr(api_version, '/') ? "/apis/" : "/api/", api_version);
	_cleanup_free_ char *action = xasprintf("cannot discover the resources of '%s'", api_version);
	json_auto_t *doc = NULL;
	json_t *res;
	size_t i;

	k->disc_done = xrealloc(k->disc_done, (k->ndisc_done + 1) * sizeof(char *));
	k->disc_done[k->ndisc_done++] = xstrdup(api_version);
	doc = request_json(k, "GET", path, NULL, NULL, action, NULL, err);
	if (!doc) {
		if (err && err->code == VK_ERR_NOT_FOUND) {
			vk_error_set(err, VK_ERR_NOT_FOUND, "the API server does not serve '%s'", api_version);
			vk_error_hint(err, "a CustomResourceDefinition may be missing, or the apiVersion is wrong");
		}
		return -1;
	}
	json_array_foreach(json_object_get(doc, "resources"), i, res) {
		const char *name = json_string_value(json_object_get(res, "name"));
		const char *kind = json_string_value(json_object_get(res, "kind"));

		if (!name || !kind || strchr(name, '/'))
			continue;
		k->disc = xrealloc(k->disc, (k->ndisc + 1) * sizeof(*k->disc));
		k->disc[k->ndisc++] = (struct discovered){
			.api_version = xstrdup(api_version),
			.kind = xstrdup(kind),
			.plural = xstrdup(name),
			.namespaced = json_is_true(json_object_get(res, "namespaced")),
		};
	}
	return 0;
}

int vk_kube_resource_find(struct vk_kube *k, const char *api_version, const char *kind,
			  struct vk_kube_resource *out, struct vk_error *err)
{
	const struct vk_kube_resource *b = vk_kube_builtin_resource(api_version, kind);

	if (!api_version || !*api_version || !kind || !*kind)
		return vk_error_set(err, VK_ERR_INVALID, "an object needs both apiVersion and kind");
	if (b) {
		*out = *b;
		return 0;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < k->ndisc; i++) {
			if (strcmp(k->disc[i].kind, kind) == 0 && strcmp(k->disc[i].api_version, api_version) == 0) {
				*out = (struct vk_kube_resource){ k->disc[i].api_version, k->disc[i].kind,
								  k->disc[i].plural, k->disc[i].namespaced };
				return 0;
			}
		}
		if (pass == 0 && !disc_asked(k, api_version) && discover(k, api_version, err) < 0)
			return -1;
	}
	vk_error_set(err, VK_ERR_NOT_FOUND, "the API server has no kind '%s' in '%s'", kind, api_version);
	return vk_error_hint(err, "a CustomResourceDefinition may be missing, or the apiVersion is wrong");
}

/* ------------------------------------------------------------- verbs -- */

static char *object_label(const struct vk_kube_resource *r, const char *ns, const char *name)
{
	if (r->namespaced && ns)
		return xasprintf("%s '%s/%s'", r->kind, ns, name);
	return xasprintf("%s '%s'", r->kind, name);
}

json_t *vk_kube_get(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		    const char *name, struct vk_error *err)
{
	struct vk_kube_resource r;
	_cleanup_free_ char *path = NULL, *label = NULL, *action = NULL;

	if (vk_kube_resource_find(k, api_version, kind, &r, err) < 0)
		return NULL;
	if (r.namespaced && !ns)
		ns = "default";
	path = vk_kube_resource_path(&r, ns, name);
	label = object_label(&r, ns, name);
	action = xasprintf("cannot get %s", label);
	return request_json(k, "GET", path, NULL, NULL, action, NULL, err);
}

json_t *vk_kube_list(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		     const char *label_selector, struct vk_error *err)
{
	struct vk_kube_resource r;
	_cleanup_free_ char *path = NULL, *action = NULL;
	struct vk_strbuf sb = VK_STRBUF_INIT;

	if (vk_kube_resource_find(k, api_version, kind, &r, err) < 0)
		return NULL;
	path = vk_kube_resource_path(&r, ns, NULL);
	vk_strbuf_addstr(&sb, path);
	if (label_selector && *label_selector) {
		vk_strbuf_addstr(&sb, "?labelSelector=");
		path_escape(&sb, label_selector);
	}
	free(path);
	path = vk_strbuf_detach(&sb, NULL);
	if (r.namespaced && ns)
		action = xasprintf("cannot list %s in namespace '%s'", r.plural, ns);
	else
		action = xasprintf("cannot list %s", r.plural);
	return request_json(k, "GET", path, NULL, NULL, action, NULL, err);
}

json_t *vk_kube_apply(struct vk_kube *k, json_t *obj, struct vk_error *err)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *api_version = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	_cleanup_free_ char *path = NULL, *label = NULL, *action = NULL, *body = NULL, *url = NULL;
	struct vk_kube_resource r;

	if (!name || !*name) {
		vk_error_set(err, VK_ERR_INVALID, "cannot apply a %s without metadata.name", kind ? kind : "object");
		return NULL;
	}
	if (vk_kube_resource_find(k, api_version, kind, &r, err) < 0) {
		vk_error_prefix(err, "cannot apply %s '%s'", kind ? kind : "object", name);
		return NULL;
	}
	if (r.namespaced && !ns)
		ns = "default";
	path = vk_kube_resource_path(&r, ns, name);
	url = xasprintf("%s?fieldManager=" KUBE_FIELD_MANAGER "&force=true", path);
	label = object_label(&r, ns, name);
	action = xasprintf("cannot apply %s", label);
	body = json_dumps(obj, JSON_COMPACT);
	return request_json(k, "PATCH", url, "application/apply-patch+yaml", body, action, NULL, err);
}

int vk_kube_delete(struct vk_kube *k, const char *api_version, const char *kind, const char *ns,
		   const char *name, const char *propagation, bool *deleted, struct vk_error *err)
{
	_cleanup_free_ char *path = NULL, *url = NULL, *label = NULL, *action = NULL, *resp = NULL;
	struct vk_kube_resource r;
	long status = 0;

	if (deleted)
		*deleted = false;
	if (vk_kube_resource_find(k, api_version, kind, &r, err) < 0) {
		/* a kind the server no longer serves has no objects left to delete */
		if (err && err->code == VK_ERR_NOT_FOUND)
			return 0;
		return -1;
	}
	if (r.namespaced && !ns)
		ns = "default";
	path = vk_kube_resource_path(&r, ns, name);
	url = propagation ? xasprintf("%s?propagationPolicy=%s", path, propagation) : xstrdup(path);
	label = object_label(&r, ns, name);
	action = xasprintf("cannot delete %s", label);
	if (vk_kube_request(k, "DELETE", url, NULL, NULL, 0, &status, &resp, err) < 0)
		return vk_error_prefix(err, "%s", action);
	if (status == 404)
		return 0;
	if (status < 200 || status > 299)
		return api_error(status, resp, action, err);
	if (deleted)
		*deleted = true;
	return 0;
}

/* ------------------------------------------------------------- waits -- */

bool vk_kube_waitable(const char *kind)
{
	static const char *const kinds[] = { "Deployment", "DaemonSet", "StatefulSet", "Job", "Service" };

	for (size_t i = 0; i < VK_ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i], kind) == 0)
			return true;
	return false;
}

static long long jint(json_t *o, const char *key, long long fallback)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : fallback;
}

static bool condition_true(json_t *status, const char *type, const char **message)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));

		if (t && s && strcmp(t, type) == 0) {
			if (message)
				*message = json_string_value(json_object_get(c, "message"));
			return strcmp(s, "True") == 0;
		}
	}
	return false;
}

static bool observed(json_t *obj)
{
	long long gen = jint(json_object_get(obj, "metadata"), "generation", 0);
	long long seen = jint(json_object_get(obj, "status"), "observedGeneration", -1);

	return gen == 0 || seen >= gen;
}

/* Judges a workload object; returns 1 ready, 0 not yet, -1 failed for good. */
static int judge(const char *kind, json_t *obj, char **why)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *st = json_object_get(obj, "status");

	if (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0) {
		long long want = jint(spec, "replicas", 1);
		long long updated = jint(st, "updatedReplicas", 0);
		long long avail = jint(st, strcmp(kind, "Deployment") == 0 ? "availableReplicas" : "readyReplicas", 0);

		*why = xasprintf("%lld of %lld replicas updated, %lld %s", updated, want, avail,
				 strcmp(kind, "Deployment") == 0 ? "available" : "ready");
		if (!observed(obj))
			return 0;
		if (strcmp(kind, "Deployment") == 0 && want > 0 && !condition_true(st, "Available", NULL))
			return 0;
		return updated >= want && avail >= want;
	}
	if (strcmp(kind, "DaemonSet") == 0) {
		long long want = jint(st, "desiredNumberScheduled", 0);
		long long ready = jint(st, "numberReady", 0);
		long long updated = jint(st, "updatedNumberScheduled", 0);

		*why = xasprintf("%lld of %lld pods updated, %lld ready", updated, want, ready);
		if (!observed(obj) || !json_object_get(st, "desiredNumberScheduled"))
			return 0;
		return ready >= want && updated >= want;
	}
	if (strcmp(kind, "Job") == 0) {
		const char *msg = NULL;

		if (condition_true(st, "Complete", NULL)) {
			*why = xstrdup("complete");
			return 1;
		}
		if (condition_true(st, "Failed", &msg)) {
			*why = xasprintf("failed: %s", msg ? msg : "no message");
			return -1;
		}
		*why = xasprintf("%lld active, %lld succeeded, %lld failed pods", jint(st, "active", 0),
				 jint(st, "succeeded", 0), jint(st, "failed", 0));
		return 0;
	}
	*why = xstrdup("cannot be waited for");
	return -1;
}

/* Whether an EndpointSlice endpoint takes traffic: a missing "ready" means
 * ready (discovery.k8s.io/v1 EndpointConditions). */
static bool endpoint_ready(json_t *endpoint)
{
	json_t *ready = json_object_get(json_object_get(endpoint, "conditions"), "ready");

	return !json_is_false(ready) && json_array_size(json_object_get(endpoint, "addresses")) > 0;
}

/* A Service is ready when one of its EndpointSlices (discovery.k8s.io/v1,
 * labelled kubernetes.io/service-name) has a ready endpoint. v1 Endpoints
 * are deprecated since Kubernetes 1.33 and not read. */
static int check_service(struct vk_kube *k, const char *ns, const char *name, bool *ready, char **why,
			 struct vk_error *err)
{
	json_auto_t *svc = vk_kube_get(k, "v1", "Service", ns, name, err);
	json_auto_t *slices = NULL;
	_cleanup_free_ char *selector = NULL;
	json_t *slice, *endpoint;
	size_t i, j;

	if (!svc) {
		if (err && err->code == VK_ERR_NOT_FOUND) {
			*why = xstrdup("does not exist yet");
			return 0;
		}
		return -1;
	}
	if (!json_object_get(json_object_get(svc, "spec"), "selector")) {
		/* endpoints of a selector-less Service are whatever someone writes */
		*why = xstrdup("has no selector");
		*ready = true;
		return 0;
	}
	selector = xasprintf("kubernetes.io/service-name=%s", name);
	slices = vk_kube_list(k, "discovery.k8s.io/v1", "EndpointSlice", ns, selector, err);
	if (!slices)
		return -1;
	json_array_foreach(json_object_get(slices, "items"), i, slice) {
		json_array_foreach(json_object_get(slice, "endpoints"), j, endpoint) {
			if (endpoint_ready(endpoint)) {
				*why = xstrdup("has ready endpoints");
				*ready = true;
				return 0;
			}
		}
	}
	*why = xstrdup(json_array_size(json_object_get(slices, "items")) ? "has no ready endpoints yet"
									   : "has no endpoints yet");
	return 0;
}

static const char *kind_version(const char *kind)
{
	if (strcmp(kind, "Job") == 0)
		return "batch/v1";
	if (strcmp(kind, "Service") == 0)
		return "v1";
	return "apps/v1";
}

/* ------------------------------------------------------ pods' reasons -- */

/* What keeps a workload's pods from running, as the kubelet and the
 * scheduler report it. */
struct pod_problem {
	char *text;         /* "pod P: container C (image I): REASON: message", or NULL */
	char *pod;          /* P */
	char *image;        /* set when the problem is an image that is not pulled */
	char *pull_failure; /* then "REASON: message" */
	bool pull_hopeless; /* the pull failed in a way retrying will not fix */
	char *container;    /* C: whose log tells more */
	bool weak;          /* only "running, not ready": a waiting container elsewhere says more */
	bool restarted;     /* C ran and ended before: its previous run's log is the one to read */
};

static void pod_problem_clear(struct pod_problem *pp)
{
	free(pp->text);
	free(pp->pod);
	free(pp->image);
	free(pp->pull_failure);
	free(pp->container);
	*pp = (struct pod_problem){ 0 };
}

/* Waiting reasons that are a normal step of a pod's start. */
static bool reason_is_progress(const char *reason)
{
	return strcmp(reason, "ContainerCreating") == 0 || strcmp(reason, "PodInitializing") == 0;
}

static bool reason_is_pull(const char *reason)
{
	return strcmp(reason, "ErrImagePull") == 0 || strcmp(reason, "ImagePullBackOff") == 0 ||
	       strcmp(reason, "InvalidImageName") == 0 || strcmp(reason, "ErrImageNeverPull") == 0;
}

/* A pull failure that says the image does not exist or no registry can be
 * reached: the kubelet will keep failing the same way. */
static bool pull_is_hopeless(const char *reason, const char *message)
{
	static const char *const words[] = {
		"not found",	     "manifest unknown", "name unknown",	   "repository does not exist",
		"pull access denied", "no such host",	  "network is unreachable", "connection refused",
		"i/o timeout",	     "offline",		  "no route to host",
	};

	if (strcmp(reason, "InvalidImageName") == 0 || strcmp(reason, "ErrImageNeverPull") == 0)
		return true;
	for (size_t i = 0; message && i < VK_ARRAY_SIZE(words); i++)
		if (strcasestr(message, words[i]))
			return true;
	return false;
}

/* The image of container NAME in the pod's spec (the status may lack it). */
static const char *spec_image(json_t *pod, const char *name, bool init)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"), init ? "initContainers" : "containers"), i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));

		if (n && name && strcmp(n, name) == 0)
			return json_string_value(json_object_get(c, "image"));
	}
	return NULL;
}

/* Looks at one pod; fills PP and returns true when it has a problem: a
 * container waiting for a reason that is not a normal step of its start
 * (the first one wins), else one running but not ready, else a pod the
 * scheduler cannot place. */
static bool pod_problem_of(json_t *pod, struct pod_problem *pp)
{
	const char *pod_name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	json_t *st = json_object_get(pod, "status");
	json_t *c;
	size_t i;

	if (!pod_name)
		pod_name = "?";
	for (int init = 1; init >= 0; init--) {
		json_array_foreach(json_object_get(st, init ? "initContainerStatuses" : "containerStatuses"), i, c) {
			json_t *state = json_object_get(c, "state");
			json_t *waiting = json_object_get(state, "waiting");
			json_t *last = json_object_get(json_object_get(c, "lastState"), "terminated");
			const char *reason = json_string_value(json_object_get(waiting, "reason"));
			const char *message = json_string_value(json_object_get(waiting, "message"));
			const char *cname = json_string_value(json_object_get(c, "name"));
			const char *image = spec_image(pod, cname, init);
			json_int_t restarts = json_integer_value(json_object_get(c, "restartCount"));
			_cleanup_free_ char *ended = NULL;

			if (!image)
				image = json_string_value(json_object_get(c, "image"));
			if (!init && !pp->text && json_object_get(state, "running") && json_is_false(json_object_get(c, "ready"))) {
				/* its readiness probe does not pass (CoreDNS: plugin/ready); kept
				 * unless a waiting container says more */
				pp->text = xasprintf("pod %s: container %s (image %s): running, not ready (%lld restart%s)",
						     pod_name, cname ? cname : "?", image ? image : "?", (long long)restarts,
						     restarts == 1 ? "" : "s");
				pp->pod = xstrdup(pod_name);
				pp->container = cname ? xstrdup(cname) : NULL;
				pp->weak = true;
				continue;
			}
			if (!reason || reason_is_progress(reason))
				continue;
			pod_problem_clear(pp);
			/* why the last run ended: a CrashLoopBackOff's message says only that it backs off */
			if (last) {
				const char *how = json_string_value(json_object_get(last, "reason"));

				ended = xasprintf("; its last run ended: %s, exit code %lld, %lld restart%s", how ? how : "terminated",
						  (long long)json_integer_value(json_object_get(last, "exitCode")),
						  (long long)restarts, restarts == 1 ? "" : "s");
			}
			pp->text = xasprintf("pod %s: %scontainer %s (image %s): %s%s%s%s", pod_name, init ? "init " : "",
					     cname ? cname : "?", image ? image : "?", reason, message ? ": " : "",
					     message ? message : "", ended ? ended : "");
			pp->pod = xstrdup(pod_name);
			pp->container = cname ? xstrdup(cname) : NULL;
			pp->restarted = last != NULL;
			if (reason_is_pull(reason)) {
				pp->image = xstrdup(image ? image : "?");
				pp->pull_failure = xasprintf("%s%s%s", reason, message ? ": " : "", message ? message : "");
				pp->pull_hopeless = pull_is_hopeless(reason, message);
			}
			return true;
		}
	}
	if (pp->text)
		return true;
	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		const char *message = json_string_value(json_object_get(c, "message"));

		if (type && status && strcmp(type, "PodScheduled") == 0 && strcmp(status, "False") == 0) {
			pp->text = xasprintf("pod %s is Pending: %s%s%s", pod_name, reason ? reason : "not scheduled",
					     message ? ": " : "", message ? message : "");
			pp->pod = xstrdup(pod_name);
			return true;
		}
	}
	return false;
}

/* The last lines of the log of container C of pod POD (its previous run's
 * when PREVIOUS), indented for a message; NULL when there are none or the
 * server does not give them. Caller frees. */
static char *pod_log_tail(struct vk_kube *k, const char *ns, const char *pod, const char *c, bool previous)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=%d%s", ns, pod,
					      c, VK_KUBE_LOG_TAIL_LINES, previous ? "&previous=true" : "");
	_cleanup_free_ char *body = NULL;
	struct vk_strbuf out = VK_STRBUF_INIT;
	long status = 0;

	if (vk_kube_get_raw(k, path, &status, &body, NULL) < 0 || status != 200 || !body || !*body)
		return NULL;
	for (char *save = NULL, *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		vk_strbuf_addf(&out, "\n  %s", line);
	return vk_strbuf_detach(&out, NULL);
}

/* The first problem among the pods that OBJ's selector picks (matchLabels).
 * Pods that cannot be listed are no problem of the wait: it goes on. */
static void pods_problem(struct vk_kube *k, json_t *obj, const char *ns, struct pod_problem *pp)
{
	json_t *match = json_object_get(json_object_get(json_object_get(obj, "spec"), "selector"), "matchLabels");
	struct vk_strbuf sel = VK_STRBUF_INIT;
	json_auto_t *pods = NULL;
	size_t i, others = 0;
	const char *key;
	json_t *v, *pod;

	json_object_foreach(match, key, v) {
		if (!json_is_string(v))
			continue;
		vk_strbuf_addf(&sel, "%s%s=%s", sel.len ? "," : "", key, json_string_value(v));
	}
	if (sel.len > 0)
		pods = vk_kube_list(k, "v1", "Pod", ns, sel.buf, NULL);
	vk_strbuf_release(&sel);
	json_array_foreach(json_object_get(pods, "items"), i, pod) {
		struct pod_problem one = { 0 };

		if (!pod_problem_of(pod, &one))
			continue;
		if (!pp->text || (pp->weak && !one.weak)) {
			if (pp->text)
				others++;
			pod_problem_clear(pp);
			*pp = one;
		} else {
			others++;
			pod_problem_clear(&one);
		}
	}
	if (others) {
		char *t = xasprintf("%s (and %zu more pod%s)", pp->text, others, others == 1 ? "" : "s");

		free(pp->text);
		pp->text = t;
	}
}

/* ------------------------------------------------------------- checks -- */

/* Like vk_kube_check_ready, but a failed Job returns -1 (with *WHY set), and
 * PP (may be NULL) gets what the pods of a workload that is not ready wait for. */
static int check_ready(struct vk_kube *k, const char *kind, const char *ns, const char *name, bool *ready,
		       char **why, struct pod_problem *pp, struct vk_error *err)
{
	struct pod_problem local = { 0 };
	json_auto_t *obj = NULL;
	int verdict;

	*ready = false;
	*why = NULL;
	if (!vk_kube_waitable(kind))
		return vk_error_set(err, VK_ERR_INVALID, "cannot wait for a %s (only Deployment, DaemonSet, "
				    "StatefulSet, Job and Service)", kind);
	if (strcmp(kind, "Service") == 0)
		return check_service(k, ns, name, ready, why, err);
	obj = vk_kube_get(k, kind_version(kind), kind, ns, name, err);
	if (!obj) {
		if (err && err->code == VK_ERR_NOT_FOUND) {
			*why = xstrdup("does not exist");
			return 0;
		}
		return -1;
	}
	verdict = judge(kind, obj, why);
	if (verdict < 0)
		return vk_error_set(err, VK_ERR_FAILED, "%s '%s/%s' %s", kind, ns, name, *why);
	*ready = verdict == 1;
	if (*ready)
		return 0;
	if (!pp)
		pp = &local;
	pods_problem(k, obj, ns, pp);
	if (pp->text) {
		char *w = xasprintf("%s; %s", *why, pp->text);

		free(*why);
		*why = w;
	}
	pod_problem_clear(&local);
	return 0;
}

int vk_kube_check_ready(struct vk_kube *k, const char *kind, const char *ns, const char *name, bool *ready,
			char **why, struct vk_error *err)
{
	char *w = NULL;
	int rc = check_ready(k, kind, ns, name, ready, &w, NULL, err);

	if (why)
		*why = w;
	else
		free(w);
	return rc;
}

static const char *ready_word(const char *kind)
{
	if (strcmp(kind, "Deployment") == 0)
		return "be available";
	if (strcmp(kind, "Job") == 0)
		return "complete";
	if (strcmp(kind, "Service") == 0)
		return "have endpoints";
	return "be ready";
}

/* How long an image pull may keep failing (for reasons that may pass)
 * before the wait gives up on it: a quarter of the wait, at most a minute. */
static long pull_grace_ms(long timeout_ms)
{
	long quarter = timeout_ms / 4;

	return quarter < VK_KUBE_PULL_GRACE_MAX_MS ? quarter : VK_KUBE_PULL_GRACE_MAX_MS;
}

int vk_kube_wait_ready(struct vk_kube *k, const char *kind, const char *ns, const char *name, long timeout_ms,
		       vk_kube_wait_progress progress, void *data, struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;
	long long pull_failing_since = 0;
	_cleanup_free_ char *reported = NULL, *last_pod = NULL, *last_container = NULL;
	bool last_restarted = false;
	long delay_ms = 100;

	for (;;) {
		_cleanup_free_ char *why = NULL;
		struct pod_problem pp = { 0 };
		bool ready = false;
		long long now, left;

		if (check_ready(k, kind, ns, name, &ready, &why, &pp, err) < 0) {
			pod_problem_clear(&pp);
			return -1;
		}
		if (ready)
			return 0;
		if (pp.text && progress && (!reported || strcmp(reported, pp.text) != 0)) {
			free(reported);
			reported = xstrdup(pp.text);
			progress(data, pp.text);
		}
		now = vk_now_ms();
		if (!pp.image)
			pull_failing_since = 0;
		else if (!pull_failing_since)
			pull_failing_since = now;
		if (pp.image && (pp.pull_hopeless || now - pull_failing_since >= pull_grace_ms(timeout_ms))) {
			vk_error_set(err, VK_ERR_FAILED, "%s '%s/%s' cannot start: image '%s' cannot be pulled (pod %s: %s)",
				     kind, ns, name, pp.image, pp.pod, pp.pull_failure);
			vk_error_hint(err, "the node must be able to pull that image (or have it already): check its name "
				      "and the registry; 'kubectl -n %s describe pod %s' shows the kubelet's events", ns,
				      pp.pod);
			pod_problem_clear(&pp);
			return -1;
		}
		free(last_pod);
		last_pod = pp.pod ? xstrdup(pp.pod) : NULL;
		free(last_container);
		last_container = pp.container ? xstrdup(pp.container) : NULL;
		last_restarted = pp.restarted;
		pod_problem_clear(&pp);
		left = deadline - now;
		if (left <= 0) {
			/* the pod's own words: its log's last lines (a crashed run's, when it crashed) */
			_cleanup_free_ char *log = last_pod && last_container
							   ? pod_log_tail(k, ns, last_pod, last_container, last_restarted)
							   : NULL;

			vk_error_set(err, VK_ERR_TIMEOUT, "timed out after %lds waiting for %s '%s/%s' to %s (%s)%s%s%s%s%s",
				     (timeout_ms + 999) / 1000, kind, ns, name, ready_word(kind), why ? why : "",
				     log ? "; the last lines of its log (" : "", log ? last_pod : "",
				     log && last_restarted ? ", the run before" : "", log ? "):" : "", log ? log : "");
			if (last_pod)
				return vk_error_hint(err, "'kubectl -n %s describe pod %s' and 'kubectl -n %s logs %s' "
						     "show why", ns, last_pod, ns, last_pod);
			return vk_error_hint(err, "'kubectl -n %s describe %s %s' shows why", ns, kind, name);
		}
		vk_debug("waiting for %s '%s/%s': %s", kind, ns, name, why ? why : "");
		if (delay_ms > left)
			delay_ms = (long)left;
		nanosleep(&(struct timespec){ .tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L },
			  NULL);
		if (delay_ms < 1000)
			delay_ms = delay_ms * 3 / 2;
	}
}
