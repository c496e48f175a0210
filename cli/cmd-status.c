/* `virtkube status`: the profile's host state (and, from other modules, Kubernetes fields) with minikube's exit bits. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "provision.h"
#include "util/cleanup.h"
#include "vm.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option status_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
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

static int status_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *output = cli_opt(args, "output");
	struct vk_status st;
	struct vk_error err = { 0 };
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (vk_cluster_status(p, &st, &err) < 0)
		return cli_fail(&err);
	/* --no-kubernetes profiles have a host only. */
	if (st.kubernetes && vk_provision_status(p, st.host == VK_HOST_RUNNING, st.fields, &st.exit_bits, &err) < 0) {
		vk_status_release(&st);
		return cli_fail(&err);
	}
	if (output && strcmp(output, "json") == 0) {
		char *text = json_dumps(st.fields, JSON_INDENT(2));

		puts(text);
		free(text);
	} else {
		print_text(st.fields);
	}
	rc = st.exit_bits;
	vk_status_release(&st);
	return rc;
}

const struct cli_command cli_cmd_status = {
	.name = "status",
	.summary = "show the profile's state (exit bits: 1 host down, 2 cluster down, 4 Kubernetes down)",
	.options = status_options,
	.max_args = 0,
	.exec = status_exec,
};
