/* The command-line front end: the command table types, parsed arguments, exit codes. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

/* The one place exit codes are defined. `status` adds its own bitmask (1, 2,
 * 4), which VK_EXIT_ADDON_NOT_READY stays clear of. */
enum cli_exit {
	VK_EXIT_OK = 0,
	VK_EXIT_FAILED = 1,
	VK_EXIT_USAGE = 2,
	/* the cluster is up and usable; an addon it was asked for is not ready
	 * (VK_ERR_ADDON_NOT_READY: `start`, `addons enable`) */
	VK_EXIT_ADDON_NOT_READY = 8,
};

struct cli_option {
	const char *name;             /* long name, without "--" */
	char short_name;              /* 0 if none */
	const char *arg;              /* NULL: a flag; else the value's name in help */
	const char *help;
	const char *const *choices;   /* optional NULL-terminated list of valid values */
};

#define CLI_MAX_OPTIONS 32
#define CLI_MAX_GIVEN 64

struct cli_command;

struct cli_args {
	const struct cli_command *cmd;
	const char *values[CLI_MAX_OPTIONS]; /* parallel to cmd->options */
	int counts[CLI_MAX_OPTIONS];
	/* every value given, in order, with its option's index: for options that repeat */
	const char *given[CLI_MAX_GIVEN];
	int given_option[CLI_MAX_GIVEN];
	int ngiven;
	char **positional;                   /* NULL-terminated */
	int npositional;
	char **rest;                         /* what followed "--", NULL-terminated */
	int nrest;
	bool saw_dashdash;
};

struct cli_context {
	const char *argv0;
	const char *profile; /* -p value, or $VIRTKUBE_PROFILE, or the default */
	bool profile_given;
	int verbose;
	bool quiet;
};

struct cli_command {
	const char *name;       /* "version", "profile list": matched exactly, word by word */
	const char *args_usage; /* positional arguments in usage, e.g. "NAME" */
	const char *summary;    /* one line for `virtkube help` */
	const char *description;/* optional paragraph for `virtkube CMD --help` */
	const struct cli_option *options; /* terminated by an entry with name NULL */
	int min_args;
	int max_args;           /* -1: any number */
	int (*exec)(struct cli_context *ctx, struct cli_args *args);
};

/* The command table (main.c), NULL-terminated. */
extern const struct cli_command *const cli_commands[];
extern const struct cli_option cli_global_options[];

/* Accessors for a parsed option by long name (the name must be in the table). */
const char *cli_opt(const struct cli_args *args, const char *name);
int cli_opt_count(const struct cli_args *args, const char *name);
bool cli_flag(const struct cli_args *args, const char *name);
/* Every value of option NAME in the order given (one that repeats, like
 * --mount), into OUT[MAX] NULL-terminated; returns how many. */
int cli_opt_all(const struct cli_args *args, const char *name, const char **out, int max);
/* Parses option NAME as an integer in [MIN, MAX]; absent leaves *OUT alone.
 * Returns 0, or VK_EXIT_USAGE after printing the problem. */
int cli_opt_long(const struct cli_context *ctx, const struct cli_args *args, const char *name,
		 long min, long max, long *out);

/* Prints a usage error naming COMMAND's help, returns VK_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints an engine error (message and hint) once, returns VK_EXIT_FAILED,
 * VK_EXIT_USAGE for VK_ERR_INVALID errors that came from user input, or
 * VK_EXIT_ADDON_NOT_READY for VK_ERR_ADDON_NOT_READY. */
int cli_fail(const struct vk_error *err);

/* Help and completion, generated from the table. */
void cli_print_main_help(void);
void cli_print_command_help(const struct cli_command *cmd);
const struct cli_command *cli_find_command(int argc, char **argv, int *words);
/* The virtkube(1) manual page (roff) on stdout, from the command table (manpage.c). */
void cli_print_man_page(void);
/* The closest known name to WORD among CANDIDATES (NULL-terminated), or NULL. */
const char *cli_did_you_mean(const char *word, const char *const *candidates);
