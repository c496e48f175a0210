/* libvirt for virtkube: connection and hints, kvm/tcg choice, the per-profile network, disk overlays, domains. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>

#include "domxml.h"
#include "util/error.h"

#define VK_DEFAULT_LIBVIRT_URI "qemu:///system"

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

/* Chooses the accelerator for WANT ("auto", "kvm", "tcg"; NULL = auto): kvm
 * when the host's domain capabilities offer it and (for a local URI) /dev/kvm
 * opens read-write, else tcg. An explicit "kvm" that is not available fails
 * with the reason. */
int vk_machine_choose_accel(virConnectPtr conn, const char *uri, const char *want, enum vk_accel *out,
			    struct vk_error *err);
const char *vk_accel_name(enum vk_accel accel);

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

/* "52:54:00:xx:xx:xx" from a hash of NAME (stable across runs); BUF[18]. */
void vk_machine_mac_for(const char *name, char buf[18]);

enum vk_network_mode {
	VK_NET_NAT,
	VK_NET_ISOLATED,
};

struct vk_network_spec {
	const char *name;          /* "virtkube-<profile>" */
	enum vk_network_mode mode;
	uint32_t subnet;           /* a /24, host order */
	const char *mac;           /* the VM's MAC: static DHCP host entry */
	const char *host_name;     /* DHCP host name (the profile) */
};

/* The VM's address on SUBNET (.2) and the gateway (.1). */
uint32_t vk_network_node_ip(uint32_t subnet);
uint32_t vk_network_gateway(uint32_t subnet);

/* Network XML (caller frees). Isolated: no <forward>. */
char *vk_network_xml(const struct vk_network_spec *spec);
/* Defines the network if missing and starts it if inactive. An existing
 * network must carry SPEC's host entry (else it belongs to someone else). */
int vk_network_ensure(virConnectPtr conn, const struct vk_network_spec *spec, struct vk_error *err);
/* Destroys and undefines network NAME unless a domain other than
 * OWNER_DOMAIN refers to it (*REMOVED says which). A missing network is fine. */
int vk_network_remove_if_unused(virConnectPtr conn, const char *name, const char *owner_domain, bool *removed,
				struct vk_error *err);
bool vk_network_exists(virConnectPtr conn, const char *name);

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
int vk_domain_start(virConnectPtr conn, const char *name, struct vk_error *err);
/* ACPI power button, waits up to TIMEOUT_S for shut-off, then a hard stop.
 * *FORCED says whether the hard stop was needed. A stopped domain is left alone. */
int vk_domain_shutdown(virConnectPtr conn, const char *name, int timeout_s, bool *forced, struct vk_error *err);
/* Hard stop (if running) and undefine; a missing domain is fine. */
int vk_domain_remove(virConnectPtr conn, const char *name, struct vk_error *err);

/* ---- guest ---- */

/* Waits until HOST:PORT accepts a TCP connection and sends an SSH banner
 * ("SSH-"), up to TIMEOUT_MS. Only a live sshd answers that, so an old DHCP
 * lease or a half-booted guest never counts as up. */
int vk_wait_ssh(const char *host, int port, long timeout_ms, struct vk_error *err);
