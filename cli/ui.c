/* Terminal output for the CLI (see ui.h). Only cli/ prints. */
#include "ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
/* terminfo only (no curses screen): its macros are kept out of the code above by name choice */
#include <curses.h>
#include <jansson.h>
#include <term.h>

#include "artifacts/fetch.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define VK_UI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool ui_quiet;

void ui_set_quiet(bool quiet)
{
	ui_quiet = quiet;
}

/* Colour for the "error:"/"warning:" labels: only on a terminal, never with
 * NO_COLOR set (https://no-color.org) or TERM=dumb. */
static bool use_color(void)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDERR_FILENO) && !(no_color && *no_color) && term && *term && strcmp(term, "dumb") != 0;
}

/* "virtkube: LABEL: " with LABEL in COLOR (an SGR number) when colour is on. */
static void label(const char *name, int color)
{
	if (use_color())
		fprintf(stderr, "virtkube: \033[1;%dm%s:\033[0m ", color, name);
	else
		fprintf(stderr, "virtkube: %s: ", name);
}

void ui_error(const struct vk_error *err)
{
	label("error", 31);
	fprintf(stderr, "%s\n", err->message[0] ? err->message : "unknown error");
	if (err->hint[0])
		fprintf(stderr, "hint: %s\n", err->hint);
}

void ui_error_msg(const char *fmt, ...)
{
	va_list ap;

	label("error", 31);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ui_warn(const char *fmt, ...)
{
	va_list ap;

	label("warning", 33);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ui_print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));

	puts(text ? text : "null");
	free(text);
	json_decref(doc);
}

void ui_info(const char *fmt, ...)
{
	va_list ap;

	if (ui_quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct ui_table {
	size_t ncols;
	size_t nrows; /* including the header row */
	size_t alloc;
	char **cells;
};

struct ui_table *ui_table_new(size_t ncols, const char *const *headers)
{
	struct ui_table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	ui_table_add(t, headers);
	return t;
}

void ui_table_add(struct ui_table *t, const char *const *cells)
{
	if (t->nrows == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 8;
		t->cells = xrealloc(t->cells, t->alloc * t->ncols * sizeof(char *));
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "");
	t->nrows++;
}

void ui_table_print(const struct ui_table *t)
{
	size_t *width = xcalloc(t->ncols, sizeof(size_t));

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t len = strlen(t->cells[r * t->ncols + c]);

			if (len > width[c])
				width[c] = len;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				printf("%s\n", cell);
			else
				printf("%-*s   ", (int)width[c], cell);
		}
	}
	free(width);
}

void ui_table_free(struct ui_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void ui_format_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (bytes >= 1024.0 && u + 1 < VK_UI_ARRAY_SIZE(units)) {
		bytes /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", bytes);
	else
		snprintf(buf, len, "%.1f %s", bytes, units[u]);
}

/* ---------------------------------------------------------- progress -- */

#define PLAIN_INTERVAL_MS 5000L
#define TTY_INTERVAL_MS 100L

struct ui_bar {
	char *name;
	size_t index;
	long long now, total;
	double rate;
	int attempt;
	int state;
	long last_plain_ms;
	bool upload;
};

struct ui_progress {
	bool tty;
	bool quiet;
	const char *cuu1; /* cursor up one line */
	const char *el;   /* clear to end of line */
	int cols;
	size_t drawn;     /* lines of bars currently on the screen */
	struct ui_bar *bars;
	size_t nbars;
	long last_draw_ms;
};

static int put_stderr(int c)
{
	return fputc(c, stderr);
}

static int term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/* The terminal's cursor-up and clear-line sequences when in-place redrawing
 * makes sense (stderr a terminal that has them, not PLAIN, NO_COLOR unset):
 * true and both set; else false. */
static bool term_redraw_caps(bool plain, const char **cuu1, const char **el)
{
	const char *no_color = getenv("NO_COLOR");
	/* setupterm once per process: it keeps the terminal description for good. */
	static int setup = 0;
	int errret = 0;

	*cuu1 = *el = NULL;
	if (plain || (no_color && *no_color) || !isatty(STDERR_FILENO))
		return false;
	if (setup == 0)
		setup = setupterm(NULL, STDERR_FILENO, &errret) == OK ? 1 : -1;
	if (setup < 0)
		return false;
	*cuu1 = tigetstr("cuu1");
	*el = tigetstr("el");
	if (!*cuu1 || *cuu1 == (char *)-1 || !*el || *el == (char *)-1) {
		*cuu1 = *el = NULL;
		return false;
	}
	return true;
}

struct ui_progress *ui_progress_new(bool plain)
{
	struct ui_progress *ui = xcalloc(1, sizeof(*ui));

	ui->quiet = ui_quiet;
	if (!term_redraw_caps(plain, &ui->cuu1, &ui->el))
		return ui;
	ui->tty = true;
	ui->cols = term_cols();
	return ui;
}

static struct ui_bar *bar_for(struct ui_progress *ui, const struct vk_fetch_progress *p)
{
	for (size_t i = 0; i < ui->nbars; i++)
		if (ui->bars[i].index == p->index)
			return &ui->bars[i];
	ui->bars = xrealloc(ui->bars, (ui->nbars + 1) * sizeof(*ui->bars));
	memset(&ui->bars[ui->nbars], 0, sizeof(*ui->bars));
	ui->bars[ui->nbars].index = p->index;
	ui->bars[ui->nbars].name = xstrdup(p->name);
	ui->bars[ui->nbars].upload = p->upload;
	return &ui->bars[ui->nbars++];
}

static void fmt_eta(char *buf, size_t len, const struct ui_bar *b)
{
	long long left;

	if (b->total <= 0 || b->rate < 1.0 || b->now >= b->total) {
		snprintf(buf, len, "--:--");
		return;
	}
	left = (long long)((double)(b->total - b->now) / b->rate);
	if (left >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", left / 3600, left / 60 % 60, left % 60);
	else
		snprintf(buf, len, "%lld:%02lld", left / 60, left % 60);
}

/* One bar: "name  [#####.....]  12.0 MiB / 70.0 MiB  5.1 MiB/s  ETA 0:11". */
static void format_bar(const struct ui_progress *ui, const struct ui_bar *b, char *line, size_t len)
{
	char now[32], total[32], rate[32], eta[64], tail[192], bar[64];
	int width, fill;
	size_t namew = 14;

	ui_format_bytes(now, sizeof(now), (double)b->now);
	ui_format_bytes(total, sizeof(total), (double)(b->total > 0 ? b->total : 0));
	ui_format_bytes(rate, sizeof(rate), b->rate);
	fmt_eta(eta, sizeof(eta), b);
	switch (b->state) {
	case VK_FETCH_DONE:
		snprintf(tail, sizeof(tail), "%s  done, sha256 verified", now);
		break;
	case VK_FETCH_FAILED:
		snprintf(tail, sizeof(tail), "failed after %d attempt%s", b->attempt, b->attempt == 1 ? "" : "s");
		break;
	case VK_FETCH_RETRYING:
		snprintf(tail, sizeof(tail), "%s  retrying (attempt %d failed)", now, b->attempt);
		break;
	default:
		if (b->total > 0)
			snprintf(tail, sizeof(tail), "%s / %s  %s/s  ETA %s", now, total, rate, eta);
		else
			snprintf(tail, sizeof(tail), "%s  %s/s", now, rate);
	}
	width = ui->cols - (int)namew - (int)strlen(tail) - 8;
	if (width > 40)
		width = 40;
	if (width < 5) {
		snprintf(line, len, "%-*.*s %s", (int)namew, (int)namew, b->name, tail);
		return;
	}
	fill = b->total > 0 ? (int)((double)width * (double)b->now / (double)b->total) : 0;
	if (b->state == VK_FETCH_DONE)
		fill = width;
	if (fill > width)
		fill = width;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(width - fill));
	bar[width] = '\0';
	snprintf(line, len, "%-*.*s [%s] %s", (int)namew, (int)namew, b->name, bar, tail);
}

static void redraw(struct ui_progress *ui)
{
	char line[512];

	for (size_t i = 0; i < ui->drawn; i++)
		tputs(ui->cuu1, 1, put_stderr);
	for (size_t i = 0; i < ui->nbars; i++) {
		format_bar(ui, &ui->bars[i], line, sizeof(line));
		if ((int)strlen(line) >= ui->cols)
			line[ui->cols - 1] = '\0';
		fputc('\r', stderr);
		tputs(ui->el, 1, put_stderr);
		fputs(line, stderr);
		fputc('\n', stderr);
	}
	ui->drawn = ui->nbars;
	fflush(stderr);
	ui->last_draw_ms = vk_now_ms();
}

static void plain_line(struct ui_bar *b)
{
	char now[32], total[32], rate[32];

	ui_format_bytes(now, sizeof(now), (double)b->now);
	ui_format_bytes(total, sizeof(total), (double)b->total);
	ui_format_bytes(rate, sizeof(rate), b->rate);
	/* an upload has no attempts, checksum or retries of its own */
	if (b->upload) {
		if (b->state == VK_FETCH_DONE)
			fprintf(stderr, "uploaded %s: %s, %s/s\n", b->name, now, rate);
		else if (b->state != VK_FETCH_STARTED)
			fprintf(stderr, "uploading %s: %s of %s (%d%%), %s/s\n", b->name, now, total,
				b->total > 0 ? (int)(100.0 * (double)b->now / (double)b->total) : 0, rate);
		fflush(stderr);
		b->last_plain_ms = vk_now_ms();
		return;
	}
	switch (b->state) {
	case VK_FETCH_STARTED:
		if (b->attempt > 1 || b->now > 0)
			fprintf(stderr, "downloading %s (attempt %d, resuming at %s)\n", b->name, b->attempt, now);
		else
			fprintf(stderr, "downloading %s\n", b->name);
		break;
	case VK_FETCH_DONE:
		fprintf(stderr, "downloaded %s: %s, sha256 verified\n", b->name, now);
		break;
	case VK_FETCH_FAILED:
		fprintf(stderr, "download of %s failed\n", b->name);
		break;
	case VK_FETCH_RETRYING:
		fprintf(stderr, "download of %s interrupted at %s (attempt %d); retrying\n", b->name, now, b->attempt);
		break;
	default:
		if (b->total > 0)
			fprintf(stderr, "downloading %s: %s of %s (%d%%), %s/s\n", b->name, now, total,
				(int)(100.0 * (double)b->now / (double)b->total), rate);
		else
			fprintf(stderr, "downloading %s: %s, %s/s\n", b->name, now, rate);
	}
	fflush(stderr);
	b->last_plain_ms = vk_now_ms();
}

void ui_progress_report(const struct vk_fetch_progress *p, void *data)
{
	struct ui_progress *ui = data;
	struct ui_bar *b;
	bool change;

	if (!ui || ui->quiet)
		return;
	b = bar_for(ui, p);
	change = b->state != (int)p->state || p->state != VK_FETCH_RUNNING;
	b->now = p->now;
	b->total = p->total;
	b->rate = p->rate;
	b->attempt = p->attempt;
	b->state = p->state;
	if (ui->tty) {
		if (change || vk_now_ms() - ui->last_draw_ms >= TTY_INTERVAL_MS)
			redraw(ui);
		return;
	}
	if (p->state != VK_FETCH_RUNNING || vk_now_ms() - b->last_plain_ms >= PLAIN_INTERVAL_MS)
		plain_line(b);
}

void ui_progress_free(struct ui_progress *ui)
{
	if (!ui)
		return;
	if (ui->tty && ui->nbars)
		redraw(ui);
	for (size_t i = 0; i < ui->nbars; i++)
		free(ui->bars[i].name);
	free(ui->bars);
	free(ui);
}

/* ------------------------------------------------------------ status -- */

struct ui_status {
	bool tty, quiet, drawn;
	unsigned frame; /* the spinner turns once per redraw */
	const char *cuu1, *el;
	char *text;
	long started_ms;
	long last_draw_ms;
};

static void fmt_elapsed(char *buf, size_t len, long ms)
{
	long s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

struct ui_status *ui_status_new(bool plain)
{
	struct ui_status *st = xcalloc(1, sizeof(*st));

	st->quiet = ui_quiet;
	st->tty = term_redraw_caps(plain, &st->cuu1, &st->el);
	st->started_ms = vk_now_ms();
	st->text = xstrdup("");
	return st;
}

/* The one line, redrawn in place: "TEXT  [elapsed 1:23]" cut to the width. */
static void status_draw(struct ui_status *st)
{
	static const char spin[] = "|/-\\";
	long now = vk_now_ms();
	char elapsed[32], line[512];
	int cols = term_cols();

	fmt_elapsed(elapsed, sizeof(elapsed), now - st->started_ms);
	snprintf(line, sizeof(line), "%c %s  [%s]", spin[st->frame++ % 4], st->text, elapsed);
	if ((int)strlen(line) >= cols)
		line[cols - 1] = '\0';
	fputc('\r', stderr);
	tputs(st->el, 1, put_stderr);
	fputs(line, stderr);
	fflush(stderr);
	st->drawn = true;
	st->last_draw_ms = now;
}

void ui_status_set(struct ui_status *st, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (!st || st->quiet)
		return;
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (strcmp(text, st->text) == 0) {
		free(text);
		ui_status_tick(st);
		return;
	}
	free(st->text);
	st->text = text;
	if (st->tty) {
		status_draw(st);
	} else {
		char elapsed[32];

		fmt_elapsed(elapsed, sizeof(elapsed), vk_now_ms() - st->started_ms);
		fprintf(stderr, "%s [%s]\n", st->text, elapsed);
	}
}

void ui_status_tick(struct ui_status *st)
{
	if (st && st->tty && !st->quiet && vk_now_ms() - st->last_draw_ms >= TTY_INTERVAL_MS)
		status_draw(st);
}

void ui_status_line(struct ui_status *st, const char *fmt, ...)
{
	va_list ap;

	if (!st || st->quiet)
		return;
	if (st->tty && st->drawn) {
		fputc('\r', stderr);
		tputs(st->el, 1, put_stderr);
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (st->tty && st->drawn)
		status_draw(st);
}

long ui_status_elapsed_ms(const struct ui_status *st)
{
	return st ? vk_now_ms() - st->started_ms : 0;
}

void ui_status_free(struct ui_status *st)
{
	if (!st)
		return;
	if (st->tty && st->drawn && !st->quiet) {
		fputc('\r', stderr);
		tputs(st->el, 1, put_stderr);
		fflush(stderr);
	}
	free(st->text);
	free(st);
}
