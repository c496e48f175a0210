/* Host directories in the guests over virtiofs: `--mount` parsed and checked, the tag, the domain XML pieces, the guest's mount table. */
#pragma once

#include <stdbool.h>

#include "profile/profile.h"
#include "vm/seed.h"
#include "util/error.h"

/* The longest virtiofs tag the guest's kernel takes (virtio-fs config space). */
#define VK_MOUNT_TAG_MAX 36

/* What `start --mount` and `virtkube mount` take. */
#define VK_MOUNT_SYNTAX "HOST_DIR[:GUEST_DIR][,ro]"

/* Where the guest script keeps the table and its subcommand (scripts/guest/README.md). */
#define VK_MOUNT_SEED_FILE "virtkube/mounts"
#define VK_MOUNT_GUEST_COMMAND "sudo -n /usr/local/sbin/virtkube-provision mounts --set"

/* What to install when virtiofsd is missing. */
#define VK_VIRTIOFSD_HINT "install qemu-system-x86 (virtiofsd) on Debian/Ubuntu, virtiofsd on Fedora/CentOS/Arch"

/* Parses SPEC (VK_MOUNT_SYNTAX: GUEST_DIR defaults to HOST_DIR; ",ro" or
 * ",rw" last) into *OUT (owned strings: vk_mount_release). Only the syntax
 * and the path rules (vk_mount_paths_valid, the system directories) are
 * checked; the host directory is vk_mount_check_host's. */
int vk_mount_parse(const char *spec, struct vk_mount *out, struct vk_error *err);
void vk_mount_release(struct vk_mount *m);

/* Whether GUEST may be mounted over: not "/", a system directory or one
 * below /etc, /usr, /proc, ... or /var/lib/kubelet (the message names the
 * rule). GUEST is absolute and normalized already. */
int vk_mount_check_guest(const char *guest, struct vk_error *err);

/* Whether HOST is an existing directory that whoever serves it can read:
 * virtiofsd runs as root under qemu:///system (libvirt starts it), as this
 * user under any other URI. */
int vk_mount_check_host(const char *host, const char *uri, struct vk_error *err);

/* The virtiofs tag of guest path GUEST (newly allocated): "vk-", its last
 * component (at most 24 characters of [A-Za-z0-9._-]), "-" and 8 hex digits
 * of a hash of the whole path: stable, unique per path in practice, at most
 * VK_MOUNT_TAG_MAX characters. */
char *vk_mount_tag(const char *guest);

/* The virtiofsd binary on this host ($VIRTKUBE_VIRTIOFSD, else Fedora's
 * /usr/libexec/virtiofsd, Debian's /usr/lib/qemu/virtiofsd, Arch's
 * /usr/lib/virtiofsd): a static or environment string, NULL when none is
 * executable. */
const char *vk_virtiofsd_find(void);
/* vk_virtiofsd_find, or an error with VK_VIRTIOFSD_HINT. */
const char *vk_virtiofsd_require(struct vk_error *err);

/* The memory backing virtiofs needs (qemu shares the guest's RAM with
 * virtiofsd), as one element of <domain>. */
#define VK_MOUNT_MEMORY_BACKING \
	"  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>\n"

/* M's <filesystem> element served by VIRTIOFSD (NULL: libvirt finds one),
 * indented for <devices> (caller frees). */
char *vk_mount_domxml(const struct vk_mount *m, const char *virtiofsd);

/* The guest's table: one "TAG GUEST_DIR ro|rw" line per mount of P (caller
 * frees; "" when none). The words need no quoting (VK_MOUNT_GUEST_CHARS). */
char *vk_mounts_guest_table(const struct vk_profile *p);
/* The ssh command line that makes a guest's mounts P's (caller frees). */
char *vk_mounts_guest_command(const struct vk_profile *p);
/* Puts the table on SEED as VK_MOUNT_SEED_FILE when P has mounts. */
int vk_mounts_seed_add(const struct vk_profile *p, struct vk_seed *seed, struct vk_error *err);

/* Adds the mounts of SPECS (NULL-terminated, VK_MOUNT_SYNTAX each) to P,
 * checked with URI's rules: all or none, P unchanged on an error. A spec the
 * profile has already (same host, guest and mode) is fine; another mount on
 * one of its guest paths is an error, as is a spec given twice. *ADDED (may
 * be NULL) counts the new ones. virtiofsd must be there when any is new. */
int vk_mounts_merge(struct vk_profile *p, const char *const *specs, const char *uri, size_t *added,
		    struct vk_error *err);
