/* `virtkube image load FILE|REF` and `virtkube image ls`: the container images in the node's containerd, so a pod runs an image you built without a registry. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kube/imageload.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "vm.h"

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option image_load_options[] = {
	{ "registry-mirror", 0, "URL", "pull a reference from this registry mirror (https://HOST[:PORT])", NULL },
	{ "insecure-registry", 0, "HOST", "speak plain http to this registry (HOST[:PORT])", NULL },
	{ "offline", 0, NULL, "never use the network: a reference must be in the image cache already", NULL },
	{ "no-progress", 0, NULL, "no progress bars for a pull", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static const struct cli_option image_ls_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int image_load_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *home = NULL;
	struct vk_node_image_load_request req = { 0 };
	struct vk_node_image_load_result res = { 0 };
	struct vk_error err = { 0 };
	const char *insecure[2] = { cli_opt(args, "insecure-registry"), NULL };
	struct ui_progress *bars;
	char size[32];
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	req.profile = p;
	req.home = home;
	req.source = args->positional[0];
	vk_registry_options_init(&req.registry);
	req.registry.mirror = cli_opt(args, "registry-mirror");
	req.registry.offline = cli_flag(args, "offline");
	if (insecure[0])
		req.registry.insecure = insecure;
	bars = ui_progress_new(cli_flag(args, "no-progress") || !isatty(STDERR_FILENO));
	req.registry.fetch.progress = ui_progress_report;
	req.registry.fetch.progress_data = bars;
	rc = vk_node_image_load(&req, &res, &err);
	ui_progress_free(bars);
	if (rc < 0)
		return cli_fail(&err);
	ui_format_bytes(size, sizeof(size), (double)res.bytes);
	for (char **name = res.names; *name; name++)
		printf("%s\n", *name);
	ui_info("loaded into profile '%s' (%s%s in %.1f s); run it with imagePullPolicy IfNotPresent", p->name,
		res.pulled ? "pulled by the host, " : "", size, res.seconds);
	vk_node_image_load_result_release(&res);
	return VK_EXIT_OK;
}

static int image_ls_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *output = cli_opt(args, "output");
	struct vk_error err = { 0 };
	struct vk_node_image *v;
	size_t n = 0;
	int rc;

	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	v = vk_node_images_list(p, &n, &err);
	if (!v)
		return cli_fail(&err);
	if (output && strcmp(output, "json") == 0) {
		json_t *list = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "name", v[i].name, "digest", v[i].digest,
							      "size", (json_int_t)v[i].size));
		ui_print_json(list);
		json_decref(list);
	} else {
		const char *headers[] = { "IMAGE", "DIGEST", "SIZE" };
		struct ui_table *t = ui_table_new(3, headers);

		for (size_t i = 0; i < n; i++) {
			char size[32], digest[7 + 12 + 1];

			if (v[i].size >= 0)
				ui_format_bytes(size, sizeof(size), (double)v[i].size);
			else
				snprintf(size, sizeof(size), "-");
			snprintf(digest, sizeof(digest), "%s", v[i].digest);
			ui_table_add(t, (const char *[]){ v[i].name, digest, size });
		}
		ui_table_print(t);
		ui_table_free(t);
	}
	vk_node_images_free(v, n);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_image_load = {
	.name = "image load",
	.args_usage = "FILE|REF",
	.summary = "put an image into the node's containerd (an archive, or a reference the host pulls)",
	.description = "FILE is an archive written by 'docker save', 'podman save' or 'skopeo copy ... oci-archive:FILE'; "
		       "anything else is an image reference, pulled by the host into its image cache. The image "
		       "lands in the node's containerd (namespace k8s.io), so 'kubectl run x --image=NAME "
		       "--image-pull-policy=IfNotPresent' runs it at once, with no registry.",
	.options = image_load_options,
	.min_args = 1,
	.max_args = 1,
	.exec = image_load_exec,
};

const struct cli_command cli_cmd_image_ls = {
	.name = "image ls",
	.summary = "list the images in the node's containerd",
	.options = image_ls_options,
	.max_args = 0,
	.exec = image_ls_exec,
};
