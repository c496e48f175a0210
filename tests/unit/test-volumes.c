/* The remote host's volumes: their XML and backing store, the path-or-volume choice by URI, and the upload's resume against libvirt's test:///default driver. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <unistd.h>

#include "vm/domxml.h"
#include "vm/guestssh.h"
#include "vm/volumes.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* test:///default keeps its state in the process while a connection is open;
 * it has storage pools and volumes (in memory) but no virStorageVolUpload,
 * so a fake uploader stands in for the stream. */
#define URI "test:///default"
#define POOL "vk-test-pool"

static virConnectPtr conn;
static int uploads;     /* calls of the fake uploader */
static bool cut_next;   /* its next call fails half-way */

static int fake_upload(virStorageVolPtr vol, int fd, uint64_t size, vk_volume_progress_fn progress, void *data,
		       struct vk_error *err)
{
	(void)vol;
	(void)fd;
	uploads++;
	if (progress)
		progress(data, size / 2, size);
	if (cut_next) {
		cut_next = false;
		return vk_error_set(err, VK_ERR_LIBVIRT, "connection lost");
	}
	if (progress)
		progress(data, size, size);
	return 0;
}

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void test_uri_choice(void)
{
	ok(!vk_volumes_wanted("qemu:///system"), "qemu:///system: paths");
	ok(!vk_volumes_wanted("qemu:///session"), "qemu:///session: paths");
	ok(!vk_volumes_wanted("test:///default"), "test:///default: paths");
	ok(vk_volumes_wanted("qemu+tcp://10.0.0.1/system"), "qemu+tcp://host/system: volumes");
	ok(vk_volumes_wanted("qemu+ssh://me@box/system"), "qemu+ssh://user@host/system: volumes");
	ok(vk_volumes_wanted("qemu+tls://box.lan:16514/system"), "qemu+tls with a port: volumes");
}

static void test_ssh_jump(void)
{
	char *j;

	unsetenv("VIRTKUBE_SSH_JUMP");
	is_str(j = vk_remote_ssh_jump("qemu+ssh://me@box:2222/system?keyfile=k"), "me@box:2222",
	       "qemu+ssh: ssh to the nodes jumps through the URI's user, host and port");
	free(j);
	ok(!(j = vk_remote_ssh_jump("qemu+tcp://10.0.0.1/system")), "qemu+tcp: no jump (no ssh implied)");
	ok(!(j = vk_remote_ssh_jump("qemu:///system")), "local: no jump");
	ok(!(j = vk_remote_ssh_jump(NULL)), "no URI: no jump");
	setenv("VIRTKUBE_SSH_JUMP", "admin@gw", 1);
	is_str(j = vk_remote_ssh_jump("qemu+tcp://10.0.0.1/system"), "admin@gw", "$VIRTKUBE_SSH_JUMP names one");
	free(j);
	setenv("VIRTKUBE_SSH_JUMP", "none", 1);
	ok(!(j = vk_remote_ssh_jump("qemu+ssh://me@box/system")), "or turns it off");
	unsetenv("VIRTKUBE_SSH_JUMP");
}

static void test_xml(void)
{
	_cleanup_free_ char *overlay = vk_volume_xml("n<1>-disk.qcow2", "qcow2", 20ull << 30, "/pool/sha256-ab.qcow2", "qcow2");
	_cleanup_free_ char *plain = vk_volume_xml("seed.iso", "raw", 374784, NULL, NULL);
	_cleanup_free_ char *pool = vk_volume_pool_xml("virtkube", "/var/lib/libvirt/images/virtkube");
	_cleanup_free_ char *sha = vk_volume_shared_name("qcow2", "abc");
	_cleanup_free_ char *node = vk_volume_node_name("dev-m02", VK_VOLUME_NODE_DISK);
	struct vk_domain_spec spec = { .name = "d", .disk_path = "/pool/d-disk.qcow2", .network = "n",
				       .mac = "52:54:00:00:00:01", .vcpus = 1, .memory_mib = 512 };
	_cleanup_free_ char *dom = vk_domxml_build(&spec, NULL);

	contains(overlay, "<name>n&lt;1&gt;-disk.qcow2</name>", "the volume name is escaped");
	contains(overlay, "<capacity unit='bytes'>21474836480</capacity>", "overlay capacity in bytes");
	contains(overlay, "<format type='qcow2'/>\n    <permissions>", "the overlay is qcow2");
	contains(overlay, "<backingStore>\n    <path>/pool/sha256-ab.qcow2</path>\n    <format type='qcow2'/>\n  </backingStore>",
		 "the backing store names the base volume's path on the host and its format");
	ok(!strstr(overlay, "<allocation"), "an overlay has no allocation line");
	contains(plain, "<allocation unit='bytes'>0</allocation>", "an upload target starts empty");
	ok(!strstr(plain, "backingStore"), "an upload target has no backing store");
	contains(pool, "<pool type='dir'>", "a dir pool");
	contains(pool, "<path>/var/lib/libvirt/images/virtkube</path>", "at its directory");
	is_str(sha, "sha256-abc.qcow2", "a shared volume is named by its sha256");
	is_str(node, "dev-m02-disk.qcow2", "a node's own volume is named by its domain");
	contains(dom, "<serial type='pty'>\n      <target port='0'/>", "no console log: a pty console with no <log> (remote)");
	ok(!strstr(dom, "<log "), "no client path for the console log");
}

/* libvirt's XML of an active dir pool (virsh pool-dumpxml), permissions as the directory has them. */
#define POOL_XML(mode, owner, group)                                                                       \
	"<pool type='dir'>\n  <name>virtkube</name>\n  <capacity unit='bytes'>1</capacity>\n  <source>\n  "   \
	"</source>\n  <target>\n    <path>/var/lib/libvirt/images/v&amp;k</path>\n    <permissions>\n      " \
	"<mode>" mode "</mode>\n      <owner>" owner "</owner>\n      <group>" group "</group>\n    "         \
	"</permissions>\n  </target>\n</pool>\n"

static void test_pool_target(void)
{
	struct vk_pool_target t;
	_cleanup_free_ char *ours = vk_volume_pool_xml("virtkube", "/var/lib/libvirt/images/virtkube");

	ok(vk_pool_target_parse(POOL_XML("0711", "0", "0"), &t) == 0, "a pool's target is read");
	is_str(t.path, "/var/lib/libvirt/images/v&k", "its path, unescaped");
	ok(t.mode == 0711 && t.owner == 0 && t.group == 0, "its mode (octal), owner and group");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse(POOL_XML("0755", "64055", "-1"), &t) == 0 && t.mode == 0755 && t.owner == 64055 &&
	   t.group == -1, "a group of -1 is 'not said'");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse(POOL_XML("9", "x", "4294967296"), &t) == 0 && t.mode == -1 && t.owner == -1 &&
	   t.group == -1, "a mode that is not octal, a name, a gid beyond 32 bits: not said");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse(ours, &t) == 0 && t.mode == 0711 && t.owner == -1,
	   "the pool virtkube defines: mode 0711, owner left to libvirt");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse("<pool><target><permissions><mode>0700</mode></permissions></target></pool>", &t) < 0 &&
	   !t.path && t.mode == 0700, "no path: refused, what was there is read");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse("<pool><target><path>/x</path>", &t) < 0, "no </target>: refused");
	vk_pool_target_release(&t);
	ok(vk_pool_target_parse(NULL, &t) < 0, "no XML: refused");
}

static enum vk_pool_access_verdict judge(bool exists, bool dac, unsigned uid, unsigned gid, int mode, long long owner,
					 long long group, char **why, char **fix)
{
	struct vk_pool_access a = { .pool = "virtkube", .dac = dac, .qemu_uid = uid, .qemu_gid = gid, .exists = exists,
				    .target = { .path = (char *)"/p/virtkube", .mode = mode, .owner = owner, .group = group } };

	free(*why);
	free(*fix);
	return vk_pool_access_judge(&a, why, fix);
}

static void test_pool_access_judge(void)
{
	char *why = NULL, *fix = NULL;

	is_int(judge(true, true, 64055, 64055, 0711, 0, 0, &why, &fix), VK_POOL_ACCESS_OK, "root's 0711: others pass");
	contains(why, "qemu (uid 64055, gid 64055) can search the directory of storage pool 'virtkube', '/p/virtkube' "
		      "(mode 0711, owner 0:0)", "saying who, what and its mode");
	ok(!fix, "no fix");
	is_int(judge(true, true, 64055, 64055, 0700, 0, 0, &why, &fix), VK_POOL_ACCESS_DENIED, "root's 0700: denied");
	contains(why, "qemu (uid 64055, gid 64055) cannot search the directory of storage pool 'virtkube', '/p/virtkube' "
		      "(mode 0700, owner 0:0)", "naming qemu's uid:gid, the directory, its mode and owner");
	contains(fix, "chmod o+x /p/virtkube", "the fix: others may pass");
	contains(fix, "chgrp 64055 /p/virtkube && chmod g+x /p/virtkube", "or qemu's group");
	is_int(judge(true, true, 64055, 64055, 0700, 64055, 0, &why, &fix), VK_POOL_ACCESS_OK, "qemu's own 0700: owner bits");
	is_int(judge(true, true, 64055, 64055, 0611, 64055, 0, &why, &fix), VK_POOL_ACCESS_DENIED,
	       "qemu's own without u+x: denied, whatever the others' bits");
	contains(fix, "chmod u+x", "the fix: the owner's bit");
	is_int(judge(true, true, 64055, 108, 0750, 0, 108, &why, &fix), VK_POOL_ACCESS_OK, "qemu's group, g+x: group bits");
	is_int(judge(true, true, 64055, 108, 0701, 0, 108, &why, &fix), VK_POOL_ACCESS_DENIED,
	       "qemu's group without g+x: denied, whatever the others' bits");
	contains(fix, "chmod g+x", "the fix: the group's bit");
	is_int(judge(true, true, 64055, 64055, 0750, 0, 108, &why, &fix), VK_POOL_ACCESS_UNKNOWN,
	       "another group with g+x: qemu's supplementary groups are not in the API");
	contains(why, "only if its user is in group 108", "saying so");
	is_int(judge(true, true, 0, 0, 0700, 5, 5, &why, &fix), VK_POOL_ACCESS_OK, "qemu as root: always");
	contains(why, "qemu runs as root", "saying so");
	is_int(judge(true, false, 0, 0, 0700, 0, 0, &why, &fix), VK_POOL_ACCESS_UNKNOWN, "no dac model: cannot be checked");
	contains(why, "no 'dac' security model", "saying why");
	is_int(judge(true, true, 64055, 64055, -1, 0, 0, &why, &fix), VK_POOL_ACCESS_UNKNOWN, "no mode said: unknown");
	is_int(judge(false, true, 64055, 64055, 0711, -1, -1, &why, &fix), VK_POOL_ACCESS_OK,
	       "no pool yet: what start creates (0711) is searched by others");
	contains(why, "'/p/virtkube' (mode 0711), which start creates for storage pool 'virtkube'", "saying so");
	free(why);
	free(fix);
}

static void test_pool_access_driver(void)
{
	struct vk_pool_access a;
	struct vk_error err = { 0 };
	char *why = NULL, *fix = NULL;

	ok(vk_volume_pool_access(conn, "no-such-pool", "/vk/none", &a, &err) == 0, "access facts of a missing pool: %s",
	   err.message);
	ok(!a.exists && a.target.mode == 0711 && a.target.path && strcmp(a.target.path, "/vk/none") == 0,
	   "are those of the pool start would define");
	vk_pool_target_release(&a.target);
	ok(vk_volume_pool_access(conn, POOL, "/unused", &a, &err) == 0 && a.exists, "of an existing pool: %s",
	   err.message);
	is_str(a.target.path, "/vk-test-pool", "its directory, from libvirt's XML");
	/* the test driver has no DAC security model */
	if (!a.dac)
		is_int(vk_pool_access_judge(&a, &why, &fix), VK_POOL_ACCESS_UNKNOWN, "without a DAC model: cannot be checked");
	else
		ok(vk_pool_access_judge(&a, &why, &fix) != VK_POOL_ACCESS_DENIED || fix, "a denial comes with a fix");
	vk_pool_target_release(&a.target);
	free(why);
	free(fix);
}

static void test_pool_and_resume(const char *dir)
{
	_cleanup_free_ char *base = xasprintf("%s/base.qcow2", dir), *seed = xasprintf("%s/seed.iso", dir);
	_cleanup_free_ char *path = NULL, *path2 = NULL, *disk = NULL, *xml = NULL;
	_cleanup_strv_ char **names = NULL;
	struct vk_volume_upload ub = { .pool = POOL, .name = "sha256-b.qcow2", .file = base };
	struct vk_volume_upload us = { .pool = POOL, .name = "dev-seed.iso", .file = seed };
	struct vk_error err = { 0 };
	enum vk_volume_state st;
	bool created, uploaded, found;
	uint64_t mem = 0, avail = 0;
	size_t removed;
	char *in_use = NULL;
	virStoragePoolPtr p;
	virStorageVolPtr v;

	vk_write_file_atomic(base, "QFI\xfb base", 8, 0644, &err);
	vk_write_file_atomic(seed, "CD001 seed", 10, 0644, &err);
	vk_volume_set_uploader(fake_upload);

	ok(vk_volume_pool_ensure(conn, POOL, "/vk-test-pool", &created, &err) == 0 && created, "the pool is made: %s",
	   err.message);
	ok(vk_volume_pool_ensure(conn, POOL, "/vk-test-pool", &created, &err) == 0 && !created, "and found the second time");
	ok(vk_volume_state(conn, POOL, ub.name, &st, &err) == 0 && st == VK_VOLUME_MISSING, "a new volume is missing");

	/* The first upload of the base is cut off: the volume is there, not complete. */
	cut_next = true;
	ok(vk_volume_upload(conn, &ub, &uploaded, &path, &err) < 0, "an upload cut off fails");
	contains(err.message, "connection lost", "saying why");
	contains(err.message, base, "naming the file");
	vk_error_clear(&err);
	ok(vk_volume_state(conn, POOL, ub.name, &st, &err) == 0 && st == VK_VOLUME_PARTIAL,
	   "the volume cut off is partial (no done marker)");

	/* The next start: the partial one is sent again, then the seed. */
	uploads = 0;
	ok(vk_volume_upload(conn, &ub, &uploaded, &path, &err) == 0 && uploaded, "the partial volume is uploaded again: %s",
	   err.message);
	is_int(uploads, 1, "once");
	contains(path, "/vk-test-pool/sha256-b.qcow2", "its path on the host");
	ok(vk_volume_state(conn, POOL, ub.name, &st, &err) == 0 && st == VK_VOLUME_COMPLETE, "and complete");
	ok(vk_volume_upload(conn, &us, &uploaded, NULL, &err) == 0 && uploaded, "the seed is uploaded");

	/* Resumed again (a start interrupted after these): nothing moves. */
	uploads = 0;
	ok(vk_volume_upload(conn, &ub, &uploaded, &path2, &err) == 0 && !uploaded, "a complete volume is not uploaded again");
	ok(vk_volume_upload(conn, &us, &uploaded, NULL, &err) == 0 && !uploaded, "nor the complete seed");
	is_int(uploads, 0, "no bytes moved");
	is_str(path2, path, "the same path");

	ok(vk_volume_overlay(conn, POOL, "dev-disk.qcow2", 1ull << 30, ub.name, "qcow2", &disk, &err) == 0,
	   "an overlay over the base: %s", err.message);
	p = virStoragePoolLookupByName(conn, POOL);
	v = p ? virStorageVolLookupByName(p, "dev-disk.qcow2") : NULL;
	xml = v ? virStorageVolGetXMLDesc(v, 0) : NULL;
	contains(xml, "<backingStore>\n    <path>/vk-test-pool/sha256-b.qcow2</path>", "its backing store is the base volume");
	if (v)
		virStorageVolFree(v);
	ok(vk_volume_overlay(conn, POOL, "dev-disk.qcow2", 1ull << 30, ub.name, "qcow2", NULL, &err) == 0,
	   "an existing overlay is kept");
	ok(vk_volume_overlay(conn, POOL, "x-disk.qcow2", 1ull << 30, "nope.qcow2", "qcow2", NULL, &err) < 0,
	   "an overlay over a missing base fails");
	contains(err.message, "nope.qcow2", "naming it");
	vk_error_clear(&err);

	/* Someone else's volume in the pool. */
	if (p) {
		v = virStorageVolCreateXML(p, "<volume><name>theirs.img</name><capacity>1024</capacity></volume>", 0);
		if (v)
			virStorageVolFree(v);
		virStoragePoolFree(p);
	}
	names = vk_volume_list(conn, POOL, &err);
	ok(names && names[0] && strcmp(names[0], "dev-disk.qcow2") == 0 && names[1] && strcmp(names[1], "dev-seed.iso") == 0 &&
	   names[2] && strcmp(names[2], "dev-seed.iso" VK_VOLUME_DONE_SUFFIX) == 0, "the list is sorted, markers included");
	ok(vk_volumes_remove_nodes(conn, POOL, (const char *const[]){ "dev" }, 1, &removed, &err) == 0, "delete: %s",
	   err.message);
	is_int(removed, 2, "the domain's disk and seed are deleted");
	vk_strv_free(names);
	names = vk_volume_list(conn, POOL, &err);
	ok(names && names[0] && strcmp(names[0], "sha256-b.qcow2") == 0 && names[1] &&
	   strcmp(names[1], "sha256-b.qcow2" VK_VOLUME_DONE_SUFFIX) == 0 && names[2] &&
	   strcmp(names[2], "theirs.img") == 0 && !names[3], "the shared base and the foreign volume stay");
	ok(vk_volumes_remove_nodes(conn, POOL, (const char *const[]){ "dev" }, 1, &removed, &err) == 0 && removed == 0,
	   "deleting again is fine");

	/* cache clean --remote: not while a domain's volume may use the shared ones */
	ok(vk_volume_upload(conn, &(struct vk_volume_upload){ .pool = POOL, .name = "other-seed.iso", .file = seed },
			    &uploaded, NULL, &err) == 0, "another profile's seed");
	ok(vk_volumes_clean_shared(conn, POOL, &removed, &in_use, &err) == 0 && removed == 0, "clean keeps the shared volumes");
	is_str(in_use, "other-seed.iso", "naming the volume of a profile still there");
	free(in_use);
	vk_volume_delete(conn, POOL, "other-seed.iso", NULL, &err);
	ok(vk_volumes_clean_shared(conn, POOL, &removed, &in_use, &err) == 0 && removed == 1 && !in_use,
	   "with none left, clean deletes the shared volume");
	vk_strv_free(names);
	names = vk_volume_list(conn, POOL, &err);
	ok(names && names[0] && strcmp(names[0], "theirs.img") == 0 && !names[1], "its marker too, and nothing else");

	ok(vk_volume_host_free(conn, POOL, &mem, &avail, &found, &err) == 0 && mem > 0 && found && avail > 0,
	   "the host's free memory and the pool's free space: %s", err.message);
	ok(vk_volume_host_free(conn, "no-such-pool", &mem, &avail, &found, &err) == 0 && !found,
	   "a missing pool is said");
	vk_strv_free(vk_volume_list(conn, "no-such-pool", &err));
	vk_volume_set_uploader(NULL);
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();

	test_uri_choice();
	test_xml();
	test_ssh_jump();
	test_pool_target();
	test_pool_access_judge();
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	if (!conn) {
		printf("# SKIP libvirt's test driver cannot be opened\n");
		return done_testing();
	}
	test_pool_and_resume(tmp);
	test_pool_access_driver();
	virConnectClose(conn);
	vk_remove_tree(tmp, NULL);
	return done_testing();
}
