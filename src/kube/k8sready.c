/* API server and node readiness waits (see k8sready.h). */
#include "kube/k8sready.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Each poll gets a short request timeout: a hung connection must not eat
 * the whole wait. */
#define POLL_REQUEST_TIMEOUT_MS 5000
/* A certificate problem that persists this many polls in a row ends the wait. */
#define TLS_FAILURES_FATAL 3

int vk_apiserver_check(struct vk_kube *k, bool *ready, char **why, struct vk_error *err)
{
	_cleanup_free_ char *body = NULL;
	struct vk_error e = { 0 };
	long status = 0;

	*ready = false;
	if (why)
		*why = NULL;
	if (vk_kube_get_raw(k, "/readyz", &status, &body, &e) < 0) {
		if (why)
			*why = xstrdup(e.message);
		if (e.code == VK_ERR_TLS) {
			if (err)
				*err = e;
			return -1;
		}
		return 0;
	}
	if (status == 200) {
		*ready = true;
		return 0;
	}
	if (why) {
		/* /readyz lists its failing checks as "[-]name failed: reason" lines. */
		const char *failing = body ? strstr(body, "[-]") : NULL;
		size_t len = failing ? strcspn(failing, "\n") : 0;

		*why = failing ? xasprintf("HTTP %ld: %.*s", status, (int)len, failing) : xasprintf("HTTP %ld", status);
	}
	if (status == 401 || status == 403) {
		vk_error_set(err, VK_ERR_TLS, "the API server at %s refused the client certificate (HTTP %ld)",
			     vk_kube_server(k), status);
		return -1;
	}
	return 0;
}

typedef int (*check_fn)(struct vk_kube *k, const void *arg, bool *ready, char **why, struct vk_error *err);

static int apiserver_check_adapter(struct vk_kube *k, const void *arg, bool *ready, char **why, struct vk_error *err)
{
	(void)arg;
	return vk_apiserver_check(k, ready, why, err);
}

static int node_check_adapter(struct vk_kube *k, const void *node, bool *ready, char **why, struct vk_error *err)
{
	return vk_node_check(k, node, ready, why, err);
}

struct proxy_arg {
	const char *const *nodes;
	time_t since;
};

static int proxy_check_adapter(struct vk_kube *k, const void *arg, bool *ready, char **why, struct vk_error *err)
{
	const struct proxy_arg *a = arg;

	return vk_kube_proxy_check(k, a->nodes, a->since, ready, why, err);
}

/* Polls FN until ready, the options' check fails, or the time runs out. */
static int poll_until(struct vk_kube *k, const void *arg, check_fn fn, const struct vk_wait_opts *o, int *fatal_tls,
		      char **last, struct vk_error *err)
{
	long interval = o->interval_ms > 0 ? o->interval_ms : 1000;
	long deadline = vk_now_ms() + o->timeout_ms;
	int tls_in_a_row = 0;

	vk_kube_set_timeout(k, POLL_REQUEST_TIMEOUT_MS);
	for (;;) {
		struct vk_error e = { 0 };
		bool ready = false;
		char *why = NULL;
		int rc = fn(k, arg, &ready, &why, &e);

		if (why) {
			if (!*last || strcmp(*last, why) != 0)
				vk_debug("waiting: %s", why);
			free(*last);
			*last = why;
		}
		if (rc < 0) {
			if (e.code != VK_ERR_TLS || ++tls_in_a_row >= TLS_FAILURES_FATAL) {
				if (err)
					*err = e;
				*fatal_tls = 1;
				vk_kube_set_timeout(k, 0);
				return -1;
			}
		} else {
			tls_in_a_row = 0;
		}
		if (ready) {
			vk_kube_set_timeout(k, 0);
			return 0;
		}
		if (o->check && o->check(o->data, err) < 0) {
			vk_kube_set_timeout(k, 0);
			return -1;
		}
		if (vk_now_ms() >= deadline) {
			vk_kube_set_timeout(k, 0);
			return 1;
		}
		usleep((useconds_t)(interval * 1000));
	}
}

int vk_wait_apiserver_ready(struct vk_kube *k, const struct vk_wait_opts *o, struct vk_error *err)
{
	_cleanup_free_ char *last = NULL;
	int fatal = 0;
	int rc = poll_until(k, NULL, apiserver_check_adapter, o, &fatal, &last, err);

	if (rc == 0)
		return 0;
	if (rc < 0) {
		if (fatal)
			vk_error_hint(err, "the profile's CA or client certificate does not match the cluster; "
				      "'virtkube logs -p %s' shows what the guest did", o->profile);
		return -1;
	}
	vk_error_set(err, VK_ERR_TIMEOUT, "timed out after %ld s waiting for the API server at %s/readyz to be ready (last: %s)",
		     o->timeout_ms / 1000, vk_kube_server(k), last ? last : "no answer");
	return vk_error_hint(err, "'virtkube logs -p %s' shows the guest's provisioning logs; "
			     "'virtkube ssh -p %s -- sudo crictl ps -a' lists the control-plane containers",
			     o->profile, o->profile);
}

int vk_node_check(struct vk_kube *k, const char *node, bool *ready, char **why, struct vk_error *err)
{
	struct vk_error e = { 0 };
	json_t *obj, *conds, *c;
	size_t i;

	*ready = false;
	if (why)
		*why = NULL;
	obj = vk_kube_get(k, "v1", "Node", NULL, node, &e);
	if (!obj) {
		if (why)
			*why = e.code == VK_ERR_NOT_FOUND ? xasprintf("node '%s' is not registered yet", node) : xstrdup(e.message);
		if (e.code == VK_ERR_TLS) {
			if (err)
				*err = e;
			return -1;
		}
		return 0;
	}
	conds = json_object_get(json_object_get(obj, "status"), "conditions");
	json_array_foreach(conds, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		const char *message = json_string_value(json_object_get(c, "message"));

		if (!type || strcmp(type, "Ready") != 0)
			continue;
		*ready = status && strcmp(status, "True") == 0;
		if (why && !*ready)
			*why = xasprintf("node '%s' Ready=%s%s%s%s%s%s", node, status ? status : "?", reason ? " (" : "",
					 reason ? reason : "", reason ? ")" : "", message ? ": " : "", message ? message : "");
		if (why && *ready)
			*why = xasprintf("node '%s' is Ready", node);
		json_decref(obj);
		return 0;
	}
	if (why)
		*why = xasprintf("node '%s' has no Ready condition yet", node);
	json_decref(obj);
	return 0;
}

int vk_wait_node_ready(struct vk_kube *k, const char *node, const struct vk_wait_opts *o, struct vk_error *err)
{
	_cleanup_free_ char *last = NULL;
	int fatal = 0;
	int rc = poll_until(k, node, node_check_adapter, o, &fatal, &last, err);

	if (rc == 0)
		return 0;
	if (rc < 0)
		return -1;
	vk_error_set(err, VK_ERR_TIMEOUT, "timed out after %ld s waiting for node '%s' to be Ready (last: %s)",
		     o->timeout_ms / 1000, node, last ? last : "no answer");
	return vk_error_hint(err, "'virtkube logs -p %s' shows the guest's provisioning logs (the CNI and kubelet stages)",
			     o->profile);
}

/* An RFC 3339 time of the API ("2026-12-07T03:04:05Z") as Unix time; -1 when it is not one. */
static time_t api_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (!end)
		return -1;
	return timegm(&tm);
}

/* Whether POD is Ready and its containers started at SINCE or later; else *WHY. */
static bool proxy_pod_fresh(json_t *pod, const char *node, time_t since, char **why)
{
	const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	json_t *st = json_object_get(pod, "status");
	bool ready = false;
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));

		if (type && status && strcmp(type, "Ready") == 0)
			ready = strcmp(status, "True") == 0;
	}
	if (!ready) {
		*why = xasprintf("kube-proxy pod %s on node '%s' is not Ready", name ? name : "?", node);
		return false;
	}
	json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
		const char *started = json_string_value(
			json_object_get(json_object_get(json_object_get(c, "state"), "running"), "startedAt"));
		time_t at = api_time(started);

		if (since > 0 && (at < 0 || at < since)) {
			*why = xasprintf("kube-proxy pod %s on node '%s' says Ready, but from before this boot (started %s)",
					 name ? name : "?", node, started ? started : "not running");
			return false;
		}
	}
	return true;
}

int vk_kube_proxy_check(struct vk_kube *k, const char *const *nodes, time_t since, bool *ready, char **why,
			struct vk_error *err)
{
	struct vk_error e = { 0 };
	json_auto_t *pods = vk_kube_list(k, "v1", "Pod", "kube-system", "k8s-app=kube-proxy", &e);
	char *w = NULL;

	*ready = false;
	if (!pods) {
		if (e.code == VK_ERR_TLS) {
			if (err)
				*err = e;
			return -1;
		}
		w = xstrdup(e.message);
	}
	for (const char *const *n = nodes; pods && !w && n && *n; n++) {
		json_t *pod, *found = NULL;
		size_t i;

		json_array_foreach(json_object_get(pods, "items"), i, pod) {
			const char *on = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
			bool deleting = json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;

			_cleanup_free_ char *unused = NULL;

			/* a node may have two for a moment (the old one terminating): a fresh one wins */
			if (on && strcmp(on, *n) == 0 && !deleting && (!found || proxy_pod_fresh(pod, *n, since, &unused)))
				found = pod;
		}
		if (!found)
			w = xasprintf("no kube-proxy pod on node '%s' yet", *n);
		else if (!proxy_pod_fresh(found, *n, since, &w))
			break;
	}
	*ready = pods && !w;
	if (why)
		*why = w ? w : xstrdup("kube-proxy runs on every node");
	else
		free(w);
	return 0;
}

int vk_wait_kube_proxy(struct vk_kube *k, const char *const *nodes, time_t since, const struct vk_wait_opts *o,
		       struct vk_error *err)
{
	struct proxy_arg arg = { nodes, since };
	_cleanup_free_ char *last = NULL;
	int fatal = 0;
	int rc = poll_until(k, &arg, proxy_check_adapter, o, &fatal, &last, err);

	if (rc <= 0)
		return rc;
	vk_error_set(err, VK_ERR_TIMEOUT, "timed out after %ld s waiting for this boot's kube-proxy on every node (last: %s)",
		     o->timeout_ms / 1000, last ? last : "no answer");
	return vk_error_hint(err, "'kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide' shows them; "
			     "'virtkube logs -p %s' shows the guest's logs", o->profile);
}
