/* Benchmark driver (not installed): one download through the fetch engine, printing seconds, rate and peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifacts/fetch.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	struct vk_fetch_options o;
	struct vk_fetch_item it = { 0 };
	struct vk_error err = { 0 };
	double t0, dt;

	if (argc != 4) {
		fprintf(stderr, "usage: fetch-bench URL DEST SHA256\n");
		return 2;
	}
	vk_fetch_options_init(&o);
	o.allow_http = true;
	it.url = argv[1];
	it.dest = argv[2];
	it.sha256 = argv[3];
	t0 = now_s();
	if (vk_fetch_run(&it, 1, &o, &err) < 0) {
		fprintf(stderr, "fetch-bench: %s\n", err.message);
		return 1;
	}
	dt = now_s() - t0;
	printf("%lld %.3f %.1f %ld\n", (long long)it.size, dt, (double)it.size / dt / 1048576.0, peak_rss_kib());
	return 0;
}
