/* Unit tests for wa/crypto: known-answer tests for SHA-256, HMAC, HKDF
 * (RFC 4231, RFC 5869 and the media vector of tests/vectors/protocol.json),
 * AES-256-GCM (the Noise transport vector), AES-256-CBC (the media vector),
 * X25519 (the Noise vector keys), XEdDSA (the libsignal-compatible vector),
 * and the libsignal context with its OpenSSL provider. */
#include "tap.h"
#include "wa/crypto.h"
#include "wa_util.h"

#include <signal/curve.h>
#include <signal/hkdf.h>
#include <signal/signal_protocol.h>

/* Exported by libsignal-protocol-c but declared only in its internal header;
 * they dispatch straight to our provider callbacks. */
int signal_encrypt(signal_context *context, signal_buffer **output, int cipher, const uint8_t *key,
		   size_t key_len, const uint8_t *iv, size_t iv_len, const uint8_t *plaintext,
		   size_t plaintext_len);
int signal_decrypt(signal_context *context, signal_buffer **output, int cipher, const uint8_t *key,
		   size_t key_len, const uint8_t *iv, size_t iv_len, const uint8_t *ciphertext,
		   size_t ciphertext_len);
int signal_sha512_digest_init(signal_context *context, void **digest_context);
int signal_sha512_digest_update(signal_context *context, void *digest_context, const uint8_t *data,
				size_t data_len);
int signal_sha512_digest_final(signal_context *context, void *digest_context, signal_buffer **output);
void signal_sha512_digest_cleanup(signal_context *context, void *digest_context);

/* Decode a hex literal into a static-sized buffer; aborts the test run on a
 * malformed literal (a bug in the test itself). */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	if (n > cap || wa_hex_decode(hex, out, n) != 0) {
		printf("Bail out! bad hex literal %s\n", hex);
		exit(1);
	}
	return n;
}

static void test_sha_hmac(void)
{
	uint8_t out[64], want[64], key[32];

	wa_sha256("abc", 3, out);
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, sizeof want);
	is_mem(out, want, 32, "SHA-256(abc)");

	/* RFC 4231 test case 2 */
	ok(wa_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out) == 0,
	   "HMAC-SHA256 runs");
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, sizeof want);
	is_mem(out, want, 32, "HMAC-SHA256 RFC 4231 case 2");
	ok(wa_hmac_sha512((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out) == 0,
	   "HMAC-SHA512 runs");
	unhex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	      want, sizeof want);
	is_mem(out, want, 64, "HMAC-SHA512 RFC 4231 case 2");

	/* media vector: mac10 = HMAC-SHA256(mac_key, iv || ciphertext)[:10] */
	{
		uint8_t msg[16 + 32];
		unhex("91d09ffec108833c1699574c52657923fb6e3e161d9698bc6b3a05fbc508a515", key, sizeof key);
		unhex("aa6a127218397cbd2383e4ccf7176a79", msg, 16);
		unhex("2c56a9beea1e92c84fa772556c3446dcc0e2445b4f5e01398b2100b403273979", msg + 16, 32);
		ok(wa_hmac_sha256(key, 32, msg, sizeof msg, out) == 0, "HMAC media runs");
		unhex("71644e19f92a76c6e65e", want, sizeof want);
		is_mem(out, want, 10, "HMAC-SHA256 media mac10");
	}
}

static void test_hkdf(void)
{
	uint8_t ikm[80], salt[80], info[80], okm[112], want[112];
	size_t ni, ns, nf;

	/* RFC 5869 A.1 */
	ni = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, sizeof ikm);
	ns = unhex("000102030405060708090a0b0c", salt, sizeof salt);
	nf = unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
	ok(wa_hkdf_sha256(ikm, ni, salt, ns, info, nf, okm, 42) == 0, "HKDF A.1 runs");
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", want,
	      sizeof want);
	is_mem(okm, want, 42, "HKDF RFC 5869 A.1");

	/* RFC 5869 A.2: long inputs, 82 bytes out */
	{
		uint8_t okm2[82], want2[82];
		for (int i = 0; i < 80; i++) {
			ikm[i] = (uint8_t)i;
			salt[i] = (uint8_t)(0x60 + i);
			info[i] = (uint8_t)(0xb0 + i);
		}
		ok(wa_hkdf_sha256(ikm, 80, salt, 80, info, 80, okm2, 82) == 0, "HKDF A.2 runs");
		unhex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
		      want2, sizeof want2);
		is_mem(okm2, want2, 82, "HKDF RFC 5869 A.2");
	}

	/* RFC 5869 A.3: no salt, no info */
	ni = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, sizeof ikm);
	ok(wa_hkdf_sha256(ikm, ni, NULL, 0, NULL, 0, okm, 42) == 0, "HKDF A.3 runs");
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", want,
	      sizeof want);
	is_mem(okm, want, 42, "HKDF RFC 5869 A.3 (NULL salt = zeros, empty info)");

	/* media vector: HKDF(media_key, no salt, "WhatsApp Image Keys", 112) */
	ni = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", ikm, sizeof ikm);
	ok(wa_hkdf_sha256(ikm, ni, NULL, 0, "WhatsApp Image Keys", 19, okm, 112) == 0, "HKDF media runs");
	unhex("aa6a127218397cbd2383e4ccf7176a79008c9aea9b7c5d81eb56b3f530f87d42dcc92d27b11ad6b5bd66f0560d0d8c4691d09ffec108833c1699574c52657923fb6e3e161d9698bc6b3a05fbc508a5154d4981725e9eb39838fcff2130508f1360cbb319f99cef163d57ab7c050a667e",
	      want, sizeof want);
	is_mem(okm, want, 112, "HKDF media image expanded_112");

	ok(wa_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, okm, 0) == -1, "HKDF rejects outlen 0");
	{
		static uint8_t big[255 * 32 + 1];
		ok(wa_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, big, sizeof big) == -1, "HKDF rejects outlen > 8160");
		ok(wa_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, big, sizeof big - 1) == 0, "HKDF accepts 8160");
	}
}

static void test_gcm(void)
{
	uint8_t key[32], iv[12] = { 0 }, pt[64], ct[80], want[80], back[64], aad[32];
	size_t np, nc;

	/* Noise transport: key c2s, counter 0, empty AAD */
	unhex("f791c6237f2b40c225238f1f503271959c823809e112cd32c722db5886fbcb00", key, sizeof key);
	np = unhex("00f8091908ff831b2a1f11fa000304291657", pt, sizeof pt);
	nc = unhex("c908e6758105633a787cf469a3ac98f338bdacd387f939db2d71baa9df21a2fbbefb", want, sizeof want);
	is_int(nc, np + 16, "vector sizes");
	ok(wa_aes256_gcm_encrypt(key, iv, NULL, 0, pt, np, ct) == 0, "GCM encrypt runs");
	is_mem(ct, want, nc, "GCM encrypt = Noise transport vector (c2s)");
	ok(wa_aes256_gcm_decrypt(key, iv, NULL, 0, want, nc, back) == 0, "GCM decrypt runs");
	is_mem(back, pt, np, "GCM decrypt round trip");
	want[3] ^= 0x01;
	ok(wa_aes256_gcm_decrypt(key, iv, NULL, 0, want, nc, back) == -1, "GCM rejects a flipped ciphertext bit");
	want[3] ^= 0x01;
	want[nc - 1] ^= 0x80;
	ok(wa_aes256_gcm_decrypt(key, iv, NULL, 0, want, nc, back) == -1, "GCM rejects a flipped tag bit");
	ok(wa_aes256_gcm_decrypt(key, iv, NULL, 0, want, 15, back) == -1, "GCM rejects input shorter than tag");

	/* Noise handshake: server static encrypted with k_after_ee, counter 0,
	 * AAD = h3 (running hash) */
	unhex("238275b8d40646a5ccb195c92fc31d75bdd5e424db8a9d2528cf23645679e766", key, sizeof key);
	unhex("0a011c2d8d20b2fcfadb9e67a39076af48b51171f676f9c7a589c2e991db2542", aad, sizeof aad);
	np = unhex("427265d836c915925b7db24ebb0e6be96b23a96d50dcfd9f9866aba150a5a50c", pt, sizeof pt);
	nc = unhex("5e732b12cfa24b58553edc8e95dee2e4ddbf2e27b496ab303a2917aedb73627c14eb832ab12a6373a338eb0323095b4c",
		   want, sizeof want);
	ok(wa_aes256_gcm_encrypt(key, iv, aad, 32, pt, np, ct) == 0 && memcmp(ct, want, nc) == 0,
	   "GCM with AAD = Noise server static ciphertext");
	aad[0] ^= 1;
	ok(wa_aes256_gcm_decrypt(key, iv, aad, 32, want, nc, back) == -1, "GCM rejects a wrong AAD");

	/* empty plaintext: tag only */
	ok(wa_aes256_gcm_encrypt(key, iv, NULL, 0, NULL, 0, ct) == 0, "GCM encrypts empty input");
	ok(wa_aes256_gcm_decrypt(key, iv, NULL, 0, ct, 16, back) == 0, "GCM decrypts tag-only input");
}

static void test_cbc(void)
{
	uint8_t key[32], iv[16], pt[64], ct[80], want[80], back[80];
	size_t np, nc, n = 0;

	/* media vector: AES-256-CBC(cipher_key, iv, "Hello, WhatsApp media!") */
	unhex("008c9aea9b7c5d81eb56b3f530f87d42dcc92d27b11ad6b5bd66f0560d0d8c46", key, sizeof key);
	unhex("aa6a127218397cbd2383e4ccf7176a79", iv, sizeof iv);
	np = strlen("Hello, WhatsApp media!");
	memcpy(pt, "Hello, WhatsApp media!", np);
	nc = unhex("2c56a9beea1e92c84fa772556c3446dcc0e2445b4f5e01398b2100b403273979", want, sizeof want);
	ok(wa_aes256_cbc_encrypt(key, iv, pt, np, ct, &n) == 0, "CBC encrypt runs");
	is_int(n, nc, "CBC length with PKCS#7 padding");
	is_mem(ct, want, nc, "CBC = media vector ciphertext");
	ok(wa_aes256_cbc_decrypt(key, iv, want, nc, back, &n) == 0, "CBC decrypt runs");
	ok(n == np && memcmp(back, pt, np) == 0, "CBC round trip");

	/* NIST SP 800-38A F.2.5 first block; PKCS#7 then adds a full block */
	unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", key, sizeof key);
	unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof iv);
	unhex("6bc1bee22e409f96e93d7e117393172a", pt, 16);
	unhex("f58c4c04d6e5f1ba779eabfb5f7bfbd6", want, 16);
	ok(wa_aes256_cbc_encrypt(key, iv, pt, 16, ct, &n) == 0 && n == 32, "CBC 16 bytes -> 32 bytes");
	is_mem(ct, want, 16, "CBC NIST SP 800-38A F.2.5 block 1");

	/* bad padding: decrypting with a different IV alters only block 1,
	 * so corrupt the last block instead */
	ct[31] ^= 0x55;
	ok(wa_aes256_cbc_decrypt(key, iv, ct, 32, back, &n) == -1, "CBC rejects bad padding");
	ok(wa_aes256_cbc_decrypt(key, iv, ct, 31, back, &n) == -1, "CBC rejects a partial block");
	ok(wa_aes256_cbc_decrypt(key, iv, ct, 0, back, &n) == -1, "CBC rejects empty input");
}

static void test_x25519(void)
{
	uint8_t cpriv[32], cpub[32], spriv[32], spub[32], pub[32], s1[32], s2[32], zero[32] = { 0 };
	uint8_t want[32];

	unhex("30939c5adddec942290b637530898a70f2d32453e5241f30a0550780e7586b47", cpriv, 32);
	unhex("f01e3feed2953d4221feddad1b6baa06ee321666eb0e170d33428905b0057d4e", cpub, 32);
	unhex("58e551a192e32372d3dfca3025e3a6129aa00350e5ffceeb0184f61b25e23441", spriv, 32);
	unhex("98ce40bd9d69d7950579450cfcb9844f328d214b045f825a96bf70f9ae37b37d", spub, 32);
	ok(wa_x25519_public(cpriv, pub) == 0 && memcmp(pub, cpub, 32) == 0, "X25519 public of client ephemeral");
	ok(wa_x25519_public(spriv, pub) == 0 && memcmp(pub, spub, 32) == 0, "X25519 public of server ephemeral");
	ok(wa_x25519_dh(cpriv, spub, s1) == 0 && wa_x25519_dh(spriv, cpub, s2) == 0, "X25519 DH runs");
	is_mem(s1, s2, 32, "X25519 DH agrees both ways");

	/* RFC 7748 6.1 */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", cpriv, 32);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", spub, 32);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	ok(wa_x25519_dh(cpriv, spub, s1) == 0 && memcmp(s1, want, 32) == 0, "X25519 RFC 7748 6.1");
	ok(wa_x25519_dh(cpriv, zero, s1) == -1, "X25519 rejects an all-zero result");

	ok(wa_x25519_keypair(cpriv, cpub) == 0, "keypair generated");
	ok((cpriv[0] & 7) == 0 && (cpriv[31] & 0xc0) == 0x40, "private key clamped");
	ok(wa_x25519_public(cpriv, pub) == 0 && memcmp(pub, cpub, 32) == 0, "keypair public matches");
}

static void test_xeddsa(void)
{
	uint8_t priv[32], pub[32], pub2[32], rnd[64], sig[64], want[64], msg[33];
	const char *m = "WhatsApp XEdDSA test vector";
	size_t ml = strlen(m);

	unhex("e0282095adddb524dc9a1153aea021bdae0f2b7d08cced5ccfe417fafb0e8058", priv, 32);
	unhex("f4e719f55e8353303f8ae3b2ac818e2b8ec0a34a66ce1657fb6685feca26580c", pub, 32);
	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
	      rnd, 64);
	unhex("7fe937bec6ab36adff62155312661d8a8dde21b5f4a7518b60ba03ab2d4b273abda29e7097301022685f9edebefbedcd83c682b165ad56f60acf1ca91c299b03",
	      want, 64);
	ok(wa_x25519_public(priv, pub2) == 0 && memcmp(pub, pub2, 32) == 0, "XEdDSA vector public key");
	is_int(wa_xeddsa_verify(pub, m, ml, want), 0, "XEdDSA vector signature verifies");
	ok(wa_xeddsa_sign_random(priv, m, ml, rnd, sig) == 0 && memcmp(sig, want, 64) == 0,
	   "XEdDSA deterministic sign = vector signature");
	want[10] ^= 0x04;
	is_int(wa_xeddsa_verify(pub, m, ml, want), -1, "XEdDSA rejects a flipped signature bit");
	want[10] ^= 0x04;
	is_int(wa_xeddsa_verify(pub, m, ml - 1, want), -1, "XEdDSA rejects a different message");

	ok(wa_xeddsa_sign(priv, m, ml, sig) == 0, "XEdDSA random sign");
	is_int(wa_xeddsa_verify(pub, m, ml, sig), 0, "sign then verify");
	sig[63] ^= 0x01;
	is_int(wa_xeddsa_verify(pub, m, ml, sig), -1, "flipped bit in fresh signature rejected");

	/* long messages: libsignal's signing/verification buffers are sized
	 * from the message length (checked under ASan) */
	{
		size_t bl = 100000;
		uint8_t *big = malloc(bl);
		if (big) {
			memset(big, 0x5a, bl);
			ok(wa_xeddsa_sign(priv, big, bl, sig) == 0 && wa_xeddsa_verify(pub, big, bl, sig) == 0,
			   "100 kB message signs and verifies");
			big[bl - 1] ^= 1;
			is_int(wa_xeddsa_verify(pub, big, bl, sig), -1, "100 kB message: last byte changed rejected");
			free(big);
		}
	}

	/* an unclamped private key signs for its X25519 public key */
	{
		uint8_t up[32], upub[32];
		memset(up, 0xff, sizeof up);
		ok(wa_x25519_public(up, upub) == 0 && wa_xeddsa_sign(up, m, ml, sig) == 0 &&
		   wa_xeddsa_verify(upub, m, ml, sig) == 0, "unclamped private key: signature verifies");
	}

	/* signed prekey vector: signature over 0x05 || prekey_pub */
	unhex("05433eac21c768ac38c649d62509d3ba4407de2e276234f8935f6cee677202f818", msg, sizeof msg);
	memset(rnd, 0x33, sizeof rnd);
	unhex("2aff715b0e94c6bcb95197800be3ccf629175a501e4f18b8cc1c2c43465d1a86fe079f8f47d5f8727fc03d549e04387436dca41f4905eacc4ecb247d3dc52f08",
	      want, 64);
	is_int(wa_xeddsa_verify(pub, msg, 33, want), 0, "signed prekey vector verifies");
	ok(wa_xeddsa_sign_random(priv, msg, 33, rnd, sig) == 0 && memcmp(sig, want, 64) == 0,
	   "signed prekey vector reproduced");
}

static void test_signal_ctx(void)
{
	signal_context *ctx = wa_signal_ctx();
	ec_public_key *pk = NULL;
	ec_private_key *sk = NULL;
	signal_buffer *sig = NULL;
	uint8_t ser[33], priv[32];
	const char *m = "WhatsApp XEdDSA test vector";

	ok(ctx != NULL, "signal context created");
	ok(wa_signal_ctx() == ctx, "signal context is a singleton");
	if (!ctx)
		return;

	ser[0] = 0x05;
	unhex("f4e719f55e8353303f8ae3b2ac818e2b8ec0a34a66ce1657fb6685feca26580c", ser + 1, 32);
	unhex("e0282095adddb524dc9a1153aea021bdae0f2b7d08cced5ccfe417fafb0e8058", priv, 32);
	ok(curve_decode_point(&pk, ser, 33, ctx) == 0, "libsignal decodes the vector public key");
	ok(curve_decode_private_point(&sk, priv, 32, ctx) == 0, "libsignal decodes the vector private key");
	/* libsignal's own signing path uses our provider's random function */
	ok(pk && sk && curve_calculate_signature(ctx, &sig, sk, (const uint8_t *)m, strlen(m)) == 0,
	   "libsignal signs through the provider");
	ok(sig && signal_buffer_len(sig) == 64 &&
	   wa_xeddsa_verify(ser + 1, m, strlen(m), signal_buffer_data(sig)) == 0,
	   "wa_xeddsa_verify accepts libsignal's signature");
	ok(sig && curve_verify_signature(pk, (const uint8_t *)m, strlen(m), signal_buffer_data(sig), 64) == 1,
	   "libsignal verifies its signature");
	signal_buffer_free(sig);
	SIGNAL_UNREF(pk);
	SIGNAL_UNREF(sk);

	/* HMAC provider, through libsignal's HKDF (v3 = RFC 5869) */
	{
		hkdf_context *kdf = NULL;
		uint8_t *okm = NULL, ikm[32], want[112];
		ssize_t n;

		unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", ikm, 32);
		ok(hkdf_create(&kdf, 3, ctx) == 0, "libsignal HKDF context");
		n = kdf ? hkdf_derive_secrets(kdf, &okm, ikm, 32, NULL, 0, (const uint8_t *)"WhatsApp Image Keys",
					      19, 112) : -1;
		ok(wa_hkdf_sha256(ikm, 32, NULL, 0, "WhatsApp Image Keys", 19, want, 112) == 0, "HKDF reference");
		ok(n == 112 && okm && memcmp(okm, want, 112) == 0, "provider HMAC: libsignal HKDF = wa_hkdf_sha256");
		free(okm);
		SIGNAL_UNREF(kdf);
	}

	/* SHA-512 provider, context reused after final */
	{
		void *dc = NULL;
		signal_buffer *d1 = NULL, *d2 = NULL;
		uint8_t want[64];

		unhex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		      want, 64);
		ok(signal_sha512_digest_init(ctx, &dc) == 0, "sha512 init");
		ok(signal_sha512_digest_update(ctx, dc, (const uint8_t *)"abc", 3) == 0 &&
		   signal_sha512_digest_final(ctx, dc, &d1) == 0 && signal_buffer_len(d1) == 64 &&
		   memcmp(signal_buffer_data(d1), want, 64) == 0, "provider SHA-512(abc)");
		ok(signal_sha512_digest_update(ctx, dc, (const uint8_t *)"abc", 3) == 0 &&
		   signal_sha512_digest_final(ctx, dc, &d2) == 0 && signal_buffer_len(d2) == 64 &&
		   memcmp(signal_buffer_data(d2), want, 64) == 0, "provider SHA-512 context reusable after final");
		signal_sha512_digest_cleanup(ctx, dc);
		signal_buffer_free(d1);
		signal_buffer_free(d2);
	}

	/* AES providers: CBC against the media vector, CTR round trip + NIST */
	{
		uint8_t key[32], iv[16], want[32], ctr_pt[16], ctr_ct[16];
		signal_buffer *ct = NULL, *pt = NULL;
		const char *msg = "Hello, WhatsApp media!";

		unhex("008c9aea9b7c5d81eb56b3f530f87d42dcc92d27b11ad6b5bd66f0560d0d8c46", key, 32);
		unhex("aa6a127218397cbd2383e4ccf7176a79", iv, 16);
		unhex("2c56a9beea1e92c84fa772556c3446dcc0e2445b4f5e01398b2100b403273979", want, 32);
		ok(signal_encrypt(ctx, &ct, SG_CIPHER_AES_CBC_PKCS5, key, 32, iv, 16, (const uint8_t *)msg,
				  strlen(msg)) == 0 && signal_buffer_len(ct) == 32 &&
		   memcmp(signal_buffer_data(ct), want, 32) == 0, "provider AES-CBC-PKCS5 = media vector");
		ok(ct && signal_decrypt(ctx, &pt, SG_CIPHER_AES_CBC_PKCS5, key, 32, iv, 16, signal_buffer_data(ct),
					signal_buffer_len(ct)) == 0 && signal_buffer_len(pt) == strlen(msg) &&
		   memcmp(signal_buffer_data(pt), msg, strlen(msg)) == 0, "provider AES-CBC decrypt");
		signal_buffer_free(ct);
		signal_buffer_free(pt);
		ct = pt = NULL;

		/* NIST SP 800-38A F.5.5 CTR-AES256 block 1 */
		unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", key, 32);
		unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16);
		unhex("6bc1bee22e409f96e93d7e117393172a", ctr_pt, 16);
		unhex("601ec313775789a5b7a7f504bbf3d228", ctr_ct, 16);
		ok(signal_encrypt(ctx, &ct, SG_CIPHER_AES_CTR_NOPADDING, key, 32, iv, 16, ctr_pt, 16) == 0 &&
		   signal_buffer_len(ct) == 16 && memcmp(signal_buffer_data(ct), ctr_ct, 16) == 0,
		   "provider AES-CTR NIST F.5.5");
		ok(signal_decrypt(ctx, &pt, SG_CIPHER_AES_CTR_NOPADDING, key, 32, iv, 16, ctr_ct, 16) == 0 &&
		   signal_buffer_len(pt) == 16 && memcmp(signal_buffer_data(pt), ctr_pt, 16) == 0,
		   "provider AES-CTR decrypt");
		signal_buffer_free(ct);
		signal_buffer_free(pt);
		ct = NULL;
		ok(signal_encrypt(ctx, &ct, 99, key, 32, iv, 16, ctr_pt, 16) != 0, "provider rejects unknown cipher");
		signal_buffer_free(ct);
	}

	/* key pair generation through the provider (random + clamping) */
	{
		ec_key_pair *kp = NULL;
		ok(curve_generate_key_pair(ctx, &kp) == 0 && kp, "libsignal generates a key pair");
		SIGNAL_UNREF(kp);
	}
}

int main(void)
{
	test_sha_hmac();
	test_hkdf();
	test_gcm();
	test_cbc();
	test_x25519();
	test_xeddsa();
	test_signal_ctx();
	return tap_done();
}
