/* `virtkube tunnel` (see tunnel.h): an ssh -L through the libvirt host to the node's API port, and the kubeconfig switched to it and back. */
#include "cluster/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "vm/guestssh.h"
#include "vm/machine.h"

char **vk_tunnel_argv(const struct vk_profile *p, int port, struct vk_error *err)
{
	_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
	_cleanup_free_ char *forward = NULL;
	const char *ip = p->cfg.node_ip;
	const char *opts[] = { "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=30", "-L", NULL };

	if (!jump) {
		if (vk_machine_uri_is_local(p->cfg.libvirt_uri)) {
			vk_error_set(err, VK_ERR_INVALID, "profile '%s' runs on this host: no tunnel is needed", p->name);
			vk_error_hint(err, "its kubeconfig entry reaches the node at %s directly", ip ? ip : "its IP");
			return NULL;
		}
		vk_error_set(err, VK_ERR_INVALID, "no ssh way to the libvirt host of profile '%s' ('%s')", p->name,
			     p->cfg.libvirt_uri);
		vk_error_hint(err, "set VIRTKUBE_SSH_JUMP=USER@HOST to the libvirt host, or use a qemu+ssh:// URI");
		return NULL;
	}
	if (!ip || !*ip) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no node IP yet", p->name);
		vk_error_hint(err, "run 'virtkube -p %s start' first", p->name);
		return NULL;
	}
	forward = xasprintf("127.0.0.1:%d:%s:%d", port, ip, vk_profile_api_port(p));
	opts[VK_ARRAY_SIZE(opts) - 1] = forward;
	return vk_guest_ssh_argv_opts(p, ip, opts, (int)VK_ARRAY_SIZE(opts), true, err);
}

int vk_tunnel_kubeconfig(const struct vk_profile *p, const char *path, int port, struct vk_error *err)
{
	struct vk_kubeconfig_entry e;
	int rc;

	if (vk_kubeconfig_entry_load(&e, p, err) < 0)
		return -1;
	if (port > 0) {
		free(e.server);
		e.server = xasprintf("https://127.0.0.1:%d", port);
		e.tls_server_name = xstrdup(VK_TUNNEL_TLS_NAME);
	}
	rc = vk_kubeconfig_merge(path, &e, false, err);
	vk_kubeconfig_entry_clear(&e);
	return rc;
}

int vk_tunnel_free_port(struct vk_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot find a free port on 127.0.0.1");
	return ntohs(sa.sin_port);
}

/* Whether something accepts connections on 127.0.0.1:PORT. */
static bool port_answers(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* Frees what T holds apart from its kubeconfig switch, stopping its ssh. */
static void tunnel_release(struct vk_tunnel *t)
{
	vk_process_release(&t->ssh);
	vk_guest_ssh_argv_free(t->argv);
	free(t->target);
	free(t->jump);
	free(t->kubeconfig);
	*t = (struct vk_tunnel){ .ssh = VK_PROCESS_INIT };
}

int vk_tunnel_open(struct vk_tunnel *t, const struct vk_profile *p, int port, long timeout_ms, struct vk_error *err)
{
	long long deadline = vk_now_ms() + timeout_ms;

	*t = (struct vk_tunnel){ .ssh = VK_PROCESS_INIT };
	if (port <= 0 && (port = vk_tunnel_free_port(err)) < 0)
		return -1;
	t->port = port;
	if (!(t->argv = vk_tunnel_argv(p, port, err)))
		return -1;
	t->jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);
	t->target = xasprintf("%s:%d", p->cfg.node_ip, vk_profile_api_port(p));
	t->ssh.argv = (const char *const *)t->argv;
	/* no timeout: it stays in our process group, so a Ctrl-C at the terminal reaches it too */
	if (vk_process_start(&t->ssh, err) < 0) {
		if (err && err->code == VK_ERR_NOT_FOUND)
			vk_error_hint(err, VK_SSH_INSTALL_HINT);
		tunnel_release(t);
		return -1;
	}
	for (;;) {
		int ended = vk_process_poll(&t->ssh, err);

		if (ended < 0) {
			tunnel_release(t);
			return -1;
		}
		if (ended) {
			_cleanup_free_ char *how = vk_process_describe(&t->ssh);

			vk_error_set(err, VK_ERR_FAILED, "the tunnel's ssh through '%s' %s before 127.0.0.1:%d was open",
				     t->jump, how, port);
			vk_error_hint(err, "its message is above; is the port free, and does 'virtkube -p %s ssh' work?",
				      p->name);
			tunnel_release(t);
			return -1;
		}
		if (port_answers(port))
			break;
		if (vk_now_ms() >= deadline) {
			vk_error_set(err, VK_ERR_TIMEOUT, "the tunnel through '%s' did not open 127.0.0.1:%d within %ld s",
				     t->jump, port, timeout_ms / 1000);
			tunnel_release(t);
			return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000000L }, NULL);
	}
	if (vk_profile_kubernetes(p)) {
		_cleanup_free_ char *path = vk_kubeconfig_path(err);

		if (!path || vk_tunnel_kubeconfig(p, path, port, err) < 0) {
			tunnel_release(t);
			return vk_error_prefix(err, "the tunnel is up, but the kubeconfig cannot point at it");
		}
		t->kubeconfig = TAKE_PTR(path);
	}
	return 0;
}

int vk_tunnel_wait(struct vk_tunnel *t, const volatile int *stop, bool *stopped, struct vk_error *err)
{
	int rc;

	t->ssh.stop = stop;
	rc = vk_process_finish(&t->ssh, err);
	t->ssh.stop = NULL;
	*stopped = stop && *stop;
	return rc;
}

char *vk_tunnel_describe(const struct vk_tunnel *t)
{
	return vk_process_describe(&t->ssh);
}

int vk_tunnel_close(struct vk_tunnel *t, const struct vk_profile *p, struct vk_error *err)
{
	int rc = 0;

	vk_process_release(&t->ssh);
	if (t->kubeconfig && vk_tunnel_kubeconfig(p, t->kubeconfig, 0, err) < 0)
		rc = vk_error_prefix(err, "cannot point the kubeconfig '%s' back at the node", t->kubeconfig);
	tunnel_release(t);
	return rc;
}
