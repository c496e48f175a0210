/* Terminal output for the CLI: errors, warnings, progress lines and tables. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#include <jansson.h>

void ui_set_quiet(bool quiet);
/* "virtkube: error: MESSAGE" and, if any, "hint: HINT" on stderr. The
 * "error:"/"warning:" labels are coloured on a terminal unless NO_COLOR is
 * set (https://no-color.org) or TERM is dumb. */
void ui_error(const struct vk_error *err);
void ui_error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ui_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress/info line on stderr, silenced by -q. */
void ui_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints DOC as indented JSON on stdout and releases it (takes the reference). */
void ui_print_json(json_t *doc);

/* A table printed with aligned columns; cells are copied. */
struct ui_table;
struct ui_table *ui_table_new(size_t ncols, const char *const *headers);
void ui_table_add(struct ui_table *t, const char *const *cells);
void ui_table_print(const struct ui_table *t);
void ui_table_free(struct ui_table *t);

/* "1.5 MiB" style sizes (binary units). */
void ui_format_bytes(char *buf, size_t len, double bytes);

/* Download progress for vk_fetch_progress reports. On a terminal (stderr),
 * one bar per download (name, bytes, rate, ETA) redrawn in place with the
 * terminal's own cursor-up and clear-line sequences (terminfo); otherwise, or
 * with PLAIN (--no-progress) or NO_COLOR set, plain lines at most every few
 * seconds per download. Silent under -q. */
struct vk_fetch_progress;
struct ui_progress;
struct ui_progress *ui_progress_new(bool plain);
/* A vk_fetch_progress_fn: pass ui_progress_report and the ui_progress as its data. */
void ui_progress_report(const struct vk_fetch_progress *p, void *data);
/* Leaves the bars as they are (final state) and frees; NULL-safe. */
void ui_progress_free(struct ui_progress *ui);

/* A one-line status with the elapsed time, for long waits (the guest's boot,
 * the API server): on a terminal (stderr) one line redrawn in place,
 * "| TEXT  [1:23]", with ui_status_tick from the wait loop keeping the clock
 * moving; otherwise, or with PLAIN or NO_COLOR set, a plain line
 * "TEXT [1:23]" each time the text changes. Silent under -q.
 *
 *   struct ui_status *st = ui_status_new(no_progress);
 *   ui_status_set(st, "waiting for the guest's SSH");   // in the wait's callback
 *   ui_status_tick(st);                                  // as often as convenient
 *   ui_status_line(st, "guest: containerd ok");          // a permanent line above it
 *   ui_status_free(st);                                  // clears the status line */
struct ui_status;
struct ui_status *ui_status_new(bool plain);
void ui_status_set(struct ui_status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ui_status_tick(struct ui_status *st);
void ui_status_line(struct ui_status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long ui_status_elapsed_ms(const struct ui_status *st);
/* NULL-safe. */
void ui_status_free(struct ui_status *st);
