/* The container images in a running node's containerd: `virtkube image load` (an archive, or a reference the host pulls, imported with ctr over ssh) and `virtkube image ls`. */
#include "kube/imageload.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vm/guestssh.h"
#include "artifacts/imageset.h"
#include "util/libarchive-lazy.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* ctr is where the guest script installs it (BIN_DIR); the PATH covers a distro's containerd too. */
#define GUEST_PATH "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
#define LIST_TIMEOUT_MS 60000
#define IMPORT_TIMEOUT_MS (20 * 60 * 1000L)
/* What to give instead of a file that is not an image archive. */
#define ARCHIVE_HINT "give a file written by 'docker save', 'podman save' or 'skopeo copy ... oci-archive:FILE', or an image reference"
/* Only the small JSON documents of an archive are read into memory. */
#define MAX_ARCHIVE_JSON (4 * 1024 * 1024)

static void names_add_normalized(char ***names, size_t *n, const char *text)
{
	struct vk_image_ref ref = { 0 };
	char *name;

	if (vk_image_ref_parse(text, &ref, NULL) < 0)
		return;
	name = vk_image_ref_name(&ref);
	vk_image_ref_release(&ref);
	vk_strv_add_unique(names, n, name);
	free(name);
}

/* An OCI ref.name is often only a tag ("1.36"): a full reference has a '/' or a ':' before any tag. */
static bool looks_like_full_reference(const char *s)
{
	return strchr(s, '/') || (strchr(s, ':') && !isdigit((unsigned char)s[0]));
}

char **vk_image_archive_names_parse(const char *manifest_json, const char *index_json, struct vk_error *err)
{
	const char *what = manifest_json ? "manifest.json" : "index.json";
	json_error_t jerr;
	json_t *doc = json_loads(manifest_json ? manifest_json : index_json ? index_json : "", 0, &jerr);
	char **names = NULL;
	size_t n = 0, i, j;
	json_t *entry, *tag;

	if (!doc) {
		vk_error_set(err, VK_ERR_PARSE, "the archive's %s does not parse: %s (line %d)", what, jerr.text,
			     jerr.line);
		return NULL;
	}
	if (manifest_json) {
		/* docker save: [{"Config": ..., "RepoTags": ["name:tag"], "Layers": [...]}] */
		if (!json_is_array(doc)) {
			json_decref(doc);
			vk_error_set(err, VK_ERR_PARSE, "the archive's manifest.json is not a list of images");
			return NULL;
		}
		json_array_foreach(doc, i, entry) {
			json_t *tags = json_object_get(entry, "RepoTags");

			json_array_foreach(tags, j, tag)
				if (json_is_string(tag))
					names_add_normalized(&names, &n, json_string_value(tag));
		}
	} else {
		json_t *manifests = json_object_get(doc, "manifests");

		json_array_foreach(manifests, i, entry) {
			json_t *ann = json_object_get(entry, "annotations");
			const char *cname = json_string_value(json_object_get(ann, "io.containerd.image.name"));
			const char *rname = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));

			if (cname)
				names_add_normalized(&names, &n, cname);
			else if (rname && looks_like_full_reference(rname))
				names_add_normalized(&names, &n, rname);
		}
	}
	json_decref(doc);
	if (!n) {
		vk_error_set(err, VK_ERR_INVALID, "the archive's %s names no image", what);
		vk_error_hint(err, manifest_json ? "save it with a name: 'docker save myapp:dev -o FILE'"
						 : "give each image in index.json an io.containerd.image.name annotation "
						   "(skopeo copy ... oci-archive:FILE:NAME:TAG does)");
		return NULL;
	}
	return names;
}

/* Reads ENTRY's data (at most MAX_ARCHIVE_JSON) as a string. */
static char *read_entry_text(struct archive *a, int *too_big)
{
	struct vk_strbuf sb = VK_STRBUF_INIT;
	const void *buf;
	size_t len;
	int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (sb.len + len > MAX_ARCHIVE_JSON) {
			*too_big = 1;
			vk_strbuf_release(&sb);
			return NULL;
		}
		vk_strbuf_add(&sb, buf, len);
	}
	if (r != ARCHIVE_EOF) {
		vk_strbuf_release(&sb);
		return NULL;
	}
	return vk_strbuf_detach(&sb, NULL);
}

char **vk_image_archive_names(const char *path, struct vk_error *err)
{
	_cleanup_free_ char *manifest = NULL, *index = NULL;
	struct archive *a;
	struct archive_entry *entry;
	bool oci_layout = false;
	int r, too_big = 0;
	char **names;

	if (vk_libarchive_load(err) < 0)
		return NULL;
	a = archive_read_new();
	if (!a) {
		vk_error_set(err, VK_ERR_IO, "cannot read '%s': %s", path, archive_error_string(NULL));
		return NULL;
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		vk_error_set(err, VK_ERR_INVALID, "'%s' is not an image archive: %s", path, archive_error_string(a));
		vk_error_hint(err, ARCHIVE_HINT);
		archive_read_free(a);
		return NULL;
	}
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry);
		char **slot = NULL;

		if (!name)
			continue;
		if (strncmp(name, "./", 2) == 0)
			name += 2;
		if (strcmp(name, "manifest.json") == 0)
			slot = &manifest;
		else if (strcmp(name, "index.json") == 0)
			slot = &index;
		else if (strcmp(name, "oci-layout") == 0)
			oci_layout = true;
		if (slot && !*slot) {
			*slot = read_entry_text(a, &too_big);
			if (!*slot)
				break;
		}
	}
	if (r != ARCHIVE_EOF && !too_big && !(manifest || index)) {
		vk_error_set(err, VK_ERR_INVALID, "'%s' is not an image archive: %s", path, archive_error_string(a));
		vk_error_hint(err, ARCHIVE_HINT);
		archive_read_free(a);
		return NULL;
	}
	archive_read_free(a);
	if (too_big)
		return vk_error_set(err, VK_ERR_INVALID, "'%s': its manifest.json or index.json is over %d MiB", path,
				    MAX_ARCHIVE_JSON >> 20),
		       NULL;
	if (!manifest && !(index && oci_layout)) {
		vk_error_set(err, VK_ERR_INVALID,
			     "'%s' is a tar but not an image archive: it has neither manifest.json (docker save) nor "
			     "oci-layout and index.json (an OCI image layout)",
			     path);
		vk_error_hint(err, "write it with 'docker save IMAGE -o FILE' or 'skopeo copy docker://IMAGE "
				   "oci-archive:FILE:IMAGE'");
		return NULL;
	}
	names = vk_image_archive_names_parse(manifest, manifest ? NULL : index, err);
	if (!names)
		vk_error_prefix(err, "'%s'", path);
	return names;
}

/* ---- ctr images ls ---- */

static int64_t parse_ctr_size(const char *number, const char *unit)
{
	static const struct {
		const char *unit;
		double factor;
	} units[] = {
		{ "B", 1.0 },	 { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
		{ "kB", 1e3 },	 { "MB", 1e6 },	    { "GB", 1e9 },	     { "TiB", 1099511627776.0 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(number, &end);
	if (errno || end == number || *end || v < 0 || v > 1e15)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].unit) == 0)
			return (int64_t)(v * units[i].factor);
	return -1;
}

static int image_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vk_node_image *)a)->name, ((const struct vk_node_image *)b)->name);
}

struct vk_node_image *vk_node_images_parse(const char *ctr_ls, size_t *n, struct vk_error *err)
{
	struct vk_node_image *v = NULL;
	size_t count = 0, lineno = 0;
	const char *line = ctr_ls, *next;

	*n = 0;
	for (; line && *line; line = next) {
		_cleanup_free_ char *copy = NULL;
		char *save = NULL, *tok[6] = { 0 };
		size_t len, k = 0;

		next = strchr(line, '\n');
		len = next ? (size_t)(next - line) : strlen(line);
		if (next)
			next++;
		lineno++;
		copy = xstrndup(line, len);
		for (char *t = strtok_r(copy, " \t\r", &save); t && k < 6; t = strtok_r(NULL, " \t\r", &save))
			tok[k++] = t;
		if (k == 0)
			continue;
		if (lineno == 1 && strcmp(tok[0], "REF") == 0)
			continue;
		if (k < 3 || strncmp(tok[2], "sha256:", 7) != 0) {
			vk_node_images_free(v, count);
			vk_error_set(err, VK_ERR_PARSE, "line %zu of 'ctr images ls' is not NAME TYPE DIGEST SIZE ...", lineno);
			return NULL;
		}
		if (strncmp(tok[0], "sha256:", 7) == 0)
			continue; /* the CRI's image-id entry */
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count].name = xstrdup(tok[0]);
		v[count].digest = xstrdup(tok[2]);
		v[count].size = k >= 5 ? parse_ctr_size(tok[3], tok[4]) : -1;
		count++;
	}
	if (count)
		qsort(v, count, sizeof(*v), image_cmp);
	*n = count;
	return v ? v : xcalloc(1, sizeof(*v));
}

void vk_node_images_free(struct vk_node_image *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].digest);
	}
	free(v);
}

static int require_kubernetes_node(const struct vk_profile *p, struct vk_error *err)
{
	if (p->cfg.kind == VK_KIND_PLAIN) {
		vk_error_set(err, VK_ERR_UNSUPPORTED, "profile '%s' runs no Kubernetes (--no-kubernetes): it has no "
			     "containerd to hold images", p->name);
		return vk_error_hint(err, "start a Kubernetes profile: 'virtkube start -p NAME'");
	}
	return 0;
}

struct vk_node_image *vk_node_images_list(const struct vk_profile *p, size_t *n, struct vk_error *err)
{
	_cleanup_free_ char *out = NULL;
	int status = 0;
	struct vk_node_image *v;

	*n = 0;
	if (require_kubernetes_node(p, err) < 0)
		return NULL;
	if (vk_guest_run(p, "sudo -n " GUEST_PATH " ctr -n " VK_NODE_IMAGES_NAMESPACE " images ls 2>&1",
			 LIST_TIMEOUT_MS, &out, &status, err) < 0)
		return NULL;
	if (status != 0) {
		vk_error_set(err, VK_ERR_GUEST, "'ctr images ls' failed in profile '%s' (exit %d): %.300s", p->name,
			     status, out ? out : "");
		vk_error_hint(err, "is containerd running? 'virtkube -p %s ssh -- sudo systemctl status containerd'",
			      p->name);
		return NULL;
	}
	v = vk_node_images_parse(out, n, err);
	if (!v)
		vk_error_prefix(err, "profile '%s'", p->name);
	return v;
}

/* ---- image load ---- */

/* A SOURCE that is not a file is a reference, unless it is written as a path. */
static bool looks_like_path(const char *s)
{
	size_t len = strlen(s);

	return s[0] == '/' || strncmp(s, "./", 2) == 0 || strncmp(s, "../", 3) == 0 ||
	       (len > 4 && strcmp(s + len - 4, ".tar") == 0) || (len > 7 && strcmp(s + len - 7, ".tar.gz") == 0);
}

/* SOURCE as a reference: pulled into the image store, written as an archive. */
static char *archive_for_reference(const struct vk_node_image_load_request *req, struct vk_error *err)
{
	struct vk_image_ref ref = { 0 };
	struct vk_pulled_image *pulled = NULL;
	size_t npulled = 0;
	const char *refs[2] = { req->source, NULL };
	char *archive;

	if (vk_image_ref_parse(req->source, &ref, err) < 0) {
		vk_error_prefix(err, "'%s' is neither a file nor an image reference", req->source);
		vk_error_hint(err, "give an archive written by 'docker save' / 'skopeo copy', or a reference such as "
				   "docker.io/library/busybox:1.36");
		return NULL;
	}
	vk_image_ref_release(&ref);
	if (vk_images_pull(req->home, refs, &req->registry, &pulled, &npulled, err) < 0)
		return NULL;
	archive = vk_images_archive_ensure(req->home, pulled, npulled, NULL, err);
	vk_images_release(pulled, npulled);
	return archive;
}

int vk_node_image_load(const struct vk_node_image_load_request *req, struct vk_node_image_load_result *res,
		       struct vk_error *err)
{
	const struct vk_profile *p = req->profile;
	_cleanup_free_ char *archive = NULL, *out = NULL;
	struct vk_node_image *listed;
	const char *missing = NULL;
	size_t nlisted = 0;
	long started = vk_now_ms();
	struct stat st;
	int status = 0;

	memset(res, 0, sizeof(*res));
	if (require_kubernetes_node(p, err) < 0)
		return -1;
	if (stat(req->source, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return vk_error_set(err, VK_ERR_INVALID, "'%s' is not a file", req->source);
		archive = xstrdup(req->source);
	} else if (looks_like_path(req->source)) {
		vk_error_set_errno(err, VK_ERR_NOT_FOUND, errno, "cannot read image archive '%s'", req->source);
		return vk_error_hint(err, "give an existing archive file, or an image reference such as "
				      "docker.io/library/busybox:1.36");
	} else {
		archive = archive_for_reference(req, err);
		if (!archive)
			return -1;
		res->pulled = true;
	}
	res->names = vk_image_archive_names(archive, err);
	if (!res->names)
		return -1;
	if (stat(archive, &st) == 0)
		res->bytes = st.st_size;
	/* Every node: a pod may be scheduled on any of them (the first is the
	 * profile's own VM, checked below). */
	for (size_t i = 0; i < (p->cfg.nnodes ? p->cfg.nnodes : 1); i++) {
		const char *ip = p->cfg.nnodes ? p->cfg.nodes[i].ip : p->cfg.node_ip;
		const char *node = p->cfg.nnodes ? p->cfg.nodes[i].name : p->name;

		free(out);
		out = NULL;
		/* The archive goes to a file on the guest's disk first: ctr reads it twice. */
		if (vk_guest_run_input_at(p, ip,
					  "sudo -n sh -c '" GUEST_PATH "; f=$(mktemp /var/tmp/virtkube-image.XXXXXX) || exit 1; "
					  "trap \"rm -f \\\"$f\\\"\" EXIT; cat >\"$f\" && ctr -n " VK_NODE_IMAGES_NAMESPACE
					  " images import \"$f\"' 2>&1",
					  archive, IMPORT_TIMEOUT_MS, &out, &status, err) < 0)
			return -1;
		if (status != 0) {
			vk_error_set(err, VK_ERR_GUEST, "importing '%s' into node '%s' of profile '%s' failed (exit %d): %.400s",
				     req->source, node, p->name, status, out ? out : "");
			return vk_error_hint(err, "'virtkube -p %s ssh -n %s -- df -h /var/tmp' shows the room left in the node",
					     p->name, node);
		}
	}
	listed = vk_node_images_list(p, &nlisted, err);
	if (!listed)
		return -1;
	for (char **name = res->names; *name && !missing; name++) {
		bool found = false;

		for (size_t i = 0; i < nlisted && !found; i++)
			found = strcmp(listed[i].name, *name) == 0;
		if (!found)
			missing = *name;
	}
	vk_node_images_free(listed, nlisted);
	if (missing) {
		vk_error_set(err, VK_ERR_GUEST, "the node of profile '%s' does not list image '%s' after the import",
			     p->name, missing);
		return vk_error_hint(err, "ctr said: %.300s", out ? out : "");
	}
	res->seconds = (double)(vk_now_ms() - started) / 1000.0;
	return 0;
}

void vk_node_image_load_result_release(struct vk_node_image_load_result *res)
{
	vk_strv_free(res->names);
	res->names = NULL;
}
