/* `virtkube tunnel [--port N]`: in the foreground, an ssh -L from 127.0.0.1 through the remote libvirt host to the profile's API server, with the kubeconfig pointed at it until it ends. */
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "cluster/tunnel.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm.h"

#define TUNNEL_OPEN_TIMEOUT_MS 30000

static volatile int tunnel_stop;

static void on_signal(int sig)
{
	(void)sig;
	tunnel_stop = 1;
}

static const struct cli_option tunnel_options[] = {
	{ "port", 0, "N", "the port on 127.0.0.1 (default: a free one)", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* Opens P's tunnel on PORT (0: a free one), says where, waits for its end and closes it. */
static int run_tunnel(struct vk_profile *p, int port)
{
	struct vk_tunnel t;
	struct vk_error err = { 0 };
	_cleanup_free_ char *path = NULL;
	bool stopped = false;
	int rc;

	if (vk_tunnel_open(&t, p, port, TUNNEL_OPEN_TIMEOUT_MS, &err) < 0)
		return cli_fail(&err);
	printf("tunnel: https://127.0.0.1:%d -> %s through %s\n", t.port, t.target, t.jump);
	if (t.kubeconfig) {
		path = xstrdup(t.kubeconfig);
		printf("the cluster '%s' in the kubeconfig '%s' points at it (tls-server-name: %s): "
		       "kubectl --context %s ...\n", p->name, path, VK_TUNNEL_TLS_NAME, p->name);
	} else {
		printf("profile '%s' has no Kubernetes, so no kubeconfig entry: only the port is forwarded\n", p->name);
	}
	printf("Ctrl-C ends it%s\n", path ? " and points the kubeconfig back at the node" : "");
	fflush(stdout);
	if (vk_tunnel_wait(&t, &tunnel_stop, &stopped, &err) < 0) {
		rc = cli_fail(&err);
	} else if (!stopped) {
		_cleanup_free_ char *how = vk_tunnel_describe(&t);

		ui_error_msg("the tunnel's ssh %s", how);
		rc = VK_EXIT_FAILED;
	} else {
		rc = VK_EXIT_OK;
	}
	if (vk_tunnel_close(&t, p, &err) < 0)
		return cli_fail(&err);
	if (path)
		printf("the cluster '%s' in the kubeconfig '%s' points at the node again\n", p->name, path);
	if (rc == VK_EXIT_OK)
		printf("tunnel closed\n");
	return rc;
}

static int tunnel_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	/* no SA_RESTART: the wait for the ssh is interrupted and passes the stop on */
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	long port = 0;
	int rc;

	if ((rc = cli_opt_long(ctx, args, "port", 1, 65535, &port)) != 0)
		return rc;
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	rc = run_tunnel(p, (int)port);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return rc;
}

const struct cli_command cli_cmd_tunnel = {
	.name = "tunnel",
	.summary = "reach the API server on a remote libvirt host through an ssh -L via that host, until Ctrl-C",
	.description = "Runs in the foreground an ssh -N -L 127.0.0.1:PORT:NODE_IP:API_PORT through the libvirt host "
		       "(the jump of 'virtkube ssh': the user and host of a qemu+ssh:// URI, or VIRTKUBE_SSH_JUMP; "
		       "VIRTKUBE_SSH_CONFIG=FILE adds ssh -F FILE). While it runs the profile's kubeconfig cluster "
		       "points at https://127.0.0.1:PORT with tls-server-name: kubernetes; when it ends (Ctrl-C, "
		       "SIGTERM, ssh exits) the entry points at the node's address again. A profile on this host "
		       "needs no tunnel (an error).",
	.options = tunnel_options,
	.max_args = 0,
	.exec = tunnel_exec,
};
