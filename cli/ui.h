/* Terminal output for the CLI: errors, warnings, progress lines and tables. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

void ui_set_quiet(bool quiet);
/* "virtkube: error: MESSAGE" and, if any, "hint: HINT" on stderr. */
void ui_error(const struct vk_error *err);
void ui_error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ui_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress/info line on stderr, silenced by -q. */
void ui_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A table printed with aligned columns; cells are copied. */
struct ui_table;
struct ui_table *ui_table_new(size_t ncols, const char *const *headers);
void ui_table_add(struct ui_table *t, const char *const *cells);
void ui_table_print(const struct ui_table *t);
void ui_table_free(struct ui_table *t);
