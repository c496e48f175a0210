/* Turning a profile's VM into a cluster: the seed payload for scripts/guest/provision, following the guest, readiness, kubeconfig. */
#pragma once

#include <stdbool.h>
#include <jansson.h>
#include <sys/types.h>

#include "artifacts/artifacts.h"
#include "vm/cloudinit.h"
#include "vm/guestlog.h"
#include "profile/profile.h"
#include "vm/seed.h"
#include "util/error.h"

/* The payload ISO of the Kubernetes version in PATHS (payload.h), built
 * into HOME's cache unless there: crictl is taken out of its release
 * tarball (kept next to it in the cache) to be bin/crictl, the units come
 * from the data directory; IMAGES (may be NULL) is the OCI archive of the
 * container images (images.h). *ISO gets its path (caller frees); *BUILT (may
 * be NULL) whether this call built it. Also what `start --download-only`
 * calls, so the first start of a downloaded version finds it ready. */
int vk_provision_payload(const char *home, const struct vk_artifact_paths *paths, const char *images, char **iso,
			 bool *built, struct vk_error *err);

/* Puts virtkube/ on SEED as scripts/guest/README.md describes (mode,
 * provision, and with KUBERNETES env, kubeadm.yaml, pki/ca.*: what is the
 * profile's own; the binaries and units are on the payload ISO) and the
 * runcmd that starts it into CI. P's node IP must be fixed. */
int vk_provision_seed_add(const struct vk_profile *p, bool kubernetes, struct vk_seed *seed, struct vk_cloudinit *ci,
			  struct vk_error *err);

/* The same for node N of P (its host name, address, role, pod CIDR, the
 * routes to the other nodes' pods; a worker gets join.yaml, and no CA key). */
int vk_provision_seed_add_node(const struct vk_profile *p, const struct vk_node *n, bool kubernetes,
			       struct vk_seed *seed, struct vk_cloudinit *ci, struct vk_error *err);

/* The runcmd entry that mounts the seed and runs the payload's script. */
extern const char *const vk_provision_runcmd[];

/* Whether the guest still has provisioning to finish: true until a follow
 * has seen VIRTKUBE-READY (a VM stopped halfway through its first
 * provisioning carries on at its next boot, and start follows it again). */
bool vk_provision_pending(const struct vk_profile *p);

/* Follows the guest's console log from OFFSET until VIRTKUBE-READY,
 * calling ON_EVENT for each stage, and records that P is provisioned
 * (saved). A guest failure ends it at once with the stage and its last log
 * lines; TIMEOUT_S bounds it. CHECK (may be NULL) is asked between polls
 * whether to go on (e.g. whether the domain still runs). */
int vk_provision_follow_guest(struct vk_profile *p, off_t offset, long timeout_s, vk_guest_event_fn on_event,
			      void *event_data, vk_guest_check_fn check, void *check_data, struct vk_error *err);

/* The same for node N (index > 1) of P: its own console log; nothing is saved. */
int vk_provision_follow_node(const struct vk_profile *p, const struct vk_node *n, off_t offset, long timeout_s,
			     vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
			     struct vk_error *err);

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

/* The same for worker N of P: "Kubelet" only (the service, over ssh; else
 * its Node's Ready condition); bit 2 when it is not running. */
int vk_provision_node_status(const struct vk_profile *p, const struct vk_node *n, bool host_running, json_t *fields,
			     int *bits);

/* For `delete`: removes the profile's cluster, user and context from the
 * kubeconfig. *REMOVED (may be NULL) says whether there were any. */
int vk_provision_forget(const struct vk_profile *p, bool *removed, char **path_out, struct vk_error *err);
