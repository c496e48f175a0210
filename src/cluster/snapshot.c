/* Snapshots of a whole profile: pause every node, save each (memory + disk), resume; revert all, resume together, set the clocks. */
/*
 * Internal qcow2 snapshots, not external overlays, because:
 * - libvirt reverts internal snapshots (with memory, running or not) in
 *   every version we support; reverting to an external snapshot arrived only
 *   in libvirt 9.7, and Debian 12 has 9.0;
 * - the snapshot lives inside the node's own overlay (disk.qcow2): there is
 *   no chain of files to keep in order, `delete` and `node delete` remove a
 *   node's snapshots with its disk, and the domain's XML never changes (an
 *   external snapshot repoints every disk at a new overlay);
 * - measured on TCG (a 1 GiB guest): save 3 s, revert 4 s.
 * The cost: qemu's savevm stops the guest while it writes the memory (we
 * pause every node for the whole save anyway, so they agree on the instant),
 * and the memory state stays inside the overlay until the snapshot is
 * deleted (`snapshot list` gives the size).
 *
 * The clock after a revert (and after a save: the nodes were paused): the
 * guest agent (libvirt's virDomainSetTime, then virDomainGetTime to check),
 * because it needs neither the guest's network nor its sshd, and costs a
 * few milliseconds where an ssh login costs a second or more on TCG (time
 * the clock would be wrong by). Both virtkube images run qemu-guest-agent and
 * every domain has its channel. When the agent does not answer within a few
 * seconds, `date -s` over ssh.
 *
 * Order, so a kill at any point leaves something a repeated command (or
 * `start`, which resumes a paused node) brings back: the record
 * (snapshots/NAME.json) is written last on save and removed last on delete;
 * a name that libvirt has but no record names is a save that did not finish,
 * and is replaced.
 */
#include "cluster/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "kube/k8sready.h"
#include "kube/kubeapi.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm/guestssh.h"
#include "vm/machine.h"

/* How long the guest agent may take to answer after a revert, before ssh. */
#define AGENT_WAIT_MS 15000
/* The last restore: DIR/snapshots/.restored.json (no snapshot name starts with '.'). */
#define RESTORED_FILE ".restored.json"

/* ------------------------------------------------------------------ pure -- */

int vk_snapshot_name_check(const char *name, struct vk_error *err)
{
	size_t len = name ? strlen(name) : 0;
	bool ok = len >= 1 && len <= 64;

	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		ok = alnum || (i > 0 && (c == '.' || c == '_' || c == '-'));
	}
	if (ok)
		return 0;
	vk_error_set(err, VK_ERR_INVALID, "invalid snapshot name '%s'", name ? name : "");
	return vk_error_hint(err, "a snapshot name is %s", VK_SNAPSHOT_NAME_RULE);
}

/* The value of attribute ATTR in the element starting at EL (up to its '>'), into BUF[LEN]. */
static bool attr(const char *el, const char *attr_name, char *buf, size_t len)
{
	const char *end = strchr(el, '>');
	size_t alen = strlen(attr_name);

	for (const char *a = el; end && (a = strstr(a, attr_name)) && a < end; a += alen) {
		char q;
		const char *v, *close;

		if (a[-1] != ' ' || a[alen] != '=' || (a[alen + 1] != '\'' && a[alen + 1] != '"'))
			continue;
		q = a[alen + 1];
		v = a + alen + 2;
		close = strchr(v, q);
		/* Inside the element, and a plain value: libvirt's names hold no markup or quotes. */
		if (!close || close > end || (size_t)(close - v) >= len || strcspn(v, "<>'\"&") < (size_t)(close - v))
			return false;
		memcpy(buf, v, (size_t)(close - v));
		buf[close - v] = '\0';
		return true;
	}
	return false;
}

/* Calls FN for each <disk> element of XML with its device kind and target. */
static void each_disk(const char *xml, void (*fn)(void *data, const char *device, const char *target), void *data)
{
	for (const char *d = xml; (d = strstr(d, "<disk ")); d++) {
		const char *end = strstr(d, "</disk>"), *t = strstr(d, "<target ");
		char device[16] = "disk", target[16];

		if (!end || !t || t > end)
			continue;
		attr(d, "device", device, sizeof(device));
		if (attr(t, "dev", target, sizeof(target)))
			fn(data, device, target);
	}
}

static void add_disk(void *data, const char *device, const char *target)
{
	struct vk_strbuf *sb = data;

	vk_strbuf_addstr(sb, "    <disk name='");
	vk_strbuf_add_xml_escaped(sb, target);
	vk_strbuf_addf(sb, "' snapshot='%s'/>\n", strcmp(device, "disk") == 0 ? "internal" : "no");
}

char *vk_snapshot_xml(const char *name, const char *description, const char *domain_xml, bool memory)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	vk_strbuf_addstr(&sb, "<domainsnapshot>\n  <name>");
	vk_strbuf_add_xml_escaped(&sb, name);
	vk_strbuf_addstr(&sb, "</name>\n");
	if (description) {
		vk_strbuf_addstr(&sb, "  <description>");
		vk_strbuf_add_xml_escaped(&sb, description);
		vk_strbuf_addstr(&sb, "</description>\n");
	}
	/* A running domain's internal snapshot holds its memory (qemu's savevm). */
	vk_strbuf_addf(&sb, "  <memory snapshot='%s'/>\n", memory ? "internal" : "no");
	vk_strbuf_addstr(&sb, "  <disks>\n");
	each_disk(domain_xml, add_disk, &sb);
	vk_strbuf_addstr(&sb, "  </disks>\n</domainsnapshot>\n");
	return vk_strbuf_detach(&sb, NULL);
}

static void first_disk(void *data, const char *device, const char *target)
{
	char *buf = data;

	if (!buf[0] && strcmp(device, "disk") == 0)
		snprintf(buf, 16, "%s", target);
}

bool vk_snapshot_first_disk(const char *domain_xml, char buf[16])
{
	buf[0] = '\0';
	each_disk(domain_xml, first_disk, buf);
	return buf[0] != '\0';
}

bool vk_snapshot_shares_memory(const char *domain_xml)
{
	const char *mb = strstr(domain_xml, "<memoryBacking>");
	const char *mb_end = mb ? strstr(mb, "</memoryBacking>") : NULL;

	for (const char *f = domain_xml; (f = strstr(f, "<filesystem ")); f++) {
		const char *end = strstr(f, "</filesystem>"), *drv = strstr(f, "<driver ");
		char type[32];

		if (end && drv && drv < end && attr(drv, "type", type, sizeof(type)) && strcmp(type, "virtiofs") == 0)
			return true;
	}
	if (!mb || !mb_end)
		return false;
	for (const char *e = mb; e < mb_end; e++) {
		char v[32];

		if ((strncmp(e, "<source ", 8) == 0 && attr(e, "type", v, sizeof(v)) && strcmp(v, "memfd") == 0) ||
		    (strncmp(e, "<access ", 8) == 0 && attr(e, "mode", v, sizeof(v)) && strcmp(v, "shared") == 0))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- record -- */

void vk_snapshot_info_release(struct vk_snapshot_info *s)
{
	for (size_t i = 0; i < s->nnodes; i++) {
		free(s->nodes[i].name);
		free(s->nodes[i].uuid);
	}
	free(s->nodes);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void vk_snapshot_time(long long t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 32, "%lld", t);
}

json_t *vk_snapshot_info_json(const struct vk_snapshot_info *s)
{
	json_t *nodes = json_array();

	for (size_t i = 0; i < s->nnodes; i++)
		json_array_append_new(nodes, json_pack("{s:s, s:s, s:b}", "name", s->nodes[i].name, "uuid",
						       s->nodes[i].uuid ? s->nodes[i].uuid : "", "running",
						       s->nodes[i].running));
	return json_pack("{s:i, s:s, s:I, s:s, s:o, s:I}", "schema", 1, "name", s->name, "created",
			 (json_int_t)s->created, "state", s->running ? "running" : "stopped", "nodes", nodes, "size",
			 (json_int_t)s->size);
}

int vk_snapshot_info_parse(json_t *j, const char *what, struct vk_snapshot_info *s, struct vk_error *err)
{
	json_t *nodes = NULL, *n;
	const char *name = NULL, *state = NULL;
	json_int_t created = 0, size = 0;
	json_error_t jerr;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (json_unpack_ex(j, &jerr, 0, "{s:s, s:I, s:s, s:o, s?:I}", "name", &name, "created", &created, "state",
			   &state, "nodes", &nodes, "size", &size) < 0 ||
	    !json_is_array(nodes) || vk_snapshot_name_check(name, NULL) < 0)
		return vk_error_set(err, VK_ERR_PARSE, "%s is not a virtkube snapshot record: %s", what,
				    jerr.text[0] ? jerr.text : "bad name or nodes");
	s->name = xstrdup(name);
	s->created = created;
	s->running = strcmp(state, "running") == 0;
	s->size = size > 0 ? (unsigned long long)size : 0;
	s->nodes = xcalloc(json_array_size(nodes) + 1, sizeof(*s->nodes));
	json_array_foreach(nodes, i, n) {
		const char *nn = NULL, *uuid = NULL;
		int running = 0;

		if (json_unpack(n, "{s:s, s?:s, s?:b}", "name", &nn, "uuid", &uuid, "running", &running) < 0) {
			vk_snapshot_info_release(s);
			return vk_error_set(err, VK_ERR_PARSE, "%s: node %zu has no name", what, i + 1);
		}
		s->nodes[s->nnodes++] = (struct vk_snapshot_node){ .name = xstrdup(nn),
								   .uuid = uuid && *uuid ? xstrdup(uuid) : NULL,
								   .running = running };
	}
	return 0;
}

json_t *vk_snapshot_list_json(const struct vk_snapshot_info *s, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *nodes = json_array();
		char when[32];

		for (size_t k = 0; k < s[i].nnodes; k++)
			json_array_append_new(nodes, json_string(s[i].nodes[k].name));
		vk_snapshot_time(s[i].created, when);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:I}", "name", s[i].name, "time", when, "state",
						     s[i].running ? "running" : "stopped", "nodes", nodes, "size",
						     (json_int_t)s[i].size));
	}
	return arr;
}

static char *record_path(const struct vk_profile *p, const char *name)
{
	_cleanup_free_ char *dir = vk_profile_path(p, VK_SNAPSHOT_DIR);

	return xasprintf("%s/%s.json", dir, name);
}

/* Reads snapshot NAME's record; VK_ERR_NOT_FOUND when there is none. */
static int record_read(const struct vk_profile *p, const char *name, struct vk_snapshot_info *s, struct vk_error *err)
{
	_cleanup_free_ char *path = record_path(p, name);
	json_auto_t *j = NULL;
	json_error_t jerr;

	memset(s, 0, sizeof(*s));
	if (!vk_path_exists(path)) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' has no snapshot '%s'", p->name, name);
		return vk_error_hint(err, "'virtkube -p %s snapshot list' shows its snapshots", p->name);
	}
	j = json_load_file(path, 0, &jerr);
	if (!j)
		return vk_error_set(err, VK_ERR_PARSE, "cannot read '%s': %s", path, jerr.text);
	return vk_snapshot_info_parse(j, path, s, err);
}

static int record_write(const struct vk_profile *p, const struct vk_snapshot_info *s, struct vk_error *err)
{
	_cleanup_free_ char *dir = vk_profile_path(p, VK_SNAPSHOT_DIR);
	_cleanup_free_ char *path = record_path(p, s->name);
	_cleanup_free_ char *text = NULL;
	json_auto_t *j = vk_snapshot_info_json(s);

	if (vk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	text = json_dumps(j, JSON_INDENT(2));
	return vk_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int cmp_created(const void *a, const void *b)
{
	const struct vk_snapshot_info *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

int vk_snapshot_list(const struct vk_profile *p, struct vk_snapshot_info **out, size_t *n, struct vk_error *err)
{
	_cleanup_free_ char *dir = vk_profile_path(p, VK_SNAPSHOT_DIR);
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 8;

	*n = 0;
	*out = xcalloc(cap, sizeof(**out));
	if (!d)
		return errno == ENOENT ? 0 : vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		_cleanup_free_ char *name = NULL;
		struct vk_error one = { 0 };

		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		name = xstrndup(e->d_name, len - 5);
		if (*n == cap)
			*out = xrealloc(*out, (cap *= 2) * sizeof(**out));
		if (record_read(p, name, &(*out)[*n], &one) < 0) {
			vk_info("skipped snapshot record '%s': %s", e->d_name, one.message);
			continue;
		}
		(*n)++;
	}
	closedir(d);
	qsort(*out, *n, sizeof(**out), cmp_created);
	return 0;
}

void vk_snapshot_result_release(struct vk_snapshot_result *r)
{
	free(r->clock_failed);
	memset(r, 0, sizeof(*r));
}

void vk_snapshot_last_restored(const struct vk_profile *p, char **name, long long *at)
{
	_cleanup_free_ char *dir = vk_profile_path(p, VK_SNAPSHOT_DIR);
	_cleanup_free_ char *path = vk_path_join(dir, RESTORED_FILE);
	json_auto_t *j = json_load_file(path, 0, NULL);
	const char *n = NULL;
	json_int_t t = 0;

	*name = NULL;
	*at = 0;
	if (j && json_unpack(j, "{s:s, s:I}", "name", &n, "at", &t) == 0) {
		*name = xstrdup(n);
		*at = t;
	}
}

/* ------------------------------------------------------------------ flow -- */

static const char *saved_uri(const struct vk_profile *p)
{
	return p->cfg.libvirt_uri ? p->cfg.libvirt_uri : vk_machine_uri(NULL);
}

/* P's nodes; a profile without any is an error. */
static int need_nodes(const struct vk_profile *p, struct vk_error *err)
{
	if (p->cfg.nnodes)
		return 0;
	vk_error_set(err, VK_ERR_FAILED, "profile '%s' has no nodes yet", p->name);
	return vk_error_hint(err, "'virtkube -p %s start' makes them", p->name);
}

/* Removes snapshot NAME from every domain of NODES (best effort: the first error is kept in ERR). */
static int remove_everywhere(virConnectPtr conn, const char *const *nodes, size_t n, const char *name,
			     struct vk_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct vk_error one = { 0 };

		if (vk_domain_snapshot_remove(conn, nodes[i], name, &one) < 0 && rc == 0) {
			rc = -1;
			if (err)
				*err = one;
		}
	}
	return rc;
}

/* Sets node N's clock to the host's: the guest agent, else ssh. Records the
 * method and the offset read back in RES; a failure goes into
 * RES->clock_failed only (the node runs; its clock is late). */
static void set_clock(virConnectPtr conn, const struct vk_profile *p, const struct vk_node *n,
		      struct vk_snapshot_result *res)
{
	struct vk_error err = { 0 };
	long long deadline = vk_now_ms() + AGENT_WAIT_MS, offset = 0;
	const struct timespec pause = { 0, 250 * 1000000L };
	_cleanup_free_ char *out = NULL, *cmd = NULL;
	struct timespec now;
	int status = -1;

	/* After a revert libvirt reconnects to the agent: give it a moment. */
	for (;;) {
		if (vk_domain_set_time(conn, n->name, &offset, &err) == 0) {
			res->clock_method = "guest agent";
			goto done;
		}
		if (vk_now_ms() >= deadline)
			break;
		nanosleep(&pause, NULL);
	}
	vk_info("the guest agent of '%s' did not set its clock (%s): trying ssh", n->name, err.message);
	clock_gettime(CLOCK_REALTIME, &now);
	/* The time is the host's when ssh is started; the login's own delay is what is left. */
	cmd = xasprintf("sudo date -u -s @%lld.%09ld >/dev/null && date +%%s.%%N", (long long)now.tv_sec, now.tv_nsec);
	if (vk_guest_run_at(p, n->ip, cmd, 60000, &out, &status, &err) < 0 || status != 0) {
		free(res->clock_failed);
		res->clock_failed = xasprintf("%s: %s", n->name, err.code ? err.message : "date -s failed in the guest");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	offset = (long long)(strtod(out, NULL) * 1000.0) - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	res->clock_method = "ssh";
done:
	vk_info("clock of '%s' set through the %s: %+lld ms from the host's", n->name, res->clock_method, offset);
	if (llabs(offset) > llabs(res->clock_offset_ms))
		res->clock_offset_ms = offset;
}

/* Disk bytes of node NAME on the host (0 when unknown: libvirt's test driver). */
static unsigned long long disk_bytes(virConnectPtr conn, const char *name)
{
	_cleanup_free_ char *xml = vk_domain_xml(conn, name, false, NULL);
	unsigned long long bytes = 0;
	char target[16];

	if (xml && vk_snapshot_first_disk(xml, target))
		vk_domain_disk_allocation(conn, name, target, &bytes, NULL);
	return bytes;
}

int vk_snapshot_save(struct vk_profile *p, const char *name, const struct vk_snapshot_opts *o,
		     struct vk_snapshot_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *description = NULL;
	struct vk_snapshot_info info = { 0 }, old = { 0 };
	const char *names[VK_NODES_MAX];
	bool paused[VK_NODES_MAX] = { false };
	unsigned long long before = 0, after = 0;
	size_t n = p->cfg.nnodes, made = 0;
	long long paused_at = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (vk_snapshot_name_check(name, err) < 0 || need_nodes(p, err) < 0)
		return -1;
	conn = vk_machine_connect(saved_uri(p), err);
	if (!conn)
		return -1;
	for (size_t i = 0; i < n; i++)
		names[i] = p->cfg.nodes[i].name;
	/* A name in use: refused unless --force. Libvirt snapshots of that name
	 * with no record are a save that was killed: replaced. */
	if (record_read(p, name, &old, err) == 0) {
		vk_snapshot_info_release(&old);
		if (!o->force) {
			vk_error_set(err, VK_ERR_EXISTS, "profile '%s' already has a snapshot '%s'", p->name, name);
			return vk_error_hint(err, "--force replaces it; 'virtkube -p %s snapshot list' shows them", p->name);
		}
		if (vk_snapshot_delete(p, name, err) < 0)
			return -1;
	} else if (err->code != VK_ERR_NOT_FOUND) {
		return -1;
	}
	vk_error_clear(err);
	if (remove_everywhere(conn, names, n, name, err) < 0)
		return vk_error_prefix(err, "cannot remove what an earlier save of snapshot '%s' left", name);

	if (o->stopped && vk_profile_running(p)) {
		struct vk_stop_result stop;

		vk_info("stopping profile '%s' for a disk-only snapshot", p->name);
		if (vk_cluster_stop(p, o->stop_timeout_s > 0 ? o->stop_timeout_s : VK_DEFAULT_STOP_TIMEOUT_S, &stop, err) <
		    0)
			return -1;
		res->stopped_first = stop.was_running;
	}

	info.name = xstrdup(name);
	info.nodes = xcalloc(n, sizeof(*info.nodes));
	info.nnodes = n;
	for (size_t i = 0; i < n; i++) {
		enum vk_host_state state;
		char uuid[VK_UUID_STRING_LEN];

		if (vk_domain_state(conn, names[i], p->name, &state, err) < 0 ||
		    vk_domain_uuid(conn, names[i], uuid, err) < 0)
			goto out;
		if (state == VK_HOST_NONEXISTENT) {
			vk_error_set(err, VK_ERR_FAILED, "node '%s' of profile '%s' has no VM", names[i], p->name);
			vk_error_hint(err, "'virtkube -p %s start' makes it", p->name);
			goto out;
		}
		info.nodes[i].name = xstrdup(names[i]);
		info.nodes[i].uuid = xstrdup(uuid);
		info.nodes[i].running = state != VK_HOST_STOPPED;
		info.running |= info.nodes[i].running;
		if (info.nodes[i].running) {
			_cleanup_free_ char *xml = vk_domain_xml(conn, names[i], false, err);

			if (!xml)
				goto out;
			if (vk_snapshot_shares_memory(xml)) {
				vk_error_set(err, VK_ERR_UNSUPPORTED,
					     "cannot save the memory of node '%s': it shares memory with the host (virtiofs "
					     "mounts), and qemu cannot save such a guest's state", names[i]);
				vk_error_hint(err, "'virtkube -p %s snapshot save --stopped %s' stops the profile and saves its "
						   "disks only", p->name, name);
				goto out;
			}
		}
		before += disk_bytes(conn, names[i]);
	}
	description = xasprintf("virtkube profile %s, %zu node%s", p->name, n, n == 1 ? "" : "s");

	/* Every running node paused first: the snapshots then agree on one instant. */
	paused_at = vk_now_ms();
	for (size_t i = 0; i < n; i++) {
		if (!info.nodes[i].running)
			continue;
		if (vk_domain_suspend(conn, names[i], err) < 0)
			goto out;
		paused[i] = true;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dxml = vk_domain_xml(conn, names[i], false, err);
		_cleanup_free_ char *sxml = NULL;

		if (!dxml)
			goto out;
		sxml = vk_snapshot_xml(name, description, dxml, info.nodes[i].running);
		vk_info("saving node '%s'%s", names[i], info.nodes[i].running ? " with its memory" : " (disk only)");
		made = i + 1; /* a failed save may leave part of it */
		if (vk_domain_snapshot_create(conn, names[i], sxml, err) < 0) {
			vk_error_hint(err, "nothing was kept; if the disk under '%s' is full, free some space and save again",
				      p->dir);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		after += disk_bytes(conn, names[i]);
	info.size = after > before ? after - before : 0;
	info.created = (long long)time(NULL);
	rc = 0;
out:
	if (rc < 0 && made) {
		struct vk_error ignored = { 0 };

		if (remove_everywhere(conn, names, made, name, &ignored) < 0)
			vk_info("could not remove the partial snapshot '%s': %s", name, ignored.message);
	}
	for (size_t i = 0; i < n; i++) {
		struct vk_error one = { 0 };

		if (paused[i] && vk_domain_resume(conn, names[i], &one) < 0 && rc == 0) {
			*err = one;
			rc = -1;
		}
	}
	if (paused_at)
		res->paused_ms = vk_now_ms() - paused_at;
	if (rc == 0 && record_write(p, &info, err) < 0) {
		struct vk_error ignored = { 0 };

		remove_everywhere(conn, names, n, name, &ignored);
		rc = -1;
	}
	if (rc == 0) {
		res->nnodes = n;
		res->memory = info.running;
		res->size = info.size;
		/* The pause stopped the guests' clocks too. */
		for (size_t i = 0; o->wait_s >= 0 && i < n; i++)
			if (paused[i])
				set_clock(conn, p, &p->cfg.nodes[i], res);
	}
	vk_snapshot_info_release(&info);
	return rc;
}

/* Refuses INFO when P's nodes are not the ones it saved (a node added or
 * deleted since, or deleted and added again), or one lacks the snapshot. */
static int check_restorable(virConnectPtr conn, const struct vk_profile *p, const struct vk_snapshot_info *info,
			    struct vk_error *err)
{
	const char *why = NULL, *node = NULL;

	for (size_t i = 0; !why && i < p->cfg.nnodes; i++) {
		bool found = false;

		for (size_t k = 0; k < info->nnodes; k++)
			found |= strcmp(info->nodes[k].name, p->cfg.nodes[i].name) == 0;
		if (!found) {
			why = "was added after it was taken";
			node = p->cfg.nodes[i].name;
		}
	}
	for (size_t k = 0; !why && k < info->nnodes; k++) {
		bool found = false, has = false;
		char uuid[VK_UUID_STRING_LEN];

		for (size_t i = 0; i < p->cfg.nnodes; i++)
			found |= strcmp(info->nodes[k].name, p->cfg.nodes[i].name) == 0;
		node = info->nodes[k].name;
		if (!found) {
			why = "was deleted after it was taken";
		} else {
			if (vk_domain_uuid(conn, node, uuid, err) < 0 ||
			    vk_domain_snapshot_exists(conn, node, info->name, &has, err) < 0)
				return -1;
			if ((info->nodes[k].uuid && strcmp(uuid, info->nodes[k].uuid) != 0))
				why = "was deleted and added again after it was taken";
			else if (!has)
				why = "no longer has it in its disk";
		}
	}
	if (!why)
		return 0;
	vk_error_set(err, VK_ERR_FAILED, "snapshot '%s' of profile '%s' cannot be restored: node '%s' %s", info->name,
		     p->name, node, why);
	return vk_error_hint(err, "a snapshot holds the nodes that were there when it was saved; 'virtkube -p %s snapshot "
				  "delete %s' removes it, and nothing was changed", p->name, info->name);
}

/* P's node NAME (check_restorable made sure it is there). */
static const struct vk_node *node_named(const struct vk_profile *p, const char *name)
{
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		if (strcmp(p->cfg.nodes[i].name, name) == 0)
			return &p->cfg.nodes[i];
	abort();
}

/* With Kubernetes: the API server answers and every node is Ready, as `start` waits. */
static int wait_kubernetes(const struct vk_profile *p, long timeout_ms, struct vk_error *err)
{
	_cleanup_(vk_kube_freep) struct vk_kube *k = vk_kube_from_profile(p, err);
	struct vk_wait_opts w = { .profile = p->name, .timeout_ms = timeout_ms };

	if (!k)
		return -1;
	vk_info("waiting for the API server of '%s' (up to %ld s)", p->name, timeout_ms / 1000);
	if (vk_wait_apiserver_ready(k, &w, err) < 0)
		return -1;
	for (size_t i = 0; i < p->cfg.nnodes; i++)
		if (p->cfg.nodes[i].role != VK_ROLE_PLAIN && vk_wait_node_ready(k, p->cfg.nodes[i].name, &w, err) < 0)
			return -1;
	return 0;
}

/* Snapshot NAME's record into INFO, and a connection to P's libvirt (NULL on error). */
static virConnectPtr open_record(const struct vk_profile *p, const char *name, struct vk_snapshot_info *info,
				 struct vk_error *err)
{
	if (vk_snapshot_name_check(name, err) < 0 || record_read(p, name, info, err) < 0)
		return NULL;
	return vk_machine_connect(saved_uri(p), err);
}

static void record_restored(const struct vk_profile *p, const char *name)
{
	_cleanup_free_ char *dir = vk_profile_path(p, VK_SNAPSHOT_DIR);
	_cleanup_free_ char *path = vk_path_join(dir, RESTORED_FILE);
	_cleanup_free_ char *text = NULL;
	json_auto_t *j = json_pack("{s:s, s:I}", "name", name, "at", (json_int_t)time(NULL));
	struct vk_error err = { 0 };

	text = json_dumps(j, JSON_COMPACT);
	if (vk_write_file_atomic(path, text, strlen(text), 0600, &err) < 0)
		vk_info("cannot record the restore: %s", err.message);
}

int vk_snapshot_restore(struct vk_profile *p, const char *name, const struct vk_snapshot_opts *o,
			struct vk_snapshot_result *res, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_(vk_snapshot_info_release) struct vk_snapshot_info info = { 0 };
	long timeout_ms = (o->wait_s > 0 ? o->wait_s : VK_DEFAULT_WAIT_S) * 1000L;
	long long reverted_at;

	memset(res, 0, sizeof(*res));
	if (need_nodes(p, err) < 0 || !(conn = open_record(p, name, &info, err)) ||
	    check_restorable(conn, p, &info, err) < 0)
		return -1;

	/* Every node reverted (the running ones left paused), then all resumed together. */
	reverted_at = vk_now_ms();
	for (size_t i = 0; i < info.nnodes; i++) {
		vk_info("reverting node '%s' to snapshot '%s'", info.nodes[i].name, name);
		if (vk_domain_snapshot_revert(conn, info.nodes[i].name, name, info.nodes[i].running, err) < 0) {
			/* The nodes reverted so far run on rather than stay paused; a repeated restore reverts them all. */
			for (size_t k = 0; k < i; k++)
				if (info.nodes[k].running)
					vk_domain_resume(conn, info.nodes[k].name, NULL);
			return vk_error_hint(err, "'virtkube -p %s snapshot restore %s' tries again", p->name, name);
		}
	}
	for (size_t i = 0; i < info.nnodes; i++)
		if (info.nodes[i].running && vk_domain_resume(conn, info.nodes[i].name, err) < 0)
			return -1;
	res->paused_ms = vk_now_ms() - reverted_at;
	res->nnodes = info.nnodes;
	res->memory = info.running;
	res->size = info.size;
	p->cfg.state = info.running ? VK_PROFILE_RUNNING : VK_PROFILE_STOPPED;
	if (vk_profile_save(p, err) < 0)
		return -1;
	record_restored(p, name);
	if (o->wait_s < 0)
		return 0;

	/* The guests believe it is the moment of the save: the clocks first. */
	for (size_t i = 0; i < info.nnodes; i++)
		if (info.nodes[i].running)
			set_clock(conn, p, node_named(p, info.nodes[i].name), res);
	for (size_t i = 0; i < info.nnodes; i++)
		if (info.nodes[i].running &&
		    vk_node_wait_ssh(p, node_named(p, info.nodes[i].name)->ip, timeout_ms, err) < 0)
			return vk_error_prefix(err, "node '%s' does not answer after the restore", info.nodes[i].name);
	if (info.running && vk_profile_kubernetes(p) && wait_kubernetes(p, timeout_ms, err) < 0)
		return vk_error_prefix(err, "snapshot '%s' was restored, but the cluster is not ready", name);
	return 0;
}

int vk_snapshot_delete(struct vk_profile *p, const char *name, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_(vk_snapshot_info_release) struct vk_snapshot_info info = { 0 };
	_cleanup_free_ char *path = NULL;
	const char *names[2 * VK_NODES_MAX];
	size_t n = 0;

	conn = open_record(p, name, &info, err);
	if (!conn)
		return -1;
	/* The nodes it saved and the ones there now (a node added since may hold an older one of that name). */
	for (size_t i = 0; i < info.nnodes; i++)
		names[n++] = info.nodes[i].name;
	for (size_t i = 0; i < p->cfg.nnodes && n < VK_ARRAY_SIZE(names); i++)
		names[n++] = p->cfg.nodes[i].name;
	if (remove_everywhere(conn, names, n, name, err) < 0)
		return -1;
	path = record_path(p, name);
	if (unlink(path) < 0 && errno != ENOENT)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot remove '%s'", path);
	return 0;
}
