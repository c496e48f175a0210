/* `status --watch`'s screen as text: a pure function from a refresh's data and the view's state to rows of strings, so it is tested without a terminal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/addons.h"
#include "util/xalloc.h"
#include "watch-view.h"

/* Lines are built here before they are cut to the screen's width. */
#define LINE_MAX_BYTES 1024

struct writer {
	struct watch_grid *g;
	int row;
	int last; /* the first row the body may not use (the footer's) */
};

/* Puts TEXT on the next row in STYLE: bytes that are not printable ASCII
 * become '?', the rest of the row spaces. Returns false when the body is full. */
static bool put(struct writer *w, enum watch_style style, const char *text)
{
	char *line;
	int i = 0;

	if (w->row >= w->last)
		return false;
	line = w->g->line[w->row];
	for (const unsigned char *t = (const unsigned char *)text; *t && i < w->g->cols; t++) {
		if (*t >= 0x80 && *t < 0xc0)
			continue; /* a UTF-8 continuation byte: its character is one '?' already */
		line[i++] = *t >= 0x20 && *t < 0x7f ? (char)*t : '?';
	}
	memset(line + i, ' ', (size_t)(w->g->cols - i));
	w->g->style[w->row++] = style;
	return true;
}

static bool putf(struct writer *w, enum watch_style style, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool putf(struct writer *w, enum watch_style style, const char *fmt, ...)
{
	char buf[LINE_MAX_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put(w, style, buf);
}

static int rows_left(const struct writer *w)
{
	return w->last - w->row;
}

/* S in a cell of WIDTH: padded, or cut with '~' as its last character. */
static const char *cell(char *buf, size_t size, const char *s, int width)
{
	size_t len = strlen(s ? s : "");

	if (width <= 0) {
		buf[0] = '\0';
		return buf;
	}
	if ((size_t)width >= size)
		width = (int)size - 1;
	if (len > (size_t)width) {
		memcpy(buf, s, (size_t)width - 1);
		buf[width - 1] = '~';
	} else {
		memcpy(buf, s ? s : "", len);
		memset(buf + len, ' ', (size_t)width - len);
	}
	buf[width] = '\0';
	return buf;
}

static void hms(time_t t, char buf[16])
{
	struct tm tm;

	if (!t) {
		snprintf(buf, 16, "--:--:--");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, 16, "%H:%M:%S", &tm);
}

/* "1.2/3.8G" from two sizes in bytes. */
static void pair_gib(char *buf, size_t size, unsigned long long used, unsigned long long total)
{
	const double gib = 1024.0 * 1024 * 1024;

	snprintf(buf, size, "%.1f/%.1fG", used / gib, total / gib);
}

static enum watch_style vm_style(const struct vk_watch_node *n)
{
	if (!n->host_known)
		return WATCH_STYLE_DIM;
	return n->host == VK_HOST_RUNNING ? WATCH_STYLE_NORMAL : WATCH_STYLE_BAD;
}

/* The title, the problem and a start in progress. */
static void head(struct writer *w, const struct vk_watch_data *d, const struct watch_ui *ui)
{
	char left[LINE_MAX_BYTES], when[16];
	int cols = w->g->cols;

	hms(d->at, when);
	snprintf(left, sizeof(left), " virtkube status --watch  profile %s  every %lds", d->profile ? d->profile : "?",
		 ui->interval_s);
	/* the time at the right edge, when it fits */
	if ((int)strlen(left) + 10 <= cols)
		putf(w, WATCH_STYLE_TITLE, "%-*s%s ", cols - 9, left, when);
	else
		put(w, WATCH_STYLE_TITLE, left);
	if (d->problem)
		putf(w, WATCH_STYLE_BAD, " ! %s", d->problem);
	if (d->hint)
		putf(w, WATCH_STYLE_WARN, "   hint: %s", d->hint);
	if (d->libvirt_error)
		putf(w, WATCH_STYLE_BAD, " ! libvirt: %s", d->libvirt_error);
	if (d->busy_pid)
		putf(w, WATCH_STYLE_WARN, " START  %s (pid %ld) is working on the profile",
		     d->busy_command ? d->busy_command : "a virtkube command", d->busy_pid);
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct vk_watch_node *n = &d->nodes[i];

		if (n->guest_failed)
			putf(w, WATCH_STYLE_BAD, " GUEST  %s: stage '%s' failed (l shows its console)", n->name,
			     n->guest_failed);
		else if (d->busy_pid && n->guest_stage && !n->guest_ready)
			putf(w, WATCH_STYLE_WARN, " GUEST  %s: at stage %s", n->name, n->guest_stage);
	}
}

static void nodes_pane(struct writer *w, const struct vk_watch_data *d, const struct watch_ui *ui)
{
	int cols = w->g->cols;
	bool wide = cols >= 120;
	int role_w = wide ? 13 : 6, vm_w = 11, ip_w = 15, cpu_w = 5, mem_w = wide ? 12 : 10, disk_w = wide ? 12 : 11;
	int fixed = 2 + 1 + role_w + 1 + vm_w + 1 + ip_w + 1 + cpu_w + 1 + mem_w + 1 + disk_w;
	int name_w = cols - fixed - 1, longest = 4;
	char a[128], b[64], c[64], e[64], f[64], g[64], h[64], cpu[16], mem[32], disk[32];

	for (size_t i = 0; i < d->nnodes; i++)
		if ((int)strlen(d->nodes[i].name) > longest)
			longest = (int)strlen(d->nodes[i].name);
	if (name_w > longest)
		name_w = longest;
	if (name_w < 4)
		name_w = 4;
	putf(w, WATCH_STYLE_HEADER, " NODES (%zu)", d->nnodes);
	putf(w, WATCH_STYLE_DIM, "  %s %s %s %s %s %s %s", cell(a, sizeof(a), "NAME", name_w),
	     cell(b, sizeof(b), "ROLE", role_w), cell(c, sizeof(c), "VM", vm_w), cell(e, sizeof(e), "IP", ip_w),
	     cell(f, sizeof(f), "CPU", cpu_w), cell(g, sizeof(g), "MEMORY", mem_w), "DISK");
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct vk_watch_node *n = &d->nodes[i];
		const char *role = n->role ? n->role : "";
		bool sel = i == ui->selected;

		if (!wide && strcmp(role, "control-plane") == 0)
			role = "cp";
		if (n->cpu_pct >= 0)
			snprintf(cpu, sizeof(cpu), "%.0f%%", n->cpu_pct);
		else
			snprintf(cpu, sizeof(cpu), "-");
		if (n->has_mem)
			pair_gib(mem, sizeof(mem), n->mem_used_kib * 1024, n->mem_total_kib * 1024);
		else
			snprintf(mem, sizeof(mem), "-");
		if (n->has_disk)
			pair_gib(disk, sizeof(disk), n->disk_alloc, n->disk_capacity);
		else
			snprintf(disk, sizeof(disk), "-");
		if (!putf(w, sel ? WATCH_STYLE_SELECTED : vm_style(n), "%c %s %s %s %s %s %s %s", sel ? '>' : ' ',
			  cell(a, sizeof(a), n->name, name_w), cell(b, sizeof(b), role, role_w),
			  cell(c, sizeof(c), n->host_known ? vk_host_state_name(n->host) : "?", vm_w),
			  cell(e, sizeof(e), n->ip ? n->ip : "-", ip_w), cell(f, sizeof(f), cpu, cpu_w),
			  cell(g, sizeof(g), mem, mem_w), cell(h, sizeof(h), disk, disk_w)))
			return;
	}
}

static void kube_pane(struct writer *w, const struct vk_watch_data *d)
{
	char when[16], a[128];
	int name_w = 4;

	if (!d->kubernetes)
		return;
	switch (d->api) {
	case VK_WATCH_API_OFF:
		put(w, WATCH_STYLE_HEADER, " KUBERNETES  not asked (the profile is not running)");
		return;
	case VK_WATCH_API_DOWN:
		hms(d->api_down_since, when);
		putf(w, WATCH_STYLE_BAD, " KUBERNETES  unreachable since %s: %s", when,
		     d->api_error ? d->api_error : "no answer");
		return;
	case VK_WATCH_API_OK:
		break;
	}
	putf(w, WATCH_STYLE_HEADER, " KUBERNETES  API %s  pods: %zu, not running and ready: %zu",
	     d->api_server ? d->api_server : "", d->pods_total, d->npods);
	for (size_t i = 0; i < d->nnodes; i++)
		if ((int)strlen(d->nodes[i].name) > name_w)
			name_w = (int)strlen(d->nodes[i].name);
	if (name_w > w->g->cols / 2)
		name_w = w->g->cols / 2;
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct vk_watch_node *n = &d->nodes[i];
		bool ready = n->ready && strcmp(n->ready, "True") == 0;

		putf(w, ready ? WATCH_STYLE_OK : WATCH_STYLE_BAD, "  %s %-9s kubelet %s", cell(a, sizeof(a), n->name, name_w),
		     !n->ready ? "no Node" : ready ? "Ready" : "NotReady", n->kubelet ? n->kubelet : "-");
	}
}

static void pods_pane(struct writer *w, const struct vk_watch_data *d, int keep_rows)
{
	int cols = w->g->cols, phase_w = 9, reason_w = cols >= 120 ? 28 : 18, restarts_w = 8;
	int name_w = cols - 2 - 1 - phase_w - 1 - reason_w - 1 - restarts_w - 1;
	int room = rows_left(w) - keep_rows - 2;
	char a[LINE_MAX_BYTES], b[64], c[64], full[LINE_MAX_BYTES];
	size_t shown = 0;

	if (d->api != VK_WATCH_API_OK || !d->npods)
		return;
	if (room < 1)
		room = 1;
	for (size_t i = 0, longest = 14; i < d->npods; i++) {
		size_t len = strlen(d->pods[i].ns) + 1 + strlen(d->pods[i].name);

		longest = len > longest ? len : longest;
		if (i + 1 == d->npods && (size_t)name_w > longest)
			name_w = (int)longest;
	}
	if (name_w < 10)
		name_w = 10;
	putf(w, WATCH_STYLE_HEADER, " PODS NOT RUNNING AND READY (%zu)", d->npods);
	putf(w, WATCH_STYLE_DIM, "  %s %s %s RESTARTS", cell(a, sizeof(a), "NAMESPACE/NAME", name_w),
	     cell(b, sizeof(b), "PHASE", phase_w), cell(c, sizeof(c), "REASON", reason_w));
	for (size_t i = 0; i < d->npods && (int)shown < room; i++, shown++) {
		const struct vk_watch_pod *p = &d->pods[i];

		if ((int)shown == room - 1 && i + 1 < d->npods) {
			putf(w, WATCH_STYLE_DIM, "  ... and %zu more", d->npods - i);
			return;
		}
		snprintf(full, sizeof(full), "%s/%s", p->ns, p->name);
		putf(w, WATCH_STYLE_BAD, "  %s %s %s %ld", cell(a, sizeof(a), full, name_w), cell(b, sizeof(b), p->phase, phase_w),
		     cell(c, sizeof(c), p->reason, reason_w), p->restarts);
	}
}

static void addons_pane(struct writer *w, const struct vk_watch_data *d)
{
	char line[LINE_MAX_BYTES], when[16];
	size_t len = 0;
	bool bad = false, any = false;

	if (!d->kubernetes || !d->naddons)
		return;
	hms(d->addons_at, when);
	len = (size_t)snprintf(line, sizeof(line), " ADDONS ");
	for (size_t i = 0; i < d->naddons; i++) {
		const struct vk_watch_addon *a = &d->addons[i];
		char item[256];
		int n;

		/* the enabled ones, and any other the cluster has */
		if (!a->enabled && (strcmp(a->state, vk_addon_state_name(VK_ADDON_NOT_APPLIED)) == 0 || strcmp(a->state, "-") == 0))
			continue;
		n = snprintf(item, sizeof(item), " %s %s%s", a->name, a->state, i + 1 < d->naddons ? " " : "");
		if (strcmp(a->state, vk_addon_state_name(VK_ADDON_READY)) != 0 && strcmp(a->state, "-") != 0)
			bad = true;
		if (len + (size_t)n > (size_t)w->g->cols && any) {
			put(w, bad ? WATCH_STYLE_WARN : WATCH_STYLE_NORMAL, line);
			len = (size_t)snprintf(line, sizeof(line), "        ");
			bad = strcmp(a->state, vk_addon_state_name(VK_ADDON_READY)) != 0 && strcmp(a->state, "-") != 0;
		}
		if (len + (size_t)n < sizeof(line)) {
			memcpy(line + len, item, (size_t)n + 1);
			len += (size_t)n;
		}
		any = true;
	}
	if (!any)
		snprintf(line + len, sizeof(line) - len, " none enabled");
	if (d->addons_at) {
		if (len + 17 > (size_t)w->g->cols && any) {
			put(w, bad ? WATCH_STYLE_WARN : WATCH_STYLE_NORMAL, line);
			len = (size_t)snprintf(line, sizeof(line), "      ");
			bad = false;
		}
		snprintf(line + len, sizeof(line) - len, "  (as of %s)", when);
	}
	put(w, bad ? WATCH_STYLE_WARN : WATCH_STYLE_NORMAL, line);
}

/* Events from the newest back, as many as fit, drawn oldest first. */
static void events_list(struct writer *w, const struct vk_watch_data *d, bool warnings_only)
{
	size_t idx[512], n = 0;
	int room = rows_left(w);
	int obj_w = 10, most = w->g->cols / 3 < 20 ? 20 : w->g->cols / 3;
	char a[128], when[16];

	/* the object column as wide as its longest entry, up to a third of the screen */
	for (size_t i = 0; i < d->nevents; i++) {
		int len = (int)(strlen(d->events[i].ns) + 1 + strlen(d->events[i].object));

		if ((!warnings_only || strcmp(d->events[i].type, "Warning") == 0) && len > obj_w)
			obj_w = len;
	}
	if (obj_w > most)
		obj_w = most;
	if (obj_w > (int)sizeof(a) - 1)
		obj_w = (int)sizeof(a) - 1;
	for (size_t i = d->nevents; i-- > 0 && (int)n < room && n < sizeof(idx) / sizeof(idx[0]);)
		if (!warnings_only || strcmp(d->events[i].type, "Warning") == 0)
			idx[n++] = i;
	if (!n) {
		put(w, WATCH_STYLE_DIM, warnings_only ? "  none" : "  no events");
		return;
	}
	while (n-- > 0) {
		const struct vk_watch_event *e = &d->events[idx[n]];
		char obj[LINE_MAX_BYTES], count[32] = "";

		hms(e->last, when);
		snprintf(obj, sizeof(obj), "%s%s%s", e->ns, *e->ns ? "/" : "", e->object);
		if (e->count > 1)
			snprintf(count, sizeof(count), " (x%ld)", e->count);
		putf(w, strcmp(e->type, "Warning") == 0 ? WATCH_STYLE_WARN : WATCH_STYLE_NORMAL, "  %s %s %s%s: %s",
		     when, cell(a, sizeof(a), obj, obj_w), e->reason, count, e->message);
	}
}

static void help_pane(struct writer *w)
{
	static const char *const keys[] = {
		"  q            quit (the terminal is restored)",
		"  ?            this help (any key goes back)",
		"  up / down    select a node (also k / j)",
		"  l            the selected node's console log, its last lines",
		"  e            all events, newest last",
		"  Esc          back to the main pane",
		"  r            refresh now (the addons too: otherwise every 30 s)",
		"  resize       the screen is laid out again",
	};

	put(w, WATCH_STYLE_HEADER, " KEYS");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(w, WATCH_STYLE_NORMAL, keys[i]);
}

static void footer(struct writer *w, const struct vk_watch_data *d, const struct watch_ui *ui)
{
	char when[16];
	const char *keys = ui->pane == WATCH_PANE_MAIN ? " up/down node  l log  e events  r refresh  ? help  q quit"
						       : " Esc back  up/down node  l log  e events  r refresh  ? help  q quit";

	hms(d->at, when);
	w->last = w->g->rows;
	w->row = w->g->rows - 1;
	if (ui->refreshing)
		putf(w, WATCH_STYLE_TITLE, "%s  (refreshing)", keys);
	else
		put(w, WATCH_STYLE_TITLE, keys);
}

void watch_layout(const struct vk_watch_data *d, const struct watch_ui *ui, int rows, int cols, struct watch_grid *g)
{
	struct writer w = { .g = g };

	if (rows < 1)
		rows = 1;
	if (cols < 1)
		cols = 1;
	g->rows = rows;
	g->cols = cols;
	g->line = xcalloc((size_t)rows, sizeof(*g->line));
	g->style = xcalloc((size_t)rows, sizeof(*g->style));
	for (int r = 0; r < rows; r++) {
		g->line[r] = xmalloc((size_t)cols + 1);
		memset(g->line[r], ' ', (size_t)cols);
		g->line[r][cols] = '\0';
	}
	w.last = rows > 1 ? rows - 1 : rows;
	head(&w, d, ui);
	if (ui->help) {
		help_pane(&w);
	} else {
		nodes_pane(&w, d, ui);
		switch (ui->pane) {
		case WATCH_PANE_MAIN:
			kube_pane(&w, d);
			/* the pods leave room for the addons and a few warnings */
			pods_pane(&w, d, 5);
			addons_pane(&w, d);
			if (d->api == VK_WATCH_API_OK && rows_left(&w) > 1) {
				put(&w, WATCH_STYLE_HEADER, " WARNINGS (newest last)");
				events_list(&w, d, true);
			}
			break;
		case WATCH_PANE_EVENTS:
			put(&w, WATCH_STYLE_HEADER, " EVENTS (all, newest last)");
			if (d->api != VK_WATCH_API_OK)
				kube_pane(&w, d);
			else
				events_list(&w, d, false);
			break;
		case WATCH_PANE_LOG:
			putf(&w, WATCH_STYLE_HEADER, " CONSOLE LOG of %s (its last lines)",
			     ui->selected < d->nnodes ? d->nodes[ui->selected].name : "?");
			if (ui->log_error) {
				putf(&w, WATCH_STYLE_BAD, "  %s", ui->log_error);
			} else if (ui->log) {
				size_t n = 0, room = (size_t)rows_left(&w);

				while (ui->log[n])
					n++;
				for (size_t i = n > room ? n - room : 0; i < n; i++)
					putf(&w, WATCH_STYLE_NORMAL, "  %s", ui->log[i]);
			}
			break;
		}
	}
	if (rows > 1)
		footer(&w, d, ui);
}

void watch_grid_free(struct watch_grid *g)
{
	if (!g->line)
		return;
	for (int r = 0; r < g->rows; r++)
		free(g->line[r]);
	free(g->line);
	free(g->style);
	g->line = NULL;
	g->style = NULL;
}
