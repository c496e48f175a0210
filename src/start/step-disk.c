/* Step "disk": a new machine's copy-on-write qcow2 overlay over the base image, in the profile's directory. */
#include <string.h>

#include "cluster/cluster.h"
#include "vm/nodeplan.h"
#include "vm/volumes.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int vk_step_disk(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *pool = vk_cluster_network_name(p->name);
	uint64_t capacity = (uint64_t)ctx->disk_gib << 30;
	bool made = false;

	/* A remote libvirt host: the base image is uploaded there, the overlay is a volume. */
	if (vk_volumes_wanted(ctx->uri))
		return vk_start_remote_disks(ctx, err);
	/* A start killed inside vk_disk_create_overlay leaves its transient
	 * pool behind; the disk itself may well be there (libvirtd made it). */
	vk_disk_pool_cleanup(ctx->conn, pool);
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *disk = vk_node_path(p, n, VK_FILE_DISK);
		_cleanup_free_ char *file = xstrdup(strrchr(disk, '/') + 1);

		if (!vk_start_node_creating(ctx, n) || vk_path_exists(disk))
			continue;
		if (!ctx->img) {
			vk_error_set(err, VK_ERR_INVALID, "no image to make node '%s' of profile '%s' from", n->name, p->name);
			return vk_error_hint(err, "the profile's image '%s' is gone: delete the profile and start again",
					     ctx->image ? ctx->image : "(none)");
		}
		if (capacity < ctx->img->virtual_size) {
			vk_error_set(err, VK_ERR_INVALID, "--disk-size %ld GiB is smaller than image '%s' (%.1f GiB)",
				     ctx->disk_gib, ctx->img->disk, (double)ctx->img->virtual_size / (1 << 30));
			return vk_error_hint(err, "delete the profile and start again with a larger --disk-size");
		}
		if (vk_disk_create_overlay(ctx->conn, pool, p->dir, file, ctx->img->disk, ctx->img->format, capacity,
					   err) < 0)
			return -1;
		made = true;
	}
	if (!made)
		vk_start_skip(ctx);
	return 0;
}
