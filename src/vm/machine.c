/* libvirt calls for virtkube: libvirt is loaded on first use, and each libvirt error is turned into a vk_error right where the call was made. */
#include "vm/machine.h"

#include <libvirt/virterror.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "vm/lvext.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/dl.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm/guestssh.h"

/* ------------------------------------------------------------ the library -- */

/* The table of lvext.h, filled by vk_dl_open on first use. */
static struct vk_lvext lv;
#define VK_DL_TABLE_TYPE struct vk_lvext
static const struct vk_dl_symbol lv_symbols[] = { VK_LVEXT_SYMBOLS(VK_DL_ENTRY) };

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static bool lv_loaded;
static char lv_failure[VK_ERROR_MSG_MAX]; /* why loading failed, once it has */

static void quiet_errors(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void lv_resolve(void)
{
	lv_loaded = vk_dl_open("libvirt", VK_LIBVIRT_SONAME, lv_symbols, VK_ARRAY_SIZE(lv_symbols), &lv, sizeof(lv),
			       lv_failure, sizeof(lv_failure));
	/* libvirt prints its errors on stderr by default; the engine never prints. */
	if (lv_loaded)
		lv.virSetErrorFunc(NULL, quiet_errors);
}

int vk_machine_load(struct vk_error *err)
{
	pthread_once(&lv_once, lv_resolve);
	if (lv_loaded)
		return 0;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "%s", lv_failure);
	return vk_error_hint(err, "install libvirt's client library: apt-get install libvirt0 (Debian, Ubuntu), "
				  "dnf install libvirt-libs (Fedora, CentOS, RHEL), zypper install libvirt-libs "
				  "(openSUSE) or pacman -S libvirt (Arch)");
}

const struct vk_lvext *vk_lvext_load(struct vk_error *err)
{
	return vk_machine_load(err) < 0 ? NULL : &lv;
}

int vk_machine_libvirt_version(char buf[32], struct vk_error *err)
{
	unsigned long version = 0;

	if (vk_machine_load(err) < 0)
		return -1;
	if (lv.virGetVersion(&version, NULL, NULL) < 0)
		return vk_error_set(err, VK_ERR_LIBVIRT, "cannot read libvirt's version: %s",
				    lv.virGetLastErrorMessage() ?: "unknown libvirt error");
	snprintf(buf, 32, "%lu.%lu.%lu", version / 1000000, version / 1000 % 1000, version % 1000);
	return 0;
}

static void lv_domain_freep(virDomainPtr *d)
{
	if (*d)
		lv.virDomainFree(*d);
}

static void lv_network_freep(virNetworkPtr *n)
{
	if (*n)
		lv.virNetworkFree(*n);
}

static void lv_pool_freep(virStoragePoolPtr *p)
{
	if (*p)
		lv.virStoragePoolFree(*p);
}

static void lv_volume_freep(virStorageVolPtr *v)
{
	if (*v)
		lv.virStorageVolFree(*v);
}

#define _cleanup_dom_ _cleanup_(lv_domain_freep)
#define _cleanup_net_ _cleanup_(lv_network_freep)
#define _cleanup_pool_ _cleanup_(lv_pool_freep)
#define _cleanup_vol_ _cleanup_(lv_volume_freep)
#define lv_error vk_lvext_error

static const char *lv_msg(void)
{
	const char *m = lv.virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

int vk_lvext_error(struct vk_error *err, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	return vk_error_set(err, VK_ERR_LIBVIRT, "%s: %s", what, lv_msg());
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ connection -- */

const char *vk_machine_uri(const char *flag)
{
	const char *env = getenv("LIBVIRT_DEFAULT_URI");

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
	return VK_DEFAULT_LIBVIRT_URI;
}

bool vk_machine_uri_is_local(const char *uri)
{
	const char *p = strstr(uri, "://");

	return p && p[3] == '/';
}

virConnectPtr vk_machine_connect(const char *uri, struct vk_error *err)
{
	virConnectPtr conn;
	const char *msg;

	if (vk_machine_load(err) < 0)
		return NULL;
	conn = lv.virConnectOpen(uri);
	if (conn) {
		lv.virConnSetErrorFunc(conn, NULL, quiet_errors);
		return conn;
	}
	msg = lv_msg();
	vk_error_set(err, VK_ERR_LIBVIRT, "cannot connect to libvirt at '%s': %s", uri, msg);
	if (strstr(msg, "Permission denied") || strstr(msg, "authentication") || strstr(msg, "Authorization"))
		vk_error_hint(err, "your user may not use libvirt's socket: add it to the 'libvirt' group "
				   "(sudo usermod -aG libvirt $USER) and log in again, or pass --libvirt-uri qemu:///session");
	else if (strstr(msg, "No such file") || strstr(msg, "Connection refused") || strstr(msg, "Failed to connect socket"))
		vk_error_hint(err, "no libvirt daemon is listening: start it (systemctl start libvirtd, or "
				   "virtqemud.socket), or check --libvirt-uri / $LIBVIRT_DEFAULT_URI");
	else if (!vk_machine_uri_is_local(uri))
		vk_error_hint(err, "check that the host in '%s' is reachable and runs libvirtd", uri);
	else
		vk_error_hint(err, "check --libvirt-uri / $LIBVIRT_DEFAULT_URI and that libvirtd is installed and running");
	return NULL;
}

void vk_machine_disconnect(virConnectPtr conn)
{
	if (conn && vk_machine_load(NULL) == 0)
		lv.virConnectClose(conn);
}

/* ----------------------------------------------------------- accelerator -- */

const char *vk_accel_name(enum vk_accel accel)
{
	return accel == VK_ACCEL_KVM ? "kvm" : "tcg";
}

enum vk_tcg_cpu_verdict vk_tcg_cpu_judge(const char *domcaps, const char *why_unread, char **why)
{
	const char *cpu = domcaps ? strstr(domcaps, "<cpu>") : NULL;
	const char *end = cpu ? strstr(cpu, "</cpu>") : NULL;
	const char *mode;

	if (!domcaps) {
		*why = xasprintf("libvirt's domain capabilities for qemu (TCG) cannot be read: %s",
				 why_unread && *why_unread ? why_unread : "no reason given");
		return VK_TCG_CPU_UNKNOWN;
	}
	if (!end) {
		*why = xstrdup("libvirt's domain capabilities for qemu (TCG) list no CPU modes");
		return VK_TCG_CPU_UNKNOWN;
	}
	/* libvirt writes attributes in single quotes, in this order */
	mode = strstr(cpu, "<mode name='" VK_DOMXML_TCG_CPU_MODE "' supported='");
	if (mode && mode < end && strncmp(mode + strlen("<mode name='" VK_DOMXML_TCG_CPU_MODE "' supported='"), "yes'", 4) == 0) {
		*why = xstrdup("libvirt offers CPU mode '" VK_DOMXML_TCG_CPU_MODE "' for TCG");
		return VK_TCG_CPU_OK;
	}
	*why = xasprintf("libvirt %s CPU mode '" VK_DOMXML_TCG_CPU_MODE "' for TCG (libvirt 7.1 and qemu 4.2 have it): the "
			 "guest would get qemu64, which lacks x86-64-v2 (SSSE3, SSE4.1, SSE4.2, POPCNT)",
			 mode && mode < end ? "does not support" : "does not know");
	return VK_TCG_CPU_MISSING;
}

enum vk_tcg_cpu_verdict vk_machine_tcg_cpu(virConnectPtr conn, char **why)
{
	struct vk_error e = { 0 };
	_cleanup_free_ char *domcaps = NULL;

	if (vk_machine_load(&e) < 0)
		return vk_tcg_cpu_judge(NULL, e.message, why);
	domcaps = lv.virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, "qemu", 0);
	return vk_tcg_cpu_judge(domcaps, domcaps ? NULL : lv_msg(), why);
}

int vk_kvm_parse_dac_label(const char *caps_xml, unsigned *uid, unsigned *gid)
{
	const char *model = caps_xml ? strstr(caps_xml, "<model>dac</model>") : NULL;
	const char *end = model ? strstr(model, "</secmodel>") : NULL;
	const char *label;

	if (!end)
		return -1;
	/* The label of kvm domains, else the model's first one. */
	label = strstr(model, "<baselabel type='kvm'>");
	if (!label || label > end)
		label = strstr(model, "<baselabel");
	if (!label || label > end || !(label = strchr(label, '>')))
		return -1;
	return sscanf(label + 1, "+%u:+%u<", uid, gid) == 2 ? 0 : -1;
}

static void name_of_user(unsigned uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", uid);
}

static void name_of_group(unsigned gid, char *buf, size_t len)
{
	struct group *gr = getgrgid((gid_t)gid);

	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", gid);
}

void vk_kvm_facts_device(struct vk_kvm_facts *f, const char *device)
{
	struct stat st;

	f->device = device;
	f->device_errno = 0;
	if (stat(device, &st) < 0) {
		f->device_errno = errno;
		return;
	}
	f->mode = st.st_mode & 07777;
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	f->acl = getxattr(device, "system.posix_acl_access", NULL, 0) > 0;
	name_of_user(f->uid, f->owner, sizeof(f->owner));
	name_of_group(f->gid, f->group, sizeof(f->group));
}

void vk_kvm_facts_qemu_user(struct vk_kvm_facts *f, unsigned uid, unsigned gid)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	gid_t groups[VK_KVM_MAX_GROUPS];
	int n = (int)VK_ARRAY_SIZE(groups);

	f->qemu_known = true;
	f->qemu_uid = uid;
	f->qemu_gid = gid;
	f->nqemu_groups = 0;
	name_of_user(uid, f->qemu_user, sizeof(f->qemu_user));
	/* libvirt gives qemu its user's supplementary groups too. */
	if (!pw)
		return;
	/* More groups than fit: glibc fills the array and says how many there are. */
	if (getgrouplist(pw->pw_name, (gid_t)gid, groups, &n) < 0 || n > (int)VK_ARRAY_SIZE(groups))
		n = (int)VK_ARRAY_SIZE(groups);
	for (int i = 0; i < n; i++)
		f->qemu_groups[f->nqemu_groups++] = groups[i];
}

/* Fills F for the connection: what libvirt offers and, for a local daemon,
 * the device and the user libvirt runs qemu as (its DAC base label, which
 * follows qemu.conf; for a session daemon, ourselves). */
static void kvm_facts_gather(virConnectPtr conn, const char *uri, const char *device, struct vk_kvm_facts *f)
{
	_cleanup_free_ char *domcaps = lv.virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, "kvm", 0);
	_cleanup_free_ char *caps = NULL;
	unsigned uid, gid;

	*f = (struct vk_kvm_facts){ .offered = domcaps != NULL, .local = vk_machine_uri_is_local(uri) };
	if (!domcaps)
		snprintf(f->why_not_offered, sizeof(f->why_not_offered), "%s", lv_msg());
	if (!f->local)
		return;
	vk_kvm_facts_device(f, device);
	if (strstr(uri, ":///session")) {
		vk_kvm_facts_qemu_user(f, getuid(), getgid());
		return;
	}
	caps = lv.virConnectGetCapabilities(conn);
	if (vk_kvm_parse_dac_label(caps, &uid, &gid) == 0)
		vk_kvm_facts_qemu_user(f, uid, gid);
}


/* Whether qemu's user is in group GID. */
static bool qemu_in_group(const struct vk_kvm_facts *f, unsigned gid)
{
	bool in = f->qemu_gid == gid;

	for (size_t i = 0; i < f->nqemu_groups && !in; i++)
		in = f->qemu_groups[i] == gid;
	return in;
}

static bool kvm_rw_allowed(const struct vk_kvm_facts *f)
{
	if (f->qemu_uid == 0)
		return true;
	if (f->qemu_uid == f->uid)
		return (f->mode & 0600) == 0600;
	if (qemu_in_group(f, f->gid))
		return (f->mode & 0060) == 0060;
	return (f->mode & 0006) == 0006;
}

enum vk_kvm_verdict vk_kvm_judge(const struct vk_kvm_facts *f, char **why)
{
	*why = NULL;
	if (!f->offered) {
		*why = xasprintf("libvirt offers no kvm domains (%s)", f->why_not_offered);
		return VK_KVM_UNUSABLE;
	}
	if (!f->local) {
		*why = xstrdup("the daemon is on another host: its kvm can only be tried");
		return VK_KVM_UNKNOWN;
	}
	if (f->device_errno == ENOENT) {
		*why = xasprintf("%s does not exist: no kvm module is loaded", f->device);
		return VK_KVM_UNUSABLE;
	}
	if (f->device_errno) {
		*why = xasprintf("%s cannot be examined: %s", f->device, strerror(f->device_errno));
		return VK_KVM_UNUSABLE;
	}
	if (!f->qemu_known) {
		*why = xasprintf("the user libvirt runs qemu as is not known: whether it can open %s can only be tried",
				 f->device);
		return VK_KVM_UNKNOWN;
	}
	if (kvm_rw_allowed(f))
		return VK_KVM_USABLE;
	if (f->acl) {
		*why = xasprintf("%s (mode %04o, owner %s:%s) has an ACL: whether qemu's user %s can open it can only be "
				 "tried", f->device, f->mode, f->owner, f->group, f->qemu_user);
		return VK_KVM_UNKNOWN;
	}
	*why = xasprintf("qemu runs as user %s (uid %u, gid %u), which cannot open %s (mode %04o, owner %s:%s)",
			 f->qemu_user, f->qemu_uid, f->qemu_gid, f->device, f->mode, f->owner, f->group);
	return VK_KVM_UNUSABLE;
}

char *vk_kvm_fix_hint(const struct vk_kvm_facts *f)
{
	const char *user = f->qemu_known ? f->qemu_user : "libvirt-qemu";
	struct group *kvm = getgrnam("kvm");
	bool in_kvm = f->qemu_known && kvm && qemu_in_group(f, (unsigned)kvm->gr_gid);

	if (!f->offered || !f->local || f->device_errno)
		return xstrdup("enable virtualization in the firmware and load kvm_intel or kvm_amd, or use --accel tcg "
			       "(slow)");
	if ((f->mode & 0060) == 0060 && f->gid != 0)
		return xasprintf("add qemu's user to the device's group (usermod -aG %s %s) and restart libvirtd, or use "
				 "--accel tcg (slow)", f->group, user);
	return xasprintf("give the kvm group access with a udev rule (KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\" in "
			 "/etc/udev/rules.d/65-kvm.rules, then udevadm trigger)%s%s%s and restart libvirtd; or use --accel "
			 "tcg (slow)", in_kvm ? "" : ", add qemu's user to it (usermod -aG kvm ", in_kvm ? "" : user,
			 in_kvm ? "" : ")");
}

/* Starts and destroys a throwaway paused kvm domain: the one proof that qemu,
 * as the user and with the confinement libvirt gives it, can use kvm. NULL
 * when it started, else why not (caller frees). */
static char *kvm_trial(virConnectPtr conn)
{
	_cleanup_free_ char *xml = xasprintf(
		"<domain type='kvm'>\n  <name>virtkube-kvm-trial-%ld</name>\n  <memory unit='MiB'>32</memory>\n"
		"  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <devices/>\n</domain>\n",
		(long)getpid());
	/* Auto-destroyed with the connection, should this process die first. */
	_cleanup_dom_ virDomainPtr dom =
		lv.virDomainCreateXML(conn, xml, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);

	if (!dom)
		return xasprintf("a trial kvm domain did not start: %s", lv_msg());
	lv.virDomainDestroy(dom);
	return NULL;
}

int vk_accel_decide(const char *want, const struct vk_kvm_facts *facts, const char *trial_failure,
		    struct vk_accel_choice *out, struct vk_error *err)
{
	_cleanup_free_ char *why = NULL, *hint = NULL;
	enum vk_kvm_verdict verdict;
	bool asked_kvm = want && strcmp(want, "kvm") == 0;

	*out = (struct vk_accel_choice){ .accel = VK_ACCEL_TCG };
	if (want && strcmp(want, "tcg") == 0)
		return 0;
	if (want && !asked_kvm && strcmp(want, "auto") != 0)
		return vk_error_set(err, VK_ERR_INVALID, "unknown accelerator '%s' (auto, kvm or tcg)", want);
	verdict = vk_kvm_judge(facts, &why);
	if (verdict == VK_KVM_UNUSABLE && asked_kvm) {
		hint = vk_kvm_fix_hint(facts);
		vk_error_set(err, VK_ERR_UNSUPPORTED, "--accel kvm: %s", why);
		return vk_error_hint(err, "%s", hint);
	}
	if (verdict != VK_KVM_UNUSABLE && (asked_kvm || !trial_failure)) {
		out->accel = VK_ACCEL_KVM;
		return 0;
	}
	snprintf(out->reason, sizeof(out->reason), "%s", verdict == VK_KVM_UNUSABLE ? why : trial_failure);
	return 0;
}

int vk_machine_decide_accel(virConnectPtr conn, const char *uri, const char *want, struct vk_accel_choice *out,
			    struct vk_error *err)
{
	struct vk_kvm_facts facts;
	_cleanup_free_ char *why = NULL, *trial = NULL;

	if (vk_machine_load(err) < 0)
		return -1;
	if (want && strcmp(want, "tcg") == 0)
		return vk_accel_decide(want, NULL, NULL, out, err);
	kvm_facts_gather(conn, uri, VK_KVM_DEVICE, &facts);
	/* Only auto pays for the trial, and only when the facts leave kvm possible. */
	if ((!want || strcmp(want, "auto") == 0) && vk_kvm_judge(&facts, &why) != VK_KVM_UNUSABLE)
		trial = kvm_trial(conn);
	return vk_accel_decide(want, &facts, trial, out, err);
}

int vk_machine_choose_accel(virConnectPtr conn, const char *uri, const char *want, enum vk_accel *out,
			    struct vk_error *err)
{
	struct vk_accel_choice choice;

	if (vk_machine_decide_accel(conn, uri, want, &choice, err) < 0)
		return -1;
	if (choice.reason[0])
		vk_info("kvm is not usable, so tcg: %s", choice.reason);
	*out = choice.accel;
	return 0;
}

/* The explanation of qemu's "Could not access KVM kernel module" for the
 * device as it is now, as the hint of ERR. */
static void explain_kvm_access(virConnectPtr conn, struct vk_error *err)
{
	_cleanup_free_ char *uri = lv.virConnectGetURI(conn);
	_cleanup_free_ char *fix = NULL, *why = NULL;
	struct vk_kvm_facts facts;

	kvm_facts_gather(conn, uri ? uri : VK_DEFAULT_LIBVIRT_URI, VK_KVM_DEVICE, &facts);
	fix = vk_kvm_fix_hint(&facts);
	if (!facts.local)
		vk_error_hint(err, "qemu on the libvirt host cannot open its %s: check its mode and owner there; %s",
			      VK_KVM_DEVICE, fix);
	else if (facts.device_errno)
		vk_error_hint(err, "%s: %s; %s", VK_KVM_DEVICE, strerror(facts.device_errno), fix);
	else if (vk_kvm_judge(&facts, &why) == VK_KVM_UNUSABLE)
		vk_error_hint(err, "%s; %s", why, fix);
	else
		vk_error_hint(err, "qemu cannot open %s (mode %04o, owner %s:%s); %s", VK_KVM_DEVICE, facts.mode,
			      facts.owner, facts.group, fix);
}

/* --------------------------------------------------------------- network -- */

int vk_ipv4_parse(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void vk_ipv4_format(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

uint32_t vk_ipv4_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int vk_subnet_choose(const struct vk_cidr *used, size_t nused, uint32_t first, unsigned count, uint32_t *chosen,
		     struct vk_error *err)
{
	char a[16], b[16];

	for (unsigned i = 0; i < count; i++) {
		uint32_t cand = first + i * 256u;
		bool clash = false;

		for (size_t j = 0; j < nused && !clash; j++) {
			int p = used[j].prefix < 24 ? used[j].prefix : 24;

			if (used[j].prefix <= 0)
				continue; /* a default route covers everything and says nothing */
			clash = (cand & vk_ipv4_mask(p)) == (used[j].addr & vk_ipv4_mask(p));
		}
		if (!clash) {
			*chosen = cand;
			return 0;
		}
	}
	vk_ipv4_format(first, a);
	vk_ipv4_format(first + (count ? count - 1 : 0) * 256u, b);
	vk_error_set(err, VK_ERR_EXISTS,
		     "no free private /24 for the profile's network: tried %s/24 to %s/24, each overlaps a host route or "
		     "another libvirt network", a, b);
	return vk_error_hint(err, "remove unused libvirt networks ('virsh net-list --all') or routes in that range");
}

static void add_used(struct vk_cidr **used, size_t *n, size_t *alloc, uint32_t addr, int prefix)
{
	if (*n == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 16;
		*used = xrealloc(*used, *alloc * sizeof(**used));
	}
	(*used)[*n].addr = addr & vk_ipv4_mask(prefix);
	(*used)[*n].prefix = prefix;
	(*n)++;
}

/* Value of attribute NAME inside the tag starting at TAG (up to '>'), newly allocated. */
static char *xml_attr(const char *tag, const char *name)
{
	const char *end = strchr(tag, '>');
	size_t nlen = strlen(name);

	for (const char *p = tag; p && end && p < end; p++) {
		if ((p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t') && strncmp(p, name, nlen) == 0 && p[nlen] == '=' &&
		    (p[nlen + 1] == '\'' || p[nlen + 1] == '"')) {
			char q = p[nlen + 1];
			const char *v = p + nlen + 2, *close = strchr(v, q);

			return close ? xstrndup(v, (size_t)(close - v)) : NULL;
		}
	}
	return NULL;
}

/* Adds each IPv4 <ip address= prefix=|netmask=> of a network's XML. */
static void add_network_ips(const char *xml, struct vk_cidr **used, size_t *n, size_t *alloc)
{
	for (const char *p = strstr(xml, "<ip "); p; p = strstr(p + 1, "<ip ")) {
		_cleanup_free_ char *family = xml_attr(p + 1, "family");
		_cleanup_free_ char *address = xml_attr(p + 1, "address");
		_cleanup_free_ char *prefix = xml_attr(p + 1, "prefix");
		_cleanup_free_ char *netmask = xml_attr(p + 1, "netmask");
		uint32_t addr, mask;
		int plen = 24;

		if ((family && strcmp(family, "ipv4") != 0) || !address || vk_ipv4_parse(address, &addr) < 0)
			continue;
		if (prefix)
			plen = atoi(prefix);
		else if (netmask && vk_ipv4_parse(netmask, &mask) == 0)
			plen = __builtin_popcount(mask);
		add_used(used, n, alloc, addr, plen);
	}
}

int vk_subnets_in_use(virConnectPtr conn, bool local, struct vk_cidr **used, size_t *nused, struct vk_error *err)
{
	virNetworkPtr *nets = NULL;
	size_t n = 0, alloc = 0;
	int count;

	*used = NULL;
	*nused = 0;
	if (vk_machine_load(err) < 0)
		return -1;
	if (local) {
		_cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
		char line[512];

		while (f && fgets(line, sizeof(line), f)) {
			char iface[64];
			unsigned dest, gw, flags, mask;

			if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", iface, &dest, &gw, &flags, &mask) == 5)
				add_used(used, &n, &alloc, ntohl(dest), __builtin_popcount(mask));
		}
	}
	count = lv.virConnectListAllNetworks(conn, &nets, 0);
	if (count < 0) {
		free(*used);
		*used = NULL;
		return lv_error(err, "cannot list libvirt networks");
	}
	for (int i = 0; i < count; i++) {
		_cleanup_free_ char *xml = lv.virNetworkGetXMLDesc(nets[i], 0);

		if (xml)
			add_network_ips(xml, used, &n, &alloc);
		lv.virNetworkFree(nets[i]);
	}
	free(nets);
	*nused = n;
	return 0;
}

void vk_machine_mac_for(const char *name, char buf[18])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)name, strlen(name), md);
	snprintf(buf, 18, "52:54:00:%02x:%02x:%02x", md[0], md[1], md[2]);
}

uint32_t vk_network_node_ip(uint32_t subnet)
{
	return (subnet & 0xffffff00u) | 2;
}

uint32_t vk_network_gateway(uint32_t subnet)
{
	return (subnet & 0xffffff00u) | 1;
}

static void add_dhcp_host(struct vk_strbuf *sb, const struct vk_dhcp_host *h)
{
	vk_strbuf_addstr(sb, "      <host mac='");
	vk_strbuf_add_xml_escaped(sb, h->mac);
	vk_strbuf_addstr(sb, "' name='");
	vk_strbuf_add_xml_escaped(sb, h->name);
	vk_strbuf_addstr(sb, "' ip='");
	vk_strbuf_add_xml_escaped(sb, h->ip);
	vk_strbuf_addstr(sb, "'/>\n");
}

uint32_t vk_network_lb_pool(uint32_t subnet)
{
	return (subnet & 0xffffff00u) | VK_LB_POOL_OFFSET;
}

/* The <route> that sends the pool of S's subnet to node 1. */
static void add_lb_route(struct vk_strbuf *sb, const struct vk_network_spec *s)
{
	char pool[16], via[16];

	vk_ipv4_format(vk_network_lb_pool(s->subnet), pool);
	vk_ipv4_format(vk_network_node_ip(s->subnet), via);
	vk_strbuf_addf(sb, "  <route address='%s' prefix='%u' gateway='%s'/>\n", pool, VK_LB_POOL_PREFIX, via);
}

char *vk_network_xml(const struct vk_network_spec *s)
{
	_cleanup_strbuf_ struct vk_strbuf sb = VK_STRBUF_INIT;
	char gw[16], ip[16], lo[16], hi[16];
	uint32_t net = s->subnet & 0xffffff00u;

	vk_ipv4_format(vk_network_gateway(net), gw);
	vk_ipv4_format(vk_network_node_ip(net), ip);
	vk_ipv4_format(net | 100, lo);
	vk_ipv4_format(s->lb_pool ? net | (VK_LB_POOL_OFFSET - 1) : net | 254, hi);
	vk_strbuf_addstr(&sb, "<network>\n  <name>");
	vk_strbuf_add_xml_escaped(&sb, s->name);
	vk_strbuf_addstr(&sb, "</name>\n");
	if (s->mode == VK_NET_NAT)
		vk_strbuf_addstr(&sb, "  <forward mode='nat'/>\n");
	vk_strbuf_addf(&sb, "  <ip address='%s' prefix='24'>\n    <dhcp>\n      <range start='%s' end='%s'/>\n", gw, lo,
		       hi);
	add_dhcp_host(&sb, &(struct vk_dhcp_host){ .mac = s->mac, .name = s->host_name, .ip = ip });
	for (size_t i = 0; i < s->nextra_hosts; i++)
		add_dhcp_host(&sb, &s->extra_hosts[i]);
	vk_strbuf_addstr(&sb, "    </dhcp>\n  </ip>\n");
	if (s->lb_pool)
		add_lb_route(&sb, s);
	vk_strbuf_addstr(&sb, "</network>\n");
	return vk_strbuf_detach(&sb, NULL);
}

bool vk_network_exists(virConnectPtr conn, const char *name)
{
	_cleanup_net_ virNetworkPtr net = NULL;

	if (vk_machine_load(NULL) < 0)
		return false;
	net = lv.virNetworkLookupByName(conn, name);
	return net != NULL;
}

enum vk_bridge_found vk_bridge_find(virConnectPtr conn, bool local, const char *name, char **why)
{
	virInterfacePtr iface;
	virErrorPtr e;
	_cleanup_free_ char *sys = NULL;

	*why = NULL;
	if (vk_machine_load(NULL) < 0) {
		*why = xstrdup("libvirt cannot be loaded");
		return VK_BRIDGE_UNKNOWN;
	}
	/* libvirt's interface driver (udev or netcf) lists the host's devices */
	iface = lv.virInterfaceLookupByName(conn, name);
	if (iface) {
		lv.virInterfaceFree(iface);
		return VK_BRIDGE_FOUND;
	}
	e = lv.virGetLastError();
	if (e && e->code == VIR_ERR_NO_INTERFACE)
		return VK_BRIDGE_MISSING;
	if (!local) {
		*why = xasprintf("libvirt cannot tell: %s", lv_msg());
		return VK_BRIDGE_UNKNOWN;
	}
	/* without an interface driver, this host's own list */
	sys = xasprintf("/sys/class/net/%s", name);
	return access(sys, F_OK) == 0 ? VK_BRIDGE_FOUND : VK_BRIDGE_MISSING;
}

/* Whether network XML routes SPEC's pool (libvirt writes the attributes as given). */
static bool network_has_lb_route(const char *xml, const struct vk_network_spec *spec)
{
	char pool[16], want[48];

	vk_ipv4_format(vk_network_lb_pool(spec->subnet), pool);
	snprintf(want, sizeof(want), "<route address='%s' prefix='%u'", pool, VK_LB_POOL_PREFIX);
	return strstr(xml, want) != NULL;
}

static bool xml_uses_network(const char *xml, const char *name);

/* Whether a running domain's interface is on network NAME. */
static int network_has_running_domain(virConnectPtr conn, const char *name, bool *running, struct vk_error *err)
{
	virDomainPtr *doms = NULL;
	int count = lv.virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	*running = false;
	if (count < 0)
		return lv_error(err, "cannot list the running domains to see who uses network '%s'", name);
	for (int i = 0; i < count; i++) {
		if (!*running) {
			_cleanup_free_ char *xml = lv.virDomainGetXMLDesc(doms[i], 0);

			*running = xml && xml_uses_network(xml, name);
		}
		lv.virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

/* Adds SPEC's pool route to the definition of NET (its XML is XML), keeping
 * every other part of it, and restarts NET to install the route unless a
 * running domain uses it (*PENDING then). */
static int network_add_lb_route(virConnectPtr conn, virNetworkPtr *net, const char *xml,
				const struct vk_network_spec *spec, bool *pending, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf sb = VK_STRBUF_INIT;
	const char *end = strstr(xml, "</network>");
	bool running;

	if (!end)
		return vk_error_set(err, VK_ERR_PARSE, "libvirt network '%s' has XML without </network>", spec->name);
	vk_strbuf_add(&sb, xml, (size_t)(end - xml));
	add_lb_route(&sb, spec);
	vk_strbuf_addstr(&sb, end);
	vk_debug("adding the LoadBalancer route to network '%s':\n%s", spec->name, sb.buf);
	lv.virNetworkFree(*net);
	*net = lv.virNetworkDefineXML(conn, sb.buf);
	if (!*net)
		return lv_error(err, "cannot add the LoadBalancer route to network '%s'", spec->name);
	if (lv.virNetworkIsActive(*net) != 1)
		return 0;
	if (network_has_running_domain(conn, spec->name, &running, err) < 0)
		return -1;
	if (running) {
		*pending = true;
		return 0;
	}
	if (lv.virNetworkDestroy(*net) < 0)
		return lv_error(err, "cannot restart network '%s' to install its LoadBalancer route", spec->name);
	return 0;
}

int vk_network_ensure(virConnectPtr conn, const struct vk_network_spec *spec, bool *route_pending,
		      struct vk_error *err)
{
	_cleanup_net_ virNetworkPtr net = NULL;
	bool pending = false;
	int active;

	if (vk_machine_load(err) < 0)
		return -1;
	net = lv.virNetworkLookupByName(conn, spec->name);
	if (net) {
		_cleanup_free_ char *xml = lv.virNetworkGetXMLDesc(net, 0);
		_cleanup_free_ char *want = xasprintf("mac='%s'", spec->mac);
		char ip[16], ipattr[32];

		vk_ipv4_format(vk_network_node_ip(spec->subnet), ip);
		snprintf(ipattr, sizeof(ipattr), "ip='%s'", ip);
		if (!xml)
			return lv_error(err, "cannot read network '%s'", spec->name);
		if (!strstr(xml, want) || !strstr(xml, ipattr)) {
			vk_error_set(err, VK_ERR_EXISTS,
				     "libvirt network '%s' exists but has no DHCP entry %s -> %s: it was not made for this profile",
				     spec->name, spec->mac, ip);
			return vk_error_hint(err, "another virtkube home may use the same profile name on this libvirt; "
						  "use another profile name (-p), or remove that network");
		}
		for (size_t i = 0; i < spec->nextra_hosts; i++)
			if (vk_network_host_add(conn, spec->name, &spec->extra_hosts[i], err) < 0)
				return -1;
		if (spec->lb_pool && !network_has_lb_route(xml, spec) &&
		    network_add_lb_route(conn, &net, xml, spec, &pending, err) < 0)
			return -1;
	} else {
		_cleanup_free_ char *xml = vk_network_xml(spec);

		vk_debug("defining network:\n%s", xml);
		net = lv.virNetworkDefineXML(conn, xml);
		if (!net)
			return lv_error(err, "cannot define network '%s'", spec->name);
	}
	active = lv.virNetworkIsActive(net);
	if (active < 0)
		return lv_error(err, "cannot query network '%s'", spec->name);
	if (!active && lv.virNetworkCreate(net) < 0)
		return lv_error(err, "cannot start network '%s'", spec->name);
	if (route_pending)
		*route_pending = pending;
	return 0;
}

/* Adds or deletes the DHCP entry H of network NAME, live when it runs. */
static int network_host_update(virConnectPtr conn, const char *name, const struct vk_dhcp_host *h, bool add,
			       struct vk_error *err)
{
	_cleanup_net_ virNetworkPtr net = NULL;
	_cleanup_strbuf_ struct vk_strbuf xml = VK_STRBUF_INIT;
	_cleanup_free_ char *desc = NULL, *want = NULL;
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;

	if (vk_machine_load(err) < 0)
		return -1;
	net = lv.virNetworkLookupByName(conn, name);
	if (!net) {
		if (!add)
			return 0;
		return lv_error(err, "cannot find network '%s' to add node '%s' to", name, h->name);
	}
	desc = lv.virNetworkGetXMLDesc(net, 0);
	if (!desc)
		return lv_error(err, "cannot read network '%s'", name);
	want = xasprintf("mac='%s'", h->mac);
	if ((strstr(desc, want) != NULL) == add)
		return 0;
	if (lv.virNetworkIsActive(net) == 1)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	add_dhcp_host(&xml, h);
	if (lv.virNetworkUpdate(net, add ? VIR_NETWORK_UPDATE_COMMAND_ADD_LAST : VIR_NETWORK_UPDATE_COMMAND_DELETE,
				VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, xml.buf, flags) < 0)
		return lv_error(err, "cannot %s the DHCP entry of node '%s' (%s -> %s) %s network '%s'",
				add ? "add" : "remove", h->name, h->mac, h->ip, add ? "to" : "from", name);
	return 0;
}

int vk_network_host_add(virConnectPtr conn, const char *name, const struct vk_dhcp_host *h, struct vk_error *err)
{
	return network_host_update(conn, name, h, true, err);
}

int vk_network_host_remove(virConnectPtr conn, const char *name, const struct vk_dhcp_host *h, struct vk_error *err)
{
	return network_host_update(conn, name, h, false, err);
}

/* Whether the domain XML has an interface on network NAME. */
static bool xml_uses_network(const char *xml, const char *name)
{
	_cleanup_free_ char *a = xasprintf("network='%s'", name);
	_cleanup_free_ char *b = xasprintf("network=\"%s\"", name);

	return strstr(xml, a) || strstr(xml, b);
}

int vk_network_remove_if_unused(virConnectPtr conn, const char *name, const char *owner_domain, bool *removed,
				struct vk_error *err)
{
	_cleanup_net_ virNetworkPtr net = NULL;
	virDomainPtr *doms = NULL;
	bool used = false;
	int count;

	*removed = false;
	if (vk_machine_load(err) < 0)
		return -1;
	net = lv.virNetworkLookupByName(conn, name);
	if (!net)
		return 0;
	count = lv.virConnectListAllDomains(conn, &doms, 0);
	if (count < 0)
		return lv_error(err, "cannot list domains to see who uses network '%s'", name);
	for (int i = 0; i < count; i++) {
		const char *dname = lv.virDomainGetName(doms[i]);
		_cleanup_free_ char *xml = NULL;

		if (!used && dname && (!owner_domain || strcmp(dname, owner_domain) != 0)) {
			xml = lv.virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
			used = xml && xml_uses_network(xml, name);
			if (used)
				vk_info("network '%s' is still used by domain '%s': kept", name, dname);
		}
		lv.virDomainFree(doms[i]);
	}
	free(doms);
	if (used)
		return 0;
	if (lv.virNetworkIsActive(net) == 1 && lv.virNetworkDestroy(net) < 0)
		return lv_error(err, "cannot stop network '%s'", name);
	if (lv.virNetworkUndefine(net) < 0 && lv.virNetworkIsPersistent(net) == 1)
		return lv_error(err, "cannot undefine network '%s'", name);
	*removed = true;
	return 0;
}

/* ------------------------------------------------------------------ disk -- */

void vk_disk_pool_cleanup(virConnectPtr conn, const char *pool)
{
	_cleanup_pool_ virStoragePoolPtr p = NULL;

	if (vk_machine_load(NULL) < 0)
		return;
	p = lv.virStoragePoolLookupByName(conn, pool);
	if (!p)
		return;
	if (lv.virStoragePoolIsActive(p) == 1)
		lv.virStoragePoolDestroy(p);
	if (lv.virStoragePoolIsPersistent(p) == 1)
		lv.virStoragePoolUndefine(p);
}

int vk_disk_create_overlay(virConnectPtr conn, const char *pool, const char *dir, const char *file,
			   const char *base, const char *base_format, uint64_t capacity, struct vk_error *err)
{
	_cleanup_strbuf_ struct vk_strbuf pxml = VK_STRBUF_INIT;
	_cleanup_strbuf_ struct vk_strbuf vxml = VK_STRBUF_INIT;
	_cleanup_pool_ virStoragePoolPtr p = NULL;
	_cleanup_vol_ virStorageVolPtr v = NULL;
	int r = 0;

	if (vk_machine_load(err) < 0)
		return -1;
	/* A pool of that name left by an interrupted run is replaced: ours are transient. */
	vk_disk_pool_cleanup(conn, pool);
	vk_strbuf_addstr(&pxml, "<pool type='dir'>\n  <name>");
	vk_strbuf_add_xml_escaped(&pxml, pool);
	vk_strbuf_addstr(&pxml, "</name>\n  <target>\n    <path>");
	vk_strbuf_add_xml_escaped(&pxml, dir);
	vk_strbuf_addstr(&pxml, "</path>\n  </target>\n</pool>\n");
	p = lv.virStoragePoolCreateXML(conn, pxml.buf, 0);
	if (!p)
		return lv_error(err, "cannot open directory '%s' as a libvirt storage pool", dir);

	v = lv.virStorageVolLookupByName(p, file);
	if (!v) {
		vk_strbuf_addstr(&vxml, "<volume>\n  <name>");
		vk_strbuf_add_xml_escaped(&vxml, file);
		vk_strbuf_addf(&vxml, "</name>\n  <capacity unit='bytes'>%llu</capacity>\n", (unsigned long long)capacity);
		vk_strbuf_addstr(&vxml, "  <target>\n    <format type='qcow2'/>\n"
					"    <permissions><mode>0600</mode></permissions>\n  </target>\n"
					"  <backingStore>\n    <path>");
		vk_strbuf_add_xml_escaped(&vxml, base);
		vk_strbuf_addstr(&vxml, "</path>\n    <format type='");
		vk_strbuf_add_xml_escaped(&vxml, base_format);
		vk_strbuf_addstr(&vxml, "'/>\n  </backingStore>\n</volume>\n");
		vk_debug("creating volume:\n%s", vxml.buf);
		v = lv.virStorageVolCreateXML(p, vxml.buf, 0);
		if (!v)
			r = lv_error(err, "cannot create disk '%s/%s' over '%s'", dir, file, base);
	}
	if (lv.virStoragePoolDestroy(p) < 0 && r == 0)
		r = lv_error(err, "cannot release storage pool '%s'", pool);
	return r;
}

/* --------------------------------------------------------------- domains -- */

const char *vk_host_state_name(enum vk_host_state state)
{
	switch (state) {
	case VK_HOST_RUNNING:
		return "Running";
	case VK_HOST_STOPPED:
		return "Stopped";
	case VK_HOST_PAUSED:
		return "Paused";
	case VK_HOST_NONEXISTENT:
		break;
	}
	return "Nonexistent";
}

/* Looks NAME up; NULL and no error when missing; an error when it is not PROFILE's. */
static virDomainPtr lookup_owned(virConnectPtr conn, const char *name, const char *profile, struct vk_error *err)
{
	virDomainPtr dom = lv.virDomainLookupByName(conn, name);
	virErrorPtr e;
	_cleanup_free_ char *xml = NULL;
	_cleanup_strbuf_ struct vk_strbuf mark = VK_STRBUF_INIT;

	if (!dom) {
		e = lv.virGetLastError();
		if (e && e->code != VIR_ERR_NO_DOMAIN)
			lv_error(err, "cannot look up domain '%s'", name);
		else
			vk_error_clear(err);
		return NULL;
	}
	xml = lv.virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	vk_strbuf_addstr(&mark, "<virtkube:profile>");
	vk_strbuf_add_xml_escaped(&mark, profile);
	vk_strbuf_addstr(&mark, "</virtkube:profile>");
	if (!xml || !strstr(xml, VK_DOMXML_NS) || !strstr(xml, mark.buf)) {
		lv.virDomainFree(dom);
		vk_error_set(err, VK_ERR_EXISTS, "libvirt domain '%s' exists but was not created by virtkube for profile '%s'",
			     name, profile);
		vk_error_hint(err, "virtkube leaves it alone; use another profile name (-p)");
		return NULL;
	}
	return dom;
}

static enum vk_host_state map_state(int st)
{
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:
		return VK_HOST_RUNNING;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		return VK_HOST_PAUSED;
	default:
		return VK_HOST_STOPPED;
	}
}

int vk_domain_state(virConnectPtr conn, const char *name, const char *profile, enum vk_host_state *state,
		    struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	int st, reason;

	if (vk_machine_load(err) < 0)
		return -1;
	vk_error_clear(err);
	dom = lookup_owned(conn, name, profile, err);
	if (!dom) {
		if (err && err->code != VK_ERR_NONE)
			return -1;
		*state = VK_HOST_NONEXISTENT;
		return 0;
	}
	if (lv.virDomainGetState(dom, &st, &reason, 0) < 0)
		return lv_error(err, "cannot get the state of domain '%s'", name);
	*state = map_state(st);
	return 0;
}

int vk_domain_define(virConnectPtr conn, const char *xml, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;

	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainDefineXML(conn, xml);
	if (!dom)
		return lv_error(err, "cannot define the virtkube domain");
	return 0;
}

int vk_domain_set_cdrom(virConnectPtr conn, const char *name, const char *target, const char *path,
			const char *disk_xml, bool *changed, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	_cleanup_free_ char *xml = NULL, *want_target = xasprintf("<target dev='%s'", target);
	_cleanup_free_ char *want_source = NULL;
	_cleanup_strbuf_ struct vk_strbuf esc = VK_STRBUF_INIT;

	*changed = false;
	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		return lv_error(err, "cannot find domain '%s'", name);
	xml = lv.virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (!xml)
		return lv_error(err, "cannot read the definition of domain '%s'", name);
	if (!strstr(xml, want_target))
		return 0;
	vk_strbuf_add_xml_escaped(&esc, path);
	want_source = xasprintf("<source file='%s'", esc.buf);
	if (strstr(xml, want_source))
		return 0;
	if (lv.virDomainUpdateDeviceFlags(dom, disk_xml, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
		virErrorPtr e = lv.virGetLastError();
		bool unsupported = e && e->code == VIR_ERR_NO_SUPPORT;

		lv_error(err, "cannot point cdrom %s of domain '%s' at '%s'", target, name, path);
		if (unsupported && err)
			err->code = VK_ERR_UNSUPPORTED;
		return -1;
	}
	*changed = true;
	return 0;
}

char *vk_domain_xml(virConnectPtr conn, const char *name, bool inactive, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	char *xml;

	if (vk_machine_load(err) < 0)
		return NULL;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom) {
		lv_error(err, "cannot find domain '%s'", name);
		return NULL;
	}
	xml = lv.virDomainGetXMLDesc(dom, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
	if (!xml)
		lv_error(err, "cannot read the definition of domain '%s'", name);
	return xml;
}

int vk_domain_device(virConnectPtr conn, const char *name, const char *xml, bool attach, bool live,
		     struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	unsigned flags = live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG;
	int rc;

	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		return lv_error(err, "cannot find domain '%s'", name);
	rc = attach ? lv.virDomainAttachDeviceFlags(dom, xml, flags) : lv.virDomainDetachDeviceFlags(dom, xml, flags);
	if (rc < 0) {
		virErrorPtr e = lv.virGetLastError();
		bool unsupported = e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_OPERATION_UNSUPPORTED ||
					 e->code == VIR_ERR_CONFIG_UNSUPPORTED || e->code == VIR_ERR_OPERATION_INVALID);

		lv_error(err, "cannot %s a device %s domain '%s'%s", attach ? "attach" : "detach", attach ? "to" : "from",
			 name, live ? " while it runs" : "");
		if (unsupported && err)
			err->code = VK_ERR_UNSUPPORTED;
		return -1;
	}
	return 0;
}

int vk_domain_start(virConnectPtr conn, const char *name, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;

	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		return lv_error(err, "cannot find domain '%s'", name);
	if (lv.virDomainIsActive(dom) == 1) {
		int st, reason;

		/* Paused: a snapshot save or restore was killed between pause and resume. */
		if (lv.virDomainGetState(dom, &st, &reason, 0) == 0 && st == VIR_DOMAIN_PAUSED &&
		    lv.virDomainResume(dom) < 0)
			return lv_error(err, "cannot resume paused domain '%s'", name);
		return 0;
	}
	if (lv.virDomainCreate(dom) < 0) {
		/* qemu's words when it may not open the kvm device. */
		bool kvm_denied = strstr(lv_msg(), "Could not access KVM kernel module") != NULL;

		lv_error(err, "cannot start domain '%s'", name);
		if (kvm_denied)
			explain_kvm_access(conn, err);
		return -1;
	}
	return 0;
}

int vk_domain_shutdown(virConnectPtr conn, const char *name, int timeout_s, bool *forced, struct vk_error *err)
{
	return vk_domains_shutdown(conn, &name, 1, timeout_s, forced, err);
}

int vk_domains_shutdown(virConnectPtr conn, const char *const *names, size_t n, int timeout_s, bool *forced,
			struct vk_error *err)
{
	virDomainPtr doms[VK_DOMAINS_SHUTDOWN_MAX] = { 0 };
	long long deadline = vk_now_ms() + (long long)timeout_s * 1000;
	size_t left = 0;
	int st, reason, rc = 0;

	if (n > VK_DOMAINS_SHUTDOWN_MAX)
		return vk_error_set(err, VK_ERR_INVALID, "cannot shut down %zu domains at once", n);
	if (vk_machine_load(err) < 0)
		return -1;
	/* The ACPI button of every domain first: they power off in parallel. */
	for (size_t i = 0; i < n; i++) {
		forced[i] = false;
		doms[i] = lv.virDomainLookupByName(conn, names[i]);
		if (!doms[i]) {
			rc = lv_error(err, "cannot find domain '%s'", names[i]);
			goto out;
		}
		if (lv.virDomainIsActive(doms[i]) != 1) {
			lv.virDomainFree(doms[i]);
			doms[i] = NULL;
			continue;
		}
		left++;
		if (lv.virDomainShutdownFlags(doms[i], VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0) {
			/* Some drivers know only the default method. */
			if (lv.virDomainShutdown(doms[i]) < 0)
				vk_info("ACPI shutdown of '%s' refused (%s); stopping it hard", names[i], lv_msg());
		}
	}
	while (left && vk_now_ms() < deadline) {
		sleep_ms(250);
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (doms[i] && !(lv.virDomainGetState(doms[i], &st, &reason, 0) == 0 && st == VIR_DOMAIN_SHUTOFF))
				left++;
	}
	for (size_t i = 0; i < n; i++) {
		if (!doms[i] || (lv.virDomainGetState(doms[i], &st, &reason, 0) == 0 && st == VIR_DOMAIN_SHUTOFF))
			continue;
		forced[i] = true;
		if (lv.virDomainDestroy(doms[i]) < 0 && lv.virDomainIsActive(doms[i]) == 1) {
			rc = lv_error(err, "cannot stop domain '%s'", names[i]);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		if (doms[i])
			lv.virDomainFree(doms[i]);
	return rc;
}

int vk_domain_remove(virConnectPtr conn, const char *name, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			 VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;

	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		return 0;
	if (lv.virDomainIsActive(dom) == 1 && lv.virDomainDestroy(dom) < 0 && lv.virDomainIsActive(dom) == 1)
		return lv_error(err, "cannot stop domain '%s'", name);
	if (lv.virDomainUndefineFlags(dom, flags) < 0 && lv.virDomainUndefine(dom) < 0)
		return lv_error(err, "cannot undefine domain '%s'", name);
	return 0;
}

/* ----------------------------------------------------------------- guest -- */

/* One attempt: connect within the time left and read "SSH-" from the peer. */
static bool ssh_answers(const struct sockaddr_in *sa, long budget_ms)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd pfd;
	char banner[8];
	size_t got = 0;
	long long deadline = vk_now_ms() + budget_ms;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS)
		return false;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, (int)budget_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr)
		return false;
	while (got < 4) {
		long left = (long)(deadline - vk_now_ms());
		ssize_t n;

		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return false;
		n = read(fd, banner + got, 4 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return memcmp(banner, "SSH-", 4) == 0;
}

int vk_wait_ssh(const char *host, int port, long timeout_ms, struct vk_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	long long start = vk_now_ms(), deadline = start + timeout_ms;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return vk_error_set(err, VK_ERR_INVALID, "'%s' is not an IPv4 address", host);
	while (vk_now_ms() < deadline) {
		long long attempt = vk_now_ms();
		long left = (long)(deadline - attempt);

		if (ssh_answers(&sa, left < 5000 ? left : 5000))
			return 0;
		/* Refused or unreachable comes back at once: do not spin. */
		if (vk_now_ms() - attempt < 500)
			sleep_ms(500);
	}
	return vk_error_set(err, VK_ERR_TIMEOUT, "the guest did not answer SSH on %s:%d within %ld s", host, port,
			    timeout_ms / 1000);
}

int vk_node_wait_ssh(const struct vk_profile *p, const char *ip, long timeout_ms, struct vk_error *err)
{
	_cleanup_free_ char *jump = vk_remote_ssh_jump(p->cfg.libvirt_uri);

	return jump ? vk_guest_wait_ssh_jump(p, ip, timeout_ms, err) : vk_wait_ssh(ip, 22, timeout_ms, err);
}

/* --------------------------------------------------------- guest console -- */

void vk_console_mark_take(const char *path, long long now_ms, struct vk_console_mark *mark)
{
	struct stat st;

	*mark = (struct vk_console_mark){ .at_ms = now_ms };
	if (stat(path, &st) < 0)
		return;
	mark->exists = true;
	mark->dev = st.st_dev;
	mark->ino = st.st_ino;
	mark->size = st.st_size;
}

bool vk_console_silent(const char *path, const struct vk_console_mark *mark, long long now_ms, long silence_ms)
{
	struct stat st;

	if (now_ms - mark->at_ms < silence_ms)
		return false;
	if (stat(path, &st) < 0)
		return true; /* still no log at all */
	if (!mark->exists)
		return st.st_size == 0;
	return st.st_dev == mark->dev && st.st_ino == mark->ino && st.st_size == mark->size;
}

char *vk_console_silence_warning(const char *name, enum vk_accel accel, long silent_ms)
{
	if (accel == VK_ACCEL_KVM)
		return xasprintf("the guest of domain '%s' has printed nothing on its console for %ld s under kvm: this "
				 "host's kvm may not run it (a PVM or nested host); if it stays silent, delete the profile "
				 "and start it again with --accel tcg", name, silent_ms / 1000);
	return xasprintf("the guest of domain '%s' has printed nothing on its console for %ld s", name,
			 silent_ms / 1000);
}

/* ----------------------------------------------------------- domain stats -- */

static bool typed_ull(const virTypedParameter *p, unsigned long long *out)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_INT: *out = p->value.i < 0 ? 0 : (unsigned long long)p->value.i; return true;
	case VIR_TYPED_PARAM_UINT: *out = p->value.ui; return true;
	case VIR_TYPED_PARAM_LLONG: *out = p->value.l < 0 ? 0 : (unsigned long long)p->value.l; return true;
	case VIR_TYPED_PARAM_ULLONG: *out = p->value.ul; return true;
	default: return false;
	}
}

/* Folds one domain's typed parameters into S (the names are libvirt's, virsh domstats shows them). */
static void sample_fill(struct vk_domain_sample *s, const virTypedParameter *params, int n)
{
	unsigned long long vcpu_ns = 0, available = 0, unused = 0, v;
	bool vcpu_seen = false, has_available = false, has_unused = false;
	/* block.<i>.name of each index, to keep the VM's disks ("vd*") and leave out its cdroms */
	char disk_index[64] = { 0 };

	for (int i = 0; i < n; i++) {
		const char *f = params[i].field;
		unsigned idx;
		char tail[VIR_TYPED_PARAM_FIELD_LENGTH];

		if (sscanf(f, "block.%u.%79s", &idx, tail) == 2 && idx < sizeof(disk_index) &&
		    strcmp(tail, "name") == 0 && params[i].type == VIR_TYPED_PARAM_STRING)
			disk_index[idx] = strncmp(params[i].value.s, "vd", 2) == 0 ? 1 : 2;
	}
	for (int i = 0; i < n; i++) {
		const char *f = params[i].field;
		unsigned idx;
		char tail[VIR_TYPED_PARAM_FIELD_LENGTH];

		if (!typed_ull(&params[i], &v))
			continue;
		if (strcmp(f, "state.state") == 0) {
			s->state = v == VIR_DOMAIN_RUNNING || v == VIR_DOMAIN_BLOCKED ? VK_HOST_RUNNING
				   : v == VIR_DOMAIN_PAUSED || v == VIR_DOMAIN_PMSUSPENDED ? VK_HOST_PAUSED
				   : VK_HOST_STOPPED;
		} else if (strcmp(f, "cpu.time") == 0) {
			s->cpu_ns = v;
			s->has_cpu = true;
		} else if (strcmp(f, "vcpu.current") == 0) {
			s->vcpus = (int)v;
		} else if (sscanf(f, "vcpu.%u.%79s", &idx, tail) == 2 && strcmp(tail, "time") == 0) {
			vcpu_ns += v;
			vcpu_seen = true;
		} else if (strcmp(f, "balloon.current") == 0) {
			s->mem_total_kib = v;
		} else if (strcmp(f, "balloon.rss") == 0) {
			s->mem_used_kib = v;
		} else if (strcmp(f, "balloon.available") == 0) {
			available = v;
			has_available = true;
		} else if (strcmp(f, "balloon.unused") == 0) {
			unused = v;
			has_unused = true;
		} else if (sscanf(f, "block.%u.%79s", &idx, tail) == 2 && idx < sizeof(disk_index) &&
			   disk_index[idx] == 1) {
			if (strcmp(tail, "allocation") == 0) {
				s->disk_alloc += v;
				s->has_disk = true;
			} else if (strcmp(tail, "capacity") == 0) {
				s->disk_capacity += v;
			}
		}
	}
	/* the guests' own vCPU time, without qemu's emulator threads, where libvirt has it */
	if (vcpu_seen) {
		s->cpu_ns = vcpu_ns;
		s->has_cpu = true;
	}
	/* the guest's view (its balloon driver reports) is better than qemu's RSS */
	if (has_available && has_unused && available >= unused) {
		s->mem_used_kib = available - unused;
		s->mem_guest = true;
	}
	s->has_mem = s->mem_total_kib > 0;
}

int vk_domain_stats(virConnectPtr conn, struct vk_domain_sample **out, size_t *n, struct vk_error *err)
{
	virDomainStatsRecordPtr *recs = NULL;
	unsigned stats = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
			 VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_BLOCK;
	int nrecs;

	*out = NULL;
	*n = 0;
	if (vk_machine_load(err) < 0)
		return -1;
	/* groups a driver does not have are left out, not refused (no ENFORCE flag) */
	nrecs = lv.virConnectGetAllDomainStats(conn, stats, &recs, 0);
	if (nrecs < 0)
		return lv_error(err, "cannot read the domains' statistics");
	*out = xcalloc((size_t)nrecs + 1, sizeof(**out));
	for (int i = 0; i < nrecs; i++) {
		struct vk_domain_sample *s = &(*out)[i];

		s->name = xstrdup(lv.virDomainGetName(recs[i]->dom) ?: "");
		s->state = VK_HOST_STOPPED;
		sample_fill(s, recs[i]->params, recs[i]->nparams);
	}
	*n = (size_t)nrecs;
	lv.virDomainStatsRecordListFree(recs);
	return 0;
}

void vk_domain_samples_free(struct vk_domain_sample *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

/* ------------------------------------------------------------- snapshots -- */

/* The domain NAME, or an error naming it. */
static virDomainPtr lookup(virConnectPtr conn, const char *name, struct vk_error *err)
{
	virDomainPtr dom;

	if (vk_machine_load(err) < 0)
		return NULL;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		lv_error(err, "cannot find domain '%s'", name);
	return dom;
}

int vk_domain_suspend(virConnectPtr conn, const char *name, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);

	if (!dom)
		return -1;
	if (lv.virDomainSuspend(dom) < 0)
		return lv_error(err, "cannot pause domain '%s'", name);
	return 0;
}

int vk_domain_resume(virConnectPtr conn, const char *name, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	int st, reason;

	if (!dom)
		return -1;
	if (lv.virDomainGetState(dom, &st, &reason, 0) == 0 && st != VIR_DOMAIN_PAUSED)
		return 0;
	if (lv.virDomainResume(dom) < 0)
		return lv_error(err, "cannot resume domain '%s'", name);
	return 0;
}

int vk_domain_uuid(virConnectPtr conn, const char *name, char buf[VK_UUID_STRING_LEN], struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);

	if (!dom)
		return -1;
	if (lv.virDomainGetUUIDString(dom, buf) < 0)
		return lv_error(err, "cannot read the UUID of domain '%s'", name);
	return 0;
}

int vk_domain_disk_allocation(virConnectPtr conn, const char *name, const char *target, unsigned long long *bytes,
			      struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	virDomainBlockInfo info;

	*bytes = 0;
	if (!dom)
		return -1;
	if (lv.virDomainGetBlockInfo(dom, target, &info, 0) < 0)
		return lv_error(err, "cannot read the size of disk %s of domain '%s'", target, name);
	*bytes = info.physical;
	return 0;
}

int vk_domain_set_time(virConnectPtr conn, const char *name, long long *offset_ms, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	struct timespec now;
	long long guest_s = 0;
	unsigned int guest_ns = 0;
	int set;

	if (!dom)
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	/* qemu-ga sets the clock, then runs hwclock -w: a guest without hwclock
	 * (Debian 12 moved it to util-linux-extra) reports that as a failure
	 * after the clock was set. Reading the time back decides. */
	set = lv.virDomainSetTime(dom, now.tv_sec, (unsigned int)now.tv_nsec, 0);
	if (lv.virDomainGetTime(dom, &guest_s, &guest_ns, 0) < 0)
		return lv_error(err, "cannot %s the clock of domain '%s' through its guest agent", set < 0 ? "set" : "read",
				name);
	clock_gettime(CLOCK_REALTIME, &now);
	*offset_ms = (guest_s - (long long)now.tv_sec) * 1000 + ((long long)guest_ns - now.tv_nsec) / 1000000;
	return 0;
}

/* NAME's snapshot SNAP; NULL with no error when it has none. */
static virDomainSnapshotPtr snapshot_lookup(virDomainPtr dom, const char *name, const char *snap, struct vk_error *err)
{
	virDomainSnapshotPtr s = lv.virDomainSnapshotLookupByName(dom, snap, 0);
	virErrorPtr e;

	if (!s) {
		e = lv.virGetLastError();
		if (e && e->code != VIR_ERR_NO_DOMAIN_SNAPSHOT)
			lv_error(err, "cannot look up snapshot '%s' of domain '%s'", snap, name);
		else
			vk_error_clear(err);
	}
	return s;
}

int vk_domain_snapshot_create(virConnectPtr conn, const char *name, const char *xml, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	virDomainSnapshotPtr s;

	if (!dom)
		return -1;
	vk_debug("snapshot of domain '%s':\n%s", name, xml);
	s = lv.virDomainSnapshotCreateXML(dom, xml, 0);
	if (!s)
		return lv_error(err, "cannot take a snapshot of domain '%s'", name);
	lv.virDomainSnapshotFree(s);
	return 0;
}

int vk_domain_snapshot_exists(virConnectPtr conn, const char *name, const char *snap, bool *exists,
			      struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	virDomainSnapshotPtr s;

	*exists = false;
	if (!dom)
		return -1;
	vk_error_clear(err);
	s = snapshot_lookup(dom, name, snap, err);
	if (!s)
		return err && err->code != VK_ERR_NONE ? -1 : 0;
	*exists = true;
	lv.virDomainSnapshotFree(s);
	return 0;
}

int vk_domain_snapshot_revert(virConnectPtr conn, const char *name, const char *snap, bool paused,
			      struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = lookup(conn, name, err);
	virDomainSnapshotPtr s;
	int rc = 0;

	if (!dom)
		return -1;
	s = snapshot_lookup(dom, name, snap, err);
	if (!s)
		return err && err->code != VK_ERR_NONE
			       ? -1
			       : vk_error_set(err, VK_ERR_NOT_FOUND, "domain '%s' has no snapshot '%s'", name, snap);
	if (lv.virDomainRevertToSnapshot(s, paused ? VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED : 0) < 0)
		rc = lv_error(err, "cannot revert domain '%s' to snapshot '%s'", name, snap);
	lv.virDomainSnapshotFree(s);
	return rc;
}

int vk_domain_snapshot_remove(virConnectPtr conn, const char *name, const char *snap, struct vk_error *err)
{
	_cleanup_dom_ virDomainPtr dom = NULL;
	virDomainSnapshotPtr s;
	int rc = 0;

	if (vk_machine_load(err) < 0)
		return -1;
	dom = lv.virDomainLookupByName(conn, name);
	if (!dom)
		return 0;
	vk_error_clear(err);
	s = snapshot_lookup(dom, name, snap, err);
	if (!s)
		return err && err->code != VK_ERR_NONE ? -1 : 0;
	if (lv.virDomainSnapshotDelete(s, 0) < 0)
		rc = lv_error(err, "cannot delete snapshot '%s' of domain '%s'", snap, name);
	lv.virDomainSnapshotFree(s);
	return rc;
}
