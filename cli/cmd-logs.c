/* `virtkube logs [-n NODE] [-f] [--provisioning]`: the VM's serial console log (-f keeps following it), or the guest's provisioning logs over SSH. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cluster/cluster.h"
#include "vm/console.h"
#include "vm/machine.h"
#include "vm/nodeplan.h"
#include "vm/volumes.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm.h"

static const struct cli_option logs_options[] = {
	{ "follow", 'f', NULL, "keep printing what the console writes (Ctrl-C to stop)", NULL },
	{ "provisioning", 0, NULL, "print the guest's provisioning logs instead (/var/log/virtkube/*.log in the VM, over SSH)",
	  NULL },
	CLI_NODE_OPTION,
	{ NULL, 0, NULL, NULL, NULL },
};

/* Copies what FD has from its position to stdout; returns -1 on a read error. */
static int pump(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
	fflush(stdout);
	return n < 0 ? -1 : 0;
}

/* Run in the guest: provision.log first, then each stage's log, oldest
 * first (so a failed stage comes last), each under a "==> FILE <==" head. */
static const char provisioning_logs_cmd[] =
	"sudo -n sh -c 'cd /var/log/virtkube 2>/dev/null || { echo \"no provisioning logs in the guest "
	"(/var/log/virtkube is missing)\" >&2; exit 1; }; "
	"for f in provision.log $(ls -tr -- *.log | grep -vx provision.log); do "
	"[ -f \"$f\" ] && { echo \"==> /var/log/virtkube/$f <==\"; cat -- \"$f\"; }; done'";

/* A remote libvirt host keeps no console log this host can read: what the
 * guest writes now is copied into the local one (start fills it while it
 * runs) over the API, unless another virtkube holds the console. NULL when
 * not copying. */
static struct vk_console_copy *copy_remote_console(const struct vk_profile *p, const struct vk_node *n,
						   const char *path)
{
	const char *uri = vk_machine_uri(p->cfg.libvirt_uri);
	_cleanup_free_ char *domain = n ? xstrdup(n->name) : vk_cluster_domain_name(p->name);
	struct vk_console_copy *c;
	struct vk_error err = { 0 };

	if (!vk_volumes_wanted(uri))
		return NULL;
	c = vk_console_copy_start(uri, domain, path, false, &err);
	if (!c && err.code != VK_ERR_EXISTS)
		ui_warn("%s (printing what was copied before)", err.message);
	/* what the guest says in the next moment, for a log read once */
	if (c)
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
	return c;
}

static int logs_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_console_copy_ struct vk_console_copy *copy = NULL;
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	const struct vk_node *n = NULL;
	bool follow = cli_flag(args, "follow");
	int rc;

	if (follow && cli_flag(args, "provisioning"))
		return cli_usage_error(args->cmd, "--follow reads the console log: it cannot go with --provisioning");
	p = cli_vm_profile(ctx, true, false, &rc);
	if (!p)
		return rc;
	if (cli_opt(args, "node") && !(n = cli_vm_node(p, cli_opt(args, "node"), &rc)))
		return rc;
	if (cli_flag(args, "provisioning"))
		return n ? cli_vm_exec_ssh_node(p, n, (const char *const[]){ provisioning_logs_cmd }, 1)
			 : cli_vm_exec_ssh(p, (const char *const[]){ provisioning_logs_cmd }, 1);
	path = n ? vk_node_path(p, n, VK_FILE_CONSOLE_LOG) : vk_profile_path(p, VK_FILE_CONSOLE_LOG);
	copy = copy_remote_console(p, n, path);
	while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT || !follow) {
			ui_error_msg("cannot open the console log '%s': %s", path, strerror(errno));
			if (errno == ENOENT)
				fprintf(stderr, "hint: the log appears once the VM has booted ('virtkube -p %s start')\n",
					p->name);
			return VK_EXIT_FAILED;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
	}
	for (;;) {
		if (pump(fd) < 0) {
			ui_error_msg("cannot read '%s': %s", path, strerror(errno));
			return VK_EXIT_FAILED;
		}
		if (!follow)
			return VK_EXIT_OK;
		nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
	}
}

const struct cli_command cli_cmd_logs = {
	.name = "logs",
	.summary = "print the VM's (or -n NODE's) serial console log (or, with --provisioning, the guest's provisioning logs)",
	.options = logs_options,
	.max_args = 0,
	.exec = logs_exec,
};
