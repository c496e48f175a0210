/* The one error type of the engine: a code, a message naming object and cause, a hint. */
#pragma once

#include <stdarg.h>

enum vk_error_code {
	VK_ERR_NONE = 0,
	VK_ERR_FAILED,      /* generic failure */
	VK_ERR_INVALID,     /* bad input from the user */
	VK_ERR_NOT_FOUND,   /* a named thing does not exist */
	VK_ERR_EXISTS,      /* a thing exists that must not */
	VK_ERR_BUSY,        /* a lock is held by someone else */
	VK_ERR_IO,          /* filesystem or OS call failed */
	VK_ERR_PARSE,       /* a file or document does not parse */
	VK_ERR_UNSUPPORTED, /* valid, but this build/host cannot do it */
	VK_ERR_LIBVIRT,     /* libvirt reported an error */
	VK_ERR_NETWORK,     /* connection, DNS, HTTP transport */
	VK_ERR_TLS,         /* certificate or handshake problem */
	VK_ERR_CHECKSUM,    /* downloaded bytes do not match */
	VK_ERR_TIMEOUT,     /* a wait ran out */
	VK_ERR_API,         /* the Kubernetes API refused a request */
	VK_ERR_GUEST,       /* the guest reported a failure */
	VK_ERR_ADDON_NOT_READY, /* the cluster is up, but an addon did not get ready (the message says why) */
};

#define VK_ERROR_MSG_MAX 2048
#define VK_ERROR_HINT_MAX 512

struct vk_error {
	enum vk_error_code code;
	char message[VK_ERROR_MSG_MAX];
	char hint[VK_ERROR_HINT_MAX]; /* optional: what the user can do */
};

/* Sets code and message (lowercase, object quoted, no trailing period).
 * err may be NULL. Always returns -1 so callers can `return vk_error_set(...)`. */
int vk_error_set(struct vk_error *err, enum vk_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like vk_error_set, with ": strerror(errnum)" appended. */
int vk_error_set_errno(struct vk_error *err, enum vk_error_code code, int errnum,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Prepends "PREFIX: " to the current message (adds context on the way up). */
int vk_error_prefix(struct vk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the hint shown under the message. Returns -1. */
int vk_error_hint(struct vk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vk_error_clear(struct vk_error *err);
const char *vk_error_code_name(enum vk_error_code code);
