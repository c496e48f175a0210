/* Fuzz target: the guest console protocol; the follower, fed arbitrary bytes in arbitrary pieces, must report exactly what vk_guest_parse_line says of each whole line. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "vm/guestlog.h"
#include "util/xalloc.h"

/* Lines longer than this are never protocol lines (guestlog.c drops them whole). */
#define LONGEST_LINE (4 * VK_GUEST_LINE_MAX)

struct events {
	struct vk_guest_event *v;
	size_t n;
};

static void record(const struct vk_guest_event *ev, void *data)
{
	struct events *e = data;

	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	e->v[e->n++] = *ev;
}

static bool stage_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* What an event says must be well-formed, whatever the guest printed. */
static void check_event(const struct vk_guest_event *ev)
{
	fuzz_assert(ev->type >= VK_GUEST_BOOT && ev->type <= VK_GUEST_FAILED, "an event of unknown type %d", ev->type);
	fuzz_assert(memchr(ev->text, '\0', sizeof(ev->text)) && memchr(ev->stage, '\0', sizeof(ev->stage)),
		    "an event's text or stage is not terminated");
	fuzz_assert(!strpbrk(ev->text, "\r\n"), "an event's text holds a line break");
	if (ev->type == VK_GUEST_STAGE || ev->type == VK_GUEST_LOG || ev->type == VK_GUEST_FAILED)
		fuzz_assert(stage_ok(ev->stage), "an event's stage name '%s' is not [a-z0-9_-]+", ev->stage);
	else
		fuzz_assert(!ev->stage[0], "a %d event has a stage", ev->type);
}

static bool same_event(const struct vk_guest_event *a, const struct vk_guest_event *b)
{
	return a->type == b->type && a->ok == b->ok && strcmp(a->stage, b->stage) == 0 && strcmp(a->text, b->text) == 0;
}

/* A small deterministic generator: the pieces depend on the input only. */
static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *path;
	struct events want = { 0 }, got = { 0 };
	struct vk_error err = { 0 };
	struct vk_guestlog *g;
	uint32_t state = 2166136261u;
	size_t start = 0, done = 0;
	FILE *f;

	if (!path)
		path = fuzz_path("console.log");
	/* What each whole line says, read alone. */
	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		if (i - start <= LONGEST_LINE) {
			char *line = xstrndup((const char *)data + start, i - start);
			struct vk_guest_event ev;

			/* xstrndup stops at a NUL, as the follower's C string does */
			if (vk_guest_parse_line(line, &ev))
				record(&ev, &want);
			free(line);
		}
		start = i + 1;
	}

	for (size_t i = 0; i < size; i++)
		state = (state ^ data[i]) * 16777619u;
	state |= 1;
	unlink(path);
	g = vk_guestlog_new(path, 0);
	fuzz_assert(vk_guestlog_poll(g, record, &got, &err) == 0, "polling a log that does not exist yet: %s", err.message);
	f = fopen(path, "wb");
	if (!f)
		abort();
	while (done < size) {
		/* pieces of 1 byte to a few pages, as a console log grows */
		size_t piece = 1 + next_random(&state) % (next_random(&state) % 4 == 0 ? 9000 : 300);

		if (piece > size - done)
			piece = size - done;
		if (fwrite(data + done, 1, piece, f) != piece || fflush(f) != 0)
			abort();
		done += piece;
		if (vk_guestlog_poll(g, record, &got, &err) < 0)
			fuzz_fail("poll failed: %s", err.message);
	}
	fclose(f);

	for (size_t i = 0; i < got.n; i++)
		check_event(&got.v[i]);
	fuzz_assert(got.n == want.n, "the follower reported %zu events, the lines hold %zu", got.n, want.n);
	for (size_t i = 0; i < got.n; i++)
		fuzz_assert(same_event(&got.v[i], &want.v[i]), "event %zu differs: type %d stage '%s' text '%s', want type %d stage '%s' text '%s'",
			    i, got.v[i].type, got.v[i].stage, got.v[i].text, want.v[i].type, want.v[i].stage, want.v[i].text);
	if (got.n && got.v[got.n - 1].type == VK_GUEST_READY)
		fuzz_assert(vk_guestlog_ready(g) || vk_guestlog_failed(g), "READY came last but the follower is not ready");
	vk_guestlog_free(g);
	free(want.v);
	free(got.v);
	return 0;
}
