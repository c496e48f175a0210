/* Unit tests of the VM builders: domain XML, cloud-init documents, seed ISO, subnets, MACs, images, SSH keys. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "vm/cloudinit.h"
#include "vm/domxml.h"
#include "vm/bootdisk.h"
#include "vm/machine.h"
#include "vm/seed.h"
#include "vm/sshkey.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const char *hostile = "a'b<c>&\"d\n- injected: true # x";

/* ------------------------------------------------------------ domain XML -- */

/* The shared payload ISO: a second read-only cdrom on the same virtio-scsi controller. */
static void test_domxml_payload(const struct vk_domain_spec *base)
{
	struct vk_domain_spec s = *base;
	struct vk_error err = { 0 };
	_cleanup_free_ char *xml = NULL, *alone = NULL;
	const char *seed, *payload, *end;
	int cdroms = 0, controllers = 0;

	s.seed_path = "/p/seed.iso";
	s.payload_path = "/cache/payload/v1.35.4-0a1b2c3d4e5f.iso";
	xml = vk_domxml_build(&s, &err);
	ok(xml != NULL, "domain XML with a payload ISO builds (%s)", err.message);
	for (const char *c = xml; c && (c = strstr(c, "device='cdrom'")); c++)
		cdroms++;
	for (const char *c = xml; c && (c = strstr(c, "<controller type='scsi'")); c++)
		controllers++;
	is_int(cdroms, 2, "two cdroms: seed and payload");
	is_int(controllers, 1, "on one virtio-scsi controller");
	seed = xml ? strstr(xml, "<source file='/p/seed.iso'/>") : NULL;
	payload = xml ? strstr(xml, "<source file='/cache/payload/v1.35.4-0a1b2c3d4e5f.iso' startupPolicy='optional'/>") : NULL;
	ok(seed && payload && seed < payload, "the seed comes first, then the payload (optional at start-up)");
	end = payload ? strstr(payload, "</disk>") : NULL;
	ok(payload && end && strstr(payload, "<target dev='sdb' bus='scsi'/>") < end &&
		   strstr(payload, "<readonly/>") < end &&
		   strstr(payload, "<address type='drive' controller='0' bus='0' target='0' unit='1'/>") < end,
	   "the payload is sdb, read-only, at SCSI unit 1");
	contains(xml, "<address type='drive' controller='0' bus='0' target='0' unit='0'/>", "the seed is at unit 0");

	s.seed_path = NULL;
	s.payload_path = "/h/o'me/<x>&\"/p.iso";
	alone = vk_domxml_build(&s, &err);
	contains(alone, "<source file='/h/o&apos;me/&lt;x&gt;&amp;&quot;/p.iso' startupPolicy='optional'/>",
		 "a hostile payload path is escaped");
	ok(alone && strstr(alone, "o'me") == NULL, "and never appears raw");
	contains(alone, "<controller type='scsi' model='virtio-scsi'/>", "a payload alone still gets its controller");
	{
		_cleanup_free_ char *disk = vk_domxml_payload_cdrom(s.payload_path);

		ok(alone && disk && strstr(alone, disk), "the payload <disk> element alone is the one in the domain XML");
	}
}

static void test_domxml(void)
{
	struct vk_domain_spec s = {
		.name = "dev",
		.profile = "dev",
		.accel = VK_ACCEL_TCG,
		.vcpus = 3,
		.memory_mib = 1536,
		.disk_path = "/p/disk.qcow2",
		.seed_path = "/p/seed.iso",
		.network = "virtkube-dev",
		.mac = "52:54:00:aa:bb:cc",
		.console_log = "/p/console.log",
		.kernel = "/img/vmlinuz",
		.initrd = "/img/initrd.img",
		.cmdline = hostile,
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *tcg = vk_domxml_build(&s, &err);
	_cleanup_free_ char *kvm = NULL, *hd = NULL, *bad = NULL;
	const char *features, *features_end, *tb;

	ok(tcg != NULL, "domain XML builds (%s)", err.message);
	contains(tcg, "<domain type='qemu'>", "TCG gives domain type qemu");
	contains(tcg, "<vcpu>3</vcpu>", "vCPUs are set");
	contains(tcg, "<memory unit='MiB'>1536</memory>", "memory is set in MiB");
	contains(tcg, "<target dev='vda' bus='virtio'/>", "the disk is virtio");
	contains(tcg, "<source file='/p/seed.iso'/>", "the seed is attached");
	contains(tcg, "device='cdrom'", "as a cdrom");
	contains(tcg, "<target dev='sda' bus='scsi'/>", "on SCSI");
	contains(tcg, "<controller type='scsi' model='virtio-scsi'/>", "with a virtio-scsi controller (no AHCI needed)");
	contains(tcg, "<mac address='52:54:00:aa:bb:cc'/>", "the NIC has the profile's MAC");
	contains(tcg, "<model type='virtio'/>", "the NIC is virtio");
	contains(tcg, "<log file='/p/console.log' append='on'/>", "the serial console is logged to the profile");
	contains(tcg, "name='org.qemu.guest_agent.0'", "the guest agent channel is there");
	contains(tcg, "<rng model='virtio'>", "virtio-rng is there");
	contains(tcg, "<kernel>/img/vmlinuz</kernel>", "direct kernel boot: kernel");
	contains(tcg, "<initrd>/img/initrd.img</initrd>", "direct kernel boot: initrd");
	ok(strstr(tcg, "<boot dev=") == NULL, "no boot device with direct kernel boot");
	contains(tcg, "<cmdline>a&apos;b&lt;c&gt;&amp;&quot;d\n- injected: true # x</cmdline>",
		 "a hostile cmdline is escaped");
	ok(strstr(tcg, "a'b<c>") == NULL, "and never appears raw");
	/* libvirt's schema puts <tcg> under <features>. */
	features = strstr(tcg, "<features>");
	features_end = strstr(tcg, "</features>");
	tb = strstr(tcg, "<tcg>\n      <tb-cache unit='MiB'>256</tb-cache>\n    </tcg>");
	ok(features && features_end && tb && tb > features && tb < features_end,
	   "TCG bounds the translation cache inside <features>");
	ok(strstr(tcg, "host-passthrough") == NULL, "no host-passthrough CPU under TCG");
	contains(tcg, "<cpu mode='maximum' migratable='on'/>", "TCG asks for every feature TCG emulates (x86-64-v2 and v3)");
	ok(features_end && strstr(tcg, "<cpu ") > features_end && strstr(tcg, "<cpu ") < strstr(tcg, "<devices>"),
	   "the <cpu> element sits after <features>, before <devices>");

	s.accel = VK_ACCEL_KVM;
	s.kernel = s.initrd = s.cmdline = NULL;
	s.name = hostile;
	s.profile = hostile;
	kvm = vk_domxml_build(&s, &err);
	contains(kvm, "<domain type='kvm'>", "KVM gives domain type kvm");
	ok(kvm && strstr(kvm, "<tcg>") == NULL && strstr(kvm, "tb-cache") == NULL, "no TCG settings under KVM");
	contains(kvm, "<cpu mode='host-passthrough'/>", "KVM passes the host CPU through");
	ok(kvm && strstr(kvm, "maximum") == NULL, "and does not ask for TCG's maximum");
	contains(kvm, "<boot dev='hd'/>", "without a kernel the disk boots");
	contains(kvm, "<name>a&apos;b&lt;c&gt;&amp;&quot;d", "a hostile name is escaped");
	contains(kvm, "<virtkube:profile>a&apos;b", "and so is the profile in the metadata");

	ok(kvm && strstr(kvm, "unit='1'") == NULL && strstr(kvm, "sdb") == NULL, "no payload cdrom unless given");
	test_domxml_payload(&s);

	s.network = NULL;
	hd = vk_domxml_build(&s, &err);
	ok(hd == NULL && err.code == VK_ERR_INVALID, "a spec without a network is refused");
	s.network = "n";
	s.vcpus = 0;
	bad = vk_domxml_build(&s, &err);
	ok(bad == NULL && strstr(err.message, "vCPUs"), "zero vCPUs are refused");
}

/* --------------------------------------------------------------- YAML read -- */

/* Follows a path of map keys and sequence indexes ("users", "0", "name") in DOC. */
static yaml_node_t *ypath(yaml_document_t *doc, const char *const *path)
{
	yaml_node_t *node = yaml_document_get_root_node(doc);

	for (; node && *path; path++) {
		yaml_node_t *next = NULL;

		if (node->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
			     pair++) {
				yaml_node_t *k = yaml_document_get_node(doc, pair->key);

				if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, *path) == 0)
					next = yaml_document_get_node(doc, pair->value);
			}
		} else if (node->type == YAML_SEQUENCE_NODE) {
			long i = atol(*path);

			if (i >= 0 && i < node->data.sequence.items.top - node->data.sequence.items.start)
				next = yaml_document_get_node(doc, node->data.sequence.items.start[i]);
		}
		node = next;
	}
	return node;
}

static const char *yscalar(yaml_document_t *doc, const char *const *path)
{
	yaml_node_t *n = ypath(doc, path);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int yload(yaml_document_t *doc, const char *text)
{
	yaml_parser_t parser;
	int r;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	r = yaml_parser_load(&parser, doc);
	yaml_parser_delete(&parser);
	return r;
}

static void test_cloudinit(void)
{
	const char *runcmd[] = { "echo one", hostile, NULL };
	const struct vk_cloudinit_file files[] = { { "/etc/virtkube/x", "a: b\n", "0600" }, { NULL, NULL, NULL } };
	struct vk_cloudinit ci = {
		.hostname = hostile,
		.instance_id = "iid-1",
		.ssh_pubkey = "ecdsa-sha2-nistp256 AAAAE2VjZHNh virtkube",
		.mac = "52:54:00:01:02:03",
		.address = "192.168.100.2",
		.prefix = 24,
		.gateway = "192.168.100.1",
		.runcmd = runcmd,
		.write_files = files,
		.disable_after_first_boot = true,
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *ud = vk_cloudinit_user_data(&ci, &err);
	_cleanup_free_ char *md = vk_cloudinit_meta_data(&ci, &err);
	_cleanup_free_ char *nc = vk_cloudinit_network_config(&ci, &err);
	_cleanup_free_ char *none = NULL;
	yaml_document_t doc;

	ok(ud && strncmp(ud, "#cloud-config\n", 14) == 0, "user-data starts with #cloud-config");
	ok(yload(&doc, ud), "user-data parses as YAML");
	is_str(yscalar(&doc, (const char *[]){ "hostname", NULL }), hostile, "a hostile hostname comes back unchanged");
	ok(ypath(&doc, (const char *[]){ "injected", NULL }) == NULL, "and injects no key");
	is_str(yscalar(&doc, (const char *[]){ "users", "0", "name", NULL }), "docker", "the user is docker");
	is_str(yscalar(&doc, (const char *[]){ "users", "0", "sudo", NULL }), "ALL=(ALL) NOPASSWD:ALL",
	       "with passwordless sudo");
	is_str(yscalar(&doc, (const char *[]){ "users", "0", "ssh_authorized_keys", "0", NULL }), ci.ssh_pubkey,
	       "and the profile's SSH key");
	is_str(yscalar(&doc, (const char *[]){ "runcmd", "1", NULL }), hostile, "runcmd entries are single strings");
	is_str(yscalar(&doc, (const char *[]){ "runcmd", "2", NULL }), "touch /etc/cloud/cloud-init.disabled",
	       "cloud-init is switched off after the first boot when asked");
	is_str(yscalar(&doc, (const char *[]){ "write_files", "0", "permissions", NULL }), "0600",
	       "write_files keep their permissions");
	yaml_document_delete(&doc);

	ok(yload(&doc, md), "meta-data parses");
	is_str(yscalar(&doc, (const char *[]){ "instance-id", NULL }), "iid-1", "meta-data has the instance-id");
	is_str(yscalar(&doc, (const char *[]){ "local-hostname", NULL }), hostile, "and the hostname");
	yaml_document_delete(&doc);

	ok(yload(&doc, nc), "network-config parses");
	is_str(yscalar(&doc, (const char *[]){ "version", NULL }), "2", "network-config is version 2");
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "match", "macaddress", NULL }), ci.mac,
	       "the NIC is matched by MAC");
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "addresses", "0", NULL }), "192.168.100.2/24",
	       "with the static address");
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "routes", "0", "via", NULL }), "192.168.100.1",
	       "and the gateway");
	yaml_document_delete(&doc);

	ci.ssh_pubkey = NULL;
	none = vk_cloudinit_user_data(&ci, &err);
	ok(none == NULL && err.code == VK_ERR_INVALID, "user-data without an SSH key is refused");
}

/* --network-mode bridge: the interface on the host bridge, the seed with the
 * LAN's prefix, the user's gateway and DNS. */
static void test_bridge(void)
{
	struct vk_domain_spec s = {
		.name = "lan",
		.accel = VK_ACCEL_KVM,
		.vcpus = 1,
		.memory_mib = 512,
		.disk_path = "/p/disk.qcow2",
		.bridge = "br0'/><x",
		.mac = "52:54:00:aa:bb:cc",
	};
	struct vk_cloudinit ci = {
		.hostname = "lan",
		.instance_id = "iid-2",
		.mac = "52:54:00:aa:bb:cc",
		.address = "10.9.0.20",
		.prefix = 16,
		.gateway = "10.9.0.1",
		.dns = "10.9.0.53",
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *xml = vk_domxml_build(&s, &err);
	_cleanup_free_ char *nc = vk_cloudinit_network_config(&ci, &err);
	yaml_document_t doc;

	ok(xml != NULL, "a domain on a bridge builds (%s)", err.message);
	contains(xml, "<interface type='bridge'>\n      <source bridge='br0&apos;/&gt;&lt;x'/>\n"
		      "      <mac address='52:54:00:aa:bb:cc'/>", "its interface is on the bridge (escaped), with its MAC");
	ok(xml && !strstr(xml, "type='network'") && !strstr(xml, "source network"), "and on no libvirt network");
	s.bridge = NULL;
	free(vk_domxml_build(&s, &err));
	contains(err.message, "network (or bridge) and MAC are required", "neither network nor bridge is refused");

	ok(nc && yload(&doc, nc), "the network-config of a bridged node parses");
	if (!nc)
		return;
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "addresses", "0", NULL }), "10.9.0.20/16",
	       "the LAN address with the LAN's prefix");
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "routes", "0", "via", NULL }), "10.9.0.1",
	       "the user's gateway");
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "nameservers", "addresses", "0", NULL }),
	       "10.9.0.53", "and the user's DNS");
	yaml_document_delete(&doc);
	ci.dns = NULL;
	free(nc);
	nc = vk_cloudinit_network_config(&ci, &err);
	ok(nc && yload(&doc, nc), "without a DNS it parses too");
	if (!nc)
		return;
	is_str(yscalar(&doc, (const char *[]){ "ethernets", "eth0", "nameservers", "addresses", "0", NULL }),
	       "10.9.0.1", "and the name server is the gateway, as on a libvirt network");
	yaml_document_delete(&doc);
}

/* ------------------------------------------------------------------- seed -- */

static void test_seed(const char *tmp)
{
	_cleanup_free_ char *iso = xasprintf("%s/seed.iso", tmp);
	_cleanup_free_ char *host = xasprintf("%s/payload", tmp);
	_cleanup_free_ char *script = xasprintf("%s/payload/provision", tmp);
	_cleanup_free_ char *sub = xasprintf("%s/payload/bin", tmp);
	_cleanup_free_ char *tool = xasprintf("%s/payload/bin/tool", tmp);
	_cleanup_seed_ struct vk_seed *seed = vk_seed_new();
	struct vk_error err = { 0 };
	const char *ud = "#cloud-config\nhostname: x\n";
	char label[33] = "", jlabel[17] = "";
	bool joliet = false, saw_ud = false, saw_script = false, saw_tool = false, saw_md = false;
	struct archive *a;
	struct archive_entry *ae;
	struct stat st;
	int fd;

	vk_mkdir_p(sub, 0755, &err);
	vk_write_file_atomic(script, "#!/bin/sh\necho hi\n", 18, 0755, &err);
	vk_write_file_atomic(tool, "TOOL", 4, 0644, &err);

	ok(vk_seed_add_file(seed, "user-data", ud, strlen(ud), 0644, &err) == 0, "user-data is added");
	ok(vk_seed_add_file(seed, "meta-data", "instance-id: i\n", 15, 0644, &err) == 0, "meta-data is added");
	ok(vk_seed_add_host_tree(seed, "virtkube", host, &err) == 0, "a payload directory is added (%s)", err.message);
	ok(vk_seed_add_file(seed, "user-data", "x", 1, 0644, &err) < 0 && err.code == VK_ERR_EXISTS,
	   "a path cannot be added twice");
	ok(vk_seed_add_file(seed, "../escape", "x", 1, 0644, &err) < 0 && err.code == VK_ERR_INVALID,
	   "'..' paths are refused");
	ok(vk_seed_add_file(seed, "/abs", "x", 1, 0644, &err) < 0, "absolute paths are refused");
	ok(vk_seed_write(seed, iso, &err) == 0, "the ISO is written (%s)", err.message);
	ok(stat(iso, &st) == 0 && (st.st_mode & 0777) == 0600, "the ISO is 0600");

	/* Primary volume descriptor at sector 16: volume identifier at byte 40, 32 bytes. */
	fd = open(iso, O_RDONLY);
	if (fd >= 0 && pread(fd, label, 32, 32768 + 40) == 32) {
		for (int i = 31; i >= 0 && label[i] == ' '; i--)
			label[i] = '\0';
		/* Supplementary descriptors (type 2) with a UCS-2 escape sequence are Joliet. */
		for (int sector = 17; sector < 24; sector++) {
			unsigned char vd[128];

			if (pread(fd, vd, sizeof(vd), (off_t)sector * 2048) != (ssize_t)sizeof(vd) || vd[0] == 255)
				break;
			if (vd[0] == 2 && vd[88] == '%' && vd[89] == '/') {
				joliet = true;
				/* Joliet's volume identifier is UCS-2 big-endian: what blkid shows as LABEL. */
				for (int i = 0; i < 16; i++)
					jlabel[i] = vd[40 + 2 * i] == 0 && vd[41 + 2 * i] != ' ' ? (char)vd[41 + 2 * i] : '\0';
			}
		}
	}
	if (fd >= 0)
		close(fd);
	is_str(label, "CIDATA", "the ISO 9660 volume label is CIDATA (d-characters are upper case)");
	ok(joliet, "the ISO has a Joliet descriptor");
	is_str(jlabel, "cidata", "whose label is cidata (blkid's LABEL; cloud-init accepts both cases)");

	a = archive_read_new();
	archive_read_support_format_iso9660(a);
	ok(archive_read_open_filename(a, iso, 10240) == ARCHIVE_OK, "libarchive opens the ISO");
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		char buf[64] = "";
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf) - 1);

		if (n > 0)
			buf[n] = '\0';
		if (strcmp(name, "user-data") == 0)
			saw_ud = strcmp(buf, ud) == 0;
		else if (strcmp(name, "meta-data") == 0)
			saw_md = strcmp(buf, "instance-id: i\n") == 0;
		else if (strcmp(name, "virtkube/provision") == 0)
			saw_script = strcmp(buf, "#!/bin/sh\necho hi\n") == 0 && (archive_entry_perm(ae) & 0111) == 0111;
		else if (strcmp(name, "virtkube/bin/tool") == 0)
			saw_tool = strcmp(buf, "TOOL") == 0;
	}
	archive_read_free(a);
	ok(saw_ud, "user-data reads back with its name and bytes");
	ok(saw_md, "meta-data reads back");
	ok(saw_script, "the payload script reads back, still executable (Rock Ridge)");
	ok(saw_tool, "a nested payload file reads back");
}

/* ----------------------------------------------------------------- network -- */

static void test_subnets(void)
{
	struct vk_error err = { 0 };
	uint32_t chosen = 0, a;
	char buf[16];
	struct vk_cidr used[4];
	char mac1[18], mac2[18], mac3[18];
	_cleanup_free_ char *iso = NULL, *nat = NULL;
	struct vk_network_spec ns = { .name = "virtkube-x", .mode = VK_NET_ISOLATED, .mac = "52:54:00:01:02:03",
				      .host_name = "x" };

	ok(vk_subnet_choose(NULL, 0, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &chosen, &err) == 0, "a subnet is free");
	vk_ipv4_format(chosen, buf);
	is_str(buf, "192.168.100.0", "the first candidate when nothing is used");

	vk_ipv4_parse("0.0.0.0", &used[0].addr), used[0].prefix = 0;
	vk_ipv4_parse("192.168.100.0", &used[1].addr), used[1].prefix = 24;
	vk_ipv4_parse("192.168.101.7", &used[2].addr), used[2].prefix = 32;
	vk_ipv4_parse("10.0.0.0", &used[3].addr), used[3].prefix = 8;
	ok(vk_subnet_choose(used, 4, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &chosen, &err) == 0, "a subnet is still free");
	vk_ipv4_format(chosen, buf);
	is_str(buf, "192.168.102.0", "subnets of routes and networks are skipped, a default route is not");

	vk_ipv4_parse("192.168.0.0", &used[0].addr), used[0].prefix = 16;
	ok(vk_subnet_choose(used, 1, VK_SUBNET_FIRST, VK_SUBNET_COUNT, &chosen, &err) < 0, "a /16 over all fails");
	contains(err.message, "tried 192.168.100.0/24 to 192.168.149.0/24", "the message names the range tried");
	ok(err.hint[0] != '\0', "with a hint");

	vk_ipv4_parse("192.168.100.0", &a);
	ns.subnet = a;
	vk_ipv4_format(vk_network_node_ip(a), buf);
	is_str(buf, "192.168.100.2", "the node IP is .2");
	iso = vk_network_xml(&ns);
	ok(strstr(iso, "<forward") == NULL, "an isolated network has no <forward>");
	contains(iso, "<host mac='52:54:00:01:02:03' name='x' ip='192.168.100.2'/>", "it has the static DHCP entry");
	contains(iso, "<ip address='192.168.100.1' prefix='24'>", "the gateway is .1/24");
	ns.mode = VK_NET_NAT;
	nat = vk_network_xml(&ns);
	contains(nat, "<forward mode='nat'/>", "a NAT network forwards with NAT");
	ok(strstr(nat, "<route") == NULL, "no LoadBalancer pool: no route");
	contains(nat, "<range start='192.168.100.100' end='192.168.100.254'/>", "and DHCP's range runs to .254");
	vk_ipv4_format(vk_network_lb_pool(a), buf);
	is_str(buf, "192.168.100.224", "the LoadBalancer pool is the subnet's top /27");
	ns.lb_pool = true;
	free(nat);
	nat = vk_network_xml(&ns);
	contains(nat, "  </ip>\n  <route address='192.168.100.224' prefix='27' gateway='192.168.100.2'/>\n</network>",
		 "with the pool, the network routes it to node 1");
	contains(nat, "<range start='192.168.100.100' end='192.168.100.223'/>", "and DHCP's range stops below it");
	ns.lb_pool = false;

	vk_machine_mac_for("dev", mac1);
	vk_machine_mac_for("dev", mac2);
	vk_machine_mac_for("dev2", mac3);
	is_str(mac1, mac2, "the MAC is stable for a profile");
	ok(strcmp(mac1, mac3) != 0, "and differs between profiles");
	ok(strncmp(mac1, "52:54:00:", 9) == 0 && strlen(mac1) == 17, "and is a locally administered qemu MAC");

	is_str(vk_machine_uri("test:///default"), "test:///default", "a --libvirt-uri wins");
	setenv("LIBVIRT_DEFAULT_URI", "qemu:///session", 1);
	is_str(vk_machine_uri(NULL), "qemu:///session", "then $LIBVIRT_DEFAULT_URI");
	unsetenv("LIBVIRT_DEFAULT_URI");
	is_str(vk_machine_uri(NULL), "qemu:///system", "then qemu:///system");
	ok(vk_machine_uri_is_local("qemu:///system") && !vk_machine_uri_is_local("qemu+ssh://h/system"),
	   "local and remote URIs are told apart");
}

/* ------------------------------------------------------------------ images -- */

static void write_qcow2(const char *path, uint64_t size)
{
	unsigned char h[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct vk_error err = { 0 };

	for (int i = 0; i < 8; i++)
		h[24 + i] = (unsigned char)(size >> (56 - 8 * i));
	vk_write_file_atomic(path, h, sizeof(h), 0644, &err);
}

static void test_images(const char *tmp)
{
	_cleanup_free_ char *dir = xasprintf("%s/img", tmp);
	_cleanup_free_ char *q = xasprintf("%s/img/disk.qcow2", tmp);
	_cleanup_free_ char *raw = xasprintf("%s/img/disk.raw", tmp);
	_cleanup_free_ char *txt = xasprintf("%s/img/notes.txt", tmp);
	_cleanup_free_ char *k = xasprintf("%s/img/vmlinuz", tmp);
	_cleanup_free_ char *desc = xasprintf("%s/img/image.json", tmp);
	_cleanup_free_ char *bad = xasprintf("%s/img/bad.json", tmp);
	_cleanup_free_ char *missing = xasprintf("%s/img/none.qcow2", tmp);
	_cleanup_free_ char *zeros = xcalloc(1, 1 << 20);
	struct vk_error err = { 0 };
	struct vk_image *img;
	const char *d = "{\"name\": \"t\", \"disk\": \"disk.qcow2\", \"format\": \"qcow2\", \"kernel\": \"vmlinuz\", "
			"\"cmdline\": \"root=/dev/vda\"}";

	vk_mkdir_p(dir, 0755, &err);
	write_qcow2(q, 4ull << 30);
	vk_write_file_atomic(raw, zeros, 1 << 20, 0644, &err);
	vk_write_file_atomic(txt, "hello\n", 6, 0644, &err);
	vk_write_file_atomic(k, "kernel", 6, 0644, &err);
	vk_write_file_atomic(desc, d, strlen(d), 0644, &err);

	img = vk_image_load(q, &err);
	ok(img && strcmp(img->format, "qcow2") == 0 && img->virtual_size == 4ull << 30,
	   "a qcow2 disk is recognized with its virtual size");
	vk_image_free(img);
	img = vk_image_load(raw, &err);
	ok(img && strcmp(img->format, "raw") == 0 && img->virtual_size == 1 << 20, "a raw disk is recognized");
	vk_image_free(img);
	img = vk_image_load(txt, &err);
	ok(!img && err.code == VK_ERR_INVALID, "a text file is refused");
	contains(err.message, "is not a qcow2 or raw disk image", "as not a qcow2 or raw disk image");
	img = vk_image_load(missing, &err);
	ok(!img && err.code == VK_ERR_NOT_FOUND, "a missing image is refused");
	contains(err.message, "none.qcow2", "naming the path");
	img = vk_image_load(desc, &err);
	ok(img != NULL, "a descriptor loads (%s)", err.message);
	if (img) {
		is_str(img->disk, q, "its disk path is resolved next to it");
		is_str(img->kernel, k, "so is the kernel");
		ok(img->initrd == NULL, "a missing initrd stays NULL");
		is_str(img->cmdline, "root=/dev/vda", "the cmdline is kept");
	}
	vk_image_free(img);
	vk_write_file_atomic(bad, "{\"disk\": \"disk.raw\", \"format\": \"qcow2\"}", 39, 0644, &err);
	img = vk_image_load(bad, &err);
	ok(!img && strstr(err.message, "is raw, but its descriptor says"), "a wrong format in a descriptor is caught");
	vk_write_file_atomic(bad, "{\"disk\": ", 9, 0644, &err);
	img = vk_image_load(bad, &err);
	ok(!img && err.code == VK_ERR_PARSE && strstr(err.message, "line 1"), "a broken descriptor names the line");
}

/* -------------------------------------------------------------------- keys -- */

static void test_sshkey(const char *tmp)
{
	_cleanup_free_ char *key = xasprintf("%s/id_ecdsa", tmp);
	_cleanup_free_ char *pub = NULL, *cmd = NULL;
	struct vk_error err = { 0 };
	struct stat st;
	char line[512] = "";
	FILE *f;

	ok(vk_sshkey_generate(key, "virtkube", &err) == 0, "an SSH key pair is generated (%s)", err.message);
	ok(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "the private key is 0600");
	pub = vk_sshkey_read_public(key, &err);
	ok(pub && strncmp(pub, "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABB", 72) == 0,
	   "the public key is an OpenSSH ecdsa-sha2-nistp256 line");
	ok(vk_sshkey_generate(key, "bad comment", &err) < 0, "a comment with spaces is refused");
	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP ssh-keygen is not installed");
		return;
	}
	cmd = xasprintf("ssh-keygen -y -f '%s' 2>&1", key);
	f = popen(cmd, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		pclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	ok(pub && strncmp(line, pub, strlen(line)) == 0 && strlen(line) > 100,
	   "ssh-keygen -y reads the private key and derives the same public key");
	if (pub && strncmp(line, pub, strlen(line)) != 0)
		printf("#   ssh-keygen: %s\n#   ours:       %s\n", line, pub);
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	struct vk_error err = { 0 };

	test_domxml();
	test_cloudinit();
	test_bridge();
	test_seed(tmp);
	test_subnets();
	test_images(tmp);
	test_sshkey(tmp);
	if (!getenv("KEEP")) vk_remove_tree(tmp, &err); else printf("# kept %s\n", tmp);
	return done_testing();
}
