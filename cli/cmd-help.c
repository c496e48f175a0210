/* `virtkube help [COMMAND...]`: the command list, or one command's usage. */
#include <stdio.h>

#include "cli.h"

static const struct cli_option help_options[] = {
	{ "man", 0, NULL, "print the virtkube(1) manual page (roff) instead", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static int help_exec(struct cli_context *ctx, struct cli_args *args)
{
	const struct cli_command *cmd;

	(void)ctx;
	if (cli_flag(args, "man")) {
		if (args->npositional)
			return cli_usage_error(args->cmd, "--man prints the whole manual: it takes no COMMAND");
		cli_print_man_page();
		return VK_EXIT_OK;
	}
	if (args->npositional == 0) {
		cli_print_main_help();
		return VK_EXIT_OK;
	}
	cmd = cli_find_command(args->npositional, args->positional, NULL);
	if (!cmd)
		return cli_usage_error(NULL, "unknown command '%s'", args->positional[0]);
	cli_print_command_help(cmd);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_help = {
	.name = "help",
	.args_usage = "[COMMAND]",
	.summary = "show the commands, or one command's usage",
	.options = help_options,
	.min_args = 0,
	.max_args = 2,
	.exec = help_exec,
};
