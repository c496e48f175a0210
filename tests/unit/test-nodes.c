/* Unit tests for multi-node profiles: node records and names, the pod routes for 1..9 nodes, a bridged profile's LAN addresses, the join token, the CA hash against openssl's, the JoinConfiguration parsed back, and bad input. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kube/join.h"
#include "kube/token.h"
#include "kube/kubeadm.h"
#include "vm/machine.h"
#include "start/nodeops.h"
#include "vm/nodeplan.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "shell.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "yamltest.h"

static void test_names(void)
{
	_cleanup_free_ char *one = vk_node_name("dev", 1), *two = vk_node_name("dev", 2), *nine = vk_node_name("dev", 9);
	char cidr[24], ip[16];
	uint32_t subnet;

	is_str(one, "dev", "node 1 is the profile's name");
	is_str(two, "dev-m02", "node 2 is PROFILE-m02, as minikube names it");
	is_str(nine, "dev-m09", "node 9 is PROFILE-m09");
	vk_ipv4_parse("192.168.39.0", &subnet);
	vk_ipv4_format(vk_node_ip(subnet, 1), ip);
	is_str(ip, "192.168.39.2", "node 1 keeps the address a one-node profile always had");
	ok(vk_node_ip(subnet, 1) == vk_network_node_ip(subnet), "the same as vk_network_node_ip");
	vk_ipv4_format(vk_node_ip(subnet, 9), ip);
	is_str(ip, "192.168.39.10", "node 9 is .10");
	vk_node_pod_cidr(1, cidr);
	is_str(cidr, "10.244.0.0/24", "node 1's pod CIDR is 10.244.0.0/24");
	vk_node_pod_cidr(3, cidr);
	is_str(cidr, "10.244.2.0/24", "node 3's is 10.244.2.0/24");
}

static void test_count_check(void)
{
	struct vk_error err = { 0 };
	char long_name[64];

	ok(vk_nodes_count_check("dev", 1, &err) == 0 && vk_nodes_count_check("dev", 9, &err) == 0, "1 and 9 nodes are fine");
	ok(vk_nodes_count_check("dev", 0, &err) < 0, "0 nodes is refused");
	contains(err.message, "1 to 9", "saying the range");
	ok(err.code == VK_ERR_INVALID, "as invalid input");
	ok(vk_nodes_count_check("dev", 10, &err) < 0, "10 nodes is refused");
	memset(long_name, 'a', 60);
	long_name[60] = '\0';
	ok(vk_nodes_count_check(long_name, 1, &err) == 0, "a 60-character profile may have one node");
	ok(vk_nodes_count_check(long_name, 2, &err) < 0, "but no workers: '-m02' would make a 64-character host name");
}

/* The profile with COUNT nodes on 192.168.50.0/24, as the network step plans it. */
static struct vk_profile *planned(const char *name, long count, bool kubernetes)
{
	struct vk_error err = { 0 };
	struct vk_profile *p = vk_profile_open(name, true, &err);
	uint32_t subnet;

	vk_ipv4_parse("192.168.50.0", &subnet);
	vk_profile_set_str(&p->cfg.node_ip, "192.168.50.2");
	vk_profile_set_str(&p->cfg.mac, "52:54:00:aa:bb:cc");
	vk_profile_set_str(&p->cfg.subnet, "192.168.50.0/24");
	p->cfg.kind = kubernetes ? VK_KIND_KUBERNETES : VK_KIND_PLAIN;
	vk_nodes_plan(p, subnet, count, kubernetes);
	return p;
}

static void test_routes(void)
{
	for (long count = 1; count <= VK_NODES_MAX; count++) {
		_cleanup_profile_ struct vk_profile *p = planned("rt", count, true);
		bool all_ok = p->cfg.nnodes == (size_t)count;

		for (size_t i = 0; all_ok && i < p->cfg.nnodes; i++) {
			const struct vk_node *self = &p->cfg.nodes[i];
			struct vk_pod_route r[VK_NODES_MAX];
			size_t n = vk_nodes_routes(p->cfg.nodes, p->cfg.nnodes, self->index, r);
			_cleanup_free_ char *text = vk_nodes_routes_text(p->cfg.nodes, p->cfg.nnodes, self->index);
			size_t k = 0;

			all_ok &= n == (size_t)count - 1;
			for (long other = 1; all_ok && other <= count; other++) {
				char dest[24], via[16];

				if (other == self->index)
					continue;
				vk_node_pod_cidr(other, dest);
				snprintf(via, sizeof(via), "192.168.50.%ld", other + 1);
				/* every other node's CIDR via that node, in index order; never its own */
				all_ok &= strcmp(r[k].dest, dest) == 0 && strcmp(r[k].via, via) == 0;
				k++;
			}
			{
				char own[24];

				vk_node_pod_cidr(self->index, own);
				all_ok &= strstr(text, own) == NULL;
			}
			all_ok &= (size_t)(strchr(text, '\0') - text) == 0 ? n == 0 : text[strlen(text) - 1] == '\n';
		}
		ok(all_ok, "%ld node%s: each routes the %ld other pod CIDR%s via their IPs, never its own", count,
		   count == 1 ? "" : "s", count - 1, count == 2 ? "" : "s");
	}
	{
		_cleanup_profile_ struct vk_profile *p = planned("rt", 3, true);
		_cleanup_free_ char *text = vk_nodes_routes_text(p->cfg.nodes, p->cfg.nnodes, 2);
		_cleanup_free_ char *cmd = NULL;
		struct vk_error err = { 0 };

		is_str(text, "10.244.0.0/24 192.168.50.2\n10.244.2.0/24 192.168.50.4\n",
		       "node 2 of 3: the routes file, line by line");
		cmd = vk_nodes_routes_command(text, &err);
		is_str(cmd, "sudo -n /usr/local/sbin/virtkube-provision routes --set 10.244.0.0/24 192.168.50.2 "
			    "10.244.2.0/24 192.168.50.4 ",
		       "and the guest command that sets them");
		ok(vk_nodes_routes_command("10.244.0.0/24 1.2.3.4; reboot\n", &err) == NULL,
		   "a routes text with anything but addresses never reaches a shell");
	}
}

static void test_profile_records(const char *home)
{
	_cleanup_profile_ struct vk_profile *p = planned("multi", 3, true);
	_cleanup_profile_ struct vk_profile *back = NULL;
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct vk_error err = { 0 };
	struct vk_node *n;
	size_t len;

	ok(vk_profile_save(p, &err) == 0, "a three-node profile saves (%s)", err.message);
	back = vk_profile_open("multi", false, &err);
	ok(back && back->cfg.nnodes == 3, "and loads back with three nodes");
	if (!back)
		return;
	for (size_t i = 0; i < 3; i++) {
		const struct vk_node *a = &p->cfg.nodes[i], *b = &back->cfg.nodes[i];

		ok(a->index == b->index && strcmp(a->name, b->name) == 0 && strcmp(a->ip, b->ip) == 0 &&
			   strcmp(a->mac, b->mac) == 0 && a->role == b->role,
		   "node %zu reads back as written: %s %s %s %s", i + 1, b->name, b->ip, b->mac, vk_node_role_name(b->role));
	}
	ok(strcmp(back->cfg.nodes[0].mac, "52:54:00:aa:bb:cc") == 0 && back->cfg.nodes[0].role == VK_ROLE_CONTROL_PLANE,
	   "node 1 is the profile's own VM, the control plane");
	ok(strcmp(back->cfg.nodes[1].mac, back->cfg.nodes[2].mac) != 0, "the workers' MACs differ");
	n = vk_nodes_find(back, "m02", &err);
	ok(n && strcmp(n->name, "multi-m02") == 0, "'m02' finds multi-m02");
	n = vk_nodes_find(back, "multi-m03", &err);
	ok(n && n->index == 3, "the full name finds it too");
	ok(vk_nodes_find(back, "m04", &err) == NULL, "a name that is not a node of the profile is not found");
	contains(err.message, "profile 'multi' has no node 'm04'", "saying so");
	contains(err.hint, "multi, multi-m02, multi-m03", "and naming the nodes it has");
	ok(vk_nodes_find(back, "multi-", &err) == NULL && vk_nodes_find(back, "", &err) == NULL,
	   "neither 'multi-' nor '' names a node");
	is_int(vk_nodes_free_index(back), 4, "the next node is 4");
	vk_profile_node_remove(back, 2);
	is_int(vk_nodes_free_index(back), 2, "with m02 removed, the next is 2 again");

	/* A file whose node records were edited by hand is refused, and kept. */
	path = vk_path_join(home, "profiles/multi/config.json");
	vk_read_file(path, &text, &len, &err);
	{
		_cleanup_free_ char *bad = xstrdup(text);
		char *at = strstr(bad, "\"multi-m02\"");

		if (at)
			memcpy(at, "\"evil;rm02\"", 11);
		vk_write_file_atomic(path, bad, strlen(bad), 0600, &err);
		ok(at && vk_profile_open("multi", false, &err) == NULL, "a node whose name is not its index's is refused");
		contains(err.message, "\"nodes\"", "naming the key");
	}
}

/* --network-mode bridge: the LAN's addresses as the user gives them. */
static void test_bridge_lan(void)
{
	struct vk_bridge_lan lan;
	struct vk_error err = { 0 };
	uint32_t ip;
	char buf[16];

	ok(vk_bridge_lan_parse("192.168.1.50/24", NULL, NULL, &lan, &err) == 0, "--bridge-ip 192.168.1.50/24 (%s)",
	   err.message);
	vk_ipv4_format(lan.gateway, buf);
	is_str(buf, "192.168.1.1", "the gateway defaults to the prefix's first host address");
	ok(lan.dns == lan.gateway && lan.prefix == 24, "the DNS to the gateway; the prefix is kept");
	ok(vk_bridge_lan_node_ip(&lan, 1, &ip, &err) == 0 && ip == lan.first, "node 1 has the address given");
	vk_bridge_lan_node_ip(&lan, 3, &ip, &err);
	vk_ipv4_format(ip, buf);
	is_str(buf, "192.168.1.52", "node 3 the second one after it");
	ok(vk_bridge_lan_check(&lan, 9, &err) == 0, "nine nodes fit");

	ok(vk_bridge_lan_parse("10.1.2.3/16", "10.1.0.254", "9.9.9.9", &lan, &err) == 0, "a /16 with a gateway and DNS");
	vk_ipv4_format(lan.gateway, buf);
	is_str(buf, "10.1.0.254", "the gateway given");
	vk_ipv4_format(lan.dns, buf);
	is_str(buf, "9.9.9.9", "the DNS given, anywhere");

	ok(vk_bridge_lan_parse(NULL, NULL, NULL, &lan, &err) < 0, "bridge mode without --bridge-ip is refused");
	contains(err.message, "needs --bridge-ip", "saying it is needed");
	contains(err.hint, "--bridge-ip 192.168.1.50/24", "with an example");
	ok(vk_bridge_lan_parse("192.168.1.50", NULL, NULL, &lan, &err) < 0, "an address without a prefix is refused");
	contains(err.message, "'192.168.1.50' is not an IPv4 address with a prefix length", "saying what it wants");
	ok(vk_bridge_lan_parse("192.168.1.500/24", NULL, NULL, &lan, &err) < 0 &&
		   vk_bridge_lan_parse("192.168.1.5/24x", NULL, NULL, &lan, &err) < 0 &&
		   vk_bridge_lan_parse("192.168.1.5/33", NULL, NULL, &lan, &err) < 0 &&
		   vk_bridge_lan_parse("192.168.1.5/", NULL, NULL, &lan, &err) < 0,
	   "a bad address or prefix is refused");
	ok(vk_bridge_lan_parse("192.168.1.5/31", NULL, NULL, &lan, &err) < 0, "a /31 is refused");
	contains(err.message, "no room", "it has no room for nodes and a gateway");
	ok(vk_bridge_lan_parse("192.168.1.0/24", NULL, NULL, &lan, &err) < 0, "the network address is refused");
	contains(err.message, "network address of 192.168.1.0/24", "saying so");
	ok(vk_bridge_lan_parse("192.168.1.255/24", NULL, NULL, &lan, &err) < 0, "the broadcast address is refused");
	ok(vk_bridge_lan_parse("192.168.1.1/24", NULL, NULL, &lan, &err) < 0, "node 1 on the default gateway is refused");
	contains(err.message, "node 1's address is the gateway 192.168.1.1", "saying so");
	ok(vk_bridge_lan_parse("192.168.1.1/24", "192.168.1.254", NULL, &lan, &err) == 0,
	   "but fine with another gateway named");
	ok(vk_bridge_lan_parse("192.168.1.50/24", "192.168.2.1", NULL, &lan, &err) < 0, "a gateway outside the LAN is refused");
	contains(err.message, "--bridge-gateway '192.168.2.1' is not a host address of the LAN 192.168.1.0/24",
		 "naming the gateway and the LAN");
	ok(vk_bridge_lan_parse("192.168.1.50/24", "gw", NULL, &lan, &err) < 0, "a gateway that is no address is refused");
	ok(vk_bridge_lan_parse("192.168.1.50/24", NULL, "dns", &lan, &err) < 0, "so is such a DNS");
	contains(err.message, "--bridge-dns 'dns'", "naming it");

	vk_bridge_lan_parse("192.168.1.253/24", NULL, NULL, &lan, &err);
	ok(vk_bridge_lan_check(&lan, 2, &err) == 0, "from .253, two nodes fit");
	ok(vk_bridge_lan_check(&lan, 3, &err) < 0, "three do not: node 3 would be the broadcast address");
	contains(err.message, "node 3 has no address on 192.168.1.0/24", "saying which node");
	vk_bridge_lan_parse("10.0.0.250/24", "10.0.0.252", NULL, &lan, &err);
	ok(vk_bridge_lan_check(&lan, 3, &err) < 0, "a node that would be on the gateway is refused");
	contains(err.message, "node 3's address would be the gateway 10.0.0.252", "saying so");
}

/* A bridged profile: saved, loaded back, and node add takes the next address. */
static void test_bridge_profile(const char *home)
{
	_cleanup_profile_ struct vk_profile *p = NULL, *back = NULL;
	_cleanup_free_ char *path = vk_path_join(home, "profiles/lan/config.json");
	_cleanup_free_ char *text = NULL;
	struct vk_error err = { 0 };
	struct vk_node *n;
	size_t len;

	p = vk_profile_open("lan", true, &err);
	vk_profile_set_str(&p->cfg.network_mode, "bridge");
	vk_profile_set_str(&p->cfg.bridge, "br0");
	vk_profile_set_str(&p->cfg.bridge_ip, "10.9.0.20/24");
	vk_profile_set_str(&p->cfg.bridge_gateway, "10.9.0.1");
	vk_profile_set_str(&p->cfg.bridge_dns, "10.9.0.53");
	vk_profile_set_str(&p->cfg.node_ip, "10.9.0.20");
	vk_profile_set_str(&p->cfg.mac, "52:54:00:aa:bb:01");
	p->cfg.kind = VK_KIND_PLAIN;
	ok(vk_profile_bridged(p), "a profile with network_mode bridge is bridged");
	{
		_cleanup_profile_ struct vk_profile *old = vk_profile_open("old", false, &err);

		ok(old && !vk_profile_bridged(old) && !old->cfg.bridge && !old->cfg.bridge_ip,
		   "a profile without the bridge keys loads as before: not bridged");
	}
	vk_nodes_plan(p, 0, 2, false);
	ok(p->cfg.nnodes == 2 && strcmp(p->cfg.nodes[1].ip, "10.9.0.21") == 0, "its node 2 is the next address, 10.9.0.21");
	ok(vk_profile_save(p, &err) == 0, "it saves (%s)", err.message);
	back = vk_profile_open("lan", false, &err);
	ok(back && vk_profile_bridged(back) && strcmp(back->cfg.bridge, "br0") == 0 &&
		   strcmp(back->cfg.bridge_ip, "10.9.0.20/24") == 0 && strcmp(back->cfg.bridge_gateway, "10.9.0.1") == 0 &&
		   strcmp(back->cfg.bridge_dns, "10.9.0.53") == 0 && !back->cfg.subnet && !back->cfg.network,
	   "and loads back: bridge, address, gateway, DNS; no subnet, no libvirt network");
	if (!back)
		return;
	n = vk_nodes_add(back, 0, 3, &err);
	ok(n && strcmp(n->ip, "10.9.0.22") == 0, "node add: node 3 at the next address, 10.9.0.22");
	vk_profile_node_remove(back, 2);
	n = vk_nodes_add(back, 0, vk_nodes_free_index(back), &err);
	ok(n && n->index == 2 && strcmp(n->ip, "10.9.0.21") == 0, "with node 2 deleted, the next add takes its address again");
	vk_profile_set_str(&back->cfg.bridge_ip, "10.9.0.253/24");
	ok(vk_nodes_add(back, 0, 4, &err) == NULL, "a node past the LAN's last address is not added");
	contains(err.message, "node 4 has no address on 10.9.0.0/24", "saying why");

	/* what the loader refuses: the file is kept as it is */
	vk_read_file(path, &text, &len, &err);
	{
		static const struct {
			const char *from, *to, *what;
		} bad[] = {
			{ "\"10.9.0.20/24\"", "\"10.9.0.20/33\"", "a bridge_ip that is no CIDR" },
			{ "\"br0\"", "\"b r0\"", "a bridge name that is no interface name" },
			{ "\"10.9.0.53\"", "\"10.9.0.x\"", "a bridge_dns that is no address" },
			{ "\"bridge\": \"br0\"", "\"bridgx\": \"br0\"", "bridge mode without its bridge" },
		};

		for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
			_cleanup_free_ char *edited = xstrdup(text);
			char *at = strstr(edited, bad[i].from);

			if (at)
				memcpy(at, bad[i].to, strlen(bad[i].to));
			vk_write_file_atomic(path, edited, strlen(edited), 0600, &err);
			ok(at && vk_profile_open("lan", false, &err) == NULL, "%s is refused", bad[i].what);
			contains(err.message, "cannot load profile 'lan'", "saying which profile (%s)", err.message);
		}
	}
	vk_write_file_atomic(path, text, strlen(text), 0600, &err);
}

/* A profile saved before multi-node: its one VM becomes node 1 when loaded. */
static void test_old_profile(const char *home)
{
	_cleanup_free_ char *dir = vk_path_join(home, "profiles/old");
	_cleanup_free_ char *path = vk_path_join(dir, "config.json");
	_cleanup_profile_ struct vk_profile *p = NULL;
	const char *text = "{\"schema\": 1, \"name\": \"old\", \"node_ip\": \"192.168.60.2\", \"mac\": "
			   "\"52:54:00:01:02:03\", \"subnet\": \"192.168.60.0/24\", \"kubernetes\": false}";
	struct vk_error err = { 0 };

	vk_mkdir_p(dir, 0700, &err);
	vk_write_file_atomic(path, text, strlen(text), 0600, &err);
	p = vk_profile_open("old", false, &err);
	ok(p && p->cfg.nnodes == 1, "a profile from before multi-node has one node");
	if (p)
		ok(strcmp(p->cfg.nodes[0].name, "old") == 0 && strcmp(p->cfg.nodes[0].ip, "192.168.60.2") == 0 &&
			   p->cfg.nodes[0].role == VK_ROLE_PLAIN,
		   "its own VM, at its node IP, a plain VM (--no-kubernetes)");
}

static void test_token(void)
{
	char a[VK_TOKEN_LEN + 1], b[VK_TOKEN_LEN + 1];
	struct vk_error err = { 0 };
	_cleanup_free_ char *secret = NULL;
	json_auto_t *obj = NULL;
	json_t *data;
	time_t when = 1800000000;

	ok(vk_token_new(a, &err) == 0 && vk_token_new(b, &err) == 0, "tokens are made");
	ok(vk_token_valid(a) && strlen(a) == 23 && a[6] == '.', "a token is [a-z0-9]{6}.[a-z0-9]{16}: %s", a);
	ok(strcmp(a, b) != 0, "two tokens differ");
	ok(!vk_token_valid("abcdef.0123456789ABCDEF") && !vk_token_valid("abcdef0123456789abcdef0") &&
		   !vk_token_valid("abc.def") && !vk_token_valid(NULL),
	   "upper case, no dot, short and missing tokens are not tokens");
	secret = vk_token_secret(a, when);
	obj = json_loads(secret, 0, NULL);
	data = json_object_get(obj, "stringData");
	ok(obj && strcmp(json_string_value(json_object_get(obj, "type")), "bootstrap.kubernetes.io/token") == 0,
	   "the token's Secret has the bootstrap token type");
	ok(strncmp(json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")), "bootstrap-token-", 16) == 0 &&
		   strncmp(json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) + 16, a, 6) == 0,
	   "named bootstrap-token-ID");
	is_str(json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace")), "kube-system",
	       "in kube-system");
	ok(strncmp(json_string_value(json_object_get(data, "token-id")), a, 6) == 0 &&
		   strcmp(json_string_value(json_object_get(data, "token-secret")), a + 7) == 0,
	   "its id and secret are the token's halves");
	is_str(json_string_value(json_object_get(data, "expiration")), "2027-01-15T08:00:00Z", "it expires when asked (RFC 3339, UTC)");
	is_str(json_string_value(json_object_get(data, "auth-extra-groups")), VK_TOKEN_GROUP,
	       "in the group kubeadm's join RBAC is bound to");
	is_str(json_string_value(json_object_get(data, "usage-bootstrap-authentication")), "true", "usable to authenticate");
}

static void test_ca_hash(const char *dir)
{
	struct vk_pki_result res;
	struct vk_error err = { 0 };
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *want = NULL, *missing = vk_path_join(dir, "nope.crt");
	char hash[7 + 64 + 1];
	int rc;

	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0, "a cluster CA is made (%s)", err.message);
	ok(vk_join_ca_hash(ca, hash, &err) == 0, "its hash is computed (%s)", err.message);
	want = sh(&rc, "openssl x509 -pubkey -noout -in '%s' | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
		  ca);
	ok(rc == 0 && strlen(want) == 64, "openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum runs");
	ok(strncmp(hash, "sha256:", 7) == 0 && strcmp(hash + 7, want) == 0, "sha256:<that> is the hash: %s", hash);
	ok(vk_join_ca_hash(missing, hash, &err) < 0, "a missing CA is an error");
	contains(err.message, "nope.crt", "naming the file");
}

static bool seq_has(yaml_document_t *doc, const char *path, const char *want)
{
	long n = yt_len(doc, path);

	for (long i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s.%ld", path, i);
		const char *v = yt_str(doc, p);

		if (v && strcmp(v, want) == 0)
			return true;
	}
	return false;
}

static void test_join_config(void)
{
	const char *hash = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct vk_join_params jp = { .node_name = "dev-m02", .node_ip = "192.168.50.3", .api_endpoint = "192.168.50.2:8443",
				     .token = "abcdef.0123456789abcdef", .ca_hash = hash };
	struct vk_error err = { 0 };
	_cleanup_free_ char *yaml = vk_join_config(&jp, NULL, &err);
	struct yt_docs d;
	yaml_document_t *join;

	ok(yaml != NULL, "a JoinConfiguration renders (%s)", err.message);
	if (!yaml)
		return;
	is_int(yt_load(&d, yaml), 1, "it parses back as one document");
	join = yt_kind(&d, "JoinConfiguration");
	ok(join != NULL, "of kind JoinConfiguration");
	if (join) {
		is_str(yt_str(join, "apiVersion"), "kubeadm.k8s.io/v1beta4", "v1beta4");
		is_str(yt_str(join, "discovery.bootstrapToken.apiServerEndpoint"), "192.168.50.2:8443",
		       "discovery: the control plane's IP:port");
		is_str(yt_str(join, "discovery.bootstrapToken.token"), "abcdef.0123456789abcdef", "discovery: the token");
		is_int(yt_len(join, "discovery.bootstrapToken.caCertHashes"), 1, "one CA hash");
		is_str(yt_str(join, "discovery.bootstrapToken.caCertHashes.0"), hash, "the CA's hash, pinned");
		ok(yt_str(join, "discovery.bootstrapToken.unsafeSkipCAVerification") == NULL, "no unsafeSkipCAVerification");
		is_str(yt_str(join, "discovery.tlsBootstrapToken"), "abcdef.0123456789abcdef", "the TLS bootstrap token");
		is_str(yt_str(join, "nodeRegistration.name"), "dev-m02", "the node's name");
		is_str(yt_str(join, "nodeRegistration.criSocket"), VK_CRI_SOCKET, "containerd's socket");
		is_str(yt_str(join, "nodeRegistration.kubeletExtraArgs.0.name"), "node-ip", "kubelet node-ip");
		is_str(yt_str(join, "nodeRegistration.kubeletExtraArgs.0.value"), "192.168.50.3", "is the worker's IP");
		is_str(yt_str(join, "timeouts.discovery"), "15m0s", "TCG: a generous discovery timeout");
		ok(yt_str(join, "controlPlane") == NULL, "no controlPlane: a worker");
	}
	yt_free(&d);

	jp.token = "abcdef.0123456789ABCDEF";
	ok(vk_join_config(&jp, NULL, &err) == NULL, "a bad token is refused");
	jp.token = "abcdef.0123456789abcdef";
	jp.ca_hash = "sha256:xyz";
	ok(vk_join_config(&jp, NULL, &err) == NULL, "a bad CA hash is refused");
	jp.ca_hash = hash;
	jp.api_endpoint = "192.168.50.2";
	ok(vk_join_config(&jp, NULL, &err) == NULL, "an endpoint without a port is refused");
	jp.api_endpoint = "192.168.50.2:8443";
	jp.node_name = "Bad_Name";
	ok(vk_join_config(&jp, NULL, &err) == NULL, "a node name that is no host name is refused");
}

static void test_init_config(void)
{
	struct vk_kubeadm_params kp = { .node_name = "dev", .node_ip = "192.168.50.2", .kubernetes_version = "v1.35.0",
					.bootstrap_token = "abcdef.0123456789abcdef", .keep_control_plane_taint = true,
					.node_pod_cidr = "10.244.0.0/24" };
	struct vk_error err = { 0 };
	_cleanup_free_ char *yaml = vk_kubeadm_config(&kp, NULL, &err);
	_cleanup_free_ char *env = vk_kubeadm_env(&kp, &err);
	struct yt_docs d;
	yaml_document_t *init, *cluster;

	ok(yaml && env, "a control plane with workers renders (%s)", err.message);
	if (!yaml || !env)
		return;
	yt_load(&d, yaml);
	init = yt_kind(&d, "InitConfiguration");
	cluster = yt_kind(&d, "ClusterConfiguration");
	if (init && cluster) {
		is_str(yt_str(init, "bootstrapTokens.0.token"), "abcdef.0123456789abcdef", "bootstrapTokens: the host's token");
		is_str(yt_str(init, "bootstrapTokens.0.ttl"), VK_TOKEN_TTL, "with its TTL");
		ok(seq_has(init, "bootstrapTokens.0.usages", "authentication") &&
			   seq_has(init, "bootstrapTokens.0.usages", "signing"),
		   "usable for signing and authentication");
		ok(seq_has(init, "bootstrapTokens.0.groups", VK_TOKEN_GROUP), "in kubeadm's join group");
		is_int(yt_len(init, "nodeRegistration.taints"), -1, "no taints key: the control plane keeps kubeadm's NoSchedule");
		is_str(yt_str(cluster, "controllerManager.extraArgs.1.name"), "allocate-node-cidrs",
		       "the controller-manager allocates no node CIDRs (the host chose them)");
		is_str(yt_str(cluster, "controllerManager.extraArgs.1.value"), "false", "allocate-node-cidrs=false");
	}
	ok(init && cluster, "InitConfiguration and ClusterConfiguration are there");
	yt_free(&d);
	contains(env, "NODE_POD_CIDR=10.244.0.0/24\n", "the env file has the node's pod CIDR");
	contains(env, "CONTROL_PLANE_TAINT=keep\n", "and says the taint stays");
	contains(env, "NODE_ROLE=control-plane\n", "and the role");
	kp.role = "boss";
	ok(vk_kubeadm_env(&kp, &err) == NULL, "an unknown role is refused");
	kp.role = NULL;
	kp.bootstrap_token = "nope";
	ok(vk_kubeadm_config(&kp, NULL, &err) == NULL, "a bad bootstrap token is refused");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *pki = vk_path_join(tmp, "pki");

	setenv("VIRTKUBE_HOME", home, 1);
	mkdir(pki, 0700);
	test_names();
	test_count_check();
	test_routes();
	test_profile_records(home);
	test_old_profile(home);
	test_bridge_lan();
	test_bridge_profile(home);
	test_token();
	test_ca_hash(pki);
	test_join_config();
	test_init_config();
	return done_testing();
}
