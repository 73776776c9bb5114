/* wa/linkcode: the cryptography of pairing by phone-number code
 * (docs/protocol.md §4.5), for both the companion (engine) and the primary
 * phone (wa-sim). Node building and the pairing flow live elsewhere.
 *
 *  code    8 chars of the alphabet 123456789ABCDEFGHJKLMNPQRSTVWXYZ from 5
 *          bytes (5 bits per char, MSB first), shown as XXXX-XXXX;
 *  wrap    salt(32) || iv(16) || AES-256-CTR(PBKDF2-HMAC-SHA256(code, salt,
 *          131072, 32), iv, ephemeral pub(32))   = 80 bytes;
 *  bundle  keyBundleSalt(32) || nonce(12) || AES-256-GCM(HKDF(shared,
 *          keyBundleSalt, "link_code_pairing_key_bundle_encryption_key"),
 *          companionIdentityPub || primaryIdentityPub || advRandom)
 *          = 32 + 12 + 96 + 16 = 156 bytes, shared = X25519 of the two
 *          pairing ephemerals;
 *  adv     advSecret = HKDF(shared || X25519(companion identity, primary
 *          identity) || advRandom, no salt, "adv_secret", 32).
 *
 * All functions return 0 or -1, take caller buffers, are reentrant.
 * "random" arguments may be NULL for fresh random bytes (tests pass fixed
 * ones). */
#ifndef WA_LINKCODE_H
#define WA_LINKCODE_H

#include <stddef.h>
#include <stdint.h>

#define WA_LINKCODE_LEN 8
#define WA_LINKCODE_ITERATIONS 131072
#define WA_LINKCODE_WRAPPED_LEN 80
#define WA_LINKCODE_BUNDLE_LEN 156

/* Code from 5 bytes (NULL = random) into code[9] (NUL-terminated). */
int wa_linkcode_generate(const uint8_t *rnd5, char code[WA_LINKCODE_LEN + 1]);
/* 1 if code is 8 chars of the alphabet (a caller-chosen code, BL). */
int wa_linkcode_valid(const char *code);
/* A code as a person types it: drops '-' and spaces, upper-cases, and
 * must leave 8 characters of the alphabet (e.g. "15jm-bswa" ->
 * "15JMBSWA"). Into code[9]; -1 (code empty) otherwise. */
int wa_linkcode_normalize(const char *typed, char code[WA_LINKCODE_LEN + 1]);
/* "XXXX-XXXX" into out[10]. */
int wa_linkcode_display(const char *code, char out[WA_LINKCODE_LEN + 2]);
/* PBKDF2-HMAC-SHA256(code, salt 32, 131072, 32). */
int wa_linkcode_key(const char *code, const uint8_t salt[32], uint8_t key[32]);
/* Wrap a 32-byte ephemeral public key under the code (salt, iv: NULL =
 * random) into out[80]. */
int wa_linkcode_wrap(const char *code, const uint8_t *salt, const uint8_t *iv, const uint8_t pub[32],
		     uint8_t out[WA_LINKCODE_WRAPPED_LEN]);
/* Unwrap a wrapped ephemeral (len >= 80; only the first 80 bytes are
 * used, as WM does). */
int wa_linkcode_unwrap(const char *code, const uint8_t *wrapped, size_t len, uint8_t pub[32]);

/* Companion side of step 6: from the companion pairing ephemeral private
 * key, the unwrapped primary ephemeral, both identity keys and the
 * companion identity private key, produce the wrapped key bundle and the
 * new advSecret. salt (32), nonce (12), adv_random (32): NULL = random. */
int wa_linkcode_bundle_seal(const uint8_t eph_priv[32], const uint8_t primary_eph_pub[32],
			    const uint8_t companion_identity_priv[32], const uint8_t companion_identity_pub[32],
			    const uint8_t primary_identity_pub[32], const uint8_t *salt, const uint8_t *nonce,
			    const uint8_t *adv_random, uint8_t out[WA_LINKCODE_BUNDLE_LEN], uint8_t adv_secret[32]);
/* Primary side (simulator): open a wrapped bundle with the primary pairing
 * ephemeral private key and the companion's ephemeral public key; checks
 * that the bundle names primary_identity_pub, returns the companion
 * identity key from it and derives the same advSecret (needs the primary
 * identity private key). */
int wa_linkcode_bundle_open(const uint8_t primary_eph_priv[32], const uint8_t companion_eph_pub[32],
			    const uint8_t primary_identity_priv[32], const uint8_t primary_identity_pub[32],
			    const uint8_t *bundle, size_t len, uint8_t companion_identity_pub[32],
			    uint8_t adv_secret[32]);

/* Participant hash as WM computes it (§7.4): "2:" + base64 (no padding) of
 * the first 6 bytes of SHA-256 over the sorted, concatenated AD strings
 * ("user.agent:device@server"). out needs 11 bytes. -1 if n is 0 or too
 * large (> 10000) or out of memory. */
int wa_phash(const char *const *ad_strings, size_t n, char out[11]);

#endif
