/* Unit tests for src/pki: the CA and client certificate checked by the openssl tool and OpenSSL itself. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kube/pki.h"
#include "profile/profile.h"
#include "shell.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static char *slurp(const char *path)
{
	char *data = NULL;

	if (vk_read_file(path, &data, NULL, NULL) < 0)
		return xstrdup("");
	return data;
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Days between notBefore..notAfter and now..notAfter of the certificate at PATH. */
static void cert_days(const char *path, int *lifetime, int *remaining)
{
	FILE *f = fopen(path, "r");
	X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int d = 0, s = 0;

	*lifetime = *remaining = -1;
	if (f)
		fclose(f);
	if (!c)
		return;
	if (ASN1_TIME_diff(&d, &s, X509_get0_notBefore(c), X509_get0_notAfter(c)))
		*lifetime = d;
	if (ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(c)))
		*remaining = d;
	X509_free(c);
}

static void test_fresh(const char *dir)
{
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *cakey = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_free_ char *cl = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *clkey = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	struct vk_pki_result res;
	struct vk_error err = { 0 };
	int rc, life, left;

	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0, "a fresh profile gets a CA and a client certificate (%s)", err.message);
	ok(res.ca_created && res.client_created, "the result says both were created");
	is_int(mode_of(cakey), 0600, "the CA key is 0600");
	is_int(mode_of(clkey), 0600, "the client key is 0600");
	is_int(mode_of(ca), 0644, "the CA certificate is 0644");

	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' '%s' 2>&1", ca, cl);
		is_int(rc, 0, "openssl verify accepts the client certificate against the CA");
		contains(o, ": OK", "openssl verify says OK");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' -purpose sslclient '%s' 2>&1", ca, cl);
		is_int(rc, 0, "the client certificate is good for TLS client authentication (%s)", o);
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' -purpose sslserver '%s' 2>&1", ca, cl);
		ok(rc != 0, "the client certificate is not accepted as a server certificate");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl x509 -in '%s' -noout -subject -nameopt RFC2253 2>&1", cl);
		contains(o, "CN=virtkube-admin", "client CN is virtkube-admin");
		contains(o, "O=system:masters", "client O is system:masters");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl x509 -in '%s' -noout -ext basicConstraints,keyUsage,extendedKeyUsage 2>&1", cl);
		contains(o, "CA:FALSE", "the client is not a CA");
		contains(o, "Digital Signature", "client key usage: digital signature");
		contains(o, "TLS Web Client Authentication", "client extended key usage: clientAuth");
		ok(!strstr(o, "Certificate Sign"), "the client cannot sign certificates");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl x509 -in '%s' -noout -ext basicConstraints,keyUsage -subject 2>&1", ca);
		contains(o, "CA:TRUE", "the CA has CA:TRUE");
		contains(o, "critical", "the CA's constraints are critical");
		contains(o, "Certificate Sign", "CA key usage: keyCertSign");
		contains(o, "CRL Sign", "CA key usage: cRLSign");
		contains(o, "virtkube-ca-dev", "the CA's subject names the profile");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' '%s' 2>&1", ca, ca);
		is_int(rc, 0, "the CA is self-signed and verifies against itself");
	}
	cert_days(ca, &life, &left);
	ok(life >= 3650 && life <= 3654, "the CA is valid about 10 years (%d days)", life);
	ok(left >= 3649 && left <= 3653, "the CA's remaining validity is about 10 years (%d days)", left);
	cert_days(cl, &life, &left);
	ok(life >= 1095 && life <= 1097, "the client certificate is valid about 3 years (%d days)", life);
	{
		_cleanup_free_ char *o = sh(&rc, "openssl pkey -in '%s' -noout -text 2>&1 | head -1", clkey);
		is_int(rc, 0, "the client key parses with openssl pkey");
	}
	ok(vk_pki_check(dir, &err) == 0, "vk_pki_check accepts the new files (%s)", err.message);
}

static void test_idempotent(const char *dir)
{
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *cakey = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_free_ char *cl = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *clkey = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	_cleanup_free_ char *ca0 = slurp(ca), *cakey0 = slurp(cakey), *cl0 = slurp(cl), *clkey0 = slurp(clkey);
	struct vk_pki_result res;
	struct vk_error err = { 0 };

	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0, "a second ensure succeeds");
	ok(!res.ca_created && !res.client_created, "a second ensure creates nothing");
	{
		_cleanup_free_ char *a = slurp(ca), *b = slurp(cakey), *c = slurp(cl), *d = slurp(clkey);
		ok(strcmp(a, ca0) == 0 && strcmp(b, cakey0) == 0 && strcmp(c, cl0) == 0 && strcmp(d, clkey0) == 0,
		   "every file is kept byte for byte");
	}

	chmod(clkey, 0644);
	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0 && !res.client_created, "a loose key mode is not a reason to re-issue");
	is_int(mode_of(clkey), 0600, "a key left 0644 is made 0600 again");

	unlink(cl);
	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0 && !res.ca_created && res.client_created,
	   "a missing client certificate is issued again, the CA kept");
	{
		_cleanup_free_ char *a = slurp(ca);
		ok(strcmp(a, ca0) == 0, "the CA is unchanged");
	}

	vk_write_file_atomic(cl, "garbage\n", 8, 0644, NULL);
	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0 && res.client_created, "a broken client certificate is replaced");
	ok(vk_pki_check(dir, &err) == 0, "and the result checks out");
}

static void test_foreign_client(const char *dir, const char *other)
{
	_cleanup_free_ char *cl = vk_path_join(dir, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *clkey = vk_path_join(dir, VK_FILE_CLIENT_KEY);
	_cleanup_free_ char *ocl = vk_path_join(other, VK_FILE_CLIENT_CERT);
	_cleanup_free_ char *oclkey = vk_path_join(other, VK_FILE_CLIENT_KEY);
	_cleanup_free_ char *a = NULL, *b = NULL;
	struct vk_pki_result res;
	struct vk_error err = { 0 };
	int rc;

	ok(vk_pki_ensure(other, "other", &res, &err) == 0, "a second profile gets its own PKI");
	a = slurp(ocl);
	b = slurp(oclkey);
	vk_write_file_atomic(cl, a, strlen(a), 0644, NULL);
	vk_write_file_atomic(clkey, b, strlen(b), 0600, NULL);
	ok(vk_pki_check(dir, &err) < 0, "vk_pki_check refuses a client certificate from another CA");
	contains(err.message, "not signed by the cluster CA", "and says why");
	ok(vk_pki_ensure(dir, "dev", &res, &err) == 0 && res.client_created, "ensure issues a client signed by the right CA");
	{
		_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' '%s' 2>&1", ca, cl);
		is_int(rc, 0, "which openssl verifies against this profile's CA");
	}
}

static void test_broken_ca(const char *tmp)
{
	_cleanup_free_ char *dir = vk_path_join(tmp, "broken");
	_cleanup_free_ char *other = vk_path_join(tmp, "other");
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *cakey = vk_path_join(dir, VK_FILE_CA_KEY);
	_cleanup_free_ char *ocakey = vk_path_join(other, VK_FILE_CA_KEY);
	_cleanup_free_ char *ca0 = NULL, *k = NULL;
	struct vk_pki_result res;
	struct vk_error err = { 0 };

	vk_mkdir_p(dir, 0700, NULL);
	ok(vk_pki_ensure(dir, "broken", &res, &err) == 0, "set up a profile to break");
	ca0 = slurp(ca);

	unlink(cakey);
	ok(vk_pki_ensure(dir, "broken", &res, &err) < 0, "a CA certificate without its key is an error");
	contains(err.message, "is missing", "the message says the key is missing");
	contains(err.message, cakey, "and names it");
	contains(err.hint, "virtkube delete -p broken", "the hint points at delete");
	{
		_cleanup_free_ char *a = slurp(ca);
		ok(strcmp(a, ca0) == 0, "the CA certificate is left alone");
	}

	k = slurp(ocakey);
	vk_write_file_atomic(cakey, k, strlen(k), 0600, NULL);
	ok(vk_pki_ensure(dir, "broken", &res, &err) < 0, "a CA key that does not match is an error");
	contains(err.message, "does not belong", "the message says it does not match");
	{
		_cleanup_free_ char *a = slurp(ca), *b = slurp(cakey);
		ok(strcmp(a, ca0) == 0 && strcmp(b, k) == 0, "neither file is replaced");
	}

	vk_write_file_atomic(ca, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 60, 0644, NULL);
	ok(vk_pki_ensure(dir, "broken", &res, &err) < 0, "a CA certificate that does not parse is an error");
	contains(err.message, ca, "the message names the certificate");
	ok(err.code == VK_ERR_TLS, "with the TLS error code");

	/* An interrupted first run: a key, no certificate. */
	unlink(ca);
	ok(vk_pki_ensure(dir, "broken", &res, &err) == 0 && res.ca_created, "a lone CA key (interrupted run) is replaced by a new CA");
	ok(vk_pki_check(dir, &err) == 0, "and the new pair checks out (%s)", err.message);

	ok(vk_pki_ensure("/nonexistent/x", "x", &res, &err) < 0 && err.code == VK_ERR_NOT_FOUND,
	   "a missing profile directory is an error");
}

static void test_server(const char *dir, const char *tmp)
{
	_cleanup_free_ char *ca = vk_path_join(dir, VK_FILE_CA_CERT);
	_cleanup_free_ char *crt = vk_path_join(tmp, "server.crt");
	_cleanup_free_ char *key = vk_path_join(tmp, "server.key");
	_cleanup_strv_ char **sans = vk_pki_apiserver_sans("192.168.39.10");
	struct vk_error err = { 0 };
	const char *bad[] = { "a,b", NULL };
	int rc;

	is_str(sans[0], "192.168.39.10", "the node IP is the first SAN");
	{
		const char *want[] = { "127.0.0.1", "10.96.0.1", "localhost", "kubernetes", "kubernetes.default",
				       "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
				       "control-plane.virtkube.internal" };
		bool all = true;

		for (size_t i = 0; i < VK_ARRAY_SIZE(want); i++) {
			bool found = false;

			for (char **s = sans; *s; s++)
				found |= strcmp(*s, want[i]) == 0;
			all &= found;
		}
		ok(all, "the API server SANs hold the loopback, service IP and kubernetes.default names");
	}
	ok(vk_pki_issue_server(dir, "kube-apiserver", (const char *const *)sans, 1, crt, key, &err) == 0,
	   "a server certificate is issued from the profile CA (%s)", err.message);
	is_int(mode_of(key), 0600, "its key is 0600");
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' -purpose sslserver -verify_ip 192.168.39.10 '%s' 2>&1", ca, crt);
		is_int(rc, 0, "it verifies for the node IP (%s)", o);
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' -verify_hostname control-plane.virtkube.internal '%s' 2>&1", ca, crt);
		is_int(rc, 0, "and for control-plane.virtkube.internal");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl verify -CAfile '%s' -verify_ip 10.0.0.99 '%s' 2>&1", ca, crt);
		ok(rc != 0, "but not for an IP it does not name");
	}
	{
		_cleanup_free_ char *o = sh(&rc, "openssl x509 -in '%s' -noout -ext subjectAltName 2>&1", crt);
		contains(o, "IP Address:10.96.0.1", "the SANs hold 10.96.0.1 as an IP");
		contains(o, "DNS:kubernetes.default.svc.cluster.local", "and the cluster-local name as DNS");
	}
	ok(vk_pki_issue_server(dir, "x", bad, 1, crt, key, &err) < 0 && err.code == VK_ERR_INVALID,
	   "a SAN with a comma is refused");
}

int main(void)
{
	_cleanup_free_ char *tmp = tap_tmpdir();
	_cleanup_free_ char *dir = vk_path_join(tmp, "dev");
	_cleanup_free_ char *other = vk_path_join(tmp, "other");
	struct vk_error err = { 0 };

	vk_mkdir_p(dir, 0700, NULL);
	vk_mkdir_p(other, 0700, NULL);
	test_fresh(dir);
	test_idempotent(dir);
	test_foreign_client(dir, other);
	test_broken_ca(tmp);
	test_server(dir, tmp);
	vk_remove_tree(tmp, &err);
	return done_testing();
}
