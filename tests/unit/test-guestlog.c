/* Unit tests for src/guestlog: the console protocol parser, the follower on a file being appended, and the wait. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/guestlog.h"
#include "vm/guestssh.h"
#include "profile/profile.h"
#include "cluster/follow.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void test_parse(void)
{
	struct vk_guest_event ev;

	ok(vk_guest_parse_line("VIRTKUBE-STAGE payload ok mode=kubernetes", &ev), "a STAGE ok line parses");
	ok(ev.type == VK_GUEST_STAGE && ev.ok, "as an ok stage");
	is_str(ev.stage, "payload", "named payload");
	is_str(ev.text, "mode=kubernetes", "with its detail");

	ok(vk_guest_parse_line("VIRTKUBE-STAGE containerd fail containerd.sock did not appear in 60 s\r\n", &ev),
	   "a STAGE fail line with CRLF parses");
	ok(ev.type == VK_GUEST_STAGE && !ev.ok, "as a failed stage");
	is_str(ev.text, "containerd.sock did not appear in 60 s", "detail without the CR");

	ok(vk_guest_parse_line("VIRTKUBE-STAGE kubelet ok", &ev) && ev.ok && ev.text[0] == '\0', "a stage without detail");
	ok(vk_guest_parse_line("[   12.345678] cloud-init[612]: VIRTKUBE-STAGE system ok swap off", &ev) &&
	   strcmp(ev.stage, "system") == 0, "a protocol line after other console output on the same line");
	ok(vk_guest_parse_line("VIRTKUBE-LOG containerd:   indented: line: with colons", &ev), "a LOG line parses");
	ok(ev.type == VK_GUEST_LOG, "as LOG");
	is_str(ev.stage, "containerd", "its stage");
	is_str(ev.text, "  indented: line: with colons", "the line keeps its own indentation and colons");
	ok(vk_guest_parse_line("VIRTKUBE-FAILED containerd", &ev) && ev.type == VK_GUEST_FAILED, "FAILED parses");
	is_str(ev.stage, "containerd", "with the stage");
	ok(vk_guest_parse_line("VIRTKUBE-READY\r", &ev) && ev.type == VK_GUEST_READY, "READY parses");
	ok(vk_guest_parse_line("VIRTKUBE-BOOT 5b1c6d1e-aaaa-bbbb-cccc-0123456789ab", &ev) && ev.type == VK_GUEST_BOOT,
	   "BOOT parses");
	is_str(ev.text, "5b1c6d1e-aaaa-bbbb-cccc-0123456789ab", "with the boot id");

	ok(!vk_guest_parse_line("Welcome to Debian GNU/Linux 12", &ev), "ordinary console output is not protocol");
	ok(!vk_guest_parse_line("VIRTKUBE-STAGE payload maybe", &ev), "a stage with neither ok nor fail is refused");
	ok(!vk_guest_parse_line("VIRTKUBE-STAGE", &ev), "a bare STAGE is refused");
	ok(!vk_guest_parse_line("VIRTKUBE-STAGE Bad$Name ok", &ev), "a stage name with odd characters is refused");
	ok(!vk_guest_parse_line("VIRTKUBE-READYX", &ev), "READYX is not READY");
	ok(!vk_guest_parse_line("VIRTKUBE-FAILED ", &ev), "FAILED without a stage is refused");
	ok(!vk_guest_parse_line("VIRTKUBE-LOG nocolon", &ev), "LOG without a colon is refused");
	{
		char long_line[2000];

		memset(long_line, 'x', sizeof(long_line));
		memcpy(long_line, "VIRTKUBE-STAGE big ok ", 22);
		long_line[sizeof(long_line) - 1] = '\0';
		ok(vk_guest_parse_line(long_line, &ev) && strlen(ev.text) < VK_GUEST_LINE_MAX, "an over-long line is cut, not overflowed");
	}
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0) {
			/* checked by what the follower sees */
		}
		close(fd);
	}
}

struct seen {
	struct vk_strbuf s;
};

static void record(const struct vk_guest_event *ev, void *data)
{
	struct seen *seen = data;
	static const char *names[] = { "BOOT", "STAGE", "LOG", "READY", "FAILED" };

	vk_strbuf_addf(&seen->s, "%s:%s%s;", names[ev->type], ev->stage,
		       ev->type == VK_GUEST_STAGE ? (ev->ok ? "+" : "-") : "");
}

static void test_follow(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/console.log", tmp);
	struct vk_guestlog *g;
	struct vk_error err = { 0 };
	struct seen seen = { VK_STRBUF_INIT };

	append(path, "old boot\nVIRTKUBE-BOOT old\nVIRTKUBE-STAGE payload fail stale\nVIRTKUBE-FAILED payload\n");
	{
		_cleanup_free_ char *old = NULL;
		size_t len = 0;

		vk_read_file(path, &old, &len, NULL);
		g = vk_guestlog_new(path, (off_t)len);
	}
	is_int(vk_guestlog_poll(g, record, &seen, &err), 0, "what was in the log before the start offset is ignored");
	ok(!vk_guestlog_failed(g), "so an earlier boot's failure does not count");

	append(path, "[    0.000000] Linux version 6.1\r\nVIRTKUBE-BOOT abc\r\nVIRTKUBE-STAGE payl");
	is_int(vk_guestlog_poll(g, record, &seen, &err), 1, "a complete BOOT line is one event; the partial line waits");
	append(path, "oad ok mode=kubernetes\r\nVIRTKUBE-STAGE system ok swap off\n");
	is_int(vk_guestlog_poll(g, record, &seen, &err), 2, "the partial line completes and one more arrives");
	is_str(vk_guestlog_last_stage(g), "system", "the last stage is system");
	ok(!vk_guestlog_ready(g) && !vk_guestlog_failed(g), "not ready, not failed yet");
	append(path, "random noise\nVIRTKUBE-STAGE containerd fail socket missing\n");
	for (int i = 0; i < 25; i++) {
		char line[64];

		snprintf(line, sizeof(line), "VIRTKUBE-LOG containerd: line %d\n", i);
		append(path, line);
	}
	append(path, "VIRTKUBE-FAILED containerd\n");
	vk_guestlog_poll(g, record, &seen, &err);
	is_str(vk_guestlog_failed(g), "containerd", "FAILED containerd is seen");
	is_str(vk_guestlog_failed_detail(g), "socket missing", "with the stage's detail");
	{
		const char *log = vk_guestlog_failure_log(g);

		ok(strncmp(log, "line 5\n", 7) == 0, "the failure log keeps the last 20 lines (from line 5)");
		contains(log, "line 24\n", "up to the last");
		ok(!strstr(log, "line 4\n"), "and drops older ones");
	}
	is_str(seen.s.buf, "BOOT:;STAGE:payload+;STAGE:system+;STAGE:containerd-;" "LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;"
	       "LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;"
	       "LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;"
	       "LOG:containerd;LOG:containerd;LOG:containerd;LOG:containerd;FAILED:containerd;",
	       "the callback saw every event in order");

	append(path, "VIRTKUBE-BOOT second\nVIRTKUBE-READY\n");
	vk_guestlog_poll(g, NULL, NULL, &err);
	ok(vk_guestlog_ready(g) && !vk_guestlog_failed(g), "a new BOOT clears the old failure; READY then counts");

	truncate(path, 0);
	append(path, "VIRTKUBE-BOOT third\nVIRTKUBE-STAGE payload ok\n");
	vk_guestlog_poll(g, NULL, NULL, &err);
	ok(!vk_guestlog_ready(g), "a truncated log is read from its start (new BOOT: not ready)");
	is_str(vk_guestlog_last_stage(g), "payload", "and its stages are seen");
	vk_guestlog_free(g);
	vk_strbuf_release(&seen.s);

	g = vk_guestlog_new("/nonexistent-dir/console.log", 0);
	is_int(vk_guestlog_poll(g, NULL, NULL, &err), 0, "a log that does not exist yet is no error");
	vk_guestlog_free(g);
}

/* A fake guest: a child appending protocol lines to PATH over time. */
static pid_t fake_guest(const char *path, const char *const *lines, int delay_ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (int i = 0; lines[i]; i++) {
			usleep((useconds_t)delay_ms * 1000);
			append(path, lines[i]);
		}
		_exit(0);
	}
	return pid;
}

static int stop_after_three(void *data, struct vk_error *err)
{
	int *calls = data;

	if (++*calls < 3)
		return 0;
	return vk_error_set(err, VK_ERR_LIBVIRT, "domain 'virtkube' is no longer running (crashed)");
}

static void test_wait(const char *tmp)
{
	_cleanup_free_ char *ok_log = xasprintf("%s/ok.log", tmp);
	_cleanup_free_ char *bad_log = xasprintf("%s/bad.log", tmp);
	_cleanup_free_ char *quiet_log = xasprintf("%s/quiet.log", tmp);
	const char *good[] = { "VIRTKUBE-BOOT b1\n", "VIRTKUBE-STAGE payload ok mode=none\n", "VIRTKUBE-STAGE system ok\n",
			       "VIRTKUBE-READY\n", NULL };
	const char *bad[] = { "VIRTKUBE-BOOT b1\n", "VIRTKUBE-STAGE payload ok\n", "VIRTKUBE-STAGE system ok\n",
			      "VIRTKUBE-STAGE binaries ok\n", "VIRTKUBE-STAGE containerd fail containerd did not start\n",
			      "VIRTKUBE-LOG containerd: + systemctl restart containerd\n",
			      "VIRTKUBE-LOG containerd: Job for containerd.service failed\n", "VIRTKUBE-FAILED containerd\n", NULL };
	struct seen seen = { VK_STRBUF_INIT };
	struct vk_error err = { 0 };
	struct vk_guestlog *g;
	int status, calls = 0;
	pid_t pid;
	long t0;

	g = vk_guestlog_new(ok_log, 0);
	pid = fake_guest(ok_log, good, 50);
	ok(vk_guestlog_wait(g, "dev", 20000, 20, record, NULL, &seen, &err) == 0, "wait returns once the guest says READY (%s)", err.message);
	is_str(seen.s.buf, "BOOT:;STAGE:payload+;STAGE:system+;READY:;", "the stages were shown as they came");
	waitpid(pid, &status, 0);
	vk_guestlog_free(g);

	g = vk_guestlog_new(bad_log, 0);
	pid = fake_guest(bad_log, bad, 30);
	t0 = vk_now_ms();
	ok(vk_guestlog_wait(g, "dev", 20000, 20, NULL, NULL, NULL, &err) < 0, "wait fails when the guest reports VIRTKUBE-FAILED containerd");
	ok(vk_now_ms() - t0 < 10000, "at once, not at the timeout");
	is_int(err.code, VK_ERR_GUEST, "with the guest error code");
	contains(err.message, "stage 'containerd'", "naming the stage");
	contains(err.message, "containerd did not start", "with its detail");
	contains(err.message, "Job for containerd.service failed", "and its last log lines");
	contains(err.hint, "virtkube logs -p dev", "the hint points at virtkube logs");
	waitpid(pid, &status, 0);
	vk_guestlog_free(g);

	append(quiet_log, "VIRTKUBE-STAGE payload ok\n");
	g = vk_guestlog_new(quiet_log, 0);
	t0 = vk_now_ms();
	ok(vk_guestlog_wait(g, "dev", 300, 50, NULL, NULL, NULL, &err) < 0 && err.code == VK_ERR_TIMEOUT, "a guest that stops talking times out");
	ok(vk_now_ms() - t0 >= 300, "after the timeout");
	contains(err.message, "waiting for the guest to finish provisioning", "the message says what was awaited");
	contains(err.message, "'payload'", "and the last stage seen");
	contains(err.hint, "virtkube logs -p dev", "the hint points at virtkube logs");
	vk_guestlog_free(g);

	g = vk_guestlog_new(quiet_log, 0);
	ok(vk_guestlog_wait(g, "dev", 20000, 10, NULL, stop_after_three, &calls, &err) < 0, "a failing check stops the wait");
	contains(err.message, "no longer running", "with the check's message");
	is_int(calls, 3, "after three checks");
	vk_guestlog_free(g);
	vk_strbuf_release(&seen.s);
}

static int stop_now(void *data, struct vk_error *err)
{
	(*(int *)data)++;
	return vk_error_set(err, VK_ERR_FAILED, "the VM stopped (test check)");
}

/* vk_follow_guest over a profile's console log: "provisioned" is
 * recorded only once READY was seen, and a failing check ends the wait. */
static void test_provision_follow(const char *tmp)
{
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *console = NULL;
	int checks = 0;

	setenv("VIRTKUBE_HOME", home, 1);
	p = vk_profile_open("plain", true, &err);
	if (!p) {
		ok(0, "profile 'plain' opens (%s)", err.message);
		return;
	}
	p->cfg.kind = VK_KIND_PLAIN;
	ok(vk_profile_save(p, &err) == 0, "profile 'plain' (no Kubernetes) saved");
	console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);
	ok(vk_follow_pending(p), "a new profile has its provisioning pending");

	{
		const char *log = "VIRTKUBE-BOOT 1\nVIRTKUBE-STAGE payload ok\n";

		vk_write_file_atomic(console, log, strlen(log), 0644, &err);
	}
	ok(vk_follow_guest(p, 0, 30, NULL, NULL, stop_now, &checks, &err) < 0 && checks == 1,
	   "a failing check ends the follow at its first poll");
	contains(err.message, "the VM stopped (test check)", "with the check's error");
	ok(vk_follow_pending(p), "provisioning is still pending");

	{
		const char *log = "VIRTKUBE-BOOT 1\nVIRTKUBE-STAGE payload ok\nVIRTKUBE-BOOT 2\nVIRTKUBE-STAGE payload ok\n"
				  "VIRTKUBE-STAGE system ok\nVIRTKUBE-READY\n";

		vk_write_file_atomic(console, log, strlen(log), 0644, &err);
	}
	vk_error_clear(&err);
	ok(vk_follow_guest(p, 0, 30, NULL, NULL, NULL, NULL, &err) == 0, "the follow ends at READY (%s)", err.message);
	ok(!vk_follow_pending(p), "provisioning is no longer pending");
	{
		_cleanup_profile_ struct vk_profile *again = vk_profile_open("plain", false, &err);

		ok(again && !vk_follow_pending(again), "and config.json says so");
	}
}

/* vk_guest_run against stand-in ssh programs on PATH. */
static void test_guest_run(const char *tmp)
{
	_cleanup_free_ char *bin = xasprintf("%s/fakebin", tmp), *ssh = xasprintf("%s/ssh", bin);
	_cleanup_free_ char *old_path = xstrdup(getenv("PATH") ?: "/usr/bin:/bin");
	_cleanup_free_ char *path = xasprintf("%s:%s", bin, old_path), *key = NULL, *out = NULL;
	_cleanup_profile_ struct vk_profile *p = vk_profile_open("sshed", true, NULL);
	struct vk_error err = { 0 };
	int status = -1;
	long t0;

	if (!p) {
		ok(0, "profile 'sshed' opens");
		return;
	}
	vk_mkdir_p(bin, 0755, &err);
	vk_mkdir_p(p->dir, 0700, &err);
	key = vk_profile_path(p, VK_FILE_SSH_KEY);
	vk_write_file_atomic(key, "k", 1, 0600, &err);
	vk_profile_set_str(&p->cfg.node_ip, "192.168.100.7");
	p->cfg.state = VK_PROFILE_STOPPED;
	ok(vk_guest_run(p, "true", 1000, &out, &status, &err) < 0, "a stopped profile is refused");
	contains(err.message, "profile 'sshed' is not running", "saying it is not running");
	p->cfg.state = VK_PROFILE_RUNNING;

	setenv("PATH", path, 1);
	{
		const char *script = "#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$0.args\"\necho active\nexit 0\n";

		vk_write_file_atomic(ssh, script, strlen(script), 0755, &err);
	}
	vk_error_clear(&err);
	ok(vk_guest_run(p, "systemctl is-active kubelet.service", 5000, &out, &status, &err) == 0,
	   "a command runs through ssh (%s)", err.message);
	is_str(out, "active\n", "its output is captured");
	is_int(status, 0, "and its exit status");
	{
		_cleanup_free_ char *args_path = xasprintf("%s.args", ssh), *args = NULL;

		vk_read_file(args_path, &args, NULL, &err);
		contains(args, "BatchMode=yes\n", "ssh runs in batch mode (never asks anything)");
		contains(args, "docker@192.168.100.7\n--\nsystemctl is-active kubelet.service\n",
			 "to docker@IP, then -- and the command as one word");
	}
	free(out);
	out = NULL;

	{
		const char *script = "#!/bin/sh\nexit 3\n";

		vk_write_file_atomic(ssh, script, strlen(script), 0755, &err);
	}
	ok(vk_guest_run(p, "false", 5000, &out, &status, &err) == 0 && status == 3, "the command's exit status comes back");
	free(out);
	out = NULL;

	{
		const char *script = "#!/bin/sh\nexec sleep 30\n";

		vk_write_file_atomic(ssh, script, strlen(script), 0755, &err);
	}
	t0 = vk_now_ms();
	ok(vk_guest_run(p, "true", 300, &out, &status, &err) < 0 && err.code == VK_ERR_TIMEOUT, "a hanging ssh times out");
	ok(vk_now_ms() - t0 < 10000, "and is killed, not waited for");
	contains(err.message, "gave no answer within 300 ms", "saying how long it waited");

	setenv("PATH", "/nonexistent", 1);
	ok(vk_guest_run(p, "true", 1000, &out, &status, &err) < 0 && err.code == VK_ERR_NOT_FOUND, "no ssh at all is an error");
	contains(err.hint, "openssh-client", "with a hint to install it");
	setenv("PATH", old_path, 1);
}

/* Found by tests/fuzz/fuzz-guestlog.c (corpus/guestlog/regress-overlong-line-tail):
 * a line too long to be ours is dropped whole however the reads cut it; the
 * follower used to drop only what it had read and take the tail for a line. */
static void test_overlong_line(const char *tmp)
{
	_cleanup_free_ char *path = xasprintf("%s/overlong.log", tmp);
	struct vk_error err = { 0 };
	char noise[1500];

	memset(noise, 'x', sizeof(noise) - 1);
	noise[sizeof(noise) - 1] = '\0';
	for (int split = 0; split < 2; split++) {
		struct seen seen = { VK_STRBUF_INIT };
		struct vk_guestlog *g;

		unlink(path);
		g = vk_guestlog_new(path, 0);
		append(path, noise);
		if (split)
			vk_guestlog_poll(g, record, &seen, &err);
		append(path, noise);
		if (split)
			vk_guestlog_poll(g, record, &seen, &err);
		append(path, "VIRTKUBE-READY\nVIRTKUBE-BOOT b\n");
		vk_guestlog_poll(g, record, &seen, &err);
		is_str(seen.s.buf, "BOOT:;", "a 3000-byte line ending in VIRTKUBE-READY is no event, %s",
		       split ? "read in three polls" : "read at once");
		ok(!vk_guestlog_ready(g), "and does not make the guest ready");
		vk_guestlog_free(g);
		vk_strbuf_release(&seen.s);
	}
}

/* The stage times, from fixed console data read at fixed times (ms since following began). */
static void test_timing(void)
{
	static const struct {
		long long at_ms;
		const char *line;
	} console[] = {
		{ 0, "[    0.000000] Linux version 6.1" },
		{ 900, "VIRTKUBE-BOOT old" },
		{ 1500, "VIRTKUBE-STAGE payload ok mode=kubernetes" },
		{ 20000, "VIRTKUBE-BOOT 5d1c" },            /* a new run: what came before no longer counts */
		{ 23500, "VIRTKUBE-STAGE payload ok mode=kubernetes payload=iso" },
		{ 26250, "VIRTKUBE-LOG system: swap off" }, /* not a stage: it does not split the time */
		{ 26400, "VIRTKUBE-STAGE system ok" },
		{ 38400, "VIRTKUBE-STAGE binaries ok" },
		{ 38400, "random noise" },
		{ 46000, "\x1b[0mVIRTKUBE-STAGE containerd ok containerd 2.x" },
		{ 151000, "VIRTKUBE-STAGE kubeadm fail exit status 1" },
		{ 151500, "VIRTKUBE-FAILED kubeadm" },
	};
	struct vk_guest_timing t;
	struct vk_guest_event ev;

	vk_guest_timing_start(&t, 0);
	for (size_t i = 0; i < VK_ARRAY_SIZE(console); i++)
		if (vk_guest_parse_line(console[i].line, &ev))
			vk_guest_timing_add(&t, &ev, console[i].at_ms);
	is_int(t.n, 5, "five stages of this run (the earlier run's is dropped at its BOOT)");
	is_str(t.stages[0].stage, "payload", "payload first");
	ok(t.stages[0].seconds == 3.5, "payload: 3.5 s since the BOOT line (%.3f)", t.stages[0].seconds);
	ok(t.stages[1].seconds == 2.9 && strcmp(t.stages[1].stage, "system") == 0, "system: 2.9 s; LOG lines do not count");
	ok(t.stages[2].seconds == 12.0, "binaries: 12 s");
	ok(t.stages[3].seconds == 7.6 && t.stages[3].ok, "containerd: 7.6 s, behind other console output on its line");
	ok(t.stages[4].seconds == 105.0 && !t.stages[4].ok, "kubeadm: 105 s, failed");
	ok(vk_guest_timing_total(&t) > 130.99 && vk_guest_timing_total(&t) < 131.01, "131 s in all");

	/* a first stage with no BOOT line seen counts from the start; a clock that went back counts 0 */
	vk_guest_timing_start(&t, 1000);
	vk_guest_parse_line("VIRTKUBE-STAGE payload ok", &ev);
	vk_guest_timing_add(&t, &ev, 5000);
	vk_guest_timing_add(&t, &ev, 4000);
	ok(t.n == 2 && t.stages[0].seconds == 4.0 && t.stages[1].seconds == 0, "from the start; never negative");
	for (int i = 0; i < VK_GUEST_STAGES_MAX + 5; i++)
		vk_guest_timing_add(&t, &ev, 6000 + i);
	is_int(t.n, VK_GUEST_STAGES_MAX, "at most VK_GUEST_STAGES_MAX stages are kept");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	struct vk_error err = { 0 };

	test_parse();
	test_timing();
	test_follow(tmp);
	test_overlong_line(tmp);
	test_wait(tmp);
	test_provision_follow(tmp);
	test_guest_run(tmp);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
