/* Unit tests for src/preflight: the report on libvirt's test driver, injected memory figures, qemu's reach into the home, the error start stops with. */
#include <sys/stat.h>
#include <unistd.h>

#include "vm/machine.h"
#include "cluster/preflight.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *tmp;

static const struct vk_preflight_result *find(const struct vk_preflight_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].name, name) == 0)
			return &r->items[i];
	return NULL;
}

static char *meminfo(const char *name, long total_kb, long avail_kb)
{
	char *path = vk_path_join(tmp, name);
	_cleanup_free_ char *text = xasprintf("MemTotal: %ld kB\nMemFree: 1 kB\nMemAvailable: %ld kB\n", total_kb, avail_kb);

	vk_write_file_atomic(path, text, strlen(text), 0644, NULL);
	return path;
}

static void test_test_driver(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *big = meminfo("big", 16000000, 12000000);
	struct vk_preflight_opts o = { .libvirt_uri = "test:///default", .home = home, .meminfo_path = big };
	struct vk_preflight_report r = { 0 };
	struct vk_error err = { 0 };
	const char *want[] = { "libvirt", "accelerator", "home", "memory", "disk", "subnet", "ssh" };
	const struct vk_preflight_result *c;

	ok(vk_preflight_run(&o, &r, &err) == 0, "the checks run on test:///default");
	is_int(r.n, VK_ARRAY_SIZE(want), "seven checks (no socket or qemu-access check for the test driver)");
	for (size_t i = 0; i < r.n && i < VK_ARRAY_SIZE(want); i++)
		is_str(r.items[i].name, want[i], "check %zu is '%s'", i, want[i]);
	is_int(r.failed, 0, "none failed");
	is_str(r.accel, "tcg", "the test driver offers no kvm: tcg");
	c = find(&r, "accelerator");
	ok(c && c->status == VK_PREFLIGHT_WARN && c->fix, "tcg is a warning with a fix");
	c = find(&r, "memory");
	ok(c && c->status == VK_PREFLIGHT_OK && !c->fix, "12000 MiB for 2048: ok, no fix");
	contains(c ? c->message : NULL, "11718 MiB available for a 2048 MiB VM", "the figures from the injected file");
	ok(vk_preflight_error(&r, &err) == 0, "start may go ahead");
	vk_preflight_report_release(&r);
	/* start --nodes 3: three VMs of 2048 MiB each */
	o.vms = 3;
	ok(vk_preflight_run(&o, &r, &err) == 0, "the checks run for three nodes");
	c = find(&r, "memory");
	contains(c ? c->message : NULL, "11718 MiB available for the 3 VMs (6144 MiB)", "memory is counted for every node");
	vk_preflight_report_release(&r);
	o.vms = 6;
	ok(vk_preflight_run(&o, &r, &err) == 0 && vk_preflight_error(&r, &err) < 0, "six nodes of 2048 MiB do not fit in 11718");
	is_str(err.message, "preflight check 'memory' failed: the 6 VMs want 12288 MiB but only 11718 MiB are available (of 15625 MiB)",
	       "saying what the nodes want together");
	vk_preflight_report_release(&r);
	o.vms = 0;
	ok(vk_preflight_run(&o, &r, &err) == 0, "the checks run again");
	vk_preflight_report_release(&r);
	ok(r.n == 0 && !r.items && !r.accel, "release leaves the report empty");
	vk_preflight_report_release(&r);
	vk_preflight_report_release(NULL);
	ok(1, "release is NULL-safe and repeatable");

	o.home = NULL;
	ok(vk_preflight_run(&o, &r, &err) < 0 && err.code == VK_ERR_INVALID, "no home: the checks cannot run");
}

static void test_memory(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *small = meminfo("small", 4096000, 1024000);
	_cleanup_free_ char *broken = vk_path_join(tmp, "broken");
	struct vk_preflight_opts o = { .libvirt_uri = "test:///default", .home = home, .meminfo_path = small };
	struct vk_preflight_report r = { 0 };
	struct vk_error err = { 0 };
	const struct vk_preflight_result *c;

	ok(vk_preflight_run(&o, &r, &err) == 0 && r.failed == 1, "too little memory: one failure");
	ok(vk_preflight_error(&r, &err) < 0, "start stops");
	is_str(err.message, "preflight check 'memory' failed: the VM wants 2048 MiB but only 1000 MiB are available (of 4000 MiB)",
	       "the error names the check and the figures");
	contains(err.hint, "use a smaller --memory", "its hint is the fix");
	vk_preflight_report_release(&r);

	vk_write_file_atomic(broken, "nothing useful\n", 15, 0644, NULL);
	o.meminfo_path = broken;
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "memory");
	ok(c && c->status == VK_PREFLIGHT_WARN, "an unreadable meminfo is a warning, not a failure");
	contains(c ? c->message : NULL, "has no MemTotal or MemAvailable line", "saying why");
	vk_preflight_report_release(&r);
}

static void test_qemu_access(void)
{
	_cleanup_free_ char *closed = vk_path_join(tmp, "closed");
	_cleanup_free_ char *open_dir = vk_path_join(tmp, "open");
	_cleanup_free_ char *home_closed = vk_path_join(closed, "home");
	_cleanup_free_ char *home_open = vk_path_join(open_dir, "a/b/home");
	_cleanup_free_ char *big = meminfo("big2", 16000000, 12000000);
	/* no daemon needed: qemu's reach is a filesystem question; the socket is a path nobody listens on */
	_cleanup_free_ char *uri = xasprintf("qemu:///system?socket=%s/no-sock", tmp);
	struct vk_preflight_opts o = { .libvirt_uri = uri, .meminfo_path = big, .qemu_user = "nobody" };
	struct vk_preflight_report r = { 0 };
	struct vk_error err = { 0 };
	const struct vk_preflight_result *c;

	vk_mkdir_p(closed, 0700, NULL);
	vk_mkdir_p(home_open, 0755, NULL);
	chmod(tmp, 0755);

	o.home = home_closed;
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "qemu-access");
	ok(c && c->status == VK_PREFLIGHT_FAIL, "a home under a 0700 directory is out of reach of qemu's user");
	contains(c ? c->message : NULL, "qemu (user 'nobody' under qemu:///system", "naming the user");
	contains(c ? c->message : NULL, "(mode 0700) does not let it pass", "and the directory's mode");
	contains(c ? c->fix : NULL, "chmod o+x", "the fix opens it");
	c = find(&r, "libvirt");
	ok(c && c->status == VK_PREFLIGHT_FAIL, "libvirt fails too (no daemon at that socket)");
	ok(!find(&r, "accelerator") && !find(&r, "subnet"), "the checks that need the connection are left out");
	vk_preflight_report_release(&r);

	o.home = home_open;
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "qemu-access");
	ok(c && c->status == VK_PREFLIGHT_OK, "a home under 0755 directories is reachable");
	vk_preflight_report_release(&r);

	o.home = home_closed;
	o.qemu_user = "root";
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "qemu-access");
	ok(c && c->status == VK_PREFLIGHT_OK, "qemu running as root passes everywhere");
	vk_preflight_report_release(&r);

	if (geteuid() == 0) {
		/* group access counts: 0710 with nobody's group */
		_cleanup_free_ char *grp = vk_path_join(tmp, "grp");
		_cleanup_free_ char *home_grp = vk_path_join(grp, "home");

		vk_mkdir_p(grp, 0700, NULL);
		ok(chown(grp, 0, 65534) == 0 && chmod(grp, 0710) == 0, "a 0710 directory of nobody's group");
		o.home = home_grp;
		o.qemu_user = "nobody";
		vk_preflight_run(&o, &r, &err);
		c = find(&r, "qemu-access");
		ok(c && c->status == VK_PREFLIGHT_OK, "lets a member of its group pass");
		vk_preflight_report_release(&r);
	} else {
		ok(1, "# SKIP group access: needs root to chown");
		ok(1, "# SKIP group access: needs root to chown");
	}
}

static void test_subnet_kept(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *big = meminfo("big3", 16000000, 12000000);
	struct vk_preflight_opts o = { .libvirt_uri = "test:///default", .home = home, .meminfo_path = big };
	struct vk_preflight_report r = { 0 };
	struct vk_error err = { 0 };
	const struct vk_preflight_result *c;

	vk_ipv4_parse("192.168.140.0", &o.subnet);
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "subnet");
	ok(c && c->status == VK_PREFLIGHT_OK, "a profile's own subnet is checked alone");
	contains(c ? c->message : NULL, "the profile's subnet 192.168.140.0/24 is free", "and named");
	vk_preflight_report_release(&r);
	/* the test driver's own network "default" is 192.168.122.0/24 */
	vk_ipv4_parse("192.168.122.0", &o.subnet);
	vk_preflight_run(&o, &r, &err);
	c = find(&r, "subnet");
	ok(c && c->status == VK_PREFLIGHT_OK, "the profile's own network on that /24 is not a clash with itself");
	vk_preflight_report_release(&r);
}

/* libvirt 9.0's domain capabilities for virttype qemu (TCG), cut short; and an older libvirt's, without 'maximum'. */
#define DOMCAPS_HEAD "<domainCapabilities>\n  <domain>qemu</domain>\n  <arch>x86_64</arch>\n  <cpu>\n" \
		     "    <mode name='host-passthrough' supported='no'/>\n"
#define DOMCAPS_TAIL "    <mode name='host-model' supported='yes'>\n      <model fallback='forbid'>EPYC</model>\n" \
		     "    </mode>\n    <mode name='custom' supported='yes'>\n      <model usable='yes'>qemu64</model>\n" \
		     "    </mode>\n  </cpu>\n  <devices/>\n</domainCapabilities>\n"
static const char domcaps_max[] = DOMCAPS_HEAD "    <mode name='maximum' supported='yes'>\n      <enum name='maximumMigratable'>\n"
				  "        <value>on</value>\n        <value>off</value>\n      </enum>\n    </mode>\n" DOMCAPS_TAIL;
static const char domcaps_old[] = DOMCAPS_HEAD DOMCAPS_TAIL;

static char *write_tmp(const char *name, const char *text)
{
	char *path = vk_path_join(tmp, name);

	vk_write_file_atomic(path, text, strlen(text), 0644, NULL);
	return path;
}

/* The TCG CPU: judged from the capabilities, and in the accelerator check. */
static void test_tcg_cpu(void)
{
	_cleanup_free_ char *home = vk_path_join(tmp, "home");
	_cleanup_free_ char *big = meminfo("big4", 16000000, 12000000);
	_cleanup_free_ char *max = write_tmp("domcaps-max.xml", domcaps_max);
	_cleanup_free_ char *old = write_tmp("domcaps-old.xml", domcaps_old);
	_cleanup_free_ char *off = NULL, *note = NULL;
	char *why;
	struct vk_preflight_opts o = { .libvirt_uri = "test:///default", .home = home, .meminfo_path = big,
				       .accel = "tcg" };
	struct vk_preflight_report r = { 0 };
	struct vk_error err = { 0 };
	const struct vk_preflight_result *c;
	char *no;

	ok(vk_tcg_cpu_judge(domcaps_max, NULL, &why) == VK_TCG_CPU_OK, "libvirt 9.0 offers 'maximum' for TCG");
	free(why);
	ok(vk_tcg_cpu_judge(domcaps_old, NULL, &why) == VK_TCG_CPU_MISSING, "capabilities without 'maximum': missing");
	contains(why, "does not know CPU mode 'maximum'", "saying libvirt does not know it");
	contains(why, "qemu64, which lacks x86-64-v2", "and what the guest would get");
	free(why);
	no = xstrdup(domcaps_max);
	memcpy(strstr(no, "supported='yes'>\n      <enum"), "supported='no' ", 15);
	ok(vk_tcg_cpu_judge(no, NULL, &why) == VK_TCG_CPU_MISSING, "'maximum' with supported='no': missing");
	contains(why, "does not support CPU mode 'maximum'", "saying it is not supported");
	free(why);
	off = write_tmp("domcaps-no.xml", no);
	free(no);
	ok(vk_tcg_cpu_judge(NULL, "this function is not supported", &why) == VK_TCG_CPU_UNKNOWN, "unreadable: unknown");
	contains(why, "cannot be read: this function is not supported", "with libvirt's reason");
	free(why);
	ok(vk_tcg_cpu_judge("<domainCapabilities/>", NULL, &why) == VK_TCG_CPU_UNKNOWN, "no <cpu> at all: unknown");
	free(why);

	/* test:///default has no domain capabilities: start goes ahead, saying it cannot tell */
	ok(vk_preflight_run(&o, &r, &err) == 0 && r.failed == 0, "test:///default: nothing fails");
	c = find(&r, "accelerator");
	ok(c && c->status == VK_PREFLIGHT_WARN, "the accelerator check is tcg's warning");
	contains(c ? c->message : NULL, "whether the guest gets a CPU above qemu64 cannot be told", "and says the CPU is unknown");
	is_int(r.n, 7, "no check of its own: still seven");
	vk_preflight_report_release(&r);

	o.tcg_domcaps = max;
	ok(vk_preflight_run(&o, &r, &err) == 0 && r.failed == 0, "'maximum' offered: nothing fails");
	c = find(&r, "accelerator");
	contains(c ? c->message : NULL, "tcg emulation (--accel tcg): expect minutes, not seconds; the guest's CPU: mode 'maximum'",
		 "the CPU mode is named");
	vk_preflight_report_release(&r);

	o.tcg_domcaps = old;
	o.accel = NULL;
	ok(vk_preflight_run(&o, &r, &err) == 0 && r.failed == 1, "no 'maximum' under auto (tcg here): the check fails");
	c = find(&r, "accelerator");
	ok(c && c->status == VK_PREFLIGHT_FAIL, "the accelerator check");
	contains(c ? c->message : NULL, "tcg: libvirt does not know CPU mode 'maximum' for TCG", "saying why");
	contains(c ? c->message : NULL, "; centos-stream-", "naming the default image");
	ok(c && c->message && strstr(c->message, " needs x86-64-v"), "and its requirement: %s", c ? c->message : "");
	contains(c ? c->fix : NULL, "upgrade libvirt (7.1 or later) and qemu (4.2 or later)", "with what to do");
	ok(vk_preflight_error(&r, &err) < 0 && strstr(err.message, "preflight check 'accelerator' failed: tcg: libvirt"),
	   "start stops before downloading");
	vk_preflight_report_release(&r);

	o.tcg_domcaps = off;
	o.image = "mine.qcow2";
	o.cpu_level = "x86-64-v3";
	ok(vk_preflight_run(&o, &r, &err) == 0 && r.failed == 1, "'maximum' unsupported: fails too");
	c = find(&r, "accelerator");
	contains(c ? c->message : NULL, "; mine.qcow2 needs x86-64-v3", "naming the image given and its level");
	vk_preflight_report_release(&r);

	o.accel = "kvm";
	ok(vk_preflight_run(&o, &r, &err) == 0, "--accel kvm");
	c = find(&r, "accelerator");
	ok(c && c->message && !strstr(c->message, "CPU mode"), "is not judged by the TCG CPU");
	vk_preflight_report_release(&r);

	ok(vk_preflight_tcg_cpu(NULL, NULL, NULL, max, &note, &err) == 0 && !note, "the start's call: ok, no note");
	ok(vk_preflight_tcg_cpu(NULL, "img", NULL, old, &note, &err) < 0 && err.code == VK_ERR_UNSUPPORTED,
	   "missing: VK_ERR_UNSUPPORTED");
	contains(err.message, "; img may need x86-64-v2 (CentOS Stream 9) or v3 (Stream 10)", "an image of unknown needs");
}

int main(void)
{
	tmp = tap_tmpdir();
	test_test_driver();
	test_memory();
	test_qemu_access();
	test_subnet_kept();
	test_tcg_cpu();
	vk_remove_tree(tmp, NULL);
	free(tmp);
	return done_testing();
}
