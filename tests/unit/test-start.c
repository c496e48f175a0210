/* The start pipeline on libvirt's test:///default driver: a failure injected after each step, then a re-run, converges (one domain, one network, the same IP). */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <unistd.h>

#include <time.h>

#include "cluster/cluster.h"
#include "kube/kubeconfig.h"
#include "start/nodeops.h"
#include "profile/profile.h"
#include "start/start.h"
#include "start/start-steps.h"
#include "util/clock.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define URI "test:///default"
#define K8S_VERSION "v1.35.4"

static const char *image;
static char *mirror;        /* file:// URL of a local release mirror; NULL: none could be made */
static virConnectPtr conn;  /* keeps the test driver's state for the whole run */

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

/* How many domains, networks and storage pools have exactly this name. */
static int count_named(const char *name, int *domains, int *networks, int *pools)
{
	virDomainPtr *doms = NULL;
	virNetworkPtr *nets = NULL;
	virStoragePoolPtr *sps = NULL;
	int nd = virConnectListAllDomains(conn, &doms, 0);
	int nn = virConnectListAllNetworks(conn, &nets, 0);
	int np = virConnectListAllStoragePools(conn, &sps, 0);
	_cleanup_free_ char *net = xasprintf("virtkube-%s", name);

	*domains = *networks = *pools = 0;
	for (int i = 0; i < nd; i++) {
		*domains += strcmp(virDomainGetName(doms[i]), name) == 0;
		virDomainFree(doms[i]);
	}
	for (int i = 0; i < nn; i++) {
		*networks += strcmp(virNetworkGetName(nets[i]), net) == 0;
		virNetworkFree(nets[i]);
	}
	for (int i = 0; i < np; i++) {
		*pools += strcmp(virStoragePoolGetName(sps[i]), net) == 0;
		virStoragePoolFree(sps[i]);
	}
	free(doms);
	free(nets);
	free(sps);
	return nd < 0 || nn < 0 || np < 0 ? -1 : 0;
}

static bool domain_runs(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	int st = -1, reason;

	if (!d)
		return false;
	virDomainGetState(d, &st, &reason, 0);
	virDomainFree(d);
	return st == VIR_DOMAIN_RUNNING;
}

/* One vk_start of profile NAME, opened and locked for it. */
static int run_start(const char *name, const struct vk_start_opts *o, struct vk_start_result *res, struct vk_error *err)
{
	_cleanup_profile_ struct vk_profile *p = vk_profile_open(name, true, err);

	vk_start_result_release(res);
	if (!p || vk_profile_lock(p, 0, err) < 0)
		return -1;
	return vk_start(p, o, NULL, NULL, res, err);
}

static char *saved_node_ip(const char *name)
{
	_cleanup_profile_ struct vk_profile *p = vk_profile_open(name, false, NULL);

	return p && p->cfg.node_ip ? xstrdup(p->cfg.node_ip) : NULL;
}

static void check_converges(const char *label, struct vk_start_opts *o)
{
	const char *const *steps = vk_start_step_names();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };

	for (size_t i = 0; steps[i]; i++) {
		_cleanup_free_ char *name = xasprintf("%s%zu", label, i);
		_cleanup_free_ char *ip_before = NULL, *ip_after = NULL, *want = NULL;
		int domains = 0, networks = 0, pools = 0;

		vk_start_inject_failure_after(steps[i]);
		ok(run_start(name, o, &res, &err) < 0, "%s: a failure after step '%s' fails the start", label, steps[i]);
		is_str(res.failed_step, steps[i], "%s: the result names step '%s'", label, steps[i]);
		want = xasprintf("start failed at step '%s': failure injected", steps[i]);
		contains(err.message, want, "%s: and so does the error", label);
		ip_before = saved_node_ip(name);
		vk_start_inject_failure_after(NULL);

		ok(run_start(name, o, &res, &err) == 0, "%s: after a failure at '%s' the next start finishes (%s)", label,
		   steps[i], err.message);
		ip_after = saved_node_ip(name);
		ok(ip_after && (!ip_before || strcmp(ip_before, ip_after) == 0),
		   "%s: the node IP (%s) is the one fixed before the failure (%s)", label, ip_after ? ip_after : "none",
		   ip_before ? ip_before : "not fixed yet");
		ok(domain_runs(name), "%s: domain '%s' runs", label, name);
		ok(count_named(name, &domains, &networks, &pools) == 0 && domains == 1 && networks == 1 && pools == 0,
		   "%s: one domain, one network, no leftover pool (%d, %d, %d)", label, domains, networks, pools);
		ok(run_start(name, o, &res, &err) == 0 && res.was_running && !res.created,
		   "%s: a third start finds it running and makes nothing", label);
		is_str(res.node_ip, ip_after, "%s: with the same IP", label);
		ok(count_named(name, &domains, &networks, &pools) == 0 && domains == 1 && networks == 1,
		   "%s: still one domain and one network", label);
		if (o->no_kubernetes)
			continue;
		{
			_cleanup_profile_ struct vk_profile *p = vk_profile_open(name, false, &err);
			struct vk_kubeconfig_entry e;
			enum vk_kubeconfig_state st = VK_KUBECONFIG_NONEXISTENT;
			_cleanup_free_ char *path = vk_kubeconfig_path(&err), *why = NULL;

			ok(p && p->cfg.payload_iso && vk_path_exists(p->cfg.payload_iso),
			   "%s: the payload ISO is recorded and exists", label);
			if (p && vk_kubeconfig_entry_load(&e, p, &err) == 0) {
				vk_kubeconfig_check(path, &e, &st, &why, &err);
				vk_kubeconfig_entry_clear(&e);
			}
			is_int(st, VK_KUBECONFIG_CONFIGURED, "%s: the kubeconfig holds the profile's context as it should", label);
		}
	}
}

static bool domain_exists(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	if (d)
		virDomainFree(d);
	return d != NULL;
}

static char *ssh_log;   /* what the stand-in ssh on PATH was asked, one call a line */

/* Whether the stand-in ssh was asked to reach IP with a command holding WANT (NULL: anything). */
static bool ssh_log_has(const char *ip, const char *want)
{
	_cleanup_free_ char *text = NULL, *at = xasprintf("docker@%s -- ", ip);
	size_t len;
	bool found = false;

	if (vk_read_file(ssh_log, &text, &len, NULL) < 0)
		return false;
	for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n"))
		found = strstr(line, at) && (!want || strstr(line, want));
	return found;
}

/* How many static DHCP entries network virtkube-NAME has. */
static int dhcp_hosts(const char *name)
{
	_cleanup_free_ char *netname = xasprintf("virtkube-%s", name);
	virNetworkPtr net = virNetworkLookupByName(conn, netname);
	_cleanup_free_ char *xml = net ? virNetworkGetXMLDesc(net, 0) : NULL;
	int n = 0;

	for (const char *c = xml; c && (c = strstr(c, "<host ")); c++)
		n++;
	if (net)
		virNetworkFree(net);
	return n;
}

/* start --nodes 3: three domains and three DHCP entries, all made before any
 * boot; a failure injected after any step converges on the next start;
 * node add and node delete change one node; stop and delete act on all. */
static void test_multinode(const char *label, const struct vk_start_opts *base)
{
	struct vk_start_opts o = *base;
	const char *const *steps = vk_start_step_names();
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };

	o.nodes = 3;
	for (size_t i = 0; steps[i]; i++) {
		_cleanup_free_ char *name = xasprintf("%sn%zu", label, i);
		_cleanup_free_ char *m02 = xasprintf("%s-m02", name), *m03 = xasprintf("%s-m03", name);
		_cleanup_profile_ struct vk_profile *p = NULL;
		int d = 0, n = 0, sp = 0;

		vk_start_inject_failure_after(steps[i]);
		ok(run_start(name, &o, &res, &err) < 0, "%s: --nodes 3, a failure after '%s' fails the start", label, steps[i]);
		vk_start_inject_failure_after(NULL);
		ok(run_start(name, &o, &res, &err) == 0, "%s: the next start finishes (%s)", label, err.message);
		ok(domain_runs(name) && domain_runs(m02) && domain_runs(m03), "%s: %s, -m02 and -m03 run", label, name);
		ok(count_named(name, &d, &n, &sp) == 0 && d == 1 && n == 1 && sp == 0, "%s: one network, no leftover pool", label);
		is_int(dhcp_hosts(name), 3, "%s: with a DHCP entry per node", label);
		p = vk_profile_open(name, false, &err);
		ok(p && p->cfg.nnodes == 3 && strcmp(p->cfg.nodes[2].name, m03) == 0, "%s: the profile has three nodes", label);
		if (p && !o.no_kubernetes)
			ok(p->cfg.join_token && p->cfg.join_token_expires > (long)time(NULL), "%s: and a join token", label);
		if (steps[i + 1]) {
			/* its subnet back for the next rounds: the test driver's /24s are few */
			struct vk_delete_result delres = { 0 };

			if (p)
				vk_cluster_delete(p, &delres, &err);
			vk_delete_result_release(&delres);
			continue;
		}
		/* The last round goes on: node add, node delete, stop, delete. */
		{
			_cleanup_(vk_node_delete_result_release) struct vk_node_delete_result dres = { 0 };
			_cleanup_profile_ struct vk_profile *q = vk_profile_open(name, true, &err);
			_cleanup_free_ char *m04 = xasprintf("%s-m04", name);
			struct vk_stop_result sres;
			struct vk_delete_result delres = { 0 };
			struct vk_start_opts add = *base;
			_cleanup_free_ char *failed = NULL;
			long idx = 0;

			add.nodes = 0;
			add.keep_context = true;
			/* an earlier round's profile may have had this subnet */
			unlink(ssh_log);
			ok(q && vk_profile_lock(q, 0, &err) == 0 && vk_node_add(q, false, &add, NULL, NULL, &idx, &failed, &err) == 0,
			   "%s: node add (%s)", label, err.message);
			is_int(idx, 4, "%s: makes node 4", label);
			ok(!failed, "%s: every other node got its routes", label);
			ok(domain_runs(m04) && domain_runs(name), "%s: -m04 runs, the others still do", label);
			is_int(dhcp_hosts(name), 4, "%s: four DHCP entries", label);
			/* the ssh on PATH is a stand-in that writes down what it was asked */
			ok(q && ssh_log_has(q->cfg.nodes[0].ip, NULL) && ssh_log_has(q->cfg.nodes[1].ip, NULL) &&
				   ssh_log_has(q->cfg.nodes[2].ip, NULL) && !ssh_log_has(q->cfg.nodes[3].ip, NULL),
			   "%s: node add: the other nodes were told their routes, the new one has them on its seed", label);
			if (q) {
				_cleanup_free_ char *want = xasprintf("routes --set 10.244.1.0/24 %s 10.244.2.0/24 %s 10.244.3.0/24 %s ",
								     q->cfg.nodes[1].ip, q->cfg.nodes[2].ip, q->cfg.nodes[3].ip);

				ok(ssh_log_has(q->cfg.nodes[0].ip, want), "%s: node 1: the routes to m02, m03 and the new m04", label);
			}
			ok(q && vk_node_delete(q, "m02", &dres, &err) == 0, "%s: node delete m02 (%s)", label, err.message);
			if (q && q->cfg.nnodes == 3) {
				_cleanup_free_ char *one = xasprintf("routes --set 10.244.2.0/24 %s 10.244.3.0/24 %s ",
								    q->cfg.nodes[1].ip, q->cfg.nodes[2].ip);
				_cleanup_free_ char *four = xasprintf("routes --set 10.244.0.0/24 %s 10.244.2.0/24 %s ",
								     q->cfg.nodes[0].ip, q->cfg.nodes[1].ip);

				ok(ssh_log_has(q->cfg.nodes[0].ip, one), "%s: node delete: node 1 keeps the routes to m03 and m04 only",
				   label);
				ok(ssh_log_has(q->cfg.nodes[2].ip, four), "%s: and m04 to node 1 and m03", label);
			}
			ok(!dres.routes_failed, "%s: no node's routes failed", label);
			ok(!domain_runs(m02) && !domain_exists(m02), "%s: its domain is gone", label);
			is_int(dhcp_hosts(name), 3, "%s: and its DHCP entry", label);
			ok(q && vk_node_delete(q, name, &dres, &err) < 0 && err.code == VK_ERR_INVALID,
			   "%s: the first node cannot be deleted", label);
			ok(q && vk_cluster_stop(q, 5, &sres, &err) == 0 && sres.was_running && !domain_runs(name) &&
				   !domain_runs(m03) && !domain_runs(m04),
			   "%s: stop stops every node", label);
			ok(q && vk_cluster_delete(q, &delres, &err) == 0, "%s: delete (%s)", label, err.message);
			vk_delete_result_release(&delres);
			ok(!domain_exists(m03) && !domain_exists(m04) &&
				   count_named(name, &d, &n, &sp) == 0 && d == 0 && n == 0,
			   "%s: leaves no domain and no network", label);
		}
	}
}

/* --network-mode bridge on the test driver (its one interface, eth1, stands
 * in for a bridge): the nodes get the LAN addresses given, the domains are on
 * the bridge, no libvirt network is made; bad input fails at step 'profile'
 * or 'preflight', before anything is made. */
static void test_bridge(const struct vk_start_opts *base)
{
	struct vk_start_opts o = *base;
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_(vk_node_delete_result_release) struct vk_node_delete_result dres = { 0 };
	_cleanup_profile_ struct vk_profile *q = NULL;
	struct vk_delete_result delres = { 0 };
	struct vk_error err = { 0 };
	virDomainPtr dom;
	char *xml = NULL;
	int d = 0, n = 0, sp = 0;
	long idx = 0;
	_cleanup_free_ char *failed = NULL;
	const char *const lb[] = { "loadbalancer", NULL };

	o.network_mode = NULL;
	o.bridge = "eth1";
	o.nodes = 2;
	ok(run_start("lanb", &o, &res, &err) < 0, "--bridge without --bridge-ip fails");
	is_str(res.failed_step, "profile", "at step 'profile'");
	contains(err.message, "needs --bridge-ip", "saying the addresses are needed");
	o.bridge_ip = "10.5.0.254/24";
	ok(run_start("lanb", &o, &res, &err) < 0, "too few addresses for --nodes 2 fails");
	contains(err.message, "node 2 has no address on 10.5.0.0/24", "naming the node without one");
	o.bridge_ip = "10.5.0.10/24";
	o.network_mode = "nat";
	ok(run_start("lanb", &o, &res, &err) < 0, "--bridge with --network-mode nat fails");
	contains(err.message, "--bridge applies to --network-mode bridge", "saying so");
	o.network_mode = NULL;
	o.bridge = "nosuchbr0";
	ok(run_start("lanb", &o, &res, &err) < 0, "a bridge the libvirt host does not have fails");
	is_str(res.failed_step, "preflight", "at step 'preflight'");
	contains(err.message, "there is no bridge 'nosuchbr0' on the libvirt host at 'test:///default'", "naming it");
	o.bridge = "eth1";
	o.addons = lb;
	ok(run_start("lanb", &o, &res, &err) < 0, "--addons loadbalancer on a bridged profile fails");
	contains(err.message, "addon 'loadbalancer' cannot run on profile 'lanb'", "saying why");
	ok(!domain_exists("lanb") && !vk_profile_open("lanb", false, NULL), "none of these made a domain or a profile");
	o.addons = NULL;

	ok(run_start("lanb", &o, &res, &err) == 0, "--bridge eth1 --bridge-ip 10.5.0.10/24 --nodes 2 starts (%s)",
	   err.message);
	is_str(res.node_ip, "10.5.0.10", "node 1 at the address given");
	ok(count_named("lanb", &d, &n, &sp) == 0 && d == 1 && n == 0 && sp == 0, "no libvirt network was made");
	dom = virDomainLookupByName(conn, "lanb-m02");
	xml = dom ? virDomainGetXMLDesc(dom, 0) : NULL;
	contains(xml ? xml : "", "<source bridge='eth1'/>", "the domains are on the bridge");
	free(xml);
	if (dom)
		virDomainFree(dom);
	q = vk_profile_open("lanb", false, &err);
	ok(q && q->cfg.nnodes == 2 && strcmp(q->cfg.nodes[1].ip, "10.5.0.11") == 0, "node 2 at the next address");
	ok(q && q->cfg.bridge_gateway && strcmp(q->cfg.bridge_gateway, "10.5.0.1") == 0 &&
		   strcmp(q->cfg.bridge_dns, "10.5.0.1") == 0,
	   "the default gateway and DNS are saved");
	o.bridge_ip = "10.5.0.20/24";
	ok(run_start("lanb", &o, &res, &err) < 0, "a changed --bridge-ip is refused");
	contains(err.message, "was created with --bridge-ip 10.5.0.10/24", "saying so");
	o.bridge_ip = NULL;
	o.bridge = NULL;
	o.nodes = 0;
	ok(run_start("lanb", &o, &res, &err) == 0, "a start without the flags keeps the bridge (%s)", err.message);
	if (!q)
		return;
	vk_profile_free(q);
	q = vk_profile_open("lanb", false, &err);
	o.keep_context = true;
	unlink(ssh_log);
	ok(q && vk_profile_lock(q, 0, &err) == 0 && vk_node_add(q, false, &o, NULL, NULL, &idx, &failed, &err) == 0,
	   "node add (%s)", err.message);
	ok(q && idx == 3 && strcmp(q->cfg.nodes[2].ip, "10.5.0.12") == 0, "node 3 at the next address, 10.5.0.12");
	ok(q && vk_node_delete(q, "m02", &dres, &err) == 0, "node delete m02 (%s)", err.message);
	ok(q && vk_cluster_delete(q, &delres, &err) == 0, "delete (%s)", err.message);
	vk_delete_result_release(&delres);
	ok(!domain_exists("lanb") && !domain_exists("lanb-m03") && count_named("lanb", &d, &n, &sp) == 0 && n == 0,
	   "leaves no domain and no network");
}

static char *saved_subnet(const char *name)
{
	_cleanup_profile_ struct vk_profile *p = vk_profile_open(name, false, NULL);

	return p && p->cfg.subnet ? xstrdup(p->cfg.subnet) : NULL;
}

/* A start killed after its subnet plan and before its libvirt network holds
 * that subnet only in its config.json: a new profile started meanwhile must
 * choose another one, so the first one's next start can make its network. */
static void test_planned_subnet_kept(const struct vk_start_opts *o)
{
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_free_ char *held = NULL, *other = NULL, *held_after = NULL;
	struct vk_error err = { 0 };
	virNetworkPtr net;
	int domains = 0, networks = 0, pools = 0;

	vk_start_inject_failure_after("network");
	ok(run_start("held", o, &res, &err) < 0, "planned: the first start of 'held' stops after step 'network'");
	vk_start_inject_failure_after(NULL);
	/* as if killed between the plan and the network */
	net = virNetworkLookupByName(conn, "virtkube-held");
	ok(net && virNetworkDestroy(net) == 0 && virNetworkUndefine(net) == 0, "planned: its network is removed");
	if (net)
		virNetworkFree(net);
	held = saved_subnet("held");
	ok(run_start("other", o, &res, &err) == 0, "planned: a new profile starts meanwhile (%s)", err.message);
	other = saved_subnet("other");
	ok(held && other && strcmp(held, other) != 0, "planned: it chose another subnet (%s) than the planned %s",
	   other ? other : "none", held ? held : "none");
	ok(run_start("held", o, &res, &err) == 0, "planned: the next start of 'held' finishes (%s)", err.message);
	held_after = saved_subnet("held");
	is_str(held_after, held, "planned: on the subnet it planned");
	count_named("held", &domains, &networks, &pools);
	ok(domains == 1 && networks == 1, "planned: with one domain and one network (%d, %d)", domains, networks);
}

/* A start killed inside the disk step's vk_disk_create_overlay leaves the
 * transient pool it made; the next start removes it, disk there or not. */
static void test_leftover_pool(const struct vk_start_opts *o)
{
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_free_ char *xml = NULL;
	struct vk_error err = { 0 };
	virStoragePoolPtr pool;
	int domains = 0, networks = 0, pools = 0;

	vk_start_inject_failure_after("disk");
	ok(run_start("pooled", o, &res, &err) < 0, "pool: the first start of 'pooled' stops after step 'disk'");
	vk_start_inject_failure_after(NULL);
	p = vk_profile_open("pooled", false, &err);
	xml = xasprintf("<pool type='dir'><name>virtkube-pooled</name><target><path>%s</path></target></pool>",
			p ? p->dir : "/nonexistent");
	pool = virStoragePoolCreateXML(conn, xml, 0);
	ok(pool != NULL, "pool: a transient pool is left as by a start killed in the disk step");
	/* with the disk libvirtd made (the test driver writes no file) */
	if (p) {
		_cleanup_free_ char *disk = vk_profile_path(p, "disk.qcow2");

		vk_write_file_atomic(disk, "QFI\xfb", 4, 0600, &err);
	}
	if (pool)
		virStoragePoolFree(pool);
	ok(run_start("pooled", o, &res, &err) == 0, "pool: the next start finishes (%s)", err.message);
	count_named("pooled", &domains, &networks, &pools);
	ok(domains == 1 && networks == 1 && pools == 0, "pool: one domain, one network, no pool left (%d, %d, %d)",
	   domains, networks, pools);
}

static void test_step_names(void)
{
	const char *const *s = vk_start_step_names();
	const char *want[] = { "profile", "preflight", "artifacts", "images", "config", "pki", "payload", "network", "disk",
			       "seed", "domain", "boot", "kubeconfig", "follow-guest", "mounts", "api-ready", "addons" };
	size_t n = 0;

	while (s[n])
		n++;
	is_int(n, VK_ARRAY_SIZE(want), "the pipeline has %zu steps", VK_ARRAY_SIZE(want));
	for (size_t i = 0; i < n && i < VK_ARRAY_SIZE(want); i++)
		is_str(s[i], want[i], "step %zu is '%s'", i + 1, want[i]);
}

/* The steps' durations are in the result, and a step with nothing to do says so. */
static void test_timings(void)
{
	struct vk_start_opts o = { .image = image, .libvirt_uri = URI, .network_mode = "isolated", .no_kubernetes = true,
				   .cpus = 1, .memory_mib = 512, .disk_gib = 2, .wait_s = -1 };
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_error err = { 0 };
	bool all_named = true;

	ok(run_start("timed", &o, &res, &err) == 0, "a plain start (%s)", err.message);
	is_int(res.nsteps, 17, "every step ran and was timed");
	for (size_t i = 0; i < res.nsteps; i++)
		all_named = all_named && res.steps[i].name && res.steps[i].seconds >= 0;
	ok(all_named, "each with its name and a duration");
	ok(res.steps[5].skipped && strcmp(res.steps[5].name, "pki") == 0, "a plain VM has no PKI to make: 'pki' skipped");
	ok(!res.steps[10].skipped && strcmp(res.steps[10].name, "domain") == 0, "'domain' defined the new domain");
	ok(run_start("timed", &o, &res, &err) == 0 && res.steps[7].skipped && res.steps[11].skipped,
	   "on a running VM, 'network' and 'boot' have nothing to do");
	o.cpus = 2;
	ok(run_start("timed", &o, &res, &err) < 0, "a changed --cpus is refused");
	is_str(res.failed_step, "profile", "at step 'profile', before anything is touched");
	contains(err.message, "start failed at step 'profile': profile 'timed' was created with --cpus 1", "saying so");
}

/* --download-only touches no profile: only the artifacts and payload steps run. */
static void test_download_only(void)
{
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_start_opts o = { .image = image, .kubernetes_version = K8S_VERSION, .mirror = mirror, .download_only = true,
				   .no_preload_images = true };
	struct vk_error err = { 0 };

	if (!mirror)
		return;
	ok(vk_start(NULL, &o, NULL, NULL, &res, &err) == 0, "download-only runs without a profile (%s)", err.message);
	is_int(res.nsteps, 4, "four steps ran");
	ok(res.nsteps == 4 && !strcmp(res.steps[0].name, "profile") && !strcmp(res.steps[1].name, "artifacts") &&
		   !strcmp(res.steps[2].name, "images") && !strcmp(res.steps[3].name, "payload"),
	   "profile, artifacts, images, payload");
	ok(res.steps[2].skipped, "images skipped: the stand-in kubeadm lists none (--no-preload-images)");
	ok(res.payload_iso && vk_path_exists(res.payload_iso), "the payload ISO is built");
}

/* The addons step against the fake API server of tests/integration/test-addons-api.sh, whose
 * dns image cannot be pulled and whose storage-provisioner crash-loops: --wait-timeout bounds the
 * wait, and the error is VK_ERR_ADDON_NOT_READY, which start reports as a cluster that is up. */
static int test_live_addons_step(const char *home)
{
	struct vk_start_opts o = { .wait_s = 3 };
	_cleanup_(vk_start_result_release) struct vk_start_result res = { 0 };
	struct vk_start_ctx ctx = { .opts = &o, .res = &res, .kubernetes = true };
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_error err = { 0 };
	long long t0;

	setenv("VIRTKUBE_HOME", home, 1);
	p = vk_profile_open(getenv("VK_TEST_LIVE_PROFILE"), false, &err);
	if (!ok(p != NULL, "live: the profile opens (%s)", err.message))
		return done_testing();
	ctx.p = p;
	ctx.uri = p->cfg.libvirt_uri;
	t0 = vk_now_ms();
	ok(vk_step_addons(&ctx, &err) < 0, "live: the addons step fails");
	is_int(err.code, VK_ERR_ADDON_NOT_READY, "with VK_ERR_ADDON_NOT_READY (%s)", err.message);
	contains(err.message, "addon 'dns' is not ready", "naming the addon");
	ok(vk_now_ms() - t0 < 20000, "bounded by --wait-timeout 3, not the default 600 s (%lld ms)", vk_now_ms() - t0);
	{
		_cleanup_profile_ struct vk_profile *saved = vk_profile_open(p->name, false, &err);

		ok(saved && saved->cfg.addons, "the enabled set is saved even so, for the next start to retry");
	}
	return done_testing();
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	_cleanup_free_ char *img = xasprintf("%s/base.qcow2", tmp);
	_cleanup_free_ char *kubeconfig = xasprintf("%s/kube/config", tmp);
	_cleanup_free_ char *mirror_dir = xasprintf("%s/mirror", tmp);
	const char *top = getenv("top_srcdir");
	unsigned char h[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct vk_error err = { 0 };
	struct vk_start_opts plain = { .libvirt_uri = URI, .network_mode = "isolated", .no_kubernetes = true,
				       .cpus = 1, .memory_mib = 512, .disk_gib = 2, .wait_s = -1 };
	struct vk_start_opts kube = plain;

	if (getenv("VK_TEST_LIVE_HOME") && getenv("VK_TEST_LIVE_PROFILE"))
		return test_live_addons_step(getenv("VK_TEST_LIVE_HOME"));
	h[24 + 4] = 0x40; /* 1 GiB virtual size */
	setenv("VIRTKUBE_HOME", home, 1);
	setenv("KUBECONFIG", kubeconfig, 1);
	setenv("LIBVIRT_DEFAULT_URI", URI, 1);
	/* Whatever is not local goes to a closed local port, never to the internet. */
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	vk_write_file_atomic(img, h, sizeof(h), 0644, &err);
	{
		/* The nodes' route updates go over ssh: a stand-in writes them down. */
		_cleanup_free_ char *bin = xasprintf("%s/bin", tmp), *fake = xasprintf("%s/bin/ssh", tmp);
		_cleanup_free_ char *script = NULL, *path = xasprintf("%s:%s", bin, getenv("PATH") ?: "/usr/bin:/bin");

		ssh_log = xasprintf("%s/ssh.log", tmp);
		script = xasprintf("#!/bin/sh\necho \"$*\" >>'%s'\n", ssh_log);
		vk_mkdir_p(bin, 0755, &err);
		vk_write_file_atomic(fake, script, strlen(script), 0755, &err);
		setenv("PATH", path, 1);
	}
	image = img;
	if (top) {
		_cleanup_free_ char *cmd = xasprintf("python3 '%s/tests/fakes/mkmirror.py' '%s' '%s' %s >/dev/null", top, top,
						     mirror_dir, K8S_VERSION);

		if (system(cmd) == 0)
			mirror = xasprintf("file://%s", mirror_dir);
	}
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	if (!conn) {
		printf("1..0 # SKIP libvirt's test driver cannot be opened: %s\n", virGetLastErrorMessage());
		return 0;
	}
	test_step_names();
	test_timings();
	plain.image = image;
	check_converges("plain", &plain);
	ok(mirror != NULL, "a local release mirror was made (tests/fakes/mkmirror.py, python3)");
	if (mirror) {
		kube.image = image;
		kube.no_kubernetes = false;
		kube.kubernetes_version = K8S_VERSION;
		kube.mirror = mirror;
		/* the mirror's kubeadm is a stand-in that cannot list images */
		kube.no_preload_images = true;
		check_converges("kube", &kube);
	}
	test_multinode("plain", &plain);
	if (mirror)
		test_multinode("kube", &kube);
	test_bridge(&plain);
	test_planned_subnet_kept(&plain);
	test_leftover_pool(&plain);
	test_download_only();
	virConnectClose(conn);
	free(mirror);
	vk_remove_tree(tmp, &err);
	free(ssh_log);
	return done_testing();
}
