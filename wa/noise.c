/* wa/noise: Noise XX handshake as WhatsApp runs it, and the transport
 * ciphers (see noise.h for the API and state machine).
 *
 * Symmetric state, as in docs/protocol.md §1.3:
 *   h, ck start as the 32-byte protocol name (not hashed: it is exactly 32);
 *   MixHash(x):  h = SHA256(h || x)
 *   MixKey(ikm): okm = HKDF(ikm, salt=ck, info="", 64); ck = okm[0:32]; k = okm[32:64]; n = 0
 *   EncryptAndHash(p): c = AESGCM(k, IV(n), aad=h, p); n++; MixHash(c)
 *   IV(n) = 8 zero bytes || uint32_be(n)
 * Note that n is not reset between the cert-chain decryption and the
 * client static encryption, so the latter uses IV counter 1 (§1.4 step 8).
 *
 * The trace labels are the key names of tests/vectors/protocol.json
 * ("noise"/"steps"), so the unit test checks every intermediate value. */
#include "wa/noise.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wa/crypto.h"
#include "wa/frame.h"
#include "wa_handshake.pb-c.h"

const uint8_t WA_NOISE_PROTOCOL_NAME[32] = "Noise_XX_25519_AESGCM_SHA256\0\0\0";

typedef WaWa6__HandshakeMessage HandshakeMessage;

const char *wa_noise_strerror(int err)
{
	switch (err) {
	case WA_NOISE_OK: return "ok";
	case WA_NOISE_EINVAL: return "invalid argument";
	case WA_NOISE_ESTATE: return "handshake call out of order or after a failure";
	case WA_NOISE_EDECODE: return "malformed handshake message";
	case WA_NOISE_EDECRYPT: return "handshake or transport decryption failed";
	case WA_NOISE_ECERT: return "server certificate chain rejected";
	case WA_NOISE_ECRYPTO: return "key agreement failed";
	case WA_NOISE_ENOMEM: return "out of memory";
	case WA_NOISE_ECOUNTER: return "transport counter exhausted";
	}
	return "unknown noise error";
}

static void trace(struct wa_noise_hs *hs, const char *label, const uint8_t *v, size_t len)
{
	if (hs->trace)
		hs->trace(hs->trace_ctx, label, v, len);
}

static void make_iv(uint8_t iv[12], uint32_t n)
{
	memset(iv, 0, 8);
	iv[8] = (uint8_t)(n >> 24);
	iv[9] = (uint8_t)(n >> 16);
	iv[10] = (uint8_t)(n >> 8);
	iv[11] = (uint8_t)n;
}

static void mix_hash(struct wa_noise_hs *hs, const uint8_t *data, size_t len)
{
	uint8_t buf[32];
	/* SHA256(h || data) without concatenating into a temporary: the
	 * ciphertexts can be up to WA_NOISE_HS_MAX bytes. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, hs->h, 32) == 1 &&
	    (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) && EVP_DigestFinal_ex(ctx, buf, &n) == 1 &&
	    n == 32) {
		memcpy(hs->h, buf, 32);
	} else {
		/* Only on allocation failure; poison h so the peer's AEAD
		 * checks fail instead of running with a stale hash. */
		memset(hs->h, 0xff, 32);
		hs->state = WA_NOISE_ST_FAILED;
	}
	EVP_MD_CTX_free(ctx);
}

static int mix_key(struct wa_noise_hs *hs, const uint8_t ikm[32], const char *ck_label, const char *k_label)
{
	uint8_t okm[64];

	if (wa_hkdf_sha256(ikm, 32, hs->ck, 32, NULL, 0, okm, 64) != 0)
		return WA_NOISE_ECRYPTO;
	memcpy(hs->ck, okm, 32);
	memcpy(hs->k, okm + 32, 32);
	hs->n = 0;
	OPENSSL_cleanse(okm, sizeof okm);
	trace(hs, ck_label, hs->ck, 32);
	trace(hs, k_label, hs->k, 32);
	return WA_NOISE_OK;
}

static int mix_dh(struct wa_noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32], const char *ck_label,
		  const char *k_label)
{
	uint8_t shared[32];
	int rc;

	if (wa_x25519_dh(priv, pub, shared) != 0)
		return WA_NOISE_ECRYPTO;
	rc = mix_key(hs, shared, ck_label, k_label);
	OPENSSL_cleanse(shared, sizeof shared);
	return rc;
}

/* EncryptAndHash into a fresh malloc'd buffer of len + 16 bytes. */
static int encrypt_and_hash(struct wa_noise_hs *hs, const uint8_t *in, size_t len, uint8_t **out)
{
	uint8_t iv[12];
	uint8_t *c = malloc(len + 16);

	if (!c)
		return WA_NOISE_ENOMEM;
	make_iv(iv, hs->n);
	if (wa_aes256_gcm_encrypt(hs->k, iv, hs->h, 32, in, len, c) != 0) {
		free(c);
		return WA_NOISE_ECRYPTO;
	}
	hs->n++;
	mix_hash(hs, c, len + 16);
	*out = c;
	return WA_NOISE_OK;
}

/* DecryptAndHash into a fresh malloc'd buffer of len - 16 bytes (at least 1
 * byte allocated). */
static int decrypt_and_hash(struct wa_noise_hs *hs, const uint8_t *in, size_t len, uint8_t **out)
{
	uint8_t iv[12];
	uint8_t *p;

	if (len < 16)
		return WA_NOISE_EDECODE;
	p = malloc(len - 16 + 1);
	if (!p)
		return WA_NOISE_ENOMEM;
	make_iv(iv, hs->n);
	if (wa_aes256_gcm_decrypt(hs->k, iv, hs->h, 32, in, len, p) != 0) {
		free(p);
		return WA_NOISE_EDECRYPT;
	}
	hs->n++;
	mix_hash(hs, in, len);
	*out = p;
	return WA_NOISE_OK;
}

/* Pack a HandshakeMessage onto the end of out. */
static int pack_append(const HandshakeMessage *m, struct wa_buf *out)
{
	size_t n = wa_wa6__handshake_message__get_packed_size(m);

	if (wa_buf_reserve(out, n) != 0)
		return WA_NOISE_ENOMEM;
	if (wa_wa6__handshake_message__pack(m, out->data + out->len) != n)
		return WA_NOISE_ENOMEM;
	out->len += n;
	return WA_NOISE_OK;
}

static HandshakeMessage *unpack(const uint8_t *msg, size_t len)
{
	if (!msg || len == 0 || len > WA_NOISE_HS_MAX)
		return NULL;
	return wa_wa6__handshake_message__unpack(NULL, len, msg);
}

/* Record a failure: the handshake is dead from now on. */
static int fail(struct wa_noise_hs *hs, int rc)
{
	hs->state = WA_NOISE_ST_FAILED;
	return rc;
}

static int check(struct wa_noise_hs *hs, int role, int state)
{
	if (!hs)
		return WA_NOISE_EINVAL;
	if (hs->role != role || hs->state != state)
		return WA_NOISE_ESTATE;
	return WA_NOISE_OK;
}

int wa_noise_init(struct wa_noise_hs *hs, enum wa_noise_role role, const uint8_t s_priv[32],
		  const uint8_t s_pub[32], const uint8_t e_priv[32], const struct wa_cert_trust *trust)
{
	if (!hs || !s_priv || (role != WA_NOISE_INITIATOR && role != WA_NOISE_RESPONDER))
		return WA_NOISE_EINVAL;
	memset(hs, 0, sizeof *hs);
	hs->role = role;
	memcpy(hs->s_priv, s_priv, 32);
	if (s_pub)
		memcpy(hs->s_pub, s_pub, 32);
	else if (wa_x25519_public(s_priv, hs->s_pub) != 0)
		return fail(hs, WA_NOISE_ECRYPTO);
	if (e_priv) {
		memcpy(hs->e_priv, e_priv, 32);
		if (wa_x25519_public(e_priv, hs->e_pub) != 0)
			return fail(hs, WA_NOISE_ECRYPTO);
	} else if (wa_x25519_keypair(hs->e_priv, hs->e_pub) != 0) {
		return fail(hs, WA_NOISE_ECRYPTO);
	}
	if (trust)
		hs->trust = *trust;
	else
		wa_cert_trust_default(&hs->trust);
	hs->cert_err = WA_CERT_OK;
	memcpy(hs->h, WA_NOISE_PROTOCOL_NAME, 32);
	memcpy(hs->ck, WA_NOISE_PROTOCOL_NAME, 32);
	/* the prologue: the intro header the client sends before its hello */
	mix_hash(hs, WA_FRAME_INTRO, WA_FRAME_INTRO_LEN);
	if (hs->state == WA_NOISE_ST_FAILED)
		return WA_NOISE_ENOMEM;
	hs->state = WA_NOISE_ST_START;
	return WA_NOISE_OK;
}

/* The trace hook is set after init by callers who want it, so they see the
 * first two values through this helper called from the first step. */
static void trace_start(struct wa_noise_hs *hs)
{
	trace(hs, "h0_protocol_name", WA_NOISE_PROTOCOL_NAME, 32);
	trace(hs, "h1_after_prologue", hs->h, 32);
}

void wa_noise_clear(struct wa_noise_hs *hs)
{
	if (hs)
		OPENSSL_cleanse(hs, sizeof *hs);
}

/* ------------------------------------------------------------------ */
/* initiator */

int wa_noise_write_client_hello(struct wa_noise_hs *hs, struct wa_buf *out)
{
	HandshakeMessage m;
	WaWa6__HandshakeMessage__ClientHello ch;
	int rc = check(hs, WA_NOISE_INITIATOR, WA_NOISE_ST_START);

	if (rc)
		return rc;
	if (!out)
		return WA_NOISE_EINVAL;
	trace_start(hs);
	mix_hash(hs, hs->e_pub, 32);
	trace(hs, "h2_after_client_ephemeral", hs->h, 32);

	wa_wa6__handshake_message__client_hello__init(&ch);
	ch.has_ephemeral = 1;
	ch.ephemeral.data = hs->e_pub;
	ch.ephemeral.len = 32;
	wa_wa6__handshake_message__init(&m);
	m.clienthello = &ch;
	rc = pack_append(&m, out);
	if (rc)
		return fail(hs, rc);
	if (hs->state == WA_NOISE_ST_FAILED)
		return WA_NOISE_ENOMEM;
	hs->state = WA_NOISE_ST_HELLO;
	return WA_NOISE_OK;
}

int wa_noise_read_server_hello(struct wa_noise_hs *hs, const uint8_t *msg, size_t len)
{
	HandshakeMessage *m = NULL;
	WaWa6__HandshakeMessage__ServerHello *sh;
	uint8_t *rs = NULL, *chain = NULL;
	int rc = check(hs, WA_NOISE_INITIATOR, WA_NOISE_ST_HELLO);

	if (rc)
		return rc;
	m = unpack(msg, len);
	if (!m) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	sh = m->serverhello;
	/* whatsmeow: ephemeral must be 32 bytes, static and payload present */
	if (!sh || !sh->has_ephemeral || sh->ephemeral.len != 32 || !sh->has_static_ || !sh->has_payload) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	memcpy(hs->re, sh->ephemeral.data, 32);
	mix_hash(hs, hs->re, 32);
	trace(hs, "h3_after_server_ephemeral", hs->h, 32);
	if ((rc = mix_dh(hs, hs->e_priv, hs->re, "ck_after_ee", "k_after_ee")) != 0)
		goto out;

	trace(hs, "server_static_ciphertext", sh->static_.data, sh->static_.len);
	if ((rc = decrypt_and_hash(hs, sh->static_.data, sh->static_.len, &rs)) != 0)
		goto out;
	if (sh->static_.len - 16 != 32) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	memcpy(hs->rs, rs, 32);
	trace(hs, "h4_after_server_static", hs->h, 32);
	if ((rc = mix_dh(hs, hs->e_priv, hs->rs, "ck_after_es", "k_after_es")) != 0)
		goto out;

	if (sh->payload.len > WA_CERT_CHAIN_MAX + 16) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	if ((rc = decrypt_and_hash(hs, sh->payload.data, sh->payload.len, &chain)) != 0)
		goto out;
	trace(hs, "h5_after_server_payload", hs->h, 32);
	hs->cert_err = wa_cert_chain_verify(chain, sh->payload.len - 16, &hs->trust, hs->rs,
					    hs->now ? hs->now : (uint64_t)time(NULL), NULL);
	if (hs->cert_err != WA_CERT_OK) {
		rc = WA_NOISE_ECERT;
		goto out;
	}
	rc = hs->state == WA_NOISE_ST_FAILED ? WA_NOISE_ENOMEM : WA_NOISE_OK;
out:
	if (rs) {
		OPENSSL_cleanse(rs, 32);
		free(rs);
	}
	free(chain);
	if (m)
		wa_wa6__handshake_message__free_unpacked(m, NULL);
	if (rc)
		return fail(hs, rc);
	hs->state = WA_NOISE_ST_SERVER_HELLO;
	return WA_NOISE_OK;
}

int wa_noise_write_client_finish(struct wa_noise_hs *hs, const uint8_t *payload, size_t len,
				 struct wa_buf *out)
{
	HandshakeMessage m;
	WaWa6__HandshakeMessage__ClientFinish cf;
	uint8_t *cs = NULL, *cp = NULL;
	int rc = check(hs, WA_NOISE_INITIATOR, WA_NOISE_ST_SERVER_HELLO);

	if (rc)
		return rc;
	if (!out || (!payload && len) || len > WA_NOISE_HS_MAX)
		return WA_NOISE_EINVAL;
	if ((rc = encrypt_and_hash(hs, hs->s_pub, 32, &cs)) != 0)
		goto out;
	trace(hs, "client_static_ciphertext(iv counter 1)", cs, 48);
	trace(hs, "h6_after_client_static", hs->h, 32);
	if ((rc = mix_dh(hs, hs->s_priv, hs->re, "ck_after_se", "k_after_se")) != 0)
		goto out;
	if ((rc = encrypt_and_hash(hs, payload, len, &cp)) != 0)
		goto out;
	trace(hs, "client_payload_ciphertext", cp, len + 16);

	wa_wa6__handshake_message__client_finish__init(&cf);
	cf.has_static_ = cf.has_payload = 1;
	cf.static_.data = cs;
	cf.static_.len = 48;
	cf.payload.data = cp;
	cf.payload.len = len + 16;
	wa_wa6__handshake_message__init(&m);
	m.clientfinish = &cf;
	rc = pack_append(&m, out);
	if (!rc && hs->state == WA_NOISE_ST_FAILED)
		rc = WA_NOISE_ENOMEM;
out:
	free(cs);
	free(cp);
	if (rc)
		return fail(hs, rc);
	hs->state = WA_NOISE_ST_DONE;
	return WA_NOISE_OK;
}

/* ------------------------------------------------------------------ */
/* responder */

int wa_noise_read_client_hello(struct wa_noise_hs *hs, const uint8_t *msg, size_t len)
{
	HandshakeMessage *m;
	WaWa6__HandshakeMessage__ClientHello *ch;
	int rc = check(hs, WA_NOISE_RESPONDER, WA_NOISE_ST_START);

	if (rc)
		return rc;
	m = unpack(msg, len);
	if (!m)
		return fail(hs, WA_NOISE_EDECODE);
	ch = m->clienthello;
	if (!ch || !ch->has_ephemeral || ch->ephemeral.len != 32) {
		wa_wa6__handshake_message__free_unpacked(m, NULL);
		return fail(hs, WA_NOISE_EDECODE);
	}
	memcpy(hs->re, ch->ephemeral.data, 32);
	wa_wa6__handshake_message__free_unpacked(m, NULL);
	trace_start(hs);
	mix_hash(hs, hs->re, 32);
	trace(hs, "h2_after_client_ephemeral", hs->h, 32);
	if (hs->state == WA_NOISE_ST_FAILED)
		return WA_NOISE_ENOMEM;
	hs->state = WA_NOISE_ST_HELLO;
	return WA_NOISE_OK;
}

int wa_noise_write_server_hello(struct wa_noise_hs *hs, const uint8_t *cert_chain, size_t len,
				struct wa_buf *out)
{
	HandshakeMessage m;
	WaWa6__HandshakeMessage__ServerHello sh;
	uint8_t *cs = NULL, *cc = NULL;
	int rc = check(hs, WA_NOISE_RESPONDER, WA_NOISE_ST_HELLO);

	if (rc)
		return rc;
	if (!out || (!cert_chain && len) || len > WA_NOISE_HS_MAX)
		return WA_NOISE_EINVAL;
	mix_hash(hs, hs->e_pub, 32);
	trace(hs, "h3_after_server_ephemeral", hs->h, 32);
	if ((rc = mix_dh(hs, hs->e_priv, hs->re, "ck_after_ee", "k_after_ee")) != 0)
		goto out;
	if ((rc = encrypt_and_hash(hs, hs->s_pub, 32, &cs)) != 0)
		goto out;
	trace(hs, "server_static_ciphertext", cs, 48);
	trace(hs, "h4_after_server_static", hs->h, 32);
	if ((rc = mix_dh(hs, hs->s_priv, hs->re, "ck_after_es", "k_after_es")) != 0)
		goto out;
	if ((rc = encrypt_and_hash(hs, cert_chain, len, &cc)) != 0)
		goto out;
	trace(hs, "h5_after_server_payload", hs->h, 32);

	wa_wa6__handshake_message__server_hello__init(&sh);
	sh.has_ephemeral = sh.has_static_ = sh.has_payload = 1;
	sh.ephemeral.data = hs->e_pub;
	sh.ephemeral.len = 32;
	sh.static_.data = cs;
	sh.static_.len = 48;
	sh.payload.data = cc;
	sh.payload.len = len + 16;
	wa_wa6__handshake_message__init(&m);
	m.serverhello = &sh;
	rc = pack_append(&m, out);
	if (!rc && hs->state == WA_NOISE_ST_FAILED)
		rc = WA_NOISE_ENOMEM;
out:
	free(cs);
	free(cc);
	if (rc)
		return fail(hs, rc);
	hs->state = WA_NOISE_ST_SERVER_HELLO;
	return WA_NOISE_OK;
}

int wa_noise_read_client_finish(struct wa_noise_hs *hs, const uint8_t *msg, size_t len,
				uint8_t client_static[32], struct wa_buf *payload_out)
{
	HandshakeMessage *m = NULL;
	WaWa6__HandshakeMessage__ClientFinish *cf;
	uint8_t *cs = NULL, *cp = NULL;
	size_t cplen = 0;
	int rc = check(hs, WA_NOISE_RESPONDER, WA_NOISE_ST_SERVER_HELLO);

	if (rc)
		return rc;
	if (!client_static || !payload_out)
		return WA_NOISE_EINVAL;
	m = unpack(msg, len);
	if (!m) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	cf = m->clientfinish;
	if (!cf || !cf->has_static_ || cf->static_.len != 48 || !cf->has_payload) {
		rc = WA_NOISE_EDECODE;
		goto out;
	}
	if ((rc = decrypt_and_hash(hs, cf->static_.data, 48, &cs)) != 0)
		goto out;
	memcpy(hs->rs, cs, 32);
	trace(hs, "client_static_ciphertext(iv counter 1)", cf->static_.data, 48);
	trace(hs, "h6_after_client_static", hs->h, 32);
	if ((rc = mix_dh(hs, hs->e_priv, hs->rs, "ck_after_se", "k_after_se")) != 0)
		goto out;
	if ((rc = decrypt_and_hash(hs, cf->payload.data, cf->payload.len, &cp)) != 0)
		goto out;
	cplen = cf->payload.len - 16;
	trace(hs, "client_payload_ciphertext", cf->payload.data, cf->payload.len);
	if (cplen && wa_buf_append(payload_out, cp, cplen) != 0) {
		rc = WA_NOISE_ENOMEM;
		goto out;
	}
	memcpy(client_static, hs->rs, 32);
	rc = hs->state == WA_NOISE_ST_FAILED ? WA_NOISE_ENOMEM : WA_NOISE_OK;
out:
	free(cs);
	if (cp) {
		OPENSSL_cleanse(cp, cplen + 1);
		free(cp);
	}
	if (m)
		wa_wa6__handshake_message__free_unpacked(m, NULL);
	if (rc)
		return fail(hs, rc);
	hs->state = WA_NOISE_ST_DONE;
	return WA_NOISE_OK;
}

/* ------------------------------------------------------------------ */
/* split and transport */

int wa_noise_split(struct wa_noise_hs *hs, struct wa_noise_transport *t)
{
	uint8_t okm[64];
	int rc;

	if (!t)
		return WA_NOISE_EINVAL;
	if ((rc = check(hs, hs ? hs->role : 0, WA_NOISE_ST_DONE)) != 0)
		return rc;
	if (wa_hkdf_sha256(NULL, 0, hs->ck, 32, NULL, 0, okm, 64) != 0)
		return fail(hs, WA_NOISE_ECRYPTO);
	trace(hs, "transport_key_client_to_server", okm, 32);
	trace(hs, "transport_key_server_to_client", okm + 32, 32);
	memset(t, 0, sizeof *t);
	if (hs->role == WA_NOISE_INITIATOR) {
		memcpy(t->send.key, okm, 32);
		memcpy(t->recv.key, okm + 32, 32);
	} else {
		memcpy(t->send.key, okm + 32, 32);
		memcpy(t->recv.key, okm, 32);
	}
	OPENSSL_cleanse(okm, sizeof okm);
	{
		/* keep role/remote static visible after the wipe: callers may
		 * still want hs->rs (the server's or the client's static key) */
		uint8_t rs[32];
		int role = hs->role;

		memcpy(rs, hs->rs, 32);
		wa_noise_clear(hs);
		hs->role = role;
		memcpy(hs->rs, rs, 32);
		hs->state = WA_NOISE_ST_DONE;
	}
	return WA_NOISE_OK;
}

int wa_noise_encrypt(struct wa_noise_cipher *c, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t iv[12];

	if (!c || !out || (!in && len))
		return WA_NOISE_EINVAL;
	if (c->counter == UINT32_MAX)
		return WA_NOISE_ECOUNTER;
	make_iv(iv, c->counter);
	if (wa_aes256_gcm_encrypt(c->key, iv, NULL, 0, in, len, out) != 0)
		return WA_NOISE_ECRYPTO;
	c->counter++;
	return WA_NOISE_OK;
}

int wa_noise_decrypt(struct wa_noise_cipher *c, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t iv[12];

	if (!c || !in || !out)
		return WA_NOISE_EINVAL;
	if (len < 16)
		return WA_NOISE_EDECODE;
	if (c->counter == UINT32_MAX)
		return WA_NOISE_ECOUNTER;
	make_iv(iv, c->counter);
	if (wa_aes256_gcm_decrypt(c->key, iv, NULL, 0, in, len, out) != 0)
		return WA_NOISE_EDECRYPT;
	c->counter++;
	return WA_NOISE_OK;
}

int wa_noise_write_frame(struct wa_noise_cipher *c, const uint8_t *plain, size_t len, struct wa_buf *out)
{
	size_t start;
	int rc;

	if (!c || !out || (!plain && len))
		return WA_NOISE_EINVAL;
	if (len > WA_FRAME_MAX_PAYLOAD - 16)
		return WA_NOISE_EINVAL;
	if (wa_buf_reserve(out, 3 + len + 16) != 0)
		return WA_NOISE_ENOMEM;
	start = out->len;
	wa_buf_put_be24(out, (uint32_t)(len + 16));
	rc = wa_noise_encrypt(c, plain, len, out->data + out->len);
	if (rc != WA_NOISE_OK) {
		out->len = start;
		return rc;
	}
	out->len += len + 16;
	return WA_NOISE_OK;
}

int wa_noise_read_frame(struct wa_noise_cipher *c, const uint8_t *frame, size_t len, struct wa_buf *out)
{
	int rc;

	if (!c || !out || !frame)
		return WA_NOISE_EINVAL;
	if (len < 16)
		return WA_NOISE_EDECODE;
	/* +1 so an empty plaintext still has a valid destination pointer */
	if (wa_buf_reserve(out, len - 16 + 1) != 0)
		return WA_NOISE_ENOMEM;
	rc = wa_noise_decrypt(c, frame, len, out->data + out->len);
	if (rc != WA_NOISE_OK)
		return rc;
	out->len += len - 16;
	return WA_NOISE_OK;
}

void wa_noise_transport_clear(struct wa_noise_transport *t)
{
	if (t)
		OPENSSL_cleanse(t, sizeof *t);
}
