/* Profiles: home directory, name rule, config.json, lock (see profile.h). */
#include "profile/profile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

char *vk_home_dir(struct vk_error *err)
{
	const char *env = getenv("VIRTKUBE_HOME");
	const char *home;

	if (env && *env)
		return xstrdup(env);
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());

		if (!pw || !pw->pw_dir) {
			vk_error_set(err, VK_ERR_INVALID, "cannot find the home directory: $HOME is not set");
			vk_error_hint(err, "set $HOME or $VIRTKUBE_HOME");
			return NULL;
		}
		home = pw->pw_dir;
	}
	return vk_path_join(home, ".virtkube");
}

int vk_home_ensure(const char *home, struct vk_error *err)
{
	if (vk_mkdir_p(home, 0700, err) < 0) {
		vk_error_prefix(err, "cannot use virtkube home '%s'", home);
		return vk_error_hint(err, "make it writable, or point $VIRTKUBE_HOME at a writable directory");
	}
	if (access(home, W_OK | X_OK) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot use virtkube home '%s'", home);
		return vk_error_hint(err, "make it writable, or point $VIRTKUBE_HOME at a writable directory");
	}
	return 0;
}

int vk_profile_name_check(const char *name, struct vk_error *err)
{
	size_t len = name ? strlen(name) : 0;
	bool ok = len >= 1 && len <= 63;

	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && !(c == '-' && i != 0 && i != len - 1))
			ok = false;
	}
	if (ok)
		return 0;
	if (len == 0)
		vk_error_set(err, VK_ERR_INVALID, "invalid profile name '': it is empty");
	else if (len > 63)
		vk_error_set(err, VK_ERR_INVALID, "invalid profile name '%.20s...': %zu characters, at most 63 allowed",
			     name, len);
	else
		vk_error_set(err, VK_ERR_INVALID, "invalid profile name '%s'", name);
	return vk_error_hint(err, "a profile name is " VK_PROFILE_NAME_RULE);
}

static struct vk_profile *profile_alloc(const char *home, const char *name)
{
	struct vk_profile *p = xcalloc(1, sizeof(*p));
	_cleanup_free_ char *profiles = vk_path_join(home, "profiles");

	p->name = xstrdup(name);
	p->home = xstrdup(home);
	p->dir = vk_path_join(profiles, name);
	p->config_path = vk_path_join(p->dir, "config.json");
	p->lock.fd = -1;
	return p;
}

/* ---- config.json <-> struct vk_profile_config ------------------------------ */

enum field_type { FIELD_STR, FIELD_LONG, FIELD_BOOL, FIELD_STRV, FIELD_STATE, FIELD_KIND, FIELD_NODES, FIELD_MOUNTS };

/* A string that must be one of these; NULL: any. */
static const char *const accel_values[] = { "kvm", "tcg", NULL };
static const char *const network_mode_values[] = { "nat", "isolated", "bridge", NULL };
static const char *const state_names[] = { [VK_PROFILE_NEW] = "New", [VK_PROFILE_CREATED] = "Created",
					   [VK_PROFILE_RUNNING] = "Running", [VK_PROFILE_STOPPED] = "Stopped" };

enum field_check { CHECK_NONE, CHECK_IPV4, CHECK_CIDR24, CHECK_CIDR, CHECK_MAC, CHECK_PORT, CHECK_POSITIVE, CHECK_IFNAME };

/* The one list of config.json's keys. */
static const struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	const char *const *values;
	enum field_check check;
} fields[] = {
#define F(key, type, member, values, check) { key, type, offsetof(struct vk_profile_config, member), values, check }
	F("libvirt_uri", FIELD_STR, libvirt_uri, NULL, CHECK_NONE),
	F("image", FIELD_STR, image, NULL, CHECK_NONE),
	F("cpus", FIELD_LONG, cpus, NULL, CHECK_POSITIVE),
	F("memory_mib", FIELD_LONG, memory_mib, NULL, CHECK_POSITIVE),
	F("disk_gib", FIELD_LONG, disk_gib, NULL, CHECK_POSITIVE),
	F("accel", FIELD_STR, accel, accel_values, CHECK_NONE),
	F("network_mode", FIELD_STR, network_mode, network_mode_values, CHECK_NONE),
	F("bridge", FIELD_STR, bridge, NULL, CHECK_IFNAME),
	F("bridge_ip", FIELD_STR, bridge_ip, NULL, CHECK_CIDR),
	F("bridge_gateway", FIELD_STR, bridge_gateway, NULL, CHECK_IPV4),
	F("bridge_dns", FIELD_STR, bridge_dns, NULL, CHECK_IPV4),
	F("domain", FIELD_STR, domain, NULL, CHECK_NONE),
	F("instance_id", FIELD_STR, instance_id, NULL, CHECK_NONE),
	F("network", FIELD_STR, network, NULL, CHECK_NONE),
	F("subnet", FIELD_STR, subnet, NULL, CHECK_CIDR24),
	F("lb_pool", FIELD_STR, lb_pool, NULL, CHECK_CIDR),
	F("mac", FIELD_STR, mac, NULL, CHECK_MAC),
	F("node_ip", FIELD_STR, node_ip, NULL, CHECK_IPV4),
	F("api_port", FIELD_LONG, api_port, NULL, CHECK_PORT),
	F("nodes", FIELD_NODES, nodes, NULL, CHECK_NONE),
	F("schedule_on_control_plane", FIELD_BOOL, schedule_on_control_plane, NULL, CHECK_NONE),
	F("join_token", FIELD_STR, join_token, NULL, CHECK_NONE),
	F("join_token_expires", FIELD_LONG, join_token_expires, NULL, CHECK_POSITIVE),
	F("kubernetes", FIELD_KIND, kind, NULL, CHECK_NONE),
	F("kubernetes_version", FIELD_STR, kubernetes_version, NULL, CHECK_NONE),
	F("image_repository", FIELD_STR, image_repository, NULL, CHECK_NONE),
	F("dns_image", FIELD_STR, dns_image, NULL, CHECK_NONE),
	F("registry_mirror", FIELD_STR, registry_mirror, NULL, CHECK_NONE),
	F("insecure_registries", FIELD_STRV, insecure_registries, NULL, CHECK_NONE),
	F("addons", FIELD_STRV, addons, NULL, CHECK_NONE),
	F("payload_iso", FIELD_STR, payload_iso, NULL, CHECK_NONE),
	F("provisioned", FIELD_BOOL, provisioned, NULL, CHECK_NONE),
	F("state", FIELD_STATE, state, NULL, CHECK_NONE),
	F("mounts", FIELD_MOUNTS, mounts, NULL, CHECK_NONE),
	F("mounts_pending", FIELD_BOOL, mounts_pending, NULL, CHECK_NONE),
#undef F
};

#define MEMBER(cfg, f, type) ((type *)((char *)(cfg) + (f)->offset))

static bool valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F');

		if (i % 3 == 2 ? s[i] != ':' : !hex)
			return false;
	}
	return true;
}

/* "A.B.C.D/PREFIX"; with ONLY24, the prefix must be 24. */
static bool valid_cidr(const char *s, bool only24)
{
	struct in_addr a;
	char buf[16];
	size_t n = strcspn(s, "/");
	char *end;
	long prefix;

	if (n >= sizeof(buf) || s[n] != '/' || !isdigit((unsigned char)s[n + 1]))
		return false;
	prefix = strtol(s + n + 1, &end, 10);
	if (*end || prefix > 32 || (only24 && prefix != 24))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

/* Whether string V passes F's rules. */
static bool field_string_ok(const struct field *f, const char *v)
{
	struct in_addr a;

	if (f->values) {
		for (const char *const *c = f->values; *c; c++)
			if (strcmp(*c, v) == 0)
				return true;
		return false;
	}
	switch (f->check) {
	case CHECK_IPV4:
		return inet_pton(AF_INET, v, &a) == 1;
	case CHECK_CIDR24:
		return valid_cidr(v, true);
	case CHECK_CIDR:
		return valid_cidr(v, false);
	case CHECK_MAC:
		return valid_mac(v);
	case CHECK_IFNAME:
		return vk_ifname_valid(v);
	default:
		return true;
	}
}

static int field_bad(const struct vk_profile *p, const struct field *f, const char *what, struct vk_error *err)
{
	vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': \"%s\" in '%s' %s", p->name, f->key, p->config_path, what);
	return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
			     p->name);
}

static void nodes_clear(struct vk_profile_config *c)
{
	for (size_t i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].name);
		free(c->nodes[i].ip);
		free(c->nodes[i].mac);
	}
	free(c->nodes);
	c->nodes = NULL;
	c->nnodes = 0;
}

/* "nodes": a list of { index, name, ip, mac, role }, each name the one its
 * index gives (so nothing but a valid host name reaches XML or a shell),
 * indexes unique and in order, the first the profile's own VM. */
_Static_assert(VK_NODES_MAX == 9, "the message below says 9");

static int nodes_read(struct vk_profile *p, const struct field *f, json_t *v, struct vk_error *err)
{
	struct vk_profile_config *c = &p->cfg;
	struct vk_node *nodes;
	json_t *o;
	size_t i, n;

	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > VK_NODES_MAX)
		return field_bad(p, f, "is not a list of 1 to 9 nodes", err);
	n = json_array_size(v);
	nodes = xcalloc(n, sizeof(*nodes));
	json_array_foreach(v, i, o) {
		json_t *index = json_object_get(o, "index");
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *ip = json_string_value(json_object_get(o, "ip"));
		const char *mac = json_string_value(json_object_get(o, "mac"));
		const char *role = json_string_value(json_object_get(o, "role"));
		_cleanup_free_ char *want = NULL;
		struct in_addr a;
		long idx = json_is_integer(index) ? (long)json_integer_value(index) : 0;

		if (idx >= 1 && idx <= VK_NODES_MAX)
			want = vk_node_name(p->name, idx);
		nodes[i].index = idx;
		if (!want || (i == 0) != (idx == 1) || (i > 0 && idx <= nodes[i - 1].index) || !name ||
		    strcmp(name, want) != 0 || !ip || inet_pton(AF_INET, ip, &a) != 1 || !mac || !valid_mac(mac) || !role ||
		    vk_node_role_parse(role, &nodes[i].role) < 0) {
			c->nodes = nodes;
			c->nnodes = i;
			nodes_clear(c);
			return field_bad(p, f, "holds a node that is not {index, name, ip, mac, role} as virtkube writes it",
					 err);
		}
		nodes[i].name = xstrdup(name);
		nodes[i].ip = xstrdup(ip);
		nodes[i].mac = xstrdup(mac);
	}
	nodes_clear(c);
	c->nodes = nodes;
	c->nnodes = n;
	return 0;
}

static json_t *nodes_write(const struct vk_profile_config *c)
{
	json_t *arr;

	if (!c->nnodes)
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < c->nnodes; i++)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s}", "index", (json_int_t)c->nodes[i].index,
						      "name", c->nodes[i].name, "ip", c->nodes[i].ip, "mac",
						      c->nodes[i].mac, "role", vk_node_role_name(c->nodes[i].role)));
	return arr;
}

static void mounts_clear(struct vk_profile_config *c)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].host);
		free(c->mounts[i].guest);
	}
	free(c->mounts);
	c->mounts = NULL;
	c->nmounts = 0;
}

/* "mounts": a list of { host, guest, readonly }, each path valid and each
 * guest path once, so nothing else reaches the domain XML or the guest. */
static int mounts_read(struct vk_profile *p, const struct field *f, json_t *v, struct vk_error *err)
{
	struct vk_profile_config *c = &p->cfg;
	json_t *o;
	size_t i;

	if (!json_is_array(v))
		return field_bad(p, f, "is not a list", err);
	mounts_clear(c);
	json_array_foreach(v, i, o) {
		const char *host = json_string_value(json_object_get(o, "host"));
		const char *guest = json_string_value(json_object_get(o, "guest"));
		json_t *ro = json_object_get(o, "readonly");

		if (!host || !guest || (ro && !json_is_boolean(ro)) || !vk_mount_paths_valid(host, guest) ||
		    vk_profile_mount_find(p, guest)) {
			mounts_clear(c);
			return field_bad(p, f, "holds a mount that is not {host, guest, readonly} with valid, distinct paths",
					 err);
		}
		vk_profile_mount_add(p, host, guest, json_is_true(ro));
	}
	return 0;
}

static json_t *mounts_write(const struct vk_profile_config *c)
{
	json_t *arr;

	if (!c->nmounts)
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < c->nmounts; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "host", c->mounts[i].host, "guest",
						      c->mounts[i].guest, "readonly", c->mounts[i].readonly));
	return arr;
}

/* Reads field F from V (present) into p->cfg. */
static int field_read(struct vk_profile *p, const struct field *f, json_t *v, struct vk_error *err)
{
	struct vk_profile_config *c = &p->cfg;

	switch (f->type) {
	case FIELD_STR:
		if (!json_is_string(v))
			return field_bad(p, f, "is not a string", err);
		if (!field_string_ok(f, json_string_value(v)))
			return field_bad(p, f, "has an invalid value", err);
		vk_profile_set_str(MEMBER(c, f, char *), json_string_value(v));
		return 0;
	case FIELD_LONG: {
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

		if (!json_is_integer(v))
			return field_bad(p, f, "is not an integer", err);
		if ((f->check == CHECK_POSITIVE && (n < 1 || n > 1L << 40)) || (f->check == CHECK_PORT && (n < 1 || n > 65535)))
			return field_bad(p, f, "is out of range", err);
		*MEMBER(c, f, long) = (long)n;
		return 0;
	}
	case FIELD_BOOL:
		if (!json_is_boolean(v))
			return field_bad(p, f, "is not true or false", err);
		*MEMBER(c, f, bool) = json_is_true(v);
		return 0;
	case FIELD_KIND:
		if (!json_is_boolean(v))
			return field_bad(p, f, "is not true or false", err);
		*MEMBER(c, f, enum vk_profile_kind) = json_is_true(v) ? VK_KIND_KUBERNETES : VK_KIND_PLAIN;
		return 0;
	case FIELD_STATE:
		for (size_t i = VK_PROFILE_CREATED; json_is_string(v) && i < VK_ARRAY_SIZE(state_names); i++)
			if (strcmp(json_string_value(v), state_names[i]) == 0) {
				*MEMBER(c, f, enum vk_profile_state) = (enum vk_profile_state)i;
				return 0;
			}
		return field_bad(p, f, "is not \"Created\", \"Running\" or \"Stopped\"", err);
	case FIELD_NODES:
		return nodes_read(p, f, v, err);
	case FIELD_MOUNTS:
		return mounts_read(p, f, v, err);
	case FIELD_STRV: {
		char **names;
		json_t *s;
		size_t i;

		if (!json_is_array(v))
			return field_bad(p, f, "is not a list", err);
		names = xcalloc(json_array_size(v) + 1, sizeof(char *));
		json_array_foreach(v, i, s) {
			if (!json_is_string(s)) {
				vk_strv_free(names);
				return field_bad(p, f, "holds something that is not a string", err);
			}
			names[i] = xstrdup(json_string_value(s));
		}
		vk_strv_free(*MEMBER(c, f, char **));
		*MEMBER(c, f, char **) = names;
		return 0;
	}
	}
	return 0;
}

/* Field F of p->cfg as JSON; NULL when not set. */
static json_t *field_write(const struct vk_profile *p, const struct field *f)
{
	const struct vk_profile_config *c = &p->cfg;

	switch (f->type) {
	case FIELD_STR: {
		const char *s = *MEMBER(c, f, char *const);

		return s ? json_string(s) : NULL;
	}
	case FIELD_LONG:
		return *MEMBER(c, f, const long) ? json_integer(*MEMBER(c, f, const long)) : NULL;
	case FIELD_BOOL:
		return *MEMBER(c, f, const bool) ? json_true() : NULL;
	case FIELD_KIND: {
		enum vk_profile_kind k = *MEMBER(c, f, const enum vk_profile_kind);

		return k == VK_KIND_UNDECIDED ? NULL : json_boolean(k == VK_KIND_KUBERNETES);
	}
	case FIELD_STATE: {
		enum vk_profile_state s = *MEMBER(c, f, const enum vk_profile_state);

		return s == VK_PROFILE_NEW ? NULL : json_string(state_names[s]);
	}
	case FIELD_NODES:
		return nodes_write(c);
	case FIELD_MOUNTS:
		return mounts_write(c);
	case FIELD_STRV: {
		char *const *names = *MEMBER(c, f, char **const);
		json_t *arr;

		if (!names)
			return NULL;
		arr = json_array();
		for (char *const *n = names; *n; n++)
			json_array_append_new(arr, json_string(*n));
		return arr;
	}
	}
	return NULL;
}

static void config_clear(struct vk_profile_config *c)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(fields); i++) {
		if (fields[i].type == FIELD_STR)
			vk_profile_set_str(MEMBER(c, &fields[i], char *), NULL);
		else if (fields[i].type == FIELD_STRV)
			vk_strv_free(*MEMBER(c, &fields[i], char **));
	}
	nodes_clear(c);
	mounts_clear(c);
	memset(c, 0, sizeof(*c));
}

/* Fills p->cfg from the parsed file ROOT; what it does not know stays in p->unknown. */
static int config_from_json(struct vk_profile *p, json_t *root, struct vk_error *err)
{
	json_t *minor = json_object_get(root, "schema_minor");

	p->schema_minor = json_is_integer(minor) ? (long)json_integer_value(minor) : 0;
	for (size_t i = 0; i < VK_ARRAY_SIZE(fields); i++) {
		json_t *v = json_object_get(root, fields[i].key);

		if (v && !json_is_null(v) && field_read(p, &fields[i], v, err) < 0)
			return -1;
		json_object_del(root, fields[i].key);
	}
	/* A bridged profile's nodes need their bridge and addresses. */
	if (vk_profile_bridged(p) && (!p->cfg.bridge || !p->cfg.bridge_ip)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' has \"network_mode\" \"bridge\" without "
			     "\"bridge\" and \"bridge_ip\"", p->name, p->config_path);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	/* A profile from before multi-node: its one VM as node 1. */
	if (!p->cfg.nnodes && p->cfg.node_ip && p->cfg.mac)
		vk_profile_node_add(p, 1, p->cfg.node_ip, p->cfg.mac,
				    p->cfg.kind == VK_KIND_PLAIN ? VK_ROLE_PLAIN : VK_ROLE_CONTROL_PLANE);
	json_object_del(root, "schema");
	json_object_del(root, "schema_minor");
	json_object_del(root, "name");
	p->unknown = json_incref(root);
	return 0;
}

static int load_config(struct vk_profile *p, struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
	json_auto_t *root = NULL;
	json_error_t jerr;
	json_t *schema;
	size_t len;

	if (vk_read_file(p->config_path, &text, &len, err) < 0) {
		if (err && err->code == VK_ERR_NOT_FOUND)
			vk_error_set(err, VK_ERR_NOT_FOUND, "profile '%s' does not exist", p->name);
		else
			vk_error_prefix(err, "cannot load profile '%s'", p->name);
		return -1;
	}
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' line %d: %s", p->name,
			     p->config_path, jerr.line, jerr.text);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	if (!json_is_object(root)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' is not a JSON object", p->name,
			     p->config_path);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	schema = json_object_get(root, "schema");
	if (!json_is_integer(schema)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' has no integer \"schema\"", p->name,
			     p->config_path);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	if (json_integer_value(schema) > VK_PROFILE_SCHEMA) {
		vk_error_set(err, VK_ERR_UNSUPPORTED,
			     "cannot load profile '%s': '%s' was written by a newer virtkube (schema %lld, this one knows %d)",
			     p->name, p->config_path, (long long)json_integer_value(schema), VK_PROFILE_SCHEMA);
		return vk_error_hint(err, "upgrade virtkube; the file was left as it is");
	}
	if (config_from_json(p, root, err) < 0)
		return -1;
	p->exists = true;
	return 0;
}

struct vk_profile *vk_profile_open(const char *name, bool create, struct vk_error *err)
{
	_cleanup_free_ char *home = NULL;
	struct vk_profile *p;
	struct vk_error local;

	if (vk_profile_name_check(name, err) < 0)
		return NULL;
	home = vk_home_dir(err);
	if (!home)
		return NULL;
	p = profile_alloc(home, name);
	vk_error_clear(&local);
	if (load_config(p, &local) == 0)
		return p;
	if (local.code == VK_ERR_NOT_FOUND && create) {
		config_clear(&p->cfg);
		return p;
	}
	if (err)
		*err = local;
	vk_profile_free(p);
	return NULL;
}

int vk_profile_save(struct vk_profile *p, struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
	json_auto_t *root = p->unknown ? json_deep_copy(p->unknown) : json_object();

	if (vk_home_ensure(p->home, err) < 0)
		return -1;
	if (vk_mkdir_p(p->dir, 0700, err) < 0)
		return vk_error_prefix(err, "cannot save profile '%s'", p->name);
	json_object_set_new(root, "schema", json_integer(VK_PROFILE_SCHEMA));
	json_object_set_new(root, "schema_minor",
			    json_integer(p->schema_minor > VK_PROFILE_SCHEMA_MINOR ? p->schema_minor : VK_PROFILE_SCHEMA_MINOR));
	json_object_set_new(root, "name", json_string(p->name));
	for (size_t i = 0; i < VK_ARRAY_SIZE(fields); i++) {
		json_t *v = field_write(p, &fields[i]);

		if (v)
			json_object_set_new(root, fields[i].key, v);
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return vk_error_set(err, VK_ERR_FAILED, "cannot save profile '%s': cannot encode its config", p->name);
	if (vk_write_file_atomic(p->config_path, text, strlen(text), 0600, err) < 0)
		return vk_error_prefix(err, "cannot save profile '%s'", p->name);
	p->exists = true;
	return 0;
}

void vk_profile_free(struct vk_profile *p)
{
	if (!p)
		return;
	vk_lock_release(&p->lock);
	config_clear(&p->cfg);
	json_decref(p->unknown);
	free(p->name);
	free(p->home);
	free(p->dir);
	free(p->config_path);
	free(p);
}

char *vk_profile_path(const struct vk_profile *p, const char *file)
{
	return vk_path_join(p->dir, file);
}

int vk_profile_lock(struct vk_profile *p, long timeout_ms, struct vk_error *err)
{
	_cleanup_free_ char *locks = vk_path_join(p->home, "locks");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *what = NULL;

	if (p->lock.fd >= 0)
		return 0;
	if (vk_home_ensure(p->home, err) < 0 || vk_mkdir_p(locks, 0700, err) < 0)
		return -1;
	path = xasprintf("%s/%s.lock", locks, p->name);
	what = xasprintf("profile '%s'", p->name);
	return vk_lock_acquire(&p->lock, path, what, timeout_ms, err);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **vk_profile_list(const char *home, struct vk_error *err)
{
	_cleanup_free_ char *profiles = vk_path_join(home, "profiles");
	DIR *dir = opendir(profiles);
	struct dirent *de;
	char **names;
	size_t n = 0, alloc = 8;

	names = xcalloc(alloc, sizeof(char *));
	if (!dir) {
		if (errno == ENOENT)
			return names;
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot list profiles in '%s'", profiles);
		free(names);
		return NULL;
	}
	while ((de = readdir(dir))) {
		if (vk_profile_name_check(de->d_name, NULL) < 0)
			continue;
		if (n + 2 > alloc) {
			alloc *= 2;
			names = xrealloc(names, alloc * sizeof(char *));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	names[n] = NULL;
	qsort(names, n, sizeof(char *), compare_names);
	return names;
}

void vk_profile_set_str(char **field, const char *value)
{
	char *copy = value ? xstrdup(value) : NULL;

	free(*field);
	*field = copy;
}

void vk_profile_set_addons(struct vk_profile *p, const char *const *names)
{
	char **copy = vk_strv_copy(names);

	vk_strv_free(p->cfg.addons);
	p->cfg.addons = copy;
}

void vk_profile_mount_add(struct vk_profile *p, const char *host, const char *guest, bool readonly)
{
	struct vk_profile_config *c = &p->cfg;

	c->mounts = xrealloc(c->mounts, (c->nmounts + 1) * sizeof(*c->mounts));
	c->mounts[c->nmounts++] = (struct vk_mount){ .host = xstrdup(host), .guest = xstrdup(guest), .readonly = readonly };
}

bool vk_profile_mount_remove(struct vk_profile *p, const char *guest)
{
	struct vk_profile_config *c = &p->cfg;

	for (size_t i = 0; i < c->nmounts; i++) {
		if (strcmp(c->mounts[i].guest, guest) != 0)
			continue;
		free(c->mounts[i].host);
		free(c->mounts[i].guest);
		memmove(&c->mounts[i], &c->mounts[i + 1], (c->nmounts - i - 1) * sizeof(*c->mounts));
		c->nmounts--;
		return true;
	}
	return false;
}

const struct vk_mount *vk_profile_mount_find(const struct vk_profile *p, const char *guest)
{
	for (size_t i = 0; i < p->cfg.nmounts; i++)
		if (strcmp(p->cfg.mounts[i].guest, guest) == 0)
			return &p->cfg.mounts[i];
	return NULL;
}

/* Absolute, more than "/", no empty, "." or ".." component, no trailing '/'. */
static bool path_normal(const char *path)
{
	const char *s = path;

	if (!path || path[0] != '/' || path[1] == '\0')
		return false;
	while (*s == '/') {
		size_t n = strcspn(s + 1, "/");

		if (n == 0 || (n == 1 && s[1] == '.') || (n == 2 && s[1] == '.' && s[2] == '.'))
			return false;
		s += 1 + n;
	}
	return *s == '\0';
}

bool vk_mount_paths_valid(const char *host, const char *guest)
{
	if (!path_normal(host) || !path_normal(guest))
		return false;
	for (const char *c = guest; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr("/._-+", *c)))
			return false;
	return true;
}

struct vk_node *vk_profile_node_add(struct vk_profile *p, long index, const char *ip, const char *mac,
				    enum vk_node_role role)
{
	struct vk_profile_config *c = &p->cfg;
	size_t at = 0;

	while (at < c->nnodes && c->nodes[at].index < index)
		at++;
	if (at < c->nnodes && c->nodes[at].index == index) {
		vk_profile_set_str(&c->nodes[at].ip, ip);
		vk_profile_set_str(&c->nodes[at].mac, mac);
		c->nodes[at].role = role;
		return &c->nodes[at];
	}
	c->nodes = xrealloc(c->nodes, (c->nnodes + 1) * sizeof(*c->nodes));
	memmove(&c->nodes[at + 1], &c->nodes[at], (c->nnodes - at) * sizeof(*c->nodes));
	c->nnodes++;
	c->nodes[at] = (struct vk_node){ .index = index, .name = vk_node_name(p->name, index), .ip = xstrdup(ip),
					 .mac = xstrdup(mac), .role = role };
	return &c->nodes[at];
}

void vk_profile_node_remove(struct vk_profile *p, long index)
{
	struct vk_profile_config *c = &p->cfg;

	for (size_t i = 0; i < c->nnodes; i++) {
		if (c->nodes[i].index != index)
			continue;
		free(c->nodes[i].name);
		free(c->nodes[i].ip);
		free(c->nodes[i].mac);
		memmove(&c->nodes[i], &c->nodes[i + 1], (c->nnodes - i - 1) * sizeof(*c->nodes));
		c->nnodes--;
		return;
	}
}

bool vk_profile_bridged(const struct vk_profile *p)
{
	return p->cfg.network_mode && strcmp(p->cfg.network_mode, "bridge") == 0;
}

bool vk_ifname_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len < 1 || len > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

bool vk_profile_kubernetes(const struct vk_profile *p)
{
	return p->cfg.kind != VK_KIND_PLAIN;
}

int vk_profile_api_port(const struct vk_profile *p)
{
	return p->cfg.api_port ? (int)p->cfg.api_port : VK_API_PORT;
}

const char *vk_profile_state_name(enum vk_profile_state s)
{
	return s == VK_PROFILE_NEW ? state_names[VK_PROFILE_CREATED] : state_names[s];
}

bool vk_profile_running(const struct vk_profile *p)
{
	return p->cfg.state == VK_PROFILE_RUNNING;
}

/* Node names and roles: what config.json records of each node. */
static const char *const role_names[] = {
	[VK_ROLE_CONTROL_PLANE] = "control-plane",
	[VK_ROLE_WORKER] = "worker",
	[VK_ROLE_PLAIN] = "plain",
};

const char *vk_node_role_name(enum vk_node_role role)
{
	return (size_t)role < VK_ARRAY_SIZE(role_names) ? role_names[role] : "unknown";
}

int vk_node_role_parse(const char *name, enum vk_node_role *role)
{
	for (size_t i = 0; i < VK_ARRAY_SIZE(role_names); i++)
		if (strcmp(name, role_names[i]) == 0) {
			*role = (enum vk_node_role)i;
			return 0;
		}
	return -1;
}

char *vk_node_name(const char *profile, long index)
{
	return index == 1 ? xstrdup(profile) : xasprintf("%s-m%02ld", profile, index);
}
