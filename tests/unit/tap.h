/* A minimal TAP producer for the C unit tests (run by automake's TAP driver). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                         \
	do {                                                                           \
		long long _g = (long long)(got), _w = (long long)(want);               \
		if (!ok(_g == _w, __VA_ARGS__))                                        \
			printf("#   got %lld, want %lld\n", _g, _w);                     \
	} while (0)

#define is_str(got, want, ...)                                                         \
	do {                                                                           \
		const char *_g = (got), *_w = (want);                                  \
		if (!ok(_g && _w && strcmp(_g, _w) == 0, __VA_ARGS__))                 \
			printf("#   got '%s', want '%s'\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
	} while (0)

#define contains(haystack, needle, ...)                                                \
	do {                                                                           \
		const char *_h = (haystack), *_n = (needle);                           \
		if (!ok(_h && strstr(_h, _n) != NULL, __VA_ARGS__))                    \
			printf("#   '%s' does not contain '%s'\n", _h ? _h : "(null)", _n); \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

/* A fresh temporary directory for one test program; the caller frees the string. */
static inline char *tap_tmpdir(void)
{
	char *dir = strdup("/tmp/virtkube-test-XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		printf("Bail out! cannot create a temporary directory\n");
		exit(1);
	}
	return dir;
}
