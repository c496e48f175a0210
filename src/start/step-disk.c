/* Step "disk": a new machine's copy-on-write qcow2 overlay over the base image, in the profile's directory. */
#include "cluster.h"
#include "start/step.h"
#include "util/cleanup.h"
#include "util/fs.h"

int vk_step_disk(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	_cleanup_free_ char *disk = vk_profile_path(p, VK_FILE_DISK);
	_cleanup_free_ char *pool = vk_cluster_network_name(p->name);
	uint64_t capacity = (uint64_t)ctx->disk_gib << 30;

	/* A start killed inside vk_disk_create_overlay leaves its transient
	 * pool behind; the disk itself may well be there (libvirtd made it). */
	vk_disk_pool_cleanup(ctx->conn, pool);
	if (!ctx->creating || vk_path_exists(disk)) {
		vk_start_skip(ctx);
		return 0;
	}
	if (capacity < ctx->img->virtual_size) {
		vk_error_set(err, VK_ERR_INVALID, "--disk-size %ld GiB is smaller than image '%s' (%.1f GiB)", ctx->disk_gib,
			     ctx->img->disk, (double)ctx->img->virtual_size / (1 << 30));
		return vk_error_hint(err, "delete the profile and start again with a larger --disk-size");
	}
	return vk_disk_create_overlay(ctx->conn, pool, p->dir, VK_FILE_DISK, ctx->img->disk, ctx->img->format, capacity,
				      err);
}
