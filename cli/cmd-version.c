/* `virtkube version`: virtkube's version and the versions of the libraries it runs with. */
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "artifacts/artifacts.h"
#include "cli.h"
#include "util/curl-lazy.h"
#include "util/libarchive-lazy.h"
#include "vm/machine.h"
#include "util/cleanup.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option version_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int version_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	const char *libcurl = LIBCURL_VERSION;
	/* Kubernetes: the table's default and its range (newest first); none if the data is missing */
	_cleanup_free_ char *k8s_default = NULL;
	_cleanup_strv_ char **k8s = vk_kubernetes_versions(&k8s_default, NULL);
	size_t k8s_n = 0;
	const char *libarchive = ARCHIVE_VERSION_STRING;
	struct vk_error err = { 0 };
	char libvirt[32];

	/* libvirt, libarchive and libcurl are loaded only by the commands that
	 * use them: by default these are the versions virtkube was built with;
	 * -v loads them and shows the ones it would run with, or why it cannot. */
	snprintf(libvirt, sizeof(libvirt), "%d.%d.%d", LIBVIR_VERSION_NUMBER / 1000000,
		 LIBVIR_VERSION_NUMBER / 1000 % 1000, LIBVIR_VERSION_NUMBER % 1000);
	if (ctx->verbose) {
		if (vk_machine_libvirt_version(libvirt, &err) < 0 || vk_libarchive_load(&err) < 0 ||
		    vk_libcurl_load(&err) < 0)
			return cli_fail(&err);
		libarchive = archive_version_details();
		libcurl = curl_version_info(CURLVERSION_NOW)->version;
	}

	while (k8s && k8s[k8s_n])
		k8s_n++;
	if (output && strcmp(output, "json") == 0) {
		json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "virtkube", PACKAGE_VERSION,
					"libraries", "libvirt", libvirt, "libcurl", libcurl, "libarchive",
					libarchive, "jansson", jansson_version_str(), "libyaml",
					yaml_get_version_string(), "openssl", OpenSSL_version(OPENSSL_VERSION));
		char *text;
		json_t *supported = json_array();

		for (size_t i = 0; i < k8s_n; i++)
			json_array_append_new(supported, json_string(k8s[i]));
		json_object_set_new(doc, "kubernetes", json_pack("{s:s?, s:o}", "default", k8s_default, "supported", supported));
		text = json_dumps(doc, JSON_INDENT(2));

		puts(text);
		free(text);
		json_decref(doc);
		return VK_EXIT_OK;
	}
	printf("virtkube %s\n", PACKAGE_VERSION);
	if (k8s_n)
		printf("kubernetes %s (default; supported: %s to %s, or 'stable', 'latest', X.Y from upstream)\n",
		       k8s_default, k8s[k8s_n - 1], k8s[0]);
	printf("libvirt %s\n", libvirt);
	printf("libcurl %s\n", libcurl);
	printf("%s\n", libarchive);
	printf("jansson %s\n", jansson_version_str());
	printf("libyaml %s\n", yaml_get_version_string());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_version = {
	.name = "version",
	.summary = "show virtkube's version and its libraries' versions (libvirt's, libarchive's and libcurl's as built; -v: as loaded)",
	.options = version_options,
	.max_args = 0,
	.exec = version_exec,
};
