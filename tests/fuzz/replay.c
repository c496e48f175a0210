/* Replays a fuzz target's corpus through its entry point without libFuzzer, one TAP line per input, so findings stay fixed in `make check`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int count, failed;

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one input in a child, so an oracle's abort fails this line only. */
static void replay_file(const char *path)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct vk_error err = { 0 };
	int status = 0;
	pid_t pid;

	count++;
	if (vk_read_file(path, &data, &len, &err) < 0) {
		printf("not ok %d - %s: %s\n", count, path, err.message);
		failed++;
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("not ok %d - %s (%s %d)\n", count, path, WIFSIGNALED(status) ? "signal" : "exit status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		failed++;
		return;
	}
	printf("ok %d - %s\n", count, path);
}

static void replay(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		printf("not ok %d - cannot open corpus '%s'\n", ++count, path);
		failed++;
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", path, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		replay_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay(argv[i]);
	} else {
		replay(FUZZ_CORPUS);
	}
	if (!count) {
		printf("not ok 1 - no corpus inputs found\n");
		count = failed = 1;
	}
	printf("1..%d\n", count);
	return failed ? 1 : 0;
}
