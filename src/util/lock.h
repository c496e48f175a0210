/* Advisory file locks (flock) that record and report the holder's pid. */
#pragma once

#include "util/error.h"

struct vk_lock {
	int fd;     /* -1 when not held */
	char *path;
};

#define VK_LOCK_INIT { .fd = -1, .path = NULL }

/* Takes an exclusive lock on PATH (created 0600 if missing), waiting up to
 * TIMEOUT_MS (0: try once). On VK_ERR_BUSY the message names the holder's pid
 * and WHAT (e.g. "profile 'dev'"). */
int vk_lock_acquire(struct vk_lock *lock, const char *path, const char *what, long timeout_ms,
		    struct vk_error *err);
/* Releases the lock; NULL-safe and safe on an unheld lock. */
void vk_lock_release(struct vk_lock *lock);
