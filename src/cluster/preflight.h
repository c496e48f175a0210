/* Preflight: what `start` checks before any download (libvirt, accelerator, home, memory, disk, subnet, ssh). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/machine.h"
#include "util/error.h"

/* Used by `virtkube doctor` to print a table and by start's preflight step to
 * stop before a byte is downloaded:
 *
 *   struct vk_preflight_opts o = { .libvirt_uri = uri, .home = home, .memory_mib = 4096, ... };
 *   struct vk_preflight_report r = { 0 };
 *   if (vk_preflight_run(&o, &r, &err) < 0) return -1;    // could not run at all
 *   for (i < r.n) show r.items[i] (warnings too);
 *   rc = vk_preflight_error(&r, &err);                     // -1 with the first failure
 *   vk_preflight_report_release(&r);
 */

enum vk_preflight_status {
	VK_PREFLIGHT_OK,
	VK_PREFLIGHT_WARN, /* start goes ahead, but the user should know (TCG, no ssh) */
	VK_PREFLIGHT_FAIL, /* start would fail: stop before downloading */
};

struct vk_preflight_opts {
	const char *libvirt_uri; /* NULL: vk_machine_uri(NULL) ($LIBVIRT_DEFAULT_URI, else qemu:///system) */
	const char *home;        /* $VIRTKUBE_HOME (required) */
	long memory_mib;         /* the VM's memory; 0: VK_DEFAULT_MEMORY_MIB */
	long disk_gib;           /* the VM's disk size; 0: VK_DEFAULT_DISK_GIB */
	long vms;                /* how many VMs of that size (the nodes that boot); 0: one */
	const char *accel;       /* "auto" (NULL), "kvm" or "tcg" */
	bool no_kubernetes;      /* a plain VM: only the base image is downloaded */
	bool skip_accelerator;   /* the caller decides the accelerator itself (start: once, when the VM is made) */
	uint32_t subnet;         /* the profile's /24 (host order) when it has one; 0: any free /24 of the range */
	const char *bridge;      /* --network-mode bridge: this bridge must be on the libvirt host (check "bridge",
				  * in place of "subnet": the LAN's addresses are the user's, and routed) */
	const char *image;       /* the image, for the TCG CPU check's words: a base image's name (vm-images/NAME)
				  * or a file's; NULL: the default base image */
	const char *cpu_level;   /* the x86-64 level IMAGE needs ("x86-64-v3"); NULL with IMAGE: none said */
	bool mounts;             /* the profile has host folders: no virtiofsd fails (else it is a warning) */
	/* Test seams; NULL means the real thing. */
	const char *tcg_domcaps;  /* a file holding libvirt's domain capabilities for TCG, "": unreadable
				   * (else $VIRTKUBE_TEST_TCG_DOMCAPS, for the tests that run the binary) */
	const char *meminfo_path; /* else $VIRTKUBE_MEMINFO, else /proc/meminfo */
	const char *qemu_user;    /* the user qemu runs as under qemu:///system; else qemu.conf's, else libvirt-qemu or qemu */
};

struct vk_preflight_result {
	char *name;    /* "libvirt", "libvirt-socket", "accelerator" (with the TCG CPU), "home", "qemu-access", "memory", "disk", "subnet" or "bridge", "ssh", "virtiofsd";
			* remote hosts: "remote-host", "remote-memory", "remote-pool", "remote-pool-access" */
	enum vk_preflight_status status;
	char *message; /* what was found, naming the object */
	char *fix;     /* what to do; NULL when ok */
};

struct vk_preflight_report {
	size_t n;
	struct vk_preflight_result *items;
	size_t failed, warned;
	char *accel; /* "kvm" or "tcg" when the accelerator check ran, else NULL */
};

/* Runs every check (about a second: one libvirt connection, a few stats).
 * A failed check is a result, not an error: returns -1 only when the checks
 * cannot run at all (no home given). The accelerator and subnet checks need
 * the libvirt connection and are left out when the "libvirt" check failed.
 * OUT is filled; release it with vk_preflight_report_release. */
int vk_preflight_run(const struct vk_preflight_opts *o, struct vk_preflight_report *out, struct vk_error *err);

/* The CPU a TCG guest of IMAGE gets (IMAGE and LEVEL as in the options;
 * DOMCAPS_FILE the test seam). 0 when libvirt offers CPU mode 'maximum' for
 * TCG, or when that cannot be told (*NOTE then says why; caller frees; else
 * NULL); -1 with ERR naming the image's requirement and what to do when it
 * does not offer it: that guest would get qemu64, below x86-64-v2. */
int vk_preflight_tcg_cpu(virConnectPtr conn, const char *image, const char *cpu_level, const char *domcaps_file,
			 char **note, struct vk_error *err);

/* 0 when no check failed; else -1 with ERR set to the first failure
 * (message "preflight check 'NAME' failed: MESSAGE", hint the fix). */
int vk_preflight_error(const struct vk_preflight_report *r, struct vk_error *err);

const char *vk_preflight_status_name(enum vk_preflight_status s);

/* NULL-safe; leaves R empty. */
void vk_preflight_report_release(struct vk_preflight_report *r);

/* Free bytes a first start writes into the cache, at least: the base image,
 * the Kubernetes binaries and archives, and the payload ISO. */
#define VK_PREFLIGHT_CACHE_NEED_MIB 2048L
#define VK_PREFLIGHT_CACHE_NEED_NOKUBE_MIB 1024L
/* Headroom the host keeps beside the VM's memory (qemu itself, TCG's translation cache). */
#define VK_PREFLIGHT_MEMORY_HEADROOM_MIB 512L
