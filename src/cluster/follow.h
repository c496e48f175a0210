/* Following a guest's provisioning on its console log to VIRTKUBE-READY, and whether it is still pending. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "profile/profile.h"
#include "vm/guestlog.h"
#include "util/error.h"

/* Whether the guest still has provisioning to finish: true until a follow
 * has seen VIRTKUBE-READY (a VM stopped halfway through its first
 * provisioning carries on at its next boot, and start follows it again). */
bool vk_follow_pending(const struct vk_profile *p);

/* Follows the guest's console log from OFFSET until VIRTKUBE-READY,
 * calling ON_EVENT for each stage, and records that P is provisioned
 * (saved). A guest failure ends it at once with the stage and its last log
 * lines; TIMEOUT_S bounds it. CHECK (may be NULL) is asked between polls
 * whether to go on (e.g. whether the domain still runs). */
int vk_follow_guest(struct vk_profile *p, off_t offset, long timeout_s, vk_guest_event_fn on_event, void *event_data,
		    vk_guest_check_fn check, void *check_data, struct vk_error *err);

/* The same for node N (index > 1) of P: its own console log; nothing is saved. */
int vk_follow_node(const struct vk_profile *p, const struct vk_node *n, off_t offset, long timeout_s,
		   vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
		   struct vk_error *err);
