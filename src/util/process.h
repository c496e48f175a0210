/* Starting another program, the one way virtkube does it: argv, environment, stdin, output captured or passed through, a timeout, the end as data. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/strbuf.h"

/* Where the child's standard input comes from. */
enum vk_process_in {
	VK_PROCESS_IN_NULL = 0, /* /dev/null (the default: a child never reads our terminal by accident) */
	VK_PROCESS_IN_INHERIT,  /* ours */
	VK_PROCESS_IN_BUFFER,   /* stdin_buf/stdin_len, through a pipe that is closed at its end */
	VK_PROCESS_IN_FILE,     /* the file stdin_path */
};

/* Where the child's standard output or error goes. */
enum vk_process_out {
	VK_PROCESS_OUT_INHERIT = 0, /* ours: passed through (the default) */
	VK_PROCESS_OUT_CAPTURE,     /* into out / err below */
	VK_PROCESS_OUT_NULL,        /* /dev/null */
};

/* How the child ended. */
enum vk_process_end {
	VK_PROCESS_EXITED,    /* by itself: code is its exit status */
	VK_PROCESS_SIGNALED,  /* killed by a signal it did not catch: signal says which */
	VK_PROCESS_TIMED_OUT, /* still running at timeout_ms: its process group was sent SIGKILL */
};

struct vk_process_status {
	enum vk_process_end end;
	int code;   /* VK_PROCESS_EXITED */
	int signal; /* VK_PROCESS_SIGNALED; SIGKILL for VK_PROCESS_TIMED_OUT */
};

/* One child, as git's struct child_process: the caller fills the first part
 * (start from VK_PROCESS_INIT), vk_process_start runs it, vk_process_finish
 * feeds and drains it and fills the second, vk_process_release frees it. */
struct vk_process {
	/* NULL-terminated; argv[0] without a '/' is looked up in the child's PATH. Borrowed. */
	const char *const *argv;
	/* Changes to our environment, NULL-terminated: "NAME=value" sets NAME,
	 * "NAME" removes it. NULL: the child gets ours unchanged. Borrowed. */
	const char *const *env;
	enum vk_process_in stdin_from;
	const char *stdin_buf; /* VK_PROCESS_IN_BUFFER: borrowed until finish */
	size_t stdin_len;
	const char *stdin_path; /* VK_PROCESS_IN_FILE */
	enum vk_process_out stdout_to, stderr_to;
	/* > 0: after this many milliseconds from the start the child is killed
	 * with its process group (it leads one of its own, and dies with us).
	 * 0: no limit, and the child stays in our process group. */
	long timeout_ms;
	/* May be NULL. While vk_process_finish waits, a non-zero *stop (set by
	 * the caller's signal handler, installed without SA_RESTART so the wait
	 * is interrupted) sends the child SIGTERM once; it is still waited for. */
	const volatile int *stop;

	/* Filled in. */
	pid_t pid;                /* > 0 from start until finish */
	struct vk_strbuf out;     /* what it wrote on stdout (VK_PROCESS_OUT_CAPTURE) */
	struct vk_strbuf err;     /* what it wrote on stderr (VK_PROCESS_OUT_CAPTURE) */
	struct vk_process_status status; /* valid after vk_process_finish returned 0 */

	/* Private: our ends of the pipes (-1: none), and the clock. */
	int stdin_fd, stdout_fd, stderr_fd;
	size_t stdin_done;
	long long deadline_ms;
	bool stop_sent;
};

#define VK_PROCESS_INIT                                                                          \
	{                                                                                        \
		.out = VK_STRBUF_INIT, .err = VK_STRBUF_INIT, .stdin_fd = -1, .stdout_fd = -1,   \
		.stderr_fd = -1,                                                                 \
	}

/* Starts P. Fails, naming argv[0], when the program is not found
 * (VK_ERR_NOT_FOUND) or cannot be executed; the child is gone then. */
int vk_process_start(struct vk_process *p, struct vk_error *err);
/* Writes P's stdin buffer, reads what it captures, waits for it to end or its
 * timeout, and fills P->status. A timeout is a status, not an error: -1 only
 * when the child could not be waited for. Call it from the thread that
 * started P (a child with a timeout dies with that thread). */
int vk_process_finish(struct vk_process *p, struct vk_error *err);
/* Whether P (started, nothing to feed or capture) has ended, without
 * waiting: 1 when it has (P->status is filled, as by vk_process_finish), 0
 * while it runs, -1 when it cannot be waited for. */
int vk_process_poll(struct vk_process *p, struct vk_error *err);
/* vk_process_start, then vk_process_finish. */
int vk_process_run(struct vk_process *p, struct vk_error *err);
/* Frees what P captured and closes its pipes; a child still running (started,
 * never finished) is killed and reaped. P can be filled and run again. */
void vk_process_release(struct vk_process *p);

static inline void vk_process_releasep(struct vk_process *p)
{
	vk_process_release(p);
}
#define _cleanup_process_ __attribute__((cleanup(vk_process_releasep)))

/* Whether P exited by itself with status 0. */
bool vk_process_succeeded(const struct vk_process *p);
/* How P ended, for a message: "exited with status 3", "was killed by signal 9
 * (Killed)", "timed out after 300 ms". Newly allocated; the caller frees it. */
char *vk_process_describe(const struct vk_process *p);

/* Replaces this process with ARGV (looked up as for vk_process_start) and
 * our environment changed by ENV (as vk_process.env; may be NULL). Flushes
 * stdio first. Returns only on failure: -1, naming the program. */
int vk_process_exec(const char *const *argv, const char *const *env, struct vk_error *err);
