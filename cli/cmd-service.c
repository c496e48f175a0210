/* `virtkube service NAME --url` and `virtkube service list`: NodePort URLs on the node's IP. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "kube-cli.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DEFAULT_FORMAT "http://{{.IP}}:{{.Port}}"
#define DEFAULT_FORMAT_V6 "http://[{{.IP}}]:{{.Port}}"

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

/* Expands {{.IP}}, {{.Port}} and {{.Name}} in TPL; an unknown field is named in *BAD. */
static char *expand(const char *tpl, const char *ip, long long port, const char *name, char **bad)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	const char *s = tpl;

	*bad = NULL;
	while (*s) {
		const char *open = strstr(s, "{{");
		const char *close, *f, *e;

		if (!open) {
			vk_strbuf_addstr(&sb, s);
			break;
		}
		vk_strbuf_add(&sb, s, (size_t)(open - s));
		close = strstr(open + 2, "}}");
		if (!close) {
			*bad = xstrdup(open);
			break;
		}
		for (f = open + 2; *f == ' '; f++)
			;
		for (e = close; e > f && e[-1] == ' '; e--)
			;
		if ((size_t)(e - f) == 3 && strncmp(f, ".IP", 3) == 0)
			vk_strbuf_addstr(&sb, ip);
		else if ((size_t)(e - f) == 5 && strncmp(f, ".Port", 5) == 0)
			vk_strbuf_addf(&sb, "%lld", port);
		else if ((size_t)(e - f) == 5 && strncmp(f, ".Name", 5) == 0)
			vk_strbuf_addstr(&sb, name ? name : "");
		else {
			*bad = xstrndup(open, (size_t)(close + 2 - open));
			break;
		}
		s = close + 2;
	}
	if (*bad) {
		vk_strbuf_release(&sb);
		return NULL;
	}
	return vk_strbuf_detach(&sb, NULL);
}

/* The Service, waiting up to WAIT_S seconds for it to appear; a missing one
 * is told apart from a missing namespace. */
static json_t *get_service(struct vk_kube *k, const char *ns, const char *name, long wait_s, struct vk_error *err)
{
	long long deadline = vk_now_ms() + wait_s * 1000;

	for (;;) {
		json_t *svc = vk_kube_get(k, "v1", "Service", ns, name, err);
		json_t *nsobj;

		if (svc || err->code != VK_ERR_NOT_FOUND)
			return svc;
		if (vk_now_ms() < deadline) {
			nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000000L }, NULL);
			continue;
		}
		nsobj = vk_kube_get(k, "v1", "Namespace", NULL, ns, err);
		if (nsobj) {
			json_decref(nsobj);
			if (wait_s > 0)
				vk_error_set(err, VK_ERR_NOT_FOUND, "service '%s' was not found in namespace '%s' within %lds",
					     name, ns, wait_s);
			else
				vk_error_set(err, VK_ERR_NOT_FOUND, "service '%s' was not found in namespace '%s'", name,
					     ns);
			vk_error_hint(err, "'virtkube service list' shows the services; -n picks the namespace");
		} else if (err->code == VK_ERR_NOT_FOUND) {
			vk_error_set(err, VK_ERR_NOT_FOUND, "namespace '%s' does not exist (looking for service '%s')", ns,
				     name);
			vk_error_hint(err, "'kubectl get namespaces' lists them");
		}
		return NULL;
	}
}

static const struct cli_option service_options[] = {
	{ "namespace", 'n', "NAMESPACE", "the Service's namespace (default: default)", NULL },
	{ "url", 0, NULL, "print the URLs (the only mode: virtkube opens no browser)", NULL },
	{ "https", 0, NULL, "https:// instead of http://", NULL },
	{ "format", 0, "TEMPLATE", "one line per port from {{.IP}}, {{.Port}}, {{.Name}} (default "
	  DEFAULT_FORMAT ")", NULL },
	{ "wait", 0, "SECONDS", "wait this long for the Service to exist (default 0)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int service_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *name = args->positional[0];
	const char *ns = cli_opt(args, "namespace") ? cli_opt(args, "namespace") : "default";
	const char *format = cli_opt(args, "format");
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	json_auto_t *svc = NULL;
	struct vk_error err = { 0 };
	struct vk_strbuf out = VK_STRBUF_INIT;
	const char *type, *ip;
	unsigned char buf[16];
	json_t *ports, *port;
	long wait_s = 0;
	size_t i, n = 0;
	int rc;

	if ((rc = check_names(args->cmd, name, ns)) != 0)
		return rc;
	if ((rc = cli_opt_long(ctx, args, "wait", 0, 86400, &wait_s)) != 0)
		return rc;
	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	ip = p->cfg.node_ip;
	if (!format)
		format = inet_pton(AF_INET6, ip, buf) == 1 ? DEFAULT_FORMAT_V6 : DEFAULT_FORMAT;
	svc = get_service(k, ns, name, wait_s, &err);
	if (!svc)
		return cli_fail(&err);
	type = json_string_value(json_object_get(json_object_get(svc, "spec"), "type"));
	if (!type)
		type = "ClusterIP";
	if (strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0) {
		ui_error_msg("service '%s/%s' is of type %s and has no node port", ns, name, type);
		fprintf(stderr, "hint: expose it on the node with 'kubectl -n %s expose service %s --type=NodePort "
			"--name=%s-nodeport' (or set its spec.type to NodePort)\n", ns, name, name);
		return VK_EXIT_FAILED;
	}
	ports = json_object_get(json_object_get(svc, "spec"), "ports");
	json_array_foreach(ports, i, port) {
		json_t *np = json_object_get(port, "nodePort");
		_cleanup_free_ char *line = NULL, *bad = NULL;

		if (!json_is_integer(np))
			continue;
		line = expand(format, ip, json_integer_value(np), json_string_value(json_object_get(port, "name")),
			      &bad);
		if (!line) {
			vk_strbuf_release(&out);
			return cli_usage_error(args->cmd, "--format: unknown or unterminated field '%s' (use {{.IP}}, "
					       "{{.Port}}, {{.Name}})", bad);
		}
		if (cli_flag(args, "https") && strncmp(line, "http://", 7) == 0)
			vk_strbuf_addf(&out, "https://%s\n", line + 7);
		else
			vk_strbuf_addf(&out, "%s\n", line);
		n++;
	}
	if (n == 0) {
		vk_strbuf_release(&out);
		ui_error_msg("service '%s/%s' has no node ports", ns, name);
		fputs("hint: its ports have no nodePort; 'kubectl -n NS get service NAME -o yaml' shows them\n", stderr);
		return VK_EXIT_FAILED;
	}
	fputs(out.buf, stdout);
	vk_strbuf_release(&out);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_service = {
	.name = "service",
	.args_usage = "NAME",
	.summary = "print the URLs of a NodePort Service on the node's IP",
	.description = "Prints one URL per node port of the Service, in the order of its ports. A Service of type "
		       "ClusterIP has no node port and no URL.",
	.options = service_options,
	.min_args = 1,
	.max_args = 1,
	.exec = service_exec,
};

/* ------------------------------------------------------------- list -- */

static const struct cli_option list_options[] = {
	{ "namespace", 'n', "NAMESPACE", "only this namespace (default: all)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *ns = cli_opt(args, "namespace");
	const char *headers[] = { "NAMESPACE", "NAME", "TARGET PORT", "URL" };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	json_auto_t *list = NULL;
	struct vk_error err = { 0 };
	struct ui_table *table;
	const char *ip;
	unsigned char buf[16];
	bool v6;
	json_t *svc;
	size_t i;
	int rc;

	if ((rc = check_names(args->cmd, NULL, ns)) != 0)
		return rc;
	if (cli_kube_open(ctx, &p, &k, &err) < 0)
		return cli_fail(&err);
	ip = p->cfg.node_ip;
	v6 = inet_pton(AF_INET6, ip, buf) == 1;
	list = vk_kube_list(k, "v1", "Service", ns, NULL, &err);
	if (!list)
		return cli_fail(&err);
	table = ui_table_new(4, headers);
	json_array_foreach(json_object_get(list, "items"), i, svc) {
		json_t *md = json_object_get(svc, "metadata");
		json_t *spec = json_object_get(svc, "spec");
		const char *sns = json_string_value(json_object_get(md, "namespace"));
		const char *sname = json_string_value(json_object_get(md, "name"));
		const char *type = json_string_value(json_object_get(spec, "type"));
		bool nodeport = type && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0);
		json_t *ports = json_object_get(spec, "ports"), *port;
		size_t j;

		if (!nodeport || json_array_size(ports) == 0) {
			ui_table_add(table, (const char *[]){ sns ? sns : "", sname ? sname : "", "No node port", "" });
			continue;
		}
		json_array_foreach(ports, j, port) {
			json_t *tp = json_object_get(port, "targetPort");
			const char *pname = json_string_value(json_object_get(port, "name"));
			json_t *np = json_object_get(port, "nodePort");
			_cleanup_free_ char *target = NULL, *url = NULL;

			if (json_is_string(tp))
				target = xstrdup(json_string_value(tp));
			else
				target = xasprintf("%lld", (long long)json_integer_value(tp ? tp : json_object_get(port, "port")));
			if (pname && *pname) {
				char *t = xasprintf("%s/%s", pname, target);

				free(target);
				target = t;
			}
			url = json_is_integer(np) ? xasprintf(v6 ? "http://[%s]:%lld" : "http://%s:%lld", ip,
							       (long long)json_integer_value(np))
						  : xstrdup("");
			ui_table_add(table, (const char *[]){ sns ? sns : "", sname ? sname : "", target, url });
		}
	}
	ui_table_print(table);
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
