/* `virtkube dashboard [--url] [--duration D]`: the dashboard addon's (Headlamp's) URL on its NodePort and a short-lived login token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/addons.h"
#include "cli.h"
#include "kube-cli.h"
#include "kube/service.h"
#include "ui.h"
#include "util/cleanup.h"

#define DASHBOARD_NS "headlamp"
#define DASHBOARD_NAME "headlamp"
/* The ServiceAccount the addon binds to cluster-admin for logging in. */
#define DASHBOARD_LOGIN_SA "headlamp-admin"
#define DEFAULT_DURATION_S 3600L
/* The TokenRequest API refuses less than 10 minutes; a day is plenty for a login. */
#define MIN_DURATION_S 600L
#define MAX_DURATION_S 86400L

static const struct cli_option dashboard_options[] = {
	{ "url", 0, NULL, "print only the URL (no token; virtkube opens no browser)", NULL },
	{ "duration", 0, "DURATION", "how long the login token is valid: a number with s, m or h, as 90m or 2h "
	  "(default 1h, from 10m to 24h)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* "90m", "1h30m", "600s", "3600" (seconds) into seconds; -1 when it does not read. */
static long parse_duration(const char *s)
{
	long total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		long n = strtol(s, &end, 10), unit;

		if (end == s || n < 0 || n > MAX_DURATION_S)
			return -1;
		switch (*end) {
		case 'h':
			unit = 3600;
			break;
		case 'm':
			unit = 60;
			break;
		case 's':
			unit = 1;
			break;
		case '\0':
			if (total)
				return -1; /* "1h30": a bare number only on its own */
			unit = 1;
			end--;
			break;
		default:
			return -1;
		}
		total += n * unit;
		if (total > MAX_DURATION_S * 2)
			return -1;
		s = end + 1;
	}
	return total;
}

static void say_duration(long s, char *buf, size_t len)
{
	if (s % 3600 == 0)
		snprintf(buf, len, "%ldh", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, "%ldm", s / 60);
	else
		snprintf(buf, len, "%lds", s);
}

static int dashboard_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	_cleanup_free_ char *why = NULL, *url = NULL, *token = NULL, *expires = NULL;
	_cleanup_service_ struct vk_service *svc = NULL;
	struct vk_error err = { 0 };
	const char *duration_text = cli_opt(args, "duration");
	long duration_s = DEFAULT_DURATION_S;
	int nodeport = 0;
	bool ready = false;
	char said[32];

	if (duration_text) {
		if (cli_flag(args, "url"))
			return cli_usage_error(args->cmd, "--duration is for the login token, which --url does not print");
		duration_s = parse_duration(duration_text);
		if (duration_s < 0)
			return cli_usage_error(args->cmd, "invalid value '%s' for --duration: write a number with s, m or h, "
					       "as 90m or 2h", duration_text);
		if (duration_s < MIN_DURATION_S || duration_s > MAX_DURATION_S)
			return cli_usage_error(args->cmd, "invalid value '%s' for --duration: must be from 10m to 24h",
					       duration_text);
	}
	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	svc = vk_service_get(k, DASHBOARD_NS, DASHBOARD_NAME, &err);
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
	/* the addon's Service maps port 80 to Headlamp's plain HTTP port */
	for (size_t i = 0; i < svc->nports; i++)
		if (svc->ports[i].node_port && (!nodeport || svc->ports[i].port == 80))
			nodeport = svc->ports[i].node_port;
	if (!nodeport) {
		vk_error_set(&err, VK_ERR_FAILED, "Service '%s/%s' has no node port", DASHBOARD_NS, DASHBOARD_NAME);
		vk_error_hint(&err, "apply the addon again with 'virtkube -p %s addons enable dashboard'", p->name);
		return cli_fail(&err);
	}
	if (vk_kube_check_ready(k, "Deployment", DASHBOARD_NS, DASHBOARD_NAME, &ready, &why, &err) < 0)
		ui_warn("cannot tell whether the dashboard is ready: %s", err.message);
	else if (!ready)
		ui_warn("the dashboard is not ready yet (%s); the URL answers once it is", why ? why : "");
	vk_error_clear(&err);
	url = vk_service_node_url(p->cfg.node_ip, nodeport);
	if (cli_flag(args, "url")) {
		printf("%s/\n", url);
		return VK_EXIT_OK;
	}
	token = vk_serviceaccount_token(k, DASHBOARD_NS, DASHBOARD_LOGIN_SA, duration_s, &expires, &err);
	if (!token) {
		if (err.code == VK_ERR_NOT_FOUND)
			vk_error_hint(&err, "apply the addon again with 'virtkube -p %s addons enable dashboard'", p->name);
		return cli_fail(&err);
	}
	printf("%s/\n", url);
	puts(token);
	say_duration(duration_s, said, sizeof(said));
	ui_info("open the URL (virtkube does not start a browser) and log in with the token on the second line: "
		"it acts as ServiceAccount %s/%s (cluster-admin) for %s%s%s", DASHBOARD_NS, DASHBOARD_LOGIN_SA, said,
		expires ? ", until " : "", expires ? expires : "");
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_dashboard = {
	.name = "dashboard",
	.summary = "print the URL of the dashboard (Headlamp, the dashboard addon) and a short-lived login token",
	.description = "Prints the URL on the first line and, unless --url is given, a login token on the second: "
		       "made by the TokenRequest API for the ServiceAccount headlamp/headlamp-admin (bound to "
		       "cluster-admin), valid for --duration. Nothing is stored; run it again for a new token.",
	.options = dashboard_options,
	.max_args = 0,
	.exec = dashboard_exec,
};
