/* Fuzz target: the snapshot module's readers of libvirt's domain XML (disks, shared memory) and of snapshot records; what the XML writer makes names only the disks found, and a record reads back as it was written. */
#include <jansson.h>
#include <string.h>

#include "cluster/snapshot.h"
#include "fuzz.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = xstrndup((const char *)data, size);
	_cleanup_free_ char *xml = vk_snapshot_xml("s1", "d", text, size % 2);
	struct vk_snapshot_info a = { 0 }, b = { 0 };
	struct vk_error err = { 0 };
	json_auto_t *j = json_loads(text, 0, NULL);
	char disk[16];

	vk_snapshot_shares_memory(text);
	fuzz_assert(strstr(xml, "<name>s1</name>") && strstr(xml, "</domainsnapshot>\n"), "the snapshot XML is cut: %s", xml);
	if (vk_snapshot_first_disk(text, disk)) {
		fuzz_assert(strlen(disk) < sizeof(disk) && strstr(text, disk), "disk '%s' is not in the domain XML", disk);
		fuzz_assert(!strchr(disk, '\'') && !strchr(disk, '"'), "disk '%s' holds a quote", disk);
	}
	if (j && vk_snapshot_info_parse(j, "rec", &a, &err) == 0) {
		json_auto_t *again = vk_snapshot_info_json(&a);

		fuzz_assert(again && vk_snapshot_info_parse(again, "again", &b, &err) == 0, "a record does not read back: %s",
			    err.message);
		fuzz_assert(strcmp(a.name, b.name) == 0 && a.created == b.created && a.nnodes == b.nnodes &&
				    a.size == b.size && a.running == b.running,
			    "record '%s' changed on the way back", a.name);
		for (size_t i = 0; i < a.nnodes; i++)
			fuzz_assert(strcmp(a.nodes[i].name, b.nodes[i].name) == 0 && a.nodes[i].running == b.nodes[i].running,
				    "node %zu changed on the way back", i);
		vk_snapshot_info_release(&b);
	}
	vk_snapshot_info_release(&a);
	return 0;
}
