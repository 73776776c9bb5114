/* linkcode: link-code pairing crypto (see linkcode.h). */
#include "linkcode.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "wa/crypto.h"

static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTVWXYZ";

void lc_code_encode(const uint8_t in[5], char out[LC_CODE_LEN + 1])
{
	uint64_t v = 0;

	for (int i = 0; i < 5; i++)
		v = v << 8 | in[i];
	for (int i = 0; i < LC_CODE_LEN; i++)
		out[i] = ALPHABET[(v >> (35 - 5 * i)) & 31];
	out[LC_CODE_LEN] = '\0';
}

int lc_code_normalize(const char *in, char out[LC_CODE_LEN + 1])
{
	size_t n = 0;

	for (; in && *in; in++) {
		char ch = (char)toupper((unsigned char)*in);

		if (ch == '-' || ch == ' ')
			continue;
		if (n >= LC_CODE_LEN || strchr(ALPHABET, ch) == NULL)
			return -1;
		out[n++] = ch;
	}
	out[n] = '\0';
	return n == LC_CODE_LEN ? 0 : -1;
}

int lc_code_key(const char *code, const uint8_t salt[32], uint8_t key[32])
{
	return PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, 32, LC_PBKDF2_ROUNDS, EVP_sha256(), 32,
				 key) == 1 ? 0 : -1;
}

static int aes_ctr(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, uint8_t *out, int len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, f = 0, ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) == 1 &&
	     EVP_EncryptUpdate(ctx, out, &n, in, len) == 1 && EVP_EncryptFinal_ex(ctx, out + n, &f) == 1 &&
	     n + f == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int lc_wrap(const char *code, const uint8_t salt[32], const uint8_t iv[16], const uint8_t pub[32],
	    uint8_t out[LC_WRAPPED_LEN])
{
	uint8_t key[32];
	int rc;

	if (lc_code_key(code, salt, key) != 0)
		return -1;
	memcpy(out, salt, 32);
	memcpy(out + 32, iv, 16);
	rc = aes_ctr(key, iv, pub, out + 48, 32);
	memset(key, 0, sizeof key);
	return rc;
}

int lc_unwrap(const char *code, const uint8_t wrapped[LC_WRAPPED_LEN], uint8_t pub[32])
{
	uint8_t key[32];
	int rc;

	if (lc_code_key(code, wrapped, key) != 0)
		return -1;
	rc = aes_ctr(key, wrapped + 32, wrapped + 48, pub, 32);
	memset(key, 0, sizeof key);
	return rc;
}

int lc_bundle_key(const uint8_t shared[32], const uint8_t salt[32], uint8_t key[32])
{
	return wa_hkdf_sha256(shared, 32, salt, 32, LC_BUNDLE_INFO, strlen(LC_BUNDLE_INFO), key, 32);
}

int lc_adv_secret(const uint8_t eph_shared[32], const uint8_t identity_shared[32],
		  const uint8_t adv_random[32], uint8_t out[32])
{
	uint8_t ikm[96];
	int rc;

	memcpy(ikm, eph_shared, 32);
	memcpy(ikm + 32, identity_shared, 32);
	memcpy(ikm + 64, adv_random, 32);
	rc = wa_hkdf_sha256(ikm, sizeof ikm, NULL, 0, LC_ADV_INFO, strlen(LC_ADV_INFO), out, 32);
	memset(ikm, 0, sizeof ikm);
	return rc;
}
