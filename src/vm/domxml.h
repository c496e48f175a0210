/* The libvirt domain XML of a virtkube machine, built from a spec with every value escaped. */
#pragma once

#include "profile/profile.h"
#include "util/error.h"

/* The XML namespace of virtkube's <metadata> element: marks domains virtkube owns. */
#define VK_DOMXML_NS "https://virtkube.dev/xmlns/domain/1"

enum vk_accel {
	VK_ACCEL_KVM,
	VK_ACCEL_TCG,
};

/* Everything the domain needs. Strings are borrowed; optional ones may be NULL. */
struct vk_domain_spec {
	const char *name;         /* domain name */
	const char *profile;      /* recorded in <metadata> */
	enum vk_accel accel;      /* kvm: type='kvm' + host-passthrough; tcg: type='qemu' + CPU mode 'maximum' + bounded tb-cache */
	unsigned vcpus;
	unsigned long memory_mib;
	const char *disk_path;    /* the overlay */
	const char *disk_format;  /* "qcow2" */
	const char *seed_path;    /* cidata ISO, a virtio-scsi cdrom (optional) */
	const char *payload_path; /* VKPAYLOAD ISO (payload.h), a second read-only cdrom (optional) */
	const char *network;      /* libvirt network name (unless BRIDGE) */
	const char *bridge;       /* a host bridge instead of a libvirt network (--network-mode bridge) */
	const char *mac;
	const char *console_log;  /* serial console logged here (NULL: not logged; read over the API) */
	const char *kernel;       /* direct kernel boot when set */
	const char *initrd;
	const char *cmdline;
	unsigned tb_cache_mib;    /* TCG translation cache; 0: VK_DOMXML_TB_CACHE_MIB */
	const struct vk_mount *mounts; /* host directories over virtiofs (vm/mounts.h) */
	size_t nmounts;
	const char *virtiofsd;    /* the binary serving them (NULL: libvirt's choice) */
};

#define VK_DOMXML_TB_CACHE_MIB 256

/* The CPU mode of TCG domains: all TCG emulates (x86-64-v3 with qemu 7.2).
 * libvirt must offer it for virttype qemu (vk_tcg_cpu_judge). */
#define VK_DOMXML_TCG_CPU_MODE "maximum"

/* Returns the domain XML (caller frees), or NULL when a required field is missing. */
char *vk_domxml_build(const struct vk_domain_spec *spec, struct vk_error *err);

/* The payload ISO's cdrom target in the domains vk_domxml_build writes. */
#define VK_DOMXML_PAYLOAD_TARGET "sdb"

/* The payload ISO's <disk> element, as vk_domxml_build writes it (at
 * VK_DOMXML_PAYLOAD_TARGET): for pointing an existing domain at another ISO
 * (caller frees). */
char *vk_domxml_payload_cdrom(const char *path);
