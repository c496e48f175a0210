/* cloud-init NoCloud documents (user-data, meta-data, network-config) written with util/yamlw. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

/* A file cloud-init writes before runcmd (write_files). */
struct vk_cloudinit_file {
	const char *path;
	const char *content;
	const char *permissions; /* e.g. "0644"; NULL: cloud-init's default */
};

/* What goes into the documents. Strings are borrowed. Every value is emitted
 * as a YAML scalar by libyaml, so hostile text cannot change the structure. */
struct vk_cloudinit {
	const char *hostname;      /* the profile name */
	const char *instance_id;   /* changes when the machine is re-created */
	const char *ssh_pubkey;    /* one OpenSSH public key line for the user */
	const char *user;          /* login user; NULL: "docker" */
	/* Static address on the NIC with this MAC (the libvirt DHCP host entry
	 * says the same; the static config spares the guest a DHCP round trip). */
	const char *mac;
	const char *address;       /* "192.168.100.2" */
	int prefix;                /* 24 */
	const char *gateway;       /* also the DNS server unless DNS is given */
	const char *dns;           /* the name server; NULL: the gateway */
	/* Extension points for provisioning (NULL-terminated, may be NULL). */
	const char *const *runcmd; /* each run with sh -c, in order, on first boot */
	const struct vk_cloudinit_file *write_files; /* terminated by path NULL */
	/* Touch /etc/cloud/cloud-init.disabled at the end of the first boot:
	 * later boots skip cloud-init's four stages (~25 s under TCG). */
	bool disable_after_first_boot;
};

/* Each returns a newly allocated document (the caller frees it), or NULL with ERR set. */
char *vk_cloudinit_user_data(const struct vk_cloudinit *ci, struct vk_error *err);
char *vk_cloudinit_meta_data(const struct vk_cloudinit *ci, struct vk_error *err);
char *vk_cloudinit_network_config(const struct vk_cloudinit *ci, struct vk_error *err);
