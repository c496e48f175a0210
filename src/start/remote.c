/* A remote libvirt host in the start pipeline: every file a new domain uses becomes a volume in virtkube's pool there (steps "disk" and "seed"); the console is copied back over the API (step "boot"). */
#include <stdlib.h>
#include <string.h>

#include "artifacts/fetch.h"
#include "artifacts/uploads.h"
#include "vm/console.h"
#include "vm/nodeplan.h"
#include "vm/volumes.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* The progress of one upload, as a download's bar. */
struct upload_bar {
	struct vk_start_ctx *ctx;
	struct vk_fetch_progress fp;
	long long t0;
};

static void on_progress(void *data, uint64_t done, uint64_t total)
{
	struct upload_bar *b = data;
	double secs = (double)(vk_now_ms() - b->t0) / 1000.0;

	b->fp.now = (off_t)done;
	b->fp.total = (off_t)total;
	b->fp.rate = secs > 0 ? (double)done / secs : 0;
	b->fp.state = done >= total ? VK_FETCH_DONE : VK_FETCH_RUNNING;
	if (b->ctx->on_event)
		b->ctx->on_event(b->ctx->event_data, &(struct vk_start_event){ .type = VK_START_DOWNLOAD,
									.step = b->ctx->res->failed_step, .download = &b->fp });
}

/* Uploads FILE as volume NAME (unless there already), reporting it as
 * WHAT; *PATH gets the volume's path on the host. */
static int upload(struct vk_start_ctx *ctx, const char *what, const char *file, const char *name, char **path,
		  bool *moved, struct vk_error *err)
{
	static size_t next_bar = 1000; /* apart from the downloads' indexes */
	_cleanup_free_ char *label = xstrdup(what);
	struct upload_bar bar = { .ctx = ctx, .t0 = vk_now_ms() };
	struct vk_volume_upload u = { .pool = VK_VOLUME_POOL, .name = name, .file = file, .progress = on_progress,
				      .progress_data = &bar };
	bool uploaded;

	bar.fp = (struct vk_fetch_progress){ .index = next_bar++, .name = label, .attempt = 1, .state = VK_FETCH_STARTED,
					   .upload = true };
	if (vk_volume_upload(ctx->conn, &u, &uploaded, path, err) < 0)
		return -1;
	if (uploaded)
		vk_start_info(ctx, "uploaded %s to volume '%s' (%.2f s)", what, name,
			      (double)(vk_now_ms() - bar.t0) / 1000.0);
	else
		vk_start_info(ctx, "%s is on the libvirt host already (volume '%s'): not uploaded", what, name);
	*moved |= uploaded;
	return 0;
}

struct held {
	const char *uri, *volume, *file;
};

static void note_held(struct vk_uploads *u, void *data)
{
	const struct held *h = data;

	vk_uploads_add(u, h->uri, h->volume, h->file);
}

/* A file shared by every profile on the host: its volume is named by its
 * sha256. That the host holds it goes into this host's record, for `cache
 * list` (uploaded now or before: either way it is there). */
static int upload_shared(struct vk_start_ctx *ctx, const char *what, const char *kind, const char *file, char **name,
			 char **path, bool *moved, struct vk_error *err)
{
	char sha[VK_SHA256_HEX_LEN + 1];
	struct held h = { .uri = ctx->uri, .file = file };
	_cleanup_free_ char *warning = NULL;
	struct vk_error e = { 0 };

	if (vk_sha256_file(file, sha, err) < 0)
		return -1;
	*name = vk_volume_shared_name(kind, sha);
	if (upload(ctx, what, file, *name, path, moved, err) < 0)
		return -1;
	h.volume = *name;
	if (vk_uploads_update(ctx->home, note_held, &h, &warning, &e) < 0)
		vk_start_warn(ctx, "volume '%s' is not in the record of uploaded volumes: %s", *name, e.message);
	if (warning)
		vk_start_warn(ctx, "%s", warning);
	return 0;
}

static struct vk_start_remote *remote_of(struct vk_start_ctx *ctx)
{
	if (!ctx->remote)
		ctx->remote = xcalloc(1, sizeof(*ctx->remote));
	return ctx->remote;
}

int vk_start_remote_disks(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	struct vk_start_remote *r = remote_of(ctx);
	_cleanup_free_ char *base = NULL, *kernel = NULL, *initrd = NULL, *payload = NULL;
	uint64_t capacity = (uint64_t)ctx->disk_gib << 30;
	bool created = false, moved = false;

	if (!vk_start_any_creating(ctx)) {
		vk_start_skip(ctx);
		return 0;
	}
	if (!ctx->img)
		return vk_error_set(err, VK_ERR_INVALID, "no image to make the machines of profile '%s' from", p->name);
	if (capacity < ctx->img->virtual_size) {
		vk_error_set(err, VK_ERR_INVALID, "--disk-size %ld GiB is smaller than image '%s' (%.1f GiB)", ctx->disk_gib,
			     ctx->img->disk, (double)ctx->img->virtual_size / (1 << 30));
		return vk_error_hint(err, "delete the profile and start again with a larger --disk-size");
	}
	if (vk_volume_pool_ensure(ctx->conn, VK_VOLUME_POOL, VK_VOLUME_POOL_DIR, &created, err) < 0)
		return -1;
	if (created)
		vk_start_info(ctx, "storage pool '%s' created on the libvirt host at %s", VK_VOLUME_POOL, VK_VOLUME_POOL_DIR);
	if (upload_shared(ctx, "the base image", ctx->img->format, ctx->img->disk, &base, NULL, &moved, err) < 0)
		return -1;
	if (ctx->img->kernel &&
	    upload_shared(ctx, "the image's kernel", "kernel", ctx->img->kernel, &kernel, &r->kernel, &moved, err) < 0)
		return -1;
	if (ctx->img->initrd &&
	    upload_shared(ctx, "the image's initrd", "initrd", ctx->img->initrd, &initrd, &r->initrd, &moved, err) < 0)
		return -1;
	if (p->cfg.payload_iso &&
	    upload_shared(ctx, "the payload ISO", "iso", p->cfg.payload_iso, &payload, &r->payload, &moved, err) < 0)
		return -1;
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		_cleanup_free_ char *disk_name = vk_volume_node_name(n->name, VK_VOLUME_NODE_DISK);

		if (vk_start_node_creating(ctx, n) &&
		    vk_volume_overlay(ctx->conn, VK_VOLUME_POOL, disk_name, capacity, base, ctx->img->format,
				      &r->disk[n->index], err) < 0)
			return -1;
	}
	if (!moved)
		vk_start_info(ctx, "nothing uploaded: the images were on the libvirt host already");
	return 0;
}

int vk_start_remote_seed(struct vk_start_ctx *ctx, const struct vk_node *n, struct vk_error *err)
{
	struct vk_start_remote *r = remote_of(ctx);
	_cleanup_free_ char *seed = vk_node_path(ctx->p, n, VK_FILE_SEED);
	_cleanup_free_ char *name = vk_volume_node_name(n->name, VK_VOLUME_NODE_SEED);
	_cleanup_free_ char *what = xasprintf("the seed of '%s'", n->name);
	bool moved = false;

	free(r->seed[n->index]);
	r->seed[n->index] = NULL;
	return upload(ctx, what, seed, name, &r->seed[n->index], &moved, err);
}

void vk_start_remote_console(struct vk_start_ctx *ctx, const struct vk_node *n)
{
	_cleanup_free_ char *console = vk_node_path(ctx->p, n, VK_FILE_CONSOLE_LOG);
	struct vk_error err = { 0 };

	if (!vk_volumes_wanted(ctx->uri) || ctx->console_copy[n->index])
		return;
	/* Taken from any `logs -f` that holds it: the follower needs it. */
	ctx->console_copy[n->index] = vk_console_copy_start(ctx->uri, n->name, console, true, &err);
	if (!ctx->console_copy[n->index])
		vk_start_warn(ctx, "the console of '%s' cannot be followed: %s", n->name, err.message);
}

void vk_start_remote_release(struct vk_start_ctx *ctx)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(ctx->console_copy); i++)
		vk_console_copy_stop(ctx->console_copy[i]);
	if (!ctx->remote)
		return;
	free(ctx->remote->kernel);
	free(ctx->remote->initrd);
	free(ctx->remote->payload);
	for (size_t i = 0; i < VK_ARRAY_SIZE(ctx->remote->disk); i++) {
		free(ctx->remote->disk[i]);
		free(ctx->remote->seed[i]);
	}
	free(ctx->remote);
}
