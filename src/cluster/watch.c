/* One refresh of `status --watch`: libvirt's domain stats, one list each of Nodes, Pods and Events, the addons, the console logs and the profile lock, into plain data (see watch.h). */
#include "cluster/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "kube/addons.h"
#include "kube/kubeapi.h"
#include "profile/profile.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm/guestlog.h"
#include "vm/nodeplan.h"

/* An API that does not answer within this long counts as down for this
 * refresh (the view waits for it: keep it short). */
#define WATCH_API_TIMEOUT_MS 3000L
/* How much of a console log the tail reads from its end. */
#define WATCH_TAIL_BYTES 65536

/* What is kept between refreshes for one node (by name: nodes come and go). */
struct watch_keep {
	char *name;
	char *console;              /* its console log's path */
	struct vk_guestlog *log;
	bool has_cpu;
	unsigned long long cpu_ns;
	long long at_ms;
};

struct vk_watch {
	char *profile;
	long interval_s;
	virConnectPtr conn;
	char *conn_uri;
	struct vk_kube *kube;
	char *kube_server;
	struct watch_keep keep[VK_NODES_MAX + 4];
	size_t nkeep;
	struct vk_addon_registry reg;
	bool reg_loaded;
	long long addons_ms;        /* vk_now_ms() when their state was last asked; 0 never */
	struct vk_watch_data data;
};

/* ------------------------------------------------------------- helpers -- */

double vk_watch_cpu_pct(unsigned long long prev_ns, unsigned long long cpu_ns, long long wall_ns, int vcpus)
{
	double pct;

	if (wall_ns <= 0 || vcpus <= 0 || cpu_ns < prev_ns)
		return -1;
	pct = (double)(cpu_ns - prev_ns) * 100.0 / ((double)wall_ns * vcpus);
	return pct > 100.0 ? 100.0 : pct;
}

time_t vk_watch_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int n = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &n) != 6 || n == 0)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? xstrdup(s) : NULL;
}

static const char *jpath(json_t *obj, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(obj, a), b));
}

/* The status of condition TYPE in a "conditions" array, or NULL. */
static json_t *condition(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static void event_release(struct vk_watch_event *e)
{
	free(e->ns);
	free(e->object);
	free(e->type);
	free(e->reason);
	free(e->message);
}

void vk_watch_data_release(struct vk_watch_data *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nnodes; i++) {
		struct vk_watch_node *n = &d->nodes[i];

		free(n->name);
		free(n->role);
		free(n->ip);
		free(n->ready);
		free(n->kubelet);
		free(n->guest_stage);
		free(n->guest_failed);
	}
	free(d->nodes);
	for (size_t i = 0; i < d->npods; i++) {
		free(d->pods[i].ns);
		free(d->pods[i].name);
		free(d->pods[i].phase);
		free(d->pods[i].reason);
	}
	free(d->pods);
	for (size_t i = 0; i < d->nevents; i++)
		event_release(&d->events[i]);
	free(d->events);
	for (size_t i = 0; i < d->naddons; i++) {
		free(d->addons[i].name);
		free(d->addons[i].state);
		free(d->addons[i].detail);
	}
	free(d->addons);
	free(d->profile);
	free(d->libvirt_error);
	free(d->problem);
	free(d->hint);
	free(d->api_server);
	free(d->api_error);
	free(d->busy_command);
	memset(d, 0, sizeof(*d));
}

/* --------------------------------------------------------------- nodes -- */

static struct vk_watch_node *node_add(struct vk_watch_data *d, const char *name, const char *role, const char *ip)
{
	struct vk_watch_node *n;

	d->nodes = xrealloc(d->nodes, (d->nnodes + 1) * sizeof(*d->nodes));
	n = &d->nodes[d->nnodes++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->role = xstrdup(role);
	n->ip = ip && *ip ? xstrdup(ip) : NULL;
	n->cpu_pct = -1;
	return n;
}

static struct watch_keep *keep_for(struct vk_watch *w, const char *name)
{
	for (size_t i = 0; i < w->nkeep; i++)
		if (strcmp(w->keep[i].name, name) == 0)
			return &w->keep[i];
	if (w->nkeep == VK_ARRAY_SIZE(w->keep))
		return NULL;
	memset(&w->keep[w->nkeep], 0, sizeof(w->keep[0]));
	w->keep[w->nkeep].name = xstrdup(name);
	return &w->keep[w->nkeep++];
}

/* The profile's nodes as configured; node 1's console log path into the keep. */
static void nodes_from_profile(struct vk_watch *w, const struct vk_profile *p, struct vk_watch_data *d)
{
	bool kube = vk_profile_kubernetes(p);

	if (p->cfg.nnodes == 0) {
		struct watch_keep *k = keep_for(w, p->name);

		node_add(d, p->name, kube ? "control-plane" : "vm", p->cfg.node_ip);
		if (k && !k->console)
			k->console = vk_profile_path(p, VK_FILE_CONSOLE_LOG);
		return;
	}
	for (size_t i = 0; i < p->cfg.nnodes; i++) {
		const struct vk_node *n = &p->cfg.nodes[i];
		struct watch_keep *k = keep_for(w, n->name);
		const char *role = n->role == VK_ROLE_CONTROL_PLANE ? "control-plane"
				   : n->role == VK_ROLE_WORKER ? "worker" : "vm";

		node_add(d, n->name, role, n->ip);
		if (k && !k->console)
			k->console = n->index == 1 ? vk_profile_path(p, VK_FILE_CONSOLE_LOG)
						   : vk_node_path(p, n, VK_FILE_CONSOLE_LOG);
	}
}

/* Node I's domain name: node 1's is the profile's domain, the others' their own name. */
static char *domain_of(const struct vk_profile *p, const struct vk_watch_data *d, size_t i)
{
	return i == 0 ? vk_cluster_domain_name(p->name) : xstrdup(d->nodes[i].name);
}

/* ONE virConnectGetAllDomainStats call for every node; the connection is
 * kept, and made again after a failure. */
static void gather_libvirt(struct vk_watch *w, const struct vk_profile *p, struct vk_watch_data *d)
{
	const char *uri = p->cfg.libvirt_uri ? p->cfg.libvirt_uri : vk_machine_uri(NULL);
	struct vk_domain_sample *s = NULL;
	struct vk_error err = { 0 };
	size_t ns = 0;
	long long now = vk_now_ms();

	if (w->conn && strcmp(w->conn_uri, uri) != 0) {
		vk_machine_disconnect(w->conn);
		w->conn = NULL;
	}
	if (!w->conn) {
		w->conn = vk_machine_connect(uri, &err);
		if (!w->conn) {
			d->libvirt_error = xstrdup(err.message);
			return;
		}
		free(w->conn_uri);
		w->conn_uri = xstrdup(uri);
	}
	if (vk_domain_stats(w->conn, &s, &ns, &err) < 0) {
		d->libvirt_error = xstrdup(err.message);
		vk_machine_disconnect(w->conn);
		w->conn = NULL;
		return;
	}
	for (size_t i = 0; i < d->nnodes; i++) {
		struct vk_watch_node *n = &d->nodes[i];
		_cleanup_free_ char *dom = domain_of(p, d, i);
		struct watch_keep *k = keep_for(w, n->name);
		const struct vk_domain_sample *m = NULL;

		for (size_t j = 0; j < ns && !m; j++)
			if (strcmp(s[j].name, dom) == 0)
				m = &s[j];
		n->host_known = true;
		n->host = m ? m->state : VK_HOST_NONEXISTENT;
		if (!m || m->state != VK_HOST_RUNNING) {
			if (k)
				k->has_cpu = false;
			continue;
		}
		if (m->has_cpu && k) {
			if (k->has_cpu)
				n->cpu_pct = vk_watch_cpu_pct(k->cpu_ns, m->cpu_ns, (now - k->at_ms) * 1000000LL,
							      m->vcpus > 0 ? m->vcpus : 1);
			k->has_cpu = true;
			k->cpu_ns = m->cpu_ns;
			k->at_ms = now;
		}
		n->has_mem = m->has_mem;
		n->mem_used_kib = m->mem_used_kib;
		n->mem_total_kib = m->mem_total_kib;
		n->has_disk = m->has_disk;
		n->disk_alloc = m->disk_alloc;
		n->disk_capacity = m->disk_capacity;
	}
	vk_domain_samples_free(s, ns);
}

/* The guest's progress from each node's console log: only what was
 * appended since the last refresh is read. */
static void gather_guest(struct vk_watch *w, struct vk_watch_data *d)
{
	for (size_t i = 0; i < d->nnodes; i++) {
		struct vk_watch_node *n = &d->nodes[i];
		struct watch_keep *k = keep_for(w, n->name);

		if (!k || !k->console)
			continue;
		if (!k->log)
			k->log = vk_guestlog_new(k->console, 0);
		if (vk_guestlog_poll(k->log, NULL, NULL, NULL) < 0)
			continue;
		if (vk_guestlog_last_stage(k->log))
			n->guest_stage = xstrdup(vk_guestlog_last_stage(k->log));
		if (vk_guestlog_failed(k->log))
			n->guest_failed = xstrdup(vk_guestlog_failed(k->log));
		n->guest_ready = vk_guestlog_ready(k->log);
	}
}

/* A virtkube command holding the profile's lock (the lock file carries the
 * holder's pid, cleared on release): for a start in another terminal. */
static void gather_busy(const struct vk_profile *p, struct vk_watch_data *d)
{
	_cleanup_free_ char *path = xasprintf("%s/locks/%s.lock", p->home, p->name);
	_cleanup_free_ char *text = NULL, *cmdline = NULL, *proc = NULL;
	size_t len = 0;
	long pid;

	if (vk_read_file(path, &text, &len, NULL) < 0 || (pid = strtol(text, NULL, 10)) <= 0 || pid == getpid())
		return;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return;
	d->busy_pid = pid;
	proc = xasprintf("/proc/%ld/cmdline", pid);
	if (vk_read_file(proc, &cmdline, &len, NULL) == 0 && len > 0) {
		/* NUL-separated words, the program by its base name */
		const char *prog = strrchr(cmdline, '/') ? strrchr(cmdline, '/') + 1 : cmdline;
		struct vk_strbuf sb;

		vk_strbuf_init(&sb, len);
		vk_strbuf_addstr(&sb, prog);
		for (size_t i = strlen(cmdline) + 1; i < len; i += strlen(cmdline + i) + 1) {
			vk_strbuf_addch(&sb, ' ');
			vk_strbuf_addstr(&sb, cmdline + i);
		}
		d->busy_command = vk_strbuf_detach(&sb, NULL);
	}
}

/* ----------------------------------------------------------- Kubernetes -- */

static void parse_nodes(json_t *list, struct vk_watch_data *d)
{
	size_t i;
	json_t *item;

	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *name = jpath(item, "metadata", "name");
		json_t *st = json_object_get(item, "status");
		json_t *ready = condition(json_object_get(st, "conditions"), "Ready");
		struct vk_watch_node *n = NULL;

		if (!name)
			continue;
		for (size_t j = 0; j < d->nnodes && !n; j++)
			if (strcmp(d->nodes[j].name, name) == 0)
				n = &d->nodes[j];
		if (!n) /* a Node no VM of the profile has (joined by hand): shown all the same */
			n = node_add(d, name, "node", NULL);
		free(n->ready);
		free(n->kubelet);
		n->ready = ready ? jstr(ready, "status") : xstrdup("Unknown");
		n->kubelet = jstr(json_object_get(st, "nodeInfo"), "kubeletVersion");
	}
}

/* Why pod status ST is not running and ready: a container's waiting or
 * terminated reason, the pod's own reason, a false condition's reason. */
static const char *pod_reason(json_t *st)
{
	static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
	static const char *const conds[] = { "PodScheduled", "Initialized", "ContainersReady", "Ready" };

	for (size_t l = 0; l < VK_ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *cs;

		json_array_foreach(json_object_get(st, lists[l]), i, cs) {
			json_t *state = json_object_get(cs, "state");
			const char *r = jpath(state, "waiting", "reason");

			if (!r && !json_is_true(json_object_get(cs, "ready")))
				r = jpath(state, "terminated", "reason");
			if (r && strcmp(r, "Completed") != 0)
				return r;
		}
	}
	if (json_string_value(json_object_get(st, "reason")))
		return json_string_value(json_object_get(st, "reason"));
	for (size_t c = 0; c < VK_ARRAY_SIZE(conds); c++) {
		json_t *cond = condition(json_object_get(st, "conditions"), conds[c]);
		const char *status = json_string_value(json_object_get(cond, "status"));

		if (status && strcmp(status, "True") != 0 && json_string_value(json_object_get(cond, "reason")))
			return json_string_value(json_object_get(cond, "reason"));
	}
	return NULL;
}

static void parse_pods(json_t *list, struct vk_watch_data *d)
{
	json_t *items = json_object_get(list, "items");
	size_t i;
	json_t *item;

	d->pods_total = json_array_size(items);
	json_array_foreach(items, i, item) {
		json_t *st = json_object_get(item, "status"), *cs;
		const char *phase = json_string_value(json_object_get(st, "phase"));
		const char *ready = json_string_value(
			json_object_get(condition(json_object_get(st, "conditions"), "Ready"), "status"));
		const char *reason;
		struct vk_watch_pod *pod;
		size_t j;

		if (phase && (strcmp(phase, "Succeeded") == 0 ||
			      (strcmp(phase, "Running") == 0 && ready && strcmp(ready, "True") == 0)))
			continue;
		d->pods = xrealloc(d->pods, (d->npods + 1) * sizeof(*d->pods));
		pod = &d->pods[d->npods++];
		memset(pod, 0, sizeof(*pod));
		pod->ns = xstrdup(jpath(item, "metadata", "namespace") ?: "");
		pod->name = xstrdup(jpath(item, "metadata", "name") ?: "");
		pod->phase = xstrdup(phase ? phase : "Unknown");
		reason = pod_reason(st);
		pod->reason = xstrdup(reason ? reason : pod->phase);
		json_array_foreach(json_object_get(st, "containerStatuses"), j, cs)
			pod->restarts += json_integer_value(json_object_get(cs, "restartCount"));
	}
}

static time_t event_time(json_t *ev)
{
	const char *candidates[] = { json_string_value(json_object_get(ev, "lastTimestamp")),
				     jpath(ev, "series", "lastObservedTime"),
				     json_string_value(json_object_get(ev, "eventTime")),
				     jpath(ev, "metadata", "creationTimestamp") };

	for (size_t i = 0; i < VK_ARRAY_SIZE(candidates); i++)
		if (vk_watch_parse_time(candidates[i]))
			return vk_watch_parse_time(candidates[i]);
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct vk_watch_event *x = a, *y = b;

	return (x->last > y->last) - (x->last < y->last);
}

static void parse_events(json_t *list, struct vk_watch_data *d)
{
	json_t *items = json_object_get(list, "items");
	size_t i, n = json_array_size(items);
	json_t *ev;

	if (!n)
		return;
	d->events = xcalloc(n, sizeof(*d->events));
	json_array_foreach(items, i, ev) {
		struct vk_watch_event *e = &d->events[d->nevents++];
		json_t *obj = json_object_get(ev, "involvedObject");
		json_t *count = json_object_get(ev, "count");

		if (!count)
			count = json_object_get(json_object_get(ev, "series"), "count");
		e->ns = xstrdup(jpath(ev, "metadata", "namespace") ?: "");
		e->object = xasprintf("%s/%s", json_string_value(json_object_get(obj, "kind")) ?: "?",
				      json_string_value(json_object_get(obj, "name")) ?: "?");
		e->type = xstrdup(json_string_value(json_object_get(ev, "type")) ?: "Normal");
		e->reason = xstrdup(json_string_value(json_object_get(ev, "reason")) ?: "");
		e->message = xstrdup(json_string_value(json_object_get(ev, "message")) ?: "");
		e->count = count ? (long)json_integer_value(count) : 1;
		e->last = event_time(ev);
	}
	/* stable enough: the server lists them in creation order, ties keep it */
	qsort(d->events, d->nevents, sizeof(*d->events), event_cmp);
	if (d->nevents > VK_WATCH_EVENTS_MAX) {
		size_t drop = d->nevents - VK_WATCH_EVENTS_MAX;

		for (size_t k = 0; k < drop; k++)
			event_release(&d->events[k]);
		memmove(d->events, d->events + drop, VK_WATCH_EVENTS_MAX * sizeof(*d->events));
		d->nevents = VK_WATCH_EVENTS_MAX;
	}
}

/* The addons' state, as `addons list` computes it (a GET per object). */
static int gather_addons(struct vk_watch *w, const struct vk_profile *p, struct vk_watch_data *d, bool ask,
			 struct vk_error *err)
{
	bool asking = ask && w->kube;

	for (size_t i = 0; i < w->reg.n; i++) {
		const struct vk_addon *a = &w->reg.items[i];
		struct vk_watch_addon *out = &d->addons[d->naddons++];
		enum vk_addon_state st;
		char *detail = NULL;

		out->name = xstrdup(a->name);
		out->enabled = vk_addons_is_enabled(p, &w->reg, a->name);
		if (!asking) {
			out->state = xstrdup("-");
			continue;
		}
		if (vk_addon_state(w->kube, p, a, &st, &detail, err) < 0) {
			out->state = xstrdup("Unknown");
			asking = false;
			continue;
		}
		out->state = xstrdup(vk_addon_state_name(st));
		out->detail = detail;
	}
	return asking || !ask ? 0 : -1;
}

/* The addons' states carried over from the last refresh when not asked again. */
static void addons_carry(struct vk_watch_data *d, struct vk_watch_data *old, const struct vk_profile *p,
			 const struct vk_addon_registry *reg)
{
	d->addons = TAKE_PTR(old->addons);
	d->naddons = old->naddons;
	old->naddons = 0;
	d->addons_at = old->addons_at;
	for (size_t i = 0; i < d->naddons; i++)
		d->addons[i].enabled = vk_addons_is_enabled(p, reg, d->addons[i].name);
}

/* One list of each resource; the first that fails ends this refresh's API part. */
static void gather_api(struct vk_watch *w, const struct vk_profile *p, struct vk_watch_data *d,
		       struct vk_watch_data *old, bool force)
{
	static const char *const kinds[] = { "Node", "Pod", "Event" };
	struct vk_error err = { 0 };
	long long now = vk_now_ms();
	bool ask_addons;

	if (!w->reg_loaded && vk_addons_load(&w->reg, NULL, &err) == 0)
		w->reg_loaded = true;
	vk_error_clear(&err);
	d->api = VK_WATCH_API_OFF;
	if (vk_kube_require_running(p, &err) < 0) {
		if (!d->problem) {
			d->problem = xstrdup(err.message);
			d->hint = err.hint[0] ? xstrdup(err.hint) : NULL;
		}
		goto addons;
	}
	if (!w->kube || !w->kube_server) {
		w->kube = vk_kube_from_profile(p, &err);
		if (!w->kube) {
			d->api = VK_WATCH_API_DOWN;
			goto down;
		}
		vk_kube_set_timeout(w->kube, WATCH_API_TIMEOUT_MS);
		w->kube_server = xstrdup(vk_kube_server(w->kube));
	}
	d->api_server = xstrdup(w->kube_server);
	for (size_t i = 0; i < VK_ARRAY_SIZE(kinds); i++) {
		json_auto_t *list = vk_kube_list(w->kube, "v1", kinds[i], NULL, NULL, &err);

		if (!list) {
			d->api = VK_WATCH_API_DOWN;
			goto down;
		}
		if (i == 0)
			parse_nodes(list, d);
		else if (i == 1)
			parse_pods(list, d);
		else
			parse_events(list, d);
	}
	d->api = VK_WATCH_API_OK;
	d->api_down_since = 0;
addons:
	ask_addons = d->api == VK_WATCH_API_OK && (force || !w->addons_ms || now - w->addons_ms >= VK_WATCH_ADDONS_EVERY_S * 1000LL);
	if (!ask_addons && old->naddons) {
		addons_carry(d, old, p, &w->reg);
		return;
	}
	d->addons = xcalloc(w->reg.n + 1, sizeof(*d->addons));
	if (gather_addons(w, p, d, ask_addons, &err) < 0) {
		d->api = VK_WATCH_API_DOWN;
		goto down;
	}
	if (ask_addons) {
		w->addons_ms = now;
		d->addons_at = d->at;
	}
	return;
down:
	d->api_error = xstrdup(err.message);
	/* down since the first refresh that found it so */
	d->api_down_since = old->api == VK_WATCH_API_DOWN && old->api_down_since ? old->api_down_since : d->at;
	if (!d->naddons && old->naddons) {
		addons_carry(d, old, p, &w->reg);
	} else if (!d->naddons) {
		d->addons = xcalloc(w->reg.n + 1, sizeof(*d->addons));
		gather_addons(w, p, d, false, NULL);
	}
	/* the client is made again: the profile's address or certificates may have changed */
	vk_kube_free(TAKE_PTR(w->kube));
	free(TAKE_PTR(w->kube_server));
}

/* ------------------------------------------------------------- refresh -- */

struct vk_watch *vk_watch_new(const char *profile, long interval_s, struct vk_error *err)
{
	struct vk_watch *w;

	if (vk_profile_name_check(profile, err) < 0)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->profile = xstrdup(profile);
	w->interval_s = interval_s;
	return w;
}

void vk_watch_free(struct vk_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nkeep; i++) {
		free(w->keep[i].name);
		free(w->keep[i].console);
		vk_guestlog_free(w->keep[i].log);
	}
	vk_machine_disconnect(w->conn);
	free(w->conn_uri);
	vk_kube_free(w->kube);
	free(w->kube_server);
	vk_addons_free(&w->reg);
	vk_watch_data_release(&w->data);
	free(w->profile);
	free(w);
}

void vk_watch_refresh(struct vk_watch *w, bool force)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_watch_data old = w->data, *d = &w->data;
	struct vk_error err = { 0 };

	memset(d, 0, sizeof(*d));
	d->profile = xstrdup(w->profile);
	d->at = time(NULL);
	p = vk_profile_open(w->profile, false, &err);
	if (!p) {
		d->problem = xstrdup(err.message);
		d->hint = err.hint[0] ? xstrdup(err.hint) : NULL;
		vk_watch_data_release(&old);
		return;
	}
	d->kubernetes = vk_profile_kubernetes(p);
	nodes_from_profile(w, p, d);
	gather_libvirt(w, p, d);
	gather_busy(p, d);
	gather_guest(w, d);
	if (d->nnodes && d->nodes[0].host_known && d->nodes[0].host != VK_HOST_RUNNING && vk_profile_running(p)) {
		d->problem = xasprintf("the VM of profile '%s' is %s", p->name, vk_host_state_name(d->nodes[0].host));
		d->hint = xasprintf("start it with 'virtkube start -p %s'; its console: 'virtkube logs -p %s'", p->name,
				    p->name);
	}
	if (d->kubernetes)
		gather_api(w, p, d, &old, force);
	vk_watch_data_release(&old);
}

const struct vk_watch_data *vk_watch_last(const struct vk_watch *w)
{
	return &w->data;
}

/* ------------------------------------------------------------- log tail -- */

/* LINE without control characters and terminal escape sequences. */
static char *printable(const char *line, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == 0x1b) { /* ESC [ ... final byte, or ESC and one byte */
			if (i + 1 < len && line[i + 1] == '[') {
				for (i += 2; i < len && !(line[i] >= 0x40 && line[i] <= 0x7e); i++)
					;
			} else {
				i++;
			}
			continue;
		}
		if (c == '\t')
			out[o++] = ' ';
		else if (c >= 0x20 && c != 0x7f)
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

char **vk_watch_log_tail(const struct vk_watch *w, size_t index, size_t nlines, struct vk_error *err)
{
	const struct vk_watch_data *d = &w->data;
	const char *path = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char **lines;
	struct stat st;
	size_t n = 0, len;
	ssize_t got;

	if (index >= d->nnodes) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "no node %zu in profile '%s'", index + 1, w->profile);
		return NULL;
	}
	for (size_t i = 0; i < w->nkeep && !path; i++)
		if (strcmp(w->keep[i].name, d->nodes[index].name) == 0)
			path = w->keep[i].console;
	if (!path) {
		vk_error_set(err, VK_ERR_NOT_FOUND, "node '%s' has no console log", d->nodes[index].name);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open the console log '%s'", path);
		vk_error_hint(err, "the log appears once the VM has booted");
		return NULL;
	}
	len = st.st_size > WATCH_TAIL_BYTES ? WATCH_TAIL_BYTES : (size_t)st.st_size;
	buf = xmalloc(len + 1);
	got = pread(fd, buf, len, st.st_size - (off_t)len);
	if (got < 0) {
		vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read the console log '%s'", path);
		return NULL;
	}
	buf[got] = '\0';
	lines = xcalloc(nlines + 1, sizeof(*lines));
	/* from the end: the last NLINES complete or partial lines, oldest first */
	for (char *end = buf + got; end > buf && n < nlines;) {
		char *start = end;

		if (end[-1] == '\n' && end == buf + got) {
			end--;
			continue;
		}
		while (start > buf && start[-1] != '\n')
			start--;
		if (start == buf && st.st_size > (off_t)len)
			break; /* the first line read is cut: leave it out */
		memmove(lines + 1, lines, n * sizeof(*lines));
		lines[0] = printable(start, (size_t)(end - start));
		n++;
		end = start > buf ? start - 1 : buf;
	}
	return lines;
}

/* ---------------------------------------------------------------- JSON -- */

static json_t *time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	if (!t)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *vk_watch_data_json(const struct vk_watch_data *d)
{
	static const char *const api_names[] = { "off", "ok", "unreachable" };
	json_t *o = json_object(), *nodes = json_array(), *pods = json_array(), *events = json_array(),
	       *addons = json_array(), *api;

	json_object_set_new(o, "profile", json_string(d->profile ? d->profile : ""));
	json_object_set_new(o, "time", time_json(d->at));
	json_object_set_new(o, "kubernetes", json_boolean(d->kubernetes));
	if (d->problem)
		json_object_set_new(o, "problem", json_string(d->problem));
	if (d->hint)
		json_object_set_new(o, "hint", json_string(d->hint));
	if (d->libvirt_error)
		json_object_set_new(o, "libvirt_error", json_string(d->libvirt_error));
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct vk_watch_node *n = &d->nodes[i];
		json_t *j = json_pack("{s:s, s:s, s:s?}", "name", n->name, "role", n->role, "ip", n->ip);

		json_object_set_new(j, "vm", n->host_known ? json_string(vk_host_state_name(n->host)) : json_null());
		json_object_set_new(j, "cpu_percent", n->cpu_pct >= 0 ? json_real((double)(long)(n->cpu_pct * 10) / 10)
								       : json_null());
		if (n->has_mem)
			json_object_set_new(j, "memory", json_pack("{s:I, s:I}", "used_kib", (json_int_t)n->mem_used_kib,
								  "total_kib", (json_int_t)n->mem_total_kib));
		if (n->has_disk)
			json_object_set_new(j, "disk", json_pack("{s:I, s:I}", "allocation", (json_int_t)n->disk_alloc,
								"capacity", (json_int_t)n->disk_capacity));
		json_object_set_new(j, "ready", n->ready ? json_string(n->ready) : json_null());
		json_object_set_new(j, "kubelet", n->kubelet ? json_string(n->kubelet) : json_null());
		if (n->guest_stage)
			json_object_set_new(j, "guest_stage", json_string(n->guest_stage));
		if (n->guest_failed)
			json_object_set_new(j, "guest_failed", json_string(n->guest_failed));
		json_object_set_new(j, "guest_ready", json_boolean(n->guest_ready));
		json_array_append_new(nodes, j);
	}
	json_object_set_new(o, "nodes", nodes);
	api = json_pack("{s:s}", "state", api_names[d->api]);
	if (d->api_server)
		json_object_set_new(api, "server", json_string(d->api_server));
	if (d->api_error)
		json_object_set_new(api, "error", json_string(d->api_error));
	if (d->api == VK_WATCH_API_DOWN)
		json_object_set_new(api, "unreachable_since", time_json(d->api_down_since));
	json_object_set_new(o, "api", api);
	for (size_t i = 0; i < d->npods; i++) {
		const struct vk_watch_pod *p = &d->pods[i];

		json_array_append_new(pods, json_pack("{s:s, s:s, s:s, s:s, s:I}", "namespace", p->ns, "name", p->name,
						      "phase", p->phase, "reason", p->reason, "restarts",
						      (json_int_t)p->restarts));
	}
	json_object_set_new(o, "pods_not_ready", pods);
	json_object_set_new(o, "pods_total", json_integer((json_int_t)d->pods_total));
	for (size_t i = 0; i < d->nevents; i++) {
		const struct vk_watch_event *e = &d->events[i];

		if (strcmp(e->type, "Warning") != 0)
			continue;
		json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "namespace", e->ns, "object",
							e->object, "reason", e->reason, "message", e->message, "count",
							(json_int_t)e->count, "last", time_json(e->last)));
	}
	json_object_set_new(o, "warnings", events);
	for (size_t i = 0; i < d->naddons; i++) {
		const struct vk_watch_addon *a = &d->addons[i];

		json_array_append_new(addons, json_pack("{s:s, s:b, s:s, s:s?}", "name", a->name, "enabled", a->enabled,
							"status", a->state, "detail", a->detail));
	}
	json_object_set_new(o, "addons", addons);
	if (d->busy_pid)
		json_object_set_new(o, "busy", json_pack("{s:I, s:s?}", "pid", (json_int_t)d->busy_pid, "command",
							 d->busy_command));
	return o;
}
