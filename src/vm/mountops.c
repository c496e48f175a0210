/* Host folders into domains and guests: definitions, hot-plug, the guests' mount units (see mountops.h). */
#include "vm/mountops.h"

#include <stdlib.h>
#include <string.h>

#include "vm/guestssh.h"
#include "vm/mounts.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define SSH_TIMEOUT_MS 60000

/* Hot-plugging a virtiofs device into a running domain took libvirtd 9.0
 * (Debian 12, with qemu 7.2) down in the e2e: the daemon died on the
 * attach. So a running node gets a new folder at its next start, unless
 * VIRTKUBE_VIRTIOFS_HOTPLUG=1 says this host's libvirt can take it; a
 * removed one is unmounted in the guest at once and its device goes at
 * the next start. */
static bool hotplug_allowed(void)
{
	const char *v = getenv("VIRTKUBE_VIRTIOFS_HOTPLUG");

	return v && strcmp(v, "1") == 0;
}

#define NO_HOTPLUG_WHY "virtiofs hot-plug is off (it brought libvirtd 9.0 down; VIRTKUBE_VIRTIOFS_HOTPLUG=1 tries it)"

/* One <filesystem> element of a domain's XML as libvirt writes it. */
struct fs_elem {
	const char *begin, *end; /* the element, with its indentation and newline */
	char *tag;               /* its target dir */
	char *source;            /* its source dir, as written (escaped) */
};

/* The value of ATTR='...' after KEY inside [B, E), newly allocated; NULL when absent. */
static char *attr_in(const char *b, const char *e, const char *key)
{
	const char *at = strstr(b, key);
	const char *q;

	if (!at || at >= e)
		return NULL;
	at += strlen(key);
	q = strchr(at, '\'');
	return q && q < e ? xstrndup(at, (size_t)(q - at)) : NULL;
}

/* virtkube's <filesystem> elements of XML (tags "vk-..."), at most MAX. */
static size_t our_filesystems(const char *xml, struct fs_elem *out, size_t max)
{
	size_t n = 0;

	for (const char *b = strstr(xml, "<filesystem "); b && n < max; b = strstr(b + 1, "<filesystem ")) {
		const char *e = strstr(b, "</filesystem>");
		char *tag;

		if (!e)
			break;
		e += strlen("</filesystem>");
		tag = attr_in(b, e, "<target dir='");
		if (!tag || strncmp(tag, "vk-", 3) != 0) {
			free(tag);
			continue;
		}
		out[n] = (struct fs_elem){ .begin = b, .end = *e == '\n' ? e + 1 : e, .tag = tag,
					   .source = attr_in(b, e, "<source dir='") };
		while (out[n].begin > xml && out[n].begin[-1] == ' ')
			out[n].begin--;
		n++;
	}
	return n;
}

static void fs_release(struct fs_elem *fs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(fs[i].tag);
		free(fs[i].source);
	}
}

/* Whether mount M (tag TAG) is FS: the same tag and host directory. */
static bool same_mount(const struct fs_elem *fs, const struct vk_mount *m, const char *tag)
{
	_cleanup_strbuf_ struct vk_strbuf esc = VK_STRBUF_INIT;

	vk_strbuf_add_xml_escaped(&esc, m->host);
	return strcmp(fs->tag, tag) == 0 && fs->source && strcmp(fs->source, esc.buf) == 0;
}

static bool shared_memory(const char *xml)
{
	return strstr(xml, "<source type='memfd'/>") && strstr(xml, "<access mode='shared'/>");
}

#define MAX_FS 64

int vk_mounts_sync_config(virConnectPtr conn, const struct vk_profile *p, const char *name, bool *changed,
			  struct vk_error *err)
{
	_cleanup_free_ char *xml = vk_domain_xml(conn, name, true, err);
	_cleanup_strbuf_ struct vk_strbuf out = VK_STRBUF_INIT;
	struct fs_elem fs[MAX_FS];
	const char *virtiofsd = vk_virtiofsd_find();
	const char *pos, *devices_end, *vcpu;
	bool differs = false, backing;
	size_t n;

	if (changed)
		*changed = false;
	if (!xml)
		return -1;
	n = our_filesystems(xml, fs, MAX_FS);
	differs = n != p->cfg.nmounts;
	for (size_t i = 0; i < p->cfg.nmounts && !differs; i++) {
		_cleanup_free_ char *tag = vk_mount_tag(p->cfg.mounts[i].guest);
		bool found = false;

		for (size_t j = 0; j < n; j++)
			found |= same_mount(&fs[j], &p->cfg.mounts[i], tag);
		differs = !found;
	}
	devices_end = strstr(xml, "</devices>");
	vcpu = strstr(xml, "<vcpu");
	backing = p->cfg.nmounts && !strstr(xml, "<memoryBacking") && vcpu;
	if ((!differs && !backing) || !devices_end) {
		fs_release(fs, n);
		return 0;
	}
	/* The definition again: the memory backing before the <vcpu> line, our
	 * elements out, P's in before </devices>. */
	while (vcpu && vcpu > xml && vcpu[-1] == ' ')
		vcpu--;
	while (devices_end > xml && devices_end[-1] == ' ')
		devices_end--;
	pos = xml;
	if (backing) {
		vk_strbuf_add(&out, xml, (size_t)(vcpu - xml));
		vk_strbuf_addstr(&out, VK_MOUNT_MEMORY_BACKING);
		pos = vcpu;
	}
	for (size_t j = 0; j < n; j++) {
		vk_strbuf_add(&out, pos, (size_t)(fs[j].begin - pos));
		pos = fs[j].end;
	}
	vk_strbuf_add(&out, pos, (size_t)(devices_end - pos));
	for (size_t i = 0; i < p->cfg.nmounts; i++) {
		_cleanup_free_ char *elem = vk_mount_domxml(&p->cfg.mounts[i], virtiofsd);

		vk_strbuf_addstr(&out, elem);
	}
	vk_strbuf_addstr(&out, devices_end);
	fs_release(fs, n);
	vk_debug("domain '%s': its definition gets %zu host folder(s)", name, p->cfg.nmounts);
	if (vk_domain_define(conn, out.buf, err) < 0)
		return vk_error_prefix(err, "cannot give domain '%s' its host folders", name);
	if (changed)
		*changed = true;
	return 0;
}

/* Running node N: devices hot-plugged and the guest's units made P's. *LATER: the devices could not change. */
static int apply_live(struct vk_profile *p, virConnectPtr conn, const struct vk_node *n, bool *later, char **why,
		      struct vk_error *err)
{
	_cleanup_free_ char *xml = vk_domain_xml(conn, n->name, false, err);
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	struct fs_elem fs[MAX_FS];
	const char *virtiofsd = vk_virtiofsd_find();
	struct vk_error local = { 0 };
	size_t nfs;
	int status = 0;

	*later = false;
	if (!xml)
		return -1;
	if (p->cfg.nmounts && !shared_memory(xml)) {
		*later = true;
		if (!*why)
			*why = xasprintf("node '%s' runs without shared memory (made before virtkube had mounts): virtiofs "
					 "needs a restart", n->name);
		return 0;
	}
	nfs = our_filesystems(xml, fs, MAX_FS);
	for (size_t i = 0; i < p->cfg.nmounts && !*later; i++) {
		_cleanup_free_ char *tag = vk_mount_tag(p->cfg.mounts[i].guest);
		_cleanup_free_ char *elem = NULL;
		bool found = false;

		for (size_t j = 0; j < nfs; j++)
			found |= same_mount(&fs[j], &p->cfg.mounts[i], tag);
		if (found)
			continue;
		if (!hotplug_allowed()) {
			*later = true;
			if (!*why)
				*why = xstrdup(NO_HOTPLUG_WHY);
			continue;
		}
		elem = vk_mount_domxml(&p->cfg.mounts[i], virtiofsd);
		if (vk_domain_device(conn, n->name, elem, true, true, &local) < 0) {
			*later = true;
			if (!*why)
				*why = xstrdup(local.message);
			vk_error_clear(&local);
		}
	}
	if (strncmp(p->cfg.libvirt_uri ? p->cfg.libvirt_uri : "", "test:", 5) != 0) {
		cmd = vk_mounts_guest_command(p);
		if (vk_guest_run_at(p, n->ip, cmd, SSH_TIMEOUT_MS, &out, &status, err) < 0) {
			fs_release(fs, nfs);
			return vk_error_prefix(err, "cannot mount the host folders in node '%s'", n->name);
		}
		if (status != 0 && !*later) {
			fs_release(fs, nfs);
			vk_error_set(err, VK_ERR_GUEST, "node '%s' could not mount its host folders (exit %d)%s%s", n->name,
				     status, out && *out ? ": " : "", out ? out : "");
			return vk_error_hint(err, "its log: 'virtkube -p %s ssh -- cat /var/log/virtkube/mounts.log'", p->name);
		}
	}
	/* Devices of mounts that are gone, now that the guest let go of them. */
	for (size_t j = 0; j < nfs; j++) {
		_cleanup_free_ char *elem = NULL;
		bool wanted = false;

		for (size_t i = 0; i < p->cfg.nmounts; i++) {
			_cleanup_free_ char *tag = vk_mount_tag(p->cfg.mounts[i].guest);

			wanted |= same_mount(&fs[j], &p->cfg.mounts[i], tag);
		}
		if (wanted || !hotplug_allowed())
			continue;
		elem = xstrndup(fs[j].begin, (size_t)(fs[j].end - fs[j].begin));
		if (vk_domain_device(conn, n->name, elem, false, true, &local) < 0) {
			/* unmounted in the guest already; the device goes at the next boot */
			vk_debug("node '%s': %s", n->name, local.message);
			vk_error_clear(&local);
		}
	}
	fs_release(fs, nfs);
	return 0;
}

int vk_mounts_apply(struct vk_profile *p, virConnectPtr conn, struct vk_mounts_applied *out, struct vk_error *err)
{
	*out = (struct vk_mounts_applied){ 0 };
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		enum vk_host_state state;
		bool later = false;

		if (vk_domain_state(conn, n->name, p->name, &state, err) < 0)
			return -1;
		if (state == VK_HOST_NONEXISTENT) {
			/* the domain step defines it with the mounts */
			out->later++;
			continue;
		}
		if (vk_mounts_sync_config(conn, p, n->name, NULL, err) < 0)
			return -1;
		if (state != VK_HOST_RUNNING) {
			out->later++;
			continue;
		}
		if (apply_live(p, conn, n, &later, &out->why, err) < 0)
			return -1;
		if (later)
			out->later++;
		else
			out->now++;
	}
	p->cfg.mounts_pending = out->later > 0;
	return 0;
}

int vk_mounts_update(struct vk_profile *p, struct vk_mounts_applied *out, struct vk_error *err)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	struct vk_error local = { 0 };

	*out = (struct vk_mounts_applied){ 0 };
	if (p->cfg.nnodes) {
		conn = vk_machine_connect(p->cfg.libvirt_uri ? p->cfg.libvirt_uri : vk_machine_uri(NULL), err);
		if (!conn || vk_mounts_apply(p, conn, out, err) < 0) {
			p->cfg.mounts_pending = true;
			if (vk_profile_save(p, &local) < 0)
				vk_debug("profile '%s': %s", p->name, local.message);
			return -1;
		}
	}
	return vk_profile_save(p, err);
}

void vk_mounts_applied_release(struct vk_mounts_applied *a)
{
	free(a->why);
	a->why = NULL;
}
