/* The record of uploaded volumes: parsing, writing it back, merging uploads and a host's live list, the hosts column, and a corrupt file. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts/uploads.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BASE "sha256-" HEX ".qcow2"
#define KERNEL "sha256-" HEX ".kernel"
#define TCP "qemu+tcp://10.0.0.5/system"
#define SSH "qemu+ssh://me@bigbox:2222/system?keyfile=/k"

static void test_merge(void)
{
	struct vk_uploads u = { 0 };
	const struct vk_upload *e;
	char *hosts;

	vk_uploads_add(&u, TCP, BASE, "/img/disk.qcow2");
	vk_uploads_add(&u, SSH, BASE, NULL);
	vk_uploads_add(&u, TCP, BASE, NULL);
	vk_uploads_add(&u, TCP, KERNEL, "/img/vmlinuz");
	is_int(u.n, 2, "two volumes");
	is_str(u.v[0].volume, KERNEL, "sorted by name");
	e = vk_uploads_find(&u, BASE);
	ok(e && e->uris[0] && e->uris[1] && !e->uris[2], "the base on two hosts, each once");
	is_str(e ? e->file : NULL, "/img/disk.qcow2", "an upload without a file keeps the one known");
	ok(vk_uploads_find_file(&u, "/img/disk.qcow2") == e, "found by its file");
	ok(!vk_uploads_find_file(&u, "/img/other"), "another file is not");
	is_str(hosts = vk_uploads_hosts(e), "bigbox,10.0.0.5", "the hosts: no user, no port, no path");
	free(hosts);
	is_str(hosts = vk_uploads_hosts(NULL), "-", "none: '-'");
	free(hosts);

	/* the ssh host holds only the kernel now (asked live) */
	vk_uploads_set_host(&u, SSH, (const char *const[]){ KERNEL, NULL });
	e = vk_uploads_find(&u, BASE);
	ok(e && strcmp(e->uris[0], TCP) == 0 && !e->uris[1], "the host left the base's entry");
	e = vk_uploads_find(&u, KERNEL);
	ok(e && e->uris[1] && strcmp(e->file, "/img/vmlinuz") == 0, "and joined the kernel's, its file kept");
	/* the same machine over another transport: one libvirtd, one pool */
	vk_uploads_add(&u, "qemu+tcp://bigbox/system", KERNEL, NULL);
	e = vk_uploads_find(&u, KERNEL);
	ok(e && e->uris[2], "bigbox over tcp noted beside bigbox over ssh");
	is_str(hosts = vk_uploads_hosts(e), "bigbox,10.0.0.5", "but named once");
	free(hosts);
	vk_uploads_set_host(&u, "qemu+tcp://bigbox/system", (const char *const[]){ NULL });
	e = vk_uploads_find(&u, KERNEL);
	ok(e && strcmp(e->uris[0], TCP) == 0 && !e->uris[1],
	   "bigbox asked live over tcp: its ssh URI leaves the entries too");
	vk_uploads_set_host(&u, SSH, (const char *const[]){ KERNEL, NULL });
	/* the tcp host was cleaned */
	vk_uploads_set_host(&u, TCP, (const char *const[]){ NULL });
	ok(!vk_uploads_find(&u, BASE), "a volume no host holds goes");
	is_int(u.n, 1, "the other stays");
	vk_uploads_release(&u);
}

static void test_uri_host(void)
{
	char *h;

	is_str(h = vk_uri_host("qemu+ssh://me@box/system"), "box", "user dropped");
	free(h);
	is_str(h = vk_uri_host("qemu+tls://box.lan:16514/system"), "box.lan:16514", "port kept");
	free(h);
	is_str(h = vk_uri_host("qemu+tcp://[fe80::1]/system"), "[fe80::1]", "an IPv6 address");
	free(h);
	is_str(h = vk_uri_host("qemu:///system"), "qemu:///system", "no host: the URI");
	free(h);
}

static void test_held(void)
{
	const char *const pool[] = { "a-disk.qcow2", BASE, BASE ".done", KERNEL, "sha256-x.iso.done", "theirs.img", NULL };
	_cleanup_strv_ char **held = vk_uploads_held(pool);

	ok(held[0] && strcmp(held[0], BASE) == 0 && !held[1],
	   "held: shared volumes with their marker (not one cut off, not a node's, not someone else's)");
}

static void test_json(void)
{
	struct vk_uploads u = { 0 }, back = { 0 };
	struct vk_error err = { 0 };
	_cleanup_free_ char *text = NULL, *again = NULL;
	const char *odd = "{\"volumes\": {\"" BASE "\": {\"uris\": [\"" TCP "\", 7, \"\"], \"file\": 3},"
			  " \"../x\": {\"uris\": [\"" TCP "\"]}, \"sha256-y.iso\": {\"uris\": []},"
			  " \"sha256-z.iso\": 5}, \"extra\": true}";

	vk_uploads_add(&u, TCP, BASE, "/img/d\"isk.qcow2");
	vk_uploads_add(&u, SSH, KERNEL, NULL);
	text = vk_uploads_format(&u);
	ok(vk_uploads_parse(text, strlen(text), &back, &err) == 0, "what is written parses: %s", err.message);
	again = vk_uploads_format(&back);
	is_str(again, text, "and writes back the same");
	vk_uploads_release(&back);
	vk_uploads_release(&u);

	ok(vk_uploads_parse(odd, strlen(odd), &back, &err) == 0, "a hand-edited record parses");
	is_int(back.n, 1, "keeping only what is as written (sha256-* names, URIs that are strings)");
	ok(back.n == 1 && !back.v[0].file && back.v[0].uris[0] && !back.v[0].uris[1], "a file that is no string is not known");
	vk_uploads_release(&back);
	ok(vk_uploads_parse("{\"volumes\": [", 13, &back, &err) < 0 && back.n == 0, "broken JSON is refused");
	contains(err.message, "not JSON", "saying so");
	ok(vk_uploads_parse("[]", 2, &back, &err) < 0, "JSON that is not a record is refused");
}

static void add_base(struct vk_uploads *u, void *data)
{
	vk_uploads_add(u, data, BASE, "/img/disk.qcow2");
}

static void test_file(const char *home)
{
	_cleanup_free_ char *cache = vk_path_join(home, "cache");
	_cleanup_free_ char *path = vk_path_join(cache, VK_UPLOADS_FILE);
	_cleanup_free_ char *bad = xasprintf("%s.bad", path);
	struct vk_uploads u;
	struct vk_error err = { 0 };
	char *warning = NULL;
	struct stat st;

	vk_uploads_load(home, &u, &warning);
	ok(u.n == 0 && !warning, "no record: empty, no warning");
	ok(vk_uploads_update(home, add_base, (void *)TCP, &warning, &err) == 0 && !warning, "an upload is recorded: %s",
	   err.message);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "in HOME/cache/" VK_UPLOADS_FILE);
	ok(vk_uploads_update(home, add_base, (void *)SSH, &warning, &err) == 0, "a second host");
	vk_uploads_load(home, &u, &warning);
	ok(u.n == 1 && u.v[0].uris[1] && !warning, "read back: one volume on two hosts");
	vk_uploads_release(&u);

	vk_write_file_atomic(path, "{\"volumes\": {", 13, 0644, &err);
	vk_uploads_load(home, &u, &warning);
	ok(u.n == 0 && warning, "a corrupt record reads as empty, with a warning");
	contains(warning, "is corrupt", "saying so");
	free(warning);
	ok(vk_uploads_update(home, add_base, (void *)TCP, &warning, &err) == 0, "the next upload writes a new record");
	ok(warning != NULL, "warning about the old one");
	free(warning);
	ok(stat(bad, &st) == 0, "which is kept aside as " VK_UPLOADS_FILE ".bad");
	vk_uploads_load(home, &u, &warning);
	ok(u.n == 1 && !warning, "the new record holds the upload");
	vk_uploads_release(&u);
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();

	test_merge();
	test_uri_host();
	test_held();
	test_json();
	test_file(tmp);
	vk_remove_tree(tmp, NULL);
	return done_testing();
}
