/* Terminal output for the CLI (see ui.h). Only cli/ prints. */
#include "ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static bool ui_quiet;

void ui_set_quiet(bool quiet)
{
	ui_quiet = quiet;
}

void ui_error(const struct vk_error *err)
{
	fprintf(stderr, "virtkube: error: %s\n", err->message[0] ? err->message : "unknown error");
	if (err->hint[0])
		fprintf(stderr, "hint: %s\n", err->hint);
}

void ui_error_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("virtkube: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ui_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("virtkube: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
