/* `virtkube addons list|enable|disable`: the addon registry against the profile and its cluster. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "kube/addons.h"
#include "cli.h"
#include "kube-cli.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define DEFAULT_TIMEOUT_S 600L
#define LOCK_TIMEOUT_MS 10000L

static const char *const output_choices[] = { "table", "json", NULL };

static void show_progress(void *data, const char *addon, const char *what)
{
	ui_info("%s: %s", addon, what);
}

/* ------------------------------------------------------------- list -- */

static const struct cli_option list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	const char *headers[] = { "NAME", "ENABLED", "STATUS", "DESCRIPTION" };
	struct ui_table *table;
	struct vk_error err = { 0 }, kerr = { 0 };
	bool warned = false;
	json_t *list;

	if (vk_addons_load(&reg, NULL, &err) < 0)
		return cli_fail(&err);
	p = vk_profile_open(ctx->profile, true, &err);
	if (!p)
		return cli_fail(&err);
	/* Status needs the cluster; without it the list still shows what is enabled. */
	if (vk_kube_require_running(p, &kerr) == 0)
		k = vk_kube_from_profile(p, &kerr);
	list = json_array();
	table = ui_table_new(4, headers);
	for (size_t i = 0; i < reg.n; i++) {
		const struct vk_addon *a = &reg.items[i];
		bool on = vk_addons_is_enabled(p, &reg, a->name);
		_cleanup_free_ char *detail = NULL;
		const char *status = "-";
		enum vk_addon_state st;

		if (k) {
			if (vk_addon_state(k, p, a, &st, &detail, &kerr) == 0) {
				status = vk_addon_state_name(st);
			} else {
				/* the cluster stopped answering: say so once, list the rest without status */
				ui_error(&kerr);
				warned = true;
				vk_kube_free(TAKE_PTR(k));
				status = "Unknown";
			}
		}
		ui_table_add(table, (const char *[]){ a->name, on ? "yes" : "no", status, a->description });
		json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:b, s:s, s:s?}", "name", a->name, "description",
						      a->description, "enabled", on, "default", a->default_on,
						      "status", status, "detail", detail));
	}
	if (json) {
		char *text = json_dumps(list, JSON_INDENT(2));

		puts(text);
		free(text);
	} else {
		ui_table_print(table);
	}
	json_decref(list);
	ui_table_free(table);
	/* As `status` does: a cluster that is down or refuses the credentials is
	 * a failure, after the list of what is enabled. */
	if (!k && !warned && kerr.message[0])
		return cli_fail(&kerr);
	return k ? VK_EXIT_OK : VK_EXIT_FAILED;
}

const struct cli_command cli_cmd_addons_list = {
	.name = "addons list",
	.summary = "list the addons, whether the profile enables them, and their state in the cluster",
	.options = list_options,
	.max_args = 0,
	.exec = list_exec,
};

/* ---------------------------------------------------- enable/disable -- */

static const struct cli_option enable_options[] = {
	{ "no-wait", 0, NULL, "apply and return without waiting for the addon to be ready", NULL },
	{ "timeout", 0, "SECONDS", "how long to wait for a terminating namespace and for the addon to be ready "
	  "(default 600)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* Common start of enable/disable: the addon, the profile (locked), the client. */
static int open_for_change(struct cli_context *ctx, struct cli_args *args, struct vk_addon_registry *reg,
			   const struct vk_addon **a, struct vk_profile **p, struct vk_kube **k, long *timeout_s)
{
	struct vk_error err = { 0 };
	int rc;

	*timeout_s = DEFAULT_TIMEOUT_S;
	if ((rc = cli_opt_long(ctx, args, "timeout", 1, 86400, timeout_s)) != 0)
		return rc;
	if (vk_addons_load(reg, NULL, &err) < 0)
		return cli_fail(&err);
	*a = vk_addons_find(reg, args->positional[0], &err);
	if (!*a)
		return cli_fail(&err);
	if (cli_kube_open(ctx, p, k, &err) < 0)
		return cli_fail(&err);
	if (vk_profile_lock(*p, LOCK_TIMEOUT_MS, &err) < 0)
		return cli_fail(&err);
	return 0;
}

static int enable_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	const struct vk_addon *a = NULL;
	struct vk_error err = { 0 };
	long timeout_s;
	int rc;

	if ((rc = open_for_change(ctx, args, &reg, &a, &p, &k, &timeout_s)) != 0)
		return rc;
	if (vk_addon_network_check(a->name, p->name, vk_profile_bridged(p), &err) < 0 ||
	    vk_addon_apply(k, p, a, timeout_s * 1000, show_progress, NULL, &err) < 0)
		return cli_fail(&err);
	/* Applied: remembered even if the wait below times out, so start re-applies it. */
	vk_addons_set_enabled(p, &reg, a->name, true);
	if (vk_profile_save(p, &err) < 0)
		return cli_fail(&err);
	if (!cli_flag(args, "no-wait") && vk_addon_wait(k, a, timeout_s * 1000, show_progress, NULL, &err) < 0)
		return cli_fail(&err);
	ui_info("addon '%s' is enabled in profile '%s'", a->name, p->name);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_addons_enable = {
	.name = "addons enable",
	.args_usage = "NAME",
	.summary = "apply an addon to the cluster, wait for it, and re-apply it on every start",
	.description = "Waits for the addon's objects to be ready, saying what their pods wait for (an image being "
		       "pulled, a crash loop, no room on the node). An image the node cannot pull ends the wait at once. "
		       "An addon that is applied but not ready exits with status 8.",
	.options = enable_options,
	.min_args = 1,
	.max_args = 1,
	.exec = enable_exec,
};

static const struct cli_option disable_options[] = {
	{ "no-wait", 0, NULL, "do not wait for the addon's namespaces to be gone", NULL },
	{ "timeout", 0, "SECONDS", "how long to wait for its namespaces to be deleted (default 600)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int disable_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	const struct vk_addon *a = NULL;
	struct vk_error err = { 0 };
	size_t deleted = 0;
	long timeout_s;
	int rc;

	if ((rc = open_for_change(ctx, args, &reg, &a, &p, &k, &timeout_s)) != 0)
		return rc;
	ui_info("%s: deleting its objects", a->name);
	if (vk_addon_delete(k, p, a, !cli_flag(args, "no-wait"), timeout_s * 1000, &deleted, &err) < 0)
		return cli_fail(&err);
	vk_addons_set_enabled(p, &reg, a->name, false);
	if (vk_profile_save(p, &err) < 0)
		return cli_fail(&err);
	ui_info("addon '%s' is disabled in profile '%s' (%zu objects deleted)", a->name, p->name, deleted);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_addons_disable = {
	.name = "addons disable",
	.args_usage = "NAME",
	.summary = "delete an addon's objects from the cluster and stop re-applying it",
	.options = disable_options,
	.min_args = 1,
	.max_args = 1,
	.exec = disable_exec,
};
