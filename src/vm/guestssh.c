/* ssh into a profile's VM: argument list and captured runs (see guestssh.h). */
#include "vm/guestssh.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/volumes.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

char **vk_guest_ssh_argv(const struct vk_profile *p, const char *const *cmd, int ncmd, bool batch, struct vk_error *err)
{
	return vk_guest_ssh_argv_at(p, p->cfg.node_ip, cmd, ncmd, batch, err);
}

char **vk_guest_ssh_argv_at(const struct vk_profile *p, const char *ip, const char *const *cmd, int ncmd, bool batch,
			    struct vk_error *err)
{
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	/* a NAT network on a remote libvirt host: through that host */
	_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
	/* The host key changes with every re-created VM: no prompts, no known_hosts entries. */
	static const char *const options[] = {
		"IdentitiesOnly=yes", "UserKnownHostsFile=/dev/null", "StrictHostKeyChecking=no",
		"LogLevel=ERROR",     "PasswordAuthentication=no",    "ConnectTimeout=10",
	};
	char **argv;
	int n = 0;

	if (!ip || !vk_profile_running(p)) {
		vk_error_set(err, VK_ERR_FAILED, "profile '%s' is not running", p->name);
		vk_error_hint(err, "start it with 'virtkube -p %s start'", p->name);
		return NULL;
	}
	if (!vk_path_exists(key)) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no SSH key '%s'", p->name, key);
		vk_error_hint(err, "delete and re-create the profile");
		return NULL;
	}
	argv = xcalloc((size_t)ncmd + 2 * (sizeof(options) / sizeof(options[0])) + 8, sizeof(char *));
	argv[n++] = xstrdup("ssh");
	argv[n++] = xstrdup("-i");
	argv[n++] = TAKE_PTR(key);
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		argv[n++] = xstrdup("-o");
		argv[n++] = xstrdup(options[i]);
	}
	if (batch) {
		argv[n++] = xstrdup("-o");
		argv[n++] = xstrdup("BatchMode=yes");
	}
	if (jump) {
		argv[n++] = xstrdup("-J");
		argv[n++] = TAKE_PTR(jump);
	}
	argv[n++] = xasprintf("%s@%s", VK_SSH_USER, ip);
	if (ncmd > 0) {
		argv[n++] = xstrdup("--");
		for (int i = 0; i < ncmd; i++)
			argv[n++] = xstrdup(cmd[i]);
	}
	argv[n] = NULL;
	return argv;
}

void vk_guest_ssh_argv_free(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}

/* Runs COMMAND in the node of P at IP with its standard input from the file
 * INPUT (NULL: /dev/null); see vk_guest_run. */
static int run_at(const struct vk_profile *p, const char *ip, const char *command, const char *input, long timeout_ms,
		  char **out, int *status, struct vk_error *err);

int vk_guest_run(const struct vk_profile *p, const char *command, long timeout_ms, char **out, int *status,
		 struct vk_error *err)
{
	return run_at(p, p->cfg.node_ip, command, NULL, timeout_ms, out, status, err);
}

int vk_guest_run_at(const struct vk_profile *p, const char *ip, const char *command, long timeout_ms, char **out,
		    int *status, struct vk_error *err)
{
	return run_at(p, ip, command, NULL, timeout_ms, out, status, err);
}

int vk_guest_run_input(const struct vk_profile *p, const char *command, const char *input, long timeout_ms,
		       char **out, int *status, struct vk_error *err)
{
	return run_at(p, p->cfg.node_ip, command, input, timeout_ms, out, status, err);
}

int vk_guest_run_input_at(const struct vk_profile *p, const char *ip, const char *command, const char *input,
			  long timeout_ms, char **out, int *status, struct vk_error *err)
{
	return run_at(p, ip, command, input, timeout_ms, out, status, err);
}

static int run_at(const struct vk_profile *p, const char *ip, const char *command, const char *input, long timeout_ms,
		  char **out, int *status, struct vk_error *err)
{
	_cleanup_close_ int input_fd = input ? open(input, O_RDONLY | O_CLOEXEC) : -1;
	char **argv = NULL;
	struct vk_strbuf buf = VK_STRBUF_INIT;
	long deadline = vk_now_ms() + timeout_ms;
	int pipefd[2], execfd[2], wstatus = 0, exec_errno = 0, rc = -1;
	bool timed_out = false;
	pid_t pid;

	if (out)
		*out = NULL;
	if (input && input_fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s' to send to profile '%s'", input, p->name);
	argv = vk_guest_ssh_argv_at(p, ip, &command, 1, true, err);
	if (!argv)
		return -1;
	/* execfd carries execvp's errno back; it closes unread when exec works. */
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot make a pipe for ssh");
		vk_guest_ssh_argv_free(argv);
		return -1;
	}
	if (pipe2(execfd, O_CLOEXEC) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot make a pipe for ssh");
		close(pipefd[0]);
		close(pipefd[1]);
		vk_guest_ssh_argv_free(argv);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot fork for ssh");
		close(pipefd[0]);
		close(pipefd[1]);
		close(execfd[0]);
		close(execfd[1]);
		vk_guest_ssh_argv_free(argv);
		return -1;
	}
	if (pid == 0) {
		int in = input_fd >= 0 ? input_fd : open("/dev/null", O_RDONLY);

		/* stdin from INPUT or /dev/null: ssh must never read the caller's terminal. */
		if (in >= 0)
			dup2(in, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		execvp("ssh", argv);
		exec_errno = errno;
		if (write(execfd[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	close(pipefd[1]);
	close(execfd[1]);
	vk_guest_ssh_argv_free(argv);
	if (read(execfd[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	close(execfd[0]);
	for (; !exec_errno;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		long left = deadline - vk_now_ms();
		char chunk[4096];
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n > 0)
			vk_strbuf_add(&buf, chunk, (size_t)n);
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(pipefd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		vk_error_set(err, VK_ERR_TIMEOUT, "ssh into profile '%s' gave no answer within %ld ms", p->name, timeout_ms);
		vk_error_hint(err, "is the VM up? 'virtkube status -p %s', 'virtkube logs -p %s'", p->name, p->name);
	} else if (exec_errno) {
		vk_error_set_errno(err, VK_ERR_NOT_FOUND, exec_errno, "cannot run ssh for profile '%s'", p->name);
		vk_error_hint(err, VK_SSH_INSTALL_HINT);
	} else {
		if (status)
			*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 255;
		if (out)
			*out = vk_strbuf_detach(&buf, NULL);
		rc = 0;
	}
	vk_strbuf_release(&buf);
	return rc;
}
