/* Reaching into a profile's VM over ssh: the one argument list (key, no host-key prompts), and commands run with their output captured. */
#pragma once

#include <stdbool.h>

#include "profile/profile.h"
#include "util/error.h"

#define VK_SSH_USER "docker"

/* What to tell a user whose machine has no ssh client. */
#define VK_SSH_INSTALL_HINT "install the OpenSSH client (apt-get install openssh-client / dnf install openssh-clients)"

/* The ssh argument list (NULL-terminated, "ssh" first) that logs into P's VM
 * as the provisioning user with the profile's key, without host-key prompts
 * or known_hosts entries, then "--" and the NCMD words of CMD (none: a login
 * shell). BATCH adds BatchMode (never ask anything: for commands whose output
 * virtkube reads). Fails when P is not running or has no key, with a hint.
 * Free with vk_guest_ssh_argv_free. */
char **vk_guest_ssh_argv(const struct vk_profile *p, const char *const *cmd, int ncmd, bool batch, struct vk_error *err);
void vk_guest_ssh_argv_free(char **argv);
/* The same for the node of P at IP (a worker: p->cfg.nodes[i].ip). */
char **vk_guest_ssh_argv_at(const struct vk_profile *p, const char *ip, const char *const *cmd, int ncmd, bool batch,
			    struct vk_error *err);

/* The same with the options OPTS (NOPTS words, e.g. "-N", "-L", "SPEC")
 * before the destination and no command: for a forwarding ssh. */
char **vk_guest_ssh_argv_opts(const struct vk_profile *p, const char *ip, const char *const *opts, int nopts,
			      bool batch, struct vk_error *err);

/* Waits up to TIMEOUT_MS for the node of P at IP to answer SSH through the
 * jump of P's URI (vk_remote_ssh_jump; none is an error): a batch login
 * that runs `true` with the profile's key, tried again until it works, so
 * no route to the node is needed. A timeout is VK_ERR_TIMEOUT (with what
 * ssh said last); an ssh that cannot be run is another error. See
 * vk_node_wait_ssh (machine.h), which picks this or a direct connection. */
int vk_guest_wait_ssh_jump(const struct vk_profile *p, const char *ip, long timeout_ms, struct vk_error *err);

/* Runs COMMAND (one shell line) in P's VM through the system ssh, up to
 * TIMEOUT_MS (then ssh is killed: a VK_ERR_TIMEOUT). *OUT (may be NULL)
 * gets its standard output (caller frees), *STATUS the command's exit
 * status (ssh's own failures are 255). An ssh that cannot be run is an error. */
int vk_guest_run(const struct vk_profile *p, const char *command, long timeout_ms, char **out, int *status,
		 struct vk_error *err);
/* The same in the node of P at IP. */
int vk_guest_run_at(const struct vk_profile *p, const char *ip, const char *command, long timeout_ms, char **out,
		    int *status, struct vk_error *err);

/* vk_guest_run with the command's standard input read from the file INPUT
 * (NULL: /dev/null), to send a file to the guest. An INPUT that cannot be
 * opened is an error naming it. */
int vk_guest_run_input(const struct vk_profile *p, const char *command, const char *input, long timeout_ms,
		       char **out, int *status, struct vk_error *err);
/* The same in the node of P at IP. */
int vk_guest_run_input_at(const struct vk_profile *p, const char *ip, const char *command, const char *input,
			  long timeout_ms, char **out, int *status, struct vk_error *err);

/* The ssh ProxyJump ("[user@]host[:port]") that reaches the nodes of a
 * libvirt host on a NAT network through that host: $VIRTKUBE_SSH_JUMP when
 * set ("none": no jump), else the user, host and port of a qemu+ssh:// URI.
 * NULL when there is none (caller frees). Every ssh virtkube runs into a
 * node takes "-F FILE" first when $VIRTKUBE_SSH_CONFIG names FILE; ssh
 * passes it on to the ssh it runs for the jump. */
char *vk_remote_ssh_jump(const char *uri);
