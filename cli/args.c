/* Table-driven argument parsing, help text and "did you mean" for the CLI. */
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int option_index(const struct cli_command *cmd, const char *name)
{
	for (int i = 0; cmd->options && cmd->options[i].name; i++)
		if (strcmp(cmd->options[i].name, name) == 0)
			return i;
	return -1;
}

const char *cli_opt(const struct cli_args *args, const char *name)
{
	int i = option_index(args->cmd, name);

	return i < 0 ? NULL : args->values[i];
}

int cli_opt_count(const struct cli_args *args, const char *name)
{
	int i = option_index(args->cmd, name);

	return i < 0 ? 0 : args->counts[i];
}

bool cli_flag(const struct cli_args *args, const char *name)
{
	return cli_opt_count(args, name) > 0;
}

int cli_opt_all(const struct cli_args *args, const char *name, const char **out, int max)
{
	int i = option_index(args->cmd, name), n = 0;

	for (int k = 0; i >= 0 && k < args->ngiven && n < max - 1; k++)
		if (args->given_option[k] == i)
			out[n++] = args->given[k];
	out[n] = NULL;
	return n;
}

int cli_opt_long(const struct cli_context *ctx, const struct cli_args *args, const char *name,
		 long min, long max, long *out)
{
	const char *value = cli_opt(args, name);
	char *end;
	long n;

	(void)ctx;
	if (!value)
		return 0;
	n = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0')
		return cli_usage_error(args->cmd, "invalid value '%s' for --%s: not a whole number", value, name);
	if (n < min || n > max)
		return cli_usage_error(args->cmd, "invalid value '%s' for --%s: must be between %ld and %ld",
				       value, name, min, max);
	*out = n;
	return 0;
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("virtkube: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "hint: run 'virtkube %s --help' for its usage\n", cmd->name);
	else
		fputs("hint: run 'virtkube help' for the list of commands\n", stderr);
	return VK_EXIT_USAGE;
}

int cli_fail(const struct vk_error *err)
{
	ui_error(err);
	if (err->code == VK_ERR_ADDON_NOT_READY)
		return VK_EXIT_ADDON_NOT_READY;
	return err->code == VK_ERR_INVALID ? VK_EXIT_USAGE : VK_EXIT_FAILED;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *prev = xcalloc(lb + 1, sizeof(size_t));
	size_t *cur = xcalloc(lb + 1, sizeof(size_t));
	size_t result;

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	result = prev[lb];
	free(prev);
	free(cur);
	return result;
}

const char *cli_did_you_mean(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_distance = SIZE_MAX;
	size_t len = strlen(word);

	for (const char *const *c = candidates; *c; c++) {
		size_t d = edit_distance(word, *c);

		/* A typed prefix of a name counts as close ("stat" -> "status"). */
		if (len >= 2 && strncmp(*c, word, len) == 0)
			d = 1;
		if (d < best_distance) {
			best_distance = d;
			best = *c;
		}
	}
	return best_distance <= (len > 4 ? 2 : 1) ? best : NULL;
}

/* Number of words in a command's name ("profile list" = 2). */
static int name_words(const char *name)
{
	int n = 1;

	for (; *name; name++)
		n += *name == ' ';
	return n;
}

static bool name_matches(const char *name, int argc, char **argv)
{
	int words = name_words(name);

	if (argc < words)
		return false;
	for (int i = 0; i < words; i++) {
		size_t len = strcspn(name, " ");

		if (strlen(argv[i]) != len || strncmp(name, argv[i], len) != 0)
			return false;
		name += len + (name[len] == ' ');
	}
	return true;
}

const struct cli_command *cli_find_command(int argc, char **argv, int *words)
{
	const struct cli_command *best = NULL;

	for (int i = 0; cli_commands[i]; i++) {
		const struct cli_command *c = cli_commands[i];

		if (name_matches(c->name, argc, argv) && (!best || name_words(c->name) > name_words(best->name)))
			best = c;
	}
	if (best && words)
		*words = name_words(best->name);
	return best;
}

static void print_options(const struct cli_option *opts)
{
	for (int i = 0; opts && opts[i].name; i++) {
		char left[64];
		int n;

		if (opts[i].short_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", opts[i].short_name, opts[i].name);
		else
			n = snprintf(left, sizeof(left), "    --%s", opts[i].name);
		if (opts[i].arg && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", opts[i].arg);
		printf("  %-28s %s", left, opts[i].help);
		if (opts[i].choices) {
			printf(" (");
			for (int c = 0; opts[i].choices[c]; c++)
				printf("%s%s", c ? ", " : "", opts[i].choices[c]);
			printf(")");
		}
		printf("\n");
	}
}

void cli_print_main_help(void)
{
	printf("virtkube: a local Kubernetes cluster in a libvirt VM\n\n");
	printf("Usage: virtkube [GLOBAL OPTIONS] COMMAND [ARGS...]\n\nCommands:\n");
	for (int i = 0; cli_commands[i]; i++)
		printf("  %-18s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
	printf("\nGlobal options:\n");
	print_options(cli_global_options);
	printf("\nRun 'virtkube COMMAND --help' for a command's own options.\n");
	printf("\nExit status: %d ok, %d failed, %d usage error, %d the cluster is up but an addon is not ready\n"
	       "(start, addons enable); status has its own bits: 1 host, 2 cluster, 4 Kubernetes down.\n",
	       VK_EXIT_OK, VK_EXIT_FAILED, VK_EXIT_USAGE, VK_EXIT_ADDON_NOT_READY);
}

void cli_print_command_help(const struct cli_command *cmd)
{
	printf("Usage: virtkube %s%s%s%s\n\n%s\n", cmd->name, cmd->options && cmd->options[0].name ? " [OPTIONS]" : "",
	       cmd->args_usage ? " " : "", cmd->args_usage ? cmd->args_usage : "", cmd->summary);
	if (cmd->description)
		printf("\n%s\n", cmd->description);
	if (cmd->options && cmd->options[0].name) {
		printf("\nOptions:\n");
		print_options(cmd->options);
	}
	printf("\nGlobal options:\n");
	print_options(cli_global_options);
}
