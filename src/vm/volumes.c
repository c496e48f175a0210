/* Storage volumes on a remote libvirt host: virtkube's pool, volume XML, sparse uploads over virStorageVolUpload, and resume by done markers. */
#include "vm/volumes.h"

#include <libvirt/virterror.h>

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/lvext.h"
#include "vm/machine.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static const struct vk_lvext *lv;

/* Every exported function loads the table first. */
static int vol_load(struct vk_error *err)
{
	lv = vk_lvext_load(err);
	return lv ? 0 : -1;
}

#define vol_error vk_lvext_error

static void pool_freep(virStoragePoolPtr *p)
{
	if (*p)
		lv->virStoragePoolFree(*p);
}

static void vol_freep(virStorageVolPtr *v)
{
	if (*v)
		lv->virStorageVolFree(*v);
}

static void stream_freep(virStreamPtr *s)
{
	if (*s)
		lv->virStreamFree(*s);
}

#define _cleanup_pool_ _cleanup_(pool_freep)
#define _cleanup_vol_ _cleanup_(vol_freep)
#define _cleanup_stream_ _cleanup_(stream_freep)

/* ----------------------------------------------------------------- names -- */

bool vk_volumes_wanted(const char *uri)
{
	return uri && !vk_machine_uri_is_local(uri);
}

char *vk_volume_shared_name(const char *kind, const char *sha256)
{
	return xasprintf("sha256-%s.%s", sha256, kind);
}

char *vk_volume_node_name(const char *domain, const char *what)
{
	return xasprintf("%s-%s", domain, what);
}

static char *done_name(const char *name)
{
	return xasprintf("%s" VK_VOLUME_DONE_SUFFIX, name);
}

/* ------------------------------------------------------------------- XML -- */

char *vk_volume_pool_xml(const char *name, const char *dir)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	vk_strbuf_addstr(&sb, "<pool type='dir'>\n  <name>");
	vk_strbuf_add_xml_escaped(&sb, name);
	vk_strbuf_addstr(&sb, "</name>\n  <target>\n    <path>");
	vk_strbuf_add_xml_escaped(&sb, dir);
	/* qemu (another user on the host) must pass the directory; libvirt chowns the files it opens. */
	vk_strbuf_addstr(&sb, "</path>\n    <permissions><mode>0711</mode></permissions>\n  </target>\n</pool>\n");
	return vk_strbuf_detach(&sb, NULL);
}

char *vk_volume_xml(const char *name, const char *format, uint64_t capacity, const char *backing_path,
		    const char *backing_format)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	vk_strbuf_addstr(&sb, "<volume>\n  <name>");
	vk_strbuf_add_xml_escaped(&sb, name);
	vk_strbuf_addf(&sb, "</name>\n  <capacity unit='bytes'>%llu</capacity>\n", (unsigned long long)capacity);
	/* Uploads start from nothing: no allocation up front. */
	if (!backing_path)
		vk_strbuf_addstr(&sb, "  <allocation unit='bytes'>0</allocation>\n");
	vk_strbuf_addstr(&sb, "  <target>\n    <format type='");
	vk_strbuf_add_xml_escaped(&sb, format);
	vk_strbuf_addstr(&sb, "'/>\n    <permissions><mode>0600</mode></permissions>\n  </target>\n");
	if (backing_path) {
		vk_strbuf_addstr(&sb, "  <backingStore>\n    <path>");
		vk_strbuf_add_xml_escaped(&sb, backing_path);
		vk_strbuf_addstr(&sb, "</path>\n    <format type='");
		vk_strbuf_add_xml_escaped(&sb, backing_format ? backing_format : "qcow2");
		vk_strbuf_addstr(&sb, "'/>\n  </backingStore>\n");
	}
	vk_strbuf_addstr(&sb, "</volume>\n");
	return vk_strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------------ pool -- */

static virStoragePoolPtr pool_open(virConnectPtr conn, const char *pool, struct vk_error *err)
{
	virStoragePoolPtr p = lv->virStoragePoolLookupByName(conn, pool);

	if (!p) {
		vol_error(err, "cannot find storage pool '%s' on the libvirt host", pool);
		vk_error_hint(err, "virtkube creates it at 'start'");
	}
	return p;
}

int vk_volume_pool_ensure(virConnectPtr conn, const char *pool, const char *dir, bool *created, struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_free_ char *xml = NULL;

	*created = false;
	if (vol_load(err) < 0)
		return -1;
	p = lv->virStoragePoolLookupByName(conn, pool);
	if (!p) {
		xml = vk_volume_pool_xml(pool, dir);
		p = lv->virStoragePoolDefineXML(conn, xml, 0);
		if (!p)
			return vol_error(err, "cannot define storage pool '%s' at '%s' on the libvirt host", pool, dir);
		*created = true;
		/* An existing directory is fine: its files become the pool's volumes. */
		if (lv->virStoragePoolBuild(p, 0) < 0)
			vk_debug("building pool '%s' at '%s': %s", pool, dir, lv->virGetLastErrorMessage());
		if (lv->virStoragePoolSetAutostart(p, 1) < 0)
			vk_debug("pool '%s' is not autostarted: %s", pool, lv->virGetLastErrorMessage());
	}
	if (lv->virStoragePoolIsActive(p) != 1 && lv->virStoragePoolCreate(p, 0) < 0)
		return vol_error(err, "cannot start storage pool '%s' on the libvirt host", pool);
	/* Files another client added or removed since the daemon last looked. */
	if (lv->virStoragePoolRefresh(p, 0) < 0)
		return vol_error(err, "cannot refresh storage pool '%s'", pool);
	return 0;
}

/* --------------------------------------------------------------- volumes -- */

/* NAME in P, or NULL (no error) when there is none. */
static virStorageVolPtr vol_find(virStoragePoolPtr p, const char *name)
{
	return lv->virStorageVolLookupByName(p, name);
}

static int vol_path(virStorageVolPtr v, const char *name, char **path, struct vk_error *err)
{
	if (!path)
		return 0;
	*path = lv->virStorageVolGetPath(v);
	if (!*path)
		return vol_error(err, "cannot get the path of volume '%s'", name);
	return 0;
}

int vk_volume_state(virConnectPtr conn, const char *pool, const char *name, enum vk_volume_state *state,
		    struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_vol_ virStorageVolPtr v = NULL, done = NULL;
	_cleanup_free_ char *marker = done_name(name);

	if (vol_load(err) < 0 || !(p = pool_open(conn, pool, err)))
		return -1;
	v = vol_find(p, name);
	done = v ? vol_find(p, marker) : NULL;
	*state = !v ? VK_VOLUME_MISSING : done ? VK_VOLUME_COMPLETE : VK_VOLUME_PARTIAL;
	return 0;
}

int vk_volume_delete(virConnectPtr conn, const char *pool, const char *name, bool *deleted, struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_free_ char *marker = done_name(name);
	/* The marker first: a volume without one is never taken for complete. */
	const char *names[] = { marker, name };

	if (deleted)
		*deleted = false;
	if (vol_load(err) < 0)
		return -1;
	p = lv->virStoragePoolLookupByName(conn, pool);
	if (!p)
		return 0;
	for (size_t i = 0; i < VK_ARRAY_SIZE(names); i++) {
		_cleanup_vol_ virStorageVolPtr v = vol_find(p, names[i]);

		if (!v)
			continue;
		if (lv->virStorageVolDelete(v, 0) < 0)
			return vol_error(err, "cannot delete volume '%s' of pool '%s'", names[i], pool);
		if (deleted && i == 1)
			*deleted = true;
	}
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **vk_volume_list(virConnectPtr conn, const char *pool, struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	virStorageVolPtr *vols = NULL;
	char **names;
	int n;

	if (vol_load(err) < 0)
		return NULL;
	p = lv->virStoragePoolLookupByName(conn, pool);
	if (!p)
		return xcalloc(1, sizeof(char *));
	if (lv->virStoragePoolIsActive(p) == 1)
		lv->virStoragePoolRefresh(p, 0);
	n = lv->virStoragePoolListAllVolumes(p, &vols, 0);
	if (n < 0) {
		vol_error(err, "cannot list the volumes of pool '%s'", pool);
		return NULL;
	}
	names = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		names[i] = xstrdup(lv->virStorageVolGetName(vols[i]));
		lv->virStorageVolFree(vols[i]);
	}
	free(vols);
	qsort(names, (size_t)n, sizeof(char *), compare_names);
	return names;
}

int vk_volume_overlay(virConnectPtr conn, const char *pool, const char *name, uint64_t capacity, const char *backing,
		      const char *backing_format, char **path, struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_vol_ virStorageVolPtr v = NULL, base = NULL;
	_cleanup_free_ char *base_path = NULL, *xml = NULL;

	if (vol_load(err) < 0 || !(p = pool_open(conn, pool, err)))
		return -1;
	v = vol_find(p, name);
	if (v)
		return vol_path(v, name, path, err);
	base = vol_find(p, backing);
	if (!base)
		return vol_error(err, "cannot find base volume '%s' in pool '%s'", backing, pool);
	if (vol_path(base, backing, &base_path, err) < 0)
		return -1;
	xml = vk_volume_xml(name, "qcow2", capacity, base_path, backing_format);
	vk_debug("creating volume:\n%s", xml);
	v = lv->virStorageVolCreateXML(p, xml, 0);
	if (!v)
		return vol_error(err, "cannot create volume '%s' over '%s' in pool '%s'", name, backing, pool);
	return vol_path(v, name, path, err);
}

/* ---------------------------------------------------------------- upload -- */

/* What the stream callbacks share. */
struct upload_src {
	int fd;
	uint64_t size, done;
	uint64_t fail_at;   /* tests: the read fails here (0: never) */
	long long last_report_ms;
	vk_volume_progress_fn progress;
	void *progress_data;
};

static void report(struct upload_src *s, bool force)
{
	long long now = vk_now_ms();

	if (!s->progress || (!force && now - s->last_report_ms < 200))
		return;
	s->last_report_ms = now;
	s->progress(s->progress_data, s->done, s->size);
}

static int src_read(virStreamPtr st, char *data, size_t nbytes, void *opaque)
{
	struct upload_src *s = opaque;
	ssize_t n;

	(void)st;
	if (s->fail_at && s->done >= s->fail_at) {
		errno = ECONNRESET;
		return -1;
	}
	do
		n = read(s->fd, data, nbytes);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		s->done += (uint64_t)n;
		report(s, false);
	}
	return (int)n;
}

/* Whether the file is at data or a hole, and for how long (lseek's
 * SEEK_DATA/SEEK_HOLE, as virsh vol-upload --sparse does). */
static int src_in_data(virStreamPtr st, int *in_data, long long *length, void *opaque)
{
	struct upload_src *s = opaque;
	off_t cur = lseek(s->fd, 0, SEEK_CUR), data, hole;

	(void)st;
	if (cur < 0)
		return -1;
	data = lseek(s->fd, cur, SEEK_DATA);
	if (data < 0 && errno == ENXIO) { /* a hole to the end (or at the end) */
		*in_data = 0;
		*length = (long long)((off_t)s->size - cur);
		return lseek(s->fd, cur, SEEK_SET) < 0 ? -1 : 0;
	}
	if (data < 0)
		return -1;
	if (data > cur) {
		*in_data = 0;
		*length = (long long)(data - cur);
	} else {
		hole = lseek(s->fd, cur, SEEK_HOLE);
		if (hole < 0)
			return -1;
		*in_data = 1;
		*length = (long long)(hole - cur);
	}
	return lseek(s->fd, cur, SEEK_SET) < 0 ? -1 : 0;
}

static int src_skip(virStreamPtr st, long long length, void *opaque)
{
	struct upload_src *s = opaque;

	(void)st;
	if (lseek(s->fd, (off_t)length, SEEK_CUR) < 0)
		return -1;
	s->done += (uint64_t)length;
	report(s, false);
	return 0;
}

/* Whether libvirt said the server cannot do sparse streams. */
static bool unsupported(void)
{
	virErrorPtr e = lv->virGetLastError();

	return e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_INVALID_ARG ||
		     e->code == VIR_ERR_ARGUMENT_UNSUPPORTED);
}

static int stream_upload(virStorageVolPtr vol, int fd, uint64_t size, vk_volume_progress_fn progress,
			 void *progress_data, struct vk_error *err)
{
	virConnectPtr conn = lv->virStorageVolGetConnect(vol);
	const char *name = lv->virStorageVolGetName(vol);
	const char *cut = getenv("VIRTKUBE_TEST_UPLOAD_CUT");
	struct upload_src src = { .fd = fd, .size = size, .progress = progress, .progress_data = progress_data };
	bool sparse = true;
	int rc;

	/* The e2e's connection lost mid-upload: the upload of a volume whose
	 * name holds $VIRTKUBE_TEST_UPLOAD_CUT stops half-way. */
	if (cut && *cut && name && strstr(name, cut))
		src.fail_at = size / 2 ? size / 2 : 1;

	for (;;) {
		_cleanup_stream_ virStreamPtr st = lv->virStreamNew(conn, 0);

		if (!st)
			return vol_error(err, "cannot open a stream to upload volume '%s'", name);
		if (lv->virStorageVolUpload(vol, st, 0, size, sparse ? VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM : 0) < 0) {
			if (sparse && unsupported()) {
				vk_debug("volume '%s': no sparse upload (%s); a plain one", name, lv->virGetLastErrorMessage());
				sparse = false;
				continue;
			}
			return vol_error(err, "cannot upload to volume '%s'", name);
		}
		rc = sparse ? lv->virStreamSparseSendAll(st, src_read, src_in_data, src_skip, &src)
			    : lv->virStreamSendAll(st, src_read, &src);
		if (rc < 0) {
			lv->virStreamAbort(st);
			return vol_error(err, "uploading volume '%s' stopped after %llu of %llu bytes", name,
					 (unsigned long long)src.done, (unsigned long long)size);
		}
		if (lv->virStreamFinish(st) < 0)
			return vol_error(err, "the upload of volume '%s' did not finish", name);
		report(&src, true);
		return 0;
	}
}

static vk_volume_uploader_fn uploader = stream_upload;

void vk_volume_set_uploader(vk_volume_uploader_fn fn)
{
	uploader = fn ? fn : stream_upload;
}

/* The done marker of NAME: an empty raw volume. */
static int mark_done(virStoragePoolPtr p, const char *name, struct vk_error *err)
{
	_cleanup_free_ char *marker = done_name(name);
	_cleanup_free_ char *xml = vk_volume_xml(marker, "raw", 0, NULL, NULL);
	_cleanup_vol_ virStorageVolPtr v = vol_find(p, marker);

	if (!v)
		v = lv->virStorageVolCreateXML(p, xml, 0);
	if (!v)
		return vol_error(err, "cannot mark volume '%s' complete", name);
	return 0;
}

int vk_volume_upload(virConnectPtr conn, const struct vk_volume_upload *u, bool *uploaded, char **path,
		     struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_vol_ virStorageVolPtr v = NULL;
	_cleanup_free_ char *xml = NULL;
	_cleanup_close_ int fd = -1;
	enum vk_volume_state state;
	struct stat st;

	*uploaded = false;
	if (path)
		*path = NULL;
	if (vk_volume_state(conn, u->pool, u->name, &state, err) < 0)
		return -1;
	if (state == VK_VOLUME_PARTIAL) {
		/* Where the cut came is not known: the bytes are sent again. */
		vk_info("volume '%s' was not uploaded completely: uploading it again", u->name);
		if (vk_volume_delete(conn, u->pool, u->name, NULL, err) < 0)
			return -1;
	}
	if (!(p = pool_open(conn, u->pool, err)))
		return -1;
	if (state == VK_VOLUME_COMPLETE) {
		v = vol_find(p, u->name);
		if (!v)
			return vol_error(err, "volume '%s' of pool '%s' went away", u->name, u->pool);
		return vol_path(v, u->name, path, err);
	}
	fd = open(u->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s' to upload it", u->file);
	/* Raw to libvirt: the bytes land as they are (a qcow2 stays a qcow2 file). */
	xml = vk_volume_xml(u->name, "raw", (uint64_t)st.st_size, NULL, NULL);
	v = lv->virStorageVolCreateXML(p, xml, 0);
	if (!v)
		return vol_error(err, "cannot create volume '%s' in pool '%s'", u->name, u->pool);
	if (uploader(v, fd, (uint64_t)st.st_size, u->progress, u->progress_data, err) < 0)
		return vk_error_prefix(err, "'%s'", u->file);
	if (mark_done(p, u->name, err) < 0)
		return -1;
	*uploaded = true;
	return vol_path(v, u->name, path, err);
}

int vk_volume_host_free(virConnectPtr conn, const char *pool, uint64_t *free_memory, uint64_t *pool_available,
			bool *pool_found, struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	virStoragePoolInfo info;

	*pool_available = 0;
	*pool_found = false;
	if (vol_load(err) < 0)
		return -1;
	*free_memory = lv->virNodeGetFreeMemory(conn);
	if (*free_memory == 0)
		return vol_error(err, "cannot read the libvirt host's free memory");
	p = lv->virStoragePoolLookupByName(conn, pool);
	if (!p)
		return 0;
	*pool_found = true;
	if (lv->virStoragePoolIsActive(p) == 1)
		lv->virStoragePoolRefresh(p, 0);
	if (lv->virStoragePoolGetInfo(p, &info) < 0)
		return vol_error(err, "cannot read storage pool '%s'", pool);
	*pool_available = info.available;
	return 0;
}

int vk_volumes_remove_nodes(virConnectPtr conn, const char *pool, const char *const *domains, size_t n,
			    size_t *removed, struct vk_error *err)
{
	static const char *const own[] = { VK_VOLUME_NODE_DISK, VK_VOLUME_NODE_SEED };

	*removed = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < VK_ARRAY_SIZE(own); j++) {
			_cleanup_free_ char *name = vk_volume_node_name(domains[i], own[j]);
			bool deleted;

			if (vk_volume_delete(conn, pool, name, &deleted, err) < 0)
				return -1;
			*removed += deleted;
		}
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int vk_volumes_clean_shared(virConnectPtr conn, const char *pool, size_t *removed, char **in_use,
			    struct vk_error *err)
{
	_cleanup_strv_ char **names = vk_volume_list(conn, pool, err);

	*removed = 0;
	*in_use = NULL;
	if (!names)
		return -1;
	for (char **n = names; *n; n++)
		if (has_suffix(*n, "-" VK_VOLUME_NODE_DISK) || has_suffix(*n, "-" VK_VOLUME_NODE_SEED)) {
			*in_use = xstrdup(*n);
			return 0;
		}
	for (char **n = names; *n; n++) {
		bool deleted;

		if (strncmp(*n, "sha256-", 7) != 0 || has_suffix(*n, VK_VOLUME_DONE_SUFFIX))
			continue;
		if (vk_volume_delete(conn, pool, *n, &deleted, err) < 0)
			return -1;
		*removed += deleted;
	}
	return 0;
}

/* --------------------------------------------------------- pool access -- */

/* The text of element TAG (no attributes) between FROM and END, or NULL. */
static const char *element_text(const char *from, const char *end, const char *tag, size_t *len)
{
	_cleanup_free_ char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag);
	const char *s = strstr(from, open), *e;

	if (!s || s >= end)
		return NULL;
	s += strlen(open);
	e = strstr(s, close);
	if (!e || e > end)
		return NULL;
	*len = (size_t)(e - s);
	return s;
}

/* TEXT (LEN bytes) with libvirt's five XML escapes undone; an unknown
 * entity stays as it is. */
static char *xml_unescape(const char *text, size_t len)
{
	static const struct {
		const char *entity;
		char c;
	} entities[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&apos;", '\'' }, { "&quot;", '"' } };
	struct vk_strbuf sb = VK_STRBUF_INIT;

	for (size_t i = 0; i < len;) {
		size_t k = 0;

		while (text[i] == '&' && k < VK_ARRAY_SIZE(entities) &&
		       (strlen(entities[k].entity) > len - i ||
			strncmp(text + i, entities[k].entity, strlen(entities[k].entity)) != 0))
			k++;
		if (text[i] == '&' && k < VK_ARRAY_SIZE(entities)) {
			vk_strbuf_add(&sb, &entities[k].c, 1);
			i += strlen(entities[k].entity);
		} else {
			vk_strbuf_add(&sb, text + i++, 1);
		}
	}
	return vk_strbuf_detach(&sb, NULL);
}

/* The number in element TAG between FROM and END (BASE 8 or 10), with
 * surrounding blanks; -1 when missing, malformed or outside [-1, MAX]. */
static long long element_number(const char *from, const char *end, const char *tag, int base, long long max)
{
	size_t len = 0;
	const char *s = element_text(from, end, tag, &len);
	_cleanup_free_ char *text = s ? xstrndup(s, len) : NULL;
	char *stop;
	long long v;

	if (!text)
		return -1;
	errno = 0;
	v = strtoll(text, &stop, base);
	while (*stop == ' ' || *stop == '\n' || *stop == '\t')
		stop++;
	if (errno || stop == text || *stop || v < -1 || v > max)
		return -1;
	return v;
}

int vk_pool_target_parse(const char *xml, struct vk_pool_target *t)
{
	const char *target = xml ? strstr(xml, "<target>") : NULL;
	const char *end = target ? strstr(target, "</target>") : NULL;
	const char *perms, *perms_end, *path;
	size_t len = 0;

	*t = (struct vk_pool_target){ .mode = -1, .owner = -1, .group = -1 };
	if (!end)
		return -1;
	path = element_text(target, end, "path", &len);
	if (path)
		t->path = xml_unescape(path, len);
	perms = strstr(target, "<permissions>");
	perms_end = perms && perms < end ? strstr(perms, "</permissions>") : NULL;
	if (perms_end && perms_end < end) {
		t->mode = (int)element_number(perms, perms_end, "mode", 8, 07777);
		/* uid_t and gid_t are 32 bits; libvirt writes -1 for "not set" */
		t->owner = element_number(perms, perms_end, "owner", 10, UINT32_MAX - 1);
		t->group = element_number(perms, perms_end, "group", 10, UINT32_MAX - 1);
	}
	return t->path && *t->path ? 0 : -1;
}

void vk_pool_target_release(struct vk_pool_target *t)
{
	if (!t)
		return;
	free(t->path);
	t->path = NULL;
}

/* "0:0", with '?' for what is not known. */
static char *owner_text(long long uid, long long gid)
{
	char u[24] = "?", g[24] = "?";

	if (uid >= 0)
		snprintf(u, sizeof(u), "%lld", uid);
	if (gid >= 0)
		snprintf(g, sizeof(g), "%lld", gid);
	return xasprintf("%s:%s", u, g);
}

enum vk_pool_access_verdict vk_pool_access_judge(const struct vk_pool_access *a, char **why, char **fix)
{
	const struct vk_pool_target *t = &a->target;
	const char *dir = t->path ? t->path : "(no path)";
	_cleanup_free_ char *owner = owner_text(t->owner, t->group);
	_cleanup_free_ char *what = NULL;
	unsigned bit;

	*why = NULL;
	*fix = NULL;
	if (!a->dac) {
		*why = xasprintf("libvirt there names no user for qemu (no 'dac' security model in its capabilities): "
				 "whether qemu can search '%s' cannot be checked", dir);
		return VK_POOL_ACCESS_UNKNOWN;
	}
	what = a->exists ? xasprintf("the directory of storage pool '%s', '%s' (mode %04o, owner %s)", a->pool, dir,
				     (unsigned)(t->mode < 0 ? 0 : t->mode), owner)
			 : xasprintf("'%s' (mode %04o), which start creates for storage pool '%s'", dir,
				     (unsigned)(t->mode < 0 ? 0 : t->mode), a->pool);
	if (a->qemu_uid == 0) {
		*why = xasprintf("qemu runs as root there: it can search %s", what);
		return VK_POOL_ACCESS_OK;
	}
	if (t->mode < 0 || !t->path) {
		*why = xasprintf("libvirt does not say the %s of storage pool '%s': whether qemu (uid %u, gid %u) can "
				 "search it cannot be checked", t->path ? "mode of the directory" : "directory", a->pool,
				 a->qemu_uid, a->qemu_gid);
		return VK_POOL_ACCESS_UNKNOWN;
	}
	bit = t->owner == (long long)a->qemu_uid ? 0100 : t->group == (long long)a->qemu_gid ? 0010 : 0001;
	if ((unsigned)t->mode & bit) {
		*why = xasprintf("qemu (uid %u, gid %u) can search %s", a->qemu_uid, a->qemu_gid, what);
		return VK_POOL_ACCESS_OK;
	}
	if (bit == 0001 && ((unsigned)t->mode & 0010)) {
		*why = xasprintf("qemu (uid %u, gid %u) can search %s only if its user is in group %lld (its "
				 "supplementary groups cannot be seen over the API)",
				 a->qemu_uid, a->qemu_gid, what, t->group);
		return VK_POOL_ACCESS_UNKNOWN;
	}
	*why = xasprintf("qemu (uid %u, gid %u) cannot search %s: it could not open the volumes in it", a->qemu_uid,
			 a->qemu_gid, what);
	if (bit == 0100)
		*fix = xasprintf("on the libvirt host, run 'chmod u+x %s'", dir);
	else if (bit == 0010)
		*fix = xasprintf("on the libvirt host, run 'chmod g+x %s'", dir);
	else
		*fix = xasprintf("on the libvirt host, run 'chmod o+x %s', or give it qemu's group: 'chgrp %u %s && "
				 "chmod g+x %s'", dir, a->qemu_gid, dir, dir);
	return VK_POOL_ACCESS_DENIED;
}

int vk_volume_pool_access(virConnectPtr conn, const char *pool, const char *dir, struct vk_pool_access *a,
			  struct vk_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_free_ char *caps = NULL, *xml = NULL;

	*a = (struct vk_pool_access){ .pool = pool, .target = { .mode = -1, .owner = -1, .group = -1 } };
	if (vol_load(err) < 0)
		return -1;
	caps = lv->virConnectGetCapabilities(conn);
	if (!caps)
		return vol_error(err, "cannot read the libvirt host's capabilities");
	a->dac = vk_kvm_parse_dac_label(caps, &a->qemu_uid, &a->qemu_gid) == 0;
	p = lv->virStoragePoolLookupByName(conn, pool);
	if (p) {
		a->exists = true;
		/* The directory's mode and owner as they are now, not as defined. */
		if (lv->virStoragePoolIsActive(p) == 1)
			lv->virStoragePoolRefresh(p, 0);
		xml = lv->virStoragePoolGetXMLDesc(p, 0);
		if (!xml)
			return vol_error(err, "cannot read storage pool '%s'", pool);
	} else {
		xml = vk_volume_pool_xml(pool, dir);
	}
	vk_pool_target_parse(xml, &a->target);
	return 0;
}
