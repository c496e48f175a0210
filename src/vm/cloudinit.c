/* cloud-init documents written through util/yamlw: structure comes from the code, values are always scalars. */
#include "vm/cloudinit.h"

#include <stdlib.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "util/yamlw.h"

#define VK_CLOUDINIT_DEFAULT_USER "docker"

/* Starts one document; no "---": user-data must begin with "#cloud-config". */
static void begin(struct vk_yamlw *w)
{
	vk_yamlw_init(w);
	vk_yamlw_doc_start_implicit(w);
}

/* Ends the document; the cloud-init document DOC (for messages) with HEADER
 * (NULL: none) before it. The caller frees it. */
static char *finish(struct vk_yamlw *w, const char *doc, const char *header, struct vk_error *err)
{
	_cleanup_free_ char *what = xasprintf("cloud-init %s", doc);
	_cleanup_free_ char *yaml = NULL;

	vk_yamlw_doc_end(w);
	yaml = vk_yamlw_finish(w, what, NULL, err);
	if (!yaml || !header)
		return TAKE_PTR(yaml);
	/* A comment, so not an event: it goes before the document the emitter wrote. */
	return xasprintf("%s%s", header, yaml);
}

static int check_required(const struct vk_cloudinit *ci, bool network, struct vk_error *err)
{
	if (!ci->hostname || !*ci->hostname)
		return vk_error_set(err, VK_ERR_INVALID, "cloud-init: no hostname given");
	if (!ci->instance_id || !*ci->instance_id)
		return vk_error_set(err, VK_ERR_INVALID, "cloud-init: no instance-id given");
	if (network && (!ci->mac || !ci->address || !ci->gateway || ci->prefix < 1 || ci->prefix > 32))
		return vk_error_set(err, VK_ERR_INVALID, "cloud-init: incomplete network settings for '%s'",
				    ci->hostname);
	return 0;
}

char *vk_cloudinit_user_data(const struct vk_cloudinit *ci, struct vk_error *err)
{
	struct vk_yamlw w;

	if (check_required(ci, false, err) < 0)
		return NULL;
	if (!ci->ssh_pubkey || !*ci->ssh_pubkey) {
		vk_error_set(err, VK_ERR_INVALID, "cloud-init: no SSH public key for '%s'", ci->hostname);
		return NULL;
	}
	begin(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_quoted(&w, "hostname", ci->hostname);
	vk_yamlw_kv_bool(&w, "preserve_hostname", false);
	vk_yamlw_kv_bool(&w, "disable_root", true);
	vk_yamlw_kv_bool(&w, "ssh_pwauth", false);

	vk_yamlw_str(&w, "users");
	vk_yamlw_seq_start(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_quoted(&w, "name", ci->user ? ci->user : VK_CLOUDINIT_DEFAULT_USER);
	vk_yamlw_kv_quoted(&w, "sudo", "ALL=(ALL) NOPASSWD:ALL");
	vk_yamlw_kv_quoted(&w, "shell", "/bin/bash");
	vk_yamlw_kv_bool(&w, "lock_passwd", true);
	vk_yamlw_str(&w, "ssh_authorized_keys");
	vk_yamlw_seq_start(&w);
	vk_yamlw_quoted(&w, ci->ssh_pubkey);
	vk_yamlw_seq_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_seq_end(&w);

	if (ci->write_files && ci->write_files[0].path) {
		vk_yamlw_str(&w, "write_files");
		vk_yamlw_seq_start(&w);
		for (const struct vk_cloudinit_file *f = ci->write_files; f->path; f++) {
			vk_yamlw_map_start(&w);
			vk_yamlw_kv_quoted(&w, "path", f->path);
			vk_yamlw_kv_quoted(&w, "content", f->content ? f->content : "");
			if (f->permissions)
				vk_yamlw_kv_quoted(&w, "permissions", f->permissions);
			vk_yamlw_map_end(&w);
		}
		vk_yamlw_seq_end(&w);
	}

	if ((ci->runcmd && ci->runcmd[0]) || ci->disable_after_first_boot) {
		vk_yamlw_str(&w, "runcmd");
		vk_yamlw_seq_start(&w);
		for (const char *const *c = ci->runcmd; c && *c; c++)
			vk_yamlw_quoted(&w, *c);
		if (ci->disable_after_first_boot)
			vk_yamlw_quoted(&w, "touch /etc/cloud/cloud-init.disabled");
		vk_yamlw_seq_end(&w);
	}
	vk_yamlw_map_end(&w);
	return finish(&w, "user-data", "#cloud-config\n", err);
}

char *vk_cloudinit_meta_data(const struct vk_cloudinit *ci, struct vk_error *err)
{
	struct vk_yamlw w;

	if (check_required(ci, false, err) < 0)
		return NULL;
	begin(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_quoted(&w, "instance-id", ci->instance_id);
	vk_yamlw_kv_quoted(&w, "local-hostname", ci->hostname);
	vk_yamlw_map_end(&w);
	return finish(&w, "meta-data", NULL, err);
}

char *vk_cloudinit_network_config(const struct vk_cloudinit *ci, struct vk_error *err)
{
	_cleanup_free_ char *cidr = NULL;
	struct vk_yamlw w;

	if (check_required(ci, true, err) < 0)
		return NULL;
	cidr = xasprintf("%s/%d", ci->address, ci->prefix);
	begin(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_int(&w, "version", 2);
	vk_yamlw_str(&w, "ethernets");
	vk_yamlw_map_start(&w);
	vk_yamlw_str(&w, "eth0");
	vk_yamlw_map_start(&w);
	vk_yamlw_str(&w, "match");
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_quoted(&w, "macaddress", ci->mac);
	vk_yamlw_map_end(&w);
	vk_yamlw_kv_bool(&w, "dhcp4", false);
	vk_yamlw_str(&w, "addresses");
	vk_yamlw_seq_start(&w);
	vk_yamlw_quoted(&w, cidr);
	vk_yamlw_seq_end(&w);
	vk_yamlw_str(&w, "routes");
	vk_yamlw_seq_start(&w);
	vk_yamlw_map_start(&w);
	vk_yamlw_kv_quoted(&w, "to", "0.0.0.0/0");
	vk_yamlw_kv_quoted(&w, "via", ci->gateway);
	vk_yamlw_map_end(&w);
	vk_yamlw_seq_end(&w);
	vk_yamlw_str(&w, "nameservers");
	vk_yamlw_map_start(&w);
	vk_yamlw_str(&w, "addresses");
	vk_yamlw_seq_start(&w);
	vk_yamlw_quoted(&w, ci->dns ? ci->dns : ci->gateway);
	vk_yamlw_seq_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_map_end(&w);
	vk_yamlw_map_end(&w);
	return finish(&w, "network-config", NULL, err);
}
