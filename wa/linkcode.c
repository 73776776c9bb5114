/* wa/linkcode: link-code pairing crypto and the participant hash.
 * See linkcode.h; docs/protocol.md §4.5 and §7.4 (WM: pair-code.go, send.go). */
#include "wa/linkcode.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wa/crypto.h"
#include "wa_util.h"

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTVWXYZ";

int wa_linkcode_generate(const uint8_t *rnd5, char code[WA_LINKCODE_LEN + 1])
{
	uint8_t r[5];
	uint64_t bits = 0;

	if (!code)
		return -1;
	if (rnd5)
		memcpy(r, rnd5, 5);
	else if (wa_random(r, 5) != 0)
		return -1;
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | r[i];
	for (int i = 0; i < WA_LINKCODE_LEN; i++)
		code[i] = alphabet[(bits >> (35 - 5 * i)) & 31];
	code[WA_LINKCODE_LEN] = '\0';
	return 0;
}

int wa_linkcode_valid(const char *code)
{
	if (!code || strlen(code) != WA_LINKCODE_LEN)
		return 0;
	for (int i = 0; i < WA_LINKCODE_LEN; i++)
		if (!strchr(alphabet, code[i]) || code[i] == '\0')
			return 0;
	return 1;
}

int wa_linkcode_normalize(const char *typed, char code[WA_LINKCODE_LEN + 1])
{
	size_t n = 0;

	if (!code)
		return -1;
	code[0] = '\0';
	if (!typed)
		return -1;
	for (; *typed; typed++) {
		char ch = *typed;

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		/* n is checked first: input of any length stays inside code[] */
		if (n >= WA_LINKCODE_LEN || !strchr(alphabet, ch)) {
			code[0] = '\0';
			return -1;
		}
		code[n++] = ch;
	}
	code[n] = '\0';
	if (n != WA_LINKCODE_LEN) {
		code[0] = '\0';
		return -1;
	}
	return 0;
}

int wa_linkcode_display(const char *code, char out[WA_LINKCODE_LEN + 2])
{
	if (!wa_linkcode_valid(code) || !out)
		return -1;
	memcpy(out, code, 4);
	out[4] = '-';
	memcpy(out + 5, code + 4, 4);
	out[9] = '\0';
	return 0;
}

int wa_linkcode_key(const char *code, const uint8_t salt[32], uint8_t key[32])
{
	if (!wa_linkcode_valid(code) || !salt || !key)
		return -1;
	return PKCS5_PBKDF2_HMAC(code, WA_LINKCODE_LEN, salt, 32, WA_LINKCODE_ITERATIONS, EVP_sha256(), 32, key) == 1 ?
		0 : -1;
}

/* AES-256-CTR over 32 bytes (encryption = decryption). */
static int ctr32(const uint8_t key[32], const uint8_t iv[16], const uint8_t in[32], uint8_t out[32])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0, rc = -1;

	if (c && EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(c, out, &n1, in, 32) == 1 && EVP_EncryptFinal_ex(c, out + n1, &n2) == 1 &&
	    n1 + n2 == 32)
		rc = 0;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int wa_linkcode_wrap(const char *code, const uint8_t *salt, const uint8_t *iv, const uint8_t pub[32],
		     uint8_t out[WA_LINKCODE_WRAPPED_LEN])
{
	uint8_t key[32];
	int rc;

	if (!pub || !out)
		return -1;
	if (salt)
		memcpy(out, salt, 32);
	else if (wa_random(out, 32) != 0)
		return -1;
	if (iv)
		memcpy(out + 32, iv, 16);
	else if (wa_random(out + 32, 16) != 0)
		return -1;
	if (wa_linkcode_key(code, out, key) != 0)
		return -1;
	rc = ctr32(key, out + 32, pub, out + 48);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int wa_linkcode_unwrap(const char *code, const uint8_t *wrapped, size_t len, uint8_t pub[32])
{
	uint8_t key[32];
	int rc;

	if (!wrapped || len < WA_LINKCODE_WRAPPED_LEN || !pub || wa_linkcode_key(code, wrapped, key) != 0)
		return -1;
	rc = ctr32(key, wrapped + 32, wrapped + 48, pub);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

static const char bundle_info[] = "link_code_pairing_key_bundle_encryption_key";
static const char adv_info[] = "adv_secret";

/* advSecret = HKDF(shared || identity_shared || adv_random, "adv_secret"). */
static int adv_secret_of(const uint8_t shared[32], const uint8_t identity_shared[32], const uint8_t adv_random[32],
			 uint8_t out[32])
{
	uint8_t ikm[96];
	int rc;

	memcpy(ikm, shared, 32);
	memcpy(ikm + 32, identity_shared, 32);
	memcpy(ikm + 64, adv_random, 32);
	rc = wa_hkdf_sha256(ikm, sizeof ikm, NULL, 0, adv_info, sizeof adv_info - 1, out, 32);
	OPENSSL_cleanse(ikm, sizeof ikm);
	return rc;
}

int wa_linkcode_bundle_seal(const uint8_t eph_priv[32], const uint8_t primary_eph_pub[32],
			    const uint8_t companion_identity_priv[32], const uint8_t companion_identity_pub[32],
			    const uint8_t primary_identity_pub[32], const uint8_t *salt, const uint8_t *nonce,
			    const uint8_t *adv_random, uint8_t out[WA_LINKCODE_BUNDLE_LEN], uint8_t adv_secret[32])
{
	uint8_t shared[32], id_shared[32], key[32], plain[96], advr[32];
	int rc = -1;

	if (!eph_priv || !primary_eph_pub || !companion_identity_priv || !companion_identity_pub ||
	    !primary_identity_pub || !out || !adv_secret)
		return -1;
	if ((salt ? (memcpy(out, salt, 32), 0) : wa_random(out, 32)) != 0 ||
	    (nonce ? (memcpy(out + 32, nonce, 12), 0) : wa_random(out + 32, 12)) != 0 ||
	    (adv_random ? (memcpy(advr, adv_random, 32), 0) : wa_random(advr, 32)) != 0)
		return -1;
	if (wa_x25519_dh(eph_priv, primary_eph_pub, shared) != 0 ||
	    wa_x25519_dh(companion_identity_priv, primary_identity_pub, id_shared) != 0)
		goto out;
	if (wa_hkdf_sha256(shared, 32, out, 32, bundle_info, sizeof bundle_info - 1, key, 32) != 0)
		goto out;
	memcpy(plain, companion_identity_pub, 32);
	memcpy(plain + 32, primary_identity_pub, 32);
	memcpy(plain + 64, advr, 32);
	if (wa_aes256_gcm_encrypt(key, out + 32, NULL, 0, plain, sizeof plain, out + 44) != 0)
		goto out;
	rc = adv_secret_of(shared, id_shared, advr, adv_secret);
out:
	OPENSSL_cleanse(shared, sizeof shared);
	OPENSSL_cleanse(id_shared, sizeof id_shared);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(plain, sizeof plain);
	OPENSSL_cleanse(advr, sizeof advr);
	return rc;
}

int wa_linkcode_bundle_open(const uint8_t primary_eph_priv[32], const uint8_t companion_eph_pub[32],
			    const uint8_t primary_identity_priv[32], const uint8_t primary_identity_pub[32],
			    const uint8_t *bundle, size_t len, uint8_t companion_identity_pub[32],
			    uint8_t adv_secret[32])
{
	uint8_t shared[32], id_shared[32], key[32], plain[96];
	int rc = -1;

	if (!primary_eph_priv || !companion_eph_pub || !primary_identity_priv || !primary_identity_pub || !bundle ||
	    len != WA_LINKCODE_BUNDLE_LEN || !companion_identity_pub || !adv_secret)
		return -1;
	if (wa_x25519_dh(primary_eph_priv, companion_eph_pub, shared) != 0 ||
	    wa_hkdf_sha256(shared, 32, bundle, 32, bundle_info, sizeof bundle_info - 1, key, 32) != 0 ||
	    wa_aes256_gcm_decrypt(key, bundle + 32, NULL, 0, bundle + 44, len - 44, plain) != 0)
		goto out;
	if (!wa_ct_equal(plain + 32, primary_identity_pub, 32))
		goto out;
	if (wa_x25519_dh(primary_identity_priv, plain, id_shared) != 0)
		goto out;
	memcpy(companion_identity_pub, plain, 32);
	rc = adv_secret_of(shared, id_shared, plain + 64, adv_secret);
out:
	OPENSSL_cleanse(shared, sizeof shared);
	OPENSSL_cleanse(id_shared, sizeof id_shared);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(plain, sizeof plain);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wa_phash(const char *const *ad_strings, size_t n, char out[11])
{
	const char **sorted;
	EVP_MD_CTX *md;
	uint8_t h[32];
	char b64[16];
	unsigned int hl = 0;
	int rc = -1;

	if (!ad_strings || !out || n == 0 || n > 10000)
		return -1;
	sorted = malloc(n * sizeof *sorted);
	md = EVP_MD_CTX_new();
	if (!sorted || !md)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!ad_strings[i])
			goto out;
		sorted[i] = ad_strings[i];
	}
	qsort(sorted, n, sizeof *sorted, cmp_str);
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (EVP_DigestUpdate(md, sorted[i], strlen(sorted[i])) != 1)
			goto out;
	if (EVP_DigestFinal_ex(md, h, &hl) != 1)
		goto out;
	wa_base64_encode(h, 6, b64);   /* 6 bytes -> 8 chars, no padding */
	memcpy(out, "2:", 2);
	memcpy(out + 2, b64, 8);
	out[10] = '\0';
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(sorted);
	return rc;
}
