/* `virtkube service NAME --url` and `virtkube service list`: NodePort URLs on the node's IP, or a LoadBalancer's address (the engine reads the Services: kube/service.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kube-cli.h"
#include "kube/service.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* Kubernetes object names as the API accepts them for Services and Namespaces. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

static int check_names(const struct cli_command *cmd, const char *name, const char *ns)
{
	if (name && !dns_label(name))
		return cli_usage_error(cmd, "invalid service name '%s': a Service name is 1-63 characters of a-z, "
				       "0-9 and '-', starting and ending with a letter or digit", name);
	if (ns && !dns_label(ns))
		return cli_usage_error(cmd, "invalid namespace '%s': 1-63 characters of a-z, 0-9 and '-', starting "
				       "and ending with a letter or digit", ns);
	return 0;
}

static const struct cli_option service_options[] = {
	{ "namespace", 'n', "NAMESPACE", "the Service's namespace (default: default)", NULL },
	{ "url", 0, NULL, "print the URLs (the only mode: virtkube opens no browser)", NULL },
	{ "https", 0, NULL, "https:// instead of http://", NULL },
	{ "format", 0, "TEMPLATE", "one line per port from {{.IP}}, {{.Port}}, {{.Name}} (default "
	  VK_SERVICE_URL_FORMAT ")", NULL },
	{ "wait", 0, "SECONDS", "wait this long for the Service to exist (default 0)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int service_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *name = args->positional[0];
	const char *ns = cli_opt(args, "namespace") ? cli_opt(args, "namespace") : "default";
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	_cleanup_service_ struct vk_service *svc = NULL;
	_cleanup_strv_ char **urls = NULL;
	struct vk_error err = { 0 };
	long wait_s = 0;
	int rc;

	if ((rc = check_names(args->cmd, name, ns)) != 0)
		return rc;
	if ((rc = cli_opt_long(ctx, args, "wait", 0, 86400, &wait_s)) != 0)
		return rc;
	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	svc = vk_service_wait(k, ns, name, wait_s, &err);
	if (!svc)
		return cli_fail(&err);
	urls = vk_service_urls(svc, p->cfg.node_ip, cli_opt(args, "format"), cli_flag(args, "https"), &err);
	if (!urls && err.code == VK_ERR_INVALID)
		return cli_usage_error(args->cmd, "--format: %s", err.message);
	if (!urls)
		return cli_fail(&err);
	for (char **u = urls; *u; u++)
		puts(*u);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_service = {
	.name = "service",
	.args_usage = "NAME",
	.summary = "print the URLs of a NodePort or LoadBalancer Service",
	.description = "Prints one URL per node port of the Service on the node's IP, in the order of its ports. A "
		       "LoadBalancer Service that has an address (the loadbalancer addon gives one from the profile's "
		       "pool, which the host routes to the cluster) gets that address with the Service's own ports "
		       "instead. A Service of type ClusterIP has no node port and no URL.",
	.options = service_options,
	.min_args = 1,
	.max_args = 1,
	.exec = service_exec,
};

/* ------------------------------------------------------------- list -- */

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option list_options[] = {
	{ "namespace", 'n', "NAMESPACE", "only this namespace (default: all)", NULL },
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

/* The TARGET PORT column: "NAME/TARGET" for a named port. Caller frees. */
static char *target_text(const struct vk_service_port *port)
{
	return *port->name ? xasprintf("%s/%s", port->name, port->target_port) : xstrdup(port->target_port);
}

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *ns = cli_opt(args, "namespace");
	const char *headers[] = { "NAMESPACE", "NAME", "TARGET PORT", "URL" };
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	_cleanup_service_list_ struct vk_service_list list = { 0 };
	struct vk_error err = { 0 };
	struct ui_table *table;
	json_t *rows;
	int rc;

	if ((rc = check_names(args->cmd, NULL, ns)) != 0)
		return rc;
	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	if (vk_service_list(k, ns, &list, &err) < 0)
		return cli_fail(&err);
	table = ui_table_new(4, headers);
	rows = json_array();
	for (size_t i = 0; i < list.n; i++) {
		const struct vk_service *svc = &list.items[i];

		if (!vk_service_has_node_ports(svc) || svc->nports == 0) {
			ui_table_add(table, (const char *[]){ svc->ns, svc->name, "No node port", "" });
			json_array_append_new(rows, json_pack("{s:s, s:s, s:n, s:n}", "namespace", svc->ns, "name",
							      svc->name, "target_port", "url"));
			continue;
		}
		for (size_t j = 0; j < svc->nports; j++) {
			const struct vk_service_port *port = &svc->ports[j];
			_cleanup_free_ char *target = target_text(port);
			_cleanup_free_ char *url = vk_service_port_url(svc, port, p->cfg.node_ip);

			ui_table_add(table, (const char *[]){ svc->ns, svc->name, target, url ? url : "" });
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "namespace", svc->ns, "name",
							      svc->name, "target_port", target, "url", url,
							      "load_balancer_ip", vk_service_lb_address(svc)));
		}
	}
	if (json) {
		ui_print_json(rows);
	} else {
		ui_table_print(table);
		json_decref(rows);
	}
	ui_table_free(table);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_service_list = {
	.name = "service list",
	.summary = "list the Services with their node port URLs",
	.options = list_options,
	.max_args = 0,
	.exec = list_exec,
};
