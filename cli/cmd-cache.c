/* `virtkube cache list` and `virtkube cache clean`: what the download cache holds (files and container images), and emptying it. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "artifacts/cache.h"
#include "cli.h"
#include "artifacts/imageset.h"
#include "profile/profile.h"
#include "ui.h"
#include "util/cleanup.h"
#include "vm/machine.h"
#include "vm/volumes.h"

static const char *const output_choices[] = { "table", "json", NULL };

static const struct cli_option cache_list_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

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
	const char *output = cli_opt(args, "output");
	bool json = output && strcmp(output, "json") == 0;
	_cleanup_free_ char *home = NULL;
	struct vk_error err = { 0 };
	struct vk_cache_entry *e;
	struct vk_cached_image *img;
	size_t n = 0, nimg = 0, nfiles = 0;

	(void)ctx;
	home = vk_home_dir(&err);
	if (!home)
		return cli_fail(&err);
	e = vk_cache_list(home, &n, &err);
	if (!e)
		return cli_fail(&err);
	img = vk_images_cached(home, &nimg, &err);
	if (!img) {
		vk_cache_entries_free(e, n);
		return cli_fail(&err);
	}
	for (size_t i = 0; i < n; i++)
		nfiles += !is_image_file(e[i].key);
	if (json) {
		json_t *list = json_array();
		char *text;

		for (size_t i = 0; i < n; i++)
			if (!is_image_file(e[i].key))
				json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "name", e[i].key, "size",
								      (json_int_t)e[i].size, "verified",
								      state_name(e[i].state)));
		/* An image is verified by digest as it arrives: "yes" once all of it is here. */
		for (size_t i = 0; i < nimg; i++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", img[i].name, "kind",
							      "image", "digest", img[i].digest, "size",
							      (json_int_t)img[i].size, "verified",
							      img[i].complete ? "yes" : "partial"));
		text = json_dumps(list, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(list);
	} else if (nfiles == 0 && nimg == 0) {
		ui_info("the download cache is empty");
	} else {
		if (nfiles) {
			const char *headers[] = { "NAME", "SIZE", "VERIFIED" };
			struct ui_table *t = ui_table_new(3, headers);

			for (size_t i = 0; i < n; i++) {
				char size[32];

				if (is_image_file(e[i].key))
					continue;
				ui_format_bytes(size, sizeof(size), (double)e[i].size);
				ui_table_add(t, (const char *[]){ e[i].key, size, state_name(e[i].state) });
			}
			ui_table_print(t);
			ui_table_free(t);
		}
		if (nimg) {
			if (nfiles)
				putchar('\n');
			print_images(img, nimg);
		}
	}
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
	_cleanup_free_ char *in_use = NULL;
	struct vk_error err = { 0 };
	size_t removed;

	if (!vk_volumes_wanted(uri))
		return cli_usage_error(cmd, "--remote wants the URI of another host (qemu+ssh://user@host/system)");
	conn = vk_machine_connect(uri, &err);
	if (!conn || vk_volumes_clean_shared(conn, VK_VOLUME_POOL, &removed, &in_use, &err) < 0)
		return cli_fail(&err);
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
		       "however many images share them), and COMPLETE 'partial' while blobs are missing.",
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
