/* The engine's error struct: set, prefix, hint (see error.h). */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static void vset(char *buf, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
}

int vk_error_set(struct vk_error *err, enum vk_error_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vset(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int vk_error_set_errno(struct vk_error *err, enum vk_error_code code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return -1;
	err->code = code;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vset(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len, ": %s", strerror(errnum));
	return -1;
}

int vk_error_prefix(struct vk_error *err, const char *fmt, ...)
{
	char prefix[VK_ERROR_MSG_MAX];
	size_t size = sizeof(err->message);
	size_t plen, olen;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* "PREFIX: OLD", truncated to the buffer: the prefix wins, the tail goes. */
	plen = strlen(prefix);
	if (plen > size - 3)
		plen = size - 3;
	olen = strlen(err->message);
	if (plen + 2 + olen > size - 1)
		olen = size - 1 - plen - 2;
	memmove(err->message + plen + 2, err->message, olen);
	err->message[plen + 2 + olen] = '\0';
	memcpy(err->message, prefix, plen);
	err->message[plen] = ':';
	err->message[plen + 1] = ' ';
	return -1;
}

int vk_error_hint(struct vk_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vset(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return -1;
}

void vk_error_clear(struct vk_error *err)
{
	if (!err)
		return;
	err->code = VK_ERR_NONE;
	err->message[0] = '\0';
	err->hint[0] = '\0';
}

const char *vk_error_code_name(enum vk_error_code code)
{
	static const char *const names[] = {
		[VK_ERR_NONE] = "none",		  [VK_ERR_FAILED] = "failed",
		[VK_ERR_INVALID] = "invalid",	  [VK_ERR_NOT_FOUND] = "not-found",
		[VK_ERR_EXISTS] = "exists",	  [VK_ERR_BUSY] = "busy",
		[VK_ERR_IO] = "io",		  [VK_ERR_PARSE] = "parse",
		[VK_ERR_UNSUPPORTED] = "unsupported", [VK_ERR_LIBVIRT] = "libvirt",
		[VK_ERR_NETWORK] = "network",	  [VK_ERR_TLS] = "tls",
		[VK_ERR_CHECKSUM] = "checksum",	  [VK_ERR_TIMEOUT] = "timeout",
		[VK_ERR_API] = "api",		  [VK_ERR_GUEST] = "guest",
		[VK_ERR_ADDON_NOT_READY] = "addon-not-ready",
	};

	if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown";
}
