/* Fuzz target: a libvirt host's pool XML and capabilities (vk_pool_target_parse, vk_kvm_parse_dac_label, vk_pool_access_judge); what is read is in range and what virtkube writes reads back as meant. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "vm/machine.h"
#include "vm/volumes.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static void check_judge(const struct vk_pool_target *t, unsigned uid, unsigned gid)
{
	struct vk_pool_access a = { .pool = "virtkube", .dac = true, .qemu_uid = uid, .qemu_gid = gid, .exists = true,
				    .target = *t };
	char *why = NULL, *fix = NULL;
	enum vk_pool_access_verdict v = vk_pool_access_judge(&a, &why, &fix);

	fuzz_assert(why && *why, "a verdict without a sentence");
	fuzz_assert((v == VK_POOL_ACCESS_DENIED) == (fix != NULL), "a fix exactly when denied");
	fuzz_assert(v != VK_POOL_ACCESS_DENIED || uid != 0, "root denied");
	/* qemu neither owner nor group: the others' bits decide */
	if (t->owner != (long long)uid && t->group != (long long)gid)
		fuzz_assert(v != VK_POOL_ACCESS_DENIED || (t->mode >= 0 && !(t->mode & 0001)),
			    "denied with the others' x bit (mode %o)", (unsigned)t->mode);
	fuzz_assert(v != VK_POOL_ACCESS_OK || t->mode >= 0 || uid == 0, "allowed without a mode");
	free(why);
	free(fix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = xstrndup((const char *)data, size);
	_cleanup_free_ char *ours = NULL, *caps = NULL;
	struct vk_pool_target t;
	unsigned uid = 0, gid = 0;
	int rc;

	/* As libvirt's pool XML: in range, a path when accepted. */
	rc = vk_pool_target_parse(text, &t);
	fuzz_assert(rc < 0 || (t.path && *t.path), "accepted without a path");
	fuzz_assert(t.mode >= -1 && t.mode <= 07777, "mode %d out of range", t.mode);
	fuzz_assert(t.owner >= -1 && t.owner < UINT32_MAX && t.group >= -1 && t.group < UINT32_MAX,
		    "owner %lld:%lld out of range", t.owner, t.group);
	check_judge(&t, 64055, 64055);
	check_judge(&t, 0, 0);
	vk_pool_target_release(&t);

	/* As capabilities: whatever the label says, parsing does not fail loudly. */
	(void)vk_kvm_parse_dac_label(text, &uid, &gid);

	/* The same bytes as a directory: the pool XML virtkube writes reads back as that path. */
	if (!*text)
		return 0;
	ours = vk_volume_pool_xml("virtkube", text);
	fuzz_assert(vk_pool_target_parse(ours, &t) == 0, "our pool XML does not read back");
	fuzz_assert(strcmp(t.path, text) == 0, "our pool's path reads back as '%s', not '%s'", t.path, text);
	fuzz_assert(t.mode == 0711, "our pool's mode reads back as %o", (unsigned)t.mode);
	vk_pool_target_release(&t);

	/* And capabilities with a DAC label read back as their uid and gid. */
	caps = xasprintf("<capabilities><secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+%u:+%u"
			 "</baselabel></secmodel></capabilities>", (unsigned)size, (unsigned)size * 7);
	fuzz_assert(vk_kvm_parse_dac_label(caps, &uid, &gid) == 0 && uid == (unsigned)size && gid == (unsigned)size * 7,
		    "a DAC label does not read back");
	return 0;
}
