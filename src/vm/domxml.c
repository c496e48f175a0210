/* Domain XML builder: fixed structure from code, values only through the XML escaper. */
#include "vm/domxml.h"

#include <stdbool.h>
#include <stdlib.h>

#include "vm/mounts.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Appends FMT with one %s replaced by VALUE escaped: keeps the template readable. */
static void add_esc(struct vk_strbuf *sb, const char *before, const char *value, const char *after)
{
	vk_strbuf_addstr(sb, before);
	vk_strbuf_add_xml_escaped(sb, value);
	vk_strbuf_addstr(sb, after);
}

/* A read-only cdrom at SCSI unit UNIT (sda, sdb, ...) of the virtio-scsi controller. */
static void add_cdrom(struct vk_strbuf *sb, const char *path, unsigned unit, const char *source_attrs)
{
	vk_strbuf_addstr(sb, "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n");
	add_esc(sb, "      <source file='", path, "'");
	vk_strbuf_addf(sb, "%s/>\n      <target dev='sd%c' bus='scsi'/>\n      <readonly/>\n", source_attrs, 'a' + unit);
	vk_strbuf_addf(sb, "      <address type='drive' controller='0' bus='0' target='0' unit='%u'/>\n    </disk>\n", unit);
}

char *vk_domxml_payload_cdrom(const char *path)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	/* unit 1: VK_DOMXML_PAYLOAD_TARGET */
	add_cdrom(&sb, path, 1, " startupPolicy='optional'");
	return vk_strbuf_detach(&sb, NULL);
}

char *vk_domxml_build(const struct vk_domain_spec *s, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf sb = VK_STRBUF_INIT;
	bool tcg = s->accel == VK_ACCEL_TCG;

	if (!s->name || !*s->name || !s->disk_path || (!s->network && !s->bridge) || !s->mac) {
		vk_error_set(err, VK_ERR_INVALID, "domain XML for '%s': name, disk, network (or bridge) and MAC are required",
			     s->name ? s->name : "");
		return NULL;
	}
	if (s->vcpus == 0 || s->memory_mib == 0) {
		vk_error_set(err, VK_ERR_INVALID, "domain XML for '%s': vCPUs and memory must be positive", s->name);
		return NULL;
	}
	if ((s->initrd || s->cmdline) && !s->kernel) {
		vk_error_set(err, VK_ERR_INVALID, "domain XML for '%s': an initrd or command line needs a kernel", s->name);
		return NULL;
	}

	vk_strbuf_addf(&sb, "<domain type='%s'>\n", tcg ? "qemu" : "kvm");
	add_esc(&sb, "  <name>", s->name, "</name>\n");
	vk_strbuf_addstr(&sb, "  <metadata>\n    <virtkube:instance xmlns:virtkube='" VK_DOMXML_NS "'>\n");
	add_esc(&sb, "      <virtkube:profile>", s->profile ? s->profile : s->name, "</virtkube:profile>\n");
	vk_strbuf_addstr(&sb, "    </virtkube:instance>\n  </metadata>\n");
	vk_strbuf_addf(&sb, "  <memory unit='MiB'>%lu</memory>\n", s->memory_mib);
	/* Shared memory only with host folders (virtiofs needs it): a guest
	 * whose memory is shared cannot have its memory state saved, so every
	 * other domain keeps memory snapshots (snapshot save). */
	if (s->nmounts)
		vk_strbuf_addstr(&sb, VK_MOUNT_MEMORY_BACKING);
	vk_strbuf_addf(&sb, "  <vcpu>%u</vcpu>\n", s->vcpus);

	/* The seed cdrom is on virtio-scsi: minimal cloud kernels have no AHCI (q35's SATA), and
	 * virtio-scsi works on pc and q35 alike (vm-images/debian-test/README.md). */
	vk_strbuf_addstr(&sb, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
	if (s->kernel) {
		add_esc(&sb, "    <kernel>", s->kernel, "</kernel>\n");
		if (s->initrd)
			add_esc(&sb, "    <initrd>", s->initrd, "</initrd>\n");
		if (s->cmdline)
			add_esc(&sb, "    <cmdline>", s->cmdline, "</cmdline>\n");
	} else {
		vk_strbuf_addstr(&sb, "    <boot dev='hd'/>\n");
	}
	vk_strbuf_addstr(&sb, "  </os>\n");

	vk_strbuf_addstr(&sb, "  <features>\n    <acpi/>\n    <apic/>\n");
	if (tcg)
		vk_strbuf_addf(&sb, "    <tcg>\n      <tb-cache unit='MiB'>%u</tb-cache>\n    </tcg>\n",
			       s->tb_cache_mib ? s->tb_cache_mib : VK_DOMXML_TB_CACHE_MIB);
	vk_strbuf_addstr(&sb, "  </features>\n");
	/* Without a <cpu> element TCG gives qemu64, below x86-64-v2: EL9's glibc
	 * needs v2, EL10's v3. 'maximum' is every feature TCG emulates. */
	if (tcg)
		vk_strbuf_addstr(&sb, "  <cpu mode='" VK_DOMXML_TCG_CPU_MODE "' migratable='on'/>\n");
	else
		vk_strbuf_addstr(&sb, "  <cpu mode='host-passthrough'/>\n");
	vk_strbuf_addstr(&sb, "  <clock offset='utc'/>\n"
			      "  <on_poweroff>destroy</on_poweroff>\n"
			      "  <on_reboot>restart</on_reboot>\n"
			      "  <on_crash>destroy</on_crash>\n");

	vk_strbuf_addstr(&sb, "  <devices>\n");
	add_esc(&sb, "    <disk type='file' device='disk'>\n      <driver name='qemu' type='",
		s->disk_format ? s->disk_format : "qcow2", "' discard='unmap'/>\n");
	add_esc(&sb, "      <source file='", s->disk_path, "'/>\n");
	vk_strbuf_addstr(&sb, "      <target dev='vda' bus='virtio'/>\n    </disk>\n");
	if (s->seed_path)
		add_cdrom(&sb, s->seed_path, 0, "");
	/* Shared by every profile of a Kubernetes version and only read at the
	 * first boot: a domain whose payload ISO was cleaned from the cache
	 * still boots (start builds it again before that anyway). */
	if (s->payload_path) {
		_cleanup_free_ char *payload = vk_domxml_payload_cdrom(s->payload_path);

		vk_strbuf_addstr(&sb, payload);
	}
	if (s->seed_path || s->payload_path)
		vk_strbuf_addstr(&sb, "    <controller type='scsi' model='virtio-scsi'/>\n");
	for (size_t i = 0; i < s->nmounts; i++) {
		_cleanup_free_ char *fs = vk_mount_domxml(&s->mounts[i], s->virtiofsd);

		vk_strbuf_addstr(&sb, fs);
	}
	if (s->bridge) {
		vk_strbuf_addstr(&sb, "    <interface type='bridge'>\n");
		add_esc(&sb, "      <source bridge='", s->bridge, "'/>\n");
	} else {
		vk_strbuf_addstr(&sb, "    <interface type='network'>\n");
		add_esc(&sb, "      <source network='", s->network, "'/>\n");
	}
	add_esc(&sb, "      <mac address='", s->mac, "'/>\n");
	vk_strbuf_addstr(&sb, "      <model type='virtio'/>\n    </interface>\n");
	vk_strbuf_addstr(&sb, "    <serial type='pty'>\n");
	if (s->console_log)
		add_esc(&sb, "      <log file='", s->console_log, "' append='on'/>\n");
	vk_strbuf_addstr(&sb, "      <target port='0'/>\n    </serial>\n"
			      "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n"
			      "    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
			      "    </channel>\n"
			      "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>\n"
			      "    <memballoon model='none'/>\n"
			      "  </devices>\n</domain>\n");
	return vk_strbuf_detach(&sb, NULL);
}
