/* libvirt for virtkube, loaded on first use: connection and hints, kvm/tcg choice, the per-profile network, disk overlays, domains. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/domxml.h"
#include "util/error.h"

#define VK_DEFAULT_LIBVIRT_URI "qemu:///system"

/* virtkube does not link libvirt: the machine module loads this library with
 * dlopen the first time one of its functions needs it, so the commands that
 * never reach libvirt (version, the API commands) do not pay for it. Its
 * headers give the types at build time. (The sanitizer builds link it too,
 * and dlopen finds it loaded: configure.ac says why.) */
#define VK_LIBVIRT_SONAME "libvirt.so.0"

/* Loads libvirt and resolves every function virtkube calls, once per
 * process; later calls only say how that went. A missing or too old library
 * is VK_ERR_UNSUPPORTED, naming it and dlopen's reason, with the package to
 * install as the hint. Every function below that reaches libvirt calls it
 * itself; call it directly only to learn early whether libvirt is there. */
int vk_machine_load(struct vk_error *err);
/* The version of the libvirt library loaded ("9.0.0") into BUF[32]; loads it. */
int vk_machine_libvirt_version(char buf[32], struct vk_error *err);

/* The libvirt URI to use: FLAG if given, else $LIBVIRT_DEFAULT_URI, else
 * qemu:///system. Returns a borrowed pointer (FLAG, the environment or a literal). */
const char *vk_machine_uri(const char *flag);

/* Opens a read-write connection. Failures say which URI and carry a hint for
 * the usual causes: socket permission denied, no daemon, unreachable host.
 * Also routes libvirt's own error printing away (the engine never prints). */
virConnectPtr vk_machine_connect(const char *uri, struct vk_error *err);
/* NULL-safe. */
void vk_machine_disconnect(virConnectPtr conn);
static inline void vk_machine_disconnectp(virConnectPtr *c)
{
	vk_machine_disconnect(*c);
}
#define _cleanup_conn_ __attribute__((cleanup(vk_machine_disconnectp)))

/* Whether the URI names the local host (no host part: "qemu:///system"). */
bool vk_machine_uri_is_local(const char *uri);

/* ---- accelerator ---- */

#define VK_KVM_DEVICE "/dev/kvm"
#define VK_KVM_MAX_GROUPS 64

/* What decides whether qemu can use kvm through one libvirt connection.
 * Gathered by vk_machine_decide_accel; a test fills it by hand. */
struct vk_kvm_facts {
	bool offered;              /* libvirt's domain capabilities offer kvm */
	char why_not_offered[256]; /* libvirt's message when not */
	bool local;                /* the daemon is on this host: the device below is qemu's */
	const char *device;        /* VK_KVM_DEVICE */
	int device_errno;          /* 0, or why it could not be examined */
	mode_t mode;               /* the device's permission bits */
	unsigned uid, gid;         /* and owner */
	char owner[64], group[64]; /* their names (or numbers) */
	bool acl;                  /* it has a POSIX ACL: the mode bits alone do not decide */
	bool qemu_known;           /* the user qemu runs as is known: */
	unsigned qemu_uid, qemu_gid;
	char qemu_user[64];
	unsigned qemu_groups[VK_KVM_MAX_GROUPS]; /* its supplementary groups (libvirt gives them to qemu) */
	size_t nqemu_groups;
};

/* Fills F's device fields from stat(DEVICE) and its ACL. */
void vk_kvm_facts_device(struct vk_kvm_facts *f, const char *device);
/* Sets qemu's user in F to UID/GID, with the supplementary groups of that user. */
void vk_kvm_facts_qemu_user(struct vk_kvm_facts *f, unsigned uid, unsigned gid);
/* The uid and gid in the DAC security model's base label of libvirt's host
 * capabilities XML (`<baselabel type='kvm'>+64055:+108</baselabel>`): the
 * user and group libvirt runs qemu as, as qemu.conf set them. */
int vk_kvm_parse_dac_label(const char *caps_xml, unsigned *uid, unsigned *gid);

enum vk_kvm_verdict {
	VK_KVM_USABLE,   /* qemu's user can open the device */
	VK_KVM_UNUSABLE, /* it cannot, or libvirt offers no kvm */
	VK_KVM_UNKNOWN,  /* only trying can tell (a remote host, an ACL, qemu's user unknown) */
};

/* Judges from F alone (pure). *WHY (caller frees) says why it is not usable
 * or not known, naming the device, its mode and owner and qemu's user; NULL
 * when usable. */
enum vk_kvm_verdict vk_kvm_judge(const struct vk_kvm_facts *f, char **why);
/* What the user can do so qemu can use kvm: the group, a udev rule, or
 * --accel tcg (caller frees). */
char *vk_kvm_fix_hint(const struct vk_kvm_facts *f);

/* The accelerator chosen and, when auto fell back to tcg, why: a warning to
 * show the user (empty otherwise). */
struct vk_accel_choice {
	enum vk_accel accel;
	char reason[1024];
};

/* The decision (pure): WANT ("auto", "kvm", "tcg"; NULL = auto) given FACTS
 * (unused for tcg) and TRIAL_FAILURE (why a trial kvm domain did not start;
 * NULL when it started or was not tried). auto is kvm only when the facts
 * allow it and the trial started; "kvm" fails when the facts rule it out,
 * with the fix as the hint. */
int vk_accel_decide(const char *want, const struct vk_kvm_facts *facts, const char *trial_failure,
		    struct vk_accel_choice *out, struct vk_error *err);
/* Gathers the facts for CONN (domain capabilities; for a local daemon the
 * device's mode and owner and the user qemu runs as) and decides. For auto,
 * when the facts leave kvm possible, it also starts and destroys a paused
 * throwaway kvm domain (about a second): only that proves qemu can use kvm. */
int vk_machine_decide_accel(virConnectPtr conn, const char *uri, const char *want, struct vk_accel_choice *out,
			    struct vk_error *err);
/* vk_machine_decide_accel with the reason logged (info) instead of returned. */
int vk_machine_choose_accel(virConnectPtr conn, const char *uri, const char *want, enum vk_accel *out,
			    struct vk_error *err);
const char *vk_accel_name(enum vk_accel accel);

/* ---- the CPU of TCG domains ---- */

enum vk_tcg_cpu_verdict {
	VK_TCG_CPU_OK,      /* libvirt offers CPU mode 'maximum' for TCG */
	VK_TCG_CPU_MISSING, /* it does not: the guest would get qemu64, below x86-64-v2 */
	VK_TCG_CPU_UNKNOWN, /* the domain capabilities cannot be read (an old libvirt, the test driver) */
};

/* The judgement (pure) on DOMCAPS, libvirt's domain capabilities for
 * virttype qemu (NULL when they could not be read; WHY_UNREAD says why).
 * *WHY gets what was found, for a message (caller frees). */
enum vk_tcg_cpu_verdict vk_tcg_cpu_judge(const char *domcaps, const char *why_unread, char **why);
/* Reads the domain capabilities for TCG through CONN and judges them. */
enum vk_tcg_cpu_verdict vk_machine_tcg_cpu(virConnectPtr conn, char **why);

/* ---- network ---- */

/* An IPv4 prefix, host byte order. */
struct vk_cidr {
	uint32_t addr;
	int prefix;
};

#define VK_SUBNET_FIRST 0xC0A86400u /* 192.168.100.0 */
#define VK_SUBNET_COUNT 50          /* ... 192.168.149.0 */

/* Picks the first /24 of COUNT candidates starting at FIRST (each +256) that
 * overlaps none of USED (default routes, prefix 0, are ignored). On failure the
 * message names the range tried. Pure: unit-testable. */
int vk_subnet_choose(const struct vk_cidr *used, size_t nused, uint32_t first, unsigned count, uint32_t *chosen,
		     struct vk_error *err);
/* Collects subnets in use: this host's routes (/proc/net/route, for local URIs)
 * and every libvirt network's <ip>. *USED is malloc'd; the caller frees it. */
int vk_subnets_in_use(virConnectPtr conn, bool local, struct vk_cidr **used, size_t *nused, struct vk_error *err);
/* Parses "a.b.c.d" (host order) / formats into BUF[16]. */
int vk_ipv4_parse(const char *s, uint32_t *out);
void vk_ipv4_format(uint32_t addr, char buf[16]);
/* The netmask of a /PREFIX (host order): 0 for /0, all ones for /32. */
uint32_t vk_ipv4_mask(int prefix);

/* "52:54:00:xx:xx:xx" from a hash of NAME (stable across runs); BUF[18]. */
void vk_machine_mac_for(const char *name, char buf[18]);

enum vk_network_mode {
	VK_NET_NAT,
	VK_NET_ISOLATED,
};

/* A static DHCP entry: this MAC always gets IP. */
struct vk_dhcp_host {
	const char *mac;
	const char *name;          /* the node's host name */
	const char *ip;
};

struct vk_network_spec {
	const char *name;          /* "virtkube-<profile>" */
	enum vk_network_mode mode;
	uint32_t subnet;           /* a /24, host order */
	const char *mac;           /* the VM's MAC: static DHCP host entry */
	const char *host_name;     /* DHCP host name (the profile) */
	const struct vk_dhcp_host *extra_hosts; /* the other nodes' entries (may be NULL) */
	size_t nextra_hosts;
	bool lb_pool;              /* route the subnet's LoadBalancer pool to the node (vk_network_lb_pool) */
};

/* LoadBalancer addresses: the top /27 of the profile's /24 (.224-.255),
 * kept out of DHCP's range and routed by the host to the control plane
 * (node 1, .2) through a <route> in the network, which libvirtd installs
 * when it starts the network: no host process, no sudo. */
#define VK_LB_POOL_OFFSET 224u
#define VK_LB_POOL_PREFIX 27u
/* The pool of SUBNET: its first address (host order). Prefix VK_LB_POOL_PREFIX. */
uint32_t vk_network_lb_pool(uint32_t subnet);

/* The VM's address on SUBNET (.2) and the gateway (.1). */
uint32_t vk_network_node_ip(uint32_t subnet);
uint32_t vk_network_gateway(uint32_t subnet);

/* Network XML (caller frees). Isolated: no <forward>. */
char *vk_network_xml(const struct vk_network_spec *spec);
/* Defines the network if missing and starts it if inactive. An existing
 * network must carry SPEC's host entry (else it belongs to someone else).
 * An existing network made before the LoadBalancer pool gets SPEC's route
 * added to its definition, and nothing else changed; it is restarted to
 * install the route unless a running domain uses it, in which case
 * *ROUTE_PENDING (may be NULL) is set: the route comes at the network's
 * next start. */
int vk_network_ensure(virConnectPtr conn, const struct vk_network_spec *spec, bool *route_pending,
		      struct vk_error *err);
/* Destroys and undefines network NAME unless a domain other than
 * OWNER_DOMAIN refers to it (*REMOVED says which). A missing network is fine. */
int vk_network_remove_if_unused(virConnectPtr conn, const char *name, const char *owner_domain, bool *removed,
				struct vk_error *err);
bool vk_network_exists(virConnectPtr conn, const char *name);
/* Adds (live, and to the saved definition) the DHCP entry H to network NAME,
 * unless an entry for its MAC is there already. */
int vk_network_host_add(virConnectPtr conn, const char *name, const struct vk_dhcp_host *h, struct vk_error *err);
/* Removes the DHCP entry H from network NAME; a missing network or entry is fine. */
int vk_network_host_remove(virConnectPtr conn, const char *name, const struct vk_dhcp_host *h, struct vk_error *err);

/* A host bridge for --network-mode bridge: is it on the libvirt host? */
enum vk_bridge_found {
	VK_BRIDGE_FOUND,
	VK_BRIDGE_MISSING,
	VK_BRIDGE_UNKNOWN,  /* libvirt has no interface driver there (*WHY says what it said) */
};
/* Looks NAME up with libvirt's interface API; when the daemon cannot tell
 * and the host is this one (LOCAL), in /sys/class/net. *WHY (caller frees)
 * is set only for VK_BRIDGE_UNKNOWN. */
enum vk_bridge_found vk_bridge_find(virConnectPtr conn, bool local, const char *name, char **why);

/* ---- disk ---- */

/* Creates DIR/FILE as a qcow2 copy-on-write overlay of BASE (format
 * BASE_FORMAT) with CAPACITY bytes, through libvirt's storage API (a transient
 * dir pool named POOL on DIR, destroyed again afterwards): the daemon that
 * runs qemu creates the file, so it sees the same paths and owners qemu will.
 * An existing DIR/FILE is kept. */
int vk_disk_create_overlay(virConnectPtr conn, const char *pool, const char *dir, const char *file,
			   const char *base, const char *base_format, uint64_t capacity, struct vk_error *err);
/* Destroys a leftover transient pool named POOL, if any. */
void vk_disk_pool_cleanup(virConnectPtr conn, const char *pool);

/* ---- domains ---- */

enum vk_host_state {
	VK_HOST_NONEXISTENT,
	VK_HOST_STOPPED,
	VK_HOST_RUNNING,
	VK_HOST_PAUSED,
};

const char *vk_host_state_name(enum vk_host_state state);

/* The state of domain NAME. A domain of that name that virtkube did not
 * create for PROFILE (no matching <metadata>) is an error, never touched. */
int vk_domain_state(virConnectPtr conn, const char *name, const char *profile, enum vk_host_state *state,
		    struct vk_error *err);
int vk_domain_define(virConnectPtr conn, const char *xml, struct vk_error *err);
/* Points the cdrom TARGET (e.g. "sdb") of stopped domain NAME at PATH in its
 * persistent definition, using DISK_XML (the whole <disk> element), unless
 * it already reads PATH. *CHANGED says whether it did. A domain without that
 * cdrom is left alone. Drivers that cannot change devices (libvirt's test
 * driver) give VK_ERR_UNSUPPORTED. */
int vk_domain_set_cdrom(virConnectPtr conn, const char *name, const char *target, const char *path,
			const char *disk_xml, bool *changed, struct vk_error *err);
/* The XML of domain NAME: its persistent definition (INACTIVE), else what
 * runs (caller frees with free()). */
char *vk_domain_xml(virConnectPtr conn, const char *name, bool inactive, struct vk_error *err);
/* Attaches (ATTACH) or detaches device XML to or from domain NAME: the
 * running domain (LIVE), else its persistent definition. What the driver or
 * the device cannot do so (hot-plug, libvirt's test driver) is
 * VK_ERR_UNSUPPORTED with libvirt's words. */
int vk_domain_device(virConnectPtr conn, const char *name, const char *xml, bool attach, bool live,
		     struct vk_error *err);
/* Starts domain NAME unless it runs. When qemu may not open the kvm device,
 * the hint names the device, its mode and owner, qemu's user and the fix. */
int vk_domain_start(virConnectPtr conn, const char *name, struct vk_error *err);
/* ACPI power button, waits up to TIMEOUT_S for shut-off, then a hard stop.
 * *FORCED says whether the hard stop was needed. A stopped domain is left alone. */
int vk_domain_shutdown(virConnectPtr conn, const char *name, int timeout_s, bool *forced, struct vk_error *err);
/* The same for the N (at most VK_DOMAINS_SHUTDOWN_MAX) domains NAMES at
 * once: every ACPI shutdown is sent before any is waited for, within one
 * TIMEOUT_S. FORCED[i] says which needed a hard stop. */
#define VK_DOMAINS_SHUTDOWN_MAX 16
int vk_domains_shutdown(virConnectPtr conn, const char *const *names, size_t n, int timeout_s, bool *forced,
			struct vk_error *err);
/* Hard stop (if running) and undefine; a missing domain is fine. */
int vk_domain_remove(virConnectPtr conn, const char *name, struct vk_error *err);

/* One domain's figures from virConnectGetAllDomainStats (what `virsh
 * domstats` shows). A driver without a group (libvirt's test driver has
 * state only) leaves its has_ flag false. */
struct vk_domain_sample {
	char *name;                    /* owned */
	enum vk_host_state state;
	bool has_cpu;
	unsigned long long cpu_ns;     /* the vCPUs' time (cpu.time without per-vCPU figures) */
	int vcpus;                     /* vcpu.current, 0 unknown */
	bool has_mem;
	unsigned long long mem_total_kib; /* balloon.current */
	unsigned long long mem_used_kib;  /* the guest's (available - unused), else qemu's RSS */
	bool mem_guest;                /* mem_used_kib is the guest's own view */
	bool has_disk;
	unsigned long long disk_alloc, disk_capacity; /* bytes, the "vd*" disks summed (no cdroms) */
};

/* Every domain on CONN in ONE virConnectGetAllDomainStats call. *OUT (N
 * entries) is freed with vk_domain_samples_free. */
int vk_domain_stats(virConnectPtr conn, struct vk_domain_sample **out, size_t *n, struct vk_error *err);
void vk_domain_samples_free(struct vk_domain_sample *s, size_t n);

/* ---- guest ---- */

/* Waits until HOST:PORT accepts a TCP connection and sends an SSH banner
 * ("SSH-"), up to TIMEOUT_MS. Only a live sshd answers that, so an old DHCP
 * lease or a half-booted guest never counts as up. */
int vk_wait_ssh(const char *host, int port, long timeout_ms, struct vk_error *err);
/* Waits up to TIMEOUT_MS for the node of P at IP to answer SSH: through the
 * libvirt host when P's URI has an ssh jump (vk_guest_wait_ssh_jump: no route
 * to the node needed), else directly (vk_wait_ssh on port 22). */
struct vk_profile;
int vk_node_wait_ssh(const struct vk_profile *p, const char *ip, long timeout_ms, struct vk_error *err);

/* ---- guest console ---- */

/* A guest under kvm that prints nothing on its console this long after its
 * domain started is likely not running at all (a kvm that cannot run it). */
#define VK_CONSOLE_SILENCE_MS 60000

/* The console log as it was when the domain started. */
struct vk_console_mark {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	long long at_ms; /* vk_now_ms() then */
};

/* Records the console log at PATH (missing: size 0) at NOW_MS; take it just
 * before starting the domain. */
void vk_console_mark_take(const char *path, long long now_ms, struct vk_console_mark *mark);
/* Whether the guest has said nothing: at NOW_MS, at least SILENCE_MS after
 * MARK, the console log at PATH is the same file with the same size (a new,
 * rotated or truncated file counts as output). */
bool vk_console_silent(const char *path, const struct vk_console_mark *mark, long long now_ms, long silence_ms);
/* The warning for a silent guest of domain NAME under ACCEL (caller frees). */
char *vk_console_silence_warning(const char *name, enum vk_accel accel, long silent_ms);

/* ---- snapshots (the flow is src/cluster/snapshot.c) ---- */

/* Pause / resume domain NAME (resuming one that is not paused does nothing). */
int vk_domain_suspend(virConnectPtr conn, const char *name, struct vk_error *err);
int vk_domain_resume(virConnectPtr conn, const char *name, struct vk_error *err);
#define VK_UUID_STRING_LEN 37
/* Domain NAME's UUID into BUF: a node deleted and added again has a new one. */
int vk_domain_uuid(virConnectPtr conn, const char *name, char buf[VK_UUID_STRING_LEN], struct vk_error *err);
/* The bytes disk TARGET ("vda") of domain NAME takes on the host (0 on error). */
int vk_domain_disk_allocation(virConnectPtr conn, const char *name, const char *target, unsigned long long *bytes,
			      struct vk_error *err);
/* Sets running domain NAME's clock to the host's through its guest agent and
 * reads it back: *OFFSET_MS is the guest's time minus the host's afterwards.
 * Fails when the agent does not answer. */
int vk_domain_set_time(virConnectPtr conn, const char *name, long long *offset_ms, struct vk_error *err);
/* Takes the snapshot described by XML (<domainsnapshot>) of domain NAME. */
int vk_domain_snapshot_create(virConnectPtr conn, const char *name, const char *xml, struct vk_error *err);
/* Whether domain NAME has snapshot SNAP. */
int vk_domain_snapshot_exists(virConnectPtr conn, const char *name, const char *snap, bool *exists,
			      struct vk_error *err);
/* Reverts domain NAME to its snapshot SNAP; PAUSED leaves a snapshot with
 * memory paused (else it comes back in the state it was saved in). A
 * missing snapshot is VK_ERR_NOT_FOUND. */
int vk_domain_snapshot_revert(virConnectPtr conn, const char *name, const char *snap, bool paused,
			      struct vk_error *err);
/* Deletes snapshot SNAP of domain NAME; a missing domain or snapshot is fine. */
int vk_domain_snapshot_remove(virConnectPtr conn, const char *name, const char *snap, struct vk_error *err);
