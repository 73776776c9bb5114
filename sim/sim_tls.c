/* sim_tls: the media host's TLS certificate (docs/protocol.md 9.3, 9.4: clients
 * upload to and download from https://<media_conn host>).
 *
 * WhatsApp's media hosts carry a publicly trusted certificate; wa-sim
 * cannot, so it makes its own once: a self-signed P-256 certificate whose
 * subjectAltName names 127.0.0.1, ::1, localhost and the host wa-sim was
 * told to advertise. Clients trust it by loading media-cert.pem as a CA
 * file (curl --cacert, CURLOPT_CAINFO; the gateway's whatsapp.media_ca).
 *
 * Files in the state directory: media-key.pem (0600) and media-cert.pem
 * (0644). They are kept across restarts, so a client's trust survives; a
 * pair that is unreadable or does not cover the advertised host is made
 * anew. Called once at start, before the lws context serves anything. */
#include "sim_media.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wa_log.h"

#define CERT_DAYS 3650

/* 1 if the certificate at path names host (an IP literal or a DNS name). */
static int cert_covers(const char *path, const char *host)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int ok;

	if (f == NULL)
		return 0;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return 0;
	ok = X509_check_ip_asc(x, host, 0) == 1 || X509_check_host(x, host, 0, 0, NULL) == 1;
	X509_free(x);
	return ok;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL)
		return -1;
	rc = X509_add_ext(x, e, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(e);
	return rc;
}

/* Write with PEM writer fn to path (mode), through a temporary file. */
static int write_pem(const char *path, mode_t mode, int (*fn)(FILE *, void *), void *obj)
{
	char tmp[1100];
	int fd, rc;
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rc = fn(f, obj) == 1 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && (chmod(tmp, mode) != 0 || rename(tmp, path) != 0))
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int pem_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

static int make_pair(const char *cert_path, const char *key_path, const char *host)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	char san[400];
	int is_ip, rc = -1;
	BIGNUM *bn = NULL;

	if (key == NULL || x == NULL)
		goto out;
	is_ip = strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') != NULL;
	if (snprintf(san, sizeof san, "IP:127.0.0.1,IP:::1,DNS:localhost%s%s",
		     strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ? "" : is_ip ? ",IP:" : ",DNS:",
		     strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ? "" : host) >= (int)sizeof san)
		goto out;
	if (RAND_bytes(serial, sizeof serial) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) == NULL || X509_set_pubkey(x, key) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"wa-sim", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"wa-sim media host", -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto out;
	if (add_ext(x, NID_basic_constraints, "critical,CA:TRUE") || add_ext(x, NID_key_usage,
									    "critical,digitalSignature,keyCertSign") ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") || add_ext(x, NID_subject_key_identifier, "hash") ||
	    add_ext(x, NID_subject_alt_name, san))
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	if (write_pem(key_path, 0600, pem_key, key) != 0 || write_pem(cert_path, 0644, pem_cert, x) != 0)
		goto out;
	rc = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

int sim_tls_ensure(const char *dir, const char *host, char *cert_path, size_t cert_cap, char *key_path,
		   size_t key_cap)
{
	if (snprintf(cert_path, cert_cap, "%s/media-cert.pem", dir) >= (int)cert_cap ||
	    snprintf(key_path, key_cap, "%s/media-key.pem", dir) >= (int)key_cap)
		return -1;
	if (access(key_path, R_OK) == 0 && cert_covers(cert_path, host))
		return 0;
	if (make_pair(cert_path, key_path, host) != 0) {
		wa_error("sim: cannot make the media host's TLS certificate in %s: %s", dir, strerror(errno));
		return -1;
	}
	wa_info("sim: made the media host's TLS certificate %s (trust it as a CA file)", cert_path);
	return 0;
}
