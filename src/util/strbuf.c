/* The string builder (see strbuf.h). */
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

char vk_strbuf_empty[1];

void vk_strbuf_init(struct vk_strbuf *sb, size_t hint)
{
	sb->buf = vk_strbuf_empty;
	sb->len = 0;
	sb->alloc = 0;
	if (hint)
		vk_strbuf_grow(sb, hint);
}

void vk_strbuf_grow(struct vk_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	size_t alloc;

	if (need <= sb->alloc)
		return;
	alloc = sb->alloc ? sb->alloc : 64;
	while (alloc < need)
		alloc *= 2;
	if (sb->alloc == 0) {
		sb->buf = xmalloc(alloc);
		sb->buf[0] = '\0';
	} else {
		sb->buf = xrealloc(sb->buf, alloc);
	}
	sb->alloc = alloc;
}

void vk_strbuf_add(struct vk_strbuf *sb, const void *data, size_t len)
{
	if (!len)
		return;
	vk_strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void vk_strbuf_addstr(struct vk_strbuf *sb, const char *s)
{
	vk_strbuf_add(sb, s, strlen(s));
}

void vk_strbuf_addch(struct vk_strbuf *sb, char c)
{
	vk_strbuf_add(sb, &c, 1);
}

void vk_strbuf_vaddf(struct vk_strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n <= 0)
		return;
	vk_strbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void vk_strbuf_addf(struct vk_strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vk_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void vk_strbuf_add_xml_escaped(struct vk_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': vk_strbuf_addstr(sb, "&amp;"); break;
		case '<': vk_strbuf_addstr(sb, "&lt;"); break;
		case '>': vk_strbuf_addstr(sb, "&gt;"); break;
		case '\'': vk_strbuf_addstr(sb, "&apos;"); break;
		case '"': vk_strbuf_addstr(sb, "&quot;"); break;
		default: vk_strbuf_addch(sb, *s); break;
		}
	}
}

void vk_strbuf_reset(struct vk_strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

char *vk_strbuf_detach(struct vk_strbuf *sb, size_t *len)
{
	char *out;

	if (len)
		*len = sb->len;
	out = sb->alloc ? sb->buf : xstrdup("");
	vk_strbuf_init(sb, 0);
	return out;
}

void vk_strbuf_release(struct vk_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	vk_strbuf_init(sb, 0);
}
