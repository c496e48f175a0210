/* status --watch's layout from fixed data (80x24, 200x50, long names cut, the panes the keys open) and the watch module's pure helpers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "watch-view.h"

#define LONG_NODE "a-profile-with-a-very-long-name-for-its-nodes-m02"
#define LONG_POD "a-deployment-whose-name-is-much-longer-than-any-screen-column-could-hold-7f9c6d8b5-xk2lq"

static struct vk_watch_node nodes[] = {
	{ .name = "dev", .role = "control-plane", .ip = "192.168.100.2", .host_known = true, .host = VK_HOST_RUNNING,
	  .cpu_pct = 12.4, .has_mem = true, .mem_used_kib = 1048576, .mem_total_kib = 4194304, .has_disk = true,
	  .disk_alloc = 3ULL << 30, .disk_capacity = 20ULL << 30, .ready = "True", .kubelet = "v1.32.0" },
	{ .name = LONG_NODE, .role = "worker", .ip = "192.168.100.3", .host_known = true, .host = VK_HOST_STOPPED,
	  .cpu_pct = -1, .ready = "Unknown", .kubelet = "v1.32.0" },
};

static struct vk_watch_pod pods[] = {
	{ .ns = "default", .name = LONG_POD, .phase = "Pending", .reason = "ImagePullBackOff" },
	{ .ns = "kube-system", .name = "coredns-5d78c9869d-abcde", .phase = "Running", .reason = "CrashLoopBackOff",
	  .restarts = 7 },
};

static struct vk_watch_event events[] = {
	{ .ns = "default", .object = "Pod/web-1", .type = "Normal", .reason = "Scheduled",
	  .message = "Successfully assigned default/web-1 to dev", .count = 1, .last = 1796613600 },
	{ .ns = "default", .object = "Pod/" LONG_POD, .type = "Warning", .reason = "Failed",
	  .message = "Failed to pull image \"example.com/bad:1\": manifest unknown", .count = 3, .last = 1796613660 },
	{ .ns = "kube-system", .object = "Pod/coredns-5d78c9869d-abcde", .type = "Warning", .reason = "BackOff",
	  .message = "Back-off restarting failed container \xe2\x80\x9c" "coredns\xe2\x80\x9d", .count = 1,
	  .last = 1796613665 },
};

static struct vk_watch_addon addons[] = {
	{ .name = "dns", .enabled = true, .state = "Ready" },
	{ .name = "metrics-server", .enabled = true, .state = "Pending" },
	{ .name = "dashboard", .enabled = false, .state = "Not applied" },
};

static struct vk_watch_data fixed(void)
{
	return (struct vk_watch_data){
		.profile = "dev",
		.at = 1796613667, /* 2026-12-07T03:21:07Z */
		.kubernetes = true,
		.nodes = nodes,
		.nnodes = 2,
		.api = VK_WATCH_API_OK,
		.api_server = "https://192.168.100.2:8443",
		.pods = pods,
		.npods = 2,
		.pods_total = 14,
		.events = events,
		.nevents = 3,
		.addons = addons,
		.naddons = 3,
		.addons_at = 1796613660,
	};
}

/* The row that contains NEEDLE, or -1. */
static int find_row(const struct watch_grid *g, const char *needle)
{
	for (int r = 0; r < g->rows; r++)
		if (strstr(g->line[r], needle))
			return r;
	return -1;
}

static void dump(const struct watch_grid *g)
{
	for (int r = 0; r < g->rows; r++)
		printf("# |%s|\n", g->line[r]);
}

static bool all_rows_exact(const struct watch_grid *g)
{
	for (int r = 0; r < g->rows; r++) {
		if ((int)strlen(g->line[r]) != g->cols)
			return false;
		for (const char *c = g->line[r]; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				return false;
	}
	return true;
}

static void test_80x24(void)
{
	struct vk_watch_data d = fixed();
	struct watch_ui ui = { .interval_s = 2 };
	struct watch_grid g = { 0 };
	int r;

	watch_layout(&d, &ui, 24, 80, &g);
	dump(&g);
	is_int(g.rows, 24, "80x24: 24 rows");
	ok(all_rows_exact(&g), "80x24: every row is 80 printable bytes");
	contains(g.line[0], "profile dev", "the title names the profile");
	contains(g.line[0], "03:21:07", "and the time of the refresh");
	contains(g.line[0], "every 2s", "and the interval");
	r = find_row(&g, "> dev ");
	ok(r > 0, "the first node is selected");
	if (r > 0) {
		contains(g.line[r], "Running", "its VM state");
		contains(g.line[r], "192.168.100.2", "its IP");
		contains(g.line[r], "12%", "its vCPU use");
		contains(g.line[r], "1.0/4.0G", "its memory used/total");
		contains(g.line[r], "3.0/20.0G", "its disk allocation");
		is_int(g.style[r], WATCH_STYLE_SELECTED, "drawn as selected");
	}
	r = find_row(&g, "a-profile-wi~ ");
	ok(r > 0 && find_row(&g, LONG_NODE) < 0, "a long node name is cut with '~'");
	if (r > 0) {
		contains(g.line[r], "Stopped", "the stopped worker's state is still in its column");
		is_int(g.style[r], WATCH_STYLE_BAD, "and it is drawn as bad");
	}
	ok(find_row(&g, "pods: 14, not running and ready: 2") > 0, "the Kubernetes pane counts the pods");
	ok(find_row(&g, "Ready     kubelet v1.32.0") > 0, "a node's Ready condition and kubelet version");
	ok(find_row(&g, "NotReady  kubelet v1.32.0") > 0, "and a node that is not Ready");
	r = find_row(&g, "default/a-deployment");
	ok(r > 0 && strstr(g.line[r], "~ ") && strstr(g.line[r], "ImagePullBackOff"),
	   "a long pod name is cut, its reason stays");
	ok(find_row(&g, "CrashLoopBackOff   7") > 0, "a crash-looping pod with its restarts");
	r = find_row(&g, " ADDONS ");
	ok(r > 0 && strstr(g.line[r], "dns Ready") && strstr(g.line[r], "metrics-server Pending"),
	   "the enabled addons with their state");
	ok(find_row(&g, "dashboard") < 0, "a disabled addon that is not applied is left out");
	ok(find_row(&g, "WARNINGS") > 0, "the warnings pane");
	ok(find_row(&g, "Failed (x3): Failed to pull") > 0, "a warning with its count and message");
	ok(find_row(&g, "Scheduled") < 0, "Normal events are not warnings");
	contains(g.line[23], "q quit", "the footer names the keys");
	is_int(g.style[23], WATCH_STYLE_TITLE, "in the title's style");
	watch_grid_free(&g);
}

static void test_200x50(void)
{
	struct vk_watch_data d = fixed();
	struct watch_ui ui = { .interval_s = 5, .selected = 1 };
	struct watch_grid g = { 0 };
	int r;

	watch_layout(&d, &ui, 50, 200, &g);
	dump(&g);
	is_int(g.rows, 50, "200x50: 50 rows");
	ok(all_rows_exact(&g), "200x50: every row is 200 printable bytes");
	r = find_row(&g, "> " LONG_NODE);
	ok(r > 0, "the long node name is whole on a wide screen, and selected");
	ok(find_row(&g, "control-plane") > 0, "roles are spelt out");
	r = find_row(&g, "default/" LONG_POD);
	ok(r > 0, "the long pod name is whole");
	ok(find_row(&g, "every 5s") == 0, "the title says the interval");
	ok(find_row(&g, "Back-off restarting failed container ?coredns?") > 0,
	   "a character that is not ASCII becomes one '?'");
	contains(g.line[49], "q quit", "the footer is on the last row");
	watch_grid_free(&g);
}

static void test_panes(void)
{
	struct vk_watch_data d = fixed();
	struct watch_ui ui = { .interval_s = 2 };
	struct watch_grid g = { 0 };
	char *log[] = { "[    0.000000] Linux version 5.14.0", "VIRTKUBE-STAGE kubeadm-init ok", NULL };

	ui.pane = WATCH_PANE_EVENTS;
	watch_layout(&d, &ui, 24, 80, &g);
	ok(find_row(&g, "EVENTS (all") > 0 && find_row(&g, "Scheduled: Successfully assigned") > 0,
	   "e: every event, Normal ones too");
	ok(find_row(&g, "Scheduled") < find_row(&g, "BackOff"), "oldest first");
	watch_grid_free(&g);

	ui.pane = WATCH_PANE_LOG;
	ui.log = log;
	watch_layout(&d, &ui, 24, 80, &g);
	ok(find_row(&g, "CONSOLE LOG of dev") > 0, "l: the selected node's console log");
	ok(find_row(&g, "VIRTKUBE-STAGE kubeadm-init ok") > 0, "with its lines");
	watch_grid_free(&g);
	ui.log = NULL;
	ui.log_error = "cannot open the console log '/x/console.log': No such file or directory";
	watch_layout(&d, &ui, 24, 80, &g);
	ok(find_row(&g, "cannot open the console log") > 0, "a log that cannot be read says why");
	watch_grid_free(&g);

	ui.pane = WATCH_PANE_MAIN;
	ui.help = true;
	watch_layout(&d, &ui, 24, 80, &g);
	ok(find_row(&g, "KEYS") > 0 && find_row(&g, "  q ") > 0 && find_row(&g, "  l ") > 0 && find_row(&g, "  e ") > 0 &&
		   find_row(&g, "  r ") > 0 && find_row(&g, "up / down") > 0,
	   "?: the keys");
	watch_grid_free(&g);

	ui.refreshing = true;
	ui.help = false;
	watch_layout(&d, &ui, 24, 80, &g);
	contains(g.line[23], "(refreshing)", "the footer says when a refresh is under way");
	watch_grid_free(&g);
}

static void test_down(void)
{
	struct vk_watch_data d = fixed();
	struct watch_ui ui = { .interval_s = 2 };
	struct watch_grid g = { 0 };
	int r;

	d.api = VK_WATCH_API_DOWN;
	d.api_down_since = 1796613601; /* 03:20:01 */
	d.api_error = "connection refused at https://192.168.100.2:8443";
	d.problem = "the VM of profile 'dev' is Stopped";
	d.hint = "start it with 'virtkube start -p dev'";
	d.npods = 0;
	d.busy_pid = 4242;
	d.busy_command = "virtkube start -p dev";
	nodes[0].guest_stage = "kubeadm-init";
	watch_layout(&d, &ui, 24, 80, &g);
	dump(&g);
	r = find_row(&g, "unreachable since 03:20:01: connection refused");
	ok(r > 0, "an API that stopped answering: unreachable since when, and why");
	if (r > 0)
		is_int(g.style[r], WATCH_STYLE_BAD, "drawn as bad");
	ok(find_row(&g, "! the VM of profile 'dev' is Stopped") > 0, "the problem status would name");
	ok(find_row(&g, "hint: start it with 'virtkube start -p dev'") > 0, "with its hint");
	ok(find_row(&g, "virtkube start -p dev (pid 4242)") > 0, "a start in progress");
	ok(find_row(&g, "GUEST  dev: at stage kubeadm-init") > 0, "and its guest stage");
	ok(find_row(&g, "WARNINGS") < 0, "no warnings pane without the API");
	ok(find_row(&g, "dns Ready") > 0, "the addons as last seen");
	nodes[0].guest_stage = NULL;
	watch_grid_free(&g);

	/* the smallest screens still lay out (nothing is drawn past them) */
	for (int rows = 1; rows <= 6; rows++)
		for (int cols = 1; cols <= 30; cols += 7) {
			watch_layout(&d, &ui, rows, cols, &g);
			if (!all_rows_exact(&g) || g.rows != rows) {
				ok(0, "%dx%d lays out", cols, rows);
				watch_grid_free(&g);
				return;
			}
			watch_grid_free(&g);
		}
	ok(1, "screens from 1x1 to 29x6 lay out");
}

static void test_helpers(void)
{
	is_int((long)(vk_watch_cpu_pct(1000000000ULL, 2000000000ULL, 2000000000LL, 1) + 0.5), 50,
	       "1 s of vCPU time in 2 s on one vCPU is 50%%");
	is_int((long)(vk_watch_cpu_pct(0, 2000000000ULL, 1000000000LL, 4) + 0.5), 50, "2 s in 1 s on four vCPUs is 50%%");
	ok(vk_watch_cpu_pct(5, 4, 1000, 1) < 0, "a counter that went back (a reboot) is unknown");
	ok(vk_watch_cpu_pct(0, 10, 0, 1) < 0, "no time between samples is unknown");
	is_int(vk_watch_parse_time("2026-12-07T03:21:07Z"), 1796613667, "RFC 3339 time");
	is_int(vk_watch_parse_time("2026-12-07T03:21:07.123456Z"), 1796613667, "with a fraction (MicroTime)");
	is_int(vk_watch_parse_time("yesterday"), 0, "not a time");
	is_int(vk_watch_parse_time(NULL), 0, "no time");
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_80x24();
	test_200x50();
	test_panes();
	test_down();
	test_helpers();
	return done_testing();
}
