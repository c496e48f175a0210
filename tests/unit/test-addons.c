/* Unit tests for src/addons: the registry, the enabled set, every addon's manifests, --addons parsing;
 * with VK_TEST_LIVE_PROFILE set (by tests/integration/test-addons-api.sh), the start flow against the fake API server. */
#include <stdlib.h>
#include <string.h>

#include "kube/addons.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void test_registry(void)
{
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	struct vk_error err = { 0 };
	const struct vk_addon *a;

	is_int(vk_addons_load(&reg, NULL, &err), 0, "the registry loads from the data directory (%s)", err.message);
	is_int(reg.n, 7, "seven addons");
	if (reg.n != 6)
		return;
	is_str(reg.items[0].name, "dashboard", "sorted by name");
	a = vk_addons_find(&reg, "dns", &err);
	ok(a && a->default_on && a->nwaits == 2, "dns is on by default and waits for two objects");
	if (a)
		is_str(a->waits[0].kind, "Deployment", "its first wait is the Deployment");
	a = vk_addons_find(&reg, "ingress", &err);
	ok(a && a->nremoves == 6, "ingress removes six objects of ingress-nginx first");
	if (a && a->nremoves)
		ok(!strcmp(a->removes[a->nremoves - 1].kind, "Namespace") && !a->removes[a->nremoves - 1].ns &&
			   !strcmp(a->removes[a->nremoves - 1].name, "ingress-nginx"),
		   "the last one is the Namespace ingress-nginx (cluster-scoped: no namespace)");
	a = vk_addons_find(&reg, "metrics-server", &err);
	ok(a && a->nremoves == 0 && a->images[0] && strstr(a->images[0], ":v0.9.0@sha256:"),
	   "metrics-server removes nothing and lists its image by tag and digest");
	ok(vk_addons_find(&reg, "nope", &err) == NULL, "an unknown addon is not found");
	is_int(err.code, VK_ERR_NOT_FOUND, "with NOT_FOUND");
	contains(err.hint, "dashboard, default-storageclass, dns, ingress, metrics-server, storage-provisioner",
		 "the hint lists them all");
}

static void test_bad_metadata(void)
{
	_cleanup_free_ char *dir = tap_tmpdir();
	_cleanup_free_ char *sub = xasprintf("%s/x", dir);
	_cleanup_free_ char *meta = xasprintf("%s/x/addon.json", dir);
	struct vk_addon_registry reg = { 0 };
	struct vk_error err = { 0 };
	const char *bad[] = {
		"{\"name\": \"y\", \"description\": \"d\", \"default\": true, \"manifests\": [\"a.yaml\"], \"images\": [], \"wait\": []}",
		"{\"name\": \"x\", \"description\": \"d\", \"default\": true, \"manifests\": [\"../a.yaml\"], \"images\": [], \"wait\": []}",
		"{\"name\": \"x\", \"description\": \"d\", \"default\": true, \"manifests\": [\"a.yaml\"], \"images\": [], "
		"\"wait\": [{\"kind\": \"ConfigMap\", \"namespace\": \"a\", \"name\": \"b\"}]}",
		"{\"name\": \"x\", \"description\": \"d\", \"manifests\": [\"a.yaml\"], \"images\": [], \"wait\": []}",
		"{\"name\": \"x\",",
	};
	const char *why[] = { "must be \"x\"", "file names in its folder", "wait entry 1", "needs \"description\"",
			      "cannot read addon metadata" };

	vk_mkdir_p(sub, 0700, &err);
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		vk_write_file_atomic(meta, bad[i], strlen(bad[i]), 0600, &err);
		ok(vk_addons_load(&reg, dir, &err) < 0, "bad addon.json %zu is refused", i + 1);
		contains(err.message, why[i], "saying why");
		contains(err.message, "x/addon.json", "naming the file");
	}
	vk_remove_tree(dir, &err);
}

static struct vk_profile *profile_in(const char *home, const char *json)
{
	struct vk_error err = { 0 };
	_cleanup_free_ char *dir = xasprintf("%s/profiles/t", home);
	_cleanup_free_ char *cfg = xasprintf("%s/config.json", dir);

	setenv("VIRTKUBE_HOME", home, 1);
	vk_mkdir_p(dir, 0700, &err);
	vk_write_file_atomic(cfg, json, strlen(json), 0600, &err);
	return vk_profile_open("t", false, &err);
}

static void test_enabled_and_manifests(void)
{
	_cleanup_free_ char *home = tap_tmpdir();
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_strv_ char **on = NULL;
	struct vk_error err = { 0 };
	char **list;

	vk_addons_load(&reg, NULL, &err);
	p = profile_in(home, "{\"schema\": 1, \"name\": \"t\", \"node_ip\": \"192.168.122.5\"}");
	if (!ok(p != NULL, "a test profile opens"))
		return;
	on = vk_addons_enabled(p, &reg);
	ok(on[0] && on[1] && on[2] && !on[3], "without \"addons\" the defaults are enabled (three)");
	ok(vk_addons_is_enabled(p, &reg, "dns") && !vk_addons_is_enabled(p, &reg, "ingress"), "dns on, ingress off");
	vk_addons_set_enabled(p, &reg, "ingress", true);
	vk_addons_set_enabled(p, &reg, "dns", false);
	ok(vk_addons_is_enabled(p, &reg, "ingress") && !vk_addons_is_enabled(p, &reg, "dns") &&
		   vk_addons_is_enabled(p, &reg, "storage-provisioner"),
	   "enabling and disabling make the defaults explicit and change only the one named");
	is_int(vk_strv_len((const char *const *)p->cfg.addons), 3, "config.json's \"addons\" has three names");
	vk_addons_set_enabled(p, &reg, "ingress", true);
	is_int(vk_strv_len((const char *const *)p->cfg.addons), 3, "enabling twice adds no duplicate");

	for (size_t i = 0; i < reg.n; i++) {
		struct vk_manifest m = { 0 };

		is_int(vk_addon_manifest(&reg.items[i], p, &m, &err), 0, "addon %s: its manifests parse with the profile's "
		       "values (%s)", reg.items[i].name, err.message);
		ok(m.n > 0, "addon %s: %zu objects", reg.items[i].name, m.n);
		for (size_t j = 0; j < reg.items[i].nwaits; j++) {
			bool found = false;

			for (size_t k = 0; k < m.n; k++)
				found |= strcmp(m.items[k].kind, reg.items[i].waits[j].kind) == 0 &&
					 strcmp(m.items[k].name, reg.items[i].waits[j].name) == 0;
			ok(found, "addon %s: wait target %s %s is one of its objects", reg.items[i].name,
			   reg.items[i].waits[j].kind, reg.items[i].waits[j].name);
		}
		vk_manifest_clear(&m);
	}

	list = vk_addons_parse_list("dns,ingress", &err);
	ok(list && !strcmp(list[0], "dns") && !strcmp(list[1], "ingress") && !list[2], "--addons dns,ingress parses");
	vk_strv_free(list);
	ok(vk_addons_parse_list("dns,nosuch", &err) == NULL, "an unknown name in --addons is refused");
	is_int(err.code, VK_ERR_INVALID, "as bad input");
	contains(err.message, "unknown addon 'nosuch'", "naming it");
	ok(vk_addons_parse_list("dns,", &err) == NULL, "an empty name is refused");
	vk_remove_tree(home, &err);
}

/* The live profile $VK_TEST_LIVE_PROFILE in HOME and a client for its cluster. */
static int open_live(const char *home, struct vk_profile **p, struct vk_kube **k)
{
	struct vk_error err = { 0 };

	setenv("VIRTKUBE_HOME", home, 1);
	*p = vk_profile_open(getenv("VK_TEST_LIVE_PROFILE"), false, &err);
	if (!ok(*p != NULL, "live: the profile opens (%s)", err.message))
		return -1;
	*k = vk_kube_from_profile(*p, &err);
	if (!ok(*k != NULL, "live: a client for it (%s)", err.message))
		return -1;
	return 0;
}

/* The start flow against the fake API server: defaults + extra applied, waited for, recorded. */
static void test_live(const char *home)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	_cleanup_addons_ struct vk_addon_registry reg = { 0 };
	const char *extra[] = { "dashboard", NULL };
	struct vk_error err = { 0 };
	enum vk_addon_state st;
	_cleanup_free_ char *detail = NULL;

	if (open_live(home, &p, &k) < 0)
		return;
	is_int(vk_addons_apply_enabled(k, p, extra, false, 30000, NULL, NULL, &err), 0,
	       "live: the start flow applies the defaults and --addons dashboard (%s)", err.message);
	vk_addons_load(&reg, NULL, &err);
	is_int(vk_strv_len((const char *const *)p->cfg.addons), 4, "live: four addons are recorded as enabled");
	for (size_t i = 0; i < reg.n; i++) {
		bool want = strcmp(reg.items[i].name, "ingress") != 0 && strcmp(reg.items[i].name, "metrics-server") != 0 &&
			    strcmp(reg.items[i].name, "loadbalancer") != 0;

		free(detail);
		detail = NULL;
		vk_addon_state(k, p, &reg.items[i], &st, &detail, &err);
		ok(want ? st == VK_ADDON_READY : st == VK_ADDON_NOT_APPLIED, "live: %s is %s", reg.items[i].name,
		   vk_addon_state_name(st));
	}
}

/* The start flow against a fake whose dns image cannot be pulled and whose storage-provisioner
 * crash-loops: both are waited for, and the one error names both. */
static void test_live_not_ready(const char *home)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	_cleanup_kube_ struct vk_kube *k = NULL;
	struct vk_error err = { 0 };
	const char *dns, *sp;
	long long t0;

	if (open_live(home, &p, &k) < 0)
		return;
	t0 = vk_now_ms();
	ok(vk_addons_apply_enabled(k, p, NULL, false, 3000, NULL, NULL, &err) < 0, "not ready: the start flow fails");
	is_int(err.code, VK_ERR_ADDON_NOT_READY, "with VK_ERR_ADDON_NOT_READY, not a cluster error");
	dns = strstr(err.message, "addon 'dns' is not ready: Deployment 'kube-system/coredns' cannot start: image");
	sp = strstr(err.message, "addon 'storage-provisioner' is not ready: timed out after");
	ok(dns != NULL, "naming dns and its image (%s)", err.message);
	ok(sp != NULL && sp > dns, "and, after it, storage-provisioner, which was still waited for");
	contains(err.message, "CrashLoopBackOff", "with the crash loop as its reason");
	contains(err.hint, "describe pod coredns-", "the hint is the first addon's");
	ok(vk_now_ms() - t0 >= 2900, "the time left after dns failed went to storage-provisioner");
	is_int(vk_strv_len((const char *const *)p->cfg.addons), 3, "not ready: the defaults stay recorded as enabled");
}

int main(void)
{
	const char *live = getenv("VK_TEST_LIVE_HOME");

	if (live && getenv("VK_TEST_LIVE_PROFILE")) {
		if (getenv("VK_TEST_LIVE_NOT_READY"))
			test_live_not_ready(live);
		else
			test_live(live);
		return done_testing();
	}
	test_registry();
	test_bad_metadata();
	test_enabled_and_manifests();
	return done_testing();
}
