/* Profiles: $VIRTKUBE_HOME, profile names, per-profile config.json and lock, and the names and roles of a profile's nodes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "util/error.h"
#include "util/lock.h"

/* config.json's schema: a newer major is refused; a newer minor only adds
 * keys, which are kept as they were when this version saves the file. */
#define VK_PROFILE_SCHEMA 1
#define VK_PROFILE_SCHEMA_MINOR 2 /* 2: "mounts", "mounts_pending" */
#define VK_DEFAULT_PROFILE "virtkube"
#define VK_PROFILE_NAME_RULE \
	"1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

/* Where a profile's machine is, as last recorded (config.json "state"). */
enum vk_profile_state {
	VK_PROFILE_NEW = 0,   /* nothing made yet (no "state" saved) */
	VK_PROFILE_CREATED,   /* settings saved, machine (partly) made, never booted */
	VK_PROFILE_RUNNING,
	VK_PROFILE_STOPPED,
};

/* Whether the profile runs Kubernetes: decided when its machine is made. */
enum vk_profile_kind {
	VK_KIND_UNDECIDED = 0,
	VK_KIND_KUBERNETES,
	VK_KIND_PLAIN,        /* --no-kubernetes */
};

/* What a node of a profile is (see nodes.h): the control plane or a worker
 * of its cluster, or a plain VM of a --no-kubernetes profile. */
enum vk_node_role {
	VK_ROLE_CONTROL_PLANE = 0,
	VK_ROLE_WORKER,
	VK_ROLE_PLAIN,
};

/* One VM of a profile: all fixed before its first boot (config.json "nodes"). */
struct vk_node {
	long index;           /* 1..VK_NODES_MAX; 1 is the profile's own VM */
	char *name;           /* PROFILE, PROFILE-m02, ... (its domain and host name) */
	char *ip;             /* its static DHCP address on the profile's network */
	char *mac;
	enum vk_node_role role;
};

/* A host directory every node of a profile sees over virtiofs (config.json
 * "mounts"; vm/mounts.h validates what the user gives and applies it). */
struct vk_mount {
	char *host;           /* absolute and normalized (vk_mount_paths_valid) */
	char *guest;          /* the same, and only characters of VK_MOUNT_GUEST_CHARS */
	bool readonly;
};

/* What a guest path may hold besides '/': it reaches a systemd unit name
 * and a shell line in the guest, so nothing that needs quoting. */
#define VK_MOUNT_GUEST_CHARS "A-Z, a-z, 0-9, '.', '_', '-' and '+'"

/* A profile's settings and state: config.json, typed. Loaded and validated
 * by vk_profile_open, written by vk_profile_save; no other module knows the
 * file's keys. Strings are owned (set them with vk_profile_set_str); NULL
 * and 0 mean "not set yet". */
struct vk_profile_config {
	/* fixed when the machine is made */
	char *libvirt_uri;
	char *image;          /* absolute path of a disk or image.json */
	long cpus;
	long memory_mib;
	long disk_gib;
	char *accel;          /* the accelerator chosen: "kvm" | "tcg" */
	char *network_mode;   /* "nat" | "isolated" | "bridge" */
	/* --network-mode bridge: the nodes on a host bridge's LAN, with the
	 * addresses the user gave (no libvirt network; subnet, network and
	 * lb_pool stay unset) */
	char *bridge;         /* the bridge's name on the libvirt host (vk_ifname_valid) */
	char *bridge_ip;      /* "A.B.C.D/P": node 1's address and the LAN's prefix */
	char *bridge_gateway; /* the nodes' default gateway */
	char *bridge_dns;     /* the nodes' name server */
	char *domain;         /* the libvirt domain's name */
	char *instance_id;    /* cloud-init instance-id */
	/* fixed before the first boot */
	char *network;        /* the libvirt network's name */
	char *subnet;         /* "A.B.C.0/24" */
	char *lb_pool;        /* "A.B.C.224/27": LoadBalancer addresses, routed by the host to node 1 */
	char *mac;
	char *node_ip;
	long api_port;        /* the API server's port on node_ip */
	/* The nodes, by index; [0] is the profile's own VM (node_ip, mac). A
	 * profile saved before multi-node has none in its file: the one node is
	 * made up from node_ip and mac when it is loaded. */
	struct vk_node *nodes;
	size_t nnodes;
	bool schedule_on_control_plane; /* --schedule-on-control-plane: no NoSchedule taint with workers */
	char *join_token;     /* the bootstrap token workers join with (config.json is 0600) */
	long join_token_expires; /* when it stops being valid (seconds since the epoch) */
	/* Kubernetes */
	enum vk_profile_kind kind;
	char *kubernetes_version; /* "vX.Y.Z" */
	char *image_repository; /* --image-repository: kubeadm's and the addons' images come from there */
	char *dns_image;      /* the CoreDNS image the version's kubeadm names: the dns addon runs it */
	char *registry_mirror; /* --registry-mirror: also the guest containerd's mirror for later pulls */
	char **insecure_registries; /* --insecure-registry: plain http, for the host and the guest */
	char **addons;        /* enabled addons (NULL-terminated); NULL: never chosen, the defaults apply */
	char *payload_iso;    /* the version's shared payload ISO, the domain's second cdrom */
	bool provisioned;     /* the guest reported VIRTKUBE-READY once */
	/* Host directories shared with every node, in the order added. */
	struct vk_mount *mounts;
	size_t nmounts;
	bool mounts_pending;  /* the set changed while a guest could not be told: the next start tells it */
	enum vk_profile_state state;
};

struct vk_profile {
	char *name;
	char *home;        /* $VIRTKUBE_HOME */
	char *dir;         /* HOME/profiles/NAME */
	char *config_path; /* DIR/config.json */
	struct vk_profile_config cfg;
	bool exists;       /* config.json was on disk when loaded */
	struct vk_lock lock;
	json_t *unknown;   /* profile.c only: keys of a newer minor schema, written back as they were */
	long schema_minor; /* profile.c only: the file's minor schema (kept when newer than ours) */
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

/* Replaces the string *FIELD (a member of p->cfg) with a copy of VALUE (NULL clears it). */
void vk_profile_set_str(char **field, const char *value);
/* Replaces p->cfg.addons with a copy of NAMES (NULL: back to "never chosen"). */
void vk_profile_set_addons(struct vk_profile *p, const char *const *names);

/* Appends a copy of HOST, GUEST, READONLY to p->cfg.mounts (not saved; the
 * caller has validated them: vm/mounts.h). */
void vk_profile_mount_add(struct vk_profile *p, const char *host, const char *guest, bool readonly);
/* Removes the mount on GUEST; false when there is none (not saved). */
bool vk_profile_mount_remove(struct vk_profile *p, const char *guest);
/* The mount on GUEST, or NULL (valid until the list changes). */
const struct vk_mount *vk_profile_mount_find(const struct vk_profile *p, const char *guest);
/* Whether HOST and GUEST are absolute and normalized (no '.', '..', '//' or
 * trailing '/'; "/" itself is neither) and GUEST holds only
 * VK_MOUNT_GUEST_CHARS: what config.json may hold. Pure. */
bool vk_mount_paths_valid(const char *host, const char *guest);

/* Adds node INDEX (its name from vk_node_name), or updates it when there,
 * keeping p->cfg.nodes in index order; returns it (valid until the list
 * changes). Not saved. */
struct vk_node *vk_profile_node_add(struct vk_profile *p, long index, const char *ip, const char *mac,
				    enum vk_node_role role);
/* Removes node INDEX from p->cfg.nodes (not saved); a missing one is fine. */
void vk_profile_node_remove(struct vk_profile *p, long index);

/* Whether the profile's nodes are on a host bridge (--network-mode bridge). */
bool vk_profile_bridged(const struct vk_profile *p);
/* Whether NAME can be a network interface's name (a bridge's): 1 to 15 of
 * A-Z, a-z, 0-9, '.', '_', '-', and neither "." nor "..". Pure. */
bool vk_ifname_valid(const char *name);
#define VK_IFNAME_RULE "1 to 15 characters of A-Z, a-z, 0-9, '.', '_' and '-'"

/* Whether the profile runs Kubernetes (an undecided profile will, unless told). */
bool vk_profile_kubernetes(const struct vk_profile *p);
/* The API server port (VK_API_PORT when not set). */
int vk_profile_api_port(const struct vk_profile *p);
/* "Created", "Running", "Stopped" (and "Created" for a new profile). */
const char *vk_profile_state_name(enum vk_profile_state s);
bool vk_profile_running(const struct vk_profile *p);

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

#define VK_API_PORT 8443

/* What a new profile gets when its flags are not given. */
#define VK_DEFAULT_CPUS 2
#define VK_DEFAULT_MEMORY_MIB 2048
#define VK_DEFAULT_DISK_GIB 20
/* How long one wait (the guest's SSH, the API server, the node) may take. */
#define VK_DEFAULT_WAIT_S 300
/* The most nodes a profile has (--nodes, node add): node I gets the
 * network's .I+1 and pod CIDR 10.244.I-1.0/24. */
#define VK_NODES_MAX 9

/* "control-plane", "worker", "plain". */
const char *vk_node_role_name(enum vk_node_role role);
int vk_node_role_parse(const char *name, enum vk_node_role *role);

/* Node INDEX's name (newly allocated): PROFILE for 1, PROFILE-m02 ... PROFILE-m09. */
char *vk_node_name(const char *profile, long index);
