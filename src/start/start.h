/* `start` as one pipeline of named, re-runnable steps (one file each in src/start/); every front end calls vk_start. */
#pragma once

#include <stdbool.h>

#include "vm/guestlog.h"

#include "artifacts/fetch.h"
#include "vm/machine.h"
#include "profile/profile.h"
#include "util/error.h"


/* The flags of `start`. Zero/NULL means "not given": the saved value, else
 * the default. Given values that differ from a created profile's are refused. */
struct vk_start_opts {
	const char *image;              /* disk image or image.json; NULL: the cached CentOS Stream image */
	long cpus;
	long memory_mib;
	long disk_gib;
	const char *libvirt_uri;
	const char *accel;              /* auto | kvm | tcg */
	const char *network_mode;       /* nat | isolated | bridge (NULL with BRIDGE: bridge) */
	const char *bridge;             /* bridge mode: the host bridge the nodes are on */
	const char *bridge_ip;          /* bridge mode: node 1's address and the LAN's prefix, A.B.C.D/P */
	const char *bridge_gateway;     /* bridge mode: NULL: the prefix's first host address */
	const char *bridge_dns;         /* bridge mode: NULL: the gateway */
	bool no_kubernetes;
	long nodes;                     /* the control plane and nodes-1 workers (1..VK_NODES_MAX); 0: saved, else 1 */
	bool schedule_on_control_plane; /* with workers, let pods run on the control plane too (no NoSchedule taint) */
	const char *kubernetes_version; /* as typed; NULL: the saved one, else the default */
	const char *const *addons;      /* enable these too (NULL-terminated; may be NULL) */
	const char *const *mounts;      /* host folders to add, HOST_DIR[:GUEST_DIR][,ro] each (vm/mounts.h; may be NULL) */
	bool no_default_addons;         /* a new profile gets only ADDONS, not the default ones */
	bool keep_context;              /* do not make the context the current one */
	long wait_s;                    /* each wait's bound; 0: the defaults; <0: do not wait for the guest */
	const char *mirror;
	const char *image_repository;   /* instead of registry.k8s.io, for kubeadm's and the addons' images */
	const char *registry_mirror;    /* asked instead of every image's registry */
	const char *const *insecure_registries; /* HOST[:PORT] spoken to over plain http (NULL-terminated) */
	bool no_preload_images;         /* the guest pulls the images itself (it must reach the registries) */
	bool offline;
	bool verify;
	bool download_only;             /* only the artifacts and the payload ISO; no profile is touched */
	long lock_timeout_ms;           /* how long to wait for another virtkube holding the profile */
};

enum vk_start_event_type {
	VK_START_STEP_BEGIN,   /* step */
	VK_START_STEP_DONE,    /* step, seconds, skipped */
	VK_START_INFO,         /* message: what is being done ("booting 'dev'") */
	VK_START_WARN,         /* message: something the user should know (TCG is slow) */
	VK_START_GUEST_STAGE,  /* stage, ok, message (the stage's detail) */
	VK_START_DOWNLOAD,     /* download: a progress report of the artifacts */
	VK_START_TICK,         /* a wait goes on (about once a second): for an elapsed-time display */
};

/* Valid only during the callback. */
struct vk_start_event {
	enum vk_start_event_type type;
	const char *step;
	double seconds;
	bool skipped;          /* the step found nothing to do */
	const char *message;
	const char *stage;
	bool ok;
	const struct vk_fetch_progress *download;
};

typedef void (*vk_start_event_fn)(void *data, const struct vk_start_event *ev);

#define VK_START_MAX_STEPS 24

struct vk_start_step_time {
	const char *name;      /* static */
	double seconds;
	bool skipped;
};

struct vk_start_result {
	bool was_running;      /* the VM ran already */
	bool created;          /* a new machine was defined */
	bool kubernetes;
	enum vk_accel accel;
	char *node_ip;         /* owned strings; NULL when not reached */
	char *kubernetes_version;
	char *kubeconfig;      /* the file the context was written to */
	bool context_current;
	char *payload_iso;
	char *image;           /* the image artifact (download-only) */
	char **addons;         /* the enabled addons (NULL-terminated, may be NULL) */
	struct vk_start_step_time steps[VK_START_MAX_STEPS];
	size_t nsteps;         /* the steps that ran, in order */
	const char *failed_step; /* static; NULL unless a step failed */
	struct vk_guest_timing guest; /* the control plane's stage times, when "follow-guest" followed it */
};

/* Runs the start pipeline for profile P (opened and locked by the caller;
 * NULL only with download_only): every step in order (vk_start_step_names),
 * each checking what exists first, so an interrupted start is finished by
 * running it again. P's config is saved as the steps go. Events go to
 * ON_EVENT (may be NULL). On failure ERR says "start failed at step 'S':
 * ..." and RES->failed_step names S; an addon that is not ready is
 * VK_ERR_ADDON_NOT_READY, "the cluster of profile 'P' is up, but addon
 * 'X' is not ready: why", with the kubeconfig written and RES complete. RES is overwritten (release an earlier
 * result first) and filled as far as the steps got; free it with
 * vk_start_result_release. */
int vk_start(struct vk_profile *p, const struct vk_start_opts *o, vk_start_event_fn on_event, void *data,
	     struct vk_start_result *res, struct vk_error *err);
void vk_start_result_release(struct vk_start_result *res);

/* The step names, in order (NULL-terminated, static). */
const char *const *vk_start_step_names(void);

/* For tests: makes the pipeline fail with VK_ERR_FAILED right after step
 * NAME has run (NULL: never). Not for production use. */
void vk_start_inject_failure_after(const char *name);
