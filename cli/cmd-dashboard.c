/* `virtkube dashboard --url`: the dashboard addon's URL on the node's NodePort. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "addons.h"
#include "cli.h"
#include "kube-cli.h"
#include "ui.h"
#include "util/cleanup.h"

#define DASHBOARD_NS "kubernetes-dashboard"
#define DASHBOARD_NAME "kubernetes-dashboard"

static const struct cli_option dashboard_options[] = {
	{ "url", 0, NULL, "print the URL (the only mode: virtkube opens no browser)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int dashboard_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	_cleanup_free_ char *why = NULL;
	json_auto_t *svc = NULL;
	struct vk_error err = { 0 };
	long long nodeport = -1;
	json_t *ports, *port;
	bool ready = false;
	const char *ip;
	size_t i;

	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	svc = vk_kube_get(k, "v1", "Service", DASHBOARD_NS, DASHBOARD_NAME, &err);
	if (!svc) {
		if (err.code != VK_ERR_NOT_FOUND)
			return cli_fail(&err);
		if (vk_addons_load(&reg, NULL, &err) == 0 && vk_addons_is_enabled(p, &reg, "dashboard")) {
			vk_error_set(&err, VK_ERR_NOT_FOUND, "the dashboard addon is enabled in profile '%s' but its "
				     "Service '%s/%s' is missing", p->name, DASHBOARD_NS, DASHBOARD_NAME);
			vk_error_hint(&err, "apply it again with 'virtkube -p %s addons enable dashboard'", p->name);
		} else {
			vk_error_set(&err, VK_ERR_NOT_FOUND, "the dashboard addon is not enabled in profile '%s'",
				     p->name);
			vk_error_hint(&err, "enable it with 'virtkube -p %s addons enable dashboard'", p->name);
		}
		return cli_fail(&err);
	}
	ports = json_object_get(json_object_get(svc, "spec"), "ports");
	/* the addon's Service maps port 80 to the dashboard's plain HTTP port */
	json_array_foreach(ports, i, port) {
		json_t *np = json_object_get(port, "nodePort");

		if (json_is_integer(np) && (nodeport < 0 || json_integer_value(json_object_get(port, "port")) == 80))
			nodeport = json_integer_value(np);
	}
	if (nodeport < 0) {
		vk_error_set(&err, VK_ERR_FAILED, "Service '%s/%s' has no node port", DASHBOARD_NS, DASHBOARD_NAME);
		vk_error_hint(&err, "apply the addon again with 'virtkube -p %s addons enable dashboard'", p->name);
		return cli_fail(&err);
	}
	if (vk_kube_check_ready(k, "Deployment", DASHBOARD_NS, DASHBOARD_NAME, &ready, &why, &err) < 0)
		ui_warn("cannot tell whether the dashboard is ready: %s", err.message);
	else if (!ready)
		ui_warn("the dashboard is not ready yet (%s); the URL answers once it is", why ? why : "");
	ip = p->cfg.node_ip;
	printf(strchr(ip, ':') ? "http://[%s]:%lld/\n" : "http://%s:%lld/\n", ip, nodeport);
	if (!cli_flag(args, "url"))
		ui_info("open that URL in a browser (virtkube does not start one)");
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_dashboard = {
	.name = "dashboard",
	.summary = "print the URL of the Kubernetes dashboard (the dashboard addon)",
	.options = dashboard_options,
	.max_args = 0,
	.exec = dashboard_exec,
};
