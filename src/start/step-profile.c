/* Step "profile": the settings of this start — what the profile was created with, else the flags, else the defaults — and its Kubernetes version. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/addons.h"
#include "vm/mounts.h"
#include "vm/nodeplan.h"
#include "start/start-steps.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int refuse_change(const struct vk_profile *p, const char *flag, const char *given, const char *saved,
			 struct vk_error *err)
{
	vk_error_set(err, VK_ERR_INVALID, "profile '%s' was created with --%s %s; it cannot change to %s", p->name, flag,
		     saved, given);
	return vk_error_hint(err, "delete the profile first ('virtkube delete -p %s'), or leave --%s out", p->name, flag);
}

static int merge_long(const struct vk_profile *p, const char *flag, long saved, long given, long def, long *out,
		      struct vk_error *err)
{
	if (p->exists && saved > 0) {
		if (given > 0 && given != saved) {
			char a[32], b[32];

			snprintf(a, sizeof(a), "%ld", given);
			snprintf(b, sizeof(b), "%ld", saved);
			return refuse_change(p, flag, a, b, err);
		}
		*out = saved;
		return 0;
	}
	*out = given > 0 ? given : def;
	return 0;
}

static int merge_str(const struct vk_profile *p, const char *flag, const char *saved, const char *given,
		     const char *def, char **out, struct vk_error *err)
{
	if (p->exists && saved) {
		if (given && strcmp(given, saved) != 0)
			return refuse_change(p, flag, given, saved, err);
		*out = xstrdup(saved);
		return 0;
	}
	*out = given ? xstrdup(given) : def ? xstrdup(def) : NULL;
	return 0;
}

/* The version asked for: a row of the table, or "stable", "latest", "X.Y" and
 * untested versions from upstream's version files (honouring --mirror and
 * --offline; the table is the fallback, with a note). None asked: the table's
 * default, without asking the network. */
static int choose_version(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	struct vk_version_request req = { .input = o->kubernetes_version, .mirror = o->mirror, .offline = o->offline };
	struct vk_version_choice choice = { 0 };

	if (!o->kubernetes_version) {
		ctx->version = vk_kubernetes_version_resolve(NULL, err);
		return ctx->version ? 0 : -1;
	}
	if (vk_kubernetes_version_choose(&req, &choice, err) < 0)
		return -1;
	if (choice.note)
		vk_start_warn(ctx, "%s", choice.note);
	ctx->version = xstrdup(choice.version);
	vk_version_choice_release(&choice);
	return 0;
}

/* The node count: fixed when the profile is made, changed later only by
 * `node add` and `node delete`. */
static int resolve_nodes(struct vk_start_ctx *ctx, struct vk_error *err)
{
	struct vk_profile *p = ctx->p;
	long saved = p->exists ? (long)p->cfg.nnodes : 0;
	long given = ctx->opts->nodes;

	if (given != 0 && vk_nodes_count_check(p->name, given, err) < 0)
		return -1;
	if (saved > 0 && given > 0 && given != saved) {
		vk_error_set(err, VK_ERR_INVALID, "profile '%s' has %ld node%s; --nodes %ld cannot change that", p->name,
			     saved, saved == 1 ? "" : "s", given);
		return vk_error_hint(err, "use 'virtkube -p %s node add' or 'node delete NAME', or leave --nodes out",
				     p->name);
	}
	ctx->nodes = saved > 0 ? saved : given > 0 ? given : 1;
	return 0;
}

/* Kubernetes or not, and which version: a created profile keeps both. */
static int resolve_kubernetes(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	struct vk_profile *p = ctx->p;
	const char *saved = p->cfg.kubernetes_version;

	if (p->exists && p->cfg.kind == VK_KIND_KUBERNETES && o->no_kubernetes) {
		vk_error_set(err, VK_ERR_INVALID, "profile '%s' was created with Kubernetes; --no-kubernetes cannot change that",
			     p->name);
		return vk_error_hint(err, "delete the profile first ('virtkube delete -p %s')", p->name);
	}
	ctx->kubernetes = p->exists && p->cfg.kind != VK_KIND_UNDECIDED ? p->cfg.kind == VK_KIND_KUBERNETES
									  : !o->no_kubernetes;
	if (!ctx->kubernetes)
		return 0;
	if (saved) {
		if (o->kubernetes_version && strcmp(saved, ctx->version) != 0) {
			vk_error_set(err, VK_ERR_INVALID, "profile '%s' runs Kubernetes %s; --kubernetes-version %s cannot change that",
				     p->name, saved, ctx->version);
			return vk_error_hint(err, "delete the profile ('virtkube delete -p %s') to start over with another version",
					     p->name);
		}
		free(ctx->version);
		ctx->version = xstrdup(saved);
	}
	if (!ctx->version && !(ctx->version = vk_kubernetes_version_resolve(NULL, err)))
		return -1;
	return 0;
}

/* --network-mode bridge and its flags: the bridge and the LAN's addresses
 * are fixed when the profile is made (into p->cfg; step "config" saves
 * them), and every address a node gets is checked here, before anything is
 * made. The other modes take none of them. */
static int resolve_bridge(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	struct vk_profile *p = ctx->p;
	struct vk_profile_config *c = &p->cfg;
	bool made = p->exists && c->network_mode;
	const struct {
		const char *flag, *given, *saved;
	} flags[] = {
		{ "bridge", o->bridge, c->bridge },
		{ "bridge-ip", o->bridge_ip, c->bridge_ip },
		{ "bridge-gateway", o->bridge_gateway, c->bridge_gateway },
		{ "bridge-dns", o->bridge_dns, c->bridge_dns },
	};
	struct vk_bridge_lan lan;
	char gw[16], dns[16];

	for (size_t i = 0; i < VK_ARRAY_SIZE(flags); i++) {
		if (!flags[i].given)
			continue;
		if (strcmp(ctx->network_mode, "bridge") != 0) {
			vk_error_set(err, VK_ERR_INVALID, "--%s applies to --network-mode bridge; profile '%s' %s "
				     "--network-mode %s", flags[i].flag, p->name, made ? "was made with" : "would get",
				     ctx->network_mode);
			return vk_error_hint(err, made ? "leave --%s out, or delete profile '%s' first"
						       : "leave --%s out, or give --network-mode bridge (profile '%s' is new)",
					     flags[i].flag, p->name);
		}
		if (made && flags[i].saved && strcmp(flags[i].given, flags[i].saved) != 0)
			return refuse_change(p, flags[i].flag, flags[i].given, flags[i].saved, err);
	}
	if (strcmp(ctx->network_mode, "bridge") != 0)
		return 0;
	for (const char *const *a = o->addons; a && *a; a++)
		if (vk_addon_network_check(*a, p->name, true, err) < 0)
			return -1;
	if (made)
		return 0;
	if (!o->bridge) {
		vk_error_set(err, VK_ERR_INVALID, "--network-mode bridge needs --bridge NAME: the bridge on the libvirt host "
			     "whose LAN the nodes join");
		return vk_error_hint(err, "for example --bridge br0 --bridge-ip 192.168.1.50/24 ('ip link show type bridge' "
				     "on the libvirt host lists its bridges)");
	}
	if (!vk_ifname_valid(o->bridge)) {
		vk_error_set(err, VK_ERR_INVALID, "--bridge '%s' is not a network interface name", o->bridge);
		return vk_error_hint(err, "a bridge's name is " VK_IFNAME_RULE " (e.g. br0)");
	}
	if (vk_bridge_lan_parse(o->bridge_ip, o->bridge_gateway, o->bridge_dns, &lan, err) < 0 ||
	    vk_bridge_lan_check(&lan, ctx->nodes, err) < 0)
		return -1;
	vk_ipv4_format(lan.gateway, gw);
	vk_ipv4_format(lan.dns, dns);
	vk_profile_set_str(&c->bridge, o->bridge);
	vk_profile_set_str(&c->bridge_ip, o->bridge_ip);
	vk_profile_set_str(&c->bridge_gateway, gw);
	vk_profile_set_str(&c->bridge_dns, dns);
	return 0;
}

/* --mount: checked (virtiofsd too) before anything is downloaded; the
 * guests of a profile that has nodes already are told by step "mounts". */
static int add_mounts(struct vk_start_ctx *ctx, struct vk_error *err)
{
	size_t added = 0;

	if (!ctx->opts->mounts)
		return 0;
	if (vk_mounts_merge(ctx->p, ctx->opts->mounts, ctx->uri, &added, err) < 0)
		return -1;
	if (added && ctx->p->cfg.nnodes)
		ctx->p->cfg.mounts_pending = true;
	return 0;
}

int vk_step_profile(struct vk_start_ctx *ctx, struct vk_error *err)
{
	const struct vk_start_opts *o = ctx->opts;
	struct vk_profile *p = ctx->p;
	const struct vk_profile_config *c = p ? &p->cfg : NULL;
	/* preflight decides the accelerator; a made profile keeps the one it has */
	const char *accel_wanted = o->accel ? o->accel : "auto";
	char abs_image[PATH_MAX];

	ctx->home = vk_home_dir(err);
	if (!ctx->home)
		return -1;
	/* A version that does not exist is refused before anything else. */
	if (!o->no_kubernetes && choose_version(ctx, err) < 0)
		return -1;
	if (o->download_only) {
		ctx->kubernetes = !o->no_kubernetes;
		return 0;
	}
	if (resolve_kubernetes(ctx, err) < 0 || resolve_nodes(ctx, err) < 0)
		return -1;
	if (o->no_default_addons) {
		if (p->exists && p->cfg.kind != VK_KIND_UNDECIDED) {
			vk_error_set(err, VK_ERR_INVALID, "--no-default-addons applies when a profile is created; profile "
				     "'%s' exists", p->name);
			return vk_error_hint(err, "turn addons off with 'virtkube -p %s addons disable NAME'", p->name);
		}
		vk_profile_set_addons(p, (const char *const[]){ NULL });
	}
	if (merge_str(p, "libvirt-uri", c->libvirt_uri, o->libvirt_uri, vk_machine_uri(NULL), &ctx->uri, err) < 0 ||
	    merge_long(p, "cpus", c->cpus, o->cpus, VK_DEFAULT_CPUS, &ctx->cpus, err) < 0 ||
	    merge_long(p, "memory", c->memory_mib, o->memory_mib, VK_DEFAULT_MEMORY_MIB, &ctx->memory_mib, err) < 0 ||
	    merge_long(p, "disk-size", c->disk_gib, o->disk_gib, VK_DEFAULT_DISK_GIB, &ctx->disk_gib, err) < 0 ||
	    merge_str(p, "network-mode", c->network_mode, o->network_mode, o->bridge ? "bridge" : "nat",
		      &ctx->network_mode, err) < 0 ||
	    resolve_bridge(ctx, err) < 0)
		return -1;
	/* The accelerator saved is the one chosen; "auto" matches whatever it was. */
	if (p->exists && c->accel && strcmp(accel_wanted, "auto") != 0 && strcmp(accel_wanted, c->accel) != 0)
		return refuse_change(p, "accel", accel_wanted, c->accel, err);
	if (vk_start_base_image(o->image)) {
		_cleanup_free_ char *saved = c->image ? vk_artifacts_image_of_path(ctx->home, c->image) : NULL;

		/* a profile made from another image keeps it */
		if (c->image && (!saved || strcmp(saved, o->image) != 0))
			return refuse_change(p, "image", o->image, saved ? saved : c->image, err);
		ctx->image = c->image ? xstrdup(c->image) : NULL;
	} else if (o->image) {
		if (!realpath(o->image, abs_image)) {
			vk_error_set_errno(err, errno == ENOENT ? VK_ERR_NOT_FOUND : VK_ERR_IO, errno, "image '%s'", o->image);
			return vk_error_hint(err, "pass a qcow2 or raw disk image, or an image.json from vm-images/");
		}
		if (merge_str(p, "image", c->image, abs_image, NULL, &ctx->image, err) < 0)
			return -1;
	} else {
		ctx->image = c->image ? xstrdup(c->image) : NULL;
	}
	return add_mounts(ctx, err);
}
