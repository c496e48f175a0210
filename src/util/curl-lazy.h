/* libcurl loaded on first use: the curl_* functions virtkube calls forward to VK_LIBCURL_SONAME. */
#pragma once

#include "util/error.h"

/* virtkube does not link libcurl (it is linked --as-needed, and
 * src/util/curl-lazy.c defines every curl_* function virtkube calls): it and
 * the about 35 libraries it pulls in (nghttp2, ssh, ldap, krb5, gnutls, ...)
 * are loaded only by the commands that speak HTTP (the API client, the
 * downloader, the registry client). A function called that is not in that
 * file makes the linker link libcurl again: tests/integration/test-lazy-load.sh
 * names it. */
#define VK_LIBCURL_SONAME "libcurl.so.4"

/* Loads libcurl once per process. Call it before the first curl_* function:
 * when it cannot, it is VK_ERR_UNSUPPORTED naming the library and the
 * loader's reason, with the package to install as the hint. Every forwarded
 * function then fails (NULL, CURLE_FAILED_INIT or CURLM_INTERNAL_ERROR;
 * curl_easy_strerror says why). */
int vk_libcurl_load(struct vk_error *err);
