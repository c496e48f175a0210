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

typedef int (*check_fn)(struct vk_kube *k, const char *node, bool *ready, char **why, struct vk_error *err);

static int apiserver_check_adapter(struct vk_kube *k, const char *node, bool *ready, char **why, struct vk_error *err)
{
	return vk_apiserver_check(k, ready, why, err);
}

/* Polls FN until ready, the options' check fails, or the time runs out. */
static int poll_until(struct vk_kube *k, const char *node, check_fn fn, const struct vk_wait_opts *o, int *fatal_tls,
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
		int rc = fn(k, node, &ready, &why, &e);

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
	int rc = poll_until(k, node, vk_node_check, o, &fatal, &last, err);

	if (rc == 0)
		return 0;
	if (rc < 0)
		return -1;
	vk_error_set(err, VK_ERR_TIMEOUT, "timed out after %ld s waiting for node '%s' to be Ready (last: %s)",
		     o->timeout_ms / 1000, node, last ? last : "no answer");
	return vk_error_hint(err, "'virtkube logs -p %s' shows the guest's provisioning logs (the CNI and kubelet stages)",
			     o->profile);
}
