/* Starting another program (see process.h): fork and execve, pipes pumped with poll, a deadline, the status as data. */
#include "util/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

extern char **environ;

#define CHUNK 65536
/* execvp's PATH when there is none. */
#define DEFAULT_PATH "/bin:/usr/bin"

/* Whether ENTRY ("NAME=value") is the variable NAME (NAME ends at '=' or NUL). */
static bool env_is(const char *entry, const char *name)
{
	size_t n = strcspn(name, "=");

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* Our environment with CHANGES applied (see vk_process.env); NULL-terminated, free with vk_strv_free. */
static char **make_env(const char *const *changes)
{
	size_t n = vk_strv_len((const char *const *)environ), len = 0;
	char **envp = xcalloc(n + vk_strv_len(changes) + 1, sizeof(char *));

	for (char **e = environ; e && *e; e++) {
		bool changed = false;

		for (const char *const *c = changes; c && *c && !changed; c++)
			changed = env_is(*e, *c);
		if (!changed)
			envp[len++] = xstrdup(*e);
	}
	for (const char *const *c = changes; c && *c; c++) {
		bool later = false;

		/* The last change of a name wins; a bare "NAME" only removes. */
		for (const char *const *d = c + 1; *d && !later; d++)
			later = strcspn(*c, "=") == strcspn(*d, "=") && strncmp(*c, *d, strcspn(*c, "=")) == 0;
		if (!later && strchr(*c, '='))
			envp[len++] = xstrdup(*c);
	}
	envp[len] = NULL;
	return envp;
}

/* The file that execvp would run for NAME with the child's environment ENVP,
 * or NULL when there is none (newly allocated). */
static char *find_program(const char *name, char *const *envp)
{
	const char *path = NULL, *dir, *end;

	if (!*name)
		return NULL;
	if (strchr(name, '/'))
		return xstrdup(name);
	for (char *const *e = envp; *e && !path; e++)
		if (env_is(*e, "PATH"))
			path = *e + 5;
	if (!path)
		path = DEFAULT_PATH;
	for (dir = path;; dir = end + 1) {
		struct stat st;
		char *file;

		end = strchrnul(dir, ':');
		/* An empty entry is the current directory, as for the shell. */
		file = end == dir ? xasprintf("./%s", name) : xasprintf("%.*s/%s", (int)(end - dir), dir, name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
			return file;
		free(file);
		if (!*end)
			return NULL;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child: makes FD its descriptor TARGET (FD -1: leave TARGET as it is). */
static void child_dup(int fd, int target)
{
	if (fd < 0)
		return;
	if (fd == target)
		fcntl(fd, F_SETFD, 0); /* dup2 would keep close-on-exec */
	else
		dup2(fd, target);
}

/* A pipe with both ends close-on-exec: the child's end is dup2'ed to 0, 1 or 2. */
static int make_pipe(int fds[2], const char *argv0, struct vk_error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot make a pipe to run '%s'", argv0);
	return 0;
}

/* The descriptor the child gets for an output stream: a pipe's write end,
 * /dev/null, or -1 (ours). Our end of the pipe goes to *OURS. */
static int output_fd(enum vk_process_out to, int *ours, const char *argv0, struct vk_error *err)
{
	int fds[2];

	switch (to) {
	case VK_PROCESS_OUT_CAPTURE:
		if (make_pipe(fds, argv0, err) < 0)
			return -2;
		*ours = fds[0];
		return fds[1];
	case VK_PROCESS_OUT_NULL:
		fds[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fds[0] < 0)
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open /dev/null to run '%s'", argv0);
		return fds[0] < 0 ? -2 : fds[0];
	case VK_PROCESS_OUT_INHERIT:
		break;
	}
	return -1;
}

static int input_fd(struct vk_process *p, struct vk_error *err)
{
	int fds[2], fd;

	switch (p->stdin_from) {
	case VK_PROCESS_IN_BUFFER:
		if (make_pipe(fds, p->argv[0], err) < 0)
			return -2;
		/* Non-blocking: a child that reads slowly must not stop us draining its output. */
		fcntl(fds[1], F_SETFL, O_NONBLOCK);
		p->stdin_fd = fds[1];
		return fds[0];
	case VK_PROCESS_IN_FILE:
		fd = open(p->stdin_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s' as the input of '%s'", p->stdin_path,
					   p->argv[0]);
		return fd < 0 ? -2 : fd;
	case VK_PROCESS_IN_NULL:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open /dev/null to run '%s'", p->argv[0]);
		return fd < 0 ? -2 : fd;
	case VK_PROCESS_IN_INHERIT:
		break;
	}
	return -1;
}

/* Sends P's child SIGTERM once when the caller asked it to stop (vk_process.stop). */
static void stop_if_asked(struct vk_process *p)
{
	if (p->stop && *p->stop && !p->stop_sent && p->pid > 0) {
		kill(p->pid, SIGTERM);
		p->stop_sent = true;
	}
}

/* Reaps P's child, retrying on EINTR (after passing on a stop request); fills *WSTATUS. */
static int reap(struct vk_process *p, int *wstatus, int flags)
{
	pid_t r;

	stop_if_asked(p);
	while ((r = waitpid(p->pid, wstatus, flags)) < 0 && errno == EINTR)
		stop_if_asked(p);
	return r;
}

/* P->status from the wait status of its ended child. */
static void set_status(struct vk_process *p, int wstatus)
{
	p->pid = 0;
	if (WIFEXITED(wstatus))
		p->status = (struct vk_process_status){ .end = VK_PROCESS_EXITED, .code = WEXITSTATUS(wstatus) };
	else
		p->status = (struct vk_process_status){ .end = VK_PROCESS_SIGNALED, .signal = WTERMSIG(wstatus) };
}

/* Kills P's child and, when it leads one, its process group. */
static void kill_child(struct vk_process *p)
{
	if (p->timeout_ms > 0)
		kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
}

int vk_process_start(struct vk_process *p, struct vk_error *err)
{
	_cleanup_strv_ char **envp = make_env(p->env);
	_cleanup_free_ char *file = NULL;
	_cleanup_close_ int in = -1, out = -1, errfd = -1;
	int execfd[2], exec_errno = 0;
	pid_t parent = getpid();
	sigset_t all, old;
	ssize_t n;

	p->stdin_done = 0;
	p->stop_sent = false;
	if (!p->argv || !p->argv[0])
		return vk_error_set(err, VK_ERR_INVALID, "no program to run");
	file = find_program(p->argv[0], envp);
	if (!file)
		return vk_error_set(err, VK_ERR_NOT_FOUND, "cannot run '%s': no such program in PATH", p->argv[0]);
	in = input_fd(p, err);
	out = output_fd(p->stdout_to, &p->stdout_fd, p->argv[0], err);
	if (in != -2 && out != -2)
		errfd = output_fd(p->stderr_to, &p->stderr_fd, p->argv[0], err);
	if (in == -2 || out == -2 || errfd == -2 || make_pipe(execfd, p->argv[0], err) < 0) {
		vk_process_release(p);
		return -1;
	}
	/* No signal handler of ours may run in the child before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->pid = fork();
	if (p->pid == 0) {
		/* Only async-signal-safe calls from here: the parent may have threads. */
		if (p->timeout_ms > 0) {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
		}
		child_dup(in, STDIN_FILENO);
		child_dup(out, STDOUT_FILENO);
		child_dup(errfd, STDERR_FILENO);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execve(file, (char *const *)p->argv, envp);
		exec_errno = errno;
		if (write(execfd[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	exec_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(execfd[1]);
	if (p->pid < 0) {
		close(execfd[0]);
		p->pid = 0;
		vk_process_release(p);
		return vk_error_set_errno(err, VK_ERR_IO, exec_errno, "cannot start '%s'", p->argv[0]);
	}
	if (p->timeout_ms > 0) {
		setpgid(p->pid, p->pid); /* as the child does: whichever runs first */
		p->deadline_ms = vk_now_ms() + p->timeout_ms;
	}
	/* The pipe closes unread when exec works; else it carries execve's errno. */
	while ((n = read(execfd[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	close(execfd[0]);
	if (n == sizeof(exec_errno)) {
		int wstatus;

		reap(p, &wstatus, 0);
		p->pid = 0;
		vk_process_release(p);
		return vk_error_set_errno(err, exec_errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, exec_errno,
					  "cannot run '%s'", p->argv[0]);
	}
	return 0;
}

/* Writes the next part of P's stdin buffer; closes the pipe at its end or
 * when the child closed its end. */
static void feed(struct vk_process *p)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t n;

	if (p->stdin_done >= p->stdin_len) {
		close_fd(&p->stdin_fd);
		return;
	}
	/* A child that stops reading must give us EPIPE, not kill us with
	 * SIGPIPE: blocked in this thread, and taken back if it came. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	n = write(p->stdin_fd, p->stdin_buf + p->stdin_done, p->stdin_len - p->stdin_done);
	if (n < 0 && errno == EPIPE && !was_pending) {
		struct timespec zero = { 0 };

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (n > 0)
		p->stdin_done += (size_t)n;
	else if (n < 0 && errno != EINTR && errno != EAGAIN)
		close_fd(&p->stdin_fd);
	if (p->stdin_done >= p->stdin_len)
		close_fd(&p->stdin_fd);
}

/* Reads what is there on *FD into SB; closes *FD at its end. */
static void drain(int *fd, struct vk_strbuf *sb)
{
	char chunk[CHUNK];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n > 0)
		vk_strbuf_add(sb, chunk, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		close_fd(fd);
}

/* Milliseconds left before P's deadline (-1: none; 0: it has passed). */
static int time_left(const struct vk_process *p)
{
	long long left;

	if (p->timeout_ms <= 0)
		return -1;
	left = p->deadline_ms - vk_now_ms();
	return left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/* Pumps P's pipes until all are closed; false when the deadline passed first. */
static bool pump(struct vk_process *p)
{
	while (p->stdin_fd >= 0 || p->stdout_fd >= 0 || p->stderr_fd >= 0) {
		struct pollfd pfd[3];
		int n = 0, left = time_left(p);

		if (left == 0)
			return false;
		if (p->stdin_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->stdin_fd, .events = POLLOUT };
		if (p->stdout_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->stdout_fd, .events = POLLIN };
		if (p->stderr_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->stderr_fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, left) <= 0) {
			stop_if_asked(p);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == p->stdin_fd)
				feed(p);
			else if (pfd[i].fd == p->stdout_fd)
				drain(&p->stdout_fd, &p->out);
			else
				drain(&p->stderr_fd, &p->err);
		}
	}
	return true;
}

/* Waits for P's child to end: 1 when it did, 0 when its deadline passed first, -1 when it cannot be waited for. */
static int wait_child(struct vk_process *p, int *wstatus)
{
	/* A pidfd turns readable when the child ends: a wait with a deadline, no polling. */
	_cleanup_close_ int pidfd = p->timeout_ms > 0 ? (int)syscall(SYS_pidfd_open, p->pid, 0) : -1;
	long step = 1;

	for (;;) {
		int left;
		pid_t r = reap(p, wstatus, p->timeout_ms > 0 ? WNOHANG : 0);

		if (r == p->pid)
			return 1;
		if (r < 0)
			return -1;
		left = time_left(p);
		if (left == 0)
			return 0;
		if (pidfd >= 0) {
			poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, left);
			continue;
		}
		/* No pidfds (Linux < 5.3): look again, less often as time goes by. */
		nanosleep(&(struct timespec){ .tv_nsec = (step < left ? step : left) * 1000000L }, NULL);
		if (step < 50)
			step *= 2;
	}
}

int vk_process_finish(struct vk_process *p, struct vk_error *err)
{
	int wstatus = 0, ended = 0;

	if (p->pid <= 0)
		return vk_error_set(err, VK_ERR_INVALID, "'%s' was not started", p->argv && p->argv[0] ? p->argv[0] : "");
	if (pump(p))
		ended = wait_child(p, &wstatus);
	close_fd(&p->stdin_fd);
	close_fd(&p->stdout_fd);
	close_fd(&p->stderr_fd);
	if (ended < 0) {
		int errnum = errno;

		p->pid = 0;
		return vk_error_set_errno(err, VK_ERR_IO, errnum, "cannot wait for '%s'", p->argv[0]);
	}
	if (ended == 0) {
		kill_child(p);
		reap(p, &wstatus, 0);
		p->pid = 0;
		p->status = (struct vk_process_status){ .end = VK_PROCESS_TIMED_OUT, .signal = SIGKILL };
		return 0;
	}
	set_status(p, wstatus);
	return 0;
}

int vk_process_poll(struct vk_process *p, struct vk_error *err)
{
	int wstatus = 0;
	pid_t r;

	if (p->pid <= 0)
		return vk_error_set(err, VK_ERR_INVALID, "'%s' was not started", p->argv && p->argv[0] ? p->argv[0] : "");
	r = reap(p, &wstatus, WNOHANG);
	if (r == 0)
		return 0;
	if (r < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot wait for '%s'", p->argv[0]);
	set_status(p, wstatus);
	return 1;
}

int vk_process_run(struct vk_process *p, struct vk_error *err)
{
	if (vk_process_start(p, err) < 0)
		return -1;
	return vk_process_finish(p, err);
}

void vk_process_release(struct vk_process *p)
{
	close_fd(&p->stdin_fd);
	close_fd(&p->stdout_fd);
	close_fd(&p->stderr_fd);
	if (p->pid > 0) {
		int wstatus;

		kill_child(p);
		reap(p, &wstatus, 0);
		p->pid = 0;
	}
	vk_strbuf_release(&p->out);
	vk_strbuf_release(&p->err);
}

bool vk_process_succeeded(const struct vk_process *p)
{
	return p->status.end == VK_PROCESS_EXITED && p->status.code == 0;
}

char *vk_process_describe(const struct vk_process *p)
{
	switch (p->status.end) {
	case VK_PROCESS_EXITED:
		return xasprintf("exited with status %d", p->status.code);
	case VK_PROCESS_SIGNALED:
		return xasprintf("was killed by signal %d (%s)", p->status.signal, strsignal(p->status.signal));
	case VK_PROCESS_TIMED_OUT:
		break;
	}
	return xasprintf("timed out after %ld ms", p->timeout_ms);
}

int vk_process_exec(const char *const *argv, const char *const *env, struct vk_error *err)
{
	_cleanup_strv_ char **envp = make_env(env);
	_cleanup_free_ char *file = NULL;

	if (!argv || !argv[0])
		return vk_error_set(err, VK_ERR_INVALID, "no program to run");
	file = find_program(argv[0], envp);
	if (!file)
		return vk_error_set(err, VK_ERR_NOT_FOUND, "cannot run '%s': no such program in PATH", argv[0]);
	fflush(NULL);
	execve(file, (char *const *)argv, envp);
	return vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno, "cannot run '%s'",
				  argv[0]);
}
