/* The downloader: parallel HTTP(S)/file downloads with resume, retries and streaming sha256 (libcurl multi + OpenSSL EVP). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define VK_SHA256_HEX_LEN 64

/* One thing to download. The caller owns every string; the engine fills the
 * "results" fields.
 *
 * With DEST set, the body goes to DEST.part (resumed with a Range request if
 * it exists: the bytes already there are re-hashed first), is hashed while it
 * arrives and is renamed to DEST only if its sha256 equals SHA256 (required,
 * 64 lowercase hex). A mismatch deletes DEST.part and the error says expected
 * and got. With DEST NULL the body is kept in memory (BODY, at most 1 MiB; for
 * checksum files) and SHA256 is not used. */
struct vk_fetch_item {
	const char *url;
	const char *dest;
	const char *sha256;
	const char *name; /* shown in progress and errors; defaults to the URL */
	const char *const *headers; /* optional extra request headers ("Accept: ..."), NULL-terminated */
	/* Optional Authorization value ("Bearer T", "Basic B64"): sent to the URL's
	 * own scheme, host and port only, never to where a redirect leads
	 * (registry blobs redirect to storage on other hosts). */
	const char *authorization;
	/* DEST NULL only: an HTTP error status (4xx/5xx) completes the item with
	 * status 0 and HTTP_CODE set instead of failing it, so the caller can read
	 * a 401's challenge or a 404's body. */
	bool keep_http_errors;

	/* results */
	int status;             /* 0 ok, -1 failed (ERR says why) */
	struct vk_error err;
	off_t size;             /* bytes of the finished file/body */
	off_t resumed_from;     /* bytes that were already in DEST.part at the last attempt */
	int attempts;
	char *body;             /* DEST NULL only: NUL-terminated; the caller frees it */
	size_t body_len;
	long http_code;         /* of the final response (0 for file://) */
	char *response_headers; /* DEST NULL only: the final response's header lines, "Name: value\r\n"...; freed by release */
};

/* A progress report; valid only during the callback. TOTAL is -1 when unknown. */
struct vk_fetch_progress {
	size_t index;      /* into the items array */
	const char *name;
	off_t now;         /* bytes of the file we have, including resumed ones */
	off_t total;
	double rate;       /* bytes per second over the current attempt */
	int attempt;       /* 1-based */
	bool upload;       /* not a download: a file sent to a remote libvirt host (the start's progress events) */
	enum { VK_FETCH_STARTED, VK_FETCH_RUNNING, VK_FETCH_RETRYING, VK_FETCH_DONE, VK_FETCH_FAILED } state;
};

typedef void (*vk_fetch_progress_fn)(const struct vk_fetch_progress *p, void *data);

struct vk_fetch_options {
	int max_parallel;        /* transfers at once (default 4) */
	int max_attempts;        /* per item, counting the first (default 5) */
	long backoff_ms;         /* first retry delay, doubled each time, capped at 30 s (default 1000) */
	long connect_timeout_s;  /* default 30 */
	long low_speed_limit;    /* bytes/s below which ... (default 1024) */
	long low_speed_time_s;   /* ... for this long counts as a stall (default 30) */
	bool allow_http;         /* plain http:// is refused unless set (explicit http mirror) */
	bool allow_file;         /* file:// is refused unless set (directory/file mirror) */
	const char *cainfo;      /* optional CA bundle; NULL uses the system's */
	vk_fetch_progress_fn progress;
	void *progress_data;
	long progress_interval_ms; /* minimum gap between RUNNING reports per item (default 200) */
};

/* Fills OPT with the defaults above; VIRTKUBE_FETCH_STALL_SECONDS and
 * VIRTKUBE_FETCH_BACKOFF_MS override the stall time and first backoff
 * (used by the tests to keep fault scenarios short). */
void vk_fetch_options_init(struct vk_fetch_options *opt);

/* Downloads ITEMS[0..N) in parallel. Transient failures (connect errors,
 * resets, timeouts and stalls, HTTP 5xx/408/429) are retried with backoff
 * and resume from the .part; others (4xx, TLS, checksum mismatch) fail the
 * item at once. Returns 0 when every item succeeded; otherwise -1 with ERR
 * naming the first failed item's URL and cause (each item's own status and
 * error are filled either way). Never prints. */
int vk_fetch_run(struct vk_fetch_item *items, size_t n, const struct vk_fetch_options *opt,
		 struct vk_error *err);

/* Returns the value of response header NAME (case-insensitive) of a
 * finished ITEM, newly allocated, or NULL when it was not sent. */
char *vk_fetch_header(const struct vk_fetch_item *item, const char *name);

/* Frees the results of ITEMS (the bodies and headers); NULL-safe. */
void vk_fetch_items_release(struct vk_fetch_item *items, size_t n);

/* Hashes the file at PATH into HEX (65 bytes). */
int vk_sha256_file(const char *path, char hex[VK_SHA256_HEX_LEN + 1], struct vk_error *err);

/* Hashes LEN bytes at DATA into HEX (65 bytes). */
void vk_sha256_buffer(const void *data, size_t len, char hex[VK_SHA256_HEX_LEN + 1]);

/* True when S is exactly 64 hex digits. */
bool vk_sha256_hex_valid(const char *s);

/* Finds the sha256 for FILENAME in the text of a published checksum file:
 * "HEX", "HEX  NAME", "HEX *NAME" (sha256sum) or "SHA256 (NAME) = HEX" (BSD,
 * as cloud.centos.org writes). A lone HEX is accepted when it is the only
 * entry. Writes lowercase hex into HEX (65 bytes). SOURCE names the file in
 * errors. */
int vk_checksum_parse(const char *text, const char *filename, const char *source,
		      char hex[VK_SHA256_HEX_LEN + 1], struct vk_error *err);
