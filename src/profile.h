/* Profiles: $VIRTKUBE_HOME, profile names, per-profile config.json and lock. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "util/error.h"
#include "util/lock.h"

#define VK_PROFILE_SCHEMA 1
#define VK_DEFAULT_PROFILE "virtkube"
#define VK_PROFILE_NAME_RULE \
	"1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

struct vk_profile {
	char *name;
	char *home;        /* $VIRTKUBE_HOME */
	char *dir;         /* HOME/profiles/NAME */
	char *config_path; /* DIR/config.json */
	json_t *config;    /* owned; always an object with "schema" and "name" */
	bool exists;       /* config.json was on disk when loaded */
	struct vk_lock lock;
};

/* Returns $VIRTKUBE_HOME, else ~/.virtkube (newly allocated; not created). */
char *vk_home_dir(struct vk_error *err);
/* Creates HOME (0700) if missing; a read-only or unusable path is named. */
int vk_home_ensure(const char *home, struct vk_error *err);

/* Checks NAME against VK_PROFILE_NAME_RULE before any path is built from it. */
int vk_profile_name_check(const char *name, struct vk_error *err);

/* Loads profile NAME. With CREATE, a missing profile comes back in memory
 * with exists=false (nothing is written until vk_profile_save); without it,
 * a missing profile is VK_ERR_NOT_FOUND. A config.json that does not parse,
 * is not a file, or has a newer schema is an error and is never touched.
 * The caller frees the result with vk_profile_free. */
struct vk_profile *vk_profile_open(const char *name, bool create, struct vk_error *err);
/* Writes config.json atomically (0600), creating the directory (0700). */
int vk_profile_save(struct vk_profile *p, struct vk_error *err);
/* Releases the lock if held and frees everything; NULL-safe. */
void vk_profile_free(struct vk_profile *p);

/* Returns DIR/FILE newly allocated. */
char *vk_profile_path(const struct vk_profile *p, const char *file);

/* Takes HOME/locks/NAME.lock, waiting up to TIMEOUT_MS; VK_ERR_BUSY names the pid. */
int vk_profile_lock(struct vk_profile *p, long timeout_ms, struct vk_error *err);

/* Lists profile names under HOME/profiles, sorted; a NULL-terminated array the
 * caller frees with vk_strv_free. A missing home gives an empty list. */
char **vk_profile_list(const char *home, struct vk_error *err);

/* Config accessors; strings returned are owned by the profile. */
const char *vk_profile_get_str(const struct vk_profile *p, const char *key);
long long vk_profile_get_int(const struct vk_profile *p, const char *key, long long fallback);
bool vk_profile_get_bool(const struct vk_profile *p, const char *key, bool fallback);
void vk_profile_set_str(struct vk_profile *p, const char *key, const char *value);
void vk_profile_set_int(struct vk_profile *p, const char *key, long long value);
void vk_profile_set_bool(struct vk_profile *p, const char *key, bool value);

static inline void vk_profile_freep(struct vk_profile **p)
{
	vk_profile_free(*p);
}
#define _cleanup_profile_ __attribute__((cleanup(vk_profile_freep)))

/* Files in a profile's directory (the contract between the engine modules). */
#define VK_FILE_CONFIG "config.json"
#define VK_FILE_SSH_KEY "id_ecdsa"          /* private key, 0600; ".pub" beside it */
#define VK_FILE_CA_CERT "ca.crt"            /* cluster CA */
#define VK_FILE_CA_KEY "ca.key"             /* 0600 */
#define VK_FILE_CLIENT_CERT "client.crt"    /* kubeconfig user, O=system:masters */
#define VK_FILE_CLIENT_KEY "client.key"     /* 0600 */
#define VK_FILE_DISK "disk.qcow2"
#define VK_FILE_SEED "seed.iso"
#define VK_FILE_CONSOLE_LOG "console.log"

/* Keys of config.json shared across modules:
 *   "state"              "Created" | "Running" | "Stopped"
 *   "libvirt_uri"        the URI the profile was created with
 *   "node_ip", "mac", "network", "subnet"   fixed before the first boot
 *   "cpus", "memory_mib", "disk_gib", "image", "accel"
 *   "kubernetes"         false for --no-kubernetes profiles
 *   "kubernetes_version" "v1.36.x"
 *   "api_port"           the API server's port on node_ip (8443)
 *   "addons"             array of enabled addon names
 *   "domain"             the libvirt domain's name (vm)
 *   "network_mode"       "nat" | "isolated" (vm)
 *   "instance_id"        cloud-init instance-id, set when the machine is created (vm)
 *   "provisioned"        true once the guest reported VIRTKUBE-READY (provision)
 *   "payload_iso"        the shared payload ISO the domain has as its second cdrom (provision, payload.h) */
#define VK_API_PORT 8443
