/* `virtkube status`: the profile's host state (and, from other modules, Kubernetes fields) with minikube's exit bits. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "cluster/status.h"
#include "vm/nodeplan.h"
#include "cluster/snapshot.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm.h"
#include "watch-view.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option status_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ "watch", 'w', NULL, "keep showing it: a full-screen view on a terminal, else one block (or JSON line) per refresh", NULL },
	{ "interval", 0, "S", "with --watch: seconds between refreshes (1 to 3600; default 2)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static void print_text(json_t *fields)
{
	const char *key;
	json_t *value;

	json_object_foreach(fields, key, value) {
		if (json_is_string(value))
			printf("%s: %s\n", key, json_string_value(value));
		else if (json_is_boolean(value))
			printf("%s: %s\n", key, json_is_true(value) ? "yes" : "no");
		else {
			char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

			printf("%s: %s\n", key, text ? text : "");
			free(text);
		}
	}
}

/* Node N's block (a worker, or a plain VM): its fields into BLOCKS, its bits into *BITS. */
static int node_block(struct vk_profile *p, const struct vk_node *n, json_t *blocks, int *bits, struct vk_error *err)
{
	struct vk_status st;

	if (vk_cluster_node_status(p, n, &st, err) < 0)
		return -1;
	if (st.kubernetes && n->role == VK_ROLE_WORKER)
		vk_status_kubernetes_node(p, n, st.host == VK_HOST_RUNNING, st.fields, &st.exit_bits);
	*bits |= st.exit_bits;
	json_array_append(blocks, st.fields);
	vk_status_release(&st);
	return 0;
}

/* "Snapshot: NAME (restored TIME)" once one was restored. */
static void snapshot_field(const struct vk_profile *p, json_t *fields)
{
	_cleanup_free_ char *name = NULL, *value = NULL;
	long long at;
	char when[32];

	vk_snapshot_last_restored(p, &name, &at);
	if (!name)
		return;
	vk_snapshot_time(at, when);
	value = xasprintf("%s (restored %s)", name, when);
	json_object_set_new(fields, "Snapshot", json_string(value));
}

/* One `status`: every node's block, as text or JSON; returns the exit bits,
 * or the failure's exit code (the error printed). */
static int status_once(struct cli_context *ctx, const char *output)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	json_auto_t *blocks = json_array();
	struct vk_status st;
	struct vk_error err = { 0 };
	int rc, bits;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (vk_cluster_status(p, &st, &err) < 0)
		return cli_fail(&err);
	/* --no-kubernetes profiles have a host only. */
	if (st.kubernetes && vk_status_kubernetes(p, st.host == VK_HOST_RUNNING, st.fields, &st.exit_bits, &err) < 0) {
		vk_status_release(&st);
		return cli_fail(&err);
	}
	snapshot_field(p, st.fields);
	bits = st.exit_bits;
	json_array_append(blocks, st.fields);
	vk_status_release(&st);
	/* minikube's layout: one block per node, the control plane first */
	for (size_t i = 1; i < p->cfg.nnodes; i++)
		if (node_block(p, &p->cfg.nodes[i], blocks, &bits, &err) < 0)
			return cli_fail(&err);
	if (output && strcmp(output, "json") == 0) {
		/* one node: the object as before; more: a list of them */
		char *text = json_dumps(json_array_size(blocks) == 1 ? json_array_get(blocks, 0) : blocks, JSON_INDENT(2));

		puts(text);
		free(text);
	} else {
		for (size_t i = 0; i < json_array_size(blocks); i++) {
			if (i)
				putchar('\n');
			print_text(json_array_get(blocks, i));
		}
	}
	return bits;
}

static int status_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	long interval = 2;
	int rc;

	if (!cli_flag(args, "watch")) {
		if (cli_opt(args, "interval"))
			return cli_usage_error(args->cmd, "--interval goes with --watch");
		return status_once(ctx, output);
	}
	if ((rc = cli_opt_long(ctx, args, "interval", 1, 3600, &interval)) != 0)
		return rc;
	/* a profile that does not exist is an error at once; later it is shown */
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (json)
		return watch_ndjson(p->name, interval);
	if (watch_can_draw())
		return watch_screen(p->name, interval);
	/* no terminal: the plain block each refresh, a blank line between them */
	do {
		rc = status_once(ctx, output);
		putchar('\n');
		fflush(stdout);
	} while (watch_sleep(interval));
	return rc;
}

const struct cli_command cli_cmd_status = {
	.name = "status",
	.summary = "show the profile's state, one block per node (exit bits: 1 host down, 2 cluster down, 4 Kubernetes down)",
	.description = "With --watch on a terminal, a full-screen view refreshed every --interval seconds: the nodes "
		       "(VM state, IP, vCPU use, memory and disk from libvirt's domain stats), Kubernetes (each "
		       "node's Ready condition and kubelet version, the pods not running and ready with their "
		       "reason, the last Warning events), the addons' state, and a start in progress with its "
		       "guest stage. An API that stops answering is shown as unreachable since when, and the view "
		       "goes on. " WATCH_KEYS_HELP " Colour is used when the terminal has it, never with NO_COLOR set; "
		       "with TERM=dumb or without a terminal, --watch prints the plain status block each refresh, "
		       "and with -o json one JSON object per refresh, one a line (NDJSON).",
	.options = status_options,
	.max_args = 0,
	.exec = status_exec,
};
