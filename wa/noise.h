/* wa/noise: WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake and the
 * transport ciphers that follow it (docs/protocol.md §1.3-1.4), for both ends:
 * the engine is the INITIATOR (client), wa-sim the RESPONDER (server).
 *
 * Byte buffers only, no sockets: every function takes the payload of one
 * received frame (see wa/frame.h) and/or appends the payload of the frame
 * to send to a caller-owned struct wa_buf. The caller frames it (the
 * client's first frame carries the intro header, which is also the Noise
 * prologue mixed in here).
 *
 * Initiator:                               Responder:
 *   wa_noise_init(INITIATOR)                 wa_noise_init(RESPONDER)
 *   wa_noise_write_client_hello  --frame-->  wa_noise_read_client_hello
 *   wa_noise_read_server_hello   <--frame--  wa_noise_write_server_hello(cert chain)
 *     (decrypts server static + cert chain,
 *      verifies the chain, §1.5)
 *   wa_noise_write_client_finish --frame-->  wa_noise_read_client_finish
 *     (payload = ClientPayload bytes)          (-> client static key + payload bytes)
 *   both: wa_noise_split -> struct wa_noise_transport
 *
 * States (hs->state) advance strictly in that order; a call in the wrong
 * state returns WA_NOISE_ESTATE and any failure moves the handshake to
 * WA_NOISE_ST_FAILED (every later call fails): a connection whose
 * handshake failed must be dropped. Secrets are wiped by wa_noise_clear.
 *
 * Ownership: the handshake struct is caller-allocated and holds no heap
 * memory; outputs go to caller buffers. Not thread-safe: one owner per
 * handshake / transport; distinct objects may be used concurrently. */
#ifndef WA_NOISE_H
#define WA_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "common/wa_err.h"
#include "wa/buf.h"
#include "wa/cert.h"

/* "Noise_XX_25519_AESGCM_SHA256\0\0\0\0": initial h and ck. */
extern const uint8_t WA_NOISE_PROTOCOL_NAME[32];

/* Cap on any handshake message and on the ClientPayload (real ones are a
 * few hundred bytes). */
#define WA_NOISE_HS_MAX (64u * 1024)

enum wa_noise_role { WA_NOISE_INITIATOR = 0, WA_NOISE_RESPONDER = 1 };

enum wa_noise_state {
	WA_NOISE_ST_START = 0,      /* initiator: write hello; responder: read hello */
	WA_NOISE_ST_HELLO,          /* initiator: read server hello; responder: write it */
	WA_NOISE_ST_SERVER_HELLO,   /* initiator: write finish; responder: read finish */
	WA_NOISE_ST_DONE,           /* split may be called */
	WA_NOISE_ST_FAILED,
};

/* Errors (common/wa_err.h): generic failures are the common codes; the
 * Noise-specific ones are module codes folding into WA_EPROTO (bad message),
 * WA_ECRYPTO (tag or chain did not verify) and WA_EFULL (counter space). */
enum wa_noise_err {
	WA_NOISE_OK = WA_OK,
	WA_NOISE_EINVAL = WA_EINVAL,   /* bad arguments */
	WA_NOISE_ESTATE = WA_ESTATE,   /* call out of order, or handshake already failed */
	WA_NOISE_ECRYPTO = WA_ECRYPTO, /* DH produced zero (hostile key) or library failure */
	WA_NOISE_ENOMEM = WA_ENOMEM,
	/* malformed / oversize message, missing parts, wrong key sizes */
	WA_NOISE_EDECODE = WA_ERR_MAKE(WA_ERR_NOISE_BASE, WA_EPROTO, 1),
	/* AEAD tag did not verify */
	WA_NOISE_EDECRYPT = WA_ERR_MAKE(WA_ERR_NOISE_BASE, WA_ECRYPTO, 1),
	/* certificate chain rejected (hs->cert_err has the reason) */
	WA_NOISE_ECERT = WA_ERR_MAKE(WA_ERR_NOISE_BASE, WA_ECRYPTO, 2),
	/* transport counter exhausted: reconnect */
	WA_NOISE_ECOUNTER = WA_ERR_MAKE(WA_ERR_NOISE_BASE, WA_EFULL, 1),
};

/* Static English text for an error code. */
const char *wa_noise_strerror(int err);

/* Test hook: called with every intermediate value (labels "h", "ck", "k"
 * after each step, see noise.c). Carries secrets: tests only. */
typedef void (*wa_noise_trace_fn)(void *ctx, const char *label, const uint8_t *v, size_t len);

struct wa_noise_hs {
	int role;                   /* enum wa_noise_role */
	int state;                  /* enum wa_noise_state */
	/* symmetric state */
	uint8_t h[32];
	uint8_t ck[32];
	uint8_t k[32];
	uint32_t n;                 /* AEAD counter for k */
	/* key pairs: own static s, own ephemeral e; remote re, rs */
	uint8_t s_priv[32], s_pub[32];
	uint8_t e_priv[32], e_pub[32];
	uint8_t re[32], rs[32];
	/* initiator: chain verification */
	struct wa_cert_trust trust;
	uint64_t now;               /* 0: time(NULL) at verification */
	int cert_err;               /* enum wa_cert_err of the last verification */
	wa_noise_trace_fn trace;
	void *trace_ctx;
};

/* One direction of the transport. */
struct wa_noise_cipher {
	uint8_t key[32];
	uint32_t counter;           /* IV = 8 zero bytes || uint32_be(counter) */
};

struct wa_noise_transport {
	struct wa_noise_cipher send;
	struct wa_noise_cipher recv;
};

/* Start a handshake. s_priv/s_pub: the long-term static key pair (client
 * noise key / server static key); s_pub NULL derives it. e_priv: NULL to
 * generate a fresh ephemeral (always, in production), or a fixed private
 * key for reproducing test vectors. trust: initiator only, NULL for
 * WhatsApp's root (wa_cert_trust_default); ignored by the responder.
 * Mixes the prologue ("WA\x06\x03"). Returns WA_NOISE_OK or an error. */
int wa_noise_init(struct wa_noise_hs *hs, enum wa_noise_role role, const uint8_t s_priv[32],
		  const uint8_t s_pub[32], const uint8_t e_priv[32], const struct wa_cert_trust *trust);

/* Wipe all key material (the struct may then be re-initialised). NULL-safe. */
void wa_noise_clear(struct wa_noise_hs *hs);

/* --- initiator --- */

/* Append HandshakeMessage{clientHello{ephemeral}} to out. START -> HELLO. */
int wa_noise_write_client_hello(struct wa_noise_hs *hs, struct wa_buf *out);

/* Process the ServerHello frame payload: decrypt the server static key and
 * the certificate chain and verify the chain against hs->trust with leaf
 * key == server static (§1.5). On success hs->rs holds the server static
 * key. HELLO -> SERVER_HELLO. */
int wa_noise_read_server_hello(struct wa_noise_hs *hs, const uint8_t *msg, size_t len);

/* Append HandshakeMessage{clientFinish{Enc(s_pub), Enc(payload)}} to out;
 * payload is the serialized ClientPayload (<= WA_NOISE_HS_MAX).
 * SERVER_HELLO -> DONE. */
int wa_noise_write_client_finish(struct wa_noise_hs *hs, const uint8_t *payload, size_t len,
				 struct wa_buf *out);

/* --- responder --- */

/* Process the ClientHello frame payload (the intro header already stripped
 * by the frame parser). START -> HELLO. */
int wa_noise_read_client_hello(struct wa_noise_hs *hs, const uint8_t *msg, size_t len);

/* Append HandshakeMessage{serverHello{e, Enc(s_pub), Enc(cert_chain)}} to
 * out; cert_chain is the serialized CertChain (wa_cert_chain_build).
 * HELLO -> SERVER_HELLO. */
int wa_noise_write_server_hello(struct wa_noise_hs *hs, const uint8_t *cert_chain, size_t len,
				struct wa_buf *out);

/* Process the ClientFinish frame payload: client_static receives the
 * client's static (noise) public key, the decrypted ClientPayload bytes are
 * appended to payload_out (not parsed here). SERVER_HELLO -> DONE. */
int wa_noise_read_client_finish(struct wa_noise_hs *hs, const uint8_t *msg, size_t len,
				uint8_t client_static[32], struct wa_buf *payload_out);

/* --- both --- */

/* Derive the transport keys (initiator sends with okm[0:32], responder
 * with okm[32:64]), counters 0, then wipe the handshake. DONE only. */
int wa_noise_split(struct wa_noise_hs *hs, struct wa_noise_transport *t);

/* Transport: encrypt len bytes into out (len + 16 bytes) / decrypt len
 * bytes (>= 16) into out (len - 16 bytes), AAD empty, with the cipher's
 * counter as IV; the counter advances only on success. A failed decrypt
 * means the stream is corrupt: drop the connection. */
int wa_noise_encrypt(struct wa_noise_cipher *c, const uint8_t *in, size_t len, uint8_t *out);
int wa_noise_decrypt(struct wa_noise_cipher *c, const uint8_t *in, size_t len, uint8_t *out);

/* Framed transport helpers: encrypt len bytes and append the frame
 * be3(len + 16) | ciphertext to out (-> WA_NOISE_EINVAL if the result would
 * exceed a frame); decrypt one received frame payload and append the
 * plaintext to out. Counters as above; out unchanged on failure. */
int wa_noise_write_frame(struct wa_noise_cipher *c, const uint8_t *plain, size_t len, struct wa_buf *out);
int wa_noise_read_frame(struct wa_noise_cipher *c, const uint8_t *frame, size_t len, struct wa_buf *out);

/* Wipe a transport. NULL-safe. */
void wa_noise_transport_clear(struct wa_noise_transport *t);

#endif
