/* What the steps of the start pipeline share: the context they run in, and the step table's entry type. */
#pragma once

#include <sys/types.h>
#include <time.h>

#include "artifacts/artifacts.h"
#include "vm/bootdisk.h"
#include "vm/machine.h"
#include "profile/profile.h"
#include "start/start.h"
#include "util/error.h"

/* What the steps share: only what more than one of them (or the runner)
 * reads; what a single step needs it works out itself. Grouped by the step
 * that fills it. */
struct vk_start_ctx {
	const struct vk_start_opts *opts;
	struct vk_start_result *res;
	vk_start_event_fn on_event;
	void *event_data;
	struct vk_profile *p;         /* locked by the caller; NULL with download_only */
	char *home;                   /* $VIRTKUBE_HOME */
	time_t started_at;            /* when this start began (wall clock): what this boot made is newer */

	/* step "profile" */
	bool kubernetes;
	char *version;                /* "vX.Y.Z" (kubernetes only) */
	/* the settings of this start: the saved ones, else the flags, else the defaults */
	char *uri;
	char *image;                  /* absolute; NULL until "artifacts" when from the cache */
	long cpus, memory_mib, disk_gib;
	char *network_mode;
	long nodes;                   /* how many nodes the profile has (--nodes, else saved, else 1) */

	/* step "preflight" */
	virConnectPtr conn;
	enum vk_accel accel;
	/* each node's domain as preflight found it, by node index (1 is the
	 * profile's own; a node not planned yet is VK_HOST_NONEXISTENT) */
	enum vk_host_state node_state[VK_NODES_MAX + 1];
	off_t node_console_offset[VK_NODES_MAX + 1]; /* its console log's size before this boot */
	/* step "boot" */
	bool node_booted[VK_NODES_MAX + 1]; /* started by this start */

	/* steps "artifacts" and "config" (the payload ISO is p->cfg.payload_iso) */
	struct vk_artifact_paths paths;
	struct vk_image *img;         /* when a machine is made */
	char *images_archive;         /* step "images": the OCI archive for the payload ISO; NULL: none */

	bool skipped;                 /* set by a step that found nothing to do */

	/* steps "disk" and "seed" (a remote libvirt host): where the new domains' files are there */
	struct vk_start_remote *remote;
	/* step "boot" (a remote libvirt host): each node's console, copied into its console log */
	struct vk_console_copy *console_copy[VK_NODES_MAX + 1];
};

/* The paths on a remote libvirt host of what the new domains use (NULL: none). */
struct vk_start_remote {
	char *kernel, *initrd, *payload;
	char *disk[VK_NODES_MAX + 1], *seed[VK_NODES_MAX + 1]; /* by node index */
};

/* For a remote libvirt host (remote.c): step "disk" uploads the shared
 * files (base image, kernel, initrd, payload ISO) once per host and makes
 * each new node's overlay volume; step "seed" uploads node N's seed. */
int vk_start_remote_disks(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_start_remote_seed(struct vk_start_ctx *ctx, const struct vk_node *n, struct vk_error *err);
/* For a remote libvirt host: copies node N's console into its console log
 * over the API from now on (a warning when it cannot). No-op for a local one. */
void vk_start_remote_console(struct vk_start_ctx *ctx, const struct vk_node *n);
/* Stops the console copies and frees ctx->remote. */
void vk_start_remote_release(struct vk_start_ctx *ctx);

struct vk_start_step {
	const char *name;
	int (*run)(struct vk_start_ctx *ctx, struct vk_error *err);
	bool download_only;           /* part of --download-only */
};

/* Events from inside a step. */
void vk_start_info(struct vk_start_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vk_start_warn(struct vk_start_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A wait goes on: a VK_START_TICK event. */
void vk_start_tick(struct vk_start_ctx *ctx);
/* A vk_guest_check_fn for the waits: DATA is a struct vk_start_watch; it
 * ticks, then asks whether the domain still runs. */
struct vk_start_watch {
	struct vk_start_ctx *ctx;
	struct vk_cluster_watch *domain;
};
int vk_start_watch_check(void *data, struct vk_error *err);
/* The step found nothing to do (shown as "skipped" in the timings). */
void vk_start_skip(struct vk_start_ctx *ctx);
/* Whether the profile's libvirt is the test driver (no guest ever runs there). */
bool vk_start_test_driver(const struct vk_start_ctx *ctx);
/* The bound of one wait: --wait-timeout, else DEFAULT_S. */
long vk_start_wait_s(const struct vk_start_ctx *ctx, long default_s);

/* Whether --image IMAGE names a base image virtkube downloads
 * (vm-images/NAME, `--image centos-stream-9`) rather than a file. */
bool vk_start_base_image(const char *image);

/* Whether the profile's own machine (node 1) is made by this start: its
 * domain was not found (from step "preflight" on). */
bool vk_start_creating(const struct vk_start_ctx *ctx);
/* Whether node N's machine is made by this start (no domain was found). */
bool vk_start_node_creating(const struct vk_start_ctx *ctx, const struct vk_node *n);
/* Whether any of the profile's nodes is made by this start. */
bool vk_start_any_creating(const struct vk_start_ctx *ctx);

/* The steps, one file each. */
int vk_step_profile(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_preflight(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_artifacts(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_images(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_config(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_pki(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_payload(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_network(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_disk(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_seed(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_domain(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_boot(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_kubeconfig(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_follow_guest(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_mounts(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_api_ready(struct vk_start_ctx *ctx, struct vk_error *err);
int vk_step_addons(struct vk_start_ctx *ctx, struct vk_error *err);
