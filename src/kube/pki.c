/* Host-side PKI with OpenSSL 3's EVP and X509 APIs (see pki.h). */
#include "kube/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "profile/profile.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

VK_DEFINE_CLEANUP(EVP_PKEY, EVP_PKEY_free)
VK_DEFINE_CLEANUP(X509, X509_free)
VK_DEFINE_CLEANUP(BIO, BIO_free)
VK_DEFINE_CLEANUP(BIGNUM, BN_free)
VK_DEFINE_CLEANUP(X509_EXTENSION, X509_EXTENSION_free)
#define _cleanup_pkey_ _cleanup_(EVP_PKEY_freep)
#define _cleanup_x509_ _cleanup_(X509_freep)
#define _cleanup_bio_ _cleanup_(BIO_freep)

/* Sets ERR from the message and OpenSSL's queued error, then empties the queue. */
static int ssl_fail(struct vk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ssl_fail(struct vk_error *err, const char *fmt, ...)
{
	char what[VK_ERROR_MSG_MAX];
	char reason[256] = "unknown OpenSSL error";
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return vk_error_set(err, VK_ERR_TLS, "%s: %s", what, reason);
}

static EVP_PKEY *new_key(struct vk_error *err)
{
	/* EC P-256: instant to make (RSA takes a noticeable part of a second). */
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (!key)
		ssl_fail(err, "cannot generate an EC P-256 key");
	return key;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value, struct vk_error *err)
{
	_cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(cert, ext, -1))
		return ssl_fail(err, "cannot add certificate extension %s '%s'", OBJ_nid2sn(nid), value);
	return 0;
}

static int set_serial(X509 *cert, struct vk_error *err)
{
	_cleanup_(BN_freep) BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial;

	/* 127 random bits: positive, unique enough, within RFC 5280's 20 octets. */
	if (!bn || !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
		return ssl_fail(err, "cannot make a certificate serial number");
	serial = X509_get_serialNumber(cert);
	if (!BN_to_ASN1_INTEGER(bn, serial))
		return ssl_fail(err, "cannot set a certificate serial number");
	return 0;
}

struct cert_spec {
	const char *org;     /* may be NULL */
	const char *cn;
	int days;
	const char *basic;   /* basicConstraints */
	const char *usage;   /* keyUsage */
	const char *ext_usage; /* extendedKeyUsage, may be NULL */
	const char *san;     /* subjectAltName, may be NULL */
};

/* Makes a certificate for KEY signed by ISSUER_KEY (ISSUER NULL: self-signed). */
static X509 *make_cert(const struct cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		       struct vk_error *err)
{
	_cleanup_x509_ X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert || !X509_set_version(cert, X509_VERSION_3)) {
		ssl_fail(err, "cannot create a certificate");
		return NULL;
	}
	if (set_serial(cert, err) < 0)
		return NULL;
	/* An hour back, so a guest whose clock lags a little still accepts it. */
	if (!X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), spec->days, 0, NULL)) {
		ssl_fail(err, "cannot set the validity of certificate '%s'", spec->cn);
		return NULL;
	}
	name = X509_get_subject_name(cert);
	if ((spec->org && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)spec->org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn, -1, -1, 0)) {
		ssl_fail(err, "cannot set the subject of certificate '%s'", spec->cn);
		return NULL;
	}
	if (!X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(cert, key)) {
		ssl_fail(err, "cannot set the issuer or key of certificate '%s'", spec->cn);
		return NULL;
	}
	if (add_ext(cert, issuer ? issuer : cert, NID_basic_constraints, spec->basic, err) < 0 ||
	    add_ext(cert, issuer ? issuer : cert, NID_key_usage, spec->usage, err) < 0 ||
	    (spec->ext_usage && add_ext(cert, issuer ? issuer : cert, NID_ext_key_usage, spec->ext_usage, err) < 0) ||
	    add_ext(cert, issuer ? issuer : cert, NID_subject_key_identifier, "hash", err) < 0 ||
	    add_ext(cert, issuer ? issuer : cert, NID_authority_key_identifier, "keyid:always", err) < 0 ||
	    (spec->san && add_ext(cert, issuer ? issuer : cert, NID_subject_alt_name, spec->san, err) < 0))
		return NULL;
	if (!X509_sign(cert, issuer_key, EVP_sha256())) {
		ssl_fail(err, "cannot sign certificate '%s'", spec->cn);
		return NULL;
	}
	return TAKE_PTR(cert);
}

static int write_pem(const char *path, bool secret, X509 *cert, EVP_PKEY *key, struct vk_error *err)
{
	_cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;

	if (!bio)
		return ssl_fail(err, "cannot encode '%s'", path);
	if (cert ? !PEM_write_bio_X509(bio, cert) : !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		return ssl_fail(err, "cannot encode '%s'", path);
	len = BIO_get_mem_data(bio, &data);
	return vk_write_file_atomic(path, data, (size_t)len, secret ? 0600 : 0644, err);
}

static X509 *load_cert(const char *path, struct vk_error *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_bio_ BIO *bio = NULL;
	size_t len;
	X509 *cert;

	if (vk_read_file(path, &data, &len, err) < 0)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!cert)
		ssl_fail(err, "cannot read certificate '%s'", path);
	return cert;
}

static EVP_PKEY *load_key(const char *path, struct vk_error *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_bio_ BIO *bio = NULL;
	size_t len;
	EVP_PKEY *key;

	if (vk_read_file(path, &data, &len, err) < 0)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	OPENSSL_cleanse(data, len);
	if (!key)
		ssl_fail(err, "cannot read private key '%s'", path);
	return key;
}

/* 0 while CERT is valid now and for MARGIN_DAYS more. */
static int check_dates(X509 *cert, const char *path, int margin_days, struct vk_error *err)
{
	time_t later = time(NULL) + (time_t)margin_days * 86400;

	if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		return vk_error_set(err, VK_ERR_TLS, "certificate '%s' is not valid yet (check the clock)", path);
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		return vk_error_set(err, VK_ERR_TLS, "certificate '%s' has expired", path);
	if (margin_days && X509_cmp_time(X509_get0_notAfter(cert), &later) <= 0)
		return vk_error_set(err, VK_ERR_TLS, "certificate '%s' expires within %d days", path, margin_days);
	return 0;
}

static int tighten_mode(const char *path, struct vk_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) && chmod(path, 0600) < 0)
		return vk_error_set_errno(err, VK_ERR_IO, errno, "cannot make key '%s' private (0600)", path);
	return 0;
}

/* Loads the CA pair; refuses what cannot be trusted to be the cluster's CA. */
static int load_ca(const char *crt_path, const char *key_path, X509 **cert, EVP_PKEY **key, struct vk_error *err)
{
	_cleanup_x509_ X509 *c = NULL;
	_cleanup_pkey_ EVP_PKEY *k = NULL;

	c = load_cert(crt_path, err);
	if (!c)
		return -1;
	k = load_key(key_path, err);
	if (!k)
		return -1;
	if (X509_check_private_key(c, k) != 1) {
		ERR_clear_error();
		return vk_error_set(err, VK_ERR_TLS, "the cluster CA key '%s' does not belong to certificate '%s'",
				    key_path, crt_path);
	}
	if (X509_check_ca(c) < 1)
		return vk_error_set(err, VK_ERR_TLS, "certificate '%s' is not a CA certificate", crt_path);
	if (check_dates(c, crt_path, 0, err) < 0)
		return -1;
	*cert = TAKE_PTR(c);
	*key = TAKE_PTR(k);
	return 0;
}

/* 0 when the client pair is present, matching, signed by CA and not near its end. */
static int check_client(const char *crt_path, const char *key_path, X509 *ca, int margin_days, struct vk_error *err)
{
	_cleanup_x509_ X509 *c = NULL;
	_cleanup_pkey_ EVP_PKEY *k = NULL;
	EVP_PKEY *ca_pub = X509_get0_pubkey(ca);

	c = load_cert(crt_path, err);
	if (!c)
		return -1;
	k = load_key(key_path, err);
	if (!k)
		return -1;
	if (X509_check_private_key(c, k) != 1) {
		ERR_clear_error();
		return vk_error_set(err, VK_ERR_TLS, "key '%s' does not belong to certificate '%s'", key_path, crt_path);
	}
	if (!ca_pub || X509_verify(c, ca_pub) != 1 ||
	    X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(ca)) != 0) {
		ERR_clear_error();
		return vk_error_set(err, VK_ERR_TLS, "certificate '%s' is not signed by the cluster CA", crt_path);
	}
	return check_dates(c, crt_path, margin_days, err);
}

static int issue_client(const char *crt_path, const char *key_path, X509 *ca, EVP_PKEY *ca_key, struct vk_error *err)
{
	const struct cert_spec spec = {
		.org = VK_PKI_CLIENT_O,
		.cn = VK_PKI_CLIENT_CN,
		.days = VK_PKI_CLIENT_DAYS,
		.basic = "critical,CA:FALSE",
		.usage = "critical,digitalSignature",
		.ext_usage = "clientAuth",
	};
	_cleanup_pkey_ EVP_PKEY *key = new_key(err);
	_cleanup_x509_ X509 *cert = NULL;

	if (!key)
		return -1;
	cert = make_cert(&spec, key, ca, ca_key, err);
	if (!cert)
		return -1;
	/* Key first: a certificate on disk always has its key beside it. */
	if (write_pem(key_path, true, NULL, key, err) < 0 || write_pem(crt_path, false, cert, NULL, err) < 0)
		return -1;
	return 0;
}

int vk_pki_ensure(const char *dir, const char *profile, struct vk_pki_result *result, struct vk_error *err)
{
	_cleanup_free_ char *ca_crt = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *ca_key_path = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_free_ char *cl_crt = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *cl_key = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	_cleanup_x509_ X509 *ca = NULL;
	_cleanup_pkey_ EVP_PKEY *ca_key = NULL;
	struct vk_pki_result dummy;
	struct vk_error why = { 0 };

	if (!result)
		result = &dummy;
	*result = (struct vk_pki_result){ 0 };
	if (!vk_is_dir(dir))
		return vk_error_set(err, VK_ERR_NOT_FOUND, "cannot set up the cluster CA: profile directory '%s' does not exist", dir);

	if (!vk_path_exists(ca_crt)) {
		_cleanup_free_ char *cn = xasprintf("virtkube-ca-%s", profile);
		const struct cert_spec spec = {
			.org = "virtkube",
			.cn = cn,
			.days = VK_PKI_CA_DAYS,
			.basic = "critical,CA:TRUE",
			.usage = "critical,digitalSignature,keyCertSign,cRLSign",
		};

		/* No certificate: nothing can trust this CA yet (a lone key is
		 * what an interrupted first run leaves), so it is made anew. */
		ca_key = new_key(err);
		if (!ca_key)
			return -1;
		ca = make_cert(&spec, ca_key, NULL, ca_key, err);
		if (!ca)
			return -1;
		if (write_pem(ca_key_path, true, NULL, ca_key, err) < 0 || write_pem(ca_crt, false, ca, NULL, err) < 0)
			return -1;
		result->ca_created = true;
	} else {
		if (!vk_path_exists(ca_key_path)) {
			vk_error_set(err, VK_ERR_NOT_FOUND, "the cluster CA key '%s' is missing", ca_key_path);
			return vk_error_hint(err, "restore it, or delete the profile ('virtkube delete -p %s') to start over", profile);
		}
		if (load_ca(ca_crt, ca_key_path, &ca, &ca_key, err) < 0)
			return vk_error_hint(err, "the cluster trusts this CA, so virtkube does not replace it; "
					     "restore the files, or delete the profile ('virtkube delete -p %s')", profile);
		if (tighten_mode(ca_key_path, err) < 0)
			return -1;
	}

	if (result->ca_created || check_client(cl_crt, cl_key, ca, VK_PKI_RENEW_DAYS, &why) < 0) {
		vk_debug("issuing the client certificate: %s", result->ca_created ? "new CA" : why.message);
		if (issue_client(cl_crt, cl_key, ca, ca_key, err) < 0)
			return -1;
		result->client_created = true;
	} else if (tighten_mode(cl_key, err) < 0) {
		return -1;
	}
	return 0;
}

int vk_pki_check(const char *dir, struct vk_error *err)
{
	_cleanup_free_ char *ca_crt = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *ca_key_path = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_free_ char *cl_crt = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *cl_key = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	_cleanup_x509_ X509 *ca = NULL;
	_cleanup_pkey_ EVP_PKEY *ca_key = NULL;

	if (load_ca(ca_crt, ca_key_path, &ca, &ca_key, err) < 0)
		return -1;
	return check_client(cl_crt, cl_key, ca, 0, err);
}

char **vk_pki_apiserver_sans(const char *node_ip)
{
	static const char *const fixed[] = {
		"127.0.0.1", "10.96.0.1", "localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local", VK_CONTROL_PLANE_NAME,
	};
	char **v = xcalloc(VK_ARRAY_SIZE(fixed) + 2, sizeof(*v));
	size_t n = 0;

	if (node_ip && *node_ip)
		v[n++] = xstrdup(node_ip);
	for (size_t i = 0; i < VK_ARRAY_SIZE(fixed); i++)
		v[n++] = xstrdup(fixed[i]);
	return v;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_dns_name(const char *s)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
			return false;
	return true;
}

int vk_pki_issue_server(const char *dir, const char *cn, const char *const *sans, int days,
			const char *cert_path, const char *key_path, struct vk_error *err)
{
	_cleanup_free_ char *ca_crt = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *ca_key_path = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_x509_ X509 *ca = NULL;
	_cleanup_x509_ X509 *cert = NULL;
	_cleanup_pkey_ EVP_PKEY *ca_key = NULL;
	_cleanup_pkey_ EVP_PKEY *key = NULL;
	_cleanup_strbuf_ struct vk_strbuf san = VK_STRBUF_INIT;
	struct cert_spec spec = {
		.cn = cn,
		.days = days,
		.basic = "critical,CA:FALSE",
		.usage = "critical,digitalSignature,keyEncipherment",
		.ext_usage = "serverAuth",
	};

	for (size_t i = 0; sans && sans[i]; i++) {
		bool ip = is_ip(sans[i]);

		if (!ip && !is_dns_name(sans[i]))
			return vk_error_set(err, VK_ERR_INVALID, "'%s' is neither an IP address nor a DNS name", sans[i]);
		vk_strbuf_addf(&san, "%s%s:%s", san.len ? "," : "", ip ? "IP" : "DNS", sans[i]);
	}
	spec.san = san.len ? san.buf : NULL;
	if (load_ca(ca_crt, ca_key_path, &ca, &ca_key, err) < 0)
		return -1;
	key = new_key(err);
	if (!key)
		return -1;
	cert = make_cert(&spec, key, ca, ca_key, err);
	if (!cert)
		return -1;
	if (write_pem(key_path, true, NULL, key, err) < 0 || write_pem(cert_path, false, cert, NULL, err) < 0)
		return -1;
	return 0;
}
