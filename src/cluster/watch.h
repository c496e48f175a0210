/* What `status --watch` shows, gathered once per refresh into plain data: the VMs from libvirt, Kubernetes from its API, the addons, a start in progress. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "vm/machine.h"
#include "util/error.h"

/* The addons' state costs a GET per object of every addon: it is asked at
 * most this often (and on vk_watch_refresh's FORCE). */
#define VK_WATCH_ADDONS_EVERY_S 30
/* Warning events kept (the newest), and events kept in all. */
#define VK_WATCH_EVENTS_MAX 200

/* One node: its VM, and its Node object when the API answered. Every
 * string is owned by the data (NULL: not known). */
struct vk_watch_node {
	char *name;
	char *role;                 /* "control-plane", "worker", "vm" */
	char *ip;
	bool host_known;            /* libvirt answered for it this refresh */
	enum vk_host_state host;
	double cpu_pct;             /* of its vCPUs, 0..100; < 0 unknown (first sample, stopped, no figures) */
	bool has_mem;
	unsigned long long mem_used_kib, mem_total_kib;
	bool has_disk;
	unsigned long long disk_alloc, disk_capacity; /* bytes */
	char *ready;                /* the Node's Ready condition: "True", "False", "Unknown"; NULL: no Node */
	char *kubelet;              /* the Node's kubelet version */
	char *guest_stage;          /* the last VIRTKUBE-STAGE in its console log since the last boot */
	bool guest_ready;           /* VIRTKUBE-READY since the last boot */
	char *guest_failed;         /* the stage that failed since the last boot */
};

/* A pod that is not Running and Ready (Succeeded ones are done, not shown). */
struct vk_watch_pod {
	char *ns, *name;
	char *phase;
	char *reason;               /* ImagePullBackOff, CrashLoopBackOff, Unschedulable, ...: why */
	long restarts;
};

struct vk_watch_event {
	char *ns, *object;          /* object: "Kind/name" */
	char *type;                 /* "Warning", "Normal" */
	char *reason, *message;
	long count;
	time_t last;                /* 0 unknown */
};

struct vk_watch_addon {
	char *name;
	bool enabled;
	char *state;                /* as `addons list` says: "Ready", "Pending", "Not Applied", ...; "-" not asked */
	char *detail;
};

enum vk_watch_api {
	VK_WATCH_API_OFF,           /* not asked: no Kubernetes, or the profile is not running (see hint) */
	VK_WATCH_API_OK,
	VK_WATCH_API_DOWN,          /* stopped answering: api_error, since api_down_since */
};

/* One refresh. Filled by vk_watch_refresh; a test fills it by hand (the
 * view only reads it). */
struct vk_watch_data {
	char *profile;
	time_t at;                  /* when it was gathered */
	bool kubernetes;
	struct vk_watch_node *nodes;
	size_t nnodes;
	char *libvirt_error;        /* libvirt did not answer: why (NULL: it did) */
	char *problem;              /* what `status` would say is wrong (profile gone, VM stopped), NULL none */
	char *hint;                 /* and what to do about it */
	enum vk_watch_api api;
	char *api_server;
	char *api_error;
	time_t api_down_since;
	struct vk_watch_pod *pods;  /* the ones not Running and Ready */
	size_t npods;
	size_t pods_total;          /* all pods listed */
	struct vk_watch_event *events; /* oldest first, at most VK_WATCH_EVENTS_MAX */
	size_t nevents;
	struct vk_watch_addon *addons;
	size_t naddons;
	time_t addons_at;           /* when their state was asked (0 never) */
	long busy_pid;              /* a virtkube command holding the profile's lock (a start), 0 none */
	char *busy_command;         /* its command line ("virtkube start ...") */
};

/* Frees what D owns and zeroes it; NULL-safe. */
void vk_watch_data_release(struct vk_watch_data *d);

/* D as one JSON object (new reference): what `status --watch -o json`
 * prints per refresh. */
json_t *vk_watch_data_json(const struct vk_watch_data *d);

/* The watcher of profile NAME: keeps the libvirt connection, the API
 * client (its connection kept alive), the console log readers and the
 * previous CPU sample across refreshes. Free with vk_watch_free. */
struct vk_watch;
struct vk_watch *vk_watch_new(const char *profile, long interval_s, struct vk_error *err);
void vk_watch_free(struct vk_watch *w);
static inline void vk_watch_freep(struct vk_watch **w)
{
	vk_watch_free(*w);
}
#define _cleanup_watch_ __attribute__((cleanup(vk_watch_freep)))

/* Gathers one refresh: ONE virConnectGetAllDomainStats call, ONE list each
 * of Nodes, Pods and Events, the addons' state when VK_WATCH_ADDONS_EVERY_S
 * have passed or FORCE, the console logs' new lines. Whatever does not
 * answer is data (libvirt_error, api DOWN since when, problem and hint):
 * this does not fail. */
void vk_watch_refresh(struct vk_watch *w, bool force);
/* The last refresh (owned by W, valid until the next refresh). */
const struct vk_watch_data *vk_watch_last(const struct vk_watch *w);

/* The last NLINES lines of node INDEX's (0-based, as in the data) console
 * log, control characters dropped: a NULL-terminated array the caller frees
 * with vk_strv_free. */
char **vk_watch_log_tail(const struct vk_watch *w, size_t index, size_t nlines, struct vk_error *err);

/* Pure helpers, for tests: the vCPU use in % between two samples of
 * CPU_NS nanoseconds taken WALL_NS apart on VCPUS vCPUs (< 0 unknown); and
 * an RFC 3339 time ("2026-12-07T03:15:05Z") as seconds since the epoch (0:
 * not one). */
double vk_watch_cpu_pct(unsigned long long prev_ns, unsigned long long cpu_ns, long long wall_ns, int vcpus);
time_t vk_watch_parse_time(const char *s);
