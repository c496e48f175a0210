/* What every fuzz target shares: the libFuzzer entry point, a scratch directory, and how an oracle reports a finding. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Each target defines this; libFuzzer (or tests/fuzz/replay.c) calls it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A finding: says what the oracle saw and aborts, so libFuzzer keeps the
 * input as a crash and the replay runner fails. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz oracle failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define fuzz_assert(cond, ...)                \
	do {                                  \
		if (!(cond))                  \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* A directory of this process's own, made once: in /dev/shm when there is
 * one (the targets write files thousands of times a second), else in
 * $TMPDIR. Removed at exit. */
const char *fuzz_tmpdir(void);
/* DIR/NAME, newly allocated. */
char *fuzz_path(const char *name);
/* Writes DATA to PATH (truncating); aborts when it cannot. */
void fuzz_write(const char *path, const void *data, size_t size);
