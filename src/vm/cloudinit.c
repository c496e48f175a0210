/* cloud-init documents built as libyaml events: structure comes from the code, values are always scalars. */
#include "vm/cloudinit.h"

#include <string.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define VK_CLOUDINIT_DEFAULT_USER "docker"

struct emit {
	yaml_emitter_t emitter;
	struct vk_strbuf out;
	bool failed;
	const char *doc; /* for messages */
	struct vk_error *err;
};

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct emit *e = data;

	vk_strbuf_add(&e->out, buffer, size);
	return 1;
}

static void emit_event(struct emit *e, yaml_event_t *ev, int init_ok)
{
	if (e->failed)
		return;
	if (!init_ok || !yaml_emitter_emit(&e->emitter, ev)) {
		e->failed = true;
		vk_error_set(e->err, VK_ERR_FAILED, "cannot emit cloud-init %s: %s", e->doc,
			     e->emitter.problem ? e->emitter.problem : "libyaml emitter error");
	}
}

static void scalar_styled(struct emit *e, const char *value, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)value, (int)strlen(value), 1, 1, style);

	emit_event(e, &ev, ok);
}

static void scalar(struct emit *e, const char *value)
{
	scalar_styled(e, value, YAML_ANY_SCALAR_STYLE);
}

/* A string that must stay a string (never read back as a number or bool). */
static void string(struct emit *e, const char *value)
{
	scalar_styled(e, value, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void map_start(struct emit *e)
{
	yaml_event_t ev;
	int ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);

	emit_event(e, &ev, ok);
}

static void map_end(struct emit *e)
{
	yaml_event_t ev;
	int ok = yaml_mapping_end_event_initialize(&ev);

	emit_event(e, &ev, ok);
}

static void seq_start(struct emit *e)
{
	yaml_event_t ev;
	int ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);

	emit_event(e, &ev, ok);
}

static void seq_end(struct emit *e)
{
	yaml_event_t ev;
	int ok = yaml_sequence_end_event_initialize(&ev);

	emit_event(e, &ev, ok);
}

static void kv(struct emit *e, const char *key, const char *value)
{
	scalar(e, key);
	string(e, value);
}

static void kv_plain(struct emit *e, const char *key, const char *value)
{
	scalar(e, key);
	scalar(e, value);
}

/* Starts a stream and a document; HEADER (e.g. "#cloud-config\n") goes before it. */
static void begin(struct emit *e, const char *doc, const char *header, struct vk_error *err)
{
	yaml_event_t ev;
	int ok;

	memset(e, 0, sizeof(*e));
	e->doc = doc;
	e->err = err;
	vk_strbuf_init(&e->out, 1024);
	if (header)
		vk_strbuf_addstr(&e->out, header);
	if (!yaml_emitter_initialize(&e->emitter))
		abort(); /* only fails on out-of-memory */
	yaml_emitter_set_output(&e->emitter, write_handler, e);
	yaml_emitter_set_unicode(&e->emitter, 1);
	yaml_emitter_set_width(&e->emitter, -1); /* never fold long lines (SSH keys) */
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit_event(e, &ev, ok);
	ok = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit_event(e, &ev, ok);
}

static char *finish(struct emit *e)
{
	yaml_event_t ev;
	int ok = yaml_document_end_event_initialize(&ev, 1);

	emit_event(e, &ev, ok);
	ok = yaml_stream_end_event_initialize(&ev);
	emit_event(e, &ev, ok);
	if (!e->failed && !yaml_emitter_flush(&e->emitter)) {
		e->failed = true;
		vk_error_set(e->err, VK_ERR_FAILED, "cannot emit cloud-init %s: %s", e->doc,
			     e->emitter.problem ? e->emitter.problem : "flush failed");
	}
	yaml_emitter_delete(&e->emitter);
	if (e->failed) {
		vk_strbuf_release(&e->out);
		return NULL;
	}
	return vk_strbuf_detach(&e->out, NULL);
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
	struct emit e;

	if (check_required(ci, false, err) < 0)
		return NULL;
	if (!ci->ssh_pubkey || !*ci->ssh_pubkey) {
		vk_error_set(err, VK_ERR_INVALID, "cloud-init: no SSH public key for '%s'", ci->hostname);
		return NULL;
	}
	begin(&e, "user-data", "#cloud-config\n", err);
	map_start(&e);
	kv(&e, "hostname", ci->hostname);
	kv_plain(&e, "preserve_hostname", "false");
	kv_plain(&e, "disable_root", "true");
	kv_plain(&e, "ssh_pwauth", "false");

	scalar(&e, "users");
	seq_start(&e);
	map_start(&e);
	kv(&e, "name", ci->user ? ci->user : VK_CLOUDINIT_DEFAULT_USER);
	kv(&e, "sudo", "ALL=(ALL) NOPASSWD:ALL");
	kv(&e, "shell", "/bin/bash");
	kv_plain(&e, "lock_passwd", "true");
	scalar(&e, "ssh_authorized_keys");
	seq_start(&e);
	string(&e, ci->ssh_pubkey);
	seq_end(&e);
	map_end(&e);
	seq_end(&e);

	if (ci->write_files && ci->write_files[0].path) {
		scalar(&e, "write_files");
		seq_start(&e);
		for (const struct vk_cloudinit_file *f = ci->write_files; f->path; f++) {
			map_start(&e);
			kv(&e, "path", f->path);
			kv(&e, "content", f->content ? f->content : "");
			if (f->permissions)
				kv(&e, "permissions", f->permissions);
			map_end(&e);
		}
		seq_end(&e);
	}

	if ((ci->runcmd && ci->runcmd[0]) || ci->disable_after_first_boot) {
		scalar(&e, "runcmd");
		seq_start(&e);
		for (const char *const *c = ci->runcmd; c && *c; c++)
			string(&e, *c);
		if (ci->disable_after_first_boot)
			string(&e, "touch /etc/cloud/cloud-init.disabled");
		seq_end(&e);
	}
	map_end(&e);
	return finish(&e);
}

char *vk_cloudinit_meta_data(const struct vk_cloudinit *ci, struct vk_error *err)
{
	struct emit e;

	if (check_required(ci, false, err) < 0)
		return NULL;
	begin(&e, "meta-data", NULL, err);
	map_start(&e);
	kv(&e, "instance-id", ci->instance_id);
	kv(&e, "local-hostname", ci->hostname);
	map_end(&e);
	return finish(&e);
}

char *vk_cloudinit_network_config(const struct vk_cloudinit *ci, struct vk_error *err)
{
	_cleanup_free_ char *cidr = NULL;
	struct emit e;

	if (check_required(ci, true, err) < 0)
		return NULL;
	cidr = xasprintf("%s/%d", ci->address, ci->prefix);
	begin(&e, "network-config", NULL, err);
	map_start(&e);
	kv_plain(&e, "version", "2");
	scalar(&e, "ethernets");
	map_start(&e);
	scalar(&e, "eth0");
	map_start(&e);
	scalar(&e, "match");
	map_start(&e);
	kv(&e, "macaddress", ci->mac);
	map_end(&e);
	kv_plain(&e, "dhcp4", "false");
	scalar(&e, "addresses");
	seq_start(&e);
	string(&e, cidr);
	seq_end(&e);
	scalar(&e, "routes");
	seq_start(&e);
	map_start(&e);
	kv(&e, "to", "0.0.0.0/0");
	kv(&e, "via", ci->gateway);
	map_end(&e);
	seq_end(&e);
	scalar(&e, "nameservers");
	map_start(&e);
	scalar(&e, "addresses");
	seq_start(&e);
	string(&e, ci->gateway);
	seq_end(&e);
	map_end(&e);
	map_end(&e);
	map_end(&e);
	map_end(&e);
	return finish(&e);
}
