/* Profiles: home directory, name rule, config.json, lock (see profile.h). */
#include "profile.h"

#include <dirent.h>
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

static int load_config(struct vk_profile *p, struct vk_error *err)
{
	_cleanup_free_ char *text = NULL;
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
	p->config = json_loadb(text, len, 0, &jerr);
	if (!p->config) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' line %d: %s", p->name,
			     p->config_path, jerr.line, jerr.text);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	if (!json_is_object(p->config)) {
		vk_error_set(err, VK_ERR_PARSE, "cannot load profile '%s': '%s' is not a JSON object", p->name,
			     p->config_path);
		return vk_error_hint(err, "the file was left as it is; fix it, or remove the profile with 'virtkube delete -p %s'",
				     p->name);
	}
	schema = json_object_get(p->config, "schema");
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
		p->config = json_pack("{s:i, s:s}", "schema", VK_PROFILE_SCHEMA, "name", name);
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

	if (vk_home_ensure(p->home, err) < 0)
		return -1;
	if (vk_mkdir_p(p->dir, 0700, err) < 0)
		return vk_error_prefix(err, "cannot save profile '%s'", p->name);
	json_object_set_new(p->config, "schema", json_integer(VK_PROFILE_SCHEMA));
	text = json_dumps(p->config, JSON_INDENT(2) | JSON_SORT_KEYS);
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
	json_decref(p->config);
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

const char *vk_profile_get_str(const struct vk_profile *p, const char *key)
{
	return json_string_value(json_object_get(p->config, key));
}

long long vk_profile_get_int(const struct vk_profile *p, const char *key, long long fallback)
{
	json_t *v = json_object_get(p->config, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

bool vk_profile_get_bool(const struct vk_profile *p, const char *key, bool fallback)
{
	json_t *v = json_object_get(p->config, key);

	return json_is_boolean(v) ? json_is_true(v) : fallback;
}

void vk_profile_set_str(struct vk_profile *p, const char *key, const char *value)
{
	if (value)
		json_object_set_new(p->config, key, json_string(value));
	else
		json_object_del(p->config, key);
}

void vk_profile_set_int(struct vk_profile *p, const char *key, long long value)
{
	json_object_set_new(p->config, key, json_integer(value));
}

void vk_profile_set_bool(struct vk_profile *p, const char *key, bool value)
{
	json_object_set_new(p->config, key, json_boolean(value));
}
