/* `virtkube cache list` and `virtkube cache clean`: what the download cache holds, and emptying it. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "cli.h"
#include "profile.h"
#include "ui.h"
#include "util/cleanup.h"

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option cache_list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static const char *state_name(int state)
{
	switch (state) {
	case VK_CACHE_VERIFIED:
		return "yes";
	case VK_CACHE_PARTIAL:
		return "partial";
	case VK_CACHE_BUILT:
		return "built";
	default:
		return "no";
	}
}

static int cache_list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	_cleanup_free_ char *home = NULL;
	struct vk_error err = { 0 };
	struct vk_cache_entry *e;
	size_t n = 0;

	(void)ctx;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	e = vk_cache_list(home, &n, &err);
	if (!e)
		return cli_fail(&err);
	if (json) {
		json_t *list = json_array();
		char *text;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "name", e[i].key, "size",
							      (json_int_t)e[i].size, "verified", state_name(e[i].state)));
		text = json_dumps(list, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(list);
	} else if (n == 0) {
		ui_info("the download cache is empty");
	} else {
		const char *headers[] = { "NAME", "SIZE", "VERIFIED" };
		struct ui_table *t = ui_table_new(3, headers);

		for (size_t i = 0; i < n; i++) {
			char size[32];

			ui_format_bytes(size, sizeof(size), (double)e[i].size);
			ui_table_add(t, (const char *[]){ e[i].key, size, state_name(e[i].state) });
		}
		ui_table_print(t);
		ui_table_free(t);
	}
	vk_cache_entries_free(e, n);
	return VK_EXIT_OK;
}

static int cache_clean_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_free_ char *home = NULL;
	struct vk_error err = { 0 };
	off_t freed = 0;
	size_t removed = 0, busy = 0;
	char size[32];

	(void)ctx;
	(void)args;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	if (vk_cache_clean(home, &freed, &removed, &busy, &err) < 0)
		return cli_fail(&err);
	ui_format_bytes(size, sizeof(size), (double)freed);
	printf("removed %zu file%s (%s) from the download cache\n", removed, removed == 1 ? "" : "s", size);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_cache_list = {
	.name = "cache list",
	.summary = "list the downloaded artifacts: name, size, and whether the checksum matched",
	.description = "The cache lives in $VIRTKUBE_HOME/cache, one file per upstream host and path. "
		       "VERIFIED is 'yes' once the file matched its published sha256, 'partial' for an "
		       "interrupted download the next start resumes, 'built' for a payload ISO "
		       "(payload/<version>-<hash>.iso: a Kubernetes version's binaries, made from the "
		       "downloads once and shared by that version's profiles).",
	.options = cache_list_options,
	.max_args = 0,
	.exec = cache_list_exec,
};

const struct cli_command cli_cmd_cache_clean = {
	.name = "cache clean",
	.summary = "delete every downloaded artifact and payload ISO (made again when needed)",
	.description = "Removes the downloads and the payload ISOs built from them. A profile whose VM uses a\n"
		       "payload ISO keeps working: its next start downloads what it needs and builds the ISO\n"
		       "again before the VM boots (a running VM keeps the file it has open).",
	.max_args = 0,
	.exec = cache_clean_exec,
};
