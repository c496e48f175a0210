/* Unit tests for util/process: exit status as data, captured and passed-through streams, stdin, environment, timeouts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/xalloc.h"

/* A bound for commands that should end by themselves: a hang fails the test instead of hanging it. */
#define SAFETY_MS 120000

/* Runs ARGV with stdout and stderr captured; true when it ran. */
static bool run_captured(struct vk_process *p, const char *const *argv, struct vk_error *err)
{
	p->argv = argv;
	p->stdout_to = VK_PROCESS_OUT_CAPTURE;
	p->stderr_to = VK_PROCESS_OUT_CAPTURE;
	if (!p->timeout_ms)
		p->timeout_ms = SAFETY_MS;
	return vk_process_run(p, err) == 0;
}

static bool all_bytes(const struct vk_strbuf *sb, char c, size_t len)
{
	if (sb->len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (sb->buf[i] != c)
			return false;
	return true;
}

static void test_exit_status(void)
{
	struct vk_error err = { 0 };

	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.argv = (const char *const[]){ "true", NULL };
		ok(vk_process_run(&p, &err) == 0, "true runs (%s)", err.message);
		ok(p.status.end == VK_PROCESS_EXITED && p.status.code == 0 && vk_process_succeeded(&p),
		   "and exits with status 0");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.argv = (const char *const[]){ "false", NULL };
		ok(vk_process_run(&p, &err) == 0, "false runs: a failing program is a status, not an error");
		ok(p.status.end == VK_PROCESS_EXITED && p.status.code == 1 && !vk_process_succeeded(&p),
		   "and exits with status 1");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *what = NULL;

		p.argv = (const char *const[]){ "sh", "-c", "exit 7", NULL };
		vk_process_run(&p, &err);
		is_int(p.status.code, 7, "the exit status comes back as a number");
		what = vk_process_describe(&p);
		is_str(what, "exited with status 7", "and is described for messages");
	}
}

static void test_capture(void)
{
	struct vk_error err = { 0 };

	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		ok(run_captured(&p, (const char *const[]){ "sh", "-c", "echo out; echo err >&2", NULL }, &err),
		   "a program with both streams captured runs");
		is_str(p.out.buf, "out\n", "its stdout is captured");
		is_str(p.err.buf, "err\n", "its stderr is captured apart");
	}
	{
		/* 200 KB on stderr before 300 KB on stdout: reading one stream to its end
		 * before the other would leave the child blocked on a full pipe. */
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		const char *script = "head -c 200000 /dev/zero | tr '\\0' e >&2; head -c 300000 /dev/zero | tr '\\0' o";

		ok(run_captured(&p, (const char *const[]){ "sh", "-c", script, NULL }, &err), "output larger than a pipe runs");
		ok(p.status.end == VK_PROCESS_EXITED && p.status.code == 0, "and ends by itself (no deadlock)");
		ok(all_bytes(&p.out, 'o', 300000), "all 300000 bytes of stdout are captured (%zu)", p.out.len);
		ok(all_bytes(&p.err, 'e', 200000), "all 200000 bytes of stderr are captured (%zu)", p.err.len);
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.stdout_to = VK_PROCESS_OUT_NULL;
		p.argv = (const char *const[]){ "sh", "-c", "x=$(readlink /proc/$$/fd/1); echo \"$x\" >&2", NULL };
		p.stderr_to = VK_PROCESS_OUT_CAPTURE;
		vk_process_run(&p, &err);
		is_str(p.err.buf, "/dev/null\n", "discarded stdout goes to /dev/null");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		char ours[PATH_MAX] = "";
		ssize_t n = readlink("/proc/self/fd/1", ours, sizeof(ours) - 2);

		if (n > 0)
			memcpy(ours + n, "\n", 2);
		p.argv = (const char *const[]){ "sh", "-c", "x=$(readlink /proc/$$/fd/1); echo \"$x\" >&2", NULL };
		p.stderr_to = VK_PROCESS_OUT_CAPTURE;
		vk_process_run(&p, &err);
		is_str(p.err.buf, ours, "passed-through stdout is ours");
	}
}

static void test_stdin(const char *tmp)
{
	struct vk_error err = { 0 };

	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		ok(run_captured(&p, (const char *const[]){ "sh", "-c", "readlink /proc/self/fd/0; cat", NULL }, &err),
		   "a program that reads stdin runs with none given");
		is_str(p.out.buf, "/dev/null\n", "its stdin is /dev/null (it never reads our terminal)");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.stdin_from = VK_PROCESS_IN_BUFFER;
		p.stdin_buf = "line 1\nline 2\n";
		p.stdin_len = strlen(p.stdin_buf);
		ok(run_captured(&p, (const char *const[]){ "cat", NULL }, &err), "stdin from a buffer");
		is_str(p.out.buf, "line 1\nline 2\n", "reaches the program");
	}
	{
		/* Both ways larger than a pipe: feeding must not wait for a child that waits for us to read. */
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *big = xmalloc(500000);

		memset(big, 'i', 500000);
		p.stdin_from = VK_PROCESS_IN_BUFFER;
		p.stdin_buf = big;
		p.stdin_len = 500000;
		ok(run_captured(&p, (const char *const[]){ "cat", NULL }, &err) && vk_process_succeeded(&p),
		   "500000 bytes through cat and back");
		ok(all_bytes(&p.out, 'i', 500000), "come back whole (%zu)", p.out.len);
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *big = xcalloc(1, 500000);

		p.stdin_from = VK_PROCESS_IN_BUFFER;
		p.stdin_buf = big;
		p.stdin_len = 500000;
		ok(run_captured(&p, (const char *const[]){ "true", NULL }, &err) && vk_process_succeeded(&p),
		   "a program that reads none of its stdin buffer ends normally (no SIGPIPE for us)");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *file = xasprintf("%s/input", tmp);

		vk_write_file_atomic(file, "from a file\n", 12, 0644, &err);
		p.stdin_from = VK_PROCESS_IN_FILE;
		p.stdin_path = file;
		ok(run_captured(&p, (const char *const[]){ "cat", NULL }, &err), "stdin from a file");
		is_str(p.out.buf, "from a file\n", "reaches the program");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.stdin_from = VK_PROCESS_IN_FILE;
		p.stdin_path = "/nonexistent/input";
		vk_error_clear(&err);
		ok(!run_captured(&p, (const char *const[]){ "cat", NULL }, &err), "a missing input file is an error");
		contains(err.message, "'/nonexistent/input'", "naming the file");
	}
}

static void test_env(const char *tmp)
{
	struct vk_error err = { 0 };
	const char *const show[] = { "sh", "-c", "echo \"${VK_TEST_A-unset} ${VK_TEST_B-unset}\"", NULL };

	setenv("VK_TEST_B", "ours", 1);
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		run_captured(&p, show, &err);
		is_str(p.out.buf, "unset ours\n", "the child inherits our environment");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.env = (const char *const[]){ "VK_TEST_A=added", "VK_TEST_B=changed", NULL };
		run_captured(&p, show, &err);
		is_str(p.out.buf, "added changed\n", "with variables added and changed");
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		p.env = (const char *const[]){ "VK_TEST_A=x", "VK_TEST_B", NULL };
		run_captured(&p, show, &err);
		is_str(p.out.buf, "x unset\n", "or removed");
	}
	is_str(getenv("VK_TEST_B"), "ours", "our own environment stays as it was");
	unsetenv("VK_TEST_B");
	{
		/* The program is looked up in the PATH the child gets. */
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *prog = xasprintf("%s/vk-only-here", tmp), *path = xasprintf("PATH=%s:/usr/bin:/bin", tmp);

		vk_write_file_atomic(prog, "#!/bin/sh\necho found\n", 21, 0755, &err);
		p.env = (const char *const[]){ path, NULL };
		ok(run_captured(&p, (const char *const[]){ "vk-only-here", NULL }, &err), "a program on the child's PATH runs (%s)",
		   err.message);
		is_str(p.out.buf, "found\n", "from there");
	}
}

static void test_not_found(const char *tmp)
{
	struct vk_error err = { 0 };

	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;

		ok(!run_captured(&p, (const char *const[]){ "virtkube-no-such-program", NULL }, &err),
		   "a program that is not there cannot be started");
		is_int(err.code, VK_ERR_NOT_FOUND, "it is not found");
		contains(err.message, "'virtkube-no-such-program'", "and the message names it (%s)", err.message);
	}
	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *file = xasprintf("%s/not-executable", tmp);

		vk_write_file_atomic(file, "#!/bin/sh\n", 10, 0644, &err);
		vk_error_clear(&err);
		ok(!run_captured(&p, (const char *const[]){ file, NULL }, &err), "a file that cannot be executed is an error");
		contains(err.message, file, "naming it (%s)", err.message);
		ok(p.pid == 0, "and no child is left");
	}
}

/* Whether PID is gone or a zombie (dead, waiting for its reaper). */
static bool dead(pid_t pid)
{
	_cleanup_free_ char *stat_path = xasprintf("/proc/%d/stat", (int)pid), *stat = NULL;
	const char *paren;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	if (vk_read_file(stat_path, &stat, NULL, NULL) < 0)
		return true;
	paren = strrchr(stat, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static void test_timeout(void)
{
	struct vk_error err = { 0 };

	{
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		_cleanup_free_ char *what = NULL;

		p.argv = (const char *const[]){ "sleep", "60", NULL };
		p.timeout_ms = 200;
		ok(vk_process_run(&p, &err) == 0, "a sleep past its timeout: the run itself succeeds (%s)", err.message);
		is_int(p.status.end, VK_PROCESS_TIMED_OUT, "the result says it timed out");
		is_int(p.status.signal, SIGKILL, "and that it was killed");
		what = vk_process_describe(&p);
		is_str(what, "timed out after 200 ms", "described as such");
	}
	{
		/* A shell that started a sleep of its own: the timeout kills the whole group. */
		_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
		pid_t grandchild;
		bool gone = false;

		p.argv = (const char *const[]){ "sh", "-c", "sleep 60 & echo $!; wait", NULL };
		p.stdout_to = VK_PROCESS_OUT_CAPTURE;
		p.timeout_ms = 300;
		vk_process_run(&p, &err);
		grandchild = (pid_t)atoi(p.out.buf);
		is_int(p.status.end, VK_PROCESS_TIMED_OUT, "a shell waiting on a sleep times out");
		/* SIGKILL was sent before finish returned; its reaping (by init) is not ours to time. */
		for (int i = 0; i < 200 && grandchild > 0 && !(gone = dead(grandchild)); i++)
			usleep(50000);
		ok(grandchild > 0 && gone, "the sleep it started was killed with it (pid %d)", (int)grandchild);
	}
	{
		_cleanup_process_ struct vk_process a = VK_PROCESS_INIT, b = VK_PROCESS_INIT;
		_cleanup_free_ char *ours = xasprintf("%d\n", (int)getpgrp());

		/* Field 5 of /proc/self/stat is the process group. */
		run_captured(&a, (const char *const[]){ "sh", "-c", "cut -d' ' -f5 /proc/self/stat", NULL }, &err);
		ok(strcmp(a.out.buf, ours) != 0, "a child with a timeout leads its own process group");
		b.argv = (const char *const[]){ "sh", "-c", "cut -d' ' -f5 /proc/self/stat", NULL };
		b.stdout_to = VK_PROCESS_OUT_CAPTURE;
		vk_process_run(&b, &err);
		is_str(b.out.buf, ours, "one without stays in ours (Ctrl-C reaches it)");
	}
}

static void test_signal(void)
{
	struct vk_error err = { 0 };
	_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
	_cleanup_free_ char *what = NULL;

	ok(run_captured(&p, (const char *const[]){ "sh", "-c", "kill -TERM $$; sleep 5", NULL }, &err),
	   "a program that is killed by a signal runs");
	is_int(p.status.end, VK_PROCESS_SIGNALED, "the result says a signal ended it");
	is_int(p.status.signal, SIGTERM, "and which");
	what = vk_process_describe(&p);
	contains(what, "killed by signal 15", "described as such");
}

static void test_start_release(void)
{
	struct vk_error err = { 0 };
	struct vk_process p = VK_PROCESS_INIT;
	pid_t pid;

	p.argv = (const char *const[]){ "sleep", "60", NULL };
	ok(vk_process_start(&p, &err) == 0 && p.pid > 0, "start alone leaves the child running");
	pid = p.pid;
	vk_process_release(&p);
	ok(kill(pid, 0) < 0 && errno == ESRCH, "release kills and reaps a child never finished");
}

static void test_exec(void)
{
	struct vk_error err = { 0 };
	pid_t pid;
	int status = 0;

	ok(vk_process_exec((const char *const[]){ "virtkube-no-such-program", NULL }, NULL, &err) < 0 &&
		   err.code == VK_ERR_NOT_FOUND,
	   "exec of a missing program returns");
	contains(err.message, "'virtkube-no-such-program'", "naming it");
	pid = fork();
	if (pid == 0) {
		vk_process_exec((const char *const[]){ "sh", "-c", "exit $VK_TEST_EXEC", NULL },
				(const char *const[]){ "VK_TEST_EXEC=5", NULL }, NULL);
		_exit(99);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 5, "exec replaces the process, with the environment changed");
}

int main(void)
{
	char tmpl[] = "/tmp/vk-test-process-XXXXXX";
	char *tmp = mkdtemp(tmpl);
	struct vk_error err = { 0 };

	if (!tmp) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	test_exit_status();
	test_capture();
	test_stdin(tmp);
	test_env(tmp);
	test_not_found(tmp);
	test_timeout();
	test_signal();
	test_start_release();
	test_exec();
	vk_remove_tree(tmp, &err);
	return done_testing();
}
