/* Load driver: one profile's kubeconfig entry merged and removed in cycles through the engine, counting what went missing (run by tests/bench/kubeconfig-load.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "util/cleanup.h"

/* What one driver saw. "gone": our entry was not there when we came to
 * remove it (someone else's write dropped it after our merge); "back": it
 * was there when we came to merge it (someone else's write brought it back
 * after our remove). Either is a lost write of ours. */
struct load_counts {
	long merges, removes, errors, gone, back;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A profile NAME in HOME with a node IP and real certificates, and its entry. */
static int make_entry(const char *home, const char *name, struct vk_kubeconfig_entry *e, struct vk_error *err)
{
	_cleanup_profile_ struct vk_profile *p = NULL;

	setenv("VIRTKUBE_HOME", home, 1);
	p = vk_profile_open(name, true, err);
	if (!p)
		return -1;
	vk_profile_set_str(&p->cfg.node_ip, "192.168.100.2");
	p->cfg.api_port = 8443;
	if (vk_profile_save(p, err) < 0 || vk_pki_ensure(p->dir, name, NULL, err) < 0)
		return -1;
	return vk_kubeconfig_entry_load(e, p, err);
}

static void count_error(struct load_counts *c, const char *what, const struct vk_error *err)
{
	c->errors++;
	fprintf(stderr, "kubeconfig-load: %s: %s\n", what, err->message);
}

/* CYCLES times: check (a "back" if present), merge, remove (a "gone" if
 * nothing was removed), each write followed by PAUSE_MS without a lock (a
 * tight loop would hold the file nearly all the time, and kubectl, which
 * gives up at once on a held lock, would hardly ever write); then one last
 * merge, so the entry should stay. */
static void run_cycles(const char *kubeconfig, const struct vk_kubeconfig_entry *e, long cycles, long pause_ms,
		       struct load_counts *c)
{
	struct vk_error err = { 0 };

	for (long i = 0; i <= cycles; i++) {
		enum vk_kubeconfig_state st = VK_KUBECONFIG_NONEXISTENT;
		bool removed = false;

		if (vk_kubeconfig_check(kubeconfig, e, &st, NULL, &err) < 0)
			count_error(c, "check", &err);
		else if (st != VK_KUBECONFIG_NONEXISTENT && i > 0)
			c->back++;
		if (vk_kubeconfig_merge(kubeconfig, e, false, &err) < 0) {
			count_error(c, "merge", &err);
			continue;
		}
		c->merges++;
		if (i == cycles)
			break;
		usleep((useconds_t)pause_ms * 1000);
		if (vk_kubeconfig_remove(kubeconfig, e->name, &removed, &err) < 0) {
			count_error(c, "remove", &err);
			continue;
		}
		c->removes++;
		c->gone += !removed;
		usleep((useconds_t)pause_ms * 1000);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct vk_kubeconfig_entry e = { 0 };
	struct vk_error err = { 0 };
	struct load_counts c = { 0 };
	long cycles, pause_ms, t0;

	if ((argc != 6 && argc != 7) || (strcmp(mode, "cycles") != 0 && strcmp(mode, "check") != 0)) {
		fprintf(stderr, "usage: %s cycles|check KUBECONFIG HOME NAME N [PAUSE_MS]\n"
				"  cycles: N merge/remove cycles of profile NAME's entry (PAUSE_MS after each write), then a last merge\n"
				"  check:  whether NAME's entry is in KUBECONFIG as it should be (N unused)\n",
			argv[0]);
		return 2;
	}
	cycles = atol(argv[5]);
	pause_ms = argc == 7 ? atol(argv[6]) : 0;
	if (make_entry(argv[3], argv[4], &e, &err) < 0) {
		fprintf(stderr, "kubeconfig-load: profile '%s': %s\n", argv[4], err.message);
		return 1;
	}
	if (strcmp(mode, "check") == 0) {
		enum vk_kubeconfig_state st = VK_KUBECONFIG_NONEXISTENT;
		int rc = vk_kubeconfig_check(argv[2], &e, &st, NULL, &err);

		printf("%s %s\n", argv[4], rc < 0 ? err.message : vk_kubeconfig_state_name(st));
		vk_kubeconfig_entry_clear(&e);
		return rc < 0 || st != VK_KUBECONFIG_CONFIGURED;
	}
	t0 = now_ms();
	run_cycles(argv[2], &e, cycles, pause_ms, &c);
	printf("name=%s cycles=%ld merges=%ld removes=%ld errors=%ld gone=%ld back=%ld ms=%ld pause_ms=%ld\n", argv[4], cycles,
	       c.merges, c.removes, c.errors, c.gone, c.back, now_ms() - t0, pause_ms);
	vk_kubeconfig_entry_clear(&e);
	return c.errors ? 1 : 0;
}
