/* Following the guest's provisioning: the VIRTKUBE-* console protocol (scripts/guest/README.md) read from the console log as it grows. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

#define VK_GUEST_LINE_MAX 512  /* the guest writes at most 400 characters a line */
#define VK_GUEST_LOG_KEEP 20   /* VIRTKUBE-LOG lines kept per failure */

enum vk_guest_event_type {
	VK_GUEST_BOOT,   /* VIRTKUBE-BOOT <boot id>: a (new) run of the script */
	VK_GUEST_STAGE,  /* VIRTKUBE-STAGE <name> <ok|fail> [detail] */
	VK_GUEST_LOG,    /* VIRTKUBE-LOG <name>: <line> */
	VK_GUEST_READY,  /* VIRTKUBE-READY */
	VK_GUEST_FAILED, /* VIRTKUBE-FAILED <name> */
};

struct vk_guest_event {
	enum vk_guest_event_type type;
	char stage[64];                  /* STAGE, LOG, FAILED */
	bool ok;                         /* STAGE */
	char text[VK_GUEST_LINE_MAX];    /* BOOT: boot id; STAGE: detail; LOG: the line */
};

/* Parses one console line (CR/LF stripped or not). The protocol word may be
 * preceded by other output on the same line (kernel messages share the
 * console). Returns true and fills EV for a well-formed protocol line;
 * false for anything else, including malformed protocol lines. */
bool vk_guest_parse_line(const char *line, struct vk_guest_event *ev);

/* ---- the guest's stage times, as the host sees them ----
 *
 * Each stage's seconds since the protocol line before it (the first stage's:
 * since the VIRTKUBE-BOOT line, or since following began); a later BOOT
 * starts over. A time is when the host read the line, so it is as fine as
 * the polling (about a second), and lines read after the fact (a log that
 * was already written) count as near zero. */
#define VK_GUEST_STAGES_MAX 32

struct vk_guest_stage_time {
	char stage[64];
	bool ok;
	double seconds;
};

struct vk_guest_timing {
	long long mark_ms; /* when the last line that counts was read */
	size_t n;
	struct vk_guest_stage_time stages[VK_GUEST_STAGES_MAX];
};

/* Starts T at NOW_MS (vk_now_ms, or a test's clock). */
void vk_guest_timing_start(struct vk_guest_timing *t, long long now_ms);
/* Counts EV, read at NOW_MS: a STAGE adds its time, a BOOT starts over,
 * anything else is ignored. Stages past VK_GUEST_STAGES_MAX are dropped. */
void vk_guest_timing_add(struct vk_guest_timing *t, const struct vk_guest_event *ev, long long now_ms);
/* The seconds of all stages together. */
double vk_guest_timing_total(const struct vk_guest_timing *t);

/* A follower of one console log file. */
struct vk_guestlog;

/* Follows PATH from byte OFFSET (what was there before the domain started
 * belongs to earlier boots). The file may not exist yet. Free with
 * vk_guestlog_free. */
struct vk_guestlog *vk_guestlog_new(const char *path, off_t offset);
void vk_guestlog_free(struct vk_guestlog *g);

typedef void (*vk_guest_event_fn)(const struct vk_guest_event *ev, void *data);

/* Reads what was appended since the last call and calls FN (may be NULL)
 * for each protocol line, in order. A partial last line waits for its end.
 * A file that shrank (rotated or truncated) is read again from its start.
 * Returns the number of events, or -1 when the file cannot be read. */
int vk_guestlog_poll(struct vk_guestlog *g, vk_guest_event_fn fn, void *data, struct vk_error *err);

/* State gathered so far (since the last VIRTKUBE-BOOT). */
bool vk_guestlog_ready(const struct vk_guestlog *g);
/* The failed stage's name, or NULL. */
const char *vk_guestlog_failed(const struct vk_guestlog *g);
/* The last stage reported (ok or not), or NULL. */
const char *vk_guestlog_last_stage(const struct vk_guestlog *g);
/* The failed stage's detail (from its STAGE line), or "". */
const char *vk_guestlog_failed_detail(const struct vk_guestlog *g);
/* The VIRTKUBE-LOG lines of the failed stage (at most VK_GUEST_LOG_KEEP,
 * oldest first) as one string with newlines, owned by G. */
const char *vk_guestlog_failure_log(const struct vk_guestlog *g);

/* Called between polls by vk_guestlog_wait: returns -1 (with ERR set) to stop
 * waiting, e.g. when the domain is no longer running. */
typedef int (*vk_guest_check_fn)(void *data, struct vk_error *err);

/* Polls every INTERVAL_MS until VIRTKUBE-READY (0), VIRTKUBE-FAILED
 * (VK_ERR_GUEST naming the stage, its detail and its last log lines), CHECK
 * fails, or TIMEOUT_MS passes (VK_ERR_TIMEOUT saying what was awaited and
 * the last stage seen). PROFILE goes into the hints ('virtkube logs -p ...'). */
int vk_guestlog_wait(struct vk_guestlog *g, const char *profile, long timeout_ms, long interval_ms,
		     vk_guest_event_fn fn, vk_guest_check_fn check, void *data, struct vk_error *err);
