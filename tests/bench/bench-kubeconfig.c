/* Benchmark: merge a profile into a kubeconfig that holds N contexts (run by tests/bench/kubeconfig-merge.sh), or one merge, check and remove on a given file (run under callgrind by tests/bench/kubeconfig-callgrind.sh). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "kube/pki.h"
#include "profile/profile.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A kubeconfig with N clusters, users and contexts in kubectl's layout, each
 * with embedded data the size of real ones (B64 holds base64 lines). */
static void write_big(const char *path, int n, const struct vk_kubeconfig_entry *b64, bool embedded)
{
	struct vk_strbuf clusters = VK_STRBUF_INIT, users = VK_STRBUF_INIT, contexts = VK_STRBUF_INIT;
	FILE *f;

	for (int i = 0; i < n && !embedded; i++) {
		/* minikube's style: certificate files referenced by path */
		vk_strbuf_addf(&clusters,
			       "- cluster:\n    certificate-authority: /home/user/.minikube/profiles/ctx-%d/ca.crt\n    server: https://10.%d.%d.2:8443\n  name: ctx-%d\n",
			       i, (i >> 8) & 255, i & 255, i);
		vk_strbuf_addf(&users,
			       "- name: ctx-%d\n  user:\n    client-certificate: /home/user/.minikube/profiles/ctx-%d/client.crt\n    client-key: /home/user/.minikube/profiles/ctx-%d/client.key\n",
			       i, i, i);
		vk_strbuf_addf(&contexts, "- context:\n    cluster: ctx-%d\n    user: ctx-%d\n    namespace: ns-%d\n  name: ctx-%d\n",
			       i, i, i, i);
	}
	for (int i = 0; i < n && embedded; i++) {
		vk_strbuf_addf(&clusters,
			       "- cluster:\n    certificate-authority-data: %s\n    server: https://10.%d.%d.2:8443\n  name: ctx-%d\n",
			       b64->ca_pem, (i >> 8) & 255, i & 255, i);
		vk_strbuf_addf(&users, "- name: ctx-%d\n  user:\n    client-certificate-data: %s\n    client-key-data: %s\n", i,
			       b64->cert_pem, b64->key_pem);
		vk_strbuf_addf(&contexts, "- context:\n    cluster: ctx-%d\n    user: ctx-%d\n    namespace: ns-%d\n  name: ctx-%d\n",
			       i, i, i, i);
	}
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: ctx-0\nclusters:\n%susers:\n%scontexts:\n%s",
		clusters.buf, users.buf, contexts.buf);
	fclose(f);
	vk_strbuf_release(&clusters);
	vk_strbuf_release(&users);
	vk_strbuf_release(&contexts);
}

/* One line of base64 of S, as kubectl writes it. */
static char *b64_line(const char *s)
{
	FILE *p;
	char cmd[64];
	_cleanup_free_ char *tmp = xstrdup("/tmp/vk-bench-XXXXXX");
	int fd = mkstemp(tmp);
	char *out = xcalloc(1, 8192);
	size_t n;

	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		exit(1);
	close(fd);
	snprintf(cmd, sizeof(cmd), "base64 -w0 %s", tmp);
	p = popen(cmd, "r");
	n = p ? fread(out, 1, 8191, p) : 0;
	out[n] = '\0';
	if (p)
		pclose(p);
	unlink(tmp);
	return out;
}

/* Profile "bench" in HOME with a node IP and real certificates (made the
 * first time), and its entry E (free with vk_kubeconfig_entry_clear). */
static int bench_entry(const char *home, struct vk_kubeconfig_entry *e)
{
	_cleanup_profile_ struct vk_profile *p = NULL;
	struct vk_error err = { 0 };

	setenv("VIRTKUBE_HOME", home, 1);
	p = vk_profile_open("bench", true, &err);
	if (p) {
		vk_profile_set_str(&p->cfg.node_ip, "192.168.39.10");
		p->cfg.api_port = 8443;
	}
	if (!p || vk_profile_save(p, &err) < 0 || vk_pki_ensure(p->dir, "bench", NULL, &err) < 0 ||
	    vk_kubeconfig_entry_load(e, p, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.message);
		return -1;
	}
	return 0;
}

/* --ops DIR FILE text|document: FILE copied to DIR/config, then one merge
 * (making the context current), one check and one remove of profile "bench"
 * (its certificates made in DIR/home the first time) on the path named, so
 * that callgrind can count each call's instructions (--toggle-collect). */
static int run_ops(const char *dir, const char *file, const char *way)
{
	_cleanup_free_ char *home = xasprintf("%s/home", dir), *kc = xasprintf("%s/config", dir), *text = NULL;
	struct vk_kubeconfig_entry e;
	struct vk_error err = { 0 };
	enum vk_kubeconfig_state st;
	size_t size = 0;
	bool removed = false;

	if (bench_entry(home, &e) < 0)
		return 1;
	if (vk_read_file(file, &text, &size, &err) < 0 || vk_write_file_atomic(kc, text, size, 0600, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.message);
		return 1;
	}
	vk_kubeconfig_force_document = strcmp(way, "document") == 0;
	if (vk_kubeconfig_merge(kc, &e, true, &err) < 0 || strcmp(vk_kubeconfig_last_path, way) != 0) {
		fprintf(stderr, "merge: %s (%s path)\n", err.message, vk_kubeconfig_last_path);
		return 1;
	}
	if (vk_kubeconfig_check(kc, &e, &st, NULL, &err) < 0 || st != VK_KUBECONFIG_CONFIGURED ||
	    strcmp(vk_kubeconfig_last_path, way) != 0) {
		fprintf(stderr, "check: %s (%s, %s path)\n", err.message, vk_kubeconfig_state_name(st), vk_kubeconfig_last_path);
		return 1;
	}
	if (vk_kubeconfig_remove(kc, "bench", &removed, &err) < 0 || !removed || strcmp(vk_kubeconfig_last_path, way) != 0) {
		fprintf(stderr, "remove: %s (%s path)\n", err.message, vk_kubeconfig_last_path);
		return 1;
	}
	vk_kubeconfig_entry_clear(&e);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	int n = argc > 2 ? atoi(argv[2]) : 1000;
	int rounds = argc > 3 ? atoi(argv[3]) : 20;
	_cleanup_free_ char *home = NULL, *kc = NULL;
	struct vk_kubeconfig_entry e, fake;
	struct vk_error err = { 0 };
	double *t, *c;
	size_t size = 0;
	_cleanup_free_ char *text = NULL;

	if (argc == 5 && strcmp(argv[1], "--ops") == 0)
		return run_ops(argv[2], argv[3], argv[4]);
	if (!dir || n < 1 || rounds < 1) {
		fprintf(stderr, "usage: %s DIR [CONTEXTS] [ROUNDS]\n       %s --ops DIR FILE text|document\n", argv[0], argv[0]);
		return 2;
	}
	home = xasprintf("%s/home", dir);
	kc = xasprintf("%s/config", dir);
	if (bench_entry(home, &e) < 0)
		return 1;
	fake.ca_pem = b64_line(e.ca_pem);
	fake.cert_pem = b64_line(e.cert_pem);
	fake.key_pem = b64_line(e.key_pem);
	t = xcalloc((size_t)rounds, sizeof(*t));
	c = xcalloc((size_t)rounds, sizeof(*c));
	for (int style = 0; style < 2; style++) {
		bool embedded = style == 1;

		for (int way = 0; way < 2; way++) {
			const char *want = way == 0 ? "text" : "document";

			/* the same file for both paths: the text path leaves it as a
			 * user would have it, the document path re-emits it */
			write_big(kc, n, &fake, embedded);
			free(text);
			text = NULL;
			vk_read_file(kc, &text, &size, NULL);
			vk_kubeconfig_force_document = way == 1;
			for (int r = 0; r < rounds; r++) {
				double t0 = now_ms(), c0 = cpu_ms();

				if (vk_kubeconfig_merge(kc, &e, r % 2 == 0, &err) < 0) {
					fprintf(stderr, "merge: %s\n", err.message);
					return 1;
				}
				t[r] = now_ms() - t0;
				c[r] = cpu_ms() - c0;
				if (strcmp(vk_kubeconfig_last_path, want) != 0) {
					fprintf(stderr, "merge took the %s path, not the %s path\n", vk_kubeconfig_last_path, want);
					return 1;
				}
			}
			qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
			qsort(c, (size_t)rounds, sizeof(*c), cmp_double);
			printf("merge into %d contexts, %s (%.0f KiB), in process, %s path, %d rounds:\n"
			       "  wall min %.1f ms, median %.1f ms, max %.1f ms; CPU min %.1f ms, median %.1f ms\n",
			       n, embedded ? "certificates embedded as data" : "certificates as file paths", size / 1024.0,
			       want, rounds, t[0], t[rounds / 2], t[rounds - 1], c[0], c[rounds / 2]);
		}
	}
	vk_kubeconfig_force_document = false;
	/* the whole-process runs of the script go on from a file as a user has it */
	write_big(kc, n, &fake, true);
	free(fake.ca_pem);
	free(fake.cert_pem);
	free(fake.key_pem);
	free(t);
	free(c);
	vk_kubeconfig_entry_clear(&e);
	return 0;
}
