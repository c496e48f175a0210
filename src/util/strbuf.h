/* The project's one string builder: never NULL, detach to take ownership. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct vk_strbuf {
	char *buf;    /* always NUL-terminated, never NULL after init */
	size_t len;
	size_t alloc;
};

extern char vk_strbuf_empty[];
#define VK_STRBUF_INIT { .buf = vk_strbuf_empty, .len = 0, .alloc = 0 }

void vk_strbuf_init(struct vk_strbuf *sb, size_t hint);
void vk_strbuf_grow(struct vk_strbuf *sb, size_t extra);
void vk_strbuf_add(struct vk_strbuf *sb, const void *data, size_t len);
void vk_strbuf_addstr(struct vk_strbuf *sb, const char *s);
void vk_strbuf_addch(struct vk_strbuf *sb, char c);
void vk_strbuf_addf(struct vk_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vk_strbuf_vaddf(struct vk_strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with &, <, >, ' and " replaced by XML entities. */
void vk_strbuf_add_xml_escaped(struct vk_strbuf *sb, const char *s);
void vk_strbuf_reset(struct vk_strbuf *sb);
/* Returns the buffer (caller frees) and leaves sb empty and reusable. */
char *vk_strbuf_detach(struct vk_strbuf *sb, size_t *len);
void vk_strbuf_release(struct vk_strbuf *sb);

static inline void vk_strbuf_releasep(struct vk_strbuf *sb)
{
	vk_strbuf_release(sb);
}
#define _cleanup_strbuf_ __attribute__((cleanup(vk_strbuf_releasep)))
