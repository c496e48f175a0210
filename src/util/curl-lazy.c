/* libcurl loaded on first use: the curl_* functions virtkube calls, each forwarding to libcurl.so.4. */
#include "util/curl-lazy.h"

/* curl.h's type-checking macros would rename the two variadic definitions below */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util/cleanup.h"
#include "util/dl.h"

#define CL_SYMBOLS(X)                                                                                             \
	X(curl_global_init) X(curl_version_info) X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_perform)         \
	X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_duphandle) X(curl_easy_strerror) X(curl_easy_escape)  \
	X(curl_free) X(curl_slist_append) X(curl_slist_free_all) X(curl_multi_init) X(curl_multi_add_handle)        \
	X(curl_multi_remove_handle) X(curl_multi_perform) X(curl_multi_cleanup) X(curl_multi_info_read)             \
	X(curl_multi_poll)

#define VK_DL_TABLE_TYPE struct cl_table
static struct cl_table {
	CL_SYMBOLS(VK_DL_MEMBER)
} cl;
static const struct vk_dl_symbol cl_symbols[] = { CL_SYMBOLS(VK_DL_ENTRY) };

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static bool cl_loaded;
static char cl_failure[VK_ERROR_MSG_MAX];

#define CL_INSTALL_HINT                                                                                        \
	"install libcurl: apt-get install libcurl4 (Debian, Ubuntu), dnf install libcurl (Fedora, CentOS, RHEL), " \
	"zypper install libcurl4 (openSUSE) or pacman -S curl (Arch)"

static void cl_resolve(void)
{
	cl_loaded = vk_dl_open("libcurl", VK_LIBCURL_SONAME, cl_symbols, VK_ARRAY_SIZE(cl_symbols), &cl, sizeof(cl),
			       cl_failure, sizeof(cl_failure));
}

static bool cl_ready(void)
{
	pthread_once(&cl_once, cl_resolve);
	return cl_loaded;
}

int vk_libcurl_load(struct vk_error *err)
{
	if (cl_ready())
		return 0;
	vk_error_set(err, VK_ERR_UNSUPPORTED, "%s", cl_failure);
	return vk_error_hint(err, "%s", CL_INSTALL_HINT);
}

/* Every function below forwards, or fails the way its callers already handle. */

CURLcode curl_global_init(long flags)
{
	return cl_ready() ? cl.curl_global_init(flags) : CURLE_FAILED_INIT;
}

curl_version_info_data *curl_version_info(CURLversion stamp)
{
	return cl_ready() ? cl.curl_version_info(stamp) : NULL;
}

const char *curl_easy_strerror(CURLcode code)
{
	/* the callers' messages name the transfer and add this: the cause and what to install */
	static char unloaded[sizeof(cl_failure) + sizeof(CL_INSTALL_HINT) + 8];

	if (cl_ready())
		return cl.curl_easy_strerror(code);
	snprintf(unloaded, sizeof(unloaded), "%s (%s)", cl_failure, CL_INSTALL_HINT);
	return unloaded;
}

CURL *curl_easy_init(void)
{
	return cl_ready() ? cl.curl_easy_init() : NULL;
}

CURL *curl_easy_duphandle(CURL *c)
{
	return cl_ready() && c ? cl.curl_easy_duphandle(c) : NULL;
}

void curl_easy_cleanup(CURL *c)
{
	if (cl_ready() && c)
		cl.curl_easy_cleanup(c);
}

/* The one argument is read as libcurl reads it: its type is given by the
 * option's number range (CURLOPTTYPE_*). */
CURLcode curl_easy_setopt(CURL *c, CURLoption option, ...)
{
	CURLcode rc;
	va_list ap;

	if (!cl_ready() || !c)
		return CURLE_FAILED_INIT;
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = cl.curl_easy_setopt(c, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = cl.curl_easy_setopt(c, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = cl.curl_easy_setopt(c, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = cl.curl_easy_setopt(c, option, va_arg(ap, curl_off_t));
	else
		rc = cl.curl_easy_setopt(c, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	CURLcode rc;
	va_list ap;

	if (!cl_ready() || !c)
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = cl.curl_easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *c)
{
	return cl_ready() && c ? cl.curl_easy_perform(c) : CURLE_FAILED_INIT;
}

char *curl_easy_escape(CURL *c, const char *s, int length)
{
	return cl_ready() ? cl.curl_easy_escape(c, s, length) : NULL;
}

void curl_free(void *p)
{
	if (cl_ready() && p)
		cl.curl_free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return cl_ready() ? cl.curl_slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (cl_ready() && list)
		cl.curl_slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
	return cl_ready() ? cl.curl_multi_init() : NULL;
}

CURLMcode curl_multi_add_handle(CURLM *m, CURL *c)
{
	return cl_ready() ? cl.curl_multi_add_handle(m, c) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *m, CURL *c)
{
	return cl_ready() ? cl.curl_multi_remove_handle(m, c) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *m, int *running)
{
	return cl_ready() ? cl.curl_multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_cleanup(CURLM *m)
{
	return cl_ready() ? cl.curl_multi_cleanup(m) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *m, int *msgs)
{
	return cl_ready() ? cl.curl_multi_info_read(m, msgs) : NULL;
}

CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms,
			  int *numfds)
{
	return cl_ready() ? cl.curl_multi_poll(m, extra_fds, extra_nfds, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}
