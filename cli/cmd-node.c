/* `virtkube node list|add|delete`: a profile's nodes, and adding or removing workers of a made profile. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "start/nodeops.h"
#include "vm/nodeplan.h"
#include "start/start.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *output = cli_opt(args, "output");
	enum vk_host_state states[VK_NODES_MAX];
	struct vk_error err = { 0 };
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (p->cfg.nnodes && vk_nodes_states(p, states, &err) < 0)
		return cli_fail(&err);
	if (output && strcmp(output, "json") == 0) {
		json_auto_t *arr = json_array();
		char *text;

		for (size_t i = 0; i < p->cfg.nnodes; i++) {
			const struct vk_node *n = &p->cfg.nodes[i];
			char cidr[24];

			vk_node_pod_cidr(n->index, cidr);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", n->name, "ip", n->ip, "role",
							      vk_node_role_name(n->role), "state",
							      vk_host_state_name(states[i]), "podCIDR", cidr));
		}
		text = json_dumps(arr, JSON_INDENT(2));
		puts(text);
		free(text);
		return VK_EXIT_OK;
	}
	if (!p->cfg.nnodes) {
		ui_info("profile '%s' has no nodes yet: 'virtkube -p %s start' makes them", p->name, p->name);
		return VK_EXIT_OK;
	}
	printf("%-24s %-16s %-14s %s\n", "NAME", "IP", "ROLE", "STATE");
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		printf("%-24s %-16s %-14s %s\n", p->cfg.nodes[i].name, p->cfg.nodes[i].ip,
		       vk_node_role_name(p->cfg.nodes[i].role), vk_host_state_name(states[i]));
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_node_list = {
	.name = "node list",
	.summary = "list the profile's nodes: name, IP, role, state",
	.options = list_options,
	.max_args = 0,
	.exec = list_exec,
};

/* What the start pipeline says while it makes the new node: its messages only. */
static void on_add_event(void *data, const struct vk_start_event *ev)
{
	const struct cli_context *ctx = data;

	if (ev->type == VK_START_WARN)
		ui_warn("%s", ev->message);
	else if (ev->type == VK_START_INFO && !ctx->quiet)
		ui_info("%s", ev->message);
	else if (ev->type == VK_START_GUEST_STAGE && ctx->verbose)
		ui_info("guest: %s %s%s%s", ev->stage, ev->ok ? "ok" : "failed", ev->message ? ": " : "",
			ev->message ? ev->message : "");
}

static const struct cli_option add_options[] = {
	{ "worker", 0, NULL, "a Kubernetes worker (what a node of a Kubernetes profile always is; refused without Kubernetes)", NULL },
	{ "wait-timeout", 0, "SECONDS", "how long each wait may take (as for start)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int add_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *failed = NULL;
	struct vk_start_opts o = { .keep_context = true };
	struct vk_error err = { 0 };
	const struct vk_node *n = NULL;
	long idx = 0;
	int rc;

	if ((rc = cli_opt_long(ctx, args, "wait-timeout", 1, 24 * 3600, &o.wait_s)) != 0)
		return rc;
	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	rc = vk_node_add(p, cli_flag(args, "worker"), &o, on_add_event, ctx, &idx, &failed, &err);
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		if (p->cfg.nodes[i].index == idx)
			n = &p->cfg.nodes[i];
	if (rc < 0 && err.code != VK_ERR_ADDON_NOT_READY) {
		rc = cli_fail(&err);
		if (n)
			fprintf(stderr, "hint: 'virtkube -p %s start' carries on; 'virtkube -p %s node delete %s' removes it\n",
				p->name, p->name, n->name);
		return rc;
	}
	if (failed)
		ui_warn("the pod routes of %s were not updated", failed);
	if (n)
		printf("node '%s' (%s) is running at %s\n", n->name, vk_node_role_name(n->role), n->ip);
	return rc < 0 ? cli_fail(&err) : VK_EXIT_OK;
}

const struct cli_command cli_cmd_node_add = {
	.name = "node add",
	.summary = "add a node to a running profile (a worker that joins its cluster, or a plain VM without Kubernetes)",
	.description = "The new node is PROFILE-mNN with the lowest free NN, on the profile's network with a fixed IP.\n"
		       "In a Kubernetes profile it joins as a worker (a fresh join token is made through the API\n"
		       "when the first has expired); the other nodes get a route to its pod CIDR.",
	.options = add_options,
	.max_args = 0,
	.exec = add_exec,
};

static int delete_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_(vk_node_delete_result_release) struct vk_node_delete_result res = { 0 };
	_cleanup_free_ char *name = NULL;
	struct vk_error err = { 0 };
	struct vk_node *n;
	int rc;

	p = cli_vm_profile(ctx, true, true, &rc);
	if (!p)
		return rc;
	n = vk_nodes_find(p, args->positional[0], &err);
	if (!n)
		return cli_fail(&err);
	name = xstrdup(n->name);
	if (vk_node_delete(p, name, &res, &err) < 0)
		return cli_fail(&err);
	if (res.routes_failed)
		ui_warn("the pod routes of %s were not updated", res.routes_failed);
	ui_info("deleted node '%s' of profile '%s'%s", name, p->name,
		res.node_object_removed ? " (and its Kubernetes Node)" : "");
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_node_delete = {
	.name = "node delete",
	.args_usage = "NAME",
	.summary = "remove a worker (PROFILE-m02, or m02): its Kubernetes Node, VM, disk and DHCP entry",
	.min_args = 1,
	.max_args = 1,
	.exec = delete_exec,
};
