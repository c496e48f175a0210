/* virtkube's entry point: global options, the command table, dispatch, exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

extern const struct cli_command cli_cmd_help;
extern const struct cli_command cli_cmd_version;
extern const struct cli_command cli_cmd_profile_list;
extern const struct cli_command cli_cmd_completion;
extern const struct cli_command cli_cmd_update_context;
extern const struct cli_command cli_cmd_cache_list;
extern const struct cli_command cli_cmd_cache_clean;
extern const struct cli_command cli_cmd_addons_list;
extern const struct cli_command cli_cmd_addons_enable;
extern const struct cli_command cli_cmd_addons_disable;
extern const struct cli_command cli_cmd_service;
extern const struct cli_command cli_cmd_service_list;
extern const struct cli_command cli_cmd_dashboard;
extern const struct cli_command cli_cmd_doctor;

/* vm: the VM lifecycle */
extern const struct cli_command cli_cmd_start;
extern const struct cli_command cli_cmd_stop;
extern const struct cli_command cli_cmd_delete;
extern const struct cli_command cli_cmd_status;
extern const struct cli_command cli_cmd_ip;
extern const struct cli_command cli_cmd_ssh;
extern const struct cli_command cli_cmd_logs;
extern const struct cli_command cli_cmd_tunnel;
extern const struct cli_command cli_cmd_node_list;
extern const struct cli_command cli_cmd_node_add;
extern const struct cli_command cli_cmd_node_delete;
extern const struct cli_command cli_cmd_image_load;
extern const struct cli_command cli_cmd_image_ls;
extern const struct cli_command cli_cmd_snapshot_save;
extern const struct cli_command cli_cmd_snapshot_restore;
extern const struct cli_command cli_cmd_snapshot_list;
extern const struct cli_command cli_cmd_snapshot_delete;
extern const struct cli_command cli_cmd_mount;
extern const struct cli_command cli_cmd_mount_list;
extern const struct cli_command cli_cmd_unmount;

/* The one command table: parsing, help and completion all come from it. */
const struct cli_command *const cli_commands[] = {
	&cli_cmd_start,
	&cli_cmd_stop,
	&cli_cmd_delete,
	&cli_cmd_status,
	&cli_cmd_ip,
	&cli_cmd_ssh,
	&cli_cmd_logs,
	&cli_cmd_tunnel,
	&cli_cmd_node_list,
	&cli_cmd_node_add,
	&cli_cmd_node_delete,
	&cli_cmd_image_load,
	&cli_cmd_image_ls,
	&cli_cmd_snapshot_save,
	&cli_cmd_snapshot_restore,
	&cli_cmd_snapshot_list,
	&cli_cmd_snapshot_delete,
	&cli_cmd_mount,
	&cli_cmd_mount_list,
	&cli_cmd_unmount,
	&cli_cmd_update_context,
	&cli_cmd_profile_list,
	&cli_cmd_cache_list,
	&cli_cmd_cache_clean,
	&cli_cmd_addons_list,
	&cli_cmd_addons_enable,
	&cli_cmd_addons_disable,
	&cli_cmd_service,
	&cli_cmd_service_list,
	&cli_cmd_dashboard,
	&cli_cmd_doctor,
	&cli_cmd_version,
	&cli_cmd_help,
	&cli_cmd_completion,
	NULL,
};

const struct cli_option cli_global_options[] = {
	{ "profile", 'p', "NAME", "the profile to act on (default: $VIRTKUBE_PROFILE or 'virtkube')", NULL },
	{ "verbose", 'v', NULL, "log what is done; repeat (-vv) for debug detail", NULL },
	{ "quiet", 'q', NULL, "print only results and errors", NULL },
	{ "help", 'h', NULL, "show help and exit", NULL },
	{ "version", 0, NULL, "show the version and exit", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static void log_to_stderr(enum vk_log_level level, const char *msg)
{
	fprintf(stderr, "virtkube: %s: %s\n", level == VK_LOG_DEBUG ? "debug" : "info", msg);
}

static const struct cli_option *find_long(const struct cli_option *opts, const char *name, size_t len)
{
	for (int i = 0; opts && opts[i].name; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const struct cli_option *find_short(const struct cli_option *opts, char c)
{
	for (int i = 0; opts && opts[i].name; i++)
		if (opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

struct parse_state {
	struct cli_context *ctx;
	struct cli_args *args;
	bool want_help;
	bool want_version;
};

/* Records OPT (from the command's table or the global one) with VALUE. */
static int record_option(struct parse_state *st, const struct cli_option *opt, const char *value)
{
	const struct cli_command *cmd = st->args->cmd;

	if (opt->choices && value) {
		bool ok = false;

		for (int i = 0; opt->choices[i]; i++)
			ok |= strcmp(opt->choices[i], value) == 0;
		if (!ok) {
			_cleanup_free_ char *list = NULL;
			size_t len = 0;

			for (int i = 0; opt->choices[i]; i++)
				len += strlen(opt->choices[i]) + 2;
			list = xcalloc(1, len + 1);
			for (int i = 0; opt->choices[i]; i++) {
				if (i)
					strcat(list, ", ");
				strcat(list, opt->choices[i]);
			}
			return cli_usage_error(cmd, "invalid value '%s' for --%s: expected one of %s", value, opt->name,
					       list);
		}
	}
	if (cmd && opt >= cmd->options && cmd->options && opt < cmd->options + CLI_MAX_OPTIONS) {
		int i = (int)(opt - cmd->options);

		st->args->values[i] = value;
		st->args->counts[i]++;
		if (value && st->args->ngiven < CLI_MAX_GIVEN) {
			st->args->given[st->args->ngiven] = value;
			st->args->given_option[st->args->ngiven++] = i;
		}
		return 0;
	}
	if (strcmp(opt->name, "profile") == 0) {
		st->ctx->profile = value;
		st->ctx->profile_given = true;
	} else if (strcmp(opt->name, "verbose") == 0) {
		st->ctx->verbose++;
	} else if (strcmp(opt->name, "quiet") == 0) {
		st->ctx->quiet = true;
	} else if (strcmp(opt->name, "help") == 0) {
		st->want_help = true;
	} else if (strcmp(opt->name, "version") == 0) {
		st->want_version = true;
	}
	return 0;
}

static int unknown_option(const struct cli_command *cmd, const char *arg)
{
	const char *names[2 * CLI_MAX_OPTIONS + 1];
	_cleanup_free_ char *word = xstrndup(arg, strcspn(arg, "="));
	const char *bare = word + strspn(word, "-");
	const char *guess;
	int n = 0;

	for (int i = 0; cmd && cmd->options && cmd->options[i].name && n < CLI_MAX_OPTIONS; i++)
		names[n++] = cmd->options[i].name;
	for (int i = 0; cli_global_options[i].name; i++)
		names[n++] = cli_global_options[i].name;
	names[n] = NULL;
	guess = cli_did_you_mean(bare, names);
	fprintf(stderr, "virtkube: error: unknown option '%s'%s%s\n", word, cmd ? " for " : "", cmd ? cmd->name : "");
	if (guess)
		fprintf(stderr, "hint: did you mean '--%s'?\n", guess);
	else if (cmd)
		fprintf(stderr, "hint: run 'virtkube %s --help' for its options\n", cmd->name);
	else
		fputs("hint: run 'virtkube help'\n", stderr);
	return VK_EXIT_USAGE;
}

/* Parses one option at argv[*i]; advances *i past its value. */
static int parse_option(struct parse_state *st, int argc, char **argv, int *i)
{
	const struct cli_command *cmd = st->args->cmd;
	const char *arg = argv[*i];

	if (arg[1] == '-') {
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct cli_option *opt = cmd ? find_long(cmd->options, name, len) : NULL;
		const char *value = NULL;

		if (!opt)
			opt = find_long(cli_global_options, name, len);
		if (!opt)
			return unknown_option(cmd, arg);
		if (opt->arg) {
			if (eq)
				value = eq + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return cli_usage_error(cmd, "option '--%s' needs a value (%s)", opt->name, opt->arg);
		} else if (eq) {
			return cli_usage_error(cmd, "option '--%s' takes no value", opt->name);
		}
		return record_option(st, opt, value);
	}
	for (const char *c = arg + 1; *c; c++) {
		const struct cli_option *opt = cmd ? find_short(cmd->options, *c) : NULL;
		char shown[3] = { '-', *c, '\0' };

		if (!opt)
			opt = find_short(cli_global_options, *c);
		if (!opt)
			return unknown_option(cmd, shown);
		if (opt->arg) {
			const char *value;

			if (c[1])
				value = c + 1;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return cli_usage_error(cmd, "option '-%c' needs a value (%s)", *c, opt->arg);
			return record_option(st, opt, value);
		}
		if (record_option(st, opt, NULL) != 0)
			return VK_EXIT_USAGE;
	}
	return 0;
}

static int unknown_command(const char *word)
{
	const char *names[64];
	const char *guess;
	int n = 0;

	for (int i = 0; cli_commands[i] && n < 63; i++) {
		static char first[64][32];

		snprintf(first[n], sizeof(first[n]), "%.*s", (int)strcspn(cli_commands[i]->name, " "),
			 cli_commands[i]->name);
		names[n] = first[n];
		n++;
	}
	names[n] = NULL;
	guess = cli_did_you_mean(word, names);
	fprintf(stderr, "virtkube: error: unknown command '%s'\n", word);
	if (guess)
		fprintf(stderr, "hint: did you mean 'virtkube %s'? Run 'virtkube help' for the list\n", guess);
	else
		fputs("hint: run 'virtkube help' for the list of commands\n", stderr);
	return VK_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_context ctx = { .argv0 = argv[0] };
	struct cli_args args = { 0 };
	struct parse_state st = { .ctx = &ctx, .args = &args };
	_cleanup_free_ char **positional = xcalloc((size_t)argc + 1, sizeof(char *));
	const struct cli_command *cmd = NULL;
	int i = 1, words = 0, rc;

	const char *env_profile = getenv("VIRTKUBE_PROFILE");
	ctx.profile = env_profile && *env_profile ? env_profile : VK_DEFAULT_PROFILE;

	/* Global options may come before the command. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0' && strcmp(argv[i], "--") != 0) {
		if ((rc = parse_option(&st, argc, argv, &i)) != 0)
			return rc;
		i++;
	}
	if (st.want_version && i >= argc) {
		cmd = &cli_cmd_version;
	} else if (i >= argc) {
		cli_print_main_help();
		return st.want_help ? VK_EXIT_OK : VK_EXIT_USAGE;
	} else {
		cmd = cli_find_command(argc - i, argv + i, &words);
		if (!cmd)
			return unknown_command(argv[i]);
		i += words;
	}

	args.cmd = cmd;
	args.positional = positional;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			args.saw_dashdash = true;
			args.rest = argv + i + 1;
			args.nrest = argc - i - 1;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if ((rc = parse_option(&st, argc, argv, &i)) != 0)
				return rc;
			continue;
		}
		positional[args.npositional++] = argv[i];
	}
	if (!args.rest)
		args.rest = argv + argc;

	if (st.want_help) {
		cli_print_command_help(cmd);
		return VK_EXIT_OK;
	}
	if (args.npositional < cmd->min_args)
		return cli_usage_error(cmd, "'%s' needs %s", cmd->name, cmd->args_usage ? cmd->args_usage : "arguments");
	if (cmd->max_args >= 0 && args.npositional > cmd->max_args)
		return cli_usage_error(cmd, "unexpected argument '%s' for '%s'", positional[cmd->max_args],
				       cmd->name);

	ui_set_quiet(ctx.quiet);
	vk_log_setup(log_to_stderr, ctx.verbose);
	return cmd->exec(&ctx, &args);
}
