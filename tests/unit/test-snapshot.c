/* Snapshots: names, the <domainsnapshot> XML, shared-memory detection, the record and list JSON, and save/restore/delete of one- and two-node profiles on libvirt's test:///default driver. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "cluster/snapshot.h"
#include "profile/profile.h"
#include "start/start.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* test:///default keeps its state only while a connection is open: main() holds one. */
#define URI "test:///default"

static const char *image;
static virConnectPtr conn;

static const char domain_xml[] =
	"<domain type='qemu'>\n  <name>n1</name>\n  <devices>\n"
	"    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n"
	"      <source file='/p/disk.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n"
	"    <disk type=\"file\" device=\"cdrom\">\n      <source file='/p/seed.iso'/>\n"
	"      <target dev=\"sda\" bus=\"scsi\"/>\n      <readonly/>\n    </disk>\n"
	"    <disk type='file' device='cdrom'>\n      <target dev='sdb' bus='scsi'/>\n    </disk>\n"
	"  </devices>\n</domain>\n";

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void test_names(void)
{
	struct vk_error err = { 0 };
	const char *good[] = { "s1", "before-lab-3", "A.b_c", "x", NULL };
	const char *bad[] = { "", "-x", ".hidden", "a/b", "../s1", "a b", "é", "s1;rm", NULL };
	char longname[66];

	for (int i = 0; good[i]; i++)
		ok(vk_snapshot_name_check(good[i], &err) == 0, "'%s' is a snapshot name", good[i]);
	for (int i = 0; bad[i]; i++) {
		vk_error_clear(&err);
		ok(vk_snapshot_name_check(bad[i], &err) < 0 && err.code == VK_ERR_INVALID, "'%s' is refused", bad[i]);
	}
	memset(longname, 'a', 65);
	longname[65] = '\0';
	ok(vk_snapshot_name_check(longname, &err) < 0, "65 characters are refused");
	longname[64] = '\0';
	ok(vk_snapshot_name_check(longname, &err) == 0, "64 are fine");
	contains(err.hint, "1-64 characters", "the hint gives the rule");
}

static void test_xml(void)
{
	_cleanup_free_ char *run = vk_snapshot_xml("s1", "virtkube profile <p>", domain_xml, true);
	_cleanup_free_ char *off = vk_snapshot_xml("s1", NULL, domain_xml, false);
	char disk[16];

	contains(run, "<name>s1</name>", "the snapshot is named");
	contains(run, "<description>virtkube profile &lt;p&gt;</description>", "the description is escaped");
	contains(run, "<memory snapshot='internal'/>", "a running node keeps its memory inside its disk");
	contains(run, "<disk name='vda' snapshot='internal'/>", "the disk is an internal snapshot");
	contains(run, "<disk name='sda' snapshot='no'/>", "the seed cdrom (double quotes) is left out");
	contains(run, "<disk name='sdb' snapshot='no'/>", "and the payload cdrom");
	contains(off, "<memory snapshot='no'/>", "a stopped node: disk only");
	ok(!strstr(off, "<description>"), "no description when none is given");
	ok(vk_snapshot_first_disk(domain_xml, disk), "the first disk is found");
	is_str(disk, "vda", "and it is vda, not a cdrom");
	ok(!vk_snapshot_first_disk("<domain/>", disk), "a domain without disks has none");
	ok(!vk_snapshot_first_disk("<disk device='disk'><target dev=\"s<disk 's='/></disk>", disk),
	   "a target with markup or quotes in it is no disk (a fuzz finding)");
}

static void test_shared_memory(void)
{
	ok(!vk_snapshot_shares_memory(domain_xml), "a plain domain shares no memory");
	ok(vk_snapshot_shares_memory("<domain><devices><filesystem type='mount' accessmode='passthrough'>"
				     "<driver type='virtiofs'/><source dir='/h'/><target dir='h'/></filesystem>"
				     "</devices></domain>"),
	   "a virtiofs filesystem does");
	ok(!vk_snapshot_shares_memory("<domain><devices><filesystem type='mount'><driver type='path'/>"
				      "</filesystem></devices></domain>"),
	   "a 9p filesystem does not");
	ok(vk_snapshot_shares_memory("<domain><memoryBacking>\n<source type='memfd'/>\n</memoryBacking></domain>"),
	   "memfd memory backing does");
	ok(vk_snapshot_shares_memory("<domain><memoryBacking><access mode=\"shared\"/></memoryBacking></domain>"),
	   "shared memory access does");
	ok(!vk_snapshot_shares_memory("<domain><memoryBacking><hugepages/></memoryBacking></domain>"),
	   "hugepages alone do not");
}

static void test_json(void)
{
	struct vk_snapshot_node nodes[] = { { .name = "p", .uuid = "u1", .running = true },
					    { .name = "p-m02", .uuid = "u2", .running = false } };
	struct vk_snapshot_info s = { .name = "s1", .created = 1765162800, .running = true, .nodes = nodes,
				      .nnodes = 2, .size = 123456789 };
	struct vk_snapshot_info back = { 0 };
	json_auto_t *rec = vk_snapshot_info_json(&s);
	json_auto_t *list = vk_snapshot_list_json(&s, 1);
	json_auto_t *bad = json_pack("{s:s, s:i, s:s, s:[]}", "name", "../x", "created", 1, "state", "running", "nodes");
	_cleanup_free_ char *text = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
	struct vk_error err = { 0 };

	is_str(text,
	       "[{\"name\":\"s1\",\"nodes\":[\"p\",\"p-m02\"],\"size\":123456789,\"state\":\"running\","
	       "\"time\":\"2025-12-08T03:00:00Z\"}]",
	       "the list's JSON: name, time (UTC), state, nodes, size");
	ok(vk_snapshot_info_parse(rec, "rec", &back, &err) == 0, "the record reads back (%s)", err.message);
	is_str(back.name, "s1", "its name");
	is_int(back.created, s.created, "its time");
	is_int(back.nnodes, 2, "its two nodes");
	ok(back.nnodes == 2 && back.nodes[0].running && !back.nodes[1].running, "each with its state");
	is_str(back.nnodes == 2 ? back.nodes[1].uuid : NULL, "u2", "and its UUID");
	is_int(back.size, s.size, "its size");
	vk_snapshot_info_release(&back);
	ok(vk_snapshot_info_parse(bad, "bad.json", &back, &err) < 0 && err.code == VK_ERR_PARSE,
	   "a record with a bad name is refused");
	contains(err.message, "bad.json", "naming the file");
}

static struct vk_profile *open_locked(const char *name)
{
	struct vk_error err = { 0 };
	struct vk_profile *p = vk_profile_open(name, true, &err);

	if (!p || vk_profile_lock(p, 0, &err) < 0) {
		printf("Bail out! cannot open profile %s: %s\n", name, err.message);
		exit(1);
	}
	return p;
}

static struct vk_profile *started(const char *name, long nodes)
{
	struct vk_profile *p = open_locked(name);
	struct vk_start_opts o = { .image = image, .libvirt_uri = URI, .network_mode = "isolated",
				   .no_kubernetes = true, .cpus = 1, .memory_mib = 512, .disk_gib = 2,
				   .wait_s = -1, .nodes = nodes };
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };

	ok(vk_start(p, &o, NULL, NULL, &res, &err) == 0, "start %s with %ld node(s) (%s)", name, nodes, err.message);
	return p;
}

static int domain_state(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	int st = -1, reason;

	if (!d)
		return -1;
	virDomainGetState(d, &st, &reason, 0);
	virDomainFree(d);
	return st;
}

static int nsnapshots(const char *domain)
{
	virDomainPtr d = virDomainLookupByName(conn, domain);
	int n = d ? virDomainSnapshotNum(d, 0) : -1;

	if (d)
		virDomainFree(d);
	return n;
}

static void test_one_node(void)
{
	_cleanup_profile_ struct vk_profile *p = started("one", 1);
	_cleanup_(vk_snapshot_result_release) struct vk_snapshot_result res = { 0 };
	struct vk_snapshot_opts o = { .wait_s = -1 };
	struct vk_snapshot_info *list = NULL;
	struct vk_error err = { 0 };
	_cleanup_free_ char *last = NULL;
	long long at;
	size_t n = 0;

	ok(vk_snapshot_save(p, "s1", &o, &res, &err) == 0, "save s1 of a running one-node profile (%s)", err.message);
	ok(res.nnodes == 1 && res.memory, "one node, with its memory");
	is_int(domain_state("one"), VIR_DOMAIN_RUNNING, "it runs again after the save");
	is_int(nsnapshots("one"), 1, "libvirt has the snapshot");
	ok(vk_snapshot_save(p, "s1", &o, &res, &err) < 0 && err.code == VK_ERR_EXISTS, "saving s1 again is refused");
	contains(err.hint, "--force", "pointing at --force");
	o.force = true;
	ok(vk_snapshot_save(p, "s1", &o, &res, &err) == 0, "--force replaces it (%s)", err.message);
	is_int(nsnapshots("one"), 1, "still one snapshot in libvirt");
	o.force = false;
	ok(vk_snapshot_list(p, &list, &n, &err) == 0 && n == 1, "list: one snapshot");
	ok(n == 1 && strcmp(list[0].name, "s1") == 0 && list[0].running && list[0].nnodes == 1, "s1, running, one node");
	for (size_t i = 0; i < n; i++)
		vk_snapshot_info_release(&list[i]);
	free(list);

	ok(vk_snapshot_restore(p, "nope", &o, &res, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "restore of a snapshot that does not exist fails");
	contains(err.message, "has no snapshot 'nope'", "naming it");
	ok(vk_snapshot_restore(p, "s1", &o, &res, &err) == 0, "restore s1 (%s)", err.message);
	is_int(domain_state("one"), VIR_DOMAIN_RUNNING, "the node runs after the restore");
	vk_snapshot_last_restored(p, &last, &at);
	is_str(last, "s1", "the profile remembers the snapshot last restored");

	/* disk only: the stopped profile */
	ok(vk_snapshot_save(p, "cold", &(struct vk_snapshot_opts){ .stopped = true, .wait_s = -1, .stop_timeout_s = 5 },
			    &res, &err) == 0,
	   "save --stopped of the running profile (%s)", err.message);
	ok(res.stopped_first && !res.memory, "it stopped the profile first and saved the disk only");
	is_int(domain_state("one"), VIR_DOMAIN_SHUTOFF, "and left it stopped");
	ok(vk_snapshot_restore(p, "s1", &o, &res, &err) == 0, "restore s1 of the stopped profile (%s)", err.message);
	is_int(domain_state("one"), VIR_DOMAIN_RUNNING, "brings it back running");
	is_str(vk_profile_state_name(p->cfg.state), "Running", "and says so in config.json");
	ok(vk_snapshot_restore(p, "cold", &o, &res, &err) == 0, "restore cold (%s)", err.message);
	is_int(domain_state("one"), VIR_DOMAIN_SHUTOFF, "leaves the node stopped");
	ok(vk_snapshot_delete(p, "cold", &err) == 0, "delete cold (%s)", err.message);
	is_int(nsnapshots("one"), 1, "libvirt keeps only s1");
	ok(vk_snapshot_delete(p, "cold", &err) < 0 && err.code == VK_ERR_NOT_FOUND, "deleting it again fails");
}

static void test_two_nodes(void)
{
	_cleanup_profile_ struct vk_profile *p = started("two", 2);
	_cleanup_(vk_snapshot_result_release) struct vk_snapshot_result res = { 0 };
	struct vk_snapshot_opts o = { .wait_s = -1 };
	struct vk_error err = { 0 };
	virDomainPtr d;
	char *xml = NULL;

	ok(vk_snapshot_save(p, "s1", &o, &res, &err) == 0, "save s1 of a running two-node profile (%s)", err.message);
	is_int(res.nnodes, 2, "both nodes");
	ok(nsnapshots("two") == 1 && nsnapshots("two-m02") == 1, "each node has it");
	/* A save killed after the first node: libvirt has a snapshot with no record. */
	d = virDomainLookupByName(conn, "two");
	virDomainSnapshotFree(virDomainSnapshotCreateXML(d, "<domainsnapshot><name>half</name></domainsnapshot>", 0));
	ok(vk_snapshot_save(p, "half", &o, &res, &err) == 0, "a save that was killed half-way is done again (%s)",
	   err.message);
	ok(nsnapshots("two") == 2 && nsnapshots("two-m02") == 2, "once on each node");
	ok(vk_snapshot_delete(p, "half", &err) == 0, "delete half");

	/* m02 deleted and defined again: another disk, another UUID. */
	xml = virDomainGetXMLDesc(virDomainLookupByName(conn, "two-m02"), VIR_DOMAIN_XML_INACTIVE);
	d = virDomainLookupByName(conn, "two-m02");
	virDomainDestroy(d);
	virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
	virDomainFree(d);
	if (xml && strstr(xml, "<uuid>"))
		memcpy(strstr(xml, "<uuid>") + 6, "00000000", 8);
	d = virDomainDefineXML(conn, xml);
	virDomainCreate(d);
	virDomainFree(d);
	free(xml);
	ok(vk_snapshot_restore(p, "s1", &o, &res, &err) < 0, "restore after m02 was deleted and added again fails");
	contains(err.message, "node 'two-m02' was deleted and added again after it was taken", "naming the node");
	vk_profile_node_remove(p, 2);
	ok(vk_snapshot_restore(p, "s1", &o, &res, &err) < 0, "restore after m02 was deleted fails");
	contains(err.message, "node 'two-m02' was deleted after it was taken", "naming the node");
	is_int(nsnapshots("two"), 1, "and nothing was changed");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	_cleanup_free_ char *img = xasprintf("%s/base.qcow2", tmp);
	_cleanup_free_ char *kubeconfig = xasprintf("%s/kube/config", tmp);
	unsigned char h[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct vk_error err = { 0 };

	h[24 + 4] = 0x40; /* 1 GiB virtual size */
	setenv("VIRTKUBE_HOME", home, 1);
	setenv("KUBECONFIG", kubeconfig, 1);
	setenv("LIBVIRT_DEFAULT_URI", URI, 1);
	vk_write_file_atomic(img, h, sizeof(h), 0644, &err);
	image = img;
	test_names();
	test_xml();
	test_shared_memory();
	test_json();
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	if (!conn) {
		printf("# SKIP the libvirt part: the test driver cannot be opened: %s\n", virGetLastErrorMessage());
	} else {
		test_one_node();
		test_two_nodes();
		virConnectClose(conn);
	}
	vk_remove_tree(tmp, &err);
	return done_testing();
}
