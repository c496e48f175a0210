/* `virtkube tunnel`: the API server of a profile on a remote libvirt host's NAT network reached from here through an ssh -L via that host, with the kubeconfig pointed at it while it runs. */
#pragma once

#include <stdbool.h>

#include "profile/profile.h"
#include "util/error.h"
#include "util/process.h"

/* The name the kubeconfig asks the API server's certificate for while the
 * tunnel runs (one of its names, whatever address the tunnel has). */
#define VK_TUNNEL_TLS_NAME "kubernetes"

/* One running tunnel: filled by vk_tunnel_open, ended by vk_tunnel_close. */
struct vk_tunnel {
	int port;           /* on 127.0.0.1 */
	char *target;       /* NODE_IP:API_PORT, as the libvirt host reaches it */
	char *jump;         /* the libvirt host ([user@]host[:port]) */
	char *kubeconfig;   /* the file whose entry points at the tunnel; NULL: none was switched */
	char **argv;        /* the ssh */
	struct vk_process ssh;
};

/* The ssh argument list of a tunnel from 127.0.0.1:PORT to P's API server
 * (node_ip:api port) through the libvirt host: the node ssh of
 * vk_guest_ssh_argv_opts (the profile's key, the jump, $VIRTKUBE_SSH_CONFIG)
 * with -N, ExitOnForwardFailure and -L 127.0.0.1:PORT:NODE_IP:API_PORT.
 * Fails for a profile whose libvirt host is this one (no tunnel is needed),
 * or one on a remote host with no ssh jump (a hint names VIRTKUBE_SSH_JUMP).
 * Free with vk_guest_ssh_argv_free. */
char **vk_tunnel_argv(const struct vk_profile *p, int port, struct vk_error *err);

/* Points P's cluster entry in the kubeconfig at PATH at the tunnel on
 * 127.0.0.1:PORT with tls-server-name VK_TUNNEL_TLS_NAME, or with PORT 0 back
 * at the node's address without it (as start writes it). Everything else in
 * the file is kept (vk_kubeconfig_merge: locked, atomic); the current
 * context is not changed. */
int vk_tunnel_kubeconfig(const struct vk_profile *p, const char *path, int port, struct vk_error *err);

/* A free TCP port on 127.0.0.1 (the kernel's choice), or -1. */
int vk_tunnel_free_port(struct vk_error *err);

/* Starts the tunnel of P on 127.0.0.1:PORT (0: a free port) and waits up to
 * TIMEOUT_MS until it accepts connections, then points the kubeconfig at it
 * when P has Kubernetes (T->kubeconfig says which file). The ssh's own
 * messages go to our standard error. On failure nothing is left running
 * and the kubeconfig is as it was. Release T with vk_tunnel_close. */
int vk_tunnel_open(struct vk_tunnel *t, const struct vk_profile *p, int port, long timeout_ms, struct vk_error *err);

/* Waits until the tunnel's ssh ends, or until *STOP turns non-zero (set by
 * the caller's SIGINT/SIGTERM handler, installed without SA_RESTART): then
 * the ssh is sent SIGTERM. *STOPPED says which of the two happened. An ssh
 * that ended by itself is not an error here: vk_tunnel_describe says how. */
int vk_tunnel_wait(struct vk_tunnel *t, const volatile int *stop, bool *stopped, struct vk_error *err);

/* How the tunnel's ssh ended ("exited with status 255"); caller frees. */
char *vk_tunnel_describe(const struct vk_tunnel *t);

/* Ends T: the ssh is stopped if it still runs, the kubeconfig entry goes
 * back to the node's address, and T is freed. -1 when the kubeconfig could
 * not be set back (everything else is done). T may be zeroed/unopened. */
int vk_tunnel_close(struct vk_tunnel *t, const struct vk_profile *p, struct vk_error *err);
