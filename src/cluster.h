/* start/stop/delete/status of a profile's machine as steps that check what exists, so each can be re-run. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cloudinit.h"
#include "domxml.h"
#include "machine.h"
#include "profile.h"
#include "seed.h"
#include "util/error.h"

#define VK_DEFAULT_CPUS 2
#define VK_DEFAULT_MEMORY_MIB 2048
#define VK_DEFAULT_DISK_GIB 20
#define VK_DEFAULT_WAIT_S 300
#define VK_DEFAULT_STOP_TIMEOUT_S 90
#define VK_SSH_USER "docker"

/* Lets the CLI show progress; the engine itself never prints. */
struct vk_cluster_ui {
	void (*step)(void *ud, const char *msg);  /* "creating network ..." */
	void (*warn)(void *ud, const char *msg);  /* one-line warnings (TCG is slow) */
	void *ud;
};

/* Flags of `start`. Zero/NULL means "not given": the saved value, else the
 * default. Given values that differ from a created profile's are refused. */
struct vk_start_opts {
	const char *image;          /* disk image or image.json */
	long cpus;
	long memory_mib;
	long disk_gib;
	const char *libvirt_uri;
	const char *accel;          /* auto | kvm | tcg */
	const char *network_mode;   /* nat | isolated */
	bool no_kubernetes;
	long wait_s;                /* 0: VK_DEFAULT_WAIT_S; <0: do not wait for the guest */
	struct vk_cluster_ui ui;
	/* Called while the seed ISO of a new machine is built: provisioning adds
	 * its payload (vk_seed_add_*) and runcmd/write_files to CI before the
	 * documents are rendered. May be NULL. */
	int (*seed_hook)(void *ud, struct vk_profile *p, struct vk_seed *seed, struct vk_cloudinit *ci,
			 struct vk_error *err);
	void *seed_hook_ud;
	/* The shared payload ISO (payload.h) a new domain gets as its second
	 * read-only cdrom; NULL: none (the seed carries everything). */
	const char *payload_path;
};

struct vk_start_result {
	bool was_running;     /* nothing to do */
	bool created;         /* a new machine was defined */
	enum vk_accel accel;
	char node_ip[16];
	double host_s;        /* our own work: profile, key, network, disk, seed, define */
	double network_s;     /* parts of host_s: libvirt network define + start */
	double disk_s;        /* overlay creation */
	double seed_s;        /* SSH key + cloud-init documents + ISO */
	double define_s;      /* domain XML + define */
	double boot_s;        /* libvirt starting the domain (qemu launch) */
	double wait_s;        /* waiting for the guest's sshd */
};

/* Brings profile P's machine up: creates whatever is missing (key, network,
 * disk, seed, domain), boots it and waits for SSH. P must be locked by the
 * caller. Saves config.json as it goes, so an interrupted start is finished
 * by running it again and an interrupted profile can be deleted. */
int vk_cluster_start(struct vk_profile *p, const struct vk_start_opts *o, struct vk_start_result *res,
		     struct vk_error *err);

struct vk_stop_result {
	bool was_running;
	bool forced;          /* the ACPI shutdown ran out of time: hard stop */
};

/* ACPI shutdown with TIMEOUT_S, then a hard stop. A stopped or missing
 * domain is success with was_running false. */
int vk_cluster_stop(struct vk_profile *p, int timeout_s, struct vk_stop_result *res, struct vk_error *err);

struct vk_delete_result {
	bool domain_removed;
	bool network_removed;
	bool network_kept;    /* another domain still uses it */
};

/* Removes the domain, the network (if no other domain uses it), and the
 * profile's directory and lock. Works on half-created profiles. Nothing is
 * removed when libvirt cannot be reached (the VM would be orphaned). */
int vk_cluster_delete(struct vk_profile *p, struct vk_delete_result *res, struct vk_error *err);

/* What `status` shows. FIELDS is an object other modules add keys to
 * (minikube-style names: "Name", "Host", ...); EXIT_BITS is the minikube
 * bitmask (1 host down, 2 cluster down, 4 Kubernetes down). */
struct vk_status {
	enum vk_host_state host;
	char node_ip[16];
	bool kubernetes;
	json_t *fields;       /* owned */
	int exit_bits;
};

/* Fills ST (caller calls vk_status_release). */
int vk_cluster_status(struct vk_profile *p, struct vk_status *st, struct vk_error *err);
void vk_status_release(struct vk_status *st);

/* Watches a profile's domain while the host waits for its guest: a
 * vk_guest_check_fn (DATA is the watch) that fails, naming the state and
 * pointing at `virtkube logs`, once the domain no longer runs (shut off,
 * crashed, destroyed, paused or undefined). */
struct vk_cluster_watch;
struct vk_cluster_watch *vk_cluster_watch_new(const struct vk_profile *p, struct vk_error *err);
int vk_cluster_watch_check(void *watch, struct vk_error *err);
void vk_cluster_watch_free(struct vk_cluster_watch *w);

/* The domain and network names of profile NAME (newly allocated). */
char *vk_cluster_domain_name(const char *profile);
char *vk_cluster_network_name(const char *profile);
