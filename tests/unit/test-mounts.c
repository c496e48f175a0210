/* Unit tests of host folders: --mount parsing and bad input, tags, the domain XML, config.json, and syncing a domain on libvirt's test driver. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "vm/domxml.h"
#include "vm/mountops.h"
#include "vm/mounts.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void test_parse(const char *share)
{
	struct vk_mount m = { 0 };
	struct vk_error err = { 0 };
	_cleanup_free_ char *spec = xasprintf("%s:/mnt/src,ro", share);

	ok(vk_mount_parse(share, &m, &err) == 0, "HOST_DIR alone parses");
	is_str(m.guest, share, "GUEST_DIR defaults to the host's path");
	ok(!m.readonly, "rw by default");
	vk_mount_release(&m);
	ok(vk_mount_parse(spec, &m, &err) == 0 && m.readonly, "HOST:GUEST,ro parses, read-only");
	is_str(m.host, share, "the host part");
	is_str(m.guest, "/mnt/src", "the guest part");
	vk_mount_release(&m);
	ok(vk_mount_parse("/srv/a-b+c.d:/src/x_y,rw", &m, &err) == 0 && !m.readonly, ",rw is fine too");
	vk_mount_release(&m);

	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "", "expected " VK_MOUNT_SYNTAX },
		{ "relative/dir", "not an absolute, normalized path" },
		{ "/a/../b", "not an absolute, normalized path" },
		{ "/a/./b", "not an absolute, normalized path" },
		{ "/a//b", "not an absolute, normalized path" },
		{ "/a/b/", "not an absolute, normalized path" },
		{ "/", "not an absolute, normalized path" },
		{ "/srv/x:", "expected " VK_MOUNT_SYNTAX },
		{ "/srv/x:rel", "guest path 'rel'" },
		{ "/srv/x:/mnt/a b", "guest path '/mnt/a b'" },
		{ "/srv/has space", "guest path '/srv/has space'" },
		{ "/srv/x:/mnt/a'b", "guest path" },
		{ "/srv/x:/", "not an absolute, normalized path" },
		{ "/srv/x:/etc", "the system directory '/etc'" },
		{ "/srv/x:/etc/foo", "below the system directory '/etc'" },
		{ "/srv/x:/usr", "system directory '/usr'" },
		{ "/srv/x:/var/lib/kubelet", "system directory '/var/lib/kubelet'" },
		{ "/srv/x:/var/lib/kubelet/pods", "below the system directory '/var/lib/kubelet'" },
		{ "/srv/x:/home", "would hide the system's own '/home'" },
		{ "/srv/x:/var", "would hide" },
		{ "/srv/x:/home/docker/.ssh", "system directory" },
	};
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		vk_error_clear(&err);
		ok(vk_mount_parse(bad[i].spec, &m, &err) < 0 && err.code == VK_ERR_INVALID && !m.host,
		   "'%s' is refused", bad[i].spec);
		contains(err.message, bad[i].says, "saying so");
		ok(err.hint[0] != '\0', "with a hint");
	}
	ok(vk_mount_parse("/srv/x:/var/lib/data", &m, &err) == 0, "a directory below /var/lib is fine");
	vk_mount_release(&m);
}

static void test_tags(void)
{
	_cleanup_free_ char *a = vk_mount_tag("/mnt/share");
	_cleanup_free_ char *a2 = vk_mount_tag("/mnt/share");
	_cleanup_free_ char *b = vk_mount_tag("/srv/share");
	_cleanup_free_ char *longer = vk_mount_tag("/a/very-long-directory-name-that-goes-on-and-on+more");

	ok(strncmp(a, "vk-share-", 9) == 0 && strlen(a) == 17, "the tag is vk-, the last component and a hash (%s)", a);
	is_str(a, a2, "the same path gives the same tag");
	ok(strcmp(a, b) != 0, "another path with the same name gets another tag (%s)", b);
	ok(strlen(longer) <= VK_MOUNT_TAG_MAX, "a long name is cut to fit %d characters (%s)", VK_MOUNT_TAG_MAX, longer);
	ok(!strchr(longer, '+'), "and holds no '+'");
}

static void test_host_checks(const char *tmp, const char *share)
{
	_cleanup_free_ char *missing = vk_path_join(tmp, "missing");
	_cleanup_free_ char *file = vk_path_join(tmp, "file");
	struct vk_error err = { 0 };

	vk_write_file_atomic(file, "x", 1, 0644, &err);
	ok(vk_mount_check_host(share, "qemu:///system", &err) == 0, "an existing directory passes");
	ok(vk_mount_check_host(missing, "qemu:///system", &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "a missing directory is NOT_FOUND");
	contains(err.message, missing, "naming it");
	vk_error_clear(&err);
	ok(vk_mount_check_host(file, "qemu:///system", &err) < 0, "a file is refused");
	contains(err.message, "not a directory", "saying so");
}

static void test_merge(const char *share, const char *other)
{
	struct vk_profile *p = vk_profile_open("merge", true, NULL);
	struct vk_error err = { 0 };
	_cleanup_free_ char *a = xasprintf("%s:/mnt/a", share);
	_cleanup_free_ char *a_ro = xasprintf("%s:/mnt/a,ro", share);
	_cleanup_free_ char *b = xasprintf("%s:/mnt/b,ro", other);
	_cleanup_free_ char *missing = xasprintf("%s/missing:/mnt/c", other);
	_cleanup_free_ char *cmd = NULL, *table = NULL;
	size_t added = 0;

	ok(vk_mounts_merge(p, (const char *[]){ a, b, NULL }, "qemu:///system", &added, &err) == 0 && added == 2,
	   "two mounts merge into the profile (%s)", err.message);
	ok(vk_mounts_merge(p, (const char *[]){ a, NULL }, "qemu:///system", &added, &err) == 0 && added == 0,
	   "the same mount again is fine and adds nothing");
	ok(vk_mounts_merge(p, (const char *[]){ a_ro, NULL }, "qemu:///system", &added, &err) < 0 &&
		   err.code == VK_ERR_EXISTS,
	   "another mount on a guest path in use is refused");
	contains(err.message, "on guest path '/mnt/a' already", "naming the path");
	contains(err.hint, "unmount /mnt/a", "and how to free it");
	vk_error_clear(&err);
	_cleanup_free_ char *d1 = xasprintf("%s:/mnt/d", share), *d2 = xasprintf("%s:/mnt/d", other);
	ok(vk_mounts_merge(p, (const char *[]){ d1, d2, NULL }, "qemu:///system", NULL, &err) < 0,
	   "two mounts on one guest path in one call are refused");
	contains(err.message, "two mounts on guest path '/mnt/d'", "saying so");
	vk_error_clear(&err);
	ok(vk_mounts_merge(p, (const char *[]){ "/srv/x:/mnt/e", missing, NULL }, "qemu:///system", NULL, &err) < 0,
	   "a missing host directory is refused");
	is_int((int)p->cfg.nmounts, 2, "and nothing of a refused call is added");

	setenv("VIRTKUBE_VIRTIOFSD", "/nonexistent/virtiofsd", 1);
	vk_error_clear(&err);
	_cleanup_free_ char *c = xasprintf("%s:/mnt/c", other);
	ok(vk_mounts_merge(p, (const char *[]){ c, NULL }, "qemu:///system", NULL, &err) < 0 &&
		   err.code == VK_ERR_UNSUPPORTED,
	   "without virtiofsd a new mount is refused");
	contains(err.hint, "install qemu-system-x86 (virtiofsd)", "with the package to install");
	ok(vk_mounts_merge(p, (const char *[]){ a, NULL }, "qemu:///system", NULL, &err) == 0,
	   "a mount the profile has already needs no virtiofsd now");
	setenv("VIRTKUBE_VIRTIOFSD", "/bin/true", 1);

	table = vk_mounts_guest_table(p);
	cmd = vk_mounts_guest_command(p);
	_cleanup_free_ char *ta = vk_mount_tag("/mnt/a"), *tb = vk_mount_tag("/mnt/b");
	_cleanup_free_ char *want = xasprintf("%s /mnt/a rw\n%s /mnt/b ro\n", ta, tb);
	_cleanup_free_ char *want_cmd = xasprintf(VK_MOUNT_GUEST_COMMAND " %s /mnt/a rw %s /mnt/b ro", ta, tb);
	is_str(table, want, "the guest's table: TAG DIR MODE per mount");
	is_str(cmd, want_cmd, "the guest command carries the same words");

	ok(vk_profile_mount_remove(p, "/mnt/a") && !vk_profile_mount_remove(p, "/mnt/a"),
	   "a mount is removed once; a second time says there is none");
	vk_profile_free(p);
}

static void test_domxml_and_profile(const char *share, const char *hostile_dir)
{
	struct vk_mount mounts[] = { { .host = (char *)share, .guest = "/mnt/share" },
				     { .host = (char *)hostile_dir, .guest = "/mnt/h", .readonly = true } };
	struct vk_domain_spec s = {
		.name = "m", .profile = "m", .accel = VK_ACCEL_TCG, .vcpus = 1, .memory_mib = 512,
		.disk_path = "/d.qcow2", .network = "n", .mac = "52:54:00:00:00:02", .console_log = "/c.log",
		.mounts = mounts, .nmounts = 2, .virtiofsd = "/usr/lib/qemu/virtiofsd",
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *xml = vk_domxml_build(&s, &err);
	_cleanup_free_ char *tag = vk_mount_tag("/mnt/share");
	_cleanup_free_ char *target = xasprintf("<target dir='%s'/>", tag);
	struct vk_profile *p;

	contains(xml, "<memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>",
		 "the domain's memory is shared memfd");
	contains(xml, "<filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>\n"
		      "      <binary path='/usr/lib/qemu/virtiofsd'/>",
		 "a virtiofs filesystem served by the virtiofsd found");
	contains(xml, target, "its target is the tag");
	contains(xml, "&apos;", "a host path's quote is escaped");
	ok(!strstr(xml, "<readonly/>"), "ro is the guest's mount option, not libvirt's (qemu 7.2's virtiofsd has none)");

	/* config.json: the mounts round-trip; a bad one is refused, the file untouched */
	p = vk_profile_open("cfg", true, &err);
	vk_profile_mount_add(p, share, "/mnt/share", false);
	vk_profile_mount_add(p, hostile_dir, "/mnt/h", true);
	p->cfg.mounts_pending = true;
	ok(vk_profile_save(p, &err) == 0, "a profile with mounts saves");
	vk_profile_free(p);
	p = vk_profile_open("cfg", false, &err);
	ok(p && p->cfg.nmounts == 2 && p->cfg.mounts[1].readonly && !p->cfg.mounts[0].readonly && p->cfg.mounts_pending,
	   "and loads with its mounts and the pending flag");
	is_str(p ? p->cfg.mounts[1].host : NULL, hostile_dir, "a host path with quotes survives");
	{
		_cleanup_free_ char *text = NULL;
		size_t len;

		vk_read_file(p->config_path, &text, &len, &err);
		contains(text, "\"schema_minor\": 2", "the file says schema minor 2");
		char *at = strstr(text, "\"/mnt/h\"");
		if (at) {
			memcpy(at, "\"mnt/hh\"", 8);
			vk_write_file_atomic(p->config_path, text, len, 0600, &err);
		}
	}
	vk_profile_free(p);
	p = vk_profile_open("cfg", false, &err);
	ok(!p && err.code == VK_ERR_PARSE, "a mount with a bad guest path in config.json is refused");
	contains(err.message, "\"mounts\"", "naming the key");
	vk_profile_free(p);
}

static void test_sync_config(virConnectPtr conn, const char *share, const char *other)
{
	struct vk_domain_spec s = {
		.name = "vke2e-sync", .profile = "sync", .accel = VK_ACCEL_TCG, .vcpus = 1, .memory_mib = 512,
		.disk_path = "/d.qcow2", .network = "n", .mac = "52:54:00:00:00:02", .console_log = "/c.log",
	};
	struct vk_error err = { 0 };
	_cleanup_free_ char *plain = vk_domxml_build(&s, &err);
	struct vk_profile *p = vk_profile_open("sync", true, &err);
	_cleanup_free_ char *after = NULL, *after2 = NULL;
	_cleanup_free_ char *ta = vk_mount_tag("/mnt/a"), *tb = vk_mount_tag("/mnt/b");
	bool changed = true;

	/* a domain without mounts has no shared memory (its memory state can be snapshotted) */
	ok(plain && !strstr(plain, "<memoryBacking>"), "a domain without mounts has no memory backing");
	ok(virDomainDefineXML(conn, plain) != NULL, "an old domain is defined (%s)", virGetLastErrorMessage());
	ok(vk_mounts_sync_config(conn, p, s.name, &changed, &err) == 0 && !changed,
	   "a profile without mounts leaves it as it is");
	vk_profile_mount_add(p, share, "/mnt/a", false);
	vk_profile_mount_add(p, other, "/mnt/b", true);
	ok(vk_mounts_sync_config(conn, p, s.name, &changed, &err) == 0 && changed, "two mounts: redefined (%s)",
	   err.message);
	after = vk_domain_xml(conn, s.name, true, &err);
	contains(after, "<source type='memfd'/>", "with the shared memory backing");
	contains(after, ta, "with the first mount's tag");
	contains(after, tb, "and the second's");
	ok(vk_mounts_sync_config(conn, p, s.name, &changed, &err) == 0 && !changed, "in sync: nothing to do");
	vk_profile_mount_remove(p, "/mnt/a");
	ok(vk_mounts_sync_config(conn, p, s.name, &changed, &err) == 0 && changed, "one unmounted: redefined");
	after2 = vk_domain_xml(conn, s.name, true, &err);
	ok(after2 && !strstr(after2, ta) && strstr(after2, tb), "only the other mount is left");
	contains(after2, "<disk type='file' device='disk'>", "the rest of the domain is kept");
	vk_profile_free(p);
}

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	_cleanup_free_ char *share = xasprintf("%s/share", tmp);
	_cleanup_free_ char *other = xasprintf("%s/other", tmp);
	_cleanup_free_ char *hostile_dir = xasprintf("%s/it's <a> & dir", tmp);
	struct vk_error err = { 0 };
	virConnectPtr conn;

	setenv("VIRTKUBE_HOME", home, 1);
	setenv("VIRTKUBE_VIRTIOFSD", "/bin/true", 1);
	vk_mkdir_p(share, 0755, &err);
	vk_mkdir_p(other, 0755, &err);
	vk_mkdir_p(hostile_dir, 0755, &err);
	test_parse(share);
	test_tags();
	test_host_checks(tmp, share);
	test_merge(share, other);
	test_domxml_and_profile(share, hostile_dir);
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen("test:///default");
	if (conn) {
		test_sync_config(conn, share, other);
		virConnectClose(conn);
	}
	vk_remove_tree(tmp, &err);
	return done_testing();
}
