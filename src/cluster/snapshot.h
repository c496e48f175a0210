/* Snapshots of a whole profile: every node saved together (memory and disk, or disk only), restored together, listed and deleted. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "profile/profile.h"
#include "util/error.h"

#define VK_SNAPSHOT_NAME_RULE "1-64 characters of a-z, A-Z, 0-9, '.', '_' and '-', starting with a letter or digit"
/* Where a profile keeps its snapshots' records: DIR/snapshots/NAME.json. */
#define VK_SNAPSHOT_DIR "snapshots"

/* Checks NAME against VK_SNAPSHOT_NAME_RULE (VK_ERR_INVALID naming it). */
int vk_snapshot_name_check(const char *name, struct vk_error *err);

/* The <domainsnapshot> XML (caller frees) for snapshot NAME of a domain
 * whose XML is DOMAIN_XML: every disk an internal snapshot, every cdrom
 * left out (read-only ISOs), with the memory state when MEMORY (a running
 * domain) and disk-only otherwise. DESCRIPTION may be NULL. Pure. */
char *vk_snapshot_xml(const char *name, const char *description, const char *domain_xml, bool memory);
/* The first disk's target ("vda") in DOMAIN_XML, into BUF[16]; false when none. Pure. */
bool vk_snapshot_first_disk(const char *domain_xml, char buf[16]);
/* Whether DOMAIN_XML has memory shared with the host (a virtiofs
 * <filesystem>, or memfd / shared memory backing): qemu cannot save its
 * memory state then. Pure. */
bool vk_snapshot_shares_memory(const char *domain_xml);

/* One node as a snapshot recorded it. */
struct vk_snapshot_node {
	char *name;           /* its domain */
	char *uuid;           /* its domain's UUID then: a node deleted and added again has another */
	bool running;         /* saved with its memory: restored running */
};

/* A snapshot's record (DIR/snapshots/NAME.json). */
struct vk_snapshot_info {
	char *name;
	long long created;    /* seconds since the epoch */
	bool running;         /* any node was saved running (with memory) */
	struct vk_snapshot_node *nodes;
	size_t nnodes;
	unsigned long long size; /* bytes the save added to the nodes' disks (0: unknown) */
};

void vk_snapshot_info_release(struct vk_snapshot_info *s);
/* The record as JSON (new reference), and back (VK_ERR_PARSE names WHAT). */
json_t *vk_snapshot_info_json(const struct vk_snapshot_info *s);
int vk_snapshot_info_parse(json_t *j, const char *what, struct vk_snapshot_info *s, struct vk_error *err);
/* `snapshot list -o json`: a list of {name, time (RFC 3339, UTC), state
 * ("running" or "stopped"), nodes (names), size (bytes)} (new reference). */
json_t *vk_snapshot_list_json(const struct vk_snapshot_info *s, size_t n);
/* TIME as "2026-12-08T03:04:05Z" into BUF[32]. */
void vk_snapshot_time(long long time, char buf[32]);

/* P's snapshots, oldest first, into *OUT (caller releases each and frees the
 * array). A profile without any gives none. */
int vk_snapshot_list(const struct vk_profile *p, struct vk_snapshot_info **out, size_t *n, struct vk_error *err);

struct vk_snapshot_opts {
	bool stopped;         /* save: disk only, of the stopped profile (a running one is stopped first) */
	bool force;           /* save: replace a snapshot of that name */
	long wait_s;          /* restore: how long each wait may take (0: the default; < 0: none, and no
			       * clock correction: libvirt's test driver has no guest) */
	int stop_timeout_s;   /* save --stopped: as `stop --timeout` (0: the default) */
};

struct vk_snapshot_result {
	size_t nnodes;
	bool memory;          /* a node was saved / restored with its memory */
	bool stopped_first;   /* save --stopped stopped the running profile */
	unsigned long long size;
	long long paused_ms;  /* how long the nodes were paused (save) or reverted before resuming (restore) */
	const char *clock_method; /* "guest agent" or "ssh" (the last used); NULL when no clock was set */
	long long clock_offset_ms; /* the largest guest-minus-host offset read back afterwards */
	char *clock_failed;   /* a node whose clock could not be set, and why (owned; NULL: none) */
};

void vk_snapshot_result_release(struct vk_snapshot_result *r);

/* Saves snapshot NAME of P (locked by the caller). Running nodes are paused
 * together, each saved with its memory, then resumed and their clocks set
 * to the host's (the pause stopped them); stopped nodes are saved disk-only.
 * O->stopped stops a running profile first (ACPI, as `stop`) and leaves it
 * stopped. A name in use is VK_ERR_EXISTS unless O->force. Memory cannot be
 * saved with virtiofs mounts: that is VK_ERR_UNSUPPORTED pointing at
 * --stopped. When a node's save fails (a full disk), the snapshot is removed
 * from every node and the paused nodes resume. */
int vk_snapshot_save(struct vk_profile *p, const char *name, const struct vk_snapshot_opts *o,
		     struct vk_snapshot_result *res, struct vk_error *err);

/* Restores snapshot NAME of P (locked by the caller): every node reverted,
 * the ones saved running resumed together, their clocks set to the host's
 * (guest agent, else ssh), then, unless O->wait_s < 0, their SSH (and with
 * Kubernetes the API server and every node Ready) waited for. A node added
 * or deleted since the save makes the snapshot unrestorable: that is an
 * error naming the node, with nothing changed. */
int vk_snapshot_restore(struct vk_profile *p, const char *name, const struct vk_snapshot_opts *o,
			struct vk_snapshot_result *res, struct vk_error *err);

/* Deletes snapshot NAME from every node of P that has it, then its record. */
int vk_snapshot_delete(struct vk_profile *p, const char *name, struct vk_error *err);

/* The snapshot last restored in P and when: *NAME (caller frees) is NULL
 * when none was. */
void vk_snapshot_last_restored(const struct vk_profile *p, char **name, long long *at);
