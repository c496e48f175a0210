/* `virtkube version`: virtkube's version and the versions of the libraries it runs with. */
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "cli.h"

static const char *const output_choices[] = { "text", "json", NULL };

static const struct cli_option version_options[] = {
	{ "output", 'o', "FORMAT", "output format", output_choices },
	{ NULL, 0, NULL, NULL, NULL },
};

static int version_exec(struct cli_context *ctx, struct cli_args *args)
{
	const char *output = cli_opt(args, "output");
	unsigned long libvirt_version = 0;
	char libvirt[32] = "unknown";
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	(void)ctx;
	if (virGetVersion(&libvirt_version, NULL, NULL) == 0)
		snprintf(libvirt, sizeof(libvirt), "%lu.%lu.%lu", libvirt_version / 1000000,
			 libvirt_version / 1000 % 1000, libvirt_version % 1000);

	if (output && strcmp(output, "json") == 0) {
		json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "virtkube", PACKAGE_VERSION,
					"libraries", "libvirt", libvirt, "libcurl", curl->version, "libarchive",
					archive_version_details(), "jansson", jansson_version_str(), "libyaml",
					yaml_get_version_string(), "openssl", OpenSSL_version(OPENSSL_VERSION));
		char *text = json_dumps(doc, JSON_INDENT(2));

		puts(text);
		free(text);
		json_decref(doc);
		return VK_EXIT_OK;
	}
	printf("virtkube %s\n", PACKAGE_VERSION);
	printf("libvirt %s\n", libvirt);
	printf("libcurl %s\n", curl->version);
	printf("%s\n", archive_version_details());
	printf("jansson %s\n", jansson_version_str());
	printf("libyaml %s\n", yaml_get_version_string());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	return VK_EXIT_OK;
}

const struct cli_command cli_cmd_version = {
	.name = "version",
	.summary = "show virtkube's version and the linked library versions",
	.options = version_options,
	.max_args = 0,
	.exec = version_exec,
};
