/* Unit tests for src/profile: name rule, config load/save, corrupt files, schema, lock. */
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile/profile.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void test_names(void)
{
	const char *good[] = { "a", "virtkube", "dev-1", "0", "a-b-c", "x123456789012345678901234567890123456789012345678901234567890yz" };
	const char *bad[] = { "", "A", "-x", "x-", "a_b", "../x", "a/b", "a.b", "a b", "é",
			      "x1234567890123456789012345678901234567890123456789012345678901yz" };
	struct vk_error err = { 0 };

	for (size_t i = 0; i < VK_ARRAY_SIZE(good); i++)
		ok(vk_profile_name_check(good[i], &err) == 0, "profile name '%s' is accepted", good[i]);
	for (size_t i = 0; i < VK_ARRAY_SIZE(bad); i++) {
		ok(vk_profile_name_check(bad[i], &err) < 0 && err.code == VK_ERR_INVALID,
		   "profile name '%s' is refused", bad[i]);
		contains(err.hint, "a-z, 0-9 and '-'", "the refusal states the rule");
	}
	ok(strlen(good[5]) == 63 && strlen(bad[10]) == 64, "the length cases are 63 and 64 characters");
	vk_profile_name_check(bad[10], &err);
	contains(err.message, "at most 63", "a long name is refused for its length");
}

static void write_config(const char *home, const char *name, const char *text)
{
	_cleanup_free_ char *dir = xasprintf("%s/profiles/%s", home, name);
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir);

	vk_mkdir_p(dir, 0700, NULL);
	vk_write_file_atomic(path, text, strlen(text), 0600, NULL);
}

static char *slurp(const char *home, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/profiles/%s/config.json", home, name);
	char *data = NULL;

	vk_read_file(path, &data, NULL, NULL);
	return data;
}

static void test_config(const char *home)
{
	struct vk_error err = { 0 };
	struct vk_profile *p;
	_cleanup_free_ char *cfg = NULL;
	_cleanup_strv_ char **names = NULL;
	struct stat st;

	p = vk_profile_open("dev", false, &err);
	ok(!p && err.code == VK_ERR_NOT_FOUND, "opening a missing profile without create is NOT_FOUND");
	contains(err.message, "profile 'dev' does not exist", "and names the profile");

	p = vk_profile_open("dev", true, &err);
	ok(p && !p->exists, "create gives an unsaved profile");
	p->cfg.state = VK_PROFILE_STOPPED;
	p->cfg.cpus = 2;
	p->cfg.kind = VK_KIND_PLAIN;
	vk_profile_set_str(&p->cfg.node_ip, "192.168.100.2");
	vk_profile_set_addons(p, (const char *[]){ "dns", "ingress", NULL });
	ok(vk_profile_save(p, &err) == 0, "the profile saves");
	ok(stat(p->dir, &st) == 0 && (st.st_mode & 0777) == 0700, "the profile directory is 0700");
	ok(stat(p->config_path, &st) == 0 && (st.st_mode & 0777) == 0600, "config.json is 0600");
	vk_profile_free(p);

	p = vk_profile_open("dev", false, &err);
	ok(p && p->exists, "the saved profile loads");
	is_int(p ? (int)p->cfg.state : -1, VK_PROFILE_STOPPED, "the state survives the round trip");
	is_str(p ? p->cfg.node_ip : NULL, "192.168.100.2", "a string survives the round trip");
	is_int(p ? p->cfg.cpus : 0, 2, "an integer survives the round trip");
	ok(p && p->cfg.kind == VK_KIND_PLAIN && !vk_profile_kubernetes(p), "--no-kubernetes survives the round trip");
	ok(p && p->cfg.addons && strcmp(p->cfg.addons[1], "ingress") == 0 && !p->cfg.addons[2],
	   "the addon list survives the round trip");
	ok(p && !p->cfg.mac && !p->cfg.memory_mib && !p->cfg.provisioned, "unset fields stay unset");
	is_int(p ? vk_profile_api_port(p) : 0, VK_API_PORT, "an unset API port is the default");
	vk_profile_free(p);
	cfg = slurp(home, "dev");
	contains(cfg, "\"schema\": 1", "the schema version is stored");
	contains(cfg, "\"state\": \"Stopped\"", "the state is stored by name");
	ok(cfg && !strstr(cfg, "\"mac\""), "an unset field is not written");
	free(TAKE_PTR(cfg));

	write_config(home, "broken", "{\"schema\": 1, \"name\": \"bro");
	p = vk_profile_open("broken", true, &err);
	ok(!p && err.code == VK_ERR_PARSE, "a truncated config.json is a parse error, even with create");
	contains(err.message, "config.json", "the error names the file");
	contains(err.message, "line 1", "the error gives the parse position");
	cfg = slurp(home, "broken");
	is_str(cfg, "{\"schema\": 1, \"name\": \"bro", "the truncated file is left untouched");

	write_config(home, "wrongtype", "{\"schema\": 1, \"name\": \"wrongtype\", \"cpus\": \"two\"}");
	p = vk_profile_open("wrongtype", false, &err);
	ok(!p && err.code == VK_ERR_PARSE, "a key of the wrong type is refused");
	contains(err.message, "\"cpus\"", "naming the key");
	contains(err.message, "is not an integer", "and what is wrong with it");

	write_config(home, "badip", "{\"schema\": 1, \"name\": \"badip\", \"node_ip\": \"1.2.3.4; rm -rf /\"}");
	p = vk_profile_open("badip", false, &err);
	ok(!p && err.code == VK_ERR_PARSE, "a node_ip that is not an IPv4 address is refused before it reaches XML or shell");
	contains(err.message, "\"node_ip\"", "naming the key");

	write_config(home, "badstate", "{\"schema\": 1, \"name\": \"badstate\", \"state\": \"Flying\"}");
	p = vk_profile_open("badstate", false, &err);
	ok(!p && err.code == VK_ERR_PARSE, "an unknown state is refused");

	/* A newer minor schema only adds keys: they survive a save by this version. */
	write_config(home, "minor", "{\"schema\": 1, \"schema_minor\": 7, \"name\": \"minor\", \"cpus\": 4, "
				     "\"future_thing\": {\"a\": [1, 2]}}");
	p = vk_profile_open("minor", false, &err);
	ok(p != NULL, "a config.json of a newer minor schema loads (%s)", err.message);
	if (p) {
		p->cfg.cpus = 6;
		ok(vk_profile_save(p, &err) == 0, "and saves");
		vk_profile_free(p);
	}
	free(cfg);
	cfg = slurp(home, "minor");
	contains(cfg, "\"future_thing\": {", "a key this version does not know is kept");
	contains(cfg, "\"schema_minor\": 7", "so is the newer minor number");
	contains(cfg, "\"cpus\": 6", "and the known key is updated");
	free(TAKE_PTR(cfg));

	write_config(home, "array", "[1,2]");
	p = vk_profile_open("array", false, &err);
	ok(!p && err.code == VK_ERR_PARSE, "a config.json that is not an object is refused");

	write_config(home, "future", "{\"schema\": 99, \"name\": \"future\"}");
	p = vk_profile_open("future", false, &err);
	ok(!p && err.code == VK_ERR_UNSUPPORTED, "a config from a newer schema is refused");
	contains(err.message, "newer virtkube", "and says so");

	{
		_cleanup_free_ char *dir = xasprintf("%s/profiles/isdir/config.json", home);

		vk_mkdir_p(dir, 0700, NULL);
		p = vk_profile_open("isdir", true, &err);
		ok(!p, "a config.json that is a directory is refused");
		contains(err.message, "is a directory", "and the error says it is a directory");
		ok(vk_is_dir(dir), "the directory is left as it is");
	}

	p = vk_profile_open("../x", true, &err);
	ok(!p && err.code == VK_ERR_INVALID, "a path-like name is refused before any path is built");

	names = vk_profile_list(home, &err);
	ok(names != NULL, "profiles are listed");
	is_str(names ? names[0] : NULL, "array", "sorted first");
	is_str(names ? names[5] : NULL, "future", "sorted sixth");
	is_str(names ? names[6] : NULL, "isdir", "sorted seventh");
	ok(names && names[8] && !strcmp(names[8], "wrongtype") && names[9] == NULL, "exactly nine entries");
}

static void test_lock(const char *home)
{
	struct vk_error err = { 0 };
	_cleanup_profile_ struct vk_profile *a = vk_profile_open("locked", true, &err);
	_cleanup_profile_ struct vk_profile *b = vk_profile_open("locked", true, &err);
	int status;
	pid_t pid;

	(void)home;
	ok(a && vk_profile_lock(a, 0, &err) == 0, "the first lock is taken");
	pid = fork();
	if (pid == 0) {
		struct vk_error child_err = { 0 };
		int rc = vk_profile_lock(b, 100, &child_err);
		char want[64];

		snprintf(want, sizeof(want), "pid %d", (int)getppid());
		_exit(rc < 0 && child_err.code == VK_ERR_BUSY && strstr(child_err.message, want) ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "another process cannot take the profile lock and is told the holder's pid");
	vk_lock_release(&a->lock);
	ok(vk_profile_lock(b, 0, &err) == 0, "after release the lock can be taken");
}

/* A read-only home: a read-only tmpfs in a private mount namespace when we
 * may mount (root), else a 0555 directory (permissions bind non-root users). */
static void test_readonly_home(const char *tmp)
{
	_cleanup_free_ char *ro = xasprintf("%s/ro", tmp);
	int status;
	pid_t pid;

	vk_mkdir_p(ro, 0555, NULL);
	chmod(ro, 0555);
	pid = fork();
	if (pid == 0) {
		_cleanup_free_ char *home = xasprintf("%s/home", ro);
		struct vk_error err = { 0 };
		struct vk_profile *p;

		if (geteuid() == 0 && (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
				       mount("tmpfs", ro, "tmpfs", MS_RDONLY, NULL) < 0))
			_exit(77);
		setenv("VIRTKUBE_HOME", home, 1);
		p = vk_profile_open("dev", true, &err);
		if (!p || vk_profile_save(p, &err) == 0)
			_exit(2);
		if (!strstr(err.message, "cannot use virtkube home") || !strstr(err.message, home) ||
		    !strstr(err.hint, "VIRTKUBE_HOME"))
			_exit(3);
		vk_profile_free(p);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("ok %d - # SKIP cannot make a read-only mount here (no mount namespace)\n", ++tap_count);
		return;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "saving into a read-only $VIRTKUBE_HOME fails naming the path, with a hint (child status %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", tmp);
	struct vk_error err = { 0 };

	setenv("VIRTKUBE_HOME", home, 1);
	test_names();
	test_config(home);
	test_lock(home);
	test_readonly_home(tmp);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
