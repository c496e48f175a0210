/* Test helper: runs tests/fakes/httpd.py on 127.0.0.1 for a C unit test and reads its request log. */
#pragma once

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct httpd {
	pid_t pid;
	int port;
	char log[512];
	char base[128]; /* http://127.0.0.1:PORT */
};

/* Starts the server on ROOT with RULES (NULL-terminated, may be NULL); logs go to TMP/NAME.log. */
static inline int httpd_start(struct httpd *h, const char *root, const char *tmp, const char *name,
			      const char *const *rules)
{
	const char *src = getenv("top_srcdir");
	char script[512], portfile[512];
	const char *argv[64];
	int argc = 0;

	memset(h, 0, sizeof(*h));
	snprintf(script, sizeof(script), "%s/tests/fakes/httpd.py", src ? src : ".");
	snprintf(portfile, sizeof(portfile), "%s/%s.port", tmp, name);
	snprintf(h->log, sizeof(h->log), "%s/%s.log", tmp, name);
	unlink(portfile);
	unlink(h->log);
	/* A pyenv shim costs a second per start; prefer a direct interpreter. */
	const char *py = getenv("PYTHON");

	if (!py || !*py)
		py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	argv[argc++] = py;
	argv[argc++] = script;
	argv[argc++] = "--root";
	argv[argc++] = root;
	argv[argc++] = "--port-file";
	argv[argc++] = portfile;
	argv[argc++] = "--log";
	argv[argc++] = h->log;
	for (int i = 0; rules && rules[i] && argc < 60; i++) {
		argv[argc++] = "--rule";
		argv[argc++] = rules[i];
	}
	argv[argc] = NULL;
	fflush(stdout);
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		execvp(py, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");

		if (f) {
			int ok = fscanf(f, "%d", &h->port) == 1;

			fclose(f);
			if (ok) {
				snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%d", h->port);
				return 0;
			}
		}
		usleep(50 * 1000);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	return -1;
}

static inline void httpd_stop(struct httpd *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

/* Counts logged requests whose JSON line contains every non-NULL needle. */
static inline int httpd_count(const struct httpd *h, const char *n1, const char *n2)
{
	FILE *f = fopen(h->log, "r");
	char line[4096];
	int count = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((!n1 || strstr(line, n1)) && (!n2 || strstr(line, n2)))
			count++;
	fclose(f);
	return count;
}
