/* ssh into a profile's VM: argument list and captured runs (see guestssh.h). */
#include "vm/guestssh.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/xalloc.h"

char **vk_guest_ssh_argv(const struct vk_profile *p, const char *const *cmd, int ncmd, bool batch, struct vk_error *err)
{
	return vk_guest_ssh_argv_at(p, p->cfg.node_ip, cmd, ncmd, batch, err);
}

char *vk_remote_ssh_jump(const char *uri)
{
	const char *env = getenv("VIRTKUBE_SSH_JUMP");
	const char *host;
	size_t len;

	if (env && *env)
		return strcmp(env, "none") == 0 ? NULL : xstrdup(env);
	if (!uri || strncmp(uri, "qemu+ssh://", 11) != 0)
		return NULL;
	host = uri + 11;
	len = strcspn(host, "/?");
	return len ? xstrndup(host, len) : NULL;
}


/* The argument list of vk_guest_ssh_argv_opts; RUNNING: P must be running. */
static char **build_argv(const struct vk_profile *p, const char *ip, const char *const *opts, int nopts,
			 const char *const *cmd, int ncmd, bool batch, bool running, struct vk_error *err)
{
	_cleanup_free_ char *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	/* a NAT network on a remote libvirt host: through that host */
	_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
	const char *config = getenv("VIRTKUBE_SSH_CONFIG");
	/* The host key changes with every re-created VM: no prompts, no known_hosts entries. */
	static const char *const options[] = {
		"IdentitiesOnly=yes", "UserKnownHostsFile=/dev/null", "StrictHostKeyChecking=no",
		"LogLevel=ERROR",     "PasswordAuthentication=no",    "ConnectTimeout=10",
	};
	char **argv;
	int n = 0;

	if (!ip || (running && !vk_profile_running(p))) {
		vk_error_set(err, VK_ERR_FAILED, "profile '%s' is not running", p->name);
		vk_error_hint(err, "start it with 'virtkube -p %s start'", p->name);
		return NULL;
	}
	if (!vk_path_exists(key)) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no SSH key '%s'", p->name, key);
		vk_error_hint(err, "delete and re-create the profile");
		return NULL;
	}
	/* ssh, -F FILE, -i KEY, the options, BatchMode, -J JUMP, the destination, "--", NULL: 12 more */
	argv = xcalloc((size_t)ncmd + (size_t)nopts + 2 * (sizeof(options) / sizeof(options[0])) + 12, sizeof(char *));
	argv[n++] = xstrdup("ssh");
	/* ssh passes -F on to the ssh it runs for -J: the jump reads the same file */
	if (config && *config) {
		argv[n++] = xstrdup("-F");
		argv[n++] = xstrdup(config);
	}
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
	for (int i = 0; i < nopts; i++)
		argv[n++] = xstrdup(opts[i]);
	argv[n++] = xasprintf("%s@%s", VK_SSH_USER, ip);
	if (ncmd > 0) {
		argv[n++] = xstrdup("--");
		for (int i = 0; i < ncmd; i++)
			argv[n++] = xstrdup(cmd[i]);
	}
	argv[n] = NULL;
	return argv;
}

char **vk_guest_ssh_argv_at(const struct vk_profile *p, const char *ip, const char *const *cmd, int ncmd, bool batch,
			    struct vk_error *err)
{
	return build_argv(p, ip, NULL, 0, cmd, ncmd, batch, true, err);
}

char **vk_guest_ssh_argv_opts(const struct vk_profile *p, const char *ip, const char *const *opts, int nopts,
			      bool batch, struct vk_error *err)
{
	return build_argv(p, ip, opts, nopts, NULL, 0, batch, true, err);
}

#define PROBE_MS 15000
#define PROBE_PAUSE_MS 1000

int vk_guest_wait_ssh_jump(const struct vk_profile *p, const char *ip, long timeout_ms, struct vk_error *err)
{
	static const char *const probe[] = { "true" };
	_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
	_cleanup_free_ char *said = NULL;
	long long deadline = vk_now_ms() + timeout_ms;
	char **argv;

	if (!jump)
		return vk_error_set(err, VK_ERR_INVALID, "profile '%s' has no ssh jump to its nodes", p->name);
	/* No route to the node from here: a login through the jump that runs `true`. */
	argv = build_argv(p, ip, NULL, 0, probe, 1, true, false, err);
	if (!argv)
		return -1;
	for (;;) {
		_cleanup_process_ struct vk_process ssh = VK_PROCESS_INIT;
		long long attempt = vk_now_ms();
		long left = (long)(deadline - attempt);

		if (left <= 0)
			break;
		ssh.argv = (const char *const *)argv;
		ssh.stdout_to = VK_PROCESS_OUT_NULL;
		ssh.stderr_to = VK_PROCESS_OUT_CAPTURE;
		ssh.timeout_ms = left < PROBE_MS ? left : PROBE_MS;
		if (vk_process_run(&ssh, err) < 0) {
			vk_guest_ssh_argv_free(argv);
			if (err && err->code == VK_ERR_NOT_FOUND)
				vk_error_hint(err, VK_SSH_INSTALL_HINT);
			return -1;
		}
		if (vk_process_succeeded(&ssh)) {
			vk_guest_ssh_argv_free(argv);
			return 0;
		}
		if (ssh.err.len) {
			free(said);
			said = vk_strbuf_detach(&ssh.err, NULL);
			said[strcspn(said, "\r\n")] = '\0';
		}
		/* Refused or unreachable comes back at once: do not spin. */
		if (vk_now_ms() - attempt < PROBE_PAUSE_MS && deadline - vk_now_ms() > PROBE_PAUSE_MS)
			nanosleep(&(struct timespec){ .tv_sec = PROBE_PAUSE_MS / 1000 }, NULL);
	}
	vk_guest_ssh_argv_free(argv);
	return vk_error_set(err, VK_ERR_TIMEOUT, "the guest did not answer SSH on %s:22 through '%s' within %ld s%s%s", ip,
			    jump, timeout_ms / 1000, said && *said ? ": " : "", said ? said : "");
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
	_cleanup_process_ struct vk_process ssh = VK_PROCESS_INIT;
	char **argv;
	int rc;

	if (out)
		*out = NULL;
	argv = vk_guest_ssh_argv_at(p, ip, &command, 1, true, err);
	if (!argv)
		return -1;
	ssh.argv = (const char *const *)argv;
	/* stdin from INPUT or /dev/null: ssh must never read the caller's terminal. */
	ssh.stdin_from = input ? VK_PROCESS_IN_FILE : VK_PROCESS_IN_NULL;
	ssh.stdin_path = input;
	ssh.stdout_to = VK_PROCESS_OUT_CAPTURE;
	ssh.timeout_ms = timeout_ms;
	rc = vk_process_run(&ssh, err);
	vk_guest_ssh_argv_free(argv);
	if (rc < 0) {
		if (err && err->code == VK_ERR_NOT_FOUND)
			vk_error_hint(err, VK_SSH_INSTALL_HINT);
		return vk_error_prefix(err, "profile '%s'", p->name);
	}
	if (ssh.status.end == VK_PROCESS_TIMED_OUT) {
		vk_error_set(err, VK_ERR_TIMEOUT, "ssh into profile '%s' gave no answer within %ld ms", p->name, timeout_ms);
		return vk_error_hint(err, "is the VM up? 'virtkube status -p %s', 'virtkube logs -p %s'", p->name, p->name);
	}
	if (status)
		*status = ssh.status.end == VK_PROCESS_EXITED ? ssh.status.code : 255;
	if (out)
		*out = vk_strbuf_detach(&ssh.out, NULL);
	return 0;
}
