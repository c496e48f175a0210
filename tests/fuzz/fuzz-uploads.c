/* Fuzz target: the record of uploaded volumes (vk_uploads_parse, a file a user may edit); what is read is well-formed and writes back as what it read. */
#include <string.h>

#include "fuzz.h"
#include "artifacts/uploads.h"
#include "util/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vk_uploads u = { 0 }, back = { 0 };
	struct vk_error err = { 0 };
	_cleanup_free_ char *text = NULL, *again = NULL;

	if (vk_uploads_parse((const char *)data, size, &u, &err) < 0) {
		fuzz_assert(u.n == 0 && err.code == VK_ERR_PARSE && err.message[0], "a refused record says nothing or holds entries");
		return 0;
	}
	for (size_t i = 0; i < u.n; i++) {
		fuzz_assert(strncmp(u.v[i].volume, "sha256-", 7) == 0 && !strchr(u.v[i].volume, '/'),
			    "volume '%s' is not a shared volume's name", u.v[i].volume);
		fuzz_assert(i == 0 || strcmp(u.v[i - 1].volume, u.v[i].volume) < 0, "volumes not sorted or repeated");
		fuzz_assert(u.v[i].uris && u.v[i].uris[0], "volume '%s' with no host", u.v[i].volume);
		for (size_t j = 0; u.v[i].uris[j]; j++)
			fuzz_assert(*u.v[i].uris[j] && (j == 0 || strcmp(u.v[i].uris[j - 1], u.v[i].uris[j]) < 0),
				    "the hosts of '%s' are empty, not sorted or repeated", u.v[i].volume);
		fuzz_assert(vk_uploads_find(&u, u.v[i].volume) == &u.v[i], "'%s' is not found", u.v[i].volume);
	}
	text = vk_uploads_format(&u);
	fuzz_assert(vk_uploads_parse(text, strlen(text), &back, &err) == 0, "what was written does not parse: %s",
		    err.message);
	again = vk_uploads_format(&back);
	fuzz_assert(strcmp(text, again) == 0 && back.n == u.n, "what was written reads back as something else");
	vk_uploads_release(&back);
	vk_uploads_release(&u);
	return 0;
}
