/* Allocation helpers that abort on out-of-memory, so callers never handle it. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A copy of the NULL-terminated string array V (NULL gives NULL); free with vk_strv_free. */
char **vk_strv_copy(const char *const *v);
/* The number of strings in the NULL-terminated array V (0 for NULL). */
size_t vk_strv_len(const char *const *v);
/* Appends a copy of S to the *N-entry NULL-terminated *V (NULL when *N is 0) unless it is there already. */
void vk_strv_add_unique(char ***v, size_t *n, const char *s);
/* The strings of V joined with SEP (newly allocated; "" for NULL or empty). */
char *vk_strv_join(const char *const *v, const char *sep);
