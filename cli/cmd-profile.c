/* `virtkube profile list`: every profile with its saved state and libvirt URI. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option profile_list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int profile_list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	const char *headers[] = { "PROFILE", "STATE", "DRIVER URI", "CURRENT" };
	_cleanup_free_ char *home = NULL;
	_cleanup_strv_ char **names = NULL;
	struct vk_error err = { 0 };
	json_t *list = json_array();
	struct ui_table *table = ui_table_new(4, headers);
	int failures = 0;

	home = vk_home_dir(&err);
	if (home)
		names = vk_profile_list(home, &err);
	if (!names) {
		json_decref(list);
		ui_table_free(table);
		return cli_fail(&err);
	}
	for (char **n = names; *n; n++) {
		_cleanup_profile_ struct vk_profile *p = vk_profile_open(*n, false, &err);
		const char *state, *uri;
		bool current = strcmp(*n, ctx->profile) == 0;

		if (!p) {
			/* A broken profile is reported, and the rest are still listed. */
			ui_error(&err);
			failures++;
			ui_table_add(table, (const char *[]){ *n, "Broken", "", current ? "*" : "" });
			json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "name", *n, "state", "Broken",
							      "error", err.message));
			continue;
		}
		state = vk_profile_state_name(p->cfg.state);
		uri = p->cfg.libvirt_uri;
		ui_table_add(table, (const char *[]){ *n, state, uri ? uri : "", current ? "*" : "" });
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}", "name", *n, "state", state,
						      "libvirt_uri", uri ? uri : "", "current", current));
	}
	if (json) {
		char *text = json_dumps(list, JSON_INDENT(2));

		puts(text);
		free(text);
	} else if (names[0]) {
		ui_table_print(table);
	} else {
		ui_info("no profiles yet; create one with 'virtkube start'");
	}
	json_decref(list);
	ui_table_free(table);
	return failures ? VK_EXIT_FAILED : VK_EXIT_OK;
}

const struct cli_command cli_cmd_profile_list = {
	.name = "profile list",
	.summary = "list the profiles, their saved state and libvirt URI",
	.options = profile_list_options,
	.max_args = 0,
	.exec = profile_list_exec,
};
