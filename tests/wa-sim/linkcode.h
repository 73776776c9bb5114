/* linkcode: the crypto of pairing by phone-number code (PROTOCOL.md 4.5),
 * shared by wa-sim's phone side and waclient's companion side.
 *
 * Not in the protocol library yet (engine/wa/crypto.h has no PBKDF2 or
 * AES-CTR); it belongs there once the engine needs it.
 * Pure functions on caller buffers, thread-safe; 0 / -1. */
#ifndef SIM_LINKCODE_H
#define SIM_LINKCODE_H

#include <stddef.h>
#include <stdint.h>

#define LC_CODE_LEN 8            /* characters, shown as XXXX-XXXX */
#define LC_WRAPPED_LEN 80        /* salt 32 || iv 16 || AES-CTR(pub) 32 */
#define LC_PBKDF2_ROUNDS 131072  /* 2 << 16 */
#define LC_BUNDLE_INFO "link_code_pairing_key_bundle_encryption_key"
#define LC_ADV_INFO "adv_secret"
#define LC_BUNDLE_PLAIN 96       /* companion identity || primary identity || adv random */
#define LC_BUNDLE_LEN (32 + 12 + LC_BUNDLE_PLAIN + 16) /* salt || nonce || GCM(plain) */

/* 5 bytes -> 8 characters of 123456789ABCDEFGHJKLMNPQRSTVWXYZ (NUL-terminated). */
void lc_code_encode(const uint8_t in[5], char out[LC_CODE_LEN + 1]);

/* Normalise a typed code: drop '-' and spaces, upper-case; must leave 8
 * characters of the alphabet. 0 / -1. */
int lc_code_normalize(const char *in, char out[LC_CODE_LEN + 1]);

/* PBKDF2-HMAC-SHA256(code, salt 32, 131072 rounds, 32 bytes). */
int lc_code_key(const char *code, const uint8_t salt[32], uint8_t key[32]);

/* Wrap / unwrap a 32-byte public key with the code (salt and iv given for
 * wrap: random in use, fixed for vectors). */
int lc_wrap(const char *code, const uint8_t salt[32], const uint8_t iv[16], const uint8_t pub[32],
	    uint8_t out[LC_WRAPPED_LEN]);
int lc_unwrap(const char *code, const uint8_t wrapped[LC_WRAPPED_LEN], uint8_t pub[32]);

/* Key-bundle key: HKDF-SHA256(shared, salt, LC_BUNDLE_INFO, 32). */
int lc_bundle_key(const uint8_t shared[32], const uint8_t salt[32], uint8_t key[32]);

/* adv secret: HKDF-SHA256(eph_shared || identity_shared || adv_random, no salt, "adv_secret", 32). */
int lc_adv_secret(const uint8_t eph_shared[32], const uint8_t identity_shared[32],
		  const uint8_t adv_random[32], uint8_t out[32]);

#endif
