/* The guest console protocol parser and log follower (see guestlog.h). */
#include "vm/guestlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static bool stage_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(((struct vk_guest_event *)0)->stage))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* Copies the next space-separated word of *P into OUT (of SIZE); advances *P. */
static size_t word(const char **p, char *out, size_t size)
{
	const char *s = *p + strspn(*p, " ");
	size_t len = strcspn(s, " ");

	if (len >= size)
		len = 0;
	memcpy(out, s, len);
	out[len] = '\0';
	*p = s + len;
	return len;
}

static void copy_text(char *out, const char *s)
{
	size_t len;

	s += strspn(s, " ");
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len >= VK_GUEST_LINE_MAX)
		len = VK_GUEST_LINE_MAX - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

bool vk_guest_parse_line(const char *line, struct vk_guest_event *ev)
{
	const char *p = strstr(line, "VIRTKUBE-");
	char buf[VK_GUEST_LINE_MAX];
	char okword[8];
	size_t len;

	if (!p)
		return false;
	/* Work on a copy without CR/LF. */
	len = strcspn(p, "\r\n");
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	p = buf;
	memset(ev, 0, sizeof(*ev));

	if (strncmp(p, "VIRTKUBE-READY", 14) == 0 && (p[14] == '\0' || p[14] == ' ')) {
		ev->type = VK_GUEST_READY;
		return true;
	}
	if (strncmp(p, "VIRTKUBE-BOOT", 13) == 0 && (p[13] == '\0' || p[13] == ' ')) {
		ev->type = VK_GUEST_BOOT;
		copy_text(ev->text, p + 13);
		return true;
	}
	if (strncmp(p, "VIRTKUBE-FAILED ", 16) == 0) {
		p += 16;
		ev->type = VK_GUEST_FAILED;
		len = word(&p, ev->stage, sizeof(ev->stage));
		return stage_name_ok(ev->stage, len);
	}
	if (strncmp(p, "VIRTKUBE-STAGE ", 15) == 0) {
		p += 15;
		ev->type = VK_GUEST_STAGE;
		len = word(&p, ev->stage, sizeof(ev->stage));
		if (!stage_name_ok(ev->stage, len))
			return false;
		word(&p, okword, sizeof(okword));
		if (strcmp(okword, "ok") == 0)
			ev->ok = true;
		else if (strcmp(okword, "fail") != 0)
			return false;
		copy_text(ev->text, p);
		return true;
	}
	if (strncmp(p, "VIRTKUBE-LOG ", 13) == 0) {
		const char *colon;

		p += 13;
		colon = strchr(p, ':');
		if (!colon || !stage_name_ok(p, (size_t)(colon - p)))
			return false;
		ev->type = VK_GUEST_LOG;
		memcpy(ev->stage, p, (size_t)(colon - p));
		ev->stage[colon - p] = '\0';
		/* The log line keeps its own leading spaces but one. */
		p = colon + 1;
		if (*p == ' ')
			p++;
		len = strlen(p);
		while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		if (len >= VK_GUEST_LINE_MAX)
			len = VK_GUEST_LINE_MAX - 1;
		memcpy(ev->text, p, len);
		ev->text[len] = '\0';
		return true;
	}
	return false;
}

void vk_guest_timing_start(struct vk_guest_timing *t, long long now_ms)
{
	memset(t, 0, sizeof(*t));
	t->mark_ms = now_ms;
}

void vk_guest_timing_add(struct vk_guest_timing *t, const struct vk_guest_event *ev, long long now_ms)
{
	struct vk_guest_stage_time *st;

	if (ev->type == VK_GUEST_BOOT) {
		vk_guest_timing_start(t, now_ms);
		return;
	}
	if (ev->type != VK_GUEST_STAGE || t->n >= VK_GUEST_STAGES_MAX)
		return;
	st = &t->stages[t->n++];
	snprintf(st->stage, sizeof(st->stage), "%s", ev->stage);
	st->ok = ev->ok;
	st->seconds = now_ms > t->mark_ms ? (double)(now_ms - t->mark_ms) / 1000.0 : 0;
	t->mark_ms = now_ms;
}

double vk_guest_timing_total(const struct vk_guest_timing *t)
{
	double sum = 0;

	for (size_t i = 0; i < t->n; i++)
		sum += t->stages[i].seconds;
	return sum;
}

/* A console line longer than this is not ours: it is dropped whole, however
 * the reads cut it (the guest writes at most VK_GUEST_LINE_MAX). */
#define LINE_KEEP (4 * VK_GUEST_LINE_MAX)

struct vk_guestlog {
	char *path;
	off_t offset;       /* next byte to read */
	struct vk_strbuf partial; /* an unfinished last line */
	bool overlong;      /* that line grew past LINE_KEEP: dropped up to its end */
	bool ready;
	char failed[64];
	char failed_detail[VK_GUEST_LINE_MAX];
	char last_stage[64];
	char *logs[VK_GUEST_LOG_KEEP]; /* ring of VIRTKUBE-LOG lines of the failing stage */
	int nlogs, logs_start;
	struct vk_strbuf joined;
};

struct vk_guestlog *vk_guestlog_new(const char *path, off_t offset)
{
	struct vk_guestlog *g = xcalloc(1, sizeof(*g));

	g->path = xstrdup(path);
	g->offset = offset;
	vk_strbuf_init(&g->partial, 0);
	vk_strbuf_init(&g->joined, 0);
	return g;
}

static void clear_logs(struct vk_guestlog *g)
{
	for (int i = 0; i < VK_GUEST_LOG_KEEP; i++) {
		free(g->logs[i]);
		g->logs[i] = NULL;
	}
	g->nlogs = g->logs_start = 0;
}

void vk_guestlog_free(struct vk_guestlog *g)
{
	if (!g)
		return;
	clear_logs(g);
	vk_strbuf_release(&g->partial);
	vk_strbuf_release(&g->joined);
	free(g->path);
	free(g);
}

static void apply(struct vk_guestlog *g, const struct vk_guest_event *ev)
{
	switch (ev->type) {
	case VK_GUEST_BOOT:
		/* A new run: whatever an earlier one said no longer holds. */
		g->ready = false;
		g->failed[0] = g->failed_detail[0] = g->last_stage[0] = '\0';
		clear_logs(g);
		break;
	case VK_GUEST_STAGE:
		snprintf(g->last_stage, sizeof(g->last_stage), "%s", ev->stage);
		if (!ev->ok) {
			snprintf(g->failed_detail, sizeof(g->failed_detail), "%s", ev->text);
			clear_logs(g);
		}
		break;
	case VK_GUEST_LOG: {
		int slot = (g->logs_start + g->nlogs) % VK_GUEST_LOG_KEEP;

		if (g->nlogs == VK_GUEST_LOG_KEEP) {
			free(g->logs[g->logs_start]);
			g->logs[g->logs_start] = NULL;
			slot = g->logs_start;
			g->logs_start = (g->logs_start + 1) % VK_GUEST_LOG_KEEP;
		} else {
			g->nlogs++;
		}
		g->logs[slot] = xstrdup(ev->text);
		break;
	}
	case VK_GUEST_READY:
		g->ready = true;
		break;
	case VK_GUEST_FAILED:
		snprintf(g->failed, sizeof(g->failed), "%s", ev->stage);
		break;
	}
}

static int handle_line(struct vk_guestlog *g, const char *line, vk_guest_event_fn fn, void *data)
{
	struct vk_guest_event ev;

	if (!vk_guest_parse_line(line, &ev))
		return 0;
	apply(g, &ev);
	if (fn)
		fn(&ev, data);
	return 1;
}

int vk_guestlog_poll(struct vk_guestlog *g, vk_guest_event_fn fn, void *data, struct vk_error *err)
{
	_cleanup_close_ int fd = open(g->path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	struct stat st;
	int events = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* not created yet */
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read the guest console log '%s'", g->path);
	}
	if (fstat(fd, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot stat '%s'", g->path);
	if (st.st_size < g->offset) {
		/* Truncated or replaced: a fresh log starts at its beginning. */
		g->offset = 0;
		vk_strbuf_reset(&g->partial);
		g->overlong = false;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), g->offset);
		size_t start = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", g->path);
		}
		if (n == 0)
			break;
		g->offset += n;
		for (size_t i = 0; i < (size_t)n; i++) {
			if (buf[i] != '\n')
				continue;
			if (!g->overlong && g->partial.len + (i - start) <= LINE_KEEP) {
				vk_strbuf_add(&g->partial, buf + start, i - start);
				events += handle_line(g, g->partial.buf, fn, data);
			}
			vk_strbuf_reset(&g->partial);
			g->overlong = false;
			start = i + 1;
		}
		if (!g->overlong)
			vk_strbuf_add(&g->partial, buf + start, (size_t)n - start);
		if (g->partial.len > LINE_KEEP) {
			vk_strbuf_reset(&g->partial);
			g->overlong = true;
		}
	}
	return events;
}

bool vk_guestlog_ready(const struct vk_guestlog *g)
{
	return g->ready && !g->failed[0];
}

const char *vk_guestlog_failed(const struct vk_guestlog *g)
{
	return g->failed[0] ? g->failed : NULL;
}

const char *vk_guestlog_last_stage(const struct vk_guestlog *g)
{
	return g->last_stage[0] ? g->last_stage : NULL;
}

const char *vk_guestlog_failed_detail(const struct vk_guestlog *g)
{
	return g->failed_detail;
}

const char *vk_guestlog_failure_log(const struct vk_guestlog *g)
{
	struct vk_guestlog *mut = (struct vk_guestlog *)g;

	vk_strbuf_reset(&mut->joined);
	for (int i = 0; i < g->nlogs; i++)
		vk_strbuf_addf(&mut->joined, "%s\n", g->logs[(g->logs_start + i) % VK_GUEST_LOG_KEEP]);
	return mut->joined.buf;
}

int vk_guestlog_wait(struct vk_guestlog *g, const char *profile, long timeout_ms, long interval_ms,
		     vk_guest_event_fn fn, vk_guest_check_fn check, void *data, struct vk_error *err)
{
	long deadline = vk_now_ms() + timeout_ms;

	for (;;) {
		if (vk_guestlog_poll(g, fn, data, err) < 0)
			return -1;
		if (vk_guestlog_failed(g)) {
			const char *log = vk_guestlog_failure_log(g);
			const char *detail = vk_guestlog_failed_detail(g);

			vk_error_set(err, VK_ERR_GUEST, "provisioning failed in the guest at stage '%s'%s%s%s%s", g->failed,
				     *detail ? ": " : "", detail, *log ? "; its last log lines:\n" : "", log);
			/* the message ends with the log's newline: drop it */
			if (err) {
				size_t len = strlen(err->message);

				if (len && err->message[len - 1] == '\n')
					err->message[len - 1] = '\0';
			}
			return vk_error_hint(err, "'virtkube logs -p %s --provisioning' shows the whole stage log (/var/log/virtkube/%s.log in the guest)",
					     profile, g->failed);
		}
		if (vk_guestlog_ready(g))
			return 0;
		if (check && check(data, err) < 0)
			return -1;
		if (vk_now_ms() >= deadline) {
			const char *last = vk_guestlog_last_stage(g);

			if (last)
				vk_error_set(err, VK_ERR_TIMEOUT,
					     "timed out after %ld s waiting for the guest to finish provisioning (last stage done: '%s')",
					     timeout_ms / 1000, last);
			else
				vk_error_set(err, VK_ERR_TIMEOUT,
					     "timed out after %ld s waiting for the guest to report provisioning on its console (nothing reported yet)",
					     timeout_ms / 1000);
			return vk_error_hint(err, "'virtkube logs -p %s' shows the guest's console, 'virtkube logs -p %s --provisioning' its provisioning logs",
					     profile, profile);
		}
		usleep((useconds_t)(interval_ms * 1000));
	}
}
