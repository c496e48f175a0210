/* The lifecycle against libvirt's built-in test:///default driver: define/start/stop/undefine, re-runs, half-made profiles; the accelerator decision; a silent console. */
#include <errno.h>
#include <grp.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "vm/domxml.h"
#include "vm/machine.h"
#include "profile/profile.h"
#include "start/start.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Quirks of test:///default this file works with:
 * - its state lives in the process and is dropped when the last connection
 *   closes, so main() keeps one connection open for the whole run (the CLI,
 *   one process per command, sees a fresh driver every time);
 * - a shutdown is instant, there are no domain capabilities (so TCG), and
 *   storage volumes exist only in memory (no disk file appears). */
#define URI "test:///default"

static const char *image;
static virConnectPtr conn;

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
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

static struct vk_start_opts opts(void)
{
	return (struct vk_start_opts){
		.image = image,
		.libvirt_uri = URI,
		.network_mode = "isolated",
		.no_kubernetes = true,
		.cpus = 1,
		.memory_mib = 512,
		.disk_gib = 2,
		.wait_s = -1,
	};
}

/* vk_start on P (locked), the previous result released first. */
static int start(struct vk_profile *p, const struct vk_start_opts *o, struct vk_start_result *res, struct vk_error *err)
{
	vk_start_result_release(res);
	return vk_start(p, o, NULL, NULL, res, err);
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

static char *network_xml(const char *name)
{
	virNetworkPtr n = virNetworkLookupByName(conn, name);
	char *xml = n ? virNetworkGetXMLDesc(n, 0) : NULL;

	if (n)
		virNetworkFree(n);
	return xml;
}

static int network_active(const char *name)
{
	virNetworkPtr n = virNetworkLookupByName(conn, name);
	int active = n ? virNetworkIsActive(n) : -1;

	if (n)
		virNetworkFree(n);
	return active;
}

static bool pool_exists(const char *name)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, name);

	if (p)
		virStoragePoolFree(p);
	return p != NULL;
}

static void test_lifecycle(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_stop_result sres;
	struct vk_status st;
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = open_locked("dev");
	_cleanup_free_ char *netxml = NULL, *domxml = NULL, *key = vk_profile_path(p, VK_FILE_SSH_KEY);
	_cleanup_free_ char *seed = vk_profile_path(p, VK_FILE_SEED);
	virDomainPtr d;
	struct stat sb;
	int ndoms;

	ok(start(p, &o, &res, &err) == 0, "start creates and boots a new profile (%s)", err.message);
	ok(res.created && !res.was_running, "it reports a new machine");
	ok(res.accel == VK_ACCEL_TCG, "the test driver has no KVM: TCG");
	is_str(res.node_ip, "192.168.100.2", "the node IP is .2 of the first free /24");
	is_int(domain_state("dev"), VIR_DOMAIN_RUNNING, "domain 'dev' runs");
	d = virDomainLookupByName(conn, "dev");
	domxml = d ? virDomainGetXMLDesc(d, 0) : NULL;
	if (d)
		virDomainFree(d);
	contains(domxml, VK_DOMXML_NS, "the domain carries virtkube's metadata");
	contains(domxml, "network='virtkube-dev'", "it is on the profile's network");
	netxml = network_xml("virtkube-dev");
	ok(netxml && !strstr(netxml, "<forward"), "network 'virtkube-dev' exists and is isolated");
	contains(netxml, "ip='192.168.100.2'", "with the static DHCP entry");
	ok(!pool_exists("virtkube-dev"), "the transient storage pool is gone after the disk was made");
	ok(stat(key, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the SSH key is there, 0600");
	ok(vk_path_exists(seed), "the seed ISO is there");
	is_str(vk_profile_state_name(p->cfg.state), "Running", "config.json says Running");
	is_str(p->cfg.libvirt_uri, URI, "and remembers the URI");

	ok(vk_cluster_status(p, &st, &err) == 0 && st.host == VK_HOST_RUNNING && st.exit_bits == 0,
	   "status: Running, exit bits 0");
	vk_status_release(&st);

	virConnectListAllDomains(conn, NULL, 0);
	ndoms = virConnectNumOfDomains(conn) + virConnectNumOfDefinedDomains(conn);
	ok(start(p, &o, &res, &err) == 0 && res.was_running && !res.created,
	   "start on a running profile is a no-op that says so");
	is_int(virConnectNumOfDomains(conn) + virConnectNumOfDefinedDomains(conn), ndoms, "and defines nothing new");

	o.cpus = 4;
	ok(start(p, &o, &res, &err) < 0 && err.code == VK_ERR_INVALID, "a changed --cpus is refused");
	contains(err.message, "--cpus 1", "naming the saved value");
	contains(err.hint, "virtkube delete -p dev", "with a hint to delete");
	o = opts();

	ok(vk_cluster_stop(p, 5, &sres, &err) == 0 && sres.was_running && !sres.forced, "stop shuts the domain down");
	is_int(domain_state("dev"), VIR_DOMAIN_SHUTOFF, "domain 'dev' is shut off");
	ok(vk_cluster_status(p, &st, &err) == 0 && st.host == VK_HOST_STOPPED && st.exit_bits == 1,
	   "status: Stopped, exit bits 1 (no Kubernetes bits for a --no-kubernetes profile)");
	vk_status_release(&st);
	ok(vk_cluster_stop(p, 5, &sres, &err) == 0 && !sres.was_running, "stopping a stopped profile succeeds quietly");

	ok(start(p, &o, &res, &err) == 0 && !res.created && !res.was_running, "start on a stopped one boots it");
	is_str(res.node_ip, "192.168.100.2", "with the same IP");
	is_int(domain_state("dev"), VIR_DOMAIN_RUNNING, "domain 'dev' runs again");
}

static void test_second_profile_and_shared_network(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_(vk_delete_result_release) struct vk_delete_result dres = { 0 };
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = open_locked("other");
	_cleanup_profile_ struct vk_profile *dev = open_locked("dev");
	_cleanup_free_ char *xml = NULL;
	_cleanup_free_ char *dir = xstrdup(dev->dir);
	virDomainPtr foreign;
	virNetworkPtr net;

	ok(start(p, &o, &res, &err) == 0, "a second profile starts (%s)", err.message);
	is_str(res.node_ip, "192.168.101.2", "on the next /24: the first is another libvirt network's");

	/* A domain virtkube did not make, on dev's network. */
	xml = xasprintf("<domain type='test'><name>foreign</name><memory>65536</memory><os><type>hvm</type></os>"
			"<devices><interface type='network'><source network='virtkube-dev'/></interface></devices></domain>");
	foreign = virDomainDefineXML(conn, xml);
	ok(foreign != NULL, "a foreign domain is defined on dev's network");
	ok(vk_cluster_delete(dev, &dres, &err) == 0, "delete removes dev (%s)", err.message);
	ok(dres.domain_removed && !dres.network_removed && dres.network_kept, "its network is kept: still in use");
	is_int(domain_state("dev"), -1, "domain 'dev' is gone");
	is_int(domain_state("foreign"), VIR_DOMAIN_SHUTOFF, "the foreign domain is untouched");
	ok(!vk_path_exists(dir), "dev's directory is gone");
	if (foreign) {
		virDomainUndefine(foreign);
		virDomainFree(foreign);
	}
	net = virNetworkLookupByName(conn, "virtkube-dev");
	if (net) {
		virNetworkDestroy(net);
		virNetworkUndefine(net);
		virNetworkFree(net);
	}

	ok(vk_cluster_delete(p, &dres, &err) == 0 && dres.domain_removed && dres.network_removed,
	   "deleting the other profile removes its domain and network");
	ok(network_xml("virtkube-other") == NULL, "network 'virtkube-other' is gone");
}

static void test_foreign_domain_name(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_(vk_delete_result_release) struct vk_delete_result dres = { 0 };
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = open_locked("taken");
	virDomainPtr d = virDomainDefineXML(conn, "<domain type='test'><name>taken</name><memory>65536</memory>"
						  "<os><type>hvm</type></os></domain>");

	ok(d != NULL, "someone else's domain 'taken' exists");
	ok(start(p, &o, &res, &err) < 0 && err.code == VK_ERR_EXISTS,
	   "start refuses a profile whose domain name is taken by a foreign domain");
	contains(err.message, "not created by virtkube", "and says why");
	ok(vk_cluster_delete(p, &dres, &err) == 0 && !dres.domain_removed, "delete of that profile works");
	is_int(domain_state("taken"), VIR_DOMAIN_SHUTOFF, "and leaves the foreign domain alone");
	if (d) {
		virDomainUndefine(d);
		virDomainFree(d);
	}
}

static void test_half_created(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_(vk_delete_result_release) struct vk_delete_result dres = { 0 };
	struct vk_error err = { 0 };
	struct vk_network_spec ns = { .name = "virtkube-half", .mode = VK_NET_ISOLATED, .mac = "52:54:00:00:00:01",
				      .host_name = "half" };
	_cleanup_profile_ struct vk_profile *p = open_locked("half");
	_cleanup_profile_ struct vk_profile *q = open_locked("resume");
	_cleanup_free_ char *dir = xstrdup(p->dir);

	/* What an interrupted first start leaves: config, a network, no disk, no domain. */
	vk_ipv4_parse("192.168.140.0", &ns.subnet);
	vk_profile_set_str(&p->cfg.libvirt_uri, URI);
	vk_profile_set_str(&p->cfg.network, ns.name);
	p->cfg.state = VK_PROFILE_CREATED;
	ok(vk_profile_save(p, &err) == 0 && vk_network_ensure(conn, &ns, NULL, &err) == 0, "a half-created profile is set up");
	ok(vk_cluster_delete(p, &dres, &err) == 0, "delete works on it (%s)", err.message);
	ok(!dres.domain_removed && dres.network_removed, "removing the network it had");
	ok(network_xml("virtkube-half") == NULL && !vk_path_exists(dir), "no network and no directory are left");

	/* An interrupted start is finished by running it again. */
	vk_profile_set_str(&q->cfg.libvirt_uri, URI);
	ok(vk_profile_save(q, &err) == 0, "a profile with only config.json");
	ok(start(q, &o, &res, &err) == 0 && res.created, "start finishes it (%s)", err.message);
	is_int(domain_state("resume"), VIR_DOMAIN_RUNNING, "domain 'resume' runs");
	vk_delete_result_release(&dres);
	ok(vk_cluster_delete(q, &dres, &err) == 0 && dres.domain_removed && dres.network_removed,
	   "and delete removes it all");
	is_int(domain_state("resume"), -1, "domain 'resume' is gone");
}

/* A network made before the LoadBalancer pool is given its route. libvirt's
 * test driver keeps a running network's first definition across a restart,
 * so the route itself is proven on a real libvirtd (tests/e2e/test-accel.sh). */
static void test_lb_route_added(void)
{
	struct vk_error err = { 0 };
	struct vk_network_spec ns = { .name = "virtkube-oldnet", .mode = VK_NET_ISOLATED, .mac = "52:54:00:00:00:07",
				      .host_name = "oldnet" };
	_cleanup_free_ char *before = NULL;
	bool pending = true, removed;

	vk_ipv4_parse("192.168.141.0", &ns.subnet);
	ok(vk_network_ensure(conn, &ns, &pending, &err) == 0 && !pending, "a network without the pool (%s)", err.message);
	before = network_xml("virtkube-oldnet");
	ok(before && !strstr(before, "<route"), "has no route");
	ns.lb_pool = true;
	pending = true;
	ok(vk_network_ensure(conn, &ns, &pending, &err) == 0, "ensuring it with the pool redefines it (%s)", err.message);
	ok(!pending, "and restarts it at once, since no running domain uses it");
	is_int(network_active("virtkube-oldnet"), 1, "it runs again");
	ok(vk_network_remove_if_unused(conn, "virtkube-oldnet", NULL, &removed, &err) == 0 && removed, "cleaned up");
}

static void test_hostile_xml_parses(void)
{
	const char *hostile = "console=ttyS0 x='1' y=\"2\" <&> ]]>";
	struct vk_domain_spec s = {
		.name = "xmltest", .profile = "xmltest", .accel = VK_ACCEL_TCG, .vcpus = 1, .memory_mib = 64,
		.disk_path = "/nonexistent/d'isk.qcow2", .network = "n&et", .mac = "52:54:00:00:00:02",
		.console_log = "/tmp/c<onsole>.log", .kernel = "/k", .cmdline = hostile,
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *xml = vk_domxml_build(&s, &err);
	_cleanup_free_ char *back = NULL;
	virDomainPtr d = xml ? virDomainDefineXML(conn, xml) : NULL;

	ok(d != NULL, "libvirt parses the domain XML built from hostile values (%s)",
	   d ? "" : virGetLastErrorMessage());
	back = d ? virDomainGetXMLDesc(d, 0) : NULL;
	contains(back, "<cmdline>console=ttyS0 x=&apos;1&apos; y=&quot;2&quot; &lt;&amp;&gt; ]]&gt;</cmdline>",
		 "and keeps the command line intact");
	contains(back, "<tb-cache unit='KiB'>262144</tb-cache>", "libvirt accepts <tcg><tb-cache> where we put it");
	if (d) {
		virDomainUndefine(d);
		virDomainFree(d);
	}
}

/* The watch start uses while it waits for the guest: quiet while the domain
 * runs, an error naming the state once it does not. */
static void test_watch(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = open_locked("watched");
	struct vk_cluster_watch *w;
	virDomainPtr d;

	ok(start(p, &o, &res, &err) == 0, "profile 'watched' starts (%s)", err.message);
	w = vk_cluster_watch_new(p, &err);
	ok(w != NULL, "a watch on its domain (%s)", err.message);
	if (!w)
		return;
	is_int(vk_cluster_watch_check(w, &err), 0, "the check passes while the domain runs");
	d = virDomainLookupByName(conn, "watched");
	ok(d && virDomainDestroy(d) == 0, "the domain is destroyed from outside");
	is_int(vk_cluster_watch_check(w, &err), 0, "a check within a second of the last one does not ask libvirt");
	usleep(1100 * 1000);
	ok(vk_cluster_watch_check(w, &err) < 0 && err.code == VK_ERR_FAILED, "the next check fails");
	contains(err.message, "the VM of profile 'watched' stopped before it was ready: its domain is shut off",
		 "saying the VM stopped and how its domain is");
	contains(err.hint, "virtkube logs -p watched", "pointing at the console log");
	contains(err.hint, "virtkube start -p watched", "and at start");
	ok(d && virDomainUndefine(d) == 0, "the domain is undefined from outside");
	usleep(1100 * 1000);
	ok(vk_cluster_watch_check(w, &err) < 0, "the check fails");
	contains(err.message, "its domain is gone", "saying the domain is gone");
	if (d)
		virDomainFree(d);
	vk_cluster_watch_free(w);
}

/* A stopped domain's payload cdrom is pointed at the version's current ISO. */
static void test_repoint_payload(void)
{
	struct vk_start_opts o = opts();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_stop_result sres;
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *p = open_locked("repoint");
	_cleanup_free_ char *disk_a = NULL, *disk_b = NULL;
	const char *a = "/cache/payload/v1.35.4-aaaaaaaaaaaa.iso", *b = "/cache/payload/v1.35.4-bbbbbbbbbbbb.iso";
	bool changed = true;

	vk_profile_set_str(&p->cfg.payload_iso, a);
	ok(start(p, &o, &res, &err) == 0 && res.created, "a profile with a payload ISO starts (%s)", err.message);
	ok(vk_cluster_stop(p, 5, &sres, &err) == 0, "and stops");
	disk_a = vk_domxml_payload_cdrom(a);
	disk_b = vk_domxml_payload_cdrom(b);
	ok(vk_domain_set_cdrom(conn, "repoint", "sdb", a, disk_a, &changed, &err) == 0 && !changed,
	   "the cdrom already reading that ISO is left alone");
	ok(vk_domain_set_cdrom(conn, "repoint", "sdc", b, disk_b, &changed, &err) == 0 && !changed,
	   "a domain without that cdrom is left alone");
	ok(vk_domain_set_cdrom(conn, "repoint", "sdb", b, disk_b, &changed, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "another ISO: the test driver cannot change devices, and says so (%s)", err.message);
	vk_error_clear(&err);
	vk_profile_set_str(&p->cfg.payload_iso, b);
	ok(start(p, &o, &res, &err) == 0 && !res.created,
	   "start with another payload ISO still boots on a driver that cannot change it (%s)", err.message);
}


/* --accel on the test driver: it offers no kvm domains. */
static void test_accel_on_test_driver(void)
{
	struct vk_accel_choice c;
	struct vk_error err = { 0 };

	ok(vk_machine_decide_accel(conn, URI, "auto", &c, &err) == 0 && c.accel == VK_ACCEL_TCG,
	   "auto on the test driver: tcg (%s)", err.message);
	contains(c.reason, "libvirt offers no kvm domains", "with the reason to warn about");
	ok(vk_machine_decide_accel(conn, URI, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_TCG, "no choice is auto");
	ok(vk_machine_decide_accel(conn, URI, "tcg", &c, &err) == 0 && c.accel == VK_ACCEL_TCG && !c.reason[0],
	   "tcg asked: tcg, nothing to warn about");
	ok(vk_machine_decide_accel(conn, URI, "kvm", &c, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "kvm asked where there is none fails");
	contains(err.message, "--accel kvm: libvirt offers no kvm domains", "saying why");
	contains(err.hint, "--accel tcg", "and the hint offers tcg");
	vk_error_clear(&err);
	ok(vk_machine_decide_accel(conn, URI, "warp", &c, &err) < 0 && err.code == VK_ERR_INVALID,
	   "an unknown accelerator is invalid");
}

/* The facts of this machine as the issue found it: /dev/kvm 0600 root:root, qemu as libvirt-qemu (in a
 * group that is no real group, so the hint's advice does not depend on this host's kvm group). */
static struct vk_kvm_facts pvm_host(void)
{
	struct vk_kvm_facts f = {
		.offered = true, .local = true, .device = "/dev/kvm", .mode = 0600, .uid = 0, .gid = 0,
		.owner = "root", .group = "root", .qemu_known = true, .qemu_uid = 64055, .qemu_gid = 4242424,
		.qemu_user = "libvirt-qemu", .qemu_groups = { 4242424 }, .nqemu_groups = 1,
	};

	return f;
}

static enum vk_kvm_verdict judge(const struct vk_kvm_facts *f, char **why)
{
	free(*why);
	return vk_kvm_judge(f, why);
}

static void test_kvm_judge(void)
{
	struct vk_kvm_facts f = pvm_host();
	_cleanup_free_ char *why = NULL, *hint = NULL;

	is_int(judge(&f, &why), VK_KVM_UNUSABLE, "/dev/kvm 0600 root:root: qemu's user cannot open it");
	contains(why, "qemu runs as user libvirt-qemu (uid 64055, gid 4242424)", "naming qemu's user");
	contains(why, "cannot open /dev/kvm (mode 0600, owner root:root)", "the device, its mode and owner");
	hint = vk_kvm_fix_hint(&f);
	contains(hint, "udev rule", "the fix: a udev rule for the group");
	contains(hint, "usermod -aG kvm libvirt-qemu", "adding qemu's user to it");
	contains(hint, "--accel tcg", "or tcg");
	if (getgrnam("kvm")) {
		f.qemu_groups[f.nqemu_groups++] = (unsigned)getgrnam("kvm")->gr_gid;
		free(hint);
		hint = vk_kvm_fix_hint(&f);
		ok(strstr(hint, "udev rule") && !strstr(hint, "usermod"),
		   "qemu's user already in group kvm: only the udev rule (%s)", hint);
		f.nqemu_groups--;
	}

	f.mode = 0660, f.gid = 994, snprintf(f.group, sizeof(f.group), "kvm");
	is_int(judge(&f, &why), VK_KVM_UNUSABLE, "0660 root:kvm and qemu's user not in kvm: unusable");
	free(hint);
	hint = vk_kvm_fix_hint(&f);
	contains(hint, "usermod -aG kvm libvirt-qemu", "the fix names the device's group");
	f.qemu_groups[f.nqemu_groups++] = 994;
	is_int(judge(&f, &why), VK_KVM_USABLE, "a supplementary group of qemu's user opens it");
	ok(why == NULL, "and there is no reason");
	f.nqemu_groups = 1, f.qemu_gid = 994;
	is_int(judge(&f, &why), VK_KVM_USABLE, "so does qemu's primary group");

	f = pvm_host();
	f.mode = 0606;
	is_int(judge(&f, &why), VK_KVM_USABLE, "0606: everyone may");
	f.mode = 0066, f.uid = 64055;
	is_int(judge(&f, &why), VK_KVM_UNUSABLE, "owner bits rule the owner, even when others may (0066)");
	f = pvm_host();
	f.qemu_uid = 0;
	is_int(judge(&f, &why), VK_KVM_USABLE, "qemu as root opens anything");
	f = pvm_host();
	f.acl = true;
	is_int(judge(&f, &why), VK_KVM_UNKNOWN, "an ACL: only a trial can tell");
	contains(why, "has an ACL", "saying so");
	f = pvm_host();
	f.qemu_known = false;
	is_int(judge(&f, &why), VK_KVM_UNKNOWN, "qemu's user unknown: only a trial can tell");
	f = pvm_host();
	f.local = false;
	is_int(judge(&f, &why), VK_KVM_UNKNOWN, "a remote daemon: only a trial can tell");
	f = pvm_host();
	f.device_errno = ENOENT;
	is_int(judge(&f, &why), VK_KVM_UNUSABLE, "no device: unusable");
	contains(why, "/dev/kvm does not exist", "saying so");
	f = pvm_host();
	f.offered = false;
	snprintf(f.why_not_offered, sizeof(f.why_not_offered), "no kvm here");
	is_int(judge(&f, &why), VK_KVM_UNUSABLE, "libvirt offers none: unusable");
	contains(why, "(no kvm here)", "with libvirt's word");
}

static void test_accel_decide(void)
{
	struct vk_kvm_facts denied = pvm_host(), usable = pvm_host(), unknown = pvm_host();
	struct vk_accel_choice c;
	struct vk_error err = { 0 };
	const char *pvm_trial = "a trial kvm domain did not start: Could not access KVM kernel module";

	usable.mode = 0666;
	unknown.acl = true;
	ok(vk_accel_decide("auto", &denied, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_TCG, "auto, device denied: tcg");
	contains(c.reason, "cannot open /dev/kvm (mode 0600, owner root:root)", "the warning names device, mode, owner");
	ok(vk_accel_decide("auto", &usable, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_KVM && !c.reason[0],
	   "auto, device usable, trial started: kvm");
	ok(vk_accel_decide("auto", &usable, pvm_trial, &c, &err) == 0 && c.accel == VK_ACCEL_TCG,
	   "auto, device usable but the trial failed: tcg");
	is_str(c.reason, pvm_trial, "the warning is the trial's failure");
	ok(vk_accel_decide(NULL, &unknown, pvm_trial, &c, &err) == 0 && c.accel == VK_ACCEL_TCG,
	   "auto, unknown and the trial failed: tcg");
	ok(vk_accel_decide(NULL, &unknown, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_KVM,
	   "auto, unknown and the trial started: kvm");
	ok(vk_accel_decide("kvm", &denied, NULL, &c, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "kvm asked, device denied: an error");
	contains(err.message, "--accel kvm: qemu runs as user libvirt-qemu", "naming qemu's user");
	contains(err.message, "/dev/kvm (mode 0600, owner root:root)", "and the device");
	contains(err.hint, "udev rule", "with the fix as the hint");
	vk_error_clear(&err);
	ok(vk_accel_decide("kvm", &unknown, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_KVM,
	   "kvm asked and not ruled out: kvm (no trial: the start will say)");
	ok(vk_accel_decide("tcg", NULL, NULL, &c, &err) == 0 && c.accel == VK_ACCEL_TCG, "tcg asked: tcg");
}

/* The facts as gathered from a real file and a real user. */
static void test_kvm_facts(const char *tmp)
{
	_cleanup_free_ char *dev = xasprintf("%s/kvm", tmp);
	_cleanup_free_ char *missing = xasprintf("%s/nope", tmp);
	struct vk_kvm_facts f = { 0 };
	struct vk_error err = { 0 };
	unsigned uid = 0, gid = 0;
	bool in_gid = false;
	const char *caps = "<capabilities>\n  <host>\n    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n"
			   "    </secmodel>\n    <secmodel>\n      <model>dac</model>\n      <doi>0</doi>\n"
			   "      <baselabel type='kvm'>+64055:+108</baselabel>\n"
			   "      <baselabel type='qemu'>+64055:+994</baselabel>\n    </secmodel>\n  </host>\n</capabilities>\n";

	vk_write_file_atomic(dev, "", 0, 0640, &err);
	vk_kvm_facts_device(&f, dev);
	ok(f.device_errno == 0 && f.mode == 0640, "a device's mode is read (%o)", (unsigned)f.mode);
	ok(f.uid == (unsigned)getuid() && f.gid == (unsigned)getgid(), "and its owner");
	ok(f.owner[0] && f.group[0], "with names (%s:%s)", f.owner, f.group);
	vk_kvm_facts_device(&f, missing);
	is_int(f.device_errno, ENOENT, "a missing device says ENOENT");

	vk_kvm_facts_qemu_user(&f, 0, 0);
	is_str(f.qemu_user, "root", "uid 0 is root");
	for (size_t i = 0; i < f.nqemu_groups; i++)
		in_gid = in_gid || f.qemu_groups[i] == 0;
	ok(in_gid, "and its groups hold its primary group");

	ok(vk_kvm_parse_dac_label(caps, &uid, &gid) == 0 && uid == 64055 && gid == 108,
	   "the DAC base label of kvm domains gives qemu's uid and gid");
	ok(vk_kvm_parse_dac_label("<secmodel><model>selinux</model></secmodel>", &uid, &gid) < 0,
	   "no DAC model: unknown");
	ok(vk_kvm_parse_dac_label(NULL, &uid, &gid) < 0, "no capabilities: unknown");
}

/* Whether the guest said anything since its domain started: injected clock, real files. */
static void test_console_silence(const char *tmp)
{
	_cleanup_free_ char *log = xasprintf("%s/console.log", tmp);
	_cleanup_free_ char *other = xasprintf("%s/console.new", tmp);
	_cleanup_free_ char *warning = NULL;
	struct vk_console_mark mark;
	struct vk_error err = { 0 };
	FILE *f;

	vk_console_mark_take(log, 1000, &mark);
	ok(!vk_console_silent(log, &mark, 1000 + VK_CONSOLE_SILENCE_MS - 1, VK_CONSOLE_SILENCE_MS),
	   "not silent before the time is up");
	ok(vk_console_silent(log, &mark, 1000 + VK_CONSOLE_SILENCE_MS, VK_CONSOLE_SILENCE_MS),
	   "no log at all after 60 s: silent");
	vk_write_file_atomic(log, "", 0, 0600, &err);
	ok(vk_console_silent(log, &mark, 1000 + VK_CONSOLE_SILENCE_MS, VK_CONSOLE_SILENCE_MS),
	   "an empty log: still silent");

	vk_write_file_atomic(log, "SeaBIOS\nBooting from ROM...\n", 29, 0600, &err);
	vk_console_mark_take(log, 5000, &mark);
	ok(vk_console_silent(log, &mark, 5000 + VK_CONSOLE_SILENCE_MS, VK_CONSOLE_SILENCE_MS),
	   "output of an earlier boot only: silent");
	f = fopen(log, "a");
	ok(f && fputs("[    0.000000] Linux version\n", f) >= 0, "the guest prints a line");
	if (f)
		fclose(f);
	ok(!vk_console_silent(log, &mark, 5000 + VK_CONSOLE_SILENCE_MS, VK_CONSOLE_SILENCE_MS), "not silent");
	vk_console_mark_take(log, 5000, &mark);
	vk_write_file_atomic(other, "0123456789012345678901234567890123456789012345678901234567",
			     (size_t)mark.size, 0600, &err);
	ok(rename(other, log) == 0, "the log is replaced by a file of the same size (rotated)");
	ok(!vk_console_silent(log, &mark, 5000 + VK_CONSOLE_SILENCE_MS, VK_CONSOLE_SILENCE_MS),
	   "another file counts as output");

	warning = vk_console_silence_warning("vk-dev", VK_ACCEL_KVM, VK_CONSOLE_SILENCE_MS);
	contains(warning, "domain 'vk-dev' has printed nothing on its console for 60 s under kvm",
		 "the warning names the domain, the time and kvm");
	contains(warning, "--accel tcg", "and suggests tcg");
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
	/* delete edits the kubeconfig of a profile that may run Kubernetes: never the user's own */
	setenv("KUBECONFIG", kubeconfig, 1);
	/* Profiles that never saved a URI fall back to the default: never a real daemon here. */
	setenv("LIBVIRT_DEFAULT_URI", URI, 1);
	vk_write_file_atomic(img, h, sizeof(h), 0644, &err);
	image = img;
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	if (!conn) {
		printf("1..0 # SKIP libvirt's test driver cannot be opened: %s\n", virGetLastErrorMessage());
		return 0;
	}
	test_lifecycle();
	test_second_profile_and_shared_network();
	test_foreign_domain_name();
	test_half_created();
	test_lb_route_added();
	test_hostile_xml_parses();
	test_watch();
	test_repoint_payload();
	test_accel_on_test_driver();
	test_kvm_judge();
	test_accel_decide();
	test_kvm_facts(tmp);
	test_console_silence(tmp);
	virConnectClose(conn);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
