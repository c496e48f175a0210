/* Turning a profile's VM into a cluster: the seed payload for scripts/guest/provision, following the guest, readiness, kubeconfig. */
#pragma once

#include <stdbool.h>
#include <jansson.h>
#include <sys/types.h>

#include "artifacts.h"
#include "cloudinit.h"
#include "guestlog.h"
#include "profile.h"
#include "seed.h"
#include "util/error.h"

/* What the seed hook needs; lives as long as the start that uses it. */
struct vk_provision {
	bool kubernetes;                   /* false: mode "none" */
	const struct vk_artifact_paths *paths; /* the cached binaries (kubernetes only) */
	char *payload_iso;                 /* the version's shared payload ISO (owned; kubernetes only,
					    * NULL for a profile whose seed carries the payload itself) */
	bool payload_built;                /* this start built payload_iso */
};

/* Before the machine is made: PKI in the profile (vk_pki_ensure), the
 * Kubernetes version and API port saved in config.json, and the version's
 * payload ISO (vk_provision_payload) as pv->payload_iso, its path saved as
 * "payload_iso".
 * Every start does this, so a payload ISO removed by `cache clean` is back
 * before the domain that uses it boots. A profile made before payload ISOs
 * (a seed.iso but no "payload_iso") gets none: its seed has the payload.
 * PATHS must stay valid while PV is used. P is saved. */
int vk_provision_prepare(struct vk_provision *pv, struct vk_profile *p, const struct vk_artifact_paths *paths,
			 bool kubernetes, struct vk_error *err);
void vk_provision_release(struct vk_provision *pv);

/* The payload ISO of the Kubernetes version in PATHS (payload.h), built
 * into HOME's cache unless there: crictl is taken out of its release
 * tarball (kept next to it in the cache) to be bin/crictl, the units come
 * from the data directory. *ISO gets its path (caller frees); *BUILT (may
 * be NULL) whether this call built it. Also what `start --download-only`
 * calls, so the first start of a downloaded version finds it ready. */
int vk_provision_payload(const char *home, const struct vk_artifact_paths *paths, char **iso, bool *built,
			 struct vk_error *err);

/* A vk_start_opts.seed_hook (UD is a struct vk_provision): puts virtkube/
 * on the seed as scripts/guest/README.md describes (mode, provision, env,
 * kubeadm.yaml, pki/ca.*: what is the profile's own; the binaries and units
 * are on the payload ISO) and the runcmd that starts it. Called once
 * node_ip is known. */
int vk_provision_seed_hook(void *ud, struct vk_profile *p, struct vk_seed *seed, struct vk_cloudinit *ci,
			   struct vk_error *err);

/* The runcmd entry that mounts the seed and runs the payload's script. */
extern const char *const vk_provision_runcmd[];

/* Size of the console log now: what a follower should skip (earlier boots). */
off_t vk_provision_console_offset(const struct vk_profile *p);

struct vk_follow_ui {
	/* A guest stage finished (ok or not), as it happens. */
	void (*stage)(void *ud, const char *name, bool ok, const char *detail);
	/* A wait begins: "waiting for the API server at ... (up to N s)". */
	void (*step)(void *ud, const char *msg);
	void *ud;
};

/* Whether the guest still has provisioning to finish: true until a follow
 * has seen VIRTKUBE-READY (a VM stopped halfway through its first
 * provisioning carries on at its next boot, and start follows it again). */
bool vk_provision_pending(const struct vk_profile *p);

/* With FOLLOW_GUEST, follows the guest's console log from OFFSET until
 * VIRTKUBE-READY and records "provisioned" in P (saved); then (with
 * Kubernetes) waits for /readyz with the profile's client certificate and CA,
 * then for the node's Ready condition. TIMEOUT_S bounds each wait.
 * A guest failure ends it at once with the stage and its last log lines.
 * CHECK (may be NULL) is asked between polls whether to go on (e.g. whether
 * the domain still runs: vk_cluster_watch_check). */
int vk_provision_follow(struct vk_profile *p, bool follow_guest, off_t offset, long timeout_s, const struct vk_follow_ui *ui,
			vk_guest_check_fn check, void *check_data, struct vk_error *err);

/* Writes the profile's cluster, user and context into the kubeconfig
 * ($KUBECONFIG's first file, else ~/.kube/config). *PATH_OUT (may be NULL)
 * gets the file written (caller frees). */
int vk_provision_kubeconfig(const struct vk_profile *p, bool set_current, char **path_out, struct vk_error *err);

/* The Kubernetes part of `status`: adds "Kubelet" (the kubelet service in
 * the guest, asked over ssh: Running, Starting, Stopped; when ssh fails,
 * from the node's Ready condition: Running, NotReady, Stopped, Unknown), "APIServer" (Running, Stopped) and "Kubeconfig"
 * (Configured, Misconfigured, Nonexistent) to FIELDS and minikube's bits to
 * *BITS (2: API server or kubelet not running; 4: kubeconfig not
 * Configured). The API is asked only when HOST_RUNNING (and never on
 * libvirt's test driver, which runs no guest). */
int vk_provision_status(const struct vk_profile *p, bool host_running, json_t *fields, int *bits,
			struct vk_error *err);

/* For `delete`: removes the profile's cluster, user and context from the
 * kubeconfig. *REMOVED (may be NULL) says whether there were any. */
int vk_provision_forget(const struct vk_profile *p, bool *removed, char **path_out, struct vk_error *err);
