/* Unit tests for cli/ui.c on a real pseudo-terminal and on a pipe: the status line with elapsed time, NO_COLOR, coloured labels, -q. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static int saved_stderr;

/* Points stderr at FD (a pty's slave or a pipe's write end). */
static void stderr_to(int fd)
{
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
}

static void stderr_back(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
}

/* Everything readable on FD now (non-blocking after the first 200 ms wait). */
static char *drain(int fd)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	char buf[4096];

	fflush(stderr);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		vk_strbuf_add(&sb, buf, (size_t)n);
	}
	return vk_strbuf_detach(&sb, NULL);
}

static void test_plain(void)
{
	int pipefd[2];
	struct ui_status *st;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	if (pipe(pipefd) < 0)
		return;
	stderr_to(pipefd[1]);
	st = ui_status_new(false);
	ui_status_set(st, "waiting for the guest's SSH at %s", "192.168.100.2");
	a = drain(pipefd[0]);
	ui_status_set(st, "waiting for the guest's SSH at %s", "192.168.100.2");
	ui_status_tick(st);
	b = drain(pipefd[0]);
	ui_status_line(st, "guest: containerd ok");
	ui_status_set(st, "waiting for the API server");
	c = drain(pipefd[0]);
	ui_status_free(st);
	ui_error_msg("plain label");
	d = drain(pipefd[0]);
	stderr_back();
	close(pipefd[0]);
	close(pipefd[1]);

	ok(a && strncmp(a, "waiting for the guest's SSH at 192.168.100.2 [0:", 48) == 0 && a[strlen(a) - 1] == '\n',
	   "not a terminal: a plain line with the elapsed time");
	is_str(b, "", "the same text again prints nothing, and tick is silent");
	ok(c && strncmp(c, "guest: containerd ok\nwaiting for the API server [0:", 51) == 0,
	   "a permanent line, then the new status as a plain line");
	is_str(d, "virtkube: error: plain label\n", "no colour off a terminal");
	ok(a && !strchr(a, '\033') && c && !strchr(c, '\033'), "no escape sequences at all");
}

static void test_quiet(void)
{
	int pipefd[2];
	struct ui_status *st;
	_cleanup_free_ char *out = NULL;

	if (pipe(pipefd) < 0)
		return;
	stderr_to(pipefd[1]);
	ui_set_quiet(true);
	st = ui_status_new(false);
	ui_status_set(st, "waiting");
	ui_status_line(st, "a line");
	ui_status_free(st);
	ui_set_quiet(false);
	out = drain(pipefd[0]);
	stderr_back();
	close(pipefd[0]);
	close(pipefd[1]);
	is_str(out, "", "-q: the status prints nothing");
}

/* A pty as stderr, TERM=xterm. Returns the master, or -1 (the test skips). */
static int open_pty(int *slave)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return -1;
	*slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	return *slave < 0 ? -1 : master;
}

static void test_tty(void)
{
	int slave = -1, master = open_pty(&slave);
	struct ui_status *st;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	if (master < 0) {
		ok(1, "# SKIP no pseudo-terminal on this machine");
		return;
	}
	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	stderr_to(slave);
	st = ui_status_new(false);
	ui_status_set(st, "waiting for the guest's SSH");
	a = drain(master);
	ui_status_line(st, "guest: payload ok");
	b = drain(master);
	ui_status_free(st);
	c = drain(master);
	ui_warn("coloured");
	d = drain(master);
	setenv("NO_COLOR", "1", 1);
	st = ui_status_new(false);
	ui_status_set(st, "no colour wanted");
	ui_status_free(st);
	ui_warn("plain");
	e = drain(master);
	unsetenv("NO_COLOR");
	stderr_back();
	close(slave);
	close(master);

	/* xterm's terminfo: el is ESC [ K */
	ok(a && strncmp(a, "\r\033[K| waiting for the guest's SSH  [0:", 38) == 0 && !strchr(a, '\n'),
	   "a terminal: one line drawn in place with the elapsed time, no newline");
	ok(b && strncmp(b, "\r\033[Kguest: payload ok\r\n\r\033[K", 27) == 0 && strstr(b, "waiting for the guest's SSH  [0:"),
	   "a permanent line goes above, the status is redrawn below it");
	is_str(c, "\r\033[K", "free clears the status line");
	ok(d && strstr(d, "\033[1;33mwarning:\033[0m coloured"), "the warning label is coloured on a terminal");
	ok(e && strstr(e, "no colour wanted [0:") && !strstr(e, "\033[K") && strstr(e, "virtkube: warning: plain"),
	   "NO_COLOR: plain status lines and labels, even on a terminal");
}

int main(void)
{
	saved_stderr = dup(STDERR_FILENO);
	test_plain();
	test_quiet();
	test_tty();
	return done_testing();
}
