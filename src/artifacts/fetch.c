/* The downloader (see fetch.h): one libcurl multi handle driving every transfer, sha256 while writing. */
#include "artifacts/fetch.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/curl-lazy.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define BODY_MAX (1024 * 1024)
#define BACKOFF_CAP_MS 30000L
#define HASH_CHUNK (256 * 1024)

enum phase { PHASE_PENDING, PHASE_RUNNING, PHASE_DONE };

struct xfer {
	struct vk_fetch_item *item;
	const struct vk_fetch_options *opt;
	size_t index;
	enum phase phase;
	long next_try_ms;
	CURL *easy;
	int fd;
	struct hasher *hasher; /* DEST only: hashes the .part behind the writer */
	char *part;
	off_t have;        /* bytes of the file (or body) so far */
	off_t start;       /* bytes already present when this attempt began */
	off_t total;       /* -1 unknown */
	bool saw_body;
	bool restarted;    /* a resumed download that failed its checksum is retried once from zero */
	int write_errno;
	bool body_too_big;
	struct vk_strbuf body;
	struct vk_strbuf headers; /* of the latest response (a redirect's are dropped) */
	struct curl_slist *request_headers;
	long attempt_ms;
	long last_report_ms;
	char errbuf[CURL_ERROR_SIZE];
};

static long env_long(const char *name, long fallback)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return fallback;
	n = strtol(v, &end, 10);
	return (*end || n < 0) ? fallback : n;
}

void vk_fetch_options_init(struct vk_fetch_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->max_parallel = 4;
	opt->max_attempts = 5;
	opt->backoff_ms = env_long("VIRTKUBE_FETCH_BACKOFF_MS", 1000);
	opt->connect_timeout_s = 30;
	opt->low_speed_limit = 1024;
	opt->low_speed_time_s = env_long("VIRTKUBE_FETCH_STALL_SECONDS", 30);
	opt->progress_interval_ms = 200;
}

bool vk_sha256_hex_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < VK_SHA256_HEX_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[i] == '\0';
}

static void digest_hex(EVP_MD_CTX *md, char hex[VK_SHA256_HEX_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(md, d, &len);
	for (unsigned int i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	hex[VK_SHA256_HEX_LEN] = '\0';
}

static EVP_MD_CTX *md_new(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort(); /* only allocation can fail here */
	return md;
}

/* Feeds the first LEN bytes of FD into MD (re-hashing a partial file). */
static int hash_fd(int fd, off_t len, EVP_MD_CTX *md, const char *path, struct vk_error *err)
{
	_cleanup_free_ unsigned char *buf = xmalloc(HASH_CHUNK);
	off_t done = 0;

	while (len < 0 || done < len) {
		size_t want = HASH_CHUNK;
		ssize_t r;

		if (len >= 0 && (off_t)want > len - done)
			want = (size_t)(len - done);
		r = pread(fd, buf, want, done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot read '%s'", path);
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)r);
		done += r;
	}
	return 0;
}

void vk_sha256_buffer(const void *data, size_t len, char hex[VK_SHA256_HEX_LEN + 1])
{
	EVP_MD_CTX *md = md_new();

	EVP_DigestUpdate(md, data, len);
	digest_hex(md, hex);
	EVP_MD_CTX_free(md);
}

int vk_sha256_file(const char *path, char hex[VK_SHA256_HEX_LEN + 1], struct vk_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *md;
	int r;

	if (fd < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s'", path);
	md = md_new();
	r = hash_fd(fd, -1, md, path, err);
	if (r == 0)
		digest_hex(md, hex);
	EVP_MD_CTX_free(md);
	return r;
}

/* The sha256 of a download is computed by a thread that reads the .part back
 * (from the page cache) behind the writer, so hashing overlaps the transfer
 * instead of adding to it; it also re-hashes a resumed .part while the rest
 * arrives. The writer only publishes how many bytes are in the file. */
struct hasher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	off_t written;  /* bytes in the file (under mu) */
	off_t hashed;   /* bytes fed to md (thread only until joined) */
	bool eof, stop; /* under mu */
	int read_errno;
	EVP_MD_CTX *md;
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	unsigned char *buf = xmalloc(HASH_CHUNK);

	for (;;) {
		off_t target;
		bool eof;

		pthread_mutex_lock(&h->mu);
		while (!h->stop && !h->eof && h->written == h->hashed)
			pthread_cond_wait(&h->cv, &h->mu);
		target = h->written;
		eof = h->eof;
		if (h->stop) {
			pthread_mutex_unlock(&h->mu);
			break;
		}
		pthread_mutex_unlock(&h->mu);
		while (h->hashed < target) {
			size_t want = HASH_CHUNK;
			ssize_t r;

			if ((off_t)want > target - h->hashed)
				want = (size_t)(target - h->hashed);
			r = pread(h->fd, buf, want, h->hashed);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				h->read_errno = r < 0 ? errno : EIO;
				goto out;
			}
			EVP_DigestUpdate(h->md, buf, (size_t)r);
			h->hashed += r;
		}
		if (eof && h->hashed == target)
			break;
	}
out:
	free(buf);
	return NULL;
}

/* Starts hashing FD, of which ALREADY bytes are present. */
static struct hasher *hasher_start(int fd, off_t already)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	h->fd = fd;
	h->written = already;
	h->md = md_new();
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, hasher_main, h) != 0)
		abort(); /* like an allocation failure: no resources for one thread */
	return h;
}

static void hasher_add(struct hasher *h, size_t len)
{
	pthread_mutex_lock(&h->mu);
	h->written += (off_t)len;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->md);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}

/* Waits for the hash of everything written; returns 0 or the read errno. */
static int hasher_finish(struct hasher *h, char hex[VK_SHA256_HEX_LEN + 1])
{
	int r;

	pthread_mutex_lock(&h->mu);
	h->eof = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	r = h->read_errno;
	if (r == 0)
		digest_hex(h->md, hex);
	hasher_free(h);
	return r;
}

static void hasher_abort(struct hasher *h)
{
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	hasher_free(h);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static const char *base_name(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash ? slash + 1 : s;
}

int vk_checksum_parse(const char *text, const char *filename, const char *source,
		      char hex[VK_SHA256_HEX_LEN + 1], struct vk_error *err)
{
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	char lone[VK_SHA256_HEX_LEN + 1] = "";
	int lone_count = 0, entries = 0;
	char *save = NULL;

	for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *p = line + strspn(line, " \t");
		char name[512], digest[VK_SHA256_HEX_LEN + 2];

		if (*p == '\0' || *p == '#')
			continue;
		entries++;
		/* BSD style: SHA256 (NAME) = HEX */
		if (strncmp(p, "SHA256 (", 8) == 0) {
			char *close = strstr(p + 8, ") = ");

			if (!close)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(close - (p + 8)), p + 8);
			snprintf(digest, sizeof(digest), "%s", close + 4);
			digest[strcspn(digest, " \t")] = '\0';
			if (strcmp(base_name(name), filename) == 0 && vk_sha256_hex_valid(digest)) {
				memcpy(hex, digest, VK_SHA256_HEX_LEN + 1);
				lower(hex);
				return 0;
			}
			continue;
		}
		/* sha256sum style: HEX  NAME, HEX *NAME, or a lone HEX */
		size_t hl = strspn(p, "0123456789abcdefABCDEF");
		if (hl != VK_SHA256_HEX_LEN)
			continue;
		memcpy(digest, p, VK_SHA256_HEX_LEN);
		digest[VK_SHA256_HEX_LEN] = '\0';
		p += hl;
		if (*p == '\0' || strspn(p, " \t") == strlen(p)) {
			memcpy(lone, digest, sizeof(lone));
			lone_count++;
			continue;
		}
		if (*p != ' ' && *p != '\t')
			continue;
		p += strspn(p, " \t");
		if (*p == '*')
			p++;
		snprintf(name, sizeof(name), "%s", p);
		name[strcspn(name, " \t")] = '\0';
		if (strcmp(base_name(name), filename) == 0) {
			memcpy(hex, digest, VK_SHA256_HEX_LEN + 1);
			lower(hex);
			return 0;
		}
	}
	if (lone_count == 1 && entries == 1) {
		memcpy(hex, lone, VK_SHA256_HEX_LEN + 1);
		lower(hex);
		return 0;
	}
	if (entries == 0) {
		/* seen on cloud.centos.org: a "latest" checksum file published empty */
		vk_error_set(err, VK_ERR_PARSE, "checksum file '%s' is empty: no sha256 for '%s'", source, filename);
		return vk_error_hint(err, "the file was fetched but lists nothing; try again later, or use a dated "
				     "checksum file in the artifact table");
	}
	vk_error_set(err, VK_ERR_PARSE, "checksum file '%s' has no sha256 for '%s'", source, filename);
	return vk_error_hint(err, "the file was fetched but does not list this artifact; check the mirror or the artifact table");
}

static void report(const struct vk_fetch_options *opt, struct xfer *x, int state)
{
	struct vk_fetch_progress p = { 0 }; /* fields this file does not set (upload) are off */
	long elapsed;

	if (!opt->progress)
		return;
	elapsed = vk_now_ms() - x->attempt_ms;
	p.index = x->index;
	p.name = x->item->name ? x->item->name : x->item->url;
	p.now = x->have;
	p.total = x->total;
	p.rate = elapsed > 0 ? (double)(x->have - x->start) * 1000.0 / (double)elapsed : 0.0;
	p.attempt = x->item->attempts;
	p.state = state;
	x->last_report_ms = vk_now_ms();
	opt->progress(&p, opt->progress_data);
}

struct run {
	const struct vk_fetch_options *opt;
	CURLM *multi;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;

	if (!x->saw_body) {
		curl_off_t cl = -1;

		x->saw_body = true;
		if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
			x->total = x->start + (off_t)cl;
	}
	if (x->item->dest) {
		size_t off = 0;

		while (off < len) {
			ssize_t w = write(x->fd, ptr + off, len - off);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				x->write_errno = errno;
				return 0;
			}
			off += (size_t)w;
		}
		hasher_add(x->hasher, len);
	} else {
		if (x->body.len + len > BODY_MAX) {
			x->body_too_big = true;
			return 0;
		}
		vk_strbuf_add(&x->body, ptr, len);
	}
	x->have += (off_t)len;
	return len;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;

	/* A status line starts a new response: keep only the last one's headers. */
	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		vk_strbuf_reset(&x->headers);
	vk_strbuf_add(&x->headers, ptr, len);
	return len;
}

char *vk_fetch_header(const struct vk_fetch_item *item, const char *name)
{
	size_t nl = strlen(name);

	for (const char *line = item->response_headers; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t ll = end ? (size_t)(end - line) : strlen(line);

		if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;
			size_t vl = ll - nl - 1;

			while (vl && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			return xstrndup(v, vl);
		}
		line = end ? end + 1 : line + ll;
	}
	return NULL;
}

static int xferinfo(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = clientp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (x->opt->progress && vk_now_ms() - x->last_report_ms >= x->opt->progress_interval_ms)
		report(x->opt, x, VK_FETCH_RUNNING);
	return 0;
}

static bool allowed_scheme(const char *url, const struct vk_fetch_options *opt, struct vk_error *err)
{
	if (strncmp(url, "https://", 8) == 0)
		return true;
	if (strncmp(url, "http://", 7) == 0) {
		if (opt->allow_http)
			return true;
		vk_error_set(err, VK_ERR_INVALID, "refusing to download '%s' over plain http", url);
		vk_error_hint(err, "use https, or name an http server explicitly with --mirror http://...");
		return false;
	}
	if (strncmp(url, "file://", 7) == 0) {
		if (opt->allow_file)
			return true;
		vk_error_set(err, VK_ERR_INVALID, "refusing to read '%s': file:// is only used for a --mirror", url);
		return false;
	}
	vk_error_set(err, VK_ERR_INVALID, "cannot download '%s': unsupported URL scheme", url);
	return false;
}

static void close_xfer_file(struct xfer *x)
{
	/* The hasher reads the fd: stop it before the fd goes. */
	if (x->hasher)
		hasher_abort(x->hasher);
	x->hasher = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

static void finish_fail(struct xfer *x)
{
	x->phase = PHASE_DONE;
	x->item->status = -1;
	close_xfer_file(x);
}

#define SETOPT(e, o, v)                                                                         \
	do {                                                                                    \
		if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)                                 \
			return vk_error_set(err, VK_ERR_FAILED, "cannot set libcurl option %s for '%s'", #o, url); \
	} while (0)

/* Prepares and adds one attempt of X to the multi handle. */
static int start_attempt(struct run *run, struct xfer *x, struct vk_error *err)
{
	const struct vk_fetch_options *opt = run->opt;
	const char *url = x->item->url;
	_cleanup_strbuf_ struct vk_strbuf protos = VK_STRBUF_INIT;
	struct stat st;
	CURL *e;

	x->item->attempts++;
	x->have = 0;
	x->start = 0;
	x->total = -1;
	x->saw_body = false;
	x->write_errno = 0;
	x->body_too_big = false;
	x->errbuf[0] = '\0';
	vk_strbuf_reset(&x->body);
	vk_strbuf_reset(&x->headers);
	curl_slist_free_all(x->request_headers);
	x->request_headers = NULL;
	for (size_t i = 0; x->item->headers && x->item->headers[i]; i++)
		x->request_headers = curl_slist_append(x->request_headers, x->item->headers[i]);
	if (x->item->authorization) {
		/* libcurl (>= 7.83) drops a custom Authorization header on a redirect
		 * to another scheme, host or port. */
		_cleanup_free_ char *h = xasprintf("Authorization: %s", x->item->authorization);

		x->request_headers = curl_slist_append(x->request_headers, h);
	}

	if (x->item->dest) {
		x->fd = open(x->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (x->fd < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot open '%s'", x->part);
		if (fstat(x->fd, &st) < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot stat '%s'", x->part);
		/* Resume: what is already there is hashed (in the background) first. */
		x->start = x->have = st.st_size;
		x->hasher = hasher_start(x->fd, st.st_size);
		if (lseek(x->fd, x->have, SEEK_SET) < 0)
			return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot seek in '%s'", x->part);
		x->item->resumed_from = x->start;
	}

	e = curl_easy_init();
	if (!e)
		abort();
	x->easy = e;
	vk_strbuf_addstr(&protos, "https");
	if (opt->allow_http)
		vk_strbuf_addstr(&protos, ",http");
	if (opt->allow_file)
		vk_strbuf_addstr(&protos, ",file");
	SETOPT(e, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(e, CURLOPT_PROTOCOLS_STR, protos.buf);
	SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, opt->allow_http ? "https,http" : "https");
#else
	SETOPT(e, CURLOPT_PROTOCOLS,
	       (long)(CURLPROTO_HTTPS | (opt->allow_http ? CURLPROTO_HTTP : 0) | (opt->allow_file ? CURLPROTO_FILE : 0)));
	SETOPT(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTPS | (opt->allow_http ? CURLPROTO_HTTP : 0)));
#endif
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(e, CURLOPT_MAXREDIRS, 10L);
	SETOPT(e, CURLOPT_FAILONERROR, x->item->keep_http_errors && !x->item->dest ? 0L : 1L);
	SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, CURLOPT_HEADERDATA, x);
	if (x->request_headers)
		SETOPT(e, CURLOPT_HTTPHEADER, x->request_headers);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_USERAGENT, "virtkube/" PACKAGE_VERSION);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT, opt->connect_timeout_s);
	SETOPT(e, CURLOPT_LOW_SPEED_LIMIT, opt->low_speed_limit);
	SETOPT(e, CURLOPT_LOW_SPEED_TIME, opt->low_speed_time_s);
	SETOPT(e, CURLOPT_BUFFERSIZE, 512L * 1024L);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opt->cainfo)
		SETOPT(e, CURLOPT_CAINFO, opt->cainfo);
	SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(e, CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(e, CURLOPT_WRITEDATA, x);
	SETOPT(e, CURLOPT_PRIVATE, x);
	SETOPT(e, CURLOPT_NOPROGRESS, 0L);
	SETOPT(e, CURLOPT_XFERINFOFUNCTION, xferinfo);
	SETOPT(e, CURLOPT_XFERINFODATA, x);
	if (x->start > 0)
		SETOPT(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->start);
	if (curl_multi_add_handle(run->multi, e) != CURLM_OK)
		return vk_error_set(err, VK_ERR_FAILED, "cannot start the download of '%s'", url);
	x->phase = PHASE_RUNNING;
	x->attempt_ms = vk_now_ms();
	vk_debug("fetch: attempt %d of '%s'%s", x->item->attempts, url, x->start ? " (resuming)" : "");
	report(opt, x, VK_FETCH_STARTED);
	return 0;
}

static bool transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void schedule_retry(struct run *run, struct xfer *x, long delay_ms)
{
	close_xfer_file(x);
	x->phase = PHASE_PENDING;
	x->next_try_ms = vk_now_ms() + delay_ms;
	report(run->opt, x, VK_FETCH_RETRYING);
}

/* Retries X after a transient problem, or fails it when the attempts ran out. */
static void retry_or_fail(struct run *run, struct xfer *x, const char *cause)
{
	const struct vk_fetch_options *opt = run->opt;
	long delay = opt->backoff_ms;

	if (x->item->attempts >= opt->max_attempts) {
		vk_error_set(&x->item->err, VK_ERR_NETWORK, "cannot download '%s' after %d attempts: %s", x->item->url,
			     x->item->attempts, cause);
		vk_error_hint(&x->item->err, "check the network or the proxy settings (https_proxy); run again to resume, "
					     "or use --mirror");
		finish_fail(x);
		report(opt, x, VK_FETCH_FAILED);
		return;
	}
	for (int i = 1; i < x->item->attempts && delay < BACKOFF_CAP_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_CAP_MS)
		delay = BACKOFF_CAP_MS;
	vk_info("download of '%s' failed (%s); retrying in %ld ms", x->item->url, cause, delay);
	schedule_retry(run, x, delay);
}

static void finish_ok(struct run *run, struct xfer *x)
{
	struct vk_fetch_item *it = x->item;

	if (!it->dest) {
		/* Kept with the body, which every caller releases. */
		free(it->response_headers);
		it->response_headers = vk_strbuf_detach(&x->headers, NULL);
		it->body = vk_strbuf_detach(&x->body, &it->body_len);
		it->size = (off_t)it->body_len;
		it->status = 0;
		x->phase = PHASE_DONE;
		report(run->opt, x, VK_FETCH_DONE);
		return;
	}
	char got[VK_SHA256_HEX_LEN + 1];
	_cleanup_free_ char *want = xstrdup(it->sha256);

	lower(want);
	int rerr = hasher_finish(x->hasher, got);

	x->hasher = NULL;
	if (rerr) {
		vk_error_set_errno(&it->err, VK_ERR_IO, rerr, "cannot read back '%s' to hash it", x->part);
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	if (strcmp(got, want) != 0) {
		close_xfer_file(x);
		unlink(x->part);
		if (x->start > 0 && !x->restarted) {
			/* The bytes kept from an earlier run may be the bad ones: start over once. */
			x->restarted = true;
			vk_info("'%s' failed its checksum after resuming; downloading it again from the start", it->url);
			schedule_retry(run, x, 0);
			return;
		}
		vk_error_set(&it->err, VK_ERR_CHECKSUM, "checksum mismatch for '%s': expected sha256 %s, got %s", it->url,
			     want, got);
		vk_error_hint(&it->err, "the partial download was deleted; run again to retry, and if it persists the "
					"mirror or a proxy is serving different bytes");
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	/* No fsync here (it would cost a full writeback per file): the cache
	 * re-hashes a file once after a reboot before trusting it again. */
	if (close(x->fd) < 0) {
		x->fd = -1;
		vk_error_set_errno(&it->err, VK_ERR_IO, errno, "cannot write '%s'", x->part);
		finish_fail(x);
		return;
	}
	x->fd = -1;
	if (rename(x->part, it->dest) < 0) {
		vk_error_set_errno(&it->err, VK_ERR_IO, errno, "cannot rename '%s' to '%s'", x->part, it->dest);
		finish_fail(x);
		return;
	}
	close_xfer_file(x);
	it->size = x->have;
	it->status = 0;
	x->phase = PHASE_DONE;
	report(run->opt, x, VK_FETCH_DONE);
}

static void on_done(struct run *run, struct xfer *x, CURLcode rc)
{
	struct vk_fetch_item *it = x->item;
	long code = 0;
	char cause[CURL_ERROR_SIZE + 128];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(run->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	it->http_code = code;

	if (rc == CURLE_OK && code >= 400 && (code >= 500 || code == 408 || code == 429)) {
		/* Only a keep_http_errors item gets here with an error status. */
		snprintf(cause, sizeof(cause), "HTTP %ld", code);
		retry_or_fail(run, x, cause);
		return;
	}
	if (rc == CURLE_OK) {
		finish_ok(run, x);
		return;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		snprintf(cause, sizeof(cause), "HTTP %ld", code);
		if (code >= 500 || code == 408 || code == 429) {
			retry_or_fail(run, x, cause);
			return;
		}
		vk_error_set(&it->err, code == 404 || code == 410 ? VK_ERR_NOT_FOUND : VK_ERR_NETWORK,
			     "cannot download '%s': the server answered %s", it->url, cause);
		if (code == 404 || code == 410)
			vk_error_hint(&it->err, "the file is not at that address; check --mirror and --kubernetes-version");
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	if (rc == CURLE_FILE_COULDNT_READ_FILE) {
		/* a directory mirror without that file: the same as a 404 */
		vk_error_set(&it->err, VK_ERR_NOT_FOUND, "cannot download '%s': no such file", it->url);
		vk_error_hint(&it->err, "the file is not at that address; check --mirror and --kubernetes-version");
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	if (rc == CURLE_WRITE_ERROR && x->write_errno) {
		vk_error_set_errno(&it->err, VK_ERR_IO, x->write_errno, "cannot write '%s'", x->part);
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	if (rc == CURLE_WRITE_ERROR && x->body_too_big) {
		vk_error_set(&it->err, VK_ERR_FAILED, "cannot download '%s': larger than the %d bytes expected", it->url,
			     BODY_MAX);
		finish_fail(x);
		report(run->opt, x, VK_FETCH_FAILED);
		return;
	}
	snprintf(cause, sizeof(cause), "%s%s%s", curl_easy_strerror(rc), x->errbuf[0] ? ": " : "", x->errbuf);
	if ((rc == CURLE_RANGE_ERROR || rc == CURLE_BAD_DOWNLOAD_RESUME) && x->start > 0) {
		/* The server cannot continue our partial file: start from zero. */
		close_xfer_file(x);
		if (truncate(x->part, 0) < 0 && errno != ENOENT) {
			vk_error_set_errno(&it->err, VK_ERR_IO, errno, "cannot truncate '%s'", x->part);
			finish_fail(x);
			return;
		}
		vk_info("'%s' cannot be resumed (%s); downloading it from the start", it->url, cause);
		it->attempts--; /* not the transfer's fault */
		schedule_retry(run, x, 0);
		return;
	}
	if (transient_curl(rc)) {
		retry_or_fail(run, x, cause);
		return;
	}
	vk_error_set(&it->err, rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ? VK_ERR_TLS
												       : VK_ERR_NETWORK,
		     "cannot download '%s': %s", it->url, cause);
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		vk_error_hint(&it->err, "the server's certificate was not trusted; a TLS-intercepting proxy needs its CA "
					"in the system trust store");
	finish_fail(x);
	report(run->opt, x, VK_FETCH_FAILED);
}

static void xfer_release(struct xfer *x)
{
	close_xfer_file(x);
	free(x->part);
	vk_strbuf_release(&x->body);
	vk_strbuf_release(&x->headers);
	curl_slist_free_all(x->request_headers);
}

int vk_fetch_run(struct vk_fetch_item *items, size_t n, const struct vk_fetch_options *opt_in,
		 struct vk_error *err)
{
	struct vk_fetch_options defaults;
	const struct vk_fetch_options *opt = opt_in;
	_cleanup_free_ struct xfer *xs = NULL;
	struct run run;
	size_t failed = 0, first_failed = n;
	int rc = 0;

	if (!opt) {
		vk_fetch_options_init(&defaults);
		opt = &defaults;
	}
	if (n == 0)
		return 0;
	if (vk_libcurl_load(err) < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return vk_error_set(err, VK_ERR_FAILED, "cannot initialise libcurl");
	run.opt = opt;
	run.multi = curl_multi_init();
	if (!run.multi)
		abort();
	xs = xcalloc(n, sizeof(*xs));
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];

		x->item = &items[i];
		x->opt = opt;
		x->index = i;
		x->fd = -1;
		x->phase = PHASE_PENDING;
		vk_strbuf_init(&x->body, 0);
		vk_strbuf_init(&x->headers, 0);
		items[i].status = 0;
		items[i].http_code = 0;
		items[i].response_headers = NULL;
		items[i].attempts = 0;
		items[i].resumed_from = 0;
		items[i].body = NULL;
		items[i].body_len = 0;
		vk_error_clear(&items[i].err);
		if (items[i].dest) {
			x->part = xasprintf("%s.part", items[i].dest);
			if (!vk_sha256_hex_valid(items[i].sha256)) {
				vk_error_set(&items[i].err, VK_ERR_INVALID, "no valid sha256 to check '%s' against",
					     items[i].url);
				x->phase = PHASE_DONE;
				items[i].status = -1;
				continue;
			}
		}
		if (!allowed_scheme(items[i].url, opt, &items[i].err)) {
			x->phase = PHASE_DONE;
			items[i].status = -1;
		}
	}

	for (;;) {
		size_t running = 0, pending = 0;
		long now = vk_now_ms(), wait_ms = 1000;
		int still = 0, numfds = 0, msgs;
		CURLMsg *msg;

		for (size_t i = 0; i < n; i++)
			running += xs[i].phase == PHASE_RUNNING;
		for (size_t i = 0; i < n; i++) {
			struct xfer *x = &xs[i];

			if (x->phase != PHASE_PENDING)
				continue;
			pending++;
			if (x->next_try_ms > now) {
				if (x->next_try_ms - now < wait_ms)
					wait_ms = x->next_try_ms - now;
				continue;
			}
			if ((int)running >= (opt->max_parallel > 0 ? opt->max_parallel : 4))
				continue;
			if (start_attempt(&run, x, &x->item->err) < 0) {
				if (x->easy) {
					curl_easy_cleanup(x->easy);
					x->easy = NULL;
				}
				finish_fail(x);
				report(opt, x, VK_FETCH_FAILED);
				continue;
			}
			running++;
		}
		if (running == 0 && pending == 0)
			break;
		if (curl_multi_perform(run.multi, &still) != CURLM_OK) {
			rc = vk_error_set(err, VK_ERR_FAILED, "the download engine failed (curl_multi_perform)");
			break;
		}
		while ((msg = curl_multi_info_read(run.multi, &msgs))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			on_done(&run, x, msg->data.result);
		}
		if (running > 0 || still > 0) {
			if (wait_ms > 200)
				wait_ms = 200;
			curl_multi_poll(run.multi, NULL, 0, (int)wait_ms, &numfds);
		} else if (wait_ms > 0) {
			struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}

	for (size_t i = 0; i < n; i++) {
		if (xs[i].easy) {
			curl_multi_remove_handle(run.multi, xs[i].easy);
			curl_easy_cleanup(xs[i].easy);
		}
		xfer_release(&xs[i]);
		if (items[i].status != 0) {
			if (!failed)
				first_failed = i;
			failed++;
		}
	}
	curl_multi_cleanup(run.multi);
	if (rc < 0)
		return rc;
	if (failed) {
		if (err)
			*err = items[first_failed].err;
		if (failed > 1)
			vk_error_prefix(err, "%zu downloads failed; the first", failed);
		return -1;
	}
	return 0;
}

void vk_fetch_items_release(struct vk_fetch_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].body);
		items[i].body = NULL;
		free(items[i].response_headers);
		items[i].response_headers = NULL;
	}
}
