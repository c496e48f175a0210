/* Bootstrap tokens: random, checked, and written as kube-system Secrets (see token.h). */
#include "kube/token.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char token_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

int vk_token_new(char out[VK_TOKEN_LEN + 1], struct vk_error *err)
{
	unsigned char raw[VK_TOKEN_LEN];
	size_t k = 0;

	/* 36 letters: bytes >= 252 would bias the draw, so they are drawn again. */
	while (k < VK_TOKEN_LEN) {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return vk_error_set(err, VK_ERR_FAILED, "cannot make a bootstrap token: OpenSSL has no random bytes");
		for (size_t i = 0; i < sizeof(raw) && k < VK_TOKEN_LEN; i++) {
			if (k == VK_TOKEN_ID_LEN) {
				out[k++] = '.';
				continue;
			}
			if (raw[i] < 252)
				out[k++] = token_alphabet[raw[i] % 36];
		}
	}
	out[VK_TOKEN_LEN] = '\0';
	return 0;
}

bool vk_token_valid(const char *token)
{
	if (!token || strlen(token) != VK_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < VK_TOKEN_LEN; i++) {
		bool ok = i == VK_TOKEN_ID_LEN ? token[i] == '.' : token[i] && strchr(token_alphabet, token[i]) != NULL;

		if (!ok)
			return false;
	}
	return true;
}

char *vk_token_secret(const char *token, time_t expires)
{
	json_auto_t *obj = NULL;
	char id[VK_TOKEN_ID_LEN + 1], name[32], when[32];
	struct tm tm;

	snprintf(id, sizeof(id), "%.*s", VK_TOKEN_ID_LEN, token);
	snprintf(name, sizeof(name), "bootstrap-token-%s", id);
	gmtime_r(&expires, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
			"Secret", "metadata", "name", name, "namespace", "kube-system", "type",
			"bootstrap.kubernetes.io/token", "stringData", "token-id", id, "token-secret",
			token + VK_TOKEN_ID_LEN + 1, "expiration", when, "usage-bootstrap-authentication", "true",
			"usage-bootstrap-signing", "true", "auth-extra-groups", VK_TOKEN_GROUP, "description",
			"made by virtkube node add");
	return json_dumps(obj, JSON_COMPACT);
}
