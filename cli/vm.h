/* Shared by the VM lifecycle commands: open (and lock) the profile named by -p, report the usual errors. */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "profile/profile.h"

/* How long a command waits for another virtkube holding the profile lock. */
#define CLI_LOCK_TIMEOUT_MS 10000

/* Opens ctx->profile. MUST_EXIST: a missing profile is an error (printed,
 * *RC = 1). LOCK: takes the profile lock first and reads config.json after it,
 * so what is read is what the lock holder left. Returns NULL with *RC set
 * (the error already printed). */
struct vk_profile *cli_vm_profile(const struct cli_context *ctx, bool must_exist, bool lock, int *rc);

/* Runs the system ssh into P's VM as the provisioning user with the
 * profile's key, no host-key prompts; CMD (NCMD words, may be 0: a login
 * shell) is run there. Replaces this process: returns only when P is not
 * running, has no key, or ssh cannot be run (the error printed), with the
 * exit code to use. */
int cli_vm_exec_ssh(const struct vk_profile *p, const char *const *cmd, int ncmd);
/* The same into P's node N. */
int cli_vm_exec_ssh_node(const struct vk_profile *p, const struct vk_node *n, const char *const *cmd, int ncmd);

/* The node -n NAME names (PROFILE-m02 or m02); no NAME: the profile's own
 * VM (node 1). Returns NULL with *RC set (the error printed) when P has no
 * such node, or no node yet. */
const struct vk_node *cli_vm_node(const struct vk_profile *p, const char *name, int *rc);

/* The -n option of the commands that act on one node. */
#define CLI_NODE_OPTION { "node", 'n', "NAME", "the node to act on (PROFILE-m02 or m02; default: the control plane)", NULL }
