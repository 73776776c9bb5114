// fuzz-sources: common/wa_err.c wa/noise.c wa/cert.c wa/crypto.c wa/frame.c wa/buf.c wa/companion_reg.c wa/noise_conn.c proto/wa_handshake.pb-c.c proto/wa_cert.pb-c.c proto/wa_companion_reg.pb-c.c common/wa_util.c
/* fuzz_handshake: hostile handshake input to both Noise roles and the
 * handshake protobuf decoders.
 *
 * Byte 0 selects the target, the rest is the message:
 *   0  responder reads it as the ClientHello (then, if accepted, writes a
 *      ServerHello, which must succeed unless the DH result is zero)
 *   1  responder after a genuine ClientHello + ServerHello reads it as the
 *      ClientFinish
 *   2  initiator after its ClientHello reads it as the ServerHello
 *   3  wa_cert_chain_verify on it (test root, any server static)
 *   4  HandshakeMessage / ClientPayload / CertChain protobuf decoders and
 *      wa_client_payload_parse (what wa-sim runs on a decrypted payload)
 *   5  a server wa_noise_conn fed the raw stream (intro, frames), in two
 *      reads split at the second byte's value
 * All keys are fixed so runs are reproducible. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/buf.h"
#include "wa/cert.h"
#include "wa/companion_reg.h"
#include "wa/crypto.h"
#include "wa/noise.h"
#include "wa/noise_conn.h"
#include "wa_cert.pb-c.h"
#include "wa_handshake.pb-c.h"

/* clamp(SHA-256(label)) style fixed keys: any 32 bytes work as X25519
 * private keys, so just use constant patterns. */
static uint8_t cs_priv[32], ce_priv[32], ss_priv[32], se_priv[32], root_priv[32], root_pub[32], ss_pub[32];
static struct wa_buf chain = WA_BUF_INIT;
static struct wa_cert_trust trust;
static int ready;

static void setup(void)
{
	struct wa_cert_details inter, leaf;
	uint8_t ipriv[32], nonces[128];

	memset(cs_priv, 0x41, 32);
	memset(ce_priv, 0x42, 32);
	memset(ss_priv, 0x43, 32);
	memset(se_priv, 0x44, 32);
	memset(root_priv, 0x45, 32);
	memset(ipriv, 0x46, 32);
	memset(nonces, 0x47, sizeof nonces);
	wa_x25519_public(root_priv, root_pub);
	wa_x25519_public(ss_priv, ss_pub);
	memset(&inter, 0, sizeof inter);
	inter.serial = 1;
	wa_x25519_public(ipriv, inter.key);
	inter.not_before = 0;
	inter.not_after = UINT64_MAX;
	leaf = inter;
	leaf.serial = 2;
	leaf.issuer_serial = 1;
	memcpy(leaf.key, ss_pub, 32);
	if (wa_cert_chain_build(root_priv, &inter, ipriv, &leaf, nonces, &chain) != 0)
		abort();
	memcpy(trust.root_pub, root_pub, 32);
	trust.issuer_serial = 0;
	ready = 1;
}

static void responder_hello(const uint8_t *d, size_t n)
{
	struct wa_noise_hs s;
	struct wa_buf out = WA_BUF_INIT;

	wa_noise_init(&s, WA_NOISE_RESPONDER, ss_priv, NULL, se_priv, NULL);
	if (wa_noise_read_client_hello(&s, d, n) == WA_NOISE_OK) {
		int rc = wa_noise_write_server_hello(&s, chain.data, chain.len, &out);
		if (rc != WA_NOISE_OK && rc != WA_NOISE_ECRYPTO)
			abort();
	} else if (s.state != WA_NOISE_ST_FAILED) {
		abort();
	}
	wa_buf_free(&out);
	wa_noise_clear(&s);
}

static void responder_finish(const uint8_t *d, size_t n)
{
	struct wa_noise_hs c, s;
	struct wa_buf a = WA_BUF_INIT, b = WA_BUF_INIT, pl = WA_BUF_INIT;
	uint8_t cstatic[32];

	wa_noise_init(&c, WA_NOISE_INITIATOR, cs_priv, NULL, ce_priv, &trust);
	wa_noise_init(&s, WA_NOISE_RESPONDER, ss_priv, NULL, se_priv, NULL);
	if (wa_noise_write_client_hello(&c, &a) || wa_noise_read_client_hello(&s, a.data, a.len) ||
	    wa_noise_write_server_hello(&s, chain.data, chain.len, &b))
		abort();
	if (wa_noise_read_client_finish(&s, d, n, cstatic, &pl) == WA_NOISE_OK) {
		struct wa_noise_transport t;
		if (wa_noise_split(&s, &t) != WA_NOISE_OK)
			abort();
	} else if (pl.len != 0) {
		abort();
	}
	wa_buf_free(&a);
	wa_buf_free(&b);
	wa_buf_free(&pl);
}

static void initiator_server_hello(const uint8_t *d, size_t n)
{
	struct wa_noise_hs c;
	struct wa_buf a = WA_BUF_INIT;

	wa_noise_init(&c, WA_NOISE_INITIATOR, cs_priv, NULL, ce_priv, &trust);
	c.now = 1800000000u;
	if (wa_noise_write_client_hello(&c, &a))
		abort();
	if (wa_noise_read_server_hello(&c, d, n) == WA_NOISE_OK) {
		wa_buf_reset(&a);
		if (wa_noise_write_client_finish(&c, (const uint8_t *)"x", 1, &a) != WA_NOISE_OK)
			abort();
	}
	wa_buf_free(&a);
}

static void decoders(const uint8_t *d, size_t n)
{
	WaWa6__HandshakeMessage *hm = wa_wa6__handshake_message__unpack(NULL, n, d);
	WaWa6__ClientPayload *cp = wa_wa6__client_payload__unpack(NULL, n, d);
	WaCert__CertChain *cc = wa_cert__cert_chain__unpack(NULL, n, d);

	/* Re-encode whatever decoded: packing must not crash either. */
	if (hm) {
		uint8_t *buf = malloc(wa_wa6__handshake_message__get_packed_size(hm) + 1);
		if (buf)
			wa_wa6__handshake_message__pack(hm, buf);
		free(buf);
		wa_wa6__handshake_message__free_unpacked(hm, NULL);
	}
	if (cp) {
		uint8_t *buf = malloc(wa_wa6__client_payload__get_packed_size(cp) + 1);
		if (buf)
			wa_wa6__client_payload__pack(cp, buf);
		free(buf);
		wa_wa6__client_payload__free_unpacked(cp, NULL);
	}
	if (cc)
		wa_cert__cert_chain__free_unpacked(cc, NULL);
	{
		struct wa_client_payload_info info;
		if (wa_client_payload_parse(d, n, &info) == 0 &&
		    (info.push_name[sizeof info.push_name - 1] != '\0' || info.os[sizeof info.os - 1] != '\0'))
			abort();
	}
}

static void server_conn(const uint8_t *d, size_t n)
{
	struct wa_noise_conn *c = wa_noise_conn_new_server(ss_priv, ss_pub, chain.data, chain.len, 4096);
	struct wa_buf out = WA_BUF_INIT;
	size_t cut = n ? d[0] % (n + 1) : 0;
	int st;

	if (!c)
		abort();
	st = wa_noise_conn_feed(c, d, cut, &out, NULL, NULL);
	if (st > 0)
		st = wa_noise_conn_feed(c, d + cut, n - cut, &out, NULL, NULL);
	if (st != wa_noise_conn_state(c))
		abort();
	wa_buf_free(&out);
	wa_noise_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0: responder_hello(data + 1, size - 1); break;
	case 1: responder_finish(data + 1, size - 1); break;
	case 2: initiator_server_hello(data + 1, size - 1); break;
	case 3: wa_cert_chain_verify(data + 1, size - 1, &trust, NULL, 1800000000u, NULL); break;
	case 4: decoders(data + 1, size - 1); break;
	case 5: server_conn(data + 1, size - 1); break;
	}
	return 0;
}
