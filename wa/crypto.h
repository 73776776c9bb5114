/* wa/crypto: the cryptographic primitives of the protocol library, on OpenSSL 3,
 * plus the process-wide libsignal-protocol-c context with an OpenSSL provider.
 *
 * Conventions: every function returns 0 on success and -1 on failure (bad
 * length, tag mismatch, library error); outputs are caller-provided buffers of
 * the documented size. Nothing here allocates unless said. All functions are
 * thread-safe. Keys are raw 32-byte Curve25519 values (no 0x05 type prefix)
 * unless the name says "signal" (libsignal's 33-byte serialised form). */
#ifndef WA_CRYPTO_H
#define WA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct signal_context;

/* --- hashes and MACs --- */
void wa_sha256(const void *data, size_t len, uint8_t out[32]);
int wa_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[32]);
int wa_hmac_sha512(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[64]);
/* HKDF-SHA256 (RFC 5869); salt may be NULL/0 (= 32 zero bytes). outlen <= 255*32. */
int wa_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		   const void *info, size_t infolen, uint8_t *out, size_t outlen);

/* --- AES --- */
/* AES-256-GCM with a 12-byte IV and 16-byte tag appended to the ciphertext.
 * encrypt: out gets len+16 bytes. decrypt: in has len bytes including the tag,
 * out gets len-16; -1 when the tag does not verify. aad may be NULL/0. */
int wa_aes256_gcm_encrypt(const uint8_t key[32], const uint8_t iv[12], const void *aad, size_t aadlen,
			  const uint8_t *in, size_t len, uint8_t *out);
int wa_aes256_gcm_decrypt(const uint8_t key[32], const uint8_t iv[12], const void *aad, size_t aadlen,
			  const uint8_t *in, size_t len, uint8_t *out);
/* AES-256-CBC with PKCS#7 padding. encrypt: out needs len+16 bytes, *outlen set.
 * decrypt: out needs len bytes; -1 on bad padding. */
int wa_aes256_cbc_encrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, size_t len,
			  uint8_t *out, size_t *outlen);
int wa_aes256_cbc_decrypt(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, size_t len,
			  uint8_t *out, size_t *outlen);

/* --- Curve25519 --- */
/* New key pair: priv is clamped; pub = X25519 base-point multiple. */
int wa_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
/* Public key of a private key. */
int wa_x25519_public(const uint8_t priv[32], uint8_t pub[32]);
/* Shared secret X25519(priv, pub); -1 for an all-zero result. */
int wa_x25519_dh(const uint8_t priv[32], const uint8_t pub[32], uint8_t out[32]);
/* XEdDSA signatures as libsignal's curve25519_sign / curve_verify_signature
 * (64 bytes). sign uses 64 fresh random bytes; verify returns 0 if valid. */
int wa_xeddsa_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64]);
int wa_xeddsa_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64]);
/* As wa_xeddsa_sign with the 64 nonce bytes given by the caller: for
 * reproducible test vectors only; real signatures must use wa_xeddsa_sign. */
int wa_xeddsa_sign_random(const uint8_t priv[32], const void *msg, size_t len, const uint8_t random[64],
			  uint8_t sig[64]);

/* --- libsignal-protocol-c --- */
/* The calling thread's signal_context with the OpenSSL crypto provider and
 * a lock of its own, created on its first use in that thread and destroyed
 * when the thread exits: what libsignal builds with it (a wa_sig, keys)
 * belongs to that thread. NULL only if creation failed. Never free it. */
struct signal_context *wa_signal_ctx(void);

#endif
