/* Following a guest on its console log (see follow.h): vk_guestlog_wait with the caller's event and check callbacks, and the provisioned mark. */
#include "cluster/follow.h"

#include "vm/nodeplan.h"
#include "util/cleanup.h"

/* One DATA for vk_guestlog_wait's event and check callbacks. */
struct follow_ctx {
	vk_guest_event_fn on_event;
	void *event_data;
	vk_guest_check_fn check;
	void *check_data;
};

static int check_adapter(void *data, struct vk_error *err)
{
	struct follow_ctx *c = data;

	return c->check ? c->check(c->check_data, err) : 0;
}

static void event_adapter(const struct vk_guest_event *ev, void *data)
{
	struct follow_ctx *c = data;

	if (c->on_event)
		c->on_event(ev, c->event_data);
}

bool vk_follow_pending(const struct vk_profile *p)
{
	return !p->cfg.provisioned;
}

/* Follows CONSOLE from OFFSET to VIRTKUBE-READY (see vk_follow_guest). */
static int follow_console(const char *console, const char *name, off_t offset, long timeout_s,
			  vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
			  struct vk_error *err)
{
	struct vk_guestlog *g = vk_guestlog_new(console, offset);
	struct follow_ctx ctx = { on_event, event_data, check, check_data };
	int rc;

	rc = vk_guestlog_wait(g, name, timeout_s * 1000, 500, event_adapter, check_adapter, &ctx, err);
	vk_guestlog_free(g);
	return rc;
}

int vk_follow_guest(struct vk_profile *p, off_t offset, long timeout_s, vk_guest_event_fn on_event, void *event_data,
		    vk_guest_check_fn check, void *check_data, struct vk_error *err)
{
	_cleanup_free_ char *console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);

	if (follow_console(console, p->name, offset, timeout_s, on_event, event_data, check, check_data, err) < 0)
		return -1;
	p->cfg.provisioned = true;
	return vk_profile_save(p, err);
}

int vk_follow_node(const struct vk_profile *p, const struct vk_node *n, off_t offset, long timeout_s,
		   vk_guest_event_fn on_event, void *event_data, vk_guest_check_fn check, void *check_data,
		   struct vk_error *err)
{
	_cleanup_free_ char *console = vk_node_path(p, n, VK_FILE_CONSOLE_LOG);

	return follow_console(console, n->name, offset, timeout_s, on_event, event_data, check, check_data, err);
}
