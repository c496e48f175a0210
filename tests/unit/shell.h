/* Runs a shell command from a C unit test and captures its output (openssl, kubectl checks). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Runs CMD through the shell; returns its stdout (redirect stderr in CMD to
 * keep it) without trailing newlines (caller frees), and its exit status in *RC. */
static inline char *sh(int *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline char *sh(int *rc, const char *fmt, ...)
{
	struct vk_strbuf out = VK_STRBUF_INIT;
	_cleanup_free_ char *cmd = NULL;
	char buf[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p) {
		*rc = -1;
		return xstrdup("");
	}
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		vk_strbuf_add(&out, buf, n);
	st = pclose(p);
	*rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	while (out.len && out.buf[out.len - 1] == '\n')
		out.buf[--out.len] = '\0';
	return vk_strbuf_detach(&out, NULL);
}
