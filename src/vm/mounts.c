/* Host directories over virtiofs: parsing, the checks, tags, XML pieces and the guest's table (see mounts.h). */
#include "vm/mounts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/guestssh.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

void vk_mount_release(struct vk_mount *m)
{
	free(m->host);
	free(m->guest);
	*m = (struct vk_mount){ 0 };
}

/* Mounting over these would hide what the guest runs on: the directory and
 * everything below it. */
static const char *const system_trees[] = {
	"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc", "/sys",
	"/run", "/var/lib/kubelet", "/var/lib/containerd", "/var/lib/etcd", "/var/lib/virtkube", "/var/lib/cloud",
	"/var/log", "/var/run", "/opt/cni", "/home/" VK_SSH_USER "/.ssh",
};
/* ... and these themselves (a directory below them is fine). */
static const char *const system_dirs[] = {
	"/home", "/var", "/var/lib", "/opt", "/srv", "/mnt", "/media", "/tmp", "/root", "/home/" VK_SSH_USER,
};

int vk_mount_check_guest(const char *guest, struct vk_error *err)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(system_trees); i++) {
		size_t n = strlen(system_trees[i]);

		if (strncmp(guest, system_trees[i], n) == 0 && (guest[n] == '\0' || guest[n] == '/')) {
			vk_error_set(err, VK_ERR_INVALID, "cannot mount on '%s' in the guest: it is %s system directory '%s'",
				     guest, guest[n] ? "below the" : "the", system_trees[i]);
			return vk_error_hint(err, "give another guest path after ':' (" VK_MOUNT_SYNTAX "), e.g. under /mnt");
		}
	}
	for (size_t i = 0; i < VK_ARRAY_SIZE(system_dirs); i++)
		if (strcmp(guest, system_dirs[i]) == 0) {
			vk_error_set(err, VK_ERR_INVALID, "cannot mount on '%s' in the guest: it would hide the system's own '%s'",
				     guest, guest);
			return vk_error_hint(err, "mount on a directory below it instead, e.g. '%s/src'", guest);
		}
	return 0;
}

int vk_mount_parse(const char *spec, struct vk_mount *out, struct vk_error *err)
{
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	char *comma = strrchr(copy, ',');
	char *colon;
	bool ro = false;

	*out = (struct vk_mount){ 0 };
	if (comma && (strcmp(comma, ",ro") == 0 || strcmp(comma, ",rw") == 0)) {
		ro = comma[2] == 'o';
		*comma = '\0';
	}
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	if (!*copy || (colon && !colon[1])) {
		vk_error_set(err, VK_ERR_INVALID, "invalid mount '%s': expected " VK_MOUNT_SYNTAX, spec ? spec : "");
		return vk_error_hint(err, "e.g. --mount $PWD or --mount $HOME/src:/src,ro");
	}
	if (!vk_mount_paths_valid(copy, "/x")) {
		vk_error_set(err, VK_ERR_INVALID, "invalid mount '%s': host directory '%s' is not an absolute, normalized path",
			     spec, copy);
		return vk_error_hint(err, "give it from '/' without '.', '..', '//' or a trailing '/' (e.g. \"$PWD\" or "
				     "\"$(realpath DIR)\")");
	}
	if (!vk_mount_paths_valid(copy, colon ? colon + 1 : copy)) {
		const char *guest = colon ? colon + 1 : copy;

		vk_error_set(err, VK_ERR_INVALID, "invalid mount '%s': guest path '%s' is not an absolute, normalized path "
			     "of " VK_MOUNT_GUEST_CHARS, spec, guest);
		return vk_error_hint(err, "give the guest path after ':' (" VK_MOUNT_SYNTAX "), e.g. '%s:/mnt/src'", copy);
	}
	if (vk_mount_check_guest(colon ? colon + 1 : copy, err) < 0)
		return -1;
	out->host = xstrdup(copy);
	out->guest = xstrdup(colon ? colon + 1 : copy);
	out->readonly = ro;
	return 0;
}

int vk_mount_check_host(const char *host, const char *uri, struct vk_error *err)
{
	bool system = uri && strncmp(uri, "qemu:///system", 14) == 0;
	struct stat st;

	if (stat(host, &st) < 0) {
		vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno,
				   "cannot share host directory '%s'", host);
		return vk_error_hint(err, "create it first, or give an existing directory");
	}
	if (!S_ISDIR(st.st_mode)) {
		vk_error_set(err, VK_ERR_INVALID, "cannot share '%s': it is not a directory", host);
		return vk_error_hint(err, "virtiofs shares directories: give the directory that holds it");
	}
	/* libvirt starts virtiofsd as root for qemu:///system: it passes any mode. */
	if (!system && access(host, R_OK | X_OK) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot share host directory '%s' under %s", host,
				   uri ? uri : "this libvirt URI");
		return vk_error_hint(err, "virtiofsd runs as you there: make the directory readable and searchable "
				     "(chmod u+rx)");
	}
	return 0;
}

char *vk_mount_tag(const char *guest)
{
	const char *last = strrchr(guest, '/');
	uint32_t h = 2166136261u; /* FNV-1a */
	char name[25];
	size_t n = 0;

	for (const char *c = guest; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (const char *c = last ? last + 1 : guest; *c && n < sizeof(name) - 1; c++)
		name[n++] = *c == '+' ? '_' : *c;
	name[n] = '\0';
	return xasprintf("vk-%s-%08x", name, (unsigned)h);
}

const char *vk_virtiofsd_find(void)
{
	static const char *const candidates[] = { "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd",
						  "/usr/lib/virtiofsd", "/usr/libexec/qemu/virtiofsd" };
	const char *env = getenv("VIRTKUBE_VIRTIOFSD");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < VK_ARRAY_SIZE(candidates); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

const char *vk_virtiofsd_require(struct vk_error *err)
{
	const char *bin = vk_virtiofsd_find();

	if (bin)
		return bin;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "no virtiofsd on this host: host folders (--mount) are served by it");
	vk_error_hint(err, VK_VIRTIOFSD_HINT);
	return NULL;
}

char *vk_mount_domxml(const struct vk_mount *m, const char *virtiofsd)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	_cleanup_free_ char *tag = vk_mount_tag(m->guest);

	vk_strbuf_addstr(&sb, "    <filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>\n");
	if (virtiofsd) {
		vk_strbuf_addstr(&sb, "      <binary path='");
		vk_strbuf_add_xml_escaped(&sb, virtiofsd);
		vk_strbuf_addstr(&sb, "'/>\n");
	}
	vk_strbuf_addstr(&sb, "      <source dir='");
	vk_strbuf_add_xml_escaped(&sb, m->host);
	vk_strbuf_addf(&sb, "'/>\n      <target dir='%s'/>\n    </filesystem>\n", tag);
	return vk_strbuf_detach(&sb, NULL);
}

char *vk_mounts_guest_table(const struct vk_profile *p)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;

	for (size_t i = 0; i < p->cfg.nmounts; i++) {
		_cleanup_free_ char *tag = vk_mount_tag(p->cfg.mounts[i].guest);

		vk_strbuf_addf(&sb, "%s %s %s\n", tag, p->cfg.mounts[i].guest, p->cfg.mounts[i].readonly ? "ro" : "rw");
	}
	return vk_strbuf_detach(&sb, NULL);
}

char *vk_mounts_guest_command(const struct vk_profile *p)
{
	_cleanup_free_ char *table = vk_mounts_guest_table(p);
	struct vk_strbuf sb = VK_STRBUF_INIT;

	vk_strbuf_addstr(&sb, VK_MOUNT_GUEST_COMMAND " ");
	for (char *c = table; *c; c++)
		vk_strbuf_addch(&sb, *c == '\n' ? ' ' : *c);
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.buf[--sb.len] = '\0';
	return vk_strbuf_detach(&sb, NULL);
}

int vk_mounts_seed_add(const struct vk_profile *p, struct vk_seed *seed, struct vk_error *err)
{
	_cleanup_free_ char *table = NULL;

	if (!p->cfg.nmounts)
		return 0;
	table = vk_mounts_guest_table(p);
	return vk_seed_add_file(seed, VK_MOUNT_SEED_FILE, table, strlen(table), 0644, err);
}

int vk_mounts_merge(struct vk_profile *p, const char *const *specs, const char *uri, size_t *added,
		    struct vk_error *err)
{
	size_t n = vk_strv_len(specs), nnew = 0;
	struct vk_mount *parsed = xcalloc(n + 1, sizeof(*parsed));
	bool *fresh = xcalloc(n + 1, sizeof(*fresh));
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		const struct vk_mount *have;

		if (vk_mount_parse(specs[i], &parsed[i], err) < 0)
			goto out;
		for (size_t j = 0; j < i; j++)
			if (strcmp(parsed[j].guest, parsed[i].guest) == 0) {
				vk_error_set(err, VK_ERR_INVALID, "two mounts on guest path '%s': '%s' and '%s'",
					     parsed[i].guest, specs[j], specs[i]);
				vk_error_hint(err, "give each guest path once");
				goto out;
			}
		have = vk_profile_mount_find(p, parsed[i].guest);
		if (have && (strcmp(have->host, parsed[i].host) != 0 || have->readonly != parsed[i].readonly)) {
			vk_error_set(err, VK_ERR_EXISTS, "profile '%s' mounts '%s'%s on guest path '%s' already",
				     p->name, have->host, have->readonly ? " (ro)" : "", have->guest);
			vk_error_hint(err, "'virtkube -p %s unmount %s' first, or choose another guest path", p->name,
				      have->guest);
			goto out;
		}
		if (!have && vk_mount_check_host(parsed[i].host, uri, err) < 0)
			goto out;
		fresh[i] = !have;
		nnew += !have;
	}
	if (nnew && !vk_virtiofsd_require(err))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (fresh[i])
			vk_profile_mount_add(p, parsed[i].host, parsed[i].guest, parsed[i].readonly);
	if (added)
		*added = nnew;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		vk_mount_release(&parsed[i]);
	free(parsed);
	free(fresh);
	return rc;
}
