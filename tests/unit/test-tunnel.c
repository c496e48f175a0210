/* virtkube tunnel and the ssh jump: the tunnel's ssh arguments, the kubeconfig pointed at the tunnel and back (a temp file), the SSH wait through a jump and ssh -F from VIRTKUBE_SSH_CONFIG (a fake ssh on PATH), the process stop flag. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/tunnel.h"
#include "kube/kubeconfig.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/xalloc.h"
#include "vm/guestssh.h"

static void bail(const char *what, const char *name, const char *why)
{
	printf("Bail out! %s %s: %s\n", what, name, why);
	exit(1);
}

static char *joined(char **argv)
{
	return vk_strv_join((const char *const *)argv, " ");
}

static void put(const char *path, const char *text, mode_t mode)
{
	struct vk_error err = { 0 };

	if (vk_write_file_atomic(path, text, strlen(text), mode, &err) < 0)
		bail("cannot write", path, err.message);
}

static struct vk_profile *profile(const char *name, const char *uri)
{
	struct vk_error err = { 0 };
	struct vk_profile *p = vk_profile_open(name, true, &err);
	_cleanup_free_ char *key = NULL, *ca = NULL, *cert = NULL, *ckey = NULL;

	if (!p)
		bail("cannot make profile", name, err.message);
	vk_profile_set_str(&p->cfg.libvirt_uri, uri);
	vk_profile_set_str(&p->cfg.node_ip, "192.168.122.10");
	p->cfg.api_port = 8443;
	p->cfg.state = VK_PROFILE_RUNNING;
	p->cfg.kind = VK_KIND_KUBERNETES;
	if (vk_profile_save(p, &err) < 0)
		bail("cannot save profile", name, err.message);
	key = vk_profile_path(p, VK_FILE_SSH_KEY);
	ca = vk_profile_path(p, VK_FILE_CA_CERT);
	cert = vk_profile_path(p, VK_FILE_CLIENT_CERT);
	ckey = vk_profile_path(p, VK_FILE_CLIENT_KEY);
	put(key, "not a key\n", 0600);
	put(ca, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n", 0644);
	put(cert, "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n", 0644);
	put(ckey, "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n", 0600);
	return p;
}

static void test_argv(void)
{
	_cleanup_profile_ struct vk_profile *local = profile("tun-local", "qemu:///system");
	_cleanup_profile_ struct vk_profile *tcp = profile("tun-tcp", "qemu+tcp://10.0.0.5/system");
	_cleanup_profile_ struct vk_profile *remote = profile("tun-ssh", "qemu+ssh://me@bigbox:2222/system?keyfile=k");
	struct vk_error err = { 0 };
	char **argv;
	_cleanup_free_ char *line = NULL, *line2 = NULL;

	unsetenv("VIRTKUBE_SSH_JUMP");
	unsetenv("VIRTKUBE_SSH_CONFIG");
	ok(!vk_tunnel_argv(local, 40000, &err), "a local profile: no tunnel");
	ok(strstr(err.message, "runs on this host: no tunnel is needed") != NULL, "saying it is not needed (%s)",
	   err.message);
	is_int(err.code, VK_ERR_INVALID, "as a usage error");
	vk_error_clear(&err);
	ok(!vk_tunnel_argv(tcp, 40000, &err), "qemu+tcp without VIRTKUBE_SSH_JUMP: no way to the host");
	ok(strstr(err.hint, "VIRTKUBE_SSH_JUMP") != NULL, "the hint names VIRTKUBE_SSH_JUMP (%s)", err.hint);
	vk_error_clear(&err);

	argv = vk_tunnel_argv(remote, 40000, &err);
	ok(argv != NULL, "qemu+ssh: a tunnel (%s)", err.message);
	line = argv ? joined(argv) : xstrdup("");
	vk_guest_ssh_argv_free(argv);
	ok(strncmp(line, "ssh -i ", 7) == 0, "ssh with the profile's key first (%s)", line);
	ok(strstr(line, " -J me@bigbox:2222 ") != NULL, "through the URI's user, host and port");
	ok(strstr(line, " -N -o ExitOnForwardFailure=yes -o ServerAliveInterval=30 "
			"-L 127.0.0.1:40000:192.168.122.10:8443 docker@192.168.122.10") != NULL,
	   "no command, forwarding 127.0.0.1:PORT to the node's API port, into the node");
	ok(strstr(line, "BatchMode=yes") != NULL, "never asking anything");
	ok(strstr(line, " -- ") == NULL, "and no command words");

	setenv("VIRTKUBE_SSH_CONFIG", "/tmp/some ssh config", 1);
	setenv("VIRTKUBE_SSH_JUMP", "root@10.231.0.1", 1);
	argv = vk_tunnel_argv(tcp, 1234, &err);
	line2 = argv ? joined(argv) : xstrdup("");
	ok(argv && strcmp(argv[1], "-F") == 0 && strcmp(argv[2], "/tmp/some ssh config") == 0,
	   "VIRTKUBE_SSH_CONFIG: ssh -F FILE first (%s)", line2);
	ok(strstr(line2, " -J root@10.231.0.1 ") != NULL, "VIRTKUBE_SSH_JUMP gives a qemu+tcp profile its jump");
	vk_guest_ssh_argv_free(argv);
	unsetenv("VIRTKUBE_SSH_CONFIG");
	unsetenv("VIRTKUBE_SSH_JUMP");
}

static const char other[] = "apiVersion: v1\n"
			    "kind: Config\n"
			    "# theirs\n"
			    "clusters:\n"
			    "- name: theirs\n"
			    "  cluster:\n"
			    "    server: https://10.9.9.9:6443\n"
			    "contexts:\n"
			    "- name: theirs\n"
			    "  context:\n"
			    "    cluster: theirs\n"
			    "    user: theirs\n"
			    "current-context: theirs\n"
			    "users:\n"
			    "- name: theirs\n"
			    "  user:\n"
			    "    token: abc\n";

static void test_kubeconfig(const char *dir)
{
	_cleanup_profile_ struct vk_profile *p = profile("tun-kc", "qemu+ssh://root@10.231.0.1/system");
	_cleanup_free_ char *path = xasprintf("%s/kubeconfig", dir);
	_cleanup_free_ char *before = NULL, *on = NULL, *back = NULL;
	struct vk_kubeconfig_entry e;
	enum vk_kubeconfig_state state;
	struct vk_error err = { 0 };

	put(path, other, 0600);
	/* the entry as start writes it */
	ok(vk_tunnel_kubeconfig(p, path, 0, &err) == 0, "the node's entry written (%s)", err.message);
	vk_read_file(path, &before, NULL, &err);
	ok(vk_tunnel_kubeconfig(p, path, 40000, &err) == 0, "pointed at the tunnel (%s)", err.message);
	vk_read_file(path, &on, NULL, &err);
	ok(strstr(on, "    server: https://127.0.0.1:40000\n    tls-server-name: kubernetes\n") != NULL,
	   "its server is 127.0.0.1:PORT, with tls-server-name: kubernetes");
	ok(strstr(on, "server: https://192.168.122.10:8443") == NULL, "and no longer the node's address");
	ok(strstr(on, "# theirs\n") && strstr(on, "server: https://10.9.9.9:6443") && strstr(on, "token: abc") &&
		   strstr(on, "current-context: theirs"),
	   "someone else's entries, comment and current context are kept");
	ok(vk_kubeconfig_entry_load(&e, p, &err) == 0, "the node's entry loads");
	vk_kubeconfig_check(path, &e, &state, NULL, &err);
	is_str(vk_kubeconfig_state_name(state), "Misconfigured", "status sees the entry differ while the tunnel runs");
	ok(vk_tunnel_kubeconfig(p, path, 0, &err) == 0, "pointed back (%s)", err.message);
	vk_read_file(path, &back, NULL, &err);
	is_str(back, before, "the file is byte for byte what it was before the tunnel");
	ok(strstr(back, "tls-server-name") == NULL, "no tls-server-name left");
	vk_kubeconfig_check(path, &e, &state, NULL, &err);
	is_str(vk_kubeconfig_state_name(state), "Configured", "and status sees the entry as start wrote it");
	vk_kubeconfig_entry_clear(&e);
}

/* A fake ssh on PATH: records its arguments, fails (saying so) until a given try. */
static void fake_ssh(const char *dir, int ok_on_try)
{
	_cleanup_free_ char *path = xasprintf("%s/bin/ssh", dir);
	_cleanup_free_ char *script = xasprintf("#!/bin/sh\n"
						"echo \"$*\" >> '%s/ssh.args'\n"
						"n=$(wc -l < '%s/ssh.args')\n"
						"[ \"$n\" -ge %d ] && exit 0\n"
						"echo 'ssh: connect to host 192.168.122.10 port 22: No route to host' >&2\n"
						"exit 255\n",
						dir, dir, ok_on_try);
	_cleanup_free_ char *args = xasprintf("%s/ssh.args", dir);

	unlink(args);
	put(path, script, 0755);
}

static void test_wait_ssh(const char *dir)
{
	_cleanup_profile_ struct vk_profile *p = profile("tun-wait", "qemu+ssh://root@10.231.0.1/system");
	_cleanup_free_ char *bin = xasprintf("%s/bin", dir), *args = xasprintf("%s/ssh.args", dir);
	_cleanup_free_ char *old_path = xstrdup(getenv("PATH")), *path = xasprintf("%s:%s", bin, old_path);
	_cleanup_free_ char *seen = NULL;
	struct vk_error err = { 0 };

	mkdir(bin, 0755);
	setenv("PATH", path, 1);
	setenv("VIRTKUBE_SSH_CONFIG", "/tmp/cfg", 1);
	fake_ssh(dir, 2);
	ok(vk_guest_wait_ssh_jump(p, "192.168.122.10", 10000, &err) == 0, "the SSH wait through the jump succeeds (%s)",
	   err.message);
	vk_read_file(args, &seen, NULL, &err);
	ok(seen && strstr(seen, "-F /tmp/cfg -i ") != NULL, "ssh -F from VIRTKUBE_SSH_CONFIG");
	ok(seen && strstr(seen, "-J root@10.231.0.1 docker@192.168.122.10 -- true\n") != NULL,
	   "a login through the libvirt host that runs true");
	ok(seen && strchr(seen, '\n') != strrchr(seen, '\n'), "tried again after a failure");

	fake_ssh(dir, 1000);
	ok(vk_guest_wait_ssh_jump(p, "192.168.122.10", 1500, &err) < 0, "a node that never answers: the wait fails");
	is_int(err.code, VK_ERR_TIMEOUT, "as a timeout (the boot's slices go on)");
	ok(strstr(err.message, "through 'root@10.231.0.1'") && strstr(err.message, "No route to host"),
	   "naming the jump and what ssh said (%s)", err.message);
	setenv("PATH", old_path, 1);
	unsetenv("VIRTKUBE_SSH_CONFIG");
}

static void test_stop_flag(void)
{
	_cleanup_process_ struct vk_process p = VK_PROCESS_INIT;
	struct vk_error err = { 0 };
	volatile int stop = 0;
	int r;

	p.argv = (const char *const[]){ "sleep", "30", NULL };
	ok(vk_process_start(&p, &err) == 0, "a sleep starts");
	is_int(vk_process_poll(&p, &err), 0, "poll: it runs");
	stop = 1;
	p.stop = &stop;
	ok(vk_process_finish(&p, &err) == 0, "finish with the stop flag set returns");
	ok(p.status.end == VK_PROCESS_SIGNALED && p.status.signal == SIGTERM, "the child got SIGTERM");
	vk_process_release(&p);
	p.argv = (const char *const[]){ "true", NULL };
	p.stop = NULL;
	ok(vk_process_start(&p, &err) == 0, "a true starts");
	r = 0;
	for (int i = 0; i < 100 && (r = vk_process_poll(&p, &err)) == 0; i++)
		usleep(20000);
	is_int(r, 1, "poll: it ended");
	ok(vk_process_succeeded(&p), "with status 0");
}

int main(void)
{
	_cleanup_free_ char *dir = tap_tmpdir();
	_cleanup_free_ char *home = xasprintf("%s/home", dir);

	setenv("VIRTKUBE_HOME", home, 1);
	test_argv();
	test_kubeconfig(dir);
	test_wait_ssh(dir);
	test_stop_flag();
	return done_testing();
}
