/* SSH key pairs with OpenSSL: ECDSA P-256, because OpenSSH reads that from a PEM file (ed25519 it does not). */
#include "vm/sshkey.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

VK_DEFINE_CLEANUP(EVP_PKEY, EVP_PKEY_free)
VK_DEFINE_CLEANUP(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
VK_DEFINE_CLEANUP(BIO, BIO_free)

/* Turns OpenSSL's error queue into our error, naming WHAT. */
static int ssl_error(struct vk_error *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown OpenSSL error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return vk_error_set(err, VK_ERR_FAILED, "%s: %s", what, buf);
}

static void add_ssh_string(struct vk_strbuf *sb, const void *data, size_t len)
{
	unsigned char n[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
			       (unsigned char)len };

	vk_strbuf_add(sb, n, 4);
	vk_strbuf_add(sb, data, len);
}

static char *base64(const void *data, size_t len)
{
	size_t out_len = 4 * ((len + 2) / 3);
	char *out = xmalloc(out_len + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[out_len] = '\0';
	return out;
}

static int public_point(EVP_PKEY *key, unsigned char **point, size_t *len, struct vk_error *err)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	*len = EVP_PKEY_get1_encoded_public_key(key, point);
#else
	*len = EVP_PKEY_get1_tls_encodedpoint(key, point);
#endif
	if (*len == 0)
		return ssl_error(err, "cannot encode the SSH public key");
	return 0;
}

int vk_sshkey_generate(const char *priv_path, const char *comment, struct vk_error *err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(BIO_freep) BIO *mem = NULL;
	_cleanup_strbuf_ struct vk_strbuf blob = VK_STRBUF_INIT;
	_cleanup_free_ char *b64 = NULL, *pub_line = NULL, *pub_path = NULL;
	unsigned char *point = NULL;
	size_t point_len = 0;
	char *pem;
	long pem_len;

	for (const char *c = comment; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return vk_error_set(err, VK_ERR_INVALID, "SSH key comment '%s' has whitespace or control characters",
					    comment);

	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) <= 0 || EVP_PKEY_keygen(ctx, &key) <= 0)
		return ssl_error(err, "cannot generate an ECDSA P-256 SSH key");

	mem = BIO_new(BIO_s_mem());
	if (!mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL))
		return ssl_error(err, "cannot encode the SSH private key");
	pem_len = BIO_get_mem_data(mem, &pem);

	if (public_point(key, &point, &point_len, err) < 0)
		return -1;
	add_ssh_string(&blob, "ecdsa-sha2-nistp256", strlen("ecdsa-sha2-nistp256"));
	add_ssh_string(&blob, "nistp256", strlen("nistp256"));
	add_ssh_string(&blob, point, point_len);
	OPENSSL_free(point);
	b64 = base64(blob.buf, blob.len);
	pub_line = xasprintf("ecdsa-sha2-nistp256 %s %s\n", b64, comment);

	pub_path = xasprintf("%s.pub", priv_path);
	if (vk_write_file_atomic(priv_path, pem, (size_t)pem_len, 0600, err) < 0)
		return -1;
	OPENSSL_cleanse(pem, (size_t)pem_len);
	return vk_write_file_atomic(pub_path, pub_line, strlen(pub_line), 0644, err);
}

int vk_sshkey_ensure(const char *priv_path, const char *comment, struct vk_error *err)
{
	_cleanup_free_ char *pub_path = xasprintf("%s.pub", priv_path);

	if (vk_path_exists(priv_path) && vk_path_exists(pub_path))
		return 0;
	return vk_sshkey_generate(priv_path, comment, err);
}

char *vk_sshkey_read_public(const char *priv_path, struct vk_error *err)
{
	_cleanup_free_ char *pub_path = xasprintf("%s.pub", priv_path);
	char *data = NULL;
	size_t len = 0;

	if (vk_read_file(pub_path, &data, &len, err) < 0)
		return NULL;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = '\0';
	if (strncmp(data, "ecdsa-sha2-", 11) != 0 && strncmp(data, "ssh-", 4) != 0) {
		vk_error_set(err, VK_ERR_PARSE, "'%s' is not an OpenSSH public key", pub_path);
		free(data);
		return NULL;
	}
	return data;
}
