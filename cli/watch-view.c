/* `status --watch`: the full-screen ncurses loop (keys, resize, colour, the terminal restored on every exit) and the NDJSON loop. */
#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "watch-view.h"

#define KEY_ESCAPE 27

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT, SIGTERM and SIGHUP end the loops where they are (no SA_RESTART:
 * a wait returns at once), so the terminal is restored on the way out. */
static void catch_signals(void)
{
	static bool done;
	struct sigaction sa = { .sa_handler = on_signal };

	if (done)
		return;
	done = true;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int signal_exit_code(void)
{
	return stop_signal ? 128 + stop_signal : VK_EXIT_OK;
}

bool watch_sleep(long interval_s)
{
	long long until = vk_now_ms() + interval_s * 1000LL, now;

	catch_signals();
	while (!stop_signal && (now = vk_now_ms()) < until) {
		long long ms = until - now;
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return !stop_signal;
}

bool watch_can_draw(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

int watch_ndjson(const char *profile, long interval_s)
{
	_cleanup_watch_ struct vk_watch *w = NULL;
	struct vk_error err = { 0 };

	w = vk_watch_new(profile, interval_s, &err);
	if (!w)
		return cli_fail(&err);
	catch_signals();
	do {
		json_t *doc;
		char *text;

		vk_watch_refresh(w, false);
		doc = vk_watch_data_json(vk_watch_last(w));
		text = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		if (text) {
			puts(text);
			free(text);
		}
		if (fflush(stdout) != 0 || ferror(stdout))
			return VK_EXIT_FAILED;
	} while (watch_sleep(interval_s));
	return signal_exit_code();
}

/* --------------------------------------------------------------- screen -- */

static bool screen_on;

/* For exit() from anywhere while the screen is up. */
static void screen_restore(void)
{
	if (screen_on) {
		endwin();
		screen_on = false;
	}
}

/* Attributes per style: colour pairs when the terminal has colour and the
 * user did not ask for none (NO_COLOR), else bold and reverse. */
static attr_t style_attr[WATCH_STYLE_DIM + 1];

static void styles_init(void)
{
	const char *no_color = getenv("NO_COLOR");
	bool color = has_colors() && !(no_color && *no_color);

	style_attr[WATCH_STYLE_TITLE] = A_REVERSE;
	style_attr[WATCH_STYLE_HEADER] = A_BOLD;
	style_attr[WATCH_STYLE_SELECTED] = A_REVERSE;
	style_attr[WATCH_STYLE_BAD] = A_BOLD;
	style_attr[WATCH_STYLE_DIM] = A_DIM;
	if (!color || start_color() == ERR)
		return;
	use_default_colors();
	init_pair(1, COLOR_WHITE, COLOR_BLUE);
	init_pair(2, COLOR_GREEN, -1);
	init_pair(3, COLOR_YELLOW, -1);
	init_pair(4, COLOR_RED, -1);
	init_pair(5, COLOR_CYAN, -1);
	style_attr[WATCH_STYLE_TITLE] = COLOR_PAIR(1) | A_BOLD;
	style_attr[WATCH_STYLE_HEADER] = COLOR_PAIR(5) | A_BOLD;
	style_attr[WATCH_STYLE_OK] = COLOR_PAIR(2);
	style_attr[WATCH_STYLE_WARN] = COLOR_PAIR(3);
	style_attr[WATCH_STYLE_BAD] = COLOR_PAIR(4) | A_BOLD;
}

static void draw(const struct vk_watch_data *d, const struct watch_ui *ui)
{
	struct watch_grid g = { 0 };

	watch_layout(d, ui, LINES, COLS, &g);
	erase();
	for (int r = 0; r < g.rows; r++) {
		attrset(style_attr[g.style[r]]);
		/* the bottom-right cell would scroll the screen: one short there */
		mvaddnstr(r, 0, g.line[r], r == g.rows - 1 ? g.cols - 1 : g.cols);
	}
	attrset(A_NORMAL);
	refresh();
	watch_grid_free(&g);
}

static void log_reload(struct vk_watch *w, struct watch_ui *ui, struct vk_error *err)
{
	vk_strv_free(ui->log);
	ui->log = NULL;
	ui->log_error = NULL;
	vk_error_clear(err);
	ui->log = vk_watch_log_tail(w, ui->selected, LINES > 4 ? (size_t)LINES : 4, err);
	if (!ui->log)
		ui->log_error = err->message;
}

int watch_screen(const char *profile, long interval_s)
{
	_cleanup_watch_ struct vk_watch *w = NULL;
	struct watch_ui ui = { .interval_s = interval_s };
	struct vk_error err = { 0 }, log_err = { 0 };
	SCREEN *screen;
	long long next = 0;
	bool force = false;
	int rc = VK_EXIT_OK;

	w = vk_watch_new(profile, interval_s, &err);
	if (!w)
		return cli_fail(&err);
	catch_signals();
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		ui_error_msg("cannot use the terminal '%s' for the full-screen view", getenv("TERM") ?: "");
		return VK_EXIT_FAILED;
	}
	screen_on = true;
	atexit(screen_restore);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	styles_init();
	while (!stop_signal) {
		const struct vk_watch_data *d = vk_watch_last(w);
		long long now = vk_now_ms();
		int ch;

		if (now >= next || force) {
			if (next) { /* the first screen has no data to show yet */
				ui.refreshing = true;
				draw(d, &ui);
			}
			vk_watch_refresh(w, force);
			ui.refreshing = false;
			force = false;
			d = vk_watch_last(w);
			if (d->nnodes && ui.selected >= d->nnodes)
				ui.selected = d->nnodes - 1;
			if (ui.pane == WATCH_PANE_LOG)
				log_reload(w, &ui, &log_err);
			next = vk_now_ms() + interval_s * 1000LL;
			now = vk_now_ms();
		}
		draw(d, &ui);
		timeout((int)(next - now > 0 ? next - now : 0));
		ch = getch();
		if (ch == ERR)
			continue;
		if (ui.help) { /* any key leaves the help */
			ui.help = false;
			if (ch != 'q' && ch != 'Q')
				continue;
		}
		switch (ch) {
		case 'q':
		case 'Q':
			goto out;
		case '?':
		case 'h':
			ui.help = true;
			break;
		case KEY_UP:
		case 'k':
			if (ui.selected > 0)
				ui.selected--;
			if (ui.pane == WATCH_PANE_LOG)
				log_reload(w, &ui, &log_err);
			break;
		case KEY_DOWN:
		case 'j':
			if (ui.selected + 1 < vk_watch_last(w)->nnodes)
				ui.selected++;
			if (ui.pane == WATCH_PANE_LOG)
				log_reload(w, &ui, &log_err);
			break;
		case 'l':
		case 'L':
			ui.pane = ui.pane == WATCH_PANE_LOG ? WATCH_PANE_MAIN : WATCH_PANE_LOG;
			if (ui.pane == WATCH_PANE_LOG)
				log_reload(w, &ui, &log_err);
			break;
		case 'e':
		case 'E':
			ui.pane = ui.pane == WATCH_PANE_EVENTS ? WATCH_PANE_MAIN : WATCH_PANE_EVENTS;
			break;
		case KEY_ESCAPE:
		case KEY_BACKSPACE:
			ui.pane = WATCH_PANE_MAIN;
			break;
		case 'r':
		case 'R':
		case KEY_F(5):
			force = true;
			break;
		case KEY_RESIZE:
			/* ncurses has LINES and COLS anew: the loop lays the screen out again */
			break;
		default:
			break;
		}
	}
out:
	rc = signal_exit_code();
	screen_restore();
	delscreen(screen);
	vk_strv_free(ui.log);
	return rc;
}
