/* A domain's serial console read over the libvirt API (virDomainOpenConsole), for a libvirt host whose files this host cannot read. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

/* A copy of one domain's console into a file on this host, made by a
 * thread of its own on a connection of its own, as the guest writes. */
struct vk_console_copy;

/* Starts copying the serial console of running domain DOMAIN at URI to
 * the file PATH (created 0600 if missing, appended to): the file the start
 * pipeline's guest-log follower and `logs` read. FORCE takes the console
 * from another client that holds it; without it a console in use is
 * VK_ERR_EXISTS. Output before this call is not there to read (a pty
 * console keeps no history). Free with vk_console_copy_stop. */
struct vk_console_copy *vk_console_copy_start(const char *uri, const char *domain, const char *path, bool force,
					      struct vk_error *err);
/* Whether the copy still runs (false once the domain stopped or the
 * connection broke). */
bool vk_console_copy_running(struct vk_console_copy *c);
/* Stops the copy (NULL-safe): at once when it has ended, else at the
 * guest's next output or the domain's end (its thread then closes its
 * connection and frees C). */
void vk_console_copy_stop(struct vk_console_copy *c);
static inline void vk_console_copy_stopp(struct vk_console_copy **c)
{
	vk_console_copy_stop(*c);
}
#define _cleanup_console_copy_ __attribute__((cleanup(vk_console_copy_stopp)))
