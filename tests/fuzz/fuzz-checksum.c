/* Fuzz target: the checksum-file parser (vk_checksum_parse); a digest found is well-formed, stands in the file, and does not depend on line endings or comments. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "artifacts/fetch.h"
#include "fuzz.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* The names the artifact table asks for, and one from the input. */
static const char *const names[] = { "kubeadm", "runc.amd64", "CentOS-Stream-GenericCloud-9-20260826.0.x86_64.qcow2",
				     "cni-plugins-linux-amd64-v1.9.1.tgz" };

static int parse(const char *text, const char *name, char hex[VK_SHA256_HEX_LEN + 1])
{
	struct vk_error err = { 0 };
	int rc = vk_checksum_parse(text, name, "SUMS", hex, &err);

	if (rc < 0)
		fuzz_assert(strstr(err.message, "SUMS") && strstr(err.message, name), "the error names neither file nor entry: %s",
			    err.message);
	return rc;
}

/* Whether TEXT holds HEX (any case) as a whole token on a line that names
 * NAME, or is the only digest of a file with one entry. */
static bool digest_stands_for(const char *text, const char *hex, const char *name)
{
	for (const char *p = text; (p = strcasestr(p, hex)); p++) {
		const char *line = p, *end = p + strcspn(p, "\r\n");

		while (line > text && line[-1] != '\n' && line[-1] != '\r')
			line--;
		if ((p > line && isxdigit((unsigned char)p[-1])) || isxdigit((unsigned char)p[VK_SHA256_HEX_LEN]))
			continue;
		for (const char *n = line; n < end && (n = strstr(n, name)) && n < end; n++) {
			char before = n > line ? n[-1] : ' ', after = n[strlen(name)];

			if (strchr(" \t*/(", before) && (strchr(" \t)\r\n", after) || !after))
				return true;
		}
		if ((size_t)(p - line) == strspn(line, " \t") &&
		    p + VK_SHA256_HEX_LEN + strspn(p + VK_SHA256_HEX_LEN, " \t") == end)
			return true; /* a lone digest */
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct vk_strbuf crlf = VK_STRBUF_INIT, commented = VK_STRBUF_INIT;
	const char *own = memchr(data, '\0', size) ? (const char *)memchr(data, '\0', size) + 1 : NULL;
	char *own_name = own ? xstrndup(own, size - (size_t)(own - (const char *)data)) : NULL;

	for (const char *p = text; *p; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			vk_strbuf_addch(&crlf, '\r');
		vk_strbuf_addch(&crlf, *p);
	}
	vk_strbuf_addf(&commented, "# checksums\n\n%s", text);
	for (size_t i = 0; i <= VK_ARRAY_SIZE(names); i++) {
		const char *name = i < VK_ARRAY_SIZE(names) ? names[i] : own_name;
		char hex[VK_SHA256_HEX_LEN + 1], other[VK_SHA256_HEX_LEN + 1];
		int rc;

		if (!name || !*name || strpbrk(name, "/\r\n"))
			continue;
		rc = parse(text, name, hex);
		fuzz_assert(parse(crlf.buf, name, other) == rc && (rc < 0 || strcmp(hex, other) == 0),
			    "CRLF line ends change the answer for '%s'", name);
		fuzz_assert(parse(commented.buf, name, other) == rc && (rc < 0 || strcmp(hex, other) == 0),
			    "a comment line changes the answer for '%s'", name);
		if (rc < 0)
			continue;
		fuzz_assert(strlen(hex) == VK_SHA256_HEX_LEN && strspn(hex, "0123456789abcdef") == VK_SHA256_HEX_LEN,
			    "the digest '%s' is not 64 lowercase hex digits", hex);
		fuzz_assert(vk_sha256_hex_valid(hex), "vk_sha256_hex_valid rejects the digest found");
		fuzz_assert(digest_stands_for(text, hex, name), "the digest found for '%s' is not on a line that names it", name);
	}
	free(text);
	free(own_name);
	vk_strbuf_release(&crlf);
	vk_strbuf_release(&commented);
	return 0;
}
