/* `virtkube cache list` and `virtkube cache clean`: what the download cache holds (files and container images), and emptying it. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "artifacts/cache.h"
#include "artifacts/uploads.h"
#include "cli.h"
#include "artifacts/imageset.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "vm/machine.h"
#include "vm/volumes.h"

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option cache_list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ "remote", 0, "URI", "ask the libvirt host at URI which images its pool holds (its shared sha256-* volumes) "
			      "and correct the record of what this host uploaded there", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

struct host_held {
	const char *uri;
	char **volumes;
};

static void set_held(struct vk_uploads *u, void *data)
{
	const struct host_held *h = data;

	vk_uploads_set_host(u, h->uri, (const char *const *)h->volumes);
}

/* Asks the host at URI which shared volumes virtkube's pool holds (complete
 * ones) and makes HOME's record say exactly that of URI; *HELD counts them. */
static int record_from_host(const char *home, virConnectPtr conn, const char *uri, size_t *held, struct vk_error *err)
{
	_cleanup_strv_ char **names = vk_volume_list(conn, VK_VOLUME_POOL, err);
	_cleanup_free_ char *warning = NULL;
	struct host_held h = { .uri = uri };
	int rc;

	if (!names)
		return -1;
	h.volumes = vk_uploads_held((const char *const *)names);
	for (*held = 0; h.volumes[*held]; (*held)++)
		;
	rc = vk_uploads_update(home, set_held, &h, &warning, err);
	if (warning)
		ui_warn("%s", warning);
	vk_strv_free(h.volumes);
	return rc;
}

static json_t *uris_json(const struct vk_upload *e)
{
	json_t *a = json_array();

	for (char **u = e ? e->uris : NULL; u && *u; u++)
		json_array_append_new(a, json_string(*u));
	return a;
}

/* Where the cache's file KEY was uploaded, from the record. */
static const struct vk_upload *uploaded_from(const struct vk_uploads *up, const char *home, const char *key)
{
	_cleanup_free_ char *cache = vk_cache_dir(home);
	_cleanup_free_ char *path = vk_path_join(cache, key);

	return vk_uploads_find_file(up, path);
}

static void print_volumes(const struct vk_uploads *up)
{
	const char *headers[] = { "VOLUME", "FILE", "REMOTE" };
	struct ui_table *t = ui_table_new(3, headers);

	for (size_t i = 0; i < up->n; i++) {
		_cleanup_free_ char *hosts = vk_uploads_hosts(&up->v[i]);

		ui_table_add(t, (const char *[]){ up->v[i].volume, up->v[i].file ? up->v[i].file : "-", hosts });
	}
	ui_table_print(t);
	ui_table_free(t);
}

static const char *state_name(int state)
{
	switch (state) {
	case VK_CACHE_VERIFIED:
		return "yes";
	case VK_CACHE_PARTIAL:
		return "partial";
	case VK_CACHE_BUILT:
		return "built";
	default:
		return "no";
	}
}

/* The image store and its records are listed as images, not as files. */
static bool is_image_file(const char *key)
{
	return strncmp(key, "blobs/", 6) == 0 || strncmp(key, "images/", 7) == 0;
}

static void print_images(const struct vk_cached_image *img, size_t nimg)
{
	const char *headers[] = { "IMAGE", "DIGEST", "SIZE", "COMPLETE" };
	struct ui_table *t = ui_table_new(4, headers);

	for (size_t i = 0; i < nimg; i++) {
		char size[32], digest[7 + 12 + 1];

		ui_format_bytes(size, sizeof(size), (double)img[i].size);
		snprintf(digest, sizeof(digest), "%s", img[i].digest);
		ui_table_add(t, (const char *[]){ img[i].name, digest, img[i].complete ? size : "-",
						  img[i].complete ? "yes" : "partial" });
	}
	ui_table_print(t);
	ui_table_free(t);
}

static int cache_list_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output"), *remote = cli_opt(args, "remote");
	bool json = output && strcmp(output, "json") == 0;
	_cleanup_free_ char *home = NULL, *warning = NULL;
	struct vk_uploads up = { 0 };
	struct vk_error err = { 0 };
	struct vk_cache_entry *e;
	struct vk_cached_image *img;
	size_t n = 0, nimg = 0, nfiles = 0;

	(void)ctx;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	if (remote) {
		_cleanup_conn_ virConnectPtr conn = NULL;
		size_t held;

		if (!vk_volumes_wanted(remote))
			return cli_usage_error(args->cmd, "--remote wants the URI of another host (qemu+ssh://user@host/system)");
		conn = vk_machine_connect(remote, &err);
		if (!conn || record_from_host(home, conn, remote, &held, &err) < 0)
			return cli_fail(&err);
		ui_info("pool '%s' at '%s' holds %zu image volume%s", VK_VOLUME_POOL, remote, held, held == 1 ? "" : "s");
	}
	vk_uploads_load(home, &up, &warning);
	if (warning)
		ui_warn("%s", warning);
	e = vk_cache_list(home, &n, &err);
	if (!e) {
		vk_uploads_release(&up);
		return cli_fail(&err);
	}
	img = vk_images_cached(home, &nimg, &err);
	if (!img) {
		vk_uploads_release(&up);
		vk_cache_entries_free(e, n);
		return cli_fail(&err);
	}
	for (size_t i = 0; i < n; i++)
		nfiles += !is_image_file(e[i].key);
	if (json) {
		json_t *list = json_array();
		char *text;

		for (size_t i = 0; i < n; i++) {
			const struct vk_upload *where = is_image_file(e[i].key) ? NULL : uploaded_from(&up, home, e[i].key);
			json_t *o;

			if (is_image_file(e[i].key))
				continue;
			o = json_pack("{s:s, s:I, s:s}", "name", e[i].key, "size", (json_int_t)e[i].size, "verified",
				      state_name(e[i].state));
			if (where)
				json_object_set_new(o, "remote", uris_json(where));
			json_array_append_new(list, o);
		}
		/* An image is verified by digest as it arrives: "yes" once all of it is here. */
		for (size_t i = 0; i < nimg; i++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", img[i].name, "kind",
							      "image", "digest", img[i].digest, "size",
							      (json_int_t)img[i].size, "verified",
							      img[i].complete ? "yes" : "partial"));
		/* What a libvirt host holds (the record): one per shared volume. */
		for (size_t i = 0; i < up.n; i++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:o}", "name", up.v[i].volume, "kind",
							      "volume", "file", up.v[i].file, "remote",
							      uris_json(&up.v[i])));
		text = json_dumps(list, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(list);
	} else if (nfiles == 0 && nimg == 0 && up.n == 0) {
		ui_info("the download cache is empty");
	} else {
		if (nfiles) {
			/* REMOTE only once something was uploaded to a libvirt host */
			const char *headers[] = { "NAME", "SIZE", "VERIFIED", "REMOTE" };
			struct ui_table *t = ui_table_new(up.n ? 4 : 3, headers);

			for (size_t i = 0; i < n; i++) {
				_cleanup_free_ char *hosts = NULL;
				char size[32];

				if (is_image_file(e[i].key))
					continue;
				hosts = vk_uploads_hosts(uploaded_from(&up, home, e[i].key));
				ui_format_bytes(size, sizeof(size), (double)e[i].size);
				ui_table_add(t, (const char *[]){ e[i].key, size, state_name(e[i].state), hosts });
			}
			ui_table_print(t);
			ui_table_free(t);
		}
		if (nimg) {
			if (nfiles)
				putchar('\n');
			print_images(img, nimg);
		}
		if (up.n) {
			if (nfiles || nimg)
				putchar('\n');
			print_volumes(&up);
		}
	}
	vk_uploads_release(&up);
	vk_cached_images_free(img, nimg);
	vk_cache_entries_free(e, n);
	return VK_EXIT_OK;
}

static const struct cli_option cache_clean_options[] = {
	{ "remote", 0, "URI", "instead, delete the images virtkube uploaded to the libvirt host at URI (its pool's "
			      "shared sha256-* volumes), once no profile there is left", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

/* cache clean --remote URI: the shared volumes in virtkube's pool there. */
static int clean_remote(const struct cli_command *cmd, const char *uri)
{
	_cleanup_conn_ virConnectPtr conn = NULL;
	_cleanup_free_ char *in_use = NULL, *home = NULL;
	struct vk_error err = { 0 };
	size_t removed, held;

	if (!vk_volumes_wanted(uri))
		return cli_usage_error(cmd, "--remote wants the URI of another host (qemu+ssh://user@host/system)");
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	conn = vk_machine_connect(uri, &err);
	if (!conn || vk_volumes_clean_shared(conn, VK_VOLUME_POOL, &removed, &in_use, &err) < 0)
		return cli_fail(&err);
	/* The record says what is left there (a clean cut short deleted some). */
	if (record_from_host(home, conn, uri, &held, &err) < 0)
		ui_warn("the record of uploaded volumes is not corrected: %s", err.message);
	if (in_use) {
		ui_error_msg("pool '%s' at '%s' still holds volume '%s' of a profile: its images are kept", VK_VOLUME_POOL, uri,
			     in_use);
		fprintf(stderr, "hint: delete the profiles on that host first ('virtkube -p NAME delete')\n");
		return VK_EXIT_FAILED;
	}
	printf("removed %zu image volume%s from pool '%s' at '%s'\n", removed, removed == 1 ? "" : "s", VK_VOLUME_POOL,
	       uri);
	return VK_EXIT_OK;
}

static int cache_clean_exec(struct cli_context *ctx, struct cli_args *args)
{
	_cleanup_free_ char *home = NULL;
	struct vk_error err = { 0 };
	off_t freed = 0;
	size_t removed = 0, busy = 0;
	char size[32];

	(void)ctx;
	if (cli_opt(args, "remote"))
		return clean_remote(args->cmd, cli_opt(args, "remote"));
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	if (vk_cache_clean(home, &freed, &removed, &busy, &err) < 0)
		return cli_fail(&err);
	ui_format_bytes(size, sizeof(size), (double)freed);
	printf("removed %zu file%s (%s) from the download cache\n", removed, removed == 1 ? "" : "s", size);
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_cache_list = {
	.name = "cache list",
	.summary = "list the downloaded artifacts and container images: name, size, and whether they were verified",
	.description = "The cache lives in $VIRTKUBE_HOME/cache, one file per upstream host and path. "
		       "VERIFIED is 'yes' once the file matched its published sha256, 'partial' for an "
		       "interrupted download the next start resumes, 'built' for a payload ISO "
		       "(payload/<version>-<hash>.iso: a Kubernetes version's binaries, made from the "
		       "downloads once and shared by that version's profiles). Container images follow in "
		       "their own table: the reference, the digest its tag was pinned to on the first pull, "
		       "the size of its manifest, config and layers (stored once by digest in cache/blobs, "
		       "however many images share them), and COMPLETE 'partial' while blobs are missing. "
		       "Once images were uploaded to a remote libvirt host (start --libvirt-uri qemu+ssh://...), "
		       "the files gain a REMOTE column and a table lists the shared volumes there "
		       "(sha256-HEX.KIND), each with the file it came from and the hosts that hold it: from a "
		       "record this host keeps (cache/.remote.json, written as uploads finish and by 'cache "
		       "clean --remote'), so without asking the network; --remote URI asks that host which it "
		       "holds and corrects the record.",
	.options = cache_list_options,
	.max_args = 0,
	.exec = cache_list_exec,
};

const struct cli_command cli_cmd_cache_clean = {
	.name = "cache clean",
	.summary = "delete every downloaded artifact, container image and payload ISO (made again when needed)",
	.description = "Removes the downloads and the payload ISOs built from them. A profile whose VM uses a\n"
		       "payload ISO keeps working: its next start downloads what it needs and builds the ISO\n"
		       "again before the VM boots (a running VM keeps the file it has open).",
	.options = cache_clean_options,
	.max_args = 0,
	.exec = cache_clean_exec,
};
