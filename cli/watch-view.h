/* `status --watch`'s front end: the screen laid out as text from a refresh's data (pure, testable), and the loops that draw it with ncurses or print it per refresh. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "cluster/watch.h"

/* What the lower part of the screen shows. */
enum watch_pane {
	WATCH_PANE_MAIN,   /* pods not ready, addons, the last warnings */
	WATCH_PANE_EVENTS, /* every event, newest last (e) */
	WATCH_PANE_LOG,    /* the selected node's console log tail (l) */
};

/* The view's own state, changed by the keys. */
struct watch_ui {
	size_t selected;        /* the node row the arrows are on */
	enum watch_pane pane;
	bool help;              /* ? */
	bool refreshing;        /* a refresh is under way (said in the footer) */
	long interval_s;
	char **log;             /* PANE_LOG: the lines (borrowed), NULL-terminated */
	const char *log_error;  /* PANE_LOG: why there are none */
};

/* How a line is drawn (colour when the terminal has it, else bold or reverse). */
enum watch_style {
	WATCH_STYLE_NORMAL,
	WATCH_STYLE_TITLE,
	WATCH_STYLE_HEADER,
	WATCH_STYLE_SELECTED,
	WATCH_STYLE_OK,
	WATCH_STYLE_WARN,
	WATCH_STYLE_BAD,
	WATCH_STYLE_DIM,
};

/* The screen as text: ROWS lines of exactly COLS printable ASCII bytes
 * (space-padded; longer names end in '~'), a style per line. */
struct watch_grid {
	int rows, cols;
	char **line;
	enum watch_style *style;
};

/* Lays out D as UI says on a ROWS x COLS screen into G (freed with
 * watch_grid_free). Pure: no terminal, no clock (times come from D). */
void watch_layout(const struct vk_watch_data *d, const struct watch_ui *ui, int rows, int cols, struct watch_grid *g);
void watch_grid_free(struct watch_grid *g);

/* The keys, for --help and the manual page. */
#define WATCH_KEYS_HELP                                                                              \
	"Keys in the full-screen view: q quits; ? shows the keys; the up and down arrows (or k, j) "  \
	"select a node; l shows the tail of its console log; e switches the lower pane to all "      \
	"events; Esc goes back to the main pane; r refreshes now (the addons too); the terminal may " \
	"be resized at any time."

/* Whether stdout and stdin are a terminal the full-screen view can use
 * (TERM set and not "dumb"). */
bool watch_can_draw(void);

/* The full-screen view of PROFILE, refreshed every INTERVAL_S seconds,
 * until q or a signal (SIGINT, SIGTERM, SIGHUP); the terminal is restored
 * in every case. Returns the exit code. */
int watch_screen(const char *profile, long interval_s);

/* -o json --watch: one JSON object per refresh on one line (NDJSON), until
 * a signal or stdout closes. */
int watch_ndjson(const char *profile, long interval_s);

/* Sleeps INTERVAL_S seconds; false when a signal asked to stop (the plain
 * mode's loop, in cmd-status.c). Installs the handlers on first use. */
bool watch_sleep(long interval_s);
