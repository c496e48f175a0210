/* Step "domain": a new machine's libvirt domain is defined; a stopped one's payload cdrom is pointed at the version's current ISO. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "cluster/cluster.h"
#include "vm/domxml.h"
#include "vm/mountops.h"
#include "vm/mounts.h"
#include "vm/nodeplan.h"
#include "vm/volumes.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

/* qemu:///system runs qemu as another user (libvirt-qemu): it must be able to
 * reach the profile directory. We open up the directories we created (0711:
 * others may pass, not list; the secrets inside stay 0600). Whether qemu's
 * user can pass the directories above them is the preflight step's
 * qemu-access check, which stops the start before this. */
static int make_reachable_by_qemu(const struct vk_profile *p, const char *uri, const char *payload,
				  struct vk_error *err)
{
	_cleanup_free_ char *profiles = vk_path_join(p->home, "profiles");
	_cleanup_free_ char *cache = vk_path_join(p->home, "cache");
	_cleanup_free_ char *built = payload ? xstrndup(payload, (size_t)(strrchr(payload, '/') - payload)) : NULL;
	/* The payload ISO (0644) is in HOME/cache/payload: passable too. */
	const char *mine[] = { p->home, profiles, p->dir, payload ? cache : NULL, built };
	struct stat st;

	if (strncmp(uri, "qemu:///system", 14) != 0)
		return 0;
	for (size_t i = 0; i < VK_ARRAY_SIZE(mine); i++)
		if (mine[i] && stat(mine[i], &st) == 0 && (st.st_mode & 0111) != 0111 && chmod(mine[i], (st.st_mode & 07777) | 0111) < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s' to qemu", mine[i]);
	return 0;
}

static int define_domain(struct vk_start_ctx *ctx, const struct vk_node *n, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *disk = vk_node_path(p, n, VK_FILE_DISK);
	_cleanup_free_ char *seed = vk_node_path(p, n, VK_FILE_SEED);
	_cleanup_free_ char *console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);
	_cleanup_free_ char *xml = NULL;
	struct vk_domain_spec spec = {
		.name = n->name,
		.profile = p->name,
		.accel = ctx->accel,
		.vcpus = (unsigned)ctx->cpus,
		.memory_mib = (unsigned long)ctx->memory_mib,
		.disk_path = disk,
		.disk_format = "qcow2",
		.seed_path = seed,
		.payload_path = p->cfg.payload_iso,
		.network = p->cfg.network,
		.bridge = vk_profile_bridged(p) ? p->cfg.bridge : NULL,
		.mac = n->mac,
		.console_log = console,
		.kernel = ctx->img->kernel,
		.initrd = ctx->img->initrd,
		.cmdline = ctx->img->cmdline,
		.mounts = p->cfg.mounts,
		.nmounts = p->cfg.nmounts,
		.virtiofsd = vk_virtiofsd_find(),
	};

	/* A remote libvirt host: the volumes' paths there, and the console over the API. */
	if (ctx->remote) {
		spec.disk_path = ctx->remote->disk[n->index];
		spec.seed_path = ctx->remote->seed[n->index];
		spec.payload_path = ctx->remote->payload;
		spec.kernel = ctx->remote->kernel;
		spec.initrd = ctx->remote->initrd;
		spec.console_log = NULL;
	}
	xml = vk_domxml_build(&spec, err);
	if (!xml)
		return -1;
	vk_debug("defining domain:\n%s", xml);
	return vk_domain_define(ctx->conn, xml, err);
}

/* A stopped domain keeps the payload ISO path it was defined with; after a
 * cache clean or a changed input the version's ISO has another name, and a
 * guest that still has provisioning to do would find no payload. */
static int repoint_payload(struct vk_start_ctx *ctx, const char *domain, struct vk_error *err)
{
	const char *path = ctx->p->cfg.payload_iso;
	_cleanup_free_ char *disk = vk_domxml_payload_cdrom(path);
	bool changed = false;

	if (vk_domain_set_cdrom(ctx->conn, domain, VK_DOMXML_PAYLOAD_TARGET, path, disk, &changed, err) < 0) {
		if (err && err->code == VK_ERR_UNSUPPORTED) {
			/* libvirt's test driver: no guest reads the cdrom there anyway */
			vk_debug("profile '%s': %s", ctx->p->name, err->message);
			vk_error_clear(err);
			return 0;
		}
		return -1;
	}
	if (changed)
		vk_start_info(ctx, "node '%s': the payload cdrom now reads '%s'", domain, path);
	return 0;
}

/* A start killed while its define was on its way still has it done by
 * libvirtd, possibly after this start looked (preflight): the domain of
 * this profile, from the same config, is then there, and is ours to boot. */
static bool defined_meanwhile(struct vk_start_ctx *ctx, const char *domain, struct vk_error *err)
{
	enum vk_host_state state;

	if (vk_domain_state(ctx->conn, domain, ctx->p->name, &state, NULL) < 0 || state == VK_HOST_NONEXISTENT)
		return false;
	vk_debug("profile '%s': domain '%s' was defined meanwhile (%s)", ctx->p->name, domain,
		 err ? err->message : "");
	vk_error_clear(err);
	return true;
}

int vk_step_domain(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	bool acted = false;

	if (vk_start_any_creating(ctx) && make_reachable_by_qemu(p, ctx->uri, p->cfg.payload_iso, err) < 0)
		return -1;
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		enum vk_host_state state = ctx->node_state[n->index];

		if (state == VK_HOST_RUNNING || state == VK_HOST_PAUSED)
			continue;
		if (state != VK_HOST_NONEXISTENT) {
			/* A remote host's domain keeps the payload volume it was made with. */
			if ((p->cfg.payload_iso && !vk_volumes_wanted(ctx->uri) && repoint_payload(ctx, n->name, err) < 0) ||
			    vk_mounts_sync_config(ctx->conn, p, n->name, NULL, err) < 0)
				return -1;
			acted |= p->cfg.payload_iso != NULL;
			continue;
		}
		if (define_domain(ctx, n, err) < 0 && !defined_meanwhile(ctx, n->name, err))
			return -1;
		if (n->index == 1)
			ctx->res->created = true;
		acted = true;
	}
	if (!acted)
		vk_start_skip(ctx);
	return 0;
}
