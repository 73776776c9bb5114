/* wa/crypto: OpenSSL 3 implementation of the primitives in crypto.h and the
 * process-wide libsignal-protocol-c context (see crypto.h for the contract).
 *
 * XEdDSA: libsignal-protocol-c exports curve25519_sign/curve25519_verify
 * (its ref10-based XEdDSA, the exact algorithm WhatsApp uses) but does not
 * declare them in its public headers; the public wrappers
 * curve_calculate_signature/curve_verify_signature are thin shells over
 * them. We call them directly so the 64 random bytes can be supplied by the
 * caller (wa_xeddsa_sign_random, used for reproducible test vectors). */
#include "wa/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <signal/signal_protocol.h>

/* Exported by libsignal-protocol-c (curve_sigs.h, not installed). Both
 * return 0 on success / valid signature. */
int curve25519_sign(unsigned char *signature_out, const unsigned char *curve25519_privkey,
		    const unsigned char *msg, const unsigned long msg_len, const unsigned char *random);
int curve25519_verify(const unsigned char *signature, const unsigned char *curve25519_pubkey,
		      const unsigned char *msg, const unsigned long msg_len);

/* ------------------------------------------------------------------ */
/* hashes and MACs */

/* Digests fetched once per process. On OpenSSL 3 the legacy EVP_sha256()
 * handle makes every EVP_DigestInit_ex look the provider implementation up
 * again (a method-store query under a lock); an explicitly fetched EVP_MD
 * skips that. The pointers are written once under pthread_once and only
 * read afterwards (an EVP_MD is immutable and reference counted), so all
 * threads share them without a lock. They are kept for the life of the
 * process. If a fetch fails (no default provider), the legacy handles are
 * used instead, which behave the same, only slower. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256_fetched, *md_sha512_fetched;

static void md_fetch_once(void)
{
	md_sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha512_fetched = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *md_sha256(void)
{
	if (pthread_once(&md_once, md_fetch_once) != 0 || !md_sha256_fetched)
		return EVP_sha256();
	return md_sha256_fetched;
}

static const EVP_MD *md_sha512(void)
{
	if (pthread_once(&md_once, md_fetch_once) != 0 || !md_sha512_fetched)
		return EVP_sha512();
	return md_sha512_fetched;
}

/* The AES ciphers, fetched once for the same reason and under the same
 * rules as the digests above (EVP_aes_256_gcm() would be looked up again on
 * every EVP_*Init_ex). */
static pthread_once_t cipher_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes256_gcm_fetched, *aes256_cbc_fetched;

static void cipher_fetch_once(void)
{
	aes256_gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	aes256_cbc_fetched = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

static const EVP_CIPHER *aes256_gcm(void)
{
	if (pthread_once(&cipher_once, cipher_fetch_once) != 0 || !aes256_gcm_fetched)
		return EVP_aes_256_gcm();
	return aes256_gcm_fetched;
}

static const EVP_CIPHER *aes256_cbc(void)
{
	if (pthread_once(&cipher_once, cipher_fetch_once) != 0 || !aes256_cbc_fetched)
		return EVP_aes_256_cbc();
	return aes256_cbc_fetched;
}

void wa_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	/* EVP_Digest with the built-in SHA-256 only fails on allocation
	 * failure; the void contract then leaves a zeroed output. */
	if (EVP_Digest(data, len, out, &n, md_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

/* HMAC (RFC 2104) over two digest contexts, written out rather than through
 * HMAC() / EVP_MAC: those fetch the MAC and the digest by name, parse
 * parameters and build an HMAC_CTX of three digest contexts on every call
 * (about 12 allocations and twice the instructions of the two hash
 * compressions for a short message). Here a keyed HMAC is just the inner
 * context, which has absorbed K ^ ipad, and the outer one, which has
 * absorbed K ^ opad. An HKDF expand copies a keyed pair per block instead
 * of re-keying. */
#define HMAC_MAX_BLOCK 128 /* SHA-512 */
#define HMAC_MAX_MD 64

struct hmac {
	EVP_MD_CTX *in;	 /* H((K ^ ipad) || message so far) */
	EVP_MD_CTX *out; /* H((K ^ opad) || ...), fed the inner digest at the end */
	size_t mdlen;
};

static void hmac_free(struct hmac *h)
{
	EVP_MD_CTX_free(h->in);
	EVP_MD_CTX_free(h->out);
	h->in = h->out = NULL;
}

/* Keys h (whose contexts may be NULL: they are then created). A NULL key is
 * the empty key. On failure h still needs hmac_free. */
static int hmac_init(struct hmac *h, const EVP_MD *md, const uint8_t *key, size_t keylen)
{
	uint8_t k[HMAC_MAX_BLOCK], pad[HMAC_MAX_BLOCK];
	int block = EVP_MD_get_block_size(md), mdlen = EVP_MD_get_size(md);
	unsigned int kn = 0;
	int rc = -1;

	if (block <= 0 || block > HMAC_MAX_BLOCK || mdlen <= 0 || mdlen > HMAC_MAX_MD || (!key && keylen))
		return -1;
	h->mdlen = (size_t)mdlen;
	if ((!h->in && !(h->in = EVP_MD_CTX_new())) || (!h->out && !(h->out = EVP_MD_CTX_new())))
		return -1;
	memset(k, 0, sizeof k);
	if (keylen > (size_t)block) {
		if (EVP_Digest(key, keylen, k, &kn, md, NULL) != 1)
			goto out;
	} else if (keylen) {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex2(h->in, md, NULL) != 1 || EVP_DigestUpdate(h->in, pad, (size_t)block) != 1)
		goto out;
	for (int i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex2(h->out, md, NULL) != 1 || EVP_DigestUpdate(h->out, pad, (size_t)block) != 1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	return rc;
}

static int hmac_update(struct hmac *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(h->in, data, len) == 1 ? 0 : -1;
}

/* Writes h->mdlen bytes. The contexts are finished afterwards: key again
 * (hmac_init) or copy a keyed pair in (hmac_copy) before reusing them. */
static int hmac_final(struct hmac *h, uint8_t *out)
{
	uint8_t ih[HMAC_MAX_MD];
	unsigned int n = 0;
	int rc = -1;

	if (EVP_DigestFinal_ex(h->in, ih, &n) == 1 && n == h->mdlen && EVP_DigestUpdate(h->out, ih, n) == 1 &&
	    EVP_DigestFinal_ex(h->out, out, &n) == 1 && n == h->mdlen)
		rc = 0;
	OPENSSL_cleanse(ih, sizeof ih);
	return rc;
}

/* Makes dst (contexts may be NULL) a copy of the keyed, unfinished src. */
static int hmac_copy(struct hmac *dst, const struct hmac *src)
{
	if ((!dst->in && !(dst->in = EVP_MD_CTX_new())) || (!dst->out && !(dst->out = EVP_MD_CTX_new())))
		return -1;
	dst->mdlen = src->mdlen;
	return EVP_MD_CTX_copy_ex(dst->in, src->in) == 1 && EVP_MD_CTX_copy_ex(dst->out, src->out) == 1 ? 0 : -1;
}

static int hmac_md(const EVP_MD *md, const uint8_t *key, size_t keylen, const void *data, size_t len,
		   uint8_t *out)
{
	struct hmac h = { 0 };
	int rc = -1;

	/* The old HMAC() based version took the key length as an int. */
	if (keylen > INT_MAX || (!data && len))
		return -1;
	if (hmac_init(&h, md, key, keylen) == 0 && hmac_update(&h, data, len) == 0 && hmac_final(&h, out) == 0)
		rc = 0;
	hmac_free(&h);
	return rc;
}

int wa_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[32])
{
	return hmac_md(md_sha256(), key, keylen, data, len, out);
}

int wa_hmac_sha512(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[64])
{
	return hmac_md(md_sha512(), key, keylen, data, len, out);
}

int wa_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		   const void *info, size_t infolen, uint8_t *out, size_t outlen)
{
	/* Done by hand (extract = HMAC(salt, ikm), expand = T(i) chain) rather
	 * than through EVP_KDF: it is short and an empty ikm (the Noise Split
	 * derives from one) needs no special casing. The PRK is keyed once;
	 * each block works on a copy of that keyed pair. */
	static const uint8_t zero_salt[32];
	uint8_t prk[32], t[32];
	size_t done = 0, tlen = 0;
	unsigned int i;
	struct hmac keyed = { 0 }, work = { 0 };
	int rc = -1;

	if (!out || outlen == 0 || outlen > 255 * 32)
		return -1;
	if (!info)
		infolen = 0; /* as before: a NULL info is the empty info */
	if (!salt || saltlen == 0) {
		salt = zero_salt;
		saltlen = sizeof zero_salt;
	}
	if (wa_hmac_sha256(salt, saltlen, ikm, ikmlen, prk) != 0)
		return -1;

	if (hmac_init(&keyed, md_sha256(), prk, sizeof prk) != 0)
		goto out;
	for (i = 1; done < outlen; i++) {
		uint8_t ctr = (uint8_t)i;
		size_t take;

		if (hmac_copy(&work, &keyed) != 0 || hmac_update(&work, t, tlen) != 0 ||
		    hmac_update(&work, info, infolen) != 0 || hmac_update(&work, &ctr, 1) != 0 ||
		    hmac_final(&work, t) != 0)
			goto out;
		tlen = 32;
		take = outlen - done < 32 ? outlen - done : 32;
		memcpy(out + done, t, take);
		done += take;
	}
	rc = 0;
out:
	hmac_free(&keyed);
	hmac_free(&work);
	OPENSSL_cleanse(prk, sizeof prk);
	OPENSSL_cleanse(t, sizeof t);
	if (rc != 0)
		OPENSSL_cleanse(out, outlen);
	return rc;
}

/* ------------------------------------------------------------------ */
/* AES */

int wa_aes256_gcm_encrypt(const uint8_t key[32], const uint8_t iv[12], const void *aad, size_t aadlen,
			  const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, rc = -1;

	if (len > INT_MAX - 16 || aadlen > INT_MAX)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	/* One init with key and IV: 12 bytes is the default GCM IV length, so
	 * the separate SET_IVLEN round (a parameter lookup) is not needed. */
	if (EVP_EncryptInit_ex(ctx, aes256_gcm(), NULL, key, iv) != 1)
		goto out;
	if (aad && aadlen && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	n = 0;
	if (len && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)(n + fin) != len)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + len) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int wa_aes256_gcm_decrypt(const uint8_t key[32], const uint8_t iv[12], const void *aad, size_t aadlen,
			  const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t tag[16];
	size_t clen;
	int n = 0, fin = 0, rc = -1;

	if (len < 16 || len > INT_MAX || aadlen > INT_MAX)
		return -1;
	clen = len - 16;
	memcpy(tag, in + clen, 16);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	/* One init with key and IV: 12 bytes is the default GCM IV length, so
	 * the separate SET_IVLEN round (a parameter lookup) is not needed. */
	if (EVP_DecryptInit_ex(ctx, aes256_gcm(), NULL, key, iv) != 1)
		goto out;
	if (aad && aadlen && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	n = 0;
	if (clen && EVP_DecryptUpdate(ctx, out, &n, in, (int)clen) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)(n + fin) != clen)
		goto out;
	rc = 0;
out:
	/* Never hand back unauthenticated plaintext. */
	if (rc != 0 && clen)
		OPENSSL_cleanse(out, clen);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* One-shot EVP cipher run with padding as the cipher defines it. */
static int evp_oneshot(const EVP_CIPHER *cipher, int enc, const uint8_t *key, const uint8_t *iv,
		       const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, rc = -1;

	if (len > INT_MAX - 32)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc) != 1)
		goto out;
	if (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1)
		goto out;
	*outlen = (size_t)n + (size_t)fin;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int wa_aes256_cbc_encrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, size_t len,
			  uint8_t *out, size_t *outlen)
{
	return evp_oneshot(aes256_cbc(), 1, key, iv, in, len, out, outlen);
}

int wa_aes256_cbc_decrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, size_t len,
			  uint8_t *out, size_t *outlen)
{
	/* OpenSSL may write up to len + block bytes during update/final of a
	 * decryption only when padding is off; with PKCS#7 on, the output never
	 * exceeds len, but it buffers the last block, so len must be a
	 * non-zero multiple of 16 for valid input anyway. */
	if (len == 0 || len % 16)
		return -1;
	return evp_oneshot(aes256_cbc(), 0, key, iv, in, len, out, outlen);
}

/* ------------------------------------------------------------------ */
/* Curve25519 */

int wa_x25519_public(const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	size_t n = 32;
	int rc = -1;

	if (!k)
		return -1;
	if (EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int wa_x25519_keypair(uint8_t priv[32], uint8_t pub[32])
{
	if (RAND_bytes(priv, 32) != 1)
		return -1;
	/* Store the clamped form: libsignal and WhatsApp keep private keys
	 * clamped, and XEdDSA signing needs the exact scalar. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	return wa_x25519_public(priv, pub);
}

/* One X25519 DH through one EVP_PKEY holding OUR private key and the
 * PEER's public key, used both as our key and as the peer key.
 *
 * Why not EVP_PKEY_new_raw_private_key + EVP_PKEY_new_raw_public_key (the
 * old code): on OpenSSL 3.0 a private-key import (that, or fromdata with
 * only the private key) computes the public key eagerly, a full scalar
 * multiplication that a DH never reads: about 690 k of 1.17 M instructions
 * per call. The low-level X25519() is not public API in 3.0, and
 * libsignal's curve25519_donna is slower than OpenSSL's (1.63 M
 * instructions per agreement, bench case x25519_libsignal). When
 * EVP_PKEY_fromdata gets a public key as well, the provider stores both
 * octet strings as given and derives nothing. The X25519 exchange reads only
 * the private key of its own key and only the public key of the peer key,
 * so a key object with (our private, their public) serves as both: one
 * import instead of two. The object is local to this call, used for exactly
 * one derive and freed, so the unmatched pair is never visible. */
int wa_x25519_dh(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32])
{
	EVP_PKEY_CTX *ictx = NULL, *ctx = NULL;
	EVP_PKEY *k = NULL;
	OSSL_PARAM params[3];
	size_t n = 32;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 32);
	params[2] = OSSL_PARAM_construct_end();
	ictx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	if (!ictx || EVP_PKEY_fromdata_init(ictx) != 1 || EVP_PKEY_fromdata(ictx, &k, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	ctx = EVP_PKEY_CTX_new(k, NULL);
	/* OpenSSL fails the derive itself when the result is all zero (a
	 * small-order peer key), which is what the contract asks for; the
	 * check below keeps that independent of the OpenSSL version. The peer
	 * validation is skipped (validate_peer = 0): for X25519 it would only
	 * assert that a public key is present, which the import guarantees,
	 * and it costs a context per call. */
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, k, 0) != 1 ||
	    EVP_PKEY_derive(ctx, out, &n) != 1 || n != 32)
		goto out;
	{
		uint8_t acc = 0;
		for (int i = 0; i < 32; i++)
			acc |= out[i];
		if (!acc)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		OPENSSL_cleanse(out, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(ictx);
	EVP_PKEY_free(k); /* clears the private key (ECX keys are freed with OPENSSL_secure_clear_free) */
	return rc;
}

int wa_xeddsa_sign_random(const uint8_t priv[32], const void *msg, size_t len, const uint8_t random[64],
			  uint8_t sig[64])
{
	static const uint8_t empty = 0;
	uint8_t k[32];
	int rc;

	/* libsignal copies msg into a buffer of msg_len + 128 bytes. */
	if (len > (size_t)INT_MAX - 256)
		return -1;
	if (!msg)
		msg = &empty;
	/* curve25519_sign uses the scalar as given, while X25519 (and so the
	 * public key the verifier holds) clamps it: clamp here so an
	 * unclamped private key still yields a verifiable signature. A no-op
	 * for keys made by wa_x25519_keypair or libsignal. */
	memcpy(k, priv, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	rc = curve25519_sign(sig, k, msg, (unsigned long)len, random) == 0 ? 0 : -1;
	OPENSSL_cleanse(k, sizeof k);
	return rc;
}

int wa_xeddsa_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64])
{
	uint8_t rnd[64];
	int rc;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	rc = wa_xeddsa_sign_random(priv, msg, len, rnd, sig);
	OPENSSL_cleanse(rnd, sizeof rnd);
	return rc;
}

int wa_xeddsa_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
	static const uint8_t empty = 0;

	if (len > (size_t)INT_MAX - 256)
		return -1;
	if (!msg)
		msg = &empty;
	return curve25519_verify(sig, pub, msg, (unsigned long)len) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* libsignal-protocol-c crypto provider on OpenSSL */

static int sp_random(uint8_t *data, size_t len, void *user_data)
{
	(void)user_data;
	if (len > INT_MAX)
		return SG_ERR_INVAL;
	return RAND_bytes(data, (int)len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

/* The HMAC context libsignal holds is our struct hmac (see hmac_init): two
 * digest contexts on the once-fetched SHA-256, instead of an EVP_MAC_CTX
 * fetched and parameterised per call. */
static int sp_hmac_init(void **hmac_context, const uint8_t *key, size_t key_len, void *user_data)
{
	struct hmac *h;

	(void)user_data;
	if (!key && key_len)
		return SG_ERR_INVAL;
	h = calloc(1, sizeof *h);
	if (!h)
		return SG_ERR_NOMEM;
	if (hmac_init(h, md_sha256(), key, key_len) != 0) {
		hmac_free(h);
		free(h);
		return SG_ERR_UNKNOWN;
	}
	*hmac_context = h;
	return 0;
}

static int sp_hmac_update(void *hmac_context, const uint8_t *data, size_t data_len, void *user_data)
{
	(void)user_data;
	if (data_len == 0)
		return 0;
	return hmac_update(hmac_context, data, data_len) == 0 ? 0 : SG_ERR_UNKNOWN;
}

static int sp_hmac_final(void *hmac_context, signal_buffer **output, void *user_data)
{
	uint8_t md[32];
	signal_buffer *b;
	struct hmac *h = hmac_context;

	(void)user_data;
	if (h->mdlen != sizeof md || hmac_final(h, md) != 0)
		return SG_ERR_UNKNOWN;
	b = signal_buffer_create(md, sizeof md);
	OPENSSL_cleanse(md, sizeof md);
	if (!b)
		return SG_ERR_NOMEM;
	*output = b;
	return 0;
}

static void sp_hmac_cleanup(void *hmac_context, void *user_data)
{
	(void)user_data;
	if (!hmac_context)
		return;
	hmac_free(hmac_context);
	free(hmac_context);
}

static int sp_sha512_init(void **digest_context, void *user_data)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	(void)user_data;
	if (!ctx)
		return SG_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, md_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return SG_ERR_UNKNOWN;
	}
	*digest_context = ctx;
	return 0;
}

static int sp_sha512_update(void *digest_context, const uint8_t *data, size_t data_len, void *user_data)
{
	(void)user_data;
	if (data_len == 0)
		return 0;
	return EVP_DigestUpdate(digest_context, data, data_len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

static int sp_sha512_final(void *digest_context, signal_buffer **output, void *user_data)
{
	uint8_t md[64];
	unsigned int n = 0;
	signal_buffer *b;

	(void)user_data;
	if (EVP_DigestFinal_ex(digest_context, md, &n) != 1 || n != sizeof md)
		return SG_ERR_UNKNOWN;
	/* The provider contract wants the context ready for reuse (the
	 * fingerprint code hashes in a loop with one context). */
	if (EVP_DigestInit_ex(digest_context, md_sha512(), NULL) != 1)
		return SG_ERR_UNKNOWN;
	b = signal_buffer_create(md, n);
	if (!b)
		return SG_ERR_NOMEM;
	*output = b;
	return 0;
}

static void sp_sha512_cleanup(void *digest_context, void *user_data)
{
	(void)user_data;
	EVP_MD_CTX_free(digest_context);
}

static const EVP_CIPHER *sp_cipher(int cipher, size_t key_len)
{
	if (cipher == SG_CIPHER_AES_CBC_PKCS5) {
		switch (key_len) {
		case 16: return EVP_aes_128_cbc();
		case 24: return EVP_aes_192_cbc();
		case 32: return aes256_cbc(); /* the one Signal messages use: fetched once */
		}
	} else if (cipher == SG_CIPHER_AES_CTR_NOPADDING) {
		switch (key_len) {
		case 16: return EVP_aes_128_ctr();
		case 24: return EVP_aes_192_ctr();
		case 32: return EVP_aes_256_ctr();
		}
	}
	return NULL;
}

static int sp_crypt(int enc, signal_buffer **output, int cipher, const uint8_t *key, size_t key_len,
		    const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t in_len)
{
	const EVP_CIPHER *c = sp_cipher(cipher, key_len);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *tmp = NULL;
	int n = 0, fin = 0, rc = SG_ERR_UNKNOWN;
	signal_buffer *b;

	if (!c || iv_len != 16)
		return SG_ERR_INVAL;
	if (in_len > (size_t)INT_MAX - 64)
		return SG_ERR_INVAL;
	tmp = OPENSSL_malloc(in_len + 32);
	ctx = EVP_CIPHER_CTX_new();
	if (!tmp || !ctx) {
		rc = SG_ERR_NOMEM;
		goto out;
	}
	if (EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) != 1)
		goto out;
	if (in_len && EVP_CipherUpdate(ctx, tmp, &n, in, (int)in_len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, tmp + n, &fin) != 1)
		goto out;
	b = signal_buffer_create(tmp, (size_t)n + (size_t)fin);
	if (!b) {
		rc = SG_ERR_NOMEM;
		goto out;
	}
	*output = b;
	rc = 0;
out:
	if (tmp) {
		OPENSSL_cleanse(tmp, in_len + 32);
		OPENSSL_free(tmp);
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int sp_encrypt(signal_buffer **output, int cipher, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *plaintext, size_t plaintext_len,
		      void *user_data)
{
	(void)user_data;
	return sp_crypt(1, output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len);
}

static int sp_decrypt(signal_buffer **output, int cipher, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *ciphertext, size_t ciphertext_len,
		      void *user_data)
{
	(void)user_data;
	return sp_crypt(0, output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len);
}

/* libsignal calls lock/unlock around its internal state, re-entering from
 * callbacks, hence a recursive mutex: one per context, and a context per
 * thread. One process-wide context (and lock) deadlocked the engine: a
 * thread decrypting held the lock while its store callback waited for a
 * row lock, which another thread's open transaction held while that thread
 * waited for the lock (InnoDB cannot see a mutex, so it waited the full
 * innodb_lock_wait_timeout). With a context per thread the only waits
 * between threads are the database's, which it detects and resolves. */
struct sp_tl {
	signal_context *ctx;
	pthread_mutex_t mutex;
};

static void sp_lock(void *user_data)
{
	pthread_mutex_lock(&((struct sp_tl *)user_data)->mutex);
}

static void sp_unlock(void *user_data)
{
	pthread_mutex_unlock(&((struct sp_tl *)user_data)->mutex);
}

static pthread_once_t sp_once = PTHREAD_ONCE_INIT;
static pthread_key_t sp_key;
static int sp_key_ok;

/* A thread's context at its exit. */
static void sp_destroy(void *p)
{
	struct sp_tl *t = p;

	if (!t)
		return;
	signal_context_destroy(t->ctx);
	pthread_mutex_destroy(&t->mutex);
	free(t);
}

static void sp_key_create(void)
{
	sp_key_ok = pthread_key_create(&sp_key, sp_destroy) == 0;
}

static struct sp_tl *sp_create(void)
{
	pthread_mutexattr_t attr;
	struct sp_tl *t = calloc(1, sizeof *t);
	signal_crypto_provider prov = {
		.random_func = sp_random,
		.hmac_sha256_init_func = sp_hmac_init,
		.hmac_sha256_update_func = sp_hmac_update,
		.hmac_sha256_final_func = sp_hmac_final,
		.hmac_sha256_cleanup_func = sp_hmac_cleanup,
		.sha512_digest_init_func = sp_sha512_init,
		.sha512_digest_update_func = sp_sha512_update,
		.sha512_digest_final_func = sp_sha512_final,
		.sha512_digest_cleanup_func = sp_sha512_cleanup,
		.encrypt_func = sp_encrypt,
		.decrypt_func = sp_decrypt,
		.user_data = NULL,
	};

	if (!t || pthread_mutexattr_init(&attr) != 0) {
		free(t);
		return NULL;
	}
	if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(&t->mutex, &attr) != 0) {
		pthread_mutexattr_destroy(&attr);
		free(t);
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	/* signal_context_set_crypto_provider copies the struct. */
	if (signal_context_create(&t->ctx, t) != 0 || signal_context_set_crypto_provider(t->ctx, &prov) != 0 ||
	    signal_context_set_locking_functions(t->ctx, sp_lock, sp_unlock) != 0) {
		if (t->ctx)
			signal_context_destroy(t->ctx);
		pthread_mutex_destroy(&t->mutex);
		free(t);
		return NULL;
	}
	return t;
}

struct signal_context *wa_signal_ctx(void)
{
	struct sp_tl *t;

	if (pthread_once(&sp_once, sp_key_create) != 0 || !sp_key_ok)
		return NULL;
	if ((t = pthread_getspecific(sp_key)))
		return t->ctx;
	if (!(t = sp_create()))
		return NULL;
	if (pthread_setspecific(sp_key, t) != 0) {
		sp_destroy(t);
		return NULL;
	}
	return t->ctx;
}
